package server

// The fleet's shared limits, end to end: three gateway processes on one Redis
// hammer a cold cache, and Engage sees no more calls than the one budget
// allows, and one login.

import (
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplicasShareTheUpstreamBudgetAndOneLogin(t *testing.T) {
	redisURL := redisForReplicas(t)
	bin := buildGateway(t)

	sim, err := engagesim.New(engagesim.Config{})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })

	// 600 calls a minute with a burst of 20: whatever the three do, Engage
	// may see at most 21 calls at once and 10 a second after that.
	const perMinute, burst = 600, 20
	env := withEnv(upstreamEnv(simSrv.URL), map[string]string{
		"REDIS_URL":                  redisURL,
		"UPSTREAM_BUDGET_PER_MINUTE": fmt.Sprint(perMinute),
		"UPSTREAM_BUDGET_BURST":      fmt.Sprint(burst),
		// Not the limit under test.
		"CLIENT_RATE_LIMIT": "0",
	})
	var replicas []*replica
	for range 3 {
		replicas = append(replicas, startReplica(t, bin, freePort(t), env))
	}
	start := time.Now()

	var locs struct{ Locations []struct{ ID string } }
	r := replicas[0].query(t, `{ locations { id } }`, nil)
	require.Empty(t, r.Errors)
	require.NoError(t, json.Unmarshal(r.Data, &locs))
	require.NotEmpty(t, locs.Locations)

	// Every query asks for a location's bookings on a day no one asked
	// for: one bookings call per room, all cold.
	var ok, limited, other atomic.Int64
	var wg sync.WaitGroup
	day := time.Now().UTC().Truncate(24 * time.Hour)
	for w := range 9 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rep := replicas[w%3]
			for i := range 3 {
				from := day.Add(time.Duration(w*3+i) * 24 * time.Hour)
				resp := rep.query(t, `query($l: ID!, $from: DateTime!, $to: DateTime!) { bookings(locationId: $l, from: $from, to: $to) { id } }`,
					map[string]any{"l": locs.Locations[(w+i)%len(locs.Locations)].ID, "from": from.Format(time.RFC3339), "to": from.Add(24 * time.Hour).Format(time.RFC3339)})
				switch errorCode(resp) {
				case "":
					ok.Add(1)
				case "UPSTREAM_RATE_LIMITED":
					limited.Add(1)
				default:
					other.Add(1)
					t.Errorf("unexpected error: %+v", resp.Errors)
				}
			}
		}()
	}
	wg.Wait()
	elapsed := time.Since(start)

	st := liveStats(t, simSrv.URL)
	// The budget is per subscription key, as Engage's limits are: here one
	// key per product.
	allowed := burst + 1 + int(elapsed.Seconds()*perMinute/60) + 1
	byProduct := map[string]int{}
	for _, c := range st.Calls {
		byProduct[c.Product] += c.Count
	}
	t.Logf("%d queries answered, %d refused by the budget; in %s Engage saw %v calls (the budget allows %d per key)",
		ok.Load(), limited.Load(), elapsed.Round(time.Millisecond), byProduct, allowed)
	require.NotEmpty(t, byProduct)
	for p, n := range byProduct {
		assert.LessOrEqual(t, n, allowed, "the three replicas together stay within %s's one budget", p)
	}
	assert.Positive(t, limited.Load(), "the hammering outran the budget, so the budget was what held it")
	for _, c := range st.Calls {
		assert.NotEqual(t, http.StatusTooManyRequests, c.Status, "Engage itself never had to refuse a call")
	}
	assert.Equal(t, 1, st.TokenRequests, "one login for the fleet")

	// Once the hammering stops, the budget refills and queries are answered.
	require.Eventually(t, func() bool {
		from := day.Add(-24 * time.Hour)
		resp := replicas[2].query(t, `query($l: ID!, $from: DateTime!, $to: DateTime!) { bookings(locationId: $l, from: $from, to: $to) { id } }`,
			map[string]any{"l": locs.Locations[0].ID, "from": from.Format(time.RFC3339), "to": from.Add(24 * time.Hour).Format(time.RFC3339)})
		return len(resp.Errors) == 0
	}, 20*time.Second, 200*time.Millisecond)

	// The budget is visible to operators.
	resp, err := http.Get(replicas[1].url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Contains(t, string(body), `engagegw_upstream_budget_remaining{product="ExternalBookings"}`)
}
