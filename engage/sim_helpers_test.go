package engage

// Helpers for the tests that run the client over real HTTP against the
// simulator, reading its counters over HTTP as any black-box test would.

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/workplace"
)

// simStart is the fixed "now" of the simulator tests: a Thursday three days
// before London's clocks go forward and ten before Sydney's go back, so the
// 14-day windows of the demo fixture cross both changes.
func simStart() time.Time { return time.Date(2025, 3, 27, 9, 0, 0, 0, time.UTC) }

// fakeClock is the clock the simulator and the client share, so a test
// expires tokens and rate windows by moving it instead of sleeping.
type fakeClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.now = c.now.Add(d)
}

// simEnv is a simulator behind a real HTTP server and a client of it.
type simEnv struct {
	t      *testing.T
	sim    *engagesim.Sim
	srv    *httptest.Server
	clock  *fakeClock
	client *Client
	cfg    Config // client's configuration, for more clients of the same simulator
	logs   *syncBuffer
	// seen records every bearer token and key the client sent, so tests can
	// check none of them leaks.
	seen *headerRecorder
}

type envOption func(*engagesim.Config, *Config)

func withSim(f func(*engagesim.Config)) envOption {
	return func(s *engagesim.Config, _ *Config) { f(s) }
}

func withClient(f func(*Config)) envOption {
	return func(_ *engagesim.Config, c *Config) { f(c) }
}

func newSimEnv(t *testing.T, opts ...envOption) *simEnv {
	t.Helper()
	clock := &fakeClock{now: simStart()}
	simCfg := engagesim.Config{Now: clock.Now, RatePerMinute: 100_000}
	env := &simEnv{t: t, clock: clock, logs: &syncBuffer{}, seen: &headerRecorder{}}
	var cfgs []func(*Config)
	for _, o := range opts {
		o(&simCfg, &Config{}) // sim options apply now; client options below
		cfgs = append(cfgs, func(c *Config) { o(&engagesim.Config{}, c) })
	}
	sim, err := engagesim.New(simCfg)
	require.NoError(t, err)
	env.sim = sim
	env.srv = httptest.NewServer(sim)
	t.Cleanup(func() {
		env.srv.Close()
		sim.Close()
	})
	keys := map[Product]string{}
	for p, k := range engagesim.DefaultKeys() {
		keys[Product(p)] = k
	}
	cfg := Config{
		TokenURL:   env.srv.URL + "/tokenproviderapi/token",
		APIURL:     env.srv.URL + "/" + engagesim.DefaultTenant + "/api/V1",
		ClientID:   engagesim.DefaultClientID,
		Password:   engagesim.DefaultPassword,
		Keys:       keys,
		HTTPClient: &http.Client{Transport: &recordingTransport{next: defaultHTTPClient().Transport, rec: env.seen}},
		Now:        clock.Now,
		Logger:     slog.New(slog.NewTextHandler(env.logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
	for _, f := range cfgs {
		f(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	env.client = c
	env.cfg = cfg
	return env
}

// newClient is one more client of the simulator, configured like the first
// and then by edit (nil = unchanged): a replica of the same gateway.
func (e *simEnv) newClient(edit func(*Config)) *Client {
	e.t.Helper()
	cfg := e.cfg
	if edit != nil {
		edit(&cfg)
	}
	c, err := New(cfg)
	require.NoError(e.t, err)
	return c
}

// noSleep stands in for Client.sleep where a test is not about waiting.
func noSleep(ctx context.Context, _ time.Duration) error { return ctx.Err() }

// sleeper stands in for Client.sleep: it records every wait and moves the
// fake clock by it instead of waiting, then runs then (when set) with the
// number of waits so far, so a test can change the simulator between
// attempts.
type sleeper struct {
	clock *fakeClock
	then  func(n int)

	mu    sync.Mutex
	waits []time.Duration
}

// useSleeper installs a sleeper on the env's client.
func (e *simEnv) useSleeper(then func(n int)) *sleeper {
	s := &sleeper{clock: e.clock, then: then}
	e.client.sleep = s.sleep
	return s
}

func (s *sleeper) sleep(ctx context.Context, d time.Duration) error {
	s.mu.Lock()
	s.waits = append(s.waits, d)
	n := len(s.waits)
	s.mu.Unlock()
	s.clock.Advance(d)
	if s.then != nil {
		s.then(n)
	}
	return ctx.Err()
}

func (s *sleeper) recorded() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Duration(nil), s.waits...)
}

// simStats is the part of GET /_sim/stats the tests read.
type simStats struct {
	TotalCalls int `json:"totalCalls"`
	Calls      []struct {
		Method  string `json:"method"`
		Route   string `json:"route"`
		Product string `json:"product"`
		Status  int    `json:"status"`
		Count   int    `json:"count"`
	} `json:"calls"`
	TokenRequests int `json:"tokenRequests"`
	TokensIssued  int `json:"tokensIssued"`
	Listeners     int `json:"listeners"`
}

// count sums the calls with a status (0 = any).
func (s simStats) count(status int) int {
	n := 0
	for _, c := range s.Calls {
		if status == 0 || c.Status == status {
			n += c.Count
		}
	}
	return n
}

func (e *simEnv) stats() simStats {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/_sim/stats")
	require.NoError(e.t, err)
	defer resp.Body.Close()
	require.Equal(e.t, http.StatusOK, resp.StatusCode)
	var s simStats
	require.NoError(e.t, json.NewDecoder(resp.Body).Decode(&s))
	return s
}

func (e *simEnv) admin(path string, body any) {
	e.t.Helper()
	b, err := json.Marshal(body)
	require.NoError(e.t, err)
	resp, err := http.Post(e.srv.URL+path, "application/json", bytes.NewReader(b))
	require.NoError(e.t, err)
	defer resp.Body.Close()
	require.Equal(e.t, http.StatusOK, resp.StatusCode, "POST %s", path)
}

func (e *simEnv) resetStats()          { e.admin("/_sim/stats/reset", map[string]any{}) }
func (e *simEnv) faults(f any)         { e.admin("/_sim/faults", f) }
func (e *simEnv) ctx() context.Context { return context.Background() }

// location finds a demo location by name.
func (e *simEnv) location(name string) workplace.Location {
	e.t.Helper()
	locs, err := workplace.AllLocations(e.ctx(), e.client)
	require.NoError(e.t, err)
	for _, l := range locs {
		if l.Name == name {
			return l
		}
	}
	e.t.Fatalf("no location %q", name)
	return workplace.Location{}
}

func date(t *testing.T, s string) workplace.Date {
	t.Helper()
	d, err := workplace.ParseDate(s)
	require.NoError(t, err)
	return d
}

// syncBuffer is a log sink safe for concurrent writers.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// headerRecorder remembers the secrets the client put on the wire.
type headerRecorder struct {
	mu     sync.Mutex
	values map[string]bool
}

func (h *headerRecorder) add(v string) {
	if v == "" {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.values == nil {
		h.values = map[string]bool{}
	}
	h.values[v] = true
}

func (h *headerRecorder) all() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	var out []string
	for v := range h.values {
		out = append(out, v)
	}
	return out
}

type recordingTransport struct {
	next http.RoundTripper
	rec  *headerRecorder
}

func (t *recordingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	t.rec.add(strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer "))
	t.rec.add(r.Header.Get("Ocp-Apim-Subscription-Key"))
	resp, err := t.next.RoundTrip(r)
	if err == nil && strings.HasSuffix(r.URL.Path, "/tokenproviderapi/token") && resp.StatusCode == http.StatusOK {
		// The tokens issued, read without consuming the body the client needs.
		var buf bytes.Buffer
		_, _ = buf.ReadFrom(resp.Body)
		resp.Body.Close()
		var tr struct {
			AccessToken string `json:"access_token"`
		}
		_ = json.Unmarshal(buf.Bytes(), &tr)
		t.rec.add(tr.AccessToken)
		resp.Body = readCloser{bytes.NewReader(buf.Bytes())}
	}
	return resp, err
}

type readCloser struct{ *bytes.Reader }

func (readCloser) Close() error { return nil }
