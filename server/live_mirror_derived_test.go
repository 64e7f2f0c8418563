package server

// End-to-end tests of the derived answers (free slots, available rooms,
// available desks worked out from the mirror): a mirrored gateway run by
// run() in front of its own engagesim, a second replica of its fleet (a
// cache over the same Redis that never runs the worker) to ask every shape
// of query the GraphQL API does not expose whole, and a plain client of the
// simulator asking Engage the same, whose answer the derived one must
// equal.

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engagegql/gateway/cache"
	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/fleet"
	"github.com/engagegql/gateway/webhook"
	"github.com/engagegql/gateway/workplace"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// derivedEnv is a mirrored gateway and its simulator, with the replica and
// the plain client the tests compare.
type derivedEnv struct {
	*live
	now func() time.Time
	// replica answers from the mirror the gateway keeps; replicaCalls
	// hears every upstream call it makes, by route.
	replica      *cache.Service
	replicaCalls *callLog
	// engage asks the simulator itself.
	engage *engage.Client
	locs   map[string]workplace.Location
	// gids are the locations' ids in the GraphQL API, by name.
	gids map[string]string
}

// Engage numbers of what derivedFixture adds to the demo tenant.
const (
	derivedLondonRoom = 990001
	derivedSydneyRoom = 990002
)

// derivedFixture is the demo tenant of now with a room at London HQ and one
// at Sydney whose bookings hold them for set-up and clean-down, across
// midnight, and past an early end.
func derivedFixture(now time.Time) *engagesim.Fixture {
	f := engagesim.DemoFixture(1, now.UTC())
	london, _ := time.LoadLocation("Europe/London")
	sydney, _ := time.LoadLocation("Australia/Sydney")
	groupOf := func(loc int) int {
		for _, g := range f.Groups {
			if g.LocationID == loc {
				return g.ID
			}
		}
		return 0
	}
	f.Resources = append(f.Resources,
		engagesim.Resource{ID: derivedLondonRoom, LocationID: 41, WorkspaceTypeID: 1, Name: "Studio 4.99", FloorNumber: 4, Capacity: 6, GroupID: groupOf(41), Attributes: []int{1, 2}},
		engagesim.Resource{ID: derivedSydneyRoom, LocationID: 45, WorkspaceTypeID: 1, Name: "Sydney 3.99", FloorNumber: 3, Capacity: 10, GroupID: groupOf(45), Attributes: []int{2, 6}})
	at := func(zone *time.Location, day, hh, mm int) time.Time {
		d := workplace.DateOf(now.In(zone)).AddDays(day)
		return time.Date(d.Year, d.Month, d.Day, hh, mm, 0, 0, zone).UTC()
	}
	id := 990100
	add := func(room int, start, end time.Time, prep, clean int, edit func(*engagesim.Booking)) {
		id++
		b := engagesim.Booking{ID: id, RoomID: room, UserID: 1001, Title: "Catered", Start: start, End: end, SetupStyle: 1,
			PrepMinutes: prep, CleanDownMinutes: clean, CreatedOn: now.UTC(), ModifiedOn: now.UTC()}
		if edit != nil {
			edit(&b)
		}
		f.Bookings = append(f.Bookings, b)
	}
	for day := 0; day < 3; day++ {
		add(derivedLondonRoom, at(london, day, 10, 0), at(london, day, 11, 0), 30, 15, nil)
		add(derivedLondonRoom, at(london, day, 14, 0), at(london, day, 14, 30), 0, 60, nil)
		// Across midnight, its set-up the evening before.
		add(derivedLondonRoom, at(london, day, 23, 30), at(london, day+1, 0, 45), 20, 10, nil)
		// Ended twenty minutes in; its clean-down follows the early end.
		add(derivedLondonRoom, at(london, day, 16, 0), at(london, day, 17, 0), 0, 10, func(b *engagesim.Booking) {
			b.Progress, b.ActualStart, b.ActualEnd = 2, b.Start, b.Start.Add(20*time.Minute)
		})
		// Its set-up begins before the local midnight of its day.
		add(derivedSydneyRoom, at(sydney, day, 0, 10), at(sydney, day, 0, 40), 30, 0, nil)
		add(derivedSydneyRoom, at(sydney, day, 9, 0), at(sydney, day, 9, 30), 45, 45, nil)
	}
	return f
}

// startDerived runs a simulator on fixture (on the clock now) and a mirrored
// gateway in front of it, mirrors the desks of the locations named, and
// returns once the mirror holds every room and those desks.
func startDerived(t *testing.T, now func() time.Time, fixture *engagesim.Fixture, deskSites ...string) *derivedEnv {
	t.Helper()
	rs := startRedisServer(t)
	sim, err := engagesim.New(engagesim.Config{Now: now, Fixture: fixture, RatePerMinute: apiCallsPerMinute,
		RetryDelays: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	g := startGatewayIn(t, withClock(context.Background(), now), mirroredOn(simSrv.URL, rs.url(), freePort(t)))
	require.Eventually(t, func() bool { return sim.Stats().Listeners == len(webhook.Services()) }, 20*time.Second, 20*time.Millisecond,
		"the gateway did not register its listeners")
	e := &derivedEnv{live: &live{stack: &stack{sim: sim, simURL: simSrv.URL, gwURL: g.url}, gw: g}, now: now, locs: map[string]workplace.Location{}}

	rooms := 0
	for _, r := range fixture.Resources {
		if r.WorkspaceTypeID == 1 {
			rooms++
		}
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, float64(rooms), metricValue(c, g.url, "engagegw_mirror_rooms"))
		require.Equal(c, 1.0, metricValue(c, g.url, "engagegw_mirror_coverage_ratio"))
	}, 60*time.Second, 50*time.Millisecond, "the mirror did not hold every room")

	// A desk is mirrored from the first read that misses its days. A read
	// the gateway's store timed out on (the race detector on a small
	// machine) marks nothing, so the desks are read a day further on until
	// every one is mirrored: a day not yet held misses again.
	resp := queryAt(t, g.url, `{ locations { id name desks { id } } }`, nil)
	require.Empty(t, resp.Errors)
	var sites struct {
		Locations []struct {
			ID, Name string
			Desks    []struct{ ID string }
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &sites))
	e.gids = map[string]string{}
	var desks []string
	for _, l := range sites.Locations {
		e.gids[l.Name] = l.ID
		if slices.Contains(deskSites, l.Name) {
			for _, d := range l.Desks {
				desks = append(desks, d.ID)
			}
		}
	}
	read := func(c *assert.CollectT, day workplace.Date) {
		for start := 0; start < len(desks); start += 25 {
			var q []string
			for i, d := range desks[start:min(start+25, len(desks))] {
				q = append(q, fmt.Sprintf(`d%d: desk(id: %q) { bookings(from: %q, to: %q) { engageId } }`, i, d, day, day))
			}
			resp := queryAt(c, g.url, "{ "+strings.Join(q, " ")+" }", nil)
			require.Empty(c, resp.Errors)
		}
	}
	first := workplace.DateOf(now().UTC())
	next := 0
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		if metricValue(c, g.url, "engagegw_mirror_desks") < float64(len(desks)) {
			read(c, first.AddDays(next%14))
			next++
		}
		require.Equal(c, float64(len(desks)), metricValue(c, g.url, "engagegw_mirror_desks"))
		require.Equal(c, 1.0, metricValue(c, g.url, "engagegw_mirror_coverage_ratio"))
	}, 60*time.Second, 500*time.Millisecond, "the mirror did not hold the desks read")

	log := slog.New(slog.NewTextHandler(io.Discard, nil))
	opts, err := redis.ParseURL(rs.url())
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	t.Cleanup(func() { _ = rdb.Close() })
	// The replica's store calls may take longer than production's bound
	// here (the race detector, two processors, the gateway in the same
	// process): one that timed out would pass its query through.
	e.replicaCalls = &callLog{}
	inner := e.newClient(t, log, e.replicaCalls)
	e.replica = cache.New(inner, cache.NewRedisStore(rdb, cache.StoreOptions{}), cache.Options{Logger: log, Now: now, OpTimeout: 5 * time.Second})
	inner.ZonesFrom(e.replica)
	cache.NewMirror(e.replica, cache.MirrorOptions{Lease: fleet.NewMemoryLeases(1, now)[0], Logger: log})
	e.engage = e.newClient(t, log, nil)
	locs, err := workplace.AllLocations(context.Background(), e.engage)
	require.NoError(t, err)
	for _, l := range locs {
		e.locs[l.Name] = l
	}
	return e
}

// callLog records the routes of a client's API calls (not its logins).
type callLog struct {
	mu     sync.Mutex
	routes []string
}

func (l *callLog) observe(p engage.Product, route string, _ int, _ time.Duration) {
	if p == "" {
		return
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.routes = append(l.routes, route)
}

// since returns the routes called after the first n.
func (l *callLog) since(n int) []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.routes[n:])
}

func (l *callLog) len() int {
	l.mu.Lock()
	defer l.mu.Unlock()
	return len(l.routes)
}

// newClient is a client of the simulator with its demo credentials; calls,
// when set, hears its calls.
func (e *derivedEnv) newClient(t *testing.T, log *slog.Logger, calls *callLog) *engage.Client {
	t.Helper()
	keys := map[engage.Product]string{}
	for p, k := range engagesim.DefaultKeys() {
		keys[engage.Product(p)] = k
	}
	cfg := engage.Config{TokenURL: e.simURL + "/tokenproviderapi/token", APIURL: e.simURL + "/" + engagesim.DefaultTenant + "/api/V1",
		ClientID: engagesim.DefaultClientID, Password: engagesim.DefaultPassword, Keys: keys, Logger: log}
	if calls != nil {
		cfg.Observe = calls.observe
	}
	c, err := engage.New(cfg)
	require.NoError(t, err)
	return c
}

// slotLines shows free slots one workspace a line, every instant with its
// offset and zone.
func slotLines(rs []workplace.ResourceFreeSlots) []string {
	out := []string{}
	for _, r := range rs {
		var b strings.Builder
		fmt.Fprintf(&b, "%d (floor %d, type %d, location %d):", r.ResourceID, r.Floor, r.WorkspaceType, r.LocationID)
		for _, s := range r.Slots {
			fmt.Fprintf(&b, " %s..%s[%s]", s.Start.Format(time.RFC3339), s.End.Format(time.RFC3339), s.Start.Location())
		}
		out = append(out, b.String())
	}
	return out
}

// derived runs ask on the replica and requires it to have called nothing.
// (The simulator's counts would also hold the gateway worker's calls.)
func (e *derivedEnv) derived(t *testing.T, what string, ask func(ctx context.Context) error) {
	t.Helper()
	n := e.replicaCalls.len()
	require.NoError(t, ask(context.Background()), what)
	require.Empty(t, e.replicaCalls.since(n), "%s: a derived answer called Engage", what)
}

// gatewayCallsNothing runs ask on the gateway until it costs no upstream
// call: its worker's calls are in the simulator's counts too, and a store
// call that timed out (the race detector, two processors) makes the
// gateway read through for a second.
func (e *derivedEnv) gatewayCallsNothing(t *testing.T, what string, ask func(c *assert.CollectT)) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resetLiveStats(c, e.simURL)
		ask(c)
		st := liveStats(c, e.simURL)
		require.Zero(c, st.TotalCalls, "%+v", st.Calls)
	}, 20*time.Second, 100*time.Millisecond, "%s called Engage", what)
}

// freeSlots asks q of the mirror and of Engage, requires the same answer
// and no call for the mirror's, and returns it.
func (e *derivedEnv) freeSlots(t *testing.T, q workplace.FreeSlotQuery) []workplace.ResourceFreeSlots {
	t.Helper()
	what := fmt.Sprintf("free slots at %d, %s..%s, floor %v, type %d", q.LocationID, q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), derefFloor(q.Floor), q.WorkspaceType)
	var got []workplace.ResourceFreeSlots
	e.derived(t, what, func(ctx context.Context) (err error) { got, err = e.replica.FreeSlots(ctx, q); return err })
	want, err := e.engage.FreeSlots(context.Background(), q)
	require.NoError(t, err, what)
	require.Equal(t, slotLines(want), slotLines(got), what)
	return got
}

func derefFloor(f *int) any {
	if f == nil {
		return "any"
	}
	return *f
}

// availableRooms is freeSlots for available rooms.
func (e *derivedEnv) availableRooms(t *testing.T, q workplace.AvailableRoomsQuery) []workplace.AvailableRoom {
	t.Helper()
	what := fmt.Sprintf("available rooms at %d, %s..%s, group %d, attributes %v", q.LocationID, q.From.Format(time.RFC3339), q.To.Format(time.RFC3339), q.GroupID, q.Attributes)
	var got []workplace.AvailableRoom
	e.derived(t, what, func(ctx context.Context) (err error) { got, err = e.replica.AvailableRooms(ctx, q); return err })
	want, err := e.engage.AvailableRooms(context.Background(), q)
	require.NoError(t, err, what)
	require.Equal(t, want, got, what)
	return got
}

// availableDesks is freeSlots for available desks.
func (e *derivedEnv) availableDesks(t *testing.T, q workplace.AvailableDesksQuery) []workplace.AvailableDesk {
	t.Helper()
	what := fmt.Sprintf("available desks at %d on %v, group %d, page %d of %d", q.LocationID, q.Days, q.GroupID, q.PageNumber, q.PageSize)
	var got []workplace.AvailableDesk
	e.derived(t, what, func(ctx context.Context) (err error) { got, err = e.replica.AvailableDesks(ctx, q); return err })
	want, err := e.engage.AvailableDesks(context.Background(), q)
	require.NoError(t, err, what)
	require.Equal(t, want, got, what)
	return got
}

// localAt is hh:mm on day days from today at a zone, on e's clock.
func (e *derivedEnv) localAt(zone *time.Location, days, hh, mm int) time.Time {
	d := workplace.DateOf(e.now().In(zone)).AddDays(days)
	return time.Date(d.Year, d.Month, d.Day, hh, mm, 0, 0, zone)
}

// windows are the windows asked at a zone: the coming hour, today, a
// working day, across tonight's and tomorrow's midnight, ten minutes, a
// week, and the widest window Engage allows. (Yesterday is not held
// everywhere: west of UTC, once the UTC date has moved on, the day before
// it is today-3 in UTC dates.)
func (e *derivedEnv) windows(zone *time.Location) [][2]time.Time {
	now := e.now().Truncate(time.Minute)
	wide := e.localAt(zone, 2, 12, 30)
	return [][2]time.Time{
		{now, now.Add(time.Hour)},
		{e.localAt(zone, 0, 0, 0), e.localAt(zone, 1, 0, 0)},
		{e.localAt(zone, 1, 8, 0), e.localAt(zone, 1, 18, 0)},
		{e.localAt(zone, 0, 22, 0), e.localAt(zone, 1, 2, 0)},
		{e.localAt(zone, 1, 23, 0), e.localAt(zone, 2, 1, 0)},
		{e.localAt(zone, 1, 9, 50), e.localAt(zone, 1, 10, 0)},
		{e.localAt(zone, 1, 0, 0), e.localAt(zone, 8, 0, 0)},
		{wide, wide.Add(workplace.MaxWindowDays * 24 * time.Hour)},
	}
}

// mostCommon returns the attributes rooms carry most, most common first.
func mostCommon(rooms []workplace.Room) []int {
	n := map[int]int{}
	for _, r := range rooms {
		for _, a := range r.Attributes {
			n[a]++
		}
	}
	var out []int
	for a := range n {
		out = append(out, a)
	}
	slices.SortFunc(out, func(a, b int) int {
		if n[a] != n[b] {
			return n[b] - n[a]
		}
		return a - b
	})
	return out
}

func TestMirrorDerivedAnswersEqualEngagesAndCallNothing(t *testing.T) {
	start := time.Now()
	e := startDerived(t, time.Now, derivedFixture(start), "London HQ", "काठमाडौं Durbar Marg")
	ctx := context.Background()
	var narrowed, split int
	for _, loc := range e.locs {
		rooms, err := e.replica.Rooms(ctx, loc.ID)
		require.NoError(t, err)
		floor, group, attrs := rooms[0].Floor, rooms[0].GroupID, mostCommon(rooms)
		for _, w := range e.windows(loc.TimeZone) {
			for _, q := range []workplace.FreeSlotQuery{
				{LocationID: loc.ID, From: w[0], To: w[1]},
				{LocationID: loc.ID, From: w[0], To: w[1], WorkspaceType: workplace.WorkspaceRoom},
				{LocationID: loc.ID, From: w[0], To: w[1], WorkspaceType: workplace.WorkspaceRoom, Floor: &floor},
			} {
				got := e.freeSlots(t, q)
				if len(got) < len(rooms) || slices.ContainsFunc(got, func(r workplace.ResourceFreeSlots) bool { return len(r.Slots) > 1 }) {
					split++
				}
			}
			for _, q := range []workplace.AvailableRoomsQuery{
				{LocationID: loc.ID, From: w[0], To: w[1]},
				{LocationID: loc.ID, From: w[0], To: w[1], GroupID: group},
				{LocationID: loc.ID, From: w[0], To: w[1], Attributes: attrs[:1]},
				{LocationID: loc.ID, From: w[0], To: w[1], Attributes: attrs[:min(2, len(attrs))], GroupID: group},
			} {
				if len(e.availableRooms(t, q)) < len(rooms) {
					narrowed++
				}
			}
		}
	}
	assert.Positive(t, split, "some answers had busy rooms")
	assert.Positive(t, narrowed, "some rooms were not available")

	// The rooms that hold set-up and clean-down times.
	london, sydney := e.locs["London HQ"], e.locs["Sydney"]
	lz, sz := london.TimeZone, sydney.TimeZone
	floor4, floor3 := 4, 3
	studio := func(from, to time.Time) []string {
		for _, r := range e.freeSlots(t, workplace.FreeSlotQuery{LocationID: london.ID, From: from, To: to, Floor: &floor4}) {
			if r.ResourceID == derivedLondonRoom {
				return slotLines([]workplace.ResourceFreeSlots{r})
			}
		}
		return nil
	}
	assert.Equal(t, slotLines([]workplace.ResourceFreeSlots{{LocationID: london.ID, Floor: 4, ResourceID: derivedLondonRoom, WorkspaceType: workplace.WorkspaceRoom,
		Slots: []workplace.TimeSlot{{Start: e.localAt(lz, 1, 9, 0), End: e.localAt(lz, 1, 9, 30)}, {Start: e.localAt(lz, 1, 11, 15), End: e.localAt(lz, 1, 12, 0)}}}}),
		studio(e.localAt(lz, 1, 9, 0), e.localAt(lz, 1, 12, 0)), "30 minutes of set-up, 15 of clean-down")
	assert.Equal(t, slotLines([]workplace.ResourceFreeSlots{{LocationID: london.ID, Floor: 4, ResourceID: derivedLondonRoom, WorkspaceType: workplace.WorkspaceRoom,
		Slots: []workplace.TimeSlot{{Start: e.localAt(lz, 1, 15, 30), End: e.localAt(lz, 1, 16, 0)}, {Start: e.localAt(lz, 1, 16, 30), End: e.localAt(lz, 1, 23, 10)},
			{Start: e.localAt(lz, 2, 0, 55), End: e.localAt(lz, 2, 1, 0)}}}}),
		studio(e.localAt(lz, 1, 15, 30), e.localAt(lz, 2, 1, 0)), "an early end and its clean-down; set-up before midnight")
	inStudio := func(from, to time.Time) bool {
		return slices.ContainsFunc(e.availableRooms(t, workplace.AvailableRoomsQuery{LocationID: london.ID, From: from, To: to, Attributes: []int{1, 2}}),
			func(r workplace.AvailableRoom) bool { return r.RoomID == derivedLondonRoom })
	}
	assert.True(t, inStudio(e.localAt(lz, 1, 9, 0), e.localAt(lz, 1, 9, 30)))
	assert.False(t, inStudio(e.localAt(lz, 1, 9, 0), e.localAt(lz, 1, 9, 31)), "set-up")
	assert.False(t, inStudio(e.localAt(lz, 1, 11, 0), e.localAt(lz, 1, 11, 15)), "clean-down")
	assert.False(t, inStudio(e.localAt(lz, 1, 15, 0), e.localAt(lz, 1, 15, 30)), "an hour of clean-down")
	assert.True(t, inStudio(e.localAt(lz, 1, 16, 30), e.localAt(lz, 1, 23, 10)))
	assert.False(t, inStudio(e.localAt(lz, 2, 0, 50), e.localAt(lz, 2, 0, 55)), "across midnight")
	got := e.freeSlots(t, workplace.FreeSlotQuery{LocationID: sydney.ID, From: e.localAt(sz, 1, 23, 0), To: e.localAt(sz, 2, 10, 0), Floor: &floor3})
	i := slices.IndexFunc(got, func(r workplace.ResourceFreeSlots) bool { return r.ResourceID == derivedSydneyRoom })
	require.GreaterOrEqual(t, i, 0)
	assert.Equal(t, slotLines([]workplace.ResourceFreeSlots{{LocationID: sydney.ID, Floor: 3, ResourceID: derivedSydneyRoom, WorkspaceType: workplace.WorkspaceRoom,
		Slots: []workplace.TimeSlot{{Start: e.localAt(sz, 1, 23, 0), End: e.localAt(sz, 1, 23, 40)}, {Start: e.localAt(sz, 2, 0, 40), End: e.localAt(sz, 2, 8, 15)}}}}),
		slotLines(got[i:i+1]), "a set-up from the evening before; 45 minutes each side")

	// Desks of the mirrored sites: their free slots and availability, by
	// days, group and page.
	for _, name := range []string{"London HQ", "काठमाडौं Durbar Marg"} {
		loc := e.locs[name]
		desks, err := e.replica.Desks(ctx, loc.ID)
		require.NoError(t, err)
		floor, group := desks[0].Floor, desks[0].GroupID
		for _, w := range e.windows(loc.TimeZone) {
			e.freeSlots(t, workplace.FreeSlotQuery{LocationID: loc.ID, From: w[0], To: w[1], WorkspaceType: workplace.WorkspaceDesk})
			e.freeSlots(t, workplace.FreeSlotQuery{LocationID: loc.ID, From: w[0], To: w[1], WorkspaceType: workplace.WorkspaceDesk, Floor: &floor})
		}
		today := workplace.DateOf(e.now().In(loc.TimeZone))
		var taken int
		for _, q := range []workplace.AvailableDesksQuery{
			{Days: []workplace.DeskDay{{Date: today.AddDays(1), Type: workplace.DeskAllDay}}},
			{Days: []workplace.DeskDay{{Date: today, Type: workplace.DeskMorning}, {Date: today.AddDays(1), Type: workplace.DeskAfternoon}}},
			{Days: []workplace.DeskDay{{Date: today.AddDays(3), Type: workplace.DeskAfternoon}}, GroupID: group},
			{Days: []workplace.DeskDay{{Date: today.AddDays(13), Type: workplace.DeskAllDay}}},
			{Days: []workplace.DeskDay{{Date: today.AddDays(1), Type: workplace.DeskAllDay}}, PageNumber: 1, PageSize: 5},
			{Days: []workplace.DeskDay{{Date: today.AddDays(1), Type: workplace.DeskAllDay}}, PageNumber: 3, PageSize: 4},
		} {
			q.LocationID, q.UserID = loc.ID, 1001
			if got := e.availableDesks(t, q); q.PageSize == 0 && len(got) < len(desks) {
				taken++
			}
		}
		if name == "London HQ" {
			assert.Positive(t, taken, "some desks were booked")
		}
	}

	// The GraphQL API's faces of the same answers: every room's free slots
	// tomorrow, the rooms free at 10:00, London's desks free tomorrow.
	from, to := e.localAt(lz, 1, 8, 0), e.localAt(lz, 1, 18, 0)
	var resp gqlResponse
	e.gatewayCallsNothing(t, "the GraphQL API's free slots", func(c *assert.CollectT) {
		resp = queryAt(c, e.gwURL, `query($from: DateTime!, $to: DateTime!) { locations { name rooms { engageId freeSlots(from: $from, to: $to) { start end } } } }`,
			map[string]any{"from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)})
		require.Empty(c, resp.Errors)
	})
	var all struct {
		Locations []struct {
			Name  string
			Rooms []struct {
				EngageID  string
				FreeSlots []struct{ Start, End time.Time }
			}
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &all))
	for _, l := range all.Locations {
		loc := e.locs[l.Name]
		want, err := e.engage.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: loc.ID, From: from, To: to, WorkspaceType: workplace.WorkspaceRoom})
		require.NoError(t, err)
		for _, r := range l.Rooms {
			wantSlots := []string{}
			for _, w := range want {
				if fmt.Sprint(w.ResourceID) == r.EngageID {
					for _, s := range w.Slots {
						wantSlots = append(wantSlots, s.Start.Format(time.RFC3339)+".."+s.End.Format(time.RFC3339))
					}
				}
			}
			gotSlots := []string{}
			for _, s := range r.FreeSlots {
				gotSlots = append(gotSlots, s.Start.Format(time.RFC3339)+".."+s.End.Format(time.RFC3339))
			}
			assert.Equal(t, wantSlots, gotSlots, "room %s at %s", r.EngageID, l.Name)
		}
	}
	for name, loc := range e.locs {
		at := e.localAt(loc.TimeZone, 1, 10, 0)
		e.gatewayCallsNothing(t, "the GraphQL API's free rooms", func(c *assert.CollectT) {
			resp = queryAt(c, e.gwURL, `query($loc: ID!, $from: DateTime!, $to: DateTime!) { rooms(locationId: $loc, freeFrom: $from, freeTo: $to) { engageId } }`,
				map[string]any{"loc": e.gids[name], "from": at.Format(time.RFC3339), "to": at.Add(time.Hour).Format(time.RFC3339)})
			require.Empty(c, resp.Errors)
		})
		var out struct{ Rooms []struct{ EngageID string } }
		require.NoError(t, json.Unmarshal(resp.Data, &out))
		want, err := e.engage.AvailableRooms(ctx, workplace.AvailableRoomsQuery{LocationID: loc.ID, From: at, To: at.Add(time.Hour)})
		require.NoError(t, err)
		var gotIDs, wantIDs []string
		for _, r := range out.Rooms {
			gotIDs = append(gotIDs, r.EngageID)
		}
		for _, r := range want {
			wantIDs = append(wantIDs, fmt.Sprint(r.RoomID))
		}
		assert.ElementsMatch(t, wantIDs, gotIDs, "free rooms at %s", name)
	}
	day := workplace.DateOf(e.now().In(lz)).AddDays(1)
	e.gatewayCallsNothing(t, "the GraphQL API's free desks", func(c *assert.CollectT) {
		resp = queryAt(c, e.gwURL, `query($loc: ID!, $day: Date!) { desks(locationId: $loc, freeOn: $day) { engageId } }`, map[string]any{"loc": e.gids["London HQ"], "day": day.String()})
		require.Empty(c, resp.Errors)
	})
	var freeDesks struct{ Desks []struct{ EngageID string } }
	require.NoError(t, json.Unmarshal(resp.Data, &freeDesks))
	wantDesks, err := e.engage.AvailableDesks(ctx, workplace.AvailableDesksQuery{LocationID: london.ID, Days: []workplace.DeskDay{{Date: day, Type: workplace.DeskAllDay}}})
	require.NoError(t, err)
	var gotIDs, wantIDs []string
	for _, d := range freeDesks.Desks {
		gotIDs = append(gotIDs, d.EngageID)
	}
	for _, d := range wantDesks {
		wantIDs = append(wantIDs, fmt.Sprint(d.DeskID))
	}
	assert.ElementsMatch(t, wantIDs, gotIDs)
	assert.NotEmpty(t, gotIDs)
}

// spans shows time slots as instants with their offsets.
func spans(slots ...workplace.TimeSlot) []string {
	out := []string{}
	for _, s := range slots {
		out = append(out, s.Start.Format(time.RFC3339)+".."+s.End.Format(time.RFC3339))
	}
	return out
}

// clockChanges lists the next n instants after t at which zone's offset
// changes, to the hour.
func clockChanges(zone *time.Location, t time.Time, n int) []time.Time {
	var out []time.Time
	_, off := t.In(zone).Zone()
	for at := t.Truncate(time.Hour); len(out) < n && at.Before(t.AddDate(2, 0, 0)); at = at.Add(time.Hour) {
		if _, o := at.In(zone).Zone(); o != off {
			out, off = append(out, at), o
		}
	}
	return out
}

// derivedDSTRoom is a room the clock-change test adds at London HQ.
const derivedDSTRoom = 990003

func TestMirrorDerivedAnswersAcrossClockChanges(t *testing.T) {
	lz, err := time.LoadLocation("Europe/London")
	require.NoError(t, err)
	changes := clockChanges(lz, time.Now(), 2)
	require.Len(t, changes, 2)
	for _, change := range changes {
		t.Run(change.In(lz).Format(time.DateOnly), func(t *testing.T) {
			// The gateway and the simulator share a clock a day and a half
			// before the change: its day is held, and the fixture's
			// bookings are around it.
			var shift atomic.Int64
			shift.Store(int64(time.Until(change.Add(-36 * time.Hour))))
			now := func() time.Time { return time.Now().Add(time.Duration(shift.Load())) }
			f := derivedFixture(now())
			day := workplace.DateOf(change.In(lz))
			f.Resources = append(f.Resources, engagesim.Resource{ID: derivedDSTRoom, LocationID: 41, WorkspaceTypeID: 1, Name: "Studio 5.99", FloorNumber: 5, Capacity: 4, Attributes: []int{3}})
			at := func(hh, mm int) time.Time { return time.Date(day.Year, day.Month, day.Day, hh, mm, 0, 0, lz) }
			f.Bookings = append(f.Bookings,
				engagesim.Booking{ID: 990201, RoomID: derivedDSTRoom, UserID: 1001, Title: "Across the change", Start: change.Add(-30 * time.Minute), End: change.Add(30 * time.Minute), PrepMinutes: 30, CleanDownMinutes: 30},
				engagesim.Booking{ID: 990202, RoomID: derivedDSTRoom, UserID: 1001, Title: "Sunday brunch", Start: at(9, 0), End: at(10, 0), PrepMinutes: 60})
			var londonDesks []int
			for _, r := range f.Resources {
				if r.LocationID == 41 && r.WorkspaceTypeID == 2 {
					londonDesks = append(londonDesks, r.ID)
				}
			}
			for i, kind := range []int{int(workplace.DeskMorning), int(workplace.DeskAfternoon), int(workplace.DeskAllDay)} {
				f.DeskBookings = append(f.DeskBookings, engagesim.DeskBooking{ID: 990500 + i, DeskID: londonDesks[i], UserID: 1001, Date: day.String(), BookingType: kind})
			}
			e := startDerived(t, now, f, "London HQ")
			london := e.locs["London HQ"]
			floor5 := 5
			for _, w := range [][2]time.Time{
				{day.In(lz), day.AddDays(1).In(lz)},
				{day.In(lz), at(4, 0)},
				{change.Add(-90 * time.Minute), change.Add(90 * time.Minute)},
				{day.AddDays(-1).In(lz).Add(12 * time.Hour), day.AddDays(1).In(lz).Add(12 * time.Hour)},
				{day.AddDays(-3).In(lz), day.AddDays(4).In(lz)},
			} {
				e.freeSlots(t, workplace.FreeSlotQuery{LocationID: london.ID, From: w[0], To: w[1]})
				e.freeSlots(t, workplace.FreeSlotQuery{LocationID: london.ID, From: w[0], To: w[1], Floor: &floor5})
				e.freeSlots(t, workplace.FreeSlotQuery{LocationID: london.ID, From: w[0], To: w[1], WorkspaceType: workplace.WorkspaceDesk})
				e.availableRooms(t, workplace.AvailableRoomsQuery{LocationID: london.ID, From: w[0], To: w[1]})
				e.availableRooms(t, workplace.AvailableRoomsQuery{LocationID: london.ID, From: w[0], To: w[1], Attributes: []int{3}})
			}
			for _, d := range []workplace.Date{day.AddDays(-1), day, day.AddDays(1)} {
				e.availableDesks(t, workplace.AvailableDesksQuery{LocationID: london.ID, Days: []workplace.DeskDay{{Date: d, Type: workplace.DeskAfternoon}}})
			}

			// The day has 23 or 25 hours: the desks' halves and whole day
			// end at its real midnight, and the room across the change is
			// held an hour either side of it.
			slots := e.freeSlots(t, workplace.FreeSlotQuery{LocationID: london.ID, From: day.In(lz), To: day.AddDays(1).In(lz), WorkspaceType: workplace.WorkspaceDesk})
			byDesk := map[int64][]workplace.TimeSlot{}
			for _, r := range slots {
				byDesk[r.ResourceID] = r.Slots
			}
			_, before := change.Add(-time.Hour).In(lz).Zone()
			_, after := change.Add(time.Hour).In(lz).Zone()
			length := 24*time.Hour - time.Duration(after-before)*time.Second
			require.Len(t, byDesk[int64(londonDesks[3])], 1)
			assert.Equal(t, length, byDesk[int64(londonDesks[3])][0].End.Sub(byDesk[int64(londonDesks[3])][0].Start), "a free desk's whole day")
			assert.Equal(t, spans(workplace.TimeSlot{Start: at(12, 0), End: day.AddDays(1).In(lz)}), spans(byDesk[int64(londonDesks[0])]...), "booked for the morning")
			assert.Equal(t, spans(workplace.TimeSlot{Start: day.In(lz), End: at(12, 0)}), spans(byDesk[int64(londonDesks[1])]...), "booked for the afternoon")
			assert.NotContains(t, byDesk, int64(londonDesks[2]), "booked all day")
			got := e.freeSlots(t, workplace.FreeSlotQuery{LocationID: london.ID, From: day.In(lz), To: at(12, 0), Floor: &floor5})
			i := slices.IndexFunc(got, func(r workplace.ResourceFreeSlots) bool { return r.ResourceID == derivedDSTRoom })
			require.GreaterOrEqual(t, i, 0)
			want := []workplace.TimeSlot{{Start: change.Add(time.Hour).In(lz), End: at(8, 0)}, {Start: at(10, 0), End: at(12, 0)}}
			if day.In(lz).Before(change.Add(-time.Hour)) {
				want = append([]workplace.TimeSlot{{Start: day.In(lz), End: change.Add(-time.Hour).In(lz)}}, want...)
			}
			assert.Equal(t, spans(want...), spans(got[i].Slots...), "held an hour either side of the change, and an hour before brunch")
		})
	}
}

// londonFree asks the gateway which rooms of London HQ are free for the
// whole of [from, to): the GraphQL face of available rooms.
func (e *derivedEnv) londonFree(t tb, from, to time.Time) []string {
	t.Helper()
	resp := queryAt(t, e.gwURL, `query($loc: ID!, $from: DateTime!, $to: DateTime!) { rooms(locationId: $loc, freeFrom: $from, freeTo: $to) { engageId } }`,
		map[string]any{"loc": e.gids["London HQ"], "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)})
	require.Empty(t, resp.Errors)
	var out struct{ Rooms []struct{ EngageID string } }
	require.NoError(t, json.Unmarshal(resp.Data, &out))
	ids := []string{}
	for _, r := range out.Rooms {
		ids = append(ids, r.EngageID)
	}
	return ids
}

func TestMirrorDerivedAnswersFollowChangesFromTheirAcknowledgement(t *testing.T) {
	e := startDerived(t, time.Now, derivedFixture(time.Now()), "London HQ")
	london := e.locs["London HQ"]
	lz := london.TimeZone
	floor4 := 4
	from, to := e.localAt(lz, 1, 12, 0), e.localAt(lz, 1, 13, 0)
	studioFree := func() bool {
		return slices.ContainsFunc(e.availableRooms(t, workplace.AvailableRoomsQuery{LocationID: london.ID, From: from, To: to}),
			func(r workplace.AvailableRoom) bool { return r.RoomID == derivedLondonRoom })
	}
	// The studio's free slots from 11:30 to 13:30 (its neighbours hold it
	// to 11:15 and from 14:00).
	studioSlots := func() []string {
		got := e.freeSlots(t, workplace.FreeSlotQuery{LocationID: london.ID, From: e.localAt(lz, 1, 11, 30), To: e.localAt(lz, 1, 13, 30), Floor: &floor4})
		got = slices.DeleteFunc(got, func(r workplace.ResourceFreeSlots) bool { return r.ResourceID != derivedLondonRoom })
		return slotLines(got)
	}
	studioFreeAt := func(spans ...[4]int) []string {
		r := workplace.ResourceFreeSlots{LocationID: london.ID, Floor: 4, ResourceID: derivedLondonRoom, WorkspaceType: workplace.WorkspaceRoom}
		for _, s := range spans {
			r.Slots = append(r.Slots, workplace.TimeSlot{Start: e.localAt(lz, 1, s[0], s[1]), End: e.localAt(lz, 1, s[2], s[3])})
		}
		return slotLines([]workplace.ResourceFreeSlots{r})
	}
	studio := fmt.Sprint(derivedLondonRoom)
	require.True(t, studioFree())
	e.gatewayCallsNothing(t, "the GraphQL API's free rooms", func(c *assert.CollectT) { require.Contains(c, e.londonFree(c, from, to), studio) })
	require.Equal(t, studioFreeAt([4]int{11, 30, 13, 30}), studioSlots())

	// Booked in the web app 12:15-12:30 with a quarter of an hour of set-up
	// and of clean-down: from the acknowledgement on, the answers have it.
	var made struct{ BookingID int64 }
	e.admin(t, http.MethodPost, "/_sim/bookings", map[string]any{"userId": 1001, "roomId": derivedLondonRoom, "meetingTitle": "Set up and cleared",
		"startDateTime": e.localAt(lz, 1, 12, 15).Format("2006-01-02 15:04"), "endDateTime": e.localAt(lz, 1, 12, 30).Format("2006-01-02 15:04"),
		"prepMinutes": 15, "cleanDownMinutes": 15}, &made)
	e.acks++
	e.awaitAcked(t)
	assert.False(t, studioFree())
	e.gatewayCallsNothing(t, "the GraphQL API's free rooms", func(c *assert.CollectT) { require.NotContains(c, e.londonFree(c, from, to), studio) })
	assert.Equal(t, studioFreeAt([4]int{11, 30, 12, 0}, [4]int{12, 45, 13, 30}), studioSlots())

	// Moved to 13:30 (announced with the same body as its creation, which
	// the replay window holds back a moment): the noon hour is free again.
	e.change(t, http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", made.BookingID), map[string]any{
		"startDateTime": e.localAt(lz, 1, 13, 30).Format("2006-01-02 15:04"), "endDateTime": e.localAt(lz, 1, 13, 45).Format("2006-01-02 15:04")})
	e.awaitAcked(t)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Contains(c, e.londonFree(c, from, to), studio)
	}, 10*time.Second, 20*time.Millisecond)
	assert.True(t, studioFree())
	assert.Equal(t, studioFreeAt([4]int{11, 30, 13, 15}), studioSlots(), "its set-up from 13:15")

	// Cancelled: nothing is read, and it is gone from the answers.
	e.change(t, http.MethodDelete, fmt.Sprintf("/_sim/bookings/%d", made.BookingID), nil)
	e.awaitAcked(t)
	assert.Equal(t, studioFreeAt([4]int{11, 30, 13, 30}), studioSlots())

	// A desk booked for the morning is not available that afternoon; once
	// released, it is again.
	day := workplace.DateOf(e.now().In(lz)).AddDays(2)
	afternoon := workplace.AvailableDesksQuery{LocationID: london.ID, Days: []workplace.DeskDay{{Date: day, Type: workplace.DeskAfternoon}}}
	free := e.availableDesks(t, afternoon)
	require.NotEmpty(t, free)
	desk := free[0].DeskID
	var booked struct{ BookingIDs []int64 }
	e.admin(t, http.MethodPost, "/_sim/deskBookings", map[string]any{"userId": 1001, "deskId": desk,
		"dateList": []map[string]any{{"date": day.String(), "bookingType": int(workplace.DeskMorning)}}}, &booked)
	e.acks++
	e.awaitAcked(t)
	isFree := func() bool {
		return slices.ContainsFunc(e.availableDesks(t, afternoon), func(d workplace.AvailableDesk) bool { return d.DeskID == desk })
	}
	assert.False(t, isFree())
	e.freeSlots(t, workplace.FreeSlotQuery{LocationID: london.ID, From: day.In(lz), To: day.AddDays(1).In(lz), WorkspaceType: workplace.WorkspaceDesk})
	e.change(t, http.MethodPost, fmt.Sprintf("/_sim/deskBookings/%d/progress", booked.BookingIDs[0]), map[string]any{"action": "release"})
	e.awaitAcked(t)
	assert.True(t, isFree())
	e.freeSlots(t, workplace.FreeSlotQuery{LocationID: london.ID, From: day.In(lz), To: day.AddDays(1).In(lz), WorkspaceType: workplace.WorkspaceDesk})
}

func TestMirrorDerivedAnswersPassThroughWhereTheMirrorDoesNotHold(t *testing.T) {
	e := startDerived(t, time.Now, derivedFixture(time.Now()), "London HQ")
	ctx := context.Background()
	passes := func(route, what string, ask func(ctx context.Context) error) {
		t.Helper()
		n := e.replicaCalls.len()
		require.NoError(t, ask(ctx), what)
		assert.Equal(t, []string{route}, e.replicaCalls.since(n), "%s: Engage answers", what)
	}
	london, edinburgh := e.locs["London HQ"], e.locs["Edinburgh"]
	lz := london.TimeZone

	// Days beyond those held (today-2 … today+27 in UTC dates): a window
	// four weeks out.
	far := e.localAt(lz, 28, 9, 0)
	q := workplace.FreeSlotQuery{LocationID: london.ID, From: far, To: far.Add(time.Hour)}
	var got, want []workplace.ResourceFreeSlots
	passes("/bookings/freeslots", "free slots four weeks out", func(ctx context.Context) (err error) { got, err = e.replica.FreeSlots(ctx, q); return err })
	want, err := e.engage.FreeSlots(ctx, q)
	require.NoError(t, err)
	assert.Equal(t, slotLines(want), slotLines(got))
	var rooms []workplace.AvailableRoom
	passes("/bookings/availableRooms", "available rooms four weeks out", func(ctx context.Context) (err error) {
		rooms, err = e.replica.AvailableRooms(ctx, workplace.AvailableRoomsQuery{LocationID: london.ID, From: far, To: far.Add(time.Hour)})
		return err
	})
	assert.NotEmpty(t, rooms)

	// Desks nobody has read are not mirrored.
	dq := workplace.AvailableDesksQuery{LocationID: edinburgh.ID, Days: []workplace.DeskDay{{Date: workplace.DateOf(e.now().In(lz)).AddDays(1), Type: workplace.DeskAllDay}}}
	var desks []workplace.AvailableDesk
	passes("/deskBookings/availableDesks", "Edinburgh's desks", func(ctx context.Context) (err error) { desks, err = e.replica.AvailableDesks(ctx, dq); return err })
	wantDesks, err := e.engage.AvailableDesks(ctx, dq)
	require.NoError(t, err)
	assert.Equal(t, wantDesks, desks)
	passes("/bookings/freeslots", "Edinburgh's desks' free slots", func(ctx context.Context) error {
		_, err := e.replica.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: edinburgh.ID, From: far.AddDate(0, 0, -27), To: far.AddDate(0, 0, -27).Add(time.Hour), WorkspaceType: workplace.WorkspaceDesk})
		return err
	})

	// A window wider than Engage allows is Engage's to refuse.
	_, err = e.replica.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: london.ID, From: far.AddDate(0, 0, -27), To: far.AddDate(0, 0, -27).Add(15 * 24 * time.Hour)})
	var engageErr *engage.Error
	require.ErrorAs(t, err, &engageErr)

	// Through the GraphQL API: Edinburgh's free desks call Engage, London's
	// do not (on a day not asked above, whose answer the cache would have
	// kept as it keeps any passed through).
	day := workplace.DateOf(e.now().In(lz)).AddDays(2).String()
	deskQuery := `query($loc: ID!, $day: Date!) { desks(locationId: $loc, freeOn: $day) { engageId } }`
	e.gatewayCallsNothing(t, "London's free desks", func(c *assert.CollectT) {
		resp := queryAt(c, e.gwURL, deskQuery, map[string]any{"loc": e.gids["London HQ"], "day": day})
		require.Empty(c, resp.Errors)
	})
	resetLiveStats(t, e.simURL)
	resp := queryAt(t, e.gwURL, deskQuery, map[string]any{"loc": e.gids["Edinburgh"], "day": day})
	require.Empty(t, resp.Errors)
	assert.Equal(t, 1, routeCalls(liveStats(t, e.simURL), "/deskBookings/availableDesks"), "Edinburgh's free desks are Engage's answer")
	// The metrics tell the two apart.
	assert.GreaterOrEqual(t, metricValue(t, e.gwURL, `engagegw_mirror_availability_answers_total{answer="derived",query="availableDesks"}`), 1.0)
	assert.GreaterOrEqual(t, metricValue(t, e.gwURL, `engagegw_mirror_availability_answers_total{answer="upstream",query="availableDesks"}`), 1.0)
}
