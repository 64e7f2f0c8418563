package server

// End-to-end tests of how failures reach a GraphQL client: unknown and
// malformed ids, upstream outages and rate limits, a product whose key is
// refused (partial results), refused credentials; and that no answer ever
// carries a secret or a stack trace.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAPIUnknownAndMalformedIDs(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	london := s.location(t, "London HQ")
	zone := s.zone(t, london)
	locID := s.locationID(t, london.Name)
	desk := s.resources(london.ID, 2)[0]
	day := apiLocalDay(time.Now(), zone).AddDate(0, 0, 1)

	tests := []struct {
		name, field, query string
		code               string
	}{
		{"unknown location", "location", `{ location(id: "` + apiGlobalID("Location", 999999) + `") { id } }`, "NOT_FOUND"},
		{"unknown room", "room", `{ room(id: "` + apiGlobalID("Room", int64(london.ID), 999999) + `") { id } }`, "NOT_FOUND"},
		{"room of an unknown location", "room", `{ room(id: "` + apiGlobalID("Room", 999999, 1001) + `") { id } }`, "NOT_FOUND"},
		{"unknown desk", "desk", `{ desk(id: "` + apiGlobalID("Desk", int64(london.ID), 999999) + `") { id } }`, "NOT_FOUND"},
		{"unknown booking", "booking", `{ booking(id: "` + apiGlobalID("Booking", 999999) + `") { id } }`, "NOT_FOUND"},
		{"unknown desk booking", "deskBooking", `{ deskBooking(id: "` + apiGlobalID("DeskBooking", int64(london.ID), int64(desk.ID), apiDayPart(day), 999999) + `") { id } }`, "NOT_FOUND"},
		{"desk booking of an unknown desk", "deskBooking", `{ deskBooking(id: "` + apiGlobalID("DeskBooking", int64(london.ID), 999999, apiDayPart(day), 1) + `") { id } }`, "NOT_FOUND"},
		{"unknown visitor", "visitor", `{ visitor(id: "` + apiGlobalID("Visitor", int64(london.ID), apiDayPart(day), 999999) + `") { id } }`, "NOT_FOUND"},
		{"unknown node", "node", `{ node(id: "` + apiGlobalID("Country", 999) + `") { id } }`, "NOT_FOUND"},
		{"unknown user", "user", `{ user(email: "nobody@example.com") { id } }`, "NOT_FOUND"},
		{"regions of an unknown country", "regions", `{ regions(countryId: "` + apiGlobalID("Country", 999) + `") { id } }`, "NOT_FOUND"},
		{"locations of an unknown region", "locations", `{ locations(regionId: "` + apiGlobalID("Region", 999) + `") { id } }`, "NOT_FOUND"},
		{"rooms of an unknown location", "rooms", `{ rooms(locationId: "` + apiGlobalID("Location", 999999) + `") { id } }`, "NOT_FOUND"},
		{"desks of an unknown location", "desks", `{ desks(locationId: "` + apiGlobalID("Location", 999999) + `") { id } }`, "NOT_FOUND"},

		{"malformed location id", "location", `{ location(id: "not-an-id") { id } }`, "BAD_USER_INPUT"},
		{"malformed room id", "room", `{ room(id: "Um9vbTphOmI") { id } }`, "BAD_USER_INPUT"},
		{"malformed desk id", "desk", `{ desk(id: "!!") { id } }`, "BAD_USER_INPUT"},
		{"malformed booking id", "booking", `{ booking(id: "") { id } }`, "BAD_USER_INPUT"},
		{"malformed desk booking id", "deskBooking", `{ deskBooking(id: "RGVza0Jvb2tpbmc6MQ") { id } }`, "BAD_USER_INPUT"},
		{"malformed visitor id", "visitor", `{ visitor(id: "x") { id } }`, "BAD_USER_INPUT"},
		{"malformed node id", "node", `{ node(id: "x") { id } }`, "BAD_USER_INPUT"},
		{"an id of another type", "room", `{ room(id: "` + locID + `") { id } }`, "BAD_USER_INPUT"},
		{"malformed country id", "regions", `{ regions(countryId: "x") { id } }`, "BAD_USER_INPUT"},
		{"malformed location id of rooms", "rooms", `{ rooms(locationId: "x") { id } }`, "BAD_USER_INPUT"},
		{"malformed location id of cost codes", "costCodes", `{ costCodes(locationId: "x") { id } }`, "BAD_USER_INPUT"},
		{"malformed location id of vendors", "vendorServices", `{ vendorServices(locationId: "x") { id } }`, "BAD_USER_INPUT"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := s.call(t, tt.query, nil)
			e := apiErrorAt(t, resp, tt.field)
			assert.Equal(t, tt.code, e.Extensions["code"], e.Message)
			assert.NotEmpty(t, e.Message)
			assert.Len(t, resp.Errors, 1)
			var data map[string]any
			require.NoError(t, json.Unmarshal(resp.Data, &data))
			assert.Nil(t, data[tt.field], "no data where the error is")
		})
	}
}

// An id far longer than any the API issues is refused before it is decoded,
// and its error quotes only its start: a client may send a megabyte of it.
func TestAPIOverlongIDIsQuotedInPart(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	resp := s.call(t, `{ location(id: "`+strings.Repeat("x", 100_000)+`") { id } }`, nil)
	e := apiErrorAt(t, resp, "location")
	assert.Equal(t, "BAD_USER_INPUT", e.Extensions["code"])
	assert.Equal(t, `"`+strings.Repeat("x", 64)+`"… is not an id this API issued`, e.Message)
}

// An unknown parent is NOT_FOUND whether or not the same operation asks for
// the children of other parents (which the loaders batch into one call).
func TestAPIUnknownParentBesideAKnownOne(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	var d struct {
		Countries []struct{ ID, Name string }
		Regions   []struct{ ID, Name string }
	}
	s.data(t, `{ countries { id name } regions { id name } }`, nil, &d)
	tests := []struct {
		name, field, query string
		want               string
	}{
		{"regions", "unknown", `query($known: ID) { known: regions(countryId: $known) { name } unknown: regions(countryId: "` + apiGlobalID("Country", 999) + `") { name } }`, d.Countries[0].ID},
		{"locations", "unknown", `query($known: ID) { known: locations(regionId: $known) { name } unknown: locations(regionId: "` + apiGlobalID("Region", 999) + `") { name } }`, d.Regions[0].ID},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := s.call(t, tt.query, map[string]any{"known": tt.want})
			assert.Equal(t, "NOT_FOUND", apiErrorAt(t, resp, tt.field).Extensions["code"])
			assert.JSONEq(t, `null`, string(resp.Data), "the lists are non-null, so the error nulls the data")
		})
	}
}

func TestAPIUpstreamUnavailable(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		status int
	}{
		{"500", http.StatusInternalServerError},
		{"502", http.StatusBadGateway},
		{"503", http.StatusServiceUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			// Without a circuit breaker, so that Engage's recovery shows at
			// once; faults_test.go covers the breaker.
			s := newAPIStack(t, func(c *engage.Config) { c.Breaker.Failures = -1 })
			locID := s.locationID(t, "London HQ")
			s.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"errorRate": 1, "errorStatus": tt.status}, nil)

			resp := s.call(t, `query($id: ID!) { location(id: $id) { name } countries { name } }`, map[string]any{"id": locID})
			assert.JSONEq(t, `null`, string(resp.Data), "countries is non-null, so its failure nulls the data")
			for _, e := range resp.Errors {
				assert.Equal(t, "UPSTREAM_UNAVAILABLE", e.Extensions["code"], e.Message)
				assert.Equal(t, "Engage is unavailable; try again later.", e.Message)
				assert.NotContains(t, e.Message, "An error has occurred", "the upstream's body is not shown")
			}
			apiErrorAt(t, resp, "countries")

			// A mutation's upstream failure is a GraphQL error, not a UserError.
			resp = s.call(t, `mutation($room: ID!) { bookRoom(input: {actingUserEmail: "x@example.com", roomId: $room, title: "t",
				start: "2030-01-01T10:00:00Z", end: "2030-01-01T11:00:00Z"}) { booking { id } errors { code } } }`,
				map[string]any{"room": apiGlobalID("Room", 41, 1001)})
			assert.Equal(t, "UPSTREAM_UNAVAILABLE", apiErrorAt(t, resp, "bookRoom").Extensions["code"])

			// Once Engage is back, so is the gateway: no failure is remembered.
			s.admin(t, http.MethodDelete, "/_sim/faults", nil, nil)
			var d struct{ Location struct{ Name string } }
			s.data(t, `query($id: ID!) { location(id: $id) { name } }`, map[string]any{"id": locID}, &d)
			assert.Equal(t, "London HQ", d.Location.Name)
		})
	}
}

func TestAPIUpstreamRateLimited(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name   string
		faults map[string]any
		// maxWait bounds extensions.retryAfter, in seconds.
		maxWait float64
	}{
		{"rate per minute (429)", map[string]any{"ratePerMinute": 2}, 60},
		{"quota per week (403)", map[string]any{"quotaPerWeek": 2}, 7 * 24 * 3600},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			s := newAPIStack(t)
			s.admin(t, http.MethodPost, "/_sim/faults", tt.faults, nil)

			// Three HierarchyMapping calls on a key allowed two.
			lid := apiGlobalID("Location", 41)
			resp := s.call(t, `query($l: ID!) { a: countries { name } b: rooms(locationId: $l) { name } c: desks(locationId: $l) { name } }`, map[string]any{"l": lid})
			require.NotEmpty(t, resp.Errors)
			for _, e := range resp.Errors {
				assert.Equal(t, "UPSTREAM_RATE_LIMITED", e.Extensions["code"], e.Message)
				wait, ok := e.Extensions["retryAfter"].(float64)
				require.True(t, ok, "extensions.retryAfter is a number: %v", e.Extensions)
				assert.Greater(t, wait, 0.0)
				assert.LessOrEqual(t, wait, tt.maxWait)
				assert.Contains(t, e.Message, "rate limit")
			}
			st := s.stats(t)
			limited := 0
			for _, c := range st.Calls {
				if c.Status == http.StatusTooManyRequests || c.Status == http.StatusForbidden {
					limited += c.Count
				}
			}
			assert.Equal(t, 1, limited, "one call was refused: %+v", st.Calls)

			// The gateway now holds calls on that key back instead of
			// spending more of the budget, and says how long to wait.
			s.resetStats(t)
			resp = s.call(t, `{ countries { name } }`, nil)
			e := apiErrorAt(t, resp, "countries")
			assert.Equal(t, "UPSTREAM_RATE_LIMITED", e.Extensions["code"])
			assert.Greater(t, e.Extensions["retryAfter"], 0.0)
			assert.Zero(t, s.stats(t).TotalCalls, "held back, not sent")

			// Other products have keys, and budgets, of their own.
			var d struct{ CostCodes []struct{ Code string } }
			s.data(t, `query($id: ID!) { costCodes(locationId: $id) { code } }`, map[string]any{"id": apiGlobalID("Location", 41)}, &d)
			assert.NotEmpty(t, d.CostCodes)
		})
	}
}

func TestAPIPartialResultWhenOneProductFails(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t, func(c *engage.Config) { c.Keys[engage.ProductVisitor] = apiWrongKey })
	london := s.location(t, "London HQ")
	zone := s.zone(t, london)
	locID := s.locationID(t, london.Name)
	date := apiLocalDay(time.Now(), zone).AddDate(0, 0, 1).Format(time.DateOnly)

	t.Run("rooms and visitors", func(t *testing.T) {
		resp := s.call(t, `query($loc: ID!, $date: Date!) {
			rooms(locationId: $loc) { name }
			visitors(date: $date, locationId: $loc) { totalCount nodes { id } }
			countries { name }
		}`, map[string]any{"loc": locID, "date": date})
		e := apiErrorAt(t, resp, "visitors")
		assert.Equal(t, "UNAUTHENTICATED", e.Extensions["code"])
		assert.Contains(t, e.Message, "Visitor")
		assert.Len(t, resp.Errors, 1)
		var d struct {
			Rooms     []struct{ Name string }
			Visitors  *struct{ TotalCount int }
			Countries []struct{ Name string }
		}
		require.NoError(t, json.Unmarshal(resp.Data, &d), "%s", resp.Data)
		assert.Len(t, d.Rooms, len(s.resources(london.ID, 1)))
		assert.Nil(t, d.Visitors)
		assert.Len(t, d.Countries, len(s.fx.Countries))
	})

	t.Run("a visitor beside a location", func(t *testing.T) {
		resp := s.call(t, `query($loc: ID!, $v: ID!) { location(id: $loc) { name rooms { name } } visitor(id: $v) { id } }`,
			map[string]any{"loc": locID, "v": apiGlobalID("Visitor", int64(london.ID), apiDayPart(apiLocalDay(time.Now(), zone)), 9001)})
		assert.Equal(t, "UNAUTHENTICATED", apiErrorAt(t, resp, "visitor").Extensions["code"])
		var d struct {
			Location struct {
				Name  string
				Rooms []struct{ Name string }
			}
			Visitor *struct{ ID string }
		}
		require.NoError(t, json.Unmarshal(resp.Data, &d))
		assert.Equal(t, london.Name, d.Location.Name)
		assert.NotEmpty(t, d.Location.Rooms)
		assert.Nil(t, d.Visitor)
	})

	t.Run("a visitor mutation", func(t *testing.T) {
		resp := s.call(t, `mutation($loc: ID!, $at: DateTime!, $u: String!) { registerVisitor(input: {actingUserEmail: $u, firstName: "A", lastName: "B", locationId: $loc, arrival: $at}) { visitor { id } errors { code } } }`,
			map[string]any{"loc": locID, "at": apiAt(apiLocalDay(time.Now(), zone).AddDate(0, 0, 1), 10, 0).Format(time.RFC3339), "u": s.fx.Users[0].Email})
		assert.Equal(t, "UNAUTHENTICATED", apiErrorAt(t, resp, "registerVisitor").Extensions["code"])
	})
}

func TestAPICredentialsAndTokens(t *testing.T) {
	t.Parallel()

	t.Run("a refused password", func(t *testing.T) {
		t.Parallel()
		const wrong = "not-the-demo-password"
		s := newAPIStack(t, func(c *engage.Config) { c.Password = wrong })
		raw := apiRaw(t, s, `{ countries { name } }`)
		assert.NotContains(t, string(raw), wrong)
		var resp gqlResponse
		require.NoError(t, json.Unmarshal(raw, &resp))
		e := apiErrorAt(t, resp, "countries")
		assert.Equal(t, "UNAUTHENTICATED", e.Extensions["code"])
		assert.Contains(t, e.Message, "credentials were rejected")
	})

	t.Run("a revoked token is replaced without the client noticing", func(t *testing.T) {
		t.Parallel()
		s := newAPIStack(t)
		s.locationID(t, "London HQ")
		s.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"revokeTokens": true}, nil)
		s.resetStats(t)
		var d struct{ Countries []struct{ Name string } }
		s.data(t, `{ countries { name } }`, nil, &d)
		assert.Len(t, d.Countries, len(s.fx.Countries))
		assert.Equal(t, 1, s.stats(t).TokensIssued)
	})

	t.Run("a token refused twice", func(t *testing.T) {
		t.Parallel()
		s := newAPIStack(t)
		s.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"unauthorizedNext": 2}, nil)
		resp := s.call(t, `{ countries { name } }`, nil)
		e := apiErrorAt(t, resp, "countries")
		assert.Equal(t, "UNAUTHENTICATED", e.Extensions["code"])
		assert.Equal(t, "The gateway could not authenticate with Engage; try again later.", e.Message)
	})
}

// apiRaw posts one operation and returns the raw answer.
// apiRaw posts an operation, with its variables if any, and returns the raw
// response body.
func apiRaw(t *testing.T, s *apiStack, query string, vars ...map[string]any) []byte {
	t.Helper()
	req := map[string]any{"query": query}
	if len(vars) > 0 {
		req["variables"] = vars[0]
	}
	body, err := json.Marshal(req)
	require.NoError(t, err)
	resp, err := http.Post(s.gwURL+"/graphql", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return raw
}

func TestAPIErrorsLeakNothing(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t, func(c *engage.Config) { c.Keys[engage.ProductCostCode] = apiWrongKey })
	locID := s.locationID(t, "London HQ")
	// A session token is 48 hex digits; none may appear in an answer.
	token := regexp.MustCompile(`[0-9a-f]{40,}`)

	queries := []string{
		`{ costCodes(locationId: "` + locID + `") { id } }`,
		`{ room(id: "garbage") { id } }`,
		`{ booking(id: "` + apiGlobalID("Booking", 424242) + `") { id } }`,
		`{ countries { nope } }`,
		`{ countries { id `,
		`mutation { bookRoom(input: {actingUserEmail: "nobody@example.com", roomId: "x", title: "t", start: "2030-01-01T10:00:00Z", end: "2030-01-01T09:00:00Z"}) { errors { code message } } }`,
	}
	faults := []map[string]any{
		nil,
		{"errorRate": 1, "errorStatus": 500},
		{"ratePerMinute": 1},
	}
	for _, f := range faults {
		if f != nil {
			s.admin(t, http.MethodPost, "/_sim/faults", f, nil)
		}
		for _, q := range queries {
			raw := apiRaw(t, s, q)
			apiAssertNoLeak(t, raw)
			assert.False(t, token.Match(raw), "a token-like string in %s", raw)
			var resp gqlResponse
			require.NoError(t, json.Unmarshal(raw, &resp), "%s", raw)
			assert.Contains(t, string(raw), `"code"`, "a GraphQL error or a UserError: %s", raw)
			for _, e := range resp.Errors {
				assert.NotEmpty(t, e.Extensions["code"], "every error has a code: %s", raw)
			}
		}
		s.admin(t, http.MethodDelete, "/_sim/faults", nil, nil)
	}
}
