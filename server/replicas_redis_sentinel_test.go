package server

// A primary with a replica behind Sentinel, failed over while two gateway
// replicas serve a steady load: no answer is lost, events flow again on
// the new primary, and the replicas' leases are renewed there.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startRedisProcess runs redis-server with args and waits until addr
// answers.
func startRedisProcess(t *testing.T, addr string, args ...string) {
	t.Helper()
	cmd := exec.Command("redis-server", args...)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { _ = cmd.Process.Kill(); _ = cmd.Wait() })
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	defer rdb.Close()
	require.Eventually(t, func() bool { return rdb.Ping(context.Background()).Err() == nil }, 10*time.Second, 20*time.Millisecond, "redis on %s", addr)
}

func TestRedisSentinelFailoverUnderLoad(t *testing.T) {
	dir := t.TempDir()
	pPort, rPort, sPort := freePort(t), freePort(t), freePort(t)
	primary, replicaAddr, sentinelAddr := fmt.Sprintf("127.0.0.1:%d", pPort), fmt.Sprintf("127.0.0.1:%d", rPort), fmt.Sprintf("127.0.0.1:%d", sPort)
	common := []string{"--bind", "127.0.0.1", "--save", "", "--appendonly", "no"}
	startRedisProcess(t, primary, append([]string{"--port", fmt.Sprint(pPort), "--dir", dir, "--logfile", filepath.Join(dir, "primary.log")}, common...)...)
	startRedisProcess(t, replicaAddr, append([]string{"--port", fmt.Sprint(rPort), "--replicaof", "127.0.0.1", fmt.Sprint(pPort), "--dir", dir, "--logfile", filepath.Join(dir, "replica.log")}, common...)...)
	conf := filepath.Join(dir, "sentinel.conf")
	require.NoError(t, os.WriteFile(conf, []byte(fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\nlogfile %s\nsentinel monitor engage 127.0.0.1 %d 1\nsentinel down-after-milliseconds engage 2000\nsentinel failover-timeout engage 10000\n",
		sPort, dir, filepath.Join(dir, "sentinel.log"), pPort)), 0o600))
	startRedisProcess(t, sentinelAddr, conf, "--sentinel")
	sentinel := redis.NewSentinelClient(&redis.Options{Addr: sentinelAddr})
	t.Cleanup(func() { _ = sentinel.Close() })
	ctx := context.Background()
	masterPort := func() string {
		addr, err := sentinel.GetMasterAddrByName(ctx, "engage").Result()
		if err != nil || len(addr) != 2 {
			return ""
		}
		return addr[1]
	}
	// The sentinel has found the replica before a failover can pick it.
	require.Eventually(t, func() bool {
		rs, err := sentinel.Replicas(ctx, "engage").Result()
		return err == nil && len(rs) == 1
	}, 20*time.Second, 100*time.Millisecond, "the sentinel knows the replica")

	bin := buildGateway(t)
	sim, err := engagesim.New(engagesim.Config{RetryDelays: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	s := &stack{sim: sim, simURL: simSrv.URL}
	portA := freePort(t)
	env := withEnv(upstreamEnv(simSrv.URL), map[string]string{
		"REDIS_SENTINEL_ADDRS": sentinelAddr, "REDIS_SENTINEL_MASTER": "engage",
		"WEBHOOK_PUBLIC_URL": fmt.Sprintf("http://127.0.0.1:%d", portA), "WEBHOOK_SECRET": "sentinel-test-secret",
		"WEBHOOK_REPLAY_WINDOW": "1s", "CLIENT_RATE_LIMIT": "0",
	})
	a := startReplica(t, bin, portA, env)
	b := startReplica(t, bin, freePort(t), env)
	require.Eventually(t, func() bool { return s.stats(t).Listeners == 6 }, 20*time.Second, 50*time.Millisecond)
	rooms := londonRooms(t, a.url)
	day := tomorrow()

	// The load: both replicas read, one after the other, until stopped.
	var stop atomic.Bool
	var wg sync.WaitGroup
	var answered, failed atomic.Int64
	var mu sync.Mutex
	var firstFailure string
	for i, r := range []*replica{a, b} {
		wg.Go(func() {
			for n := 0; !stop.Load(); n++ {
				q := `query($r: ID!) { room(id: $r) { name bookings { id title } } }`
				status, _, raw := postGraphQLRaw(t, r.url, nil, q, map[string]any{"r": rooms[(n+i)%len(rooms)]})
				var out gqlResponse
				if status != http.StatusOK || json.Unmarshal(raw, &out) != nil || len(out.Errors) > 0 || len(out.Data) == 0 {
					failed.Add(1)
					mu.Lock()
					if firstFailure == "" {
						firstFailure = fmt.Sprintf("%d %s", status, raw)
					}
					mu.Unlock()
				} else {
					answered.Add(1)
				}
				time.Sleep(10 * time.Millisecond)
			}
		})
	}
	time.Sleep(time.Second)

	// The failover.
	failedOverAt := time.Now()
	require.NoError(t, sentinel.Failover(ctx, "engage").Err())
	require.Eventually(t, func() bool { return masterPort() == strconv.Itoa(rPort) }, 30*time.Second, 50*time.Millisecond, "the replica became the primary")
	time.Sleep(3 * time.Second) // the load goes on against the new primary
	stop.Store(true)
	wg.Wait()
	assert.Zero(t, failed.Load(), "no answer lost: the first failure: %s", firstFailure)
	assert.Greater(t, answered.Load(), int64(50))

	// Events flow through the new primary: a change notified to A reaches
	// a subscriber on B.
	events := sseEvents(t, b.url, `subscription { bookingChanged { action booking { title } } }`, nil)
	require.Eventually(t, func() bool {
		seedBooking(t, simSrv.URL, rooms[0], day.Add(time.Duration(time.Now().UnixMilli()%20)*15*time.Minute), "After the failover")
		select {
		case ev := <-events:
			return strings.Contains(string(ev), "After the failover")
		case <-time.After(2 * time.Second):
			return false
		}
	}, 30*time.Second, 10*time.Millisecond, "an event after the failover")

	// The replicas hold their answer leases on the new primary, renewed
	// since the failover.
	newPrimary := redis.NewClient(&redis.Options{Addr: replicaAddr})
	t.Cleanup(func() { _ = newPrimary.Close() })
	require.Eventually(t, func() bool {
		leases, err := newPrimary.HGetAll(ctx, "egw:v2:writes:followers{egw:v2:writes}").Result()
		if err != nil || len(leases) != 2 {
			return false
		}
		for _, v := range leases {
			_, until, _ := strings.Cut(v, " ")
			ms, err := strconv.ParseInt(until, 10, 64)
			if err != nil || time.UnixMilli(ms).Before(failedOverAt.Add(2*time.Second)) {
				return false
			}
		}
		return true
	}, 20*time.Second, 100*time.Millisecond, "both replicas' leases renewed on the new primary")
	for _, r := range []*replica{a, b} {
		code, checks := readiness(t, r.url)
		assert.Equal(t, http.StatusOK, code, "%v", checks)
		assert.Equal(t, "ok", checks["redis"])
	}
}
