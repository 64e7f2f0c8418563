package socket

// The operations of one connection: their ids, the cap on how many run at
// once, and how each one runs through the GraphQL executor and ends. An id
// is free again as soon as its operation has ended or the client stopped
// it, and no message of an operation follows its end, so a client may reuse
// an id without getting the old operation's messages under it.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/errcode"
	"github.com/engagegql/gateway/protocol"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// operation is one running operation of a connection.
type operation struct {
	id     string
	cancel context.CancelFunc
	// done is set (under the connection's wmu) once no message may be sent
	// for the operation: the client stopped it, another replaced it, or the
	// connection closed.
	done atomic.Bool
	// ending is set (under the connection's mu) once the operation's last
	// message is on its way: its id is then free.
	ending bool
}

// opList is a connection's running operations: few (MaxOperations at
// most), so a slice, which takes less memory than a map.
type opList []*operation

// get returns the operation under id, or nil.
func (s opList) get(id string) *operation {
	for _, op := range s {
		if op.id == id {
			return op
		}
	}
	return nil
}

// remove takes op out, if it is in.
func (s *opList) remove(op *operation) {
	for i, o := range *s {
		if o == op {
			last := len(*s) - 1
			(*s)[i] = (*s)[last]
			(*s)[last] = nil
			*s = (*s)[:last]
			return
		}
	}
}

// outMessage is a message of either protocol to the client.
type outMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

// send writes m, unless it belongs to an operation that has been stopped.
func (c *conn) send(op *operation, m outMessage) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if op != nil && op.done.Load() {
		return
	}
	_ = c.ws.WriteJSON(m)
}

// sendFrame writes a message framed already (TextFrame), unless it belongs
// to an operation that has been stopped: as it is where the connection
// takes frames, else as a message.
func (c *conn) sendFrame(op *operation, frame []byte) {
	c.wmu.Lock()
	defer c.wmu.Unlock()
	if op != nil && op.done.Load() {
		return
	}
	switch w := c.ws.(type) {
	case FrameWriter:
		_ = w.WriteFrame(frame)
	case TextWriter:
		_ = w.WriteText(frame[FrameHeader(frame):])
	default:
		_ = c.ws.WriteJSON(json.RawMessage(frame[FrameHeader(frame):]))
	}
}

// silence stops op: nothing more is written for it once silence returns.
func (c *conn) silence(op *operation) {
	c.wmu.Lock()
	op.done.Store(true)
	c.wmu.Unlock()
	op.cancel()
}

// start registers an operation under id and runs it; false means the
// connection is closing.
func (c *conn) start(id string, payload json.RawMessage) bool {
	c.mu.Lock()
	if c.isClosed {
		c.mu.Unlock()
		return false
	}
	if old := c.ops.get(id); old != nil && !old.ending {
		if !c.legacy {
			c.mu.Unlock()
			c.close(CloseSubscriberExists, "Subscriber for "+limitID(id)+" already exists")
			return false
		}
		// The legacy protocol's reference server replaces an operation
		// started again under its id; its client expects no complete for
		// the old one.
		c.ops.remove(old)
		c.mu.Unlock()
		c.silence(old)
		c.mu.Lock()
	}
	if len(c.ops) >= c.maxOps {
		c.mu.Unlock()
		c.send(nil, c.errorMessage(id, gqlerror.List{tooManyOnSocket(c.maxOps)}))
		return true
	}
	ctx, cancel := context.WithCancel(c.ctx)
	op := &operation{id: id, cancel: cancel}
	c.ops = append(c.ops, op)
	c.mu.Unlock()
	go c.run(ctx, op, payload)
	return true
}

// limitID cuts an id so that "Subscriber for <id> already exists" fits a
// close frame.
func limitID(id string) string {
	if len(id) > 90 {
		return limitReason(id[:90]) + "…"
	}
	return id
}

// tooManyOnSocket is the refusal of an operation over the socket's cap.
func tooManyOnSocket(most int) *gqlerror.Error {
	return &gqlerror.Error{
		Message: fmt.Sprintf("too many subscriptions on this connection: at most %d may run at once on one websocket; complete one before starting another", most),
		Extensions: map[string]any{
			"code":  CodeTooManySubscriptions,
			"limit": "connection",
			"max":   most,
		},
	}
}

// stop ends the operation under id at the client's request; unknown ids
// are ignored, as both protocols allow. The legacy protocol's client is
// told complete, as its reference server does; graphql-transport-ws sends
// nothing more.
func (c *conn) stop(id string) {
	c.mu.Lock()
	op := c.ops.get(id)
	ending := op != nil && op.ending
	if op != nil {
		c.ops.remove(op)
	}
	c.mu.Unlock()
	if op == nil {
		return
	}
	c.silence(op)
	if c.legacy && !ending {
		c.send(nil, outMessage{ID: id, Type: "complete"})
	}
}

// finish sends an operation's last message and frees its id.
func (c *conn) finish(op *operation, m outMessage) {
	c.mu.Lock()
	op.ending = true
	c.mu.Unlock()
	c.send(op, m)
	c.mu.Lock()
	c.ops.remove(op)
	c.mu.Unlock()
}

// run executes one operation until it ends, it is stopped or the
// connection closes.
func (c *conn) run(ctx context.Context, op *operation, payload json.RawMessage) {
	// A shared subscription outlives run: its membership ends it.
	release, shared := func() {}, false
	defer func() {
		if !shared {
			op.cancel()
			release()
		}
	}()
	if c.admit != nil {
		r, refusal := c.admit(ctx)
		if refusal != nil {
			c.finish(op, c.errorMessage(op.id, gqlerror.List{refusal}))
			return
		}
		if r != nil {
			release = r
		}
	}

	start := graphql.Now()
	params := &graphql.RawParams{}
	dec := json.NewDecoder(bytes.NewReader(payload))
	dec.UseNumber()
	if err := dec.Decode(params); err != nil {
		resp := c.exec.DispatchError(ctx, gqlerror.List{{Message: `the payload is not a GraphQL request: it takes {"query": "…", "variables": {…}, "operationName": "…"}`}})
		c.finish(op, c.errorMessage(op.id, resp.Errors))
		return
	}
	params.Headers = c.headers
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}

	ctx = graphql.StartOperationTrace(ctx)
	rc, errs := c.exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := c.exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		if errcode.GetErrorKind(errs) == errcode.KindProtocol {
			// The document did not parse or validate: an error, which
			// ends the operation without a complete.
			c.finish(op, c.errorMessage(op.id, resp.Errors))
			return
		}
		c.send(op, c.nextMessage(op.id, resp))
		c.finish(op, outMessage{ID: op.id, Type: "complete"})
		return
	}
	if c.shared != nil && rc.Operation != nil && rc.Operation.Operation == ast.Subscription {
		shared = true
		c.subscribe(ctx, op, rc, release)
		return
	}
	ctx = graphql.WithOperationContext(ctx, rc)
	defer func() {
		if r := recover(); r != nil {
			_ = rc.Recover(ctx, r) // logs it
			c.finish(op, c.errorMessage(op.id, gqlerror.List{{
				Message:    "internal server error",
				Extensions: map[string]any{"code": "INTERNAL"},
			}}))
		}
	}()
	responses, ctx := c.exec.DispatchOperation(ctx, rc)
	for i := 0; ; i++ {
		resp := responses(ctx)
		if resp == nil {
			break
		}
		// A deferred query's later parts go in the incremental format.
		c.send(op, c.nextMessage(op.id, protocol.Part(resp, i)))
	}
	c.finish(op, outMessage{ID: op.id, Type: "complete"})
}

// nextMessage carries one result: "next", or the legacy "data".
func (c *conn) nextMessage(id string, resp any) outMessage {
	typ := "next"
	if c.legacy {
		typ = "data"
	}
	b, err := json.Marshal(resp)
	if err != nil {
		return c.errorMessage(id, gqlerror.List{{Message: "the result could not be encoded", Extensions: map[string]any{"code": "INTERNAL"}}})
	}
	return outMessage{ID: id, Type: typ, Payload: b}
}

// errorMessage ends an operation with errors: "error", with a list of
// GraphQL errors as its payload in both protocols.
func (c *conn) errorMessage(id string, errs gqlerror.List) outMessage {
	b, _ := json.Marshal(errs)
	return outMessage{ID: id, Type: "error", Payload: b}
}
