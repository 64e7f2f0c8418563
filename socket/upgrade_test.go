package socket

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/coder/websocket"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// acceptOne serves one websocket accepted by Upgrader and hands it to the
// test.
func acceptOne(t *testing.T) (url string, conns <-chan *wsConn) {
	t.Helper()
	ch := make(chan *wsConn, 1)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ws, err := Upgrader{}.Accept(w, r, transport.WebsocketAcceptOptions{Subprotocols: []string{TransportWS}})
		if !assert.NoError(t, err) {
			return
		}
		ch <- ws.(*wsConn)
	}))
	t.Cleanup(srv.Close)
	return "ws" + strings.TrimPrefix(srv.URL, "http"), ch
}

// connected is a client and the server's end of one websocket.
func connected(t *testing.T) (*websocket.Conn, *wsConn) {
	t.Helper()
	url, conns := acceptOne(t)
	client := dial(t, url)
	return client, <-conns
}

func dial(t *testing.T, url string) *websocket.Conn {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	c, _, err := websocket.Dial(ctx, url, &websocket.DialOptions{Subprotocols: []string{TransportWS}})
	require.NoError(t, err)
	c.SetReadLimit(1 << 20)
	t.Cleanup(func() { _ = c.CloseNow() })
	return c
}

// TestTextFrameLengths: a frame written past the library reaches a real
// client as the message it carries, at every length encoding (7 bits, 16
// and 64), at their edges.
func TestTextFrameLengths(t *testing.T) {
	client, server := connected(t)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for _, n := range []int{0, 1, 125, 126, 127, 0xffff, 0x10000, 200_000} {
		msg := bytes.Repeat([]byte{'a' + byte(n%26)}, n)
		frame := TextFrame(msg)
		require.Equal(t, msg, frame[FrameHeader(frame):], "length %d", n)
		require.NoError(t, server.WriteFrame(frame))
		typ, got, err := client.Read(ctx)
		require.NoError(t, err, "length %d", n)
		assert.Equal(t, websocket.MessageText, typ)
		assert.Equal(t, msg, got, "length %d", n)
	}
}

// TestFramesAndTheLibrarysOwnFramesDoNotSplitEachOther: frames written
// past the library, messages written through it and the library's own pongs
// (the client pings throughout) all reach the client whole, in order.
func TestFramesAndTheLibrarysOwnFramesDoNotSplitEachOther(t *testing.T) {
	client, server := connected(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	// The server reads, so that it answers the client's pings.
	go func() {
		for {
			if _, _, err := server.NextReader(); err != nil {
				return
			}
		}
	}()
	const n = 2000
	var read sync.WaitGroup
	read.Add(1)
	var got []string
	go func() {
		defer read.Done()
		for len(got) < n {
			_, b, err := client.Read(ctx)
			if err != nil {
				t.Errorf("read %d: %v", len(got), err)
				return
			}
			got = append(got, string(b))
		}
	}()
	pings := make(chan error, 1)
	go func() {
		for i := 0; i < 200 && ctx.Err() == nil; i++ {
			if err := client.Ping(ctx); err != nil {
				pings <- err
				return
			}
		}
		pings <- nil
	}()
	var mu sync.Mutex // the transport's order of writes, as conn.wmu
	for i := range n {
		msg := fmt.Sprintf(`{"id":"%d","pad":"%s"}`, i, strings.Repeat("x", i%700))
		mu.Lock()
		if i%3 == 0 {
			require.NoError(t, server.WriteText([]byte(msg)))
		} else {
			require.NoError(t, server.WriteFrame(TextFrame([]byte(msg))))
		}
		mu.Unlock()
	}
	read.Wait()
	client.CloseRead(ctx) // the pongs left are still read
	require.Len(t, got, n)
	for i, m := range got {
		require.True(t, strings.HasPrefix(m, fmt.Sprintf(`{"id":"%d",`, i)), "message %d in order and whole: %.40s", i, m)
	}
	require.NoError(t, <-pings, "every ping was answered")
}

// TestNoFrameFollowsTheCloseFrame: once the close handshake has started, a
// frame is refused, and the client reads the frames before it and then the
// close, with its code.
func TestNoFrameFollowsTheCloseFrame(t *testing.T) {
	client, server := connected(t)
	require.NoError(t, server.WriteFrame(TextFrame([]byte(`"before"`))))
	require.NoError(t, server.WriteClose(CloseBadRequest, "bye"))
	// Frames written until the close frame is on its way arrive before it.
	after := 0
	deadline := time.Now().Add(5 * time.Second)
	for server.WriteFrame(TextFrame([]byte(`"after"`))) == nil {
		after++
		require.True(t, time.Now().Before(deadline), "a frame after the close frame is refused")
	}

	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_, b, err := client.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, `"before"`, string(b))
	for range after {
		_, b, err := client.Read(ctx)
		require.NoError(t, err)
		assert.Equal(t, `"after"`, string(b))
	}
	_, b, err = client.Read(ctx)
	assert.Equal(t, websocket.StatusCode(CloseBadRequest), websocket.CloseStatus(err), "%v %s", err, b)
}

// TestAStuckFrameDoesNotHoldTheCloseOpen: a frame whose client reads
// nothing blocks its write; the close handshake waits for it closeWait at
// most, then closes the connection, which ends the write.
func TestAStuckFrameDoesNotHoldTheCloseOpen(t *testing.T) {
	if testing.Short() {
		t.Skip("waits closeWait")
	}
	_, server := connected(t) // the client never reads
	big := TextFrame(bytes.Repeat([]byte("x"), 1<<20))
	written := make(chan error, 1)
	go func() {
		for {
			if err := server.WriteFrame(big); err != nil {
				written <- err
				return
			}
		}
	}()
	time.Sleep(200 * time.Millisecond) // the socket's buffers fill
	start := time.Now()
	require.NoError(t, server.WriteClose(closeNormal, ""))
	select {
	case err := <-written:
		assert.Error(t, err)
		assert.Less(t, time.Since(start), closeWait+2*time.Second)
	case <-time.After(closeWait + 5*time.Second):
		t.Fatal("the stuck write was never ended")
	}
}

// TestFramesSentWithTheUpgradeRequestAreRead: a client that sends its
// first frame in the same packet as its upgrade request (before it has
// seen the answer) has that frame read.
func TestFramesSentWithTheUpgradeRequestAreRead(t *testing.T) {
	url, conns := acceptOne(t)
	addr := strings.TrimPrefix(url, "ws://")
	nc, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer nc.Close()
	key := make([]byte, 16)
	_, _ = rand.Read(key)
	var req bytes.Buffer
	fmt.Fprintf(&req, "GET / HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Key: %s\r\nSec-WebSocket-Protocol: %s\r\n\r\n",
		addr, base64.StdEncoding.EncodeToString(key), TransportWS)
	req.Write(maskedText([]byte(`{"type":"connection_init"}`)))
	_, err = nc.Write(req.Bytes())
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(nc), nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusSwitchingProtocols, resp.StatusCode)

	server := <-conns
	_, r, err := server.NextReader()
	require.NoError(t, err)
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	assert.Equal(t, `{"type":"connection_init"}`, string(b))
}

// maskedText is a client's text frame carrying msg (under 126 bytes).
func maskedText(msg []byte) []byte {
	var mask [4]byte
	_, _ = rand.Read(mask[:])
	f := append([]byte{0x81, 0x80 | byte(len(msg))}, mask[:]...)
	for i, c := range msg {
		f = append(f, c^mask[i%4])
	}
	return f
}

// TestTheHandlerReturnsOnceTheSocketIsAccepted: Do hands the connection to
// a goroutine of its own, so the request's handler returns while the
// socket stays open and served.
func TestTheHandlerReturnsOnceTheSocketIsAccepted(t *testing.T) {
	returned := make(chan struct{}, 1)
	tr := Transport{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tr.Do(w, r, nil)
		returned <- struct{}{}
	}))
	defer srv.Close()
	client := dial(t, "ws"+strings.TrimPrefix(srv.URL, "http"))
	select {
	case <-returned:
	case <-time.After(5 * time.Second):
		t.Fatal("the handler did not return")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.NoError(t, client.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init"}`)))
	_, b, err := client.Read(ctx)
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"connection_ack"}`, string(b))
}

// TestAPanicServingAConnectionClosesItAndIsLogged: a panic of the
// transport's (here in Init) closes that socket with 1011 and is logged
// with its stack; the server goes on.
func TestAPanicServingAConnectionClosesItAndIsLogged(t *testing.T) {
	logFile, err := os.CreateTemp(t.TempDir(), "log")
	require.NoError(t, err)
	defer logFile.Close()
	logged := func() string {
		b, err := os.ReadFile(logFile.Name())
		require.NoError(t, err)
		return string(b)
	}
	tr := Transport{
		Init: func(ctx context.Context, payload map[string]any) (context.Context, error) {
			if payload["panic"] == true {
				panic("a bug")
			}
			return ctx, nil
		},
		ErrorLog: slog.New(slog.NewTextHandler(logFile, nil)),
	}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { tr.Do(w, r, nil) }))
	defer srv.Close()
	url := "ws" + strings.TrimPrefix(srv.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()

	bad := dial(t, url)
	require.NoError(t, bad.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":{"panic":true}}`)))
	_, _, err = bad.Read(ctx)
	assert.Equal(t, websocket.StatusInternalError, websocket.CloseStatus(err), "%v", err)
	assert.Contains(t, logged(), "panic serving a connection")
	assert.Contains(t, logged(), "a bug")
	assert.Contains(t, logged(), "upgrade_test.go", "with the stack")

	good := dial(t, url)
	require.NoError(t, good.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init"}`)))
	_, b, err := good.Read(ctx)
	require.NoError(t, err)
	assert.JSONEq(t, `{"type":"connection_ack"}`, string(b))
}

// TestAFrameTakenInPartIsFinishedBeforeAnythingElse: frames tried on a
// client that reads nothing fill its buffers until one is taken only in
// part; its rest is written in the background, and until it is, the
// socket takes no other frame at once. Once the client reads, every frame
// arrives whole and in order, and frames are taken at once again.
func TestAFrameTakenInPartIsFinishedBeforeAnythingElse(t *testing.T) {
	client, server := connected(t)
	require.NotNil(t, server.rc, "a TCP connection can be written without waiting")
	msg := func(i int) []byte {
		return []byte(fmt.Sprintf(`{"id":"%d","pad":"%s"}`, i, strings.Repeat("x", 64<<10)))
	}
	sent := 0
	for server.TryFrame(TextFrame(msg(sent))) {
		sent++
		require.Less(t, sent, 10_000, "the client's buffers never filled")
	}
	require.Positive(t, sent)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := range sent {
		_, b, err := client.Read(ctx)
		require.NoError(t, err, "message %d", i)
		require.Equal(t, string(msg(i)), string(b), "message %d whole and in order", i)
	}
	require.Eventually(t, func() bool { return server.TryFrame(TextFrame([]byte(`"again"`))) }, 5*time.Second, time.Millisecond)
	_, b, err := client.Read(ctx)
	require.NoError(t, err)
	assert.Equal(t, `"again"`, string(b))
}
