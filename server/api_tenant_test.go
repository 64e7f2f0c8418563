package server

// End-to-end tests of what real tenants have and a tidy demo might not: an
// upstream that requires every parameter the contract lists, ids beyond 32
// bits, offsets of half and three quarters of an hour, daylight saving in
// both hemispheres inside the 14-day window, bookings across local midnight,
// names beyond ASCII, titles of markup characters, emoji or nothing, and
// emails in mixed case. The demo fixture holds each (engagesim's
// addEdgeCases); these tests read them through the gateway.

import (
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/loader"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// newTenantStack is newAPIStack on the demo fixture of the date today has at
// London HQ, with the simulator's clock at now (nil: the real clock).
func newTenantStack(t *testing.T, today time.Time, now func() time.Time) *apiStack {
	t.Helper()
	f := engagesim.DemoFixture(1, today)
	s := newStack(t, engagesim.Config{Fixture: f, Now: now, RatePerMinute: apiCallsPerMinute}, loader.Options{})
	return &apiStack{stack: s, fx: engagesim.DemoFixture(1, today)}
}

// tenantToday is today's date at London HQ, as the demo fixture takes it.
func tenantToday(t *testing.T) time.Time {
	t.Helper()
	london, err := time.LoadLocation("Europe/London")
	require.NoError(t, err)
	y, m, d := time.Now().In(london).Date()
	return time.Date(y, m, d, 12, 0, 0, 0, time.UTC)
}

// bookingTitled finds the fixture booking of a location with a title.
func (s *apiStack) bookingTitled(t testing.TB, locID int, title string) engagesim.Booking {
	t.Helper()
	rooms := map[int]bool{}
	for _, r := range s.resources(locID, 1) {
		rooms[r.ID] = true
	}
	for _, b := range s.fx.Bookings {
		if rooms[b.RoomID] && b.Title == title {
			return b
		}
	}
	require.Failf(t, "no booking", "%q at location %d", title, locID)
	return engagesim.Booking{}
}

// roomName is the name of a fixture room.
func (s *apiStack) roomName(id int) string {
	for _, r := range s.fx.Resources {
		if r.ID == id {
			return r.Name
		}
	}
	return ""
}

type tenantBooking struct {
	EngageID   apiEngageID
	Title      *string
	Start, End string
	Host       *struct {
		EngageID  apiEngageID
		Email     string
		FirstName string
		LastName  string
	}
}

// roomBookingsBetween lists a room's bookings over [from, to) through the API.
func (s *apiStack) roomBookingsBetween(t testing.TB, roomID string, from, to time.Time) []tenantBooking {
	t.Helper()
	var d struct {
		Room struct{ Bookings []tenantBooking }
	}
	s.data(t, `query($id: ID!, $from: DateTime!, $to: DateTime!) { room(id: $id) { bookings(from: $from, to: $to) { engageId title start end host { engageId email firstName lastName } } } }`,
		map[string]any{"id": roomID, "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)}, &d)
	return d.Room.Bookings
}

func titled(bs []tenantBooking, title string) *tenantBooking {
	for i := range bs {
		if bs[i].Title != nil && *bs[i].Title == title {
			return &bs[i]
		}
	}
	return nil
}

// TestAPIStrictUpstream: the simulator refuses, as a strict upstream would,
// every hierarchy list without the parameter the contract lists for it; the
// gateway walks the hierarchy instead, so every field that needs a location,
// a region or a country answers, and no call was refused.
func TestAPIStrictUpstream(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	london := s.location(t, "London HQ")
	locID := s.locationID(t, london.Name)
	roomID := s.roomIDs(t, locID)[s.resources(london.ID, 1)[0].Name]
	s.resetStats(t)

	var d struct {
		Countries []struct {
			Name    string
			Regions []struct {
				Name      string
				Locations []struct{ Name, TimeZone string }
			}
		}
		Regions   []struct{ Name string }
		Locations []struct{ Name string }
		Location  struct {
			Name    string
			Region  struct{ Name string }
			Country struct{ Name string }
			Groups  []struct{ Name string }
		}
		Room struct {
			Location struct{ Name string }
			Group    *struct{ Name string }
			Bookings []struct{ Title *string }
		}
	}
	s.data(t, `query($loc: ID!, $room: ID!) {
		countries { name regions { name locations { name timeZone } } }
		regions { name }
		locations { name }
		location(id: $loc) { name region { name } country { name } groups { name } }
		room(id: $room) { location { name } group { name } bookings { title } }
	}`, map[string]any{"loc": locID, "room": roomID}, &d)
	assert.Len(t, d.Countries, len(s.fx.Countries))
	assert.Len(t, d.Regions, len(s.fx.Regions))
	assert.Len(t, d.Locations, len(s.fx.Locations))
	walked := 0
	for _, c := range d.Countries {
		for _, r := range c.Regions {
			walked += len(r.Locations)
		}
	}
	assert.Equal(t, len(s.fx.Locations), walked, "every location under its region under its country")
	assert.Equal(t, "London HQ", d.Location.Name)
	assert.Equal(t, "England", d.Location.Region.Name)
	assert.Equal(t, "United Kingdom", d.Location.Country.Name)
	assert.NotEmpty(t, d.Location.Groups)
	assert.Equal(t, "London HQ", d.Room.Location.Name)
	require.NotNil(t, d.Room.Group)

	for _, c := range s.stats(t).Calls {
		assert.Equal(t, http.StatusOK, c.Status, "%s %s was refused", c.Method, c.Route)
	}
}

// TestAPIUpstreamRefusalOfTheGatewaysRead: a read the upstream refuses with
// 400 is the gateway's own request, which the client never saw: the client
// is told so as INTERNAL, without the upstream's words, and the operator
// finds the route in the log.
func TestAPIUpstreamRefusalOfTheGatewaysRead(t *testing.T) {
	t.Parallel()
	var logs syncBuffer
	s := newStackWithDeps(t, engagesim.Config{}, loader.Options{}, func(d *serverDeps) {
		d.log = slog.New(slog.NewJSONHandler(&logs, nil))
	})
	s.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"failNext": 1, "errorStatus": 400}, nil)
	resp := s.query(t, `{ countries { name } }`, nil)
	require.Len(t, resp.Errors, 1)
	e := resp.Errors[0]
	assert.Equal(t, "INTERNAL", e.Extensions["code"])
	assert.Equal(t, "Engage refused a request the gateway made; the fault is the gateway's, not the query's, and it has been logged.", e.Message)
	assert.NotContains(t, e.Message, "An error has occurred", "the upstream's words stay out")
	assert.Contains(t, logs.String(), "GET /countries", "the log names the route")
	assert.Contains(t, logs.String(), "400")
}

// TestAPIEngageIDsBeyond32Bits: ids past what a 32-bit integer holds, up to
// 2^53-1, reach the client exactly, as strings, and its global ids lead back
// to the same entities.
func TestAPIEngageIDsBeyond32Bits(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	for _, name := range []string{"Mumbai — Bāndra Kurla", "काठमाडौं Durbar Marg"} {
		t.Run(name, func(t *testing.T) {
			loc := s.location(t, name)
			require.Greater(t, loc.ID, 1<<31)
			locID := s.locationID(t, name)
			room := s.resources(loc.ID, 1)[0]
			b := s.bookingTitled(t, loc.ID, "Late release")
			require.Greater(t, b.ID, 1<<31)

			raw := apiRaw(t, s, `query($id: ID!) { location(id: $id) { engageId rooms { id engageId name } } }`, map[string]any{"id": locID})
			assert.Contains(t, string(raw), `"engageId":"`+strconv.Itoa(loc.ID)+`"`, "a string, every digit kept")
			assert.Contains(t, string(raw), `"engageId":"`+strconv.Itoa(room.ID)+`"`)

			roomID := s.roomIDs(t, locID)[room.Name]
			found := titled(s.roomBookingsBetween(t, roomID, b.Start, b.End), "Late release")
			require.NotNil(t, found)
			assert.Equal(t, b.ID, int(found.EngageID))
			host := s.user(b.UserID)
			require.NotNil(t, found.Host)
			assert.Equal(t, host.ID, int(found.Host.EngageID))
			assert.Greater(t, host.ID, 1<<31)

			// node(id) round trips: the global ids carry the big ids whole.
			var n struct {
				Node struct{ EngageID apiEngageID }
			}
			s.data(t, `query($id: ID!) { node(id: $id) { ... on Room { engageId } } }`, map[string]any{"id": roomID}, &n)
			assert.Equal(t, room.ID, int(n.Node.EngageID))
		})
	}
	t.Run("2^53-1 everywhere", func(t *testing.T) {
		loc := s.location(t, "काठमाडौं Durbar Marg")
		assert.Equal(t, 1<<53-1, loc.ID)
		assert.Equal(t, 1<<53-1, s.resources(loc.ID, 1)[0].ID)
		var d struct {
			User struct{ EngageID apiEngageID }
		}
		s.data(t, `{ user(email: "ngo.baochau@example.com") { engageId } }`, nil, &d)
		assert.Equal(t, 1<<53-1, int(d.User.EngageID))
	})
}

// TestAPIOffsetsOffTheHour: Mumbai is half an hour off the hour and
// Kathmandu three quarters; their times carry those offsets, and their
// "today" runs from their own midnight.
func TestAPIOffsetsOffTheHour(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	for name, offset := range map[string]string{"Mumbai — Bāndra Kurla": "+05:30", "काठमाडौं Durbar Marg": "+05:45"} {
		t.Run(name, func(t *testing.T) {
			loc := s.location(t, name)
			zone := s.zone(t, loc)
			locID := s.locationID(t, name)
			b := s.bookingTitled(t, loc.ID, `Q&A: <Roadmap> "2027" & 'Ops' review 🚀`)
			roomID := s.roomIDs(t, locID)[s.roomName(b.RoomID)]
			day := apiLocalDay(b.Start, zone)
			got := s.roomBookingsBetween(t, roomID, day, day.AddDate(0, 0, 1))
			found := titled(got, b.Title)
			require.NotNil(t, found)
			apiAssertLocal(t, zone, b.Start, found.Start)
			assert.True(t, strings.HasSuffix(found.Start, offset), found.Start)
			assert.Equal(t, "20:00:00"+offset, found.Start[11:], "its local wall time")

			// The day's window is its own midnight to the next.
			for _, g := range got {
				start, end := apiTime(t, g.Start), apiTime(t, g.End)
				assert.True(t, start.Before(day.AddDate(0, 0, 1)) && end.After(day), "%s %s–%s is not on %s", *g.Title, g.Start, g.End, day.Format(time.DateOnly))
			}
			var tz struct{ Location struct{ TimeZone string } }
			s.data(t, `query($id: ID!) { location(id: $id) { timeZone } }`, map[string]any{"id": locID}, &tz)
			z, err := time.LoadLocation(tz.Location.TimeZone)
			require.NoError(t, err)
			_, want := b.Start.In(zone).Zone()
			_, got2 := b.Start.In(z).Zone()
			assert.Equal(t, want, got2, "timeZone %s has the location's offset", tz.Location.TimeZone)
		})
	}
}

// TestAPIDaylightSavingInBothHemispheres: on 23 March 2026 the 14-day window
// holds London's clocks going forward (29 March: 01:00 to 02:00 does not
// exist) and Sydney's going back (5 April: 02:00 to 03:00 happens twice).
// Bookings around both read back as the right instants with the offset of
// each, including two bookings at the same local time an hour apart, which
// the upstream writes alike in local time.
func TestAPIDaylightSavingInBothHemispheres(t *testing.T) {
	t.Parallel()
	simNow := time.Date(2026, 3, 23, 6, 0, 0, 0, time.UTC)
	s := newTenantStack(t, simNow, func() time.Time { return simNow })

	t.Run("London springs forward", func(t *testing.T) {
		loc := s.location(t, "London HQ")
		zone := s.zone(t, loc)
		locID := s.locationID(t, loc.Name)
		b := s.bookingTitled(t, loc.ID, "Across the clock change")
		day := time.Date(2026, 3, 29, 0, 0, 0, 0, zone)
		require.Equal(t, 23*time.Hour, day.AddDate(0, 0, 1).Sub(day), "a 23-hour day")
		got := titled(s.roomBookingsBetween(t, s.roomIDs(t, locID)[s.roomName(b.RoomID)], day, day.AddDate(0, 0, 1)), b.Title)
		require.NotNil(t, got)
		assert.Equal(t, "2026-03-29T00:30:00Z", apiTime(t, got.Start).UTC().Format(time.RFC3339))
		assert.Equal(t, "2026-03-29T00:30:00+00:00", got.Start)
		assert.Equal(t, "2026-03-29T02:30:00+01:00", got.End, "two hours on the wall, one in fact")
		assert.Equal(t, time.Hour, apiTime(t, got.End).Sub(apiTime(t, got.Start)))
	})

	for _, name := range []string{"Sydney", "Melbourne"} {
		t.Run(name+" falls back", func(t *testing.T) {
			loc := s.location(t, name)
			zone := s.zone(t, loc)
			locID := s.locationID(t, loc.Name)
			rooms := s.roomIDs(t, locID)
			day := time.Date(2026, 4, 5, 0, 0, 0, 0, zone)
			require.Equal(t, 25*time.Hour, day.AddDate(0, 0, 1).Sub(day), "a 25-hour day")

			across := s.bookingTitled(t, loc.ID, "Across the clock change")
			got := titled(s.roomBookingsBetween(t, rooms[s.roomName(across.RoomID)], day, day.AddDate(0, 0, 1)), across.Title)
			require.NotNil(t, got)
			assert.Equal(t, "2026-04-05T02:30:00+11:00", got.Start)
			assert.Equal(t, "2026-04-05T02:30:00+10:00", got.End, "the same wall time, an hour later")

			before := s.bookingTitled(t, loc.ID, "Before the clocks go back")
			twins := s.roomBookingsBetween(t, rooms[s.roomName(before.RoomID)], day, day.AddDate(0, 0, 1))
			first, second := titled(twins, "Before the clocks go back"), titled(twins, "After the clocks go back")
			require.NotNil(t, first)
			require.NotNil(t, second)
			assert.Equal(t, "2026-04-05T02:30:00+11:00", first.Start)
			assert.Equal(t, "2026-04-05T02:30:00+10:00", second.Start)
			assert.Equal(t, time.Hour, apiTime(t, second.Start).Sub(apiTime(t, first.Start)))
		})
	}

	t.Run("the upstream writes the twins alike in local time", func(t *testing.T) {
		// What makes the test above worth having: without the UTC twins the
		// two bookings could not be told apart.
		loc := s.location(t, "Sydney")
		before := s.bookingTitled(t, loc.ID, "Before the clocks go back")
		after := s.bookingTitled(t, loc.ID, "After the clocks go back")
		zone := s.zone(t, loc)
		assert.Equal(t, before.Start.In(zone).Format("2006-01-02T15:04:05"), after.Start.In(zone).Format("2006-01-02T15:04:05"))
	})
}

// TestAPIBookingsAcrossMidnight: a meeting that began before midnight is
// part of the day it runs into, and one that runs past midnight part of the
// next day too, whether the window is given or defaults to today.
func TestAPIBookingsAcrossMidnight(t *testing.T) {
	t.Parallel()
	s := newTenantStack(t, tenantToday(t), nil)
	loc := s.location(t, "London HQ")
	zone := s.zone(t, loc)
	locID := s.locationID(t, loc.Name)
	into := s.bookingTitled(t, loc.ID, "Night shift handover")
	outOf := s.bookingTitled(t, loc.ID, "Late release")
	require.Equal(t, into.RoomID, outOf.RoomID)
	roomID := s.roomIDs(t, locID)[s.roomName(into.RoomID)]
	today := apiLocalDay(time.Now(), zone)
	require.True(t, into.Start.Before(today) && into.End.After(today), "the fixture's booking runs into today")

	var d struct {
		Room struct {
			Bookings []tenantBooking
		}
	}
	s.data(t, `query($id: ID!) { room(id: $id) { bookings { engageId title start end } } }`, map[string]any{"id": roomID}, &d)
	assert.NotNil(t, titled(d.Room.Bookings, into.Title), "today's default window holds the meeting that began yesterday")
	assert.NotNil(t, titled(d.Room.Bookings, outOf.Title), "and the one that runs into tomorrow")

	tomorrow := today.AddDate(0, 0, 1)
	next := s.roomBookingsBetween(t, roomID, tomorrow, tomorrow.AddDate(0, 0, 1))
	assert.NotNil(t, titled(next, outOf.Title), "tomorrow's window holds the meeting that began today")
	assert.Nil(t, titled(next, into.Title))

	var q struct {
		Bookings []struct{ Title *string }
	}
	s.data(t, `query($rooms: [ID!], $from: DateTime!, $to: DateTime!) { bookings(roomIds: $rooms, from: $from, to: $to) { title } }`,
		map[string]any{"rooms": []string{roomID}, "from": today.Format(time.RFC3339), "to": today.Add(time.Hour).Format(time.RFC3339)}, &q)
	var titles []string
	for _, b := range q.Bookings {
		titles = append(titles, *b.Title)
	}
	assert.Contains(t, titles, into.Title, "Query.bookings too")
}

// TestAPINamesTitlesAndEmails: names beyond ASCII in every kind of entity,
// a title of markup characters and an emoji, an empty title and emails in
// mixed case come through exactly.
func TestAPINamesTitlesAndEmails(t *testing.T) {
	t.Parallel()
	s := newTenantStack(t, tenantToday(t), nil)
	loc := s.location(t, "काठमाडौं Durbar Marg")
	locID := s.locationID(t, loc.Name)

	var d struct {
		Location struct {
			Name      string
			Country   struct{ Name string }
			Region    struct{ Name string }
			Groups    []struct{ Name string }
			Rooms     []struct{ Name string }
			Desks     []struct{ Name string }
			CostCodes []struct {
				Description string
			}
			VendorServices []struct{ Name string }
		}
	}
	s.data(t, `query($id: ID!) { location(id: $id) { name country { name } region { name } groups { name } rooms { name } desks { name } costCodes { description } vendorServices { name } } }`,
		map[string]any{"id": locID}, &d)
	l := d.Location
	assert.Equal(t, "काठमाडौं Durbar Marg", l.Name)
	assert.Equal(t, "Nepal (नेपाल)", l.Country.Name)
	assert.Equal(t, "Bāgmatī", l.Region.Name)
	require.NotEmpty(t, l.Groups)
	assert.True(t, strings.HasPrefix(l.Groups[0].Name, "काठमाडौं"), l.Groups[0].Name)
	require.NotEmpty(t, l.Rooms)
	assert.True(t, strings.HasPrefix(l.Rooms[0].Name, "Kothā "), l.Rooms[0].Name)
	require.NotEmpty(t, l.Desks)
	assert.True(t, strings.HasPrefix(l.Desks[0].Name, "Ṭebul "), l.Desks[0].Name)
	require.NotEmpty(t, l.CostCodes)
	assert.Equal(t, "Sāmānya", l.CostCodes[0].Description)
	require.NotEmpty(t, l.VendorServices)
	assert.Contains(t, l.VendorServices[0].Name, "नेपाल")

	marked := s.bookingTitled(t, loc.ID, `Q&A: <Roadmap> "2027" & 'Ops' review 🚀`)
	empty := s.bookingTitled(t, loc.ID, "")
	roomID := s.roomIDs(t, locID)[s.roomName(marked.RoomID)]
	zone := s.zone(t, loc)
	day := apiLocalDay(marked.Start, zone)
	got := s.roomBookingsBetween(t, roomID, day, day.AddDate(0, 0, 1))
	m := titled(got, marked.Title)
	require.NotNil(t, m, "the title comes back exactly")
	e := titled(got, "")
	require.NotNil(t, e, "an empty title is the empty string, not null")
	assert.Equal(t, empty.ID, int(e.EngageID))

	t.Run("hosts with names beyond ASCII and emails in mixed case", func(t *testing.T) {
		host := s.user(marked.UserID)
		require.NotEqual(t, strings.ToLower(host.Email), host.Email, "the fixture's host has a mixed-case email")
		require.NotNil(t, m.Host)
		assert.Equal(t, host.FirstName, m.Host.FirstName)
		assert.Equal(t, host.LastName, m.Host.LastName)
		assert.Equal(t, host.ID, int(m.Host.EngageID))
		for _, asked := range []string{host.Email, strings.ToLower(host.Email), strings.ToUpper(host.Email)} {
			var u struct {
				User struct {
					EngageID  apiEngageID
					Email     string
					FirstName string
				}
			}
			s.data(t, `query($e: String!) { user(email: $e) { engageId email firstName } }`, map[string]any{"e": asked}, &u)
			assert.Equal(t, host.ID, int(u.User.EngageID), asked)
			assert.Equal(t, host.Email, u.User.Email, "the email as Engage holds it")
		}
	})

	t.Run("visitors", func(t *testing.T) {
		// At London HQ, whose date the fixture's "today" is (Kathmandu's
		// may be tomorrow already, and Engage lists visitors from today).
		london := s.location(t, "London HQ")
		locID := s.locationID(t, london.Name)
		day := apiLocalDay(s.bookingTitled(t, london.ID, marked.Title).Start, s.zone(t, london))
		var v struct {
			Visitors struct {
				Nodes []struct{ FirstName, LastName, Company string }
			}
		}
		s.data(t, `query($d: Date!, $loc: ID) { visitors(date: $d, locationId: $loc) { nodes { firstName lastName company } } }`,
			map[string]any{"d": day.Format(time.DateOnly), "loc": locID}, &v)
		assert.Contains(t, v.Visitors.Nodes, struct{ FirstName, LastName, Company string }{"Ünal", "Çelik", "Société Générale & Fils"})
	})
}

// TestAPIDeskWithoutBookings: a desk with no bookings in the window has an
// empty list, not null.
func TestAPIDeskWithoutBookings(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	loc := s.location(t, "London HQ")
	locID := s.locationID(t, loc.Name)
	desk := s.resources(loc.ID, 2)[0]
	far := time.Now().AddDate(0, 3, 0).Format(time.DateOnly)
	raw := apiRaw(t, s, `query($id: ID!, $d: Date!) { desk(id: $id) { bookings(from: $d, to: $d) { id } } }`,
		map[string]any{"id": s.deskIDs(t, locID)[desk.Name], "d": far})
	assert.JSONEq(t, `{"data":{"desk":{"bookings":[]}}}`, string(raw))
}
