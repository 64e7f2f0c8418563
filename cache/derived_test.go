package cache

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// grantedLease is a lease always held: these tests never run the worker.
type grantedLease struct{}

func (grantedLease) Hold(context.Context, time.Duration) (bool, error) { return true, nil }
func (grantedLease) Release(context.Context) error                     { return nil }

// heldTenant is one Sydney location (10) with three rooms and three desks,
// whose bookings the test edits, behind a cache that mirrors it; another
// location (11) has desks nobody reads.
type heldTenant struct {
	inner *fakeInner
	svc   *Service
	zone  *time.Location

	mu    sync.Mutex
	rooms []workplace.Booking
	desks []workplace.DeskBooking
}

func newHeldTenant(t *testing.T, store Store, live bool) *heldTenant {
	t.Helper()
	zone := sydney(t)
	h := &heldTenant{zone: zone}
	h.inner = &fakeInner{
		LocationsFn: func(_ context.Context, r workplace.RegionID) ([]workplace.Location, error) {
			return []workplace.Location{{ID: 10, RegionID: r, TimeZone: zone}, {ID: 11, RegionID: r, TimeZone: zone}}, nil
		},
		RoomsFn: func(_ context.Context, l workplace.LocationID) ([]workplace.Room, error) {
			if l != 10 {
				return []workplace.Room{}, nil
			}
			return []workplace.Room{
				{ID: 103, LocationID: 10, Name: "Harbour", Floor: 1, GroupID: 5, Capacity: 4, Attributes: []int{2}},
				{ID: 101, LocationID: 10, Name: "Bridge", Floor: 1, GroupID: 5, Capacity: 8, Attributes: []int{1, 2}},
				{ID: 102, LocationID: 10, Name: "Opera", Floor: 2, GroupID: 6, Capacity: 6},
			}, nil
		},
		DesksFn: func(_ context.Context, l workplace.LocationID) ([]workplace.Desk, error) {
			if l == 11 {
				return []workplace.Desk{{ID: 301, LocationID: 11, Name: "Far 1"}}, nil
			}
			return []workplace.Desk{
				{ID: 201, LocationID: 10, Name: "Desk 1", Floor: 1, GroupID: 5, Attributes: []int{101}},
				{ID: 203, LocationID: 10, Name: "Desk 3", Floor: 1, GroupID: 5},
				{ID: 202, LocationID: 10, Name: "Desk 2", Floor: 2, GroupID: 6},
			}, nil
		},
		// Listed by the local date of their start, as the simulator does.
		BookingsFn: func(_ context.Context, r workplace.RoomID, from, to workplace.Date) ([]workplace.Booking, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			out := []workplace.Booking{}
			for _, b := range h.rooms {
				if d := workplace.DateOf(b.Start); b.RoomID == r && !d.Before(from) && !d.After(to) {
					out = append(out, b)
				}
			}
			return out, nil
		},
		DeskBookingsFn: func(_ context.Context, d workplace.DeskID, from, to workplace.Date) ([]workplace.DeskBooking, error) {
			h.mu.Lock()
			defer h.mu.Unlock()
			out := []workplace.DeskBooking{}
			for _, b := range h.desks {
				if b.DeskID == d && !b.Date.Before(from) && !b.Date.After(to) {
					out = append(out, b)
				}
			}
			return out, nil
		},
	}
	// 09:00 in Sydney on day0: U, the mirror's today, is the day before.
	now := day0.In(zone).Add(9 * time.Hour)
	h.svc = New(h.inner, store, Options{Logger: quiet(), OpTimeout: 5 * time.Second, Now: func() time.Time { return now }})
	NewMirror(h.svc, MirrorOptions{Lease: grantedLease{}, WaitLive: !live, Coalesce: -1})
	at := func(day, hh, mm int) time.Time {
		return day0.AddDays(day).In(zone).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
	}
	h.rooms = []workplace.Booking{
		// Set up for a quarter of an hour before, cleaned down for half an hour after.
		{ID: 1, RoomID: 101, LocationID: 10, Start: at(0, 9, 0), End: at(0, 10, 0), Setup: 15 * time.Minute, CleanDown: 30 * time.Minute},
		// From the evening before into the small hours.
		{ID: 2, RoomID: 101, LocationID: 10, Start: at(-1, 23, 0), End: at(0, 1, 0)},
		// Ended early, at 12:20.
		{ID: 3, RoomID: 102, LocationID: 10, Start: at(0, 12, 0), End: at(0, 13, 0), Progress: workplace.MeetingEnded, ActualEnd: at(0, 12, 20)},
		{ID: 4, RoomID: 102, LocationID: 10, Start: at(0, 14, 0), End: at(0, 15, 0), Deleted: true},
		// The next day, its set-up beginning before midnight.
		{ID: 5, RoomID: 103, LocationID: 10, Start: at(1, 0, 15), End: at(1, 1, 0), Setup: 30 * time.Minute},
	}
	h.desks = []workplace.DeskBooking{
		{ID: 11, DeskID: 201, Date: day0, Type: workplace.DeskMorning},
		{ID: 12, DeskID: 202, Date: day0, Type: workplace.DeskAllDay, Status: workplace.DeskReleased},
		{ID: 13, DeskID: 203, Date: day0.AddDays(-2), Type: workplace.DeskAllDay, UntilFurtherNotice: true},
	}
	return h
}

// hold reads what the mirror's worker would: every room's and desk's
// window from U-2 for 14 days, through the cache.
func (h *heldTenant) hold(t *testing.T) {
	t.Helper()
	ctx := context.Background()
	from, to := day0.AddDays(-3), day0.AddDays(10)
	_, errs := h.svc.BookingsMany(ctx, []workplace.RoomWindow{{Room: 101, From: from, To: to}, {Room: 102, From: from, To: to}, {Room: 103, From: from, To: to}})
	for _, err := range errs {
		require.NoError(t, err)
	}
	_, errs = h.svc.DeskBookingsMany(ctx, []workplace.DeskWindow{{Desk: 201, From: from, To: to}, {Desk: 202, From: from, To: to}, {Desk: 203, From: from, To: to}})
	for _, err := range errs {
		require.NoError(t, err)
	}
	_, err := workplace.AllLocations(ctx, h.svc)
	require.NoError(t, err)
	for _, l := range []workplace.LocationID{10, 11} {
		_, err = h.svc.Rooms(ctx, l)
		require.NoError(t, err)
		_, err = h.svc.Desks(ctx, l)
		require.NoError(t, err)
	}
}

func (h *heldTenant) at(day, hh, mm int) time.Time {
	return day0.AddDays(day).In(h.zone).Add(time.Duration(hh)*time.Hour + time.Duration(mm)*time.Minute)
}

// slotText shows slots as local clock times, with the zone each is in.
func slotText(rs []workplace.ResourceFreeSlots) map[int64][]string {
	out := map[int64][]string{}
	for _, r := range rs {
		for _, s := range r.Slots {
			out[r.ResourceID] = append(out[r.ResourceID], s.Start.Format("02 15:04")+"-"+s.End.Format("02 15:04 MST"))
		}
	}
	return out
}

func TestDerivedAnswersFromHeldDays(t *testing.T) {
	forEachStore(t, func(t *testing.T, store Store) {
		ctx := context.Background()
		h := newHeldTenant(t, store, true)
		h.hold(t)
		one := func(n int) *int { return &n }

		var slots []workplace.ResourceFreeSlots
		var err error
		require.Zero(t, costs(h.inner, func() {
			slots, err = h.svc.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: 10, From: h.at(0, 0, 0), To: h.at(0, 18, 0)})
		}), "free slots derived from held days call nothing")
		require.NoError(t, err)
		assert.Equal(t, map[int64][]string{
			101: {"27 01:00-27 08:45 AEDT", "27 10:30-27 18:00 AEDT"},
			102: {"27 00:00-27 12:00 AEDT", "27 12:20-27 18:00 AEDT"},
			103: {"27 00:00-27 18:00 AEDT"},
		}, slotText(slots))
		assert.Equal(t, []int64{101, 102, 103}, []int64{slots[0].ResourceID, slots[1].ResourceID, slots[2].ResourceID}, "by id")
		assert.Equal(t, workplace.ResourceFreeSlots{LocationID: 10, Floor: 2, ResourceID: 102, WorkspaceType: workplace.WorkspaceRoom, Slots: slots[1].Slots}, slots[1])
		assert.Equal(t, h.zone, slots[0].Slots[0].Start.Location())

		// A floor; a window whose last local day's successor sets up before
		// midnight; a workspace with no free slot is left out.
		slots, err = h.svc.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: 10, From: h.at(0, 23, 0), To: h.at(1, 0, 0), Floor: one(1)})
		require.NoError(t, err)
		assert.Equal(t, map[int64][]string{101: {"27 23:00-28 00:00 AEDT"}, 103: {"27 23:00-27 23:45 AEDT"}}, slotText(slots))
		slots, err = h.svc.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: 10, From: h.at(0, 9, 0), To: h.at(0, 10, 0), Floor: one(1)})
		require.NoError(t, err)
		assert.Equal(t, map[int64][]string{103: {"27 09:00-27 10:00 AEDT"}}, slotText(slots))

		// Desks' free slots: a morning booking holds its desk to noon, a
		// released one nothing, one until further notice its own date.
		slots, err = h.svc.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: 10, From: h.at(0, 0, 0), To: h.at(1, 0, 0), WorkspaceType: workplace.WorkspaceDesk})
		require.NoError(t, err)
		assert.Equal(t, map[int64][]string{201: {"27 12:00-28 00:00 AEDT"}, 202: {"27 00:00-28 00:00 AEDT"}, 203: {"27 00:00-28 00:00 AEDT"}}, slotText(slots))

		ids := func(rs []workplace.AvailableRoom, err error) []workplace.RoomID {
			require.NoError(t, err)
			out := []workplace.RoomID{}
			for _, r := range rs {
				out = append(out, r.RoomID)
			}
			return out
		}
		avail := func(from, to time.Time, group workplace.GroupID, attrs ...int) []workplace.RoomID {
			var got []workplace.RoomID
			require.Zero(t, costs(h.inner, func() {
				got = ids(h.svc.AvailableRooms(ctx, workplace.AvailableRoomsQuery{LocationID: 10, From: from, To: to, GroupID: group, Attributes: attrs}))
			}))
			return got
		}
		assert.Equal(t, []workplace.RoomID{102, 103}, avail(h.at(0, 9, 0), h.at(0, 10, 0), 0))
		assert.Equal(t, []workplace.RoomID{103}, avail(h.at(0, 9, 0), h.at(0, 10, 0), 0, 2))
		assert.Equal(t, []workplace.RoomID{103}, avail(h.at(0, 9, 0), h.at(0, 10, 0), 5))
		assert.Equal(t, []workplace.RoomID{102, 103}, avail(h.at(0, 10, 15), h.at(0, 10, 45), 0), "cleaning down")
		assert.Equal(t, []workplace.RoomID{101, 102, 103}, avail(h.at(0, 10, 30), h.at(0, 11, 0), 0))
		assert.Equal(t, []workplace.RoomID{101, 102}, avail(h.at(0, 23, 50), h.at(1, 0, 10), 0), "setting up")
		assert.Equal(t, []workplace.RoomID{101, 103}, avail(h.at(0, 12, 10), h.at(0, 12, 30), 0), "ended at 12:20")
		assert.Equal(t, []workplace.RoomID{101, 102, 103}, avail(h.at(0, 12, 20), h.at(0, 15, 0), 0), "a deleted booking holds nothing")
		rooms, err := h.svc.AvailableRooms(ctx, workplace.AvailableRoomsQuery{LocationID: 10, From: h.at(0, 10, 30), To: h.at(0, 11, 0)})
		require.NoError(t, err)
		assert.Equal(t, workplace.AvailableRoom{RoomID: 102, Name: "Opera", Capacity: 6, Floor: 2, LocationID: 10, Attributes: []int{}}, rooms[1])

		desks := func(q workplace.AvailableDesksQuery) []workplace.DeskID {
			q.LocationID = 10
			var got []workplace.AvailableDesk
			require.Zero(t, costs(h.inner, func() { got, err = h.svc.AvailableDesks(ctx, q) }))
			require.NoError(t, err)
			out := []workplace.DeskID{}
			for _, d := range got {
				out = append(out, d.DeskID)
			}
			return out
		}
		afternoon := []workplace.DeskDay{{Date: day0, Type: workplace.DeskAfternoon}}
		assert.Equal(t, []workplace.DeskID{202, 203}, desks(workplace.AvailableDesksQuery{Days: afternoon}), "a morning booking holds the desk all its date")
		assert.Equal(t, []workplace.DeskID{201, 202}, desks(workplace.AvailableDesksQuery{Days: []workplace.DeskDay{{Date: day0.AddDays(-2)}}}))
		assert.Equal(t, []workplace.DeskID{202}, desks(workplace.AvailableDesksQuery{Days: []workplace.DeskDay{{Date: day0}, {Date: day0.AddDays(-2)}}}))
		assert.Equal(t, []workplace.DeskID{202}, desks(workplace.AvailableDesksQuery{Days: afternoon, GroupID: 6}))
		assert.Equal(t, []workplace.DeskID{203}, desks(workplace.AvailableDesksQuery{Days: afternoon, PageNumber: 2, PageSize: 1}))
		assert.Equal(t, []workplace.DeskID{}, desks(workplace.AvailableDesksQuery{Days: afternoon, PageNumber: 3, PageSize: 1}))
		got, err := h.svc.AvailableDesks(ctx, workplace.AvailableDesksQuery{LocationID: 10, Days: afternoon})
		require.NoError(t, err)
		assert.Equal(t, workplace.AvailableDesk{DeskID: 202, Name: "Desk 2", Floor: 2, GroupID: 6, Attributes: []int{}}, got[0])

		// A booking made and announced: the re-read is the one call, and
		// the next answer has it.
		h.mu.Lock()
		h.rooms = append(h.rooms, workplace.Booking{ID: 6, RoomID: 103, LocationID: 10, Start: h.at(0, 9, 30), End: h.at(0, 9, 45)})
		h.mu.Unlock()
		require.NoError(t, h.svc.Invalidate(ctx, workplace.Change{Kind: workplace.KindBooking, Action: workplace.ActionCreated, BookingID: 6, RoomID: 103, Date: day0}))
		assert.Equal(t, []workplace.RoomID{102}, avail(h.at(0, 9, 0), h.at(0, 10, 0), 0))
		assert.Zero(t, h.inner.n("AvailableRooms")+h.inner.n("FreeSlots")+h.inner.n("AvailableDesks"), "nothing was asked of the upstream")
	})
}

func TestDerivedAnswersPassThroughWhatIsNotHeld(t *testing.T) {
	ctx := context.Background()
	h := newHeldTenant(t, NewMemoryStore(), true)
	h.hold(t)
	passes := func(name string, ask func() error) {
		t.Helper()
		before := h.inner.n(name)
		require.NoError(t, ask())
		assert.Equal(t, before+1, h.inner.n(name), "asked of the upstream")
	}
	slots := func(q workplace.FreeSlotQuery) func() error {
		return func() error { _, err := h.svc.FreeSlots(ctx, q); return err }
	}
	// Days the mirror does not hold (read up to day0+10, held from U-2).
	passes("FreeSlots", slots(workplace.FreeSlotQuery{LocationID: 10, From: h.at(10, 9, 0), To: h.at(10, 10, 0)}))
	passes("FreeSlots", slots(workplace.FreeSlotQuery{LocationID: 10, From: h.at(-3, 9, 0), To: h.at(-3, 10, 0)}))
	// A location not known, a workspace type Engage must judge, a window
	// Engage rejects, one wider than it allows.
	passes("FreeSlots", slots(workplace.FreeSlotQuery{LocationID: 12, From: h.at(0, 9, 0), To: h.at(0, 10, 0)}))
	passes("FreeSlots", slots(workplace.FreeSlotQuery{LocationID: 10, From: h.at(0, 9, 0), To: h.at(0, 10, 0), WorkspaceType: 3}))
	passes("FreeSlots", slots(workplace.FreeSlotQuery{LocationID: 10, From: h.at(0, 10, 0), To: h.at(0, 9, 0)}))
	passes("FreeSlots", slots(workplace.FreeSlotQuery{LocationID: 10, From: h.at(0, 0, 0), To: h.at(14, 0, 1)}))
	// Desks nobody has read, and a held day the store lost.
	passes("AvailableDesks", func() error {
		_, err := h.svc.AvailableDesks(ctx, workplace.AvailableDesksQuery{LocationID: 11, Days: []workplace.DeskDay{{Date: day0}}})
		return err
	})
	require.NoError(t, h.svc.store.Invalidate(ctx, []string{roomDayKey(102, day0.AddDays(1))}))
	passes("AvailableRooms", func() error {
		_, err := h.svc.AvailableRooms(ctx, workplace.AvailableRoomsQuery{LocationID: 10, From: h.at(0, 9, 0), To: h.at(0, 10, 0)})
		return err
	})
	// Room 102 is not asked about here, so its lost day does not matter.
	require.Zero(t, costs(h.inner, func() {
		_, err := h.svc.AvailableRooms(ctx, workplace.AvailableRoomsQuery{LocationID: 10, From: h.at(0, 9, 0), To: h.at(0, 10, 0), GroupID: 5})
		require.NoError(t, err)
	}))
}

func TestDerivedAnswersWaitForTheMirrorToBeLive(t *testing.T) {
	ctx := context.Background()
	h := newHeldTenant(t, NewMemoryStore(), false)
	h.hold(t)
	_, err := h.svc.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: 10, From: h.at(0, 9, 0), To: h.at(0, 10, 0)})
	require.NoError(t, err)
	assert.Equal(t, 1, h.inner.n("FreeSlots"), "days read before notifications flow are not held")
}

func TestFreeWithin(t *testing.T) {
	at := func(h int) time.Time { return time.Date(2026, 11, 27, h, 0, 0, 0, time.UTC) }
	show := func(ss []span) []int {
		out := []int{}
		for _, s := range ss {
			out = append(out, s.from.Hour(), s.to.Hour())
		}
		return out
	}
	tests := []struct {
		name string
		busy []span
		want []int
	}{
		{"nothing booked", nil, []int{8, 18}},
		{"gaps", []span{{at(9), at(10)}, {at(12), at(13)}}, []int{8, 9, 10, 12, 13, 18}},
		{"overlapping and nested", []span{{at(9), at(12)}, {at(10), at(11)}, {at(11), at(14)}}, []int{8, 9, 14, 18}},
		{"touching", []span{{at(9), at(10)}, {at(10), at(11)}}, []int{8, 9, 11, 18}},
		{"across both ends", []span{{at(6), at(9)}, {at(17), at(20)}}, []int{9, 17}},
		{"outside", []span{{at(5), at(8)}, {at(18), at(19)}}, []int{8, 18}},
		{"all of it", []span{{at(7), at(19)}}, []int{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, show(freeWithin(sortSpans(slices.Clone(tt.busy)), at(8), at(18))))
		})
	}
}

func TestWallHour(t *testing.T) {
	london, err := time.LoadLocation("Europe/London")
	require.NoError(t, err)
	back := workplace.Date{Year: 2026, Month: time.October, Day: 25}
	forward := workplace.Date{Year: 2026, Month: time.March, Day: 29}
	assert.Equal(t, time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC), wallHour(back, 1, london).UTC(), "01:00 happens twice: the later")
	assert.Equal(t, time.Date(2026, 10, 25, 11, 0, 0, 0, time.UTC), wallHour(back, 11, london).UTC())
	assert.Equal(t, time.Date(2026, 10, 26, 0, 0, 0, 0, time.UTC), wallHour(back, 24, london).UTC(), "the day has 25 hours")
	assert.Equal(t, time.Date(2026, 3, 29, 11, 0, 0, 0, time.UTC), wallHour(forward, 12, london).UTC())
	assert.Equal(t, time.Date(2026, 3, 29, 23, 0, 0, 0, time.UTC), wallHour(forward, 24, london).UTC(), "the day has 23 hours")
	assert.Equal(t, time.Date(2026, 3, 29, 1, 0, 0, 0, time.UTC), wallHour(forward, 1, london).UTC(), "01:00 does not exist")
}
