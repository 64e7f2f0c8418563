package engagesim

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestTokenEndpoint(t *testing.T) {
	h := newHarness(t, Config{})
	tests := []struct {
		name   string
		form   url.Values
		status int
		want   map[string]any
	}{
		{"ok", url.Values{"client_id": {DefaultClientID}, "password": {DefaultPassword}, "grant_type": {"password"}}, 200, nil},
		{"missing grant", url.Values{"client_id": {DefaultClientID}, "password": {DefaultPassword}}, 400, map[string]any{"error": "unsupported_grant_type"}},
		{"wrong grant", url.Values{"client_id": {DefaultClientID}, "password": {DefaultPassword}, "grant_type": {"client_credentials"}}, 400, map[string]any{"error": "unsupported_grant_type"}},
		{"bad password", url.Values{"client_id": {DefaultClientID}, "password": {"nope"}, "grant_type": {"password"}}, 400,
			map[string]any{"error": "invalid_grant", "error_description": "The client id or password is incorrect."}},
		{"bad client", url.Values{"client_id": {"x"}, "password": {DefaultPassword}, "grant_type": {"password"}}, 400,
			map[string]any{"error": "invalid_grant", "error_description": "The client id or password is incorrect."}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.raw(http.MethodPost, h.srv.URL+"/tokenproviderapi/token", "application/x-www-form-urlencoded", strings.NewReader(tt.form.Encode()), nil)
			require.Equal(t, tt.status, r.status, string(r.body))
			m := r.obj(t)
			if tt.want != nil {
				assert.Equal(t, tt.want, m)
				return
			}
			assert.Equal(t, "bearer", m["token_type"])
			assert.Equal(t, float64(43199), m["expires_in"])
			assert.NotEmpty(t, m["access_token"])
		})
	}
	st := h.sim.Stats()
	assert.Equal(t, 6, st.TokenRequests) // five here plus the harness's own
	assert.Equal(t, 2, st.TokensIssued)
	assert.Equal(t, 0, st.TotalCalls, "token calls are not API calls")
}

func TestGatewayCheckOrder(t *testing.T) {
	h := newHarness(t, Config{})
	hm := DefaultKeys()[ProductHierarchyMapping]
	tests := []struct {
		name    string
		headers map[string]string
		status  int
		body    string
	}{
		{"missing key wins over missing bearer", map[string]string{}, 401,
			`{"statusCode":401,"message":"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}`},
		{"unknown key", map[string]string{"Ocp-Apim-Subscription-Key": "nope"}, 401,
			`{"statusCode":401,"message":"Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}`},
		{"key of another product", map[string]string{"Ocp-Apim-Subscription-Key": DefaultKeys()[ProductVisitor], "Authorization": "Bearer " + h.token}, 401,
			`{"statusCode":401,"message":"Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}`},
		{"missing bearer", map[string]string{"Ocp-Apim-Subscription-Key": hm}, 401, `{"Message":"Authorization has been denied for this request."}`},
		{"unknown bearer", map[string]string{"Ocp-Apim-Subscription-Key": hm, "Authorization": "Bearer forged"}, 401, `{"Message":"Authorization has been denied for this request."}`},
		{"ok", map[string]string{"Ocp-Apim-Subscription-Key": hm, "Authorization": "Bearer " + h.token}, 200, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.raw(http.MethodGet, h.base+"/countries", "", nil, tt.headers)
			require.Equal(t, tt.status, r.status, string(r.body))
			if tt.body != "" {
				assert.JSONEq(t, tt.body, string(r.body))
			}
		})
	}
	st := h.sim.Stats()
	assert.Equal(t, len(tests), st.TotalCalls, "rejected calls count too")
	assert.Contains(t, st.Calls, CallStat{Method: "GET", Route: "/countries", Product: ProductHierarchyMapping, Status: 401, Count: 5})
}

func TestUnknownRouteAndTenantCase(t *testing.T) {
	h := newHarness(t, Config{})
	key := map[string]string{"Ocp-Apim-Subscription-Key": DefaultKeys()[ProductHierarchyMapping], "Authorization": "Bearer " + h.token}
	for _, path := range []string{"/demo_tenant/api/v1/countries", "/DEMO_TENANT/API/V1/Countries", "/Demo_Tenant/api/V1/countries"} {
		r := h.raw(http.MethodGet, h.srv.URL+path, "", nil, key)
		assert.Equal(t, http.StatusOK, r.status, path)
	}
	r := h.raw(http.MethodGet, h.srv.URL+"/Other_Tenant/api/V1/countries", "", nil, key)
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.JSONEq(t, `{"statusCode":404,"message":"Resource not found"}`, string(r.body))
	r = h.raw(http.MethodPatch, h.base+"/countries", "", nil, key)
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Contains(t, h.sim.Stats().Calls, CallStat{Method: "PATCH", Route: "", Product: "", Status: 404, Count: 1})
}

func TestSingleKeyMode(t *testing.T) {
	h := newHarness(t, Config{SingleKey: true})
	r := h.raw(http.MethodGet, h.base+"/countries", "", nil, map[string]string{
		"Ocp-Apim-Subscription-Key": DefaultKeys()[ProductVisitor], "Authorization": "Bearer " + h.token})
	assert.Equal(t, http.StatusOK, r.status)
	r = h.raw(http.MethodGet, h.base+"/countries", "", nil, map[string]string{"Ocp-Apim-Subscription-Key": "bogus", "Authorization": "Bearer " + h.token})
	assert.Equal(t, http.StatusUnauthorized, r.status)
}

func TestRateLimit(t *testing.T) {
	h := newHarness(t, Config{RatePerMinute: 3})
	for range 3 {
		require.Equal(t, http.StatusOK, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
	}
	r := h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Equal(t, "60", r.header.Get("Retry-After"))
	assert.JSONEq(t, `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 60 seconds."}`, string(r.body))

	// Another key has its own window.
	assert.Equal(t, http.StatusOK, h.api(http.MethodGet, "/costcodes", ProductCostCode, nil).status)

	// The rate check comes before the bearer check.
	r = h.raw(http.MethodGet, h.base+"/countries", "", nil, map[string]string{"Ocp-Apim-Subscription-Key": DefaultKeys()[ProductHierarchyMapping]})
	assert.Equal(t, http.StatusTooManyRequests, r.status)

	h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "45s"})
	r = h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil)
	require.Equal(t, http.StatusTooManyRequests, r.status)
	assert.Equal(t, "15", r.header.Get("Retry-After"))
	assert.Contains(t, string(r.body), "Try again in 15 seconds.")

	h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "15s"})
	assert.Equal(t, http.StatusOK, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
}

func TestWeeklyQuota(t *testing.T) {
	h := newHarness(t, Config{QuotaPerWeek: 2})
	for range 2 {
		require.Equal(t, http.StatusOK, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
	}
	r := h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil)
	require.Equal(t, http.StatusForbidden, r.status)
	assert.Equal(t, "604800", r.header.Get("Retry-After"))
	assert.JSONEq(t, `{"statusCode":403,"message":"Out of call volume quota. Quota will be replenished in 168:00:00."}`, string(r.body))
	h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "168h"})
	h.token = h.newToken() // the old one expired meanwhile
	assert.Equal(t, http.StatusOK, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
}

func TestLimitsFromFaults(t *testing.T) {
	h := newHarness(t, Config{})
	h.admin(http.MethodPost, "/_sim/faults", map[string]any{"ratePerMinute": 1})
	assert.Equal(t, http.StatusOK, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
	assert.Equal(t, http.StatusTooManyRequests, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
	h.admin(http.MethodDelete, "/_sim/faults", nil)
	h.admin(http.MethodPost, "/_sim/faults", map[string]any{"quotaPerWeek": 1})
	assert.Equal(t, http.StatusForbidden, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
}

func TestTokenExpiryAndRevocation(t *testing.T) {
	h := newHarness(t, Config{TokenLifetime: time.Hour})
	assert.Equal(t, http.StatusOK, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
	h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "59m59s"})
	assert.Equal(t, http.StatusOK, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
	h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "1s"})
	requireMessage(t, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil), 401, msgUnauthorized)

	// A short lifetime from the faults applies to tokens issued afterwards.
	h.admin(http.MethodPost, "/_sim/faults", map[string]any{"tokenLifetime": "2s"})
	h.token = h.newToken()
	r := h.raw(http.MethodPost, h.srv.URL+"/tokenproviderapi/token", "application/x-www-form-urlencoded",
		strings.NewReader("client_id=demo-client&password=demo-password&grant_type=password"), nil)
	assert.Equal(t, float64(1), r.obj(t)["expires_in"])
	assert.Equal(t, http.StatusOK, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
	h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "2s"})
	assert.Equal(t, http.StatusUnauthorized, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)

	// Revocation forgets every token issued so far.
	h.admin(http.MethodDelete, "/_sim/faults", nil)
	h.token = h.newToken()
	assert.Equal(t, http.StatusOK, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
	h.admin(http.MethodPost, "/_sim/faults", map[string]any{"revokeTokens": true})
	assert.Equal(t, http.StatusUnauthorized, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
	h.token = h.newToken()
	assert.Equal(t, http.StatusOK, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
}

func TestFaultsUnauthorizedErrorLatency(t *testing.T) {
	h := newHarness(t, Config{})
	r := h.admin(http.MethodPost, "/_sim/faults", map[string]any{"unauthorizedNext": 2})
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, float64(2), r.obj(t)["unauthorizedNext"])
	requireMessage(t, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil), 401, msgUnauthorized)
	requireMessage(t, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil), 401, msgUnauthorized)
	assert.Equal(t, http.StatusOK, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)

	h.admin(http.MethodPost, "/_sim/faults", map[string]any{"errorRate": 1, "errorStatus": 503})
	requireMessage(t, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil), 503, msgServerError)
	r = h.admin(http.MethodGet, "/_sim/faults", nil)
	assert.JSONEq(t, `{"latency":"","answerAfter":"","errorRate":1,"failNext":0,"errorStatus":503,"unauthorizedNext":0,"dropDeliveries":0,"dropRate":0,"duplicateDeliveries":0,"tokenLifetime":"","ratePerMinute":0,"quotaPerWeek":0}`, string(r.body))
	h.admin(http.MethodDelete, "/_sim/faults", nil)

	// failNext fails exactly the next N admitted calls.
	h.admin(http.MethodPost, "/_sim/faults", map[string]any{"failNext": 2, "errorStatus": 502})
	requireMessage(t, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil), 502, msgServerError)
	requireMessage(t, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil), 502, msgServerError)
	assert.Equal(t, http.StatusOK, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
	h.admin(http.MethodDelete, "/_sim/faults", nil)

	h.admin(http.MethodPost, "/_sim/faults", map[string]any{"latency": "50ms"})
	start := time.Now()
	assert.Equal(t, http.StatusOK, h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil).status)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	assert.Equal(t, http.StatusBadRequest, h.admin(http.MethodPost, "/_sim/faults", map[string]any{"latency": "soon"}).status)
	h.admin(http.MethodDelete, "/_sim/faults", nil)

	// answerAfter: the call is handled (and counted) at once, its answer
	// held until then, error answers too.
	h.admin(http.MethodPost, "/_sim/faults", map[string]any{"answerAfter": "50ms"})
	assert.Equal(t, "50ms", h.admin(http.MethodGet, "/_sim/faults", nil).obj(t)["answerAfter"])
	start = time.Now()
	r = h.api(http.MethodGet, "/countries", ProductHierarchyMapping, nil)
	assert.Equal(t, http.StatusOK, r.status)
	assert.NotEmpty(t, r.body)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	start = time.Now()
	requireMessage(t, h.api(http.MethodGet, "/no/such/route", ProductHierarchyMapping, nil), 404, msgNoRoute)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)
	assert.Equal(t, http.StatusBadRequest, h.admin(http.MethodPost, "/_sim/faults", map[string]any{"answerAfter": "-1s"}).status)
}
