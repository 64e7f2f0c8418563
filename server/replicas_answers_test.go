package server

import (
	"context"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two mirrored replicas on one Redis, both keeping answers, with readers
// on both all along. Renames made through a random replica are shown by
// the very next read on each replica, in a random order: no kept answer
// outlives a write on any replica. Kept answers were served meanwhile, and
// the kept reads cost Engage nothing.
func TestKeptAnswersFollowEveryChangeOnEveryReplica(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 1))
	rs := startRedisServer(t)
	sim, err := engagesim.New(engagesim.Config{RatePerMinute: 100_000, RetryDelays: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	portA, portB := freePort(t), freePort(t)
	envA := mirroredOn(simSrv.URL, rs.url(), portA)
	envB := mirroredOn(simSrv.URL, rs.url(), portB)
	envB["WEBHOOK_PUBLIC_URL"] = envA["WEBHOOK_PUBLIC_URL"] // A stands in for the load balancer
	for _, env := range []map[string]string{envA, envB} {
		env["CLIENT_RATE_LIMIT"], env["CLIENT_RATE_BURST"] = "1000000", "100000" // the screens read flat out
	}
	a := startGatewayIn(t, context.Background(), envA)
	b := startGatewayIn(t, context.Background(), envB)
	replicas := []string{a.url, b.url}
	awaitFilled(t, a.url)

	vars := tomorrowVars()
	titles := dashboardTitles(t, a.url, tomorrowDashboard, vars)
	require.NotEmpty(t, titles)
	var ids []int64
	for id, title := range titles {
		if title != workplace.PrivateTitle { // a private meeting's new title would be hidden from this caller
			ids = append(ids, id)
		}
	}
	require.NotEmpty(t, ids)
	hosts := map[int64]string{}
	for _, id := range ids[:min(3, len(ids))] {
		resp := queryAt(t, a.url, `query($id: ID!) { booking(id: $id) { host { email } } }`, map[string]any{"id": weekBookingID(int(id))})
		require.Empty(t, resp.Errors)
		var one struct {
			Booking struct{ Host struct{ Email string } }
		}
		require.NoError(t, json.Unmarshal(resp.Data, &one))
		hosts[id] = one.Booking.Host.Email
	}

	// Lobby screens on both replicas, all along.
	ctx, stop := context.WithCancel(context.Background())
	var screens sync.WaitGroup
	for i := range 4 {
		screens.Go(func() {
			for ctx.Err() == nil {
				resp := queryAt(t, replicas[i%2], tomorrowDashboard, vars)
				assert.Empty(t, resp.Errors)
			}
		})
	}
	for round := range 8 {
		var id int64
		for id = range hosts {
			if rng.IntN(2) == 0 {
				break
			}
		}
		title := fmt.Sprintf("Renamed %d through replica", round)
		by := replicas[rng.IntN(2)]
		resp := queryAt(t, by, `mutation($u: String!, $b: ID!, $t: String!) { updateBooking(input: {actingUserEmail: $u, bookingId: $b, title: $t}) { booking { title } errors { code message } } }`,
			map[string]any{"u": hosts[id], "b": weekBookingID(int(id)), "t": title})
		require.Empty(t, resp.Errors)
		for _, i := range rng.Perm(2) {
			assert.Equal(t, title, dashboardTitles(t, replicas[i], tomorrowDashboard, vars)[id], "round %d: replica %d after a rename through %s", round, i, by)
		}
	}
	stop()
	screens.Wait()

	// Once the renames' notifications have been applied, the dashboards
	// are kept answers on both replicas, and cost no call.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		calls := liveStats(c, simSrv.URL).TotalCalls
		for _, gw := range replicas {
			before := metricValue(c, gw, `engagegw_answers_total{outcome="hit"}`)
			for range 5 {
				dashboardTitles(c, gw, tomorrowDashboard, vars)
			}
			require.Equal(c, before+5, metricValue(c, gw, `engagegw_answers_total{outcome="hit"}`), "%s served kept answers", gw)
		}
		require.Equal(c, calls, liveStats(c, simSrv.URL).TotalCalls)
	}, 20*time.Second, 50*time.Millisecond)
	// Both served them under a lease (CACHE_ANSWERS_CHECK=lease, the
	// default): the renames' writes waited for both.
	for _, gw := range replicas {
		_, checks := readiness(t, gw)
		assert.Contains(t, checks["answers"], "under a lease", gw)
	}
}
