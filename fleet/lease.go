package fleet

// A lease one replica of the fleet holds at a time: the mirror's worker
// (which fills, rolls and sweeps the tenant's mirror) runs on whichever
// replica holds it, and another takes it over when its holder stops
// renewing (it died, or lost Redis).

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"
)

// Lease is held by at most one holder at a time across the fleet. A holder
// keeps it by calling Hold again well within its life; a holder that stops
// loses it when the life ends, and the next Hold by another holder takes it.
type Lease interface {
	// Hold takes the lease, or renews it when this holder has it, for
	// life, and reports whether this holder has it now. An error (Redis
	// unreachable) means this holder cannot know: it must act as if it
	// did not hold the lease.
	Hold(ctx context.Context, life time.Duration) (bool, error)
	// Release gives the lease up at once when this holder has it, so a
	// replica stopping gracefully hands over without waiting out the life.
	Release(ctx context.Context) error
}

// leaseOpTimeout bounds one Redis round trip of a lease.
const leaseOpTimeout = time.Second

// RedisLease is a Lease in Redis, one key "{prefix:lease:name}" holding the
// holder's random id, set with NX and a life, renewed and released only by
// the holder whose id it holds (compare-and-set in Lua), so a holder that
// lost the lease to another can never renew or release the other's.
type RedisLease struct {
	rdb    redis.UniversalClient
	key    string
	holder string
	hold   *redis.Script
	drop   *redis.Script
}

// NewRedisLease returns the lease called name (per fleet, the same on every
// replica) under prefix, for a holder with a fresh random id.
func NewRedisLease(rdb redis.UniversalClient, prefix, name string) *RedisLease {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return &RedisLease{rdb: rdb, key: "{" + prefix + ":lease:" + name + "}", holder: hex.EncodeToString(b),
		hold: redis.NewScript(leaseHoldScript), drop: redis.NewScript(leaseDropScript)}
}

// leaseHoldScript renews the lease when ARGV[1] holds it, takes it when
// nobody does, and answers 1 when ARGV[1] holds it afterwards.
const leaseHoldScript = `
local cur = redis.call('GET', KEYS[1])
if cur == ARGV[1] then
  redis.call('PEXPIRE', KEYS[1], ARGV[2])
  return 1
end
if not cur then
  redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
  return 1
end
return 0`

// leaseDropScript deletes the lease only when ARGV[1] holds it.
const leaseDropScript = `
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0`

// Hold implements Lease.
func (l *RedisLease) Hold(ctx context.Context, life time.Duration) (bool, error) {
	if life < time.Millisecond {
		return false, fmt.Errorf("%w: lease life %s is under a millisecond", ErrInvalidArgument, life)
	}
	n, err := bounded(ctx, leaseOpTimeout, func(ctx context.Context) (int64, error) {
		return l.hold.Run(ctx, l.rdb, []string{l.key}, l.holder, life.Milliseconds()).Int64()
	})
	if err != nil {
		return false, err
	}
	return n == 1, nil
}

// Release implements Lease.
func (l *RedisLease) Release(ctx context.Context) error {
	_, err := bounded(ctx, leaseOpTimeout, func(ctx context.Context) (int64, error) {
		return l.drop.Run(ctx, l.rdb, []string{l.key}, l.holder).Int64()
	})
	return err
}

// MemoryLease is a Lease inside one process: right for a gateway without
// Redis, which runs alone. Leases made by one NewMemoryLeases share one
// holder slot, as replicas share a Redis key, so tests can hand it over.
type MemoryLease struct {
	slot *memorySlot
	id   int
	now  func() time.Time
}

type memorySlot struct {
	mu     sync.Mutex
	holder int
	until  time.Time
	next   int
}

// NewMemoryLeases returns n leases contending for one slot, on clock now
// (nil: time.Now).
func NewMemoryLeases(n int, now func() time.Time) []*MemoryLease {
	if now == nil {
		now = time.Now
	}
	slot := &memorySlot{}
	out := make([]*MemoryLease, n)
	for i := range out {
		slot.next++
		out[i] = &MemoryLease{slot: slot, id: slot.next, now: now}
	}
	return out
}

// Hold implements Lease.
func (l *MemoryLease) Hold(_ context.Context, life time.Duration) (bool, error) {
	if life < time.Millisecond {
		return false, fmt.Errorf("%w: lease life %s is under a millisecond", ErrInvalidArgument, life)
	}
	s := l.slot
	s.mu.Lock()
	defer s.mu.Unlock()
	now := l.now()
	if s.holder != 0 && s.holder != l.id && now.Before(s.until) {
		return false, nil
	}
	s.holder, s.until = l.id, now.Add(life)
	return true, nil
}

// Release implements Lease.
func (l *MemoryLease) Release(context.Context) error {
	s := l.slot
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.holder == l.id {
		s.holder = 0
	}
	return nil
}
