// Package engage is the REST client for the Eptura Engage (formerly Condeco)
// API: typed methods for every route of the contract in
// /work/shared/engage-api.md, implementing workplace.Service.
//
// The wire format stays inside this package. Callers see workplace types
// only: ids as typed ints, times as time.Time in the location's IANA zone,
// and errors as *Error, which carries a workplace error code.
//
// The client owns everything the upstream makes hard to get right:
//   - one session token shared by all callers, refreshed early and at most
//     once at a time (token.go), and with a TokenShare by all replicas, so a
//     fleet logs in once (tokenshare.go);
//   - the subscription key of the product that owns each route, and the
//     difference between a rejected key and a rejected token (call.go);
//   - retries with jittered exponential backoff, for reads after any
//     transient failure and for writes only when the upstream certainly did
//     not process them (retry.go);
//   - a circuit breaker per product, so an Engage product that keeps failing
//     is given a rest instead of every caller waiting on it (breaker.go);
//   - the fleet's shared call budget, asked before every attempt, with
//     background work yielding to interactive calls (budget.go);
//   - the upstream's rate limits, honoured rather than hammered (limit.go);
//   - the wire quirks: the HierarchyMapping envelope, drifting field casing,
//     floor numbers as strings, local times without offsets (wire.go);
//   - Windows time zone names, mapped with CLDR's table (zones.go).
//
// Every choice this package makes where the contract is silent (an [X] in the
// contract's terms) is marked "[X]" in a comment, so it can be found and
// corrected when real traffic shows otherwise.
//
//	engage.go      Product, Config, the Client and New
//	bookings.go    room bookings, requested in UTC
//	breaker.go     the circuit breaker kept per product
//	budget.go      Budget, the fleet's call budget, and a call's Class
//	call.go        one API call: key, token, retries, breaker, budget
//	desks.go       desk bookings
//	error.go       Error: a failed call, and its workplace error code
//	hierarchy.go   the HierarchyMapping routes
//	limit.go       rate limits: a key fails fast until Retry-After
//	loczones.go    the zone of every location, for visitors' times
//	retry.go       which failed attempts are retried, and when
//	services.go    cost codes, vendor services, orders, listeners
//	token.go       the session token manager, one refresh at a time
//	tokenshare.go  TokenShare: one session token for the fleet
//	visitors.go    visitors, in their location's zone
//	wire.go        wire quirks decoded, request times encoded
//	zones.go       Windows zone names mapped to IANA, with CLDR
package engage

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// Product is an API product of the upstream's API Management gateway. Each
// subscription key opens the routes of one product, so the client must know
// which product owns every route.
type Product string

// The products of the Engage API [I: ownership of routes is inferred].
const (
	ProductCostCode         Product = "CostCode"
	ProductExternalBookings Product = "ExternalBookings"
	ProductHierarchyMapping Product = "HierarchyMapping"
	ProductVendorServices   Product = "VendorServices"
	ProductVisitor          Product = "Visitor"
)

// Products lists every product, for configuration checks and tooling.
func Products() []Product {
	return []Product{ProductCostCode, ProductExternalBookings, ProductHierarchyMapping, ProductVendorServices, ProductVisitor}
}

// Defaults of Config.
const (
	DefaultRefreshBefore  = 5 * time.Minute
	DefaultRequestTimeout = 30 * time.Second
)

// Config sets up a Client. Every optional field documents its zero-value
// default.
type Config struct {
	// TokenURL is the full token endpoint, e.g.
	// https://tenant.condecosoftware.com/tokenproviderapi/token. Required.
	TokenURL string
	// APIURL is the API base including the tenant suffix and version, e.g.
	// https://integrationapi.condecosoftware.com/Tenant/api/V1. Required.
	APIURL string
	// ClientID and Password are the session token credentials. Required.
	ClientID string
	Password string
	// Keys holds one subscription key per product, for tenants that issue
	// keys per product.
	Keys map[Product]string
	// DefaultKey is used for every product without its own key in Keys, for
	// tenants that issue one key for everything. At least one of Keys and
	// DefaultKey must be set.
	DefaultKey string
	// HTTPClient sends every request; nil = a client with a pooled transport
	// sized for many concurrent callers. Timeouts come from RequestTimeout
	// and the caller's context either way.
	HTTPClient *http.Client
	// RefreshBefore is how long before its expiry a token is replaced (with
	// ±10% jitter, so replicas sharing a client id don't refresh in step);
	// zero = DefaultRefreshBefore.
	RefreshBefore time.Duration
	// RequestTimeout bounds each upstream request (each attempt, and each
	// token request) on top of the caller's context; zero =
	// DefaultRequestTimeout.
	RequestTimeout time.Duration
	// Now is the clock used for token expiry and rate-limit waits; nil =
	// time.Now. Tests move it to expire tokens without sleeping.
	Now func() time.Time
	// Logger receives operational logs (token refreshes, rejected keys, rate
	// limits); nil = discard. Secrets are never logged.
	Logger *slog.Logger
	// Observe, when set, is called once per HTTP request the client sends
	// (each attempt, and each token request), so an operator can see what
	// the gateway costs the upstream without this package knowing how it is
	// measured. route is the template ("/bookings/{id}"), never the concrete
	// path, so labels stay bounded; product is "" for the token provider;
	// status is 0 when no answer came (network error, timeout). Calls held
	// back by a rate limit send nothing and are not observed. It must be
	// safe for concurrent use and quick. Nil = not observed.
	Observe func(product Product, route string, status int, d time.Duration)
	// OnTokenRefresh, when set, is called after every token request with
	// its outcome (nil on success): refreshes that fail, or come far more
	// often than the token's lifetime suggests, point at credentials or
	// clock trouble. A token adopted from TokenShare is no token request and
	// is not reported. Nil = not reported.
	OnTokenRefresh func(err error)
	// Retry sets how failed calls are tried again; its zero value retries
	// reads (and writes that surely did not reach the backend) up to three
	// attempts. See Retry.
	Retry Retry
	// Breaker sets the circuit breaker kept per product; its zero value
	// opens after 5 consecutive failed attempts for 10s. See Breaker.
	Breaker Breaker
	// OnBreaker, when set, is called on every transition of a product's
	// breaker with its new state (BreakerClosed, BreakerOpen,
	// BreakerHalfOpen), so an operator sees an outage of Engage as it
	// starts and ends. It is called outside the breaker's lock (it may call
	// BreakerStates), from the goroutine of the call that caused the
	// transition; it must be quick and safe for concurrent use. Nil = not
	// reported.
	OnBreaker func(p Product, state string)
	// Budget, when set, is asked before every API attempt (retries
	// included, token requests not), so all replicas together stay under
	// the upstream's rate limit. Nil = no gateway-side budget: each replica
	// learns the limit from the upstream's 429.
	Budget Budget
	// BudgetMaxWait is the longest a call waits for the Budget before it
	// fails with UPSTREAM_RATE_LIMITED; zero = 2s for Interactive calls
	// and 10s for Background ones (DefaultBudgetMaxWait...). The caller's
	// deadline bounds the wait too.
	BudgetMaxWait time.Duration
	// TokenShare, when set, shares the session token with the other
	// replicas, so the fleet logs in once (and once after a revocation).
	// Each replica still draws its own refresh jitter. Nil = this process
	// logs in by itself.
	TokenShare TokenShare
}

// Client talks to one Engage tenant. It is safe for concurrent use, and
// meant to be shared: its token, rate-limit state and location zone cache
// are per client.
type Client struct {
	api            *url.URL
	keys           map[Product]string
	defaultKey     string
	hc             *http.Client
	requestTimeout time.Duration
	now            func() time.Time
	log            *slog.Logger
	tokens         *tokenSource
	limits         *rateLimits
	zones          *Zones
	locZones       *locationZones
	redact         *strings.Replacer
	observe        func(Product, string, int, time.Duration)
	retry          Retry
	breakers       *breakers
	budget         Budget
	budgetMaxWait  time.Duration
	budgetLog      *logLimiter
	keyIDs         map[Product]string
	// sleep waits between attempts and for the budget; tests replace it to
	// move a fake clock instead of waiting.
	sleep func(ctx context.Context, d time.Duration) error
}

// The client must satisfy the whole domain service; this fails the build, not
// a test, when an interface method is missing.
var _ workplace.Service = (*Client)(nil)

// New validates cfg and returns a client. It makes no request: the first
// call (or CheckToken) fetches the token. Errors name the offending field.
func New(cfg Config) (*Client, error) {
	api, err := parseBaseURL("APIURL", cfg.APIURL)
	if err != nil {
		return nil, err
	}
	tokenURL, err := parseBaseURL("TokenURL", cfg.TokenURL)
	if err != nil {
		return nil, err
	}
	switch {
	case cfg.ClientID == "":
		return nil, errors.New("engage: Config.ClientID is required")
	case cfg.Password == "":
		return nil, errors.New("engage: Config.Password is required")
	case cfg.RefreshBefore < 0:
		return nil, errors.New("engage: Config.RefreshBefore must not be negative")
	case cfg.RequestTimeout < 0:
		return nil, errors.New("engage: Config.RequestTimeout must not be negative")
	case cfg.Retry.Attempts < 0:
		return nil, errors.New("engage: Config.Retry.Attempts must not be negative")
	case cfg.Retry.BaseDelay < 0 || cfg.Retry.MaxDelay < 0:
		return nil, errors.New("engage: Config.Retry delays must not be negative")
	case cfg.Breaker.Cooldown < 0:
		return nil, errors.New("engage: Config.Breaker.Cooldown must not be negative")
	case cfg.BudgetMaxWait < 0:
		return nil, errors.New("engage: Config.BudgetMaxWait must not be negative")
	}
	keys := make(map[Product]string, len(cfg.Keys))
	for p, k := range cfg.Keys {
		if !knownProduct(p) {
			return nil, fmt.Errorf("engage: Config.Keys has unknown product %q", p)
		}
		if k != "" {
			keys[p] = k
		}
	}
	if len(keys) == 0 && cfg.DefaultKey == "" {
		return nil, errors.New("engage: Config.Keys or Config.DefaultKey is required")
	}
	if cfg.RefreshBefore == 0 {
		cfg.RefreshBefore = DefaultRefreshBefore
	}
	if cfg.RequestTimeout == 0 {
		cfg.RequestTimeout = DefaultRequestTimeout
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.HTTPClient == nil {
		cfg.HTTPClient = defaultHTTPClient()
	}

	c := &Client{
		api:            api,
		keys:           keys,
		defaultKey:     cfg.DefaultKey,
		hc:             cfg.HTTPClient,
		requestTimeout: cfg.RequestTimeout,
		now:            cfg.Now,
		log:            cfg.Logger,
		limits:         newRateLimits(cfg.Now),
		zones:          NewZones(),
		observe:        cfg.Observe,
		retry:          cfg.Retry.withDefaults(),
		breakers:       newBreakers(cfg.Breaker, cfg.Now, cfg.OnBreaker),
		budget:         cfg.Budget,
		budgetMaxWait:  cfg.BudgetMaxWait,
		budgetLog:      &logLimiter{every: time.Minute, now: cfg.Now},
		keyIDs:         make(map[Product]string),
		sleep:          sleepCtx,
	}
	c.redact = newRedactor(cfg.Password, cfg.DefaultKey, keys)
	c.tokens = newTokenSource(tokenSourceConfig{
		fetch:         c.tokenFetcher(tokenURL.String(), cfg.ClientID, cfg.Password),
		now:           cfg.Now,
		refreshBefore: cfg.RefreshBefore,
		timeout:       cfg.RequestTimeout,
		log:           cfg.Logger,
		onRefresh:     cfg.OnTokenRefresh,
		share:         cfg.TokenShare,
	})
	c.locZones = newLocationZones(c)
	for _, p := range Products() {
		key := c.keyFor(p)
		if key == "" {
			// Not fatal: a tenant may not subscribe to every product. Calls
			// to its routes fail with a clear error instead.
			c.log.Warn("engage: no subscription key configured", "product", string(p))
			continue
		}
		c.keyIDs[p] = keyID(api.String(), key)
	}
	return c, nil
}

// CheckToken obtains a token, or confirms the cached one is still good. It
// makes no API call, so readiness probes cost no rate-limit budget.
func (c *Client) CheckToken(ctx context.Context) error {
	_, err := c.tokens.Token(ctx)
	return err
}

// RateLimitedFor says how long calls of product p are still held back after
// the upstream rate-limited its subscription key; 0 when they may go. The
// upstream publishes no remaining quota, so this is all the client learns
// from it (the fleet's own Budget reports its remainder itself); it is
// exposed so operators can see a held key without reading logs.
func (c *Client) RateLimitedFor(p Product) time.Duration {
	key := c.keyFor(p)
	if key == "" {
		return 0
	}
	return c.limits.wait(key)
}

// KeyIDs returns, per product with a subscription key, the key's public id
// in the shared Budget (the first 16 hex digits of SHA-256 of the API URL, a
// NUL and the key; the URL as parsed from Config.APIURL, without a trailing
// slash), so metrics can report the budget left per key without ever
// showing a key. Products sharing a key share an id.
func (c *Client) KeyIDs() map[Product]string {
	return maps.Clone(c.keyIDs)
}

// BreakerStates returns the state of every product's circuit breaker
// (BreakerClosed, BreakerOpen or BreakerHalfOpen), for metrics and health
// pages. An open breaker whose cooldown has passed reads "open" until the
// next call probes it.
func (c *Client) BreakerStates() map[Product]string {
	return c.breakers.states()
}

// ZoneFor maps a Windows time zone name to its IANA location; see Zones.
func (c *Client) ZoneFor(windowsName string) (*time.Location, error) {
	return c.zones.ZoneFor(windowsName)
}

// keyFor returns the subscription key of product p, or "" when none is
// configured.
func (c *Client) keyFor(p Product) string {
	if k, ok := c.keys[p]; ok {
		return k
	}
	return c.defaultKey
}

func knownProduct(p Product) bool {
	for _, q := range Products() {
		if p == q {
			return true
		}
	}
	return false
}

func parseBaseURL(field, raw string) (*url.URL, error) {
	if raw == "" {
		return nil, fmt.Errorf("engage: Config.%s is required", field)
	}
	u, err := url.Parse(raw)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("engage: Config.%s must be an absolute http(s) URL", field)
	}
	u.Path = strings.TrimRight(u.Path, "/")
	u.RawPath = ""
	return u, nil
}

// defaultHTTPClient is the client used when Config.HTTPClient is nil.
func defaultHTTPClient() *http.Client {
	return &http.Client{Transport: NewTransport()}
}

// NewTransport returns the transport the client uses by default, for callers
// that wrap it (tracing, say) in their own Config.HTTPClient. It pools enough
// idle connections per host that many concurrent callers reuse connections
// instead of opening (and leaving in TIME_WAIT) one each; the stock
// transport keeps only two.
func NewTransport() *http.Transport {
	return &http.Transport{
		Proxy: http.ProxyFromEnvironment,
		DialContext: (&net.Dialer{
			Timeout:   10 * time.Second,
			KeepAlive: 30 * time.Second,
		}).DialContext,
		ForceAttemptHTTP2:     true,
		MaxIdleConns:          256,
		MaxIdleConnsPerHost:   128,
		IdleConnTimeout:       90 * time.Second,
		TLSHandshakeTimeout:   10 * time.Second,
		ResponseHeaderTimeout: 30 * time.Second,
		ExpectContinueTimeout: time.Second,
	}
}

// newRedactor builds a replacer that blanks every secret the client holds, so
// an upstream that echoes a key, or an error that quotes a request, can never
// carry one into an error string or a log line. Tokens are redacted
// separately (they change) by the token source.
func newRedactor(password, defaultKey string, keys map[Product]string) *strings.Replacer {
	var pairs []string
	add := func(s string) {
		if len(s) >= 4 { // shorter strings would blank ordinary words
			pairs = append(pairs, s, "[REDACTED]")
		}
	}
	add(password)
	add(url.QueryEscape(password))
	add(defaultKey)
	for _, k := range keys {
		add(k)
	}
	return strings.NewReplacer(pairs...)
}

// scrub removes every secret from s: the configured secrets and any token the
// client has held.
func (c *Client) scrub(s string) string {
	return c.tokens.scrub(c.redact.Replace(s))
}
