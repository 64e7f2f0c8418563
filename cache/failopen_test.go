package cache

import (
	"context"
	"net"
	"os"
	"os/exec"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// redisServer runs a redis-server of this test alone on port, so the test
// can stop it and start it again.
type redisServer struct {
	t    *testing.T
	bin  string
	port int
	cmd  *exec.Cmd
}

func startRedisServer(t *testing.T) *redisServer {
	t.Helper()
	bin, err := exec.LookPath("redis-server")
	if err != nil {
		if os.Getenv("CI") != "" || os.Getenv("REQUIRE_REDIS") != "" {
			t.Fatal("redis-server is not on PATH, and CI or REQUIRE_REDIS requires it")
		}
		t.Skip("redis-server is not on PATH")
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	port := l.Addr().(*net.TCPAddr).Port
	require.NoError(t, l.Close())
	s := &redisServer{t: t, bin: bin, port: port}
	s.start()
	t.Cleanup(s.stop)
	return s
}

func (s *redisServer) addr() string { return "127.0.0.1:" + strconv.Itoa(s.port) }

func (s *redisServer) start() {
	s.t.Helper()
	s.cmd = exec.Command(s.bin, "--port", strconv.Itoa(s.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no")
	require.NoError(s.t, s.cmd.Start())
	probe := redis.NewClient(&redis.Options{Addr: s.addr(), MaxRetries: -1})
	defer probe.Close()
	require.Eventually(s.t, func() bool { return probe.Ping(context.Background()).Err() == nil }, 10*time.Second, 10*time.Millisecond, "redis-server answers")
}

func (s *redisServer) stop() {
	if s.cmd == nil {
		return
	}
	_ = s.cmd.Process.Kill()
	_ = s.cmd.Wait()
	s.cmd = nil
}

func TestFailOpen(t *testing.T) {
	srv := startRedisServer(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), MaxRetries: -1, DialTimeout: 100 * time.Millisecond, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	inner := &fakeInner{}
	var downs atomic.Int32
	svc := New(inner, NewRedisStore(rdb, StoreOptions{}), Options{Logger: quiet(), RetryInterval: 10 * time.Millisecond, OnStoreDown: func() { downs.Add(1) }})
	ctx := context.Background()
	read := func() {
		t.Helper()
		cs, err := svc.Countries(ctx)
		require.NoError(t, err)
		require.Len(t, cs, 1)
	}

	require.NoError(t, svc.Check(ctx))
	assert.Equal(t, 1, costs(inner, read))
	assert.Equal(t, 0, costs(inner, read), "cached while Redis is up")

	srv.stop()
	require.Eventually(t, func() bool { return svc.Check(ctx) != nil }, 5*time.Second, 5*time.Millisecond, "Check reports the store is down")
	for range 3 {
		assert.Equal(t, 1, costs(inner, read), "reads are answered by the upstream while Redis is down")
	}
	assert.EqualValues(t, 1, downs.Load(), "the store's failure was told once")
	rctx, in := workplace.WithInputs(ctx)
	_, err := svc.Countries(rctx)
	require.NoError(t, err)
	workplace.NoteQuery(rctx, "")
	_, _, _, why := in.Kept()
	assert.NotEmpty(t, why, "a read while the store is down is not one to keep")
	require.NoError(t, svc.Invalidate(ctx), "an empty invalidation does not touch the store")

	srv.start()
	require.Eventually(t, func() bool {
		read()
		return costs(inner, read) == 0
	}, 10*time.Second, 5*time.Millisecond, "caching resumes by itself")
	assert.NoError(t, svc.Check(ctx))
}

func TestFailOpenReplaysMissedInvalidations(t *testing.T) {
	srv := startRedisServer(t)
	rdb := redis.NewClient(&redis.Options{Addr: srv.addr(), MaxRetries: -1, DialTimeout: 100 * time.Millisecond, ContextTimeoutEnabled: true})
	t.Cleanup(func() { _ = rdb.Close() })
	inner := &fakeInner{}
	svc := New(inner, NewRedisStore(rdb, StoreOptions{}), Options{Logger: quiet(), RetryInterval: 10 * time.Millisecond})
	ctx := context.Background()
	other := New(inner, NewRedisStore(rdb, StoreOptions{}), Options{Logger: quiet(), RetryInterval: 10 * time.Millisecond})

	// The server keeps no data across a restart, so fake "data that
	// survived" by caching after the restart through another replica, then
	// check that the invalidation this replica missed is replayed.
	srv.stop()
	require.Eventually(t, func() bool { return svc.Check(ctx) != nil }, 5*time.Second, 5*time.Millisecond)
	_, err := svc.OrderService(ctx, workplace0Order())
	require.NoError(t, err, "a write succeeds while the store is down")

	srv.start()
	require.Eventually(t, func() bool { return other.Check(ctx) == nil }, 10*time.Second, 5*time.Millisecond)
	_, err = other.Orders(ctx, 1)
	require.NoError(t, err)
	require.Equal(t, 0, costs(inner, func() { _, _ = other.Orders(ctx, 1) }))
	require.Eventually(t, func() bool { return svc.Check(ctx) == nil }, 10*time.Second, 5*time.Millisecond, "the replica that missed an invalidation sees the store again")
	assert.Equal(t, 1, costs(inner, func() { _, _ = other.Orders(ctx, 1) }), "and replays it")
}

func workplace0Order() workplace.NewServiceOrder {
	return workplace.NewServiceOrder{BookingID: 1, ServiceID: 2, Quantity: 1}
}
