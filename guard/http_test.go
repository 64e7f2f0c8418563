package guard

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLimitBody(t *testing.T) {
	echo := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, err := io.ReadAll(r.Body)
		require.NoError(t, err)
		_, _ = w.Write(b)
	})
	tests := []struct {
		name    string
		body    string
		chunked bool
		want    int
	}{
		{"under the limit", strings.Repeat("x", 10), false, http.StatusOK},
		{"at the limit", strings.Repeat("x", 16), false, http.StatusOK},
		{"over the limit", strings.Repeat("x", 17), false, http.StatusRequestEntityTooLarge},
		{"over the limit, length unknown", strings.Repeat("x", 17), true, http.StatusRequestEntityTooLarge},
		{"under the limit, length unknown", strings.Repeat("x", 5), true, http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(tt.body))
			if tt.chunked {
				req.ContentLength = -1
			}
			rec := httptest.NewRecorder()
			LimitBody(16)(echo).ServeHTTP(rec, req)
			assert.Equal(t, tt.want, rec.Code)
			if tt.want == http.StatusOK {
				assert.Equal(t, tt.body, rec.Body.String())
			} else {
				assert.JSONEq(t, `{"errors":[{"message":"the request body exceeds the limit of 16 bytes","extensions":{"code":"REQUEST_TOO_LARGE"}}]}`, rec.Body.String())
			}
		})
	}
}

func TestCORS(t *testing.T) {
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(http.StatusTeapot) })
	tests := []struct {
		name       string
		allowed    []string
		method     string
		origin     string
		wantStatus int
		wantAllow  string
	}{
		{"none allowed", nil, http.MethodPost, "https://app.example.com", http.StatusTeapot, ""},
		{"allowed origin, POST", []string{"https://app.example.com"}, http.MethodPost, "https://app.example.com", http.StatusTeapot, "https://app.example.com"},
		{"allowed origin, preflight", []string{"https://app.example.com"}, http.MethodOptions, "https://app.example.com", http.StatusNoContent, "https://app.example.com"},
		{"other origin, POST", []string{"https://app.example.com"}, http.MethodPost, "https://evil.example.com", http.StatusTeapot, ""},
		{"other origin, preflight", []string{"https://app.example.com"}, http.MethodOptions, "https://evil.example.com", http.StatusTeapot, ""},
		{"any origin", []string{"*"}, http.MethodPost, "https://evil.example.com", http.StatusTeapot, "*"},
		{"no origin", []string{"*"}, http.MethodPost, "", http.StatusTeapot, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(tt.method, "/graphql", nil)
			if tt.origin != "" {
				req.Header.Set("Origin", tt.origin)
			}
			if tt.method == http.MethodOptions {
				req.Header.Set("Access-Control-Request-Method", "POST")
				req.Header.Set("Access-Control-Request-Headers", "content-type")
			}
			rec := httptest.NewRecorder()
			CORS(tt.allowed)(next).ServeHTTP(rec, req)
			assert.Equal(t, tt.wantStatus, rec.Code)
			assert.Equal(t, tt.wantAllow, rec.Header().Get("Access-Control-Allow-Origin"))
			if tt.wantStatus == http.StatusNoContent {
				assert.Contains(t, rec.Header().Get("Access-Control-Allow-Methods"), "POST")
				assert.Equal(t, "content-type", rec.Header().Get("Access-Control-Allow-Headers"))
			}
		})
	}
}

func TestOriginAllowed(t *testing.T) {
	tests := []struct {
		origin   string
		patterns []string
		want     bool
	}{
		{"http://gw.example.com:8080", nil, true}, // the request's own host
		{"https://app.example.com", nil, false},
		{"https://app.example.com", []string{"app.example.com"}, true},
		{"https://APP.example.com", []string{"app.example.com"}, true},
		{"https://a.example.com", []string{"*.example.com"}, true},
		{"https://example.org", []string{"*.example.com"}, false},
		{"http://localhost:5173", []string{"localhost:5173"}, true},
		{"http://app.example.com", []string{"https://app.example.com"}, false},
		{"https://app.example.com", []string{"https://app.example.com"}, true},
		{"null", []string{"*"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.origin+" "+strings.Join(tt.patterns, ","), func(t *testing.T) {
			assert.Equal(t, tt.want, originAllowed("gw.example.com:8080", tt.origin, tt.patterns))
		})
	}
	assert.True(t, ValidOriginPattern("*.example.com"))
	assert.False(t, ValidOriginPattern("[a-"))
}
