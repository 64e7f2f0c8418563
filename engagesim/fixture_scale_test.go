package engagesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engage"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestScaleFixtureOverHTTP walks the default scale tenant as a client would, parent by parent,
// and checks its size and its zones against the gateway's own Windows-zone table.
func TestScaleFixtureOverHTTP(t *testing.T) {
	h := newHarness(t, Config{Fixture: ScaleFixture(ScaleOptions{Seed: 1, Today: baseNow()})})
	list := func(path string) []map[string]any {
		t.Helper()
		r := h.api(http.MethodGet, path, ProductHierarchyMapping, nil)
		require.Equal(t, http.StatusOK, r.status, "%s: %s", path, r.body)
		var e struct {
			Data []map[string]any `json:"Data"`
		}
		r.decode(t, &e)
		return e.Data
	}
	id := func(m map[string]any) int { return int(m["InternalId"].(float64)) }

	zones := engage.NewZones()
	var locations []map[string]any
	for _, c := range list("/countries") {
		for _, rg := range list(fmt.Sprintf("/regions?countryId=%d", id(c))) {
			locations = append(locations, list(fmt.Sprintf("/locations?regionId=%d", id(rg)))...)
		}
	}
	require.Len(t, locations, 10)
	rooms, desks := 0, 0
	offsets := map[time.Duration]bool{}
	var firstRoom int
	northDST, southDST := false, false
	for _, l := range locations {
		lid := id(l)
		rs, ds := list(fmt.Sprintf("/rooms?locationId=%d", lid)), list(fmt.Sprintf("/desks?locationId=%d", lid))
		assert.NotEmpty(t, rs, "rooms at %v", l["ResourceName"])
		assert.NotEmpty(t, ds, "desks at %v", l["ResourceName"])
		rooms, desks = rooms+len(rs), desks+len(ds)
		if firstRoom == 0 && len(rs) > 0 {
			firstRoom = id(rs[0])
		}
		name := l["TimeZone"].(string)
		tz, err := zones.ZoneFor(name)
		require.NoError(t, err, "the gateway maps %q", name)
		_, ok := knownZones()[name]
		assert.True(t, ok, "the simulator maps %q", name)
		_, off := baseNow().In(tz).Zone()
		offsets[time.Duration(off)*time.Second] = true
		_, jan := time.Date(2026, 1, 15, 12, 0, 0, 0, tz).Zone()
		_, jul := time.Date(2026, 7, 15, 12, 0, 0, 0, tz).Zone()
		northDST = northDST || jul > jan
		southDST = southDST || jan > jul
	}
	assert.Equal(t, 500, rooms)
	assert.Equal(t, 2000, desks)
	assert.GreaterOrEqual(t, len(offsets), 5, "distinct UTC offsets: %v", offsets)
	assert.True(t, northDST, "a northern zone with daylight saving")
	assert.True(t, southDST, "a southern zone with daylight saving")

	r := h.api(http.MethodGet, fmt.Sprintf("/bookings?roomId=%d&startDate=2026-03-20&endDate=2026-04-02", firstRoom), ProductExternalBookings, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var got struct {
		Bookings []bookingJSON `json:"bookings"`
	}
	r.decode(t, &got)
	assert.Greater(t, len(got.Bookings), 14, "about three meetings a day for 14 days")
	for i := 1; i < len(got.Bookings); i++ {
		assert.LessOrEqual(t, got.Bookings[i-1].TimeToUTC, got.Bookings[i].TimeFromUTC, "listed in order, never overlapping")
	}
}

// TestScaleFixtureZonesAgree: the zone the simulator computes with and the zone the gateway
// derives from the Windows name keep the same offsets through both hemispheres' clock changes.
func TestScaleFixtureZonesAgree(t *testing.T) {
	zones := engage.NewZones()
	for _, l := range ScaleFixture(ScaleOptions{Seed: 1, Today: baseNow(), Rooms: 10, Desks: 10, Users: 10}).Locations {
		sim, err := time.LoadLocation(l.IANAZone)
		require.NoError(t, err)
		gw, err := zones.ZoneFor(l.TimeZone)
		require.NoError(t, err)
		for at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC); at.Year() == 2026; at = at.Add(6 * time.Hour) {
			_, a := at.In(sim).Zone()
			_, b := at.In(gw).Zone()
			require.Equal(t, a, b, "%s at %s", l.Name, at)
		}
	}
}

// TestScaleFixtureShape checks what ScaleFixture promises, for the defaults and for options that
// stretch it: few people for many desks, more locations than cities, rooms booked beyond the
// working day's room.
func TestScaleFixtureShape(t *testing.T) {
	today := time.Date(2026, 3, 23, 7, 30, 0, 0, time.UTC) // a Monday; London and Paris change clocks on the 29th, Sydney and Auckland on 5 April
	tests := []struct {
		name string
		opts ScaleOptions
	}{
		{"defaults", ScaleOptions{Seed: 1, Today: today}},
		{"few people", ScaleOptions{Seed: 2, Today: today, Locations: 3, Rooms: 7, Desks: 5, Users: 4, BookingsPerRoomDay: 0.5, DeskShare: 1, VisitorsPerLocationDay: 1}},
		{"cities again", ScaleOptions{Seed: 3, Today: today, Locations: 23, Rooms: 30, Desks: 60, Users: 300, BookingsPerRoomDay: 1.5, DeskShare: 0.25, VisitorsPerLocationDay: 2}},
		{"overbooked", ScaleOptions{Seed: 4, Today: today, Locations: 2, Rooms: 4, Desks: 2, Users: 20, BookingsPerRoomDay: 35, DeskShare: 1}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			f := ScaleFixture(tc.opts)
			o := tc.opts.withDefaults()
			checkScaleFixture(t, f, o)
			_, err := newStore(f)
			require.NoError(t, err)
		})
	}
}

func checkScaleFixture(t *testing.T, f *Fixture, o ScaleOptions) {
	t.Helper()
	y, m, d := o.Today.Date()
	day := func(n int) string { return time.Date(y, m, d+n, 0, 0, 0, 0, time.UTC).Format(dateLayout) }

	// Every id is unique, whatever its kind.
	ids := map[int]string{}
	claim := func(kind string, id int) {
		if prev, ok := ids[id]; ok {
			t.Errorf("id %d is a %s and a %s", id, prev, kind)
		}
		ids[id] = kind
	}
	for _, c := range f.Countries {
		claim("country", c.ID)
	}
	for _, r := range f.Regions {
		claim("region", r.ID)
	}
	for _, l := range f.Locations {
		claim("location", l.ID)
	}
	for _, g := range f.Groups {
		claim("group", g.ID)
	}
	for _, u := range f.Users {
		claim("user", u.ID)
	}
	for _, r := range f.Resources {
		claim("resource", r.ID)
	}
	for _, b := range f.Bookings {
		claim("booking", b.ID)
	}
	for _, db := range f.DeskBookings {
		claim("desk booking", db.ID)
	}
	for _, v := range f.Visitors {
		claim("visitor", v.ID)
	}
	for _, c := range f.CostCodes {
		claim("cost code", c.ID)
	}
	for _, v := range f.Vendors {
		claim("vendor", v.ID)
		for _, s := range v.Services {
			claim("service", s.ID)
		}
	}

	// The hierarchy: names unique, every parent known.
	require.Len(t, f.Locations, o.Locations)
	require.Len(t, f.Users, o.Users)
	regionOK := map[int]bool{}
	for _, r := range f.Regions {
		assert.Equal(t, "country", ids[r.CountryID])
		regionOK[r.ID] = true
	}
	zones := map[int]*time.Location{}
	names := map[string]bool{}
	for _, l := range f.Locations {
		assert.True(t, regionOK[l.RegionID], l.Name)
		assert.False(t, names[l.Name], "one location called %s", l.Name)
		names[l.Name] = true
		tz, err := time.LoadLocation(l.IANAZone)
		require.NoError(t, err)
		zones[l.ID] = tz
	}
	groupAt := map[int]int{}
	for _, g := range f.Groups {
		groupAt[g.ID] = g.LocationID
	}
	emails := map[string]bool{}
	for _, u := range f.Users {
		e := strings.ToLower(u.Email)
		assert.False(t, emails[e], "one user with email %s", e)
		emails[e] = true
	}

	// Rooms and desks: every location has some, each in a group and on a floor of its building.
	res := map[int]Resource{}
	rooms, desks := map[int]int{}, map[int]int{}
	for _, r := range f.Resources {
		res[r.ID] = r
		assert.Equal(t, r.LocationID, groupAt[r.GroupID], "resource %d: a group of its location", r.ID)
		l := f.Locations[r.LocationID-scaleLocationBase]
		assert.True(t, r.FloorNumber >= 0 && r.FloorNumber <= l.FloorsAboveGround, "resource %d: floor %d", r.ID, r.FloorNumber)
		switch r.WorkspaceTypeID {
		case workspaceRoom:
			rooms[r.LocationID]++
			assert.Positive(t, r.Capacity)
		case workspaceDesk:
			desks[r.LocationID]++
		default:
			t.Errorf("resource %d: workspace type %d", r.ID, r.WorkspaceTypeID)
		}
	}
	nRooms, nDesks := 0, 0
	for _, l := range f.Locations {
		nRooms, nDesks = nRooms+rooms[l.ID], nDesks+desks[l.ID]
		if o.Rooms >= o.Locations {
			assert.Positive(t, rooms[l.ID], "rooms at %s", l.Name)
		}
		if o.Desks >= o.Locations {
			assert.Positive(t, desks[l.ID], "desks at %s", l.Name)
		}
	}
	assert.Equal(t, o.Rooms, nRooms)
	assert.Equal(t, o.Desks, nDesks)

	// Meetings: 30 to 120 minutes inside the local working day, on the days promised, never
	// overlapping in a room, about as many as asked for.
	byRoom := map[int][]Booking{}
	bookings := map[int]Booking{}
	first, last := day(scaleFirstMeetingDay), day(scaleLastMeetingDay)
	for _, b := range f.Bookings {
		r := res[b.RoomID]
		require.Equal(t, workspaceRoom, r.WorkspaceTypeID, "booking %d", b.ID)
		bookings[b.ID] = b
		byRoom[b.RoomID] = append(byRoom[b.RoomID], b)
		tz := zones[r.LocationID]
		from, to := b.Start.In(tz), b.End.In(tz)
		length := b.End.Sub(b.Start)
		assert.True(t, length >= 30*time.Minute && length <= 2*time.Hour, "booking %d lasts %s", b.ID, length)
		assert.Equal(t, from.Format(dateLayout), to.Format(dateLayout), "booking %d: one local day", b.ID)
		assert.True(t, from.Hour() >= 8 && (to.Hour() < 18 || to.Format("15:04") == "18:00"), "booking %d: %s-%s local", b.ID, from.Format("15:04"), to.Format("15:04"))
		assert.Zero(t, from.Minute()%15, "booking %d starts on a quarter hour", b.ID)
		date := from.Format(dateLayout)
		assert.True(t, date >= first && date <= last, "booking %d on %s", b.ID, date)
		assert.Positive(t, b.Attendees)
		assert.LessOrEqual(t, b.Attendees, r.Capacity)
		assert.False(t, b.CreatedOn.After(b.Start), "booking %d: made before it starts", b.ID)
	}
	for room, bs := range byRoom {
		slices.SortFunc(bs, func(a, b Booking) int { return a.Start.Compare(b.Start) })
		for i := 1; i < len(bs); i++ {
			assert.False(t, bs[i].Start.Before(bs[i-1].End), "room %d: booking %d overlaps %d", room, bs[i].ID, bs[i-1].ID)
		}
	}
	days := float64(scaleLastMeetingDay - scaleFirstMeetingDay + 1)
	want := float64(o.Rooms) * days * min(o.BookingsPerRoomDay, maxMeetingsInDay)
	assert.InEpsilon(t, want, float64(len(f.Bookings)), 0.15, "about %.0f meetings", want)

	// Desks: working days of the next two weeks, one booking a desk a day, one desk a person a
	// day while people last, about DeskShare of the desks.
	type deskDay struct {
		id   int
		date string
	}
	seenDesk, seenUser := map[deskDay]bool{}, map[deskDay]bool{}
	perDay := map[string]int{}
	for _, db := range f.DeskBookings {
		require.Equal(t, workspaceDesk, res[db.DeskID].WorkspaceTypeID, "desk booking %d", db.ID)
		date, err := time.Parse(dateLayout, db.Date)
		require.NoError(t, err)
		assert.True(t, db.Date >= day(0) && db.Date <= day(scaleDeskDays-1), "desk booking %d on %s", db.ID, db.Date)
		assert.NotContains(t, []time.Weekday{time.Saturday, time.Sunday}, date.Weekday(), "desk booking %d", db.ID)
		assert.False(t, seenDesk[deskDay{db.DeskID, db.Date}], "desk %d twice on %s", db.DeskID, db.Date)
		seenDesk[deskDay{db.DeskID, db.Date}] = true
		perDay[db.Date]++
		if perDay[db.Date] <= o.Users {
			assert.False(t, seenUser[deskDay{db.UserID, db.Date}], "user %d at two desks on %s", db.UserID, db.Date)
		}
		seenUser[deskDay{db.UserID, db.Date}] = true
		assert.Contains(t, []int{deskMorning, deskAfternoon, deskAllDay}, db.BookingType)
	}
	assert.Len(t, perDay, 10, "the working days of two weeks from a Monday")
	assert.InEpsilon(t, float64(o.Desks)*o.DeskShare*10, float64(len(f.DeskBookings)), 0.15)

	// Visitors: as many as asked a location a day, each to a meeting there that day when it
	// has one.
	perLocDay := map[[2]string]int{}
	for _, v := range f.Visitors {
		tz := zones[v.LocationID]
		require.NotNil(t, tz, "visitor %d", v.ID)
		date := v.Arrival.In(tz).Format(dateLayout)
		perLocDay[[2]string{fmt.Sprint(v.LocationID), date}]++
		assert.Equal(t, "user", ids[v.HostID], "visitor %d: a host", v.ID)
		if v.BookingID == 0 {
			continue
		}
		b := bookings[v.BookingID]
		assert.Equal(t, b.RoomID, v.RoomID, "visitor %d", v.ID)
		assert.Equal(t, v.LocationID, res[b.RoomID].LocationID, "visitor %d", v.ID)
		assert.Equal(t, b.Start.Add(-10*time.Minute), v.Arrival, "visitor %d", v.ID)
		assert.Equal(t, b.Title, v.MeetingName, "visitor %d", v.ID)
	}
	for _, l := range f.Locations {
		for n := range scaleDeskDays {
			assert.Equal(t, o.VisitorsPerLocationDay, perLocDay[[2]string{fmt.Sprint(l.ID), day(n)}], "visitors at %s on %s", l.Name, day(n))
		}
	}

	// Cost codes and vendors serve known locations.
	for _, c := range f.CostCodes {
		assert.Equal(t, "location", ids[c.LocationID])
	}
	for _, v := range f.Vendors {
		assert.NotEmpty(t, v.LocationIDs, v.Name)
		for _, l := range v.LocationIDs {
			assert.Equal(t, "location", ids[l])
		}
	}
}

func TestScaleFixtureDeterministic(t *testing.T) {
	day := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	small := func(seed uint64, today time.Time) string {
		t.Helper()
		data, err := json.Marshal(ScaleFixture(ScaleOptions{Seed: seed, Today: today, Rooms: 40, Desks: 100, Users: 80}))
		require.NoError(t, err)
		return string(data)
	}
	a := small(7, day)
	assert.Equal(t, a, small(7, day.Add(5*time.Hour)), "same seed and date")
	assert.NotEqual(t, a, small(8, day), "another seed")
	assert.NotEqual(t, a, small(7, day.AddDate(0, 0, 1)), "another date")

	defaults, err := json.Marshal(ScaleFixture(ScaleOptions{Seed: 7, Today: day}))
	require.NoError(t, err)
	spelled, err := json.Marshal(ScaleFixture(ScaleOptions{Seed: 7, Today: day, Locations: 10, Rooms: 500, Desks: 2000, Users: 1000,
		BookingsPerRoomDay: 3, DeskShare: 0.4, VisitorsPerLocationDay: 5}))
	require.NoError(t, err)
	assert.Equal(t, string(defaults), string(spelled), "zero fields are the documented defaults")
}

// TestScaleFixtureResetOverHTTP: the scale tenant also travels as the JSON of POST /_sim/reset.
func TestScaleFixtureResetOverHTTP(t *testing.T) {
	h := newHarness(t, Config{})
	f := ScaleFixture(ScaleOptions{Seed: 3, Today: baseNow(), Locations: 5, Rooms: 50, Desks: 120, Users: 100})
	r := h.admin(http.MethodPost, "/_sim/reset", map[string]any{"fixture": f})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	got := r.obj(t)
	assert.EqualValues(t, 5, got["locations"])
	assert.EqualValues(t, 170, got["resources"])
	assert.EqualValues(t, len(f.Bookings), got["bookings"])
}

// benchClient calls one simulator over HTTP without the assertions of the test harness, so a
// benchmark measures the simulator and the loopback, not the test helpers.
type benchClient struct {
	b     *testing.B
	base  string // the API base
	admin string // the server root, for /_sim/
	token string
}

func (c *benchClient) call(method, url, key, body string, want int) []byte {
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		c.b.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	if key != "" {
		req.Header.Set("Ocp-Apim-Subscription-Key", DefaultKeys()[key])
		req.Header.Set("Authorization", "Bearer "+c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.b.Fatal(err)
	}
	data, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		c.b.Fatal(err)
	}
	if resp.StatusCode != want {
		c.b.Fatalf("%s %s: %d %s", method, url, resp.StatusCode, data)
	}
	return data
}

// count returns how many items a listing holds: how often the field that each item has once,
// and nothing else has, appears. Decoding the answer would cost the benchmark more than the
// simulator's work it measures.
func count(data []byte, field string) int { return bytes.Count(data, []byte(`"`+field+`":`)) }

// benchTenant is one tenant under benchmark and the entities it is asked about.
type benchTenant struct {
	name            string
	c               *benchClient
	room, desk, loc int
	user            int
	edited          int // a booking BookingEdit moves back and forth
}

// BenchmarkScaleSim measures the calls a client makes most against the demo tenant, a small
// tenant of the scale fixture's density (one building, five rooms) and the default scale tenant
// (2,500 resources, 45,000 meetings). Each call touches one room, desk or location, and its cost
// follows what that one holds (reported as items/op), not the size of the tenant.
func BenchmarkScaleSim(b *testing.B) {
	now := baseNow()
	today := now.Format(dateLayout)
	in := func(days int) string { return now.AddDate(0, 0, days).Format(dateLayout) }
	tenants := []*benchTenant{
		{name: "demo"},
		{name: "small"},
		{name: "scale"},
	}
	fixtures := map[string]*Fixture{
		"demo":  DemoFixture(1, now),
		"small": ScaleFixture(ScaleOptions{Seed: 1, Today: now, Locations: 1, Rooms: 5, Desks: 20, Users: 50}),
		"scale": ScaleFixture(ScaleOptions{Seed: 1, Today: now}),
	}
	for _, tn := range tenants {
		f := fixtures[tn.name]
		h := newHarness(b, Config{Fixture: f, Now: baseNow, RatePerMinute: 1 << 30, QuotaPerWeek: 1 << 30})
		tn.c = &benchClient{base: h.base, admin: h.srv.URL, token: h.token}
		tn.user, tn.loc = f.Users[0].ID, f.Locations[0].ID
		for _, r := range f.Resources {
			if r.LocationID != tn.loc {
				continue
			}
			switch {
			case r.WorkspaceTypeID == workspaceRoom && tn.room == 0:
				tn.room = r.ID
			case r.WorkspaceTypeID == workspaceDesk && tn.desk == 0:
				tn.desk = r.ID
			}
		}
	}
	run := func(op string, f func(b *testing.B, tn *benchTenant) int) {
		for _, tn := range tenants {
			b.Run(op+"/"+tn.name, func(b *testing.B) {
				tn.c.b = b
				items := 0
				for b.Loop() {
					items = f(b, tn)
				}
				b.ReportMetric(float64(items), "items/op")
			})
		}
	}
	run("GetBookings14d", func(b *testing.B, tn *benchTenant) int {
		data := tn.c.call(http.MethodGet, fmt.Sprintf("%s/bookings?roomId=%d&startDate=%s&endDate=%s", tn.c.base, tn.room, today, in(13)), ProductExternalBookings, "", http.StatusOK)
		return count(data, "bookingID")
	})
	run("BookingRoundTrip", func(b *testing.B, tn *benchTenant) int {
		body := fmt.Sprintf(`{"userId":%d,"roomId":%d,"startDateTime":"%sT21:00:00","endDateTime":"%sT21:30:00","meetingTitle":"Late call"}`, tn.user, tn.room, in(3), in(3))
		var made struct {
			BookingID int `json:"bookingId"`
		}
		if err := json.Unmarshal(tn.c.call(http.MethodPost, tn.c.admin+"/_sim/bookings", "", body, http.StatusCreated), &made); err != nil {
			b.Fatal(err)
		}
		tn.c.call(http.MethodDelete, fmt.Sprintf("%s/_sim/bookings/%d", tn.c.admin, made.BookingID), "", "", http.StatusOK)
		return 1
	})
	run("BookingEdit", func(b *testing.B, tn *benchTenant) int {
		if tn.edited == 0 {
			body := fmt.Sprintf(`{"userId":%d,"roomId":%d,"startDateTime":"%sT21:00:00","endDateTime":"%sT21:30:00","meetingTitle":"Moved"}`, tn.user, tn.room, in(4), in(4))
			var made struct {
				BookingID int `json:"bookingId"`
			}
			if err := json.Unmarshal(tn.c.call(http.MethodPost, tn.c.admin+"/_sim/bookings", "", body, http.StatusCreated), &made); err != nil {
				b.Fatal(err)
			}
			tn.edited = made.BookingID
		}
		for _, span := range [][2]string{{"21:30", "22:00"}, {"21:00", "21:30"}} {
			tn.c.call(http.MethodPut, fmt.Sprintf("%s/_sim/bookings/%d", tn.c.admin, tn.edited), "",
				fmt.Sprintf(`{"startDateTime":"%sT%s:00","endDateTime":"%sT%s:00"}`, in(4), span[0], in(4), span[1]), http.StatusOK)
		}
		return 2
	})
	run("GetDeskBookings14d", func(b *testing.B, tn *benchTenant) int {
		data := tn.c.call(http.MethodGet, fmt.Sprintf("%s/deskBookings?deskId=%d&startDate=%s&endDate=%s", tn.c.base, tn.desk, today, in(13)), ProductExternalBookings, "", http.StatusOK)
		return count(data, "bookingID")
	})
	run("DeskBookingRoundTrip", func(b *testing.B, tn *benchTenant) int {
		body := fmt.Sprintf(`{"userId":%d,"deskId":%d,"dateList":[{"date":"%s","bookingType":3}]}`, tn.user, tn.desk, in(20))
		var made struct {
			BookingIDs []int `json:"bookingIds"`
		}
		if err := json.Unmarshal(tn.c.call(http.MethodPost, tn.c.admin+"/_sim/deskBookings", "", body, http.StatusCreated), &made); err != nil || len(made.BookingIDs) != 1 {
			b.Fatal(err, made)
		}
		tn.c.call(http.MethodDelete, fmt.Sprintf("%s/_sim/deskBookings/%d", tn.c.admin, made.BookingIDs[0]), "", "", http.StatusOK)
		return 1
	})
	run("GetRoomsOfLocation", func(b *testing.B, tn *benchTenant) int {
		return count(tn.c.call(http.MethodGet, fmt.Sprintf("%s/rooms?locationId=%d", tn.c.base, tn.loc), ProductHierarchyMapping, "", http.StatusOK), "InternalId")
	})
	run("GetDesksOfLocation", func(b *testing.B, tn *benchTenant) int {
		return count(tn.c.call(http.MethodGet, fmt.Sprintf("%s/desks?locationId=%d", tn.c.base, tn.loc), ProductHierarchyMapping, "", http.StatusOK), "InternalId")
	})
	run("GetVisitorsOfDay", func(b *testing.B, tn *benchTenant) int {
		data := tn.c.call(http.MethodGet, fmt.Sprintf("%s/visitor?visitDate=%s&locationId=%d", tn.c.base, in(1), tn.loc), ProductVisitor, "", http.StatusOK)
		return count(data, "visitorId")
	})
}
