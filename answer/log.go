package answer

import (
	"context"
	"sync"
	"time"
)

// Log is the order in which the fleet's store writes were made, numbered
// from 1: what keeps the answers of every replica exact. A write is logged
// after it is made, so a reader that sees its number can rely on finding it
// done.
type Log interface {
	// Seq is the number of the last write logged, as the fleet has it now.
	Seq(ctx context.Context) (uint64, error)
	// Written logs a write of keys.
	Written(ctx context.Context, keys []string) error
	// Follow calls start with the number of the last write logged once it
	// hears every write after it, then apply with each of them in order,
	// until ctx ends. A write it may have missed shows as a gap in the
	// numbers.
	Follow(ctx context.Context, start func(seq uint64), apply func(seq uint64, keys []string))
}

// A LeasingLog lets a follower serve what it has applied without asking
// where the fleet is, while it holds a lease, because its writers wait for
// the followers holding one: Written returns only once every follower that
// held a lease when the write was logged has told the log it applied it
// (Hold), or its lease has run out. A lease is granted only to a follower
// that has applied every write logged (so one that stops hearing them
// cannot keep it), and for at most a fixed time.
type LeasingLog interface {
	Log
	// Hold tells the log that follower id has applied every write up to
	// mark, and renews its lease when no later write was logged. It returns
	// until when, on this replica's clock, the lease is held: the zero time
	// when it was not renewed.
	Hold(ctx context.Context, id string, mark uint64) (time.Time, error)
	// Release gives follower id's lease up, once it serves nothing more,
	// so that writers stop waiting for it.
	Release(ctx context.Context, id string) error
}

// MemoryLog is the Log of a single replica: writes are applied to its
// followers as they are logged, before Written returns.
type MemoryLog struct {
	mu        sync.Mutex
	seq       uint64
	followers map[*follower]struct{}
}

type follower struct{ apply func(uint64, []string) }

// NewMemoryLog returns an empty log.
func NewMemoryLog() *MemoryLog { return &MemoryLog{followers: map[*follower]struct{}{}} }

// Seq implements Log.
func (m *MemoryLog) Seq(context.Context) (uint64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seq, nil
}

// Written implements Log.
func (m *MemoryLog) Written(_ context.Context, keys []string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.seq++
	for f := range m.followers {
		f.apply(m.seq, keys)
	}
	return nil
}

// Follow implements Log.
func (m *MemoryLog) Follow(ctx context.Context, start func(uint64), apply func(uint64, []string)) {
	f := &follower{apply: apply}
	m.mu.Lock()
	m.followers[f] = struct{}{}
	start(m.seq)
	m.mu.Unlock()
	<-ctx.Done()
	m.mu.Lock()
	delete(m.followers, f)
	m.mu.Unlock()
}
