package protocol

// GraphQL over server-sent events, both modes of the graphql-sse protocol
// (github.com/enisdenjo/graphql-sse, PROTOCOL.md):
//
//   - distinct connections: each operation is a POST (or a GET) that accepts
//     text/event-stream and is answered with its own stream of "next"
//     events and a "complete";
//   - single connection: the client reserves a stream with a PUT (answered
//     201 with a token), opens it with a GET that carries the token, then
//     sends each operation as a POST with the token and an operationId in
//     its extensions (answered 202), whose events come down the one stream
//     tagged with that id, and stops one with DELETE ?operationId=.
//
// Reservations live in the memory of the replica that made them: a token is
// only good there, so single-connection clients need a load balancer that
// keeps a client on one replica. Every request of either mode is
// authenticated on its own; a token is only good for the client that
// reserved it, each client holds a bounded number of streams, a reservation
// not opened in time lapses, and a stream carries a bounded number of
// operations.

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/fanout"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// The single-connection mode's names, as graphql-sse's client sends them.
const (
	// TokenHeader carries a stream's reservation token.
	TokenHeader = "X-GraphQL-Event-Stream-Token"
	// tokenParam carries it in the URL, for EventSource, which cannot set
	// headers.
	tokenParam = "token"
)

// Defaults of StreamLimits.
const (
	DefaultStreamsPerClient   = 8
	DefaultReservationTimeout = 30 * time.Second
	DefaultStreamOperations   = 100
)

// StreamLimits bound the single-connection mode. Zero fields mean their
// defaults.
type StreamLimits struct {
	// PerClient bounds the streams one client holds at once, reserved or
	// open.
	PerClient int
	// ReservationTimeout is how long a reservation waits for its stream to
	// be opened before it lapses.
	ReservationTimeout time.Duration
	// Operations bounds the operations one stream carries at once.
	Operations int
}

func (l StreamLimits) withDefaults() StreamLimits {
	if l.PerClient <= 0 {
		l.PerClient = DefaultStreamsPerClient
	}
	if l.ReservationTimeout <= 0 {
		l.ReservationTimeout = DefaultReservationTimeout
	}
	if l.Operations <= 0 {
		l.Operations = DefaultStreamOperations
	}
	return l
}

// Streams holds this replica's single-connection streams. It is safe for
// concurrent use; the zero value is not: use NewStreams.
type Streams struct {
	limits StreamLimits

	mu        sync.Mutex
	byToken   map[string]*stream
	perClient map[string]int
}

// NewStreams returns an empty set of streams bound by limits.
func NewStreams(limits StreamLimits) *Streams {
	return &Streams{limits: limits.withDefaults(), byToken: map[string]*stream{}, perClient: map[string]int{}}
}

// SSE is the server-sent events transport.
type SSE struct {
	// KeepAlive is how often an idle stream gets a ": ping" comment; zero
	// sends none.
	KeepAlive time.Duration
	// Until returns when a stream or operation opened with ctx must end:
	// its credential's expiry. It then ends with an UNAUTHENTICATED error
	// saying so. Nil, or a zero time, means never.
	Until func(ctx context.Context) time.Time
	// Client names the caller of ctx, so that a stream is only used by the
	// client that reserved it and each client's streams are counted. Nil
	// treats every caller as one client.
	Client func(ctx context.Context) string
	// Refuse gives requests refused before execution a status of their own;
	// nil gives them 400 (single connection) or an event (distinct).
	Refuse Refusal
	// Streams holds the single-connection streams; nil turns the mode off
	// (its requests are answered 404).
	Streams *Streams
	// Admit is asked before each operation runs (one per stream in
	// distinct-connections mode, one per POST on a single-connection
	// stream): it refuses with a GraphQL error, answered 429 before the
	// operation starts, or admits, and the release it returns (if not
	// nil) is called once the operation has ended. Nil admits every one.
	Admit func(ctx context.Context) (release func(), refusal *gqlerror.Error)
	// Shared, when set, runs each distinct subscription once for every
	// stream that asks for it (see package fanout). Nil runs each on its
	// own.
	Shared *fanout.Hub
}

// sharedQueue is how many results of a shared subscription may wait for
// its stream's writer before the subscription falls behind.
const sharedQueue = 64

// shared reports whether rc's operation runs on t.Shared.
func (t SSE) shared(rc *graphql.OperationContext) bool {
	return t.Shared != nil && rc.Operation != nil && rc.Operation.Operation == ast.Subscription
}

// subscribe runs rc's subscription on t.Shared, handing each result to
// send until it ends or ctx does.
func (t SSE) subscribe(ctx context.Context, exec graphql.GraphExecutor, rc *graphql.OperationContext, send func(json.RawMessage)) {
	q := fanout.NewQueue(sharedQueue)
	leave := t.Shared.Subscribe(ctx, exec, rc, q)
	defer leave()
	t.drainQueue(ctx, q, send)
}

// drainQueue hands q's results to send until q ends (telling send why, if
// for a reason) or ctx does.
func (t SSE) drainQueue(ctx context.Context, q *fanout.Queue, send func(json.RawMessage)) {
	for {
		select {
		case b, ok := <-q.C():
			if !ok {
				if e := fanout.ClientError(q.Err(), sharedQueue); e != nil {
					send(mustJSON(wire{Errors: gqlerror.List{e}}))
				}
				return
			}
			send(b)
		case <-ctx.Done():
			return
		}
	}
}

func mustJSON(v any) json.RawMessage {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// admit asks Admit about an operation of ctx; a refusal has been answered.
func (t SSE) admit(w http.ResponseWriter, ctx context.Context) (release func(), ok bool) {
	if t.Admit == nil {
		return func() {}, true
	}
	release, refusal := t.Admit(ctx)
	if refusal != nil {
		writeJSON(w, http.StatusTooManyRequests, MediaJSON, nil, wire{Errors: gqlerror.List{refusal}})
		return nil, false
	}
	if release == nil {
		release = func() {}
	}
	return release, true
}

var _ graphql.Transport = SSE{}

// Supports implements graphql.Transport: requests that accept an event
// stream, and every request of the single-connection mode (a PUT, a
// DELETE, or one that carries a stream token).
func (t SSE) Supports(r *http.Request) bool {
	if r.Header.Get("Upgrade") != "" {
		return false
	}
	switch r.Method {
	case http.MethodPut, http.MethodDelete:
		return true
	case http.MethodGet, http.MethodPost:
		return streamToken(r) != "" || acceptsEventStream(r)
	}
	return false
}

func acceptsEventStream(r *http.Request) bool {
	return strings.Contains(r.Header.Get("Accept"), MediaEventStream)
}

func streamToken(r *http.Request) string {
	if tok := r.Header.Get(TokenHeader); tok != "" {
		return tok
	}
	return r.URL.Query().Get(tokenParam)
}

// Do implements graphql.Transport.
func (t SSE) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	tok := streamToken(r)
	switch {
	case r.Method == http.MethodPut:
		t.reserve(w, r)
	case tok == "" && r.Method == http.MethodDelete:
		writeProblem(w, MediaJSON, badRequest("DELETE stops an operation of a single-connection event stream: send the stream's token in the %s header", TokenHeader), CodeBadRequest)
	case tok == "":
		t.distinct(w, r, exec)
	default:
		s := t.lookup(r.Context(), tok)
		if s == nil {
			writeProblem(w, MediaJSON, &requestError{status: http.StatusNotFound, message: "this event stream token is unknown here: its reservation lapsed, its stream ended, or another replica issued it (single-connection mode needs a load balancer that keeps a client on one replica); reserve a new stream with PUT"}, CodeBadRequest)
			return
		}
		switch {
		case r.Method == http.MethodDelete:
			t.stop(w, r, s)
		case r.Method == http.MethodGet && acceptsEventStream(r):
			t.stream(w, r, s)
		case r.Method == http.MethodPost:
			t.operate(w, r, exec, s)
		default:
			writeProblem(w, MediaJSON, badRequest("a GET with a stream token opens the stream, and must accept %s", MediaEventStream), CodeBadRequest)
		}
	}
}

// errExpired ends what a credential opened when the credential expires.
var errExpired = errors.New("the credential expired")

// expiredError is what a client is told when its credential expired.
func expiredError() *gqlerror.Error {
	return &gqlerror.Error{
		Message:    "unauthorized: the token has expired; open the stream again with a fresh one",
		Extensions: map[string]any{"code": "UNAUTHENTICATED", "reason": "expired"},
	}
}

// bound returns ctx ending at its credential's expiry.
func (t SSE) bound(ctx context.Context) (context.Context, context.CancelFunc) {
	if t.Until != nil {
		if until := t.Until(ctx); !until.IsZero() {
			return context.WithDeadlineCause(ctx, until, errExpired)
		}
	}
	return context.WithCancel(ctx)
}

func (t SSE) client(ctx context.Context) string {
	if t.Client == nil {
		return ""
	}
	return t.Client(ctx)
}

// events writes one event stream; the keep-alive pings and the events may
// come from different goroutines.
type events struct {
	mu sync.Mutex
	w  io.Writer
	f  http.Flusher
}

func startEvents(w http.ResponseWriter) *events {
	h := w.Header()
	h.Set("Content-Type", MediaEventStream)
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	f, _ := w.(http.Flusher)
	e := &events{w: w, f: f}
	// An empty comment, so the client sees the stream open at once.
	e.raw(":\n\n")
	return e
}

func (e *events) raw(s string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	_, _ = io.WriteString(e.w, s)
	if e.f != nil {
		e.f.Flush()
	}
}

// send writes one event whose data is v as JSON (nil: an empty data line,
// which EventSource needs to dispatch the event).
func (e *events) send(event string, v any) {
	var data []byte
	if v != nil {
		b, err := json.Marshal(v)
		if err != nil {
			return
		}
		data = b
	}
	e.sendJSON(event, data)
}

// sendJSON writes one event whose data is JSON already.
func (e *events) sendJSON(event string, data []byte) {
	if len(data) == 0 {
		e.raw("event: " + event + "\ndata:\n\n")
		return
	}
	e.raw("event: " + event + "\ndata: " + string(data) + "\n\n")
}

// keepAlive pings the stream every interval until ctx ends or stop is
// called; stop returns once the pinging has stopped.
func (e *events) keepAlive(ctx context.Context, interval time.Duration) (stop func()) {
	if interval <= 0 {
		return func() {}
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(interval)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
				e.raw(": ping\n\n")
			}
		}
	}()
	// The handler returns only once no ping can be written any more.
	return func() {
		cancel()
		<-done
	}
}

// distinct serves one operation on its own stream.
func (t SSE) distinct(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	params, problem := readRequest(r)
	if problem != nil {
		writeProblem(w, MediaJSON, problem, CodeBadRequest)
		return
	}
	release, ok := t.admit(w, r.Context())
	if !ok {
		return
	}
	defer release()
	ctx, cancel := t.bound(r.Context())
	defer cancel()
	rc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		if t.Refuse != nil {
			if status, h := t.Refuse(resp.Errors); status != 0 {
				writeJSON(w, status, MediaJSON, h, wireOf(resp))
				return
			}
		}
		// Errors before execution come as an event (graphql-sse's rule: a
		// 4xx would leave EventSource clients without them).
		e := startEvents(w)
		e.send("next", wireOf(resp))
		e.send("complete", nil)
		return
	}
	if r.Method == http.MethodGet && rc.Operation.Operation == ast.Mutation {
		writeProblem(w, MediaJSON, &requestError{status: http.StatusMethodNotAllowed, header: http.Header{"Allow": {"POST"}}, message: "GET does not serve mutations; send it with POST"}, CodeUnsupported)
		return
	}
	// The stream opens once the operation has started (a subscription has
	// subscribed), so a client that sees it open misses no event.
	if t.shared(rc) {
		e := startEvents(w)
		defer e.keepAlive(ctx, t.KeepAlive)()
		t.subscribe(ctx, exec, rc, func(b json.RawMessage) { e.sendJSON("next", b) })
		if errors.Is(context.Cause(ctx), errExpired) {
			e.send("next", wire{Errors: gqlerror.List{expiredError()}})
		}
		e.send("complete", nil)
		return
	}
	responses, ctx := exec.DispatchOperation(ctx, rc)
	e := startEvents(w)
	defer e.keepAlive(ctx, t.KeepAlive)()
	forEach(ctx, rc.Operation.Operation, responses, func(v any) { e.send("next", v) })
	if errors.Is(context.Cause(ctx), errExpired) {
		e.send("next", wire{Errors: gqlerror.List{expiredError()}})
	}
	e.send("complete", nil)
}

// forEach hands each response of an operation to send, as an incremental
// client takes it, until the operation ends: after its last response, or
// when ctx ends.
func forEach(ctx context.Context, op ast.Operation, responses graphql.ResponseHandler, send func(any)) {
	for i := 0; ; i++ {
		r := responses(ctx)
		if r == nil {
			if i == 0 && ctx.Err() == nil {
				send(noResponse())
			}
			return
		}
		send(Part(r, i))
		if op != ast.Subscription && !hasNext(r) {
			return
		}
	}
}

// stream is one single-connection event stream, from its reservation to
// its end.
type stream struct {
	token, client string
	// ctx ends with the stream (or its reservation); its cause says why.
	ctx context.Context
	end context.CancelCauseFunc
	// out carries the events of its operations to the stream's writer.
	out chan streamEvent

	mu     sync.Mutex
	opened bool
	lapse  *time.Timer
	ops    map[string]*streamOp
}

// streamOp is an operation running on a stream.
type streamOp struct {
	cancel context.CancelCauseFunc
}

// streamEvent is an event for the stream's writer, its data encoded by the
// operation that sends it (the executor reuses a subscription's buffer for
// its next payload).
type streamEvent struct {
	event string
	data  []byte
}

// forOperation is the data of a single-connection event: the operation it
// belongs to and, for "next", its payload.
type forOperation struct {
	ID      string `json:"id"`
	Payload any    `json:"payload,omitempty"`
}

var (
	errStopped = errors.New("the client stopped the operation")
	errLapsed  = errors.New("the reservation lapsed")
	errClosed  = errors.New("the stream ended")
)

// reserve answers a PUT with a new stream's token.
func (t SSE) reserve(w http.ResponseWriter, r *http.Request) {
	ss := t.Streams
	if ss == nil {
		writeProblem(w, MediaJSON, &requestError{status: http.StatusNotFound, message: "single-connection event streams are not served here; open one stream per operation (POST with Accept: text/event-stream)"}, CodeUnsupported)
		return
	}
	client := t.client(r.Context())
	var raw [24]byte
	_, _ = rand.Read(raw[:])
	ctx, end := context.WithCancelCause(context.Background())
	s := &stream{
		token: base64.RawURLEncoding.EncodeToString(raw[:]), client: client,
		ctx: ctx, end: end, out: make(chan streamEvent, 16), ops: map[string]*streamOp{},
	}
	ss.mu.Lock()
	if n := ss.perClient[client]; n >= ss.limits.PerClient {
		ss.mu.Unlock()
		end(errClosed)
		writeProblem(w, MediaJSON, &requestError{status: http.StatusTooManyRequests, message: fmt.Sprintf(
			"this client already holds %d event streams, the limit; close one (or let its reservation lapse) before reserving another", n)}, "TOO_MANY_STREAMS")
		return
	}
	s.lapse = time.AfterFunc(ss.limits.ReservationTimeout, func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if !s.opened {
			s.end(errLapsed)
		}
	})
	ss.perClient[client]++
	ss.byToken[s.token] = s
	ss.mu.Unlock()
	context.AfterFunc(ctx, func() { ss.forget(s) })
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusCreated)
	_, _ = io.WriteString(w, s.token)
}

// forget drops an ended stream.
func (ss *Streams) forget(s *stream) {
	ss.mu.Lock()
	defer ss.mu.Unlock()
	if ss.byToken[s.token] != s {
		return
	}
	delete(ss.byToken, s.token)
	if ss.perClient[s.client]--; ss.perClient[s.client] <= 0 {
		delete(ss.perClient, s.client)
	}
}

// lookup finds the live stream of tok, if the caller of ctx reserved it.
func (t SSE) lookup(ctx context.Context, tok string) *stream {
	if t.Streams == nil {
		return nil
	}
	t.Streams.mu.Lock()
	s := t.Streams.byToken[tok]
	t.Streams.mu.Unlock()
	if s == nil || s.client != t.client(ctx) || s.ctx.Err() != nil {
		return nil
	}
	return s
}

// stream serves the GET that opens a reserved stream, until the stream ends:
// when the client goes, its credential expires or the server shuts down.
func (t SSE) stream(w http.ResponseWriter, r *http.Request, s *stream) {
	s.mu.Lock()
	if s.opened {
		s.mu.Unlock()
		writeProblem(w, MediaJSON, &requestError{status: http.StatusConflict, message: "the stream of this token is already open: one connection per reservation"}, CodeBadRequest)
		return
	}
	s.opened = true
	s.lapse.Stop()
	s.mu.Unlock()
	ctx, cancel := t.bound(r.Context())
	defer cancel()
	// The stream ends with this request, and this request with the stream.
	stop := context.AfterFunc(ctx, func() { s.end(errClosed) })
	defer stop()
	defer s.end(errClosed)

	e := startEvents(w)
	defer e.keepAlive(s.ctx, t.KeepAlive)()
	for {
		select {
		case ev := <-s.out:
			e.sendJSON(ev.event, ev.data)
		case <-s.ctx.Done():
			return
		}
	}
}

// emit queues an event for the stream's writer, waiting while it is busy or
// not yet open; false when the stream has ended.
func (s *stream) emit(event string, data forOperation) bool {
	b, err := json.Marshal(data)
	if err != nil {
		return false
	}
	select {
	case s.out <- streamEvent{event: event, data: b}:
		return true
	case <-s.ctx.Done():
		return false
	}
}

// operate runs the operation a POST sends on its stream, answering 202 once
// it has started; a request that does not validate is answered as over
// plain HTTP, with its errors.
func (t SSE) operate(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor, s *stream) {
	params := &graphql.RawParams{Headers: r.Header}
	start := graphql.Now()
	problem := jsonContentType(r)
	if problem == nil {
		problem = readBody(r, params)
	}
	if problem != nil {
		writeProblem(w, MediaJSON, problem, CodeBadRequest)
		return
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	id, _ := params.Extensions["operationId"].(string)
	if id == "" {
		writeProblem(w, MediaJSON, badRequest("an operation on a single-connection event stream needs its id in extensions.operationId (a string)"), CodeBadRequest)
		return
	}
	admitted, ok := t.admit(w, r.Context())
	if !ok {
		return
	}
	// The operation outlives this request (it is answered 202 at once) and
	// keeps its values (the caller, the request id); it ends with the
	// stream, when the client stops it, or when its credential expires.
	base, cancelBase := t.bound(context.WithoutCancel(r.Context()))
	ctx, cancel := context.WithCancelCause(base)
	unlink := context.AfterFunc(s.ctx, func() { cancel(errClosed) })
	release := func() {
		unlink()
		cancel(errClosed)
		cancelBase()
		admitted()
	}

	s.mu.Lock()
	switch {
	case s.ops[id] != nil:
		s.mu.Unlock()
		release()
		writeProblem(w, MediaJSON, &requestError{status: http.StatusConflict, message: fmt.Sprintf("an operation with id %q already runs on this stream", id)}, CodeBadRequest)
		return
	case len(s.ops) >= t.Streams.limits.Operations:
		s.mu.Unlock()
		release()
		writeProblem(w, MediaJSON, &requestError{status: http.StatusTooManyRequests, message: fmt.Sprintf(
			"this stream already carries %d operations, the limit; stop one (DELETE ?operationId=) or open another stream", len(s.ops))}, "TOO_MANY_OPERATIONS")
		return
	}
	op := &streamOp{cancel: cancel}
	s.ops[id] = op
	s.mu.Unlock()
	done := func() {
		s.mu.Lock()
		if s.ops[id] == op {
			delete(s.ops, id)
		}
		s.mu.Unlock()
		release()
	}

	rc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		done()
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		status, h := http.StatusBadRequest, http.Header(nil)
		if t.Refuse != nil {
			if st, rh := t.Refuse(resp.Errors); st != 0 {
				status, h = st, rh
			}
		}
		writeJSON(w, status, MediaJSON, h, wireOf(resp))
		return
	}
	// Accepted once the operation has started (a subscription has
	// subscribed), so a client told 202 misses no event.
	var run func()
	if t.shared(rc) {
		q := fanout.NewQueue(sharedQueue)
		leave := t.Shared.Subscribe(ctx, exec, rc, q)
		run = func() {
			defer leave()
			t.drainQueue(ctx, q, func(b json.RawMessage) { s.emit("next", forOperation{ID: id, Payload: b}) })
		}
	} else {
		responses, rctx := exec.DispatchOperation(ctx, rc)
		run = func() {
			forEach(rctx, rc.Operation.Operation, responses, func(v any) { s.emit("next", forOperation{ID: id, Payload: v}) })
		}
	}
	w.WriteHeader(http.StatusAccepted)
	go func() {
		defer done()
		run()
		switch cause := context.Cause(ctx); {
		case errors.Is(cause, errStopped), errors.Is(cause, errClosed) && s.ctx.Err() != nil:
			// Nobody is waiting for its end.
			return
		case errors.Is(cause, errExpired):
			s.emit("next", forOperation{ID: id, Payload: wire{Errors: gqlerror.List{expiredError()}}})
		}
		s.emit("complete", forOperation{ID: id})
	}()
}

// stop answers a DELETE: the operation it names ends, and its place on the
// stream is free at once; stopping one that has ended already (or never
// ran) is no error.
func (t SSE) stop(w http.ResponseWriter, r *http.Request, s *stream) {
	id := r.URL.Query().Get("operationId")
	if id == "" {
		writeProblem(w, MediaJSON, badRequest("DELETE names the operation to stop in its operationId query parameter"), CodeBadRequest)
		return
	}
	s.mu.Lock()
	op := s.ops[id]
	delete(s.ops, id)
	s.mu.Unlock()
	if op != nil {
		op.cancel(errStopped)
	}
	w.WriteHeader(http.StatusOK)
}
