package main

import (
	"testing"

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

	c, err = loadConfig(func(k string) string { return map[string]string{"UPSTREAM_CONCURRENCY": "16"}[k] })
	require.NoError(t, err)
	assert.Equal(t, 16, c.fanOut)

	c, err = loadConfig(func(k string) string { return map[string]string{"REDIS_URL": "redis://:pw@127.0.0.1:6390/2"}[k] })
	require.NoError(t, err)
	require.NotNil(t, c.redisOptions)
	assert.Equal(t, []string{"127.0.0.1:6390"}, c.redisOptions.Addrs)
	assert.Equal(t, 2, c.redisOptions.DB)
}
