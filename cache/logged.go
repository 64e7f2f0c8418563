package cache

// A store whose writes are logged, so that what was computed from its
// values (the gateway's kept answers, on every replica) is dropped when
// they change.

import (
	"context"
	"slices"
	"sync"
)

// WriteLog hears every write of a Logged store once it is made.
type WriteLog interface {
	// Written logs that keys were written or dropped. It returns once the
	// write is logged where every replica reads it.
	Written(ctx context.Context, keys []string) error
}

// Logged returns store with every Set, Invalidate and Bump logged to log
// after it is made (also when it failed: it may have been made). A write
// the log could not take is logged again with the next one, and until then
// the log's readers only lose what it would have dropped (see WriteLog).
func Logged(store Store, log WriteLog) Store {
	return &logged{Store: store, log: log}
}

type logged struct {
	Store
	log     WriteLog
	mu      sync.Mutex
	pending []string
}

func (l *logged) written(ctx context.Context, keys []string) {
	l.mu.Lock()
	if len(l.pending) > 0 {
		keys = append(slices.Clip(keys), l.pending...)
		l.pending = nil
	}
	l.mu.Unlock()
	if err := l.log.Written(ctx, keys); err != nil {
		l.mu.Lock()
		// Bounded: past the cap the oldest are dropped, and the readers'
		// own checks (a gap in the log, an answer's maximum age) cover
		// them.
		l.pending = append(l.pending, keys...)
		if over := len(l.pending) - maxPendingWrites; over > 0 {
			l.pending = slices.Delete(l.pending, 0, over)
		}
		l.mu.Unlock()
	}
}

// maxPendingWrites bounds the keys kept for a log that failed.
const maxPendingWrites = 1 << 14

func (l *logged) Set(ctx context.Context, items []Item) error {
	err := l.Store.Set(ctx, items)
	keys := make([]string, len(items))
	for i, it := range items {
		keys[i] = it.Key
	}
	l.written(ctx, keys)
	return err
}

func (l *logged) Invalidate(ctx context.Context, keys []string) error {
	err := l.Store.Invalidate(ctx, keys)
	l.written(ctx, keys)
	return err
}

func (l *logged) Bump(ctx context.Context, keys []string) ([]int64, error) {
	gens, err := l.Store.Bump(ctx, keys)
	l.written(ctx, keys)
	return gens, err
}
