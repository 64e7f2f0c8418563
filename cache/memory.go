package cache

import (
	"context"
	"sync"
	"time"
)

// MemoryStore is the Store of a single replica without Redis: a map under
// a mutex, which makes the conditional set and the invalidation trivially
// atomic.
type MemoryStore struct {
	mu     sync.Mutex
	now    func() time.Time
	values map[string]memValue
	gens   map[string]memValue
	claims map[string]time.Time
	// writes counts writes since the last sweep of expired entries, so
	// memory is reclaimed without a background goroutine.
	writes int
}

type memValue struct {
	value   []byte
	gen     int64
	expires time.Time
}

// sweepEvery is how many writes pass between sweeps of expired entries.
const sweepEvery = 1024

// NewMemoryStore returns an empty in-process store.
func NewMemoryStore() *MemoryStore {
	return &MemoryStore{
		now:    time.Now,
		values: map[string]memValue{},
		gens:   map[string]memValue{},
		claims: map[string]time.Time{},
	}
}

func (m *MemoryStore) genLocked(key string, now time.Time) int64 {
	g, ok := m.gens[key]
	if !ok || !now.Before(g.expires) {
		return 0
	}
	return g.gen
}

// Get implements Store.
func (m *MemoryStore) Get(_ context.Context, keys []string) ([]Entry, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make([]Entry, len(keys))
	for i, k := range keys {
		out[i].Gen = m.genLocked(k, now)
		if v, ok := m.values[k]; ok && now.Before(v.expires) {
			out[i].Value = append([]byte(nil), v.value...)
			out[i].Found = true
			out[i].Expires = v.expires
		}
	}
	return out, nil
}

// Has implements Store.
func (m *MemoryStore) Has(_ context.Context, keys []string) ([]bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make([]bool, len(keys))
	for i, k := range keys {
		v, ok := m.values[k]
		out[i] = ok && now.Before(v.expires)
	}
	return out, nil
}

// Set implements Store.
func (m *MemoryStore) Set(_ context.Context, items []Item) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for _, it := range items {
		guard := it.Key
		if it.GenOf != "" {
			guard = it.GenOf
		}
		if !it.Unconditional && m.genLocked(guard, now) != it.Gen {
			continue
		}
		m.values[it.Key] = memValue{value: append([]byte(nil), it.Value...), expires: now.Add(it.TTL)}
	}
	m.maybeSweepLocked(now, len(items))
	return nil
}

// Invalidate implements Store.
func (m *MemoryStore) Invalidate(_ context.Context, keys []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	for _, k := range keys {
		m.gens[k] = memValue{gen: m.genLocked(k, now) + 1, expires: now.Add(DefaultGenTTL)}
		delete(m.values, k)
	}
	m.maybeSweepLocked(now, len(keys))
	return nil
}

// Bump implements Store.
func (m *MemoryStore) Bump(_ context.Context, keys []string) ([]int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	out := make([]int64, len(keys))
	for i, k := range keys {
		out[i] = m.genLocked(k, now) + 1
		m.gens[k] = memValue{gen: out[i], expires: now.Add(DefaultGenTTL)}
	}
	m.maybeSweepLocked(now, len(keys))
	return out, nil
}

func (m *MemoryStore) maybeSweepLocked(now time.Time, n int) {
	m.writes += n
	if m.writes < sweepEvery {
		return
	}
	m.writes = 0
	for k, v := range m.values {
		if !now.Before(v.expires) {
			delete(m.values, k)
		}
	}
	for k, v := range m.gens {
		if !now.Before(v.expires) {
			delete(m.gens, k)
		}
	}
	for k, exp := range m.claims {
		if !now.Before(exp) {
			delete(m.claims, k)
		}
	}
}

// Claim implements Store.
func (m *MemoryStore) Claim(_ context.Context, key string, ttl time.Duration) (bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	now := m.now()
	if exp, ok := m.claims[key]; ok && now.Before(exp) {
		return false, nil
	}
	m.claims[key] = now.Add(ttl)
	m.maybeSweepLocked(now, 1)
	return true, nil
}

// Release implements Store.
func (m *MemoryStore) Release(_ context.Context, key string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	delete(m.claims, key)
	return nil
}

// Ping implements Store; memory is always reachable.
func (m *MemoryStore) Ping(context.Context) error { return nil }
