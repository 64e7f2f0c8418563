package server

// Exact upstream call counts of representative GraphQL operations. The
// upstream allows 500 calls a minute and has no route that fetches many
// rooms, desks or bookings by id, so what an operation costs is the gateway's
// most important number. Each test states the fewest calls the API allows for
// its operation and why, derives the counts from the data the simulator
// serves, and asserts exact equality with GET /_sim/stats after a reset, per
// route and in total. A recording transport under the gateway's client also
// checks that one operation never sends the same request (method, path and
// query) twice.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/loader"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The four representative operations, shared with bench_test.go.
const (
	// (a) a location's rooms with today's bookings, their hosts and visitors.
	ccRoomsQuery = `query Rooms($id: ID!) {
  location(id: $id) { rooms { name bookings { title host { name email } visitors { firstName } } } }
}`
	// (b) a floor's desks with the week's desk bookings (from today).
	ccDesksQuery = `query Desks($loc: ID!, $floor: Int!, $from: Date!, $to: Date!) {
  desks(locationId: $loc, floor: $floor) { name bookings(from: $from, to: $to) { date status user { email } } }
}`
	// (c) today's visitors with their hosts and rooms.
	ccVisitorsQuery = `query Visitors($date: Date!, $loc: ID!) {
  visitors(date: $date, locationId: $loc) { nodes { firstName host { name } room { name } } }
}`
	// (d) a booking by id with everything under it.
	ccBookingQuery = `query Booking($id: ID!) {
  booking(id: $id) {
    title room { name location { name } } host { name } requestor { name } creator { name }
    costCode { code } visitors { firstName } serviceOrders { quantity service { name } }
  }
}`
)

// ccWait is the loaders' batch window in these tests. The minimum counts
// hold when the keys of one level of a query (the rooms' bookings, say)
// reach their loader within one window; sibling fields run in goroutines,
// so that is up to the scheduler. The default, 2ms, is shorter than a Go
// scheduling slice (10ms): on a 2-core machine busy with other test
// binaries the rooms' bookings can fall into two batches, and when the first
// names fewer than three hosts their lookups cost a filtered call each
// before the second lists every user. The tests pin a wider window so that
// they measure the batching rules, not the load of the machine; the
// benchmarks run with the defaults and report what they cost.
const ccWait = 25 * time.Millisecond

// Workspace types of the upstream's resources [C].
const (
	ccRoomType = 1
	ccDeskType = 2
)

// ccExtra is how many bookings the fixture adds at London HQ today (19:00,
// after every demo booking there), each in its own room, hosted by its own
// user and expecting one visitor, so every representative query has hosts,
// visitors and rooms to resolve whatever the weekday.
const ccExtra = 5

// ccEnv is a gateway and simulator serving the demo tenant plus the extra
// bookings, with the data the expectations are derived from.
type ccEnv struct {
	*stack
	rec *ccRecorder // nil when not recording

	fix      *engagesim.Fixture
	london   engagesim.Location
	zone     *time.Location
	today    time.Time // midnight at London HQ, today
	featured engagesim.Booking

	locID      string // London HQ's GraphQL id
	bookingID  string // the featured booking's GraphQL id
	roomID     string // its room's GraphQL id
	orderCount int    // service orders placed on it
}

// newCCEnv builds the tenant, starts the stack (recording the gateway's
// upstream requests when record is set), and warms what the client keeps
// for the life of the process (the session token, the location zones) while
// it looks up the GraphQL ids and orders two services for the featured
// booking. The simulator's counts are not reset here: measure does that.
func newCCEnv(tb testing.TB, cfg engagesim.Config, opts loader.Options, record bool) *ccEnv {
	tb.Helper()
	e := &ccEnv{}
	e.buildFixture(tb, time.Now())
	cfg.Fixture = e.fix
	var edits []func(*engage.Config)
	if record {
		e.rec = newCCRecorder()
		edits = append(edits, func(c *engage.Config) { c.HTTPClient = &http.Client{Transport: e.rec} })
	}
	e.stack = newStack(tb, cfg, opts, edits...)

	var locs struct {
		Locations []struct{ ID, Name string }
	}
	e.must(tb, `{ locations { id name } }`, nil, &locs)
	for _, l := range locs.Locations {
		if l.Name == e.london.Name {
			e.locID = l.ID
		}
	}
	require.NotEmpty(tb, e.locID, "London HQ's id")

	var rooms struct {
		Location struct {
			Rooms []struct {
				ID       string
				Bookings []struct {
					ID       string
					EngageID apiEngageID
				}
			}
			VendorServices []struct {
				Services []struct{ ID string }
			}
		}
	}
	e.must(tb, `query($id: ID!) { location(id: $id) { rooms { id bookings { id engageId } } vendorServices { services { id } } } }`,
		map[string]any{"id": e.locID}, &rooms)
	for _, r := range rooms.Location.Rooms {
		for _, b := range r.Bookings {
			if int(b.EngageID) == e.featured.ID {
				e.bookingID, e.roomID = b.ID, r.ID
			}
		}
	}
	require.NotEmpty(tb, e.bookingID, "the featured booking's id")

	// Two orders, from two vendors: one booking's orders are one call, and
	// services of one location are one call, however many there are.
	vendors := rooms.Location.VendorServices
	require.GreaterOrEqual(tb, len(vendors), 2, "vendors at London HQ")
	for i, v := range vendors[:2] {
		require.NotEmpty(tb, v.Services)
		var out struct {
			OrderVendorService struct {
				Order  *struct{ ID string }
				Errors []struct{ Message string }
			}
		}
		e.must(tb, `mutation($in: OrderVendorServiceInput!) { orderVendorService(input: $in) { order { id } errors { message } } }`,
			map[string]any{"in": map[string]any{
				"actingUserEmail": e.userEmail(e.featured.UserID), "bookingId": e.bookingID,
				"serviceId": v.Services[0].ID, "quantity": i + 2,
			}}, &out)
		require.Empty(tb, out.OrderVendorService.Errors)
		require.NotNil(tb, out.OrderVendorService.Order)
		e.orderCount++
	}
	return e
}

// buildFixture is the demo tenant of now, plus ccExtra bookings at London HQ
// today with a visitor each; the first of them (the featured booking) is
// charged to a cost code of London HQ.
func (e *ccEnv) buildFixture(tb testing.TB, now time.Time) {
	tb.Helper()
	f := engagesim.DemoFixture(1, now.UTC())
	for _, l := range f.Locations {
		if l.Name == "London HQ" {
			e.london = l
		}
	}
	require.NotZero(tb, e.london.ID, "the demo tenant has London HQ")
	zone, err := time.LoadLocation(e.london.IANAZone)
	require.NoError(tb, err)
	e.zone = zone
	y, m, d := now.In(zone).Date()
	e.today = time.Date(y, m, d, 0, 0, 0, 0, zone)

	var code engagesim.CostCode
	for _, c := range f.CostCodes {
		if c.LocationID == e.london.ID && c.IsActive {
			code = c
			break
		}
	}
	require.NotZero(tb, code.ID, "an active cost code at London HQ")
	rooms := e.resources(f, ccRoomType, func(engagesim.Resource) bool { return true })
	require.GreaterOrEqual(tb, len(rooms), ccExtra)
	require.GreaterOrEqual(tb, len(f.Users), ccExtra)

	nextBooking, nextVisitor := 0, 0
	for _, b := range f.Bookings {
		nextBooking = max(nextBooking, b.ID)
	}
	for _, v := range f.Visitors {
		nextVisitor = max(nextVisitor, v.ID)
	}
	start := e.today.Add(19 * time.Hour)
	for i := range ccExtra {
		nextBooking++
		nextVisitor++
		b := engagesim.Booking{
			ID: nextBooking, RoomID: rooms[i].ID, UserID: f.Users[i].ID, Title: fmt.Sprintf("Call count check %d", i+1),
			Start: start.UTC(), End: start.Add(30 * time.Minute).UTC(), Attendees: 2, SetupStyle: 1,
			CreatedOn: now.Add(-time.Hour).UTC(), ModifiedOn: now.Add(-time.Hour).UTC(),
		}
		if i == 0 {
			b.CostCodeID = code.ID
			e.featured = b
		}
		f.Bookings = append(f.Bookings, b)
		f.Visitors = append(f.Visitors, engagesim.Visitor{
			ID: nextVisitor, FirstName: fmt.Sprintf("Guest%d", i+1), LastName: "Visitor", Company: "Acme Corp",
			Email: fmt.Sprintf("guest%d@visitor.example.com", i+1), HostID: b.UserID, LocationID: e.london.ID,
			FloorNumber: rooms[i].FloorNumber, RoomID: rooms[i].ID, BookingID: b.ID, Arrival: start.Add(-10 * time.Minute).UTC(),
			MeetingName: b.Title, PassType: 1, Purpose: "Meeting",
		})
	}
	e.fix = f
}

// must runs a setup operation that has to succeed and decodes its data.
func (e *ccEnv) must(tb testing.TB, query string, vars map[string]any, out any) {
	tb.Helper()
	r := e.query(tb, query, vars)
	require.Empty(tb, r.Errors, "setup operation failed")
	require.NoError(tb, json.Unmarshal(r.Data, out))
}

// The simulator's data, read from the fixture it was started with.

// resources lists London HQ's rooms or desks that keep says to keep.
func (e *ccEnv) resources(f *engagesim.Fixture, typ int, keep func(engagesim.Resource) bool) []engagesim.Resource {
	var out []engagesim.Resource
	for _, r := range f.Resources {
		if r.LocationID == e.london.ID && r.WorkspaceTypeID == typ && keep(r) {
			out = append(out, r)
		}
	}
	return out
}

func (e *ccEnv) userEmail(id int) string {
	for _, u := range e.fix.Users {
		if u.ID == id {
			return u.Email
		}
	}
	return ""
}

// day is the date of t at London HQ, as the API writes dates.
func (e *ccEnv) day(t time.Time) string { return t.In(e.zone).Format(time.DateOnly) }

// bookingsToday lists the bookings of London HQ's rooms that overlap today
// there (from its midnight to the next).
func (e *ccEnv) bookingsToday() []engagesim.Booking {
	rooms := map[int]bool{}
	for _, r := range e.resources(e.fix, ccRoomType, func(engagesim.Resource) bool { return true }) {
		rooms[r.ID] = true
	}
	end := e.today.AddDate(0, 0, 1)
	var out []engagesim.Booking
	for _, b := range e.fix.Bookings {
		if rooms[b.RoomID] && b.Start.Before(end) && b.End.After(e.today) {
			out = append(out, b)
		}
	}
	return out
}

// ccBookingDays is the window of local dates the gateway lists a room's
// bookings for, to answer the instants first..last without the location's
// zone: their UTC dates, a day either side (a local date is within a day of
// the UTC date), and one day more before (bookings running into the window
// across midnight).
func ccBookingDays(first, last time.Time) (string, string) {
	return first.UTC().AddDate(0, 0, -2).Format(time.DateOnly), last.UTC().AddDate(0, 0, 1).Format(time.DateOnly)
}

// ccBookingDaysOf is ccBookingDays for the window [from, to).
func ccBookingDaysOf(from, to time.Time) (string, string) {
	return ccBookingDays(from, to.Add(-time.Nanosecond))
}

// ccWindows cuts the local dates from..to (YYYY-MM-DD, inclusive) into the
// upstream's windows of at most 14 days.
func ccWindows(t testing.TB, from, to string) [][2]string {
	t.Helper()
	f, err := time.Parse(time.DateOnly, from)
	require.NoError(t, err)
	l, err := time.Parse(time.DateOnly, to)
	require.NoError(t, err)
	var out [][2]string
	for start := f; !start.After(l); start = start.AddDate(0, 0, 14) {
		end := start.AddDate(0, 0, 13)
		if end.After(l) {
			end = l
		}
		out = append(out, [2]string{start.Format(time.DateOnly), end.Format(time.DateOnly)})
	}
	return out
}

// walkCost is what finding one location costs: the upstream lists locations
// by region and regions by country only, so one GET /countries, one GET
// /regions per country and one GET /locations per region.
func (e *ccEnv) walkCost() map[string]int {
	return map[string]int{"GET /countries": 1, "GET /regions": len(e.fix.Countries), "GET /locations": len(e.fix.Regions)}
}

// visitorsToday lists the visitors expected at London HQ today.
func (e *ccEnv) visitorsToday() []engagesim.Visitor {
	var out []engagesim.Visitor
	for _, v := range e.fix.Visitors {
		if v.LocationID == e.london.ID && e.day(v.Arrival) == e.day(e.today) {
			out = append(out, v)
		}
	}
	return out
}

// busiestFloor is the floor of London HQ with the most desks, and its desks.
func (e *ccEnv) busiestFloor() (int, []engagesim.Resource) {
	count := map[int]int{}
	for _, d := range e.resources(e.fix, ccDeskType, func(engagesim.Resource) bool { return true }) {
		count[d.FloorNumber]++
	}
	floor := 0
	for _, f := range slices.Sorted(maps.Keys(count)) {
		if count[f] > count[floor] {
			floor = f
		}
	}
	return floor, e.resources(e.fix, ccDeskType, func(r engagesim.Resource) bool { return r.FloorNumber == floor })
}

// week is the seven days from today at London HQ: the demo tenant's desk
// bookings start today, so the week ahead has some whatever the weekday.
func (e *ccEnv) week() (time.Time, time.Time) {
	return e.today, e.today.AddDate(0, 0, 6)
}

// Expected costs, derived from that data.

// ccUserCalls is the fewest GET /users calls that find the users holding n
// distinct emails under the loaders' rule: none for none, one ?emailId= call
// each for one or two, and from three on (loader.Options.UsersListAll's
// default) one call listing every user, which is then fewer calls. Listing
// everyone would serve two emails in one call too; the rule keeps the
// answers short for lookups of one or two people.
func ccUserCalls(n int) int {
	if n < 3 {
		return n
	}
	return 1
}

// roomsCost is what query (a) costs at London HQ today, at the least:
//   - no call for the location itself: the query asks only for its rooms,
//     which its id alone leads to, and the rooms' bookings carry the zone
//     that says which day is "today" for the default window;
//   - GET /rooms once, for the location's R rooms;
//   - GET /bookings once per room (R): bookings are listed room by room, and
//     today in any zone (with the day before it) is one window of at most
//     14 days;
//   - GET /users: the hosts' distinct emails, per ccUserCalls (one call
//     listing every user once there are three or more);
//   - GET /visitor once when there is any booking: every booking is today at
//     the same location, and one call lists that day's visitors.
//
// So R+3 on a day with bookings hosted by three or more people.
func (e *ccEnv) roomsCost() (map[string]int, ccRoomsFacts) {
	var facts ccRoomsFacts
	facts.rooms = len(e.resources(e.fix, ccRoomType, func(engagesim.Resource) bool { return true }))
	hosts := map[string]bool{}
	ids := map[int]bool{}
	for _, b := range e.bookingsToday() {
		hosts[strings.ToLower(e.userEmail(b.UserID))] = true
		ids[b.ID] = true
		facts.bookings++
	}
	for _, v := range e.fix.Visitors {
		if ids[v.BookingID] {
			facts.visitors++
		}
	}
	facts.hosts = len(hosts)
	return ccWant(map[string]int{
		"GET /rooms":    1,
		"GET /bookings": facts.rooms,
		"GET /users":    ccUserCalls(facts.hosts),
		"GET /visitor":  ccIf(facts.bookings > 0),
	}), facts
}

// ccRoomsFacts is what the data holds for query (a).
type ccRoomsFacts struct{ rooms, bookings, hosts, visitors int }

// ccWant drops the routes an operation is expected not to call.
func ccWant(m map[string]int) map[string]int {
	maps.DeleteFunc(m, func(_ string, n int) bool { return n == 0 })
	return m
}

func ccIf(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Measuring.

// ccCost is what one measurement cost upstream.
type ccCost struct {
	total    int            // the simulator's totalCalls
	routes   map[string]int // the simulator's count per "METHOD /route"
	tokens   int            // token requests
	requests []string       // what the gateway sent, "METHOD /path?query" (when recording)
}

// measure zeroes the simulator's counts, runs one operation, which must
// succeed, and returns its data and what it cost.
func (e *ccEnv) measure(t *testing.T, query string, vars map[string]any) (json.RawMessage, ccCost) {
	t.Helper()
	e.resetStats(t)
	e.rec.reset()
	r := e.query(t, query, vars)
	require.Empty(t, r.Errors, "the operation must succeed")
	return r.Data, e.cost(t)
}

// cost reads the simulator's counts since the last reset. Every call must
// have succeeded: a failed call would be counted but prove nothing.
func (e *ccEnv) cost(t testing.TB) ccCost {
	t.Helper()
	st := e.stats(t)
	c := ccCost{total: st.TotalCalls, routes: map[string]int{}, tokens: st.TokenRequests, requests: e.rec.requests()}
	for _, cs := range st.Calls {
		require.Equal(t, http.StatusOK, cs.Status, "%s %s answered %d", cs.Method, cs.Route, cs.Status)
		c.routes[cs.Method+" "+cs.Route] += cs.Count
	}
	return c
}

// assertCost checks a measured cost against the expected calls per route:
// the same routes, the same counts, the total their sum, no token request (the
// warm-up fetched it), the recorder saw every call, and no request was sent
// twice (so each route's count is its number of distinct keys).
func assertCost(t *testing.T, want map[string]int, got ccCost) {
	t.Helper()
	total := 0
	for _, n := range want {
		total += n
	}
	assert.Equal(t, want, got.routes, "calls per route")
	assert.Equal(t, total, got.total, "total calls")
	assert.Zero(t, got.tokens, "token requests: the warm-up fetched the token")
	assert.Len(t, got.requests, got.total, "requests the recorder saw")
	assert.Empty(t, ccRepeated(got.requests, 1), "requests sent more than once by one operation")
}

// ccRepeated returns the requests sent other than n times each.
func ccRepeated(requests []string, n int) map[string]int {
	count := map[string]int{}
	for _, r := range requests {
		count[r]++
	}
	maps.DeleteFunc(count, func(_ string, c int) bool { return c == n })
	return count
}

// ccMatching returns the requests of one route (method and path).
func ccMatching(requests []string, route string) []string {
	var out []string
	for _, r := range requests {
		if p, _, _ := strings.Cut(r, "?"); p == route {
			out = append(out, r)
		}
	}
	return out
}

// ccParam reads one query parameter of a recorded request.
func ccParam(t *testing.T, request, name string) string {
	t.Helper()
	_, q, _ := strings.Cut(request, "?")
	v, err := url.ParseQuery(q)
	require.NoError(t, err)
	return v.Get(name)
}

// ccRecorder is the gateway client's transport in these tests. It notes every
// API request as "METHOD /path?query" (the path after /api/V1, the query
// sorted), and how many requests of each path are in flight at once. Token
// requests pass through unrecorded; the simulator counts them apart.
type ccRecorder struct {
	base http.RoundTripper

	mu       sync.Mutex
	calls    []string
	timed    []ccCall
	inFlight map[string]int
	most     map[string]int
}

// ccCall is one API request as the recorder saw it: the request (its body
// left out: the calls timed are reads) and when it was sent and answered.
type ccCall struct {
	req        *http.Request
	start, end time.Time
}

func newCCRecorder() *ccRecorder {
	base := http.DefaultTransport.(*http.Transport).Clone()
	base.MaxIdleConnsPerHost = 128
	return &ccRecorder{base: base, inFlight: map[string]int{}, most: map[string]int{}}
}

// RoundTrip implements http.RoundTripper.
func (r *ccRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	_, path, ok := strings.Cut(req.URL.Path, "/api/V1")
	if !ok {
		return r.base.RoundTrip(req)
	}
	r.mu.Lock()
	r.calls = append(r.calls, req.Method+" "+path+"?"+req.URL.Query().Encode())
	r.inFlight[path]++
	r.most[path] = max(r.most[path], r.inFlight[path])
	r.mu.Unlock()
	start := time.Now()
	resp, err := r.base.RoundTrip(req)
	end := time.Now()
	r.mu.Lock()
	r.inFlight[path]--
	if req.Body == nil || req.Body == http.NoBody {
		r.timed = append(r.timed, ccCall{req: req.Clone(context.Background()), start: start, end: end})
	}
	r.mu.Unlock()
	return resp, err
}

// timedCalls are the bodiless API requests since the last reset, with
// when each was sent and answered.
func (r *ccRecorder) timedCalls() []ccCall {
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.timed)
}

func (r *ccRecorder) reset() {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls, r.timed = nil, nil
	clear(r.most)
}

func (r *ccRecorder) requests() []string {
	if r == nil {
		return nil
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return slices.Clone(r.calls)
}

// mostInFlight is the most requests of path that were in flight at once.
func (r *ccRecorder) mostInFlight(path string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.most[path]
}

// The representative operations.

// TestCallCountLocationRooms measures query (a); roomsCost gives its minimum,
// R+3 with the demo's 22 rooms at London HQ: 25 calls.
func TestCallCountLocationRooms(t *testing.T) {
	e := newCCEnv(t, engagesim.Config{}, loader.Options{Wait: ccWait}, true)
	want, facts := e.roomsCost()
	require.GreaterOrEqual(t, facts.hosts, 3, "the data has hosts enough to list every user")
	require.GreaterOrEqual(t, facts.visitors, ccExtra, "the data has visitors")

	before := time.Now()
	data, got := e.measure(t, ccRoomsQuery, map[string]any{"id": e.locID})
	after := time.Now()
	var resp struct {
		Location struct {
			Rooms []struct {
				Bookings []struct {
					Host     struct{ Email string }
					Visitors []struct{ FirstName string }
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal(data, &resp))
	var shown ccRoomsFacts
	hosts := map[string]bool{}
	for _, r := range resp.Location.Rooms {
		shown.rooms++
		for _, b := range r.Bookings {
			shown.bookings++
			shown.visitors += len(b.Visitors)
			hosts[strings.ToLower(b.Host.Email)] = true
		}
	}
	shown.hosts = len(hosts)
	require.Equal(t, facts, shown, "the answer shows the simulator's data")

	assertCost(t, want, got)
	from1, to1 := ccBookingDays(before, before)
	from2, to2 := ccBookingDays(after, after)
	for _, r := range ccMatching(got.requests, "GET /bookings") {
		assert.Contains(t, []string{from1, from2}, ccParam(t, r, "startDate"), r)
		assert.Contains(t, []string{to1, to2}, ccParam(t, r, "endDate"), r)
		assert.Equal(t, "false", ccParam(t, r, "isUTCDateTime"), "the days are local: %s", r)
	}
	assert.Equal(t, []string{"GET /users?"}, ccMatching(got.requests, "GET /users"), "one call listing every user")
	t.Logf("query (a): %d rooms, %d bookings, %d hosts, %d visitors: %d calls", facts.rooms, facts.bookings, facts.hosts, facts.visitors, got.total)
}

// TestCallCountFloorDesks measures query (b) on the floor of London HQ with
// the most desks, for the week from today. Its minimum:
//   - GET /desks once: the location's desks, filtered to the floor here
//     (there is no route per floor);
//   - GET /deskBookings once per desk on the floor (D): desk bookings are
//     listed desk by desk, and a week is one window of at most 14 days;
//   - GET /users once when any of those bookings names a user: desk bookings
//     carry a user id only, and users are found by email or listed whole.
//
// No GET /locations: the window is given in full, so no location's "today"
// is needed (the gateway used to read the locations for it anyway).
// So D+2 when the desks are booked.
func TestCallCountFloorDesks(t *testing.T) {
	e := newCCEnv(t, engagesim.Config{}, loader.Options{Wait: ccWait}, true)
	floor, desks := e.busiestFloor()
	from, to := e.week()
	onFloor := map[int]bool{}
	for _, d := range desks {
		onFloor[d.ID] = true
	}
	booked := 0
	for _, b := range e.fix.DeskBookings {
		if onFloor[b.DeskID] && b.UserID != 0 && b.Date >= e.day(from) && b.Date <= e.day(to) {
			booked++
		}
	}
	require.NotZero(t, booked, "the floor's desks are booked in the week")

	data, got := e.measure(t, ccDesksQuery, map[string]any{"loc": e.locID, "floor": floor, "from": e.day(from), "to": e.day(to)})
	var resp struct {
		Desks []struct {
			Bookings []struct{ User *struct{ Email string } }
		}
	}
	require.NoError(t, json.Unmarshal(data, &resp))
	require.Len(t, resp.Desks, len(desks))
	shown := 0
	for _, d := range resp.Desks {
		for _, b := range d.Bookings {
			require.NotNil(t, b.User)
			shown++
		}
	}
	require.Equal(t, booked, shown, "the answer shows the simulator's desk bookings")

	assertCost(t, ccWant(map[string]int{
		"GET /desks":        1,
		"GET /deskBookings": len(desks),
		"GET /users":        1,
	}), got)
	for _, r := range ccMatching(got.requests, "GET /deskBookings") {
		assert.Equal(t, e.day(from), ccParam(t, r, "startDate"), r)
		assert.Equal(t, e.day(to), ccParam(t, r, "endDate"), r)
	}
	assert.Equal(t, []string{"GET /users?"}, ccMatching(got.requests, "GET /users"), "one call listing every user")
	t.Logf("query (b): floor %d, %d desks, %d desk bookings: %d calls", floor, len(desks), booked, got.total)
}

// TestCallCountVisitorsToday measures query (c) at London HQ today. Its
// minimum:
//   - GET /visitor once: one call lists the day's visitors at the location,
//     all pages at once;
//   - GET /users: the hosts' distinct emails, per ccUserCalls;
//   - GET /rooms once when any visitor names a room: every room is at the
//     one location, and rooms are listed by location.
//
// Placing the visitors' local times needs the location zones, which the
// client keeps for the process (the warm-up filled them), so no GET
// /locations. So 3 calls with three or more hosts.
func TestCallCountVisitorsToday(t *testing.T) {
	e := newCCEnv(t, engagesim.Config{}, loader.Options{Wait: ccWait}, true)
	visitors := e.visitorsToday()
	hosts := map[string]bool{}
	withRoom := 0
	for _, v := range visitors {
		hosts[strings.ToLower(e.userEmail(v.HostID))] = true
		if v.RoomID != 0 {
			withRoom++
		}
	}
	require.GreaterOrEqual(t, len(hosts), 3, "the data has hosts enough to list every user")

	data, got := e.measure(t, ccVisitorsQuery, map[string]any{"date": e.day(e.today), "loc": e.locID})
	var resp struct {
		Visitors struct {
			Nodes []struct {
				Host *struct{ Name string }
				Room *struct{ Name string }
			}
		}
	}
	require.NoError(t, json.Unmarshal(data, &resp))
	require.Len(t, resp.Visitors.Nodes, len(visitors), "the answer shows the simulator's visitors")
	for _, v := range resp.Visitors.Nodes {
		require.NotNil(t, v.Host)
	}

	assertCost(t, ccWant(map[string]int{
		"GET /visitor": 1,
		"GET /users":   ccUserCalls(len(hosts)),
		"GET /rooms":   ccIf(withRoom > 0),
	}), got)
	t.Logf("query (c): %d visitors, %d hosts: %d calls", len(visitors), len(hosts), got.total)
}

// TestCallCountBookingByID measures query (d) on the featured booking: in a
// room at London HQ today, hosted, requested and created by one user,
// charged to a cost code, expecting one visitor, with two service orders
// from two vendors. Its minimum is one call per distinct thing it names, as
// the upstream has a route for one booking and lists everything else by its
// parent:
//   - GET /bookings/{id} once;
//   - GET /rooms once (the room, listed with its location's rooms);
//   - the walk to the room's location (walkCost: there is no route for one
//     location, and locations are listed by region only);
//   - GET /users once, ?emailId=: host, requestor and creator are one email;
//   - GET /costcodes once (the location's codes);
//   - GET /visitor once (the booking's day at its location);
//   - GET /vendorservices/orders once (the booking's orders);
//   - GET /vendorservices once (the location's vendors, for both services).
//
// So 7 calls and the walk: 19 on the demo tenant.
func TestCallCountBookingByID(t *testing.T) {
	e := newCCEnv(t, engagesim.Config{}, loader.Options{Wait: ccWait}, true)
	data, got := e.measure(t, ccBookingQuery, map[string]any{"id": e.bookingID})
	var resp struct {
		Booking struct {
			Title                    string
			Host, Requestor, Creator *struct{ Name string }
			CostCode                 *struct{ Code string }
			Visitors                 []struct{ FirstName string }
			ServiceOrders            []struct {
				Service *struct{ Name string }
			}
		}
	}
	require.NoError(t, json.Unmarshal(data, &resp))
	b := resp.Booking
	require.Equal(t, e.featured.Title, b.Title)
	require.NotNil(t, b.Host)
	require.NotNil(t, b.CostCode)
	require.Len(t, b.Visitors, 1)
	require.Len(t, b.ServiceOrders, e.orderCount)
	for _, o := range b.ServiceOrders {
		require.NotNil(t, o.Service)
	}

	want := map[string]int{
		"GET /bookings/{id}":         1,
		"GET /rooms":                 1,
		"GET /users":                 ccUserCalls(1),
		"GET /costcodes":             1,
		"GET /visitor":               1,
		"GET /vendorservices/orders": 1,
		"GET /vendorservices":        1,
	}
	maps.Copy(want, e.walkCost())
	assertCost(t, want, got)
	users := ccMatching(got.requests, "GET /users")
	require.Len(t, users, 1)
	assert.Equal(t, e.userEmail(e.featured.UserID), ccParam(t, users[0], "emailId"))
}

// TestCallCountDuplicateKeysCollapse checks that asking for the same thing
// twice in one operation, through aliases, costs nothing extra.
func TestCallCountDuplicateKeysCollapse(t *testing.T) {
	e := newCCEnv(t, engagesim.Config{}, loader.Options{Wait: ccWait}, true)

	t.Run("a location's rooms twice", func(t *testing.T) {
		// Query (a) twice under two aliases costs what it costs once.
		want, _ := e.roomsCost()
		body := `location(id: $id) { rooms { name bookings { title host { name email } visitors { firstName } } } }`
		_, got := e.measure(t, `query($id: ID!) { one: `+body+` two: `+body+` }`, map[string]any{"id": e.locID})
		assertCost(t, want, got)
	})
	t.Run("a room twice", func(t *testing.T) {
		// One GET /rooms for the room, one GET /bookings for its day (the
		// bookings carry the zone that says which day is today there).
		body := `room(id: $id) { name bookings { title } }`
		_, got := e.measure(t, `query($id: ID!) { one: `+body+` two: `+body+` }`, map[string]any{"id": e.roomID})
		assertCost(t, map[string]int{"GET /rooms": 1, "GET /bookings": 1}, got)
	})
	t.Run("a room's floor", func(t *testing.T) {
		// The floor is in the room's own listing: one GET /rooms, no GET
		// /desks.
		_, got := e.measure(t, `query($id: ID!) { room(id: $id) { name floor { number name } } }`, map[string]any{"id": e.roomID})
		assertCost(t, map[string]int{"GET /rooms": 1}, got)
	})
	t.Run("a location's name", func(t *testing.T) {
		// A location's own fields need the location: the walk.
		_, got := e.measure(t, `query($id: ID!) { location(id: $id) { name timeZone } }`, map[string]any{"id": e.locID})
		assertCost(t, e.walkCost(), got)
	})
	t.Run("a booking three times", func(t *testing.T) {
		// One GET /bookings/{id}, one GET /rooms, one GET /users?emailId=.
		body := `booking(id: $id) { title room { name } host { email } }`
		_, got := e.measure(t, `query($id: ID!) { one: `+body+` two: `+body+` three: `+body+` }`, map[string]any{"id": e.bookingID})
		assertCost(t, map[string]int{"GET /bookings/{id}": 1, "GET /rooms": 1, "GET /users": 1}, got)
	})
}

// TestCallCountWindowsSplit checks that a window wider than the upstream's
// 14 days costs one call per 14-day window (both ends inclusive), and that
// the windows are consecutive and cover the days asked.
func TestCallCountWindowsSplit(t *testing.T) {
	e := newCCEnv(t, engagesim.Config{}, loader.Options{Wait: ccWait}, true)
	windows := func(from time.Time, days int) [][2]string {
		return ccWindows(t, e.day(from), e.day(from.AddDate(0, 0, days-1)))
	}
	sent := func(t *testing.T, requests []string) [][2]string {
		var out [][2]string
		for _, r := range requests {
			out = append(out, [2]string{ccParam(t, r, "startDate"), ccParam(t, r, "endDate")})
		}
		return out
	}

	for _, days := range []int{1, 11, 12, 14, 15, 28, 29, 40} {
		t.Run(fmt.Sprintf("a room's bookings over %d days", days), func(t *testing.T) {
			// One GET /rooms (the room) and no call for its location: the
			// days listed cover the window in any zone (its UTC dates, a
			// day either side, and the day before for bookings running
			// into it), in windows of 14 days.
			to := e.today.AddDate(0, 0, days)
			_, got := e.measure(t, `query($id: ID!, $from: DateTime!, $to: DateTime!) { room(id: $id) { bookings(from: $from, to: $to) { title } } }`,
				map[string]any{"id": e.roomID, "from": e.today.Format(time.RFC3339), "to": to.Format(time.RFC3339)})
			first, last := ccBookingDaysOf(e.today, to)
			want := ccWindows(t, first, last)
			assertCost(t, map[string]int{"GET /rooms": 1, "GET /bookings": len(want)}, got)
			assert.ElementsMatch(t, want, sent(t, ccMatching(got.requests, "GET /bookings")))
		})
	}
	t.Run("a floor's desk bookings over 20 days", func(t *testing.T) {
		// One GET /desks, and two GET /deskBookings per desk: days 1-14 and 15-20.
		floor, desks := e.busiestFloor()
		to := e.today.AddDate(0, 0, 19)
		_, got := e.measure(t, `query($loc: ID!, $floor: Int!, $from: Date!, $to: Date!) { desks(locationId: $loc, floor: $floor) { bookings(from: $from, to: $to) { date } } }`,
			map[string]any{"loc": e.locID, "floor": floor, "from": e.day(e.today), "to": e.day(to)})
		assertCost(t, map[string]int{"GET /desks": 1, "GET /deskBookings": 2 * len(desks)}, got)
		var want [][2]string
		for range desks {
			want = append(want, windows(e.today, 20)...)
		}
		assert.ElementsMatch(t, want, sent(t, ccMatching(got.requests, "GET /deskBookings")))
	})
}

// ccPost runs one operation from any goroutine (no testing.TB to fail).
func ccPost(gwURL, query string, vars map[string]any) (gqlResponse, error) {
	out, err := postOperation(gwURL, query, vars)
	if err != nil {
		return gqlResponse{}, err
	}
	if len(out.Errors) > 0 {
		return out, fmt.Errorf("operation failed: %s", out.Errors[0].Message)
	}
	return out, nil
}

// TestCallCountParallelOperations runs eight copies of query (a) at once:
// loaders are per operation, so together they cost exactly eight times one
// (nothing shared, nothing lost), and every request is sent exactly eight
// times, once by each.
func TestCallCountParallelOperations(t *testing.T) {
	const copies = 8
	e := newCCEnv(t, engagesim.Config{}, loader.Options{Wait: ccWait}, true)
	one, _ := e.roomsCost()
	want := map[string]int{}
	for route, n := range one {
		want[route] = copies * n
	}

	e.resetStats(t)
	e.rec.reset()
	errs := make([]error, copies)
	var wg sync.WaitGroup
	for i := range copies {
		wg.Go(func() { _, errs[i] = ccPost(e.gwURL, ccRoomsQuery, map[string]any{"id": e.locID}) })
	}
	wg.Wait()
	require.NoError(t, errors.Join(errs...))

	got := e.cost(t)
	total := 0
	for _, n := range want {
		total += n
	}
	assert.Equal(t, want, got.routes, "calls per route")
	assert.Equal(t, total, got.total, "total calls")
	assert.Zero(t, got.tokens, "token requests")
	assert.Len(t, got.requests, got.total)
	assert.Empty(t, ccRepeated(got.requests, copies), "requests not sent exactly once per operation")
}

// TestCallCountFanOutConcurrent watches the fan-out against a slow upstream
// (100ms a call) with FanOut 4: query (a)'s GET /bookings calls overlap, and
// the count does not change. The bound itself (never more than FanOut calls
// of one batch at once) is asserted in loader/loader_test.go, where the
// batches are under the test's control; here keys may fall into more than one
// batch, so the most in flight is reported, not asserted, and neither is the
// time taken.
func TestCallCountFanOutConcurrent(t *testing.T) {
	e := newCCEnv(t, engagesim.Config{}, loader.Options{FanOut: 4, Wait: ccWait}, true)
	want, facts := e.roomsCost()
	e.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"latency": "100ms"}, nil)

	start := time.Now()
	_, got := e.measure(t, ccRoomsQuery, map[string]any{"id": e.locID})
	took := time.Since(start)

	assertCost(t, want, got)
	most := e.rec.mostInFlight("/bookings")
	assert.GreaterOrEqual(t, most, 2, "the bookings calls overlap")
	t.Logf("query (a) at 100ms a call, FanOut 4: %d rooms' bookings, at most %d in flight at once, %d calls in %s",
		facts.rooms, most, got.total, took.Round(time.Millisecond))
}
