package engage

// The circuit breaker over real HTTP against engagesim: it opens after a run
// of failures, fails calls without sending them, lets one probe through
// after the cooldown (moved on the fake clock), and keeps each product apart.

import (
	"context"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/workplace"
)

// transitions records Config.OnBreaker.
type transitions struct {
	mu  sync.Mutex
	got []string
}

func (tr *transitions) on(p Product, state string) {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	tr.got = append(tr.got, string(p)+" "+state)
}

func (tr *transitions) all() []string {
	tr.mu.Lock()
	defer tr.mu.Unlock()
	return append([]string(nil), tr.got...)
}

// breakerEnv is a simulator whose client opens its breakers after failures
// failed attempts for 10s, without retries, so each call is one attempt.
func breakerEnv(t *testing.T, failures int) (*simEnv, *transitions) {
	t.Helper()
	tr := &transitions{}
	env := newSimEnv(t, withClient(func(c *Config) {
		c.Breaker = Breaker{Failures: failures, Cooldown: 10 * time.Second}
		c.Retry.Attempts = 1
		c.OnBreaker = tr.on
	}))
	return env, tr
}

func TestBreakerOpensFailsFastAndProbes(t *testing.T) {
	env, tr := breakerEnv(t, 3)
	hm := ProductHierarchyMapping
	require.NoError(t, env.client.CheckToken(env.ctx()))
	env.faults(map[string]any{"errorRate": 1})
	for i := range 3 {
		_, err := env.client.Countries(env.ctx())
		require.Error(t, err)
		var e *Error
		require.ErrorAs(t, err, &e)
		assert.Equal(t, http.StatusInternalServerError, e.Status, "failure %d reached the upstream", i+1)
	}
	assert.Equal(t, BreakerOpen, env.client.BreakerStates()[hm])
	assert.Equal(t, 3, env.stats().TotalCalls)

	_, err := env.client.Countries(env.ctx())
	require.Error(t, err)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Zero(t, e.Status, "nothing was sent")
	assert.Equal(t, workplace.EUNAVAILABLE, workplace.ErrorCode(err))
	assert.Equal(t, 10*time.Second, workplace.RetryAfter(err))
	assert.Equal(t, "Engage's HierarchyMapping API is failing; calls are paused for 10s.", workplace.ErrorMessage(err))
	assert.Contains(t, err.Error(), "circuit breaker is open")
	assert.Equal(t, 3, env.stats().TotalCalls, "no request while open")

	env.clock.Advance(4 * time.Second)
	_, err = env.client.Users(env.ctx(), "")
	assert.Equal(t, 6*time.Second, workplace.RetryAfter(err), "the remaining cooldown, for every route of the product")
	assert.Equal(t, 3, env.stats().TotalCalls)

	// Another product is not affected: its own failure reaches the upstream,
	// and once the upstream is back its calls go through at once.
	_, err = env.client.CostCodes(env.ctx(), 0)
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusInternalServerError, e.Status)
	env.faults(map[string]any{"errorRate": 0})
	_, err = env.client.CostCodes(env.ctx(), 0)
	require.NoError(t, err)
	_, err = env.client.Countries(env.ctx())
	assert.Equal(t, workplace.EUNAVAILABLE, workplace.ErrorCode(err), "HierarchyMapping is still paused")
	assert.Equal(t, BreakerClosed, env.client.BreakerStates()[ProductCostCode])

	env.clock.Advance(7 * time.Second)
	env.resetStats()
	_, err = env.client.Countries(env.ctx())
	require.NoError(t, err, "the probe")
	assert.Equal(t, 1, env.stats().TotalCalls)
	_, err = env.client.Countries(env.ctx())
	require.NoError(t, err)
	assert.Equal(t, BreakerClosed, env.client.BreakerStates()[hm])
	assert.Equal(t, []string{"HierarchyMapping open", "HierarchyMapping half-open", "HierarchyMapping closed"}, tr.all())
}

func TestBreakerProbeFailureReopens(t *testing.T) {
	env, tr := breakerEnv(t, 1)
	env.faults(map[string]any{"errorRate": 1})
	_, err := env.client.Countries(env.ctx())
	require.Error(t, err)
	env.clock.Advance(11 * time.Second)
	env.resetStats()

	_, err = env.client.Countries(env.ctx())
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusInternalServerError, e.Status, "the probe was sent, and failed")
	_, err = env.client.Countries(env.ctx())
	assert.Equal(t, 10*time.Second, workplace.RetryAfter(err), "a full cooldown again")
	assert.Equal(t, 1, env.stats().TotalCalls)
	assert.Equal(t, []string{"HierarchyMapping open", "HierarchyMapping half-open", "HierarchyMapping open"}, tr.all())
}

// TestBreakerLetsOneProbeThrough holds the probe inside the budget (asked
// after the breaker) while another call arrives.
func TestBreakerLetsOneProbeThrough(t *testing.T) {
	entered := make(chan struct{})
	release := make(chan struct{})
	var releaseOnce sync.Once
	letGo := func() { releaseOnce.Do(func() { close(release) }) }
	t.Cleanup(letGo) // never leave the probe hanging when the test fails early
	var holding, held atomic.Bool
	budget := BudgetFunc(func(ctx context.Context, _ string, _ Class) (time.Duration, error) {
		// Only the first call after holding is set is held; any other
		// passes, so a second probe would show up as a request.
		if holding.Load() && held.CompareAndSwap(false, true) {
			close(entered)
			<-release
		}
		return 0, nil
	})
	tr := &transitions{}
	env := newSimEnv(t, withClient(func(c *Config) {
		c.Breaker = Breaker{Failures: 1, Cooldown: 10 * time.Second}
		c.Retry.Attempts = 1
		c.OnBreaker = tr.on
		c.Budget = budget
	}))
	env.faults(map[string]any{"errorRate": 1})
	_, err := env.client.Countries(env.ctx())
	require.Error(t, err)
	env.faults(map[string]any{"errorRate": 0})
	env.clock.Advance(11 * time.Second)
	env.resetStats()

	holding.Store(true)
	probe := make(chan error, 1)
	go func() {
		_, err := env.client.Countries(env.ctx())
		probe <- err
	}()
	<-entered
	assert.Equal(t, BreakerHalfOpen, env.client.BreakerStates()[ProductHierarchyMapping])
	_, err = env.client.Regions(env.ctx(), 1)
	require.Error(t, err, "the probe is in flight: everyone else fails fast")
	assert.Equal(t, workplace.EUNAVAILABLE, workplace.ErrorCode(err))
	assert.Positive(t, workplace.RetryAfter(err))
	letGo()
	require.NoError(t, <-probe)
	_, err = env.client.Regions(env.ctx(), 1)
	require.NoError(t, err)
	assert.Equal(t, 2, env.stats().TotalCalls, "the probe and the call after it")
	assert.Equal(t, []string{"HierarchyMapping open", "HierarchyMapping half-open", "HierarchyMapping closed"}, tr.all())
}

func TestBreakerCountsOnlyFailures(t *testing.T) {
	t.Run("4xx and 429 keep it closed", func(t *testing.T) {
		env, tr := breakerEnv(t, 1)
		env.faults(map[string]any{"ratePerMinute": 1})
		_, err := env.client.Booking(env.ctx(), 999999)
		assert.Equal(t, workplace.ENOTFOUND, workplace.ErrorCode(err))
		_, err = env.client.Booking(env.ctx(), 999999)
		assert.Equal(t, workplace.ERATELIMITED, workplace.ErrorCode(err))
		assert.Equal(t, BreakerClosed, env.client.BreakerStates()[ProductExternalBookings])
		assert.Empty(t, tr.all())
	})

	t.Run("a 4xx closes a half-open breaker", func(t *testing.T) {
		env, tr := breakerEnv(t, 1)
		env.faults(map[string]any{"errorRate": 1})
		_, err := env.client.Booking(env.ctx(), 1)
		require.Error(t, err)
		env.faults(map[string]any{"errorRate": 0})
		env.clock.Advance(11 * time.Second)
		_, err = env.client.Booking(env.ctx(), 999999)
		assert.Equal(t, workplace.ENOTFOUND, workplace.ErrorCode(err), "the upstream answers")
		assert.Equal(t, []string{"ExternalBookings open", "ExternalBookings half-open", "ExternalBookings closed"}, tr.all())
	})

	t.Run("a success resets the count", func(t *testing.T) {
		env, _ := breakerEnv(t, 2)
		for range 3 {
			env.faults(map[string]any{"errorRate": 1})
			_, err := env.client.Countries(env.ctx())
			require.Error(t, err)
			env.faults(map[string]any{"errorRate": 0})
			_, err = env.client.Countries(env.ctx())
			require.NoError(t, err)
		}
		assert.Equal(t, BreakerClosed, env.client.BreakerStates()[ProductHierarchyMapping])
	})

	t.Run("disabled", func(t *testing.T) {
		env, _ := breakerEnv(t, -1)
		env.faults(map[string]any{"errorRate": 1})
		for range 20 {
			_, err := env.client.Countries(env.ctx())
			require.Error(t, err)
		}
		assert.Equal(t, 20, env.stats().TotalCalls)
		assert.Equal(t, BreakerClosed, env.client.BreakerStates()[ProductHierarchyMapping])
	})
}

func TestRetriesStopWhenTheBreakerOpens(t *testing.T) {
	env := newSimEnv(t, withClient(func(c *Config) {
		c.Breaker = Breaker{Failures: 2}
		c.Retry.Attempts = 5
	}))
	sl := env.useSleeper(nil)
	env.faults(map[string]any{"errorRate": 1})
	_, err := env.client.Countries(env.ctx())
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, http.StatusInternalServerError, e.Status, "the last failure is reported")
	assert.Equal(t, 2, env.stats().TotalCalls)
	assert.Len(t, sl.recorded(), 1, "no wait after the breaker opened")
	assert.Equal(t, BreakerOpen, env.client.BreakerStates()[ProductHierarchyMapping])
	assert.Equal(t, DefaultBreakerCooldown, env.client.breakers.cooldown)
}

func TestBreakerStatesListsEveryProduct(t *testing.T) {
	env := newSimEnv(t, withSim(func(*engagesim.Config) {}))
	states := env.client.BreakerStates()
	require.Len(t, states, len(Products()))
	for _, p := range Products() {
		assert.Equal(t, BreakerClosed, states[p])
	}
	states[ProductVisitor] = BreakerOpen
	assert.Equal(t, BreakerClosed, env.client.BreakerStates()[ProductVisitor], "a copy")
}
