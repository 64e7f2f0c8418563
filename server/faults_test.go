package server

// End-to-end tests of the gateway when Engage misbehaves, with faults injected
// through the simulator's /_sim/faults: failed answers are retried (reads
// only), a timing-out product trips its breaker and recovers, a revoked token
// is replaced, a 429 is honoured, and while Engage is down what the cache
// holds is served, marked stale with its age.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// callsByStatus counts the simulator's calls of method and route, by status.
func callsByStatus(st engagesim.Stats, method, route string) map[int]int {
	out := map[int]int{}
	for _, c := range st.Calls {
		if c.Method == method && c.Route == route {
			out[c.Status] += c.Count
		}
	}
	return out
}

func setFaults(t *testing.T, simURL string, f map[string]any) {
	t.Helper()
	code, raw := simCall(t, simURL, http.MethodPost, "/_sim/faults", f)
	require.Equal(t, http.StatusOK, code, "%s", raw)
}

func clearFaults(t *testing.T, simURL string) {
	t.Helper()
	code, raw := simCall(t, simURL, http.MethodDelete, "/_sim/faults", nil)
	require.Equal(t, http.StatusOK, code, "%s", raw)
}

func errorCode(r gqlResponse) string {
	if len(r.Errors) == 0 {
		return ""
	}
	return fmt.Sprint(r.Errors[0].Extensions["code"])
}

func getReadyz(t *testing.T, url string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(url + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct{ Checks map[string]string }
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &body), "%s", raw)
	return resp.StatusCode, body.Checks
}

func TestUpstreamFaults(t *testing.T) {
	t.Parallel()
	g := startGateway(t, map[string]string{
		"UPSTREAM_RETRY_ATTEMPTS":   "3",
		"UPSTREAM_RETRY_MAX_DELAY":  "50ms",
		"UPSTREAM_BREAKER_FAILURES": "3",
		"UPSTREAM_BREAKER_COOLDOWN": "1s",
		"UPSTREAM_TIMEOUT":          "300ms",
		// The read-through cache's faults: with the mirror, what it holds
		// is answered whatever Engage does (live_mirror_test.go).
		"MIRROR": "off",
	})
	sim := g.simURL
	// The embedded gateway registers its webhooks in the background; let
	// that finish, so no fault below lands on it instead of on the test.
	require.Eventually(t, func() bool { return liveStats(t, sim).Listeners == len(webhook.Services()) }, 10*time.Second, 20*time.Millisecond)
	users := engagesim.DemoFixture(1, time.Now().UTC()).Users
	user := users[5].Email

	t.Run("500s on a read are retried", func(t *testing.T) {
		setFaults(t, sim, map[string]any{"failNext": 2, "errorStatus": 500})
		r := g.query(t, `{ countries { name } }`, nil)
		require.Empty(t, r.Errors)
		assert.Equal(t, map[int]int{500: 2, 200: 1}, callsByStatus(liveStats(t, sim), "GET", "/countries"))
	})

	t.Run("a write that failed is not retried", func(t *testing.T) {
		var locs struct{ Locations []struct{ ID string } }
		r := g.query(t, `{ locations { id } }`, nil)
		require.Empty(t, r.Errors)
		require.NoError(t, json.Unmarshal(r.Data, &locs))
		register := func() gqlResponse {
			return g.query(t, `mutation($in: RegisterVisitorInput!) { registerVisitor(input: $in) { visitor { id } errors { code } } }`,
				map[string]any{"in": map[string]any{
					"actingUserEmail": user, "firstName": "Ada", "lastName": "Lovelace", "locationId": locs.Locations[0].ID,
					"arrival": time.Now().Add(30 * time.Hour).UTC().Truncate(time.Minute).Format(time.RFC3339),
				}})
		}
		require.Empty(t, register().Errors, "the reads a registration needs are cached")
		before := callsByStatus(liveStats(t, sim), "POST", "/visitor")
		setFaults(t, sim, map[string]any{"failNext": 1, "errorStatus": 500})
		r = register()
		assert.Equal(t, "UPSTREAM_UNAVAILABLE", errorCode(r), "%+v", r.Errors)
		after := callsByStatus(liveStats(t, sim), "POST", "/visitor")
		assert.Equal(t, before[500]+1, after[500], "the write was sent once")
		assert.Equal(t, before[201]+before[200], after[201]+after[200], "and not again")
		clearFaults(t, sim)
	})

	t.Run("a revoked token is replaced once", func(t *testing.T) {
		before := liveStats(t, sim).TokenRequests
		setFaults(t, sim, map[string]any{"revokeTokens": true})
		// A read nothing before it cached.
		r := g.query(t, `query($e: String!) { user(email: $e) { email } }`, map[string]any{"e": users[7].Email})
		require.Empty(t, r.Errors)
		assert.Equal(t, before+1, liveStats(t, sim).TokenRequests)
	})

	t.Run("timeouts trip the breaker, which recovers", func(t *testing.T) {
		setFaults(t, sim, map[string]any{"latency": "2s"})
		someone := func(n int) string { return fmt.Sprintf(`{ user(email: "nobody%d@example.com") { email } }`, n) }
		r := g.query(t, someone(1), nil)
		assert.Equal(t, "UPSTREAM_UNAVAILABLE", errorCode(r), "three attempts timed out")
		// The simulator counts an abandoned call when its handler notices.
		var calls int
		require.Eventually(t, func() bool {
			st := liveStats(t, sim)
			n := 0
			for _, c := range callsByStatus(st, "GET", "/users") {
				n += c
			}
			calls = st.TotalCalls
			return n >= 3
		}, 10*time.Second, 20*time.Millisecond)

		// Open: calls of the product fail fast, without reaching Engage.
		r = g.query(t, someone(2), nil)
		require.Equal(t, "UPSTREAM_UNAVAILABLE", errorCode(r))
		assert.Contains(t, r.Errors[0].Message, "paused")
		assert.Equal(t, calls, liveStats(t, sim).TotalCalls, "an open breaker sends nothing")
		status, checks := getReadyz(t, g.url)
		assert.Equal(t, http.StatusOK, status, "a replica whose upstream fails still serves its cache")
		assert.Contains(t, checks["upstream"], "HierarchyMapping")

		clearFaults(t, sim)
		next := 30
		require.Eventually(t, func() bool {
			// A user not looked up before, so the read must reach Engage.
			next++
			return len(g.query(t, fmt.Sprintf(`{ user(email: %q) { email } }`, users[next].Email), nil).Errors) == 0
		}, 10*time.Second, 100*time.Millisecond, "after the cooldown a probe closes the breaker")
		_, checks = getReadyz(t, g.url)
		assert.Equal(t, "ok", checks["upstream"])
	})

	t.Run("while Engage is down the cache answers, marked stale", func(t *testing.T) {
		type booking struct {
			ID, Title string
			Private   bool
		}
		var d struct{ Bookings []booking }
		from := time.Now().UTC().Truncate(time.Hour)
		r := g.query(t, `query($from: DateTime!, $to: DateTime!) { bookings(locationId: null, roomIds: null, from: $from, to: $to) { id title private } }`,
			map[string]any{"from": from.Format(time.RFC3339), "to": from.Add(72 * time.Hour).Format(time.RFC3339)})
		if len(r.Errors) > 0 {
			// bookings needs a location or rooms; find them through a location.
			var locs struct{ Locations []struct{ ID string } }
			require.NoError(t, json.Unmarshal(g.query(t, `{ locations { id } }`, nil).Data, &locs))
			r = g.query(t, `query($loc: ID!, $from: DateTime!, $to: DateTime!) { bookings(locationId: $loc, from: $from, to: $to) { id title private } }`,
				map[string]any{"loc": locs.Locations[0].ID, "from": from.Format(time.RFC3339), "to": from.Add(72 * time.Hour).Format(time.RFC3339)})
		}
		require.Empty(t, r.Errors)
		require.NoError(t, json.Unmarshal(r.Data, &d))
		// A private meeting's title reads the same before and after the
		// change for this anonymous caller: watch the others.
		d.Bookings = slices.DeleteFunc(d.Bookings, func(b booking) bool { return b.Private })
		require.GreaterOrEqual(t, len(d.Bookings), 2)
		cached, uncached := d.Bookings[0], d.Bookings[1]
		byID := func(id string) gqlResponse {
			return g.query(t, `query($id: ID!) { booking(id: $id) { title } }`, map[string]any{"id": id})
		}
		require.Empty(t, byID(cached.ID).Errors)
		raw, err := base64.RawURLEncoding.DecodeString(cached.ID)
		require.NoError(t, err)
		parts := strings.Split(string(raw), ":")
		engageID, err := strconv.Atoi(parts[len(parts)-1])
		require.NoError(t, err)

		// Engage goes down; then the booking changes in the web app, and
		// its notification drops the cached copy.
		setFaults(t, sim, map[string]any{"failNext": 100000, "errorStatus": 503})
		code, body := simCall(t, sim, http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", engageID), map[string]any{"meetingTitle": "Changed while Engage was down"})
		require.Equal(t, http.StatusOK, code, "%s", body)

		var stale gqlResponse
		require.Eventually(t, func() bool {
			stale = g.query(t, `query($a: ID!, $b: ID!) { a: booking(id: $a) { title } b: booking(id: $b) { title } }`,
				map[string]any{"a": cached.ID, "b": uncached.ID})
			return stale.Extensions["stale"] != nil
		}, 10*time.Second, 50*time.Millisecond, "the invalidated booking is served stale")
		var got struct {
			A *struct{ Title string }
			B *struct{ Title string }
		}
		require.NoError(t, json.Unmarshal(stale.Data, &got))
		require.NotNil(t, got.A)
		assert.Equal(t, cached.Title, got.A.Title, "the last known title")
		assert.Nil(t, got.B, "what the cache never held is an error")
		require.Len(t, stale.Errors, 1)
		assert.Equal(t, []any{"b"}, stale.Errors[0].Path)
		assert.Equal(t, "UPSTREAM_UNAVAILABLE", stale.Errors[0].Extensions["code"])
		ext := stale.Extensions["stale"].(map[string]any)
		assert.EqualValues(t, 1, ext["answers"])
		assert.GreaterOrEqual(t, ext["maxAgeSeconds"], float64(0))

		clearFaults(t, sim)
		require.Eventually(t, func() bool {
			r := byID(cached.ID)
			return len(r.Errors) == 0 && r.Extensions["stale"] == nil && strings.Contains(string(r.Data), "Changed while Engage was down")
		}, 10*time.Second, 100*time.Millisecond, "once Engage answers, the answer is fresh")
	})

	t.Run("a 429 is honoured, not hammered", func(t *testing.T) {
		setFaults(t, sim, map[string]any{"ratePerMinute": 1})
		var r gqlResponse
		for i := range 3 {
			if r = g.query(t, fmt.Sprintf(`{ user(email: "limited%d@example.com") { email } }`, i), nil); errorCode(r) != "NOT_FOUND" {
				break
			}
		}
		require.Equal(t, "UPSTREAM_RATE_LIMITED", errorCode(r), "%+v", r.Errors)
		assert.Positive(t, r.Errors[0].Extensions["retryAfter"])
		calls := liveStats(t, sim).TotalCalls
		r = g.query(t, `{ user(email: "limited9@example.com") { email } }`, nil)
		assert.Equal(t, "UPSTREAM_RATE_LIMITED", errorCode(r))
		assert.Equal(t, calls, liveStats(t, sim).TotalCalls, "the held key sends nothing until Retry-After")
	})
}
