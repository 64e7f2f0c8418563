package server

// The abuse limits over real HTTP: each rejects with its code and a message
// naming the limit, before any upstream call; the cost model predicts the
// representative operations' real call counts from above, within a factor of
// two; and the HTTP-level limits (body size, CORS, websocket origins) and the
// operation timeout behave as a browser and a client would see them.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/engagegql/gateway/auth/httpauth"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/fleet"
	"github.com/engagegql/gateway/fleet/budget"
	"github.com/engagegql/gateway/graph"
	"github.com/engagegql/gateway/guard"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/pubsub"
	"github.com/engagegql/gateway/socket"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/validator"
)

// newLimitStack is the demo tenant behind a gateway with the given limits,
// its session token already fetched so that counting calls starts at zero.
func newLimitStack(t *testing.T, edit func(*serverDeps)) *stack {
	t.Helper()
	s := newStackWithDeps(t, engagesim.Config{}, loader.Options{}, edit)
	r := s.query(t, `{ countries { name } }`, nil)
	require.Empty(t, r.Errors, "warm-up")
	return s
}

// limitsPathological asks for every location's rooms' bookings over 90 days
// with their visitors: thousands of upstream calls.
const limitsPathological = `{ locations { name rooms { name bookings(from: "2026-01-01T00:00:00Z", to: "2026-04-01T00:00:00Z") { title visitors { firstName } } } } }`

func TestLimitsRejectBeforeUpstream(t *testing.T) {
	tests := []struct {
		name     string
		limits   guard.Limits
		query    string
		wantCode string
		wantMsg  string
	}{
		{"depth", guard.Limits{MaxDepth: 3}, `{ locations { rooms { floor { number } } } }`,
			guard.CodeTooDeep, "query depth 4 exceeds the limit of 3"},
		{"depth through fragments", guard.Limits{MaxDepth: 3}, `{ locations { ...L } } fragment L on Location { rooms { ...R } } fragment R on Room { floor { number } }`,
			guard.CodeTooDeep, "query depth 4 exceeds the limit of 3"},
		{"aliases", guard.Limits{MaxAliases: 2}, `{ a: countries { name } b: countries { name } c: countries { name } }`,
			guard.CodeTooManyAliases, "3 aliases exceed the limit of 2"},
		{"cost", guard.Limits{MaxCost: 20}, `{ locations { name rooms { name bookings { title } } } }`,
			guard.CodeTooCostly, "query cost 281 (predicted upstream calls) exceeds the limit of 20"},
		{"cost under the default limits", guard.Limits{}, limitsPathological,
			guard.CodeTooCostly, "exceeds the limit of 300"},
		{"introspection off", guard.Limits{DisableIntrospection: true}, `{ __schema { queryType { name } } }`,
			guard.CodeIntrospectionDisabled, "introspection (__schema and __type) is disabled"},
		{"introspection off, __type", guard.Limits{DisableIntrospection: true}, `{ __type(name: "Room") { name } }`,
			guard.CodeIntrospectionDisabled, "introspection (__schema and __type) is disabled"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newLimitStack(t, func(d *serverDeps) { d.limits = tt.limits })
			s.resetStats(t)
			r := s.query(t, tt.query, nil)
			require.Len(t, r.Errors, 1)
			assert.Equal(t, tt.wantCode, r.Errors[0].Extensions["code"])
			assert.Contains(t, r.Errors[0].Message, tt.wantMsg)
			assert.JSONEq(t, "null", string(orNull(r.Data)), "nothing was resolved")
			st := s.stats(t)
			assert.Zero(t, st.TotalCalls, "no upstream call")
			assert.Zero(t, st.TokenRequests, "no token request")
		})
	}
}

func orNull(raw json.RawMessage) json.RawMessage {
	if len(raw) == 0 {
		return json.RawMessage("null")
	}
	return raw
}

func TestLimitsAllowOrdinaryOperations(t *testing.T) {
	// With introspection off, ordinary operations (and __typename) still run;
	// with it on (the default), GraphiQL's deep introspection query passes
	// the depth limit.
	s := newLimitStack(t, func(d *serverDeps) { d.limits = guard.Limits{DisableIntrospection: true} })
	r := s.query(t, `{ __typename locations { name rooms { name } } }`, nil)
	require.Empty(t, r.Errors)

	s = newLimitStack(t, nil)
	r = s.query(t, "{ __schema { types { fields { type "+strings.Repeat("{ ofType ", 10)+"{ name }"+strings.Repeat(" }", 10)+" } } } }", nil)
	require.Empty(t, r.Errors)
}

// TestLimitCostPredictsCallCounts checks the cost model against the real
// counts of the call-count tests' operations: never below, at most twice.
func TestLimitCostPredictsCallCounts(t *testing.T) {
	e := newCCEnv(t, engagesim.Config{}, loader.Options{Wait: ccWait}, false)
	floor, _ := e.busiestFloor()
	from, to := e.week()
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	tests := []struct {
		name  string
		query string
		vars  map[string]any
	}{
		{"(a) a location's rooms", ccRoomsQuery, map[string]any{"id": e.locID}},
		{"(b) a floor's desks", ccDesksQuery, map[string]any{"loc": e.locID, "floor": floor, "from": e.day(from), "to": e.day(to)}},
		{"(c) today's visitors", ccVisitorsQuery, map[string]any{"date": e.day(e.today), "loc": e.locID}},
		{"(d) a booking", ccBookingQuery, map[string]any{"id": e.bookingID}},
		{"a room's bookings over 40 days", `query($id: ID!, $from: DateTime!, $to: DateTime!) { room(id: $id) { bookings(from: $from, to: $to) { title } } }`,
			map[string]any{"id": e.roomID, "from": e.today.Format(time.RFC3339), "to": e.today.AddDate(0, 0, 40).Format(time.RFC3339)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, errs := gqlparser.LoadQuery(schema, tt.query)
			require.Empty(t, errs)
			op := doc.Operations[0]
			vars, err := validator.VariableValues(schema, op, tt.vars)
			require.NoError(t, err)
			predicted := guard.Cost(op, vars, guard.Estimates{})

			_, got := e.measure(t, tt.query, tt.vars)
			t.Logf("predicted %d, made %d", predicted, got.total)
			assert.GreaterOrEqual(t, predicted, got.total, "the model never predicts fewer calls than are made")
			assert.LessOrEqual(t, predicted, 2*got.total, "nor more than twice as many")
			assert.LessOrEqual(t, predicted, guard.DefaultMaxCost, "the default limit lets it run")
		})
	}
}

func TestLimitBodySize(t *testing.T) {
	s := newLimitStack(t, func(d *serverDeps) { d.limits = guard.Limits{MaxBodyBytes: 2048} })
	post := func(size int) (int, gqlResponse) {
		t.Helper()
		q := `{ countries { name } }` + strings.Repeat(" ", size)
		body, err := json.Marshal(map[string]any{"query": q})
		require.NoError(t, err)
		resp, err := http.Post(s.gwURL+"/graphql", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		defer resp.Body.Close()
		var out gqlResponse
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return resp.StatusCode, out
	}
	code, r := post(1000)
	assert.Equal(t, http.StatusOK, code)
	assert.Empty(t, r.Errors)

	s.resetStats(t)
	code, r = post(4096)
	assert.Equal(t, http.StatusRequestEntityTooLarge, code)
	require.Len(t, r.Errors, 1)
	assert.Equal(t, guard.CodeTooLarge, r.Errors[0].Extensions["code"])
	assert.Equal(t, "the request body exceeds the limit of 2048 bytes", r.Errors[0].Message)
	assert.Zero(t, s.stats(t).TotalCalls)
}

func TestLimitCORS(t *testing.T) {
	const allowed, other = "https://app.example.com", "https://evil.example.com"
	s := newLimitStack(t, func(d *serverDeps) { d.corsOrigins = []string{allowed} })
	do := func(method, origin string) *http.Response {
		t.Helper()
		var body io.Reader
		if method == http.MethodPost {
			body = strings.NewReader(`{"query":"{ countries { name } }"}`)
		}
		req, err := http.NewRequestWithContext(t.Context(), method, s.gwURL+"/graphql", body)
		require.NoError(t, err)
		req.Header.Set("Origin", origin)
		req.Header.Set("Content-Type", "application/json")
		if method == http.MethodOptions {
			req.Header.Set("Access-Control-Request-Method", "POST")
			req.Header.Set("Access-Control-Request-Headers", "content-type")
		}
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		return resp
	}

	pre := do(http.MethodOptions, allowed)
	assert.Equal(t, http.StatusNoContent, pre.StatusCode)
	assert.Equal(t, allowed, pre.Header.Get("Access-Control-Allow-Origin"))
	assert.Contains(t, pre.Header.Get("Access-Control-Allow-Methods"), "POST")
	assert.Equal(t, "content-type", pre.Header.Get("Access-Control-Allow-Headers"))
	post := do(http.MethodPost, allowed)
	assert.Equal(t, http.StatusOK, post.StatusCode)
	assert.Equal(t, allowed, post.Header.Get("Access-Control-Allow-Origin"))

	for _, resp := range []*http.Response{do(http.MethodOptions, other), do(http.MethodPost, other)} {
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Origin"), resp.Request.Method)
		assert.Empty(t, resp.Header.Get("Access-Control-Allow-Methods"), resp.Request.Method)
	}

	// The default allows no other origin.
	s = newLimitStack(t, nil)
	assert.Empty(t, do(http.MethodPost, allowed).Header.Get("Access-Control-Allow-Origin"))
}

func TestLimitWebsocketOrigin(t *testing.T) {
	dial := func(s *stack, origin string) (int, error) {
		t.Helper()
		ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
		defer cancel()
		c, resp, err := websocket.Dial(ctx, wsURL(s.gwURL), &websocket.DialOptions{
			Subprotocols: []string{"graphql-transport-ws"},
			HTTPHeader:   http.Header{"Origin": {origin}},
		})
		status := 0
		if resp != nil {
			status = resp.StatusCode
		}
		if err == nil {
			_ = c.Close(websocket.StatusNormalClosure, "")
		}
		return status, err
	}

	s := newLimitStack(t, func(d *serverDeps) { d.wsOrigins = []string{"*.example.com"} })
	status, err := dial(s, "https://app.example.com")
	require.NoError(t, err, "an allowed pattern")
	assert.Equal(t, http.StatusSwitchingProtocols, status)
	status, err = dial(s, "https://evil.test")
	require.Error(t, err, "a disallowed origin")
	assert.Equal(t, http.StatusForbidden, status)
	status, err = dial(s, s.gwURL)
	require.NoError(t, err, "the same origin")
	assert.Equal(t, http.StatusSwitchingProtocols, status)

	// The default allows the same origin only.
	s = newLimitStack(t, nil)
	status, err = dial(s, "https://app.example.com")
	require.Error(t, err)
	assert.Equal(t, http.StatusForbidden, status)
}

func TestLimitTimeout(t *testing.T) {
	s := newLimitStack(t, func(d *serverDeps) { d.limits = guard.Limits{Timeout: 300 * time.Millisecond} })
	s.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"latency": "2s"}, nil)

	start := time.Now()
	r := s.query(t, `{ locations { name } }`, nil)
	took := time.Since(start)
	require.NotEmpty(t, r.Errors)
	assert.Equal(t, guard.CodeTimeout, r.Errors[0].Extensions["code"])
	assert.Equal(t, "the operation did not finish within the time limit of 300ms", r.Errors[0].Message)
	assert.Less(t, took, 1500*time.Millisecond, "the operation ends at its deadline, not the upstream's answer")
}

// The hostile documents: each fits the default body limit, and before the
// document limits each took seconds and gigabytes to validate, or answered
// megabytes of errors.

// limitsSameName is n fields of one name with different arguments:
// `{ location(id:"0"){name} location(id:"1"){name} … }`.
func limitsSameName(n int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		fmt.Fprintf(&b, ` location(id:"%d"){name}`, i)
	}
	b.WriteString(" }")
	return b.String()
}

// limitsRepeated is n copies of one field: `{ countries{name} … }`.
func limitsRepeated(n int) string {
	return "{" + strings.Repeat(" countries{name}", n) + " }"
}

// limitsDirectives is one field with n unknown directives.
func limitsDirectives(n int) string {
	return "{ countries" + strings.Repeat(" @a", n) + " { name } }"
}

// limitsNested nests depth fields: countries, regions, country, regions,
// …, name.
func limitsNested(depth int) string {
	var b strings.Builder
	b.WriteString("{ countries {")
	for i := 1; i < depth-1; i++ {
		b.WriteString([]string{" country {", " regions {"}[i%2])
	}
	b.WriteString(" name" + strings.Repeat(" }", depth-1) + " }")
	return b.String()
}

// limitsFragmentBomb spreads each of levels fragments twice in the one
// before it: 2^levels fields once expanded.
func limitsFragmentBomb(levels int) string {
	var b strings.Builder
	b.WriteString("{ ...F0 }")
	for i := range levels {
		fmt.Fprintf(&b, " fragment F%d on Query { ...F%d ...F%d }", i, i+1, i+1)
	}
	fmt.Fprintf(&b, " fragment F%d on Query { countries { name } }", levels)
	return b.String()
}

// limitsFill is prefix and suffix with unit repeated between them, as
// often as the default body limit allows once the document is sent as
// JSON, with 64 bytes to spare (unit must need no escaping).
func limitsFill(prefix, unit, suffix string) string {
	room := guard.DefaultMaxBodyBytes - 64 - 2*len(prefix+suffix)
	return prefix + strings.Repeat(unit, room/len(unit)) + suffix
}

// limitsMaxResponse bounds the answer to any document: a hundred errors of
// at most a kilobyte each, with their locations.
const limitsMaxResponse = 128 << 10

func TestLimitsBoundDocuments(t *testing.T) {
	// The layers one at a time: the defaults; the token limit lifted, so
	// the field and directive limits act; and every document limit lifted,
	// so validation itself runs on the whole document.
	defaults := guard.Limits{}
	tokensLifted := guard.Limits{MaxTokens: 10_000_000}
	allLifted := guard.Limits{MaxTokens: 10_000_000, MaxFields: 1_000_000, MaxDirectives: 1_000_000}
	tests := []struct {
		name   string
		limits guard.Limits
		query  string
		// code and msg are those of the first error ("" for none); the
		// response has errors errors, the last of code last when set.
		code, msg string
		errors    int
		last      string
		answered  bool
	}{
		{"2,000 same-name fields with different arguments", defaults, limitsSameName(2000),
			guard.CodeTooManyTokens, "the document exceeds the limit of 10000 tokens", 1, "", false},
		{"2,000 same-name fields, tokens lifted", tokensLifted, limitsSameName(2000),
			guard.CodeTooManyFields, "4000 fields exceed the limit of 2000", 1, "", false},
		{"2,000 same-name fields, every document limit lifted", allLifted, limitsSameName(2000),
			"GRAPHQL_VALIDATION_FAILED", `Fields "location" conflict because they have differing arguments`, 100, guard.CodeTooManyErrors, false},
		{"10,000 repeated fields", defaults, limitsRepeated(10_000),
			guard.CodeTooManyTokens, "the document exceeds the limit of 10000 tokens", 1, "", false},
		{"10,000 repeated fields, tokens lifted", tokensLifted, limitsRepeated(10_000),
			guard.CodeTooManyFields, "20000 fields exceed the limit of 2000", 1, "", false},
		{"10,000 repeated fields, every document limit lifted", allLifted, limitsRepeated(10_000),
			"", "", 0, "", true},
		{"10,000 unknown directives", defaults, limitsDirectives(10_000),
			guard.CodeTooManyTokens, "the document exceeds the limit of 10000 tokens", 1, "", false},
		{"10,000 unknown directives, tokens lifted", tokensLifted, limitsDirectives(10_000),
			guard.CodeTooManyDirectives, "10000 directives exceed the limit of 100", 1, "", false},
		{"10,000 unknown directives, every document limit lifted", allLifted, limitsDirectives(10_000),
			"GRAPHQL_VALIDATION_FAILED", `Unknown directive "@a".`, 100, guard.CodeTooManyErrors, false},
		{"a fragment bomb", defaults, limitsFragmentBomb(40),
			guard.CodeTooManyFields, "1073741824 fields exceed the limit of 2000", 1, "", false},
		{"nesting 900 deep", defaults, limitsNested(900),
			guard.CodeTooDeep, "query depth 900 exceeds the limit of 12", 1, "", false},
		{"nesting deeper than the parser allows", defaults, limitsNested(3000),
			"GRAPHQL_PARSE_FAILED", "exceeded maximum nesting depth of 1000", 1, "", false},
		{"a megabyte of one string", defaults, limitsFill(`{ location(id: "`, "x", `") { name } }`),
			"BAD_USER_INPUT", `"xxxxxxxx`, 1, "", false},
		{"a megabyte of one name", defaults, limitsFill("{ ", "a", " }"),
			"GRAPHQL_VALIDATION_FAILED", `Cannot query field "aaaaaaaa`, 1, "", false},
		{"a megabyte of tokens", defaults, limitsFill(`{ rooms(locationId: "x", attributes: [`, " 1", `]) { name } }`),
			guard.CodeTooManyTokens, "the document exceeds the limit of 10000 tokens", 1, "", false},
		{"a megabyte of commas and spaces", defaults, limitsFill("{ countries { name }", ", ", " }"),
			"", "", 0, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := newLimitStack(t, func(d *serverDeps) { d.limits = tt.limits })
			s.resetStats(t)
			status, _, raw := postGraphQLRaw(t, s.gwURL, nil, tt.query, nil)
			assert.NotEqual(t, http.StatusRequestEntityTooLarge, status, "the document fits the body limit")
			assert.Less(t, status, 500)
			assert.Less(t, len(raw), limitsMaxResponse, "a bounded answer")
			apiAssertNoLeak(t, raw)
			var r gqlResponse
			require.NoError(t, json.Unmarshal(raw, &r))
			if tt.answered {
				require.Empty(t, r.Errors)
				var data struct{ Countries []struct{ Name string } }
				require.NoError(t, json.Unmarshal(r.Data, &data))
				assert.NotEmpty(t, data.Countries)
				return
			}
			require.Len(t, r.Errors, tt.errors)
			assert.Equal(t, tt.code, r.Errors[0].Extensions["code"], r.Errors[0].Message)
			assert.Contains(t, r.Errors[0].Message, tt.msg)
			if tt.last != "" {
				last := r.Errors[len(r.Errors)-1]
				assert.Equal(t, tt.last, last.Extensions["code"])
				assert.Regexp(t, `^\d+ more errors were left out: a response carries at most 100$`, last.Message)
			}
			for _, e := range r.Errors {
				assert.LessOrEqual(t, len(e.Message), 1100, "each message is cut short")
			}
			assert.Zero(t, s.stats(t).TotalCalls, "no upstream call")
		})
	}
}

func TestLimitsCapExecutionErrors(t *testing.T) {
	// 150 fields that each fail (a malformed id): the first 99 errors and
	// one that counts the other 51, and every field still in data.
	s := newLimitStack(t, nil)
	var b strings.Builder
	b.WriteString("{")
	for i := range 150 {
		fmt.Fprintf(&b, ` l%d: location(id: "bad-%d") { name }`, i, i)
	}
	b.WriteString(" }")
	s.resetStats(t)
	r := s.query(t, b.String(), nil)
	require.Len(t, r.Errors, 100)
	for _, e := range r.Errors[:99] {
		require.Equal(t, "BAD_USER_INPUT", e.Extensions["code"], e.Message)
	}
	assert.Equal(t, guard.CodeTooManyErrors, r.Errors[99].Extensions["code"])
	assert.Equal(t, "51 more errors were left out: a response carries at most 100", r.Errors[99].Message)
	var data map[string]any
	require.NoError(t, json.Unmarshal(r.Data, &data))
	assert.Len(t, data, 150)
	assert.Zero(t, s.stats(t).TotalCalls)
}

func TestLimitsFieldsThatConflictAreRefused(t *testing.T) {
	// The merge check that replaced gqlparser's still refuses what cannot
	// merge, and still lets through what can.
	s := newLimitStack(t, nil)
	tests := []struct {
		name, query, msg string
	}{
		{"an alias of another field", `{ countries { name: id name } }`, `Fields "name" conflict because "id" and "name" are different fields`},
		{"different arguments", `{ location(id: "a") { name } location(id: "b") { name } }`, `Fields "location" conflict because they have differing arguments`},
		{"different shapes on different types", `query($id: ID!) { node(id: $id) { ... on Room { x: capacity } ... on Desk { x: name } } }`, `Fields "x" conflict because they return conflicting types "Int!" and "String!"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.resetStats(t)
			r := s.query(t, tt.query, map[string]any{"id": "x"})
			require.Len(t, r.Errors, 1)
			assert.Equal(t, "GRAPHQL_VALIDATION_FAILED", r.Errors[0].Extensions["code"])
			assert.Contains(t, r.Errors[0].Message, tt.msg)
			assert.Zero(t, s.stats(t).TotalCalls)
		})
	}
	r := s.query(t, `{ countries { name ...C ... on Country { name } } countries { id } } fragment C on Country { name }`, nil)
	require.Empty(t, r.Errors)
}

func TestLimitsBoundDocumentsOverWebsockets(t *testing.T) {
	// A refusal and a capped list of validation errors reach a websocket
	// client as they reach an HTTP one.
	s := newLimitStack(t, func(d *serverDeps) {
		d.feed = brokerFeed{b: pubsub.NewMemory(pubsub.Options{})}
		d.limits = guard.Limits{MaxFields: 100_000}
	})
	w := dialRaw(t, s.gwURL, "graphql-transport-ws")

	var b strings.Builder
	b.WriteString("subscription {")
	for i := range 300 {
		fmt.Fprintf(&b, ` bookingChanged(locationId: "%d") { action }`, i)
	}
	b.WriteString(" }")
	w.write(t, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": b.String()}})
	m := w.read(t)
	require.Equal(t, "error", m.Type, "%s", m.Payload)
	var errs []struct {
		Message    string
		Extensions map[string]any
	}
	require.NoError(t, json.Unmarshal(m.Payload, &errs))
	require.Len(t, errs, 100)
	assert.Contains(t, errs[0].Message, `conflict because they have differing arguments`)
	assert.Equal(t, guard.CodeTooManyErrors, errs[99].Extensions["code"])
	// An error ends the operation; no complete follows it (the protocol's
	// rule), so the next message is the next operation's.

	w.write(t, map[string]any{"id": "2", "type": "subscribe", "payload": map[string]any{"query": "subscription { bookingChanged" + strings.Repeat(" @a", 6000) + " { action } }"}})
	m = w.read(t)
	require.Equal(t, "next", m.Type, "%s", m.Payload)
	var next gqlResponse
	require.NoError(t, json.Unmarshal(m.Payload, &next))
	require.Len(t, next.Errors, 1)
	assert.Equal(t, guard.CodeTooManyTokens, next.Errors[0].Extensions["code"])
	assert.Equal(t, wsMessage{ID: "2", Type: "complete"}, w.read(t))
}

// assertTooManySubscriptions checks the GraphQL error of a subscription
// refused by a cap: its code, which cap (connection or client), and a
// message giving the limit.
func assertTooManySubscriptions(t *testing.T, r gqlResponse, limit string, most int) {
	t.Helper()
	require.Len(t, r.Errors, 1)
	got := r.Errors[0]
	assert.Equal(t, socket.CodeTooManySubscriptions, got.Extensions["code"])
	assert.Equal(t, limit, got.Extensions["limit"])
	assert.EqualValues(t, most, got.Extensions["max"])
	assert.Contains(t, got.Message, fmt.Sprintf("%d", most))
	assert.Contains(t, got.Message, "complete one before starting another")
}

// TestLimitSubscriptionsPerSocket: a websocket runs at most
// wsMaxSubscriptions operations at once; one more is refused with an error
// for its id while the socket and its subscriptions go on, and a completed
// one makes room. The graphql-ws client reports the refusal on the
// subscription concerned.
func TestLimitSubscriptionsPerSocket(t *testing.T) {
	e := newSubEnv(t, pubsub.Options{}, func(d *serverDeps) { d.wsMaxSubscriptions = 2 })
	for _, p := range []struct{ proto, start, stop, next string }{
		{"graphql-transport-ws", "subscribe", "complete", "next"},
		{"graphql-ws", "start", "stop", "data"},
	} {
		t.Run(p.proto, func(t *testing.T) {
			w := dialRaw(t, e.gwURL, p.proto)
			w.write(t, e.subscribeMessage("1", p.start))
			w.write(t, e.subscribeMessage("2", p.start))
			e.subscribers(t, 2)
			w.write(t, e.subscribeMessage("3", p.start))
			m := w.expect(t, "error")
			assert.Equal(t, "3", m.ID)
			assertTooManySubscriptions(t, messageErrors(t, m), "connection", 2)

			e.publish(t, e.bookingChange(t, 1))
			got := map[string]bool{}
			for range 2 {
				got[w.expect(t, p.next).ID] = true
			}
			assert.Equal(t, map[string]bool{"1": true, "2": true}, got, "the socket's subscriptions go on")

			w.write(t, map[string]any{"id": "1", "type": p.stop})
			e.subscribers(t, 1)
			w.write(t, e.subscribeMessage("4", p.start))
			e.subscribers(t, 2)
			require.NoError(t, w.c.Close(websocket.StatusNormalClosure, ""))
			e.subscribers(t, 0)
		})
	}
	t.Run("the graphql-ws client", func(t *testing.T) {
		c := startNodeClient(t, nodeForClients(t), manyWSScript, e.gwURL, bookingSubscription,
			map[string]any{"r": []string{e.fx.room}}, 3, false)
		c.expect(t, "ready")
		l := c.expect(t, "error")
		require.NotNil(t, l.Sub)
		assertTooManySubscriptions(t, lineErrors(t, l), "connection", 2)
		e.subscribers(t, 2)
		e.publish(t, e.bookingChange(t, 1))
		for range 2 {
			n := c.expect(t, "next")
			assert.NotEqual(t, *l.Sub, *n.Sub, "the refused subscription gets nothing")
		}
		c.send(t, "close")
		assert.Equal(t, 0, c.exitCode(t), "%s", c.logs())
		e.subscribers(t, 0)
	})
}

// streamsKey is the semaphore key clientStreams counts a client by: one
// whose proxy names it in X-Forwarded-For, or ("" ) an anonymous loopback
// client.
func streamsKey(forwardedFor string) string {
	addr := "127.0.0.1"
	if forwardedFor != "" {
		addr = "X-Forwarded-For:" + forwardedFor
	}
	return "streams:" + budget.ClientKey(httpauth.WithClientAddr(context.Background(), addr))
}

// TestLimitSubscriptionsPerClient: a client holds at most its cap of
// subscriptions at once, websocket operations of both protocols and SSE
// streams together. Over it, a websocket subscription gets an error for
// its id (the socket stays open) and an SSE stream is refused with 429;
// another client is not affected; and each way a subscription ends (a
// complete, an SSE stream closed, a socket closed) gives its slot back.
func TestLimitSubscriptionsPerClient(t *testing.T) {
	slots := fleet.NewMemorySemaphore()
	e := newSubEnv(t, pubsub.Options{}, func(d *serverDeps) {
		d.clientHeader = "X-Forwarded-For"
		d.streams = &budget.ClientStreams{Slots: slots, Max: 3}
	})
	vars := map[string]any{"r": []string{e.fx.room}}
	me := map[string]string{"X-Forwarded-For": "203.0.113.7"}
	held := func(n int) {
		t.Helper()
		require.Eventually(t, func() bool { return slots.Held(streamsKey("203.0.113.7")) == n }, subWait, 5*time.Millisecond,
			"want %d slots held, have %d", n, slots.Held(streamsKey("203.0.113.7")))
	}
	dial := func(proto string, headers map[string]string) *rawWS {
		h := http.Header{}
		for k, v := range headers {
			h.Set(k, v)
		}
		w := dialWS(t, e.gwURL, proto, h)
		w.write(t, map[string]any{"type": "connection_init"})
		w.expect(t, "connection_ack")
		return w
	}

	// Three: two on a websocket, one SSE stream.
	w := dial("graphql-transport-ws", me)
	w.write(t, e.subscribeMessage("a", "subscribe"))
	w.write(t, e.subscribeMessage("b", "subscribe"))
	sse1, stop1 := startSSEWith(t, e.gwURL, me, bookingSubscription, vars)
	sse1.expect(t, "ready")
	e.subscribers(t, 3)
	held(3)

	// A fourth is refused on every transport.
	w.write(t, e.subscribeMessage("c", "subscribe"))
	m := w.expect(t, "error")
	assert.Equal(t, "c", m.ID)
	assertTooManySubscriptions(t, messageErrors(t, m), "client", 3)
	legacy := dial("graphql-ws", me)
	legacy.write(t, e.subscribeMessage("x", "start"))
	m = legacy.expect(t, "error")
	assert.Equal(t, "x", m.ID)
	assertTooManySubscriptions(t, messageErrors(t, m), "client", 3)
	status, r := trySSE(t, e.gwURL, me, bookingSubscription, vars)
	require.Equal(t, http.StatusTooManyRequests, status)
	assertTooManySubscriptions(t, r, "client", 3)
	held(3)

	// The socket still serves its two.
	e.publish(t, e.bookingChange(t, 1))
	got := map[string]bool{}
	for range 2 {
		got[w.expect(t, "next").ID] = true
	}
	assert.Equal(t, map[string]bool{"a": true, "b": true}, got)
	sse1.expect(t, "next")

	// Another client has slots of its own.
	other := map[string]string{"X-Forwarded-For": "203.0.113.8"}
	sse2, _ := startSSEWith(t, e.gwURL, other, bookingSubscription, vars)
	sse2.expect(t, "ready")
	assert.Equal(t, 1, slots.Held(streamsKey("203.0.113.8")))

	// A completed subscription gives its slot back...
	w.write(t, map[string]any{"id": "a", "type": "complete"})
	held(2)
	sse3, stop3 := startSSEWith(t, e.gwURL, me, bookingSubscription, vars)
	sse3.expect(t, "ready")
	held(3)
	// ... and so does a closed SSE stream ...
	stop1()
	held(2)
	legacy.write(t, e.subscribeMessage("y", "start"))
	held(3)
	// ... and a closed socket, for each of its subscriptions.
	require.NoError(t, w.c.Close(websocket.StatusNormalClosure, ""))
	held(2)
	require.NoError(t, legacy.c.Close(websocket.StatusNormalClosure, ""))
	held(1)
	stop3()
	held(0)

	t.Run("npm clients", func(t *testing.T) {
		// Anonymous, without the header: counted by address.
		node := nodeForClients(t)
		for range 3 {
			c := startNodeClient(t, node, transportWSScript, e.gwURL, bookingSubscription, vars, 0, true)
			c.expect(t, "ready")
		}
		require.Eventually(t, func() bool { return slots.Held(streamsKey("")) == 3 }, subWait, 5*time.Millisecond)
		for _, script := range []string{transportWSScript, legacyWSScript} {
			c := startNodeClient(t, node, script, e.gwURL, bookingSubscription, vars, 1, false)
			c.expect(t, "ready")
			assertTooManySubscriptions(t, lineErrors(t, c.expect(t, "error")), "client", 3)
			assert.Equal(t, 1, c.exitCode(t), "%s", c.logs())
		}
	})
}

// trySSE opens an SSE subscription with headers (nil for none) and says
// with which status it was answered; a refusal's GraphQL errors are
// decoded, and an open stream stays open until the test ends.
func trySSE(t *testing.T, gwURL string, headers map[string]string, query string, vars map[string]any) (int, gqlResponse) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	resp := postStreaming(t, ctx, gwURL, "text/event-stream", headers, map[string]any{"query": query, "variables": vars})
	if resp.StatusCode == http.StatusOK {
		t.Cleanup(func() { cancel(); resp.Body.Close() })
		return resp.StatusCode, gqlResponse{}
	}
	defer cancel()
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	apiAssertNoLeak(t, raw)
	var r gqlResponse
	require.NoError(t, json.Unmarshal(raw, &r), "%s", raw)
	return resp.StatusCode, r
}

// TestLimitSubscriptionsPerClientAcrossReplicas: replicas sharing one Redis
// count a client's subscriptions together (here an anonymous client, by its
// address): over the cap on one replica because of the other; a slot
// released on one is free on the other; and the slots of a replica that
// dies (here: loses its Redis for good, so it can neither release nor
// refresh them) expire a lease later instead of keeping the client out.
func TestLimitSubscriptionsPerClientAcrossReplicas(t *testing.T) {
	opts := testRedisOptions(t)
	prefix := "streams-test-" + newRequestID()
	admin := redis.NewClient(opts)
	t.Cleanup(func() {
		ctx := context.Background()
		iter := admin.Scan(ctx, 0, "{"+prefix+"*", 100).Iterator()
		for iter.Next(ctx) {
			admin.Del(ctx, iter.Val())
		}
		_ = admin.Close()
	})
	held := func() int64 {
		n, err := admin.ZCard(t.Context(), "{"+prefix+":"+streamsKey("")+"}:slots").Result()
		require.NoError(t, err)
		return n
	}
	broker := pubsub.NewMemory(pubsub.Options{Logger: slog.New(slog.DiscardHandler)})
	t.Cleanup(func() { _ = broker.Close() })
	replica := func(lease time.Duration) (*stack, *redis.Client) {
		rdb := redis.NewClient(opts)
		t.Cleanup(func() { _ = rdb.Close() })
		sem := fleet.NewRedisSemaphore(rdb, prefix, fleet.RedisSemaphoreOptions{Lease: lease, OpTimeout: time.Second})
		t.Cleanup(sem.Close)
		return newStackWithFeed(t, broker, func(d *serverDeps) { d.streams = &budget.ClientStreams{Slots: sem, Max: 2} }), rdb
	}
	a, _ := replica(time.Minute)
	b, _ := replica(time.Minute)
	query, vars := `subscription { bookingChanged { action } }`, map[string]any(nil)

	// The client's two: an SSE stream on A, a websocket subscription on B.
	sse, stop := startSSE(t, a.gwURL, query, vars)
	sse.expect(t, "ready")
	w := dialRaw(t, b.gwURL, "graphql-transport-ws")
	w.write(t, map[string]any{"id": "x", "type": "subscribe", "payload": map[string]any{"query": query}})
	require.Eventually(t, func() bool { return a.subscriptions()+b.subscriptions() == 2 }, subWait, 5*time.Millisecond)
	assert.EqualValues(t, 2, held())

	// A third is refused on either replica.
	status, r := trySSE(t, a.gwURL, nil, query, vars)
	require.Equal(t, http.StatusTooManyRequests, status)
	assertTooManySubscriptions(t, r, "client", 2)
	w.write(t, map[string]any{"id": "y", "type": "subscribe", "payload": map[string]any{"query": query}})
	m := w.expect(t, "error")
	assert.Equal(t, "y", m.ID)
	assertTooManySubscriptions(t, messageErrors(t, m), "client", 2)

	// Released on A, the slot is free on B.
	stop()
	require.Eventually(t, func() bool { return held() == 1 }, subWait, 5*time.Millisecond)
	w.write(t, map[string]any{"id": "z", "type": "subscribe", "payload": map[string]any{"query": query}})
	require.Eventually(t, func() bool { return held() == 2 && a.subscriptions()+b.subscriptions() == 2 }, subWait, 5*time.Millisecond)
	require.NoError(t, w.c.Close(websocket.StatusNormalClosure, ""))
	require.Eventually(t, func() bool { return held() == 0 }, subWait, 5*time.Millisecond)

	// Replica C, with a short lease, takes both slots, then dies.
	const lease = 600 * time.Millisecond
	c, cRedis := replica(lease)
	for range 2 {
		status, _ := trySSE(t, c.gwURL, nil, query, vars)
		require.Equal(t, http.StatusOK, status)
	}
	status, _ = trySSE(t, a.gwURL, nil, query, vars)
	require.Equal(t, http.StatusTooManyRequests, status)
	require.NoError(t, cRedis.Close())
	died := time.Now()
	require.Eventually(t, func() bool {
		status, _ := trySSE(t, a.gwURL, nil, query, vars)
		return status == http.StatusOK
	}, 10*time.Second, 50*time.Millisecond,
		"the dead replica's slots expire")
	assert.GreaterOrEqual(t, time.Since(died), lease/2, "a lease after its last refresh, not before")
}
