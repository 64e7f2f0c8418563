package cache

// Last-known-good copies: written beside every value written back, read
// only when the upstream cannot answer, served only marked stale. A copy is
// the value's encoding after an 8-byte stamp, the big-endian unix
// milliseconds of when it was fetched, so its age survives the store and
// every replica reads the same one.

import (
	"context"
	"encoding/binary"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// stampLen is the length of a copy's fetched-at stamp.
const stampLen = 8

// upstreamDown is the default Options.ServeStale: the upstream could not
// answer, so what the cache last knew is better than nothing. Any answer
// the upstream did give (not found, invalid input, conflict) stands.
func upstreamDown(err error) bool {
	switch workplace.ErrorCode(err) {
	case workplace.EUNAVAILABLE, workplace.ERATELIMITED:
		return true
	}
	return false
}

// staleOn reports whether a read that failed with err may be answered from
// last-known-good copies.
func (s *Service) staleOn(err error) bool {
	return err != nil && s.opts.StaleFor > 0 && s.opts.ServeStale(err)
}

// writeBack appends the write-back of a value fetched at `at` and, unless
// stale serving is disabled, its last-known-good copy under shadow. The
// copy is guarded by the value's generation: a read that started before an
// invalidation writes neither, so it cannot replace a newer copy.
func (s *Service) writeBack(writes []Item, value Item, shadow string, at time.Time) []Item {
	writes = append(writes, value)
	if s.opts.StaleFor <= 0 {
		return writes
	}
	b := make([]byte, stampLen+len(value.Value))
	binary.BigEndian.PutUint64(b, uint64(at.UnixMilli()))
	copy(b[stampLen:], value.Value)
	return append(writes, Item{Key: shadow, Value: b, TTL: s.opts.StaleFor, Gen: value.Gen, GenOf: value.Key})
}

// lastKnown is one last-known-good copy as read.
type lastKnown struct {
	// value is the encoded value, for the read's codec.
	value []byte
	age   time.Duration
	found bool
}

// lastKnowns reads the copies under shadows in one round trip. With the
// store down (or skipped while down) none is found, so the upstream's error
// stands. The lookups are not reported to Options.OnLookup: they are not
// the cache's hits or misses.
func (s *Service) lastKnowns(ctx context.Context, shadows []string) []lastKnown {
	out := make([]lastKnown, len(shadows))
	es, ok := s.storeGet(ctx, shadows)
	if !ok {
		return out
	}
	now := s.now()
	for i, e := range es {
		if !e.Found || len(e.Value) < stampLen {
			continue
		}
		at := time.UnixMilli(int64(binary.BigEndian.Uint64(e.Value)))
		out[i] = lastKnown{value: e.Value[stampLen:], age: now.Sub(at), found: true}
	}
	return out
}
