package server

import (
	"context"
	"crypto/sha256"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/extension"
	"github.com/99designs/gqlgen/graphql/handler/lru"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/engagegql/gateway/answer"
	"github.com/engagegql/gateway/auth/httpauth"
	"github.com/engagegql/gateway/cache"
	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/fanout"
	"github.com/engagegql/gateway/fleet/budget"
	"github.com/engagegql/gateway/graph"
	"github.com/engagegql/gateway/graphiql"
	"github.com/engagegql/gateway/guard"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/protocol"
	"github.com/engagegql/gateway/resolvers"
	"github.com/engagegql/gateway/socket"
	"github.com/engagegql/gateway/webhook"
	"github.com/engagegql/gateway/workplace"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
	"github.com/redis/go-redis/v9"
	"github.com/vektah/gqlparser/v2/ast"
)

// tokenChecker is the part of the upstream client /readyz asks about.
type tokenChecker interface {
	CheckToken(ctx context.Context) error
}

// serverDeps are what the HTTP surface needs; newServer creates nothing that
// talks to the outside world itself.
type serverDeps struct {
	log *slog.Logger
	// persisted keeps automatic persisted queries; nil keeps them in this
	// process only.
	persisted graphql.Cache[string]
	service   workplace.Service
	token     tokenChecker
	// redis is nil when REDIS_URL is not set.
	redis   redis.UniversalClient
	loaders loader.Options
	// feed streams changes to subscriptions; nil disables them.
	feed resolvers.ChangeFeed
	// subscribers, when set, hears +1 and -1 as subscriptions open and
	// close.
	subscribers func(delta int)
	// hooks receives the upstream's notifications; nil when no
	// WEBHOOK_SECRET is configured (the route then answers 404).
	hooks http.Handler
	// keepAlive is how often a subscription's connection is pinged while no
	// event flows; zero means defaultKeepAlive.
	keepAlive time.Duration
	// websockets accepts the websocket connections; nil means package socket's
	// default. run passes the drainer's, which closes them at shutdown.
	websockets transport.WebsocketImplementation
	// wsInitTimeout is how long a websocket may stay open without
	// connection_init; zero means socket.DefaultInitTimeout.
	wsInitTimeout time.Duration
	// wsMaxSubscriptions bounds the operations one websocket runs at once;
	// zero means socket.DefaultMaxOperations.
	wsMaxSubscriptions int
	// streams caps the subscriptions each client holds at once across the
	// fleet (websocket operations and SSE streams); nil means no cap.
	streams *budget.ClientStreams
	// limits bound each operation and request body; the zero value is the
	// defaults of package guard.
	limits guard.Limits
	// corsOrigins may call /graphql from a browser on another origin (exact
	// origins, or "*"); nil allows none (same-origin only).
	corsOrigins []string
	// wsOrigins are host patterns of the other origins whose pages may open
	// a websocket (as coder/websocket's AcceptOptions.OriginPatterns); nil
	// allows the same origin only. Clients that send no Origin (not
	// browsers) are accepted.
	wsOrigins []string
	// metrics is served at GET /metrics in Prometheus's text format; nil
	// leaves the route out.
	metrics *prometheus.Registry
	// observe is added first to the GraphQL handler's extensions, so it
	// sees every operation (the metrics' operation counter); nil adds none.
	observe graphql.HandlerExtension
	// trace is added before observe: a span per operation (OpenTelemetry);
	// nil when tracing is off.
	trace graphql.HandlerExtension
	// auth authenticates the callers of /graphql; nil lets anyone call it
	// (the embedded demo, or AUTH_DISABLED behind an authenticating proxy).
	auth httpauth.Authenticator
	// actAsGrant is the scope or role that lets a caller act for another
	// user; "" means defaultActAsGrant.
	actAsGrant string
	// privateGrant is the scope or role that shows a caller the titles of
	// private meetings they are not in; "" means defaultPrivateGrant.
	privateGrant string
	// clientLimits is the per-client rate limit; nil means none.
	clientLimits *budget.ClientLimits
	// clientHeader names the header that tells unauthenticated callers
	// apart behind a proxy; "" means their address.
	clientHeader string
	// sseStreams bound graphql-sse's single-connection streams; the zero
	// value is the defaults of package protocol.
	sseStreams protocol.StreamLimits
	// breakers reports the upstream circuit breakers per product for
	// /readyz; nil leaves them out.
	breakers func() map[engage.Product]string
	// mirror is the tenant's mirror, whose status /readyz shows; nil when
	// the cache only reads through.
	mirror *cache.Mirror
	// week forecasts the fleet's upstream calls this week, which /readyz
	// shows against weeklyBudget; nil leaves them out.
	week         func(ctx context.Context) (float64, bool)
	weeklyBudget int
	// answers keeps whole answers of queries; nil keeps none.
	answers *answer.Cache
	// answered hears how each query over HTTP was answered (see
	// answer.HandlerOptions.Served); nil hears nothing.
	answered func(ctx context.Context, outcome, name string)
	// httpObserve counts every HTTP request (the metrics); nil counts none.
	httpObserve httpObserver
	// trusted are the trusted documents; nil serves any document.
	trusted *guard.TrustedDocuments
}

// guard authenticates the callers, with the grants newServer defaults and
// the access log told who called.
func (d serverDeps) guard() httpauth.Guard {
	return httpauth.Guard{
		Auth:         d.auth,
		Grants:       httpauth.Grants{ActAs: d.actAsGrant, Private: d.privateGrant},
		ClientHeader: d.clientHeader,
		OnClient:     noteClient,
		OnRefused:    noteAuthFailure,
	}
}

// defaultKeepAlive pings idle subscription connections well inside the idle
// timeouts of common proxies and load balancers (60 s and up).
const defaultKeepAlive = 10 * time.Second

// newServer returns the whole HTTP surface of the gateway.
func newServer(d serverDeps) http.Handler {
	mux := http.NewServeMux()
	if d.actAsGrant == "" {
		d.actAsGrant = defaultActAsGrant
	}
	if d.privateGrant == "" {
		d.privateGrant = defaultPrivateGrant
	}
	mux.Handle("/graphql", onTheWire(guard.CORS(d.corsOrigins)(d.guard().Handler(guard.LimitBody(d.limits.WithDefaults().MaxBodyBytes)(kept(d, newGraphQL(d)))))))
	mux.Handle("GET /{$}", graphiql.Page(graphiql.Config{Title: "Engage GraphQL Gateway", Endpoint: "/graphql", DefaultQuery: graphiql.ExampleQuery}))
	mux.Handle("GET "+graphiql.AssetsPath, graphiql.Assets())
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, r *http.Request) {
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.Handle("GET /readyz", readyz(d))
	if d.hooks != nil {
		mux.Handle(webhook.MountPath, d.hooks)
	}
	if d.metrics != nil {
		mux.Handle("GET /metrics", promhttp.HandlerFor(d.metrics, promhttp.HandlerOpts{ErrorLog: slog.NewLogLogger(d.log.Handler(), slog.LevelWarn)}))
	}
	return withRequestID(d.log, d.httpObserve, mux)
}

// kept serves the queries whose answers d.answers keeps, and runs the rest
// through next. A kept answer is shared by callers of equal visibility (as
// subscriptions' streams are), and spends from its client's rate like any
// operation.
func kept(d serverDeps, next http.Handler) http.Handler {
	if d.answers == nil {
		return next
	}
	o := answer.HandlerOptions{Visibility: workplace.Visibility, Served: func(ctx context.Context, outcome, name string) {
		if outcome == "hit" {
			// Not executed: the access line names it all the same.
			noteOperation(ctx, "query", name)
		}
		if d.answered != nil {
			d.answered(ctx, outcome, name)
		}
	}}
	if d.clientLimits != nil {
		o.Admit = d.clientLimits.Admit
	}
	return d.answers.Handler(next, o)
}

// subscriptionKey is what makes two subscriptions share a stream: the same
// document, operation and variables (as coerced, so equal values written
// differently share), and the same visibility, so that no result resolved
// for one caller reaches another who may not see it.
func subscriptionKey(ctx context.Context, rc *graphql.OperationContext) string {
	vars, err := json.Marshal(rc.Variables) // map keys sorted
	if err != nil {
		vars = []byte(fmt.Sprintf("%p", rc)) // unshared
	}
	h := sha256.New()
	for _, part := range [][]byte{[]byte(rc.RawQuery), []byte(rc.OperationName), vars, []byte(workplace.Visibility(ctx))} {
		var n [8]byte
		binary.BigEndian.PutUint64(n[:], uint64(len(part)))
		h.Write(n[:])
		h.Write(part)
	}
	return string(h.Sum(nil))
}

// newGraphQL builds the GraphQL handler with explicit transports: HTTP GET
// and POST, server-sent events, and websockets (graphql-transport-ws and
// graphql-ws, by package socket) on the same path.
func newGraphQL(d serverDeps) http.Handler {
	srv := handler.New(graph.NewExecutableSchema(graph.Config{
		Resolvers: &resolvers.Resolver{Service: d.service, Feed: d.feed, Loaders: d.loaders, Logger: d.log},
	}))
	// The websocket accepts same-origin browsers (GraphiQL), non-browser
	// clients, and pages of the origins wsOrigins allows; other cross-origin
	// pages are refused with 403.
	keepAlive := d.keepAlive
	if keepAlive <= 0 {
		keepAlive = defaultKeepAlive
	}
	// graphql-transport-ws connections are pinged and a client that does
	// not answer "pong" within two intervals is dropped (which frees its
	// subscriptions); legacy graphql-ws ones get "ka", SSE ": ping"
	// comments. Websocket messages are bounded like request bodies.
	// Subscriptions of one operation, variables and visibility share one
	// stream, which resolves each change once for all of them.
	shared := fanout.New(fanout.Options{
		Key:         subscriptionKey,
		Subscribers: d.subscribers,
		Encode:      func(r *graphql.Response) ([]byte, error) { return json.Marshal(protocol.Part(r, 0)) },
	})
	upgrader := d.websockets
	if upgrader == nil {
		upgrader = socket.Upgrader{}
	}
	ws := socket.Transport{
		Shared:        shared,
		Upgrader:      httpauth.Sockets{Inner: guard.WebsocketOrigins(d.wsOrigins, upgrader)},
		Init:          d.guard().WebsocketInit(time.Now),
		InitTimeout:   d.wsInitTimeout,
		KeepAlive:     keepAlive,
		MaxOperations: d.wsMaxSubscriptions,
		ReadLimit:     d.limits.WithDefaults().MaxBodyBytes,
		ErrorLog:      d.log,
		Closed:        httpauth.EndSession,
	}
	// The HTTP transports are the gateway's own (package protocol): the
	// GraphQL over HTTP spec's status codes, @defer over multipart/mixed,
	// and both modes of graphql-sse. A client refused by its rate limit
	// gets 429 with Retry-After from each.
	sse := protocol.SSE{
		Shared:    shared,
		KeepAlive: keepAlive,
		Until:     httpauth.CredentialExpiry,
		Client:    budget.ClientKey,
		Refuse:    budget.ClientLimitRefusal,
		Streams:   protocol.NewStreams(d.sseStreams),
	}
	if d.streams != nil {
		// Every websocket operation and every SSE operation holds one of
		// its client's slots while it runs.
		ws.Admit = d.streams.Acquire
		sse.Admit = d.streams.Acquire
	}
	srv.AddTransport(ws)
	srv.AddTransport(sse)
	srv.AddTransport(transport.Options{AllowedMethods: []string{"OPTIONS", "GET", "POST", "PUT", "DELETE"}})
	srv.AddTransport(protocol.HTTP{Refuse: budget.ClientLimitRefusal})
	srv.AddTransport(protocol.Unsupported{})
	if d.trace != nil {
		srv.Use(d.trace)
	}
	if d.observe != nil {
		srv.Use(d.observe)
	}
	srv.Use(accessExtension{})
	parsed := lru.New[*ast.QueryDocument](1000)
	srv.SetQueryCache(parsed)
	// Validation that stays linear in the document (see guard.ValidationRules),
	// so that the document limits the guard checks first bound it.
	srv.SetValidationRulesFn(guard.ValidationRules(d.limits))
	srv.SetDisableSuggestion(true)
	persisted := d.persisted
	if persisted == nil {
		persisted = lru.New[string](1000)
	}
	// Trusted documents, when on, come first: a document named by its id
	// in the manifests gets its text, and in strict mode nothing else
	// reaches the persisted queries below.
	if d.trusted != nil {
		srv.Use(d.trusted)
	}
	// Automatic persisted queries (Apollo's protocol): a client sends the
	// hash of a query it sent before instead of its text.
	srv.Use(extension.AutomaticPersistedQuery{Cache: persisted})
	if !d.limits.DisableIntrospection {
		srv.Use(extension.Introspection{})
	}
	// The document limits are checked before gqlgen parses and validates a
	// document (after the persisted query, if any, is looked up), the
	// others once an operation is validated, before any resolver (so any
	// upstream call) runs. GRAPHQL_TIMEOUT bounds a query with @defer
	// across all its payloads.
	srv.Use(guard.New(d.limits, parsed))
	// A deferred query's first payload leaves out the deferred fields.
	srv.Use(protocol.Incremental{})
	if d.clientLimits != nil {
		// After the limits above: an operation they reject costs its client
		// nothing; one they pass spends from its client's rate before any
		// resolver runs.
		srv.Use(*d.clientLimits)
	}
	srv.SetErrorPresenter(resolvers.ErrorPresenter(d.log))
	srv.SetRecoverFunc(resolvers.Recover(d.log))
	// Loaders are per operation, not per HTTP request, and for a
	// subscription per payload: its payloads each get fresh ones. A query's
	// responses (more than one with @defer, whose deferred fragments
	// resolve on the first one's context) share one set. A subscription's
	// payloads are background work for the upstream budget: a user waiting
	// on a query goes first. Answers served stale (the upstream down) are
	// reported in each response's extensions, counted over the operation.
	srv.AroundOperations(func(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
		if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Subscription {
			responses := next(ctx)
			return func(ctx context.Context) *graphql.Response {
				ctx, stale := workplace.WithStaleness(engage.WithClass(ctx, engage.Background))
				return reportStale(responses(loader.With(ctx, loader.New(d.service, d.loaders))), stale)
			}
		}
		if op := graphql.GetOperationContext(ctx).Operation; op != nil && op.Operation == ast.Query {
			workplace.NoteQuery(ctx, op.Name)
		}
		responses := next(ctx)
		loaders := loader.New(d.service, d.loaders)
		var stale *workplace.Staleness
		return func(ctx context.Context) *graphql.Response {
			// The transport asks for the responses one after the other.
			// The first resolves everything (deferred fragments included,
			// in the background), so its context is the one that counts.
			if stale == nil {
				ctx, stale = workplace.WithStaleness(ctx)
			}
			resp := reportStale(responses(loader.With(ctx, loaders)), stale)
			// Only an answer in one piece, with no errors and nothing in
			// its extensions (stale parts, for one), is kept.
			if resp == nil || len(resp.Errors) > 0 || len(resp.Extensions) > 0 || resp.HasNext != nil {
				workplace.NoteUnkept(ctx, "an answer with errors, extensions or parts")
			}
			return resp
		}
	})
	return srv
}

// reportStale tells a response's client which of its answers came from the
// cache because Engage could not answer.
func reportStale(resp *graphql.Response, stale *workplace.Staleness) *graphql.Response {
	n, age, kinds := stale.Report()
	if n == 0 || resp == nil {
		return resp
	}
	if resp.Extensions == nil {
		resp.Extensions = map[string]any{}
	}
	resp.Extensions["stale"] = map[string]any{
		"answers":       n,
		"maxAgeSeconds": int(math.Ceil(age.Seconds())),
		"kinds":         kinds,
		"reason":        "Engage could not answer; these parts come from the gateway's cache and may be out of date",
	}
	return resp
}

// readyz reports whether the gateway can serve: it holds (or can get) an
// upstream session token, and Redis answers when one is configured.
func readyz(d serverDeps) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
		defer cancel()
		checks := map[string]string{}
		ready := true
		if err := d.token.CheckToken(ctx); err != nil {
			ready = false
			checks["upstream"] = workplace.ErrorMessage(err)
		} else {
			checks["upstream"] = "ok"
		}
		// An open breaker means Engage is failing for that product. The
		// replica stays ready: every replica sees the same Engage, and a
		// ready one still serves what its cache holds (marked stale).
		if d.breakers != nil {
			var failing []string
			for p, state := range d.breakers() {
				if state != "closed" {
					failing = append(failing, string(p)+" "+state)
				}
			}
			if len(failing) > 0 && checks["upstream"] == "ok" {
				slices.Sort(failing)
				checks["upstream"] = "degraded: breaker " + strings.Join(failing, ", ")
			}
		}
		if d.redis != nil {
			if err := d.redis.Ping(ctx).Err(); err != nil {
				ready = false
				checks["redis"] = "unreachable"
				d.log.WarnContext(ctx, "readiness: redis unreachable", "err", err)
			} else {
				checks["redis"] = "ok"
			}
		}
		// A mirror still filling serves what it lacks by reading through,
		// so it never makes the replica unready; the check says how far
		// it is.
		if d.mirror != nil {
			checks["mirror"] = mirrorCheck(ctx, d.mirror)
		}
		// Kept answers that cannot follow the store's writes are not
		// served, so the replica computes every query: slower, never wrong.
		if d.answers != nil {
			if n, size := d.answers.Len(); d.answers.Following() {
				how := ""
				if d.answers.Leasing() {
					how = " under a lease (no round trip per answer)"
					if !d.answers.Leased() {
						how = " without a lease for now (one Redis round trip per answer)"
					}
				}
				checks["answers"] = fmt.Sprintf("ok: following the store's writes%s; %d answers kept (%.1f MiB)", how, n, float64(size)/(1<<20))
			} else {
				checks["answers"] = "not following the store's writes: every query is computed until it can"
			}
		}
		// Spending the week's budget early never makes a replica unready
		// either: the check (and a warning in the log) says so.
		if d.week != nil {
			if n, ok := d.week(ctx); ok {
				verdict := "ok"
				if n > float64(d.weeklyBudget) {
					verdict = "over budget"
				}
				checks["quota"] = fmt.Sprintf("%s: the last day's upstream calls, kept up for a week, make %.0f against a weekly budget of %d", verdict, n, d.weeklyBudget)
			}
		}
		status, code := "ready", http.StatusOK
		if !ready {
			status, code = "not ready", http.StatusServiceUnavailable
		}
		writeJSON(w, code, map[string]any{"status": status, "checks": checks})
	})
}

// mirrorCheck is the mirror's line of /readyz: its coverage and the age of
// its oldest data, as the fleet's worker last reported them.
func mirrorCheck(ctx context.Context, m *cache.Mirror) string {
	st, ok := m.Status(ctx)
	if !ok {
		return "no worker has reported yet: reads go upstream until it has filled the mirror"
	}
	what := fmt.Sprintf("%d rooms' days", st.Rooms)
	if st.Locations > 0 {
		what = fmt.Sprintf("%d rooms' days and %d locations' visitor lists (%d of %d location-days)", st.Rooms, st.Locations, st.HeldVisitorDays, st.WantedVisitorDays)
	}
	switch {
	case !st.Filled:
		return fmt.Sprintf("filling: %.0f%% of %s held", 100*st.Coverage(), what)
	case st.OldestVerified.IsZero():
		return fmt.Sprintf("ok: %.0f%% of %s held; sweep at subject %d, %d missed notifications repaired", 100*st.Coverage(), what, st.SweepCursor, st.Missed)
	}
	return fmt.Sprintf("ok: %.0f%% of %s held, oldest verified %s ago; sweep at subject %d, %d missed notifications repaired",
		100*st.Coverage(), what, st.At.Sub(st.OldestVerified).Round(time.Second), st.SweepCursor, st.Missed)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
