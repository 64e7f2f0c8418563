package server

// The logs an operator reads: JSON lines, each line of a request carrying its
// id, and no secret whatever happens.

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/engagesim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLogsCarryRequestIDsAndNoSecrets(t *testing.T) {
	t.Parallel()
	const secret = "a-webhook-secret-that-must-never-be-logged"
	g := startGateway(t, map[string]string{"LOG_LEVEL": "debug", "WEBHOOK_SECRET": secret})

	send := func(id string, query ...string) string {
		headers := map[string]string{}
		if id != "" {
			headers[requestIDHeader] = id
		}
		q := `{ countries { name } }`
		if len(query) > 0 {
			q = query[0]
		}
		_, h, _ := postGraphQL(t, g.url, headers, q, nil)
		return h.Get(requestIDHeader)
	}
	assert.Equal(t, "lb-7f3a-01", send("lb-7f3a-01"), "a caller's id is kept")
	forged := send(`x" "level":"ERROR`)
	assert.Len(t, forged, 24, "an id that could forge log lines is replaced")
	fresh := send("")
	assert.Len(t, fresh, 24)
	assert.NotEqual(t, forged, fresh)

	// A token revoked upstream makes the client refresh, retry and log it:
	// the paths most likely to print a secret. (The query must miss the
	// cache to reach the upstream at all.)
	setFaults(t, g.simURL, map[string]any{"revokeTokens": true})
	send("after-revocation", `{ regions { name } }`)

	var ids []string
	require.Eventually(t, func() bool {
		ids = ids[:0]
		sc := bufio.NewScanner(strings.NewReader(g.logs.String()))
		for sc.Scan() {
			var line map[string]any
			require.NoError(t, json.Unmarshal(sc.Bytes(), &line), "every line is JSON: %s", sc.Text())
			if line["msg"] == "http request" {
				id, _ := line["request_id"].(string)
				ids = append(ids, id)
			}
		}
		return len(ids) >= 4
	}, subWait, 20*time.Millisecond)
	assert.Contains(t, ids, "lb-7f3a-01")
	assert.Contains(t, ids, fresh)
	assert.Contains(t, ids, "after-revocation")

	logs := g.logs.String()
	assert.Contains(t, logs, "token rejected, refreshing", "the revocation and refresh were logged, so the check below saw them")
	for name, v := range map[string]string{"password": engagesim.DefaultPassword, "webhook secret": secret} {
		assert.NotContains(t, logs, v, "the %s is never logged", name)
	}
	for p, key := range engagesim.DefaultKeys() {
		assert.NotContains(t, logs, key, "the %s subscription key is never logged", p)
	}
	assert.NotContains(t, logs, "Bearer ", "no token is ever logged")
}

// TestAccessLinesSayWhatARequestDid: the access line of a GraphQL request
// names its operation and type, its client (the credential's name, never
// the credential), the error codes it returned and its upstream calls and
// their time; a refused credential's line says why; upstream calls at
// debug level carry the request's id and their duration. The HTTP metrics
// count every request, and the breakers' series are there from the start.
func TestAccessLinesSayWhatARequestDid(t *testing.T) {
	t.Parallel()
	const key = "kiosk-key-that-must-never-be-logged"
	sum := sha256.Sum256([]byte(key))
	g := startGateway(t, map[string]string{
		"LOG_LEVEL": "debug", "MIRROR": "off",
		"AUTH_API_KEYS": "lobby-kiosk:" + hex.EncodeToString(sum[:]) + ":engage:read",
	})

	first := scrape(t, g.url)
	for _, p := range engage.Products() {
		v, ok := metricSum(first, "engagegw_upstream_breaker_open", map[string]string{"product": string(p)})
		assert.True(t, ok && v == 0, "engagegw_upstream_breaker_open{product=%q} is 0 from the start", p)
		_, ok = metricSum(first, "engagegw_upstream_breaker_transitions_total", map[string]string{"product": string(p), "state": "open"})
		assert.True(t, ok, "the transitions of %s's breaker are exported from the start", p)
	}

	auth := map[string]string{"X-API-Key": key}
	line := func(id string) map[string]any {
		t.Helper()
		var found map[string]any
		require.Eventually(t, func() bool {
			sc := bufio.NewScanner(strings.NewReader(g.logs.String()))
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			for sc.Scan() {
				var l map[string]any
				if json.Unmarshal(sc.Bytes(), &l) == nil && l["msg"] == "http request" && l["request_id"] == id {
					found = l
					return true
				}
			}
			return false
		}, subWait, 20*time.Millisecond, "the access line of %s", id)
		return found
	}
	send := func(id string, headers map[string]string, query string) int {
		h := map[string]string{requestIDHeader: id}
		for k, v := range headers {
			h[k] = v
		}
		status, _, _ := postGraphQLRaw(t, g.url, h, query, nil)
		return status
	}

	require.Equal(t, 200, send("cold-rooms", auth, `query LobbyRooms { locations { name rooms { name } } }`))
	l := line("cold-rooms")
	assert.Equal(t, "query LobbyRooms", l["operation"])
	assert.Equal(t, "key:lobby-kiosk", l["client"])
	assert.Greater(t, l["upstream_calls"], 1.0, "the cold read went upstream: %v", l)
	assert.Greater(t, l["upstream_ms"], 0.0)
	assert.Nil(t, l["error_codes"])

	// Each upstream call of that request, at debug level, with its id.
	calls := 0
	sc := bufio.NewScanner(strings.NewReader(g.logs.String()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var c map[string]any
		if json.Unmarshal(sc.Bytes(), &c) == nil && c["msg"] == "engage: call" && c["request_id"] == "cold-rooms" {
			calls++
			assert.Contains(t, c, "duration_ms")
			assert.Contains(t, c, "route")
		}
	}
	assert.EqualValues(t, l["upstream_calls"], calls, "one debug line per upstream call of the request")

	require.Equal(t, 200, send("warm-rooms", auth, `query LobbyRooms { locations { name rooms { name } } }`))
	l = line("warm-rooms")
	assert.Equal(t, "query LobbyRooms", l["operation"])
	assert.Nil(t, l["upstream_calls"], "the warm read made no call")

	send("cancel", auth, `mutation Cancel { cancelBooking(input: {bookingId: "Qm9va2luZzox", actingUserEmail: "someone.else@example.com"}) { cancelledBookingId errors { message } } }`)
	l = line("cancel")
	assert.Equal(t, "mutation Cancel", l["operation"])

	send("broken", auth, `query Broken { location(id: "TG9jYXRpb246OTk5OTk5") { id } }`)
	l = line("broken")
	assert.Equal(t, "query Broken", l["operation"])
	assert.NotEmpty(t, l["error_codes"], "%v", l)

	send("invalid", auth, `query Nope { nothing }`)
	l = line("invalid")
	assert.Contains(t, l["error_codes"], "GRAPHQL_VALIDATION_FAILED")

	require.Equal(t, 401, send("refused", map[string]string{"X-API-Key": "not-" + key}, `{ countries { name } }`))
	l = line("refused")
	assert.Contains(t, l["auth_failure"], "unknown API key", "%v", l)
	assert.Nil(t, l["client"])
	require.Equal(t, 401, send("anonymous", nil, `{ countries { name } }`))
	assert.Contains(t, line("anonymous")["auth_failure"], "missing")

	assert.NotContains(t, g.logs.String(), key, "the API key is never logged")

	after := scrape(t, g.url)
	ok200, _ := metricSum(after, "engagegw_http_requests_total", map[string]string{"route": "/graphql", "method": "POST", "status": "200"})
	assert.GreaterOrEqual(t, ok200, 3.0)
	refused, _ := metricSum(after, "engagegw_http_requests_total", map[string]string{"route": "/graphql", "method": "POST", "status": "401"})
	assert.Equal(t, 2.0, refused)
	n, ok := metricSum(after, "engagegw_http_request_duration_seconds_count", map[string]string{"route": "/graphql"})
	assert.True(t, ok && n >= 6, "durations of /graphql: %v", n)
	_, ok = metricSum(after, "engagegw_http_requests_in_flight", map[string]string{"route": "/graphql"})
	assert.True(t, ok)
}
