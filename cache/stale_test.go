package cache

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a clock tests move instead of sleeping, for Options.Now and the
// memory store.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 27, 8, 0, 0, 0, time.UTC)} }

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// errUnavailable is what the engage client returns when Engage does not
// answer.
var errUnavailable = workplace.Errorf(workplace.EUNAVAILABLE, "Engage is not answering")

// outage makes every cached read of f fail with err, as an upstream that
// went down. Call it while no read is running.
func outage(f *fakeInner, err error) {
	f.CountriesFn = func(context.Context) ([]workplace.Country, error) { return nil, err }
	f.RegionsFn = func(context.Context, workplace.CountryID) ([]workplace.Region, error) { return nil, err }
	f.LocationsFn = func(context.Context, workplace.RegionID) ([]workplace.Location, error) { return nil, err }
	f.GroupsFn = func(context.Context, workplace.CountryID) ([]workplace.Group, error) { return nil, err }
	f.UsersFn = func(context.Context, string) ([]workplace.User, error) { return nil, err }
	f.RoomsFn = func(context.Context, workplace.LocationID) ([]workplace.Room, error) { return nil, err }
	f.DesksFn = func(context.Context, workplace.LocationID) ([]workplace.Desk, error) { return nil, err }
	f.FloorPlanFn = func(context.Context, workplace.FloorPlanQuery) ([]workplace.FloorPlanItem, error) { return nil, err }
	f.BookingsFn = func(context.Context, workplace.RoomID, workplace.Date, workplace.Date) ([]workplace.Booking, error) {
		return nil, err
	}
	f.BookingFn = func(context.Context, workplace.BookingID) (workplace.Booking, error) { return workplace.Booking{}, err }
	f.FreeSlotsFn = func(context.Context, workplace.FreeSlotQuery) ([]workplace.ResourceFreeSlots, error) { return nil, err }
	f.AvailableRoomsFn = func(context.Context, workplace.AvailableRoomsQuery) ([]workplace.AvailableRoom, error) {
		return nil, err
	}
	f.DeskBookingsFn = func(context.Context, workplace.DeskID, workplace.Date, workplace.Date) ([]workplace.DeskBooking, error) {
		return nil, err
	}
	f.AvailableDesksFn = func(context.Context, workplace.AvailableDesksQuery) ([]workplace.AvailableDesk, error) {
		return nil, err
	}
	f.VisitorsFn = func(context.Context, workplace.VisitorQuery) (workplace.VisitorPage, error) {
		return workplace.VisitorPage{}, err
	}
	f.CostCodesFn = func(context.Context, workplace.LocationID) ([]workplace.CostCode, error) { return nil, err }
	f.VendorsFn = func(context.Context, workplace.LocationID) ([]workplace.Vendor, error) { return nil, err }
	f.OrdersFn = func(context.Context, workplace.BookingID) ([]workplace.ServiceOrder, error) { return nil, err }
}

// staleService is newService on clk.
func staleService(inner workplace.Service, st Store, clk *clock) *Service {
	return New(inner, st, Options{Logger: quiet(), OpTimeout: 5 * time.Second, Now: clk.now})
}

// report is what a Staleness reports, as one comparable value.
type report struct {
	count int
	age   time.Duration
	kinds []string
}

func reportOf(s *workplace.Staleness) report {
	n, age, kinds := s.Report()
	return report{n, age, kinds}
}

func asAny[T any](v T, err error) (any, error) { return v, err }

func deskDays(_ context.Context, d workplace.DeskID, from, to workplace.Date) ([]workplace.DeskBooking, error) {
	var out []workplace.DeskBooking
	for day := from; !day.After(to); day = day.AddDays(1) {
		out = append(out, workplace.DeskBooking{ID: workplace.DeskBookingID(int64(d)*1000 + int64(day.Day)), DeskID: d, Date: day})
	}
	return out, nil
}

// TestStaleServedForEveryRead: every cached read, its value dropped by
// invalidation (or its epoch bumped), is answered from its last-known-good
// copy when the upstream is down, and noted once with the copy's age and
// its kind.
func TestStaleServedForEveryRead(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		clk := newClock()
		inner := &fakeInner{
			BookingsFn: dailyBookings(sydney(t), func(workplace.RoomID) workplace.LocationID { return 10 }),
			BookingFn: func(_ context.Context, id workplace.BookingID) (workplace.Booking, error) {
				return workplace.Booking{ID: id, RoomID: 101, Title: "known"}, nil
			},
			DeskBookingsFn: deskDays,
		}
		svc := staleService(inner, st, clk)
		from := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
		floor := 3
		reads := []struct {
			name string
			kind string
			read func(ctx context.Context) (any, error)
			drop []string
		}{
			{"Countries", "countries", func(ctx context.Context) (any, error) { return asAny(svc.Countries(ctx)) }, []string{countriesKey()}},
			{"Regions", "regions", func(ctx context.Context) (any, error) { return asAny(svc.Regions(ctx, 1)) }, []string{regionsKey(1)}},
			{"Locations", "locations", func(ctx context.Context) (any, error) { return asAny(svc.Locations(ctx, 2)) }, []string{locationsKey(2)}},
			{"Groups", "groups", func(ctx context.Context) (any, error) { return asAny(svc.Groups(ctx, 1)) }, []string{groupsKey(1)}},
			{"Users", "users", func(ctx context.Context) (any, error) { return asAny(svc.Users(ctx, "a@example.com")) }, []string{usersKey("a@example.com")}},
			{"Rooms", "rooms", func(ctx context.Context) (any, error) { return asAny(svc.Rooms(ctx, 10)) }, []string{roomsKey(10)}},
			{"Desks", "desks", func(ctx context.Context) (any, error) { return asAny(svc.Desks(ctx, 10)) }, []string{desksKey(10)}},
			{"FloorPlan", "floorplan", func(ctx context.Context) (any, error) {
				return asAny(svc.FloorPlan(ctx, workplace.FloorPlanQuery{LocationID: 10, Floor: 2}))
			}, []string{floorPlanEpochKey(10)}},
			{"Bookings", "roomBookings", func(ctx context.Context) (any, error) {
				return asAny(svc.Bookings(ctx, 101, day0, day0.AddDays(2)))
			}, []string{roomDayKey(101, day0), roomDayKey(101, day0.AddDays(1)), roomDayKey(101, day0.AddDays(2))}},
			{"Booking", "bookings", func(ctx context.Context) (any, error) { return asAny(svc.Booking(ctx, 5)) }, []string{bookingKey(5)}},
			{"DeskBookings", "deskBookings", func(ctx context.Context) (any, error) {
				return asAny(svc.DeskBookings(ctx, 7, day0, day0.AddDays(1)))
			}, []string{deskDayKey(7, day0), deskDayKey(7, day0.AddDays(1))}},
			{"Visitors", "visitors", func(ctx context.Context) (any, error) {
				return asAny(svc.Visitors(ctx, workplace.VisitorQuery{Date: day0, LocationID: 10}))
			}, []string{visitorsKey(day0, 10)}},
			{"CostCodes", "costcodes", func(ctx context.Context) (any, error) { return asAny(svc.CostCodes(ctx, 10)) }, []string{costCodesKey(10)}},
			{"Vendors", "vendors", func(ctx context.Context) (any, error) { return asAny(svc.Vendors(ctx, 10)) }, []string{vendorsKey(10)}},
			{"Orders", "orders", func(ctx context.Context) (any, error) { return asAny(svc.Orders(ctx, 5)) }, []string{ordersKey(5)}},
			{"FreeSlots", "availability", func(ctx context.Context) (any, error) {
				return asAny(svc.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: 10, From: from, To: from.Add(time.Hour), Floor: &floor}))
			}, []string{roomAvailEpochKey(10)}},
			{"AvailableRooms", "availability", func(ctx context.Context) (any, error) {
				return asAny(svc.AvailableRooms(ctx, workplace.AvailableRoomsQuery{LocationID: 10, From: from, To: from.Add(time.Hour)}))
			}, []string{tenantRoomAvailEpochKey()}},
			{"AvailableDesks", "availability", func(ctx context.Context) (any, error) {
				return asAny(svc.AvailableDesks(ctx, workplace.AvailableDesksQuery{LocationID: 10, Days: []workplace.DeskDay{{Date: day0}}}))
			}, []string{deskAvailEpochKey(10)}},
		}
		ctx := context.Background()
		known := make([]any, len(reads))
		for i, r := range reads {
			v, err := r.read(ctx)
			require.NoError(t, err, r.name)
			known[i] = v
		}
		clk.advance(7 * time.Minute)
		for _, r := range reads {
			require.NoError(t, st.Invalidate(ctx, r.drop), r.name)
		}
		outage(inner, errUnavailable)
		for i, r := range reads {
			t.Run(r.name, func(t *testing.T) {
				sctx, stale := workplace.WithStaleness(ctx)
				var got any
				assert.Equal(t, 1, costs(inner, func() {
					var err error
					got, err = r.read(sctx)
					require.NoError(t, err)
				}), "the upstream was asked first")
				assert.Equal(t, known[i], got, "the last-known-good answer")
				assert.Equal(t, report{1, 7 * time.Minute, []string{r.kind}}, reportOf(stale))
			})
		}
	})
}

// TestStaleAfterExpiry: values that expired by their TTLs are answered
// stale until their copies expire too.
func TestStaleAfterExpiry(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	m := NewMemoryStore()
	m.now = clk.now
	inner := &fakeInner{BookingsFn: dailyBookings(sydney(t), func(workplace.RoomID) workplace.LocationID { return 10 })}
	svc := staleService(inner, m, clk)
	rooms, err := svc.Rooms(ctx, 10)
	require.NoError(t, err)
	bookings, err := svc.Bookings(ctx, 101, day0, day0.AddDays(1))
	require.NoError(t, err)

	clk.advance(2 * time.Hour) // past the TTLs of rooms (1h) and bookings (5m)
	outage(inner, errUnavailable)
	sctx, stale := workplace.WithStaleness(ctx)
	assert.Equal(t, 2, costs(inner, func() {
		got, err := svc.Rooms(sctx, 10)
		require.NoError(t, err)
		assert.Equal(t, rooms, got)
		gotB, err := svc.Bookings(sctx, 101, day0, day0.AddDays(1))
		require.NoError(t, err)
		assert.Equal(t, bookings, gotB)
	}), "expired values are asked of the upstream first")
	assert.Equal(t, report{2, 2 * time.Hour, []string{"roomBookings", "rooms"}}, reportOf(stale))

	clk.advance(DefaultStaleFor)
	sctx, stale = workplace.WithStaleness(ctx)
	_, err = svc.Rooms(sctx, 10)
	assert.Equal(t, workplace.EUNAVAILABLE, workplace.ErrorCode(err), "a copy lives StaleFor, then the outage shows")
	_, err = svc.Bookings(sctx, 101, day0, day0.AddDays(1))
	assert.Equal(t, workplace.EUNAVAILABLE, workplace.ErrorCode(err))
	assert.Equal(t, report{}, reportOf(stale))
}

// TestStaleOnlyStandsInForAnOutage: a copy answers only for the errors
// ServeStale allows; an answer the upstream did give is never masked.
func TestStaleOnlyStandsInForAnOutage(t *testing.T) {
	errBoom := errors.New("connection reset")
	tests := []struct {
		name  string
		serve func(error) bool
		err   error
		stale bool
	}{
		{name: "unavailable", err: errUnavailable, stale: true},
		{name: "unavailable, wrapped", err: errors.Join(errors.New("bookings of room 1"), errUnavailable), stale: true},
		{name: "rate limited", err: workplace.Errorf(workplace.ERATELIMITED, "slow down"), stale: true},
		{name: "not found", err: workplace.Errorf(workplace.ENOTFOUND, "no booking 1")},
		{name: "bad user input", err: workplace.Errorf(workplace.EINVALID, "bad id")},
		{name: "conflict", err: workplace.Errorf(workplace.ECONFLICT, "taken")},
		{name: "unauthenticated", err: workplace.Errorf(workplace.EUNAUTHORIZED, "token rejected")},
		{name: "internal", err: errBoom},
		{name: "ServeStale chooses", serve: func(err error) bool { return errors.Is(err, errBoom) }, err: errBoom, stale: true},
		{name: "ServeStale replaces the default", serve: func(err error) bool { return errors.Is(err, errBoom) }, err: errUnavailable},
	}
	forEachStore(t, func(t *testing.T, st Store) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				clk := newClock()
				id := workplace.BookingID(i + 1)
				var failing atomic.Bool
				inner := &fakeInner{BookingFn: func(_ context.Context, id workplace.BookingID) (workplace.Booking, error) {
					if failing.Load() {
						return workplace.Booking{}, tt.err
					}
					return workplace.Booking{ID: id, Title: "known"}, nil
				}}
				svc := New(inner, st, Options{Logger: quiet(), OpTimeout: 5 * time.Second, Now: clk.now, ServeStale: tt.serve})
				_, err := svc.Booking(ctx, id)
				require.NoError(t, err)
				require.NoError(t, svc.Invalidate(ctx, workplace.Change{Kind: workplace.KindBooking, BookingID: id}))
				clk.advance(time.Minute)
				failing.Store(true)

				sctx, stale := workplace.WithStaleness(ctx)
				b, err := svc.Booking(sctx, id)
				if !tt.stale {
					assert.ErrorIs(t, err, tt.err, "the upstream's own error")
					assert.Equal(t, report{}, reportOf(stale))
					return
				}
				require.NoError(t, err)
				assert.Equal(t, "known", b.Title)
				assert.Equal(t, report{1, time.Minute, []string{"bookings"}}, reportOf(stale))
			})
		}
	})
}

// TestStaleNeedsACopy: what was never cached, or what the store cannot
// reach, keeps the upstream's error.
func TestStaleNeedsACopy(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		clk := newClock()
		inner := &fakeInner{}
		down := &switchedStore{Store: st}
		svc := staleService(inner, down, clk)
		_, err := svc.Countries(ctx)
		require.NoError(t, err)
		require.NoError(t, st.Invalidate(ctx, []string{countriesKey()}))
		outage(inner, errUnavailable)

		sctx, stale := workplace.WithStaleness(ctx)
		_, err = svc.Regions(sctx, 1)
		assert.ErrorIs(t, err, errUnavailable, "never cached: no copy")
		assert.Equal(t, report{}, reportOf(stale))

		down.down.Store(true)
		_, err = svc.Countries(sctx)
		assert.ErrorIs(t, err, errUnavailable, "the copy exists, but the store is down too")
		assert.Equal(t, report{}, reportOf(stale))
	})
}

// switchedStore is a Store that can be switched off: its reads fail while
// down is set, as a Redis that went away.
type switchedStore struct {
	Store
	down atomic.Bool
}

func (s *switchedStore) Get(ctx context.Context, keys []string) ([]Entry, error) {
	if s.down.Load() {
		return nil, errors.New("store down")
	}
	return s.Store.Get(ctx, keys)
}

// TestStaleWindows: a window of days is answered stale only when every day
// the store does not hold fresh has a copy: fresh days and copies are merged,
// and the window is noted once with its oldest copy's age.
func TestStaleWindows(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		clk := newClock()
		inner := &fakeInner{BookingsFn: dailyBookings(sydney(t), func(workplace.RoomID) workplace.LocationID { return 10 })}
		svc := staleService(inner, st, clk)
		week, err := svc.Bookings(ctx, 101, day0, day0.AddDays(4))
		require.NoError(t, err)
		require.Len(t, week, 5)
		clk.advance(10 * time.Minute)
		require.NoError(t, st.Invalidate(ctx, []string{roomDayKey(101, day0.AddDays(3))}))
		_, err = svc.Bookings(ctx, 101, day0, day0.AddDays(4)) // day 3's copy is now 10 minutes younger
		require.NoError(t, err)

		clk.advance(20 * time.Minute)
		require.NoError(t, st.Invalidate(ctx, []string{roomDayKey(101, day0.AddDays(1)), roomDayKey(101, day0.AddDays(3))}))
		outage(inner, errUnavailable)

		tests := []struct {
			name    string
			windows []workplace.RoomWindow
			want    [][]workplace.Booking
			errs    []error
			report  report
			// span is what the upstream was asked for, for one window.
			span string
		}{
			{name: "every missing day has a copy",
				windows: []workplace.RoomWindow{{Room: 101, From: day0, To: day0.AddDays(4)}},
				want:    [][]workplace.Booking{week}, errs: []error{nil},
				report: report{1, 30 * time.Minute, []string{"roomBookings"}},
				span:   day0.AddDays(1).String() + ".." + day0.AddDays(3).String()},
			{name: "one day never cached",
				windows: []workplace.RoomWindow{{Room: 101, From: day0, To: day0.AddDays(5)}},
				want:    [][]workplace.Booking{nil}, errs: []error{errUnavailable},
				span: day0.AddDays(1).String() + ".." + day0.AddDays(5).String()},
			{name: "each window on its own",
				windows: []workplace.RoomWindow{{Room: 101, From: day0, To: day0.AddDays(5)}, {Room: 101, From: day0.AddDays(1), To: day0.AddDays(2)}},
				want:    [][]workplace.Booking{nil, week[1:3]}, errs: []error{errUnavailable, nil},
				report: report{1, 30 * time.Minute, []string{"roomBookings"}}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				sctx, stale := workplace.WithStaleness(ctx)
				got, errs := svc.BookingsMany(sctx, tt.windows)
				for i := range tt.windows {
					if tt.errs[i] != nil {
						assert.ErrorIs(t, errs[i], tt.errs[i])
						assert.Nil(t, got[i], "no partial answer")
						continue
					}
					require.NoError(t, errs[i])
					assert.Equal(t, tt.want[i], got[i])
				}
				assert.Equal(t, tt.report, reportOf(stale))
				if tt.span != "" {
					assert.Equal(t, tt.span, inner.lastSpan(), "the upstream was asked for the missing span only")
				}
			})
		}
	})
}

// TestStaleForNegativeDisablesCopies: no copies are written, so an outage
// shows.
func TestStaleForNegativeDisablesCopies(t *testing.T) {
	tests := []struct {
		name     string
		staleFor time.Duration
		copies   bool
	}{
		{name: "default", copies: true},
		{name: "negative", staleFor: -1, copies: false},
	}
	forEachStore(t, func(t *testing.T, st Store) {
		for i, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				ctx := context.Background()
				loc := workplace.LocationID(10 + i)
				inner := &fakeInner{}
				svc := New(inner, st, Options{Logger: quiet(), OpTimeout: 5 * time.Second, StaleFor: tt.staleFor})
				_, err := svc.Rooms(ctx, loc)
				require.NoError(t, err)
				es, err := st.Get(ctx, []string{roomsKey(loc), shadowKey(roomsKey(loc))})
				require.NoError(t, err)
				assert.True(t, es[0].Found)
				assert.Equal(t, tt.copies, es[1].Found, "a copy beside the value")

				require.NoError(t, st.Invalidate(ctx, []string{roomsKey(loc)}))
				outage(inner, errUnavailable)
				sctx, stale := workplace.WithStaleness(ctx)
				_, err = svc.Rooms(sctx, loc)
				if tt.copies {
					assert.NoError(t, err)
					assert.Equal(t, 1, reportOf(stale).count)
				} else {
					assert.ErrorIs(t, err, errUnavailable)
					assert.Equal(t, report{}, reportOf(stale))
				}
			})
		}
	})
}

// TestStaleFollowersOfAFailedFlight: every caller that joined the one
// upstream call that failed is answered from the copy, and each notes it in
// its own operation.
func TestStaleFollowersOfAFailedFlight(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		clk := newClock()
		release := make(chan struct{})
		var failing atomic.Bool
		daily := dailyBookings(sydney(t), func(workplace.RoomID) workplace.LocationID { return 10 })
		inner := &fakeInner{
			BookingFn: func(_ context.Context, id workplace.BookingID) (workplace.Booking, error) {
				if failing.Load() {
					<-release
					return workplace.Booking{}, errUnavailable
				}
				return workplace.Booking{ID: id, Title: "known"}, nil
			},
			BookingsFn: func(ctx context.Context, r workplace.RoomID, from, to workplace.Date) ([]workplace.Booking, error) {
				if failing.Load() {
					<-release
					return nil, errUnavailable
				}
				return daily(ctx, r, from, to)
			},
		}
		svc := staleService(inner, st, clk)
		_, err := svc.Booking(ctx, 42)
		require.NoError(t, err)
		week, err := svc.Bookings(ctx, 101, day0, day0.AddDays(1))
		require.NoError(t, err)
		clk.advance(time.Minute)
		require.NoError(t, st.Invalidate(ctx, []string{bookingKey(42), roomDayKey(101, day0), roomDayKey(101, day0.AddDays(1))}))
		failing.Store(true)
		before := inner.total()

		const n = 20
		var joined atomic.Int64
		svc.joined = func(string) { joined.Add(1) }
		var wg sync.WaitGroup
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				sctx, stale := workplace.WithStaleness(ctx)
				if i%2 == 0 {
					b, err := svc.Booking(sctx, 42)
					assert.NoError(t, err)
					assert.Equal(t, "known", b.Title)
					assert.Equal(t, report{1, time.Minute, []string{"bookings"}}, reportOf(stale))
					return
				}
				bs, err := svc.Bookings(sctx, 101, day0, day0.AddDays(1))
				assert.NoError(t, err)
				assert.Equal(t, week, bs)
				assert.Equal(t, report{1, time.Minute, []string{"roomBookings"}}, reportOf(stale))
			}()
		}
		require.Eventually(t, func() bool { return joined.Load() == n }, 5*time.Second, time.Millisecond, "every reader joins one of the two upstream calls")
		close(release)
		wg.Wait()
		assert.Equal(t, 2, inner.total()-before, "one failed call per key, shared")
	})
}

// TestStaleLookupsAreNotCounted: reading copies is not a hit or a miss of
// any kind.
func TestStaleLookupsAreNotCounted(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		type tally struct{ hits, misses int }
		var mu sync.Mutex
		seen := map[string]tally{}
		inner := &fakeInner{BookingsFn: dailyBookings(sydney(t), func(workplace.RoomID) workplace.LocationID { return 10 })}
		svc := New(inner, st, Options{Logger: quiet(), OpTimeout: 5 * time.Second, OnLookup: func(kind string, hit bool) {
			mu.Lock()
			defer mu.Unlock()
			c := seen[kind]
			if hit {
				c.hits++
			} else {
				c.misses++
			}
			seen[kind] = c
		}})
		read := func(ctx context.Context) {
			_, err := svc.Rooms(ctx, 10)
			require.NoError(t, err)
			_, err = svc.Bookings(ctx, 101, day0, day0.AddDays(2))
			require.NoError(t, err)
		}
		read(ctx)
		require.NoError(t, st.Invalidate(ctx, []string{roomsKey(10), roomDayKey(101, day0), roomDayKey(101, day0.AddDays(1)), roomDayKey(101, day0.AddDays(2))}))
		outage(inner, errUnavailable)
		sctx, stale := workplace.WithStaleness(ctx)
		read(sctx)
		assert.Equal(t, 2, reportOf(stale).count)
		mu.Lock()
		defer mu.Unlock()
		assert.Equal(t, map[string]tally{
			"rooms":        {misses: 2},
			"roomBookings": {misses: 6},
		}, seen, "a miss per key per read, whether answered fresh or stale")
	})
}

// TestStaleCopyIsNotReplacedByAnOlderRead: a read that started before an
// invalidation and ends after a newer read does not put its older answer
// in the copy (no stale write-back, for copies too).
func TestStaleCopyIsNotReplacedByAnOlderRead(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		g := newGate()
		inner := &fakeInner{BookingFn: func(_ context.Context, id workplace.BookingID) (workplace.Booking, error) {
			return workplace.Booking{ID: id, Title: "v" + strconv.FormatInt(g.wait(), 10)}, nil
		}}
		svc := newService(inner, st)
		change := workplace.Change{Kind: workplace.KindBooking, BookingID: 1}
		done := make(chan string)
		go func() {
			b, err := svc.Booking(ctx, 1)
			assert.NoError(t, err)
			done <- b.Title
		}()
		<-g.entered // the older read is upstream, holding v1
		g.version.Store(2)
		require.NoError(t, svc.Invalidate(ctx, change))
		g.closed.Store(true)
		b, err := svc.Booking(ctx, 1)
		require.NoError(t, err)
		require.Equal(t, "v2", b.Title, "a newer read answers and leaves its copy")
		close(g.release)
		require.Equal(t, "v1", <-done, "the older read ends last")

		require.NoError(t, svc.Invalidate(ctx, change))
		outage(inner, errUnavailable)
		b, err = svc.Booking(ctx, 1)
		require.NoError(t, err)
		assert.Equal(t, "v2", b.Title, "the copy is the newer answer")
	})
}
