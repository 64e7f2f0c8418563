package fleet

import (
	"context"
	"strconv"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tallyCase opens one kind of Tally on a clock.
type tallyCase struct {
	name string
	open func(t *testing.T, now func() time.Time) Tally
}

func tallyCases() []tallyCase {
	return []tallyCase{
		{"memory", func(_ *testing.T, now func() time.Time) Tally { return NewMemoryTally(now) }},
		{"redis", func(t *testing.T, now func() time.Time) Tally {
			rdb := redisClient(t)
			return NewRedisTally(rdb, unique(t, rdb), "upstream-calls", now)
		}},
	}
}

// sum calls Sum and fails the test on an error.
func sum(t *testing.T, tl Tally, span time.Duration) (int64, time.Duration) {
	t.Helper()
	n, covered, err := tl.Sum(t.Context(), span)
	require.NoError(t, err)
	return n, covered
}

func add(t *testing.T, tl Tally, n int64) {
	t.Helper()
	require.NoError(t, tl.Add(t.Context(), n))
}

// TestTallyContract: both tallies sum the hourly buckets of the span, the
// current hour's included and older ones not, and report a coverage that
// grows with the tally's age from its first Add, capped at the span.
func TestTallyContract(t *testing.T) {
	for _, c := range tallyCases() {
		t.Run(c.name, func(t *testing.T) {
			clk := newClock()
			clk.advance(10 * time.Minute) // 09:10, hour h
			tl := c.open(t, clk.now)
			type want struct {
				span    time.Duration
				n       int64
				covered time.Duration
			}
			check := func(step string, ws ...want) {
				t.Helper()
				for _, w := range ws {
					n, covered := sum(t, tl, w.span)
					assert.Equal(t, w.n, n, "%s: events in %s", step, w.span)
					assert.Equal(t, w.covered, covered, "%s: coverage of %s", step, w.span)
				}
			}
			const day, week = 24 * time.Hour, 7 * 24 * time.Hour

			check("before any Add", want{day, 0, 0}, want{time.Hour, 0, 0})
			clk.advance(time.Hour) // 10:10, h+1
			check("time passing before any Add covers nothing", want{day, 0, 0})

			add(t, tl, 5)
			check("the first Add", want{day, 5, 0})

			clk.advance(30 * time.Minute) // 10:40, h+1
			add(t, tl, 2)
			check("a second Add in the same hour",
				want{day, 7, 30 * time.Minute},
				want{30 * time.Minute, 7, 30 * time.Minute},
				want{10 * time.Minute, 7, 10 * time.Minute}, // a span under an hour reads the current hour
			)

			clk.advance(time.Hour) // 11:40, h+2
			add(t, tl, 3)
			check("the next hour",
				want{time.Hour, 3, time.Hour},
				want{2 * time.Hour, 10, 90 * time.Minute},
				want{day, 10, 90 * time.Minute},
			)

			clk.advance(23 * time.Hour) // 10:40 the next day, h+25
			check("a day after the first hour",
				want{day, 3, day}, // h+2..h+25: the first hour is out
				want{25 * time.Hour, 10, 24*time.Hour + 30*time.Minute},
			)
			add(t, tl, 4)
			check("after another Add",
				want{day, 7, day},
				want{week, 14, 24*time.Hour + 30*time.Minute},
			)

			clk.advance(week) // h+193
			check("a week without Adds", want{week, 0, week}, want{day, 0, day})
			add(t, tl, 1)
			check("and one more", want{week, 1, week}, want{8 * day, 8, 8 * day}) // h+2..h+193
		})
	}
}

// TestRedisTallySharedByReplicas: two replicas, each with its own client,
// count into one tally of a name, which began at the first Add of either;
// another name counts apart.
func TestRedisTallySharedByReplicas(t *testing.T) {
	prefix := unique(t, redisClient(t))
	clk := newClock()
	a := NewRedisTally(redisClient(t), prefix, "upstream-calls", clk.now)
	b := NewRedisTally(redisClient(t), prefix, "upstream-calls", clk.now)
	other := NewRedisTally(redisClient(t), prefix, "webhook-deliveries", clk.now)

	add(t, a, 2)
	clk.advance(time.Hour)
	add(t, b, 3)
	add(t, a, 1)
	for name, tl := range map[string]Tally{"a": a, "b": b} {
		n, covered := sum(t, tl, 24*time.Hour)
		assert.Equal(t, int64(6), n, name)
		assert.Equal(t, time.Hour, covered, "%s: b's first Add did not restart the tally", name)
	}
	n, covered := sum(t, other, 24*time.Hour)
	assert.Zero(t, n)
	assert.Zero(t, covered)
}

// TestRedisTallyKeys: a tally is one key per hour and one for when it
// began, each living tallyKeep after the Add that last wrote it, so a
// week's sum finds every bucket of the week and an abandoned tally leaves
// nothing behind.
func TestRedisTallyKeys(t *testing.T) {
	rdb := redisClient(t)
	prefix := unique(t, rdb)
	clk := newClock()
	tl := NewRedisTally(rdb, prefix, "upstream-calls", clk.now)
	base := "{" + prefix + ":tally:upstream-calls}"
	bucket := func(at time.Time) string { return base + ":" + strconv.FormatInt(at.Unix()/3600, 10) }
	requireTTL := func(key string) {
		t.Helper()
		ttl, err := rdb.PTTL(t.Context(), key).Result()
		require.NoError(t, err)
		assert.InDelta(t, tallyKeep.Seconds(), ttl.Seconds(), 5, "%s lives about 8 days", key)
	}

	first := clk.now()
	add(t, tl, 5)
	add(t, tl, 2)
	v, err := rdb.Get(t.Context(), bucket(first)).Int64()
	require.NoError(t, err)
	assert.Equal(t, int64(7), v)
	requireTTL(bucket(first))
	since, err := rdb.Get(t.Context(), base+":since").Int64()
	require.NoError(t, err)
	assert.Equal(t, first.UnixMilli(), since)
	requireTTL(base + ":since")

	clk.advance(time.Hour)
	add(t, tl, 1)
	requireTTL(bucket(clk.now()))

	// A tally older than tallyKeep still knows when it began: its begin
	// key lives as long as its newest bucket. Shortening the key's life
	// stands for the days passed since the first Add.
	require.NoError(t, rdb.PExpire(t.Context(), base+":since", time.Minute).Err())
	add(t, tl, 1)
	requireTTL(base + ":since")
	since, err = rdb.Get(t.Context(), base+":since").Int64()
	require.NoError(t, err)
	assert.Equal(t, first.UnixMilli(), since, "a later Add does not move the beginning")
	_, covered := sum(t, tl, 24*time.Hour)
	assert.Equal(t, time.Hour, covered)
}

// TestMemoryTallyForgetsOldBuckets: the memory tally drops buckets older
// than tallyKeep as it adds, as Redis expires them.
func TestMemoryTallyForgetsOldBuckets(t *testing.T) {
	clk := newClock()
	tl := NewMemoryTally(clk.now)
	add(t, tl, 1)
	clk.advance(time.Hour)
	add(t, tl, 1)
	require.Len(t, tl.buckets, 2)

	clk.advance(tallyKeep + time.Hour)
	add(t, tl, 1)
	assert.Len(t, tl.buckets, 1, "the buckets older than tallyKeep are gone")
	n, covered := sum(t, tl, 2*tallyKeep)
	assert.Equal(t, int64(1), n)
	assert.Equal(t, tallyKeep+2*time.Hour, covered, "the tally still knows when it began")
}

// TestRedisTallyUnreachable: without Redis, Add and Sum report an error
// within the op timeout, whether Redis refuses connections or never
// answers.
func TestRedisTallyUnreachable(t *testing.T) {
	for _, c := range []struct {
		name string
		open func(t *testing.T) *redis.Client
	}{
		{"refused", deadClient},
		{"silent", silentClient},
	} {
		t.Run(c.name, func(t *testing.T) {
			tl := NewRedisTally(c.open(t), "down", "upstream-calls", nil)
			start := time.Now()
			require.Error(t, tl.Add(t.Context(), 1))
			assert.Less(t, time.Since(start), leaseOpTimeout+time.Second/2)

			start = time.Now()
			n, covered, err := tl.Sum(t.Context(), 24*time.Hour)
			require.Error(t, err)
			assert.Less(t, time.Since(start), leaseOpTimeout+time.Second/2)
			assert.Zero(t, n)
			assert.Zero(t, covered)
			if c.name == "silent" {
				assert.ErrorIs(t, err, context.DeadlineExceeded)
			}
		})
	}
}
