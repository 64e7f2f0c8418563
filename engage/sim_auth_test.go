package engage

// Token sharing, refresh, key rejection, rate limits and secrecy, over real
// HTTP against engagesim.

import (
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/workplace"
)

func TestThousandConcurrentCallsShareOneToken(t *testing.T) {
	env := newSimEnv(t)
	var g errgroup.Group
	for range 1000 {
		g.Go(func() error {
			_, err := env.client.Countries(env.ctx())
			return err
		})
	}
	require.NoError(t, g.Wait())
	s := env.stats()
	assert.Equal(t, 1, s.TokenRequests, "exactly one token request")
	assert.Equal(t, 1000, s.TotalCalls)
	assert.Equal(t, 1000, s.count(http.StatusOK))
}

func TestTokenExpiryRefreshesOnce(t *testing.T) {
	env := newSimEnv(t, withSim(func(c *engagesim.Config) { c.TokenLifetime = time.Hour }))
	_, err := env.client.Countries(env.ctx())
	require.NoError(t, err)

	env.clock.Advance(40 * time.Minute) // 20 minutes left: still reused
	_, err = env.client.Countries(env.ctx())
	require.NoError(t, err)
	assert.Equal(t, 1, env.stats().TokenRequests)

	env.clock.Advance(21 * time.Minute) // expired, on both clocks
	var g errgroup.Group
	for range 50 {
		g.Go(func() error {
			_, err := env.client.Countries(env.ctx())
			return err
		})
	}
	require.NoError(t, g.Wait())
	s := env.stats()
	assert.Equal(t, 2, s.TokenRequests, "one refresh for 50 callers")
	assert.Zero(t, s.count(http.StatusUnauthorized), "refreshed before use, not after a 401")
}

func TestTokenExpiredUpstreamOnlyIsRefreshedAfter401(t *testing.T) {
	// The simulator's clock jumps past the token's life while the client's
	// does not: the client learns of the expiry from the 401.
	env := newSimEnv(t)
	_, err := env.client.Countries(env.ctx())
	require.NoError(t, err)
	env.admin("/_sim/clock", map[string]string{"advance": "13h"})
	env.resetStats()

	_, err = env.client.Countries(env.ctx())
	require.NoError(t, err)
	s := env.stats()
	assert.Equal(t, 1, s.TokenRequests)
	assert.Equal(t, 1, s.count(http.StatusUnauthorized))
	assert.Equal(t, 1, s.count(http.StatusOK))
}

func TestRevokedTokenRefreshesOnceAndRetries(t *testing.T) {
	tests := []struct {
		name    string
		callers int
	}{
		{"one caller", 1},
		{"many concurrent callers with the same stale token", 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newSimEnv(t)
			_, err := env.client.Countries(env.ctx())
			require.NoError(t, err)
			env.faults(map[string]bool{"revokeTokens": true})
			env.resetStats()

			var g errgroup.Group
			for range tt.callers {
				g.Go(func() error {
					_, err := env.client.Countries(env.ctx())
					return err
				})
			}
			require.NoError(t, g.Wait(), "every caller succeeds after the retry")
			s := env.stats()
			assert.Equal(t, 1, s.TokenRequests, "one refresh")
			assert.Equal(t, tt.callers, s.count(http.StatusOK))
			assert.LessOrEqual(t, s.count(http.StatusUnauthorized), tt.callers, "at most one 401 per caller: no retry loop")
		})
	}
}

func TestBearerRejectedTwiceIsUnauthenticated(t *testing.T) {
	env := newSimEnv(t)
	require.NoError(t, env.client.CheckToken(env.ctx()))
	env.faults(map[string]int{"unauthorizedNext": 5})
	env.resetStats()

	_, err := env.client.Countries(env.ctx())
	require.Error(t, err)
	assert.Equal(t, workplace.EUNAUTHORIZED, workplace.ErrorCode(err))
	s := env.stats()
	assert.Equal(t, 2, s.TotalCalls, "the call and one retry")
	assert.Equal(t, 1, s.TokenRequests, "one refresh")
}

func TestWrongKeyIsNotRetried(t *testing.T) {
	tests := []struct {
		name string
		key  string
	}{
		{"unknown key", "not-a-real-key-98765"},
		{"another product's key", "demo-externalbookings-key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			env := newSimEnv(t, withClient(func(c *Config) {
				c.Keys = map[Product]string{ProductHierarchyMapping: tt.key}
			}))
			_, err := env.client.Countries(env.ctx())
			require.Error(t, err)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, http.StatusUnauthorized, e.Status)
			assert.Equal(t, workplace.EUNAUTHORIZED, workplace.ErrorCode(err))
			assert.Contains(t, workplace.ErrorMessage(err), "subscription key for Engage product HierarchyMapping was rejected")
			assert.Contains(t, err.Error(), "HierarchyMapping")
			assert.NotContains(t, err.Error(), tt.key)
			assert.NotContains(t, workplace.ErrorMessage(err), tt.key)
			assert.NotContains(t, env.logs.String(), tt.key)
			s := env.stats()
			assert.Equal(t, 1, s.TotalCalls, "exactly one call: no retry")
			assert.Equal(t, 1, s.TokenRequests, "no refresh for a key problem")
		})
	}
}

func TestRateLimitIsHonoured(t *testing.T) {
	env := newSimEnv(t, withSim(func(c *engagesim.Config) { c.RatePerMinute = 3 }))
	for range 3 {
		_, err := env.client.Countries(env.ctx())
		require.NoError(t, err)
	}
	_, err := env.client.Countries(env.ctx())
	require.Error(t, err)
	assert.Equal(t, workplace.ERATELIMITED, workplace.ErrorCode(err))
	assert.Equal(t, 60*time.Second, workplace.RetryAfter(err), "the simulator's Retry-After")
	assert.Equal(t, 4, env.stats().TotalCalls)

	env.clock.Advance(20 * time.Second)
	_, err = env.client.Users(env.ctx(), "")
	require.Error(t, err, "same key: held back")
	assert.Equal(t, workplace.ERATELIMITED, workplace.ErrorCode(err))
	assert.Equal(t, 40*time.Second, workplace.RetryAfter(err), "the remaining wait")
	assert.Contains(t, workplace.ErrorMessage(err), "retry in 40 seconds")
	assert.Equal(t, 4, env.stats().TotalCalls, "the upstream was not called")

	_, err = env.client.CostCodes(env.ctx(), 41)
	require.NoError(t, err, "another product's key is not held back")

	env.clock.Advance(41 * time.Second)
	_, err = env.client.Countries(env.ctx())
	require.NoError(t, err, "the wait has passed")
}

func TestQuotaIsHonoured(t *testing.T) {
	env := newSimEnv(t, withSim(func(c *engagesim.Config) { c.QuotaPerWeek = 2 }))
	for range 2 {
		_, err := env.client.Countries(env.ctx())
		require.NoError(t, err)
	}
	_, err := env.client.Countries(env.ctx())
	require.Error(t, err)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusForbidden, e.Status)
	assert.Equal(t, workplace.ERATELIMITED, workplace.ErrorCode(err))
	assert.Equal(t, 7*24*time.Hour, workplace.RetryAfter(err))
	_, err = env.client.Countries(env.ctx())
	assert.Equal(t, workplace.ERATELIMITED, workplace.ErrorCode(err))
	assert.Equal(t, 3, env.stats().TotalCalls)
}

func TestServerErrorsAreUnavailable(t *testing.T) {
	env := newSimEnv(t)
	env.faults(map[string]any{"errorRate": 1, "errorStatus": 503})
	_, err := env.client.Countries(env.ctx())
	require.Error(t, err)
	assert.Equal(t, workplace.EUNAVAILABLE, workplace.ErrorCode(err))
	assert.Equal(t, "Engage is unavailable; try again later.", workplace.ErrorMessage(err))
}

// TestSecretsNeverLeak runs the failure paths and some successes with debug
// logging on, then looks for every secret in every error string and log line.
func TestSecretsNeverLeak(t *testing.T) {
	env := newSimEnv(t, withSim(func(c *engagesim.Config) { c.RatePerMinute = 20 }))
	var errs []error
	collect := func(err error) {
		if err != nil {
			errs = append(errs, err)
		}
	}
	_, err := workplace.AllLocations(env.ctx(), env.client)
	require.NoError(t, err)
	_, err = env.client.Booking(env.ctx(), 1)
	collect(err)
	env.faults(map[string]bool{"revokeTokens": true})
	_, err = env.client.Countries(env.ctx())
	require.NoError(t, err)
	env.faults(map[string]int{"unauthorizedNext": 2})
	_, err = env.client.Countries(env.ctx())
	collect(err)
	env.faults(map[string]any{"errorRate": 1})
	_, err = env.client.Countries(env.ctx())
	collect(err)
	env.faults(map[string]any{"errorRate": 0})
	for range 25 {
		_, err = env.client.Users(env.ctx(), "")
		collect(err)
	}

	wrongKey, err := New(Config{
		TokenURL: env.srv.URL + "/tokenproviderapi/token", APIURL: env.srv.URL + "/Demo_Tenant/api/V1",
		ClientID: "demo-client", Password: "demo-password", DefaultKey: "wrong-key-for-test",
		Logger: env.client.log, HTTPClient: env.client.hc,
	})
	require.NoError(t, err)
	_, err = wrongKey.Countries(env.ctx())
	collect(err)
	badPassword, err := New(Config{
		TokenURL: env.srv.URL + "/tokenproviderapi/token", APIURL: env.srv.URL + "/Demo_Tenant/api/V1",
		ClientID: "demo-client", Password: "wrong-password-for-test", DefaultKey: "demo-hierarchymapping-key",
		Logger: env.client.log, HTTPClient: env.client.hc,
	})
	require.NoError(t, err)
	_, err = badPassword.Countries(env.ctx())
	collect(err)

	logs := env.logs.String()
	require.GreaterOrEqual(t, len(errs), 5)
	secrets := append(env.seen.all(), "demo-password", "wrong-password-for-test", "wrong-key-for-test")
	require.Greater(t, len(secrets), 5, "tokens and keys were recorded")

	require.NotEmpty(t, logs)
	for _, s := range secrets {
		assert.NotContains(t, logs, s, "log output")
		for _, err := range errs {
			assert.NotContains(t, err.Error(), s)
			assert.NotContains(t, workplace.ErrorMessage(err), s)
		}
	}
	assert.True(t, strings.Contains(logs, "subscription key rejected"), "the rejection is logged, without the key")
}
