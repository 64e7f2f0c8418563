package pubsub_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"

	"github.com/engagegql/gateway/pubsub"
	"github.com/engagegql/gateway/workplace"
)

// wait bounds every wait for something that should happen promptly.
const wait = 5 * time.Second

// testBroker is a Broker with the stats both implementations export.
type testBroker interface {
	pubsub.Broker
	Subscribers() int
	Dropped() uint64
	Published() uint64
}

// mustHaveRedis skips a test that needs Redis when it is missing, or fails it
// when the environment says Redis is required (CI, REQUIRE_REDIS).
func mustHaveRedis(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" || os.Getenv("REQUIRE_REDIS") != "" {
		t.Fatalf("redis required (CI or REQUIRE_REDIS set): %s", why)
	}
	t.Skip(why)
}

// redisURL is REDIS_URL, the Redis the test script started.
func redisURL(t *testing.T) string {
	t.Helper()
	u := os.Getenv("REDIS_URL")
	if u == "" {
		mustHaveRedis(t, "REDIS_URL not set")
	}
	return u
}

// newClient is one replica's go-redis client, closed after the test.
func newClient(t *testing.T, url string) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// uniqueStream keeps tests sharing one Redis from seeing each other's
// events. The stream is deleted from REDIS_URL's Redis after the test.
func uniqueStream(t *testing.T) string {
	key := fmt.Sprintf("egw:test:%s:%x", t.Name(), rand.Uint64())
	if u := os.Getenv("REDIS_URL"); u != "" {
		t.Cleanup(func() {
			opt, err := redis.ParseURL(u)
			if err != nil {
				return
			}
			c := redis.NewClient(opt)
			defer c.Close()
			_ = c.Del(context.Background(), key).Err()
		})
	}
	return key
}

func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// logBuffer collects log output written from several goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func change(n int) workplace.Change {
	return workplace.Change{
		Kind:      workplace.KindBooking,
		Action:    workplace.ActionUpdated,
		Source:    workplace.SourceWeb,
		At:        time.Date(2025, 6, 1, 9, 0, n, 0, time.UTC),
		BookingID: workplace.BookingID(n),
		RoomID:    7,
	}
}

// sentinel is published after the changes under test: that it is the next
// thing a subscriber receives proves nothing arrived twice.
func sentinel() workplace.Change {
	return workplace.Change{Kind: workplace.KindVisitor, Action: workplace.ActionDeparted, VisitorID: 999}
}

// publishPromptly fails the test if Publish does not return before a
// deadline: Publish must never block.
func publishPromptly(t *testing.T, b pubsub.Broker, c workplace.Change) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), wait)
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- b.Publish(ctx, c) }()
	select {
	case err := <-done:
		return err
	case <-ctx.Done():
		t.Fatal("Publish blocked")
		return nil
	}
}

// closePromptly fails the test if Close does not return before a deadline.
func closePromptly(t *testing.T, b pubsub.Broker) {
	t.Helper()
	done := make(chan error, 1)
	go func() { done <- b.Close() }()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(wait):
		t.Fatal("Close blocked")
	}
}

// recv returns the next change, failing if the subscription ended or nothing
// came.
func recv(t *testing.T, s *pubsub.Subscription) workplace.Change {
	t.Helper()
	select {
	case c, ok := <-s.C():
		require.True(t, ok, "subscription ended: %v", s.Err())
		return *c
	case <-time.After(wait):
		t.Fatal("no change arrived")
		return workplace.Change{}
	}
}

// ended drains s until its channel closes, returning what was still
// buffered, and fails if it does not close.
func ended(t *testing.T, s *pubsub.Subscription) []workplace.Change {
	t.Helper()
	var left []workplace.Change
	timeout := time.After(wait)
	for {
		select {
		case c, ok := <-s.C():
			if !ok {
				return left
			}
			left = append(left, *c)
		case <-timeout:
			t.Fatal("subscription did not end")
			return nil
		}
	}
}

// redisServer is a redis-server of the test's own, for tests that stop it.
type redisServer struct {
	t    *testing.T
	port int
	cmd  *exec.Cmd
}

// startRedisServer starts redis-server on port and waits until it answers.
func startRedisServer(t *testing.T, port int) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		mustHaveRedis(t, "redis-server not on PATH")
	}
	cmd := exec.Command(bin, "--port", strconv.Itoa(port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", t.TempDir())
	require.NoError(t, cmd.Start())
	s := &redisServer{t: t, port: port, cmd: cmd}
	t.Cleanup(s.stop)

	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer c.Close()
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	}, wait, 20*time.Millisecond, "redis-server on port %d did not start", port)
	return s
}

func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// stop kills the server (no goodbye to its clients) and waits for it to exit.
func (s *redisServer) stop() {
	if s.cmd.ProcessState != nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
}

// freePort is a TCP port nothing listens on right now.
func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// dialGate cuts a client off from Redis: while it is shut, the client
// cannot open connections.
type dialGate struct {
	shut    atomic.Bool
	refused atomic.Int64 // dials refused while shut
}

func (g *dialGate) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	if g.shut.Load() {
		g.refused.Add(1)
		return nil, errors.New("test: redis unreachable")
	}
	var d net.Dialer
	return d.DialContext(ctx, network, addr)
}

// newNamedClient is a client on REDIS_URL whose connections carry name
// (CLIENT SETNAME), so the test can find them in CLIENT LIST, and dial
// through gate when it is not nil.
func newNamedClient(t *testing.T, name string, gate *dialGate) *redis.Client {
	t.Helper()
	opt, err := redis.ParseURL(redisURL(t))
	require.NoError(t, err)
	opt.ClientName = name
	if gate != nil {
		opt.Dialer = gate.dial
	}
	c := redis.NewClient(opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

// uniqueName is a client name no other test uses.
func uniqueName() string {
	return fmt.Sprintf("egw-test-%x", rand.Uint64())
}

// redisClients are the fields of CLIENT LIST for the connections named
// name, one map per connection.
func redisClients(t *testing.T, ctl *redis.Client, name string) []map[string]string {
	t.Helper()
	list, err := ctl.ClientList(t.Context()).Result()
	require.NoError(t, err)
	var found []map[string]string
	for line := range strings.Lines(list) {
		fields := make(map[string]string)
		for f := range strings.FieldsSeq(line) {
			k, v, _ := strings.Cut(f, "=")
			fields[k] = v
		}
		if fields["name"] == name {
			found = append(found, fields)
		}
	}
	return found
}

// waitBlockedInXREAD waits until a connection named name is blocked in
// XREAD: the broker's reader is reading.
func waitBlockedInXREAD(t *testing.T, ctl *redis.Client, name string) {
	t.Helper()
	require.Eventually(t, func() bool {
		for _, c := range redisClients(t, ctl, name) {
			if c["cmd"] == "xread" && strings.Contains(c["flags"], "b") {
				return true
			}
		}
		return false
	}, wait, 10*time.Millisecond, "no connection named %s blocked in XREAD", name)
}

// killClients kills every connection named name (CLIENT KILL ID), as a
// network failure would, and fails if there was none.
func killClients(t *testing.T, ctl *redis.Client, name string) {
	t.Helper()
	clients := redisClients(t, ctl, name)
	require.NotEmpty(t, clients, "no connection named %s", name)
	for _, c := range clients {
		require.NoError(t, ctl.ClientKillByFilter(t.Context(), "ID", c["id"]).Err())
	}
}

// countLines is how many lines of logs contain s.
func countLines(logs, s string) int {
	n := 0
	for line := range strings.Lines(logs) {
		if strings.Contains(line, s) {
			n++
		}
	}
	return n
}
