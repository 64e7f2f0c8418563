package fleet

// A count of events the whole fleet makes, in hourly buckets: what the
// forecast of the week's upstream calls reads, since Engage counts the
// calls of every replica against one weekly quota.

import (
	"context"
	"fmt"
	"strconv"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Tally counts events in hourly buckets shared by the fleet.
type Tally interface {
	// Add counts n events now.
	Add(ctx context.Context, n int64) error
	// Sum returns the events counted in the buckets of the last span (the
	// current hour's included) and how much of that span the buckets
	// cover: less than span while the tally is younger than it.
	Sum(ctx context.Context, span time.Duration) (events int64, covered time.Duration, err error)
}

// tallyKeep is how long a bucket lives: a week and a day, so a week's sum
// always finds every bucket of the week.
const tallyKeep = 8 * 24 * time.Hour

// RedisTally is a Tally in Redis: one key per hour, "{prefix:tally:name}:<hour>",
// and a key holding when the tally began.
type RedisTally struct {
	rdb  redis.UniversalClient
	base string
	now  func() time.Time
}

// NewRedisTally returns the tally called name under prefix, on clock now
// (nil: time.Now).
func NewRedisTally(rdb redis.UniversalClient, prefix, name string, now func() time.Time) *RedisTally {
	if now == nil {
		now = time.Now
	}
	return &RedisTally{rdb: rdb, base: "{" + prefix + ":tally:" + name + "}", now: now}
}

func hourOf(t time.Time) int64 { return t.Unix() / 3600 }

// Add implements Tally.
func (t *RedisTally) Add(ctx context.Context, n int64) error {
	now := t.now()
	_, err := bounded(ctx, leaseOpTimeout, func(ctx context.Context) (struct{}, error) {
		pipe := t.rdb.Pipeline()
		key := t.base + ":" + strconv.FormatInt(hourOf(now), 10)
		pipe.IncrBy(ctx, key, n)
		pipe.Expire(ctx, key, tallyKeep)
		// Renewed by every Add, as the buckets are: a tally older than
		// tallyKeep must not forget when it began.
		pipe.SetNX(ctx, t.base+":since", now.UnixMilli(), tallyKeep)
		pipe.Expire(ctx, t.base+":since", tallyKeep)
		_, err := pipe.Exec(ctx)
		return struct{}{}, err
	})
	return err
}

// Sum implements Tally.
func (t *RedisTally) Sum(ctx context.Context, span time.Duration) (int64, time.Duration, error) {
	now := t.now()
	hours := max(1, int64(span/time.Hour))
	type result struct {
		n     int64
		since time.Time
	}
	r, err := bounded(ctx, leaseOpTimeout, func(ctx context.Context) (result, error) {
		pipe := t.rdb.Pipeline()
		cmds := make([]*redis.StringCmd, hours)
		for i := range hours {
			cmds[i] = pipe.Get(ctx, t.base+":"+strconv.FormatInt(hourOf(now)-i, 10))
		}
		since := pipe.Get(ctx, t.base+":since")
		if _, err := pipe.Exec(ctx); err != nil && err != redis.Nil {
			return result{}, err
		}
		var out result
		for _, c := range cmds {
			if v, err := c.Int64(); err == nil {
				out.n += v
			}
		}
		if ms, err := since.Int64(); err == nil {
			out.since = time.UnixMilli(ms)
		}
		return out, nil
	})
	if err != nil {
		return 0, 0, fmt.Errorf("tally: %w", err)
	}
	return r.n, coverage(now, r.since, span), nil
}

// coverage is how much of the last span a tally begun at since has seen.
func coverage(now, since time.Time, span time.Duration) time.Duration {
	if since.IsZero() {
		return 0
	}
	return min(span, max(0, now.Sub(since)))
}

// MemoryTally is a Tally inside one process.
type MemoryTally struct {
	mu      sync.Mutex
	buckets map[int64]int64
	since   time.Time
	now     func() time.Time
}

// NewMemoryTally returns an empty tally on clock now (nil: time.Now).
func NewMemoryTally(now func() time.Time) *MemoryTally {
	if now == nil {
		now = time.Now
	}
	return &MemoryTally{buckets: map[int64]int64{}, now: now}
}

// Add implements Tally.
func (t *MemoryTally) Add(_ context.Context, n int64) error {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	if t.since.IsZero() {
		t.since = now
	}
	h := hourOf(now)
	t.buckets[h] += n
	for k := range t.buckets {
		if h-k > int64(tallyKeep/time.Hour) {
			delete(t.buckets, k)
		}
	}
	return nil
}

// Sum implements Tally.
func (t *MemoryTally) Sum(_ context.Context, span time.Duration) (int64, time.Duration, error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	now := t.now()
	hours := max(1, int64(span/time.Hour))
	var n int64
	for i := range hours {
		n += t.buckets[hourOf(now)-i]
	}
	return n, coverage(now, t.since, span), nil
}
