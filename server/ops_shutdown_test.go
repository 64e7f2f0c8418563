package server

// Graceful shutdown, as an orchestrator causes it: SIGTERM to a real gateway
// process with a websocket subscription, an SSE subscription and a webhook
// delivery in flight; and, in process, a deadline that a hung request and a
// websocket that never answers its close cannot outlast.

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const shutdownSubscription = `subscription { bookingChanged { action } }`

// slowDelivery is a webhook delivery whose body the test sends in two
// parts, so the request is in flight for as long as the test wants.
type slowDelivery struct {
	conn net.Conn
	br   *bufio.Reader
	rest []byte
}

// startSlowDelivery sends a delivery's headers and the first half of its
// body, and returns once the handler has begun to read the body (the
// server's "100 Continue" says so): the request is then in flight.
func startSlowDelivery(t *testing.T, addr, service, signature string, body []byte) *slowDelivery {
	t.Helper()
	conn, err := net.DialTimeout("tcp", addr, subWait)
	require.NoError(t, err)
	t.Cleanup(func() { _ = conn.Close() })
	require.NoError(t, conn.SetDeadline(time.Now().Add(subTimeout)))
	head := fmt.Sprintf("POST %s HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\nExpect: 100-continue\r\nX-Engage-Delivery: slow-delivery\r\n", webhook.MountPath+service, addr, len(body))
	if signature != "" {
		head += "X-Engage-Signature: " + signature + "\r\n"
	}
	_, err = conn.Write([]byte(head + "\r\n"))
	require.NoError(t, err)
	d := &slowDelivery{conn: conn, br: bufio.NewReader(conn), rest: body[len(body)/2:]}
	resp, err := http.ReadResponse(d.br, nil)
	require.NoError(t, err)
	require.Equal(t, http.StatusContinue, resp.StatusCode)
	_, err = conn.Write(body[:len(body)/2])
	require.NoError(t, err)
	return d
}

// finish sends the rest of the body and returns the answer's status.
func (d *slowDelivery) finish(t *testing.T) int {
	t.Helper()
	_, err := d.conn.Write(d.rest)
	require.NoError(t, err)
	resp, err := http.ReadResponse(d.br, nil)
	require.NoError(t, err)
	resp.Body.Close()
	return resp.StatusCode
}

// closeStatus reads from a websocket until it closes, skipping protocol
// messages (pings, keep-alives), and returns the error it closed with.
func closeStatus(t *testing.T, w *rawWS) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, subWait)
	defer cancel()
	for {
		_, b, err := w.c.Read(ctx)
		if err != nil {
			return err
		}
		t.Logf("websocket message before the close: %s", b)
	}
}

func TestShutdownOnSIGTERMFinishesWebhooksAndTellsSubscribers(t *testing.T) {
	bin := buildGateway(t)
	sim, err := engagesim.New(engagesim.Config{})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })

	const secret = "shutdown-test-secret"
	const timeout = 5 * time.Second
	port := freePort(t)
	gw := startReplica(t, bin, port, withEnv(upstreamEnv(simSrv.URL), map[string]string{
		"REDIS_URL":          os.Getenv("REDIS_URL"),
		"WEBHOOK_PUBLIC_URL": fmt.Sprintf("http://127.0.0.1:%d", port),
		"WEBHOOK_SECRET":     secret,
		"SHUTDOWN_TIMEOUT":   timeout.String(),
	}))

	// A websocket subscription, running.
	ws := dialRaw(t, gw.url, "graphql-transport-ws")
	ws.write(t, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": shutdownSubscription}})
	// An SSE subscription, streaming.
	sse, _ := startSSE(t, gw.url, shutdownSubscription, nil)
	sse.expect(t, "ready")
	// A correctly signed webhook delivery, half received.
	body := meetingExternal(tomorrow(), 1, 1)
	hook := startSlowDelivery(t, gw.addr, webhook.PathMeetingExternal, sign(secret, body), body)

	signalled := time.Now()
	require.NoError(t, gw.cmd.Process.Signal(syscall.SIGTERM))

	// The websocket client is told: the server goes away.
	err = closeStatus(t, ws)
	require.Error(t, err)
	assert.Equal(t, websocket.StatusGoingAway, websocket.CloseStatus(err), "close: %v", err)
	var ce websocket.CloseError
	if assert.True(t, errors.As(err, &ce)) {
		assert.Equal(t, "server shutting down", ce.Reason)
	}

	// Shutdown has begun, and no new connection gets in: the listener
	// closed before any websocket was told to go away.
	_, err = net.DialTimeout("tcp", gw.addr, subWait)
	require.Error(t, err, "a new connection was accepted after shutdown began")

	// The webhook that was in flight completes.
	assert.Equal(t, http.StatusOK, hook.finish(t))

	// The SSE subscriber sees its stream end. The webhook's event may reach
	// it first if the stream outlived the delivery by a hair.
	for l := sse.next(t); l.Type != "complete"; l = sse.next(t) {
		require.Contains(t, []string{"ping", "next"}, l.Type, "sse: got %s", l)
	}
	sse.ended(t)

	// The process exits cleanly within SHUTDOWN_TIMEOUT.
	select {
	case err := <-gw.exited:
		require.NoError(t, err, "the gateway did not exit 0")
	case <-time.After(timeout - time.Since(signalled)):
		t.Fatalf("the gateway did not exit within SHUTDOWN_TIMEOUT (%s)", timeout)
	}
	logs := gw.log()
	assert.Contains(t, logs, `"msg":"shutdown started"`)
	assert.Contains(t, logs, `"msg":"shutdown: websockets closed","count":1`)
	assert.Contains(t, logs, `"msg":"shutdown finished"`)
	assert.NotContains(t, logs, "shutdown timed out")
}

func TestShutdownTimeoutBoundsHungRequests(t *testing.T) {
	const timeout = time.Second
	port := freePort(t)
	addr := fmt.Sprintf("127.0.0.1:%d", port)
	var logs syncBuffer
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string {
			return map[string]string{"LISTEN_ADDR": addr, "SHUTDOWN_TIMEOUT": timeout.String()}[k]
		}, &logs)
	}()
	require.Eventually(t, func() bool {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 20*time.Millisecond, "the gateway did not come up; logged:\n%s", &logs)

	// A delivery whose body never completes (the embedded mode's webhooks
	// are on), and a websocket client that never reads again, so it never
	// answers the server's close frame (coder/websocket would wait 5 s).
	hung := startSlowDelivery(t, addr, webhook.PathMeetingExternal, "", []byte(`{"never":"finished"}`))
	ws := dialRaw(t, "http://"+addr, "graphql-transport-ws")
	ws.write(t, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": shutdownSubscription}})

	cancelled := time.Now()
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(timeout + 3*time.Second):
		t.Fatalf("run did not return within SHUTDOWN_TIMEOUT (%s) and 3s; logged:\n%s", timeout, &logs)
	}
	took := time.Since(cancelled)
	assert.GreaterOrEqual(t, took, timeout, "run returned before the deadline with a request in flight")

	// The hung request's connection was closed hard.
	require.NoError(t, hung.conn.SetReadDeadline(time.Now().Add(subWait)))
	_, err := hung.br.ReadByte()
	require.Error(t, err)
	var ne net.Error
	assert.False(t, errors.As(err, &ne) && ne.Timeout(), "the hung connection is still open: %v", err)

	out := logs.String()
	assert.Contains(t, out, `"msg":"shutdown started"`)
	assert.Contains(t, out, `"msg":"shutdown: websockets closed","count":1`)
	assert.Contains(t, out, `"msg":"shutdown timed out: closing the remaining connections"`)
	assert.NotContains(t, out, `"msg":"shutdown finished"`)
}

// TestShutdownEndsAtOnceOnASecondSignal: a second SIGTERM during a graceful
// stop ends the process at once, as without a handler, however long the
// stop would still wait for a request in flight.
func TestShutdownEndsAtOnceOnASecondSignal(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the gateway binary")
	}
	bin := buildGateway(t)
	sim, err := engagesim.New(engagesim.Config{})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })

	const secret = "shutdown-test-secret"
	port := freePort(t)
	gw := startReplica(t, bin, port, withEnv(upstreamEnv(simSrv.URL), map[string]string{
		"WEBHOOK_PUBLIC_URL": fmt.Sprintf("http://127.0.0.1:%d", port),
		"WEBHOOK_SECRET":     secret,
		"SHUTDOWN_TIMEOUT":   "5m",
	}))
	// A delivery in flight holds the graceful stop for SHUTDOWN_TIMEOUT.
	body := meetingExternal(tomorrow(), 1, 1)
	startSlowDelivery(t, gw.addr, webhook.PathMeetingExternal, sign(secret, body), body)

	require.NoError(t, gw.cmd.Process.Signal(syscall.SIGTERM))
	require.Eventually(t, func() bool { return strings.Contains(gw.log(), `"msg":"shutdown started"`) }, 20*time.Second, 20*time.Millisecond)
	// The second signal; sent again until the process is gone, since the
	// handler lets go of signals just after the stop begins.
	deadline := time.Now().Add(time.Minute)
	for {
		require.True(t, time.Now().Before(deadline), "a second SIGTERM did not end the graceful stop")
		require.NoError(t, gw.cmd.Process.Signal(syscall.SIGTERM))
		select {
		case err := <-gw.exited:
			var exit *exec.ExitError
			require.ErrorAs(t, err, &exit, "the gateway exited by itself")
			assert.Equal(t, syscall.SIGTERM, exit.Sys().(syscall.WaitStatus).Signal(), "the second SIGTERM ended it")
			return
		case <-time.After(200 * time.Millisecond):
		}
	}
}
