package server

// End-to-end tests of the mirror (MIRROR=on): gateways run by run() in
// front of their own engagesim over real HTTP, with a real redis-server,
// the simulator's webhooks landing on the gateway, and the simulator's call
// counts as the measure of what reached Engage.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/webhook"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mirrorEnv is the settings of a mirrored gateway in these tests: a worker
// that looks every 100 ms and may spend the whole (raised) budget, so a
// fill takes a moment.
func mirrorEnv(redisURL string) map[string]string {
	return map[string]string{
		"REDIS_URL":                  redisURL,
		"MIRROR":                     "on",
		"MIRROR_INTERVAL":            "100ms",
		"MIRROR_SHARE":               "1",
		"UPSTREAM_BUDGET_PER_MINUTE": "6000",
		"UPSTREAM_BUDGET_BURST":      "600",
	}
}

// newMirrorLive is newLive with webhooks and env, on a simulator whose
// rate limit these tests, which fill whole tenants in seconds, never meet.
func newMirrorLive(t *testing.T, env map[string]string) *live {
	t.Helper()
	l := newLive(t, env, true)
	l.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"ratePerMinute": 100_000}, nil)
	return l
}

// dashboardQuery is a lobby screen: every location's rooms with the day's
// bookings.
const dashboardQuery = `{ locations { name rooms { name bookings { engageId title start end } } } }`

// reads counts the upstream's GET calls of route answered 200. (A test
// that moves the clock by days outlives the session token, and the read
// that meets the 401 is repeated.)
func reads(st engagesim.Stats, route string) int {
	n := 0
	for _, c := range st.Calls {
		if c.Method == http.MethodGet && c.Route == route && c.Status == http.StatusOK {
			n += c.Count
		}
	}
	return n
}

// bookingReads counts GET /bookings: a room's bookings over a window.
func bookingReads(st engagesim.Stats) int { return reads(st, "/bookings") }

// deskReads counts GET /deskBookings: a desk's bookings over a window.
func deskReads(st engagesim.Stats) int { return reads(st, "/deskBookings") }

// awaitFilled waits until the gateway's /readyz says the mirror holds every
// room's window.
func awaitFilled(t testing.TB, gwURL string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, checks := readiness(c, gwURL)
		require.Equal(c, http.StatusOK, code)
		require.True(c, strings.HasPrefix(checks["mirror"], "ok: 100%"), "mirror: %q", checks["mirror"])
	}, 60*time.Second, 50*time.Millisecond, "the mirror did not fill")
}

// awaitRounds waits until the gateway's mirror worker has run n more
// rounds: whatever was true before has been seen by a whole round.
func awaitRounds(t *testing.T, gwURL string, n float64) {
	t.Helper()
	start := metricValue(t, gwURL, "engagegw_mirror_worker_rounds_total")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.GreaterOrEqual(c, metricValue(c, gwURL, "engagegw_mirror_worker_rounds_total"), start+n)
	}, 20*time.Second, 10*time.Millisecond, "the mirror's worker did not run")
}

// roomCount is how many rooms the tenant has, read through the gateway.
func roomCount(t *testing.T, gwURL string) int {
	t.Helper()
	resp := queryAt(t, gwURL, `{ locations { rooms { id } } }`, nil)
	require.Empty(t, resp.Errors)
	var out struct {
		Locations []struct{ Rooms []struct{ ID string } }
	}
	require.NoError(t, json.Unmarshal(resp.Data, &out))
	n := 0
	for _, l := range out.Locations {
		n += len(l.Rooms)
	}
	require.Positive(t, n)
	return n
}

// metricValue reads one series (name with its labels, as exposed) from a
// gateway's /metrics; NaN and missing series fail the test.
func metricValue(t tb, gwURL, series string) float64 {
	t.Helper()
	resp, err := http.Get(gwURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		name, val, ok := strings.Cut(sc.Text(), " ")
		if ok && name == series {
			v, err := strconv.ParseFloat(val, 64)
			require.NoError(t, err)
			return v
		}
	}
	require.Failf(t, "no series", "%s", series)
	return 0
}

// dashboardTitles reads the dashboard and returns every booking's title by
// its Engage number.
func dashboardTitles(t tb, gwURL string, query string, vars map[string]any) map[int64]string {
	t.Helper()
	resp := queryAt(t, gwURL, query, vars)
	require.Empty(t, resp.Errors)
	var out struct {
		Locations []struct {
			Rooms []struct {
				Bookings []struct {
					EngageID apiEngageID
					Title    string
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &out))
	titles := map[int64]string{}
	for _, l := range out.Locations {
		for _, r := range l.Rooms {
			for _, b := range r.Bookings {
				titles[int64(b.EngageID)] = b.Title
			}
		}
	}
	return titles
}

// tomorrowDashboard is the dashboard of tomorrow's bookings.
const tomorrowDashboard = `query($from: DateTime!, $to: DateTime!) { locations { rooms { bookings(from: $from, to: $to) { engageId title } } } }`

func tomorrowVars() map[string]any {
	from := tomorrow()
	return map[string]any{"from": from.Format(time.RFC3339), "to": from.Add(24 * time.Hour).Format(time.RFC3339)}
}

func TestMirrorFillsOnceThenCallsEngageOnlyForChanges(t *testing.T) {
	rs := startRedisServer(t)
	l := newMirrorLive(t, mirrorEnv(rs.url()))
	awaitFilled(t, l.gwURL)
	rooms := roomCount(t, l.gwURL)

	// The fill read each room's window in two calls of 14 days (17 days
	// held, read ahead to 28), and nothing else read bookings.
	st := liveStats(t, l.simURL)
	assert.Equal(t, 2*rooms, bookingReads(st), "the fill's calls")
	assert.Equal(t, float64(2*rooms), metricValue(t, l.gwURL, `engagegw_mirror_upstream_reads_total{cause="fill"}`))
	assert.Equal(t, float64(1), metricValue(t, l.gwURL, `engagegw_mirror_worker`))
	assert.Equal(t, float64(1), metricValue(t, l.gwURL, `engagegw_mirror_coverage_ratio`))

	// Lobby screens, desk apps and a week's window: no call at all.
	resetLiveStats(t, l.simURL)
	for range 5 {
		dashboardTitles(t, l.gwURL, dashboardQuery, nil)
		dashboardTitles(t, l.gwURL, tomorrowDashboard, tomorrowVars())
	}
	st = liveStats(t, l.simURL)
	require.Zero(t, st.TotalCalls, "reads of the mirror reach Engage: %+v\n%s", st.Calls, warnings(l.gw.logs.String()))

	// A booking made in the web app: its notification costs one re-read,
	// done before the acknowledgement, and the next read shows it.
	room := londonRooms(t, l.gwURL)[0]
	resetLiveStats(t, l.simURL)
	id := seedBooking(t, l.simURL, room, tomorrow(), "Made in the web app")
	l.acks++
	l.awaitAcked(t)
	assert.Equal(t, "Made in the web app", dashboardTitles(t, l.gwURL, tomorrowDashboard, tomorrowVars())[id])
	st = liveStats(t, l.simURL)
	assert.Equal(t, 1, bookingReads(st), "one re-read for one change: %+v", st.Calls)
	assert.Equal(t, 1, st.TotalCalls, "%+v", st.Calls)

	// A change of its title: one more re-read (the replay window may hold
	// it back a moment, as the simulator announces it with the same body).
	resetLiveStats(t, l.simURL)
	l.change(t, http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", id), map[string]any{"meetingTitle": "Renamed in the web app"})
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, "Renamed in the web app", dashboardTitles(c, l.gwURL, tomorrowDashboard, tomorrowVars())[id])
	}, 10*time.Second, 20*time.Millisecond)
	assert.Equal(t, 1, bookingReads(liveStats(t, l.simURL)), "%v", l.gw.logs.String()[max(0, len(l.gw.logs.String())-3000):])

	// The booking by its id, and its host, come from the held day.
	resetLiveStats(t, l.simURL)
	gid := weekBookingID(int(id))
	resp := queryAt(t, l.gwURL, `query($id: ID!) { booking(id: $id) { title host { email } } }`, map[string]any{"id": gid})
	require.Empty(t, resp.Errors)
	var one struct {
		Booking struct {
			Title string
			Host  struct{ Email string }
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &one))
	assert.Equal(t, "Renamed in the web app", one.Booking.Title)
	require.NotEmpty(t, one.Booking.Host.Email)
	assert.Zero(t, liveStats(t, l.simURL).TotalCalls, "%+v", liveStats(t, l.simURL).Calls)

	// A rename through the gateway: the write, the re-read of its day that
	// shows the writer its write, and its notification's re-read (which
	// joins the first when it comes while that one waits). The gateway
	// knows the booking's room and day from the mirror.
	l.awaitAcked(t)
	resetLiveStats(t, l.simURL)
	resp = queryAt(t, l.gwURL, `mutation($u: String!, $b: ID!) { updateBooking(input: {actingUserEmail: $u, bookingId: $b, title: "Renamed through the gateway"}) { booking { title } errors { code message } } }`,
		map[string]any{"u": one.Booking.Host.Email, "b": gid})
	require.Empty(t, resp.Errors)
	require.JSONEq(t, `{"updateBooking":{"booking":{"title":"Renamed through the gateway"},"errors":[]}}`, string(resp.Data))
	l.acks++
	l.awaitAcked(t)
	assert.Equal(t, "Renamed through the gateway", dashboardTitles(t, l.gwURL, tomorrowDashboard, tomorrowVars())[id])
	st = liveStats(t, l.simURL)
	assert.Equal(t, 1, routeCalls(st, "/bookings/{id}"), "the write alone: %+v", st.Calls)
	assert.Contains(t, []int{1, 2}, bookingReads(st), "%+v", st.Calls)
	assert.Equal(t, 1+bookingReads(st), st.TotalCalls, "%+v", st.Calls)

	// A cancellation says everything: no call, and it is gone.
	resetLiveStats(t, l.simURL)
	l.change(t, http.MethodDelete, fmt.Sprintf("/_sim/bookings/%d", id), nil)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, there := dashboardTitles(c, l.gwURL, tomorrowDashboard, tomorrowVars())[id]
		require.False(c, there)
	}, 10*time.Second, 20*time.Millisecond)
	l.awaitAcked(t)
	assert.Zero(t, bookingReads(liveStats(t, l.simURL)), "a cancellation is applied without a call")
}

func TestMirrorSweepRepairsAMissedNotification(t *testing.T) {
	rs := startRedisServer(t)
	env := mirrorEnv(rs.url())
	// A sweep of the demo tenant every 10 s: a few calls a second.
	env["MIRROR_SWEEP_PERIOD"] = "10s"
	l := newMirrorLive(t, env)
	awaitFilled(t, l.gwURL)
	room := londonRooms(t, l.gwURL)[0]

	// The notification of this booking is lost: its first attempt and the
	// three retries are dropped.
	l.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"dropDeliveries": 4}, nil)
	id := seedBooking(t, l.simURL, room, tomorrow(), "Announced to nobody")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, "Announced to nobody", dashboardTitles(c, l.gwURL, tomorrowDashboard, tomorrowVars())[id])
	}, 30*time.Second, 50*time.Millisecond, "the sweep did not repair the missed notification")
	assert.GreaterOrEqual(t, metricValue(t, l.gwURL, "engagegw_mirror_missed_notifications_total"), 1.0)
	assert.Positive(t, metricValue(t, l.gwURL, `engagegw_mirror_upstream_reads_total{cause="sweep"}`))
	_, checks := readiness(t, l.gwURL)
	assert.Regexp(t, `[1-9][0-9]* missed notifications repaired`, checks["mirror"])
}

func TestMirrorHasOneWorkerPerFleetAndHandsItOver(t *testing.T) {
	rs := startRedisServer(t)
	sim, err := engagesim.New(engagesim.Config{RatePerMinute: apiCallsPerMinute})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })

	// The listeners are someone else's to register here: both replicas
	// hold days at once.
	env := func() map[string]string {
		return withEnv(withEnv(upstreamEnv(simSrv.URL), mirrorEnv(rs.url())), map[string]string{"WEBHOOK_SECRET": liveSecret})
	}
	a := startGateway(t, env())
	b := startGateway(t, env())
	awaitFilled(t, a.url)
	awaitFilled(t, b.url)
	rooms := roomCount(t, a.url)

	// One worker filled for both: two calls a room, not four.
	assert.Equal(t, 2*rooms, bookingReads(sim.Stats()))
	wa, wb := metricValue(t, a.url, "engagegw_mirror_worker"), metricValue(t, b.url, "engagegw_mirror_worker")
	require.Equal(t, 1.0, wa+wb, "exactly one worker")
	worker, other := a, b
	if wb == 1 {
		worker, other = b, a
	}

	// Both serve from the mirror.
	before := sim.Stats().TotalCalls
	dashboardTitles(t, a.url, dashboardQuery, nil)
	dashboardTitles(t, b.url, dashboardQuery, nil)
	assert.Equal(t, before, sim.Stats().TotalCalls)

	// The worker stops; the other takes its lease over at once (it was
	// released) and carries on: losing the store's bookings, it refills.
	worker.stop()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, 1.0, metricValue(c, other.url, "engagegw_mirror_worker"))
		require.GreaterOrEqual(c, metricValue(c, other.url, "engagegw_mirror_worker_rounds_total"), 2.0)
	}, 10*time.Second, 20*time.Millisecond, "no replica took the worker's lease over")
	opts, err := redis.ParseURL(rs.url())
	require.NoError(t, err)
	rdb := redis.NewClient(opts)
	defer rdb.Close()
	require.NoError(t, rdb.FlushAll(context.Background()).Err())
	awaitFilled(t, other.url)
	assert.Equal(t, float64(2*rooms), metricValue(t, other.url, `engagegw_mirror_upstream_reads_total{cause="refill"}`))
}

func TestMirrorRollsTheWindowAsDaysPass(t *testing.T) {
	rs := startRedisServer(t)
	// The gateway and the simulator share one clock, which the test moves.
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	sim, err := engagesim.New(engagesim.Config{Now: now, RatePerMinute: apiCallsPerMinute, RetryDelays: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	env := withEnv(upstreamEnv(simSrv.URL), mirrorEnv(rs.url()))
	port := freePort(t)
	env["LISTEN_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	env["WEBHOOK_PUBLIC_URL"] = fmt.Sprintf("http://127.0.0.1:%d", port)
	env["WEBHOOK_SECRET"] = liveSecret
	env["WEBHOOK_REPLAY_WINDOW"] = "1s"
	// Days pass in a moment here, and a sweep owes every room once its
	// period has passed: this test counts the roll's calls alone.
	env["MIRROR_SWEEP_PERIOD"] = "100000h"
	g := startGatewayIn(t, withClock(context.Background(), now), env)
	require.Eventually(t, func() bool { return sim.Stats().Listeners == len(webhook.Services()) }, 20*time.Second, 20*time.Millisecond)
	awaitFilled(t, g.url)
	rooms := roomCount(t, g.url)
	room := londonRooms(t, g.url)[0]
	filled := bookingReads(sim.Stats())
	require.Equal(t, 2*rooms, filled)

	// A booking 20 days ahead: beyond the window, inside what the fill
	// read ahead, so its notification re-reads it.
	day := time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, 20)
	id := seedBooking(t, simSrv.URL, room, day, "Three weeks out")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, filled+1, bookingReads(sim.Stats()))
	}, 10*time.Second, 20*time.Millisecond, "the notification of a day read ahead was not re-read")

	// Nine days pass: the days entering the window were read ahead, so
	// rolling costs nothing, and the booking is read from the mirror.
	offset.Add(int64(9 * 24 * time.Hour))
	before := sim.Stats().TotalCalls
	awaitRounds(t, g.url, 2)
	vars := map[string]any{"from": day.Format(time.RFC3339), "to": day.Add(24 * time.Hour).Format(time.RFC3339)}
	require.Equal(t, "Three weeks out", dashboardTitles(t, g.url, tomorrowDashboard, vars)[id])
	assert.Equal(t, before, sim.Stats().TotalCalls, "rolling into days read ahead, or reading them, called Engage")

	// Two more days: the window's last day was not read ahead, and each
	// room reads its next 14 days in one call.
	offset.Add(int64(2 * 24 * time.Hour))
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, checks := readiness(c, g.url)
		require.Equal(c, http.StatusOK, code)
		require.True(c, strings.HasPrefix(checks["mirror"], "ok: 100%"), "mirror: %q", checks["mirror"])
		require.Equal(c, float64(rooms), metricValue(c, g.url, `engagegw_mirror_upstream_reads_total{cause="roll"}`))
	}, 30*time.Second, 50*time.Millisecond, "the window did not roll")
	assert.Equal(t, filled+1+rooms, bookingReads(sim.Stats()), "%+v", sim.Stats().Calls)
	require.Equal(t, "Three weeks out", dashboardTitles(t, g.url, tomorrowDashboard, vars)[id])
}

// deskWeek is a desk app: one desk's bookings over a week.
const deskWeek = `query($desk: ID!, $from: Date!, $to: Date!) { desk(id: $desk) { bookings(from: $from, to: $to) { engageId date } } }`

// deskBookingIDs reads a desk's week and returns its bookings' numbers.
func deskBookingIDs(t tb, gwURL, desk string, from time.Time) []int64 {
	t.Helper()
	resp := queryAt(t, gwURL, deskWeek, map[string]any{"desk": desk, "from": from.Format(time.DateOnly), "to": from.AddDate(0, 0, 6).Format(time.DateOnly)})
	require.Empty(t, resp.Errors)
	var out struct {
		Desk struct {
			Bookings []struct{ EngageID apiEngageID }
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &out))
	ids := []int64{}
	for _, b := range out.Desk.Bookings {
		ids = append(ids, int64(b.EngageID))
	}
	return ids
}

func TestMirrorKeepsADeskFromItsFirstRead(t *testing.T) {
	rs := startRedisServer(t)
	l := newMirrorLive(t, mirrorEnv(rs.url()))
	awaitFilled(t, l.gwURL)
	resp := queryAt(t, l.gwURL, `{ locations { name desks { id } } }`, nil)
	require.Empty(t, resp.Errors)
	var locs struct {
		Locations []struct {
			Name  string
			Desks []struct{ ID string }
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &locs))
	var desk string
	for _, loc := range locs.Locations {
		if loc.Name == "London HQ" && len(loc.Desks) > 0 {
			desk = loc.Desks[0].ID
		}
	}
	require.NotEmpty(t, desk)
	deskNumber := mustRoomNumber(t, desk)
	from := tomorrow()

	// No desk is filled eagerly; the first read of one reads through, and
	// the worker then fills the rest of its window.
	assert.Zero(t, deskReads(liveStats(t, l.simURL)))
	before := deskBookingIDs(t, l.gwURL, desk, from)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, checks := readiness(c, l.gwURL)
		require.Equal(c, http.StatusOK, code)
		require.True(c, strings.HasPrefix(checks["mirror"], "ok: 100%"), "mirror: %q", checks["mirror"])
		require.Equal(c, 1.0, metricValue(c, l.gwURL, `engagegw_mirror_desks`))
	}, 20*time.Second, 20*time.Millisecond, "the desk was not mirrored")
	// The read asked for a week and read the fortnight of held days it
	// lies in; the worker read the other.
	assert.Equal(t, 2, deskReads(liveStats(t, l.simURL)), "%+v", liveStats(t, l.simURL).Calls)
	resetLiveStats(t, l.simURL)
	for day := -1; day < 14; day++ {
		deskBookingIDs(t, l.gwURL, desk, time.Now().UTC().Truncate(24*time.Hour).AddDate(0, 0, day))
	}
	assert.Zero(t, liveStats(t, l.simURL).TotalCalls, "a mirrored desk's window is read from the mirror")

	// A desk booked in the web app: one re-read, before the acknowledgement.
	var code int
	var raw []byte
	for day := 0; day < 7; day++ {
		code, raw = simCall(t, l.simURL, http.MethodPost, "/_sim/deskBookings", map[string]any{"userId": 1001, "deskId": deskNumber,
			"dateList": []map[string]any{{"date": from.AddDate(0, 0, day).Format(time.DateOnly), "bookingType": 3}}})
		if code != http.StatusConflict {
			break
		}
	}
	require.Equal(t, http.StatusCreated, code, "%s", raw)
	var made struct{ BookingIDs []int64 }
	require.NoError(t, json.Unmarshal(raw, &made))
	require.Len(t, made.BookingIDs, 1)
	l.acks++
	l.awaitAcked(t)
	assert.Equal(t, 1, deskReads(liveStats(t, l.simURL)))
	assert.ElementsMatch(t, append(before, made.BookingIDs[0]), deskBookingIDs(t, l.gwURL, desk, from))
	assert.Equal(t, 1, liveStats(t, l.simURL).TotalCalls)

	// Its cancellation costs nothing.
	resetLiveStats(t, l.simURL)
	l.change(t, http.MethodDelete, fmt.Sprintf("/_sim/deskBookings/%d", made.BookingIDs[0]), nil)
	l.awaitAcked(t)
	assert.ElementsMatch(t, before, deskBookingIDs(t, l.gwURL, desk, from))
	assert.Zero(t, liveStats(t, l.simURL).TotalCalls)
}

// mirroredOn is the settings of a mirrored gateway on port whose listeners
// it registers itself with the simulator at simURL.
func mirroredOn(simURL, redisURL string, port int) map[string]string {
	env := withEnv(upstreamEnv(simURL), mirrorEnv(redisURL))
	env["LISTEN_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
	env["WEBHOOK_PUBLIC_URL"] = fmt.Sprintf("http://127.0.0.1:%d", port)
	env["WEBHOOK_SECRET"] = liveSecret
	env["WEBHOOK_REPLAY_WINDOW"] = "1s"
	return env
}

func TestMirrorResyncsBeforeServingAfterTheFleetWasGone(t *testing.T) {
	rs := startRedisServer(t)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	sim, err := engagesim.New(engagesim.Config{Now: now, RatePerMinute: apiCallsPerMinute, RetryDelays: []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	port := freePort(t)
	env := mirroredOn(simSrv.URL, rs.url(), port)

	a := startGatewayIn(t, withClock(context.Background(), now), env)
	awaitFilled(t, a.url)
	room := londonRooms(t, a.url)[0]
	require.Zero(t, metricValue(t, a.url, "engagegw_mirror_resyncs_total"))
	a.stop()

	// While no replica runs, a booking is made; Engage's retries find
	// nobody and give up. Five minutes pass before a replica starts.
	before := sim.Stats().Deliveries.Failed
	id := seedBooking(t, simSrv.URL, room, tomorrow(), "Made while the fleet was gone")
	require.Eventually(t, func() bool { return sim.Stats().Deliveries.Failed >= before+4 }, 10*time.Second, 10*time.Millisecond,
		"the simulator did not give the delivery up")
	offset.Add(int64(5 * time.Minute))

	// The first answer of the new replica already has it: nothing held
	// before the gap was served as current.
	b := startGatewayIn(t, withClock(context.Background(), now), env)
	assert.Equal(t, "Made while the fleet was gone", dashboardTitles(t, b.url, tomorrowDashboard, tomorrowVars())[id])
	assert.Equal(t, 1.0, metricValue(t, b.url, "engagegw_mirror_resyncs_total"))
	awaitFilled(t, b.url)
	resetLiveStats(t, simSrv.URL)
	assert.Equal(t, "Made while the fleet was gone", dashboardTitles(t, b.url, tomorrowDashboard, tomorrowVars())[id])
	assert.Zero(t, liveStats(t, simSrv.URL).TotalCalls, "the mirror was filled again")
}

func TestMirrorRefillsWhenRedisComesBackEmpty(t *testing.T) {
	rs := startRedisServer(t)
	l := newMirrorLive(t, mirrorEnv(rs.url()))
	awaitFilled(t, l.gwURL)
	rooms := roomCount(t, l.gwURL)
	want := dashboardTitles(t, l.gwURL, dashboardQuery, nil)

	// Redis goes away: reads are answered upstream, nothing fails.
	rs.stop(t)
	assert.Equal(t, want, dashboardTitles(t, l.gwURL, dashboardQuery, nil))

	// It comes back empty: the worker fills the window again, as a refill.
	rs.start(t)
	awaitFilled(t, l.gwURL)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, float64(2*rooms), metricValue(c, l.gwURL, `engagegw_mirror_upstream_reads_total{cause="refill"}`))
	}, 20*time.Second, 20*time.Millisecond)
	// A list the worker read while Redis was still coming back may have
	// missed its write; the first read puts it back, and then nothing is
	// read upstream.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resetLiveStats(c, l.simURL)
		require.Equal(c, want, dashboardTitles(c, l.gwURL, dashboardQuery, nil))
		require.Zero(c, liveStats(c, l.simURL).TotalCalls, "%+v", liveStats(c, l.simURL).Calls)
	}, 10*time.Second, 50*time.Millisecond)
}

// warnings are the lines of a gateway's log at WARN or ERROR.
func warnings(logs string) string {
	var out []string
	for _, line := range strings.Split(logs, "\n") {
		if strings.Contains(line, `"level":"WARN"`) || strings.Contains(line, `"level":"ERROR"`) {
			out = append(out, line)
		}
	}
	return strings.Join(out, "\n")
}

func TestMirrorResyncsWhenRedisWasAwayLongerThanEngageRetries(t *testing.T) {
	if testing.Short() {
		t.Skip("waits out Engage's retry span in real time")
	}
	t.Parallel()
	rs := startRedisServer(t)
	l := newMirrorLive(t, mirrorEnv(rs.url()))
	awaitFilled(t, l.gwURL)
	room := londonRooms(t, l.gwURL)[0]
	require.Zero(t, metricValue(t, l.gwURL, "engagegw_mirror_resyncs_total"))

	// Redis stops answering, holding what it held. A booking is made; the
	// gateway cannot record its notification, so it refuses it, and
	// Engage gives it up.
	rs.pause(t)
	paused := time.Now()
	failed := l.sim.Stats().Deliveries.Failed
	id := seedBooking(t, l.simURL, room, tomorrow(), "Made while Redis was away")
	require.Eventually(t, func() bool { return l.sim.Stats().Deliveries.Failed >= failed+4 }, 60*time.Second, 20*time.Millisecond,
		"the simulator did not give the delivery up")
	// Meanwhile reads are answered upstream.
	assert.Equal(t, "Made while Redis was away", dashboardTitles(t, l.gwURL, tomorrowDashboard, tomorrowVars())[id])

	// Redis answers again after longer than Engage retries a delivery,
	// with the day as it was before the booking. Nothing held from before
	// is served: every answer has the booking.
	time.Sleep(time.Until(paused.Add(webhook.UpstreamRetrySpan + 2*time.Second)))
	rs.resume(t)
	for range 20 {
		assert.Equal(t, "Made while Redis was away", dashboardTitles(t, l.gwURL, tomorrowDashboard, tomorrowVars())[id])
		time.Sleep(20 * time.Millisecond)
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, 1.0, metricValue(c, l.gwURL, "engagegw_mirror_resyncs_total"))
	}, 10*time.Second, 20*time.Millisecond, "no resync")
	awaitFilled(t, l.gwURL)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		resetLiveStats(c, l.simURL)
		require.Equal(c, "Made while Redis was away", dashboardTitles(c, l.gwURL, tomorrowDashboard, tomorrowVars())[id])
		require.Zero(c, liveStats(c, l.simURL).TotalCalls, "the mirror was not filled again: %+v", liveStats(c, l.simURL).Calls)
	}, 20*time.Second, 50*time.Millisecond)
	assert.Contains(t, l.gw.logs.String(), "no replica was receiving notifications for longer than Engage retries them")
}

func TestMirrorHoldsNothingUntilItsListenersAreRegistered(t *testing.T) {
	rs := startRedisServer(t)
	sim, err := engagesim.New(engagesim.Config{RatePerMinute: apiCallsPerMinute})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	// Engage refuses to register listeners until the test lets it.
	var refuse atomic.Bool
	refuse.Store(true)
	target, _ := url.Parse(simSrv.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if refuse.Load() && strings.HasSuffix(r.URL.Path, "/listener") {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"statusCode":503,"message":"Service unavailable."}`))
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	g := startGateway(t, mirroredOn(front.URL, rs.url(), freePort(t)))

	// Nothing could keep what the mirror would hold: it holds nothing,
	// its worker does not run, and reads go through the cache as without
	// a mirror.
	require.Eventually(t, func() bool { return strings.Contains(g.logs.String(), "registering webhook listeners failed") }, 20*time.Second, 20*time.Millisecond)
	want := dashboardTitles(t, g.url, dashboardQuery, nil)
	assert.Positive(t, bookingReads(sim.Stats()), "the dashboard was not read through")
	time.Sleep(300 * time.Millisecond) // three of the worker's intervals
	assert.Zero(t, metricValue(t, g.url, "engagegw_mirror_worker_rounds_total"))
	assert.Zero(t, metricOr0(t, g.url, `engagegw_mirror_upstream_reads_total{cause="fill"}`))
	_, checks := readiness(t, g.url)
	assert.Contains(t, checks["mirror"], "no worker has reported yet")
	rdb := redis.NewClient(&redis.Options{Addr: strings.TrimSuffix(strings.TrimPrefix(rs.url(), "redis://"), "/0")})
	t.Cleanup(func() { _ = rdb.Close() })
	// The days the dashboard read are cached for CACHE_TTL_BOOKINGS (five
	// minutes), not held for as long as they are in the window.
	keys, err := rdb.Keys(context.Background(), "*room:*:day:*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	days := 0
	for _, k := range keys {
		if strings.HasSuffix(k, ":lkg") {
			continue // the last-known-good copy kept for stale serving
		}
		days++
		ttl, err := rdb.PTTL(context.Background(), k).Result()
		require.NoError(t, err)
		assert.LessOrEqual(t, ttl, 5*time.Minute, "%s is held as the mirror holds, though nothing keeps it", k)
	}
	require.Positive(t, days)

	// The listeners are registered on the next attempt: the mirror fills,
	// and from then on reads cost nothing.
	refuse.Store(false)
	awaitFilled(t, g.url)
	before := sim.Stats().TotalCalls
	assert.Equal(t, want, dashboardTitles(t, g.url, dashboardQuery, nil))
	assert.Equal(t, before, sim.Stats().TotalCalls)
}

func TestMirrorFillsWithinItsShareOfTheBudget(t *testing.T) {
	t.Parallel()
	rs := startRedisServer(t)
	env := mirrorEnv(rs.url())
	// A tenth of 6,000 calls a minute: 10 a second, in bursts of 60.
	env["MIRROR_SHARE"] = "0.1"
	// Timed from before the gateway starts: its worker may begin filling
	// before newMirrorLive returns, and the budget's pace counts from then.
	start := time.Now()
	l := newMirrorLive(t, env)
	fillCalls := func() float64 {
		return metricOr0(t, l.gwURL, `engagegw_mirror_upstream_reads_total{cause="fill"}`)
	}

	// While the worker fills, users' reads are answered from the rest of
	// the budget: they read through what is not held yet.
	for range 3 {
		resp := queryAt(t, l.gwURL, dashboardQuery, nil)
		require.Empty(t, resp.Errors)
	}
	// Sampled as it fills: never more than its rate allows since it began.
	var took time.Duration
	for took == 0 {
		n, elapsed := fillCalls(), time.Since(start)
		require.LessOrEqual(t, n, 60+10*elapsed.Seconds()+1, "the fill outran its share after %s", elapsed)
		if code, checks := readiness(t, l.gwURL); code == http.StatusOK && strings.HasPrefix(checks["mirror"], "ok: 100%") {
			took = time.Since(start)
		}
		time.Sleep(200 * time.Millisecond)
	}
	n := fillCalls()
	t.Logf("%.0f fill calls in %s", n, took.Round(time.Millisecond))
	require.Greater(t, n, 120.0, "the demo tenant is too small to see the pace")
	assert.GreaterOrEqual(t, took.Seconds(), (n-60)/10*0.9, "the fill took less time than its share allows")
}

func TestMirrorFeedsSubscriptionsFromItsReRead(t *testing.T) {
	rs := startRedisServer(t)
	l := newMirrorLive(t, mirrorEnv(rs.url()))
	awaitFilled(t, l.gwURL)
	room := londonRooms(t, l.gwURL)[0]
	id := seedBooking(t, l.simURL, room, tomorrow(), "Before")
	l.acks++
	l.awaitAcked(t)

	// Three screens subscribe to the room.
	const screens = 3
	var streams []<-chan json.RawMessage
	for range screens {
		streams = append(streams, sseEvents(t, l.gwURL, `subscription($room: ID!) {
			bookingChanged(roomIds: [$room]) { action bookingId booking { id title } } }`, map[string]any{"room": room}))
	}
	title := func(ev json.RawMessage) string {
		var got struct {
			Data struct {
				BookingChanged struct{ Booking *struct{ Title string } }
			}
		}
		require.NoError(t, json.Unmarshal(ev, &got), "%s", ev)
		if b := got.Data.BookingChanged.Booking; b != nil {
			return b.Title
		}
		return ""
	}
	// await reads each stream until an event with want comes.
	await := func(want string) {
		for i, events := range streams {
			deadline := time.After(10 * time.Second)
			for done := false; !done; {
				select {
				case ev := <-events:
					done = title(ev) == want
				case <-deadline:
					require.Failf(t, "no event", "screen %d saw no event titled %q", i, want)
				}
			}
		}
	}
	// The streams are registered asynchronously: changes are made until
	// every screen has heard one.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		want := "Warm-up " + time.Now().Format("150405.000")
		l.change(t, http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", id), map[string]any{"meetingTitle": want})
		for _, events := range streams {
			select {
			case ev := <-events:
				require.Equal(c, want, title(ev))
			case <-time.After(2 * time.Second):
				require.Fail(c, "no event yet")
			}
		}
	}, 30*time.Second, 10*time.Millisecond)
	l.awaitAcked(t)
	time.Sleep(1100 * time.Millisecond) // past the replay window of the last body

	// One change: every screen hears the booking as the notification's one
	// re-read left it, and nothing else reads it.
	resetLiveStats(t, l.simURL)
	l.change(t, http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", id), map[string]any{"meetingTitle": "After"})
	await("After")
	l.awaitAcked(t)
	st := liveStats(t, l.simURL)
	assert.Equal(t, 1, bookingReads(st), "%+v", st.Calls)
	assert.Equal(t, 1, st.TotalCalls, "%+v", st.Calls)
}

func TestMirrorSweepGoesOnAcrossAHandover(t *testing.T) {
	rs := startRedisServer(t)
	sim, err := engagesim.New(engagesim.Config{RatePerMinute: apiCallsPerMinute})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	env := func() map[string]string {
		e := withEnv(withEnv(upstreamEnv(simSrv.URL), mirrorEnv(rs.url())), map[string]string{"WEBHOOK_SECRET": liveSecret})
		// A sweep of the demo tenant a minute: a room or two a second.
		e["MIRROR_SWEEP_PERIOD"] = "1m"
		return e
	}
	a := startGateway(t, env())
	b := startGateway(t, env())
	awaitFilled(t, a.url)
	worker, other := a, b
	if metricValue(t, b.url, "engagegw_mirror_worker") == 1 {
		worker, other = b, a
	}
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.GreaterOrEqual(c, metricValue(c, other.url, "engagegw_mirror_sweep_rooms_done"), 5.0)
	}, 20*time.Second, 20*time.Millisecond, "the sweep did not start")

	// The worker stops; the other takes over where its sweep was, not at
	// the first room again.
	worker.stop()
	left := metricValue(t, other.url, "engagegw_mirror_sweep_rooms_done")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, 1.0, metricValue(c, other.url, "engagegw_mirror_worker"))
		require.GreaterOrEqual(c, metricValue(c, other.url, "engagegw_mirror_worker_rounds_total"), 2.0)
	}, 10*time.Second, 20*time.Millisecond, "no replica took the worker's lease over")
	assert.GreaterOrEqual(t, metricValue(t, other.url, "engagegw_mirror_sweep_rooms_done"), left)
	assert.Contains(t, other.logs.String(), fmt.Sprintf(`"sweepCursor":%d`, int(left)))
}

func TestReadyzAndMetricsForecastTheWeeksCalls(t *testing.T) {
	rs := startRedisServer(t)
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	sim, err := engagesim.New(engagesim.Config{Now: now, RatePerMinute: apiCallsPerMinute})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	env := mirroredOn(simSrv.URL, rs.url(), freePort(t))
	env["MIRROR_SWEEP_PERIOD"] = "100000h"
	g := startGatewayIn(t, withClock(context.Background(), now), env)
	awaitFilled(t, g.url)
	awaitRounds(t, g.url, 2)
	calls := sim.Stats().TotalCalls

	// An hour later, with nothing called meanwhile, the fleet's hour of
	// calls (the fill) is kept up for a week: 168 hours of it, over the
	// default budget of 38,000.
	offset.Store(int64(time.Hour))
	forecast := metricValue(t, g.url, "engagegw_upstream_calls_week_forecast")
	assert.InDelta(t, 168*float64(calls), forecast, 0.05*168*float64(calls), "%d calls", calls)
	_, checks := readiness(t, g.url)
	assert.Regexp(t, `^over budget: the last day's upstream calls, kept up for a week, make [0-9]+ against a weekly budget of 38000$`, checks["quota"])
}

func TestMirrorAnswersWhatItHoldsWhileEngageIsDown(t *testing.T) {
	rs := startRedisServer(t)
	l := newMirrorLive(t, mirrorEnv(rs.url()))
	awaitFilled(t, l.gwURL)
	want := dashboardTitles(t, l.gwURL, dashboardQuery, nil)
	require.NotEmpty(t, want)

	// Engage answers nothing but 503s: the dashboards, read from the
	// mirror, are answered in full, current and not marked stale.
	l.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"failNext": 100000, "errorStatus": 503}, nil)
	t.Cleanup(func() { l.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"failNext": 0}, nil) })
	for range 3 {
		resp := queryAt(t, l.gwURL, dashboardQuery, nil)
		require.Empty(t, resp.Errors)
		assert.Nil(t, resp.Extensions["stale"])
		assert.Equal(t, want, dashboardTitles(t, l.gwURL, dashboardQuery, nil))
	}
}
