package telemetry

// Optional OpenTelemetry tracing: a server span per HTTP request, a span per
// GraphQL operation, and a client span per call to Engage, exported over
// OTLP/HTTP to a collector. It is on only when an OTLP endpoint is
// configured; off, every hook below hands back what it was given.
//
// Nothing here touches OpenTelemetry's globals (tracer provider,
// propagator): the provider and propagators are fields passed explicitly to
// otelhttp and to the GraphQL extension, so tests can run several setups in
// one process and no package registers anything behind main's back.
//
// Secrets stay out of spans: otelhttp records no request headers (so never
// the subscription key or the bearer token), the client spans' url.full is
// recorded without its query string, and request bodies (the token
// request's password) are never recorded.

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/graphiql"
	"github.com/engagegql/gateway/webhook"
	"github.com/google/uuid"
	"github.com/vektah/gqlparser/v2/ast"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/codes"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.43.0"
	"go.opentelemetry.io/otel/trace"
)

// defaultServiceName names the gateway's spans unless OTEL_SERVICE_NAME says
// otherwise.
const defaultServiceName = "engage-gateway"

// tracerName is the instrumentation scope of the spans this package makes
// (otelhttp names its own).
const tracerName = "github.com/engagegql/gateway"

// maxStatusMessage bounds the error message copied into a span's status.
const maxStatusMessage = 256

// Tracing is the process's OpenTelemetry setup; the zero value (Tracing off)
// is valid and every method is a no-op passthrough then, as on a nil
// *Tracing.
type Tracing struct {
	// tp is nil when tracing is off.
	tp     *sdktrace.TracerProvider
	tracer trace.Tracer
	// incoming reads a caller's traceparent and baggage (W3C).
	incoming propagation.TextMapPropagator
	// outgoing writes the traceparent on calls to Engage. Baggage is not
	// forwarded: it comes from the gateway's callers, and Engage is a third
	// party that has no use for it.
	outgoing propagation.TextMapPropagator
}

// On reports whether spans are made at all.
func (t *Tracing) On() bool { return t != nil && t.tp != nil }

// envLookup reads the first of names that is set, and says which it was so
// an error can name it.
func envLookup(getenv func(string) string, names ...string) (name, value string) {
	for _, n := range names {
		if v := strings.TrimSpace(getenv(n)); v != "" {
			return n, v
		}
	}
	return names[len(names)-1], ""
}

// NewTracing turns tracing on when OTEL_EXPORTER_OTLP_TRACES_ENDPOINT (the
// traces URL, used as it is) or OTEL_EXPORTER_OTLP_ENDPOINT (the collector's
// base URL, to which /v1/traces is added) is set, and OTEL_SDK_DISABLED is
// not "true". Spans go over OTLP/HTTP in protobuf through a batch span
// processor. The variables are read through getenv (the exporter's other
// settings, such as OTEL_EXPORTER_OTLP_TIMEOUT, OTEL_EXPORTER_OTLP_COMPRESSION
// and the certificates, and the batch processor's OTEL_BSP_*, are left to the
// SDK, which reads them from the process environment). A bad value is an
// error naming its variable (never echoing a header value).
func NewTracing(getenv func(string) string, log *slog.Logger) (*Tracing, error) {
	if strings.EqualFold(strings.TrimSpace(getenv("OTEL_SDK_DISABLED")), "true") {
		return &Tracing{}, nil
	}
	endpointVar, endpoint := envLookup(getenv, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
	if endpoint == "" {
		return &Tracing{}, nil
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		// The value is not repeated: it may carry credentials.
		return nil, fmt.Errorf("%s: want an http:// or https:// URL of an OTLP/HTTP collector", endpointVar)
	}
	u.RawQuery, u.Fragment = "", ""
	if endpointVar == "OTEL_EXPORTER_OTLP_ENDPOINT" {
		u.Path = strings.TrimSuffix(u.Path, "/") + "/v1/traces"
		u.RawPath = ""
	}

	if name, v := envLookup(getenv, "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_PROTOCOL"); v != "" && v != "http/protobuf" {
		return nil, fmt.Errorf("%s: %q is not supported; the gateway exports over http/protobuf", name, v)
	}
	opts := []otlptracehttp.Option{otlptracehttp.WithEndpointURL(u.String())}
	if name, v := envLookup(getenv, "OTEL_EXPORTER_OTLP_TRACES_INSECURE", "OTEL_EXPORTER_OTLP_INSECURE"); v != "" {
		insecure, err := strconv.ParseBool(v)
		if err != nil {
			return nil, fmt.Errorf("%s: want true or false, not %q", name, v)
		}
		if insecure {
			// As the SDK's own reading of the variable: plain HTTP, even to
			// an https:// endpoint.
			opts = append(opts, otlptracehttp.WithInsecure())
			u.Scheme = "http"
		}
	}
	headersVar, rawHeaders := envLookup(getenv, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
	headers, err := parseKeyValues(headersVar, rawHeaders)
	if err != nil {
		return nil, err
	}
	// Always set, even empty, so the exporter does not read headers from the
	// process environment behind getenv's back.
	opts = append(opts, otlptracehttp.WithHeaders(headers))

	sampler, err := newSampler(getenv)
	if err != nil {
		return nil, err
	}
	_, service := envLookup(getenv, "OTEL_SERVICE_NAME")
	if service == "" {
		service = defaultServiceName
	}
	resAttrs, err := parseKeyValues("OTEL_RESOURCE_ATTRIBUTES", getenv("OTEL_RESOURCE_ATTRIBUTES"))
	if err != nil {
		return nil, err
	}
	attrs := make([]attribute.KeyValue, 0, len(resAttrs)+1)
	for k, v := range resAttrs {
		attrs = append(attrs, attribute.String(k, v))
	}
	// After OTEL_RESOURCE_ATTRIBUTES: OTEL_SERVICE_NAME wins over a
	// service.name in it, as the specification says.
	attrs = append(attrs, semconv.ServiceName(service))
	res, err := resource.New(context.Background(), resource.WithTelemetrySDK(), resource.WithAttributes(attrs...))
	if err != nil {
		return nil, fmt.Errorf("tracing resource: %w", err)
	}

	// New only builds the client; nothing is sent until the first batch.
	exp, err := otlptracehttp.New(context.Background(), opts...)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", endpointVar, err)
	}
	tp := sdktrace.NewTracerProvider(
		sdktrace.WithBatcher(&loggedExporter{SpanExporter: exp, log: log}),
		sdktrace.WithResource(res),
		sdktrace.WithSampler(sampler),
	)
	headerNames := make([]string, 0, len(headers))
	for k := range headers {
		headerNames = append(headerNames, k)
	}
	slices.Sort(headerNames)
	// Header names only: their values often hold the collector's API key.
	log.Info("tracing on: exporting spans over OTLP/HTTP", "endpoint", u.Redacted(), "service", service,
		"sampler", sampler.Description(), "headers", headerNames)
	return &Tracing{
		tp:       tp,
		tracer:   tp.Tracer(tracerName),
		incoming: propagation.NewCompositeTextMapPropagator(propagation.TraceContext{}, propagation.Baggage{}),
		outgoing: propagation.TraceContext{},
	}, nil
}

// newSampler reads OTEL_TRACES_SAMPLER and OTEL_TRACES_SAMPLER_ARG (the
// ratio, 1 when unset, read only by the two ratio samplers). The default
// samples every trace a caller did not decide against.
func newSampler(getenv func(string) string) (sdktrace.Sampler, error) {
	ratio := func() (float64, error) {
		v := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER_ARG"))
		if v == "" {
			return 1, nil
		}
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || r < 0 || r > 1 {
			return 0, fmt.Errorf("OTEL_TRACES_SAMPLER_ARG: want a ratio from 0 to 1, not %q", v)
		}
		return r, nil
	}
	switch name := strings.TrimSpace(getenv("OTEL_TRACES_SAMPLER")); name {
	case "", "parentbased_always_on":
		return sdktrace.ParentBased(sdktrace.AlwaysSample()), nil
	case "parentbased_always_off":
		return sdktrace.ParentBased(sdktrace.NeverSample()), nil
	case "always_on":
		return sdktrace.AlwaysSample(), nil
	case "always_off":
		return sdktrace.NeverSample(), nil
	case "traceidratio", "parentbased_traceidratio":
		r, err := ratio()
		if err != nil {
			return nil, err
		}
		if name == "traceidratio" {
			return sdktrace.TraceIDRatioBased(r), nil
		}
		return sdktrace.ParentBased(sdktrace.TraceIDRatioBased(r)), nil
	default:
		return nil, fmt.Errorf("OTEL_TRACES_SAMPLER: unknown sampler %q (want always_on, always_off, traceidratio, or parentbased_ followed by one of them)", name)
	}
}

// parseKeyValues reads the "k=v,k2=v2" lists of OTEL_EXPORTER_OTLP_HEADERS
// and OTEL_RESOURCE_ATTRIBUTES, whose values are percent-encoded. Errors
// name the variable and the entry's position, never its text (a header's
// value may be an API key).
func parseKeyValues(name, v string) (map[string]string, error) {
	out := map[string]string{}
	if strings.TrimSpace(v) == "" {
		return out, nil
	}
	for i, entry := range strings.Split(v, ",") {
		if strings.TrimSpace(entry) == "" {
			continue
		}
		k, val, ok := strings.Cut(entry, "=")
		k = strings.TrimSpace(k)
		if !ok || k == "" || strings.ContainsAny(k, " \t") {
			return nil, fmt.Errorf("%s: entry %d is not key=value", name, i+1)
		}
		decoded, err := url.PathUnescape(strings.TrimSpace(val))
		if err != nil {
			return nil, fmt.Errorf("%s: the value of %s is not percent-encoded correctly", name, k)
		}
		out[k] = decoded
	}
	return out, nil
}

// loggedExporter reports export failures through the gateway's logger, once
// when exports start failing and once when they recover, instead of through
// OpenTelemetry's global error handler (a line on stderr for every failed
// batch). The spans of a failed batch are dropped; the exporter has already
// retried them.
type loggedExporter struct {
	sdktrace.SpanExporter
	log     *slog.Logger
	failing atomic.Bool
}

func (e *loggedExporter) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	if err := e.SpanExporter.ExportSpans(ctx, spans); err != nil {
		if !e.failing.Swap(true) {
			e.log.Warn("tracing: cannot export spans to the collector; dropping them until it answers", "err", err)
		}
		return nil
	}
	if e.failing.Swap(false) {
		e.log.Info("tracing: the collector answers again")
	}
	return nil
}

// Shutdown flushes the spans not yet exported and stops the exporter, within
// ctx.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.On() {
		return nil
	}
	if err := t.tp.Shutdown(ctx); err != nil {
		return fmt.Errorf("tracing shutdown: %w", err)
	}
	return nil
}

// Handler wraps the whole HTTP surface: a server span per request,
// continuing a caller's trace (W3C traceparent). Probes and scrapes
// (/healthz, /readyz, /metrics) get none: they would drown the traces that
// matter. A websocket's or SSE stream's span lasts as long as the
// connection.
func (t *Tracing) Handler(next http.Handler) http.Handler {
	if !t.On() {
		return next
	}
	return otelhttp.NewHandler(next, "",
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(t.incoming),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithFilter(func(r *http.Request) bool {
			switch r.URL.Path {
			case "/healthz", "/readyz", "/metrics":
				return false
			}
			return true
		}),
		otelhttp.WithSpanNameFormatter(serverSpanName),
	)
}

// serverSpanName names a server span "<METHOD> <route>". The mux's pattern
// is not visible here (the request-id middleware gives the mux a copy of the
// request), so the route comes from the path, and only from the routes the
// gateway serves: a name must not carry whatever path a client sends.
func serverSpanName(_ string, r *http.Request) string {
	method := spanMethod(r.Method)
	if r.Pattern != "" {
		route := r.Pattern
		if _, after, ok := strings.Cut(route, " "); ok {
			route = after
		}
		return method + " " + route
	}
	p := r.URL.Path
	switch {
	case p == "/graphql", p == "/":
		return method + " " + p
	case strings.HasPrefix(p, webhook.MountPath):
		return method + " " + webhook.MountPath
	case strings.HasPrefix(p, graphiql.AssetsPath):
		return method + " " + graphiql.AssetsPath
	}
	return method
}

// spanMethod bounds a request's method in span names, as otelhttp does.
func spanMethod(m string) string {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodPut, http.MethodPatch,
		http.MethodDelete, http.MethodConnect, http.MethodOptions, http.MethodTrace:
		return m
	}
	return "HTTP"
}

// Transport wraps the upstream client's Transport: a client span per call to
// Engage (and per token request), a child of the span of the operation that
// made it, named "engage <METHOD> <path>" with ids in the path replaced by
// {id}, so names stay few. The traceparent goes along to Engage.
func (t *Tracing) Transport(base http.RoundTripper) http.RoundTripper {
	if !t.On() {
		return base
	}
	if base == nil {
		base = http.DefaultTransport
	}
	spans := otelhttp.NewTransport(withQuery{base},
		otelhttp.WithTracerProvider(t.tp),
		otelhttp.WithPropagators(t.outgoing),
		otelhttp.WithMeterProvider(metricnoop.NewMeterProvider()),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string {
			return "engage " + spanMethod(r.Method) + " " + pathTemplate(r.URL.Path)
		}),
	)
	return withoutQuery{spans}
}

// queryKey carries a request's query string past otelhttp, which would
// record it in the span's url.full.
type queryKey struct{}

// withoutQuery hands next the request without its query string, kept in the
// context for withQuery.
type withoutQuery struct{ next http.RoundTripper }

func (rt withoutQuery) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.RawQuery == "" {
		return rt.next.RoundTrip(r)
	}
	r = r.Clone(context.WithValue(r.Context(), queryKey{}, r.URL.RawQuery))
	r.URL.RawQuery = ""
	return rt.next.RoundTrip(r)
}

// withQuery puts back the query string withoutQuery took off, so the request
// that goes out is the caller's.
type withQuery struct{ next http.RoundTripper }

func (rt withQuery) RoundTrip(r *http.Request) (*http.Response, error) {
	q, ok := r.Context().Value(queryKey{}).(string)
	if !ok {
		return rt.next.RoundTrip(r)
	}
	r = r.Clone(r.Context())
	r.URL.RawQuery = q
	return rt.next.RoundTrip(r)
}

// pathTemplate replaces the ids in a URL path (numbers and UUIDs) with {id}.
func pathTemplate(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if s == "" {
			continue
		}
		if strings.Trim(s, "0123456789") == "" || uuid.Validate(s) == nil {
			segs[i] = "{id}"
		}
	}
	return strings.Join(segs, "/")
}

// Extension returns the gqlgen Extension that makes one span per GraphQL
// operation, or nil when tracing is off.
func (t *Tracing) Extension() graphql.HandlerExtension {
	if !t.On() {
		return nil
	}
	return graphqlTracing{tracer: t.tracer}
}

// graphqlTracing makes one span per GraphQL operation, named
// "graphql.<type> <name>" ("graphql.query" when unnamed), as the child of
// the HTTP request's span; the upstream calls its resolvers make are its
// children. Its attributes are graphql.operation.type and
// graphql.operation.name (at most maxOperationName bytes); a response with
// errors sets the status Error, graphql.error.code (the first error's
// extensions.code) and graphql.error.count.
//
// Operations rejected before execution (unparsable, invalid, over the
// limits) get their span around their one response ("graphql.invalid" when
// not even the operation could be told).
//
// A subscription gets a span for its setup (until its resolver has
// subscribed) and then one per payload, "graphql.subscription.payload
// <name>", each the root of its own trace linked to the setup's span (a
// subscription lives for hours; one trace would never end). A payload's span
// starts when its fields start resolving, not while the stream waits for the
// event, so its duration is the work. An error of the setup reaches the
// client as the first payload and is recorded there.
type graphqlTracing struct{ tracer trace.Tracer }

var (
	_ graphql.HandlerExtension     = graphqlTracing{}
	_ graphql.OperationInterceptor = graphqlTracing{}
	_ graphql.ResponseInterceptor  = graphqlTracing{}
	_ graphql.FieldInterceptor     = graphqlTracing{}
)

// tracedKey marks a context whose operation InterceptOperation traces.
type tracedKey struct{}

// payloadKey holds the *payloadSpan of the subscription payload being
// resolved.
type payloadKey struct{}

func (graphqlTracing) ExtensionName() string                   { return "Tracing" }
func (graphqlTracing) Validate(graphql.ExecutableSchema) error { return nil }

// operationSpan names ctx's operation's span and gives its attributes; ok is
// false when there is no operation to name.
func operationSpan(ctx context.Context) (name string, attrs []attribute.KeyValue, sub, ok bool) {
	if !graphql.HasOperationContext(ctx) {
		return "graphql.invalid", nil, false, false
	}
	op := graphql.GetOperationContext(ctx).Operation
	if op == nil {
		return "graphql.invalid", nil, false, false
	}
	typ := string(op.Operation)
	name = "graphql." + typ
	attrs = []attribute.KeyValue{attribute.String("graphql.operation.type", typ)}
	if op.Name != "" {
		n := op.Name
		if len(n) > MaxOperationName {
			n = n[:MaxOperationName]
		}
		name += " " + n
		attrs = append(attrs, attribute.String("graphql.operation.name", n))
	}
	return name, attrs, op.Operation == ast.Subscription, true
}

// InterceptOperation traces an executed operation: a query's or mutation's
// span ends with its response; a subscription's setup span ends once it has
// subscribed, and each payload gets its own span.
func (g graphqlTracing) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	name, attrs, sub, _ := operationSpan(ctx)
	ctx, span := g.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
	responses := next(context.WithValue(ctx, tracedKey{}, true))
	if !sub {
		// A query with @defer has several responses: its span ends with
		// the last, marked with the errors of the first that had any.
		ended := false
		var failed *graphql.Response
		return func(rctx context.Context) *graphql.Response {
			resp := responses(rctx)
			if ended {
				return resp
			}
			if resp == nil {
				// The executor answers nothing when the request ended first.
				span.SetStatus(codes.Error, "no response: the request ended first")
			} else if failed == nil && len(resp.Errors) > 0 {
				failed = resp
			}
			if resp == nil || resp.HasNext == nil || !*resp.HasNext {
				ended = true
				endSpan(span, failed)
			}
			return resp
		}
	}
	span.End()
	p := payloadTemplate{
		tracer: g.tracer,
		name:   strings.Replace(name, "graphql.subscription", "graphql.subscription.payload", 1),
		attrs:  attrs,
		link:   trace.LinkFromContext(ctx),
	}
	return func(rctx context.Context) *graphql.Response {
		ps := &payloadSpan{payloadTemplate: p}
		resp := responses(context.WithValue(rctx, payloadKey{}, ps))
		ps.end(resp)
		return resp
	}
}

// InterceptResponse traces the operations rejected before execution; the
// executed ones pass through (InterceptOperation traces them).
func (g graphqlTracing) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if ctx.Value(tracedKey{}) != nil {
		return next(ctx)
	}
	name, attrs, _, _ := operationSpan(ctx)
	ctx, span := g.tracer.Start(ctx, name, trace.WithAttributes(attrs...))
	resp := next(ctx)
	endSpan(span, resp)
	return resp
}

// InterceptField puts a subscription payload's span into the context of the
// fields that resolve it, starting the span with the first of them.
func (g graphqlTracing) InterceptField(ctx context.Context, next graphql.Resolver) (any, error) {
	if ps, ok := ctx.Value(payloadKey{}).(*payloadSpan); ok {
		ctx = ps.context(ctx)
	}
	return next(ctx)
}

// payloadTemplate is what every payload span of one subscription shares.
type payloadTemplate struct {
	tracer trace.Tracer
	name   string
	attrs  []attribute.KeyValue
	link   trace.Link
}

// payloadSpan is the span of one subscription payload, started by the first
// field that resolves (the event has arrived by then) and ended with the
// payload. Fields resolve concurrently, hence the lock.
type payloadSpan struct {
	payloadTemplate
	mu    sync.Mutex
	span  trace.Span
	ended bool
}

func (p *payloadSpan) start() {
	_, p.span = p.tracer.Start(context.Background(), p.name, trace.WithNewRoot(),
		trace.WithLinks(p.link), trace.WithAttributes(p.attrs...))
}

// context returns ctx with the payload's span.
func (p *payloadSpan) context(ctx context.Context) context.Context {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ended {
		return ctx
	}
	if p.span == nil {
		p.start()
	}
	// By id: a span sampled out is a value that == cannot compare.
	if trace.SpanContextFromContext(ctx).SpanID() == p.span.SpanContext().SpanID() && p.span.SpanContext().IsValid() {
		return ctx
	}
	return trace.ContextWithSpan(ctx, p.span)
}

// end ends the payload's span with resp. A payload that resolved no field
// still gets a span when it carries something (the errors of a failed
// setup, say); the end of the stream (nil) gets none.
func (p *payloadSpan) end(resp *graphql.Response) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ended = true
	if p.span == nil {
		if resp == nil {
			return
		}
		p.start()
	}
	endSpan(p.span, resp)
}

// endSpan records resp's errors on span and ends it.
func endSpan(span trace.Span, resp *graphql.Response) {
	if resp != nil && len(resp.Errors) > 0 {
		first := resp.Errors[0]
		span.SetAttributes(attribute.Int("graphql.error.count", len(resp.Errors)))
		if code, ok := first.Extensions["code"].(string); ok && code != "" {
			span.SetAttributes(attribute.String("graphql.error.code", code))
		}
		msg := first.Message
		if len(msg) > maxStatusMessage {
			msg = strings.ToValidUTF8(msg[:maxStatusMessage], "")
		}
		span.SetStatus(codes.Error, msg)
	}
	span.End()
}
