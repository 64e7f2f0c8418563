package socket

// One websocket connection: its reader, which applies the protocol to each
// message; its one timer, which is the connection_init deadline and then
// the keep-alive; and its close, which ends everything it holds. The reader
// is a goroutine of its own, not the request's: the request's handler
// returns once the socket is accepted, so that an open socket holds neither
// the handler's stack nor net/http's buffers for the connection.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"runtime/debug"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/engagegql/gateway/fanout"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

type conn struct {
	ws      transport.WebsocketConn
	legacy  bool
	exec    graphql.GraphExecutor
	headers http.Header
	log     *slog.Logger

	init        func(ctx context.Context, payload map[string]any) (context.Context, error)
	initTimeout time.Duration
	keepAlive   time.Duration
	maxOps      int
	admit       func(ctx context.Context) (func(), *gqlerror.Error)
	closed      func(ctx context.Context)
	shared      *fanout.Hub

	// qmu guards the results queued for the writer (shared subscriptions'
	// results and last messages); writing says the writer runs.
	qmu     sync.Mutex
	queue   []queued
	nexts   int // results in queue, bounded by maxQueued
	writing bool

	// wmu orders the writes; an operation's done flag is set under it, so
	// that nothing is written for an operation once it has been stopped.
	wmu sync.Mutex

	mu sync.Mutex
	// ctx is what operations run in: the request's until Init, then the
	// one Init returned; cancel ends it.
	ctx      context.Context
	cancel   context.CancelFunc
	initSeen bool
	acked    bool
	ops      opList
	isClosed bool
	// timer is the connection_init deadline, then the keep-alive tick.
	timer *time.Timer
	// pongDue is armed by a ping while no pong is awaited, and drops the
	// connection when it fires.
	pongDue *time.Timer
}

func newConn(t Transport, ws transport.WebsocketConn, r *http.Request, exec graphql.GraphExecutor) *conn {
	c := &conn{
		ws:          ws,
		legacy:      ws.Subprotocol() != TransportWS,
		exec:        exec,
		headers:     r.Header,
		log:         t.ErrorLog,
		init:        t.Init,
		initTimeout: t.InitTimeout,
		keepAlive:   t.KeepAlive,
		maxOps:      t.MaxOperations,
		admit:       t.Admit,
		closed:      t.Closed,
		shared:      t.Shared,
	}
	if c.initTimeout <= 0 {
		c.initTimeout = DefaultInitTimeout
	}
	if c.maxOps <= 0 {
		c.maxOps = DefaultMaxOperations
	}
	if c.log == nil {
		c.log = slog.Default()
	}
	// The request's values, not its end: the handler has returned long
	// before the socket closes.
	c.ctx, c.cancel = context.WithCancel(context.WithoutCancel(r.Context()))
	return c
}

// serve reads the connection until it closes.
func (c *conn) serve() {
	c.mu.Lock()
	c.timer = time.AfterFunc(c.initTimeout, func() { c.close(CloseInitTimeout, "Connection initialisation timeout") })
	c.mu.Unlock()
	for {
		_, r, err := c.ws.NextReader()
		if err != nil {
			// The client went, or the connection was closed here.
			c.close(closeNormal, "")
			return
		}
		if !c.handle(r) {
			return
		}
	}
}

// handle applies one message, on a goroutine of its own that the reader
// waits for: decoding it, Init and starting an operation never grow the
// stack of the reader, which an idle socket keeps (a stack does not shrink
// below four times what it holds while it waits). A panic of the
// transport's own (an operation's is the executor's to recover) closes the
// connection with 1011 and is logged, as net/http logs a handler's; false
// means the connection is closing.
func (c *conn) handle(r io.Reader) (more bool) {
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer func() {
			if v := recover(); v != nil {
				c.mu.Lock()
				ctx := c.ctx // the request's id, for the log
				c.mu.Unlock()
				c.log.ErrorContext(ctx, "websocket: panic serving a connection", "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
				c.close(closeInternalError, "internal error")
				more = false
			}
		}()
		m, invalid := decode(r)
		switch {
		case invalid != "":
			more = c.invalid(invalid)
		case c.legacy:
			more = c.legacyMessage(m)
		default:
			more = c.message(m)
		}
	}()
	<-done
	return more
}

// inMessage is a client's message of either protocol.
type inMessage struct {
	typ, id string
	payload json.RawMessage
}

// decode reads one message, or says why it is not one.
func decode(r io.Reader) (inMessage, string) {
	data, err := io.ReadAll(r)
	if err != nil {
		return inMessage{}, "invalid message: it could not be read"
	}
	var fields map[string]json.RawMessage
	if err := json.Unmarshal(data, &fields); err != nil || fields == nil {
		return inMessage{}, "invalid message: not a JSON object"
	}
	var m inMessage
	if json.Unmarshal(fields["type"], &m.typ) != nil || m.typ == "" {
		return inMessage{}, "invalid message: no type"
	}
	if raw, ok := fields["id"]; ok && string(raw) != "null" {
		if json.Unmarshal(raw, &m.id) != nil {
			return inMessage{}, "invalid message: its id is not a string"
		}
	}
	m.payload = fields["payload"]
	return m, ""
}

// isObject says whether a payload is a JSON object.
func isObject(raw json.RawMessage) bool {
	var v map[string]json.RawMessage
	return json.Unmarshal(raw, &v) == nil && v != nil
}

// quoted is a client's string for a reason, cut short.
func quoted(s string) string {
	if len(s) > 32 {
		s = strings.ToValidUTF8(s[:32], "") + "…"
	}
	return fmt.Sprintf("%q", s)
}

// message applies graphql-transport-ws to one message; false means the
// connection is closing.
func (c *conn) message(m inMessage) bool {
	switch m.typ {
	case "connection_init":
		return c.initialise(m.payload)
	case "ping":
		c.send(nil, outMessage{Type: "pong", Payload: m.payload})
	case "pong":
		c.ponged()
	case "subscribe":
		if !c.isAcked() {
			c.close(CloseUnauthorized, "Unauthorized")
			return false
		}
		if m.id == "" {
			return c.invalid("invalid message: subscribe without an id")
		}
		if !isObject(m.payload) {
			return c.invalid("invalid message: subscribe's payload is not an object")
		}
		return c.start(m.id, m.payload)
	case "complete":
		if m.id == "" {
			return c.invalid("invalid message: complete without an id")
		}
		c.stop(m.id)
	case "connection_ack", "next", "error":
		return c.invalid("invalid message: a client does not send " + m.typ)
	default:
		return c.invalid("invalid message: unknown type " + quoted(m.typ))
	}
	return true
}

// legacyMessage applies the legacy graphql-ws protocol to one message; false
// means the connection is closing.
func (c *conn) legacyMessage(m inMessage) bool {
	switch m.typ {
	case "connection_init":
		c.mu.Lock()
		again := c.initSeen
		c.mu.Unlock()
		if again {
			c.connectionError("connection_init was already received on this connection; it is ignored")
			return true
		}
		return c.initialise(m.payload)
	case "start":
		if !c.isAcked() {
			c.connectionError("Unauthorized: start before connection_ack")
			c.close(CloseUnauthorized, "Unauthorized")
			return false
		}
		if m.id == "" {
			return c.invalid("invalid message: start without an id")
		}
		if !isObject(m.payload) {
			return c.invalid("invalid message: start's payload is not an object")
		}
		return c.start(m.id, m.payload)
	case "stop":
		if m.id == "" {
			return c.invalid("invalid message: stop without an id")
		}
		c.stop(m.id)
	case "connection_terminate":
		c.close(closeNormal, "terminated")
		return false
	default:
		return c.invalid("invalid message: unknown type " + quoted(m.typ))
	}
	return true
}

// invalid answers an invalid message: graphql-transport-ws closes with
// 4400; the legacy protocol says connection_error and reads on.
func (c *conn) invalid(reason string) bool {
	if c.legacy {
		c.connectionError(reason)
		return true
	}
	c.close(CloseBadRequest, reason)
	return false
}

func (c *conn) connectionError(msg string) {
	payload, _ := json.Marshal(map[string]string{"message": msg})
	c.send(nil, outMessage{Type: "connection_error", Payload: payload})
}

func (c *conn) isAcked() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.acked
}

// initialise handles connection_init: within the deadline, once, with an
// object (or no) payload, accepted by Init.
func (c *conn) initialise(raw json.RawMessage) bool {
	c.mu.Lock()
	if c.initSeen {
		c.mu.Unlock()
		c.close(CloseTooManyInitRequests, "Too many initialisation requests")
		return false
	}
	c.initSeen = true
	timely := c.timer.Stop()
	ctx := c.ctx
	c.mu.Unlock()
	if !timely {
		return false // closing with 4408
	}
	payload := map[string]any{}
	if len(raw) > 0 && string(raw) != "null" {
		if err := json.Unmarshal(raw, &payload); err != nil || payload == nil {
			c.refuse(&CloseError{Code: CloseBadRequest, Reason: "invalid message: connection_init's payload is not an object"})
			return false
		}
	}
	if c.init != nil {
		ictx, err := c.init(ctx, payload)
		if err != nil {
			c.refuse(err)
			return false
		}
		ctx = ictx
	}
	c.mu.Lock()
	if c.isClosed {
		c.mu.Unlock()
		return false
	}
	// Operations end with the connection, whatever context Init returned.
	base := c.cancel
	ctx, cancel := context.WithCancel(ctx)
	c.ctx = ctx
	c.cancel = func() { cancel(); base() }
	c.acked = true
	c.mu.Unlock()
	c.send(nil, outMessage{Type: "connection_ack"})
	if c.legacy {
		c.send(nil, outMessage{Type: "ka"})
	}
	c.startKeepAlive()
	return true
}

// refuse closes a connection Init refused.
func (c *conn) refuse(err error) {
	ce := &CloseError{Code: CloseForbidden, Reason: err.Error()}
	errors.As(err, &ce)
	if c.legacy {
		c.connectionError(ce.Reason)
	}
	c.close(ce.Code, ce.Reason)
}

func (c *conn) startKeepAlive() {
	if c.keepAlive <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.isClosed {
		c.timer = time.AfterFunc(c.keepAlive, c.tick)
	}
}

// tick sends one keep-alive. A graphql-transport-ws ping arms the pong
// deadline unless one is armed already: a client that answers none of the
// pings for two intervals is dropped, even while a write to it is stuck.
func (c *conn) tick() {
	if c.legacy {
		c.send(nil, outMessage{Type: "ka"})
	} else {
		c.mu.Lock()
		if c.pongDue == nil && !c.isClosed {
			c.pongDue = time.AfterFunc(2*c.keepAlive, func() {
				c.close(closePolicyViolation, "no pong answered the server's pings")
			})
		}
		c.mu.Unlock()
		c.send(nil, outMessage{Type: "ping"})
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.isClosed {
		c.timer.Reset(c.keepAlive)
	}
}

func (c *conn) ponged() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.pongDue != nil {
		c.pongDue.Stop()
		c.pongDue = nil
	}
}

// close closes the connection once, with code and reason: it stops the
// timers, silences and cancels every operation, and tells Closed.
func (c *conn) close(code int, reason string) {
	c.mu.Lock()
	if c.isClosed {
		c.mu.Unlock()
		return
	}
	c.isClosed = true
	if c.timer != nil {
		c.timer.Stop()
	}
	if c.pongDue != nil {
		c.pongDue.Stop()
	}
	ops := c.ops
	c.ops = nil
	ctx, cancel := c.ctx, c.cancel
	c.mu.Unlock()

	for _, op := range ops {
		op.done.Store(true)
	}
	_ = c.ws.WriteClose(code, limitReason(reason))
	cancel()
	_ = c.ws.Close()
	if c.closed != nil {
		c.closed(ctx)
	}
}

// limitReason fits a reason into a close frame (123 bytes), whole runes.
func limitReason(s string) string {
	const most = 123
	if len(s) <= most {
		return s
	}
	s = s[:most]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
