package workplace

// How many upstream calls one request made and how long they took, for its
// access line: the upstream client notes each call on the request's
// context.

import (
	"context"
	"sync/atomic"
	"time"
)

// CallTally counts the upstream calls made on behalf of one request. Safe
// for concurrent use.
type CallTally struct {
	n, nanos atomic.Int64
}

type callTallyKey struct{}

// WithCallTally returns ctx carrying a new CallTally, and that tally.
func WithCallTally(ctx context.Context) (context.Context, *CallTally) {
	t := &CallTally{}
	return context.WithValue(ctx, callTallyKey{}, t), t
}

// NoteCall records one upstream call of duration d on ctx's tally; no-op
// without one (background work).
func NoteCall(ctx context.Context, d time.Duration) {
	if t, ok := ctx.Value(callTallyKey{}).(*CallTally); ok {
		t.n.Add(1)
		t.nanos.Add(int64(d))
	}
}

// Calls are the calls noted, and their durations summed.
func (t *CallTally) Calls() (int64, time.Duration) {
	return t.n.Load(), time.Duration(t.nanos.Load())
}
