package server

import (
	"bufio"
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sample is one series of a /metrics scrape.
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

var labelPair = regexp.MustCompile(`(\w+)="((?:[^"\\]|\\.)*)"`)

// scrape reads the gateway's /metrics in the Prometheus text format.
func scrape(t testing.TB, url string) []sample {
	t.Helper()
	resp, err := http.Get(url + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out []sample
	sc := bufio.NewScanner(resp.Body)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		require.Positive(t, i, line)
		v, err := strconv.ParseFloat(line[i+1:], 64)
		require.NoError(t, err, line)
		s := sample{name: line[:i], labels: map[string]string{}, value: v}
		if name, labels, ok := strings.Cut(line[:i], "{"); ok {
			s.name = name
			for _, m := range labelPair.FindAllStringSubmatch(labels, -1) {
				s.labels[m[1]] = m[2]
			}
		}
		out = append(out, s)
	}
	require.NoError(t, sc.Err())
	return out
}

// metricSum adds up the series named name whose labels include want; found
// says whether any matched.
func metricSum(samples []sample, name string, want map[string]string) (sum float64, found bool) {
	for _, s := range samples {
		if s.name != name {
			continue
		}
		match := true
		for k, v := range want {
			if s.labels[k] != v {
				match = false
				break
			}
		}
		if match {
			sum += s.value
			found = true
		}
	}
	return sum, found
}

// TestMetricsEndToEnd runs queries, a failing query, a subscription and a
// webhook through a gateway on its embedded simulator, then reads /metrics
// as Prometheus would.
func TestMetricsEndToEnd(t *testing.T) {
	g := startGateway(t, map[string]string{})
	sim := &stack{simURL: g.simURL}
	// The embedded mode registers its webhook listeners in the background.
	require.Eventually(t, func() bool { return sim.stats(t).Listeners == 6 }, 20*time.Second, 50*time.Millisecond)

	// Which build this is, from the first scrape on.
	b := buildInfo("")
	v, ok := metricSum(scrape(t, g.url), "engagegw_build_info", map[string]string{"version": b.Version, "commit": b.Commit, "goversion": b.Go})
	require.True(t, ok, "engagegw_build_info{version=%q,commit=%q,goversion=%q}", b.Version, b.Commit, b.Go)
	assert.Equal(t, 1.0, v)

	// The same named query twice: the second is answered from the cache.
	const places = `query Places { locations { id name rooms { id } } }`
	var data struct {
		Locations []struct {
			ID    string
			Rooms []struct{ ID string }
		}
	}
	for range 2 {
		resp := g.query(t, places, nil)
		require.Empty(t, resp.Errors)
		require.NoError(t, json.Unmarshal(resp.Data, &data))
	}
	require.NotEmpty(t, data.Locations)
	require.NotEmpty(t, data.Locations[0].Rooms)
	room := data.Locations[0].Rooms[0].ID

	// A query that fails while executing, and one that never executes.
	resp := g.query(t, `query Broken { location(id: "TG9jYXRpb246OTk5OTk5") { id } }`, nil)
	require.NotEmpty(t, resp.Errors)
	resp = g.query(t, `{ countries { id `, nil)
	require.NotEmpty(t, resp.Errors)

	t.Run("subscribed", func(t *testing.T) {
		// Ends (and its stream closes) when this subtest ends.
		events := sseEvents(t, g.url, `subscription Watch($room: ID!) { bookingChanged(roomIds: [$room]) { action bookingId } }`, map[string]any{"room": room})
		require.Eventually(t, func() bool {
			v, _ := metricSum(scrape(t, g.url), "engagegw_subscriptions_open", nil)
			return v == 1
		}, 10*time.Second, 20*time.Millisecond)

		day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 2)
		attempt := 0
		require.Eventually(t, func() bool {
			// Each attempt is a new booking, announced by a webhook.
			start := day.Add(8*time.Hour + time.Duration(attempt)*30*time.Minute)
			attempt++
			code, raw := simCall(t, g.simURL, http.MethodPost, "/_sim/bookings", map[string]any{
				"userId": 1001, "roomId": mustRoomNumber(t, room),
				"startDateTime": start.Format("2006-01-02 15:04"),
				"endDateTime":   start.Add(15 * time.Minute).Format("2006-01-02 15:04"), "meetingTitle": "Metrics",
			})
			if code == http.StatusConflict {
				return false // the demo's own meeting (or its set-up) holds the slot: try the next
			}
			require.Equal(t, http.StatusCreated, code, "%s", raw)
			select {
			case ev := <-events:
				assert.Contains(t, string(ev), `"bookingChanged"`)
				return true
			case <-time.After(2 * time.Second):
				return false
			}
		}, 20*time.Second, 10*time.Millisecond)
	})
	// The subscription is closed once its client has gone.
	require.Eventually(t, func() bool {
		v, _ := metricSum(scrape(t, g.url), "engagegw_subscriptions_open", nil)
		return v == 0
	}, 10*time.Second, 20*time.Millisecond)

	m := scrape(t, g.url)
	atLeast := func(min float64, name string, labels map[string]string) {
		t.Helper()
		v, found := metricSum(m, name, labels)
		if assert.True(t, found, "no series %s%v", name, labels) {
			assert.GreaterOrEqual(t, v, min, "%s%v", name, labels)
		}
	}
	exactly := func(want float64, name string, labels map[string]string) {
		t.Helper()
		v, found := metricSum(m, name, labels)
		if assert.True(t, found, "no series %s%v", name, labels) {
			assert.Equal(t, want, v, "%s%v", name, labels)
		}
	}

	// Upstream: by product, route template and status; the token.
	atLeast(1, "engagegw_upstream_calls_total", map[string]string{"product": "HierarchyMapping", "route": "/locations", "status": "200"})
	atLeast(1, "engagegw_upstream_call_duration_seconds_count", map[string]string{"product": "HierarchyMapping", "route": "/locations"})
	atLeast(1, "engagegw_upstream_calls_total", map[string]string{"product": "TokenProvider", "status": "200"})
	atLeast(1, "engagegw_upstream_token_refreshes_total", map[string]string{"result": "ok"})
	exactly(0, "engagegw_upstream_rate_limited_seconds", map[string]string{"product": "HierarchyMapping"})
	for _, s := range m {
		if s.name == "engagegw_upstream_calls_total" {
			assert.NotContains(t, s.labels["route"], "/locations/", "route templates, never concrete paths: %v", s.labels)
		}
	}

	// Cache: the repeated query hit what the first one missed.
	atLeast(1, "engagegw_cache_lookups_total", map[string]string{"kind": "rooms", "result": "miss"})
	atLeast(1, "engagegw_cache_lookups_total", map[string]string{"kind": "rooms", "result": "hit"})

	// Webhooks and the change's way to the subscriber.
	atLeast(1, "engagegw_webhook_requests_total", map[string]string{"status": "200"})
	atLeast(1, "engagegw_webhook_invalidations_total", nil)
	atLeast(1, "engagegw_subscription_delivery_latency_seconds_count", nil)

	// GraphQL operations by name and type, with durations and errors.
	exactly(2, "engagegw_graphql_operations_total", map[string]string{"operation": "Places", "type": "query"})
	exactly(2, "engagegw_graphql_operation_duration_seconds_count", map[string]string{"operation": "Places", "type": "query"})
	_, placesFailed := metricSum(m, "engagegw_graphql_operation_errors_total", map[string]string{"operation": "Places"})
	assert.False(t, placesFailed, "Places never failed")
	exactly(1, "engagegw_graphql_operations_total", map[string]string{"operation": "Broken", "type": "query"})
	exactly(1, "engagegw_graphql_operation_errors_total", map[string]string{"operation": "Broken", "type": "query"})
	exactly(1, "engagegw_graphql_operation_errors_total", map[string]string{"operation": "invalid", "type": "unknown"})
	exactly(1, "engagegw_graphql_operations_total", map[string]string{"operation": "Watch", "type": "subscription"})
}

func TestMetricsCountADeferredQueryOnce(t *testing.T) {
	g := startGateway(t, map[string]string{})
	// Eight parts: the locations, then each location's rooms.
	resp := postDeferred(t, t.Context(), g.url, `query Deferred { locations { id ... @defer { rooms { id } } } }`, nil)
	parts := readMultipart(t, resp)
	resp.Body.Close()
	require.Greater(t, len(parts), 2)
	samples := scrape(t, g.url)
	n, _ := metricSum(samples, "engagegw_graphql_operations_total", map[string]string{"operation": "Deferred", "type": "query"})
	assert.Equal(t, 1.0, n, "one operation, however many parts")
	n, _ = metricSum(samples, "engagegw_graphql_operation_duration_seconds_count", map[string]string{"operation": "Deferred", "type": "query"})
	assert.Equal(t, 1.0, n)
	n, _ = metricSum(samples, "engagegw_graphql_operation_errors_total", map[string]string{"operation": "Deferred"})
	assert.Zero(t, n)
}
