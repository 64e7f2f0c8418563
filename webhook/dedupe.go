package webhook

// This file holds MemoryDeduper, the Deduper of a gateway without Redis.

import (
	"context"
	"sync"
	"time"
)

// MemoryDeduper is a Deduper in one process's memory: right for a single
// replica, and lost on restart (a retry that arrives after a restart is
// processed again, which only repeats an idempotent invalidation and a
// subscription event). It is safe for concurrent use.
type MemoryDeduper struct {
	now func() time.Time

	mu      sync.Mutex
	expires map[string]time.Time
	// sweepAt is the size at which expired claims are next swept, so the
	// map stays bounded without a goroutine and sweeping costs O(1)
	// amortised per claim.
	sweepAt int
}

// minSweep is the smallest map size at which a sweep runs.
const minSweep = 1024

// NewMemoryDeduper returns an empty MemoryDeduper; now is its clock, nil =
// time.Now.
func NewMemoryDeduper(now func() time.Time) *MemoryDeduper {
	if now == nil {
		now = time.Now
	}
	return &MemoryDeduper{now: now, expires: map[string]time.Time{}, sweepAt: minSweep}
}

// Claim implements Deduper: it is true for the first claim of key, and
// again once an earlier claim has expired or been released.
func (d *MemoryDeduper) Claim(_ context.Context, key string, ttl time.Duration) (bool, error) {
	now := d.now()
	d.mu.Lock()
	defer d.mu.Unlock()
	if exp, ok := d.expires[key]; ok && now.Before(exp) {
		return false, nil
	}
	d.expires[key] = now.Add(ttl)
	if len(d.expires) >= d.sweepAt {
		for k, exp := range d.expires {
			if !now.Before(exp) {
				delete(d.expires, k)
			}
		}
		d.sweepAt = max(minSweep, 2*len(d.expires))
	}
	return true, nil
}

// Release implements Deduper.
func (d *MemoryDeduper) Release(_ context.Context, key string) error {
	d.mu.Lock()
	delete(d.expires, key)
	d.mu.Unlock()
	return nil
}

// size is the number of claims held, expired or not; for tests.
func (d *MemoryDeduper) size() int {
	d.mu.Lock()
	defer d.mu.Unlock()
	return len(d.expires)
}
