// Package fanout runs each distinct GraphQL subscription once and shares its
// results among every subscriber that asked for it. A thousand lobby screens
// subscribed to the same location's bookings, with the same selection and
// the same visibility, cost one resolution of each change, not a thousand:
// the result is resolved and encoded once, and each subscriber is handed the
// same bytes.
//
// Two subscriptions share a stream only when their key is equal: the
// document, the operation name, the variables as coerced, and what the
// caller may see (workplace.Visibility), so that no answer resolved for one
// caller reaches another who may not see it.
//
// A subscriber holds no goroutine of its own: the stream's one goroutine
// hands each result to every subscriber (Subscriber.Next), which must take
// it without blocking: a socket queues it on its connection, whose writer
// runs only while it has something to write.
//
//	fanout.go  the Hub: one stream per distinct subscription, shared results
//	queue.go   Queue: a buffered Subscriber for a transport with its own goroutine
package fanout

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"runtime"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// ErrBehind ends a subscriber that could not take a result (Next returned
// false): it fell behind the stream, which goes on for the others.
var ErrBehind = errors.New("fanout: the subscriber fell behind")

// ErrInternal ends every subscriber of a stream whose resolution panicked
// (after the panic is reported to the executor's recover function).
var ErrInternal = errors.New("fanout: the stream failed")

// CodeFellBehind is the extensions.code of a subscription ended by
// ErrBehind.
const CodeFellBehind = "FELL_BEHIND"

// ClientError is what a client is told of a subscription that End ended
// with err (nil for nil): queued is how many results its transport lets
// wait, which it did not take in time.
func ClientError(err error, queued int) *gqlerror.Error {
	switch {
	case err == nil:
		return nil
	case errors.Is(err, ErrBehind):
		return &gqlerror.Error{
			Message:    fmt.Sprintf("this subscription has ended: its connection did not read its results as fast as they came (%d were waiting). Resubscribe, and re-query what you show.", queued),
			Extensions: map[string]any{"code": CodeFellBehind, "max": queued},
		}
	}
	return &gqlerror.Error{Message: "internal server error", Extensions: map[string]any{"code": "INTERNAL"}}
}

// Result is one result of a stream, as every subscriber of it is handed it.
type Result struct {
	// JSON is the encoded graphql.Response, shared: never modify it.
	JSON []byte
	// framed are the messages made of it by Framed, under mu.
	mu     sync.Mutex
	framed map[FrameKey][]byte
}

// FrameKey names a message made of a result: a transport's kind of
// message and the operation id it carries.
type FrameKey struct{ Kind, ID string }

// Framed returns the message frame makes of the result for key, made once
// for all the subscribers that ask with the same key: the message is
// shared, so never modify it. Subscribers call it from Next only.
func (r *Result) Framed(key FrameKey, frame func(json []byte) []byte) []byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	if b, ok := r.framed[key]; ok {
		return b
	}
	if r.framed == nil {
		r.framed = map[FrameKey][]byte{}
	}
	b := frame(r.JSON)
	r.framed[key] = b
	return b
}

// Subscriber receives one stream's results. Next and End are never called
// at once for one subscriber (though not always from the same goroutine);
// different subscribers of a stream are handed a result at once.
type Subscriber interface {
	// Next is handed each result, in order, shared with every other
	// subscriber of the stream. It must not block; false means the
	// subscriber cannot take more: it leaves the stream and is told
	// End(ErrBehind).
	Next(result *Result) bool
	// End is called at most once, after the last Next: nil when the stream
	// ended (the feed closed or the operation returned), ErrBehind or
	// ErrInternal otherwise. It is not called for a subscriber that left;
	// a Next or End racing with its leave must be ignored by it.
	End(err error)
}

// Hub holds the streams that run. Its zero value is not usable: make one
// with New.
type Hub struct {
	key func(ctx context.Context, rc *graphql.OperationContext) string
	// subscribers, when set, hears +1 and -1 as subscribers come and go.
	subscribers func(delta int)
	encode      func(*graphql.Response) ([]byte, error)

	mu   sync.Mutex
	runs map[string]*stream

	nSubscribers, nStreams atomic.Int64
}

// Options configure a Hub.
type Options struct {
	// Key names what a subscriber would be shown: equal keys must mean
	// equal results for every change. Required.
	Key func(ctx context.Context, rc *graphql.OperationContext) string
	// Subscribers, when set, hears +1 when a subscriber joins and -1 when
	// it leaves or ends.
	Subscribers func(delta int)
	// Encode is how a result is sent to clients; nil means json.Marshal.
	Encode func(*graphql.Response) ([]byte, error)
}

// New returns a hub with no streams.
func New(o Options) *Hub {
	if o.Key == nil {
		panic("fanout: Options.Key is required")
	}
	h := &Hub{key: o.Key, subscribers: o.Subscribers, encode: o.Encode, runs: map[string]*stream{}}
	if h.encode == nil {
		h.encode = func(r *graphql.Response) ([]byte, error) { return json.Marshal(r) }
	}
	return h
}

// Subscribers is how many subscribers the hub holds now.
func (h *Hub) Subscribers() int { return int(h.nSubscribers.Load()) }

// Streams is how many distinct streams run now.
func (h *Hub) Streams() int { return int(h.nStreams.Load()) }

// stream is one distinct subscription's run and its subscribers.
type stream struct {
	key    string
	cancel context.CancelFunc
	// ready is closed once the stream reads the feed (or failed to start).
	ready chan struct{}
	// members and ended are guarded by the hub's mu.
	members map[*member]struct{}
	ended   bool
}

type member struct {
	s   Subscriber
	out bool // left or ended; under the hub's mu
	// counted: the member was counted in (once its stream was ready), so
	// it is counted out when it goes; under the hub's mu.
	counted bool
}

// Subscribe adds s to the stream of the subscription rc describes (ctx is
// the subscriber's operation context, rc what CreateOperationContext made
// of its request), starting that stream through exec if none runs. When
// Subscribe returns, the stream has started: a change published after it
// reaches s, whether this or another subscriber started it. leave takes s
// out of the stream; the stream stops with its last subscriber. leave may
// be called more than once, and after End.
func (h *Hub) Subscribe(ctx context.Context, exec graphql.GraphExecutor, rc *graphql.OperationContext, s Subscriber) (leave func()) {
	key := h.key(ctx, rc)
	m := &member{s: s}
	h.mu.Lock()
	st := h.runs[key]
	fresh := st == nil
	var sctx context.Context
	if fresh {
		// The stream keeps the first subscriber's values, not its
		// cancellation: it outlives any one subscriber.
		var cancel context.CancelFunc
		sctx, cancel = context.WithCancel(context.WithoutCancel(ctx))
		st = &stream{key: key, cancel: cancel, members: map[*member]struct{}{}, ready: make(chan struct{})}
		h.runs[key] = st
	}
	st.members[m] = struct{}{}
	h.mu.Unlock()
	if fresh {
		h.start(sctx, exec, rc, st)
	} else {
		<-st.ready // started by another subscriber
	}
	// Counted once the feed reaches it, so that a subscriber counted
	// misses no change published from then on.
	h.mu.Lock()
	in := !m.out
	m.counted = in
	h.mu.Unlock()
	if in {
		h.counted(h.subscribers, &h.nSubscribers, 1)
	}
	return func() { h.leave(st, m) }
}

// start runs st in ctx, the stream's own.
func (h *Hub) start(ctx context.Context, exec graphql.GraphExecutor, rc *graphql.OperationContext, st *stream) {
	h.counted(nil, &h.nStreams, 1)
	// The operation context is the stream's from now on: the subscriber
	// that made it keeps only its membership.
	ctx = graphql.WithOperationContext(ctx, rc)
	responses, ctx, ok := dispatch(ctx, exec, rc)
	close(st.ready)
	if !ok {
		h.finish(st, ErrInternal)
		h.counted(nil, &h.nStreams, -1)
		return
	}
	go h.run(ctx, rc, st, responses)
}

// dispatch starts the operation; false when that panicked (reported to the
// executor's recover function).
func dispatch(ctx context.Context, exec graphql.GraphExecutor, rc *graphql.OperationContext) (responses graphql.ResponseHandler, rctx context.Context, ok bool) {
	defer func() {
		if r := recover(); r != nil {
			_ = rc.Recover(ctx, r)
			ok = false
		}
	}()
	responses, rctx = exec.DispatchOperation(ctx, rc)
	return responses, rctx, true
}

// run hands every result of st to its subscribers, then ends them.
func (h *Hub) run(ctx context.Context, rc *graphql.OperationContext, st *stream, responses graphql.ResponseHandler) {
	end := error(nil)
	defer func() {
		if r := recover(); r != nil {
			_ = rc.Recover(ctx, r) // reports it
			end = ErrInternal
		}
		h.finish(st, end)
		h.counted(nil, &h.nStreams, -1)
	}()
	var members []*member
	for {
		resp := responses(ctx)
		if resp == nil {
			return
		}
		b, err := h.encode(resp)
		if err != nil {
			panic(err)
		}
		members = h.snapshot(st, members[:0])
		h.hand(st, &Result{JSON: b}, members)
		clear(members)
	}
}

// shard is how many subscribers one goroutine hands a result to: a stream
// with more hands it on as many goroutines as may run at once, since
// handing it over is mostly writing it to each subscriber's connection.
const shard = 512

// hand hands res to members, on up to GOMAXPROCS goroutines, and returns
// once each has been handed it. A subscriber's panic is raised again here,
// in the stream's goroutine, which recovers it.
func (h *Hub) hand(st *stream, res *Result, members []*member) {
	each := func(ms []*member) {
		for _, m := range ms {
			if !m.s.Next(res) {
				h.behind(st, m)
			}
		}
	}
	parts := min(runtime.GOMAXPROCS(0), (len(members)+shard-1)/shard)
	if parts <= 1 {
		each(members)
		return
	}
	var wg sync.WaitGroup
	var panicked atomic.Pointer[any]
	part := func(ms []*member) {
		defer func() {
			if v := recover(); v != nil {
				panicked.CompareAndSwap(nil, &v)
			}
		}()
		each(ms)
	}
	size := (len(members) + parts - 1) / parts
	for len(members) > size {
		ms := members[:size]
		members = members[size:]
		wg.Go(func() { part(ms) })
	}
	part(members)
	// Every part is done before the stream goes on (or ends, on a panic):
	// no subscriber is handed anything else while it takes this.
	wg.Wait()
	if v := panicked.Load(); v != nil {
		panic(*v)
	}
}

// snapshot lists st's subscribers into into.
func (h *Hub) snapshot(st *stream, into []*member) []*member {
	h.mu.Lock()
	defer h.mu.Unlock()
	for m := range st.members {
		into = append(into, m)
	}
	return into
}

// behind ends m, which could not take a result.
func (h *Hub) behind(st *stream, m *member) {
	if h.out(st, m) {
		m.s.End(ErrBehind)
	}
}

// leave takes m out of st at its own request.
func (h *Hub) leave(st *stream, m *member) { h.out(st, m) }

// out takes m out of st once (false if it was out already), and stops st
// with its last subscriber.
func (h *Hub) out(st *stream, m *member) bool {
	h.mu.Lock()
	if m.out {
		h.mu.Unlock()
		return false
	}
	m.out = true
	counted := m.counted
	delete(st.members, m)
	last := len(st.members) == 0 && !st.ended
	if last {
		h.endLocked(st)
	}
	h.mu.Unlock()
	if counted {
		h.counted(h.subscribers, &h.nSubscribers, -1)
	}
	if last {
		st.cancel()
	}
	return true
}

// endLocked marks st ended and forgets it, so that a subscription that
// comes next starts a stream of its own.
func (h *Hub) endLocked(st *stream) {
	st.ended = true
	if h.runs[st.key] == st {
		delete(h.runs, st.key)
	}
}

// finish ends st and tells each of its subscribers err.
func (h *Hub) finish(st *stream, err error) {
	h.mu.Lock()
	h.endLocked(st)
	members := make([]*member, 0, len(st.members))
	var counted int
	for m := range st.members {
		m.out = true
		if m.counted {
			counted++
		}
		members = append(members, m)
	}
	clear(st.members)
	h.mu.Unlock()
	st.cancel()
	h.counted(h.subscribers, &h.nSubscribers, -counted)
	for _, m := range members {
		m.s.End(err)
	}
}

func (h *Hub) counted(hook func(int), n *atomic.Int64, delta int) {
	n.Add(int64(delta))
	if hook != nil {
		hook(delta)
	}
}
