package main

import (
	"testing"
	"time"

	"github.com/engagegql/gateway/guard"
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
		{"limits set", map[string]string{"GRAPHQL_MAX_DEPTH": "8", "GRAPHQL_TIMEOUT": "5s", "GRAPHQL_INTROSPECTION": "false",
			"CORS_ALLOWED_ORIGINS": "https://app.example.com, http://localhost:5173", "WEBSOCKET_ORIGINS": "*.example.com"}, ""},
		{"bad redis url", map[string]string{"REDIS_URL": "http://user:pw@host:6379"}, "REDIS_URL"},
		{"webhook url without secret", map[string]string{"WEBHOOK_PUBLIC_URL": "https://gw.example.test"}, "WEBHOOK_SECRET is required"},
		{"malformed webhook url", map[string]string{"WEBHOOK_PUBLIC_URL": "gw.example.test", "WEBHOOK_SECRET": "x"}, "WEBHOOK_PUBLIC_URL"},
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
	assert.Equal(t, 8, c.fanOut)
	assert.Equal(t, 15*time.Second, c.shutdownTimeout)

	assert.Equal(t, guard.Limits{}.WithDefaults(), c.limits)
	assert.Nil(t, c.corsOrigins)
	assert.Nil(t, c.wsOrigins)

	c, err = loadConfig(func(k string) string {
		return map[string]string{"GRAPHQL_MAX_COST": "100", "GRAPHQL_MAX_BODY_BYTES": "65536", "GRAPHQL_INTROSPECTION": "false",
			"CORS_ALLOWED_ORIGINS": "https://App.example.com/, *", "WEBSOCKET_ORIGINS": "app.example.com,localhost:*"}[k]
	})
	require.NoError(t, err)
	assert.Equal(t, 100, c.limits.MaxCost)
	assert.Equal(t, int64(65536), c.limits.MaxBodyBytes)
	assert.True(t, c.limits.DisableIntrospection)
	assert.Equal(t, []string{"https://app.example.com", "*"}, c.corsOrigins)
	assert.Equal(t, []string{"app.example.com", "localhost:*"}, c.wsOrigins)

	c, err = loadConfig(func(k string) string { return map[string]string{"UPSTREAM_CONCURRENCY": "16"}[k] })
	require.NoError(t, err)
	assert.Equal(t, 16, c.fanOut)

	c, err = loadConfig(func(k string) string { return map[string]string{"REDIS_URL": "redis://:pw@127.0.0.1:6390/2"}[k] })
	require.NoError(t, err)
	require.NotNil(t, c.redisOptions)
	assert.Equal(t, []string{"127.0.0.1:6390"}, c.redisOptions.Addrs)
	assert.Equal(t, 2, c.redisOptions.DB)
}
