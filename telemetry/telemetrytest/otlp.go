// Package telemetrytest is an OTLP/HTTP collector for tests, and what they
// read of the spans it received: the gateway's end-to-end tests and the
// tracing's own use the same one.
package telemetrytest

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// Receiver is an OTLP/HTTP collector: it takes POST /v1/traces in
// protobuf and keeps what it was sent.
type Receiver struct {
	// URL is the collector's base URL: OTEL_EXPORTER_OTLP_ENDPOINT.
	URL string

	mu        sync.Mutex
	spans     []*tracepb.Span
	resources [][]*commonpb.KeyValue
	bodies    [][]byte
	headers   []http.Header
	paths     []string
}

func NewReceiver(t testing.TB) *Receiver {
	t.Helper()
	rc := &Receiver{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rc.mu.Lock()
		rc.paths = append(rc.paths, r.URL.Path)
		rc.headers = append(rc.headers, r.Header.Clone())
		rc.mu.Unlock()
		if r.Method != http.MethodPost || r.URL.Path != "/v1/traces" {
			http.NotFound(w, r)
			return
		}
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			gz, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = gz
		}
		raw, err := io.ReadAll(body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		var req coltracepb.ExportTraceServiceRequest
		if err := proto.Unmarshal(raw, &req); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		rc.mu.Lock()
		rc.bodies = append(rc.bodies, raw)
		for _, rs := range req.GetResourceSpans() {
			rc.resources = append(rc.resources, rs.GetResource().GetAttributes())
			for _, ss := range rs.GetScopeSpans() {
				rc.spans = append(rc.spans, ss.GetSpans()...)
			}
		}
		rc.mu.Unlock()
		out, err := proto.Marshal(&coltracepb.ExportTraceServiceResponse{})
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.Header().Set("Content-Type", "application/x-protobuf")
		_, _ = w.Write(out)
	}))
	t.Cleanup(srv.Close)
	rc.URL = srv.URL
	return rc
}

// Spans returns the spans received so far.
func (rc *Receiver) Spans() []*tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*tracepb.Span(nil), rc.spans...)
}

// Raw is every export body received, concatenated.
func (rc *Receiver) Raw() []byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return bytes.Join(rc.bodies, nil)
}

// Named returns the spans named name.
func Named(spans []*tracepb.Span, name string) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range spans {
		if s.GetName() == name {
			out = append(out, s)
		}
	}
	return out
}

// One returns the one span named name, and fails t if there is not one.
func One(t testing.TB, spans []*tracepb.Span, name string) *tracepb.Span {
	t.Helper()
	got := Named(spans, name)
	require.Len(t, got, 1, "spans named %q among %v", name, SpanNames(spans))
	return got[0]
}

// SpanNames are the spans' names.
func SpanNames(spans []*tracepb.Span) []string {
	names := make([]string, 0, len(spans))
	for _, s := range spans {
		names = append(names, s.GetName())
	}
	return names
}

// Attr returns the value of a span's attribute as a string ("" if absent).
func Attr(s *tracepb.Span, key string) string {
	for _, kv := range s.GetAttributes() {
		if kv.GetKey() == key {
			if v, ok := kv.GetValue().GetValue().(*commonpb.AnyValue_IntValue); ok {
				return strconv.FormatInt(v.IntValue, 10)
			}
			return kv.GetValue().GetStringValue()
		}
	}
	return ""
}

// IsChild reports whether child's parent is parent, in the same trace.
func IsChild(child, parent *tracepb.Span) bool {
	return bytes.Equal(child.GetTraceId(), parent.GetTraceId()) && bytes.Equal(child.GetParentSpanId(), parent.GetSpanId())
}

// Env is a getenv over vars.
func Env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// Paths are the paths of the requests received, in order.
func (rc *Receiver) Paths() []string {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]string(nil), rc.paths...)
}

// Headers are the headers of the requests received, in order.
func (rc *Receiver) Headers() []http.Header {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]http.Header(nil), rc.headers...)
}

// Resources are the resource attributes of each batch of spans received.
func (rc *Receiver) Resources() [][]*commonpb.KeyValue {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([][]*commonpb.KeyValue(nil), rc.resources...)
}

// TracingEnv is the environment that turns tracing on toward rc, with more
// settings.
func (rc *Receiver) TracingEnv(more map[string]string) func(string) string {
	vars := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rc.URL}
	for k, v := range more {
		vars[k] = v
	}
	return Env(vars)
}

// Tracing is what the helpers need of a tracing (*telemetry.Tracing).
type Tracing interface {
	On() bool
	Shutdown(context.Context) error
}

// On makes a tracing with newTracing that exports toward rc, with more
// settings, and shuts it down when the test ends if the test did not.
func On[T Tracing](t testing.TB, rc *Receiver, more map[string]string, newTracing func(getenv func(string) string, log *slog.Logger) (T, error)) T {
	t.Helper()
	tr, err := newTracing(rc.TracingEnv(more), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.True(t, tr.On(), "tracing is on")
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	return tr
}

// Flush exports every span tr ended so far, and stops it.
func Flush(t testing.TB, tr Tracing) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, tr.Shutdown(ctx))
}

// HexID is an OTLP trace or span id as W3C trace context writes it.
func HexID(id []byte) string { return hex.EncodeToString(id) }
