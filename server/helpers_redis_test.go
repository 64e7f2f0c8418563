package server

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// redisServer is a redis-server process the test owns, on a port that
// stays the same across stop and start.
type redisServer struct {
	bin, dir string
	port     int
	cmd      *exec.Cmd
	exited   chan struct{}
}

// startRedisServer starts a redis-server with no persistence; it is stopped
// when the test ends. Without redis-server on PATH the test fails in CI (or
// with REQUIRE_REDIS set) and is skipped elsewhere.
func startRedisServer(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		msg := "redis-server is not on PATH: install Debian's redis-server, as scripts/test.sh does"
		if os.Getenv("CI") != "" || os.Getenv("REQUIRE_REDIS") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	r := &redisServer{bin: bin, dir: t.TempDir(), port: freePort(t)}
	t.Cleanup(func() {
		if r.cmd != nil {
			r.stop(t)
		}
	})
	r.start(t)
	return r
}

func (r *redisServer) url() string { return fmt.Sprintf("redis://127.0.0.1:%d/0", r.port) }

// start runs redis-server and waits until it answers.
func (r *redisServer) start(t *testing.T) {
	t.Helper()
	require.Nil(t, r.cmd, "redis-server is already running")
	cmd := exec.Command(r.bin, "--port", fmt.Sprint(r.port), "--bind", "127.0.0.1",
		"--save", "", "--appendonly", "no", "--dir", r.dir)
	logs, err := os.OpenFile(filepath.Join(r.dir, "redis.log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	require.NoError(t, err)
	defer logs.Close()
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	exited := make(chan struct{})
	go func() { _ = cmd.Wait(); close(exited) }()
	r.cmd, r.exited = cmd, exited

	rdb := redis.NewClient(&redis.Options{Addr: fmt.Sprintf("127.0.0.1:%d", r.port)})
	defer rdb.Close()
	require.Eventually(t, func() bool {
		select {
		case <-exited:
			return false
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		defer cancel()
		return rdb.Ping(ctx).Err() == nil
	}, 20*time.Second, 20*time.Millisecond, "redis-server did not answer on %d (log in %s)", r.port, r.dir)
}

// stop kills redis-server, as a crash or a lost host would, and waits for it
// to exit.
func (r *redisServer) stop(t *testing.T) {
	t.Helper()
	require.NotNil(t, r.cmd, "redis-server is not running")
	_ = r.cmd.Process.Kill()
	select {
	case <-r.exited:
	case <-time.After(20 * time.Second):
		t.Fatalf("redis-server on %d did not exit", r.port)
	}
	r.cmd = nil
}

// pause stops redis-server (SIGSTOP) without losing what it holds: its
// clients' calls hang until their timeouts, as over a network partition.
func (r *redisServer) pause(t *testing.T) {
	t.Helper()
	require.NotNil(t, r.cmd, "redis-server is not running")
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGSTOP))
}

// resume lets a paused redis-server go on.
func (r *redisServer) resume(t *testing.T) {
	t.Helper()
	require.NotNil(t, r.cmd, "redis-server is not running")
	require.NoError(t, r.cmd.Process.Signal(syscall.SIGCONT))
}

// replicaDB is the Redis database the replica tests own; the test flushes
// it first. Redis pub/sub ignores databases, so these tests never run in
// parallel with others that start gateways on Redis.
const replicaDB = 3

// testRedisOptions returns the options of the Redis the test script started
// (REDIS_URL). Without it the test fails under CI or REQUIRE_REDIS, and is
// skipped otherwise.
func testRedisOptions(t *testing.T) *redis.Options {
	t.Helper()
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		if os.Getenv("CI") != "" || os.Getenv("REQUIRE_REDIS") != "" {
			t.Fatal("REDIS_URL is not set; scripts/test.sh starts a redis-server and sets it")
		}
		t.Skip("REDIS_URL is not set")
	}
	opts, err := redis.ParseURL(raw)
	require.NoError(t, err)
	return opts
}

// redisForReplicas returns REDIS_URL with replicaDB, flushed.
func redisForReplicas(t *testing.T) string {
	t.Helper()
	opts := testRedisOptions(t)
	opts.DB = replicaDB
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	require.NoError(t, rdb.FlushDB(context.Background()).Err())
	return fmt.Sprintf("redis://%s/%d", opts.Addr, replicaDB)
}
