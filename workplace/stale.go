package workplace

// Stale answers: when the upstream cannot answer, a cache may serve what it
// last knew. The client must be told, so the cache notes each such answer in
// the operation's context and the gateway reports the tally.

import (
	"context"
	"slices"
	"sync"
	"time"
)

// Staleness collects, for one GraphQL operation, the answers served from the
// cache past their freshness because the upstream could not answer; the
// gateway reports them in the response's extensions, so a client can tell
// "this is the schedule" from "this is the schedule as of 40 minutes ago".
// It is safe for concurrent use: fields resolve concurrently.
type Staleness struct {
	mu     sync.Mutex
	count  int
	maxAge time.Duration
	kinds  map[string]struct{}
}

// stalenessKey is the context key of the operation's Staleness.
type stalenessKey struct{}

// WithStaleness returns ctx carrying a new, empty Staleness, and that
// Staleness, so the gateway can start one per operation and read it once the
// operation has resolved.
func WithStaleness(ctx context.Context) (context.Context, *Staleness) {
	s := &Staleness{}
	return context.WithValue(ctx, stalenessKey{}, s), s
}

// NoteStale records one stale answer of the given kind (a cache key kind
// such as "roomBookings") and age. No-op when ctx carries no Staleness, so a
// cache can note unconditionally and callers that do not report (background
// work, tests) need not care. An age below zero (the copy was stamped by a
// replica whose clock runs ahead) counts as zero.
func NoteStale(ctx context.Context, kind string, age time.Duration) {
	s, _ := ctx.Value(stalenessKey{}).(*Staleness)
	if s == nil {
		return
	}
	age = max(age, 0)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.count++
	s.maxAge = max(s.maxAge, age)
	if s.kinds == nil {
		s.kinds = map[string]struct{}{}
	}
	s.kinds[kind] = struct{}{}
}

// Report returns how many stale answers were served, the oldest age, and the
// sorted distinct kinds: what a response's extensions need, in a stable
// order. A nil Staleness reports nothing.
func (s *Staleness) Report() (count int, maxAge time.Duration, kinds []string) {
	if s == nil {
		return 0, 0, nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.kinds {
		kinds = append(kinds, k)
	}
	slices.Sort(kinds)
	return s.count, s.maxAge, kinds
}
