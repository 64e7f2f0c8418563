package engage

// The shared budget, with a function-field fake in its place, over real HTTP
// against engagesim: waits that fit are waited, others fail before anything
// is sent, a failing budget store is no reason to fail a call, and the key
// never leaves the client.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/workplace"
)

// budgetCall is one question to the fake budget.
type budgetCall struct {
	keyID string
	class Class
}

// fakeBudget answers Take with answer (the n-th question, from 0) and
// records every question.
type fakeBudget struct {
	answer func(n int, c budgetCall) (time.Duration, error)

	mu    sync.Mutex
	calls []budgetCall
}

func (b *fakeBudget) Take(_ context.Context, keyID string, class Class) (time.Duration, error) {
	b.mu.Lock()
	c := budgetCall{keyID, class}
	n := len(b.calls)
	b.calls = append(b.calls, c)
	b.mu.Unlock()
	return b.answer(n, c)
}

func (b *fakeBudget) asked() []budgetCall {
	b.mu.Lock()
	defer b.mu.Unlock()
	return append([]budgetCall(nil), b.calls...)
}

// waits answers the given waits in turn, then 0.
func waits(ds ...time.Duration) func(int, budgetCall) (time.Duration, error) {
	return func(n int, _ budgetCall) (time.Duration, error) {
		if n < len(ds) {
			return ds[n], nil
		}
		return 0, nil
	}
}

func budgetEnv(t *testing.T, b *fakeBudget, edit func(*Config)) *simEnv {
	t.Helper()
	return newSimEnv(t, withClient(func(c *Config) {
		c.Budget = b
		if edit != nil {
			edit(c)
		}
	}))
}

func TestBudgetWaitsThatFitAreWaited(t *testing.T) {
	b := &fakeBudget{answer: waits(300*time.Millisecond, 200*time.Millisecond)}
	env := budgetEnv(t, b, nil)
	sl := env.useSleeper(nil)

	_, err := env.client.Countries(env.ctx())
	require.NoError(t, err)
	assert.Equal(t, []time.Duration{300 * time.Millisecond, 200 * time.Millisecond}, sl.recorded())
	id := env.client.KeyIDs()[ProductHierarchyMapping]
	assert.Equal(t, []budgetCall{{id, Interactive}, {id, Interactive}, {id, Interactive}}, b.asked(), "asked again after each wait")
	assert.Equal(t, 1, env.stats().TotalCalls)
}

func TestBudgetSpentFailsFast(t *testing.T) {
	tests := []struct {
		name    string
		class   Class
		maxWait time.Duration
		wait    time.Duration
		fails   bool
	}{
		{"interactive waits up to 2s", Interactive, 0, 2 * time.Second, false},
		{"interactive gives up beyond 2s", Interactive, 0, 2*time.Second + time.Millisecond, true},
		{"background waits up to 10s", Background, 0, 10 * time.Second, false},
		{"background gives up beyond 10s", Background, 0, 11 * time.Second, true},
		{"configured limit for every class", Background, time.Second, 2 * time.Second, true},
		{"configured limit lets a long wait pass", Interactive, time.Minute, 30 * time.Second, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b := &fakeBudget{answer: waits(tt.wait)}
			env := budgetEnv(t, b, func(c *Config) { c.BudgetMaxWait = tt.maxWait })
			sl := env.useSleeper(nil)

			_, err := env.client.Countries(WithClass(env.ctx(), tt.class))
			for _, c := range b.asked() {
				assert.Equal(t, tt.class, c.class, "the class travels in the context")
			}
			s := env.stats()
			if !tt.fails {
				require.NoError(t, err)
				assert.Equal(t, []time.Duration{tt.wait}, sl.recorded())
				assert.Equal(t, 1, s.TotalCalls)
				return
			}
			require.Error(t, err)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, workplace.ERATELIMITED, workplace.ErrorCode(err))
			assert.Equal(t, tt.wait, workplace.RetryAfter(err))
			assert.Zero(t, e.Status)
			msg := workplace.ErrorMessage(err)
			assert.Contains(t, msg, "gateway's own budget")
			assert.Contains(t, msg, "HierarchyMapping")
			assert.Contains(t, msg, "rate limit")
			assert.NotContains(t, msg, "Engage's rate limit was reached", "not the upstream's 429")
			assert.Contains(t, err.Error(), "own call budget")
			assert.Empty(t, sl.recorded())
			assert.Zero(t, s.TotalCalls, "no HTTP request")
			assert.Zero(t, s.TokenRequests, "not even for a token")
		})
	}
}

func TestBudgetWaitNeverOutlastsTheDeadline(t *testing.T) {
	b := &fakeBudget{answer: waits(1500 * time.Millisecond)}
	env := budgetEnv(t, b, nil)
	sl := env.useSleeper(nil)
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	_, err := env.client.Countries(ctx)
	assert.Equal(t, workplace.ERATELIMITED, workplace.ErrorCode(err))
	assert.Empty(t, sl.recorded())
	assert.Zero(t, env.stats().TotalCalls)
}

func TestBudgetBoundsTheWholeWait(t *testing.T) {
	// A budget that keeps answering "one more second" does not hold a call
	// beyond the class's limit.
	b := &fakeBudget{answer: func(int, budgetCall) (time.Duration, error) { return time.Second, nil }}
	env := budgetEnv(t, b, nil)
	sl := env.useSleeper(nil)
	_, err := env.client.Countries(env.ctx())
	assert.Equal(t, workplace.ERATELIMITED, workplace.ErrorCode(err))
	assert.Equal(t, []time.Duration{time.Second, time.Second}, sl.recorded())
}

func TestBudgetIsAskedBeforeEveryAttempt(t *testing.T) {
	b := &fakeBudget{answer: waits()}
	env := budgetEnv(t, b, nil)
	env.useSleeper(nil)
	env.faults(map[string]any{"errorRate": 1})
	_, err := env.client.Countries(WithClass(env.ctx(), Background))
	require.Error(t, err)
	s := env.stats()
	assert.Equal(t, DefaultRetryAttempts, s.TotalCalls)
	assert.Equal(t, 1, s.TokenRequests)
	asked := b.asked()
	assert.Len(t, asked, s.TotalCalls, "once per attempt, retries included; never for the token")
	for _, c := range asked {
		assert.Equal(t, budgetCall{env.client.KeyIDs()[ProductHierarchyMapping], Background}, c)
	}
}

func TestBudgetFailureFailsOpen(t *testing.T) {
	b := &fakeBudget{answer: func(int, budgetCall) (time.Duration, error) {
		return 0, errors.New("redis: connection refused")
	}}
	env := budgetEnv(t, b, nil)
	for range 3 {
		_, err := env.client.Countries(env.ctx())
		require.NoError(t, err, "a failing budget store never fails a call")
	}
	assert.Equal(t, 3, env.stats().TotalCalls)
	assert.Equal(t, 1, strings.Count(env.logs.String(), "call budget unavailable"), "logged at most once a minute")
	env.clock.Advance(time.Minute)
	_, err := env.client.Countries(env.ctx())
	require.NoError(t, err)
	assert.Equal(t, 2, strings.Count(env.logs.String(), "call budget unavailable"))
}

func TestKeyIDsNeverRevealAKey(t *testing.T) {
	env := newSimEnv(t)
	ids := env.client.KeyIDs()
	require.Len(t, ids, len(Products()))
	hex16 := regexp.MustCompile(`^[0-9a-f]{16}$`)
	seen := map[string]bool{}
	for p, key := range engagesim.DefaultKeys() {
		id := ids[Product(p)]
		assert.Regexp(t, hex16, id)
		assert.NotEqual(t, key, id)
		assert.NotContains(t, id, key)
		assert.False(t, strings.Contains(key, id))
		sum := sha256.Sum256([]byte(env.client.api.String() + "\x00" + key))
		assert.Equal(t, hex.EncodeToString(sum[:])[:16], id, "SHA-256 of the API URL, NUL, and the key")
		assert.False(t, seen[id], "one id per key")
		seen[id] = true
	}

	// One key for everything: one budget for everything.
	single := env.newClient(func(c *Config) { c.Keys = nil; c.DefaultKey = "demo-hierarchymapping-key" })
	for _, id := range single.KeyIDs() {
		assert.Equal(t, ids[ProductHierarchyMapping], id)
	}
	// The same key on another tenant is another budget.
	other := env.newClient(func(c *Config) { c.APIURL = env.srv.URL + "/Other_Tenant/api/V1/" })
	assert.NotEqual(t, ids[ProductHierarchyMapping], other.KeyIDs()[ProductHierarchyMapping])
	// A product without a key has no id.
	partial := env.newClient(func(c *Config) { c.Keys = map[Product]string{ProductVisitor: "demo-visitor-key"} })
	assert.Equal(t, map[Product]string{ProductVisitor: ids[ProductVisitor]}, partial.KeyIDs())
}

func TestClassOf(t *testing.T) {
	ctx := context.Background()
	assert.Equal(t, Interactive, ClassOf(ctx), "unmarked calls are interactive")
	assert.Equal(t, Background, ClassOf(WithClass(ctx, Background)))
	assert.Equal(t, Interactive, ClassOf(WithClass(WithClass(ctx, Background), Interactive)))
	assert.Equal(t, "background", Background.String())
	assert.Equal(t, "interactive", Interactive.String())
}
