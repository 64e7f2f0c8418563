package loader

// Unit tests of the batching rules, against a fake service that counts the
// calls it gets and how many run at once. The fake is fine here: these tests
// are about the loaders, not the upstream (callcount_test.go in the root
// package measures real operations against the simulator).

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeService answers the few routes these tests use through function
// fields, and records every call as "Route arg". Any other method panics on
// the nil embedded interface: a call the test did not expect.
type fakeService struct {
	workplace.Service

	rooms    func(ctx context.Context, id workplace.LocationID) ([]workplace.Room, error)
	users    func(ctx context.Context, email string) ([]workplace.User, error)
	bookings func(ctx context.Context, room workplace.RoomID, from, to workplace.Date) ([]workplace.Booking, error)

	mu    sync.Mutex
	calls []string
}

func (f *fakeService) record(call string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.calls = append(f.calls, call)
}

// Calls returns the calls so far, in the order they were made.
func (f *fakeService) Calls() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.calls...)
}

func (f *fakeService) Rooms(ctx context.Context, id workplace.LocationID) ([]workplace.Room, error) {
	f.record(fmt.Sprintf("Rooms %d", id))
	if f.rooms != nil {
		return f.rooms(ctx, id)
	}
	return []workplace.Room{{ID: workplace.RoomID(id*100 + 1), LocationID: id}}, nil
}

func (f *fakeService) Users(ctx context.Context, email string) ([]workplace.User, error) {
	f.record("Users " + email)
	if f.users != nil {
		return f.users(ctx, email)
	}
	everyone := []workplace.User{
		{ID: 1, Email: "ada@example.com"}, {ID: 2, Email: "bob@example.com"},
		{ID: 3, Email: "cy@example.com"}, {ID: 4, Email: "dee@example.com"},
		{ID: 5, Email: "eve@example.com"}, {ID: 6, Email: "fay@example.com"},
	}
	if email == "" {
		return everyone, nil
	}
	for _, u := range everyone {
		if strings.EqualFold(u.Email, email) {
			return []workplace.User{u}, nil
		}
	}
	return []workplace.User{}, nil
}

func (f *fakeService) Bookings(ctx context.Context, room workplace.RoomID, from, to workplace.Date) ([]workplace.Booking, error) {
	f.record(fmt.Sprintf("Bookings %d %s..%s", room, from, to))
	if f.bookings != nil {
		return f.bookings(ctx, room, from, to)
	}
	return []workplace.Booking{{ID: workplace.BookingID(room)*1000 + workplace.BookingID(from.Day), RoomID: room, Start: from.In(time.UTC)}}, nil
}

// gauge counts calls in flight and remembers the most there ever were.
type gauge struct {
	now, max atomic.Int64
}

func (g *gauge) enter() {
	n := g.now.Add(1)
	for {
		m := g.max.Load()
		if n <= m || g.max.CompareAndSwap(m, n) {
			return
		}
	}
}

func (g *gauge) leave() { g.now.Add(-1) }

// drain lets blocked calls finish one at a time, each time only after as
// many calls as the bound allows are in flight, so a bound that does not
// hold shows as more calls at once than allowed.
func drain(t *testing.T, g *gauge, release chan<- struct{}, calls, bound int) {
	t.Helper()
	for left := calls; left > 0; left-- {
		want := int64(min(bound, left))
		require.Eventually(t, func() bool { return g.now.Load() == want }, 5*time.Second, time.Millisecond,
			"%d calls left: want %d in flight", left, want)
		release <- struct{}{}
	}
}

// TestLoaderFanOutBound checks that one batch makes its calls concurrently
// but never more than the bound at once, whatever the number of keys.
func TestLoaderFanOutBound(t *testing.T) {
	for _, tc := range []struct{ keys, limit int }{
		{keys: 12, limit: 1},
		{keys: 12, limit: 4},
		{keys: 3, limit: 4},
		{keys: 20, limit: 8},
	} {
		t.Run(fmt.Sprintf("%d keys, limit %d", tc.keys, tc.limit), func(t *testing.T) {
			var g gauge
			release := make(chan struct{})
			batch := fanOut(func(_ context.Context, k int) (int, error) {
				g.enter()
				defer g.leave()
				<-release
				return k * 10, nil
			}, tc.limit)
			keys := make([]int, tc.keys)
			for i := range keys {
				keys[i] = i
			}
			done := make(chan []int)
			go func() {
				res := batch(context.Background(), keys)
				out := make([]int, len(res))
				for i, r := range res {
					out[i] = r.Data
				}
				done <- out
			}()
			drain(t, &g, release, tc.keys, tc.limit)
			got := <-done
			for i, v := range got {
				assert.Equal(t, i*10, v, "result %d", i)
			}
			assert.EqualValues(t, min(tc.keys, tc.limit), g.max.Load(), "most calls in flight at once")
		})
	}
}

// TestLoaderFanOutOption checks that Options.FanOut reaches the loaders: an
// operation asking for the rooms of twelve locations runs four calls at once
// with FanOut 4. Wait is generous so the twelve keys surely share one batch.
func TestLoaderFanOutOption(t *testing.T) {
	var g gauge
	release := make(chan struct{})
	svc := &fakeService{rooms: func(_ context.Context, id workplace.LocationID) ([]workplace.Room, error) {
		g.enter()
		defer g.leave()
		<-release
		return []workplace.Room{{ID: workplace.RoomID(id), LocationID: id}}, nil
	}}
	ctx := With(context.Background(), New(svc, Options{FanOut: 4, Wait: 50 * time.Millisecond}))
	const locations = 12
	var wg sync.WaitGroup
	errs := make(chan error, locations)
	for i := range locations {
		wg.Go(func() {
			rs, err := Rooms(ctx, workplace.LocationID(i+1))
			if err == nil && (len(rs) != 1 || rs[0].LocationID != workplace.LocationID(i+1)) {
				err = fmt.Errorf("location %d: wrong rooms %v", i+1, rs)
			}
			errs <- err
		})
	}
	drain(t, &g, release, locations, 4)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.EqualValues(t, 4, g.max.Load(), "most calls in flight at once")
	assert.Len(t, svc.Calls(), locations, "one call per location")
}

// load runs fn for every item at once, as sibling GraphQL fields do, and
// fails the test on the first error.
func load[T any](t *testing.T, items []T, fn func(T) error) {
	t.Helper()
	var wg sync.WaitGroup
	errs := make([]error, len(items))
	for i, it := range items {
		wg.Go(func() { errs[i] = fn(it) })
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
}

// TestLoaderUsersByEmail checks the users rule: fewer than UsersListAll
// distinct emails cost one filtered call each, more cost one call listing
// everyone; emails differing only in case or spaces are one key.
func TestLoaderUsersByEmail(t *testing.T) {
	for _, tc := range []struct {
		name   string
		emails []string
		want   []string
	}{
		{"one", []string{"ada@example.com"}, []string{"Users ada@example.com"}},
		{"one, asked thrice", []string{"ada@example.com", "ADA@example.com", " ada@example.com "}, []string{"Users ada@example.com"}},
		{"two", []string{"ada@example.com", "bob@example.com"}, []string{"Users ada@example.com", "Users bob@example.com"}},
		{"three", []string{"ada@example.com", "bob@example.com", "cy@example.com"}, []string{"Users "}},
		{"five", []string{"ada@example.com", "bob@example.com", "cy@example.com", "dee@example.com", "eve@example.com"}, []string{"Users "}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeService{}
			ctx := With(context.Background(), New(svc, Options{Wait: 20 * time.Millisecond}))
			load(t, tc.emails, func(e string) error {
				u, err := UserByEmail(ctx, e)
				if err == nil && !strings.EqualFold(u.Email, strings.TrimSpace(e)) {
					err = fmt.Errorf("asked %q, got %q", e, u.Email)
				}
				return err
			})
			assert.ElementsMatch(t, tc.want, svc.Calls())
		})
	}
}

// TestLoaderUsersListedOnce checks that one operation lists every user at
// most once, however its lookups fall into batches: by id (which always
// lists everyone) and by email, in either order.
func TestLoaderUsersListedOnce(t *testing.T) {
	three := []string{"ada@example.com", "bob@example.com", "cy@example.com"}
	other := []string{"dee@example.com", "eve@example.com", "fay@example.com"}
	byEmail := func(ctx context.Context, emails []string) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			load(t, emails, func(e string) error { _, err := UserByEmail(ctx, e); return err })
		}
	}
	byID := func(ctx context.Context) func(t *testing.T) {
		return func(t *testing.T) {
			t.Helper()
			u, err := User(ctx, 2)
			require.NoError(t, err)
			assert.Equal(t, "bob@example.com", u.Email)
		}
	}
	for _, tc := range []struct {
		name  string
		steps func(ctx context.Context) []func(t *testing.T)
	}{
		{"two batches of three emails", func(ctx context.Context) []func(*testing.T) {
			return []func(*testing.T){byEmail(ctx, three), byEmail(ctx, other)}
		}},
		{"three emails, then an id", func(ctx context.Context) []func(*testing.T) {
			return []func(*testing.T){byEmail(ctx, three), byID(ctx)}
		}},
		{"an id, then one email", func(ctx context.Context) []func(*testing.T) {
			return []func(*testing.T){byID(ctx), byEmail(ctx, other[:1])}
		}},
		{"an id, then two emails", func(ctx context.Context) []func(*testing.T) {
			return []func(*testing.T){byID(ctx), byEmail(ctx, other[:2])}
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeService{}
			ctx := With(context.Background(), New(svc, Options{Wait: 20 * time.Millisecond}))
			for _, step := range tc.steps(ctx) {
				step(t)
			}
			assert.Equal(t, []string{"Users "}, svc.Calls())
		})
	}
}

// TestLoaderCollapsesKeys checks that duplicate keys cost one call, that a
// booking read in a room's list is not read again by id, and that windows
// wider than 14 days are cut into 14-day calls.
func TestLoaderCollapsesKeys(t *testing.T) {
	t.Run("rooms of one location asked five times", func(t *testing.T) {
		svc := &fakeService{}
		ctx := With(context.Background(), New(svc, Options{}))
		load(t, []int{1, 2, 3, 4, 5}, func(int) error { _, err := Rooms(ctx, 41); return err })
		_, err := Room(ctx, 41, 4101)
		require.NoError(t, err)
		assert.Equal(t, []string{"Rooms 41"}, svc.Calls())
	})
	t.Run("bookings read in a list are not read again by id", func(t *testing.T) {
		svc := &fakeService{}
		ctx := With(context.Background(), New(svc, Options{}))
		day := workplace.Date{Year: 2026, Month: time.March, Day: 2}
		bs, err := RoomBookings(ctx, 7, day, day)
		require.NoError(t, err)
		require.Len(t, bs, 1)
		b, err := Booking(ctx, bs[0].ID) // the fake has no Booking: a call would panic
		require.NoError(t, err)
		assert.Equal(t, bs[0], b)
		assert.Equal(t, []string{"Bookings 7 2026-03-02..2026-03-02"}, svc.Calls())
	})
	from := workplace.Date{Year: 2026, Month: time.March, Day: 1}
	for _, tc := range []struct {
		days int
		want []string
	}{
		{1, []string{"Bookings 7 2026-03-01..2026-03-01"}},
		{14, []string{"Bookings 7 2026-03-01..2026-03-14"}},
		{15, []string{"Bookings 7 2026-03-01..2026-03-14", "Bookings 7 2026-03-15..2026-03-15"}},
		{28, []string{"Bookings 7 2026-03-01..2026-03-14", "Bookings 7 2026-03-15..2026-03-28"}},
		{29, []string{"Bookings 7 2026-03-01..2026-03-14", "Bookings 7 2026-03-15..2026-03-28", "Bookings 7 2026-03-29..2026-03-29"}},
	} {
		t.Run(fmt.Sprintf("a window of %d days", tc.days), func(t *testing.T) {
			svc := &fakeService{}
			ctx := With(context.Background(), New(svc, Options{}))
			bs, err := RoomBookings(ctx, 7, from, from.AddDays(tc.days-1))
			require.NoError(t, err)
			assert.Len(t, bs, len(tc.want), "one booking per window, merged")
			assert.ElementsMatch(t, tc.want, svc.Calls())
		})
	}
	t.Run("operations share nothing", func(t *testing.T) {
		svc := &fakeService{}
		for range 2 {
			ctx := With(context.Background(), New(svc, Options{}))
			_, err := Rooms(ctx, 41)
			require.NoError(t, err)
		}
		assert.Equal(t, []string{"Rooms 41", "Rooms 41"}, svc.Calls())
	})
}

// TestLoaderUsersNamedByData checks that once the bookings an operation read
// and the visitors it shows name UsersListAll people or more, even a lone
// lookup lists every user (one call, as a filtered lookup costs), so lookups
// split across batches by scheduling still cost one call; with fewer
// people named, lookups stay filtered.
func TestLoaderUsersNamedByData(t *testing.T) {
	day := workplace.Date{Year: 2026, Month: time.March, Day: 2}
	hosted := func(emails ...string) func(context.Context, workplace.RoomID, workplace.Date, workplace.Date) ([]workplace.Booking, error) {
		return func(_ context.Context, room workplace.RoomID, from, _ workplace.Date) ([]workplace.Booking, error) {
			var out []workplace.Booking
			for i, e := range emails {
				p := workplace.Person{Email: e}
				out = append(out, workplace.Booking{ID: workplace.BookingID(i + 1), RoomID: room, Start: from.In(time.UTC), Host: p, Requestor: p, Creator: p})
			}
			return out, nil
		}
	}
	for _, tc := range []struct {
		name     string
		bookings []string // the hosts of the room's bookings
		shown    []string // the people ExpectUsers is told of
		want     string   // the users call of one lookup of ada
	}{
		{"bookings naming three people", []string{"ada@example.com", "bob@example.com", "cy@example.com"}, nil, "Users "},
		{"bookings naming one person thrice", []string{"ada@example.com", "ADA@example.com", "ada@example.com"}, nil, "Users ada@example.com"},
		{"bookings naming two, a visitor's host a third", []string{"ada@example.com", "bob@example.com"}, []string{"cy@example.com"}, "Users "},
		{"visitors' hosts, two people", nil, []string{"ada@example.com", "Bob@example.com", "bob@example.com"}, "Users ada@example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			svc := &fakeService{bookings: hosted(tc.bookings...)}
			ctx := With(context.Background(), New(svc, Options{}))
			if tc.bookings != nil {
				_, err := RoomBookings(ctx, 7, day, day)
				require.NoError(t, err)
			}
			ExpectUsers(ctx, tc.shown...)
			u, err := UserByEmail(ctx, "ada@example.com")
			require.NoError(t, err)
			assert.Equal(t, workplace.UserID(1), u.ID)
			assert.Equal(t, tc.want, svc.Calls()[len(svc.Calls())-1])
		})
	}
}

// hierarchyService has two countries, three regions and three locations.
type hierarchyService struct{ fakeService }

func (f *hierarchyService) Countries(context.Context) ([]workplace.Country, error) {
	f.record("Countries")
	return []workplace.Country{{ID: 1}, {ID: 2}}, nil
}

func (f *hierarchyService) Regions(_ context.Context, country workplace.CountryID) ([]workplace.Region, error) {
	f.record(fmt.Sprintf("Regions %d", country))
	if country == 1 {
		return []workplace.Region{{ID: 10, CountryID: 1}, {ID: 11, CountryID: 1}}, nil
	}
	return []workplace.Region{{ID: 20, CountryID: 2}}, nil
}

func (f *hierarchyService) Locations(_ context.Context, region workplace.RegionID) ([]workplace.Location, error) {
	f.record(fmt.Sprintf("Locations %d", region))
	if region == 11 {
		return []workplace.Location{}, nil
	}
	return []workplace.Location{{ID: workplace.LocationID(region)*10 + 1, RegionID: region}}, nil
}

// TestLoaderWalksTheHierarchy: the upstream lists regions by country and
// locations by region only, so every location costs the countries, one call
// per country and one per region, each level in one batch; what the walk
// read answers the operation's later lookups without another call, and
// another operation walks again.
func TestLoaderWalksTheHierarchy(t *testing.T) {
	svc := &hierarchyService{}
	ctx := With(context.Background(), New(svc, Options{}))
	all, err := Locations(ctx, 0)
	require.NoError(t, err)
	assert.Equal(t, []workplace.Location{{ID: 101, RegionID: 10}, {ID: 201, RegionID: 20}}, all)
	walk := svc.Calls()
	require.Len(t, walk, 6)
	assert.Equal(t, "Countries", walk[0])
	assert.ElementsMatch(t, []string{"Regions 1", "Regions 2"}, walk[1:3])
	assert.ElementsMatch(t, []string{"Locations 10", "Locations 11", "Locations 20"}, walk[3:])

	l, err := Location(ctx, 201)
	require.NoError(t, err)
	assert.Equal(t, workplace.RegionID(20), l.RegionID)
	inRegion, err := Locations(ctx, 10)
	require.NoError(t, err)
	assert.Len(t, inRegion, 1)
	r, err := Region(ctx, 11)
	require.NoError(t, err)
	assert.Equal(t, workplace.CountryID(1), r.CountryID)
	assert.Len(t, svc.Calls(), 6, "the operation's later lookups cost nothing")
	_, err = Location(ctx, 999)
	assert.Equal(t, workplace.ENOTFOUND, workplace.ErrorCode(err))

	other := With(context.Background(), New(svc, Options{}))
	_, err = Locations(other, 20)
	require.NoError(t, err)
	assert.Equal(t, "Locations 20", svc.Calls()[6], "a region alone costs its one call")
	assert.Len(t, svc.Calls(), 7)
}
