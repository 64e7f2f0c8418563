package pubsub_test

import (
	"bytes"
	"context"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync"
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

// uniqueChannel keeps tests sharing one Redis from seeing each other's events.
func uniqueChannel(t *testing.T) string {
	return fmt.Sprintf("egw:test:%s:%x", t.Name(), rand.Uint64())
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
