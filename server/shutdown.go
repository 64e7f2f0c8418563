package server

// Graceful shutdown. http.Server.Shutdown stops accepting and waits for
// in-flight requests, but it neither ends long-lived streams (an SSE
// subscription never finishes by itself) nor knows about websockets, whose
// connections it handed over on upgrade. The drainer adds both: it tells
// each websocket to go away (close code 1001, so clients reconnect to
// another replica), ends the SSE streams, and closes whatever is left hard
// when SHUTDOWN_TIMEOUT runs out.

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/engagegql/gateway/socket"
)

// goingAwayReason is the reason of the close frame websockets get at shutdown.
const goingAwayReason = "server shutting down"

// drainer stops one http.Server gracefully. Serve on its listener, route
// requests through its streams middleware and accept websockets with its
// websockets implementation.
type drainer struct {
	log        *slog.Logger
	ln         *trackingListener
	websockets *websockets
	// streamCtx is cancelled when shutdown begins; every stream's request
	// context ends with it.
	streamCtx  context.Context
	endStreams context.CancelFunc
}

func newDrainer(log *slog.Logger, ln net.Listener) *drainer {
	ctx, cancel := context.WithCancel(context.Background())
	return &drainer{
		log:        log,
		ln:         &trackingListener{Listener: ln, conns: map[*trackedConn]struct{}{}, changed: make(chan struct{})},
		websockets: &websockets{live: map[*liveWebsocket]struct{}{}},
		streamCtx:  ctx,
		endStreams: cancel,
	}
}

// streams gives websocket and SSE requests a context that also ends when
// shutdown begins, so their subscriptions end; other requests keep theirs
// and may finish.
func (d *drainer) streams(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Upgrade") == "" && !strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			next.ServeHTTP(w, r)
			return
		}
		ctx, cancel := context.WithCancel(r.Context())
		defer cancel()
		stop := context.AfterFunc(d.streamCtx, cancel)
		defer stop()
		next.ServeHTTP(w, r.WithContext(ctx))
	})
}

// shutdown stops srv within timeout: it stops accepting, tells websockets
// to go away, ends SSE streams, and waits for in-flight requests and the
// websockets' close handshakes. At the deadline it closes every remaining
// connection. A deadline is logged, not returned: the stop was asked for.
func (d *drainer) shutdown(srv *http.Server, timeout time.Duration) error {
	start := time.Now()
	d.log.Info("shutdown started", "timeout", timeout.String())
	deadline, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	// Stop accepting before anyone is told to go away, so a client that
	// reconnects at once reaches another replica, not this one.
	_ = d.ln.Close()
	n := d.websockets.goAway()
	d.log.Info("shutdown: websockets closed", "count", n, "code", int(websocket.StatusGoingAway))
	d.endStreams()

	err := srv.Shutdown(deadline)
	if err == nil {
		// Shutdown does not wait for hijacked connections: wait for the
		// websockets' close handshakes to end.
		err = d.ln.drained(deadline)
	}
	if errors.Is(err, context.DeadlineExceeded) {
		d.log.Warn("shutdown timed out: closing the remaining connections", "timeout", timeout.String(), "open", d.ln.open())
		_ = srv.Close()
		d.ln.closeAll()
		return nil
	}
	if err != nil {
		return err
	}
	d.log.Info("shutdown finished", "took", time.Since(start).String())
	return nil
}

// websockets is the websocket transport's implementation: package socket's
// of coder/websocket, with a record of the live connections so shutdown can
// close them with 1001 (going away) before their contexts end.
type websockets struct {
	mu      sync.Mutex
	live    map[*liveWebsocket]struct{}
	closing bool
}

var _ transport.WebsocketImplementation = (*websockets)(nil)

func (s *websockets) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := socket.Upgrader{}.Accept(w, r, opts)
	if err != nil {
		return nil, err
	}
	c := &liveWebsocket{WebsocketConn: conn, set: s}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		// Upgraded while shutdown began: it goes away at once too.
		_ = conn.WriteClose(int(websocket.StatusGoingAway), goingAwayReason)
		return c, nil
	}
	s.live[c] = struct{}{}
	return c, nil
}

// goAway starts the close handshake of every live websocket with 1001 and
// returns how many there were. The transport's own close that follows
// (when the connection's context ends) is then a no-op.
func (s *websockets) goAway() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closing = true
	for c := range s.live {
		_ = c.WriteClose(int(websocket.StatusGoingAway), goingAwayReason)
	}
	return len(s.live)
}

// liveWebsocket is a connection that leaves the record when the transport
// closes it.
type liveWebsocket struct {
	transport.WebsocketConn
	set *websockets
}

func (c *liveWebsocket) Close() error {
	c.set.mu.Lock()
	delete(c.set.live, c)
	c.set.mu.Unlock()
	return c.WebsocketConn.Close()
}

// WriteText keeps the transport's encoded messages working through the
// wrapper.
func (c *liveWebsocket) WriteText(msg []byte) error {
	if w, ok := c.WebsocketConn.(socket.TextWriter); ok {
		return w.WriteText(msg)
	}
	return c.WebsocketConn.WriteJSON(json.RawMessage(msg))
}

// WriteFrame keeps the transport's framed messages working through the
// wrapper.
func (c *liveWebsocket) WriteFrame(frame []byte) error {
	if w, ok := c.WebsocketConn.(socket.FrameWriter); ok {
		return w.WriteFrame(frame)
	}
	return c.WriteText(frame[socket.FrameHeader(frame):])
}

// TryFrame keeps the transport's frames taken at once working through the
// wrapper.
func (c *liveWebsocket) TryFrame(frame []byte) bool {
	t, ok := c.WebsocketConn.(socket.FrameTrier)
	return ok && t.TryFrame(frame)
}

// SetReadLimit keeps the transport's read limit working through the
// wrapper.
func (c *liveWebsocket) SetReadLimit(limit int64) {
	if l, ok := c.WebsocketConn.(transport.WebsocketReadLimiter); ok {
		l.SetReadLimit(limit)
	}
}

// trackingListener records every connection it accepted until it is
// closed, hijacked ones (websockets) included, which http.Server forgets.
type trackingListener struct {
	net.Listener
	closeOnce sync.Once
	closeErr  error

	mu    sync.Mutex
	conns map[*trackedConn]struct{}
	// changed is closed (and replaced) whenever a connection closes.
	changed chan struct{}
}

func (l *trackingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	t := &trackedConn{Conn: c, l: l}
	l.mu.Lock()
	l.conns[t] = struct{}{}
	l.mu.Unlock()
	return t, nil
}

// Close closes the listener once; http.Server.Shutdown closes it again.
func (l *trackingListener) Close() error {
	l.closeOnce.Do(func() { l.closeErr = l.Listener.Close() })
	return l.closeErr
}

func (l *trackingListener) open() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.conns)
}

// drained waits until every accepted connection has closed, or ctx ends.
func (l *trackingListener) drained(ctx context.Context) error {
	for {
		l.mu.Lock()
		n, changed := len(l.conns), l.changed
		l.mu.Unlock()
		if n == 0 {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// closeAll closes every connection still open.
func (l *trackingListener) closeAll() {
	l.mu.Lock()
	conns := make([]*trackedConn, 0, len(l.conns))
	for c := range l.conns {
		conns = append(conns, c)
	}
	l.mu.Unlock()
	for _, c := range conns {
		_ = c.Close()
	}
}

// trackedConn leaves its listener's record when it is closed.
type trackedConn struct {
	net.Conn
	l    *trackingListener
	once sync.Once
}

func (c *trackedConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(func() {
		c.l.mu.Lock()
		delete(c.l.conns, c)
		close(c.l.changed)
		c.l.changed = make(chan struct{})
		c.l.mu.Unlock()
	})
	return err
}

// SyscallConn lets a websocket write to the connection without waiting
// (socket.FrameTrier).
func (c *trackedConn) SyscallConn() (syscall.RawConn, error) {
	if sc, ok := c.Conn.(syscall.Conn); ok {
		return sc.SyscallConn()
	}
	return nil, errors.ErrUnsupported
}

// CloseWrite lets http.Server half-close as it does on a bare TCP
// connection before closing after an error answer.
func (c *trackedConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
