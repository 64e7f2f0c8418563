package engage

// Tests of error mapping and the token manager's concurrency over a small
// hand-written upstream: these are about how the client reads answers the
// simulator is not asked to produce (5xx bodies, an envelope with IsError on
// a 200, a token request that hangs). Everything else runs against engagesim
// in sim_test.go.

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/engagegql/gateway/workplace"
)

const (
	fakePassword = "fake-password-s3cret"
	fakeKey      = "fake-subscription-key-0001"
	fakeToken    = "fake-token-abcdef"
)

// fakeUpstream answers the token route with fakeToken and every API call
// with api; it counts both.
type fakeUpstream struct {
	srv    *httptest.Server
	tokens atomic.Int32
	calls  atomic.Int32
}

func newFakeUpstream(t *testing.T, api http.HandlerFunc) *fakeUpstream {
	t.Helper()
	f := &fakeUpstream{}
	f.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/tokenproviderapi/token" {
			n := f.tokens.Add(1)
			w.Header().Set("Content-Type", "application/json")
			fmt.Fprintf(w, `{"access_token":"%s-%d","token_type":"bearer","expires_in":43199}`, fakeToken, n)
			return
		}
		f.calls.Add(1)
		api(w, r)
	}))
	t.Cleanup(f.srv.Close)
	return f
}

func (f *fakeUpstream) client(t *testing.T) *Client {
	t.Helper()
	c, err := New(Config{
		TokenURL: f.srv.URL + "/tokenproviderapi/token", APIURL: f.srv.URL + "/T/api/V1",
		ClientID: "client", Password: fakePassword, DefaultKey: fakeKey,
	})
	require.NoError(t, err)
	return c
}

func TestNewValidatesConfig(t *testing.T) {
	ok := Config{TokenURL: "https://t.example/tokenproviderapi/token", APIURL: "https://a.example/T/api/V1", ClientID: "c", Password: "p", DefaultKey: "k"}
	tests := []struct {
		name   string
		change func(*Config)
		field  string
	}{
		{"token URL", func(c *Config) { c.TokenURL = "" }, "TokenURL"},
		{"API URL", func(c *Config) { c.APIURL = "not a url" }, "APIURL"},
		{"client id", func(c *Config) { c.ClientID = "" }, "ClientID"},
		{"password", func(c *Config) { c.Password = "" }, "Password"},
		{"no keys", func(c *Config) { c.DefaultKey = "" }, "Keys"},
		{"unknown product", func(c *Config) { c.Keys = map[Product]string{"Nope": "k"} }, "Keys"},
		{"negative timeout", func(c *Config) { c.RequestTimeout = -time.Second }, "RequestTimeout"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := ok
			tt.change(&cfg)
			_, err := New(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.field)
		})
	}
	_, err := New(ok)
	assert.NoError(t, err)
}

// msgRefusedRequest is what a client is told of an upstream refusal of the
// gateway's own request.
const msgRefusedRequest = "Engage refused a request the gateway made; the fault is the gateway's, not the query's, and it has been logged."

// TestWriteBadRequestKeepsTheText: a 400 to a write is about what the client
// asked for (the contract's documented texts), so it stays BAD_USER_INPUT
// with the upstream's words.
func TestWriteBadRequestKeepsTheText(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"Message":"Meeting cannot be started at this moment."}`))
	})
	c := up.client(t)
	err := c.ProgressMeeting(context.Background(), 7, 1, workplace.MeetingStart, 0)
	require.Error(t, err)
	assert.Equal(t, workplace.EINVALID, workplace.ErrorCode(err))
	assert.Equal(t, "Meeting cannot be started at this moment.", workplace.ErrorMessage(err))
}

func TestErrorMapping(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		header     map[string]string
		code       string
		message    string // the whole ErrorMessage, or a part of it with partial
		partial    bool
		retryAfter time.Duration
		calls      int32
	}{
		{name: "unknown booking is 400 upstream, NOT_FOUND here", status: 400, body: `{"Message":"Booking Id does not exist."}`,
			code: workplace.ENOTFOUND, message: "Booking Id does not exist.", calls: 1},
		{name: "other 400 on a read is the gateway's request, not the client's", status: 400, body: `{"Message":"countryId is required."}`,
			code: workplace.EINTERNAL, message: msgRefusedRequest, calls: 1},
		{name: "404", status: 404, body: `{"Message":"Room not found."}`, code: workplace.ENOTFOUND, message: "Room not found.", calls: 1},
		{name: "409", status: 409, body: `{"Message":"Room is not available for the requested time."}`,
			code: workplace.ECONFLICT, message: "Room is not available for the requested time.", calls: 1},
		{name: "429 with Retry-After", status: 429, header: map[string]string{"Retry-After": "42"},
			body: `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 42 seconds."}`,
			code: workplace.ERATELIMITED, message: "retry in 42 seconds", partial: true, retryAfter: 42 * time.Second, calls: 1},
		{name: "429 without the header reads the message", status: 429,
			body: `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 7 seconds."}`,
			code: workplace.ERATELIMITED, retryAfter: 7 * time.Second, message: "retry in 7 seconds", partial: true, calls: 1},
		{name: "403 out of quota", status: 403,
			body: `{"statusCode":403,"message":"Out of call volume quota. Quota will be replenished in 01:02:03."}`,
			code: workplace.ERATELIMITED, retryAfter: time.Hour + 2*time.Minute + 3*time.Second, message: "rate limit", partial: true, calls: 1},
		{name: "other 403", status: 403, body: `{"Message":"Forbidden"}`, code: workplace.EUNAUTHORIZED, message: "refused", partial: true, calls: 1},
		{name: "missing key", status: 401, body: `{"statusCode":401,"message":"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}`,
			code: workplace.EUNAUTHORIZED, message: "subscription key for Engage product HierarchyMapping was rejected", partial: true, calls: 1},
		{name: "bearer 401 twice: one retry, then UNAUTHENTICATED", status: 401, body: `{"Message":"Authorization has been denied for this request."}`,
			code: workplace.EUNAUTHORIZED, message: "could not authenticate", partial: true, calls: 2},
		{name: "5xx body is never shown, after the default three attempts", status: 500, body: `{"Message":"SqlException at line 42 in Booking.cs"}`,
			code: workplace.EUNAVAILABLE, message: "Engage is unavailable; try again later.", calls: 3},
		{name: "502 without a body", status: 502, code: workplace.EUNAVAILABLE, message: "Engage is unavailable; try again later.", calls: 3},
		{name: "envelope error on a 200", status: 200, body: `{"IsError":true,"Data":null,"Status":false,"Message":"Country not found."}`,
			code: workplace.EINTERNAL, message: msgRefusedRequest, calls: 1},
		{name: "unreadable 200", status: 200, body: `<html>`, code: workplace.EUNAVAILABLE, message: "Engage is unavailable; try again later.", calls: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			c := up.client(t)
			c.sleep = noSleep
			_, err := c.Countries(context.Background())
			require.Error(t, err)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tt.code, workplace.ErrorCode(err))
			if tt.partial {
				assert.Contains(t, workplace.ErrorMessage(err), tt.message)
			} else {
				assert.Equal(t, tt.message, workplace.ErrorMessage(err))
			}
			assert.Equal(t, tt.retryAfter, workplace.RetryAfter(err))
			assert.Equal(t, tt.calls, up.calls.Load(), "upstream calls")
			assert.Equal(t, ProductHierarchyMapping, e.Product)
			assert.Equal(t, "/countries", e.Route)
			assert.Equal(t, http.MethodGet, e.Method)
		})
	}
}

func TestEnvelopeStatusFalseIsSuccess(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"IsError":false,"Data":[{"ResourceName":"United Kingdom","InternalId":1,"InternalParentId":0}],"Status":false,"Message":""}`))
	})
	got, err := up.client(t).Countries(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []workplace.Country{{ID: 1, Name: "United Kingdom"}}, got)
}

func TestRequestsCarryKeyAndToken(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]string{}
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		seen[r.URL.Path] = r.Header.Get("Ocp-Apim-Subscription-Key") + "|" + r.Header.Get("Authorization")
		mu.Unlock()
		_, _ = w.Write([]byte(`{"IsError":false,"Data":[],"Status":false,"Message":""}`))
	})
	c, err := New(Config{
		TokenURL: up.srv.URL + "/tokenproviderapi/token", APIURL: up.srv.URL + "/T/api/V1/",
		ClientID: "client", Password: fakePassword,
		Keys:       map[Product]string{ProductHierarchyMapping: "hm-key-1234"},
		DefaultKey: "default-key-1234",
	})
	require.NoError(t, err)
	_, err = c.Countries(context.Background())
	require.NoError(t, err)
	_, err = c.CostCodes(context.Background(), 0) // no own key: the default
	require.Error(t, err)                         // the fake answers an envelope where a list is due
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, "hm-key-1234|Bearer "+fakeToken+"-1", seen["/T/api/V1/countries"])
	assert.Equal(t, "default-key-1234|Bearer "+fakeToken+"-1", seen["/T/api/V1/costcodes"])
}

func TestNoKeyForProductFailsWithoutACall(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {})
	c, err := New(Config{
		TokenURL: up.srv.URL + "/tokenproviderapi/token", APIURL: up.srv.URL + "/T/api/V1",
		ClientID: "client", Password: fakePassword, Keys: map[Product]string{ProductHierarchyMapping: "hm-key-1234"},
	})
	require.NoError(t, err)
	_, err = c.Vendors(context.Background(), 41)
	assert.Equal(t, workplace.EUNAUTHORIZED, workplace.ErrorCode(err))
	assert.Contains(t, workplace.ErrorMessage(err), "no subscription key for Engage product VendorServices")
	assert.Zero(t, up.calls.Load())
	assert.Zero(t, up.tokens.Load())
}

// TestTokenRefreshSurvivesAWaiterLeaving: the refresh in flight is shared,
// and one waiter's cancellation neither cancels it nor fails the others.
func TestTokenRefreshSurvivesAWaiterLeaving(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		require.NoError(t, r.ParseForm())
		assert.Equal(t, "password", r.PostForm.Get("grant_type"))
		assert.Equal(t, "client", r.PostForm.Get("client_id"))
		assert.Equal(t, fakePassword, r.PostForm.Get("password"))
		assert.Empty(t, r.Header.Get("Ocp-Apim-Subscription-Key"), "no key on the token request")
		if requests.Add(1) == 1 {
			close(started)
		}
		<-release
		_, _ = w.Write([]byte(`{"access_token":"shared-token","token_type":"bearer","expires_in":43199}`))
	}))
	defer srv.Close()
	c, err := New(Config{TokenURL: srv.URL, APIURL: srv.URL + "/T/api/V1", ClientID: "client", Password: fakePassword, DefaultKey: fakeKey})
	require.NoError(t, err)

	leaving, leave := context.WithCancel(context.Background())
	firstDone := make(chan error, 1)
	go func() { firstDone <- c.CheckToken(leaving) }()
	<-started

	var wg sync.WaitGroup
	results := make([]string, 20)
	for i := range results {
		wg.Go(func() {
			tok, err := c.tokens.Token(context.Background())
			assert.NoError(t, err)
			results[i] = tok
		})
	}
	leave()
	assert.ErrorIs(t, <-firstDone, context.Canceled)
	close(release)
	wg.Wait()
	for _, tok := range results {
		assert.Equal(t, "shared-token", tok)
	}
	assert.Equal(t, int32(1), requests.Load())
	require.NoError(t, c.CheckToken(context.Background()))
	assert.Equal(t, int32(1), requests.Load(), "the token is reused")
}

func TestTokenRefreshesEarlyWithJitter(t *testing.T) {
	var now atomic.Pointer[time.Time]
	start := time.Date(2025, 3, 27, 9, 0, 0, 0, time.UTC)
	now.Store(&start)
	clock := func() time.Time { return *now.Load() }
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		fmt.Fprintf(w, `{"access_token":"t%d","expires_in":3600}`, n)
	}))
	defer srv.Close()
	c, err := New(Config{TokenURL: srv.URL, APIURL: srv.URL + "/T/api/V1", ClientID: "client", Password: fakePassword,
		DefaultKey: fakeKey, RefreshBefore: 10 * time.Minute, Now: clock})
	require.NoError(t, err)

	require.NoError(t, c.CheckToken(context.Background()))
	c.tokens.mu.Lock()
	refreshAt := c.tokens.refreshAt
	c.tokens.mu.Unlock()
	expiry := start.Add(time.Hour)
	assert.WithinRange(t, refreshAt, expiry.Add(-11*time.Minute), expiry.Add(-9*time.Minute), "10m ± 10% before expiry")

	at := func(d time.Duration) { t2 := start.Add(d); now.Store(&t2) }
	at(48 * time.Minute) // more than 11 minutes left: reused
	require.NoError(t, c.CheckToken(context.Background()))
	assert.Equal(t, int32(1), requests.Load())
	at(52 * time.Minute) // less than 9 minutes left: refreshed before expiry
	require.NoError(t, c.CheckToken(context.Background()))
	assert.Equal(t, int32(2), requests.Load())
}

func TestShortLivedTokenIsUsedForHalfItsLife(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := requests.Add(1)
		fmt.Fprintf(w, `{"access_token":"t%d","expires_in":60}`, n)
	}))
	defer srv.Close()
	start := time.Date(2025, 3, 27, 9, 0, 0, 0, time.UTC)
	var now atomic.Pointer[time.Time]
	now.Store(&start)
	c, err := New(Config{TokenURL: srv.URL, APIURL: srv.URL + "/T/api/V1", ClientID: "client", Password: fakePassword,
		DefaultKey: fakeKey, Now: func() time.Time { return *now.Load() }})
	require.NoError(t, err)
	require.NoError(t, c.CheckToken(context.Background()))
	t1 := start.Add(29 * time.Second)
	now.Store(&t1)
	require.NoError(t, c.CheckToken(context.Background()))
	assert.Equal(t, int32(1), requests.Load(), "a 60s token is not refreshed on every call")
	t2 := start.Add(31 * time.Second)
	now.Store(&t2)
	require.NoError(t, c.CheckToken(context.Background()))
	assert.Equal(t, int32(2), requests.Load())
}

func TestBadCredentials(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write([]byte(`{"error":"invalid_grant","error_description":"The client id or password is incorrect."}`))
	}))
	defer srv.Close()
	c, err := New(Config{TokenURL: srv.URL, APIURL: srv.URL + "/T/api/V1", ClientID: "client", Password: fakePassword, DefaultKey: fakeKey})
	require.NoError(t, err)
	err = c.CheckToken(context.Background())
	require.Error(t, err)
	assert.Equal(t, workplace.EUNAUTHORIZED, workplace.ErrorCode(err))
	assert.Contains(t, err.Error(), "invalid_grant")
	assert.NotContains(t, err.Error(), fakePassword)
}

func TestCallerContextBoundsTheCall(t *testing.T) {
	inFlight := make(chan struct{})
	var once sync.Once
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		once.Do(func() { close(inFlight) })
		<-r.Context().Done() // never answers before the caller gives up
	})
	c := up.client(t)
	ctx, cancel := context.WithCancel(context.Background())
	go func() {
		<-inFlight
		cancel()
	}()
	_, err := c.Countries(ctx)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), "got %v", err)
	assert.Equal(t, workplace.EUNAVAILABLE, workplace.ErrorCode(err))
	assert.False(t, strings.Contains(err.Error(), fakeKey))
}

func TestRequestTimeout(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		<-r.Context().Done()
	})
	c, err := New(Config{
		TokenURL: up.srv.URL + "/tokenproviderapi/token", APIURL: up.srv.URL + "/T/api/V1",
		ClientID: "client", Password: fakePassword, DefaultKey: fakeKey, RequestTimeout: 50 * time.Millisecond,
	})
	require.NoError(t, err)
	_, err = c.Countries(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, workplace.EUNAVAILABLE, workplace.ErrorCode(err))
}

func TestTokenAnswerWithoutTokenIsATypedError(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = w.Write([]byte(`{"token_type":"bearer","expires_in":43199}`))
	}))
	defer srv.Close()
	c, err := New(Config{TokenURL: srv.URL, APIURL: srv.URL + "/T/api/V1", ClientID: "client", Password: fakePassword, DefaultKey: fakeKey})
	require.NoError(t, err)
	err = c.CheckToken(context.Background())
	var e *Error
	require.ErrorAs(t, err, &e, "readiness sees the same typed error an API call would")
	assert.Equal(t, workplace.EUNAVAILABLE, workplace.ErrorCode(err))
	assert.Contains(t, workplace.ErrorMessage(err)+e.Message, "access_token")
}

// A StoreOnly read asks only for what is held: the upstream client holds
// nothing, so it sends nothing, not even for a token.
func TestStoreOnlyReadsSendNothing(t *testing.T) {
	up := newFakeUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"countries":[]}`))
	})
	c := up.client(t)
	_, err := c.Countries(workplace.StoreOnly(context.Background()))
	require.ErrorIs(t, err, workplace.ErrNotHeld)
	assert.Zero(t, up.calls.Load())
	assert.Zero(t, up.tokens.Load())
}
