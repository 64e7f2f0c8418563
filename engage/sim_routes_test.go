package engage

// Every route of the contract, round-tripped over real HTTP against
// engagesim's demo tenant.

import (
	"bytes"
	"encoding/json"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"

	"github.com/engagegql/gateway/workplace"
)

func TestHierarchyRoutes(t *testing.T) {
	env := newSimEnv(t)
	ctx := env.ctx()

	countries, err := env.client.Countries(ctx)
	require.NoError(t, err)
	require.Len(t, countries, 6)
	uk := countries[0]
	assert.Equal(t, "United Kingdom", uk.Name)

	regions, err := env.client.Regions(ctx, uk.ID)
	require.NoError(t, err)
	require.Len(t, regions, 2)
	for _, r := range regions {
		assert.Equal(t, uk.ID, r.CountryID)
	}
	byParent, err := env.client.RegionsByParent(ctx, uk.ID)
	require.NoError(t, err)
	assert.Equal(t, regions, byParent)
	all, err := workplace.AllRegions(ctx, env.client)
	require.NoError(t, err)
	assert.Greater(t, len(all), len(regions))
	_, err = env.client.Regions(ctx, 0)
	assert.Equal(t, workplace.EINTERNAL, workplace.ErrorCode(err), "the upstream lists regions by country only")

	locs, err := workplace.AllLocations(ctx, env.client)
	require.NoError(t, err)
	require.Len(t, locs, 9)
	zones := map[string]string{}
	for _, l := range locs {
		require.NotNil(t, l.TimeZone, l.Name)
		zones[l.Name] = l.TimeZone.String()
	}
	assert.Equal(t, map[string]string{
		"London HQ": "Europe/London", "Edinburgh": "Europe/London", "New York": "America/New_York",
		"San Francisco": "America/Los_Angeles", "Sydney": "Australia/Sydney", "Melbourne": "Australia/Sydney",
		"Singapore": "Asia/Singapore", "Mumbai — Bāndra Kurla": "Asia/Calcutta", "काठमाडौं Durbar Marg": "Asia/Katmandu",
	}, zones)
	london := locs[0]
	assert.Equal(t, "GMT Standard Time", london.WindowsTimeZone)
	assert.Equal(t, "London", london.City)
	assert.Equal(t, 13, london.FloorsAboveGround)
	assert.Equal(t, 2, london.FloorsBelowGround)
	assert.NotEmpty(t, london.GroupIDs)
	inRegion, err := env.client.Locations(ctx, london.RegionID)
	require.NoError(t, err)
	require.Len(t, inRegion, 1)
	assert.Equal(t, london.ID, inRegion[0].ID)

	groups, err := env.client.Groups(ctx, uk.ID)
	require.NoError(t, err)
	require.NotEmpty(t, groups)
	assert.Equal(t, uk.ID, groups[0].CountryID)

	users, err := env.client.Users(ctx, "")
	require.NoError(t, err)
	require.Len(t, users, 205)
	one, err := env.client.Users(ctx, users[7].Email)
	require.NoError(t, err)
	assert.Equal(t, []workplace.User{users[7]}, one)

	rooms, err := env.client.Rooms(ctx, london.ID)
	require.NoError(t, err)
	require.Len(t, rooms, 22)
	for _, r := range rooms {
		assert.Equal(t, london.ID, r.LocationID)
		assert.True(t, r.Floor >= 1 && r.Floor <= 13, "floor %d read from a string", r.Floor)
		assert.Positive(t, r.Capacity)
		assert.NotZero(t, r.GroupID)
		assert.NotEmpty(t, r.FloorName)
	}
	desks, err := env.client.Desks(ctx, london.ID)
	require.NoError(t, err)
	require.Len(t, desks, 110)
	assert.Positive(t, desks[0].Floor)

	plan, err := env.client.FloorPlan(ctx, workplace.FloorPlanQuery{LocationID: london.ID, Floor: rooms[0].Floor, WorkspaceType: workplace.WorkspaceRoom})
	require.NoError(t, err)
	require.NotEmpty(t, plan)
	assert.True(t, slices.ContainsFunc(plan, func(p workplace.FloorPlanItem) bool { return p.ID == int64(rooms[0].ID) }))
	for _, p := range plan {
		assert.Equal(t, rooms[0].Floor, p.Floor)
		assert.Equal(t, workplace.WorkspaceRoom, p.WorkspaceType)
	}

	_, err = env.client.Rooms(ctx, 999)
	assert.Equal(t, workplace.ENOTFOUND, workplace.ErrorCode(err), "envelope error with 404")
	assert.Equal(t, "Location not found.", workplace.ErrorMessage(err))
}

func TestBookingRoutes(t *testing.T) {
	env := newSimEnv(t)
	ctx := env.ctx()
	ny := env.location("New York")
	rooms, err := env.client.Rooms(ctx, ny.ID)
	require.NoError(t, err)
	room := rooms[0]
	users, err := env.client.Users(ctx, "")
	require.NoError(t, err)
	user := users[0]

	today := workplace.DateOf(simStart().In(ny.TimeZone))
	list, err := env.client.Bookings(ctx, room.ID, today, today.AddDays(13))
	require.NoError(t, err)
	require.NotEmpty(t, list, "the demo fixture books every room")
	for _, b := range list {
		assert.Equal(t, room.ID, b.RoomID)
		assert.Equal(t, ny.ID, b.LocationID)
		assert.Equal(t, ny.TimeZone, b.Start.Location())
		assert.True(t, b.End.After(b.Start))
	}
	_, err = env.client.Bookings(ctx, room.ID, today, today.AddDays(14))
	assert.Equal(t, workplace.EINVALID, workplace.ErrorCode(err), "15 days are refused before calling")

	// 05:05 in New York: before the fixture's working-day bookings.
	start := simStart().Add(5 * time.Minute)
	id, err := env.client.CreateBooking(ctx, workplace.NewBooking{
		UserID: user.ID, RoomID: room.ID, Start: start, End: start.Add(time.Hour), Title: "Early sync", Source: "1",
		Attendees: []workplace.Attendee{{FirstName: "Ada", LastName: "Lovelace", Email: "ada@example.com", Type: 2}},
	})
	require.NoError(t, err)
	require.NotZero(t, id)

	b, err := env.client.Booking(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, id, b.ID)
	assert.Equal(t, "Early sync", b.Title)
	assert.True(t, start.Equal(b.Start), "start %s", b.Start)
	assert.Equal(t, "2025-03-27T05:05:00-04:00", b.Start.Format(time.RFC3339))
	assert.Equal(t, user.ID, b.Host.ID)
	assert.Equal(t, user.Email, b.Host.Email)
	assert.Equal(t, workplace.MeetingNotStarted, b.Progress)
	assert.True(t, b.ActualStart.IsZero(), "0001-01-01 is no value")
	assert.Equal(t, ny.TimeZone, b.CreatedAt.Location())
	assert.True(t, simStart().Equal(b.CreatedAt))

	_, err = env.client.CreateBooking(ctx, workplace.NewBooking{UserID: user.ID, RoomID: room.ID, Start: start.Add(30 * time.Minute), End: start.Add(90 * time.Minute), Title: "Clash"})
	require.Error(t, err)
	assert.Equal(t, workplace.ECONFLICT, workplace.ErrorCode(err))
	assert.Equal(t, "Room is not available for the requested time.", workplace.ErrorMessage(err))

	updated, err := env.client.UpdateBooking(ctx, id, workplace.BookingChange{UserID: user.ID, Title: "Earlier sync", Start: start.Add(-5 * time.Minute)})
	require.NoError(t, err)
	assert.Equal(t, "Earlier sync", updated.Title)
	assert.True(t, simStart().Equal(updated.Start))
	assert.True(t, start.Add(time.Hour).Equal(updated.End), "a zero end is kept")

	require.NoError(t, env.client.ProgressMeeting(ctx, id, user.ID, workplace.MeetingStart, 0))
	err = env.client.ProgressMeeting(ctx, id, user.ID, workplace.MeetingStart, 0)
	assert.Equal(t, workplace.EINVALID, workplace.ErrorCode(err))
	assert.Equal(t, "Meeting already started.", workplace.ErrorMessage(err))
	require.NoError(t, env.client.ProgressMeeting(ctx, id, user.ID, workplace.MeetingExtend, 15))
	b, err = env.client.Booking(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, workplace.MeetingStarted, b.Progress)
	assert.True(t, simStart().Equal(b.ActualStart), "actual start %s", b.ActualStart)
	assert.True(t, start.Add(75*time.Minute).Equal(b.End), "extended by 15 minutes")
	env.clock.Advance(30 * time.Minute)
	require.NoError(t, env.client.ProgressMeeting(ctx, id, user.ID, workplace.MeetingEnd, 0))
	b, err = env.client.Booking(ctx, id)
	require.NoError(t, err)
	assert.Equal(t, workplace.MeetingEnded, b.Progress)
	assert.True(t, simStart().Add(30*time.Minute).Equal(b.ActualEnd))

	require.NoError(t, env.client.CancelBooking(ctx, id, user.ID))
	_, err = env.client.Booking(ctx, id)
	require.Error(t, err)
	assert.Equal(t, workplace.ENOTFOUND, workplace.ErrorCode(err))
	assert.Equal(t, "Booking Id does not exist.", workplace.ErrorMessage(err))
	err = env.client.CancelBooking(ctx, id, user.ID)
	assert.Equal(t, workplace.ENOTFOUND, workplace.ErrorCode(err))

	// Free slots and available rooms, early in the New York day.
	from := simStart().Add(time.Hour).Truncate(time.Hour) // 06:00 local
	slots, err := env.client.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: ny.ID, From: from, To: from.Add(4 * time.Hour), Floor: &room.Floor, WorkspaceType: workplace.WorkspaceRoom})
	require.NoError(t, err)
	require.NotEmpty(t, slots)
	for _, r := range slots {
		assert.Equal(t, ny.ID, r.LocationID)
		assert.Equal(t, room.Floor, r.Floor)
		require.NotEmpty(t, r.Slots)
		assert.True(t, from.Equal(r.Slots[0].Start), "free from the asked start: %s", r.Slots[0].Start)
		assert.Equal(t, ny.TimeZone, r.Slots[0].Start.Location())
	}
	avail, err := env.client.AvailableRooms(ctx, workplace.AvailableRoomsQuery{LocationID: ny.ID, From: from, To: from.Add(time.Hour), Attributes: room.Attributes})
	require.NoError(t, err)
	require.NotEmpty(t, avail)
	found := false
	for _, a := range avail {
		assert.Equal(t, ny.ID, a.LocationID)
		if a.RoomID == room.ID {
			found = true
			assert.Equal(t, room.Capacity, a.Capacity)
			assert.Equal(t, room.Floor, a.Floor)
			assert.ElementsMatch(t, room.Attributes, a.Attributes)
		}
	}
	assert.True(t, found, "the room is free at 06:00")
}

// TestBookingTimesAcrossDST creates bookings at UTC instants on both sides of
// London's and Sydney's clock changes and reads them back as the same
// instants with the location's offset of the day.
func TestBookingTimesAcrossDST(t *testing.T) {
	env := newSimEnv(t)
	ctx := env.ctx()
	tests := []struct {
		location  string
		startUTC  string
		wantLocal string
	}{
		{"London HQ", "2025-03-28T02:00:00Z", "2025-03-28T02:00:00Z"},
		{"London HQ", "2025-03-31T01:00:00Z", "2025-03-31T02:00:00+01:00"},
		{"Sydney", "2025-04-04T15:00:00Z", "2025-04-05T02:00:00+11:00"},
		{"Sydney", "2025-04-07T16:00:00Z", "2025-04-08T02:00:00+10:00"},
	}
	for _, tt := range tests {
		t.Run(tt.location+" "+tt.startUTC, func(t *testing.T) {
			loc := env.location(tt.location)
			rooms, err := env.client.Rooms(ctx, loc.ID)
			require.NoError(t, err)
			start, err := time.Parse(time.RFC3339, tt.startUTC)
			require.NoError(t, err)
			id, err := env.client.CreateBooking(ctx, workplace.NewBooking{RoomID: rooms[1].ID, Start: start, End: start.Add(30 * time.Minute), Title: "Night shift"})
			require.NoError(t, err)

			b, err := env.client.Booking(ctx, id)
			require.NoError(t, err)
			assert.True(t, start.Equal(b.Start), "same instant: %s", b.Start)
			assert.Equal(t, tt.wantLocal, b.Start.Format(time.RFC3339))
			assert.Equal(t, loc.TimeZone, b.Start.Location())
			assert.True(t, start.Add(30*time.Minute).Equal(b.End))

			day := workplace.DateOf(b.Start)
			list, err := env.client.Bookings(ctx, rooms[1].ID, day, day)
			require.NoError(t, err)
			i := slices.IndexFunc(list, func(x workplace.Booking) bool { return x.ID == id })
			require.GreaterOrEqual(t, i, 0, "listed on its local day")
			assert.Equal(t, tt.wantLocal, list[i].Start.Format(time.RFC3339))
		})
	}
}

func TestDeskBookingRoutes(t *testing.T) {
	env := newSimEnv(t)
	ctx := env.ctx()
	london := env.location("London HQ")
	users, err := env.client.Users(ctx, "")
	require.NoError(t, err)
	user := users[3]
	today := workplace.DateOf(simStart().In(london.TimeZone))
	saturday := today.AddDays(2)

	free, err := env.client.AvailableDesks(ctx, workplace.AvailableDesksQuery{
		UserID: user.ID, LocationID: london.ID,
		Days:       []workplace.DeskDay{{Date: today, Type: workplace.DeskAllDay}, {Date: saturday, Type: workplace.DeskMorning}},
		PageNumber: 1, PageSize: 5,
	})
	require.NoError(t, err)
	require.Len(t, free, 5, "paged")
	desk := free[0]
	assert.Positive(t, desk.Floor)
	assert.NotZero(t, desk.GroupID)

	ids, err := env.client.CreateDeskBookings(ctx, workplace.NewDeskBooking{
		UserID: user.ID, DeskID: desk.DeskID, Source: "1",
		Days: []workplace.DeskDay{{Date: today, Type: workplace.DeskAllDay}, {Date: saturday, Type: workplace.DeskMorning}},
	})
	require.NoError(t, err)
	require.Len(t, ids, 2, "one id per day")

	_, err = env.client.CreateDeskBookings(ctx, workplace.NewDeskBooking{UserID: user.ID, DeskID: desk.DeskID, Days: []workplace.DeskDay{{Date: today, Type: workplace.DeskAllDay}}})
	assert.Equal(t, workplace.ECONFLICT, workplace.ErrorCode(err))

	list, err := env.client.DeskBookings(ctx, desk.DeskID, today, today.AddDays(13))
	require.NoError(t, err)
	var mine []workplace.DeskBooking
	for _, d := range list {
		if slices.Contains(ids, d.ID) {
			mine = append(mine, d)
		}
	}
	require.Len(t, mine, 2)
	assert.Equal(t, workplace.DeskBooking{ID: ids[0], DeskID: desk.DeskID, UserID: user.ID, Date: today, Type: workplace.DeskAllDay, Status: workplace.DeskBooked}, mine[0])
	assert.Equal(t, saturday, mine[1].Date)
	assert.Equal(t, workplace.DeskMorning, mine[1].Type)

	require.NoError(t, env.client.ProgressDeskBooking(ctx, ids[0], user.ID, workplace.DeskCheckIn))
	err = env.client.ProgressDeskBooking(ctx, ids[1], user.ID, workplace.DeskCheckIn)
	assert.Equal(t, workplace.EINVALID, workplace.ErrorCode(err), "not on its day")
	require.NoError(t, env.client.ProgressDeskBooking(ctx, ids[0], user.ID, workplace.DeskRelease))
	list, err = env.client.DeskBookings(ctx, desk.DeskID, today, today)
	require.NoError(t, err)
	i := slices.IndexFunc(list, func(d workplace.DeskBooking) bool { return d.ID == ids[0] })
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, workplace.DeskReleased, list[i].Status)

	require.NoError(t, env.client.CancelDeskBooking(ctx, ids[1], user.ID, saturday))
	err = env.client.CancelDeskBooking(ctx, ids[1], user.ID, saturday)
	assert.Equal(t, workplace.ENOTFOUND, workplace.ErrorCode(err))
	_, err = env.client.DeskBookings(ctx, desk.DeskID, today, today.AddDays(20))
	assert.Equal(t, workplace.EINVALID, workplace.ErrorCode(err))
}

func TestVisitorRoutes(t *testing.T) {
	env := newSimEnv(t)
	ctx := env.ctx()
	london := env.location("London HQ")
	users, err := env.client.Users(ctx, "")
	require.NoError(t, err)
	host := users[5]
	today := workplace.DateOf(simStart().In(london.TimeZone))

	// Paging over the demo visitors of some day with at least three.
	var day workplace.Date
	var total int
	for d := range 14 {
		page, err := env.client.Visitors(ctx, workplace.VisitorQuery{Date: today.AddDays(d), PageNumber: 1, PageSize: 2})
		require.NoError(t, err)
		if page.Total >= 3 {
			day, total = today.AddDays(d), page.Total
			assert.Len(t, page.Visitors, 2)
			break
		}
	}
	require.NotZero(t, total, "the fixture has visitors")
	page2, err := env.client.Visitors(ctx, workplace.VisitorQuery{Date: day, PageNumber: 2, PageSize: 2})
	require.NoError(t, err)
	assert.Equal(t, total, page2.Total)
	assert.Len(t, page2.Visitors, min(2, total-2))
	for _, v := range page2.Visitors {
		zone, err := env.client.locZones.zone(ctx, v.LocationID)
		require.NoError(t, err)
		assert.Equal(t, zone, v.Arrival.Location(), "visitor times in their location's zone")
		assert.Equal(t, day, workplace.DateOf(v.Arrival))
	}

	arrival := simStart().Add(26 * time.Hour) // 28 March, 11:00 in London
	id, err := env.client.RegisterVisitor(ctx, workplace.NewVisitor{
		FirstName: "Grace", LastName: "Hopper", Company: "Navy", Email: "grace@example.com",
		HostID: host.ID, LocationID: london.ID, Arrival: arrival, PassType: 1, PurposeOfVisit: "Talk", Floor: 3,
	})
	require.NoError(t, err)
	require.NotZero(t, id)

	expected := workplace.VisitorExpected
	list, err := env.client.Visitors(ctx, workplace.VisitorQuery{Date: workplace.DateOf(arrival.In(london.TimeZone)), LocationID: london.ID, Status: &expected, HostEmail: host.Email})
	require.NoError(t, err)
	i := slices.IndexFunc(list.Visitors, func(v workplace.Visitor) bool { return v.ID == id })
	require.GreaterOrEqual(t, i, 0)
	v := list.Visitors[i]
	assert.Equal(t, "Grace", v.FirstName)
	assert.Equal(t, "Navy", v.Company)
	assert.Equal(t, host.ID, v.Host.ID)
	assert.Equal(t, 3, v.Floor)
	assert.True(t, arrival.Equal(v.Arrival), "arrival %s", v.Arrival)
	assert.Equal(t, london.TimeZone, v.Arrival.Location())
	assert.True(t, v.Departure.IsZero())

	updated, err := env.client.UpdateVisitor(ctx, id, workplace.NewVisitor{
		FirstName: "Grace", LastName: "Hopper", Company: "US Navy", HostID: host.ID, LocationID: london.ID, Arrival: arrival, Floor: 4,
	})
	require.NoError(t, err)
	assert.Equal(t, "US Navy", updated.Company)
	assert.Equal(t, 4, updated.Floor)

	v, err = env.client.SetVisitorStatus(ctx, id, workplace.VisitorArrive)
	require.NoError(t, err)
	assert.Equal(t, workplace.VisitorArrived, v.Status)
	v, err = env.client.SetVisitorStatus(ctx, id, workplace.VisitorDepart)
	require.NoError(t, err)
	assert.Equal(t, workplace.VisitorDeparted, v.Status)
	assert.True(t, simStart().Equal(v.Departure))
	_, err = env.client.SetVisitorStatus(ctx, id, workplace.VisitorDepart)
	assert.Equal(t, workplace.EINVALID, workplace.ErrorCode(err))
	v, err = env.client.SetVisitorStatus(ctx, id, workplace.VisitorUndepart)
	require.NoError(t, err)
	assert.Equal(t, workplace.VisitorArrived, v.Status)
	v, err = env.client.SetVisitorStatus(ctx, id, workplace.VisitorUnarrive)
	require.NoError(t, err)
	assert.Equal(t, workplace.VisitorExpected, v.Status)

	require.NoError(t, env.client.CancelVisitor(ctx, id))
	err = env.client.CancelVisitor(ctx, id)
	assert.Equal(t, workplace.ENOTFOUND, workplace.ErrorCode(err))
	_, err = env.client.Visitors(ctx, workplace.VisitorQuery{Date: today.AddDays(20)})
	assert.Equal(t, workplace.EINVALID, workplace.ErrorCode(err))
	assert.Contains(t, workplace.ErrorMessage(err), "from today to 13 days ahead")

	// The location zones came from env.location's one walk, reused.
	calls := map[string]int{}
	for _, c := range env.stats().Calls {
		calls[c.Route] += c.Count
	}
	assert.Equal(t, 1, calls["/countries"], "env.location's own walk; visitors reused its zones")
}

func TestCostCodeAndVendorRoutes(t *testing.T) {
	env := newSimEnv(t)
	ctx := env.ctx()
	const london = workplace.LocationID(41)

	codes, err := env.client.CostCodes(ctx, london)
	require.NoError(t, err)
	require.Len(t, codes, 4)
	assert.Equal(t, london, codes[0].LocationID)
	assert.True(t, codes[0].Active)
	assert.False(t, codes[3].Active)

	require.NoError(t, env.client.CreateCostCodes(ctx, []workplace.NewCostCode{{Code: "LON-900", Description: "Offsite", LocationID: london, Active: true}}))
	codes, err = env.client.CostCodes(ctx, london)
	require.NoError(t, err)
	require.Len(t, codes, 5)
	assert.Equal(t, "LON-900", codes[4].Code)
	assert.NotZero(t, codes[4].ID)

	vendors, err := env.client.Vendors(ctx, london)
	require.NoError(t, err)
	require.Len(t, vendors, 2)
	svc := vendors[0].Services[0]
	assert.Equal(t, "GBP", svc.Currency)
	assert.Positive(t, svc.Price)

	rooms, err := env.client.Rooms(ctx, london)
	require.NoError(t, err)
	day := workplace.DateOf(simStart())
	bookings, err := env.client.Bookings(ctx, rooms[0].ID, day, day.AddDays(6))
	require.NoError(t, err)
	require.NotEmpty(t, bookings)
	booking := bookings[0]

	orderID, err := env.client.OrderService(ctx, workplace.NewServiceOrder{BookingID: booking.ID, ServiceID: svc.ID, Quantity: 3, UserID: booking.Host.ID})
	require.NoError(t, err)
	orders, err := env.client.Orders(ctx, booking.ID)
	require.NoError(t, err)
	require.Len(t, orders, 1)
	assert.Equal(t, workplace.ServiceOrder{ID: orderID, BookingID: booking.ID, ServiceID: svc.ID, Quantity: 3, Status: "0"}, orders[0])

	_, err = env.client.OrderService(ctx, workplace.NewServiceOrder{BookingID: booking.ID, ServiceID: 1, Quantity: 1})
	assert.Equal(t, workplace.ENOTFOUND, workplace.ErrorCode(err))
}

func TestListenerRoutes(t *testing.T) {
	env := newSimEnv(t)
	ctx := env.ctx()
	l, err := env.client.RegisterListener(ctx, workplace.NewListener{
		SecretKey: "webhook-secret-123", NotificationURL: "https://gateway.example.com/webhooks/3",
		EventTypes: []workplace.EventType{workplace.EventMeetingExternal, workplace.EventMeetingProgression},
	})
	require.NoError(t, err)
	assert.NotEmpty(t, l.ID)
	assert.Equal(t, []workplace.EventType{3, 5}, l.EventTypes)

	ls, err := env.client.Listeners(ctx)
	require.NoError(t, err)
	require.Len(t, ls, 1)
	assert.Equal(t, l, ls[0])
	assert.Equal(t, 1, env.stats().Listeners)

	require.NoError(t, env.client.RemoveListener(ctx, l.NotificationURL, []workplace.EventType{workplace.EventMeetingProgression}))
	ls, err = env.client.Listeners(ctx)
	require.NoError(t, err)
	require.Len(t, ls, 1)
	assert.Equal(t, []workplace.EventType{3}, ls[0].EventTypes)
	require.NoError(t, env.client.RemoveListener(ctx, l.NotificationURL, nil))
	ls, err = env.client.Listeners(ctx)
	require.NoError(t, err)
	assert.Empty(t, ls)

	_, err = env.client.RegisterListener(ctx, workplace.NewListener{NotificationURL: "not a url", EventTypes: []workplace.EventType{3}})
	assert.Equal(t, workplace.EINVALID, workplace.ErrorCode(err))

	for _, c := range env.stats().Calls {
		if c.Route == "/listener" {
			assert.Equal(t, string(ProductExternalBookings), c.Product)
		}
	}
	assert.NotContains(t, env.logs.String(), "webhook-secret-123")
}

// TestLocationZonesFilledOnce: answers without a zone (visitors) need the
// location's zone; the first such answer costs one GET /locations, shared by
// concurrent callers and reused after.
func TestLocationZonesFilledOnce(t *testing.T) {
	env := newSimEnv(t)
	today := workplace.DateOf(simStart())
	var g errgroup.Group
	for range 20 {
		g.Go(func() error {
			_, err := env.client.Visitors(env.ctx(), workplace.VisitorQuery{Date: today.AddDays(1)})
			return err
		})
	}
	require.NoError(t, g.Wait())
	_, err := env.client.Visitors(env.ctx(), workplace.VisitorQuery{Date: today.AddDays(2)})
	require.NoError(t, err)
	calls := map[string]int{}
	for _, c := range env.stats().Calls {
		calls[c.Route] += c.Count
	}
	// One walk of the hierarchy: the countries, each country's regions,
	// each region's locations.
	assert.Equal(t, 1, calls["/countries"])
	assert.Equal(t, 6, calls["/regions"])
	assert.Equal(t, 9, calls["/locations"])
}

func TestBookingSetupAndCleanDown(t *testing.T) {
	env := newSimEnv(t)
	ctx := env.ctx()
	loc := env.location("London HQ")
	rooms, err := env.client.Rooms(ctx, loc.ID)
	require.NoError(t, err)
	// Made in the web app with 20 minutes of set-up and 10 of clean-down,
	// at 23:45 London on a day before the clocks go forward.
	body, err := json.Marshal(map[string]any{"userId": 1001, "roomId": rooms[2].ID, "startDateTime": "2025-03-27 23:45", "endDateTime": "2025-03-28 00:30",
		"meetingTitle": "Catered", "prepMinutes": 20, "cleanDownMinutes": 10})
	require.NoError(t, err)
	resp, err := http.Post(env.srv.URL+"/_sim/bookings", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusCreated, resp.StatusCode)
	var made struct{ BookingID int64 }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&made))

	b, err := env.client.Booking(ctx, workplace.BookingID(made.BookingID))
	require.NoError(t, err)
	assert.Equal(t, 20*time.Minute, b.Setup)
	assert.Equal(t, 10*time.Minute, b.CleanDown)

	// A booking made through the API holds nothing beyond its meeting.
	start := time.Date(2025, 3, 28, 6, 0, 0, 0, loc.TimeZone)
	id, err := env.client.CreateBooking(ctx, workplace.NewBooking{RoomID: rooms[2].ID, Start: start, End: start.Add(30 * time.Minute), Title: "Plain"})
	require.NoError(t, err)
	b, err = env.client.Booking(ctx, id)
	require.NoError(t, err)
	assert.Zero(t, b.Setup)
	assert.Zero(t, b.CleanDown)
}
