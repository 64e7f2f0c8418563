package fleet

import (
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestRedisLimiterKeys(t *testing.T) {
	rdb := redisClient(t)
	prefix := unique(t, rdb)
	l := NewRedisLimiter(rdb, prefix, RedisLimiterOptions{OpTimeout: wait})
	require.True(t, allow(t, l, "client-7", 0, hourly(10, 4), hourly(100, 0)).Allowed)

	serverNow, err := rdb.Time(t.Context()).Result()
	require.NoError(t, err)
	for i, drain := range []time.Duration{6 * time.Minute, 36 * time.Second} {
		key := "{" + prefix + ":client-7}:r" + strconv.Itoa(i)
		v, err := rdb.Get(t.Context(), key).Result()
		require.NoError(t, err, key)
		tat, err := strconv.ParseInt(v, 10, 64)
		require.NoError(t, err, "the arrival time is whole microseconds: %q", v)
		assert.InDelta(t, serverNow.Add(drain).UnixMicro(), tat, float64(2*time.Second/time.Microsecond))
		ttl, err := rdb.PTTL(t.Context(), key).Result()
		require.NoError(t, err)
		assert.InDelta(t, drain.Seconds(), ttl.Seconds(), 2, "%s lives until its bucket drains", key)
	}
}

func TestRedisLimiterRefill(t *testing.T) {
	rdb := redisClient(t)
	l := NewRedisLimiter(rdb, unique(t, rdb), RedisLimiterOptions{OpTimeout: wait})
	rate := Rate{Events: 20, Per: time.Second} // one every 50ms
	require.True(t, allow(t, l, "k", 0, rate).Allowed)
	start := time.Now()
	d := allow(t, l, "k", 0, rate)
	require.False(t, d.Allowed)
	require.Positive(t, d.RetryIn)
	require.LessOrEqual(t, d.RetryIn, 50*time.Millisecond)
	require.Eventually(t, func() bool { return allow(t, l, "k", 0, rate).Allowed }, wait, time.Millisecond)
	// Redis's clock and ours are the same machine's.
	assert.GreaterOrEqual(t, time.Since(start), d.RetryIn-2*time.Millisecond, "refilled before RetryIn")
}

// TestRedisLimiterSharedByReplicas hammers one key from three limiters on
// three clients, as three replicas would, and checks that together they
// never get more than the rate allows.
func TestRedisLimiterSharedByReplicas(t *testing.T) {
	rate := Rate{Events: 100, Per: time.Second, Burst: 20}
	const replicas, workers = 3, 4
	var ls []*RedisLimiter
	prefix := ""
	for range replicas {
		rdb := redisClient(t)
		if prefix == "" {
			prefix = unique(t, rdb)
		}
		ls = append(ls, NewRedisLimiter(rdb, prefix, RedisLimiterOptions{OpTimeout: wait}))
	}

	var allowed, calls atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	end := start.Add(300 * time.Millisecond)
	for _, l := range ls {
		for range workers {
			wg.Go(func() {
				for time.Now().Before(end) {
					d, err := l.Allow(t.Context(), "budget", 0, rate)
					if !assert.NoError(t, err) {
						return
					}
					calls.Add(1)
					if d.Allowed {
						allowed.Add(1)
					}
				}
			})
		}
	}
	wg.Wait()
	elapsed := time.Since(start)

	for _, l := range ls {
		require.False(t, l.Degraded(), "a fallback would not be shared")
	}
	most := int64(rate.Burst+1) + int64(float64(rate.Events)*elapsed.Seconds()/rate.Per.Seconds()) + 1
	t.Logf("%d calls, %d allowed in %v (at most %d)", calls.Load(), allowed.Load(), elapsed, most)
	assert.LessOrEqual(t, allowed.Load(), most)
	assert.GreaterOrEqual(t, allowed.Load(), int64(rate.Burst+1), "the burst is available")
}

// deadClient is a client of an address where nothing listens.
func deadClient(t *testing.T) *redis.Client {
	t.Helper()
	rdb := redis.NewClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))})
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

func TestRedisLimiterFallsBackWhenRedisIsDown(t *testing.T) {
	var logs logBuffer
	l := NewRedisLimiter(deadClient(t), "down", RedisLimiterOptions{Logger: logs.logger(), FallbackShare: 2})
	rate := hourly(10, 9) // 10 at once shared; 5 for each of 2 replicas cut off

	for i := range 5 {
		start := time.Now()
		d, err := l.Allow(t.Context(), "k", 0, rate)
		require.NoError(t, err)
		require.True(t, d.Allowed, "event %d of this replica's share", i)
		assert.Less(t, time.Since(start), time.Second, "bounded by OpTimeout")
		assert.True(t, l.Degraded())
	}
	d, err := l.Allow(t.Context(), "k", 0, rate)
	require.NoError(t, err)
	assertRetryNear(t, 12*time.Minute, d) // 10 per 2h: one every 12 minutes
	n, err := l.Peek(t.Context(), "k", rate)
	require.NoError(t, err)
	assert.Zero(t, n)

	assert.Equal(t, 1, logs.count("cannot reach Redis"), logs.String())
	_, err = l.Allow(t.Context(), "k", 1, rate)
	require.ErrorIs(t, err, ErrInvalidArgument, "invalid arguments are still errors")
}

// TestRedisLimiterAnswersWhenRedisIsSilent points a limiter at a server
// that accepts connections and never answers: the client, with its default
// seconds-long timeouts, would wait; the limiter answers after OpTimeout.
func TestRedisLimiterAnswersWhenRedisIsSilent(t *testing.T) {
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
	rdb := redis.NewClient(&redis.Options{Addr: ln.Addr().String()})
	t.Cleanup(func() {
		_ = ln.Close()
		mu.Lock()
		for _, c := range conns {
			_ = c.Close()
		}
		mu.Unlock()
		_ = rdb.Close()
	})

	l := NewRedisLimiter(rdb, "silent", RedisLimiterOptions{OpTimeout: 100 * time.Millisecond})
	start := time.Now()
	d, err := l.Allow(t.Context(), "k", 0, hourly(10, 0))
	took := time.Since(start)
	require.NoError(t, err)
	assert.True(t, d.Allowed)
	assert.True(t, l.Degraded())
	assert.GreaterOrEqual(t, took, 100*time.Millisecond)
	assert.Less(t, took, time.Second)

	// Until RetryInterval has passed, calls do not wait for Redis at all.
	start = time.Now()
	d, err = l.Allow(t.Context(), "k", 0, hourly(10, 0))
	require.NoError(t, err)
	assert.False(t, d.Allowed)
	assert.Less(t, time.Since(start), 50*time.Millisecond)
}

// TestRedisLimiterRecovers runs its own redis-server, kills it and starts it
// again on the same port: the limiter falls back while it is gone, and
// shares the limits again once it is back, logging each change once.
func TestRedisLimiterRecovers(t *testing.T) {
	srv := startRedisServer(t, freePort(t))
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), DB: testDB})
	t.Cleanup(func() { _ = rdb.Close() })
	var logs logBuffer
	l := NewRedisLimiter(rdb, "recovers", RedisLimiterOptions{
		Logger: logs.logger(), RetryInterval: 20 * time.Millisecond, OpTimeout: time.Second})
	// Slow enough that one event keeps its bucket in Redis for seconds (a
	// bucket expires once drained), so the check below cannot race it.
	rate := Rate{Events: 1000, Per: time.Hour, Burst: 1000}

	require.True(t, allow(t, l, "k", 0, rate).Allowed)
	require.False(t, l.Degraded())

	srv.stop()
	for range 5 {
		require.True(t, allow(t, l, "k", 0, rate).Allowed, "answered from memory")
		require.True(t, l.Degraded())
	}

	srv.start(t)
	require.Eventually(t, func() bool {
		return allow(t, l, "k", 0, rate).Allowed && !l.Degraded()
	}, wait, 10*time.Millisecond)
	n, err := rdb.Exists(t.Context(), "{recovers:k}:r0").Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), n, "the bucket is in Redis again")

	assert.Equal(t, 1, logs.count("cannot reach Redis"), logs.String())
	assert.Equal(t, 1, logs.count("reaches Redis again"), logs.String())
}
