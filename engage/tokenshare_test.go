package engage

// The fleet's token share, with an in-memory TokenShare in place of Redis,
// and three clients of one simulator standing for three replicas.

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
)

// memShare is a TokenShare in memory. The lease expires on the real clock,
// as a Redis key's TTL would. err, when set, fails every operation.
type memShare struct {
	mu         sync.Mutex
	value      string
	expiry     time.Time
	lease      int // id of the lease holder; 0 = free
	leaseUntil time.Time
	nextLease  int
	err        error

	stores []string
	drops  []string
	ttls   []time.Duration
}

func (m *memShare) Load(context.Context) (string, time.Time, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return "", time.Time{}, m.err
	}
	return m.value, m.expiry, nil
}

func (m *memShare) Acquire(_ context.Context, ttl time.Duration) (func(), bool, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return nil, false, m.err
	}
	m.ttls = append(m.ttls, ttl)
	if m.lease != 0 && time.Now().Before(m.leaseUntil) {
		return nil, false, nil
	}
	m.nextLease++
	id := m.nextLease
	m.lease, m.leaseUntil = id, time.Now().Add(ttl)
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		if m.lease == id {
			m.lease = 0
		}
	}, true, nil
}

func (m *memShare) Store(_ context.Context, value string, expiry time.Time) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.value, m.expiry = value, expiry
	m.stores = append(m.stores, value)
	return nil
}

func (m *memShare) Drop(_ context.Context, value string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.err != nil {
		return m.err
	}
	m.drops = append(m.drops, value)
	if m.value == value {
		m.value, m.expiry = "", time.Time{}
	}
	return nil
}

// history returns what was stored and dropped, and the lease TTLs asked for.
func (m *memShare) history() (stores, drops []string, ttls []time.Duration) {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]string(nil), m.stores...), append([]string(nil), m.drops...), append([]time.Duration(nil), m.ttls...)
}

func (m *memShare) current() string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.value
}

// fleet is three replicas sharing share, counting their token requests as
// OnTokenRefresh reports them.
type fleet struct {
	env      *simEnv
	share    *memShare
	replicas []*Client
	logins   atomic.Int32
}

func newFleet(t *testing.T, share *memShare) *fleet {
	t.Helper()
	f := &fleet{share: share}
	f.env = newSimEnv(t, withClient(func(c *Config) {
		c.TokenShare = share
		c.OnTokenRefresh = func(error) { f.logins.Add(1) }
	}))
	f.replicas = []*Client{f.env.client, f.env.newClient(nil), f.env.newClient(nil)}
	return f
}

// callAll has every replica call Countries from callers goroutines each, at
// once.
func (f *fleet) callAll(t *testing.T, callers int) {
	t.Helper()
	var g errgroup.Group
	for _, c := range f.replicas {
		for range callers {
			g.Go(func() error {
				_, err := c.Countries(context.Background())
				return err
			})
		}
	}
	require.NoError(t, g.Wait())
}

func TestTokenShareLogsTheFleetInOnce(t *testing.T) {
	f := newFleet(t, &memShare{})
	f.callAll(t, 20)
	s := f.env.stats()
	assert.Equal(t, 1, s.TokenRequests, "one login for three replicas")
	assert.Equal(t, int32(1), f.logins.Load(), "adopting the shared token is no token request")
	assert.Equal(t, 60, s.count(http.StatusOK))
	stores, _, ttls := f.share.history()
	assert.Len(t, stores, 1)
	for _, ttl := range ttls {
		assert.Equal(t, DefaultRequestTimeout+5*time.Second, ttl, "the lease outlives one token request")
	}
	assert.NotContains(t, f.env.logs.String(), f.share.current(), "the shared token is never logged")
}

func TestTokenShareAfterRevocation(t *testing.T) {
	f := newFleet(t, &memShare{})
	f.callAll(t, 1)
	old := f.share.current()
	require.NotEmpty(t, old)
	f.env.faults(map[string]bool{"revokeTokens": true})
	f.env.resetStats()

	f.callAll(t, 10)
	s := f.env.stats()
	assert.Equal(t, 1, s.TokenRequests, "one new login for the fleet")
	assert.Equal(t, 30, s.count(http.StatusOK))
	_, drops, _ := f.share.history()
	assert.NotEmpty(t, drops)
	for _, d := range drops {
		assert.Equal(t, old, d, "only the rejected token is dropped")
	}
	assert.LessOrEqual(t, len(drops), len(f.replicas), "the first rejected caller of each replica drops it")
	assert.NotEqual(t, old, f.share.current())
	assert.NotEmpty(t, f.share.current())
}

func TestTokenShareSkipsATokenInItsRefreshWindow(t *testing.T) {
	share := &memShare{}
	f := newFleet(t, share)
	// A token another replica left behind, two minutes from expiry: inside
	// the five-minute refresh window, so not worth adopting.
	share.value, share.expiry = "left-behind-token", f.env.clock.Now().Add(2*time.Minute)
	_, err := f.replicas[0].Countries(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, f.env.stats().TokenRequests)
	assert.NotEqual(t, "left-behind-token", share.current())
}

func TestTokenShareWaitsForTheLeaseHolder(t *testing.T) {
	share := &memShare{}
	f := newFleet(t, share)
	// A replica that won the lease and died: its lease runs out by itself.
	share.lease, share.leaseUntil = 99, time.Now().Add(150*time.Millisecond)
	_, err := f.replicas[0].Countries(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 1, f.env.stats().TokenRequests)
	_, _, ttls := share.history()
	assert.Greater(t, len(ttls), 1, "polled, then won the freed lease")
}

func TestTokenShareFailureFallsBackToLocalLogin(t *testing.T) {
	f := newFleet(t, &memShare{err: errors.New("redis: i/o timeout")})
	f.callAll(t, 5)
	assert.Equal(t, 3, f.env.stats().TokenRequests, "each replica logs in alone")
	logs := f.env.logs.String()
	assert.Contains(t, logs, "token share failed")
	assert.LessOrEqual(t, strings.Count(logs, "token share failed"), len(f.replicas), "once per replica, not per call")

	// A revocation still recovers, with the share's Drop failing too.
	f.env.faults(map[string]bool{"revokeTokens": true})
	f.callAll(t, 5)
	assert.Equal(t, 6, f.env.stats().TokenRequests)
}
