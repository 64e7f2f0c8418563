package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/guard"
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
	// shutdownTimeout bounds a graceful stop: in-flight requests finish and
	// streams are closed within it; then what remains is closed hard.
	shutdownTimeout time.Duration
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
	c.fanOut = 8
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
	if _, _, err := net.SplitHostPort(c.listenAddr); err != nil {
		return c, fmt.Errorf("LISTEN_ADDR %q is not host:port (for example :8080)", c.listenAddr)
	}
	for _, v := range productKeyVars {
		if k := get(v.name); k != "" {
			c.keys[v.product] = k
		}
	}

	c.embedded = c.apiURL == ""
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

	if c.redisURL != "" {
		opts, err := redis.ParseURL(c.redisURL)
		if err != nil {
			return c, fmt.Errorf("REDIS_URL is not a redis:// or rediss:// URL: %s", describeURLError(err))
		}
		c.redisOptions = &redis.UniversalOptions{
			Addrs:     []string{opts.Addr},
			DB:        opts.DB,
			Username:  opts.Username,
			Password:  opts.Password,
			TLSConfig: opts.TLSConfig,
		}
	}

	if c.webhookPublicURL != "" {
		if err := checkURL("WEBHOOK_PUBLIC_URL", c.webhookPublicURL); err != nil {
			return c, err
		}
		if c.webhookSecret == "" {
			return c, fmt.Errorf("WEBHOOK_SECRET is required when WEBHOOK_PUBLIC_URL is set: the upstream signs notifications with it")
		}
	}
	return c, nil
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

// loadLimits reads the abuse limits: GRAPHQL_MAX_DEPTH, GRAPHQL_MAX_ALIASES,
// GRAPHQL_MAX_BODY_BYTES, GRAPHQL_MAX_COST, GRAPHQL_TIMEOUT,
// GRAPHQL_INTROSPECTION, CORS_ALLOWED_ORIGINS and WEBSOCKET_ORIGINS. Unset
// means the defaults of package guard, introspection on, and same-origin
// browsers only.
func loadLimits(c *config, get func(string) string) error {
	c.limits = guard.Limits{}.WithDefaults()
	ints := []struct {
		name     string
		min, max int64
		set      func(int64)
	}{
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
	return nil
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
