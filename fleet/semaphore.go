package fleet

// Semaphores bound how many of something a key holds at once (a client's
// open subscriptions), where a rate limit bounds how often. MemorySemaphore
// counts in one process; RedisSemaphore counts for every replica.

import (
	"context"
	"fmt"
	"sync"
)

// Semaphore hands out at most limit slots per key at once. Implementations
// are safe for concurrent use.
type Semaphore interface {
	// Acquire takes one of key's limit slots. ok is false when all of them
	// are held, by this replica or another; then release is nil. Otherwise
	// the caller calls release when it no longer needs the slot; later
	// calls of release do nothing. Errors are returned only for invalid
	// arguments (a limit below 1).
	Acquire(ctx context.Context, key string, limit int) (release func(), ok bool, err error)
}

// MemorySemaphore is a Semaphore for one process: for a single replica and
// for tests.
type MemorySemaphore struct {
	mu   sync.Mutex
	held map[string]int
}

// NewMemorySemaphore returns an empty MemorySemaphore.
func NewMemorySemaphore() *MemorySemaphore {
	return &MemorySemaphore{held: map[string]int{}}
}

// Acquire implements Semaphore.
func (m *MemorySemaphore) Acquire(_ context.Context, key string, limit int) (func(), bool, error) {
	if err := checkLimit(limit); err != nil {
		return nil, false, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.held[key] >= limit {
		return nil, false, nil
	}
	m.held[key]++
	return sync.OnceFunc(func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.held[key]--; m.held[key] <= 0 {
			delete(m.held, key)
		}
	}), true, nil
}

// Held says how many slots key holds, for tests and metrics.
func (m *MemorySemaphore) Held(key string) int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.held[key]
}

func checkLimit(limit int) error {
	if limit < 1 {
		return fmt.Errorf("%w: a semaphore's limit must be at least 1, not %d", ErrInvalidArgument, limit)
	}
	return nil
}
