package server

// Tracing end to end: the real gateway on an engagesim, its spans exported
// over OTLP/HTTP to a receiver in the test that decodes them as a collector
// would.

import (
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/pubsub"
	"github.com/engagegql/gateway/telemetry"
	"github.com/engagegql/gateway/telemetry/telemetrytest"
	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	tracepb "go.opentelemetry.io/proto/otlp/trace/v1"
)

// newTracedStack is a gateway on an engagesim whose GraphQL operations and
// upstream calls are traced by tr; edit (nil for none) may change its deps.
func newTracedStack(t *testing.T, tr *telemetry.Tracing, edit func(*serverDeps)) *stack {
	t.Helper()
	return newStackWithDeps(t, engagesim.Config{}, loader.Options{}, func(d *serverDeps) {
		d.observe = tr.Extension()
		if edit != nil {
			edit(d)
		}
	}, func(c *engage.Config) {
		c.HTTPClient = &http.Client{Transport: tr.Transport(http.DefaultTransport)}
	})
}

// assertNoSecrets checks that no span carries the subscription keys, the
// password or a bearer token, whether as an attribute or anywhere in what
// was exported.
func assertNoSecrets(t *testing.T, rc *telemetrytest.Receiver) {
	t.Helper()
	raw := rc.Raw()
	require.NotEmpty(t, raw)
	for product, key := range engagesim.DefaultKeys() {
		assert.NotContains(t, string(raw), key, "the subscription key of %s was exported", product)
	}
	assert.NotContains(t, string(raw), engagesim.DefaultPassword)
	assert.NotContains(t, string(raw), "Bearer ")
	for _, s := range rc.Spans() {
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
	rc := telemetrytest.NewReceiver(t)
	tr := telemetrytest.On(t, rc, nil, telemetry.NewTracing)
	s := newTracedStack(t, tr, nil)

	resp := s.query(t, `query Countries { countries { name } }`, nil)
	require.Empty(t, resp.Errors)
	telemetrytest.Flush(t, tr)

	spans := rc.Spans()
	op := telemetrytest.One(t, spans, "graphql.query Countries")
	assert.Equal(t, "query", telemetrytest.Attr(op, "graphql.operation.type"))
	assert.Equal(t, "Countries", telemetrytest.Attr(op, "graphql.operation.name"))
	assert.Equal(t, tracepb.Status_STATUS_CODE_UNSET, op.GetStatus().GetCode())
	assert.Empty(t, op.GetParentSpanId(), "nothing wraps the gateway here, so the operation starts the trace")

	call := telemetrytest.One(t, spans, "engage GET /"+engagesim.DefaultTenant+"/api/V1/countries")
	assert.True(t, telemetrytest.IsChild(call, op), "the upstream call is a child of the operation's span")
	assert.Equal(t, tracepb.Span_SPAN_KIND_CLIENT, call.GetKind())
	assert.Equal(t, "200", telemetrytest.Attr(call, "http.response.status_code"))
	assert.True(t, strings.HasSuffix(telemetrytest.Attr(call, "url.full"), "/api/V1/countries"), "url.full %s", telemetrytest.Attr(call, "url.full"))

	// The first call logs in; the token request is traced too, in the
	// same trace.
	token := telemetrytest.One(t, spans, "engage POST /tokenproviderapi/token")
	assert.Equal(t, op.GetTraceId(), token.GetTraceId())

	assertNoSecrets(t, rc)
}

func TestTracingDeferredQuery(t *testing.T) {
	rc := telemetrytest.NewReceiver(t)
	tr := telemetrytest.On(t, rc, nil, telemetry.NewTracing)
	s := newTracedStack(t, tr, nil)
	resp := postDeferred(t, t.Context(), s.gwURL, `query Deferred { locations { id ... @defer { rooms { id } } } }`, nil)
	parts := readMultipart(t, resp)
	resp.Body.Close()
	require.Greater(t, len(parts), 2)
	telemetrytest.Flush(t, tr)

	// One span for the operation, ending with its last part: the deferred
	// fragments' upstream calls are its children and end within it.
	spans := rc.Spans()
	op := telemetrytest.One(t, spans, "graphql.query Deferred")
	rooms := telemetrytest.Named(spans, "engage GET /"+engagesim.DefaultTenant+"/api/V1/rooms")
	require.NotEmpty(t, rooms)
	for _, call := range rooms {
		assert.True(t, telemetrytest.IsChild(call, op), "a deferred fragment's call is a child of the operation")
		assert.LessOrEqual(t, call.GetEndTimeUnixNano(), op.GetEndTimeUnixNano(), "and ends before the operation's span")
	}
}

// TestTracingRecordsErrors: an executed operation whose response has errors
// and one rejected before execution both end with status Error and the
// first error's code.
func TestTracingRecordsErrors(t *testing.T) {
	rc := telemetrytest.NewReceiver(t)
	tr := telemetrytest.On(t, rc, nil, telemetry.NewTracing)
	s := newTracedStack(t, tr, nil)

	resp := s.query(t, `query Bad { location(id: "not-an-id") { id } }`, nil)
	require.NotEmpty(t, resp.Errors)
	resp = s.query(t, `query Invalid { noSuchField }`, nil)
	require.NotEmpty(t, resp.Errors)
	resp = s.query(t, `query {`, nil)
	require.NotEmpty(t, resp.Errors)
	resp = s.query(t, `{ countries { name } }`, nil)
	require.Empty(t, resp.Errors)
	telemetrytest.Flush(t, tr)

	spans := rc.Spans()
	bad := telemetrytest.One(t, spans, "graphql.query Bad")
	// gqlgen keeps no operation of a document that does not parse or
	// validate, so those are only "invalid".
	invalid := telemetrytest.Named(spans, "graphql.invalid")
	require.Len(t, invalid, 2)
	var codes []string
	for _, sp := range append(invalid, bad) {
		assert.Equal(t, tracepb.Status_STATUS_CODE_ERROR, sp.GetStatus().GetCode(), sp.GetName())
		assert.NotEmpty(t, sp.GetStatus().GetMessage(), sp.GetName())
		assert.Equal(t, "1", telemetrytest.Attr(sp, "graphql.error.count"), sp.GetName())
		codes = append(codes, telemetrytest.Attr(sp, "graphql.error.code"))
	}
	assert.Equal(t, "BAD_USER_INPUT", telemetrytest.Attr(bad, "graphql.error.code"))
	assert.ElementsMatch(t, []string{"GRAPHQL_VALIDATION_FAILED", "GRAPHQL_PARSE_FAILED", "BAD_USER_INPUT"}, codes)
	anon := telemetrytest.One(t, spans, "graphql.query")
	assert.Equal(t, "", telemetrytest.Attr(anon, "graphql.operation.name"), "an unnamed operation has no name")
	assert.Equal(t, tracepb.Status_STATUS_CODE_UNSET, anon.GetStatus().GetCode())
}

// TestTracingOperationNameBounded: a client-chosen operation name is cut to
// maxOperationName bytes in the span's name and attribute.
func TestTracingOperationNameBounded(t *testing.T) {
	rc := telemetrytest.NewReceiver(t)
	tr := telemetrytest.On(t, rc, nil, telemetry.NewTracing)
	s := newTracedStack(t, tr, nil)

	long := "Q" + strings.Repeat("x", 200)
	resp := s.query(t, `query `+long+` { countries { name } }`, nil)
	require.Empty(t, resp.Errors)
	telemetrytest.Flush(t, tr)

	sp := telemetrytest.One(t, rc.Spans(), "graphql.query "+long[:telemetry.MaxOperationName])
	assert.Equal(t, long[:telemetry.MaxOperationName], telemetrytest.Attr(sp, "graphql.operation.name"))
}

// TestTracingSubscription: a subscription over SSE gets a span for its
// setup, and its payload one of its own, linked to the setup, with the
// upstream calls that resolve the payload beneath it. The end of the stream
// makes no span.
func TestTracingSubscription(t *testing.T) {
	rc := telemetrytest.NewReceiver(t)
	tr := telemetrytest.On(t, rc, nil, telemetry.NewTracing)
	subscribeOnce(t, tr)
	telemetrytest.Flush(t, tr)

	spans := rc.Spans()
	setup := telemetrytest.One(t, spans, "graphql.subscription Bookings")
	assert.Equal(t, "subscription", telemetrytest.Attr(setup, "graphql.operation.type"))
	payload := telemetrytest.One(t, spans, "graphql.subscription.payload Bookings")
	assert.Empty(t, payload.GetParentSpanId(), "a payload starts its own trace")
	assert.NotEqual(t, setup.GetTraceId(), payload.GetTraceId())
	require.Len(t, payload.GetLinks(), 1)
	assert.Equal(t, setup.GetTraceId(), payload.GetLinks()[0].GetTraceId())
	assert.Equal(t, setup.GetSpanId(), payload.GetLinks()[0].GetSpanId())
	assert.Equal(t, tracepb.Status_STATUS_CODE_UNSET, payload.GetStatus().GetCode())

	var beneath []string
	for _, s := range spans {
		if telemetrytest.IsChild(s, payload) {
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
	rc := telemetrytest.NewReceiver(t)
	tr := telemetrytest.On(t, rc, map[string]string{"OTEL_TRACES_SAMPLER": "always_off"}, telemetry.NewTracing)
	subscribeOnce(t, tr)
	telemetrytest.Flush(t, tr)
	assert.Empty(t, rc.Spans())
}

// subscribeOnce subscribes to a room's bookings over SSE on a gateway traced
// by tr, publishes one change, reads its event and leaves.
func subscribeOnce(t *testing.T, tr *telemetry.Tracing) {
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

// TestTracingWiredIntoTheGateway runs a whole gateway configured by
// environment only and finds its spans at the collector: the HTTP request,
// the operation under it, and the Engage call under that.
func TestTracingWiredIntoTheGateway(t *testing.T) {
	t.Parallel()
	rc := telemetrytest.NewReceiver(t)
	g := startGateway(t, map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": rc.URL, "OTEL_SERVICE_NAME": "gateway-under-test"})
	r := g.query(t, `query Regions { regions { name } }`, nil)
	require.Empty(t, r.Errors)
	var spans []*tracepb.Span
	// The batch processor exports every few seconds.
	require.Eventually(t, func() bool {
		spans = rc.Spans()
		return len(telemetrytest.Named(spans, "graphql.query Regions")) == 1 && len(telemetrytest.Named(spans, "POST /graphql")) >= 1
	}, 20*time.Second, 50*time.Millisecond, "spans so far: %v", telemetrytest.SpanNames(rc.Spans()))
	op := telemetrytest.One(t, spans, "graphql.query Regions")
	var upstream *tracepb.Span
	for _, s := range spans {
		if telemetrytest.IsChild(s, op) && strings.HasPrefix(s.Name, "engage GET ") && strings.HasSuffix(s.Name, "/regions") {
			upstream = s
		}
	}
	require.NotNil(t, upstream, "the Engage call is a child of the operation: %v", telemetrytest.SpanNames(spans))
	assertNoSecrets(t, rc)
	assert.Contains(t, g.logs.String(), `"trace_id":"`+telemetrytest.HexID(op.TraceId)+`"`, "the request's log line leads to its trace")
}
