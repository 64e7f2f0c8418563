package server

// Warm answers against the ceiling. Query (B), one location's nine rooms
// with a day's bookings and their hosts, and the four representative
// queries of bench/live.md are answered warm (no upstream call) by the
// gateway on the memory store and on Redis, with and without kept answers,
// from one client and from eight, and, side by side in the same run over
// the same loopback and client, by the ceiling: a bare net/http server
// that answers the gateway's own bytes for the query. Run by
// bench/run-warm.sh; explained in bench/warm.md.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/engagegql/gateway/answer"
	"github.com/engagegql/gateway/cache"
	"github.com/engagegql/gateway/loader"
	"github.com/stretchr/testify/require"
)

// warmRoomsQuery is query (B).
const warmRoomsQuery = `query($loc: ID!, $from: DateTime!, $to: DateTime!) {
  location(id: $loc) { rooms { id name bookings(from: $from, to: $to) { id title start end host { name email } } } }
}`

// warmTarget is one server answering query (B).
type warmTarget struct {
	name string
	url  string
}

// warmPost posts body to url and returns the answer's bytes.
func warmPost(hc *http.Client, url string, body []byte) ([]byte, error) {
	resp, err := hc.Post(url+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d: %.200s", resp.StatusCode, raw)
	}
	return raw, nil
}

// warmLocation is the demo tenant's location with nine rooms (or the one
// nearest to nine).
func warmLocation(tb testing.TB, e *ccEnv) string {
	tb.Helper()
	var out struct {
		Locations []struct {
			ID    string
			Rooms []struct{ ID string }
		}
	}
	e.must(tb, `{ locations { id rooms { id } } }`, nil, &out)
	require.NotEmpty(tb, out.Locations)
	best := slices.MinFunc(out.Locations, func(a, b struct {
		ID    string
		Rooms []struct{ ID string }
	}) int {
		return abs(len(a.Rooms)-9) - abs(len(b.Rooms)-9)
	})
	return best.ID
}

func abs(n int) int {
	if n < 0 {
		return -n
	}
	return n
}

// BenchmarkWarmAgainstTheCeiling reports, for each target, each
// representative query and each number of clients, requests a second and
// the median latency; each run of a target is followed by the ceiling's
// for the same query, and the ratio is reported. The targets are the
// gateway on the memory store and on Redis, each with its kept answers
// (answers=on, as run configures it: CACHE_ANSWERS_CHECK=lease), on Redis
// also with CACHE_ANSWERS_CHECK=each and interval (answers=each,
// answers=interval), and without them
// (answers=off: every request executed, every read a hit in the store).
func BenchmarkWarmAgainstTheCeiling(b *testing.B) {
	e := newCCEnv(b, blSim(), loader.Options{}, false)
	// Engage 2 ms away, as a real one is further still: a warm answer
	// never meets it.
	code, raw := simCall(b, e.simURL, http.MethodPost, "/_sim/faults", map[string]any{"latency": "2ms"})
	require.Equal(b, http.StatusOK, code, "%s", raw)
	loc := warmLocation(b, e)
	day := time.Now().UTC().Truncate(24 * time.Hour)
	queries := []blOp{{"B-rooms-day", warmRoomsQuery, map[string]any{"loc": loc, "from": day.Format(time.RFC3339), "to": day.Add(24 * time.Hour).Format(time.RFC3339)}}}
	queries = append(queries, blOps(e)...)

	targets := []struct {
		name  string
		store func(b *testing.B) (cache.Store, answer.Log)
	}{
		{"memory", func(*testing.B) (cache.Store, answer.Log) { return cache.NewMemoryStore(), answer.NewMemoryLog() }},
		{"redis", func(b *testing.B) (cache.Store, answer.Log) {
			rdb := blRedis(b)
			ns := blNamespace(b, rdb)
			return cache.NewRedisStore(rdb, cache.StoreOptions{Namespace: ns}), cache.NewRedisWriteLog(rdb, ns, blDiscard())
		}},
	}
	for _, tg := range targets {
		modes := []string{"off", "on"}
		if tg.name == "redis" {
			modes = append(modes, "each", "interval") // CACHE_ANSWERS_CHECK=each, interval
		}
		for _, mode := range modes {
			b.Run(fmt.Sprintf("gateway=%s/answers=%s", tg.name, mode), func(b *testing.B) {
				store, log := tg.store(b)
				var answers *answer.Cache
				if mode != "off" {
					answers = blAnswers(b, answer.Options{Log: log, Check: blCheck(mode)})
					store = cache.Logged(store, log)
				}
				gw := blGatewayWith(b, e, store, loader.Options{}, answers)
				for _, q := range queries {
					body, err := json.Marshal(map[string]any{"query": q.query, "variables": q.vars})
					require.NoError(b, err)
					// Primes the store (the first read), then the kept
					// answer (computed from the store alone).
					var got []byte
					for range 3 {
						got, err = warmPost(gw.hc, gw.url, body)
						require.NoError(b, err)
						require.NotContains(b, string(got), `"errors"`)
					}
					// The ceiling answers the gateway's own bytes.
					ceiling := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
						_, _ = io.Copy(io.Discard, r.Body)
						w.Header().Set("Content-Type", "application/graphql-response+json")
						_, _ = w.Write(got)
					}))
					b.Cleanup(ceiling.Close)
					for _, clients := range []int{1, 8} {
						b.Run(fmt.Sprintf("query=%s/c=%d", q.name, clients), func(b *testing.B) {
							before := e.sim.Stats().TotalCalls
							g := warmRun(b, gw.hc, gw.url, body, clients)
							c := warmRun(b, gw.hc, ceiling.URL, body, clients)
							b.ReportMetric(g.rate, "req/s")
							b.ReportMetric(float64(g.p50.Microseconds())/1000, "p50-ms")
							b.ReportMetric(c.rate, "ceiling-req/s")
							b.ReportMetric(float64(c.p50.Microseconds())/1000, "ceiling-p50-ms")
							b.ReportMetric(100*g.rate/c.rate, "%ceiling")
							b.ReportMetric(float64(e.sim.Stats().TotalCalls-before), "upstream-calls")
						})
					}
				}
			})
		}
	}
}

// blAnswers returns kept answers that follow their log until the benchmark
// ends.
func blAnswers(b *testing.B, opts answer.Options) *answer.Cache {
	b.Helper()
	c := answer.New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	b.Cleanup(func() { cancel(); <-done })
	require.Eventually(b, c.Following, 5*time.Second, time.Millisecond)
	if _, leasing := opts.Log.(answer.LeasingLog); leasing && opts.Check == answer.CheckLease {
		require.Eventually(b, c.Leased, 5*time.Second, time.Millisecond)
	}
	return c
}

// blCheck is the answer.Check of a benchmark's answers mode: on is the
// default (CACHE_ANSWERS_CHECK=lease), each and interval the others.
func blCheck(mode string) answer.Check {
	switch mode {
	case "each":
		return answer.CheckEach
	case "interval":
		return answer.CheckInterval
	}
	return answer.CheckLease
}

// warmResult is one measured run.
type warmResult struct {
	rate float64
	p50  time.Duration
}

// warmRun posts body b.N times from clients goroutines and measures.
func warmRun(b *testing.B, hc *http.Client, url string, body []byte, clients int) warmResult {
	b.Helper()
	n := max(b.N, 200)
	lat := make([]time.Duration, n)
	var next sync.Mutex
	i := 0
	var wg sync.WaitGroup
	start := time.Now()
	for range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				next.Lock()
				k := i
				i++
				next.Unlock()
				if k >= n {
					return
				}
				t0 := time.Now()
				if _, err := warmPost(hc, url, body); err != nil {
					b.Error(err)
					return
				}
				lat[k] = time.Since(t0)
			}
		}()
	}
	wg.Wait()
	took := time.Since(start)
	slices.Sort(lat)
	return warmResult{rate: float64(n) / took.Seconds(), p50: lat[n/2]}
}

// BenchmarkLoggedWrite is what a store write costs its writer on Redis
// (cache.RedisWriteLog.Written: number it, announce it, and, with leases,
// wait until every replica holding one has applied it) with each check of
// the kept answers: replicas=N other replicas follow the log, each on a
// client of its own; with check=each or interval none holds a lease.
func BenchmarkLoggedWrite(b *testing.B) {
	for _, tc := range []struct {
		check    answer.Check
		replicas int
	}{{answer.CheckEach, 1}, {answer.CheckLease, 1}, {answer.CheckLease, 3}} {
		b.Run(fmt.Sprintf("check=%s/replicas=%d", tc.check, tc.replicas), func(b *testing.B) {
			rdb := blRedis(b)
			ns := blNamespace(b, rdb)
			for range tc.replicas {
				blAnswers(b, answer.Options{Log: cache.NewRedisWriteLog(blRedis(b), ns, blDiscard()), Check: tc.check})
			}
			log := cache.NewRedisWriteLog(rdb, ns, blDiscard())
			ctx := context.Background()
			lat := make([]time.Duration, 0, b.N)
			b.ResetTimer()
			for i := range b.N {
				start := time.Now()
				if err := log.Written(ctx, []string{fmt.Sprint("egw:v2:{room:", i%50, "}")}); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(start))
			}
			b.StopTimer()
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Microseconds()), "p50-µs")
			b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds()), "p99-µs")
		})
	}
}
