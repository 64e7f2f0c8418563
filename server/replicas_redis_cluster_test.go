package server

// The gateway on Redis as operators run it: a cluster of three primaries,
// real redis-server processes on loopback. Every feature that lives in
// Redis is used across two replicas: the cache, the events on the stream,
// the webhook log (a replay recognised), automatic persisted queries, the
// client limits and the shared session token.

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startRedisCluster starts three redis-server primaries in cluster mode,
// joins them, waits until every slot is served, and returns their
// addresses.
func startRedisCluster(t *testing.T) []string {
	t.Helper()
	cli, err := exec.LookPath("redis-cli")
	require.NoError(t, err, "redis-cli is not on PATH: install Debian's redis-server, as scripts/test.sh does")
	dir := t.TempDir()
	var addrs []string
	for i := range 3 {
		port := freePort(t)
		addr := fmt.Sprintf("127.0.0.1:%d", port)
		startRedisProcess(t, addr, "--port", fmt.Sprint(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
			"--cluster-enabled", "yes", "--cluster-config-file", fmt.Sprintf("nodes-%d.conf", i), "--dir", dir,
			"--logfile", filepath.Join(dir, fmt.Sprintf("redis-%d.log", i)))
		addrs = append(addrs, addr)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 30*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, cli, append(append([]string{"--cluster", "create"}, addrs...), "--cluster-replicas", "0", "--cluster-yes")...).CombinedOutput()
	require.NoError(t, err, "redis-cli --cluster create: %s", out)
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: addrs})
	defer c.Close()
	require.Eventually(t, func() bool {
		info, err := c.ClusterInfo(context.Background()).Result()
		return err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_slots_ok:16384")
	}, 20*time.Second, 50*time.Millisecond, "the cluster serves every slot")
	return addrs
}

func TestReplicasOnARedisCluster(t *testing.T) {
	addrs := startRedisCluster(t)
	// Each part starts on an empty cluster (the cache, the token lease
	// and the limits of the one before would answer for it).
	env := func() map[string]string {
		for _, addr := range addrs {
			rdb := redis.NewClient(&redis.Options{Addr: addr})
			require.NoError(t, rdb.FlushAll(context.Background()).Err())
			_ = rdb.Close()
		}
		return map[string]string{"REDIS_CLUSTER_ADDRS": strings.Join(addrs, ",")}
	}
	t.Run("cache and events", func(t *testing.T) { replicasShareCacheAndEventsThroughRedis(t, env()) })
	t.Run("persisted queries", func(t *testing.T) { replicasSharePersistedQueries(t, env()) })
	t.Run("the webhook log recognises a replay", func(t *testing.T) { replicasRecogniseAReplay(t, env()) })
	t.Run("client limits and the session token", func(t *testing.T) {
		bin := buildGateway(t)
		sim, err := engagesim.New(engagesim.Config{})
		require.NoError(t, err)
		simSrv := httptest.NewServer(sim)
		t.Cleanup(func() { simSrv.Close(); sim.Close() })
		s := &stack{sim: sim, simURL: simSrv.URL}
		e := withEnv(withEnv(upstreamEnv(simSrv.URL), env()), map[string]string{"CLIENT_RATE_LIMIT": "60", "CLIENT_RATE_BURST": "3"})
		a := startReplica(t, bin, freePort(t), e)
		b := startReplica(t, bin, freePort(t), e)
		// Each replica reads something the other has not: both need the
		// session token, and the fleet logs in once, the second replica
		// taking the token the first leased.
		for r, q := range map[*replica]string{a: `{ countries { name } }`, b: `{ regions { name } }`} {
			resp := r.query(t, q, nil)
			require.Empty(t, resp.Errors)
		}
		st := s.stats(t)
		assert.Positive(t, routeCalls(st, "/countries"))
		assert.Positive(t, routeCalls(st, "/regions"))
		assert.Equal(t, 1, st.TokenRequests, "one session token for both replicas")

		// The caller may run four operations at once (a burst of 3 over a
		// rate of one a second), counted by the fleet: two are spent
		// above, and of eight more, alternating replicas, about two pass.
		// Limits of each replica's own would let six through.
		allowed := 2
		for i := range 8 {
			status, _, _ := postGraphQLRaw(t, []*replica{a, b}[i%2].url, nil, `{ countries { name } }`, nil)
			if status == http.StatusOK {
				allowed++
			} else {
				assert.Equal(t, http.StatusTooManyRequests, status)
			}
		}
		assert.GreaterOrEqual(t, allowed, 4)
		assert.LessOrEqual(t, allowed, 6, "the rate is the fleet's, not each replica's")
	})
	// The keys of the last part are spread over the three primaries.
	for _, addr := range addrs {
		rdb := redis.NewClient(&redis.Options{Addr: addr})
		n, err := rdb.DBSize(context.Background()).Result()
		_ = rdb.Close()
		require.NoError(t, err)
		assert.Positive(t, n, "node %s holds keys", addr)
	}
}
