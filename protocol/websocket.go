package protocol

// Incremental delivery over websockets. gqlgen's websocket transport sends
// each response of a deferred query as a "next" (or legacy "data") message,
// but in its own shape, which no client merges; this puts the subsequent
// ones in the incremental format (see incremental.go), so a client such as
// Apollo Client's GraphQLWsLink gets the deferred fields where they belong.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// IncrementalWebsockets wraps a websocket implementation (nil: gqlgen's
// default) so that its connections send deferred payloads in the
// incremental format.
func IncrementalWebsockets(inner transport.WebsocketImplementation) transport.WebsocketImplementation {
	if inner == nil {
		inner = transport.CoderWebsocketImplementation{}
	}
	return incrementalSockets{inner: inner}
}

type incrementalSockets struct {
	inner transport.WebsocketImplementation
}

// Accept implements transport.WebsocketImplementation.
func (s incrementalSockets) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := s.inner.Accept(w, r, opts)
	if err != nil {
		return nil, err
	}
	return &incrementalConn{WebsocketConn: conn, deferred: map[string]int{}}, nil
}

// incrementalConn rewrites the payloads that follow a deferred query's
// first one.
type incrementalConn struct {
	transport.WebsocketConn
	mu sync.Mutex
	// deferred counts the payloads sent so far of each operation whose
	// first payload said more would follow.
	deferred map[string]int
}

// message is a server message of either websocket protocol.
type message struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

var hasNextKey = []byte(`"hasNext"`)

// WriteJSON implements transport.WebsocketConn.
func (c *incrementalConn) WriteJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	var m message
	if !bytes.Contains(b, hasNextKey) && !c.anyDeferred() {
		return c.WebsocketConn.WriteJSON(json.RawMessage(b))
	}
	if err := json.Unmarshal(b, &m); err != nil {
		return c.WebsocketConn.WriteJSON(json.RawMessage(b))
	}
	switch m.Type {
	case "next", "data":
		var r graphql.Response
		if json.Unmarshal(m.Payload, &r) != nil || r.HasNext == nil {
			break
		}
		c.mu.Lock()
		i, seen := c.deferred[m.ID]
		c.deferred[m.ID] = i + 1
		c.mu.Unlock()
		if !seen {
			break
		}
		p, err := json.Marshal(payload(&r, i+1))
		if err != nil {
			break
		}
		m.Payload = p
		return c.WebsocketConn.WriteJSON(m)
	case "complete", "error":
		c.mu.Lock()
		delete(c.deferred, m.ID)
		c.mu.Unlock()
	}
	return c.WebsocketConn.WriteJSON(json.RawMessage(b))
}

// anyDeferred reports whether some operation of this connection is
// deferred, so its end must be noticed.
func (c *incrementalConn) anyDeferred() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.deferred) > 0
}

// SetReadLimit keeps gqlgen's PayloadReadLimit working through the wrapper.
func (c *incrementalConn) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

// SetReadDeadline keeps gqlgen's missing-pong timeout working through the
// wrapper.
func (c *incrementalConn) SetReadDeadline(t time.Time) error {
	if d, ok := c.WebsocketConn.(transport.WebsocketReadDeadliner); ok {
		return d.SetReadDeadline(t)
	}
	return nil
}
