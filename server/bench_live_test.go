package server

// Live benchmarks of three numbers, run by bench/run-live.sh and
// explained in bench/live.md:
//   - the representative queries through the cache, warm against cold, on
//     a memory store and on Redis (BenchmarkLiveQueries);
//   - webhook received on replica A to subscriber notified on replica B,
//     through one Redis (BenchmarkLiveWebhookToSubscriber);
//   - memory per open subscription, in the broker and through the GraphQL
//     subscription path (BenchmarkLiveSubscriptionMemory), and per
//     websocket, idle before connection_init and subscribed
//     (BenchmarkLiveWebsocketMemory).
// The operations and the tenant are api_callcount_test.go's (newCCEnv and the
// cc*Query constants), so the calls per operation here can be read against
// the exact counts asserted there.

import (
	"bufio"
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"runtime"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engagegql/gateway/answer"
	"github.com/engagegql/gateway/cache"
	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/pubsub"
	"github.com/engagegql/gateway/webhook"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/require"
)

// blOp is one representative operation with its variables.
type blOp struct {
	name  string
	query string
	vars  map[string]any
}

// blOps are api_callcount_test.go's four operations on e's tenant.
func blOps(e *ccEnv) []blOp {
	floor, _ := e.busiestFloor()
	monday, sunday := e.week()
	return []blOp{
		{"a-rooms", ccRoomsQuery, map[string]any{"id": e.locID}},
		{"b-desks", ccDesksQuery, map[string]any{"loc": e.locID, "floor": floor, "from": e.day(monday), "to": e.day(sunday)}},
		{"c-visitors", ccVisitorsQuery, map[string]any{"date": e.day(e.today), "loc": e.locID}},
		{"d-booking", ccBookingQuery, map[string]any{"id": e.bookingID}},
	}
}

// blSim is the simulator's configuration here: the demo tenant with its
// rate limit and weekly quota lifted, since a benchmark makes thousands of
// calls a minute (the real 500 a minute per key is what the cache is for;
// bench/live.md puts the calls per operation against it).
func blSim() engagesim.Config {
	return engagesim.Config{RatePerMinute: 1 << 30, QuotaPerWeek: 1 << 30}
}

// blClient posts operations to one gateway over loopback HTTP, keeping
// enough idle connections that parallel benchmarks do not redial.
type blClient struct {
	url string
	hc  *http.Client
}

func newBLClient(url string) *blClient {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	return &blClient{url: url, hc: &http.Client{Transport: tr}}
}

// do runs one operation; it is safe from any goroutine.
func (c *blClient) do(op blOp) error {
	body, err := json.Marshal(map[string]any{"query": op.query, "variables": op.vars})
	if err != nil {
		return err
	}
	resp, err := c.hc.Post(c.url+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out gqlResponse
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err
	}
	if len(out.Errors) > 0 {
		return fmt.Errorf("%s: %s", op.name, out.Errors[0].Message)
	}
	return nil
}

// blStore is a cache.Store whose backing store a benchmark swaps between
// operations, so each cold operation meets an empty cache while the gateway,
// its upstream client (token, location zones) and its connections stay warm.
type blStore struct{ cur atomic.Pointer[cache.Store] }

func (s *blStore) swap(st cache.Store) { s.cur.Store(&st) }
func (s *blStore) store() cache.Store  { return *s.cur.Load() }

func (s *blStore) Get(ctx context.Context, keys []string) ([]cache.Entry, error) {
	return s.store().Get(ctx, keys)
}
func (s *blStore) Set(ctx context.Context, items []cache.Item) error {
	return s.store().Set(ctx, items)
}
func (s *blStore) Invalidate(ctx context.Context, keys []string) error {
	return s.store().Invalidate(ctx, keys)
}
func (s *blStore) Has(ctx context.Context, keys []string) ([]bool, error) {
	return s.store().Has(ctx, keys)
}
func (s *blStore) Bump(ctx context.Context, keys []string) ([]int64, error) {
	return s.store().Bump(ctx, keys)
}
func (s *blStore) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	return s.store().Claim(ctx, key, ttl)
}
func (s *blStore) Release(ctx context.Context, key string) error {
	return s.store().Release(ctx, key)
}
func (s *blStore) Ping(ctx context.Context) error { return s.store().Ping(ctx) }

// blDiscard is the benchmarks' logger: what the gateway logs is not measured.
func blDiscard() *slog.Logger { return slog.New(slog.DiscardHandler) }

// blRedis returns a client of REDIS_URL, closed when the benchmark ends,
// and skips the benchmark without one.
func blRedis(b *testing.B) *redis.Client {
	b.Helper()
	raw := os.Getenv("REDIS_URL")
	if raw == "" {
		b.Skip("REDIS_URL is not set; bench/run-live.sh starts a redis-server")
	}
	opts, err := redis.ParseURL(raw)
	require.NoError(b, err)
	opts.ContextTimeoutEnabled = true // as engine.go sets it
	rdb := redis.NewClient(opts)
	b.Cleanup(func() { _ = rdb.Close() })
	require.NoError(b, rdb.Ping(context.Background()).Err())
	return rdb
}

// blNamespace returns a key prefix no other run uses, and deletes every
// key under it when the benchmark ends.
func blNamespace(b *testing.B, rdb *redis.Client) string {
	b.Helper()
	ns := fmt.Sprintf("benchlive:%d:", time.Now().UnixNano())
	b.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, ns+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
			if len(keys) == 1000 {
				_ = rdb.Unlink(ctx, keys...).Err()
				keys = keys[:0]
			}
		}
		if len(keys) > 0 {
			_ = rdb.Unlink(ctx, keys...).Err()
		}
	})
	return ns
}

// blGateway serves a gateway on the stack's warmed upstream client whose
// reads go through a cache on store, with loaders tuned by opts.
func blGateway(b *testing.B, e *ccEnv, store cache.Store, opts loader.Options) *blClient {
	b.Helper()
	return blGatewayWith(b, e, store, opts, nil)
}

// blGatewayWith is blGateway keeping answers in answers (nil: none), whose
// log store's writes must reach.
func blGatewayWith(b *testing.B, e *ccEnv, store cache.Store, opts loader.Options, answers *answer.Cache) *blClient {
	b.Helper()
	log := blDiscard()
	svc := cache.New(e.client, store, cache.Options{Logger: log})
	gw := httptest.NewServer(newServer(serverDeps{log: log, service: svc, token: e.client, loaders: opts, answers: answers}))
	b.Cleanup(gw.Close)
	return newBLClient(gw.URL)
}

// blCalls reports the upstream calls made since before, per operation.
func blCalls(b *testing.B, sim *engagesim.Sim, before int) {
	b.ReportMetric(float64(sim.Stats().TotalCalls-before)/float64(b.N), "upstream-calls/op")
}

// blParallel runs op from 2×GOMAXPROCS×4 goroutines (the operations wait
// on loopback HTTP most of the time) and reports operations per second.
func blParallel(b *testing.B, sim *engagesim.Sim, c *blClient, op blOp) {
	b.SetParallelism(4)
	before := sim.Stats().TotalCalls
	start := time.Now()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if err := c.do(op); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "ops/s")
	blCalls(b, sim, before)
}

// BenchmarkLiveQueries measures the four representative operations through
// the gateway and its cache, on each store:
//   - cold: the cache is empty before every operation (a fresh memory store,
//     or a fresh Redis namespace, swapped in with the timer stopped);
//   - warm: after one priming operation, every read is a hit;
//   - warm-parallel: warm, from many goroutines at once (throughput);
//
// and, as the baseline a cold cache cannot beat, store=none: the gateway
// without a cache, serially and in parallel.
func BenchmarkLiveQueries(b *testing.B) {
	e := newCCEnv(b, blSim(), loader.Options{}, false)
	ops := blOps(e)
	// Every operation succeeds on the uncached gateway first.
	direct := newBLClient(e.gwURL)
	for _, op := range ops {
		require.NoError(b, direct.do(op))
	}

	memory := func(*testing.B) func() cache.Store {
		return func() cache.Store { return cache.NewMemoryStore() }
	}
	stores := []struct {
		name    string
		fresh   func(b *testing.B) func() cache.Store
		loaders loader.Options
	}{
		{name: "memory", fresh: memory},
		// A warm operation makes no upstream call, yet each level of the
		// query still waits out the loaders' batching window (2ms by
		// default); this shows what that window costs.
		{name: "memory-wait=50us", fresh: memory, loaders: loader.Options{Wait: 50 * time.Microsecond}},
		{name: "redis", fresh: func(b *testing.B) func() cache.Store {
			rdb := blRedis(b)
			base := blNamespace(b, rdb)
			var n atomic.Int64
			return func() cache.Store {
				return cache.NewRedisStore(rdb, cache.StoreOptions{Namespace: fmt.Sprintf("%s%d:", base, n.Add(1))})
			}
		}},
	}
	for _, st := range stores {
		b.Run("store="+st.name, func(b *testing.B) {
			fresh := st.fresh(b)
			ls := &blStore{}
			ls.swap(fresh())
			c := blGateway(b, e, ls, st.loaders)
			for _, op := range ops {
				b.Run(op.name+"/cold", func(b *testing.B) {
					before := e.sim.Stats().TotalCalls
					b.ResetTimer()
					for range b.N {
						b.StopTimer()
						ls.swap(fresh())
						b.StartTimer()
						if err := c.do(op); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					blCalls(b, e.sim, before)
				})
				b.Run(op.name+"/warm", func(b *testing.B) {
					ls.swap(fresh())
					require.NoError(b, c.do(op))
					before := e.sim.Stats().TotalCalls
					b.ResetTimer()
					for range b.N {
						if err := c.do(op); err != nil {
							b.Fatal(err)
						}
					}
					b.StopTimer()
					blCalls(b, e.sim, before)
				})
				b.Run(op.name+"/warm-parallel", func(b *testing.B) {
					ls.swap(fresh())
					require.NoError(b, c.do(op))
					blParallel(b, e.sim, c, op)
				})
			}
		})
	}
	b.Run("store=none", func(b *testing.B) {
		for _, op := range ops {
			b.Run(op.name+"/serial", func(b *testing.B) {
				before := e.sim.Stats().TotalCalls
				b.ResetTimer()
				for range b.N {
					if err := direct.do(op); err != nil {
						b.Fatal(err)
					}
				}
				b.StopTimer()
				blCalls(b, e.sim, before)
			})
			b.Run(op.name+"/parallel", func(b *testing.B) { blParallel(b, e.sim, direct, op) })
		}
	})
}

// blEvent is one server-sent event and when the client read it.
type blEvent struct {
	at   time.Time
	data string
}

// blSSE subscribes over server-sent events and returns the events as they
// arrive, each stamped on arrival; the stream ends with the benchmark.
// (helpers_test.go's sseEvents takes a *testing.T and stamps nothing.)
func blSSE(b *testing.B, url, query string, vars map[string]any) <-chan blEvent {
	b.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	b.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/graphql", bytes.NewReader(body))
	require.NoError(b, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(b, err)
	require.Equal(b, http.StatusOK, resp.StatusCode)
	out := make(chan blEvent, 1024)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				out <- blEvent{at: time.Now(), data: data}
			}
		}
	}()
	return out
}

// blWait polls cond every millisecond until it holds or 10 s pass.
func blWait(b *testing.B, what string, cond func() bool) {
	b.Helper()
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	deadline := time.After(10 * time.Second)
	for !cond() {
		select {
		case <-tick.C:
		case <-deadline:
			b.Fatalf("timed out waiting for %s", what)
		}
	}
}

// blReplica is one gateway of a two-replica fleet in this process.
type blReplica struct {
	url    string
	broker *pubsub.Redis
}

// blUpstream returns a new upstream client of the simulator at simURL:
// each replica has its own, as separate processes would.
func blUpstream(b *testing.B, simURL string) *engage.Client {
	b.Helper()
	keys := map[engage.Product]string{}
	for p, k := range engagesim.DefaultKeys() {
		keys[engage.Product(p)] = k
	}
	client, err := engage.New(engage.Config{
		TokenURL: simURL + "/tokenproviderapi/token",
		APIURL:   simURL + "/" + engagesim.DefaultTenant + "/api/V1",
		ClientID: engagesim.DefaultClientID,
		Password: engagesim.DefaultPassword,
		Keys:     keys,
		Logger:   blDiscard(),
	})
	require.NoError(b, err)
	return client
}

// newBLReplica wires a replica as run() does with REDIS_URL: its own
// Redis client and upstream client, the shared cache namespace, a Redis
// broker on channel, and the webhook receiver signed with secret.
func newBLReplica(b *testing.B, simURL, ns, channel, secret string) *blReplica {
	b.Helper()
	log := blDiscard()
	rdb := blRedis(b)
	broker, err := pubsub.NewRedis(rdb, pubsub.Options{Channel: channel, Logger: log})
	require.NoError(b, err)
	b.Cleanup(func() { _ = broker.Close() })
	store := cache.NewRedisStore(rdb, cache.StoreOptions{Namespace: ns})
	client := blUpstream(b, simURL)
	svc := cache.New(client, store, cache.Options{Logger: log})
	hooks, err := webhook.NewHandler(webhook.Options{
		Secret: secret, Invalidator: svc, Publisher: broker, Deduper: deliveryLog{store}, Logger: log,
	})
	require.NoError(b, err)
	gw := httptest.NewServer(newServer(serverDeps{
		log: log, service: svc, token: client, redis: rdb, feed: brokerFeed{b: broker}, hooks: hooks,
	}))
	b.Cleanup(gw.Close)
	return &blReplica{url: gw.URL, broker: broker}
}

// blDistinct makes body, a JSON object, a notification of its own by
// writing n in base 4 as whitespace after its opening brace. The gateway
// takes the same bytes under a new delivery id for a replay (and re-reads
// them only when the replay window ends), and the upstream announces every
// update of one booking with the same bytes; whitespace changes the bytes,
// not what the body says, so each iteration is processed as a new change.
func blDistinct(body []byte, n int64) []byte {
	const ws = " \t\n\r"
	out := []byte{body[0]}
	for ; n > 0; n /= 4 {
		out = append(out, ws[n%4])
	}
	return append(out, body[1:]...)
}

// blPercentile is the nearest-rank percentile p (0-100) of sorted ds.
func blPercentile(ds []time.Duration, p int) time.Duration {
	i := (p*len(ds)+99)/100 - 1
	return ds[max(i, 0)]
}

// BenchmarkLiveWebhookToSubscriber measures, across two replicas sharing
// one Redis, the time from just before a signed Meeting External delivery
// is posted to replica A until the bookingChanged event it causes is read
// from an SSE subscription on replica B. Each iteration is a new delivery
// (its own X-Engage-Delivery, and bytes of its own: see blDistinct)
// announcing an update of the featured booking.
// Two payloads: ids only (the change as it crossed Redis), and with the
// booking, which B re-reads through the cache A just invalidated (one
// upstream GET /bookings/{id}).
func BenchmarkLiveWebhookToSubscriber(b *testing.B) {
	blRedis(b) // skip early without Redis
	e := newCCEnv(b, blSim(), loader.Options{}, false)
	const secret = "bench-live-secret"
	ns := blNamespace(b, blRedis(b))
	// Redis pub/sub ignores databases: a channel of this run only.
	channel := ns + "changes"
	a := newBLReplica(b, e.simURL, ns, channel, secret)
	replB := newBLReplica(b, e.simURL, ns, channel, secret)

	date := e.today.Format("2006-01-02") + "T00:00:00"
	hc := newBLClient(a.url).hc
	var seq atomic.Int64

	for _, sel := range []struct{ name, fields string }{
		{"ids", `action bookingId`},
		{"with-booking", `action bookingId booking { id title room { name } }`},
	} {
		b.Run("payload="+sel.name, func(b *testing.B) {
			// The previous run's subscription (benchmarks run more than
			// once) must be gone, or the count below could be its.
			blWait(b, "no subscription on B", func() bool { return replB.broker.Subscribers() == 0 })
			events := blSSE(b, replB.url, `subscription($room: ID!) { bookingChanged(roomIds: [$room]) { `+sel.fields+` } }`,
				map[string]any{"room": e.roomID})
			blWait(b, "the subscription on B", func() bool { return replB.broker.Subscribers() == 1 })

			notified := make([]time.Duration, 0, b.N)
			acked := make([]time.Duration, 0, b.N)
			before := e.sim.Stats().TotalCalls
			b.ResetTimer()
			for range b.N {
				n := seq.Add(1)
				body := blDistinct(fmt.Appendf(nil, `{%q:{"ChangedItems":[{"Action":1,"BookingID":%d,"ResourceItemID":%d}]}}`,
					date, e.featured.ID, e.featured.RoomID), n)
				mac := hmac.New(sha256.New, []byte(secret))
				mac.Write(body)
				signature := "sha256=" + hex.EncodeToString(mac.Sum(nil))
				req, err := http.NewRequest(http.MethodPost, a.url+webhook.MountPath+webhook.PathMeetingExternal, bytes.NewReader(body))
				if err != nil {
					b.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("X-Engage-Event-Type", "3")
				req.Header.Set("X-Engage-Signature", signature)
				req.Header.Set("X-Engage-Delivery", fmt.Sprintf("%s%d", ns, n))
				start := time.Now()
				resp, err := hc.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				_, _ = io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				acked = append(acked, time.Since(start))
				if resp.StatusCode/100 != 2 {
					b.Fatalf("webhook answered %d", resp.StatusCode)
				}
				select {
				case ev, ok := <-events:
					if !ok {
						b.Fatal("the subscription on B ended")
					}
					if !strings.Contains(ev.data, `"UPDATED"`) || strings.Contains(ev.data, `"errors"`) {
						b.Fatalf("unexpected event: %s", ev.data)
					}
					notified = append(notified, ev.at.Sub(start))
				case <-time.After(10 * time.Second):
					b.Fatal("no event on B within 10s")
				}
			}
			b.StopTimer()
			blCalls(b, e.sim, before)
			slices.Sort(notified)
			slices.Sort(acked)
			b.ReportMetric(float64(blPercentile(notified, 50)), "notify-p50-ns")
			b.ReportMetric(float64(blPercentile(notified, 99)), "notify-p99-ns")
			b.ReportMetric(float64(blPercentile(acked, 50)), "ack-p50-ns")
			b.ReportMetric(float64(blPercentile(acked, 99)), "ack-p99-ns")
		})
	}
}

// blMem is what the process holds after two collections: live heap and
// goroutine stacks, in bytes.
func blMem() (heap, stack uint64) {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc, m.StackInuse
}

// blReportMem reports heap and stack growth per unit (a subscription,
// a socket), averaged over the iterations.
func blReportMem(b *testing.B, heap, stack float64, unit string) {
	n := float64(b.N)
	b.ReportMetric(heap/n, "heap-B/"+unit)
	b.ReportMetric(stack/n, "stack-B/"+unit)
	b.ReportMetric((heap+stack)/n, "B/"+unit)
}

// BenchmarkLiveSubscriptionMemory measures what an open subscription holds,
// as heap and goroutine-stack growth over n of them (after GC), divided by
// n; an iteration opens n, measures, and closes them.
//   - broker: n pubsub.Memory subscriptions, each with its own cancellable
//     context as a GraphQL operation has; the same hub serves the Redis
//     broker.
//   - graphql-sse: n bookingChanged subscriptions over SSE, each on its own
//     loopback connection to one gateway: the server side of the
//     connection, gqlgen's operation and the resolver's goroutine. The
//     client side is a raw net.Conn per subscription that wrote its request
//     and reads nothing (no goroutine, no buffers), so nearly all that is
//     counted is the gateway's; kernel socket buffers are not in the Go
//     heap and are not counted. 10,000 here would need over 20,000 file
//     descriptors in this one process (both ends of every connection),
//     above this machine's limit, so this level stops at 1,000.
func BenchmarkLiveSubscriptionMemory(b *testing.B) {
	for _, n := range []int{1000, 10000} {
		b.Run(fmt.Sprintf("level=broker/subs=%d", n), func(b *testing.B) {
			cancels := make([]context.CancelFunc, n)
			subs := make([]*pubsub.Subscription, n)
			var heap, stack float64
			for range b.N {
				broker := pubsub.NewMemory(pubsub.Options{Logger: blDiscard()})
				h0, s0 := blMem()
				for i := range n {
					ctx, cancel := context.WithCancel(context.Background())
					cancels[i], subs[i] = cancel, broker.Subscribe(ctx)
				}
				h1, s1 := blMem()
				if got := broker.Subscribers(); got != n {
					b.Fatalf("%d subscribers, want %d", got, n)
				}
				heap += (float64(h1) - float64(h0)) / float64(n)
				stack += (float64(s1) - float64(s0)) / float64(n)
				for i := range n {
					cancels[i]()
					cancels[i], subs[i] = nil, nil
				}
				_ = broker.Close()
			}
			blReportMem(b, heap, stack, "sub")
		})
	}

	const n = 1000
	b.Run(fmt.Sprintf("level=graphql-sse/subs=%d", n), func(b *testing.B) {
		broker := pubsub.NewMemory(pubsub.Options{Logger: blDiscard()})
		b.Cleanup(func() { _ = broker.Close() })
		s := newStackWithFeed(b, broker)
		addr := strings.TrimPrefix(s.gwURL, "http://")
		body, err := json.Marshal(map[string]any{"query": `subscription { bookingChanged { action bookingId } }`})
		require.NoError(b, err)
		req := fmt.Appendf(nil, "POST /graphql HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: text/event-stream\r\nContent-Length: %d\r\n\r\n%s",
			addr, len(body), body)
		conns := make([]net.Conn, n)
		var heap, stack float64
		for range b.N {
			h0, s0 := blMem()
			for i := range n {
				c, err := net.Dial("tcp", addr)
				if err != nil {
					b.Fatal(err)
				}
				if _, err := c.Write(req); err != nil {
					b.Fatal(err)
				}
				conns[i] = c
			}
			blWait(b, fmt.Sprintf("%d subscriptions", n), func() bool { return s.subscriptions() == n })
			h1, s1 := blMem()
			heap += (float64(h1) - float64(h0)) / float64(n)
			stack += (float64(s1) - float64(s0)) / float64(n)
			for i, c := range conns {
				_ = c.Close()
				conns[i] = nil
			}
			blWait(b, "every subscription to end", func() bool { return broker.Subscribers() == 0 })
		}
		blReportMem(b, heap, stack, "sub")
	})
}

// blWSFrame is one masked text frame from a client, as RFC 6455 requires of
// clients; the masking key is zero, so the payload goes as it is.
func blWSFrame(p []byte) []byte {
	var f []byte
	switch {
	case len(p) < 126:
		f = []byte{0x81, 0x80 | byte(len(p))}
	default:
		f = []byte{0x81, 0x80 | 126, byte(len(p) >> 8), byte(len(p))}
	}
	f = append(f, 0, 0, 0, 0)
	return append(f, p...)
}

// blWSDial opens a loopback connection to addr, upgrades it to a websocket
// speaking subprotocol and reads the 101, with a buffer on the stack; the
// connection then holds no goroutine and no buffer on the client side.
func blWSDial(b *testing.B, addr, subprotocol string) net.Conn {
	b.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		b.Fatal(err)
	}
	req := fmt.Sprintf("GET /graphql HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"+
		"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: %s\r\n\r\n", addr, subprotocol)
	if _, err := io.WriteString(c, req); err != nil {
		b.Fatal(err)
	}
	var buf [512]byte
	got := 0
	for !bytes.Contains(buf[:got], []byte("\r\n\r\n")) {
		n, err := c.Read(buf[got:])
		if err != nil {
			b.Fatalf("upgrade: %v after %q", err, buf[:got])
		}
		got += n
	}
	if !bytes.HasPrefix(buf[:got], []byte("HTTP/1.1 101")) {
		b.Fatalf("upgrade refused: %q", buf[:got])
	}
	return c
}

// BenchmarkLiveWebsocketMemory measures what one websocket holds in the
// gateway, as heap, goroutine-stack and goroutine growth over n of them
// (after GC), divided by n:
//   - idle: sockets upgraded (graphql-transport-ws) that never send
//     connection_init, as a client without a credential can open them;
//   - subscribed: sockets that sent connection_init and one bookingChanged
//     subscription (graphql-transport-ws), registered in the broker.
//
// The client side of each is a raw net.Conn that wrote its frames and
// reads nothing after the 101, as in BenchmarkLiveSubscriptionMemory.
func BenchmarkLiveWebsocketMemory(b *testing.B) {
	const n = 1000
	init := blWSFrame([]byte(`{"type":"connection_init","payload":{}}`))
	subscribe := blWSFrame([]byte(`{"id":"1","type":"subscribe","payload":{"query":"subscription { bookingChanged { action bookingId } }"}}`))
	for _, level := range []string{"idle", "subscribed"} {
		b.Run(fmt.Sprintf("level=%s/socks=%d", level, n), func(b *testing.B) {
			broker := pubsub.NewMemory(pubsub.Options{Logger: blDiscard()})
			b.Cleanup(func() { _ = broker.Close() })
			s := newStackWithFeed(b, broker)
			addr := strings.TrimPrefix(s.gwURL, "http://")
			conns := make([]net.Conn, n)
			var heap, stack, goroutines float64
			for range b.N {
				g0 := runtime.NumGoroutine()
				h0, s0 := blMem()
				for i := range n {
					conns[i] = blWSDial(b, addr, "graphql-transport-ws")
					if level == "subscribed" {
						if _, err := conns[i].Write(append(slices.Clip(init), subscribe...)); err != nil {
							b.Fatal(err)
						}
					}
				}
				if level == "subscribed" {
					blWait(b, fmt.Sprintf("%d subscriptions", n), func() bool { return s.subscriptions() == n })
				}
				h1, s1 := blMem()
				heap += (float64(h1) - float64(h0)) / float64(n)
				stack += (float64(s1) - float64(s0)) / float64(n)
				goroutines += float64(runtime.NumGoroutine()-g0) / float64(n)
				for i, c := range conns {
					_ = c.Close()
					conns[i] = nil
				}
				blWait(b, "every socket to close", func() bool { return broker.Subscribers() == 0 && runtime.NumGoroutine() <= g0+10 })
			}
			blReportMem(b, heap, stack, "sock")
			b.ReportMetric(goroutines/float64(b.N), "goroutines/sock")
		})
	}
}
