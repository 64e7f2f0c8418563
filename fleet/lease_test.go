package fleet

import (
	"context"
	"net"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// leaseCase opens n leases contending for one lease, as n replicas would.
type leaseCase struct {
	name string
	open func(t *testing.T, n int) []Lease
}

// leaseCases are the leases every contract test runs against. The Redis
// leases each have a client of their own, as replicas do.
func leaseCases() []leaseCase {
	return []leaseCase{
		{"memory", func(_ *testing.T, n int) []Lease {
			var out []Lease
			for _, l := range NewMemoryLeases(n, nil) {
				out = append(out, l)
			}
			return out
		}},
		{"redis", func(t *testing.T, n int) []Lease {
			prefix := unique(t, redisClient(t))
			var out []Lease
			for range n {
				out = append(out, NewRedisLease(redisClient(t), prefix, "mirror"))
			}
			return out
		}},
	}
}

// hold calls Hold and fails the test on an error.
func hold(t *testing.T, l Lease, life time.Duration) bool {
	t.Helper()
	ok, err := l.Hold(t.Context(), life)
	require.NoError(t, err)
	return ok
}

// TestLeaseContract: both leases have one holder at a time, whose renewals
// succeed; Release hands the lease to the next holder at once, and a
// release by anyone else gives nothing away; a life under a millisecond is
// refused and takes nothing.
func TestLeaseContract(t *testing.T) {
	for _, c := range leaseCases() {
		t.Run(c.name, func(t *testing.T) {
			ls := c.open(t, 3)
			a, b, x := ls[0], ls[1], ls[2]
			const life = time.Minute

			require.True(t, hold(t, a, life), "nobody holds it yet")
			assert.False(t, hold(t, b, life), "a holds it")
			assert.True(t, hold(t, a, life), "the holder renews")
			assert.False(t, hold(t, b, life), "a still holds it after renewing")
			assert.False(t, hold(t, x, life))

			require.NoError(t, b.Release(t.Context()), "a release by a non-holder is not an error")
			assert.False(t, hold(t, x, life), "and it gives nothing away")
			assert.True(t, hold(t, a, life))

			require.NoError(t, a.Release(t.Context()))
			assert.True(t, hold(t, b, life), "a release hands over at once")
			assert.False(t, hold(t, a, life), "the former holder is refused")
			require.NoError(t, a.Release(t.Context()))
			assert.True(t, hold(t, b, life), "a second release by the former holder leaves b's lease")
			assert.False(t, hold(t, x, life))

			require.NoError(t, b.Release(t.Context()))
			require.NoError(t, b.Release(t.Context()), "releasing twice is harmless")
			for _, life := range []time.Duration{0, -time.Second, time.Millisecond - 1, time.Microsecond} {
				ok, err := x.Hold(t.Context(), life)
				require.ErrorIs(t, err, ErrInvalidArgument, "life %s", life)
				assert.False(t, ok, "life %s", life)
			}
			assert.True(t, hold(t, a, life), "an invalid Hold took nothing")
			assert.True(t, hold(t, a, time.Millisecond), "a millisecond is a valid life")
		})
	}
}

// TestLeaseOneHolderAmongContenders: eight contenders each take the lease
// three times, renew it and release it, all at once; at no moment do two of
// them hold it.
func TestLeaseOneHolderAmongContenders(t *testing.T) {
	for _, c := range leaseCases() {
		t.Run(c.name, func(t *testing.T) {
			const contenders, rounds = 8, 3
			ls := c.open(t, contenders)
			ctx, cancel := context.WithTimeout(t.Context(), 4*wait)
			defer cancel()
			// holder is 1 + the index of the contender holding the lease,
			// or 0 while none does. The life outlasts the test, so the only
			// way the lease changes hands is a Release.
			var holder, taken atomic.Int64
			fail := func(format string, args ...any) {
				t.Errorf(format, args...)
				cancel()
			}
			var wg sync.WaitGroup
			for i, l := range ls {
				me := int64(i + 1)
				wg.Go(func() {
					for won := 0; won < rounds; {
						ok, err := l.Hold(ctx, time.Minute)
						if err != nil {
							fail("contender %d: %v", me, err)
							return
						}
						if !ok {
							continue
						}
						if prev := holder.Swap(me); prev != 0 {
							fail("contender %d took the lease while %d held it", me, prev)
							return
						}
						won++
						taken.Add(1)
						for range 2 {
							ok, err := l.Hold(ctx, time.Minute)
							if err != nil || !ok {
								fail("contender %d could not renew: %v, %v", me, ok, err)
								return
							}
						}
						if !holder.CompareAndSwap(me, 0) {
							fail("contender %d: another took the lease while %d held it", me, me)
							return
						}
						if err := l.Release(ctx); err != nil {
							fail("contender %d: release: %v", me, err)
							return
						}
					}
				})
			}
			wg.Wait()
			assert.Equal(t, int64(contenders*rounds), taken.Load())
			assert.True(t, hold(t, ls[0], time.Minute), "every holder released it")
		})
	}
}

// TestMemoryLeaseLapses: on the memory lease's clock, a renewal moves the
// end of the life; once the life has passed without a renewal another
// holder takes the lease, and the holder that lost it can neither renew
// nor release the new holder's lease.
func TestMemoryLeaseLapses(t *testing.T) {
	c := newClock()
	ls := NewMemoryLeases(3, c.now)
	a, b, x := ls[0], ls[1], ls[2]
	const life = 10 * time.Second

	require.True(t, hold(t, a, life))
	c.advance(8 * time.Second)
	require.True(t, hold(t, a, life), "renewed 8s in, until 18s")
	c.advance(8 * time.Second)
	assert.False(t, hold(t, b, life), "16s in: past the first life, within the renewed one")
	c.advance(2*time.Second - time.Millisecond)
	assert.False(t, hold(t, b, life), "a millisecond before the renewed life ends")
	c.advance(2 * time.Millisecond)
	require.True(t, hold(t, b, life), "the life ended without a renewal: b takes over")

	assert.False(t, hold(t, a, life), "a lost the lease and cannot renew b's")
	require.NoError(t, a.Release(t.Context()))
	assert.False(t, hold(t, x, life), "a's release left b's lease alone")
	assert.True(t, hold(t, b, life))

	c.advance(life + time.Millisecond)
	assert.True(t, hold(t, b, life), "a lapsed holder takes the lease again when nobody else has")
	assert.False(t, hold(t, a, life))
}

// TestRedisLeaseLapses is TestMemoryLeaseLapses on Redis's clock, with a
// short life: renewals keep the lease for several lives; once they stop,
// the other holder takes it over, not before the life has passed, and the
// holder that lost it can neither renew nor release it.
func TestRedisLeaseLapses(t *testing.T) {
	rdb := redisClient(t)
	prefix := unique(t, rdb)
	a := NewRedisLease(redisClient(t), prefix, "mirror")
	b := NewRedisLease(redisClient(t), prefix, "mirror")
	x := NewRedisLease(redisClient(t), prefix, "mirror")
	const life = 300 * time.Millisecond

	start := time.Now()
	require.True(t, hold(t, a, life))
	var renewed time.Time
	for time.Since(start) < 3*life {
		renewed = time.Now()
		require.True(t, hold(t, a, life), "the holder renews")
		require.False(t, hold(t, b, life), "%s after a took it, renewed", time.Since(start))
	}

	require.Eventually(t, func() bool { return hold(t, b, life) }, wait, time.Millisecond,
		"b takes over once a stops renewing")
	// Redis's clock and ours are the same machine's; the slack is for
	// its whole milliseconds.
	assert.GreaterOrEqual(t, time.Since(renewed), life-2*time.Millisecond, "not before the life since the last renewal")
	requireHolder(t, rdb, b)

	assert.False(t, hold(t, a, life), "a lost the lease and cannot renew b's")
	require.NoError(t, a.Release(t.Context()))
	requireHolder(t, rdb, b)
	assert.False(t, hold(t, x, life), "a's release left b's lease alone")
	assert.True(t, hold(t, b, time.Minute))
}

// requireHolder checks that Redis holds l's id in l's key.
func requireHolder(t *testing.T, rdb *redis.Client, l *RedisLease) {
	t.Helper()
	v, err := rdb.Get(t.Context(), l.key).Result()
	require.NoError(t, err)
	require.Equal(t, l.holder, v)
}

// TestRedisLeaseKey: the lease is one key per name, holding the holder's id
// for the life it asked; a renewal sets the life again; a release deletes
// the key; replicas have different ids.
func TestRedisLeaseKey(t *testing.T) {
	rdb := redisClient(t)
	prefix := unique(t, rdb)
	a := NewRedisLease(rdb, prefix, "mirror")
	b := NewRedisLease(rdb, prefix, "mirror")
	other := NewRedisLease(rdb, prefix, "sweeper")
	key := "{" + prefix + ":lease:mirror}"
	require.Equal(t, key, a.key)
	require.NotEqual(t, a.holder, b.holder, "every holder has an id of its own")

	pttl := func() time.Duration {
		t.Helper()
		d, err := rdb.PTTL(t.Context(), key).Result()
		require.NoError(t, err)
		return d
	}
	require.True(t, hold(t, a, time.Minute))
	requireHolder(t, rdb, a)
	assert.InDelta(t, time.Minute.Seconds(), pttl().Seconds(), 2)

	require.NoError(t, rdb.PExpire(t.Context(), key, 5*time.Second).Err())
	require.True(t, hold(t, a, time.Hour))
	assert.InDelta(t, time.Hour.Seconds(), pttl().Seconds(), 2, "a renewal sets the life again")
	requireHolder(t, rdb, a)

	assert.False(t, hold(t, b, time.Minute))
	assert.InDelta(t, time.Hour.Seconds(), pttl().Seconds(), 2, "a refused Hold leaves the life")
	assert.True(t, hold(t, other, time.Minute), "another name is another lease")

	require.NoError(t, a.Release(t.Context()))
	n, err := rdb.Exists(t.Context(), key).Result()
	require.NoError(t, err)
	assert.Zero(t, n, "a release deletes the key")
	assert.True(t, hold(t, b, time.Minute))
	requireHolder(t, rdb, b)
}

// silentClient is a client of a server that accepts connections and never
// answers: the client's own timeouts are seconds long, so only the lease's
// and the tally's bound ends a call.
func silentClient(t *testing.T) *redis.Client {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	var mu sync.Mutex
	var conns []net.Conn
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			mu.Lock()
			conns = append(conns, c)
			mu.Unlock()
		}
	}()
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String(), ReadTimeout: time.Minute, WriteTimeout: time.Minute})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		_ = rdb.Close()
	})
	return rdb
}

// TestRedisLeaseUnreachable: without Redis a holder cannot know whether it
// holds the lease, so Hold reports an error (and false), within the op
// timeout whether Redis refuses connections or never answers.
func TestRedisLeaseUnreachable(t *testing.T) {
	t.Run("refused", func(t *testing.T) {
		l := NewRedisLease(deadClient(t), "down", "mirror")
		start := time.Now()
		ok, err := l.Hold(t.Context(), time.Minute)
		require.Error(t, err)
		assert.False(t, ok)
		assert.Less(t, time.Since(start), leaseOpTimeout+time.Second/2)
		start = time.Now()
		require.Error(t, l.Release(t.Context()))
		assert.Less(t, time.Since(start), leaseOpTimeout+time.Second/2)

		_, err = l.Hold(t.Context(), 0)
		require.ErrorIs(t, err, ErrInvalidArgument, "an invalid life is refused before Redis is asked")
	})
	t.Run("silent", func(t *testing.T) {
		l := NewRedisLease(silentClient(t), "silent", "mirror")
		start := time.Now()
		ok, err := l.Hold(t.Context(), time.Minute)
		took := time.Since(start)
		require.ErrorIs(t, err, context.DeadlineExceeded)
		assert.False(t, ok)
		assert.GreaterOrEqual(t, took, leaseOpTimeout)
		assert.Less(t, took, leaseOpTimeout+time.Second)
	})
}
