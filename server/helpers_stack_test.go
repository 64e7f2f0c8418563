package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engagegql/gateway/answer"
	"github.com/engagegql/gateway/cache"
	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/pubsub"
	"github.com/stretchr/testify/require"
)

// stack is a gateway wired to its own engagesim over real HTTP, with the
// simulator's admin routes in reach: what tests of the GraphQL API need to
// set the clock, inject faults and count upstream calls.
type stack struct {
	sim    *engagesim.Sim
	simURL string
	gwURL  string
	client *engage.Client
	// inFlight counts the requests the gateway is serving.
	inFlight *atomic.Int32
	// subs counts the subscriptions open on the gateway (over websockets
	// and SSE), which share the streams that read the change feed.
	subs *atomic.Int64
}

// subscriptions is how many subscriptions the gateway holds open now.
func (s *stack) subscriptions() int { return int(s.subs.Load()) }

// newStack starts an engagesim with cfg (zero value: the demo tenant with
// defaults) and a gateway in front of it, both stopped when the test ends.
// Each edit may change the gateway's upstream client settings (a wrong key
// for one product, say) before it is built.
func newStack(t testing.TB, cfg engagesim.Config, opts loader.Options, edits ...func(*engage.Config)) *stack {
	t.Helper()
	return newStackWithDeps(t, cfg, opts, nil, edits...)
}

// newStackWithFeed is newStack on the demo tenant with a gateway that serves
// subscriptions from b (which the test publishes to); each edit may change
// the gateway's other deps (its keep-alive interval, say) before it is built.
func newStackWithFeed(t testing.TB, b pubsub.Broker, edits ...func(*serverDeps)) *stack {
	t.Helper()
	return newStackWithDeps(t, engagesim.Config{}, loader.Options{}, func(d *serverDeps) {
		d.feed = brokerFeed{b: b}
		for _, edit := range edits {
			edit(d)
		}
	})
}

// newStackWithDeps is newStack with a hook that edits the gateway's deps
// (nil for none) before it is built.
func newStackWithDeps(t testing.TB, cfg engagesim.Config, opts loader.Options, deps func(*serverDeps), edits ...func(*engage.Config)) *stack {
	t.Helper()
	sim, err := engagesim.New(cfg)
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })

	tenant := cfg.Tenant
	if tenant == "" {
		tenant = engagesim.DefaultTenant
	}
	keys := map[engage.Product]string{}
	for p, k := range engagesim.DefaultKeys() {
		keys[engage.Product(p)] = k
	}
	for p, k := range cfg.Keys {
		keys[engage.Product(p)] = k
	}
	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	ecfg := engage.Config{
		TokenURL: simSrv.URL + "/tokenproviderapi/token",
		APIURL:   simSrv.URL + "/" + tenant + "/api/V1",
		ClientID: engagesim.DefaultClientID,
		Password: engagesim.DefaultPassword,
		Keys:     keys,
		Logger:   log,
	}
	for _, edit := range edits {
		edit(&ecfg)
	}
	client, err := engage.New(ecfg)
	require.NoError(t, err)
	d := serverDeps{log: log, service: client, token: client, loaders: opts}
	if deps != nil {
		deps(&d)
	}
	subs, counted := &atomic.Int64{}, d.subscribers
	d.subscribers = func(delta int) {
		subs.Add(int64(delta))
		if counted != nil {
			counted(delta)
		}
	}
	h, inFlight := newServer(d), &atomic.Int32{}
	gw := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		inFlight.Add(1)
		defer inFlight.Add(-1)
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(gw.Close)
	return &stack{sim: sim, simURL: simSrv.URL, gwURL: gw.URL, client: client, inFlight: inFlight, subs: subs}
}

// query posts one GraphQL operation and decodes the response.
func (s *stack) query(t testing.TB, query string, vars map[string]any) gqlResponse {
	t.Helper()
	return queryAt(t, s.gwURL, query, vars)
}

// admin calls a /_sim admin route with a JSON body (nil for none) and
// decodes the answer into out (nil to ignore it).
func (s *stack) admin(t testing.TB, method, path string, body, out any) {
	t.Helper()
	status, raw := simCall(t, s.simURL, method, path, body)
	require.Less(t, status, 300, "%s %s: %s", method, path, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out))
	}
}

// stats reads the simulator's call counts over HTTP; resetStats zeroes them.
func (s *stack) stats(t testing.TB) engagesim.Stats {
	t.Helper()
	return liveStats(t, s.simURL)
}

func (s *stack) resetStats(t testing.TB) {
	t.Helper()
	resetLiveStats(t, s.simURL)
}

// keepAnswers has d keep whole answers, as run does: it returns a memory
// store whose writes are logged for them (the caching service over it must
// use it), and counts the answers served kept. The answers follow their log
// until the test ends.
func keepAnswers(t testing.TB, d *serverDeps) (cache.Store, *atomic.Int64) {
	t.Helper()
	writes := answer.NewMemoryLog()
	d.answers = answer.New(answer.Options{Log: writes})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { d.answers.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, d.answers.Following, 5*time.Second, time.Millisecond)
	hits := &atomic.Int64{}
	d.answered = func(_ context.Context, outcome, _ string) {
		if outcome == "hit" {
			hits.Add(1)
		}
	}
	return cache.Logged(cache.NewMemoryStore(), writes), hits
}
