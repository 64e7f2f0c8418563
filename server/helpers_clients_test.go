package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"
)

const (
	// subTimeout bounds a whole subscriber: its process, request or socket.
	subTimeout = 30 * time.Second
	// subWait bounds the wait for one line from a subscriber.
	subWait = 10 * time.Second
)

// The node clients, in the repository (see repoRoot).
const (
	clientsDir         = repoRoot + "/clients"
	transportWSScript  = "subscribe-transport-ws.mjs"
	legacyWSScript     = "subscribe-legacy-ws.mjs"
	sseScript          = "subscribe-sse.mjs"
	sseSingleScript    = "subscribe-sse-single.mjs"
	manyWSScript       = "subscribe-many-transport-ws.mjs"
	nodeModulesMissing = "clients/node_modules is missing: run `npm ci --prefix clients`, as scripts/test.sh does"
)

// nodeForClients returns node, with the clients' packages installed. Without
// them the test fails where they must be there (CI, or scripts/test.sh,
// which sets BROWSER_TESTS and REQUIRE_REDIS) and is skipped elsewhere.
func nodeForClients(t *testing.T) string {
	t.Helper()
	missing := func(msg string) {
		t.Helper()
		if os.Getenv("CI") != "" || os.Getenv("BROWSER_TESTS") != "" || os.Getenv("REQUIRE_REDIS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not on PATH: install Node.js 20 or later to run the subscription clients")
	}
	for _, pkg := range []string{"graphql-ws", "subscriptions-transport-ws", "ws", "graphql", "graphql-http", "graphql-sse", "@apollo/client", "rxjs"} {
		if _, err := os.Stat(filepath.Join(clientsDir, "node_modules", pkg, "package.json")); err != nil {
			missing(nodeModulesMissing)
		}
	}
	return node
}

// subLine is one thing a subscriber saw, in the JSON lines the node clients
// print (see clients/cli.mjs); the SSE and raw websocket readers speak it
// too.
type subLine struct {
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
	Error   json.RawMessage `json:"error,omitempty"`
	// Sub numbers the subscription of a client with several; Code and
	// Reason are a closed socket's.
	Sub    *int   `json:"sub,omitempty"`
	Code   int    `json:"code,omitempty"`
	Reason string `json:"reason,omitempty"`
}

func (l subLine) String() string {
	b, _ := json.Marshal(l)
	return string(b)
}

// jsonString is s as a JSON string, to carry text that is not JSON in a
// subLine.
func jsonString(s string) json.RawMessage {
	b, _ := json.Marshal(s)
	return b
}

// subStream is a running subscriber as the test reads it.
type subStream struct {
	name string
	// lines is closed when the subscriber's output ends.
	lines chan subLine
	// logs says what else the subscriber said, for failure messages.
	logs func() string
}

func newSubStream(name string) *subStream {
	return &subStream{name: name, lines: make(chan subLine, 4096), logs: func() string { return "" }}
}

// next returns the subscriber's next line, failing the test if none comes
// within subWait.
func (s *subStream) next(t testing.TB) subLine {
	t.Helper()
	select {
	case l, ok := <-s.lines:
		if !ok {
			t.Fatalf("%s: output ended early; %s", s.name, s.logs())
		}
		return l
	case <-time.After(subWait):
		t.Fatalf("%s: nothing within %s; %s", s.name, subWait, s.logs())
	}
	return subLine{}
}

// expect returns the next line other than a keep-alive ping, which must be
// of type typ.
func (s *subStream) expect(t testing.TB, typ string) subLine {
	t.Helper()
	for {
		l := s.next(t)
		if l.Type == "ping" && typ != "ping" {
			continue
		}
		require.Equal(t, typ, l.Type, "%s: got %s; %s", s.name, l, s.logs())
		return l
	}
}

// ended waits until the subscriber's output ends, failing on any line other
// than a keep-alive ping.
func (s *subStream) ended(t testing.TB) {
	t.Helper()
	for {
		select {
		case l, ok := <-s.lines:
			if !ok {
				return
			}
			require.Equal(t, "ping", l.Type, "%s: unexpected %s", s.name, l)
		case <-time.After(subWait):
			t.Fatalf("%s: output did not end within %s; %s", s.name, subWait, s.logs())
		}
	}
}

// syncBuffer is a bytes.Buffer that a process may write while the test reads.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// nodeClient is one of the node scripts in clients/, subscribed.
type nodeClient struct {
	*subStream
	cmd   *exec.Cmd
	stdin io.WriteCloser
	// done is closed when the process has exited.
	done chan struct{}
}

// startNodeClient runs script against the gateway at gwURL with one
// subscription; it exits after n events (n = 0: when told, with control).
// flags go to the script after its arguments.
func startNodeClient(t *testing.T, node, script, gwURL, query string, vars map[string]any, n int, control bool, flags ...string) *nodeClient {
	t.Helper()
	rawVars, err := json.Marshal(vars)
	require.NoError(t, err)
	url := wsURL(gwURL)
	if script == sseScript || script == sseSingleScript {
		url = gwURL + "/graphql"
	}
	args := []string{script, url, query, string(rawVars), strconv.Itoa(n)}
	if control {
		args = append(args, "--control")
	}
	args = append(args, flags...)
	ctx, cancel := context.WithTimeout(context.Background(), subTimeout)
	cmd := exec.CommandContext(ctx, node, args...)
	cmd.Dir = clientsDir
	cmd.WaitDelay = 5 * time.Second
	stderr := &syncBuffer{}
	cmd.Stderr = stderr
	stdout, err := cmd.StdoutPipe()
	require.NoError(t, err)
	stdin, err := cmd.StdinPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())

	c := &nodeClient{subStream: newSubStream(script), cmd: cmd, stdin: stdin, done: make(chan struct{})}
	c.logs = func() string { return "stderr: " + stderr.String() }
	go func() {
		defer close(c.done)
		sc := bufio.NewScanner(stdout)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		for sc.Scan() {
			var l subLine
			if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
				l = subLine{Type: "invalid", Error: jsonString(sc.Text())}
			}
			select {
			case c.lines <- l:
			case <-ctx.Done():
			}
		}
		close(c.lines)
		_ = cmd.Wait()
	}()
	t.Cleanup(func() {
		cancel()
		<-c.done
	})
	return c
}

// send writes one control line to the client's stdin.
func (c *nodeClient) send(t testing.TB, line string) {
	t.Helper()
	_, err := io.WriteString(c.stdin, line+"\n")
	require.NoError(t, err)
}

// exitCode waits for the process to end and returns its exit code.
func (c *nodeClient) exitCode(t testing.TB) int {
	t.Helper()
	select {
	case <-c.done:
	case <-time.After(subWait):
		t.Fatalf("%s: did not exit within %s; %s", c.name, subWait, c.logs())
	}
	return c.cmd.ProcessState.ExitCode()
}

// startSSE subscribes over server-sent events, as gqlgen's transport.SSE
// takes them: a POST of the usual JSON body that accepts text/event-stream.
// The stream's opening comment reads as "ready", ": ping" comments as
// "ping", and its events as "next" and "complete". cancel disconnects.
func startSSE(t *testing.T, gwURL, query string, vars map[string]any) (s *subStream, cancel func()) {
	t.Helper()
	return startSSEWith(t, gwURL, nil, query, vars)
}

// startSSEWith is startSSE with the request's extra headers (a credential).
func startSSEWith(t *testing.T, gwURL string, headers map[string]string, query string, vars map[string]any) (s *subStream, cancel func()) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	req, err := http.NewRequest(http.MethodPost, gwURL+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	return openSSE(t, req)
}

// openSSE sends req, which must be answered with an event stream, and reads
// the stream as startSSE does.
func openSSE(t *testing.T, req *http.Request) (s *subStream, cancel func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), subTimeout)
	req = req.WithContext(ctx)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	require.Equal(t, "text/event-stream", resp.Header.Get("Content-Type"))

	s = newSubStream("sse")
	done := make(chan struct{})
	go func() {
		defer close(done)
		defer close(s.lines)
		defer resp.Body.Close()
		emit := func(l subLine) bool {
			select {
			case s.lines <- l:
				return true
			case <-ctx.Done():
				return false
			}
		}
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		var event string
		var data []string
		ready := false
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if event == "" && data == nil {
					continue
				}
				l := subLine{Type: event}
				if len(data) > 0 {
					l.Payload = json.RawMessage(strings.Join(data, "\n"))
				}
				event, data = "", nil
				if !emit(l) {
					return
				}
			case strings.HasPrefix(line, ":"):
				l := subLine{Type: "comment", Error: jsonString(line)}
				if !ready && strings.TrimSpace(line[1:]) == "" {
					ready, l = true, subLine{Type: "ready"}
				} else if strings.TrimSpace(line[1:]) == "ping" {
					l = subLine{Type: "ping"}
				}
				if !emit(l) {
					return
				}
			case strings.HasPrefix(line, "event:"):
				event = strings.TrimSpace(strings.TrimPrefix(line, "event:"))
			case strings.HasPrefix(line, "data:"):
				data = append(data, strings.TrimPrefix(strings.TrimPrefix(line, "data:"), " "))
			}
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return s, cancel
}

// wsURL is the gateway's GraphQL endpoint as a websocket URL.
func wsURL(gwURL string) string {
	return "ws" + strings.TrimPrefix(gwURL, "http") + "/graphql"
}

// rawWS is a websocket to the gateway driven message by message, for what
// the client libraries do not show.
type rawWS struct {
	c   *websocket.Conn
	ctx context.Context
}

// dialRaw opens a websocket with one subprotocol and completes the
// connection handshake (connection_init, connection_ack).
func dialRaw(t *testing.T, gwURL, subprotocol string) *rawWS {
	t.Helper()
	w := dialWS(t, gwURL, subprotocol, nil)
	w.write(t, map[string]any{"type": "connection_init", "payload": map[string]any{}})
	require.Equal(t, "connection_ack", w.read(t).Type)
	return w
}

// dialWS opens a websocket with one subprotocol and header (nil for none),
// and sends nothing on it.
func dialWS(t *testing.T, gwURL, subprotocol string, header http.Header) *rawWS {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), subTimeout)
	t.Cleanup(cancel)
	c, _, err := websocket.Dial(ctx, wsURL(gwURL), &websocket.DialOptions{Subprotocols: []string{subprotocol}, HTTPHeader: header})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.CloseNow() })
	c.SetReadLimit(16 << 20)
	require.Equal(t, subprotocol, c.Subprotocol())
	return &rawWS{c: c, ctx: ctx}
}

// writeRaw sends one text message as it is.
func (w *rawWS) writeRaw(t testing.TB, text string) {
	t.Helper()
	require.NoError(t, w.c.Write(w.ctx, websocket.MessageText, []byte(text)))
}

// expect returns the next message other than a keep-alive (ping, pong,
// ka), which must be of type typ.
func (w *rawWS) expect(t testing.TB, typ string) wsMessage {
	t.Helper()
	for {
		m := w.read(t)
		if m.Type == "ping" || m.Type == "pong" || m.Type == "ka" {
			continue
		}
		require.Equal(t, typ, m.Type, "%+v (payload %s)", m, m.Payload)
		return m
	}
}

// closed reads until the gateway closes the socket and returns how it
// closed it.
func (w *rawWS) closed(t *testing.T) websocket.CloseError {
	t.Helper()
	err := closeStatus(t, w)
	var ce websocket.CloseError
	require.True(t, errors.As(err, &ce), "the gateway closed the socket with a close frame: %v", err)
	return ce
}

// messageErrors decodes the GraphQL errors of an "error" message, as a
// response that has only errors.
func messageErrors(t testing.TB, m wsMessage) gqlResponse {
	t.Helper()
	var r gqlResponse
	require.NoError(t, json.Unmarshal([]byte(`{"errors":`+string(m.Payload)+`}`), &r), "%s", m.Payload)
	require.NotEmpty(t, r.Errors, "%s", m.Payload)
	return r
}

// lineErrors decodes the GraphQL errors a node client reported in an
// "error" line: graphql-ws hands over the list, subscriptions-transport-ws
// its first error.
func lineErrors(t testing.TB, l subLine) gqlResponse {
	t.Helper()
	var list struct{ Errors json.RawMessage }
	require.NoError(t, json.Unmarshal(l.Error, &list), "%s", l)
	if list.Errors == nil {
		list.Errors = json.RawMessage("[" + string(l.Error) + "]")
	}
	return messageErrors(t, wsMessage{Payload: list.Errors})
}

// wsMessage is a message of either websocket protocol.
type wsMessage struct {
	ID      string          `json:"id,omitempty"`
	Type    string          `json:"type"`
	Payload json.RawMessage `json:"payload,omitempty"`
}

func (w *rawWS) write(t testing.TB, msg any) {
	t.Helper()
	b, err := json.Marshal(msg)
	require.NoError(t, err)
	require.NoError(t, w.c.Write(w.ctx, websocket.MessageText, b))
}

// read returns the next message, waiting at most subWait.
func (w *rawWS) read(t testing.TB) wsMessage {
	t.Helper()
	ctx, cancel := context.WithTimeout(w.ctx, subWait)
	defer cancel()
	_, b, err := w.c.Read(ctx)
	require.NoError(t, err)
	var m wsMessage
	require.NoError(t, json.Unmarshal(b, &m), "%s", b)
	return m
}

// untilClosed returns the node client's "closed" line, skipping what its
// subscriptions said about that close.
func untilClosed(t *testing.T, c *nodeClient) subLine {
	t.Helper()
	for {
		if l := c.next(t); l.Type == "closed" {
			return l
		}
	}
}
