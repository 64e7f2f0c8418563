package telemetry

// The gateway's Prometheus metrics, all in this file. The packages that see
// the events (engage, cache, webhook, the feed adapter, gqlgen's executor)
// report them through plain function hooks; this file turns the hooks into
// series on a registry made here, so no other package imports Prometheus and
// nothing registers into a global default.
//
// Every label is bounded: upstream routes are the client's templates, cache
// kinds come from a fixed list, webhook services are the known ones (or
// ""), and operation names are truncated and capped in number.

import (
	"context"
	"math"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/cache"
	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/workplace"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/vektah/gqlparser/v2/ast"
)

// metricsNamespace prefixes every series of the gateway.
const metricsNamespace = "engagegw"

// Bounds of the operation label: GraphQL operation names are chosen by
// clients, so both their length and their number are capped.
const (
	MaxOperationName  = 64
	maxOperationNames = 200
	// otherOperations labels the operations past the cap.
	otherOperations = "other"
)

// Metrics holds every series the gateway exports, and hands out the hooks
// that feed them.
type Metrics struct {
	reg *prometheus.Registry

	upstreamCalls      *prometheus.CounterVec
	upstreamDuration   *prometheus.HistogramVec
	tokenRefreshes     *prometheus.CounterVec
	cacheLookups       *prometheus.CounterVec
	answers            *prometheus.CounterVec
	webhooks           *prometheus.CounterVec
	invalidations      *prometheus.CounterVec
	webhookDuplicates  *prometheus.CounterVec
	webhookRereads     *prometheus.CounterVec
	subscriptions      prometheus.Gauge
	streams            prometheus.Gauge
	deliveryLatency    prometheus.Histogram
	operations         *prometheus.CounterVec
	operationTime      *prometheus.HistogramVec
	operationErrors    *prometheus.CounterVec
	breakerTransitions *prometheus.CounterVec
	httpRequests       *prometheus.CounterVec
	httpInFlight       *prometheus.GaugeVec
	httpDuration       *prometheus.HistogramVec
	breakerOpen        *prometheus.GaugeVec
	mirrorCalls        *prometheus.CounterVec
	mirrorVisitorCalls *prometheus.CounterVec
	mirrorMissedDays   prometheus.Counter
	mirrorResyncs      prometheus.Counter
	mirrorAnswers      *prometheus.CounterVec

	namesMu sync.Mutex
	names   map[string]struct{}
}

// Build is which build of the gateway runs: engagegw_build_info's labels.
type Build struct {
	Version, Commit, Go string
}

// NewMetrics creates the registry with the gateway's series and the Go
// runtime's and process's standard ones. routes are the HTTP routes the
// requests are labelled with: the gateway's few, so a client cannot make
// up labels.
func NewMetrics(b Build, routes []string) *Metrics {
	m := &Metrics{
		reg: prometheus.NewRegistry(),
		upstreamCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "upstream_calls_total",
			Help: "HTTP requests sent to the Engage API, by product, route template and status (0: no answer). product is TokenProvider for token requests.",
		}, []string{"product", "route", "status"}),
		upstreamDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "upstream_call_duration_seconds",
			Help:    "Duration of HTTP requests to the Engage API, by product and route template.",
			Buckets: prometheus.DefBuckets,
		}, []string{"product", "route"}),
		tokenRefreshes: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "upstream_token_refreshes_total",
			Help: "Session token requests to the Engage token provider, by result (ok, error).",
		}, []string{"result"}),
		cacheLookups: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "cache_lookups_total",
			Help: "Cache entries looked up by reads, by kind of entry and result (hit, miss).",
		}, []string{"kind", "result"}),
		answers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "answers_total",
			Help: "Queries over HTTP by how they were answered: hit (a kept answer, nothing executed), kept (executed, and its answer kept) or computed (executed, not kept: not a query, an error, or something read from outside the store).",
		}, []string{"outcome"}),
		webhooks: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "webhook_requests_total",
			Help: "Requests to the notification webhooks, by service (\"\" for an unknown path) and status answered; non-2xx are rejected.",
		}, []string{"service", "status"}),
		invalidations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "webhook_invalidations_total",
			Help: "Changes from webhook deliveries invalidated in the cache, by service.",
		}, []string{"service"}),
		webhookDuplicates: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "webhook_duplicates_total",
			Help: "Webhook deliveries acknowledged without being processed, by service and what recognised them: delivery (a seen delivery id: the upstream's retry or duplicate) or body (a body processed under another id within the replay window: a replay, or a change announced like the one before).",
		}, []string{"service", "by"}),
		webhookRereads: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "webhook_rereads_total",
			Help: "Re-reads of a webhook body that came again within its replay window, run once the window ended, by service.",
		}, []string{"service"}),
		subscriptions: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "subscriptions_open",
			Help: "GraphQL subscriptions open on this replica, over websockets and SSE.",
		}),
		streams: prometheus.NewGauge(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "subscription_streams_open",
			Help: "Distinct subscription streams reading the change feed on this replica: the subscriptions of one operation, variables and visibility share one, which resolves each change once for all of them.",
		}),
		deliveryLatency: prometheus.NewHistogram(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "subscription_delivery_latency_seconds",
			Help:    "Time from a webhook's arrival (on any replica) to its change being handed to a subscription on this replica.",
			Buckets: prometheus.DefBuckets,
		}),
		operations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "graphql_operations_total",
			Help: "GraphQL operations, by operation name (anonymous, invalid, or other past the cap) and type (query, mutation, subscription, unknown).",
		}, []string{"operation", "type"}),
		operationTime: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "graphql_operation_duration_seconds",
			Help:    "Duration of GraphQL queries and mutations, from the request's start to the response, by operation name and type.",
			Buckets: prometheus.DefBuckets,
		}, []string{"operation", "type"}),
		operationErrors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "graphql_operation_errors_total",
			Help: "GraphQL responses that carried errors, by operation name and type.",
		}, []string{"operation", "type"}),
		httpRequests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "http_requests_total",
			Help: "HTTP requests answered, by route (" + strings.Join(routes, ", ") + "), method (OTHER for a method HTTP does not define) and status (101 for a websocket, counted once accepted).",
		}, []string{"route", "method", "status"}),
		httpInFlight: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "http_requests_in_flight",
			Help: "HTTP requests being served, by route; SSE streams count while they are open, websockets until they are accepted.",
		}, []string{"route"}),
		httpDuration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Namespace: metricsNamespace, Name: "http_request_duration_seconds",
			Help:    "How long HTTP requests took to answer, by route; an SSE stream, how long it was open; a websocket, its upgrade.",
			Buckets: []float64{.001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10, 30, 60, 300, 3600},
		}, []string{"route"}),
		breakerTransitions: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "upstream_breaker_transitions_total",
			Help: "Transitions of the upstream circuit breakers, by product and the state entered.",
		}, []string{"product", "state"}),
		breakerOpen: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "upstream_breaker_open",
			Help: "1 while the product's circuit breaker is open or half-open (calls fail fast), 0 when closed.",
		}, []string{"product"}),
		mirrorCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "mirror_upstream_reads_total",
			Help: "Upstream reads of room and desk bookings made by this replica's cache, by cause: fill (the mirror's first fill), roll (days entering the window), refill (held days the store lost), change (a notification's re-read), sweep (the repair sweep), read (a read of what the mirror does not hold).",
		}, []string{"cause"}),
		mirrorVisitorCalls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "mirror_visitor_reads_total",
			Help: "Upstream reads of visitor lists (each page) made by this replica's cache, by cause, as mirror_upstream_reads_total counts bookings': roll is a location's new day, read at its local midnight.",
		}, []string{"cause"}),
		mirrorMissedDays: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "mirror_missed_notifications_total",
			Help: "Held days (room-days, desk-days, location-days of visitors) the mirror's sweep found different from Engage on this replica: changes whose notification never arrived.",
		}),
		mirrorResyncs: prometheus.NewCounter(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "mirror_resyncs_total",
			Help: "Times this replica's mirror worker dropped every held day to read them again, after no replica could receive notifications for longer than Engage retries them.",
		}),
		mirrorAnswers: prometheus.NewCounterVec(prometheus.CounterOpts{
			Namespace: metricsNamespace, Name: "mirror_availability_answers_total",
			Help: "Availability queries on this replica (query: freeSlots, availableRooms, availableDesks), by how they were answered: derived (from the mirror's held days, no call) or upstream (passed to Engage: the mirror does not hold all they depend on, or is not live).",
		}, []string{"query", "answer"}),
		names: map[string]struct{}{},
	}
	m.reg.MustRegister(
		prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "build_info",
			Help:        "Always 1; its labels say which build this replica runs: version, commit (with -dirty when built from a changed tree) and goversion.",
			ConstLabels: prometheus.Labels{"version": b.Version, "commit": b.Commit, "goversion": b.Go},
		}, func() float64 { return 1 }),
		collectors.NewGoCollector(),
		collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		m.upstreamCalls, m.upstreamDuration, m.tokenRefreshes, m.cacheLookups, m.answers,
		m.webhooks, m.invalidations, m.webhookDuplicates, m.webhookRereads, m.subscriptions, m.streams, m.deliveryLatency,
		m.operations, m.operationTime, m.operationErrors,
		m.httpRequests, m.httpInFlight, m.httpDuration,
		m.breakerTransitions, m.breakerOpen, m.mirrorCalls, m.mirrorVisitorCalls, m.mirrorMissedDays, m.mirrorResyncs,
		m.mirrorAnswers,
	)
	// The breakers' series exist from the start, every breaker closed, so a
	// dashboard or an alert sees them before the first trip.
	for _, p := range engage.Products() {
		m.breakerOpen.WithLabelValues(string(p)).Set(0)
		for _, state := range []string{engage.BreakerOpen, engage.BreakerHalfOpen, engage.BreakerClosed} {
			m.breakerTransitions.WithLabelValues(string(p), state)
		}
	}
	for _, route := range routes {
		m.httpInFlight.WithLabelValues(route)
	}
	return m
}

// Started and finished make the metrics the server's httpObserver.
func (m *Metrics) Started(route string) { m.httpInFlight.WithLabelValues(route).Inc() }

func (m *Metrics) Finished(route, method string, status int, d time.Duration) {
	m.httpInFlight.WithLabelValues(route).Dec()
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete,
		http.MethodOptions, http.MethodConnect, http.MethodTrace:
	default:
		method = "OTHER"
	}
	m.httpRequests.WithLabelValues(route, method, strconv.Itoa(status)).Inc()
	m.httpDuration.WithLabelValues(route).Observe(d.Seconds())
}

// ObserveUpstream is engage.Config.Observe.
func (m *Metrics) ObserveUpstream(p engage.Product, route string, status int, d time.Duration) {
	product := string(p)
	if product == "" {
		product = "TokenProvider"
	}
	m.upstreamCalls.WithLabelValues(product, route, strconv.Itoa(status)).Inc()
	m.upstreamDuration.WithLabelValues(product, route).Observe(d.Seconds())
}

// TokenRefreshed is engage.Config.OnTokenRefresh.
func (m *Metrics) TokenRefreshed(err error) {
	result := "ok"
	if err != nil {
		result = "error"
	}
	m.tokenRefreshes.WithLabelValues(result).Inc()
}

// Answered is answer.HandlerOptions.Served. A kept answer served counts as
// its query's operation too, with no duration (nothing ran).
func (m *Metrics) Answered(_ context.Context, outcome, name string) {
	m.answers.WithLabelValues(outcome).Inc()
	if outcome == "hit" {
		if name == "" {
			name = "anonymous"
		}
		m.operations.WithLabelValues(m.operationName(name), "query").Inc()
	}
}

// CacheLookup is cache.Options.OnLookup.
func (m *Metrics) CacheLookup(kind string, hit bool) {
	result := "miss"
	if hit {
		result = "hit"
	}
	m.cacheLookups.WithLabelValues(kind, result).Inc()
}

// WebhookResult is webhook.Options.OnResult.
func (m *Metrics) WebhookResult(service string, status, invalidated int) {
	m.webhooks.WithLabelValues(service, strconv.Itoa(status)).Inc()
	if invalidated > 0 {
		m.invalidations.WithLabelValues(service).Add(float64(invalidated))
	}
}

// WebhookDuplicate is webhook.Options.OnDuplicate.
func (m *Metrics) WebhookDuplicate(service, by string) {
	m.webhookDuplicates.WithLabelValues(service, by).Inc()
}

// WebhookReread is webhook.Options.OnReread; its invalidations count with
// the deliveries'.
func (m *Metrics) WebhookReread(service string, invalidated int) {
	m.webhookRereads.WithLabelValues(service).Inc()
	if invalidated > 0 {
		m.invalidations.WithLabelValues(service).Add(float64(invalidated))
	}
}

// WatchRateLimits exports, per product, how long the upstream client still
// holds its key back after a rate-limited answer: the one part of the
// upstream's budget the gateway knows (Engage publishes no remaining
// quota). It is read at scrape time.
func (m *Metrics) WatchRateLimits(heldFor func(engage.Product) time.Duration) {
	for _, p := range engage.Products() {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "upstream_rate_limited_seconds",
			Help:        "Seconds until calls of the product may go again after the upstream rate-limited its key; 0 when not held back.",
			ConstLabels: prometheus.Labels{"product": string(p)},
		}, func() float64 { return heldFor(p).Seconds() }))
	}
}

// WatchBudget exports, per product, how many upstream calls its
// subscription key could still make at once under the fleet's shared budget
// (the tighter of the minute and the week rate). It is read at scrape time,
// from Redis when the fleet shares one.
func (m *Metrics) WatchBudget(keyIDs map[engage.Product]string, remaining func(keyID string) float64) {
	for p, id := range keyIDs {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{
			Namespace: metricsNamespace, Name: "upstream_budget_remaining",
			Help:        "Upstream calls the product's subscription key may still make at once under the fleet's shared budget.",
			ConstLabels: prometheus.Labels{"product": string(p)},
		}, func() float64 { return remaining(id) }))
	}
}

// MirrorCall is cache.MirrorOptions.OnCall.
func (m *Metrics) MirrorCall(cause string) { m.mirrorCalls.WithLabelValues(cause).Inc() }

// MirrorVisitorCall is cache.MirrorOptions.OnVisitorCall.
func (m *Metrics) MirrorVisitorCall(cause string) { m.mirrorVisitorCalls.WithLabelValues(cause).Inc() }

// MirrorAnswered is cache.MirrorOptions.OnAnswer.
func (m *Metrics) MirrorAnswered(query string, derived bool) {
	answer := "upstream"
	if derived {
		answer = "derived"
	}
	m.mirrorAnswers.WithLabelValues(query, answer).Inc()
}

// MirrorResynced is cache.MirrorOptions.OnResync.
func (m *Metrics) MirrorResynced() { m.mirrorResyncs.Inc() }

// MirrorMissed is cache.MirrorOptions.OnMissed.
func (m *Metrics) MirrorMissed(n int) { m.mirrorMissedDays.Add(float64(n)) }

// WatchMirror exports the mirror's status as its worker last wrote it
// (every replica shows the fleet's), whether this replica is the worker,
// and the forecast of the week's upstream calls. They are read at scrape
// time.
func (m *Metrics) WatchMirror(status func() (cache.MirrorStatus, bool), worker func() bool, rounds func() int64, week func() (float64, bool)) {
	gauge := func(name, help string, f func(cache.MirrorStatus) float64) {
		m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: name, Help: help}, func() float64 {
			st, ok := status()
			if !ok {
				return math.NaN()
			}
			return f(st)
		}))
	}
	gauge("mirror_coverage_ratio", "Share of the days the mirror must hold (every room's, today-3 to today+15 in UTC dates; every location's visitor lists, today to today+13 local) that it holds; NaN before its worker's first round.",
		func(st cache.MirrorStatus) float64 { return st.Coverage() })
	gauge("mirror_rooms", "Rooms the mirror holds bookings for.", func(st cache.MirrorStatus) float64 { return float64(st.Rooms) })
	gauge("mirror_desks", "Desks the mirror holds bookings for: those read in the last 14 days.", func(st cache.MirrorStatus) float64 { return float64(st.Desks) })
	gauge("mirror_locations", "Locations the mirror holds visitor lists for (0 with MIRROR_VISITORS=off).", func(st cache.MirrorStatus) float64 { return float64(st.Locations) })
	gauge("mirror_oldest_data_seconds", "Age of the mirror's least recently verified room, desk or location's visitor lists (read in full by the fill or the sweep); NaN while one never was.",
		func(st cache.MirrorStatus) float64 {
			if st.OldestVerified.IsZero() {
				return math.NaN()
			}
			return st.At.Sub(st.OldestVerified).Seconds()
		})
	gauge("mirror_sweep_rooms_done", "Rooms, desks and locations (in that order) the current sweep of the mirror has re-read.", func(st cache.MirrorStatus) float64 { return float64(st.SweepCursor) })
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "mirror_worker",
		Help: "1 while this replica runs the mirror's worker (fill, roll, sweep), 0 otherwise."}, func() float64 {
		if worker() {
			return 1
		}
		return 0
	}))
	m.reg.MustRegister(prometheus.NewCounterFunc(prometheus.CounterOpts{Namespace: metricsNamespace, Name: "mirror_worker_rounds_total",
		Help: "Rounds (fill, roll, sweep) this replica has run as the mirror's worker."}, func() float64 { return float64(rounds()) }))
	m.reg.MustRegister(prometheus.NewGaugeFunc(prometheus.GaugeOpts{Namespace: metricsNamespace, Name: "upstream_calls_week_forecast",
		Help: "Upstream calls the whole fleet would make in a week at the pace of the last day; NaN before a minute of history."}, func() float64 {
		w, ok := week()
		if !ok {
			return math.NaN()
		}
		return w
	}))
}

// BreakerChanged is engage.Config.OnBreaker: each transition of a
// product's circuit breaker, and its state now (1 while open or probing).
func (m *Metrics) BreakerChanged(p engage.Product, state string) {
	m.breakerTransitions.WithLabelValues(string(p), state).Inc()
	v := 1.0
	if state == engage.BreakerClosed {
		v = 0
	}
	m.breakerOpen.WithLabelValues(string(p)).Set(v)
}

// SubscriptionOpened hears the subscriptions open and close.
func (m *Metrics) SubscriptionOpened(delta int) { m.subscriptions.Add(float64(delta)) }

// StreamOpened is brokerFeed.opened: each shared stream reads the feed.
func (m *Metrics) StreamOpened(delta int) { m.streams.Add(float64(delta)) }

// ChangeDelivered is brokerFeed.delivered.
func (m *Metrics) ChangeDelivered(c workplace.Change) {
	if !c.At.IsZero() {
		m.deliveryLatency.Observe(time.Since(c.At).Seconds())
	}
}

// operationName bounds a client-chosen operation name as a label value.
func (m *Metrics) operationName(name string) string {
	if len(name) > MaxOperationName {
		name = name[:MaxOperationName]
	}
	m.namesMu.Lock()
	defer m.namesMu.Unlock()
	if _, ok := m.names[name]; ok {
		return name
	}
	if len(m.names) >= maxOperationNames {
		return otherOperations
	}
	m.names[name] = struct{}{}
	return name
}

// operationLabels names ctx's operation and its type.
func (m *Metrics) operationLabels(ctx context.Context) (name, typ string) {
	if !graphql.HasOperationContext(ctx) {
		return "invalid", "unknown"
	}
	op := graphql.GetOperationContext(ctx).Operation
	switch {
	case op == nil:
		return "invalid", "unknown"
	case op.Name == "":
		return "anonymous", string(op.Operation)
	}
	return m.operationName(op.Name), string(op.Operation)
}

// recordOperation counts one finished operation, which failed when a
// response of it carried errors.
func (m *Metrics) recordOperation(ctx context.Context, name, typ string, failed bool) {
	m.operations.WithLabelValues(name, typ).Inc()
	if graphql.HasOperationContext(ctx) {
		if start := graphql.GetOperationContext(ctx).Stats.OperationStart; !start.IsZero() {
			m.operationTime.WithLabelValues(name, typ).Observe(time.Since(start).Seconds())
		}
	}
	if failed {
		m.operationErrors.WithLabelValues(name, typ).Inc()
	}
}

// Registry is the registry /metrics serves.
func (m *Metrics) Registry() *prometheus.Registry { return m.reg }

// Extension is the gqlgen extension that counts operations.
func (m *Metrics) Extension() graphql.HandlerExtension { return graphqlMetrics{m} }

// graphqlMetrics is the gqlgen extension that counts operations. Executed
// operations are measured around their execution (InterceptOperation);
// those rejected before it (unparsable, invalid, over the limits) never
// reach that point and are counted from their one response
// (InterceptResponse), told apart by a mark the first path leaves in the
// context the transports pass on to the responses.
type graphqlMetrics struct{ m *Metrics }

var (
	_ graphql.HandlerExtension     = graphqlMetrics{}
	_ graphql.OperationInterceptor = graphqlMetrics{}
	_ graphql.ResponseInterceptor  = graphqlMetrics{}
)

// executedKey marks a context whose operation InterceptOperation measures.
type executedKey struct{}

func (graphqlMetrics) ExtensionName() string                          { return "Metrics" }
func (graphqlMetrics) Validate(schema graphql.ExecutableSchema) error { return nil }

// InterceptOperation measures an executed operation. A query or mutation is
// counted when its one response is ready; a subscription is counted once
// when it starts (its duration is its client's choice, so none is
// recorded), and each of its payloads that carries errors counts as one
// error.
func (g graphqlMetrics) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	name, typ := g.m.operationLabels(ctx)
	responses := next(context.WithValue(ctx, executedKey{}, true))
	if typ == string(ast.Subscription) {
		g.m.operations.WithLabelValues(name, typ).Inc()
		return func(ctx context.Context) *graphql.Response {
			resp := responses(ctx)
			if resp != nil && len(resp.Errors) > 0 {
				g.m.operationErrors.WithLabelValues(name, typ).Inc()
			}
			return resp
		}
	}
	// A query with @defer has several responses: it is counted once, when
	// the last has gone (or the request ended first), as failed if any of
	// them carried errors.
	done, failed := false, false
	return func(rctx context.Context) *graphql.Response {
		resp := responses(rctx)
		failed = failed || (resp != nil && len(resp.Errors) > 0)
		if !done && (resp == nil || resp.HasNext == nil || !*resp.HasNext) {
			done = true
			g.m.recordOperation(ctx, name, typ, failed)
		}
		return resp
	}
}

// InterceptResponse counts the operations rejected before execution.
func (g graphqlMetrics) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if ctx.Value(executedKey{}) == nil {
		name, typ := g.m.operationLabels(ctx)
		g.m.recordOperation(ctx, name, typ, resp != nil && len(resp.Errors) > 0)
	}
	return resp
}
