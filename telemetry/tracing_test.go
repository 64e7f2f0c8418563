package telemetry

// The tracing on its own: its settings, its sampler, its handler and
// transport, and its export failures. Its end-to-end tests, through the
// gateway, are the server's ops_tracing_test.go.

import (
	"bytes"
	"context"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/engagegql/gateway/telemetry/telemetrytest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

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
	rc := telemetrytest.NewReceiver(t)
	tr := telemetrytest.On(t, rc, nil, NewTracing)
	seen := make(chan [2]string, 8)
	srv := httptest.NewServer(tr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
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
	telemetrytest.Flush(t, tr)

	spans := rc.Spans()
	assert.ElementsMatch(t, []string{"POST /graphql", "POST"}, telemetrytest.SpanNames(spans), "one span per traced request; an unknown path is not in the name")
	sp := telemetrytest.One(t, spans, "POST /graphql")
	assert.Equal(t, tracepb.Span_SPAN_KIND_SERVER, sp.GetKind())
	assert.Equal(t, callerSpan, telemetrytest.HexID(sp.GetParentSpanId()))
	assert.Equal(t, callerTrace, telemetrytest.HexID(sp.GetTraceId()))
	assert.Equal(t, "204", telemetrytest.Attr(sp, "http.response.status_code"))
}

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
	rc := telemetrytest.NewReceiver(t)
	tr := telemetrytest.On(t, rc, nil, NewTracing)
	type got struct {
		query, traceparent, baggage, key string
	}
	arrived := make(chan got, 1)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		arrived <- got{r.URL.RawQuery, r.Header.Get("traceparent"), r.Header.Get("baggage"), r.Header.Get("Ocp-Apim-Subscription-Key")}
		_, _ = io.WriteString(w, "{}")
	}))
	t.Cleanup(upstream.Close)

	client := &http.Client{Transport: tr.Transport(http.DefaultTransport)}
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
	telemetrytest.Flush(t, tr)

	spans := rc.Spans()
	call := telemetrytest.One(t, spans, "engage GET /Tenant/api/V1/rooms/{id}/bookings/{id}")
	assert.Equal(t, span.SpanContext().SpanID().String(), telemetrytest.HexID(call.GetParentSpanId()))
	assert.Equal(t, upstream.URL+"/Tenant/api/V1/rooms/1234/bookings/0f8fad5b-d9cb-469f-a165-70867728950e", telemetrytest.Attr(call, "url.full"))
	raw := string(rc.Raw())
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
			tr, err := NewTracing(telemetrytest.Env(vars), slog.New(slog.NewTextHandler(&logs, nil)))
			require.NoError(t, err)
			require.NotNil(t, tr)
			assert.Nil(t, tr.tp)
			assert.Empty(t, logs.String(), "nothing to say when off")
			checkPassthrough(t, tr)
		})
	}
	t.Run("zero value", func(t *testing.T) { checkPassthrough(t, &Tracing{}) })
	t.Run("nil", func(t *testing.T) { checkPassthrough(t, nil) })
}

func checkPassthrough(t *testing.T, tr *Tracing) {
	t.Helper()
	mux := http.NewServeMux()
	mux.HandleFunc("GET /x", func(w http.ResponseWriter, r *http.Request) {
		assert.False(t, trace.SpanContextFromContext(r.Context()).IsValid())
		_, _ = io.WriteString(w, "ok")
	})
	h := tr.Handler(mux)
	assert.Same(t, mux, h)
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/x", nil))
	assert.Equal(t, "ok", rec.Body.String())

	base := &http.Transport{}
	assert.Same(t, base, tr.Transport(base))
	assert.Nil(t, tr.Extension())
	assert.NoError(t, tr.Shutdown(context.Background()))
}

// TestTracingSettings: the exporter is configured from getenv: the traces
// endpoint as given, the headers sent to the collector (and not logged), the
// service name and resource attributes.
func TestTracingSettings(t *testing.T) {
	rc := telemetrytest.NewReceiver(t)
	var logs bytes.Buffer
	tr, err := NewTracing(telemetrytest.Env(map[string]string{
		"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": rc.URL + "/v1/traces",
		"OTEL_EXPORTER_OTLP_ENDPOINT":        "http://127.0.0.1:1",
		"OTEL_EXPORTER_OTLP_HEADERS":         "x-api-key=s3cr%3Det, x-team = gw",
		"OTEL_SERVICE_NAME":                  "gw-test",
		"OTEL_RESOURCE_ATTRIBUTES":           "deployment.environment=test,service.name=overridden",
		"OTEL_TRACES_SAMPLER":                "traceidratio",
		"OTEL_TRACES_SAMPLER_ARG":            "1",
	}), slog.New(slog.NewTextHandler(&logs, nil)))
	require.NoError(t, err)
	assert.Contains(t, logs.String(), "tracing on")
	assert.Contains(t, logs.String(), rc.URL+"/v1/traces")
	assert.Contains(t, logs.String(), "x-api-key", "header names are logged")
	assert.NotContains(t, logs.String(), "s3cr", "header values are not")

	_, span := tr.tracer.Start(context.Background(), "probe")
	span.End()
	telemetrytest.Flush(t, tr)

	telemetrytest.One(t, rc.Spans(), "probe")
	headers, paths, resources := rc.Headers(), rc.Paths(), rc.Resources()
	require.NotEmpty(t, headers)
	assert.Equal(t, "/v1/traces", paths[0])
	assert.Equal(t, "s3cr=et", headers[0].Get("X-Api-Key"))
	assert.Equal(t, "gw", headers[0].Get("X-Team"))
	assert.Equal(t, "application/x-protobuf", headers[0].Get("Content-Type"))
	res := map[string]string{}
	for _, kv := range resources[0] {
		res[kv.GetKey()] = kv.GetValue().GetStringValue()
	}
	assert.Equal(t, "gw-test", res["service.name"], "OTEL_SERVICE_NAME wins")
	assert.Equal(t, "test", res["deployment.environment"])
}

// TestTracingDefaultServiceName: without OTEL_SERVICE_NAME the spans come
// from engage-gateway, and OTEL_EXPORTER_OTLP_ENDPOINT gets /v1/traces.
func TestTracingDefaultServiceName(t *testing.T) {
	rc := telemetrytest.NewReceiver(t)
	tr := telemetrytest.On(t, rc, nil, NewTracing)
	_, span := tr.tracer.Start(context.Background(), "probe")
	span.End()
	telemetrytest.Flush(t, tr)
	telemetrytest.One(t, rc.Spans(), "probe")
	paths, resources := rc.Paths(), rc.Resources()
	assert.Equal(t, "/v1/traces", paths[0])
	var service string
	for _, kv := range resources[0] {
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
		s, err := newSampler(telemetrytest.Env(map[string]string{"OTEL_TRACES_SAMPLER": tc.sampler, "OTEL_TRACES_SAMPLER_ARG": tc.arg}))
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
			tr, err := NewTracing(telemetrytest.Env(vars), slog.New(slog.DiscardHandler))
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
