package main

// Tracing end to end: the real gateway on an engagesim, its spans exported
// over OTLP/HTTP to a receiver in the test that decodes them as a collector
// would.

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/pubsub"
	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	coltracepb "go.opentelemetry.io/proto/otlp/collector/trace/v1"
	commonpb "go.opentelemetry.io/proto/otlp/common/v1"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
	"google.golang.org/protobuf/proto"
)

// otlpReceiver is an OTLP/HTTP collector: it takes POST /v1/traces in
// protobuf and keeps what it was sent.
type otlpReceiver struct {
	url string

	mu        sync.Mutex
	spans     []*tracepb.Span
	resources [][]*commonpb.KeyValue
	bodies    [][]byte
	headers   []http.Header
	paths     []string
}

func newOTLPReceiver(t *testing.T) *otlpReceiver {
	t.Helper()
	rc := &otlpReceiver{}
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
	rc.url = srv.URL
	return rc
}

// received returns the spans received so far.
func (rc *otlpReceiver) received() []*tracepb.Span {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]*tracepb.Span(nil), rc.spans...)
}

// raw is every export body received, concatenated.
func (rc *otlpReceiver) raw() []byte {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return bytes.Join(rc.bodies, nil)
}

// named returns the received spans named name.
func named(spans []*tracepb.Span, name string) []*tracepb.Span {
	var out []*tracepb.Span
	for _, s := range spans {
		if s.GetName() == name {
			out = append(out, s)
		}
	}
	return out
}

// one returns the one received span named name.
func one(t *testing.T, spans []*tracepb.Span, name string) *tracepb.Span {
	t.Helper()
	got := named(spans, name)
	require.Len(t, got, 1, "spans named %q among %v", name, spanNames(spans))
	return got[0]
}

func spanNames(spans []*tracepb.Span) []string {
	names := make([]string, 0, len(spans))
	for _, s := range spans {
		names = append(names, s.GetName())
	}
	return names
}

// attr returns the value of a span's attribute as a string ("" if absent).
func attr(s *tracepb.Span, key string) string {
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

// isChild reports whether child's parent is parent, in the same trace.
func isChild(child, parent *tracepb.Span) bool {
	return bytes.Equal(child.GetTraceId(), parent.GetTraceId()) && bytes.Equal(child.GetParentSpanId(), parent.GetSpanId())
}

// envOf is a getenv over vars.
func envOf(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

// newTestTracing turns tracing on toward rc, and shuts it down when the test
// ends if the test did not.
func newTestTracing(t *testing.T, rc *otlpReceiver, more map[string]string) *tracing {
	t.Helper()
	vars := map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rc.url}
	for k, v := range more {
		vars[k] = v
	}
	tr, err := newTracing(envOf(vars), slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	require.NotNil(t, tr.tp, "tracing is on")
	t.Cleanup(func() { _ = tr.shutdown(context.Background()) })
	return tr
}

// flush exports every span ended so far and stops tracing.
func flush(t *testing.T, tr *tracing) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, tr.shutdown(ctx))
}

// newTracedStack is a gateway on an engagesim whose GraphQL operations and
// upstream calls are traced by tr; edit (nil for none) may change its deps.
func newTracedStack(t *testing.T, tr *tracing, edit func(*serverDeps)) *stack {
	t.Helper()
	return newStackWithDeps(t, engagesim.Config{}, loader.Options{}, func(d *serverDeps) {
		d.observe = tr.extension()
		if edit != nil {
			edit(d)
		}
	}, func(c *engage.Config) {
		c.HTTPClient = &http.Client{Transport: tr.transport(http.DefaultTransport)}
	})
}

// assertNoSecrets checks that no span carries the subscription keys, the
// password or a bearer token, whether as an attribute or anywhere in what
// was exported.
func assertNoSecrets(t *testing.T, rc *otlpReceiver) {
	t.Helper()
	raw := rc.raw()
	require.NotEmpty(t, raw)
	for product, key := range engagesim.DefaultKeys() {
		assert.NotContains(t, string(raw), key, "the subscription key of %s was exported", product)
	}
	assert.NotContains(t, string(raw), engagesim.DefaultPassword)
	assert.NotContains(t, string(raw), "Bearer ")
	for _, s := range rc.received() {
		for _, kv := range s.GetAttributes() {
			k := strings.ToLower(kv.GetKey())
			assert.NotEqual(t, "http.request.header.authorization", k, "span %s", s.GetName())
			assert.NotContains(t, k, "ocp-apim-subscription-key", "span %s", s.GetName())
			assert.NotContains(t, kv.GetValue().GetStringValue(), "Bearer ", "span %s attribute %s", s.GetName(), kv.GetKey())
		}
	}
}

// TestTracingOperationAndUpstreamCalls runs a named query through the real
// gateway: the operation gets its span, and the calls to Engage it causes
// (the token request among them) are client spans beneath it, with no
// secret in sight.
func TestTracingOperationAndUpstreamCalls(t *testing.T) {
	rc := newOTLPReceiver(t)
	tr := newTestTracing(t, rc, nil)
	s := newTracedStack(t, tr, nil)

	resp := s.query(t, `query Countries { countries { name } }`, nil)
	require.Empty(t, resp.Errors)
	flush(t, tr)

	spans := rc.received()
	op := one(t, spans, "graphql.query Countries")
	assert.Equal(t, "query", attr(op, "graphql.operation.type"))
	assert.Equal(t, "Countries", attr(op, "graphql.operation.name"))
	assert.Equal(t, tracepb.Status_STATUS_CODE_UNSET, op.GetStatus().GetCode())
	assert.Empty(t, op.GetParentSpanId(), "nothing wraps the gateway here, so the operation starts the trace")

	call := one(t, spans, "engage GET /"+engagesim.DefaultTenant+"/api/V1/countries")
	assert.True(t, isChild(call, op), "the upstream call is a child of the operation's span")
	assert.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, call.GetKind())
	assert.Equal(t, "200", attr(call, "http.response.status_code"))
	assert.True(t, strings.HasSuffix(attr(call, "url.full"), "/api/V1/countries"), "url.full %s", attr(call, "url.full"))

	// The first call logs in; the token request is traced too, in the
	// same trace.
	token := one(t, spans, "engage POST /tokenproviderapi/token")
	assert.Equal(t, op.GetTraceId(), token.GetTraceId())

	assertNoSecrets(t, rc)
}

func TestTracingDeferredQuery(t *testing.T) {
	rc := newOTLPReceiver(t)
	tr := newTestTracing(t, rc, nil)
	s := newTracedStack(t, tr, nil)
	resp := postDeferred(t, t.Context(), s.gwURL, `query Deferred { locations { id ... @defer { rooms { id } } } }`, nil)
	parts := readMultipart(t, resp)
	resp.Body.Close()
	require.Greater(t, len(parts), 2)
	flush(t, tr)

	// One span for the operation, ending with its last part: the deferred
	// fragments' upstream calls are its children and end within it.
	spans := rc.received()
	op := one(t, spans, "graphql.query Deferred")
	rooms := named(spans, "engage GET /"+engagesim.DefaultTenant+"/api/V1/rooms")
	require.NotEmpty(t, rooms)
	for _, call := range rooms {
		assert.True(t, isChild(call, op), "a deferred fragment's call is a child of the operation")
		assert.LessOrEqual(t, call.GetEndTimeUnixNano(), op.GetEndTimeUnixNano(), "and ends before the operation's span")
	}
}

// TestTracingRecordsErrors: an executed operation whose response has errors
// and one rejected before execution both end with status Error and the
// first error's code.
func TestTracingRecordsErrors(t *testing.T) {
	rc := newOTLPReceiver(t)
	tr := newTestTracing(t, rc, nil)
	s := newTracedStack(t, tr, nil)

	resp := s.query(t, `query Bad { location(id: "not-an-id") { id } }`, nil)
	require.NotEmpty(t, resp.Errors)
	resp = s.query(t, `query Invalid { noSuchField }`, nil)
	require.NotEmpty(t, resp.Errors)
	resp = s.query(t, `query {`, nil)
	require.NotEmpty(t, resp.Errors)
	resp = s.query(t, `{ countries { name } }`, nil)
	require.Empty(t, resp.Errors)
	flush(t, tr)

	spans := rc.received()
	bad := one(t, spans, "graphql.query Bad")
	// gqlgen keeps no operation of a document that does not parse or
	// validate, so those are only "invalid".
	invalid := named(spans, "graphql.invalid")
	require.Len(t, invalid, 2)
	var codes []string
	for _, sp := range append(invalid, bad) {
		assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, sp.GetStatus().GetCode(), sp.GetName())
		assert.NotEmpty(t, sp.GetStatus().GetMessage(), sp.GetName())
		assert.Equal(t, "1", attr(sp, "graphql.error.count"), sp.GetName())
		codes = append(codes, attr(sp, "graphql.error.code"))
	}
	assert.Equal(t, "BAD_USER_INPUT", attr(bad, "graphql.error.code"))
	assert.ElementsMatch(t, []string{"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "BAD_USER_INPUT"}, codes)
	anon := one(t, spans, "graphql.query")
	assert.Equal(t, "", attr(anon, "graphql.operation.name"), "an unnamed operation has no name")
	assert.Equal(t, tracepb.Status_STATUS_CODE_UNSET, anon.GetStatus().GetCode())
}

// TestTracingOperationNameBounded: a client-chosen operation name is cut to
// maxOperationName bytes in the span's name and attribute.
func TestTracingOperationNameBounded(t *testing.T) {
	rc := newOTLPReceiver(t)
	tr := newTestTracing(t, rc, nil)
	s := newTracedStack(t, tr, nil)

	long := "Q" + strings.Repeat("x", 200)
	resp := s.query(t, `query `+long+` { countries { name } }`, nil)
	require.Empty(t, resp.Errors)
	flush(t, tr)

	sp := one(t, rc.received(), "graphql.query "+long[:maxOperationName])
	assert.Equal(t, long[:maxOperationName], attr(sp, "graphql.operation.name"))
}

// TestTracingSubscription: a subscription over SSE gets a span for its
// setup, and its payload one of its own, linked to the setup, with the
// upstream calls that resolve the payload beneath it. The end of the stream
// makes no span.
func TestTracingSubscription(t *testing.T) {
	rc := newOTLPReceiver(t)
	tr := newTestTracing(t, rc, nil)
	subscribeOnce(t, tr)
	flush(t, tr)

	spans := rc.received()
	setup := one(t, spans, "graphql.subscription Bookings")
	assert.Equal(t, "subscription", attr(setup, "graphql.operation.type"))
	payload := one(t, spans, "graphql.subscription.payload Bookings")
	assert.Empty(t, payload.GetParentSpanId(), "a payload starts its own trace")
	assert.NotEqual(t, setup.GetTraceId(), payload.GetTraceId())
	require.Len(t, payload.GetLinks(), 1)
	assert.Equal(t, setup.GetTraceId(), payload.GetLinks()[0].GetTraceId())
	assert.Equal(t, setup.GetSpanId(), payload.GetLinks()[0].GetSpanId())
	assert.Equal(t, tracepb.Status_STATUS_CODE_UNSET, payload.GetStatus().GetCode())

	var beneath []string
	for _, s := range spans {
		if isChild(s, payload) {
			beneath = append(beneath, s.GetName())
		}
	}
	require.NotEmpty(t, beneath, "the payload's upstream reads are its children")
	for _, name := range beneath {
		assert.True(t, strings.HasPrefix(name, "engage GET /"), "%s", name)
	}
	assertNoSecrets(t, rc)
}

// TestTracingSubscriptionSampledOut: with every trace sampled out, the
// subscription works as without tracing and nothing is exported.
func TestTracingSubscriptionSampledOut(t *testing.T) {
	rc := newOTLPReceiver(t)
	tr := newTestTracing(t, rc, map[string]string{"OTEL_TRACES_SAMPLER": "always_off"})
	subscribeOnce(t, tr)
	flush(t, tr)
	assert.Empty(t, rc.received())
}

// subscribeOnce subscribes to a room's bookings over SSE on a gateway traced
// by tr, publishes one change, reads its event and leaves.
func subscribeOnce(t *testing.T, tr *tracing) {
	t.Helper()
	b := pubsub.NewMemory(pubsub.Options{Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = b.Close() })
	e := &subEnv{stack: newTracedStack(t, tr, func(d *serverDeps) { d.feed = brokerFeed{b: b} }), broker: b}
	e.fx = e.fixture(t)

	sub, cancel := startSSE(t, e.gwURL, `subscription Bookings($r: [ID!]) {
		bookingChanged(roomIds: $r) { action booking { id title } room { id } }
	}`, map[string]any{"r": []string{e.fx.room}})
	sub.expect(t, "ready")
	e.subscribers(t, 1)
	e.publish(t, workplace.Change{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceWeb,
		At: time.Now().UTC(), BookingID: workplace.BookingID(idPart(t, e.fx.bookingID, 0)), RoomID: workplace.RoomID(idPart(t, e.fx.room, 1))})
	ev := decodeEvent[bookingEvent](t, sub.expect(t, "next"))
	require.Empty(t, ev.Errors)
	require.NotNil(t, ev.Data.BookingChanged.Booking)
	assert.Equal(t, e.fx.bookingID, ev.Data.BookingChanged.Booking.ID)
	cancel()
	sub.ended(t)
	e.subscribers(t, 0)
}

// fakeExporter is a span exporter whose answer the test sets.
type fakeExporter struct {
	sdktrace.SpanExporter
	export func() error
}

func (f fakeExporter) ExportSpans(context.Context, []sdktrace.ReadOnlySpan) error { return f.export() }

// TestTracingExportFailuresLogged: failing exports are logged once when they
// start failing and once when they recover, not per batch.
func TestTracingExportFailuresLogged(t *testing.T) {
	var logs bytes.Buffer
	var fail error
	e := &loggedExporter{SpanExporter: fakeExporter{export: func() error { return fail }}, log: slog.New(slog.NewTextHandler(&logs, nil))}
	ctx := context.Background()
	require.NoError(t, e.ExportSpans(ctx, nil))
	assert.Empty(t, logs.String())
	fail = errors.New("connection refused")
	require.NoError(t, e.ExportSpans(ctx, nil), "the batch processor has nothing to do with the error")
	require.NoError(t, e.ExportSpans(ctx, nil))
	assert.Equal(t, 1, strings.Count(logs.String(), "connection refused"), "%s", logs.String())
	fail = nil
	require.NoError(t, e.ExportSpans(ctx, nil))
	require.NoError(t, e.ExportSpans(ctx, nil))
	assert.Equal(t, 1, strings.Count(logs.String(), "answers again"), "%s", logs.String())
}

// TestTracingHandler: a request gets a server span that continues the
// caller's trace; probes get none.
func TestTracingHandler(t *testing.T) {
	rc := newOTLPReceiver(t)
	tr := newTestTracing(t, rc, nil)
	seen := make(chan [2]string, 8)
	srv := httptest.NewServer(tr.handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sc := traceSpanContext(r)
		seen <- [2]string{r.URL.Path, sc}
		w.WriteHeader(http.StatusNoContent)
	})))
	t.Cleanup(srv.Close)

	const callerTrace, callerSpan = "4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7"
	for _, path := range []string{"/graphql", "/healthz", "/readyz", "/metrics", "/no/such/route/42"} {
		req, err := http.NewRequestWithContext(context.Background(), http.MethodPost, srv.URL+path, strings.NewReader("{}"))
		require.NoError(t, err)
		req.Header.Set("traceparent", "00-"+callerTrace+"-"+callerSpan+"-01")
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		require.NoError(t, resp.Body.Close())
		got := <-seen
		if path == "/graphql" || path == "/no/such/route/42" {
			assert.Equal(t, callerTrace, got[1], "%s continues the caller's trace", path)
		} else {
			assert.Empty(t, got[1], "%s is not traced", path)
		}
	}
	flush(t, tr)

	spans := rc.received()
	assert.ElementsMatch(t, []string{"POST /graphql", "POST"}, spanNames(spans), "one span per traced request; an unknown path is not in the name")
	sp := one(t, spans, "POST /graphql")
	assert.Equal(t, tracepb.Span_SPAN_KIND_SERVER, sp.GetKind())
	assert.Equal(t, callerSpan, hexOf(sp.GetParentSpanId()))
	assert.Equal(t, callerTrace, hexOf(sp.GetTraceId()))
	assert.Equal(t, "204", attr(sp, "http.response.status_code"))
}

// hexOf is an OTLP id as W3C writes it.
func hexOf(id []byte) string { return hex.EncodeToString(id) }

// traceSpanContext is the trace id of the span in r's context, or "".
func traceSpanContext(r *http.Request) string {
	sc := trace.SpanContextFromContext(r.Context())
	if !sc.IsValid() {
		return ""
	}
	return sc.TraceID().String()
}

// TestTracingTransport: an upstream call through the transport gets a client
// span named after its path with ids templated, the request arrives
// unchanged (query string included) with a traceparent, and neither the
// query string nor a header reaches the span.
func TestTracingTransport(t *testing.T) {
	rc := newOTLPReceiver(t)
	tr := newTestTracing(t, rc, nil)
	type got struct {
		query, traceparent, baggage, key string
	}
	arrived := make(chan got, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- got{r.URL.RawQuery, r.Header.Get("traceparent"), r.Header.Get("baggage"), r.Header.Get("Ocp-Apim-Subscription-Key")}
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(upstream.Close)

	client := &http.Client{Transport: tr.transport(http.DefaultTransport)}
	ctx, span := tr.tracer.Start(context.Background(), "caller")
	req, err := http.NewRequestWithContext(ctx, http.MethodGet,
		upstream.URL+"/Tenant/api/V1/rooms/1234/bookings/0f8fad5b-d9cb-469f-a165-70867728950e?from=2026-01-01&secret=q-s3cret", nil)
	require.NoError(t, err)
	req.Header.Set("Ocp-Apim-Subscription-Key", "k-s3cret")
	req.Header.Set("Authorization", "Bearer t-s3cret")
	req.Header.Set("baggage", "user=someone")
	resp, err := client.Do(req)
	require.NoError(t, err)
	_, err = io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	span.End()

	g := <-arrived
	assert.Equal(t, "from=2026-01-01&secret=q-s3cret", g.query, "the query string still goes out")
	assert.Equal(t, "k-s3cret", g.key)
	assert.Contains(t, g.traceparent, span.SpanContext().TraceID().String(), "the trace goes along to Engage")
	assert.Equal(t, "user=someone", g.baggage, "the caller's own headers are left alone")
	flush(t, tr)

	spans := rc.received()
	call := one(t, spans, "engage GET /Tenant/api/V1/rooms/{id}/bookings/{id}")
	assert.Equal(t, span.SpanContext().SpanID().String(), hexOf(call.GetParentSpanId()))
	assert.Equal(t, upstream.URL+"/Tenant/api/V1/rooms/1234/bookings/0f8fad5b-d9cb-469f-a165-70867728950e", attr(call, "url.full"))
	raw := string(rc.raw())
	for _, secret := range []string{"q-s3cret", "k-s3cret", "t-s3cret", "Bearer"} {
		assert.NotContains(t, raw, secret)
	}
}

// TestTracingOff: without an endpoint (or with the SDK disabled), tracing is
// off and every hook hands back what it was given.
func TestTracingOff(t *testing.T) {
	for name, vars := range map[string]map[string]string{
		"no endpoint":  {"OTEL_SERVICE_NAME": "x", "OTEL_TRACES_SAMPLER_ARG": "not read when off"},
		"sdk disabled": {"OTEL_SDK_DISABLED": "true", "OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:1"},
	} {
		t.Run(name, func(t *testing.T) {
			var logs bytes.Buffer
			tr, err := newTracing(envOf(vars), slog.New(slog.NewTextHandler(&logs, nil)))
			require.NoError(t, err)
			require.NotNil(t, tr)
			assert.Nil(t, tr.tp)
			assert.Empty(t, logs.String(), "nothing to say when off")
			checkPassthrough(t, tr)
		})
	}
	t.Run("zero value", func(t *testing.T) { checkPassthrough(t, &tracing{}) })
	t.Run("nil", func(t *testing.T) { checkPassthrough(t, nil) })
}

func checkPassthrough(t *testing.T, tr *tracing) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {
		assert.False(t, trace.SpanContextFromContext(r.Context()).IsValid())
		_, _ = io.WriteString(w, "ok")
	})
	h := tr.handler(mux)
	assert.Same(t, mux, h)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	assert.Equal(t, "ok", rec.Body.String())

	base := &http.Transport{}
	assert.Same(t, base, tr.transport(base))
	assert.Nil(t, tr.extension())
	assert.NoError(t, tr.shutdown(context.Background()))
}

// TestTracingSettings: the exporter is configured from getenv: the traces
// endpoint as given, the headers sent to the collector (and not logged), the
// service name and resource attributes.
func TestTracingSettings(t *testing.T) {
	rc := newOTLPReceiver(t)
	var logs bytes.Buffer
	tr, err := newTracing(envOf(map[string]string{
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": rc.url + "/v1/traces",
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://127.0.0.1:1",
		"OTEL_EXPORTER_OTLP_HEADERS":         "x-api-key=s3cr%3Det, x-team = gw",
		"OTEL_SERVICE_NAME":                  "gw-test",
		"OTEL_RESOURCE_ATTRIBUTES":           "deployment.environment=test,service.name=overridden",
		"OTEL_TRACES_SAMPLER":                "traceidratio",
		"OTEL_TRACES_SAMPLER_ARG":            "1",
	}), slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "tracing on")
	assert.Contains(t, logs.String(), rc.url+"/v1/traces")
	assert.Contains(t, logs.String(), "x-api-key", "header names are logged")
	assert.NotContains(t, logs.String(), "s3cr", "header values are not")

	_, span := tr.tracer.Start(context.Background(), "probe")
	span.End()
	flush(t, tr)

	one(t, rc.received(), "probe")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	require.NotEmpty(t, rc.headers)
	assert.Equal(t, "/v1/traces", rc.paths[0])
	assert.Equal(t, "s3cr=et", rc.headers[0].Get("X-Api-Key"))
	assert.Equal(t, "gw", rc.headers[0].Get("X-Team"))
	assert.Equal(t, "application/x-protobuf", rc.headers[0].Get("Content-Type"))
	res := map[string]string{}
	for _, kv := range rc.resources[0] {
		res[kv.GetKey()] = kv.GetValue().GetStringValue()
	}
	assert.Equal(t, "gw-test", res["service.name"], "OTEL_SERVICE_NAME wins")
	assert.Equal(t, "test", res["deployment.environment"])
}

// TestTracingDefaultServiceName: without OTEL_SERVICE_NAME the spans come
// from engage-gateway, and OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/traces.
func TestTracingDefaultServiceName(t *testing.T) {
	rc := newOTLPReceiver(t)
	tr := newTestTracing(t, rc, nil)
	_, span := tr.tracer.Start(context.Background(), "probe")
	span.End()
	flush(t, tr)
	one(t, rc.received(), "probe")
	rc.mu.Lock()
	defer rc.mu.Unlock()
	assert.Equal(t, "/v1/traces", rc.paths[0])
	var service string
	for _, kv := range rc.resources[0] {
		if kv.GetKey() == "service.name" {
			service = kv.GetValue().GetStringValue()
		}
	}
	assert.Equal(t, defaultServiceName, service)
}

// TestTracingSampler: the samplers by name, and their ratio.
func TestTracingSampler(t *testing.T) {
	for _, tc := range []struct{ sampler, arg, want string }{
		{"", "", "ParentBased{root:AlwaysOnSampler"},
		{"parentbased_always_on", "", "ParentBased{root:AlwaysOnSampler"},
		{"always_off", "", "AlwaysOffSampler"},
		{"traceidratio", "0.25", "TraceIDRatioBased{0.25}"},
		{"traceidratio", "", "TraceIDRatioBased{1}"},
		{"parentbased_traceidratio", "0.5", "ParentBased{root:TraceIDRatioBased{0.5}"},
		{"always_on", "not read", "AlwaysOnSampler"},
	} {
		s, err := newSampler(envOf(map[string]string{"OTEL_TRACES_SAMPLER": tc.sampler, "OTEL_TRACES_SAMPLER_ARG": tc.arg}))
		require.NoError(t, err, "%s %s", tc.sampler, tc.arg)
		assert.True(t, strings.HasPrefix(s.Description(), tc.want), "%s %s: %s", tc.sampler, tc.arg, s.Description())
	}
}

// TestTracingBadSettings: a bad value is an error that names its variable
// and does not repeat a secret.
func TestTracingBadSettings(t *testing.T) {
	const endpoint = "http://127.0.0.1:4318"
	for _, tc := range []struct {
		name string
		vars map[string]string
		want string
	}{
		{"ratio not a number", map[string]string{"OTEL_TRACES_SAMPLER": "parentbased_traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"}, "OTEL_TRACES_SAMPLER_ARG"},
		{"ratio above 1", map[string]string{"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"}, "OTEL_TRACES_SAMPLER_ARG"},
		{"unknown sampler", map[string]string{"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER"},
		{"endpoint without scheme", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "user:p4ss@collector:4318"}, "OTEL_EXPORTER_OTLP_ENDPOINT"},
		{"traces endpoint not http", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "grpc://collector:4317"}, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"},
		{"insecure not a bool", map[string]string{"OTEL_EXPORTER_OTLP_INSECURE": "maybe"}, "OTEL_EXPORTER_OTLP_INSECURE"},
		{"header without value", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=p4ss,p4ssword"}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{"header badly encoded", map[string]string{"OTEL_EXPORTER_OTLP_HEADERS": "x-api-key=p4ss%zz"}, "OTEL_EXPORTER_OTLP_HEADERS"},
		{"grpc protocol", map[string]string{"OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, "OTEL_EXPORTER_OTLP_PROTOCOL"},
		{"resource attributes", map[string]string{"OTEL_RESOURCE_ATTRIBUTES": "team"}, "OTEL_RESOURCE_ATTRIBUTES"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			vars := map[string]string{}
			if tc.vars["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] == "" {
				vars["OTEL_EXPORTER_OTLP_ENDPOINT"] = endpoint
			}
			for k, v := range tc.vars {
				vars[k] = v
			}
			tr, err := newTracing(envOf(vars), slog.New(slog.DiscardHandler))
			require.Error(t, err)
			assert.Nil(t, tr)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "p4ss")
		})
	}
}

// TestTracingPathTemplate: ids in upstream paths become {id}.
func TestTracingPathTemplate(t *testing.T) {
	for in, want := range map[string]string{
		"/T/api/V1/countries":                       "/T/api/V1/countries",
		"/T/api/V1/rooms/42":                        "/T/api/V1/rooms/{id}",
		"/T/api/V1/rooms/42/":                       "/T/api/V1/rooms/{id}/",
		"/a/0f8fad5b-d9cb-469f-a165-70867728950e/b": "/a/{id}/b",
		"/tokenproviderapi/token":                   "/tokenproviderapi/token",
		"":                                          "",
	} {
		assert.Equal(t, want, pathTemplate(in), in)
	}
}

// TestTracingWiredIntoTheGateway runs a whole gateway configured by
// environment only and finds its spans at the collector: the HTTP request,
// the operation under it, and the Engage call under that.
func TestTracingWiredIntoTheGateway(t *testing.T) {
	t.Parallel()
	rc := newOTLPReceiver(t)
	g := startGateway(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rc.url, "OTEL_SERVICE_NAME": "gateway-under-test"})
	r := g.query(t, `query Regions { regions { name } }`, nil)
	require.Empty(t, r.Errors)
	var spans []*tracepb.Span
	// The batch processor exports every few seconds.
	require.Eventually(t, func() bool {
		spans = rc.received()
		return len(named(spans, "graphql.query Regions")) == 1 && len(named(spans, "POST /graphql")) >= 1
	}, 20*time.Second, 50*time.Millisecond, "spans so far: %v", spanNames(rc.received()))
	op := one(t, spans, "graphql.query Regions")
	var upstream *tracepb.Span
	for _, s := range spans {
		if isChild(s, op) && strings.HasPrefix(s.Name, "engage GET ") && strings.HasSuffix(s.Name, "/regions") {
			upstream = s
		}
	}
	require.NotNil(t, upstream, "the Engage call is a child of the operation: %v", spanNames(spans))
	assertNoSecrets(t, rc)
	assert.Contains(t, g.logs.String(), `"trace_id":"`+hexOf(op.TraceId)+`"`, "the request's log line leads to its trace")
}
