package fleet

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// limiterCase opens one kind of Limiter for a contract test. Its clock
// stands still (memory) or the rates are slow enough that time passing
// during the test refills nothing (Redis).
type limiterCase struct {
	name string
	open func(t *testing.T) Limiter
}

func limiters() []limiterCase {
	return []limiterCase{
		{name: "memory", open: func(*testing.T) Limiter { return NewMemoryLimiter(newClock().now) }},
		{name: "redis", open: func(t *testing.T) Limiter {
			rdb := redisClient(t)
			// A generous OpTimeout: these tests are about the arithmetic,
			// and a fallback under -race would answer with other numbers.
			return NewRedisLimiter(rdb, unique(t, rdb), RedisLimiterOptions{OpTimeout: wait})
		}},
	}
}

// forEachLimiter runs fn as a subtest against every limiter.
func forEachLimiter(t *testing.T, fn func(t *testing.T, l Limiter)) {
	t.Helper()
	for _, lc := range limiters() {
		t.Run(lc.name, func(t *testing.T) { fn(t, lc.open(t)) })
	}
}

// hourly is n events per hour: one every 3600/n seconds, so nothing refills
// while a test runs.
func hourly(n, burst int) Rate { return Rate{Events: n, Per: time.Hour, Burst: burst} }

// allow calls Allow and fails the test on an error.
func allow(t *testing.T, l Limiter, key string, reserve float64, rates ...Rate) Decision {
	t.Helper()
	d, err := l.Allow(t.Context(), key, reserve, rates...)
	require.NoError(t, err)
	return d
}

func peek(t *testing.T, l Limiter, key string, rates ...Rate) int {
	t.Helper()
	n, err := l.Peek(t.Context(), key, rates...)
	require.NoError(t, err)
	return n
}

// assertRetryNear checks a refusal's RetryIn against what the arithmetic
// says, give or take the time the test itself takes on Redis's clock.
func assertRetryNear(t *testing.T, want time.Duration, d Decision) {
	t.Helper()
	assert.False(t, d.Allowed)
	assert.InDelta(t, want.Seconds(), d.RetryIn.Seconds(), 2, "RetryIn %v", d.RetryIn)
	assert.LessOrEqual(t, d.RetryIn, want)
}

func TestLimiterBurst(t *testing.T) {
	forEachLimiter(t, func(t *testing.T, l Limiter) {
		t.Run("burst of four", func(t *testing.T) {
			rate := hourly(10, 4)
			for i := range 5 {
				d := allow(t, l, "b4", 0, rate)
				require.True(t, d.Allowed, "event %d of the burst", i)
				assert.Zero(t, d.RetryIn)
				assert.Equal(t, 4-i, d.Remaining)
			}
			d := allow(t, l, "b4", 0, rate)
			assertRetryNear(t, 6*time.Minute, d) // one interval: 3600s/10
			assert.Zero(t, d.Remaining)
			assertRetryNear(t, 6*time.Minute, allow(t, l, "b4", 0, rate))
		})
		t.Run("no burst", func(t *testing.T) {
			rate := hourly(60, 0)
			d := allow(t, l, "b0", 0, rate)
			require.True(t, d.Allowed)
			assert.Zero(t, d.Remaining)
			assertRetryNear(t, time.Minute, allow(t, l, "b0", 0, rate))
		})
		t.Run("keys are apart", func(t *testing.T) {
			rate := hourly(60, 0)
			require.True(t, allow(t, l, "apart-1", 0, rate).Allowed)
			require.True(t, allow(t, l, "apart-2", 0, rate).Allowed)
			require.False(t, allow(t, l, "apart-1", 0, rate).Allowed)
		})
	})
}

func TestLimiterAllRatesOrNothing(t *testing.T) {
	forEachLimiter(t, func(t *testing.T, l Limiter) {
		loose := hourly(100, 9) // 10 at once, then one every 36s
		tight := hourly(10, 2)  // 3 at once, then one every 6min
		for i := range 3 {
			d := allow(t, l, "two", 0, loose, tight)
			require.True(t, d.Allowed)
			assert.Equal(t, 2-i, d.Remaining, "the tightest rate sets Remaining")
		}
		for range 4 {
			d := allow(t, l, "two", 0, loose, tight)
			assertRetryNear(t, 6*time.Minute, d)
			assert.Zero(t, d.Remaining)
		}
		// The loose rate (first, so its state is r0) spent only the three
		// events both rates allowed, not the refused ones.
		assert.Equal(t, 7, peek(t, l, "two", loose))
	})
}

func TestLimiterReserve(t *testing.T) {
	forEachLimiter(t, func(t *testing.T, l Limiter) {
		rate := hourly(10, 9) // 10 at once
		for i := range 5 {
			require.True(t, allow(t, l, "shared", 0.5, rate).Allowed, "background event %d", i)
		}
		d := allow(t, l, "shared", 0.5, rate)
		assertRetryNear(t, 6*time.Minute, d)
		assert.Equal(t, 5, d.Remaining, "Remaining counts the whole bucket")
		for i := range 5 {
			require.True(t, allow(t, l, "shared", 0, rate).Allowed, "interactive event %d", i)
		}
		assertRetryNear(t, 6*time.Minute, allow(t, l, "shared", 0, rate))
		// Background has to wait for the bucket to drain back to half:
		// five intervals, less what one more interval would take.
		assertRetryNear(t, 36*time.Minute, allow(t, l, "shared", 0.5, rate))

		// However large its reserve, a caller may spend from a full bucket.
		require.True(t, allow(t, l, "single", 0.9, hourly(10, 0)).Allowed)
	})
}

func TestLimiterRemainingAndPeek(t *testing.T) {
	forEachLimiter(t, func(t *testing.T, l Limiter) {
		rate := hourly(10, 4)
		assert.Equal(t, 5, peek(t, l, "p", rate), "a new key has the whole bucket")
		assert.Equal(t, 5, peek(t, l, "p", rate), "Peek spends nothing")
		prev := 5
		for range 5 {
			d := allow(t, l, "p", 0, rate)
			require.True(t, d.Allowed)
			assert.Equal(t, prev-1, d.Remaining)
			assert.Equal(t, d.Remaining, peek(t, l, "p", rate))
			prev = d.Remaining
		}
		assert.Zero(t, peek(t, l, "p", rate))
	})
}

func TestLimiterInvalidArguments(t *testing.T) {
	good := hourly(10, 1)
	cases := []struct {
		name    string
		reserve float64
		rates   []Rate
	}{
		{"no rate", 0, nil},
		{"no events", 0, []Rate{good, {Events: 0, Per: time.Second}}},
		{"negative events", 0, []Rate{{Events: -1, Per: time.Second}}},
		{"no period", 0, []Rate{{Events: 1}}},
		{"sub-microsecond period", 0, []Rate{{Events: 1, Per: time.Nanosecond}}},
		{"negative burst", 0, []Rate{{Events: 1, Per: time.Second, Burst: -1}}},
		{"huge burst", 0, []Rate{{Events: 1, Per: time.Hour, Burst: math.MaxInt}}},
		{"negative reserve", -0.1, []Rate{good}},
		{"whole reserve", 1, []Rate{good}},
		{"NaN reserve", math.NaN(), []Rate{good}},
	}
	forEachLimiter(t, func(t *testing.T, l Limiter) {
		for _, c := range cases {
			t.Run(c.name, func(t *testing.T) {
				_, err := l.Allow(t.Context(), "bad", c.reserve, c.rates...)
				require.ErrorIs(t, err, ErrInvalidArgument)
				if c.reserve == 0 {
					_, err = l.Peek(t.Context(), "bad", c.rates...)
					require.ErrorIs(t, err, ErrInvalidArgument)
				}
			})
		}
		assert.Equal(t, 2, peek(t, l, "bad", good), "nothing was spent")
	})
}

func TestMemoryLimiterRefill(t *testing.T) {
	clk := newClock()
	l := NewMemoryLimiter(clk.now)
	rate := Rate{Events: 10, Per: time.Second, Burst: 2} // 3 at once, then one per 100ms
	for range 3 {
		require.True(t, allow(t, l, "k", 0, rate).Allowed)
	}
	d := allow(t, l, "k", 0, rate)
	require.False(t, d.Allowed)
	assert.Equal(t, 100*time.Millisecond, d.RetryIn)

	clk.advance(99 * time.Millisecond)
	d = allow(t, l, "k", 0, rate)
	require.False(t, d.Allowed)
	assert.Equal(t, time.Millisecond, d.RetryIn)
	clk.advance(time.Millisecond)
	require.True(t, allow(t, l, "k", 0, rate).Allowed)

	// At the steady pace, exactly Events per Per get through.
	allowed := 0
	for range 100 {
		clk.advance(10 * time.Millisecond)
		if allow(t, l, "k", 0, rate).Allowed {
			allowed++
		}
	}
	assert.Equal(t, 10, allowed, "events allowed in one Per at the steady pace")

	// An idle bucket refills to its capacity, never beyond.
	clk.advance(time.Hour)
	assert.Equal(t, 3, peek(t, l, "k", rate))
}

func TestMemoryLimiterForgetsDrainedKeys(t *testing.T) {
	clk := newClock()
	l := NewMemoryLimiter(clk.now)
	rate := Rate{Events: 1, Per: time.Second}
	for _, k := range []string{"a", "b", "c"} {
		require.True(t, allow(t, l, k, 0, rate, rate).Allowed)
	}
	l.mu.Lock()
	assert.Len(t, l.tats, 6)
	l.mu.Unlock()

	clk.advance(sweepEvery)
	require.True(t, allow(t, l, "d", 0, rate).Allowed)
	l.mu.Lock()
	assert.Equal(t, map[slot]int64{{"d", 0}: clk.now().Add(time.Second).UnixMicro()}, l.tats)
	l.mu.Unlock()
	assert.Equal(t, 1, peek(t, l, "a", rate), "a forgotten key has a full bucket")
}

func TestFallbackRates(t *testing.T) {
	r := Rate{Events: 100, Per: time.Minute, Burst: 9}
	assert.Equal(t, []Rate{r}, fallbackRates([]Rate{r}, 1))
	assert.Equal(t, []Rate{{Events: 100, Per: 3 * time.Minute, Burst: 2}}, fallbackRates([]Rate{r}, 3))
	assert.Equal(t, []Rate{{Events: 100, Per: 20 * time.Minute, Burst: 0}}, fallbackRates([]Rate{r}, 20),
		"at least one event at a time")
}
