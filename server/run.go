package server

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"time"

	// The IANA zones the upstream's Windows zone names map to must load on
	// hosts without a zoneinfo database (minimal container images).
	_ "time/tzdata"

	"github.com/engagegql/gateway/answer"
	"github.com/engagegql/gateway/auth"
	"github.com/engagegql/gateway/cache"
	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/fleet"
	"github.com/engagegql/gateway/fleet/budget"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/telemetry"
	"github.com/engagegql/gateway/webhook"
)

// defaultShutdownTimeout bounds a graceful stop unless SHUTDOWN_TIMEOUT
// says otherwise: in-flight requests finish and streams close within it.
const defaultShutdownTimeout = 15 * time.Second

// runWith is run for the binary bin, writing the demo's start-up hints for
// a person (where GraphiQL and the simulator are, and how to make a
// change) to hints.
func runWith(ctx context.Context, bin Binary, getenv func(string) string, stdout, hints io.Writer) error {
	cfg, err := loadConfig(getenv)
	if err != nil {
		return fmt.Errorf("configuration: %w", err)
	}
	log := newLogger(stdout, cfg.logLevel)
	if cfg.trusted != nil {
		cfg.trusted.SetLogger(log)
		log.Info("trusted documents", "mode", string(cfg.trusted.Mode()), "documents", cfg.trusted.Len())
	}

	var demo *simulator
	if cfg.embedded {
		sim, simURL, err := startSimulator(log)
		if err != nil {
			return err
		}
		defer sim.close()
		demo = sim
		cfg.useSimulator(simURL)
		log.Warn("no ENGAGE_API_URL set: running on an embedded Engage simulator with demo data; set ENGAGE_API_URL and its companions to use a real tenant", "simulator", simURL)
	}

	eng, err := newEngine(ctx, cfg, log)
	if err != nil {
		return err
	}
	defer eng.close()

	tr, err := telemetry.NewTracing(getenv, log)
	if err != nil {
		return fmt.Errorf("tracing: %w", err)
	}
	defer func() {
		// Spans of the last requests are flushed after the server stopped.
		flush, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tr.Shutdown(flush)
	}()

	authn, err := newAuthenticator(cfg, log)
	if err != nil {
		return err
	}
	if authn != nil {
		defer authn.Close()
	}

	// One registry for the process, filled through the packages' hooks.
	m := telemetry.NewMetrics(telemetry.Build(buildInfo(bin.Version)), httpRoutes)
	upstream := budget.Upstream{Limiter: eng.limiter, Minute: cfg.budget.minute, Week: cfg.budget.week, Reserve: cfg.budget.reserve}
	ecfg := engage.Config{
		TokenURL:       cfg.tokenURL,
		APIURL:         cfg.apiURL,
		ClientID:       cfg.clientID,
		Password:       cfg.password,
		Keys:           cfg.keys,
		DefaultKey:     cfg.defaultKey,
		Logger:         log,
		Observe:        tallied(m.ObserveUpstream, eng.tally),
		OnTokenRefresh: m.TokenRefreshed,
		OnBreaker:      m.BreakerChanged,
		Retry:          cfg.retry,
		Breaker:        cfg.breaker,
		RequestTimeout: cfg.upstreamTimeout,
		HTTPClient:     &http.Client{Transport: tr.Transport(engage.NewTransport())},
	}
	if !cfg.budget.off {
		ecfg.Budget = upstream
	}
	if eng.redis != nil {
		// One login for the fleet: the token is shared through Redis,
		// encrypted with a key only holders of the password can derive.
		ecfg.TokenShare = fleet.NewTokenLease(eng.redis, credentialName(cfg), []byte(cfg.clientID+"\x00"+cfg.password), fleet.TokenLeaseOptions{Logger: log})
	}
	client, err := engage.New(ecfg)
	if err != nil {
		return fmt.Errorf("engage client: %w", err)
	}
	m.WatchRateLimits(client.RateLimitedFor)
	if !cfg.budget.off {
		m.WatchBudget(client.KeyIDs(), upstream.Remaining)
	}

	// Reads go through the cache; the webhooks keep it exact and feed the
	// subscriptions through the broker, on this replica and every other.
	// The answers kept from it are dropped when its store fails.
	var answers *answer.Cache
	var onStoreDown func()
	if eng.writes != nil {
		answers = answer.New(answer.Options{Log: eng.writes, MaxBytes: cfg.answersMB << 20, MaxAge: cfg.answersMaxAge, Check: cfg.answersCheck})
		onStoreDown = answers.Drop
	}
	svc := cache.New(client, eng.store, cache.Options{Logger: log, FanOut: cfg.fanOut, OnLookup: m.CacheLookup, StaleFor: cfg.staleFor, TTLs: cfg.cacheTTLs,
		DecodedBytes: decodedBytes(cfg.decodedMB), Now: clockOf(ctx), OnStoreDown: onStoreDown})
	// The client's walk for the zones of locations it has not seen reads
	// through the cache, so a replica joining a warm fleet calls nothing.
	client.ZonesFrom(svc)

	// The mirror holds every room's bookings for the window (and every
	// location's visitor lists, unless MIRROR_VISITORS=off), kept by the
	// webhooks; its worker runs on one replica of the fleet at a time and
	// stops before the store closes.
	week := forecast{tally: eng.tally, weekly: cfg.budget.week.Events}
	if cfg.budget.off {
		week.weekly = engageWeeklyQuota
	}
	var mirror *cache.Mirror
	if !cfg.mirror.on && cfg.mirror.auto {
		log.Warn("no webhooks configured (WEBHOOK_SECRET): the mirror is off, and reads go through a cache whose entries expire; set the webhooks to have Engage called only when something changed")
	}
	if cfg.mirror.on {
		mirror = newMirror(cfg, eng, svc, m, log)
		mirror.Prepare(ctx)
		wctx, stopWorker := context.WithCancel(ctx)
		stopped := make(chan struct{})
		go func() { mirror.Run(wctx); close(stopped) }()
		defer func() { stopWorker(); <-stopped }()
		m.WatchMirror(func() (cache.MirrorStatus, bool) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			return mirror.Status(ctx)
		}, mirror.Worker, mirror.Rounds, func() (float64, bool) {
			ctx, cancel := context.WithTimeout(context.Background(), time.Second)
			defer cancel()
			return week.week(ctx)
		})
	}
	go week.watch(ctx, log)

	ln, err := net.Listen("tcp", cfg.listenAddr)
	if err != nil {
		return fmt.Errorf("LISTEN_ADDR %s: %w", cfg.listenAddr, err)
	}
	if cfg.embedded && cfg.webhookPublicURL == "" {
		cfg.useLocalWebhooks(ln.Addr())
	}
	drain := newDrainer(log, ln)

	var hooks http.Handler
	if cfg.webhookSecret != "" {
		h, err := webhook.NewHandler(webhook.Options{
			Secret:                 cfg.webhookSecret,
			Invalidator:            svc,
			Publisher:              eng.broker,
			Deduper:                deliveryLog{eng.store},
			ReplayWindow:           cfg.webhookReplayWindow,
			AllowMissingDeliveryID: cfg.webhookAllowNoID,
			Logger:                 log,
			OnResult:               m.WebhookResult,
			OnDuplicate:            m.WebhookDuplicate,
			OnReread:               m.WebhookReread,
		})
		if err != nil {
			return fmt.Errorf("webhooks: %w", err)
		}
		// After the server has stopped (deferred calls run in reverse)
		// and before the store closes: re-reads still waiting for their
		// window run now rather than be lost.
		defer func() {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			h.Close(ctx)
		}()
		if cfg.webhookReplayWindow < webhook.UpstreamRetrySpan {
			log.Warn("WEBHOOK_REPLAY_WINDOW is shorter than Engage's retry span: right only for an upstream that retries faster, such as a simulator", "window", cfg.webhookReplayWindow.String(), "retrySpan", webhook.UpstreamRetrySpan.String())
		}
		hooks = h
	}

	// Each replica keeps whole answers of queries, dropped as the store's
	// writes are logged (on every replica); it stops following the log
	// before the store closes.
	if answers != nil {
		actx, stopAnswers := context.WithCancel(ctx)
		followed := make(chan struct{})
		go func() { answers.Run(actx); close(followed) }()
		defer func() { stopAnswers(); <-followed }()
	}

	deps := serverDeps{
		answers:      answers,
		answered:     m.Answered,
		httpObserve:  m,
		trusted:      cfg.trusted,
		log:          log,
		service:      svc,
		token:        client,
		redis:        eng.redis,
		loaders:      loader.Options{FanOut: cfg.fanOut},
		feed:         brokerFeed{b: eng.broker, opened: m.StreamOpened, delivered: m.ChangeDelivered},
		subscribers:  m.SubscriptionOpened,
		hooks:        hooks,
		persisted:    cache.NewPersistedQueries(eng.store, 0),
		websockets:   drain.websockets,
		limits:       cfg.limits,
		corsOrigins:  cfg.corsOrigins,
		wsOrigins:    cfg.wsOrigins,
		metrics:      m.Registry(),
		observe:      m.Extension(),
		actAsGrant:   cfg.actAsGrant,
		privateGrant: cfg.privateGrant,
		breakers:     client.BreakerStates,
		trace:        tr.Extension(),
		clientHeader: cfg.clientHeader,
		sseStreams:   cfg.sseStreams,
		mirror:       mirror,
		week:         week.week,
		weeklyBudget: week.weekly,

		wsInitTimeout:      cfg.wsInitTimeout,
		wsMaxSubscriptions: cfg.wsMaxSubscriptions,
	}
	if authn != nil {
		deps.auth = authn
	}
	if cfg.clientLimit.Events > 0 {
		deps.clientLimits = &budget.ClientLimits{Limiter: eng.limiter, Rate: cfg.clientLimit}
	}
	if cfg.clientMaxSubscriptions > 0 {
		deps.streams = &budget.ClientStreams{Slots: eng.slots, Max: cfg.clientMaxSubscriptions}
	}
	srv := &http.Server{
		Handler:           tr.Handler(drain.streams(newServer(deps))),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("gateway listening", "addr", ln.Addr().String(), "graphql", "/graphql", "graphiql", "/")
	if demo != nil {
		demo.writeHints(hints, ln.Addr())
	}

	if cfg.webhookPublicURL != "" {
		registered := func() {}
		if mirror != nil {
			registered = mirror.Live
		}
		go registerListeners(engage.WithClass(ctx, engage.Background), log, client, cfg.webhookPublicURL, cfg.webhookSecret, registered)
	}

	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(drain.ln) }()

	select {
	case err := <-serveErr:
		return err
	case <-ctx.Done():
	}
	// The deferred closes of the broker, Redis and the embedded simulator
	// run after the server has stopped.
	return drain.shutdown(srv, cfg.shutdownTimeout)
}

// clockKey carries the clock runWith keeps the cache's and the mirror's time
// by; tests move it with the simulator's.
type clockKey struct{}

// withClock makes runWith keep time by now.
func withClock(ctx context.Context, now func() time.Time) context.Context {
	return context.WithValue(ctx, clockKey{}, now)
}

// clockOf is the clock withClock set, or time.Now.
func clockOf(ctx context.Context) func() time.Time {
	if now, ok := ctx.Value(clockKey{}).(func() time.Time); ok {
		return now
	}
	return time.Now
}

// simulator is an engagesim served on a loopback port for the embedded mode.
type simulator struct {
	sim *engagesim.Sim
	srv *http.Server
	url string
	// booking is one of today's bookings yet to start, for the hints.
	booking engagesim.Booking
}

// writeHints tells a person trying the demo where everything is and how
// to see a change made in Engage's web app reach a subscription.
func (s *simulator) writeHints(w io.Writer, addr net.Addr) {
	host := addr.String()
	if h, p, err := net.SplitHostPort(host); err == nil && (h == "" || h == "::" || h == "0.0.0.0") {
		host = net.JoinHostPort("localhost", p)
	}
	fmt.Fprintf(w, `
The demo is up: the gateway on an embedded Engage simulator with demo data, and no authentication.
  GraphiQL:       http://%[1]s/
  GraphQL:        http://%[1]s/graphql (websockets and SSE on the same path)
  the simulator:  %[2]s (its admin routes: README, "engagesim, the simulator")
To watch a change arrive, run this in GraphiQL:
  subscription { bookingChanged { action booking { title start end room { name } } } }
and rename a booking of today as Engage's web app would:
  curl -sS -X PUT %[2]s/_sim/bookings/%[3]d -H 'Content-Type: application/json' -d '{"meetingTitle":"Renamed in the web app"}'

`, host, s.url, s.booking.ID)
}

func (s *simulator) close() {
	_ = s.srv.Close()
	s.sim.Close()
}

// startSimulator serves an engagesim with the demo fixture on a free loopback
// port; the gateway then talks to it over real HTTP as it would to Engage.
func startSimulator(log *slog.Logger) (*simulator, string, error) {
	now := time.Now()
	fix := engagesim.DemoFixture(1, now.UTC())
	sim, err := engagesim.New(engagesim.Config{Logger: log.With("component", "engagesim"), Fixture: fix})
	if err != nil {
		return nil, "", fmt.Errorf("embedded simulator: %w", err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		sim.Close()
		return nil, "", fmt.Errorf("embedded simulator: %w", err)
	}
	srv := &http.Server{Handler: sim, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	url := "http://" + ln.Addr().String()
	return &simulator{sim: sim, srv: srv, url: url, booking: nextBooking(fix, now)}, url, nil
}

// nextBooking is the first of the fixture's bookings with a title that
// starts after now and within a day (any such booking, if none does). A
// private meeting is never picked: the demo has no authentication, so its
// caller sees such a title hidden and the rename would seem not to arrive.
func nextBooking(f *engagesim.Fixture, now time.Time) engagesim.Booking {
	var next, first engagesim.Booking
	for _, b := range f.Bookings {
		if b.Title == "" || b.Private {
			continue
		}
		if first.ID == 0 {
			first = b
		}
		if b.Start.Before(now) || b.Start.After(now.Add(24*time.Hour)) {
			continue
		}
		if next.ID == 0 || b.Start.Before(next.Start) {
			next = b
		}
	}
	if next.ID == 0 {
		return first
	}
	return next
}

// useSimulator points the upstream settings at an embedded simulator with
// its demo tenant and credentials.
func (c *config) useSimulator(baseURL string) {
	c.tokenURL = baseURL + "/tokenproviderapi/token"
	c.apiURL = baseURL + "/" + engagesim.DefaultTenant + "/api/V1"
	c.clientID = engagesim.DefaultClientID
	c.password = engagesim.DefaultPassword
	for product, key := range engagesim.DefaultKeys() {
		c.keys[engage.Product(product)] = key
	}
}

// decodedBytes is CACHE_DECODED_MB as cache.Options.DecodedBytes: 0 turns
// the tier off.
func decodedBytes(mb int) int {
	if mb == 0 {
		return -1
	}
	return mb << 20
}

// newAuthenticator builds the authenticator the configuration asks for, or
// returns nil (and says so loudly) when callers are not authenticated: the
// embedded demo without AUTH_* settings, or AUTH_DISABLED behind a proxy.
func newAuthenticator(cfg config, log *slog.Logger) (*auth.Authenticator, error) {
	if cfg.authOff {
		why := "AUTH_DISABLED=true: the gateway trusts that a proxy in front of it authenticates every caller"
		if cfg.embedded {
			why = "the embedded demo runs without client authentication; set AUTH_JWT_HS256_SECRET, AUTH_JWT_PUBLIC_KEY_FILE, AUTH_JWKS_URL or AUTH_API_KEYS to require it"
		}
		log.Warn("CLIENT AUTHENTICATION IS OFF: anyone who can reach /graphql can read and change bookings in any user's name", "why", why)
		return nil, nil
	}
	a := cfg.auth
	a.Logger = log
	authn, err := auth.New(a)
	if err != nil {
		return nil, fmt.Errorf("client authentication: %w", err)
	}
	methods := []string{}
	if len(a.HS256Secret) > 0 {
		methods = append(methods, "JWT HS256")
	}
	if len(a.PublicKeyPEM) > 0 {
		methods = append(methods, "JWT public key file")
	}
	if a.JWKSURL != "" {
		methods = append(methods, "JWT JWKS")
	}
	if len(a.APIKeys) > 0 {
		methods = append(methods, fmt.Sprintf("%d API keys", len(a.APIKeys)))
	}
	log.Info("client authentication required on /graphql", "methods", methods, "actAsGrant", cfg.actAsGrant, "privateGrant", cfg.privateGrant)
	return authn, nil
}
