package engage

// Fuzz tests of every decoder that reads upstream bytes. The answer targets
// run the real client methods (request, status handling, json decoding,
// conversion to workplace types) over an in-process upstream that serves the
// fuzzed answer, so they exercise exactly what a hostile or broken upstream
// would reach. They are seeded with the examples of
// /work/shared/engage-api.md and with every answer an in-process engagesim
// gives the client while it walks all the routes (simAnswers), so the seeds
// follow the simulator when its wire format changes.
//
// Properties: no panic; an error or a value, never both and never neither;
// errors are *Error with a code and a message that carry no secret; times are
// in the zone of their location; "0001-01-01T00:00:00" is the zero time;
// rate-limit waits are never negative and are honoured.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/workplace"
)

// The secrets of the fuzzing client; no error text may contain them.
const (
	fuzzPassword = "fuzz-password-s3cret"
	fuzzKey      = "fuzz-subscription-key-0001"
	fuzzToken    = "fuzz-token-abcdef0123"
	fuzzBase     = "http://engage.invalid/Fuzz_Tenant/api/V1"
)

// fuzzCountries and fuzzRegions are the fixed answers of the walk down to
// the locations: one country with one region.
const (
	fuzzCountries = `{"IsError":false,"Data":[{"ResourceName":"Fuzzland","InternalId":1,"InternalParentId":0}],"Status":false,"Message":""}`
	fuzzRegions   = `{"IsError":false,"Data":[{"ResourceName":"Fuzz Region","InternalId":2,"InternalParentId":1}],"Status":false,"Message":""}`
)

// fuzzLocations is the fixed answer of GET /locations for the targets whose
// answers carry no zone (visitors, free slots): 41 London, 42 New York, 43
// Sydney; any other location is unknown and shown in UTC.
const fuzzLocations = `{"IsError":false,"Data":[
{"ResourceName":"London HQ","InternalId":41,"InternalParentId":2,"TimeZone":"GMT Standard Time"},
{"ResourceName":"New York","InternalId":42,"InternalParentId":3,"TimeZone":"Eastern Standard Time"},
{"ResourceName":"Sydney","InternalId":43,"InternalParentId":4,"TimeZone":"AUS Eastern Standard Time"}],"Status":false,"Message":""}`

// fuzzUpstream is an in-process upstream: the token route answers a fixed
// token, the walk to the locations (/countries, /regions, /locations) the
// fixed lists (unless answerWalk: a target of one of them), every other route status, header and
// body. It counts the API calls it answers.
type fuzzUpstream struct {
	status     int
	header     http.Header
	body       []byte
	answerWalk bool

	mu    sync.Mutex
	calls int
}

func (u *fuzzUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Body != nil {
		_, _ = io.Copy(io.Discard, r.Body)
		_ = r.Body.Close()
	}
	answer := func(status int, h http.Header, body []byte) *http.Response {
		if h == nil {
			h = http.Header{}
		}
		return &http.Response{StatusCode: status, Header: h, Body: io.NopCloser(bytes.NewReader(body)), Request: r}
	}
	if strings.HasSuffix(r.URL.Path, tokenRoute) {
		return answer(http.StatusOK, nil, []byte(`{"access_token":"`+fuzzToken+`","token_type":"bearer","expires_in":43199}`)), nil
	}
	if !u.answerWalk {
		for route, body := range map[string]string{"/countries": fuzzCountries, "/regions": fuzzRegions, "/locations": fuzzLocations} {
			if strings.HasSuffix(r.URL.Path, route) {
				return answer(http.StatusOK, nil, []byte(body)), nil
			}
		}
	}
	u.mu.Lock()
	u.calls++
	u.mu.Unlock()
	return answer(u.status, u.header.Clone(), u.body), nil
}

func (u *fuzzUpstream) callCount() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.calls
}

// newFuzzClient is a client of up. zones is shared by every iteration of a
// target, so CLDR's table is parsed once per fuzzing process.
func newFuzzClient(t *testing.T, zones *Zones, up *fuzzUpstream) *Client {
	t.Helper()
	c, err := New(Config{
		TokenURL: "http://engage.invalid" + tokenRoute, APIURL: fuzzBase,
		ClientID: "fuzz-client", Password: fuzzPassword, DefaultKey: fuzzKey,
		HTTPClient: &http.Client{Transport: up},
	})
	if err != nil {
		t.Fatal(err)
	}
	c.zones = zones
	c.sleep = noSleep // retries are fuzzed too, without their waits
	return c
}

// checkError holds for every error of the client: it is an *Error whose
// code, message and log text exist and carry no secret.
func checkError(t *testing.T, err error) *Error {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) {
		t.Fatalf("error %T %v is not an *Error", err, err)
	}
	code, msg, text := e.ErrorCode(), e.ErrorMessage(), e.Error()
	if code == "" || msg == "" {
		t.Fatalf("error without code or message: %q %q", code, msg)
	}
	for _, secret := range []string{fuzzPassword, fuzzKey, fuzzToken} {
		if strings.Contains(msg, secret) || strings.Contains(text, secret) {
			t.Fatalf("error text carries a secret: %q / %q", msg, text)
		}
	}
	if e.RetryAfter < 0 {
		t.Fatalf("negative RetryAfter %s", e.RetryAfter)
	}
	return e
}

// either checks that a call answered an error or a value: on error the value
// is the zero value, without one it is not nil.
func either(t *testing.T, v any, err error) {
	t.Helper()
	rv := reflect.ValueOf(v)
	if err != nil {
		checkError(t, err)
		if !rv.IsZero() {
			t.Fatalf("error %v with value %+v", err, v)
		}
		return
	}
	if rv.Kind() == reflect.Slice && rv.IsNil() {
		t.Fatalf("no error and a nil %T", v)
	}
}

// inZone checks that every non-zero time is shown in loc.
func inZone(t *testing.T, loc *time.Location, what string, times ...time.Time) {
	t.Helper()
	for _, tm := range times {
		if !tm.IsZero() && tm.Location() != loc {
			t.Fatalf("%s: time %s in %s, want %s", what, tm, tm.Location(), loc)
		}
	}
}

// zoneOrUTC is the zone the client places a Windows zone name in.
func zoneOrUTC(zones *Zones, name string) *time.Location {
	loc, err := zones.ZoneFor(name)
	if err != nil {
		return time.UTC
	}
	return loc
}

// fuzzCall is one entry point fuzzed with a 2xx answer: run calls it on a
// client whose upstream answers body, and checks what it returns.
type fuzzCall struct {
	route string // the route template, to pick seeds among the simulator's answers
	run   func(t *testing.T, c *Client, zones *Zones, body []byte)
}

// fuzzAnswers fuzzes the calls with one target: the input picks a call and
// gives its 2xx answer. Seeds are the literals (call index → bodies) and
// every 2xx answer the simulator gave on the call's route.
func fuzzAnswers(f *testing.F, calls []fuzzCall, literals map[int][]string) {
	f.Helper()
	answers := simAnswers(f)
	for i, call := range calls {
		for _, s := range literals[i] {
			f.Add(uint8(i), []byte(s))
		}
		// A few distinct answers per route: more add run time to every
		// go test, not coverage.
		seen := map[string]bool{}
		for _, a := range answers {
			if a.route == call.route && a.status/100 == 2 && !seen[string(a.body)] && len(seen) < 3 {
				seen[string(a.body)] = true
				f.Add(uint8(i), a.body)
			}
		}
		for _, s := range []string{`null`, `[]`, `{}`, `{"IsError":true,"Data":null,"Status":false,"Message":"` + fuzzToken + `"}`} {
			f.Add(uint8(i), []byte(s))
		}
	}
	zones := NewZones()
	f.Fuzz(func(t *testing.T, i uint8, body []byte) {
		call := calls[int(i)%len(calls)]
		up := &fuzzUpstream{status: http.StatusOK, body: body, answerWalk: call.route == "/countries" || call.route == "/regions" || call.route == "/locations"}
		call.run(t, newFuzzClient(t, zones, up), zones, body)
	})
}

func FuzzHierarchyAnswers(f *testing.F) {
	ctx := context.Background()
	list := func(route string, get func(c *Client) (any, error)) fuzzCall {
		return fuzzCall{route: route, run: func(t *testing.T, c *Client, _ *Zones, _ []byte) {
			v, err := get(c)
			either(t, v, err)
		}}
	}
	calls := []fuzzCall{
		list("/countries", func(c *Client) (any, error) { return c.Countries(ctx) }),
		list("/regions", func(c *Client) (any, error) { return c.Regions(ctx, 1) }),
		list("/regionsByParent/{id}", func(c *Client) (any, error) { return c.RegionsByParent(ctx, 1) }),
		list("/groups", func(c *Client) (any, error) { return c.Groups(ctx, 1) }),
		list("/users", func(c *Client) (any, error) { return c.Users(ctx, "") }),
		{route: "/locations", run: func(t *testing.T, c *Client, zones *Zones, body []byte) {
			locs, err := c.Locations(ctx, 2)
			either(t, locs, err)
			for _, l := range locs {
				if l.TimeZone == nil || l.TimeZone != zoneOrUTC(zones, l.WindowsTimeZone) {
					t.Fatalf("location %d: zone %v for %q", l.ID, l.TimeZone, l.WindowsTimeZone)
				}
			}
		}},
		list("/rooms", func(c *Client) (any, error) { return c.Rooms(ctx, 41) }),
		list("/desks", func(c *Client) (any, error) { return c.Desks(ctx, 41) }),
		list("/floorPlan", func(c *Client) (any, error) {
			return c.FloorPlan(ctx, workplace.FloorPlanQuery{LocationID: 41, Floor: 3})
		}),
	}
	fuzzAnswers(f, calls, map[int][]string{
		0: {`{"IsError":false,"Data":[{"ResourceName":"United Kingdom","InternalId":1,"InternalParentId":0}],"Status":false,"Message":""}`},
		5: {`{"IsError":false,"Data":[{"ResourceName":"London HQ","InternalId":41,"InternalParentId":2,"LocationAddress":"1 Main St","LocationCity":"London","LocationCountry":"United Kingdom","PostCode":"EC1","TimeZone":"GMT Standard Time","NumberOfFloorsAboveGround":"5","NumberOfFloorsBelowGround":1,"IsCostCentreMandatory":"true","IsCCPaymentCostCodeEnabled":0,"LocationGroupMappings":[{"GroupId":7,"GroupIdExternal":null}]}],"Status":false,"Message":""}`},
		6: {`{"IsError":false,"Data":[{"FloorNumber":"13","FloorName":"Thirteen","ResourceName":"Room 1","InternalId":96,"InternalParentId":0,"WorkspaceTypeId":1,"WorkspaceTypeName":"Meeting Room","extendedDetails":null,"Capacity":"8","GroupId":7,"Attributes":[1,"2"]}],"Status":false,"Message":""}`,
			`{"isError":false,"data":[{"floorNumber":" 13.0 ","internalId":"96"}],"status":false,"message":""}`},
	})
}

// bookingZones reads each booking's locationTimeZone, as the client does, to
// know the zone its times must be in.
func bookingZones(t *testing.T, zones *Zones, body []byte, list bool) []*time.Location {
	t.Helper()
	type tz struct {
		LocationTimeZone string `json:"locationTimeZone"`
	}
	var ws []tz
	if len(bytes.TrimSpace(body)) == 0 {
		// An empty answer is read as no bookings, or a zero booking.
		if list {
			return nil
		}
		return []*time.Location{time.UTC}
	}
	if list {
		var resp struct {
			Bookings []tz `json:"bookings"`
		}
		if err := json.Unmarshal(body, &resp); err != nil {
			t.Fatalf("the client read an answer that is not JSON: %v", err)
		}
		ws = resp.Bookings
	} else {
		var w tz
		if err := json.Unmarshal(body, &w); err != nil {
			t.Fatalf("the client read an answer that is not JSON: %v", err)
		}
		ws = []tz{w}
	}
	out := make([]*time.Location, len(ws))
	for i, w := range ws {
		out[i] = zoneOrUTC(zones, w.LocationTimeZone)
	}
	return out
}

func checkBookings(t *testing.T, zones *Zones, body []byte, list bool, bs ...workplace.Booking) {
	t.Helper()
	locs := bookingZones(t, zones, body, list)
	if len(locs) != len(bs) {
		t.Fatalf("%d bookings from %d in the answer", len(bs), len(locs))
	}
	for i, b := range bs {
		inZone(t, locs[i], "booking", b.Start, b.End, b.ActualStart, b.ActualEnd, b.CreatedAt, b.ModifiedAt)
	}
}

func FuzzBookingAnswers(f *testing.F) {
	ctx := context.Background()
	from := time.Date(2025, 3, 27, 9, 0, 0, 0, time.UTC)
	day := workplace.DateOf(from)
	calls := []fuzzCall{
		{route: "/bookings", run: func(t *testing.T, c *Client, zones *Zones, body []byte) {
			bs, err := c.Bookings(ctx, 96, day, day.AddDays(13))
			either(t, bs, err)
			if err == nil {
				checkBookings(t, zones, body, true, bs...)
			}
		}},
		{route: "/bookings/{id}", run: func(t *testing.T, c *Client, zones *Zones, body []byte) {
			b, err := c.Booking(ctx, 1)
			either(t, b, err)
			if err == nil {
				checkBookings(t, zones, body, false, b)
			}
		}},
		{route: "/bookings/{id}", run: func(t *testing.T, c *Client, zones *Zones, body []byte) {
			b, err := c.UpdateBooking(ctx, 1, workplace.BookingChange{UserID: 1, Title: "x"})
			either(t, b, err)
			if err == nil {
				checkBookings(t, zones, body, false, b)
			}
		}},
		{route: "/bookings", run: func(t *testing.T, c *Client, _ *Zones, _ []byte) {
			id, err := c.CreateBooking(ctx, workplace.NewBooking{UserID: 1, RoomID: 96, Start: from, End: from.Add(time.Hour)})
			if err != nil {
				checkError(t, err)
				if id != 0 {
					t.Fatalf("error %v with id %d", err, id)
				}
			}
		}},
		{route: "/bookings/freeslots", run: func(t *testing.T, c *Client, zones *Zones, _ []byte) {
			rs, err := c.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: 41, From: from, To: from.Add(4 * time.Hour)})
			either(t, rs, err)
			london := zoneOrUTC(zones, "GMT Standard Time")
			for _, r := range rs {
				if r.LocationID == 0 {
					t.Fatalf("free slots without a location: %+v", r)
				}
				for _, s := range r.Slots {
					inZone(t, london, "free slot", s.Start, s.End)
				}
			}
		}},
		{route: "/bookings/availableRooms", run: func(t *testing.T, c *Client, _ *Zones, _ []byte) {
			rs, err := c.AvailableRooms(ctx, workplace.AvailableRoomsQuery{LocationID: 41, From: from, To: from.Add(time.Hour)})
			either(t, rs, err)
			for _, r := range rs {
				if r.LocationID == 0 {
					t.Fatalf("available room without a location: %+v", r)
				}
			}
		}},
	}
	// The Booking fields as a real Java client reads them [C], with the
	// casing drift, the zero value and a UTC twin that wins.
	specBooking := `{"bookingID":99,"roomID":96,"locationId":41,"locationTimeZone":"GMT Standard Time","meetingTitle":"Sync",` +
		`"timeFrom":"2025-03-30T00:30:00","timeTo":"2025-03-30T03:00:00","timeFromUTC":"2025-03-30T00:30:00","timeToUTC":"2025-03-30T02:00:00",` +
		`"utcWithSetupTime":"2025-03-30T00:30:00","actualTimeFrom":"0001-01-01T00:00:00","actualTimeTo":"0001-01-01T00:00:00",` +
		`"hostName":"Ada","hostEmail":"ada@example.com","meetingProgress":0,"privateMeeting":false,"lastModifiedOn":"2025-03-27T09:00:00.123",` +
		`"createdOn":"2025-10-26T01:30:00","deleted":0,"recurranceId":0,"groupId":"7","bookingSource":2,"hostId":5,"requestorId":"5","costCodeId":null}`
	fuzzAnswers(f, calls, map[int][]string{
		0: {`{"bookings":[` + specBooking + `]}`, `{"Bookings":[{"BookingId":1,"LocationTimeZone":"Singapore Standard Time","TimeFrom":"2025-03-27 09:00","timeTo":"2025-03-27T10:00:00+08:00"}]}`},
		1: {specBooking, `{"bookingID":1,"locationTimeZone":"Nowhere Standard Time","timeFrom":"2025-03-27T09:00:00Z","timeTo":"2025-03-27"}`},
		2: {specBooking},
		3: {`{"bookingId":123}`, `{"bookingId":"123"}`},
		4: {`{"freePeriod":[{"locationID":41,"floorNumber":13,"resourceID":96,"workspaceTypeId":1,"freePeriodSlots":[{"startDateTime":"2025-03-27T09:00:00","endDateTime":"2025-03-27T17:00:00","startDateTimeUTC":"2025-03-27T09:00:00","endDateTimeUTC":"2025-03-27T17:00:00"}]}]}`,
			`{"freePeriod":[{"floorNumber":"2","freePeriodSlots":[{"startDateTime":"2025-03-30T01:30:00","endDateTime":"2025-10-26T01:30:00","startDateTimeUTC":"0001-01-01T00:00:00"}]}]}`},
		5: {`{"availableRooms":[{"roomId":96,"roomName":"Room 1","maxCapacity":8,"floorNumber":"13","locationId":41,"roomAttributes":[1,2]}]}`},
	})
}

func FuzzDeskBookingAnswers(f *testing.F) {
	ctx := context.Background()
	day := workplace.DateOf(time.Date(2025, 3, 27, 0, 0, 0, 0, time.UTC))
	calls := []fuzzCall{
		{route: "/deskBookings", run: func(t *testing.T, c *Client, _ *Zones, _ []byte) {
			ds, err := c.DeskBookings(ctx, 101, day, day.AddDays(13))
			either(t, ds, err)
		}},
		{route: "/deskBookings/availableDesks", run: func(t *testing.T, c *Client, _ *Zones, _ []byte) {
			ds, err := c.AvailableDesks(ctx, workplace.AvailableDesksQuery{LocationID: 41, Days: []workplace.DeskDay{{Date: day, Type: workplace.DeskAllDay}}})
			either(t, ds, err)
		}},
		{route: "/deskBookings", run: func(t *testing.T, c *Client, _ *Zones, _ []byte) {
			ids, err := c.CreateDeskBookings(ctx, workplace.NewDeskBooking{UserID: 1, DeskID: 101, Days: []workplace.DeskDay{{Date: day, Type: workplace.DeskAllDay}}})
			if err != nil {
				checkError(t, err)
				if ids != nil {
					t.Fatalf("error %v with ids %v", err, ids)
				}
			}
		}},
	}
	fuzzAnswers(f, calls, map[int][]string{
		0: {`{"deskBookings":[{"bookingID":102,"deskID":101,"userId":5,"date":"2019-08-28T00:00:00","bookingType":2,"untilFurtherNotice":false,"status":0}]}`,
			`{"deskBookings":[{"bookingId":"102","DeskId":101,"date":"2019-08-28","bookingType":"3","untilFurtherNotice":"1","status":null},{"date":"0001-01-01T00:00:00"}]}`},
		1: {`{"availableDesks":[{"deskID":101,"deskName":"Desk 1","deskAttributes":[3],"floorNumber":"2","groupId":7}]}`},
		2: {`{"bookingIds":[1001,"1002"]}`},
	})
}

func FuzzVisitorAnswers(f *testing.F) {
	ctx := context.Background()
	day := workplace.DateOf(time.Date(2025, 3, 27, 0, 0, 0, 0, time.UTC))
	check := func(t *testing.T, zones *Zones, vs ...workplace.Visitor) {
		t.Helper()
		known := map[workplace.LocationID]string{41: "GMT Standard Time", 42: "Eastern Standard Time", 43: "AUS Eastern Standard Time"}
		for _, v := range vs {
			loc := time.UTC
			if name, ok := known[v.LocationID]; ok {
				loc = zoneOrUTC(zones, name)
			}
			inZone(t, loc, "visitor", v.Arrival, v.Departure)
		}
	}
	calls := []fuzzCall{
		{route: "/visitor", run: func(t *testing.T, c *Client, zones *Zones, _ []byte) {
			page, err := c.Visitors(ctx, workplace.VisitorQuery{Date: day})
			either(t, page, err)
			if err == nil {
				if page.Visitors == nil {
					t.Fatal("a page without a visitor list")
				}
				check(t, zones, page.Visitors...)
			}
		}},
		{route: "/visitor/{id}", run: func(t *testing.T, c *Client, zones *Zones, _ []byte) {
			v, err := c.SetVisitorStatus(ctx, 1, workplace.VisitorArrive)
			either(t, v, err)
			check(t, zones, v)
		}},
		{route: "/visitor/{id}", run: func(t *testing.T, c *Client, zones *Zones, _ []byte) {
			v, err := c.UpdateVisitor(ctx, 1, workplace.NewVisitor{FirstName: "Grace", LocationID: 41})
			either(t, v, err)
			check(t, zones, v)
		}},
		{route: "/visitor", run: func(t *testing.T, c *Client, _ *Zones, _ []byte) {
			id, err := c.RegisterVisitor(ctx, workplace.NewVisitor{FirstName: "Grace", LocationID: 41})
			if err != nil {
				checkError(t, err)
				if id != 0 {
					t.Fatalf("error %v with id %d", err, id)
				}
			}
		}},
	}
	visitor := `{"visitorId":555,"firstName":"Grace","lastName":"Hopper","visitorCompany":"Navy","email":"grace@example.com",` +
		`"arrivalDate":"2025-03-30T01:30:00","departureDate":"0001-01-01T00:00:00","status":1,"hostId":5,"hostName":"Ada",` +
		`"hostEmail":"ada@example.com","locationId":41,"floorNumber":"3","roomId":96,"meetingName":"Talk","bookingId":0}`
	fuzzAnswers(f, calls, map[int][]string{
		0: {`{"visitors":[` + visitor + `],"TotalRecords":1}`,
			`{"visitors":[{"visitorId":1,"locationId":43,"arrivalDate":"2025-04-06T02:30:00"},{"visitorId":2,"locationId":99,"arrivalDate":"2025-03-27 09:00"}],"totalRecords":"2"}`},
		1: {visitor},
		2: {visitor},
		3: {`{"visitorId":555}`},
	})
}

func FuzzServiceAnswers(f *testing.F) {
	ctx := context.Background()
	calls := []fuzzCall{
		{route: "/costcodes", run: func(t *testing.T, c *Client, _ *Zones, _ []byte) {
			v, err := c.CostCodes(ctx, 41)
			either(t, v, err)
		}},
		{route: "/vendorservices", run: func(t *testing.T, c *Client, _ *Zones, _ []byte) {
			v, err := c.Vendors(ctx, 41)
			either(t, v, err)
		}},
		{route: "/vendorservices/orders", run: func(t *testing.T, c *Client, _ *Zones, _ []byte) {
			v, err := c.Orders(ctx, 1)
			either(t, v, err)
		}},
		{route: "/vendorservices/orders", run: func(t *testing.T, c *Client, _ *Zones, _ []byte) {
			id, err := c.OrderService(ctx, workplace.NewServiceOrder{BookingID: 1, ServiceID: 2, Quantity: 1, UserID: 3})
			if err != nil {
				checkError(t, err)
				if id != 0 {
					t.Fatalf("error %v with id %d", err, id)
				}
			}
		}},
		{route: "/listener", run: func(t *testing.T, c *Client, _ *Zones, _ []byte) {
			v, err := c.Listeners(ctx)
			either(t, v, err)
		}},
		{route: "/listener", run: func(t *testing.T, c *Client, _ *Zones, _ []byte) {
			l, err := c.RegisterListener(ctx, workplace.NewListener{SecretKey: "s3cret-listener", NotificationURL: "https://gw.example.com/webhooks/3", EventTypes: []workplace.EventType{3}})
			either(t, l, err)
			if err == nil && (l.NotificationURL == "" || len(l.EventTypes) == 0) {
				t.Fatalf("listener without its URL or types: %+v", l)
			}
		}},
	}
	fuzzAnswers(f, calls, map[int][]string{
		0: {`[{"costCodeId":1,"code":"LON-100","description":"Sales","locationId":41,"isActive":true},{"costCodeId":"2","code":"X","isActive":"0"}]`},
		1: {`[{"vendorId":1,"name":"Catering","services":[{"serviceId":2,"name":"Coffee","price":2.5,"currency":"GBP"}]}]`},
		2: {`[{"orderId":1,"bookingId":99,"serviceId":2,"quantity":3,"status":0},{"orderId":2,"status":"Delivered"}]`},
		3: {`{"orderId":77}`},
		4: {`[{"listenerId":"6f1c1d8e-0000-4000-8000-000000000001","eventTypes":[3,5],"notificationUrl":"https://gw.example.com/webhooks/3"}]`,
			`{"listeners":[{"listenerId":"x","eventTypes":["3"],"notificationUrl":"https://a"}]}`},
		5: {`{"listenerId":"6f1c1d8e-0000-4000-8000-000000000001","eventTypes":[3],"notificationUrl":"https://gw.example.com/webhooks/3"}`},
	})
}

// FuzzErrorAnswers fuzzes the error classifier: any status, Retry-After
// header and body on one call.
func FuzzErrorAnswers(f *testing.F) {
	seen := map[string]bool{}
	for _, a := range simAnswers(f) {
		if key := string(a.body); a.status >= 400 && !seen[key] {
			seen[key] = true
			f.Add(uint16(a.status), a.header.Get("Retry-After"), a.body)
		}
	}
	// The contract's texts (engage-api.md §2, §3).
	seeds := []struct {
		status     uint16
		retryAfter string
		body       string
	}{
		{401, "", `{"statusCode":401,"message":"Access denied due to missing subscription key. Make sure to include subscription key when making requests to an API."}`},
		{401, "", `{"statusCode":401,"message":"Access denied due to invalid subscription key. Make sure to provide a valid key for an active subscription."}`},
		{401, "", `{"Message":"Authorization has been denied for this request."}`},
		{429, "7", `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 7 seconds."}`},
		{429, "", `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 42 seconds."}`},
		{429, "Wed, 21 Oct 2015 07:28:00 GMT", `{}`},
		{403, "3600", `{"statusCode":403,"message":"Out of call volume quota. Quota will be replenished in 01:00:00."}`},
		{403, "", `{"statusCode":403,"message":"Out of call volume quota. Quota will be replenished in 99:59:59."}`},
		{400, "", `{"Message":"Booking Id does not exist."}`},
		{400, "", `{"IsError":true,"Data":null,"Status":false,"Message":"Location not found."}`},
		{409, "", `{"Message":"Room is not available for the requested time."}`},
		{500, "", `{"Message":"An error has occurred."}`},
		{404, "", `{"Message":"key ` + fuzzKey + ` and token ` + fuzzToken + `"}`},
		{502, "", `<html>Bad gateway</html>`},
	}
	for _, s := range seeds {
		f.Add(s.status, s.retryAfter, []byte(s.body))
	}
	zones := NewZones()
	f.Fuzz(func(t *testing.T, status uint16, retryAfterHeader string, body []byte) {
		st := int(status)
		if st < 400 || st > 599 { // every error status
			st = 400 + st%200
		}
		h := http.Header{}
		if retryAfterHeader != "" {
			h.Set("Retry-After", retryAfterHeader)
		}
		up := &fuzzUpstream{status: st, header: h, body: body}
		c := newFuzzClient(t, zones, up)
		ctx := context.Background()
		b, err := c.Booking(ctx, 1)
		if err == nil {
			t.Fatalf("status %d answered a booking %+v", st, b)
		}
		e := checkError(t, err)
		if e.Status != st {
			t.Fatalf("status %d reported as %d", st, e.Status)
		}
		var ae apiError
		_ = json.Unmarshal(body, &ae)
		calls := up.callCount()
		switch {
		case st == http.StatusUnauthorized && isKeyRejection(ae):
			// A rejected key is never retried: a new token cannot help.
			if e.kind != kindSubscriptionKey || calls != 1 {
				t.Fatalf("key rejection read as kind %d after %d calls", e.kind, calls)
			}
		case st == http.StatusUnauthorized:
			// A rejected token is retried once with a fresh one.
			if e.kind != kindBearer || calls != 2 {
				t.Fatalf("token rejection read as kind %d after %d calls", e.kind, calls)
			}
		case st == http.StatusTooManyRequests || (st == http.StatusForbidden && isQuota(ae)):
			if e.ErrorCode() != workplace.ERATELIMITED {
				t.Fatalf("rate limit read as %s", e.ErrorCode())
			}
			if want, ok := expectedWait(retryAfterHeader, ae.Message); ok && e.RetryAfter != want {
				t.Fatalf("Retry-After %q, message %q: wait %s, want %s", retryAfterHeader, ae.Message, e.RetryAfter, want)
			}
			// The wait is honoured: the next call is held back without
			// reaching the upstream, or, for a wait short enough to wait out
			// (Retry.MaxDelay), waits before it is sent.
			var slept time.Duration
			c.sleep = func(ctx context.Context, d time.Duration) error { slept += d; return ctx.Err() }
			_, err := c.Booking(ctx, 1)
			next := checkError(t, err)
			held := next.Status == 0 && up.callCount() == calls
			if e.RetryAfter > time.Second && !held && (e.RetryAfter > DefaultRetryMaxDelay || slept <= 0) {
				t.Fatalf("a wait of %s was not honoured: %v", e.RetryAfter, err)
			}
		case st >= 500:
			if e.ErrorCode() != workplace.EUNAVAILABLE || e.ErrorMessage() != "Engage is unavailable; try again later." {
				t.Fatalf("5xx shown as %s %q", e.ErrorCode(), e.ErrorMessage())
			}
		default:
			if calls != 1 {
				t.Fatalf("status %d was sent %d times", st, calls)
			}
		}
	})
}

// expectedWait is the wait the contract's texts name, where they name one
// plainly: a small Retry-After in seconds, or without the header "Try again
// in N seconds.".
func expectedWait(header, msg string) (time.Duration, bool) {
	var n int64
	if header != "" {
		if !regexp.MustCompile(`^\s*[0-9]{1,6}\s*$`).MatchString(header) {
			return 0, false
		}
		_ = json.Unmarshal([]byte(strings.TrimLeft(strings.TrimSpace(header), "0")+"0"), &n)
		return time.Duration(n/10) * time.Second, true
	}
	m := regexp.MustCompile(`^Rate limit is exceeded\. Try again in ([1-9][0-9]{0,5}) seconds\.$`).FindStringSubmatch(msg)
	if m == nil {
		return 0, false
	}
	_ = json.Unmarshal([]byte(m[1]), &n)
	return time.Duration(n) * time.Second, true
}

// FuzzTokenAnswers fuzzes the token provider's answer.
func FuzzTokenAnswers(f *testing.F) {
	for _, a := range simAnswers(f) {
		if a.route == tokenRoute {
			f.Add(uint16(a.status), a.body)
		}
	}
	f.Add(uint16(200), []byte(`{"access_token":"opaque","token_type":"bearer","expires_in":43199}`))
	f.Add(uint16(200), []byte(`{"access_token":"opaque","token_type":"bearer","expires_in":"43199"}`))
	f.Add(uint16(200), []byte(`{"access_token":"opaque","expires_in":-1}`))
	f.Add(uint16(400), []byte(`{"error":"unsupported_grant_type"}`))
	f.Add(uint16(400), []byte(`{"error":"invalid_grant","error_description":"The client id or password is incorrect."}`))
	f.Add(uint16(400), []byte(`{"error":"invalid_grant","error_description":"bad password `+fuzzPassword+`"}`))
	f.Add(uint16(503), []byte(`Service Unavailable`))
	zones := NewZones()
	f.Fuzz(func(t *testing.T, status uint16, body []byte) {
		st := int(status)
		if st < 200 || st > 599 {
			st = 200 + st%400
		}
		srv := tokenUpstream{status: st, body: body}
		c, err := New(Config{
			TokenURL: "http://engage.invalid" + tokenRoute, APIURL: fuzzBase,
			ClientID: "fuzz-client", Password: fuzzPassword, DefaultKey: fuzzKey,
			HTTPClient: &http.Client{Transport: srv},
		})
		if err != nil {
			t.Fatal(err)
		}
		c.zones = zones
		before := time.Now()
		// Through an API call, as every caller but the readiness probe meets
		// the token provider.
		_, err = c.Countries(context.Background())
		c.tokens.mu.Lock()
		tok, expiry := c.tokens.tok.value, c.tokens.tok.expiry
		c.tokens.mu.Unlock()
		if err != nil {
			checkError(t, err)
			if tok != "" {
				t.Fatalf("error %v with token %q", err, tok)
			}
			return
		}
		if st != http.StatusOK || tok == "" {
			t.Fatalf("status %d gave token %q", st, tok)
		}
		if !expiry.After(before) {
			t.Fatalf("token from %q expires at %s, before it was fetched", body, expiry)
		}
	})
}

// tokenUpstream answers the token route with its status and body, and any
// API call with an empty envelope.
type tokenUpstream struct {
	status int
	body   []byte
}

func (u tokenUpstream) RoundTrip(r *http.Request) (*http.Response, error) {
	if !strings.HasSuffix(r.URL.Path, tokenRoute) {
		return &http.Response{StatusCode: http.StatusOK, Header: http.Header{}, Body: io.NopCloser(strings.NewReader(`{"IsError":false,"Data":[],"Status":false,"Message":""}`)), Request: r}, nil
	}
	return &http.Response{StatusCode: u.status, Header: http.Header{}, Body: io.NopCloser(bytes.NewReader(u.body)), Request: r}, nil
}

// FuzzWireTime fuzzes the date-time readers in fixed zones: a wall time
// without an offset, its UTC twin, and a day.
func FuzzWireTime(f *testing.F) {
	for _, s := range []string{
		"2025-03-27T09:00:00", "2025-03-30T01:30:00", "2025-10-26T01:30:00", "2025-04-06T02:30:00",
		"2025-03-27T09:00:00.123", "2025-03-27 09:00", "2025-03-27 09:00:00", "2025-03-27",
		"2025-03-27T09:00:00Z", "2025-03-27T09:00:00+08:00", "2025-03-27T09:00:00-04:00",
		"0001-01-01T00:00:00", "0001-01-01", "", "9999-12-31T23:59:59", "0000-01-01T00:00:00", "garbage", "2025-13-40T25:61:61",
	} {
		for z := range fuzzZoneNames[:3] {
			f.Add(s, uint8(z))
		}
	}
	zones := NewZones()
	f.Fuzz(func(t *testing.T, s string, z uint8) {
		loc := zoneOrUTC(zones, fuzzZoneNames[int(z)%len(fuzzZoneNames)])
		w := wireTime(s)
		got, err := w.in(loc)
		if w.isZero() {
			if err != nil || !got.IsZero() {
				t.Fatalf("%q is no value, read as %s, %v", s, got, err)
			}
		}
		if err != nil {
			if !got.IsZero() {
				t.Fatalf("error %v with time %s", err, got)
			}
		} else {
			inZone(t, loc, s, got)
			if !got.IsZero() && !hasOffset(strings.Replace(s, " ", "T", 1)) {
				// A wall time read back from its own wall clock is the
				// same instant.
				again, err := wireTime(got.Format(wireLayout)).in(loc)
				if err != nil || !again.Equal(got) {
					t.Fatalf("%q in %s is %s, whose wall clock reads back as %s, %v", s, loc, got, again, err)
				}
			}
		}
		// The UTC twin wins when it has a value, and is shown in loc.
		picked, err := pickTime(w, "2025-03-27T09:00:00", loc)
		if err == nil {
			inZone(t, loc, "picked", picked)
			if w.isZero() {
				if want, _ := wireTime("2025-03-27T09:00:00").in(loc); !picked.Equal(want) {
					t.Fatalf("zero twin %q did not fall back to the local time: %s", s, picked)
				}
			} else if utc, err := w.in(time.UTC); err != nil || !utc.Equal(picked) {
				t.Fatalf("twin %q picked %s, read alone %s, %v", s, picked, utc, err)
			}
		}
		d, err := wireDate(w)
		switch {
		case err != nil:
		case w.isZero():
			if !d.IsZero() {
				t.Fatalf("%q is no value, read as date %s", s, d)
			}
		case d.String() != s[:len(dateLayout)]:
			t.Fatalf("%q read as date %s", s, d)
		}
	})
}

// fuzzZoneNames are the zones FuzzWireTime reads times in: both hemispheres'
// clock changes, a zone without them, and an unknown name (UTC).
var fuzzZoneNames = [...]string{"GMT Standard Time", "Eastern Standard Time", "AUS Eastern Standard Time", "Singapore Standard Time", "Lord Howe Standard Time", "Unknown Standard Time"}

// FuzzWireScalars fuzzes the tolerant scalars: what flexInt, flexBool and
// flexString accept reads back the same through its canonical form.
func FuzzWireScalars(f *testing.F) {
	for _, s := range []string{`13`, `"13"`, `" 7 "`, `""`, `null`, `-2`, `13.0`, `"13.0"`, `1.5`, `"thirteen"`, `true`, `"true"`, `1`, `0`,
		`"1"`, `9223372036854775807`, `9223372036854775808`, `-9223372036854775808`, `1e3`, `"1e18"`, `1e19`, `"\u0031\u0033"`, `[]`, `{}`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var n flexInt
		if err := json.Unmarshal(b, &n); err == nil {
			var again flexInt
			canon, _ := json.Marshal(int64(n))
			if err := json.Unmarshal(canon, &again); err != nil || again != n {
				t.Fatalf("%s read as %d, whose JSON reads as %d, %v", b, n, again, err)
			}
		}
		var v flexBool
		if err := json.Unmarshal(b, &v); err == nil {
			var again flexBool
			canon, _ := json.Marshal(bool(v))
			if err := json.Unmarshal(canon, &again); err != nil || again != v {
				t.Fatalf("%s read as %v, whose JSON reads as %v, %v", b, v, again, err)
			}
		}
		var s flexString
		if err := json.Unmarshal(b, &s); err == nil {
			var again flexString
			canon, _ := json.Marshal(string(s))
			if err := json.Unmarshal(canon, &again); err != nil || again != s {
				t.Fatalf("%s read as %q, whose JSON reads as %q, %v", b, s, again, err)
			}
		}
		var w wireTime
		if err := json.Unmarshal(b, &w); err == nil && strings.TrimSpace(string(w)) != string(w) {
			t.Fatalf("%s read as untrimmed %q", b, w)
		}
	})
}

// simAnswer is one answer the simulator gave the client.
type simAnswer struct {
	route  string // the path after the API base, ids replaced by {id}; or tokenRoute
	status int
	header http.Header
	body   []byte
}

// answerRecorder keeps every answer that passes through it.
type answerRecorder struct {
	next    http.RoundTripper
	prefix  string
	mu      sync.Mutex
	answers []simAnswer
}

var idSegment = regexp.MustCompile(`/[0-9]+$`)

func (r *answerRecorder) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := r.next.RoundTrip(req)
	if err != nil {
		return resp, err
	}
	body, err := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	route := req.URL.Path
	if !strings.HasSuffix(route, tokenRoute) {
		route = idSegment.ReplaceAllString(strings.TrimPrefix(route, r.prefix), "/{id}")
	} else {
		route = tokenRoute
	}
	r.mu.Lock()
	r.answers = append(r.answers, simAnswer{route: route, status: resp.StatusCode, header: resp.Header.Clone(), body: body})
	r.mu.Unlock()
	return resp, nil
}

// simAnswers walks every route of an in-process engagesim with the real
// client, its demo fixture at simStart, and returns the answers, errors
// included: a bad password, a wrong key, a rate limit, unknown ids and
// clashes.
func simAnswers(tb testing.TB) []simAnswer {
	tb.Helper()
	sim, err := engagesim.New(engagesim.Config{Now: simStart, RatePerMinute: 100_000})
	if err != nil {
		tb.Fatal(err)
	}
	srv := httptest.NewServer(sim)
	defer func() {
		srv.Close()
		sim.Close()
	}()
	prefix := "/" + engagesim.DefaultTenant + "/api/V1"
	rec := &answerRecorder{next: http.DefaultTransport, prefix: prefix}
	client := func(password string, keys map[string]string) *Client {
		ks := map[Product]string{}
		for p, k := range keys {
			ks[Product(p)] = k
		}
		c, err := New(Config{
			TokenURL: srv.URL + tokenRoute, APIURL: srv.URL + prefix,
			ClientID: engagesim.DefaultClientID, Password: password, Keys: ks,
			HTTPClient: &http.Client{Transport: rec}, Now: simStart,
		})
		if err != nil {
			tb.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	c := client(engagesim.DefaultPassword, engagesim.DefaultKeys())
	// Errors are expected on some of these calls; only the answers matter.
	locs, _ := workplace.AllLocations(ctx, c)
	_, _ = c.Countries(ctx)
	_, _ = c.Regions(ctx, 1)
	_, _ = c.RegionsByParent(ctx, 1)
	_, _ = c.Groups(ctx, 1)
	users, _ := c.Users(ctx, "")
	_, _ = c.Rooms(ctx, 999)
	from := simStart()
	day := workplace.DateOf(from)
	for _, l := range locs {
		rooms, _ := c.Rooms(ctx, l.ID)
		desks, _ := c.Desks(ctx, l.ID)
		_, _ = c.FloorPlan(ctx, workplace.FloorPlanQuery{LocationID: l.ID, Floor: 1})
		_, _ = c.CostCodes(ctx, l.ID)
		_, _ = c.Vendors(ctx, l.ID)
		_, _ = c.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: l.ID, From: from, To: from.Add(4 * time.Hour)})
		_, _ = c.AvailableRooms(ctx, workplace.AvailableRoomsQuery{LocationID: l.ID, From: from, To: from.Add(time.Hour)})
		_, _ = c.AvailableDesks(ctx, workplace.AvailableDesksQuery{LocationID: l.ID, Days: []workplace.DeskDay{{Date: day, Type: workplace.DeskAllDay}}, PageNumber: 1, PageSize: 3})
		if len(rooms) > 0 {
			bs, _ := c.Bookings(ctx, rooms[0].ID, day, day.AddDays(13))
			if len(bs) > 0 {
				_, _ = c.Booking(ctx, bs[0].ID)
				_, _ = c.Orders(ctx, bs[0].ID)
			}
		}
		if len(desks) > 0 {
			_, _ = c.DeskBookings(ctx, desks[0].ID, day, day.AddDays(13))
		}
	}
	if len(users) > 0 && len(locs) > 0 {
		user := users[0]
		rooms, _ := c.Rooms(ctx, locs[0].ID)
		if len(rooms) > 0 {
			start := from.Add(5 * time.Minute)
			id, _ := c.CreateBooking(ctx, workplace.NewBooking{UserID: user.ID, RoomID: rooms[0].ID, Start: start, End: start.Add(time.Hour), Title: "Fuzz seed"})
			_, _ = c.CreateBooking(ctx, workplace.NewBooking{UserID: user.ID, RoomID: rooms[0].ID, Start: start, End: start.Add(time.Hour), Title: "Clash"})
			_, _ = c.UpdateBooking(ctx, id, workplace.BookingChange{UserID: user.ID, Title: "Fuzz seed 2"})
			_ = c.ProgressMeeting(ctx, id, user.ID, workplace.MeetingStart, 0)
			_ = c.ProgressMeeting(ctx, id, user.ID, workplace.MeetingStart, 0)
			_, _ = c.Booking(ctx, id)
			_ = c.CancelBooking(ctx, id, user.ID)
			_, _ = c.Booking(ctx, id)
		}
		vid, _ := c.RegisterVisitor(ctx, workplace.NewVisitor{FirstName: "Grace", LastName: "Hopper", HostID: user.ID, LocationID: locs[0].ID, Arrival: from.Add(26 * time.Hour)})
		_, _ = c.SetVisitorStatus(ctx, vid, workplace.VisitorArrive)
		_, _ = c.UpdateVisitor(ctx, vid, workplace.NewVisitor{FirstName: "Grace", HostID: user.ID, LocationID: locs[0].ID, Arrival: from.Add(26 * time.Hour)})
		_, _ = c.SetVisitorStatus(ctx, vid, workplace.VisitorDepart)
		_, _ = c.SetVisitorStatus(ctx, vid, workplace.VisitorDepart)
	}
	for d := range 3 {
		_, _ = c.Visitors(ctx, workplace.VisitorQuery{Date: day.AddDays(d), PageNumber: 1, PageSize: 3})
	}
	_, _ = c.Visitors(ctx, workplace.VisitorQuery{Date: day.AddDays(20)})
	_, _ = c.RegisterListener(ctx, workplace.NewListener{SecretKey: "fuzz-listener-secret", NotificationURL: "https://gw.example.com/webhooks/3", EventTypes: []workplace.EventType{3, 5}})
	_, _ = c.Listeners(ctx)
	_, _ = c.OrderService(ctx, workplace.NewServiceOrder{BookingID: 1, ServiceID: 1, Quantity: 1})
	// The gateway's refusals: a wrong password, a key of another product,
	// revoked tokens, the rate limit and the weekly quota. Each uses a fresh
	// client, whose rate-limit state does not hold the call back.
	_ = client("wrong-password", engagesim.DefaultKeys()).CheckToken(ctx)
	_, _ = client(engagesim.DefaultPassword, map[string]string{"HierarchyMapping": engagesim.DefaultKeys()["Visitor"]}).Countries(ctx)
	faults := func(body string) {
		resp, err := http.Post(srv.URL+"/_sim/faults", "application/json", strings.NewReader(body))
		if err != nil {
			tb.Fatal(err)
		}
		_ = resp.Body.Close()
	}
	faults(`{"unauthorizedNext":2}`)
	_, _ = client(engagesim.DefaultPassword, engagesim.DefaultKeys()).Countries(ctx)
	faults(`{"ratePerMinute":1}`)
	_, _ = client(engagesim.DefaultPassword, engagesim.DefaultKeys()).Countries(ctx)
	faults(`{"ratePerMinute":100000,"quotaPerWeek":1}`)
	_, _ = client(engagesim.DefaultPassword, engagesim.DefaultKeys()).Countries(ctx)
	return rec.answers
}
