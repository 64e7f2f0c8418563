package engage

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// observation is one call of Config.Observe.
type observation struct {
	product Product
	route   string
	status  int
}

// TestObserveFiresOncePerRequestWithTheRouteTemplate: every HTTP request
// (the token's and each API attempt, retries included) is observed once, by
// route template, and the token refresh is reported.
func TestObserveFiresOncePerRequestWithTheRouteTemplate(t *testing.T) {
	f := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/T/api/V1/bookings/7" {
			w.WriteHeader(http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"IsError":false,"Message":"","Data":[]}`))
	})
	var (
		mu        sync.Mutex
		seen      []observation
		refreshes []error
	)
	c, err := New(Config{
		TokenURL: f.srv.URL + "/tokenproviderapi/token", APIURL: f.srv.URL + "/T/api/V1",
		ClientID: "client", Password: fakePassword, DefaultKey: fakeKey,
		Observe: func(p Product, route string, status int, d time.Duration) {
			mu.Lock()
			defer mu.Unlock()
			assert.GreaterOrEqual(t, d, time.Duration(0))
			seen = append(seen, observation{p, route, status})
		},
		OnTokenRefresh: func(err error) {
			mu.Lock()
			defer mu.Unlock()
			refreshes = append(refreshes, err)
		},
	})
	require.NoError(t, err)
	c.sleep = noSleep

	_, err = c.Countries(context.Background())
	require.NoError(t, err)
	_, err = c.Booking(context.Background(), 7)
	require.Error(t, err)

	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []observation{
		{"", tokenRoute, http.StatusOK},
		{ProductHierarchyMapping, "/countries", http.StatusOK},
		{ProductExternalBookings, "/bookings/{id}", http.StatusInternalServerError},
		{ProductExternalBookings, "/bookings/{id}", http.StatusInternalServerError}, // the retries of the read
		{ProductExternalBookings, "/bookings/{id}", http.StatusInternalServerError},
	}, seen)
	assert.Equal(t, []error{nil}, refreshes)
}

// TestObserveReportsNetworkErrorsAsStatusZero: a request that got no answer
// is observed with status 0.
func TestObserveReportsNetworkErrorsAsStatusZero(t *testing.T) {
	var statuses []int
	var refreshErr error
	c, err := New(Config{
		TokenURL: "http://127.0.0.1:1/tokenproviderapi/token", APIURL: "http://127.0.0.1:1/T/api/V1",
		ClientID: "client", Password: fakePassword, DefaultKey: fakeKey,
		Observe:        func(_ Product, _ string, status int, _ time.Duration) { statuses = append(statuses, status) },
		OnTokenRefresh: func(err error) { refreshErr = err },
	})
	require.NoError(t, err)
	require.Error(t, c.CheckToken(context.Background()))
	assert.Equal(t, []int{0}, statuses)
	assert.Error(t, refreshErr)
}

// TestRateLimitedForReportsTheHeldKey: after a 429 the product's key is
// held back for the Retry-After, and other products with their own key
// are not.
func TestRateLimitedForReportsTheHeldKey(t *testing.T) {
	f := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Retry-After", "30")
		w.WriteHeader(http.StatusTooManyRequests)
	})
	c, err := New(Config{
		TokenURL: f.srv.URL + "/tokenproviderapi/token", APIURL: f.srv.URL + "/T/api/V1",
		ClientID: "client", Password: fakePassword,
		Keys: map[Product]string{ProductHierarchyMapping: fakeKey, ProductExternalBookings: fakeKey + "-2"},
	})
	require.NoError(t, err)
	assert.Zero(t, c.RateLimitedFor(ProductHierarchyMapping))
	_, err = c.Countries(context.Background())
	require.Error(t, err)
	held := c.RateLimitedFor(ProductHierarchyMapping)
	assert.Greater(t, held, 25*time.Second)
	assert.LessOrEqual(t, held, 30*time.Second)
	assert.Zero(t, c.RateLimitedFor(ProductExternalBookings))
	assert.Zero(t, c.RateLimitedFor(ProductVisitor), "no key, nothing held")
}
