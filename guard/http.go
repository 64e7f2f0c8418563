package guard

// The limits that act on HTTP requests rather than on operations: body size
// and CORS.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// LimitBody answers 413 with a GraphQL error (REQUEST_TOO_LARGE) to a request
// whose body is larger than n bytes, so a client cannot make the gateway
// buffer an unbounded upload. A body of unknown length is read up to n bytes
// before next sees it: the GraphQL transports read it whole anyway, and only
// this way can the answer be a 413 rather than a decoding error.
func LimitBody(n int64) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Body == nil || r.Body == http.NoBody {
				next.ServeHTTP(w, r)
				return
			}
			if r.ContentLength > n {
				tooLarge(w, n)
				return
			}
			// Read into a buffer of the announced length (and room for
			// the read that finds the end), not one grown by doubling: a
			// body at the limit would otherwise cost twice the limit.
			body := bytes.NewBuffer(make([]byte, 0, max(r.ContentLength, 0)+bytes.MinRead))
			_, err := body.ReadFrom(http.MaxBytesReader(w, r.Body, n))
			var mbe *http.MaxBytesError
			switch {
			case errors.As(err, &mbe):
				tooLarge(w, n)
				return
			case err != nil:
				writeError(w, http.StatusBadRequest, "BAD_REQUEST", "the request body could not be read")
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body.Bytes()))
			next.ServeHTTP(w, r)
		})
	}
}

func tooLarge(w http.ResponseWriter, n int64) {
	writeError(w, http.StatusRequestEntityTooLarge, CodeTooLarge, fmt.Sprintf("the request body exceeds the limit of %d bytes", n))
}

// writeError answers with one GraphQL error, as the GraphQL transports would.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Connection", "close") // the rest of the body is not read
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []any{map[string]any{"message": msg, "extensions": map[string]any{"code": code}}},
	})
}

// CORS lets pages of the allowed origins (exact origins such as
// https://app.example.com, or "*" for any) call the API from a browser: it
// answers their preflight OPTIONS requests and marks their responses with
// Access-Control-Allow-Origin. Requests from other origins get no CORS
// headers, so browsers keep them same-origin; with no allowed origins, CORS
// passes every request through untouched. No credentials are allowed: the
// gateway does not read cookies.
func CORS(allowed []string) func(http.Handler) http.Handler {
	anyOrigin := slices.Contains(allowed, "*")
	return func(next http.Handler) http.Handler {
		if len(allowed) == 0 {
			return next
		}
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			origin := r.Header.Get("Origin")
			h := w.Header()
			h.Add("Vary", "Origin")
			if origin == "" || !(anyOrigin || slices.Contains(allowed, origin)) {
				next.ServeHTTP(w, r)
				return
			}
			if anyOrigin {
				h.Set("Access-Control-Allow-Origin", "*")
			} else {
				h.Set("Access-Control-Allow-Origin", origin)
			}
			// A page told to slow down (429) may read for how long.
			h.Set("Access-Control-Expose-Headers", "Retry-After")
			if r.Method != http.MethodOptions || r.Header.Get("Access-Control-Request-Method") == "" {
				next.ServeHTTP(w, r)
				return
			}
			// A preflight: answer it here.
			h.Add("Vary", "Access-Control-Request-Method")
			h.Add("Vary", "Access-Control-Request-Headers")
			// PUT and DELETE are graphql-sse's single-connection mode.
			h.Set("Access-Control-Allow-Methods", "GET, POST, PUT, DELETE, OPTIONS")
			if req := r.Header.Get("Access-Control-Request-Headers"); req != "" {
				h.Set("Access-Control-Allow-Headers", strings.TrimSpace(req))
			}
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
		})
	}
}
