package fleet

import (
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// acquire calls Acquire and fails the test on an error; release is nil
// when no slot was taken.
func acquire(t *testing.T, s Semaphore, key string, limit int) func() {
	t.Helper()
	release, ok, err := s.Acquire(t.Context(), key, limit)
	require.NoError(t, err)
	require.Equal(t, ok, release != nil)
	return release
}

// TestSemaphoreContract: both semaphores hand out at most limit slots per
// key, give a released slot to the next caller, ignore a second release, and
// refuse a limit below 1.
func TestSemaphoreContract(t *testing.T) {
	cases := []struct {
		name string
		open func(t *testing.T) Semaphore
	}{
		{"memory", func(*testing.T) Semaphore { return NewMemorySemaphore() }},
		{"redis", func(t *testing.T) Semaphore {
			rdb := redisClient(t)
			s := NewRedisSemaphore(rdb, unique(t, rdb), RedisSemaphoreOptions{OpTimeout: wait})
			t.Cleanup(s.Close)
			return s
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			s := c.open(t)
			first := acquire(t, s, "client-1", 2)
			require.NotNil(t, first)
			require.NotNil(t, acquire(t, s, "client-1", 2))
			assert.Nil(t, acquire(t, s, "client-1", 2), "the third of two")
			assert.NotNil(t, acquire(t, s, "client-2", 2), "another key has its own slots")

			first()
			third := acquire(t, s, "client-1", 2)
			require.NotNil(t, third, "a released slot is free again")
			first()
			assert.Nil(t, acquire(t, s, "client-1", 2), "a second release frees nothing more")
			third()
			assert.NotNil(t, acquire(t, s, "client-1", 2))

			_, _, err := s.Acquire(t.Context(), "client-1", 0)
			require.ErrorIs(t, err, ErrInvalidArgument)
		})
	}
}

// TestRedisSemaphoreSharedByReplicas: two replicas, each with its own Redis
// client, count one key's slots together, in one sorted set that expires
// with its last slot.
func TestRedisSemaphoreSharedByReplicas(t *testing.T) {
	rdb := redisClient(t)
	prefix := unique(t, rdb)
	const lease = 20 * time.Second
	a := NewRedisSemaphore(redisClient(t), prefix, RedisSemaphoreOptions{OpTimeout: wait, Lease: lease})
	b := NewRedisSemaphore(redisClient(t), prefix, RedisSemaphoreOptions{OpTimeout: wait, Lease: lease})
	t.Cleanup(a.Close)
	t.Cleanup(b.Close)

	onA := acquire(t, a, "k", 3)
	require.NotNil(t, onA)
	require.NotNil(t, acquire(t, a, "k", 3))
	require.NotNil(t, acquire(t, b, "k", 3))
	assert.Nil(t, acquire(t, b, "k", 3), "three are held, two of them on the other replica")
	assert.Nil(t, acquire(t, a, "k", 3))

	key := "{" + prefix + ":k}:slots"
	n, err := rdb.ZCard(t.Context(), key).Result()
	require.NoError(t, err)
	assert.EqualValues(t, 3, n)
	ttl, err := rdb.PTTL(t.Context(), key).Result()
	require.NoError(t, err)
	assert.InDelta(t, lease.Seconds(), ttl.Seconds(), 2, "the set lives no longer than its slots")

	onA()
	assert.NotNil(t, acquire(t, b, "k", 3), "a slot released on one replica is free on the other")
	assert.False(t, a.Degraded())
	assert.False(t, b.Degraded())
}

// TestRedisSemaphoreRefreshKeepsSlots: a replica that holds its slots for
// many leases keeps them; one that dies (here: loses its Redis for good, so
// it can neither refresh nor release) loses them a lease later, and the
// other replicas may take them.
func TestRedisSemaphoreRefreshKeepsSlots(t *testing.T) {
	rdb := redisClient(t)
	prefix := unique(t, rdb)
	const lease = 300 * time.Millisecond
	other := NewRedisSemaphore(redisClient(t), prefix, RedisSemaphoreOptions{OpTimeout: wait, Lease: lease})
	t.Cleanup(other.Close)

	holderRedis := redisClient(t)
	holder := NewRedisSemaphore(holderRedis, prefix, RedisSemaphoreOptions{OpTimeout: wait, Lease: lease})
	t.Cleanup(holder.Close)
	require.NotNil(t, acquire(t, holder, "k", 2))
	require.NotNil(t, acquire(t, holder, "k", 2))

	require.Never(t, func() bool {
		release, ok, err := other.Acquire(t.Context(), "k", 2)
		if ok {
			release()
		}
		return ok || err != nil
	}, 4*lease, lease/6, "the holder's slots outlive their lease while it refreshes them")

	require.NoError(t, holderRedis.Close())
	died := time.Now()
	require.Eventually(t, func() bool { return acquire(t, other, "k", 2) != nil }, wait, 10*time.Millisecond,
		"a dead replica's slots expire")
	assert.GreaterOrEqual(t, time.Since(died), lease/2, "not before they expired")
}

func TestRedisSemaphoreFallsBackWhenRedisIsDown(t *testing.T) {
	var logs logBuffer
	s := NewRedisSemaphore(deadClient(t), "down", RedisSemaphoreOptions{Logger: logs.logger(), FallbackShare: 2})
	t.Cleanup(s.Close)

	// 5 for the fleet: 2 for each of 2 replicas cut off.
	first := acquire(t, s, "k", 5)
	require.NotNil(t, first)
	require.NotNil(t, acquire(t, s, "k", 5))
	assert.True(t, s.Degraded())
	assert.Nil(t, acquire(t, s, "k", 5), "this replica's share is taken")
	first()
	assert.NotNil(t, acquire(t, s, "k", 5), "and freed by a release")
	assert.NotNil(t, acquire(t, s, "other", 1), "a limit below the share is still one")
	assert.Equal(t, 1, logs.count("cannot reach Redis"), logs.String())
}

// TestRedisSemaphoreRecovers runs its own redis-server, kills it and starts
// it again, empty, on the same port: slots taken while it was gone, and
// those it forgot, are counted in Redis again by the next refresh.
func TestRedisSemaphoreRecovers(t *testing.T) {
	srv := startRedisServer(t, freePort(t))
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), DB: testDB})
	t.Cleanup(func() { _ = rdb.Close() })
	var logs logBuffer
	s := NewRedisSemaphore(rdb, "recovers", RedisSemaphoreOptions{
		Logger: logs.logger(), RetryInterval: 20 * time.Millisecond, OpTimeout: time.Second, Lease: 300 * time.Millisecond})
	t.Cleanup(s.Close)

	require.NotNil(t, acquire(t, s, "k", 10))
	srv.stop()
	require.NotNil(t, acquire(t, s, "k", 10), "answered from this replica's count")
	require.True(t, s.Degraded())

	srv.start(t)
	require.Eventually(t, func() bool {
		n, err := rdb.ZCard(t.Context(), "{recovers:k}:slots").Result()
		return err == nil && n == 2
	}, wait, 10*time.Millisecond, "both held slots are in Redis again")
	assert.False(t, s.Degraded())
	assert.Equal(t, 1, logs.count("reaches Redis again"), logs.String())
}
