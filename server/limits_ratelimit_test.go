package server

// The per-client rate limit over real HTTP: a client past its rate is refused
// with RATE_LIMITED before any upstream call, other clients are not, and the
// count is shared by replicas through Redis.

import (
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/auth"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/fleet"
	"github.com/engagegql/gateway/fleet/budget"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/pubsub"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// postAs sends one query with an API key (none: anonymous).
func postAs(t *testing.T, url, key, query string) gqlResponse {
	t.Helper()
	headers := map[string]string{}
	if key != "" {
		headers["X-API-Key"] = key
	}
	_, _, r := postGraphQL(t, url, headers, query, nil)
	return r
}

func TestClientRateLimit(t *testing.T) {
	t.Parallel()
	keys, err := auth.ParseAPIKeys("kiosk:" + keyHash(authKioskKey) + ",board:" + keyHash(authBoardKey))
	require.NoError(t, err)
	a, err := auth.New(auth.Config{APIKeys: keys})
	require.NoError(t, err)
	t.Cleanup(a.Close)
	// A burst of 2 (three at once), then one a minute: the fourth is refused.
	limits := &budget.ClientLimits{Limiter: fleet.NewMemoryLimiter(nil), Rate: fleet.Rate{Events: 1, Per: time.Minute, Burst: 2}}
	s := newStackWithDeps(t, engagesim.Config{}, loader.Options{}, func(d *serverDeps) {
		d.auth = a
		d.clientLimits = limits
	})
	// Warm up the session token with another client.
	require.Empty(t, postAs(t, s.gwURL, authBoardKey, `{ countries { name } }`).Errors)
	s.resetStats(t)

	for i := range 3 {
		r := postAs(t, s.gwURL, authKioskKey, `{ countries { name } }`)
		require.Empty(t, r.Errors, "operation %d is within the burst", i+1)
	}
	r := postAs(t, s.gwURL, authKioskKey, `{ regions { name } }`)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, "RATE_LIMITED", r.Errors[0].Extensions["code"])
	assert.Equal(t, "client_rate", r.Errors[0].Extensions["limit"])
	assert.Positive(t, r.Errors[0].Extensions["retryAfter"])
	assert.Contains(t, r.Errors[0].Message, "client rate limit")
	assert.Zero(t, routeCalls(s.stats(t), "/regions"), "the refused operation cost no upstream call")

	r = postAs(t, s.gwURL, authBoardKey, `{ regions { name } }`)
	assert.Empty(t, r.Errors, "another client has its own rate")
}

func TestClientRateLimitIsA429WithRetryAfter(t *testing.T) {
	t.Parallel()
	b := pubsub.NewMemory(pubsub.Options{})
	t.Cleanup(func() { _ = b.Close() })
	// One operation a minute, no burst: the second is refused.
	s := newStackWithFeed(t, b, func(d *serverDeps) {
		d.clientLimits = &budget.ClientLimits{Limiter: fleet.NewMemoryLimiter(nil), Rate: fleet.Rate{Events: 1, Per: time.Minute}}
	})
	require.Empty(t, postAs(t, s.gwURL, "", `{ countries { name } }`).Errors)
	s.resetStats(t)

	assertRetryAfter := func(t *testing.T, h http.Header) {
		t.Helper()
		retry, err := strconv.Atoi(h.Get("Retry-After"))
		require.NoError(t, err, "Retry-After %q is whole seconds", h.Get("Retry-After"))
		assert.Positive(t, retry)
		assert.LessOrEqual(t, retry, 60)
	}
	for _, accept := range []string{"application/json", "application/graphql-response+json"} {
		t.Run("over HTTP, "+accept, func(t *testing.T) {
			status, h, r := postGraphQL(t, s.gwURL, map[string]string{"Accept": accept}, `{ regions { name } }`, nil)
			assert.Equal(t, http.StatusTooManyRequests, status)
			assertRetryAfter(t, h)
			assert.Equal(t, "RATE_LIMITED", errorCode(r))
			assert.Nil(t, r.Data, "nothing was executed")
		})
	}
	t.Run("over server-sent events", func(t *testing.T) {
		req, err := http.NewRequest(http.MethodPost, s.gwURL+"/graphql", strings.NewReader(`{"query":"subscription { bookingChanged { action } }"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "text/event-stream")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		defer resp.Body.Close()
		assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
		assertRetryAfter(t, resp.Header)
	})
	t.Run("on a websocket, the refusal is the operation's payload", func(t *testing.T) {
		w := dialRaw(t, s.gwURL, "graphql-transport-ws")
		w.write(t, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": `subscription { bookingChanged { action } }`}})
		m := w.read(t)
		require.Equal(t, "next", m.Type, "%s", m.Payload)
		var r gqlResponse
		require.NoError(t, json.Unmarshal(m.Payload, &r))
		assert.Equal(t, "RATE_LIMITED", errorCode(r))
		assert.Equal(t, "complete", w.read(t).Type)
	})
	assert.Zero(t, routeCalls(s.stats(t), "/regions"), "the refused operations cost no upstream call")
}

func TestClientRateLimitBehindAProxy(t *testing.T) {
	t.Parallel()
	// Without authentication, behind a proxy that names the caller in
	// X-Forwarded-For: callers are told apart by it, not by the proxy's
	// address they all share.
	s := newStackWithDeps(t, engagesim.Config{}, loader.Options{}, func(d *serverDeps) {
		d.clientHeader = "X-Forwarded-For"
		d.clientLimits = &budget.ClientLimits{Limiter: fleet.NewMemoryLimiter(nil), Rate: fleet.Rate{Events: 1, Per: time.Minute}}
	})
	post := func(xff string) gqlResponse {
		_, _, r := postGraphQL(t, s.gwURL, map[string]string{"X-Forwarded-For": xff}, `{ countries { name } }`, nil)
		return r
	}
	require.Empty(t, post("203.0.113.1, 10.0.0.1").Errors)
	assert.Equal(t, "RATE_LIMITED", errorCode(post("203.0.113.1, 10.0.0.2")), "the same caller through another hop")
	assert.Empty(t, post("203.0.113.2, 10.0.0.1").Errors, "another caller behind the same proxy")
}

func TestClientRateLimitIsSharedByReplicas(t *testing.T) {
	t.Parallel()
	opts := testRedisOptions(t)
	// Two replicas, each with its own Redis client, one limiter namespace
	// of this test's own.
	prefix := "ratelimit-test-" + newRequestID()
	replica := func() *stack {
		rdb := redis.NewClient(opts)
		t.Cleanup(func() { _ = rdb.Close() })
		lim := fleet.NewRedisLimiter(rdb, prefix, fleet.RedisLimiterOptions{})
		return newStackWithDeps(t, engagesim.Config{}, loader.Options{}, func(d *serverDeps) {
			d.clientLimits = &budget.ClientLimits{Limiter: lim, Rate: fleet.Rate{Events: 1, Per: time.Minute, Burst: 1}}
		})
	}
	a, b := replica(), replica()
	require.Empty(t, postAs(t, a.gwURL, "", `{ countries { name } }`).Errors)
	require.Empty(t, postAs(t, b.gwURL, "", `{ countries { name } }`).Errors)
	r := postAs(t, a.gwURL, "", `{ countries { name } }`)
	require.Len(t, r.Errors, 1, "the third operation from one address, on either replica, is over the rate")
	assert.Equal(t, "RATE_LIMITED", r.Errors[0].Extensions["code"])
	t.Cleanup(func() {
		rdb := redis.NewClient(opts)
		defer rdb.Close()
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, "{"+prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			rdb.Del(ctx, iter.Val())
		}
	})
}
