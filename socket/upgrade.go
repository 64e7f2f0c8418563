package socket

// The websocket implementation: coder/websocket, adapted to gqlgen's
// transport.WebsocketImplementation like gqlgen's own adapter, and able to
// write a message that is encoded already (TextWriter), or even a whole
// frame (FrameWriter), which a shared subscription's results are: the same
// bytes for every socket that has them under the same id. A frame goes to
// the connection past the library, at once when the connection's buffer
// has room (FrameTrier), and the pongs are written here too, all under one
// lock; the library reads, writes the messages handed to it and closes.
// The connection's buffers are sized for the small messages of the
// protocols, not net/http's 4 KiB each way.

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"sync"
	"syscall"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
)

// TextWriter is a websocket connection that can write a text message as it
// is. Conns of Upgrader are; a wrapper around one should be too.
type TextWriter interface {
	WriteText(msg []byte) error
}

// FrameWriter is a websocket connection that can write a whole frame made
// by TextFrame. Conns of Upgrader are; a wrapper around one should be too.
type FrameWriter interface {
	WriteFrame(frame []byte) error
}

// FrameTrier is a FrameWriter that can also take a frame without making
// its caller wait: TryFrame is false when it cannot now (another write is
// under way, or the connection cannot be written without waiting), and
// the frame must then be written with WriteFrame. Conns of Upgrader are.
type FrameTrier interface {
	FrameWriter
	TryFrame(frame []byte) bool
}

// TextFrame returns the unmasked, final text frame (a server's) carrying
// msg: frame[FrameHeader(frame):] is msg.
func TextFrame(msg []byte) []byte {
	var frame []byte
	n := len(msg)
	switch {
	case n < 126:
		frame = append(make([]byte, 0, 2+n), 0x81, byte(n))
	case n <= 0xffff:
		frame = append(make([]byte, 0, 4+n), 0x81, 126, byte(n>>8), byte(n))
	default:
		frame = append(make([]byte, 0, 10+n), 0x81, 127)
		for shift := 56; shift >= 0; shift -= 8 {
			frame = append(frame, byte(uint64(n)>>shift))
		}
	}
	return append(frame, msg...)
}

// FrameHeader is the length of the header of a frame made by TextFrame.
func FrameHeader(frame []byte) int {
	switch frame[1] {
	case 126:
		return 4
	case 127:
		return 10
	}
	return 2
}

// bufferSize is the size of each of a connection's buffers, reading and
// writing. The writer's holds any control frame (at most 127 bytes
// unmasked), so that the library writes each of its own in one write,
// which a frame written past it cannot split.
const bufferSize = 512

// closeWait is how long the close handshake waits for a frame being
// written past the library before it closes the connection at once (a
// write a client does not read cannot hold a connection open), looking
// every closePoll.
const (
	closeWait = 5 * time.Second
	closePoll = 10 * time.Millisecond
)

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
	// Pongs are written here, ordered with the frames written past the
	// library, which may have to finish one in the background.
	ws := &wsConn{}
	next := opts.OnPingReceived
	opts.OnPingReceived = func(ctx context.Context, payload []byte) bool {
		if next != nil && !next(ctx, payload) {
			return false
		}
		ws.pong(payload)
		return false
	}
	h := &hijacked{ResponseWriter: w}
	c, err := websocket.Accept(h, r, &opts)
	if err != nil {
		return nil, err
	}
	ws.c, ws.raw = c, h.conn
	if sc, ok := h.conn.(syscall.Conn); ok {
		if rc, err := sc.SyscallConn(); err == nil {
			ws.rc = rc
		}
	}
	return ws, nil
}

// hijacked hands the library the connection with small buffers, and keeps
// it for the frames written past the library.
type hijacked struct {
	http.ResponseWriter
	conn net.Conn
}

func (h *hijacked) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	conn, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	if err != nil {
		return nil, nil, err
	}
	if err := rw.Writer.Flush(); err != nil {
		_ = conn.Close()
		return nil, nil, err
	}
	// A client that sent frames before it saw the upgrade answered keeps
	// the server's reader, which holds them.
	br := rw.Reader
	if br.Buffered() == 0 {
		br = bufio.NewReaderSize(conn, bufferSize)
	}
	h.conn = conn
	return conn, bufio.NewReadWriter(br, bufio.NewWriterSize(conn, bufferSize)), nil
}

// wsConn is one accepted websocket.
type wsConn struct {
	c *websocket.Conn
	// raw is the connection under c, which frames are written to directly;
	// rc, when the connection has one, writes to it without waiting. Every
	// write but the close frame is made under fmu, and closeSent (under
	// fmu) says the close frame is on its way, so nothing may follow.
	raw       net.Conn
	rc        syscall.RawConn
	fmu       sync.Mutex
	closeSent bool

	mu      sync.Mutex
	closing chan struct{} // the close handshake has started
}

var (
	_ transport.WebsocketConn        = (*wsConn)(nil)
	_ transport.WebsocketReadLimiter = (*wsConn)(nil)
	_ TextWriter                     = (*wsConn)(nil)
	_ FrameTrier                     = (*wsConn)(nil)
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
	c.fmu.Lock()
	defer c.fmu.Unlock()
	if c.closeSent {
		return net.ErrClosed
	}
	return c.c.Write(context.Background(), websocket.MessageText, msg)
}

// WriteFrame writes a frame made by TextFrame to the connection. The
// caller orders it with the messages it writes through the library
// (WriteText, WriteJSON).
func (c *wsConn) WriteFrame(frame []byte) error {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	if c.closeSent {
		return net.ErrClosed
	}
	_, err := c.raw.Write(frame)
	return err
}

// TryFrame implements FrameTrier: it writes what of frame the connection
// takes at once, and the rest in the background, holding fmu until it is
// written, so whatever is written next waits for it.
func (c *wsConn) TryFrame(frame []byte) bool {
	if c.rc == nil || !c.fmu.TryLock() {
		return false
	}
	if c.closeSent {
		c.fmu.Unlock()
		return true // dropped, as WriteFrame refuses it
	}
	n, err := c.writeNow(frame)
	if n == len(frame) || err != nil {
		c.fmu.Unlock()
		return true // written, or the connection is failing: dropped
	}
	rest := frame[n:]
	go func() {
		defer c.fmu.Unlock()
		_, _ = c.raw.Write(rest)
	}()
	return true
}

// writeNow writes what of b the connection's buffer takes now, without
// waiting for room: fewer than len(b) bytes and no error when it had no
// more.
func (c *wsConn) writeNow(b []byte) (int, error) {
	n := 0
	var werr error
	err := c.rc.Write(func(fd uintptr) bool {
		for n < len(b) {
			m, err := syscall.Write(int(fd), b[n:])
			switch {
			case err == syscall.EINTR:
				continue
			case err == syscall.EAGAIN:
				return true
			case err != nil:
				werr = err
				return true
			}
			n += m
		}
		return true
	})
	if err == nil {
		err = werr
	}
	return n, err
}

// pong answers a ping, unless the close frame is on its way.
func (c *wsConn) pong(payload []byte) {
	c.fmu.Lock()
	defer c.fmu.Unlock()
	if c.closeSent {
		return
	}
	_, _ = c.raw.Write(append([]byte{0x8a, byte(len(payload))}, payload...))
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
		// No frame follows the close frame; one that is being written may
		// finish first, for closeWait at most.
		deadline := time.Now().Add(closeWait)
		for !c.fmu.TryLock() {
			if time.Now().After(deadline) {
				_ = c.c.CloseNow()
				return
			}
			time.Sleep(closePoll)
		}
		c.closeSent = true
		c.fmu.Unlock()
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
