package engage

// Retries over real HTTP against engagesim: which failures are tried again,
// for reads and for writes, and how long the client waits in between. The
// waits go through a sleeper that moves the fake clock, except where the
// caller's real deadline is the point.

import (
	"context"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/workplace"
)

// calls sums the calls of one method and route (status 0 = any).
func (s simStats) calls(method, route string, status int) int {
	n := 0
	for _, c := range s.Calls {
		if c.Method == method && c.Route == route && (status == 0 || c.Status == status) {
			n += c.Count
		}
	}
	return n
}

// observer counts the attempts Config.Observe reports, per route.
type observer struct {
	mu       sync.Mutex
	attempts map[string][]int
}

func (o *observer) observe(_ Product, route string, status int, _ time.Duration) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.attempts == nil {
		o.attempts = map[string][]int{}
	}
	o.attempts[route] = append(o.attempts[route], status)
}

func (o *observer) statuses(route string) []int {
	o.mu.Lock()
	defer o.mu.Unlock()
	return append([]int(nil), o.attempts[route]...)
}

func londonCostCode(t *testing.T, env *simEnv) []workplace.NewCostCode {
	t.Helper()
	return []workplace.NewCostCode{{Code: "LON-901", Description: "Retry test", LocationID: env.location("London HQ").ID, Active: true}}
}

func TestReadsRecoverFromServerErrors(t *testing.T) {
	t.Run("two 500s, then an answer", func(t *testing.T) {
		env := newSimEnv(t)
		require.NoError(t, env.client.CheckToken(env.ctx()))
		env.faults(map[string]any{"errorRate": 1})
		sl := env.useSleeper(func(n int) {
			if n == 2 {
				env.faults(map[string]any{"errorRate": 0}) // the upstream is back for the third attempt
			}
		})

		got, err := env.client.Countries(env.ctx())
		require.NoError(t, err)
		assert.NotEmpty(t, got)
		s := env.stats()
		assert.Equal(t, 2, s.calls(http.MethodGet, "/countries", http.StatusInternalServerError))
		assert.Equal(t, 1, s.calls(http.MethodGet, "/countries", http.StatusOK))
		assert.Equal(t, 3, s.TotalCalls)
		waits := sl.recorded()
		require.Len(t, waits, 2)
		assert.LessOrEqual(t, waits[0], DefaultRetryBaseDelay, "full jitter up to the base delay")
		assert.LessOrEqual(t, waits[1], 2*DefaultRetryBaseDelay, "then up to twice as long")
		assert.Contains(t, env.logs.String(), `msg="engage: retrying" method=GET route=/countries product=HierarchyMapping attempt=2 reason="status 500"`)
	})

	t.Run("half of all calls fail", func(t *testing.T) {
		env := newSimEnv(t, withClient(func(c *Config) {
			c.Retry = Retry{Attempts: 30}     // 20 calls all failing 30 times: 2e-8
			c.Breaker = Breaker{Failures: -1} // runs of failures are expected here
		}))
		env.useSleeper(nil)
		env.faults(map[string]any{"errorRate": 0.5})
		for range 20 {
			_, err := env.client.Countries(env.ctx())
			require.NoError(t, err)
		}
		s := env.stats()
		assert.Equal(t, 20, s.count(http.StatusOK))
		assert.Positive(t, s.count(http.StatusInternalServerError), "some attempts failed")
		assert.Equal(t, s.TotalCalls, 20+s.count(http.StatusInternalServerError))
	})
}

func TestReadRetriesGiveUpAfterTheLastAttempt(t *testing.T) {
	env := newSimEnv(t)
	sl := env.useSleeper(nil)
	env.faults(map[string]any{"errorRate": 1, "errorStatus": 503})

	_, err := env.client.Countries(env.ctx())
	require.Error(t, err)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusServiceUnavailable, e.Status, "the last attempt's answer")
	assert.Equal(t, workplace.EUNAVAILABLE, workplace.ErrorCode(err))
	assert.Equal(t, "Engage is unavailable; try again later.", workplace.ErrorMessage(err))
	assert.Equal(t, DefaultRetryAttempts, env.stats().calls(http.MethodGet, "/countries", http.StatusServiceUnavailable))
	assert.Len(t, sl.recorded(), DefaultRetryAttempts-1)
	logs := env.logs.String()
	assert.Contains(t, logs, "attempt=2")
	assert.Contains(t, logs, "attempt=3")
	assert.NotContains(t, logs, "attempt=4")
}

func TestRetriesCanBeDisabled(t *testing.T) {
	env := newSimEnv(t, withClient(func(c *Config) { c.Retry.Attempts = 1 }))
	sl := env.useSleeper(nil)
	env.faults(map[string]any{"errorRate": 1})
	_, err := env.client.Countries(env.ctx())
	require.Error(t, err)
	assert.Equal(t, 1, env.stats().TotalCalls)
	assert.Empty(t, sl.recorded())
}

func TestWriteIsNotRetriedAfterServerError(t *testing.T) {
	env := newSimEnv(t)
	codes := londonCostCode(t, env)
	sl := env.useSleeper(nil)
	env.faults(map[string]any{"errorRate": 1})
	env.resetStats()

	err := env.client.CreateCostCodes(env.ctx(), codes)
	require.Error(t, err)
	assert.Equal(t, workplace.EUNAVAILABLE, workplace.ErrorCode(err))
	s := env.stats()
	assert.Equal(t, 1, s.calls(http.MethodPost, "/costcodes", 0), "a 500 on a write may have been applied: exactly one attempt")
	assert.Equal(t, 1, s.TotalCalls)
	assert.Empty(t, sl.recorded())
}

func TestWriteIsRetriedAfterAShortRateLimit(t *testing.T) {
	env := newSimEnv(t)
	codes := londonCostCode(t, env)
	env.faults(map[string]any{"ratePerMinute": 1})
	_, err := env.client.CostCodes(env.ctx(), 0) // spends the CostCode key's minute
	require.NoError(t, err)
	env.clock.Advance(59 * time.Second) // one second of the window left
	sl := env.useSleeper(nil)
	env.resetStats()

	require.NoError(t, env.client.CreateCostCodes(env.ctx(), codes))
	s := env.stats()
	assert.Equal(t, 1, s.calls(http.MethodPost, "/costcodes", http.StatusTooManyRequests), "API Management refused it before the backend")
	assert.Equal(t, 1, s.calls(http.MethodPost, "/costcodes", http.StatusCreated))
	assert.Equal(t, []time.Duration{time.Second}, sl.recorded(), "exactly the Retry-After")
}

func TestLongRetryAfterFailsFast(t *testing.T) {
	env := newSimEnv(t, withSim(func(c *engagesim.Config) { c.RatePerMinute = 1 }))
	sl := env.useSleeper(nil)
	_, err := env.client.Countries(env.ctx())
	require.NoError(t, err)

	_, err = env.client.Countries(env.ctx())
	require.Error(t, err)
	assert.Equal(t, workplace.ERATELIMITED, workplace.ErrorCode(err))
	assert.Equal(t, 60*time.Second, workplace.RetryAfter(err), "longer than Retry.MaxDelay: not waited")
	assert.Equal(t, 2, env.stats().TotalCalls)
	assert.Empty(t, sl.recorded())
	assert.Equal(t, 60*time.Second, env.client.RateLimitedFor(ProductHierarchyMapping), "the key is held back")
}

func TestWriteIsRetriedWhenTheConnectionIsRefused(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closed := ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there now: connection refused

	obs := &observer{}
	env := newSimEnv(t, withClient(func(c *Config) {
		c.APIURL = "http://" + closed + "/" + engagesim.DefaultTenant + "/api/V1" // the token provider is the simulator
		c.Observe = obs.observe
	}))
	env.useSleeper(nil)
	err = env.client.CreateCostCodes(env.ctx(), []workplace.NewCostCode{{Code: "X", LocationID: 1}})
	require.Error(t, err)
	assert.Equal(t, workplace.EUNAVAILABLE, workplace.ErrorCode(err))
	assert.Equal(t, []int{0, 0, 0}, obs.statuses("/costcodes"), "never reached the upstream, so sent again")
}

func TestTimeoutsAreRetriedForReadsOnly(t *testing.T) {
	tests := []struct {
		name     string
		call     func(c *Client) error
		route    string
		attempts int
	}{
		{"read", func(c *Client) error { _, err := c.Countries(context.Background()); return err }, "/countries", 2},
		{"write", func(c *Client) error {
			return c.CreateCostCodes(context.Background(), []workplace.NewCostCode{{Code: "X", LocationID: 1}})
		}, "/costcodes", 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			obs := &observer{}
			env := newSimEnv(t, withClient(func(c *Config) {
				c.RequestTimeout = 100 * time.Millisecond
				c.Retry.Attempts = 2
				c.Observe = obs.observe
			}))
			env.useSleeper(nil)
			require.NoError(t, env.client.CheckToken(env.ctx())) // the token route has no latency
			env.faults(map[string]any{"latency": "400ms"})

			err := tt.call(env.client)
			require.Error(t, err)
			assert.ErrorIs(t, err, context.DeadlineExceeded)
			assert.Equal(t, workplace.EUNAVAILABLE, workplace.ErrorCode(err))
			assert.Len(t, obs.statuses(tt.route), tt.attempts)
			// The simulator counts a call when its handler ends, after the
			// client has given up on it.
			require.Eventually(t, func() bool { return env.stats().TotalCalls == tt.attempts }, 5*time.Second, 20*time.Millisecond)
		})
	}
}

func TestBackoffNeverSleepsPastTheDeadline(t *testing.T) {
	env := newSimEnv(t, withClient(func(c *Config) {
		c.Retry = Retry{Attempts: 10, BaseDelay: time.Hour, MaxDelay: time.Hour}
	}))
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	deadline, _ := ctx.Deadline()
	var mu sync.Mutex
	var waits int
	env.client.sleep = func(ctx context.Context, d time.Duration) error {
		mu.Lock()
		waits++
		mu.Unlock()
		assert.Less(t, d, time.Until(deadline), "a wait that ends past the deadline")
		return ctx.Err()
	}
	env.faults(map[string]any{"errorRate": 1})

	start := time.Now()
	_, err := env.client.Countries(ctx)
	require.Error(t, err)
	assert.Less(t, time.Since(start), time.Second, "no hour-long backoff")
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusInternalServerError, e.Status, "the upstream's failure, not the deadline's")
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, env.stats().TotalCalls, waits+1)
}

func TestBackoffHasFullJitterUnderACap(t *testing.T) {
	r := Retry{BaseDelay: 100 * time.Millisecond, MaxDelay: time.Second}
	for n := 1; n <= 70; n++ {
		ceiling := min(r.MaxDelay, r.BaseDelay<<min(n-1, 20))
		var longest time.Duration
		for range 200 {
			d := r.backoff(n)
			require.GreaterOrEqual(t, d, time.Duration(0))
			require.LessOrEqual(t, d, ceiling, "retry %d", n)
			longest = max(longest, d)
		}
		assert.Greater(t, longest, ceiling/2, "retry %d spreads over its whole range", n)
	}
}

func TestRetryConfigIsValidated(t *testing.T) {
	ok := Config{TokenURL: "https://t.example/tokenproviderapi/token", APIURL: "https://a.example/T/api/V1", ClientID: "c", Password: "p", DefaultKey: "k"}
	for _, change := range []func(*Config){
		func(c *Config) { c.Retry.Attempts = -1 },
		func(c *Config) { c.Retry.BaseDelay = -time.Second },
		func(c *Config) { c.Retry.MaxDelay = -time.Second },
		func(c *Config) { c.Breaker.Cooldown = -time.Second },
		func(c *Config) { c.BudgetMaxWait = -time.Second },
	} {
		cfg := ok
		change(&cfg)
		_, err := New(cfg)
		assert.Error(t, err)
	}
}

// TestCallerCancellationIsNotRetried: a caller that gives up ends the call;
// nothing is retried and the breaker learns nothing.
func TestCallerCancellationIsNotRetried(t *testing.T) {
	env := newSimEnv(t, withClient(func(c *Config) { c.Breaker.Failures = 1 }))
	require.NoError(t, env.client.CheckToken(env.ctx()))
	env.faults(map[string]any{"latency": "2s"})
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := env.client.Countries(ctx)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.DeadlineExceeded), "got %v", err)
	assert.Equal(t, BreakerClosed, env.client.BreakerStates()[ProductHierarchyMapping])
	assert.False(t, strings.Contains(env.logs.String(), "engage: retrying"))
}
