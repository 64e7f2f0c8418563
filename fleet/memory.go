package fleet

import (
	"context"
	"sync"
	"time"
)

// sweepEvery is how often, by the limiter's clock, a MemoryLimiter forgets
// the keys whose buckets have drained, so that one-off keys (a client seen
// once) do not accumulate.
const sweepEvery = time.Minute

// MemoryLimiter is a Limiter for one process: for a single replica, for
// tests, and as the fallback of RedisLimiter while Redis is unreachable.
type MemoryLimiter struct {
	now func() time.Time

	mu    sync.Mutex
	tats  map[slot]int64 // theoretical arrival time, µs since the epoch
	swept int64
}

// slot is the state of one rate of one key, as "{prefix:key}:rN" is in
// Redis.
type slot struct {
	key  string
	rate int
}

// NewMemoryLimiter returns a Limiter that keeps its buckets in memory. now
// is its clock, so tests can move time; nil means time.Now.
func NewMemoryLimiter(now func() time.Time) *MemoryLimiter {
	if now == nil {
		now = time.Now
	}
	return &MemoryLimiter{now: now, tats: make(map[slot]int64)}
}

// Allow implements Limiter.
func (m *MemoryLimiter) Allow(_ context.Context, key string, reserve float64, rates ...Rate) (Decision, error) {
	steps, err := plan(reserve, rates)
	if err != nil {
		return Decision{}, err
	}
	return m.run(key, steps, true), nil
}

// Peek implements Limiter.
func (m *MemoryLimiter) Peek(_ context.Context, key string, rates ...Rate) (int, error) {
	steps, err := plan(0, rates)
	if err != nil {
		return 0, err
	}
	return m.run(key, steps, false).Remaining, nil
}

func (m *MemoryLimiter) run(key string, steps []step, spend bool) Decision {
	now := m.now().UnixMicro()
	m.mu.Lock()
	defer m.mu.Unlock()
	m.sweep(now)
	tats := make([]int64, len(steps))
	for i := range steps {
		tats[i] = m.tats[slot{key, i}]
	}
	d, next := decide(now, tats, steps, spend)
	for i, t := range next {
		m.tats[slot{key, i}] = t
	}
	return d
}

// sweep forgets drained buckets, at most once per sweepEvery. A drained
// bucket and a missing one mean the same. Must be called with m.mu held.
func (m *MemoryLimiter) sweep(now int64) {
	if now-m.swept < sweepEvery.Microseconds() {
		return
	}
	m.swept = now
	for s, t := range m.tats {
		if t <= now {
			delete(m.tats, s)
		}
	}
}
