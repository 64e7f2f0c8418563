package main

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"strconv"
	"strings"

	"github.com/engagegql/gateway/engage"
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
