package server

// Helpers of the api_*_test.go files: end-to-end tests of every root field and
// mutation of the GraphQL API, over real HTTP, against an engagesim whose
// demo fixture the test also holds, as ground truth.

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiWrongKey is the subscription key the partial-result test gives the
// Visitor product; like every real key, it must never reach a client.
const apiWrongKey = "wrong-visitor-subscription-key"

// apiCallsPerMinute is the simulator's rate limit per key in the API tests.
const apiCallsPerMinute = 10_000

// apiStack is a stack whose simulator started from a fixture the test holds
// an identical copy of.
type apiStack struct {
	*stack
	// fx is a copy of the simulator's initial data, never shared with it.
	fx *engagesim.Fixture
}

// newAPIStack starts an engagesim with the demo fixture of today (UTC) and a
// gateway in front of it. edits change the gateway's upstream settings.
// The gateway has no cache, so every operation that needs a location walks
// the hierarchy (16 calls on the demo tenant); the simulator allows each
// key apiCallsPerMinute, so that the tests of one stack, which run hundreds
// of operations a minute, meet no rate limit they do not set themselves.
func newAPIStack(t *testing.T, edits ...func(*engage.Config)) *apiStack {
	t.Helper()
	today := time.Now().UTC()
	s := newStack(t, engagesim.Config{Fixture: engagesim.DemoFixture(1, today), RatePerMinute: apiCallsPerMinute}, loader.Options{}, edits...)
	return &apiStack{stack: s, fx: engagesim.DemoFixture(1, today)}
}

// call posts one GraphQL operation, checks that its raw answer leaks nothing,
// and decodes it.
func (s *apiStack) call(t testing.TB, query string, vars map[string]any) gqlResponse {
	t.Helper()
	_, _, out := postGraphQL(t, s.gwURL, nil, query, vars)
	return out
}

// data runs an operation that must succeed without errors and decodes its
// data into out.
func (s *apiStack) data(t testing.TB, query string, vars map[string]any, out any) {
	t.Helper()
	resp := s.call(t, query, vars)
	require.Empty(t, resp.Errors, "query %s", query)
	require.NoError(t, json.Unmarshal(resp.Data, out), "%s", resp.Data)
}

// apiTitle is a fixture booking's title as these tests' anonymous caller
// reads it: a private meeting's is hidden.
func apiTitle(b engagesim.Booking) string {
	if b.Private {
		return workplace.PrivateTitle
	}
	return b.Title
}

// apiAssertNoLeak fails when a response body carries a secret of the
// gateway (a subscription key, the password, a bearer token) or a Go stack
// trace.
func apiAssertNoLeak(t testing.TB, raw []byte) {
	t.Helper()
	secrets := []string{engagesim.DefaultPassword, apiWrongKey, "Bearer ", "access_token", "goroutine ", ".go:", "panic("}
	for _, k := range engagesim.DefaultKeys() {
		secrets = append(secrets, k)
	}
	for _, s := range secrets {
		assert.NotContains(t, string(raw), s, "a response leaks %q", s)
	}
}

// apiError is one GraphQL error of a response.
type apiError = struct {
	Message    string         `json:"message"`
	Path       []any          `json:"path"`
	Extensions map[string]any `json:"extensions"`
}

// apiErrorAt returns the error whose path is path (numbers as in JSON).
func apiErrorAt(t testing.TB, resp gqlResponse, path ...any) apiError {
	t.Helper()
	for _, e := range resp.Errors {
		if apiPathEqual(e.Path, path) {
			return e
		}
	}
	require.Failf(t, "no error at path", "want an error at %v; got %+v", path, resp.Errors)
	return apiError{}
}

func apiPathEqual(got, want []any) bool {
	if len(got) != len(want) {
		return false
	}
	for i := range got {
		g, w := got[i], want[i]
		if n, ok := w.(int); ok {
			w = float64(n)
		}
		if g != w {
			return false
		}
	}
	return true
}

// apiUserError is a UserError of a mutation payload.
type apiUserError struct {
	Code    string
	Message string
	Field   []string
}

// Fixture lookups: the ground truth the answers are checked against.

func (s *apiStack) location(t testing.TB, name string) engagesim.Location {
	t.Helper()
	i := slices.IndexFunc(s.fx.Locations, func(l engagesim.Location) bool { return l.Name == name })
	require.GreaterOrEqual(t, i, 0, "no location %q in the fixture", name)
	return s.fx.Locations[i]
}

func (s *apiStack) zone(t testing.TB, loc engagesim.Location) *time.Location {
	t.Helper()
	z, err := time.LoadLocation(loc.IANAZone)
	require.NoError(t, err)
	return z
}

// resources lists the rooms (kind 1) or desks (kind 2) of a location.
func (s *apiStack) resources(locID, kind int) []engagesim.Resource {
	var out []engagesim.Resource
	for _, r := range s.fx.Resources {
		if r.LocationID == locID && r.WorkspaceTypeID == kind {
			out = append(out, r)
		}
	}
	return out
}

// roomBookings lists the fixture bookings of a room that overlap [from, to).
func (s *apiStack) roomBookings(roomID int, from, to time.Time) []engagesim.Booking {
	var out []engagesim.Booking
	for _, b := range s.fx.Bookings {
		if b.RoomID == roomID && b.Start.Before(to) && b.End.After(from) {
			out = append(out, b)
		}
	}
	return out
}

// deskBookings lists the fixture bookings of a desk on the days from..to.
func (s *apiStack) deskBookings(deskID int, from, to string) []engagesim.DeskBooking {
	var out []engagesim.DeskBooking
	for _, d := range s.fx.DeskBookings {
		if d.DeskID == deskID && d.Date >= from && d.Date <= to {
			out = append(out, d)
		}
	}
	return out
}

func (s *apiStack) user(id int) engagesim.User {
	i := slices.IndexFunc(s.fx.Users, func(u engagesim.User) bool { return u.ID == id })
	if i < 0 {
		return engagesim.User{}
	}
	return s.fx.Users[i]
}

// Gateway lookups: global ids as the API issues them.

// locationID returns the global id of the location named name.
func (s *apiStack) locationID(t testing.TB, name string) string {
	t.Helper()
	var d struct{ Locations []struct{ ID, Name string } }
	s.data(t, `{ locations { id name } }`, nil, &d)
	for _, l := range d.Locations {
		if l.Name == name {
			return l.ID
		}
	}
	require.Failf(t, "no location", "%q", name)
	return ""
}

// roomIDs returns the global ids of a location's rooms by name.
func (s *apiStack) roomIDs(t testing.TB, locID string) map[string]string {
	t.Helper()
	var d struct {
		Location struct{ Rooms []struct{ ID, Name string } }
	}
	s.data(t, `query($id: ID!) { location(id: $id) { rooms { id name } } }`, map[string]any{"id": locID}, &d)
	out := map[string]string{}
	for _, r := range d.Location.Rooms {
		out[r.Name] = r.ID
	}
	return out
}

// deskIDs returns the global ids of a location's desks by name.
func (s *apiStack) deskIDs(t testing.TB, locID string) map[string]string {
	t.Helper()
	var d struct {
		Location struct{ Desks []struct{ ID, Name string } }
	}
	s.data(t, `query($id: ID!) { location(id: $id) { desks { id name } } }`, map[string]any{"id": locID}, &d)
	out := map[string]string{}
	for _, r := range d.Location.Desks {
		out[r.Name] = r.ID
	}
	return out
}

// setClock moves the simulator's clock to now.
func (s *apiStack) setClock(t testing.TB, now time.Time) {
	t.Helper()
	s.admin(t, http.MethodPost, "/_sim/clock", map[string]string{"now": now.UTC().Format(time.RFC3339)}, nil)
}

// calls counts the upstream calls of one method and route since the last
// stats reset, whatever their status.
func (s *apiStack) calls(t testing.TB, method, route string) int {
	t.Helper()
	n := 0
	for _, c := range s.stats(t).Calls {
		if c.Method == method && c.Route == route {
			n += c.Count
		}
	}
	return n
}

// apiTime parses a DateTime of a response.
func apiTime(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	require.NoError(t, err, "DateTime %q", s)
	return v
}

// apiOffset is the RFC 3339 offset an instant has in zone, as the API must
// write it: "+01:00", "+00:00", "-05:00".
func apiOffset(at time.Time, zone *time.Location) string {
	return at.In(zone).Format("-07:00")
}

// apiAssertLocal checks that a DateTime of a response names the instant want
// with the offset the zone has then.
func apiAssertLocal(t testing.TB, zone *time.Location, want time.Time, got string, msgAndArgs ...any) {
	t.Helper()
	assert.True(t, apiTime(t, got).Equal(want), "%s is not %s %v", got, want.UTC().Format(time.RFC3339), msgAndArgs)
	assert.True(t, strings.HasSuffix(got, apiOffset(want, zone)), "%s has not the offset %s of %s %v", got, apiOffset(want, zone), zone, msgAndArgs)
}

// apiNextWeekday returns the first Monday-to-Friday date after day.
func apiNextWeekday(day time.Time) time.Time {
	d := day.AddDate(0, 0, 1)
	for d.Weekday() == time.Saturday || d.Weekday() == time.Sunday {
		d = d.AddDate(0, 0, 1)
	}
	return d
}

// apiLocalDay returns local midnight of the date t falls on in zone.
func apiLocalDay(t time.Time, zone *time.Location) time.Time {
	y, m, d := t.In(zone).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, zone)
}

// apiAt returns hh:mm local on the date of day.
func apiAt(day time.Time, hh, mm int) time.Time {
	return time.Date(day.Year(), day.Month(), day.Day(), hh, mm, 0, 0, day.Location())
}

// apiGlobalID builds a global id the way the API encodes them, for ids the
// API never issued (unknown entities); tests get every real id from the API.
func apiGlobalID(typ string, parts ...int64) string {
	s := typ
	for _, p := range parts {
		s += ":" + strconv.FormatInt(p, 10)
	}
	return base64.RawURLEncoding.EncodeToString([]byte(s))
}

// apiDayPart packs a day into one id part, as global ids carry days.
func apiDayPart(day time.Time) int64 {
	return int64(day.Year())*10000 + int64(day.Month())*100 + int64(day.Day())
}

// apiEngageID decodes an engageId, which the API writes as a decimal string
// (Engage ids are 64-bit); a JSON number is refused, so every test that
// reads one checks the wire format too.
type apiEngageID int

func (e *apiEngageID) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("engageId must be a string: %s", b)
	}
	n, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("engageId %q is not a decimal integer", s)
	}
	*e = apiEngageID(n)
	return nil
}
