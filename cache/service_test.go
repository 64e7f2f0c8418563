package cache

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestWarmReadsCostNothing(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		inner := &fakeInner{BookingsFn: dailyBookings(sydney(t), func(workplace.RoomID) workplace.LocationID { return 10 }),
			BookingFn: func(_ context.Context, id workplace.BookingID) (workplace.Booking, error) {
				return workplace.Booking{ID: id, RoomID: 101}, nil
			}}
		svc := newService(inner, st)
		from := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		floor := 3
		reads := []struct {
			name string
			read func() error
		}{
			{"Countries", func() error { _, err := svc.Countries(ctx); return err }},
			{"Regions", func() error { _, err := svc.Regions(ctx, 1); return err }},
			{"Locations", func() error { _, err := svc.Locations(ctx, 2); return err }},
			{"Groups", func() error { _, err := svc.Groups(ctx, 1); return err }},
			{"Users all", func() error { _, err := svc.Users(ctx, ""); return err }},
			{"Users by email", func() error { _, err := svc.Users(ctx, "a}b{c@example.com"); return err }},
			{"Rooms", func() error { _, err := svc.Rooms(ctx, 10); return err }},
			{"Desks", func() error { _, err := svc.Desks(ctx, 10); return err }},
			{"FloorPlan", func() error {
				_, err := svc.FloorPlan(ctx, workplace.FloorPlanQuery{LocationID: 10, Floor: 2})
				return err
			}},
			{"Bookings", func() error { _, err := svc.Bookings(ctx, 101, day0, day0.AddDays(13)); return err }},
			{"Booking", func() error { _, err := svc.Booking(ctx, 5); return err }},
			{"DeskBookings", func() error { _, err := svc.DeskBookings(ctx, 7, day0, day0.AddDays(4)); return err }},
			{"Visitors", func() error {
				_, err := svc.Visitors(ctx, workplace.VisitorQuery{Date: day0, LocationID: 10})
				return err
			}},
			{"CostCodes", func() error { _, err := svc.CostCodes(ctx, 10); return err }},
			{"Vendors", func() error { _, err := svc.Vendors(ctx, 10); return err }},
			{"Orders", func() error { _, err := svc.Orders(ctx, 5); return err }},
			{"FreeSlots", func() error {
				_, err := svc.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: 10, From: from, To: from.Add(time.Hour), Floor: &floor})
				return err
			}},
			{"AvailableRooms", func() error {
				_, err := svc.AvailableRooms(ctx, workplace.AvailableRoomsQuery{LocationID: 10, From: from, To: from.Add(time.Hour), Attributes: []int{1, 2}})
				return err
			}},
			{"AvailableDesks", func() error {
				_, err := svc.AvailableDesks(ctx, workplace.AvailableDesksQuery{LocationID: 10, Days: []workplace.DeskDay{{Date: day0, Type: workplace.DeskAllDay}}})
				return err
			}},
		}
		for _, r := range reads {
			assert.Equal(t, 1, costs(inner, func() { require.NoError(t, r.read(), r.name) }), "%s: cold read", r.name)
			assert.Equal(t, 0, costs(inner, func() { require.NoError(t, r.read(), r.name) }), "%s: warm read", r.name)
		}
		// What is not cached passes through every time.
		status := workplace.VisitorArrived
		for range 2 {
			_, err := svc.Visitors(ctx, workplace.VisitorQuery{Date: day0, LocationID: 10, Status: &status})
			require.NoError(t, err)
			_, err = svc.Listeners(ctx)
			require.NoError(t, err)
		}
		assert.Equal(t, 2, inner.n("Visitors")-1)
		assert.Equal(t, 2, inner.n("Listeners"))
	})
}

func TestRoomDayInvalidationIsPrecise(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		locOf := func(r workplace.RoomID) workplace.LocationID { return workplace.LocationID(r / 10) } // rooms 101, 102 at 10; 201 at 20
		inner := &fakeInner{BookingsFn: dailyBookings(sydney(t), locOf),
			RoomsFn: func(_ context.Context, l workplace.LocationID) ([]workplace.Room, error) {
				return []workplace.Room{{ID: workplace.RoomID(l*10 + 1), LocationID: l}, {ID: workplace.RoomID(l*10 + 2), LocationID: l}}, nil
			}}
		svc := newService(inner, st)
		last := day0.AddDays(13)
		from := day0.In(sydney(t)).Add(9 * time.Hour)
		slots := func(l workplace.LocationID) workplace.FreeSlotQuery {
			return workplace.FreeSlotQuery{LocationID: l, From: from, To: from.Add(8 * time.Hour), WorkspaceType: workplace.WorkspaceRoom}
		}
		warm := func() {
			for _, l := range []workplace.LocationID{10, 20} {
				_, err := svc.Rooms(ctx, l)
				require.NoError(t, err)
				_, err = svc.FreeSlots(ctx, slots(l))
				require.NoError(t, err)
				_, err = svc.AvailableDesks(ctx, workplace.AvailableDesksQuery{LocationID: l, Days: []workplace.DeskDay{{Date: day0}}})
				require.NoError(t, err)
			}
			for _, r := range []workplace.RoomID{101, 102, 201} {
				_, err := svc.Bookings(ctx, r, day0, last)
				require.NoError(t, err)
			}
			_, err := svc.Booking(ctx, dailyID(102, day0))
			require.Error(t, err, "the fake knows no booking by id; errors are not cached")
		}
		warm()
		require.Equal(t, 0, costs(inner, warm)-1, "only the uncached error costs a call on a warm cache")

		changed := day0.AddDays(5)
		require.NoError(t, svc.Invalidate(ctx, workplace.Change{Kind: workplace.KindBooking, BookingID: dailyID(101, changed), RoomID: 101, Date: changed}))

		n := costs(inner, func() {
			bs, err := svc.Bookings(ctx, 101, day0, last)
			require.NoError(t, err)
			assert.Len(t, bs, 14, "one booking a day, no duplicates")
		})
		assert.Equal(t, 1, n, "the dropped room-day is re-read in one call")
		assert.Equal(t, changed.String()+".."+changed.String(), inner.lastSpan(), "only the missing span is asked for")

		assert.Equal(t, 1, costs(inner, func() {
			_, err := svc.FreeSlots(ctx, slots(10))
			require.NoError(t, err)
		}), "free slots of the room's location are dropped")
		assert.Equal(t, 0, costs(inner, func() {
			for _, r := range []workplace.RoomID{101, 102, 201} {
				_, err := svc.Bookings(ctx, r, day0, last)
				require.NoError(t, err)
			}
			for _, l := range []workplace.LocationID{10, 20} {
				_, err := svc.Rooms(ctx, l)
				require.NoError(t, err)
				_, err = svc.AvailableDesks(ctx, workplace.AvailableDesksQuery{LocationID: l, Days: []workplace.DeskDay{{Date: day0}}})
				require.NoError(t, err)
			}
			_, err := svc.FreeSlots(ctx, slots(20))
			require.NoError(t, err)
		}), "other rooms, other days, other locations and desk availability stay cached")

		// A progression carries no date: the cached booking says which day.
		require.NoError(t, svc.Invalidate(ctx, workplace.Change{Kind: workplace.KindBooking, Action: workplace.ActionStarted, BookingID: dailyID(201, day0.AddDays(2)), RoomID: 201}))
		assert.Equal(t, 1, costs(inner, func() {
			_, err := svc.Bookings(ctx, 201, day0, last)
			require.NoError(t, err)
		}))
		assert.Equal(t, day0.AddDays(2).String()+".."+day0.AddDays(2).String(), inner.lastSpan())
	})
}

func TestBookingSpanningMidnight(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		syd := sydney(t)
		late := workplace.Booking{ID: 1, RoomID: 101, LocationID: 10, Start: day0.In(syd).Add(23 * time.Hour), End: day0.In(syd).Add(25 * time.Hour)}
		inner := &fakeInner{BookingsFn: func(_ context.Context, _ workplace.RoomID, from, to workplace.Date) ([]workplace.Booking, error) {
			if from.After(day0.AddDays(1)) || to.Before(day0) {
				return nil, nil
			}
			return []workplace.Booking{late}, nil
		}}
		svc := newService(inner, st)
		bs, err := svc.Bookings(ctx, 101, day0, day0.AddDays(2))
		require.NoError(t, err)
		assert.Len(t, bs, 1, "a booking on two days is answered once")
		assert.Equal(t, 0, costs(inner, func() {
			bs, err := svc.Bookings(ctx, 101, day0.AddDays(1), day0.AddDays(1))
			require.NoError(t, err)
			assert.Len(t, bs, 1, "the next day holds it too")
			bs, err = svc.Bookings(ctx, 101, day0.AddDays(2), day0.AddDays(2))
			require.NoError(t, err)
			assert.Empty(t, bs, "an empty day is cached as empty")
		}))
		require.NoError(t, svc.Invalidate(ctx, workplace.Change{Kind: workplace.KindBooking, BookingID: 1, RoomID: 101, Date: day0}))
		assert.Equal(t, 1, costs(inner, func() {
			_, err := svc.Bookings(ctx, 101, day0, day0.AddDays(2))
			require.NoError(t, err)
		}))
		assert.Equal(t, day0.String()+".."+day0.AddDays(1).String(), inner.lastSpan(), "both days of the booking were dropped, the third kept")
	})
}

func TestZonesRoundTrip(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		london, err := time.LoadLocation("Europe/London")
		require.NoError(t, err)
		syd := sydney(t)
		want := []workplace.Booking{
			{ID: 1, RoomID: 101, Start: day0.In(syd).Add(9 * time.Hour), End: day0.In(syd).Add(10 * time.Hour), CreatedAt: day0.In(syd).Add(-time.Hour)},
			{ID: 2, RoomID: 101, Start: day0.In(london).Add(9 * time.Hour), End: day0.In(london).Add(10 * time.Hour)},
		}
		inner := &fakeInner{
			BookingsFn: func(context.Context, workplace.RoomID, workplace.Date, workplace.Date) ([]workplace.Booking, error) {
				return want, nil
			},
			LocationsFn: func(context.Context, workplace.RegionID) ([]workplace.Location, error) {
				return []workplace.Location{{ID: 10, TimeZone: syd}}, nil
			},
		}
		svc := newService(inner, st)
		for range 2 {
			got, err := svc.Bookings(ctx, 101, day0, day0)
			require.NoError(t, err)
			require.Len(t, got, 2)
			for i := range want {
				assert.True(t, want[i].Start.Equal(got[i].Start))
				assert.Equal(t, want[i].Start.Location().String(), got[i].Start.Location().String())
				assert.Equal(t, want[i].Start.Format(time.RFC3339), got[i].Start.Format(time.RFC3339), "the local offset survives")
				assert.Equal(t, want[i].CreatedAt.IsZero(), got[i].CreatedAt.IsZero())
			}
			locs, err := svc.Locations(ctx, 1)
			require.NoError(t, err)
			require.NotNil(t, locs[0].TimeZone)
			assert.Equal(t, "Australia/Sydney", locs[0].TimeZone.String())
		}
		assert.Equal(t, 1, inner.n("Bookings"))
		assert.Equal(t, "Australia/Sydney", want[0].Start.Location().String())
	})
}

func TestResourceDeskAndVisitorInvalidationIsPrecise(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		inner := &fakeInner{
			DesksFn: func(_ context.Context, l workplace.LocationID) ([]workplace.Desk, error) {
				return []workplace.Desk{{ID: workplace.DeskID(l*10 + 1)}, {ID: workplace.DeskID(l*10 + 2)}}, nil
			},
			DeskBookingsFn: func(_ context.Context, d workplace.DeskID, from, to workplace.Date) ([]workplace.DeskBooking, error) {
				var out []workplace.DeskBooking
				for day := from; !day.After(to); day = day.AddDays(1) {
					out = append(out, workplace.DeskBooking{ID: workplace.DeskBookingID(int64(d)*1000 + int64(day.Day)), DeskID: d, Date: day})
				}
				return out, nil
			},
		}
		svc := newService(inner, st)
		visitors := func(d workplace.Date, l workplace.LocationID) workplace.VisitorQuery {
			return workplace.VisitorQuery{Date: d, LocationID: l}
		}
		desksFree := func(l workplace.LocationID) workplace.AvailableDesksQuery {
			return workplace.AvailableDesksQuery{LocationID: l, Days: []workplace.DeskDay{{Date: day0, Type: workplace.DeskAllDay}}}
		}
		all := []struct {
			name string
			read func() error
		}{
			{"rooms 10", func() error { _, err := svc.Rooms(ctx, 10); return err }},
			{"desks 10", func() error { _, err := svc.Desks(ctx, 10); return err }},
			{"rooms 20", func() error { _, err := svc.Rooms(ctx, 20); return err }},
			{"desks 20", func() error { _, err := svc.Desks(ctx, 20); return err }},
			{"floor plan 10", func() error {
				_, err := svc.FloorPlan(ctx, workplace.FloorPlanQuery{LocationID: 10, Floor: 1})
				return err
			}},
			{"floor plan 20", func() error {
				_, err := svc.FloorPlan(ctx, workplace.FloorPlanQuery{LocationID: 20, Floor: 1})
				return err
			}},
			{"desk 101", func() error { _, err := svc.DeskBookings(ctx, 101, day0, day0.AddDays(6)); return err }},
			{"desk 102", func() error { _, err := svc.DeskBookings(ctx, 102, day0, day0.AddDays(6)); return err }},
			{"desk 201", func() error { _, err := svc.DeskBookings(ctx, 201, day0, day0.AddDays(6)); return err }},
			{"desks free 10", func() error { _, err := svc.AvailableDesks(ctx, desksFree(10)); return err }},
			{"desks free 20", func() error { _, err := svc.AvailableDesks(ctx, desksFree(20)); return err }},
			{"visitors day0 10", func() error { _, err := svc.Visitors(ctx, visitors(day0, 10)); return err }},
			{"visitors day0 all", func() error { _, err := svc.Visitors(ctx, visitors(day0, 0)); return err }},
			{"visitors day0 20", func() error { _, err := svc.Visitors(ctx, visitors(day0, 20)); return err }},
			{"visitors day1 10", func() error { _, err := svc.Visitors(ctx, visitors(day0.AddDays(1), 10)); return err }},
			{"cost codes 10", func() error { _, err := svc.CostCodes(ctx, 10); return err }},
			{"cost codes 20", func() error { _, err := svc.CostCodes(ctx, 20); return err }},
			{"orders 1", func() error { _, err := svc.Orders(ctx, 1); return err }},
			{"orders 2", func() error { _, err := svc.Orders(ctx, 2); return err }},
		}
		tests := []struct {
			name    string
			change  func() error
			dropped []string
		}{
			{name: "room resource", change: func() error {
				return svc.Invalidate(ctx, workplace.Change{Kind: workplace.KindResource, ResourceID: 101, WorkspaceType: workplace.WorkspaceRoom, LocationID: 10})
			}, dropped: []string{"rooms 10", "floor plan 10", "desks free 10"}},
			{name: "desk booking", change: func() error {
				return svc.Invalidate(ctx, workplace.Change{Kind: workplace.KindDeskBooking, DeskBookingID: 101002, DeskID: 101, Date: day0.AddDays(2)})
			}, dropped: []string{"desk 101", "desks free 10"}},
			{name: "desk progression without date", change: func() error {
				return svc.Invalidate(ctx, workplace.Change{Kind: workplace.KindDeskBooking, DeskBookingID: 201003, DeskID: 201})
			}, dropped: []string{"desk 201", "desks free 20"}},
			{name: "visitor", change: func() error {
				return svc.Invalidate(ctx, workplace.Change{Kind: workplace.KindVisitor, VisitorID: 1027, LocationID: 10, Date: day0})
			}, dropped: []string{"visitors day0 10", "visitors day0 all"}},
			{name: "cancel desk booking", change: func() error {
				return svc.CancelDeskBooking(ctx, 102030, 1, day0.AddDays(3))
			}, dropped: []string{"desk 102", "desks free 10"}},
			{name: "create cost codes", change: func() error {
				return svc.CreateCostCodes(ctx, []workplace.NewCostCode{{Code: "X", LocationID: 20}})
			}, dropped: []string{"cost codes 20"}},
			{name: "order service", change: func() error {
				_, err := svc.OrderService(ctx, workplace.NewServiceOrder{BookingID: 2, ServiceID: 1})
				return err
			}, dropped: []string{"orders 2"}},
		}
		for _, r := range all {
			require.NoError(t, r.read())
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				require.NoError(t, tt.change())
				for _, r := range all {
					want := 0
					for _, d := range tt.dropped {
						if d == r.name {
							want = 1
						}
					}
					assert.Equal(t, want, costs(inner, func() { require.NoError(t, r.read()) }), r.name)
				}
			})
		}
	})
}

func TestWritesInvalidateBeforeReturning(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		syd := sydney(t)
		inner := &fakeInner{BookingsFn: dailyBookings(syd, func(r workplace.RoomID) workplace.LocationID { return workplace.LocationID(r / 10) })}
		inner.BookingFn = func(_ context.Context, id workplace.BookingID) (workplace.Booking, error) {
			bs, _ := dailyBookings(syd, func(workplace.RoomID) workplace.LocationID { return 10 })(ctx, workplace.RoomID(int64(id)/100_000_000), day0, day0.AddDays(13))
			for _, b := range bs {
				if b.ID == id {
					return b, nil
				}
			}
			return workplace.Booking{}, workplace.Errorf(workplace.ENOTFOUND, "no")
		}
		moved := dailyID(101, day0.AddDays(1))
		inner.UpdateBookingFn = func(_ context.Context, id workplace.BookingID, _ workplace.BookingChange) (workplace.Booking, error) {
			start := day0.AddDays(3).In(syd).Add(15 * time.Hour)
			return workplace.Booking{ID: id, RoomID: 102, LocationID: 10, Start: start, End: start.Add(time.Hour)}, nil
		}
		svc := newService(inner, st)
		readAll := func() {
			for _, r := range []workplace.RoomID{101, 102} {
				_, err := svc.Bookings(ctx, r, day0, day0.AddDays(13))
				require.NoError(t, err)
			}
			_, err := svc.Booking(ctx, dailyID(101, day0))
			require.NoError(t, err)
			_, err = svc.Booking(ctx, dailyID(102, day0))
			require.NoError(t, err)
		}
		readAll()
		require.Equal(t, 0, costs(inner, readAll))

		require.NoError(t, svc.CancelBooking(ctx, dailyID(101, day0), 1))
		assert.Equal(t, 0, inner.n("Booking")-2, "the cancelled booking's room and day came from the cache")
		assert.Equal(t, 2, costs(inner, readAll), "its room-day and its entity are read again, nothing else")
		assert.Equal(t, day0.String()+".."+day0.String(), inner.lastSpan())

		_, err := svc.UpdateBooking(ctx, moved, workplace.BookingChange{RoomID: 102})
		require.NoError(t, err)
		n := costs(inner, func() {
			_, err := svc.Bookings(ctx, 101, day0, day0.AddDays(13))
			require.NoError(t, err)
			assert.Equal(t, day0.AddDays(1).String()+".."+day0.AddDays(1).String(), inner.lastSpan(), "the old room-day")
			_, err = svc.Bookings(ctx, 102, day0, day0.AddDays(13))
			require.NoError(t, err)
			assert.Equal(t, day0.AddDays(3).String()+".."+day0.AddDays(3).String(), inner.lastSpan(), "the new room-day")
		})
		assert.Equal(t, 2, n)
	})
}

// gate holds an inner read until released, and says when it has started.
type gate struct {
	entered chan struct{}
	release chan struct{}
	version atomic.Int64
	closed  atomic.Bool
}

func newGate() *gate {
	g := &gate{entered: make(chan struct{}, 1), release: make(chan struct{})}
	g.version.Store(1)
	return g
}

// wait notes the version the upstream has now, then blocks until released.
func (g *gate) wait() int64 {
	v := g.version.Load()
	if !g.closed.Load() {
		g.entered <- struct{}{}
		<-g.release
	}
	return v
}

func TestInvalidationRace(t *testing.T) {
	type replicas func(t *testing.T, inner workplace.Service) (reader, invalidator *Service)
	cases := []struct {
		name string
		pair replicas
	}{
		{"memory", func(_ *testing.T, inner workplace.Service) (*Service, *Service) {
			s := newService(inner, NewMemoryStore())
			return s, s
		}},
		{"redis", func(t *testing.T, inner workplace.Service) (*Service, *Service) {
			s := newService(inner, stores()[1].open(t))
			return s, s
		}},
		{"redis two replicas", func(t *testing.T, inner workplace.Service) (*Service, *Service) {
			rdb := redisClient(t)
			ns := namespace(t, rdb)
			return newService(inner, NewRedisStore(rdb, StoreOptions{Namespace: ns})),
				newService(inner, NewRedisStore(redisClient(t), StoreOptions{Namespace: ns}))
		}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			g := newGate()
			inner := &fakeInner{
				BookingFn: func(_ context.Context, id workplace.BookingID) (workplace.Booking, error) {
					return workplace.Booking{ID: id, Title: "v" + string(rune('0'+g.wait()))}, nil
				},
				BookingsFn: func(_ context.Context, r workplace.RoomID, from, _ workplace.Date) ([]workplace.Booking, error) {
					v := g.wait()
					start := from.In(time.UTC).Add(9 * time.Hour)
					return []workplace.Booking{{ID: 1, RoomID: r, Title: "v" + string(rune('0'+v)), Start: start, End: start.Add(time.Hour)}}, nil
				},
			}
			reader, invalidator := tc.pair(t, inner)
			reads := []struct {
				name   string
				read   func(s *Service) (string, error)
				change workplace.Change
			}{
				{"booking by id", func(s *Service) (string, error) {
					b, err := s.Booking(ctx, 1)
					return b.Title, err
				}, workplace.Change{Kind: workplace.KindBooking, BookingID: 1}},
				{"room-day", func(s *Service) (string, error) {
					bs, err := s.Bookings(ctx, 101, day0, day0)
					if err != nil || len(bs) == 0 {
						return "", err
					}
					return bs[0].Title, nil
				}, workplace.Change{Kind: workplace.KindBooking, BookingID: 1, RoomID: 101, Date: day0}},
			}
			for _, r := range reads {
				g.closed.Store(false)
				g.version.Store(1)
				done := make(chan string)
				go func() {
					title, err := r.read(reader)
					assert.NoError(t, err)
					done <- title
				}()
				<-g.entered // the read is upstream, holding version 1
				g.version.Store(2)
				require.NoError(t, invalidator.Invalidate(ctx, r.change))
				close(g.release)
				assert.Equal(t, "v1", <-done, r.name+": the in-flight read answers what it read")

				g.closed.Store(true)
				for _, s := range []*Service{reader, invalidator} {
					title, err := r.read(s)
					require.NoError(t, err)
					assert.Equal(t, "v2", title, r.name+": the stale value was not written back")
				}
				g.release = make(chan struct{})
			}
		})
	}
}

func TestSingleFlight(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		release := make(chan struct{})
		inner := &fakeInner{BookingFn: func(_ context.Context, id workplace.BookingID) (workplace.Booking, error) {
			<-release
			return workplace.Booking{ID: id}, nil
		}}
		svc := newService(inner, st)
		const n = 50
		var joined atomic.Int64
		svc.joined = func(string) { joined.Add(1) }
		var wg sync.WaitGroup
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				b, err := svc.Booking(ctx, 42)
				assert.NoError(t, err)
				assert.Equal(t, workplace.BookingID(42), b.ID)
			}()
		}
		require.Eventually(t, func() bool { return joined.Load() == n }, 5*time.Second, time.Millisecond, "every reader joins the one upstream call")
		close(release)
		wg.Wait()
		assert.Equal(t, 1, inner.n("Booking"))
		assert.Equal(t, 0, costs(inner, func() {
			_, err := svc.Booking(ctx, 42)
			require.NoError(t, err)
		}))
	})
}

// pipelines counts a client's pipelines and single commands.
type pipelines struct {
	pipes, cmds atomic.Int64
}

func (p *pipelines) DialHook(next redis.DialHook) redis.DialHook { return next }

func (p *pipelines) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		p.cmds.Add(1)
		return next(ctx, cmd)
	}
}

func (p *pipelines) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		p.pipes.Add(1)
		return next(ctx, cmds)
	}
}

func (p *pipelines) reset() { p.pipes.Store(0); p.cmds.Store(0) }

func TestManyReaderOneRoundTrip(t *testing.T) {
	ctx := context.Background()
	rdb := redisClient(t)
	ns := namespace(t, rdb)
	hook := &pipelines{}
	rdb.AddHook(hook)
	inner := &fakeInner{
		BookingsFn: dailyBookings(sydney(t), func(workplace.RoomID) workplace.LocationID { return 10 }),
		BookingFn: func(_ context.Context, id workplace.BookingID) (workplace.Booking, error) {
			return workplace.Booking{ID: id}, nil
		},
	}
	svc := newService(inner, NewRedisStore(rdb, StoreOptions{Namespace: ns}))
	_, err := svc.Rooms(ctx, 10)
	require.NoError(t, err)
	_, err = svc.Bookings(ctx, 101, day0, day0.AddDays(6))
	require.NoError(t, err)
	_, err = svc.Booking(ctx, 1)
	require.NoError(t, err)

	tests := []struct {
		name       string
		read       func()
		inner      int
		pipes      int
		wantCalled string
	}{
		{name: "rooms, two of four cold", inner: 2, pipes: 2, wantCalled: "Rooms", read: func() {
			v, errs := svc.RoomsMany(ctx, []workplace.LocationID{10, 20, 10, 30})
			require.Len(t, v, 4)
			for _, err := range errs {
				require.NoError(t, err)
			}
		}},
		{name: "rooms, warm", inner: 0, pipes: 1, read: func() {
			_, errs := svc.RoomsMany(ctx, []workplace.LocationID{10, 20, 30})
			require.NoError(t, errs[0])
		}},
		{name: "desks, cold", inner: 2, pipes: 2, wantCalled: "Desks", read: func() {
			_, errs := svc.DesksMany(ctx, []workplace.LocationID{10, 20})
			require.NoError(t, errs[1])
		}},
		{name: "windows, one warm and two cold", inner: 2, pipes: 2, wantCalled: "Bookings", read: func() {
			v, errs := svc.BookingsMany(ctx, []workplace.RoomWindow{{Room: 101, From: day0, To: day0.AddDays(6)}, {Room: 102, From: day0, To: day0.AddDays(13)}, {Room: 103, From: day0, To: day0}})
			require.NoError(t, errs[1])
			assert.Len(t, v[0], 7)
			assert.Len(t, v[1], 14)
		}},
		{name: "windows, warm", inner: 0, pipes: 1, read: func() {
			_, errs := svc.BookingsMany(ctx, []workplace.RoomWindow{{Room: 101, From: day0, To: day0.AddDays(6)}, {Room: 102, From: day0, To: day0.AddDays(13)}})
			require.NoError(t, errs[0])
		}},
		{name: "desk windows, cold", inner: 2, pipes: 2, wantCalled: "DeskBookings", read: func() {
			_, errs := svc.DeskBookingsMany(ctx, []workplace.DeskWindow{{Desk: 1, From: day0, To: day0.AddDays(2)}, {Desk: 2, From: day0, To: day0}})
			require.NoError(t, errs[0])
		}},
		{name: "bookings by id, one warm", inner: 2, pipes: 2, wantCalled: "Booking", read: func() {
			v, errs := svc.BookingMany(ctx, []workplace.BookingID{1, 2, 3})
			require.NoError(t, errs[2])
			assert.Equal(t, workplace.BookingID(3), v[2].ID)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hook.reset()
			before := inner.n(tt.wantCalled)
			assert.Equal(t, tt.inner, costs(inner, tt.read), "inner calls")
			if tt.wantCalled != "" {
				assert.Equal(t, tt.inner, inner.n(tt.wantCalled)-before)
			}
			assert.Equal(t, int64(tt.pipes), hook.pipes.Load(), "one pipeline to read, one to write back")
			assert.Zero(t, hook.cmds.Load(), "no command outside a pipeline")
		})
	}
}

// A StoreOnly read is answered from what the store holds, and otherwise
// fails at once with workplace.ErrNotHeld; it never calls the upstream.
func TestStoreOnlyReadsNeverCallTheUpstream(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		only := workplace.StoreOnly(ctx)
		inner := &fakeInner{BookingsFn: dailyBookings(sydney(t), func(workplace.RoomID) workplace.LocationID { return 10 }),
			BookingFn: func(_ context.Context, id workplace.BookingID) (workplace.Booking, error) {
				return workplace.Booking{ID: id, RoomID: 101}, nil
			}}
		svc := newService(inner, st)
		reads := []struct {
			name string
			read func(ctx context.Context) error
		}{
			{"Countries", func(ctx context.Context) error { _, err := svc.Countries(ctx); return err }},
			{"Rooms", func(ctx context.Context) error { _, err := svc.Rooms(ctx, 10); return err }},
			{"Users all", func(ctx context.Context) error { _, err := svc.Users(ctx, ""); return err }},
			{"Bookings", func(ctx context.Context) error { _, err := svc.Bookings(ctx, 101, day0, day0.AddDays(13)); return err }},
			{"Booking", func(ctx context.Context) error { _, err := svc.Booking(ctx, 5); return err }},
			{"DeskBookings", func(ctx context.Context) error { _, err := svc.DeskBookings(ctx, 7, day0, day0.AddDays(4)); return err }},
		}
		for _, r := range reads {
			var err error
			assert.Zero(t, costs(inner, func() { err = r.read(only) }), "%s: a store-only miss called the upstream", r.name)
			assert.ErrorIs(t, err, workplace.ErrNotHeld, r.name)
			assert.Equal(t, 1, costs(inner, func() { require.NoError(t, r.read(ctx), r.name) }), "%s: the read after the miss", r.name)
			assert.Zero(t, costs(inner, func() { require.NoError(t, r.read(only), r.name) }), "%s: a store-only hit", r.name)
		}
	})
}
