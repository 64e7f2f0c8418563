package guard

import (
	"fmt"
	"runtime"
	"strings"
	"testing"

	"github.com/engagegql/gateway/graph"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// parse parses and validates query against the gateway's schema and
// returns its one operation.
func parse(t *testing.T, query string) *ast.OperationDefinition {
	t.Helper()
	schema := graph.NewExecutableSchema(graph.Config{}).Schema()
	doc, errs := gqlparser.LoadQuery(schema, query)
	require.Empty(t, errs, "the query must be valid")
	require.Len(t, doc.Operations, 1)
	return doc.Operations[0]
}

func TestMeasure(t *testing.T) {
	tests := []struct {
		name  string
		query string
		want  Measurement
	}{
		{"one field", `{ countries { name } }`, Measurement{Depth: 2}},
		{"nested", `query($id: ID!) { location(id: $id) { rooms { name bookings { title host { name email } visitors { firstName } } } } }`,
			Measurement{Depth: 5}},
		{"aliases counted", `{ a: countries { n: name } b: countries { name } }`, Measurement{Depth: 2, Aliases: 3}},
		{"an alias equal to the name is none", `{ countries: countries { name } }`, Measurement{Depth: 2}},
		{"fragments expanded", `query($id: ID!) { location(id: $id) { ...L } } fragment L on Location { rooms { ...R } } fragment R on Room { x: name bookings { title } }`,
			Measurement{Depth: 4, Aliases: 1}},
		{"a fragment spread twice counts its aliases twice", `{ a: countries { ...C } b: countries { ...C } } fragment C on Country { x: name y: name }`,
			Measurement{Depth: 2, Aliases: 6}},
		{"inline fragments", `query($id: ID!) { node(id: $id) { ... on Room { bookings { room { name } } } } }`, Measurement{Depth: 4}},
		{"introspection not counted in depth", `{ __schema { types { fields { type { ofType { ofType { ofType { ofType { ofType { ofType { ofType { ofType { name } } } } } } } } } } } } }`,
			Measurement{Depth: 0, Introspects: true}},
		{"__type introspects", `{ __type(name: "Room") { name } countries { name } }`, Measurement{Depth: 2, Introspects: true}},
		{"__typename does not introspect", `{ __typename }`, Measurement{Depth: 1}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Measure(parse(t, tt.query), nil))
		})
	}
}

func TestMeasureFragmentCycle(t *testing.T) {
	// The validator rejects cycles; Measure must still end on one.
	op := parse(t, `{ countries { ...A } } fragment A on Country { name regions { country { name } } }`)
	a := op.SelectionSet[0].(*ast.Field).SelectionSet[0].(*ast.FragmentSpread).Definition
	country := a.SelectionSet[1].(*ast.Field).SelectionSet[0].(*ast.Field)
	country.SelectionSet = append(country.SelectionSet, &ast.FragmentSpread{Name: "A", Definition: a})
	m := Measure(op, nil)
	assert.Equal(t, 4, m.Depth)
	assert.Less(t, Cost(op, nil, Estimates{}), 10)
}

func TestCost(t *testing.T) {
	vars := map[string]any{"id": "TG9jYXRpb246NDE", "loc": "x", "floor": 3, "from": "2026-03-02", "to": "2026-03-08", "date": "2026-03-02"}
	tests := []struct {
		name  string
		query string
		want  int
	}{
		// rooms 1 (the location asked for its rooms only is not looked up),
		// 25 rooms' bookings 25, users 1, visitors 1.
		{"a location's rooms with bookings", `query($id: ID!) { location(id: $id) { rooms { name bookings { title host { name email } visitors { firstName } } } } }`, 28},
		// the walk to the location: countries 1, 5 countries' regions 5,
		// 15 regions' locations 15; then rooms 1.
		{"a location's name walks the hierarchy", `query($id: ID!) { location(id: $id) { name rooms { name } } }`, 21 + 1},
		// desks 1, 20 desks' bookings over a week 20, users 1.
		{"a floor's desks for a week", `query($loc: ID!, $floor: Int!, $from: Date!, $to: Date!) { desks(locationId: $loc, floor: $floor) { name bookings(from: $from, to: $to) { date user { email } } } }`, 22},
		// visitors 1, users 1, rooms of the one location 1.
		{"visitors with hosts and rooms", `query($date: Date!, $loc: ID!) { visitors(date: $date, locationId: $loc) { nodes { firstName host { name } room { name } } } }`, 3},
		// booking, rooms, the walk to locations (21), users, cost codes,
		// visitors, orders, vendors.
		{"a booking with everything", `query($id: ID!) { booking(id: $id) { title room { name location { name } } host { name } requestor { name } creator { name } costCode { code } visitors { firstName } serviceOrders { quantity service { name } } } }`, 7 + 21},
		// countries 1, 5 countries' regions 5, 15 regions' locations 15:
		// whatever asks for them, each list is read once.
		{"the hierarchy costs its walk however often it appears", `{ countries { name regions { name country { name } } } regions { name } locations { name region { name } country { name } } }`, 1 + 5 + 15},
		{"a walk under a list still costs one walk", `{ locations { rooms { location { name } } } }`, 21 + 10},
		// room 1, 40 UTC days and 3 around them: ceil(43/14) = 4 windows.
		{"a window wider than 14 days is split", `query($id: ID!) { room(id: $id) { bookings(from: "2026-03-02T00:00:00Z", to: "2026-04-11T00:00:00Z") { title } } }`, 5},
		// room 1, 15 UTC days and 3 around them: 2 windows.
		{"a window not starting at midnight touches one day more", `query($id: ID!) { room(id: $id) { bookings(from: "2026-03-02T10:00:00Z", to: "2026-03-16T10:00:00Z") { title } } }`, 3},
		// room 1, 11 UTC days and 3 around them: 1 window.
		{"an 11-day window is one call", `query($id: ID!) { room(id: $id) { bookings(from: "2026-03-02T00:00:00Z", to: "2026-03-13T00:00:00Z") { title } } }`, 2},
		{"first sizes a page", `query($date: Date!) { visitors(date: $date, first: 10) { nodes { booking { title } } } }`, 1 + 10},
		{"aliases of one field cost once", `query($id: ID!) { a: location(id: $id) { rooms { bookings { title } } } b: location(id: $id) { r: rooms { bookings { title } } } }`, 1 + 25},
		{"a fragment spread twice costs once", `query($id: ID!) { booking(id: $id) { ...B ...B } } fragment B on Booking { x: serviceOrders { id } y: serviceOrders { id } }`, 2},
		{"other arguments cost again", `{ a: room(id: "x") { name } b: room(id: "y") { name } }`, 2},
		{"ids size a list", `{ nodes(ids: ["a", "b", "c"]) { id } }`, 6},
		{"scalars and introspection cost nothing", `{ __schema { types { name } } __typename }`, 0},
		{"a mutation", `mutation { cancelBooking(input: {actingUserEmail: "a@b.c", bookingId: "x"}) { cancelledBookingId } }`, 4},
		// the walk 21, rooms of 10 locations 10, 250 rooms × 7 windows of
		// 93 days 1750, visitors of 10 locations × 90 days 900.
		{"every location's rooms' bookings over 90 days with visitors", `{ locations { rooms { bookings(from: "2026-01-01T00:00:00Z", to: "2026-04-01T00:00:00Z") { visitors { firstName } } } } }`, 21 + 10 + 1750 + 900},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, Cost(parse(t, tt.query), vars, Estimates{}))
		})
	}
}

func TestCostEstimates(t *testing.T) {
	op := parse(t, `query($id: ID!) { location(id: $id) { rooms { bookings { title } } } }`)
	vars := map[string]any{"id": "x"}
	assert.Equal(t, 1+25, Cost(op, vars, Estimates{}))
	assert.Equal(t, 1+40, Cost(op, vars, Estimates{RoomsPerLocation: 40}))
}

func TestCostFragmentBomb(t *testing.T) {
	// Each fragment spreads the next twice: 2^20 expansions of one field.
	q := `{ ...F0 } `
	for i := range 20 {
		q += fmt.Sprintf("fragment F%d on Query { ...F%d ...F%d } ", i, i+1, i+1)
	}
	q += "fragment F20 on Query { countries { name } }"
	op := parse(t, q)
	m := Measure(op, nil)
	assert.Equal(t, 2, m.Depth)
	assert.Greater(t, Cost(op, nil, Estimates{}), DefaultMaxCost, "too large to walk is too costly")
}

func TestLimitsDefaults(t *testing.T) {
	l := Limits{}.WithDefaults()
	assert.Equal(t, 10_000, l.MaxTokens)
	assert.Equal(t, 2_000, l.MaxFields)
	assert.Equal(t, 100, l.MaxDirectives)
	assert.Equal(t, 100, l.MaxErrors)
	assert.Equal(t, DefaultMaxDepth, l.MaxDepth)
	assert.Equal(t, DefaultMaxAliases, l.MaxAliases)
	assert.Equal(t, 500, l.MaxAliases)
	assert.Equal(t, DefaultMaxCost, l.MaxCost)
	assert.Equal(t, int64(DefaultMaxBodyBytes), l.MaxBodyBytes)
	assert.Equal(t, DefaultTimeout, l.Timeout)
	assert.False(t, l.DisableIntrospection)
	assert.Equal(t, 25, l.Estimates.RoomsPerLocation)
}

func TestCostOfALargeArgumentSpreadOften(t *testing.T) {
	// A fragment with a 100 KB argument, spread 900 times: the model's keys
	// must not copy the argument on every visit (that was 900 × 300 KB).
	q := "{" + strings.Repeat(" ...F", 900) + ` } fragment F on Query { location(id: "` + strings.Repeat("x", 100_000) + `") { name } }`
	op := parse(t, q)
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	cost := Cost(op, nil, Estimates{})
	runtime.ReadMemStats(&after)
	assert.Equal(t, 21, cost, "one walk to the location, however often it is spread")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(32<<20), "bytes allocated")
}
