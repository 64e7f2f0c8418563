package socket

// Shared subscriptions (Transport.Shared): the operation joins its stream
// and ends with it or when stopped. A result that finds nothing waiting on
// its connection is handed to the connection at once, which takes it when
// its buffer has room (almost always). Otherwise results are queued on the
// connection; a writer, started when the queue fills from empty and gone
// once it is empty, writes them in order. A connection that lets maxQueued
// results wait is too slow for them: its subscription ends (FELL_BEHIND)
// while the stream goes on for the others.

import (
	"context"
	"encoding/json"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/fanout"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// maxQueued is how many results may wait on one connection, across its
// operations; a last message (complete or error) is always taken.
const maxQueued = 64

// queued is a message waiting for the writer.
type queued struct {
	op *operation
	// frame is a result's message as a websocket frame (TextFrame); m is
	// any other message.
	frame []byte
	m     outMessage
	// last is the operation's last message: once it is sent, the id is
	// free and the operation has ended.
	last bool
}

// subscribe makes op a subscriber of its shared stream until op's context
// ends (the client stopped it, the connection closed, or the stream ended
// it); then it leaves and release is called.
func (c *conn) subscribe(ctx context.Context, op *operation, rc *graphql.OperationContext, release func()) {
	leave := c.shared.Subscribe(ctx, c.exec, rc, subscriber{c: c, op: op})
	context.AfterFunc(ctx, func() {
		leave()
		release()
	})
}

// subscriber is one operation's membership of a shared stream.
type subscriber struct {
	c  *conn
	op *operation
}

func (s subscriber) Next(result *fanout.Result) bool {
	typ := "next"
	if s.c.legacy {
		typ = "data"
	}
	// Sockets that run the stream under the same id share its frame.
	frame := result.Framed(fanout.FrameKey{Kind: typ, ID: s.op.id}, func(payload []byte) []byte {
		b, err := json.Marshal(outMessage{ID: s.op.id, Type: typ, Payload: payload})
		if err != nil {
			panic(err) // an id and a payload the stream encoded
		}
		return TextFrame(b)
	})
	return s.c.enqueue(queued{op: s.op, frame: frame})
}

func (s subscriber) End(err error) {
	m := outMessage{ID: s.op.id, Type: "complete"}
	if e := fanout.ClientError(err, maxQueued); e != nil {
		m = s.c.errorMessage(s.op.id, gqlerror.List{e})
	}
	s.c.mu.Lock()
	s.op.ending = true
	s.c.mu.Unlock()
	s.c.enqueue(queued{op: s.op, m: m, last: true})
}

// enqueue queues q for the writer, starting it if it is not running; false
// when q is a result and maxQueued wait already. A result that finds
// nothing waiting is first offered to the connection as it is, which takes
// it without a writer when it can (FrameTrier).
func (c *conn) enqueue(q queued) bool {
	c.qmu.Lock()
	if q.frame != nil && !c.writing {
		// Nothing waits (the writer runs while anything does).
		c.writing = true
		c.qmu.Unlock()
		if c.tryFrame(q.op, q.frame) {
			c.tried()
			return true
		}
		c.qmu.Lock()
		c.writing = false // queued as any result, after what came meanwhile
	}
	if !q.last {
		if c.nexts >= maxQueued {
			c.qmu.Unlock()
			return false
		}
		c.nexts++
	}
	c.queue = append(c.queue, q)
	start := !c.writing
	c.writing = true
	c.qmu.Unlock()
	if start {
		go c.drain()
	}
	return true
}

// tryFrame offers a result's frame to the connection without waiting; false
// when it was not taken (the connection cannot, or a write is under way).
func (c *conn) tryFrame(op *operation, frame []byte) bool {
	t, ok := c.ws.(FrameTrier)
	if !ok || !c.wmu.TryLock() {
		return false
	}
	defer c.wmu.Unlock()
	if op.done.Load() {
		return true // stopped: nothing more is written for it
	}
	return t.TryFrame(frame)
}

// tried ends a frame taken at once: what was queued meanwhile goes to a
// writer.
func (c *conn) tried() {
	c.qmu.Lock()
	if len(c.queue) > 0 {
		c.qmu.Unlock()
		go c.drain()
		return
	}
	c.writing = false
	c.qmu.Unlock()
}

// drain writes the queue in order until it is empty.
func (c *conn) drain() {
	for {
		c.qmu.Lock()
		if len(c.queue) == 0 {
			c.queue, c.writing = nil, false
			c.qmu.Unlock()
			return
		}
		q := c.queue[0]
		c.queue[0] = queued{}
		c.queue = c.queue[1:]
		if !q.last {
			c.nexts--
		}
		c.qmu.Unlock()
		if q.frame != nil {
			c.sendFrame(q.op, q.frame)
		} else {
			c.send(q.op, q.m)
		}
		if q.last {
			c.mu.Lock()
			c.ops.remove(q.op)
			c.mu.Unlock()
			q.op.cancel()
		}
	}
}
