package socket

// The websocket implementation: coder/websocket, adapted to gqlgen's
// transport.WebsocketImplementation like gqlgen's own adapter, and able to
// write a message that is encoded already (TextWriter), which a shared
// subscription's results are: the same bytes for every socket that has
// them under the same id.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"sync"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
)

// TextWriter is a websocket connection that can write a text message as it
// is. Conns of Upgrader are; a wrapper around one should be too.
type TextWriter interface {
	WriteText(msg []byte) error
}

// Upgrader accepts websockets with coder/websocket. The zero value is
// usable; Options are the library's, the transport's subprotocols added.
type Upgrader struct {
	Options websocket.AcceptOptions
}

var _ transport.WebsocketImplementation = Upgrader{}

// Accept implements transport.WebsocketImplementation.
func (u Upgrader) Accept(w http.ResponseWriter, r *http.Request, o transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	for k, vs := range o.ResponseHeader {
		for _, v := range vs {
			w.Header().Add(k, v)
		}
	}
	opts := u.Options
	opts.Subprotocols = append(append([]string(nil), opts.Subprotocols...), o.Subprotocols...)
	c, err := websocket.Accept(w, r, &opts)
	if err != nil {
		return nil, err
	}
	return &wsConn{c: c}, nil
}

// wsConn is one accepted websocket.
type wsConn struct {
	c *websocket.Conn

	mu      sync.Mutex
	closing chan struct{} // the close handshake has started
}

var (
	_ transport.WebsocketConn        = (*wsConn)(nil)
	_ transport.WebsocketReadLimiter = (*wsConn)(nil)
	_ TextWriter                     = (*wsConn)(nil)
)

func (c *wsConn) NextReader() (int, io.Reader, error) {
	typ, data, err := c.c.Read(context.Background())
	if err != nil {
		switch websocket.CloseStatus(err) {
		case websocket.StatusNormalClosure, websocket.StatusNoStatusRcvd:
			return int(typ), nil, transport.ErrWebsocketClosed
		}
		return int(typ), nil, err
	}
	return int(typ), bytes.NewReader(data), nil
}

func (c *wsConn) WriteJSON(v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	return c.WriteText(b)
}

func (c *wsConn) WriteText(msg []byte) error {
	return c.c.Write(context.Background(), websocket.MessageText, msg)
}

// WriteClose starts the close handshake, which waits (up to the library's
// five seconds) for the peer's close frame: in the background, so that the
// transport's teardown does not wait on a slow or absent peer.
func (c *wsConn) WriteClose(code int, reason string) error {
	c.mu.Lock()
	if c.closing != nil {
		c.mu.Unlock()
		return nil
	}
	done := make(chan struct{})
	c.closing = done
	c.mu.Unlock()
	go func() {
		defer close(done)
		_ = c.c.Close(websocket.StatusCode(code), reason)
	}()
	return nil
}

// Close closes the connection at once, unless the close handshake has
// started, which then closes it.
func (c *wsConn) Close() error {
	c.mu.Lock()
	handshake := c.closing != nil
	c.mu.Unlock()
	if handshake {
		return nil
	}
	return c.c.CloseNow()
}

func (c *wsConn) Subprotocol() string { return c.c.Subprotocol() }

func (c *wsConn) SetReadLimit(limit int64) { c.c.SetReadLimit(limit) }
