package server

import (
	"crypto/tls"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/answer"
	"github.com/engagegql/gateway/guard"
	"github.com/engagegql/gateway/protocol"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLoadConfig(t *testing.T) {
	upstream := map[string]string{
		"ENGAGE_API_URL":          "https://api.example.test/Acme/api/V1",
		"ENGAGE_TOKEN_URL":        "https://acme.example.test/tokenproviderapi/token",
		"ENGAGE_CLIENT_ID":        "client",
		"ENGAGE_PASSWORD":         "s3cret-password",
		"ENGAGE_SUBSCRIPTION_KEY": "one-key",
		"AUTH_API_KEYS":           "kiosk:" + strings.Repeat("ab", 32),
	}
	with := func(base map[string]string, kv ...string) map[string]string {
		out := map[string]string{}
		for k, v := range base {
			out[k] = v
		}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] == "" {
				delete(out, kv[i])
			} else {
				out[kv[i]] = kv[i+1]
			}
		}
		return out
	}
	tests := []struct {
		name    string
		env     map[string]string
		wantErr string
	}{
		{"embedded by default", map[string]string{}, ""},
		{"real upstream with one key", upstream, ""},
		{"real upstream with per-product keys", with(upstream, "ENGAGE_SUBSCRIPTION_KEY", "",
			"ENGAGE_KEY_COSTCODE", "a", "ENGAGE_KEY_EXTERNALBOOKINGS", "b", "ENGAGE_KEY_HIERARCHYMAPPING", "c",
			"ENGAGE_KEY_VENDORSERVICES", "d", "ENGAGE_KEY_VISITOR", "e"), ""},
		{"missing per-product key", with(upstream, "ENGAGE_SUBSCRIPTION_KEY", "",
			"ENGAGE_KEY_COSTCODE", "a"), "ENGAGE_KEY_EXTERNALBOOKINGS is required"},
		{"token url without api url", map[string]string{"ENGAGE_TOKEN_URL": "https://x.test/t"}, "ENGAGE_TOKEN_URL is set but ENGAGE_API_URL is not"},
		{"malformed api url", with(upstream, "ENGAGE_API_URL", "not a url"), "ENGAGE_API_URL"},
		{"missing token url", with(upstream, "ENGAGE_TOKEN_URL", ""), "ENGAGE_TOKEN_URL is required"},
		{"missing client id", with(upstream, "ENGAGE_CLIENT_ID", ""), "ENGAGE_CLIENT_ID is required"},
		{"missing password", with(upstream, "ENGAGE_PASSWORD", ""), "ENGAGE_PASSWORD is required"},
		{"bad listen addr", map[string]string{"LISTEN_ADDR": "8080"}, "LISTEN_ADDR"},
		{"bad upstream concurrency", map[string]string{"UPSTREAM_CONCURRENCY": "0"}, "UPSTREAM_CONCURRENCY"},
		{"non-numeric upstream concurrency", map[string]string{"UPSTREAM_CONCURRENCY": "lots"}, "UPSTREAM_CONCURRENCY"},
		{"malformed shutdown timeout", map[string]string{"SHUTDOWN_TIMEOUT": "15"}, "SHUTDOWN_TIMEOUT"},
		{"negative shutdown timeout", map[string]string{"SHUTDOWN_TIMEOUT": "-1s"}, "SHUTDOWN_TIMEOUT"},
		{"bad max tokens", map[string]string{"GRAPHQL_MAX_TOKENS": "0"}, "GRAPHQL_MAX_TOKENS"},
		{"non-numeric max fields", map[string]string{"GRAPHQL_MAX_FIELDS": "2k"}, "GRAPHQL_MAX_FIELDS"},
		{"bad mirror visitors", map[string]string{"MIRROR_VISITORS": "sometimes"}, "MIRROR_VISITORS"},
		{"bad max directives", map[string]string{"GRAPHQL_MAX_DIRECTIVES": "-1"}, "GRAPHQL_MAX_DIRECTIVES"},
		{"one error is no room for the count of the rest", map[string]string{"GRAPHQL_MAX_ERRORS": "1"}, "GRAPHQL_MAX_ERRORS"},
		{"bad max depth", map[string]string{"GRAPHQL_MAX_DEPTH": "0"}, "GRAPHQL_MAX_DEPTH"},
		{"non-numeric max aliases", map[string]string{"GRAPHQL_MAX_ALIASES": "many"}, "GRAPHQL_MAX_ALIASES"},
		{"tiny max body", map[string]string{"GRAPHQL_MAX_BODY_BYTES": "10"}, "GRAPHQL_MAX_BODY_BYTES"},
		{"bad max cost", map[string]string{"GRAPHQL_MAX_COST": "-5"}, "GRAPHQL_MAX_COST"},
		{"bad graphql timeout", map[string]string{"GRAPHQL_TIMEOUT": "30"}, "GRAPHQL_TIMEOUT"},
		{"bad introspection", map[string]string{"GRAPHQL_INTROSPECTION": "maybe"}, "GRAPHQL_INTROSPECTION"},
		{"cors origin with a path", map[string]string{"CORS_ALLOWED_ORIGINS": "https://app.example.com/x"}, "CORS_ALLOWED_ORIGINS"},
		{"cors origin without scheme", map[string]string{"CORS_ALLOWED_ORIGINS": "app.example.com"}, "CORS_ALLOWED_ORIGINS"},
		{"bad websocket pattern", map[string]string{"WEBSOCKET_ORIGINS": "[app"}, "WEBSOCKET_ORIGINS"},
		{"websocket pattern with a path", map[string]string{"WEBSOCKET_ORIGINS": "app.example.com/ws"}, "WEBSOCKET_ORIGINS"},
		{"bad websocket init timeout", map[string]string{"WEBSOCKET_INIT_TIMEOUT": "10"}, "WEBSOCKET_INIT_TIMEOUT"},
		{"zero websocket init timeout", map[string]string{"WEBSOCKET_INIT_TIMEOUT": "0s"}, "WEBSOCKET_INIT_TIMEOUT"},
		{"endless websocket init timeout", map[string]string{"WEBSOCKET_INIT_TIMEOUT": "1h"}, "WEBSOCKET_INIT_TIMEOUT"},
		{"zero subscriptions per websocket", map[string]string{"WEBSOCKET_MAX_SUBSCRIPTIONS": "0"}, "WEBSOCKET_MAX_SUBSCRIPTIONS"},
		{"bad subscriptions per client", map[string]string{"CLIENT_MAX_SUBSCRIPTIONS": "-1"}, "CLIENT_MAX_SUBSCRIPTIONS"},
		{"websocket limits set", map[string]string{"WEBSOCKET_INIT_TIMEOUT": "3s", "WEBSOCKET_MAX_SUBSCRIPTIONS": "20", "CLIENT_MAX_SUBSCRIPTIONS": "0"}, ""},
		{"limits set", map[string]string{"GRAPHQL_MAX_DEPTH": "8", "GRAPHQL_TIMEOUT": "5s", "GRAPHQL_INTROSPECTION": "false",
			"CORS_ALLOWED_ORIGINS": "https://app.example.com, http://localhost:5173", "WEBSOCKET_ORIGINS": "*.example.com"}, ""},
		{"bad redis url", map[string]string{"REDIS_URL": "http://user:pw@host:6379"}, "REDIS_URL"},
		{"webhook url without secret", map[string]string{"WEBHOOK_PUBLIC_URL": "https://gw.example.test"}, "WEBHOOK_SECRET is required"},
		{"malformed webhook url", map[string]string{"WEBHOOK_PUBLIC_URL": "gw.example.test", "WEBHOOK_SECRET": "x"}, "WEBHOOK_PUBLIC_URL"},
		{"replay window set", map[string]string{"WEBHOOK_REPLAY_WINDOW": "5m"}, ""},
		{"replay window not a duration", map[string]string{"WEBHOOK_REPLAY_WINDOW": "120"}, "WEBHOOK_REPLAY_WINDOW"},
		{"replay window too short", map[string]string{"WEBHOOK_REPLAY_WINDOW": "500ms"}, "WEBHOOK_REPLAY_WINDOW"},
		{"replay window too long", map[string]string{"WEBHOOK_REPLAY_WINDOW": "2h"}, "WEBHOOK_REPLAY_WINDOW"},
		{"bad WEBHOOK_ALLOW_MISSING_DELIVERY_ID", map[string]string{"WEBHOOK_ALLOW_MISSING_DELIVERY_ID": "sometimes"}, "WEBHOOK_ALLOW_MISSING_DELIVERY_ID"},
		{"missing ids allowed", map[string]string{"WEBHOOK_ALLOW_MISSING_DELIVERY_ID": "true"}, ""},
		{"missing ids allowed with a window shorter than the retry span", map[string]string{"WEBHOOK_ALLOW_MISSING_DELIVERY_ID": "true", "WEBHOOK_REPLAY_WINDOW": "30s"},
			"WEBHOOK_REPLAY_WINDOW 30s is shorter than the upstream's retry span (1m11s)"},

		{"real upstream refuses to run without authentication", with(upstream, "AUTH_API_KEYS", ""), "client authentication is required"},
		{"real upstream behind an authenticating proxy", with(upstream, "AUTH_API_KEYS", "", "AUTH_DISABLED", "true"), ""},
		{"disabled contradicts a method", with(upstream, "AUTH_DISABLED", "true"), "contradicts"},
		{"bad AUTH_DISABLED", with(upstream, "AUTH_DISABLED", "sometimes"), "AUTH_DISABLED"},
		{"short HS256 secret", map[string]string{"AUTH_JWT_HS256_SECRET": "short", "AUTH_JWT_ISSUER": "i", "AUTH_JWT_AUDIENCE": "a"}, "at least 32"},
		{"JWT without issuer", map[string]string{"AUTH_JWT_HS256_SECRET": strings.Repeat("s", 32), "AUTH_JWT_AUDIENCE": "a"}, "AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE are required"},
		{"JWT without audience", map[string]string{"AUTH_JWKS_URL": "https://idp.test/jwks", "AUTH_JWT_ISSUER": "i"}, "AUTH_JWT_ISSUER and AUTH_JWT_AUDIENCE are required"},
		{"issuer without a key", map[string]string{"AUTH_JWT_ISSUER": "i", "AUTH_JWT_AUDIENCE": "a"}, "no key to verify"},
		{"missing public key file", map[string]string{"AUTH_JWT_PUBLIC_KEY_FILE": "/no/such/file.pem", "AUTH_JWT_ISSUER": "i", "AUTH_JWT_AUDIENCE": "a"}, "AUTH_JWT_PUBLIC_KEY_FILE"},
		{"malformed JWKS url", map[string]string{"AUTH_JWKS_URL": "idp/jwks", "AUTH_JWT_ISSUER": "i", "AUTH_JWT_AUDIENCE": "a"}, "AUTH_JWKS_URL"},
		{"bad JWKS refresh", map[string]string{"AUTH_JWKS_URL": "https://idp.test/jwks", "AUTH_JWT_ISSUER": "i", "AUTH_JWT_AUDIENCE": "a", "AUTH_JWKS_REFRESH": "1ms"}, "AUTH_JWKS_REFRESH"},
		{"private grant of two scopes", map[string]string{"AUTH_PRIVATE_GRANT": "reception facilities"}, "AUTH_PRIVATE_GRANT"},
		{"malformed API keys", map[string]string{"AUTH_API_KEYS": "kiosk:nothex"}, "AUTH_API_KEYS"},
		{"bad client rate", map[string]string{"CLIENT_RATE_LIMIT": "-1"}, "CLIENT_RATE_LIMIT"},
		{"bad client burst", map[string]string{"CLIENT_RATE_BURST": "lots"}, "CLIENT_RATE_BURST"},
		{"bad budget", map[string]string{"UPSTREAM_BUDGET_PER_MINUTE": "fast"}, "UPSTREAM_BUDGET_PER_MINUTE"},
		{"bad week budget", map[string]string{"UPSTREAM_BUDGET_PER_WEEK": "-3"}, "UPSTREAM_BUDGET_PER_WEEK"},
		{"bad reserve", map[string]string{"UPSTREAM_BUDGET_BACKGROUND_RESERVE": "1"}, "UPSTREAM_BUDGET_BACKGROUND_RESERVE"},
		{"bad replicas", map[string]string{"REPLICAS": "0"}, "REPLICAS"},
		{"bad retry attempts", map[string]string{"UPSTREAM_RETRY_ATTEMPTS": "0"}, "UPSTREAM_RETRY_ATTEMPTS"},
		{"bad retry delay", map[string]string{"UPSTREAM_RETRY_MAX_DELAY": "soon"}, "UPSTREAM_RETRY_MAX_DELAY"},
		{"bad breaker cooldown", map[string]string{"UPSTREAM_BREAKER_COOLDOWN": "-1s"}, "UPSTREAM_BREAKER_COOLDOWN"},
		{"bad stale window", map[string]string{"CACHE_STALE_FOR": "a day"}, "CACHE_STALE_FOR"},
		{"bad decoded tier", map[string]string{"CACHE_DECODED_MB": "64MB"}, "CACHE_DECODED_MB"},
		{"negative decoded tier", map[string]string{"CACHE_DECODED_MB": "-1"}, "CACHE_DECODED_MB"},
		{"unknown answers check", map[string]string{"CACHE_ANSWERS_CHECK": "sometimes"}, "CACHE_ANSWERS_CHECK"},
		{"bad bookings TTL", map[string]string{"CACHE_TTL_BOOKINGS": "0s"}, "CACHE_TTL_BOOKINGS"},
		{"bad hierarchy TTL", map[string]string{"CACHE_TTL_HIERARCHY": "an hour"}, "CACHE_TTL_HIERARCHY"},
		{"TTLs set", map[string]string{"CACHE_TTL_BOOKINGS": "30s", "CACHE_TTL_AVAILABILITY": "10s"}, ""},
		{"bad mirror", map[string]string{"MIRROR": "maybe"}, "MIRROR"},
		{"bad mirror share", map[string]string{"MIRROR_SHARE": "1.5"}, "MIRROR_SHARE"},
		{"bad mirror interval", map[string]string{"MIRROR_INTERVAL": "0s"}, "MIRROR_INTERVAL"},
		{"bad sweep period", map[string]string{"MIRROR_SWEEP_PERIOD": "weekly"}, "MIRROR_SWEEP_PERIOD"},
		{"mirror without webhooks", with(upstream, "MIRROR", "on"), "MIRROR=on needs the webhooks"},
		{"mirror with webhooks", with(upstream, "MIRROR", "on", "WEBHOOK_SECRET", "s", "WEBHOOK_PUBLIC_URL", "https://gw.example.com"), ""},
		{"mirror set", map[string]string{"MIRROR": "on", "MIRROR_SHARE": "0.5", "MIRROR_INTERVAL": "5s", "MIRROR_SWEEP_PERIOD": "48h"}, ""},
		{"bad log level", map[string]string{"LOG_LEVEL": "loud"}, "LOG_LEVEL"},
		{"client header behind a proxy", with(upstream, "AUTH_API_KEYS", "", "AUTH_DISABLED", "true", "CLIENT_ID_HEADER", "X-Forwarded-For"), ""},
		{"client header with authentication", with(upstream, "CLIENT_ID_HEADER", "X-Forwarded-For"), "only applies without client authentication"},
		{"malformed client header", map[string]string{"CLIENT_ID_HEADER": "X Forwarded"}, "CLIENT_ID_HEADER"},
		{"bad streams per client", map[string]string{"SSE_STREAMS_PER_CLIENT": "0"}, "SSE_STREAMS_PER_CLIENT"},
		{"bad reservation timeout", map[string]string{"SSE_RESERVATION_TIMEOUT": "30"}, "SSE_RESERVATION_TIMEOUT"},
		{"tiny reservation timeout", map[string]string{"SSE_RESERVATION_TIMEOUT": "10ms"}, "SSE_RESERVATION_TIMEOUT"},
		{"streams set", map[string]string{"SSE_STREAMS_PER_CLIENT": "2", "SSE_RESERVATION_TIMEOUT": "5s"}, ""},
		{"operations set", map[string]string{"UPSTREAM_RETRY_ATTEMPTS": "2", "UPSTREAM_BREAKER_FAILURES": "0", "CACHE_STALE_FOR": "0",
			"LOG_LEVEL": "debug", "UPSTREAM_BUDGET_PER_MINUTE": "0", "CLIENT_RATE_LIMIT": "0"}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := loadConfig(func(k string) string { return tt.env[k] })
			if tt.wantErr == "" {
				require.NoError(t, err)
				return
			}
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.NotContains(t, err.Error(), "s3cret-password")
			assert.NotContains(t, err.Error(), ":pw@")
		})
	}

	c, err := loadConfig(func(k string) string { return upstream[k] })
	require.NoError(t, err)
	assert.Equal(t, ":8080", c.listenAddr)
	assert.False(t, c.embedded)
	assert.Equal(t, "one-key", c.defaultKey)
	assert.Equal(t, 32, c.fanOut, "UPSTREAM_CONCURRENCY's default")
	assert.Equal(t, 15*time.Second, c.shutdownTimeout)

	assert.Equal(t, guard.Limits{}.WithDefaults(), c.limits)
	assert.Nil(t, c.corsOrigins)
	assert.Nil(t, c.wsOrigins)
	assert.Equal(t, 10*time.Second, c.wsInitTimeout)
	assert.Equal(t, 100, c.wsMaxSubscriptions)
	assert.Equal(t, 500, c.clientMaxSubscriptions)

	c, err = loadConfig(func(k string) string {
		return map[string]string{"GRAPHQL_MAX_COST": "100", "GRAPHQL_MAX_BODY_BYTES": "65536", "GRAPHQL_INTROSPECTION": "false",
			"GRAPHQL_MAX_TOKENS": "5000", "GRAPHQL_MAX_FIELDS": "800", "GRAPHQL_MAX_DIRECTIVES": "20", "GRAPHQL_MAX_ERRORS": "50",
			"CORS_ALLOWED_ORIGINS": "https://App.example.com/, *", "WEBSOCKET_ORIGINS": "app.example.com,localhost:*"}[k]
	})
	require.NoError(t, err)
	assert.Equal(t, 5000, c.limits.MaxTokens)
	assert.Equal(t, 800, c.limits.MaxFields)
	assert.Equal(t, 20, c.limits.MaxDirectives)
	assert.Equal(t, 50, c.limits.MaxErrors)
	assert.Equal(t, 100, c.limits.MaxCost)
	assert.Equal(t, int64(65536), c.limits.MaxBodyBytes)
	assert.True(t, c.limits.DisableIntrospection)
	assert.Equal(t, []string{"https://app.example.com", "*"}, c.corsOrigins)
	assert.Equal(t, []string{"app.example.com", "localhost:*"}, c.wsOrigins)

	assert.Equal(t, protocol.StreamLimits{PerClient: 8, ReservationTimeout: 30 * time.Second}, c.sseStreams)
	c, err = loadConfig(func(k string) string {
		return map[string]string{"SSE_STREAMS_PER_CLIENT": "2", "SSE_RESERVATION_TIMEOUT": "5s"}[k]
	})
	require.NoError(t, err)
	assert.Equal(t, protocol.StreamLimits{PerClient: 2, ReservationTimeout: 5 * time.Second}, c.sseStreams)

	assert.True(t, c.mirror.visitors, "a mirror holds visitor lists unless told otherwise")
	for v, want := range map[string]answer.Check{"": answer.CheckLease, "lease": answer.CheckLease, "each": answer.CheckEach, "interval": answer.CheckInterval} {
		c, err = loadConfig(func(k string) string { return map[string]string{"CACHE_ANSWERS_CHECK": v}[k] })
		require.NoError(t, err)
		assert.Equal(t, want, c.answersCheck, "CACHE_ANSWERS_CHECK=%q", v)
	}
	c, err = loadConfig(func(k string) string { return map[string]string{"MIRROR_VISITORS": "off"}[k] })
	require.NoError(t, err)
	assert.False(t, c.mirror.visitors)

	c, err = loadConfig(func(k string) string { return map[string]string{"UPSTREAM_CONCURRENCY": "16"}[k] })
	require.NoError(t, err)
	assert.Equal(t, 16, c.fanOut)

	c, err = loadConfig(func(k string) string {
		return map[string]string{"WEBSOCKET_INIT_TIMEOUT": "2500ms", "WEBSOCKET_MAX_SUBSCRIPTIONS": "7", "CLIENT_MAX_SUBSCRIPTIONS": "0"}[k]
	})
	require.NoError(t, err)
	assert.Equal(t, 2500*time.Millisecond, c.wsInitTimeout)
	assert.Equal(t, 7, c.wsMaxSubscriptions)
	assert.Zero(t, c.clientMaxSubscriptions, "0 turns the cap off")

	c, err = loadConfig(func(k string) string { return map[string]string{"REDIS_URL": "redis://:pw@127.0.0.1:6390/2"}[k] })
	require.NoError(t, err)
	require.NotNil(t, c.redisOptions)
	assert.Equal(t, []string{"127.0.0.1:6390"}, c.redisOptions.Addrs)
	assert.Equal(t, 2, c.redisOptions.DB)
}

func TestLoadConfigOperations(t *testing.T) {
	c, err := loadConfig(func(string) string { return "" })
	require.NoError(t, err)
	assert.True(t, c.authOff, "the embedded demo runs without authentication unless told otherwise")
	assert.Equal(t, "127.0.0.1:8080", c.listenAddr, "the demo serves this machine only unless told otherwise")
	told, err := loadConfig(func(k string) string { return map[string]string{"LISTEN_ADDR": ":9090"}[k] })
	require.NoError(t, err)
	assert.Equal(t, ":9090", told.listenAddr)
	assert.Equal(t, defaultActAsGrant, c.actAsGrant)
	assert.Equal(t, "engage:private-meetings", c.privateGrant)
	assert.Equal(t, 2*time.Minute, c.webhookReplayWindow)
	assert.False(t, c.webhookAllowNoID, "deliveries without an id are refused unless allowed")
	assert.False(t, c.budget.off)
	// The defaults can never pass the tenant's limits in any window.
	assert.LessOrEqual(t, c.budget.minute.Events+c.budget.minute.Burst, 500)
	assert.LessOrEqual(t, c.budget.week.Events+c.budget.week.Burst, 50_000)

	c, err = loadConfig(func(k string) string {
		return map[string]string{"UPSTREAM_RETRY_ATTEMPTS": "2", "UPSTREAM_BREAKER_FAILURES": "0", "CACHE_STALE_FOR": "0",
			"UPSTREAM_BUDGET_PER_MINUTE": "0", "CLIENT_RATE_LIMIT": "120", "AUTH_ACT_AS_GRANT": "reception", "AUTH_PRIVATE_GRANT": "facilities",
			"AUTH_JWT_HS256_SECRET": strings.Repeat("s", 32), "AUTH_JWT_ISSUER": "i", "AUTH_JWT_AUDIENCE": "a"}[k]
	})
	require.NoError(t, err)
	assert.Equal(t, 2, c.retry.Attempts)
	assert.Negative(t, c.breaker.Failures, "0 switches the breaker off")
	assert.Negative(t, c.staleFor, "0 serves nothing stale")
	assert.Equal(t, 64, c.decodedMB, "the decoded tier's default")
	assert.Equal(t, -1, decodedBytes(0), "0 turns the decoded tier off")
	assert.Equal(t, 8<<20, decodedBytes(8))
	assert.True(t, c.budget.off)
	assert.Equal(t, 120, c.clientLimit.Events)
	assert.Equal(t, "reception", c.actAsGrant)
	assert.Equal(t, "facilities", c.privateGrant)
	assert.False(t, c.authOff)
}

func TestLoadConfigTrustedDocuments(t *testing.T) {
	dir := t.TempDir()
	manifest := filepath.Join(dir, "m.json")
	require.NoError(t, os.WriteFile(manifest, []byte(`{"abc":"{ countries { name } }"}`), 0o600))
	load := func(env map[string]string) (config, error) {
		return loadConfig(func(k string) string { return env[k] })
	}
	c, err := load(map[string]string{"TRUSTED_DOCUMENTS": "strict", "TRUSTED_DOCUMENTS_MANIFESTS": manifest})
	require.NoError(t, err)
	require.NotNil(t, c.trusted)
	assert.Equal(t, 1, c.trusted.Len())
	c, err = load(map[string]string{})
	require.NoError(t, err)
	assert.Nil(t, c.trusted, "off by default")
	for env, want := range map[string]string{
		"TRUSTED_DOCUMENTS=sometimes":  `TRUSTED_DOCUMENTS "sometimes" is not off, log or strict`,
		"TRUSTED_DOCUMENTS=log":        "TRUSTED_DOCUMENTS=log needs TRUSTED_DOCUMENTS_MANIFESTS",
		"TRUSTED_DOCUMENTS_MANIFESTS=": "TRUSTED_DOCUMENTS_MANIFESTS is set but TRUSTED_DOCUMENTS is off",
		"TRUSTED_DOCUMENTS=strict":     "TRUSTED_DOCUMENTS_MANIFESTS: trusted documents manifest: open " + filepath.Join(dir, "missing.json"),
	} {
		k, v, _ := strings.Cut(env, "=")
		e := map[string]string{k: v}
		switch k + "=" + v {
		case "TRUSTED_DOCUMENTS_MANIFESTS=":
			e[k] = manifest
		case "TRUSTED_DOCUMENTS=strict":
			e["TRUSTED_DOCUMENTS_MANIFESTS"] = filepath.Join(dir, "missing.json")
		}
		_, err := load(e)
		require.Error(t, err, env)
		assert.Contains(t, err.Error(), want, env)
	}
}

func TestLoadConfigRedis(t *testing.T) {
	load := func(env map[string]string) (config, error) {
		return loadConfig(func(k string) string { return env[k] })
	}
	c, err := load(map[string]string{"REDIS_CLUSTER_ADDRS": "10.0.0.1:6379, 10.0.0.2:6379", "REDIS_USERNAME": "gw", "REDIS_PASSWORD": "pw"})
	require.NoError(t, err)
	assert.True(t, c.redisOptions.IsClusterMode)
	assert.Equal(t, []string{"10.0.0.1:6379", "10.0.0.2:6379"}, c.redisOptions.Addrs)
	assert.Equal(t, "gw", c.redisOptions.Username)
	assert.Equal(t, "pw", c.redisOptions.Password)
	assert.Nil(t, c.redisOptions.TLSConfig)

	c, err = load(map[string]string{"REDIS_SENTINEL_ADDRS": "s1:26379,s2:26379,s3:26379", "REDIS_SENTINEL_MASTER": "engage", "REDIS_TLS": "true"})
	require.NoError(t, err)
	assert.Equal(t, "engage", c.redisOptions.MasterName)
	assert.Len(t, c.redisOptions.Addrs, 3)
	require.NotNil(t, c.redisOptions.TLSConfig)
	assert.Equal(t, uint16(tls.VersionTLS12), c.redisOptions.TLSConfig.MinVersion)

	c, err = load(map[string]string{"REDIS_URL": "rediss://:urlpw@cache.example.com:6380/3", "REDIS_PASSWORD": "override"})
	require.NoError(t, err)
	assert.Equal(t, "override", c.redisOptions.Password)
	assert.Equal(t, 3, c.redisOptions.DB)
	require.NotNil(t, c.redisOptions.TLSConfig, "rediss:// is TLS")

	dir := t.TempDir()
	notPEM := filepath.Join(dir, "ca.txt")
	require.NoError(t, os.WriteFile(notPEM, []byte("hello"), 0o600))
	for name, tt := range map[string]struct {
		env  map[string]string
		want string
	}{
		"two places":               {map[string]string{"REDIS_URL": "redis://a:1/0", "REDIS_CLUSTER_ADDRS": "b:1"}, "set one of them"},
		"sentinels without a name": {map[string]string{"REDIS_SENTINEL_ADDRS": "s:26379"}, "needs REDIS_SENTINEL_MASTER"},
		"a name without sentinels": {map[string]string{"REDIS_SENTINEL_MASTER": "m"}, "without REDIS_SENTINEL_ADDRS"},
		"not host:port":            {map[string]string{"REDIS_CLUSTER_ADDRS": "node-a"}, `REDIS_CLUSTER_ADDRS: "node-a" is not host:port`},
		"both passwords":           {map[string]string{"REDIS_URL": "redis://a:1/0", "REDIS_PASSWORD": "x", "REDIS_PASSWORD_FILE": "/f"}, "both set"},
		"a missing password file":  {map[string]string{"REDIS_URL": "redis://a:1/0", "REDIS_PASSWORD_FILE": filepath.Join(dir, "none")}, "REDIS_PASSWORD_FILE"},
		"a CA that is not PEM":     {map[string]string{"REDIS_URL": "redis://a:1/0", "REDIS_CA_FILE": notPEM}, "holds no PEM certificate"},
		"TLS off for rediss":       {map[string]string{"REDIS_URL": "rediss://a:1/0", "REDIS_TLS": "false"}, "REDIS_TLS=false"},
		"credentials, no Redis":    {map[string]string{"REDIS_PASSWORD": "x"}, "REDIS_PASSWORD is set but no Redis is"},
	} {
		_, err := load(tt.env)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), tt.want, name)
		assert.NotContains(t, err.Error(), "urlpw", name)
	}
}
