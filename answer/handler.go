package answer

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"io"
	"mime"
	"net/http"
	"strconv"
	"strings"

	"github.com/engagegql/gateway/workplace"
)

// HandlerOptions tune Handler.
type HandlerOptions struct {
	// Visibility names what the caller on a request's context is shown:
	// callers share an answer only when theirs are equal. Required.
	Visibility func(ctx context.Context) string
	// Admit is asked before a kept answer is served (the client's rate
	// limit); when it refuses, the request runs as any other, which
	// answers the refusal. Nil admits every request.
	Admit func(ctx context.Context) bool
	// Served hears each request's outcome: "hit" (a kept answer served),
	// "kept" (computed and kept) or "computed" (computed, not kept). Nil
	// hears nothing.
	Served func(ctx context.Context, outcome, name string)
	// MaxBody bounds the size of an answer kept; zero means 1 MiB.
	MaxBody int
}

// Handler serves GraphQL queries over HTTP (GET and POST) from c, and runs
// the rest through next: the request's context carries workplace.Inputs,
// and next's answer is kept when it was a query's, answered 200 in one JSON
// body, with everything it was computed from in the store. Two requests
// share an answer when their method, URL query, Accept and Content-Type
// headers and body are the same bytes and their callers' visibility is
// equal. Websocket upgrades and event streams pass through untouched.
func (c *Cache) Handler(next http.Handler, o HandlerOptions) http.Handler {
	if o.MaxBody <= 0 {
		o.MaxBody = 1 << 20
	}
	served := o.Served
	if served == nil {
		served = func(context.Context, string, string) {}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if (r.Method != http.MethodGet && r.Method != http.MethodPost) || r.Header.Get("Upgrade") != "" ||
			strings.Contains(r.Header.Get("Accept"), "text/event-stream") {
			next.ServeHTTP(w, r)
			return
		}
		body, err := io.ReadAll(r.Body)
		if err != nil {
			// Too large, or the client went away: next answers it, from
			// what was read and the same error.
			r.Body = io.NopCloser(io.MultiReader(bytes.NewReader(body), errReader{err}))
			next.ServeHTTP(w, r)
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		ctx := r.Context()
		id := requestID(r, body, o.Visibility(ctx))
		if ans, ok := c.Get(ctx, id); ok && (o.Admit == nil || o.Admit(ctx)) {
			w.Header().Set("Content-Type", ans.ContentType)
			w.Header().Set("Content-Length", strconv.Itoa(len(ans.Body)))
			w.WriteHeader(http.StatusOK)
			_, _ = w.Write(ans.Body)
			served(ctx, "hit", ans.Name)
			return
		}
		since, keep := c.Begin()
		if !keep {
			next.ServeHTTP(w, r)
			served(ctx, "computed", "")
			return
		}
		ctx, in := workplace.WithInputs(ctx)
		rec := &recorder{ResponseWriter: w, limit: o.MaxBody}
		next.ServeHTTP(rec, r.WithContext(ctx))
		keys, until, name, why := in.Kept()
		ct := rec.Header().Get("Content-Type")
		if why != "" || rec.status != http.StatusOK || rec.over || rec.flushed || !isJSON(ct) {
			served(ctx, "computed", name)
			return
		}
		c.Put(id, Answer{ContentType: ct, Body: rec.body.Bytes(), Name: name}, since, keys, until)
		served(ctx, "kept", name)
	})
}

// requestID is what two requests that share an answer have in common.
func requestID(r *http.Request, body []byte, visibility string) string {
	h := sha256.New()
	for _, part := range []string{r.Method, r.URL.RawQuery, r.Header.Get("Accept"), r.Header.Get("Content-Type"), visibility} {
		writePart(h, []byte(part))
	}
	writePart(h, body)
	return string(h.Sum(nil))
}

func writePart(w io.Writer, b []byte) {
	var n [8]byte
	binary.BigEndian.PutUint64(n[:], uint64(len(b)))
	_, _ = w.Write(n[:])
	_, _ = w.Write(b)
}

func isJSON(contentType string) bool {
	mt, _, err := mime.ParseMediaType(contentType)
	return err == nil && (mt == "application/json" || mt == "application/graphql-response+json")
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// recorder passes a response through and keeps a copy of it, up to limit
// bytes.
type recorder struct {
	http.ResponseWriter
	status  int
	body    bytes.Buffer
	limit   int
	over    bool
	flushed bool
}

func (r *recorder) WriteHeader(code int) {
	if r.status == 0 {
		r.status = code
	}
	r.ResponseWriter.WriteHeader(code)
}

func (r *recorder) Write(b []byte) (int, error) {
	if r.status == 0 {
		r.status = http.StatusOK
	}
	if !r.over {
		if r.body.Len()+len(b) > r.limit {
			r.over = true
			r.body = bytes.Buffer{}
		} else {
			r.body.Write(b)
		}
	}
	return r.ResponseWriter.Write(b)
}

// Flush passes a flush on; a flushed answer (one in parts) is not kept.
func (r *recorder) Flush() {
	r.flushed = true
	if f, ok := r.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (r *recorder) Unwrap() http.ResponseWriter { return r.ResponseWriter }
