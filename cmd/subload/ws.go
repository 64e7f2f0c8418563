package main

// A websocket client as small as the load needs: it dials, upgrades, writes
// masked text frames and reads a server's frames straight from the
// connection. The load's own reading then costs little of the machine that
// the gateway it measures shares, so the measure is more of the gateway's.

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"sync"
	"time"
)

// wsClient is one client websocket.
type wsClient struct {
	conn *gatedConn
	r    *bufio.Reader
	wmu  sync.Mutex
}

// errClosed is a close frame read.
var errClosed = errors.New("the server closed the websocket")

// dialWS opens a websocket to rawURL (ws://) with subprotocol; its reads
// wait while g is shut.
func dialWS(ctx context.Context, rawURL, subprotocol string, g *gate) (*wsClient, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, err
	}
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", u.Host)
	if err != nil {
		return nil, err
	}
	sc, err := stamped(nc)
	if err != nil {
		nc.Close()
		return nil, err
	}
	conn := &gatedConn{stampedConn: sc, ctx: ctx, gate: g}
	if dl, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(dl)
	}
	keyBytes := make([]byte, 16)
	_, _ = rand.Read(keyBytes)
	key := base64.StdEncoding.EncodeToString(keyBytes)
	path := u.RequestURI()
	req := fmt.Sprintf("GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n", path, u.Host, key, subprotocol)
	if _, err := io.WriteString(conn, req); err != nil {
		conn.Close()
		return nil, err
	}
	r := bufio.NewReaderSize(conn, 1024)
	resp, err := http.ReadResponse(r, nil)
	if err != nil {
		conn.Close()
		return nil, err
	}
	resp.Body.Close()
	sum := sha1.Sum([]byte(key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"))
	if resp.StatusCode != http.StatusSwitchingProtocols || resp.Header.Get("Sec-WebSocket-Accept") != base64.StdEncoding.EncodeToString(sum[:]) {
		conn.Close()
		return nil, fmt.Errorf("upgrade refused: %s", resp.Status)
	}
	if got := resp.Header.Get("Sec-WebSocket-Protocol"); got != subprotocol {
		conn.Close()
		return nil, fmt.Errorf("subprotocol %q, not %q", got, subprotocol)
	}
	_ = conn.SetDeadline(time.Time{})
	return &wsClient{conn: conn, r: r}, nil
}

// write sends a client frame (masked) of opcode with payload.
func (c *wsClient) write(opcode byte, payload []byte) error {
	n := len(payload)
	f := make([]byte, 0, 14+n)
	f = append(f, 0x80|opcode)
	switch {
	case n < 126:
		f = append(f, 0x80|byte(n))
	case n <= 0xffff:
		f = append(f, 0x80|126, byte(n>>8), byte(n))
	default:
		f = append(f, 0x80|127)
		f = binary.BigEndian.AppendUint64(f, uint64(n))
	}
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	f = append(f, mask[:]...)
	for i, b := range payload {
		f = append(f, b^mask[i&3])
	}
	c.wmu.Lock()
	defer c.wmu.Unlock()
	_, err := c.conn.Write(f)
	return err
}

// writeText sends a text message.
func (c *wsClient) writeText(msg []byte) error { return c.write(0x1, msg) }

// read returns the next data message and when it arrived (on Linux, when
// the kernel received its last packet), answering pings on the way; a
// close frame is errClosed.
func (c *wsClient) read(limit int) ([]byte, time.Time, error) {
	msg, err := c.readMessage(limit)
	return msg, c.conn.arrived(), err
}

func (c *wsClient) readMessage(limit int) ([]byte, error) {
	var msg []byte
	for {
		var h [2]byte
		if _, err := io.ReadFull(c.r, h[:]); err != nil {
			return nil, err
		}
		fin, opcode := h[0]&0x80 != 0, h[0]&0x0f
		if h[1]&0x80 != 0 {
			return nil, errors.New("a server's frame is masked")
		}
		n := uint64(h[1] & 0x7f)
		switch n {
		case 126:
			var b [2]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return nil, err
			}
			n = uint64(binary.BigEndian.Uint16(b[:]))
		case 127:
			var b [8]byte
			if _, err := io.ReadFull(c.r, b[:]); err != nil {
				return nil, err
			}
			n = binary.BigEndian.Uint64(b[:])
		}
		if n > uint64(limit) || len(msg)+int(n) > limit {
			return nil, fmt.Errorf("a message over %d bytes", limit)
		}
		payload := make([]byte, n)
		if _, err := io.ReadFull(c.r, payload); err != nil {
			return nil, err
		}
		switch opcode {
		case 0x8:
			return nil, errClosed
		case 0x9:
			if err := c.write(0xa, payload); err != nil {
				return nil, err
			}
			continue
		case 0xa:
			continue
		}
		msg = append(msg, payload...)
		if fin {
			return msg, nil
		}
	}
}

// close ends the connection at once.
func (c *wsClient) close() error { return c.conn.Close() }
