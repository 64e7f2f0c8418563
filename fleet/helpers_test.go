package fleet

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"log/slog"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// wait bounds every wait for something that should happen promptly.
const wait = 5 * time.Second

// testDB is the database of fleet's tests, whatever REDIS_URL names, so
// they never share one with another package's tests.
const testDB = 4

// needRedis skips a test that needs Redis when it is missing, or fails it
// when the environment requires Redis (CI, REQUIRE_REDIS).
func needRedis(t *testing.T, why string) {
	t.Helper()
	if os.Getenv("CI") != "" || os.Getenv("REQUIRE_REDIS") != "" {
		t.Fatalf("Redis required (CI or REQUIRE_REDIS is set): %s", why)
	}
	t.Skip(why)
}

// redisClient opens a client on the test Redis (REDIS_URL, DB 4), closed
// when the test ends.
func redisClient(t *testing.T) *redis.Client {
	t.Helper()
	url := os.Getenv("REDIS_URL")
	if url == "" {
		needRedis(t, "REDIS_URL is not set")
	}
	opt, err := redis.ParseURL(url)
	require.NoError(t, err)
	opt.DB = testDB
	rdb := redis.NewClient(opt)
	t.Cleanup(func() { _ = rdb.Close() })
	require.NoError(t, rdb.Ping(t.Context()).Err())
	return rdb
}

// unique returns a name of this test alone, to use as a limiter prefix or
// a lease name; every key containing it is deleted when the test ends. It
// holds only letters, digits and dashes, so it is taken literally by SCAN
// MATCH.
func unique(t *testing.T, rdb *redis.Client) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	name := strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' {
			return r
		}
		return '-'
	}, t.Name())
	u := "fleettest-" + name + "-" + hex.EncodeToString(b)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, "*"+u+"*", 1000).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
	return u
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

// count says how many lines of the log contain s.
func (b *logBuffer) count(s string) int { return strings.Count(b.String(), s) }

func (b *logBuffer) logger() *slog.Logger { return slog.New(slog.NewTextHandler(b, nil)) }

// clock is a controllable time for the memory limiter.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, time.March, 2, 9, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// redisServer is a redis-server of the test's own, for tests that stop it.
type redisServer struct {
	port int
	dir  string
	cmd  *exec.Cmd
}

// startRedisServer starts redis-server on port and waits until it answers;
// it is killed when the test ends.
func startRedisServer(t *testing.T, port int) *redisServer {
	t.Helper()
	s := &redisServer{port: port, dir: t.TempDir()}
	t.Cleanup(s.stop)
	s.start(t)
	return s
}

func (s *redisServer) start(t *testing.T) {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		needRedis(t, "redis-server is not on PATH")
	}
	s.cmd = exec.Command(bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", s.dir)
	require.NoError(t, s.cmd.Start())
	c := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer c.Close()
	require.Eventually(t, func() bool {
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		return c.Ping(ctx).Err() == nil
	}, wait, 20*time.Millisecond, "redis-server on port %d did not start", s.port)
}

func (s *redisServer) addr() string { return net.JoinHostPort("127.0.0.1", strconv.Itoa(s.port)) }

// stop kills the server, without a goodbye to its clients, and waits for
// it to exit.
func (s *redisServer) stop() {
	if s.cmd == nil || s.cmd.ProcessState != nil {
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
