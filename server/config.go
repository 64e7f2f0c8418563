package server

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/engagegql/gateway/answer"
	"github.com/engagegql/gateway/auth"
	"github.com/engagegql/gateway/cache"
	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/fleet"
	"github.com/engagegql/gateway/guard"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/protocol"
	"github.com/engagegql/gateway/socket"
	"github.com/engagegql/gateway/webhook"
	"github.com/redis/go-redis/v9"
)

// config is everything the gateway reads from its environment. Every
// variable is listed in the README; loadConfig is the only place they are
// read.
type config struct {
	listenAddr string
	// embedded is true when no upstream is configured: the gateway then
	// starts an engagesim with the demo fixture and talks to it over HTTP.
	embedded         bool
	tokenURL         string
	apiURL           string
	clientID         string
	password         string
	defaultKey       string
	keys             map[engage.Product]string
	redisURL         string
	redisOptions     *redis.UniversalOptions
	webhookPublicURL string
	webhookSecret    string
	// webhookReplayWindow is how long a processed notification body is
	// remembered, so a replay of it under a new delivery id is recognised
	// (WEBHOOK_REPLAY_WINDOW).
	webhookReplayWindow time.Duration
	// webhookAllowNoID accepts deliveries without X-Engage-Delivery
	// (WEBHOOK_ALLOW_MISSING_DELIVERY_ID).
	webhookAllowNoID bool
	// fanOut bounds the upstream calls one batch of a GraphQL operation
	// makes at once (one bookings call per room, say).
	fanOut int
	// limits bound each GraphQL operation (GRAPHQL_* settings).
	limits guard.Limits
	// corsOrigins may call /graphql from another origin (CORS_ALLOWED_ORIGINS).
	corsOrigins []string
	// wsOrigins are the host patterns of other origins whose pages may open
	// websockets (WEBSOCKET_ORIGINS).
	wsOrigins []string
	// wsInitTimeout is how long a websocket may stay open without
	// connection_init (WEBSOCKET_INIT_TIMEOUT).
	wsInitTimeout time.Duration
	// wsMaxSubscriptions bounds the operations one websocket runs at once
	// (WEBSOCKET_MAX_SUBSCRIPTIONS).
	wsMaxSubscriptions int
	// shutdownTimeout bounds a graceful stop: in-flight requests finish and
	// streams are closed within it; then what remains is closed hard.
	shutdownTimeout time.Duration
	// auth is how clients prove who they are (AUTH_* settings); authOff is
	// true when no method is configured, which only the embedded demo or
	// an explicit AUTH_DISABLED=true allows.
	auth        auth.Config
	authOff     bool
	actAsGrant  string
	clientLimit fleet.Rate
	// privateGrant shows private meetings' titles to callers not in them
	// (AUTH_PRIVATE_GRANT).
	privateGrant string
	// trusted are the trusted documents (TRUSTED_DOCUMENTS); nil when off.
	trusted *guard.TrustedDocuments
	// clientMaxSubscriptions bounds the subscriptions one client holds at
	// once across the fleet (CLIENT_MAX_SUBSCRIPTIONS); 0 means no cap.
	clientMaxSubscriptions int
	// clientHeader tells unauthenticated callers apart behind a proxy
	// (CLIENT_ID_HEADER).
	clientHeader string
	// budget is the upstream call budget per subscription key, shared by
	// the fleet (UPSTREAM_BUDGET_* settings).
	budget budgetConfig
	// replicas is how many replicas share the budgets when Redis is
	// unreachable and each must enforce its share alone.
	replicas int
	logLevel slog.Level
	// cacheTTLs are the read-through cache's TTLs (CACHE_TTL_*); zero
	// fields take the cache's defaults.
	cacheTTLs cache.TTLs
	// staleFor is how long the cache keeps last-known-good answers to
	// serve, marked stale, while the upstream is down; negative disables.
	staleFor time.Duration
	// decodedMB bounds each replica's tier of decoded values
	// (CACHE_DECODED_MB); 0 turns it off.
	decodedMB int
	// answersMB bounds each replica's kept answers (CACHE_ANSWERS_MB); 0
	// turns them off. answersMaxAge bounds how long one is kept
	// (CACHE_ANSWERS_MAX_AGE).
	answersMB     int
	answersMaxAge time.Duration
	// answersCheck is how a replica makes sure it has heard the fleet's
	// writes before serving a kept answer (CACHE_ANSWERS_CHECK).
	answersCheck answer.Check
	retry        engage.Retry
	breaker      engage.Breaker
	// upstreamTimeout bounds each upstream attempt; zero means the engage
	// client's default.
	upstreamTimeout time.Duration
	// sseStreams bound graphql-sse's single-connection streams
	// (SSE_STREAMS_PER_CLIENT, SSE_RESERVATION_TIMEOUT).
	sseStreams protocol.StreamLimits
	// mirror is the local mirror of the tenant (MIRROR_* settings).
	mirror mirrorConfig
}

// mirrorConfig says whether the cache mirrors every room's bookings for the
// window (MIRROR) and every location's visitor lists too (MIRROR_VISITORS),
// and how its worker spends (MIRROR_SHARE of the minute budget), how often
// it looks (MIRROR_INTERVAL) and how long one sweep of the tenant takes
// (MIRROR_SWEEP_PERIOD).
type mirrorConfig struct {
	on bool
	// auto is MIRROR unset or auto: on wherever notifications can keep
	// it (webhooks configured, or the embedded demo), off elsewhere.
	auto bool
	// visitors is MIRROR_VISITORS, on unless set off: a mirror holds the
	// visitor lists of every location's next 14 days as well.
	visitors    bool
	share       float64
	interval    time.Duration
	sweepPeriod time.Duration
}

// defaultMirrorShare is the worker's share of the minute budget: filling a
// tenant never holds back users' requests, which keep the rest.
const defaultMirrorShare = 0.2

// loadMirror reads the MIRROR_* settings.
func loadMirror(c *config, get func(string) string) error {
	c.mirror = mirrorConfig{share: defaultMirrorShare, visitors: true}
	switch v := strings.ToLower(get("MIRROR")); v {
	case "", "auto":
		c.mirror.auto = true
	case "off", "false", "0":
	case "on", "true", "1":
		c.mirror.on = true
	default:
		return fmt.Errorf("MIRROR %q is not auto, on or off", v)
	}
	switch v := strings.ToLower(get("MIRROR_VISITORS")); v {
	case "", "on", "true", "1":
	case "off", "false", "0":
		c.mirror.visitors = false
	default:
		return fmt.Errorf("MIRROR_VISITORS %q is not on or off", v)
	}
	if v := get("MIRROR_SHARE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f <= 0 || f > 1 {
			return fmt.Errorf("MIRROR_SHARE %q is not a fraction above 0 and at most 1 (for example 0.2)", v)
		}
		c.mirror.share = f
	}
	for _, s := range []struct {
		name string
		dst  *time.Duration
	}{
		{"MIRROR_INTERVAL", &c.mirror.interval},
		{"MIRROR_SWEEP_PERIOD", &c.mirror.sweepPeriod},
	} {
		if v := get(s.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%s %q is not a positive Go duration (for example 10s or 72h)", s.name, v)
			}
			*s.dst = d
		}
	}
	return nil
}

// budgetConfig is the upstream call budget of one subscription key: a
// per-minute rate and a per-week rate, both enforced at once, and the share
// of each burst that background work may not use.
type budgetConfig struct {
	minute, week fleet.Rate
	reserve      float64
	off          bool
}

// productKeyVars names the per-product subscription key variables.
var productKeyVars = []struct {
	name    string
	product engage.Product
}{
	{"ENGAGE_KEY_COSTCODE", engage.ProductCostCode},
	{"ENGAGE_KEY_EXTERNALBOOKINGS", engage.ProductExternalBookings},
	{"ENGAGE_KEY_HIERARCHYMAPPING", engage.ProductHierarchyMapping},
	{"ENGAGE_KEY_VENDORSERVICES", engage.ProductVendorServices},
	{"ENGAGE_KEY_VISITOR", engage.ProductVisitor},
}

// loadConfig reads and checks the environment. An error names the variable
// at fault and what is wrong with it, and never echoes a secret's value.
func loadConfig(getenv func(string) string) (config, error) {
	get := func(name string) string { return strings.TrimSpace(getenv(name)) }
	c := config{
		listenAddr:       get("LISTEN_ADDR"),
		tokenURL:         get("ENGAGE_TOKEN_URL"),
		apiURL:           get("ENGAGE_API_URL"),
		clientID:         get("ENGAGE_CLIENT_ID"),
		password:         getenv("ENGAGE_PASSWORD"),
		defaultKey:       get("ENGAGE_SUBSCRIPTION_KEY"),
		keys:             map[engage.Product]string{},
		redisURL:         get("REDIS_URL"),
		webhookPublicURL: get("WEBHOOK_PUBLIC_URL"),
		webhookSecret:    getenv("WEBHOOK_SECRET"),
	}
	if c.listenAddr == "" {
		c.listenAddr = ":8080"
	}
	c.fanOut = loader.DefaultFanOut
	if v := get("UPSTREAM_CONCURRENCY"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 || n > 256 {
			return c, fmt.Errorf("UPSTREAM_CONCURRENCY %q is not a whole number from 1 to 256", v)
		}
		c.fanOut = n
	}
	c.shutdownTimeout = defaultShutdownTimeout
	if v := get("SHUTDOWN_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return c, fmt.Errorf("SHUTDOWN_TIMEOUT %q is not a positive Go duration (for example 15s or 1m)", v)
		}
		c.shutdownTimeout = d
	}
	if err := loadLimits(&c, get); err != nil {
		return c, err
	}
	if err := loadBudgets(&c, get); err != nil {
		return c, err
	}
	if err := loadOperations(&c, get); err != nil {
		return c, err
	}
	if err := loadStreams(&c, get); err != nil {
		return c, err
	}
	if err := loadMirror(&c, get); err != nil {
		return c, err
	}
	if err := loadTrusted(&c, get); err != nil {
		return c, err
	}
	if _, _, err := net.SplitHostPort(c.listenAddr); err != nil {
		return c, fmt.Errorf("LISTEN_ADDR %q is not host:port (for example :8080)", c.listenAddr)
	}
	for _, v := range productKeyVars {
		if k := get(v.name); k != "" {
			c.keys[v.product] = k
		}
	}

	c.embedded = c.apiURL == ""
	if c.embedded && get("LISTEN_ADDR") == "" {
		// The demo serves this machine only, unless told otherwise: it
		// has no authentication.
		c.listenAddr = "127.0.0.1:8080"
	}
	if c.mirror.auto {
		c.mirror.on = c.embedded || c.webhookSecret != ""
	}
	if c.mirror.on && !c.embedded && c.webhookSecret == "" {
		return c, fmt.Errorf("MIRROR=on needs the webhooks (WEBHOOK_SECRET, and WEBHOOK_PUBLIC_URL unless the listeners are registered otherwise): without notifications the mirror could not be kept")
	}
	if c.embedded {
		for _, name := range []string{"ENGAGE_TOKEN_URL", "ENGAGE_CLIENT_ID", "ENGAGE_PASSWORD", "ENGAGE_SUBSCRIPTION_KEY"} {
			if getenv(name) != "" {
				return c, fmt.Errorf("%s is set but ENGAGE_API_URL is not: set ENGAGE_API_URL to use a real upstream, or unset %s to run on the embedded simulator", name, name)
			}
		}
		if len(c.keys) > 0 {
			return c, fmt.Errorf("ENGAGE_KEY_* is set but ENGAGE_API_URL is not: set ENGAGE_API_URL to use a real upstream")
		}
	} else {
		if err := checkURL("ENGAGE_API_URL", c.apiURL); err != nil {
			return c, err
		}
		if c.tokenURL == "" {
			return c, fmt.Errorf("ENGAGE_TOKEN_URL is required when ENGAGE_API_URL is set (the full token endpoint URL, for example https://tenant.condecosoftware.com/tokenproviderapi/token)")
		}
		if err := checkURL("ENGAGE_TOKEN_URL", c.tokenURL); err != nil {
			return c, err
		}
		if c.clientID == "" {
			return c, fmt.Errorf("ENGAGE_CLIENT_ID is required when ENGAGE_API_URL is set")
		}
		if c.password == "" {
			return c, fmt.Errorf("ENGAGE_PASSWORD is required when ENGAGE_API_URL is set")
		}
		if c.defaultKey == "" {
			for _, v := range productKeyVars {
				if c.keys[v.product] == "" {
					return c, fmt.Errorf("%s is required when ENGAGE_SUBSCRIPTION_KEY (one key for every product) is not set", v.name)
				}
			}
		}
	}

	if err := loadAuth(&c, get, getenv); err != nil {
		return c, err
	}

	if err := loadRedis(&c, get, getenv); err != nil {
		return c, err
	}

	if c.webhookPublicURL != "" {
		if err := checkURL("WEBHOOK_PUBLIC_URL", c.webhookPublicURL); err != nil {
			return c, err
		}
		if c.webhookSecret == "" {
			return c, fmt.Errorf("WEBHOOK_SECRET is required when WEBHOOK_PUBLIC_URL is set: the upstream signs notifications with it")
		}
	}
	if err := loadWebhookReplay(&c, get); err != nil {
		return c, err
	}
	return c, nil
}

// loadWebhookReplay reads the webhook replay protection:
// WEBHOOK_REPLAY_WINDOW and WEBHOOK_ALLOW_MISSING_DELIVERY_ID. A window
// shorter than the upstream's retry span is allowed (an upstream such as a
// simulator may retry faster), but not with deliveries without an id, whose
// retries only the window recognises.
func loadWebhookReplay(c *config, get func(string) string) error {
	c.webhookReplayWindow = webhook.DefaultReplayWindow
	if v := get("WEBHOOK_REPLAY_WINDOW"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > time.Hour {
			return fmt.Errorf("WEBHOOK_REPLAY_WINDOW %q is not a Go duration from 1s to 1h (for example 2m; keep it above Engage's retry span of %s)", v, webhook.UpstreamRetrySpan)
		}
		c.webhookReplayWindow = d
	}
	if v := get("WEBHOOK_ALLOW_MISSING_DELIVERY_ID"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("WEBHOOK_ALLOW_MISSING_DELIVERY_ID %q is not true or false", v)
		}
		c.webhookAllowNoID = b
	}
	if c.webhookAllowNoID && c.webhookReplayWindow < webhook.UpstreamRetrySpan {
		return fmt.Errorf("WEBHOOK_REPLAY_WINDOW %s is shorter than the upstream's retry span (%s): with WEBHOOK_ALLOW_MISSING_DELIVERY_ID=true a retried delivery without an id is recognised by its body within that window only, so it would be processed twice", c.webhookReplayWindow, webhook.UpstreamRetrySpan)
	}
	return nil
}

func checkURL(name, raw string) error {
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return fmt.Errorf("%s %q is not an absolute http(s) URL", name, raw)
	}
	return nil
}

// describeURLError keeps a parse error's reason but not the URL, which may
// hold a password.
func describeURLError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		return ue.Err.Error()
	}
	return err.Error()
}

// loadLimits reads the abuse limits: GRAPHQL_MAX_TOKENS, GRAPHQL_MAX_FIELDS,
// GRAPHQL_MAX_DIRECTIVES, GRAPHQL_MAX_ERRORS, GRAPHQL_MAX_DEPTH,
// GRAPHQL_MAX_ALIASES, GRAPHQL_MAX_BODY_BYTES, GRAPHQL_MAX_COST, GRAPHQL_TIMEOUT,
// GRAPHQL_INTROSPECTION, CORS_ALLOWED_ORIGINS, WEBSOCKET_ORIGINS,
// WEBSOCKET_INIT_TIMEOUT and WEBSOCKET_MAX_SUBSCRIPTIONS. Unset means the
// defaults of packages guard and socket, introspection on, and same-origin
// browsers only.
func loadLimits(c *config, get func(string) string) error {
	c.limits = guard.Limits{}.WithDefaults()
	ints := []struct {
		name     string
		min, max int64
		set      func(int64)
	}{
		{"GRAPHQL_MAX_TOKENS", 1, 10_000_000, func(n int64) { c.limits.MaxTokens = int(n) }},
		{"GRAPHQL_MAX_FIELDS", 1, 1_000_000, func(n int64) { c.limits.MaxFields = int(n) }},
		{"GRAPHQL_MAX_DIRECTIVES", 1, 1_000_000, func(n int64) { c.limits.MaxDirectives = int(n) }},
		{"GRAPHQL_MAX_ERRORS", 2, 100_000, func(n int64) { c.limits.MaxErrors = int(n) }},
		{"GRAPHQL_MAX_DEPTH", 1, 1000, func(n int64) { c.limits.MaxDepth = int(n) }},
		{"GRAPHQL_MAX_ALIASES", 1, 100_000, func(n int64) { c.limits.MaxAliases = int(n) }},
		{"GRAPHQL_MAX_COST", 1, 1_000_000, func(n int64) { c.limits.MaxCost = int(n) }},
		{"GRAPHQL_MAX_BODY_BYTES", 1024, 1 << 30, func(n int64) { c.limits.MaxBodyBytes = n }},
	}
	for _, v := range ints {
		raw := get(v.name)
		if raw == "" {
			continue
		}
		n, err := strconv.ParseInt(raw, 10, 64)
		if err != nil || n < v.min || n > v.max {
			return fmt.Errorf("%s %q is not a whole number from %d to %d", v.name, raw, v.min, v.max)
		}
		v.set(n)
	}
	if v := get("GRAPHQL_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("GRAPHQL_TIMEOUT %q is not a positive Go duration (for example 30s or 1m)", v)
		}
		c.limits.Timeout = d
	}
	if v := get("GRAPHQL_INTROSPECTION"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("GRAPHQL_INTROSPECTION %q is not true or false", v)
		}
		c.limits.DisableIntrospection = !on
	}
	for _, o := range splitList(get("CORS_ALLOWED_ORIGINS")) {
		if o != "*" {
			u, err := url.Parse(o)
			if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.User != nil {
				return fmt.Errorf("CORS_ALLOWED_ORIGINS: %q is not an origin (scheme://host[:port], such as https://app.example.com) or *", o)
			}
			o = u.Scheme + "://" + strings.ToLower(u.Host)
		}
		c.corsOrigins = append(c.corsOrigins, o)
	}
	for _, p := range splitList(get("WEBSOCKET_ORIGINS")) {
		if !guard.ValidOriginPattern(p) || strings.Contains(strings.TrimPrefix(strings.TrimPrefix(p, "https://"), "http://"), "/") {
			return fmt.Errorf("WEBSOCKET_ORIGINS: %q is not a host pattern (such as app.example.com, *.example.com or localhost:5173)", p)
		}
		c.wsOrigins = append(c.wsOrigins, p)
	}
	c.wsInitTimeout = socket.DefaultInitTimeout
	if v := get("WEBSOCKET_INIT_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 || d > 10*time.Minute {
			return fmt.Errorf("WEBSOCKET_INIT_TIMEOUT %q is not a positive Go duration of at most 10m (for example 10s)", v)
		}
		c.wsInitTimeout = d
	}
	c.wsMaxSubscriptions = socket.DefaultMaxOperations
	return intSetting(get, "WEBSOCKET_MAX_SUBSCRIPTIONS", 1, 100_000, &c.wsMaxSubscriptions)
}

// splitList splits a comma-separated setting, dropping blanks.
func splitList(v string) []string {
	var out []string
	for _, s := range strings.Split(v, ",") {
		if s = strings.TrimSpace(s); s != "" {
			out = append(out, s)
		}
	}
	return out
}

// defaultClientMaxSubscriptions is how many subscriptions one client may
// hold at once across the fleet unless CLIENT_MAX_SUBSCRIPTIONS says
// otherwise: five sockets' worth at the default per-socket cap, far above
// what a front end opens, far below what would strain a replica.
const defaultClientMaxSubscriptions = 500

// defaultActAsGrant is the scope or role that lets a credential act for
// another user unless AUTH_ACT_AS_GRANT names another.
const defaultActAsGrant = "engage:act-as"

// defaultPrivateGrant is the scope or role that shows a credential the
// titles of private meetings it is not in (reception, facilities) unless
// AUTH_PRIVATE_GRANT names another.
const defaultPrivateGrant = "engage:private-meetings"

// loadAuth reads the client authentication settings. Any of the JWT methods
// (a shared secret, a PEM file of public keys, a JWKS URL) and API keys may
// be combined. With none, only the embedded demo runs (and says loudly that
// anyone may call it); a gateway in front of a real tenant refuses to start
// unless AUTH_DISABLED=true says another layer authenticates.
func loadAuth(c *config, get func(string) string, getenv func(string) string) error {
	a := auth.Config{
		Issuer:     get("AUTH_JWT_ISSUER"),
		Audience:   get("AUTH_JWT_AUDIENCE"),
		JWKSURL:    get("AUTH_JWKS_URL"),
		EmailClaim: get("AUTH_JWT_EMAIL_CLAIM"),
		RoleClaim:  get("AUTH_JWT_ROLE_CLAIM"),
	}
	if s := getenv("AUTH_JWT_HS256_SECRET"); s != "" {
		if len(s) < 32 {
			return fmt.Errorf("AUTH_JWT_HS256_SECRET is %d bytes; use at least 32 random bytes", len(s))
		}
		a.HS256Secret = []byte(s)
	}
	if f := get("AUTH_JWT_PUBLIC_KEY_FILE"); f != "" {
		pem, err := os.ReadFile(f)
		if err != nil {
			return fmt.Errorf("AUTH_JWT_PUBLIC_KEY_FILE: %w", err)
		}
		a.PublicKeyPEM = pem
	}
	if a.JWKSURL != "" {
		if err := checkURL("AUTH_JWKS_URL", a.JWKSURL); err != nil {
			return err
		}
	}
	if v := get("AUTH_JWKS_REFRESH"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second {
			return fmt.Errorf("AUTH_JWKS_REFRESH %q is not a Go duration of at least 1s (for example 5m)", v)
		}
		a.JWKSRefresh = d
	}
	if v := getenv("AUTH_API_KEYS"); strings.TrimSpace(v) != "" {
		keys, err := auth.ParseAPIKeys(v)
		if err != nil {
			return fmt.Errorf("AUTH_API_KEYS: %w", err)
		}
		a.APIKeys = keys
	}
	jwt := len(a.HS256Secret) > 0 || len(a.PublicKeyPEM) > 0 || a.JWKSURL != ""
	if jwt && (a.Issuer == "" || a.Audience == "") {
		return fmt.Errorf("AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE are required with JWT authentication: tokens of other issuers or meant for other services must not open this gateway")
	}
	if !jwt && (a.Issuer != "" || a.Audience != "") {
		return fmt.Errorf("AUTH_JWT_ISSUER or AUTH_JWT_AUDIENCE is set but no key to verify tokens with: set AUTH_JWT_HS256_SECRET, AUTH_JWT_PUBLIC_KEY_FILE or AUTH_JWKS_URL")
	}
	c.auth = a
	c.actAsGrant = get("AUTH_ACT_AS_GRANT")
	if c.actAsGrant == "" {
		c.actAsGrant = defaultActAsGrant
	}
	c.privateGrant = get("AUTH_PRIVATE_GRANT")
	if c.privateGrant == "" {
		c.privateGrant = defaultPrivateGrant
	}
	if strings.ContainsAny(c.privateGrant, " \t,") {
		return fmt.Errorf("AUTH_PRIVATE_GRANT %q is not one scope or role: scopes are space-separated, so it can hold no space or comma", c.privateGrant)
	}
	disabled := false
	if v := get("AUTH_DISABLED"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("AUTH_DISABLED %q is not true or false", v)
		}
		disabled = b
	}
	configured := jwt || len(a.APIKeys) > 0
	switch {
	case configured && disabled:
		return fmt.Errorf("AUTH_DISABLED=true contradicts the AUTH_* methods that are set: remove one or the other")
	case !configured && !c.embedded && !disabled:
		return fmt.Errorf("client authentication is required in front of a real Engage tenant: set AUTH_JWT_HS256_SECRET, AUTH_JWT_PUBLIC_KEY_FILE, AUTH_JWKS_URL or AUTH_API_KEYS (or AUTH_DISABLED=true if a proxy in front of the gateway authenticates every caller)")
	}
	c.authOff = !configured

	c.clientHeader = get("CLIENT_ID_HEADER")
	if c.clientHeader != "" && !c.authOff {
		return fmt.Errorf("CLIENT_ID_HEADER only applies without client authentication (AUTH_DISABLED=true): authenticated clients are told apart by their credentials")
	}
	if c.clientHeader != "" && strings.ContainsAny(c.clientHeader, " :\t") {
		return fmt.Errorf("CLIENT_ID_HEADER %q is not a header name", c.clientHeader)
	}
	c.clientLimit = fleet.Rate{Events: 600, Per: time.Minute, Burst: 60}
	if err := intSetting(get, "CLIENT_RATE_LIMIT", 0, 1_000_000, &c.clientLimit.Events); err != nil {
		return err
	}
	if err := intSetting(get, "CLIENT_RATE_BURST", 0, 1_000_000, &c.clientLimit.Burst); err != nil {
		return err
	}
	c.clientMaxSubscriptions = defaultClientMaxSubscriptions
	return intSetting(get, "CLIENT_MAX_SUBSCRIPTIONS", 0, 1_000_000, &c.clientMaxSubscriptions)
}

// loadBudgets reads the upstream call budget of each subscription key,
// enforced by the whole fleet together. The defaults stay below the
// tenant's limits however calls fall: GCRA lets at most Burst + Events calls
// through in any window of length Per, so 400/min with a burst of 50 never
// passes 500 in a minute, and 38,000/week with a burst of 10,000 never
// passes 50,000 in a week.
func loadBudgets(c *config, get func(string) string) error {
	c.budget = budgetConfig{
		minute:  fleet.Rate{Events: 400, Per: time.Minute, Burst: 50},
		week:    fleet.Rate{Events: 38_000, Per: 7 * 24 * time.Hour, Burst: 10_000},
		reserve: 0.5,
	}
	for _, s := range []struct {
		name string
		dst  *int
	}{
		{"UPSTREAM_BUDGET_PER_MINUTE", &c.budget.minute.Events},
		{"UPSTREAM_BUDGET_BURST", &c.budget.minute.Burst},
		{"UPSTREAM_BUDGET_PER_WEEK", &c.budget.week.Events},
		{"UPSTREAM_BUDGET_WEEK_BURST", &c.budget.week.Burst},
	} {
		if err := intSetting(get, s.name, 0, 10_000_000, s.dst); err != nil {
			return err
		}
	}
	if c.budget.minute.Events == 0 || c.budget.week.Events == 0 {
		// Zero is how an operator says "no gateway-side budget".
		c.budget.off = true
	}
	if v := get("UPSTREAM_BUDGET_BACKGROUND_RESERVE"); v != "" {
		f, err := strconv.ParseFloat(v, 64)
		if err != nil || f < 0 || f >= 1 {
			return fmt.Errorf("UPSTREAM_BUDGET_BACKGROUND_RESERVE %q is not a fraction from 0 to below 1 (for example 0.5)", v)
		}
		c.budget.reserve = f
	}
	c.replicas = 1
	return intSetting(get, "REPLICAS", 1, 1000, &c.replicas)
}

// loadOperations reads how the gateway behaves when the upstream struggles
// (retries, breaker, stale answers) and how much it logs.
// loadRedis reads where Redis is: one node (REDIS_URL), a cluster
// (REDIS_CLUSTER_ADDRS) or a primary behind Sentinel (REDIS_SENTINEL_ADDRS
// and REDIS_SENTINEL_MASTER); the credentials, from the URL or
// REDIS_USERNAME and REDIS_PASSWORD (or REDIS_PASSWORD_FILE); and TLS
// (rediss://, or REDIS_TLS=true), with REDIS_CA_FILE's authorities.
func loadRedis(c *config, get, getenv func(string) string) error {
	cluster, err := splitAddrs("REDIS_CLUSTER_ADDRS", get("REDIS_CLUSTER_ADDRS"))
	if err != nil {
		return err
	}
	sentinel, err := splitAddrs("REDIS_SENTINEL_ADDRS", get("REDIS_SENTINEL_ADDRS"))
	if err != nil {
		return err
	}
	master := get("REDIS_SENTINEL_MASTER")
	set := 0
	for _, on := range []bool{c.redisURL != "", len(cluster) > 0, len(sentinel) > 0} {
		if on {
			set++
		}
	}
	switch {
	case set > 1:
		return errors.New("REDIS_URL, REDIS_CLUSTER_ADDRS and REDIS_SENTINEL_ADDRS each name where Redis is: set one of them")
	case len(sentinel) > 0 && master == "":
		return errors.New("REDIS_SENTINEL_ADDRS needs REDIS_SENTINEL_MASTER: the name the sentinels know the primary by")
	case master != "" && len(sentinel) == 0:
		return errors.New("REDIS_SENTINEL_MASTER is set without REDIS_SENTINEL_ADDRS: the sentinels to ask")
	case set == 0:
		for _, v := range []string{"REDIS_USERNAME", "REDIS_PASSWORD", "REDIS_PASSWORD_FILE", "REDIS_TLS", "REDIS_CA_FILE"} {
			if getenv(v) != "" {
				return fmt.Errorf("%s is set but no Redis is (REDIS_URL, REDIS_CLUSTER_ADDRS or REDIS_SENTINEL_ADDRS)", v)
			}
		}
		return nil
	}
	o := &redis.UniversalOptions{}
	var tlsOn bool
	switch {
	case c.redisURL != "":
		u, err := redis.ParseURL(c.redisURL)
		if err != nil {
			return fmt.Errorf("REDIS_URL is not a redis:// or rediss:// URL: %s", describeURLError(err))
		}
		o.Addrs, o.DB, o.Username, o.Password, o.TLSConfig = []string{u.Addr}, u.DB, u.Username, u.Password, u.TLSConfig
		tlsOn = u.TLSConfig != nil
	case len(cluster) > 0:
		o.Addrs, o.IsClusterMode = cluster, true
	default:
		o.Addrs, o.MasterName = sentinel, master
		// The sentinels share the data nodes' credentials unless told.
		o.SentinelUsername, o.SentinelPassword = getenv("REDIS_SENTINEL_USERNAME"), getenv("REDIS_SENTINEL_PASSWORD")
	}
	if v := getenv("REDIS_USERNAME"); v != "" {
		o.Username = v
	}
	password, file := getenv("REDIS_PASSWORD"), get("REDIS_PASSWORD_FILE")
	switch {
	case password != "" && file != "":
		return errors.New("REDIS_PASSWORD and REDIS_PASSWORD_FILE are both set: set one")
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return fmt.Errorf("REDIS_PASSWORD_FILE: %w", err)
		}
		o.Password = strings.TrimRight(string(b), "\r\n")
	case password != "":
		o.Password = password
	}
	if v := get("REDIS_TLS"); v != "" {
		on, err := strconv.ParseBool(v)
		if err != nil {
			return fmt.Errorf("REDIS_TLS %q is not true or false", v)
		}
		if !on && tlsOn {
			return errors.New("REDIS_TLS=false, but REDIS_URL is rediss:// (TLS)")
		}
		tlsOn = tlsOn || on
	}
	caFile := get("REDIS_CA_FILE")
	if caFile != "" {
		tlsOn = true
	}
	if tlsOn {
		if o.TLSConfig == nil {
			o.TLSConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			if len(o.Addrs) == 1 && o.MasterName == "" {
				o.TLSConfig.ServerName, _, _ = net.SplitHostPort(o.Addrs[0])
			}
		}
		if caFile != "" {
			pem, err := os.ReadFile(caFile)
			if err != nil {
				return fmt.Errorf("REDIS_CA_FILE: %w", err)
			}
			pool := x509.NewCertPool()
			if !pool.AppendCertsFromPEM(pem) {
				return fmt.Errorf("REDIS_CA_FILE %s holds no PEM certificate", caFile)
			}
			o.TLSConfig.RootCAs = pool
		}
	}
	c.redisOptions = o
	return nil
}

// splitAddrs reads setting name, a comma-separated list of host:port.
func splitAddrs(name, v string) ([]string, error) {
	var out []string
	for _, a := range strings.Split(v, ",") {
		if a = strings.TrimSpace(a); a == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(a); err != nil {
			return nil, fmt.Errorf("%s: %q is not host:port", name, a)
		}
		out = append(out, a)
	}
	return out, nil
}

// loadTrusted reads TRUSTED_DOCUMENTS and its manifests (read now, so
// that a missing or malformed one stops start-up, and check names it).
func loadTrusted(c *config, get func(string) string) error {
	mode := guard.TrustedMode(strings.ToLower(get("TRUSTED_DOCUMENTS")))
	var paths []string
	for _, p := range strings.Split(get("TRUSTED_DOCUMENTS_MANIFESTS"), ",") {
		if p = strings.TrimSpace(p); p != "" {
			paths = append(paths, p)
		}
	}
	switch mode {
	case "", guard.TrustedOff:
		if len(paths) > 0 {
			return errors.New("TRUSTED_DOCUMENTS_MANIFESTS is set but TRUSTED_DOCUMENTS is off: set it to strict (serve only the manifests' documents) or log")
		}
		return nil
	case guard.TrustedLog, guard.TrustedStrict:
	default:
		return fmt.Errorf("TRUSTED_DOCUMENTS %q is not off, log or strict", mode)
	}
	if len(paths) == 0 {
		return fmt.Errorf("TRUSTED_DOCUMENTS=%s needs TRUSTED_DOCUMENTS_MANIFESTS: the manifest files of the documents to trust", mode)
	}
	t, err := guard.LoadTrustedDocuments(mode, paths, slog.New(slog.DiscardHandler))
	if err != nil {
		return fmt.Errorf("TRUSTED_DOCUMENTS_MANIFESTS: %w", err)
	}
	c.trusted = t
	return nil
}

func loadOperations(c *config, get func(string) string) error {
	if err := intSetting(get, "UPSTREAM_RETRY_ATTEMPTS", 1, 10, &c.retry.Attempts); err != nil {
		return err
	}
	if err := intSetting(get, "UPSTREAM_BREAKER_FAILURES", 0, 1000, &c.breaker.Failures); err != nil {
		return err
	}
	if c.breaker.Failures == 0 && get("UPSTREAM_BREAKER_FAILURES") != "" {
		c.breaker.Failures = -1 // 0 switches the breaker off
	}
	for _, s := range []struct {
		name string
		dst  *time.Duration
	}{
		{"UPSTREAM_RETRY_MAX_DELAY", &c.retry.MaxDelay},
		{"UPSTREAM_BREAKER_COOLDOWN", &c.breaker.Cooldown},
		{"UPSTREAM_TIMEOUT", &c.upstreamTimeout},
	} {
		if v := get(s.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%s %q is not a positive Go duration (for example 2s)", s.name, v)
			}
			*s.dst = d
		}
	}
	for _, s := range []struct {
		name string
		dst  *time.Duration
	}{
		{"CACHE_TTL_HIERARCHY", &c.cacheTTLs.Hierarchy},
		{"CACHE_TTL_RESOURCES", &c.cacheTTLs.Resources},
		{"CACHE_TTL_USERS", &c.cacheTTLs.Users},
		{"CACHE_TTL_BOOKINGS", &c.cacheTTLs.Bookings},
		{"CACHE_TTL_DESK_BOOKINGS", &c.cacheTTLs.DeskBookings},
		{"CACHE_TTL_VISITORS", &c.cacheTTLs.Visitors},
		{"CACHE_TTL_CATALOG", &c.cacheTTLs.Catalog},
		{"CACHE_TTL_ORDERS", &c.cacheTTLs.Orders},
		{"CACHE_TTL_AVAILABILITY", &c.cacheTTLs.Availability},
	} {
		if v := get(s.name); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d <= 0 {
				return fmt.Errorf("%s %q is not a positive Go duration (for example 5m)", s.name, v)
			}
			*s.dst = d
		}
	}
	if v := get("CACHE_STALE_FOR"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < 0 {
			return fmt.Errorf("CACHE_STALE_FOR %q is not a Go duration (for example 24h; 0 serves nothing stale)", v)
		}
		c.staleFor = d
		if d == 0 {
			c.staleFor = -1
		}
	}
	c.decodedMB = cache.DefaultDecodedBytes >> 20
	if err := intSetting(get, "CACHE_DECODED_MB", 0, 16384, &c.decodedMB); err != nil {
		return err
	}
	c.answersMB = answer.DefaultMaxBytes >> 20
	if err := intSetting(get, "CACHE_ANSWERS_MB", 0, 16384, &c.answersMB); err != nil {
		return err
	}
	c.answersMaxAge = answer.DefaultMaxAge
	if v := get("CACHE_ANSWERS_MAX_AGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return fmt.Errorf("CACHE_ANSWERS_MAX_AGE %q is not a positive Go duration (for example 10m)", v)
		}
		c.answersMaxAge = d
	}
	switch v := get("CACHE_ANSWERS_CHECK"); v {
	case "", "lease":
		c.answersCheck = answer.CheckLease
	case "each":
		c.answersCheck = answer.CheckEach
	case "interval":
		c.answersCheck = answer.CheckInterval
	default:
		return fmt.Errorf("CACHE_ANSWERS_CHECK %q is not lease, each or interval", v)
	}
	c.logLevel = slog.LevelInfo
	if v := get("LOG_LEVEL"); v != "" {
		if err := c.logLevel.UnmarshalText([]byte(v)); err != nil {
			return fmt.Errorf("LOG_LEVEL %q is not debug, info, warn or error", v)
		}
	}
	return nil
}

// loadStreams reads the bounds of graphql-sse's single-connection mode:
// SSE_STREAMS_PER_CLIENT and SSE_RESERVATION_TIMEOUT.
func loadStreams(c *config, get func(string) string) error {
	c.sseStreams = protocol.StreamLimits{PerClient: protocol.DefaultStreamsPerClient, ReservationTimeout: protocol.DefaultReservationTimeout}
	if err := intSetting(get, "SSE_STREAMS_PER_CLIENT", 1, 1000, &c.sseStreams.PerClient); err != nil {
		return err
	}
	if v := get("SSE_RESERVATION_TIMEOUT"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil || d < time.Second || d > 10*time.Minute {
			return fmt.Errorf("SSE_RESERVATION_TIMEOUT %q is not a Go duration from 1s to 10m (for example 30s)", v)
		}
		c.sseStreams.ReservationTimeout = d
	}
	return nil
}

// intSetting reads a whole-number setting into dst when it is set.
func intSetting(get func(string) string, name string, lo, hi int, dst *int) error {
	v := get(name)
	if v == "" {
		return nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < lo || n > hi {
		return fmt.Errorf("%s %q is not a whole number from %d to %d", name, v, lo, hi)
	}
	*dst = n
	return nil
}
