package workplace

// What an answer was computed from. The gateway keeps whole answers of
// queries only while nothing they were computed from has changed: every read
// of the gateway's store notes its key here, and whatever answers from
// elsewhere (the upstream, the clock) notes that too, so that an answer is
// kept exactly as long as it stays the one a fresh execution would give.

import (
	"context"
	"sync"
	"time"
)

// Inputs collects what one operation's answer was computed from. Safe for
// concurrent use: fields resolve concurrently.
type Inputs struct {
	mu    sync.Mutex
	keys  map[string]struct{}
	until time.Time
	query bool
	name  string
	// unkept is why the answer may not be kept; "" when it may.
	unkept string
}

type inputsKey struct{}

// WithInputs returns ctx carrying a new, empty Inputs, and that Inputs.
func WithInputs(ctx context.Context) (context.Context, *Inputs) {
	in := &Inputs{keys: map[string]struct{}{}}
	return context.WithValue(ctx, inputsKey{}, in), in
}

func inputsOf(ctx context.Context) *Inputs {
	in, _ := ctx.Value(inputsKey{}).(*Inputs)
	return in
}

// NoteReads records that the answer on ctx read n of the store's keys:
// read(i) gives the i-th key and when its value (or absence) expires (zero:
// not until it is written). No-op without Inputs on ctx.
func NoteReads(ctx context.Context, n int, read func(i int) (key string, expires time.Time)) {
	in := inputsOf(ctx)
	if in == nil {
		return
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	for i := range n {
		key, expires := read(i)
		in.keys[key] = struct{}{}
		if !expires.IsZero() && (in.until.IsZero() || expires.Before(in.until)) {
			in.until = expires
		}
	}
}

// NoteUnkept records that the answer on ctx depends on something no store
// key holds (an upstream call, a store that failed), so it must not be kept.
func NoteUnkept(ctx context.Context, why string) {
	in := inputsOf(ctx)
	if in == nil {
		return
	}
	in.mu.Lock()
	if in.unkept == "" {
		in.unkept = why
	}
	in.mu.Unlock()
}

// NoteQuery records that ctx's operation is the query name ("" when
// anonymous): only a query's answer may be kept.
func NoteQuery(ctx context.Context, name string) {
	in := inputsOf(ctx)
	if in == nil {
		return
	}
	in.mu.Lock()
	in.query, in.name = true, name
	in.mu.Unlock()
}

// Now is time.Now for a resolver: an answer that reads the clock is kept no
// longer than the minute it read, the finest the resolvers use it at (the
// current day in a zone, the current minute of free slots).
func Now(ctx context.Context) time.Time {
	now := time.Now()
	in := inputsOf(ctx)
	if in == nil {
		return now
	}
	end := now.Truncate(time.Minute).Add(time.Minute)
	in.mu.Lock()
	if in.until.IsZero() || end.Before(in.until) {
		in.until = end
	}
	in.mu.Unlock()
	return now
}

// Kept reports what the answer was computed from: the store keys it read,
// the instant until which it holds (zero: until a key is written), the
// query's name, and ok false (with the reason) when it may not be kept.
func (in *Inputs) Kept() (keys []string, until time.Time, name string, why string) {
	in.mu.Lock()
	defer in.mu.Unlock()
	switch {
	case in.unkept != "":
		return nil, time.Time{}, "", in.unkept
	case !in.query:
		return nil, time.Time{}, "", "not a query"
	}
	keys = make([]string, 0, len(in.keys))
	for k := range in.keys {
		keys = append(keys, k)
	}
	return keys, in.until, in.name, ""
}
