package server

// End-to-end tests of the mirror's visitor lists (MIRROR_VISITORS): every
// location's plain list of each of its next 14 local days held, filled once,
// kept by the Visitor notifications, rolled at each location's midnight and
// repaired by the sweep. As in live_mirror_test.go, gateways run by run() in
// front of their own engagesim, with a real redis-server, and the
// simulator's call counts measure what reached Engage.

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// visitorMirrorEnv is mirrorEnv with the visitor lists mirrored too.
func visitorMirrorEnv(redisURL string) map[string]string {
	env := mirrorEnv(redisURL)
	env["MIRROR_VISITORS"] = "on"
	return env
}

// visitorReads counts GET /visitor: a day's visitors.
func visitorReads(st engagesim.Stats) int { return reads(st, "/visitor") }

// answered counts the upstream's calls answered 200, whatever their route
// (a call that met an expired session token is repeated, and counted once).
func answered(st engagesim.Stats) int {
	n := 0
	for _, c := range st.Calls {
		if c.Status == http.StatusOK {
			n += c.Count
		}
	}
	return n
}

// site is a location as the tests address it: its global id, its Engage
// number and its zone.
type site struct {
	id     string
	number int64
	zone   *time.Location
}

// sites reads the tenant's locations through the gateway, by name.
func sites(t tb, gwURL string) map[string]site {
	t.Helper()
	resp := queryAt(t, gwURL, `{ locations { id engageId name timeZone } }`, nil)
	require.Empty(t, resp.Errors)
	var out struct {
		Locations []struct {
			ID, Name, TimeZone string
			EngageID           apiEngageID
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &out))
	ss := map[string]site{}
	for _, l := range out.Locations {
		zone, err := time.LoadLocation(l.TimeZone)
		require.NoError(t, err)
		ss[l.Name] = site{id: l.ID, number: int64(l.EngageID), zone: zone}
	}
	return ss
}

// localDay is the date plus days after the one now falls on in zone.
func localDay(zone *time.Location, now time.Time, plus int) string {
	return now.In(zone).AddDate(0, 0, plus).Format(time.DateOnly)
}

// kioskQuery is a reception screen: the day's visitors at one location (or
// everywhere, with no location).
const kioskQuery = `query($date: Date!, $loc: ID) { visitors(date: $date, locationId: $loc, first: 500) { totalCount nodes { engageId firstName status } } }`

// kioskVisitor is one visitor on a reception screen.
type kioskVisitor struct{ FirstName, Status string }

// kiosk reads the visitors of day at loc ("" for every location) and
// returns them by Engage number.
func kiosk(t tb, gwURL, loc, day string) map[int64]kioskVisitor {
	t.Helper()
	vars := map[string]any{"date": day}
	if loc != "" {
		vars["loc"] = loc
	}
	resp := queryAt(t, gwURL, kioskQuery, vars)
	require.Empty(t, resp.Errors)
	var out struct {
		Visitors struct {
			TotalCount int
			Nodes      []struct {
				EngageID  apiEngageID
				FirstName string
				Status    string
			}
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &out))
	require.Len(t, out.Visitors.Nodes, out.Visitors.TotalCount)
	vs := map[int64]kioskVisitor{}
	for _, v := range out.Visitors.Nodes {
		vs[int64(v.EngageID)] = kioskVisitor{FirstName: v.FirstName, Status: v.Status}
	}
	return vs
}

// heldVisitorDays reads the visitor coverage of /readyz's mirror line.
var heldVisitorDays = regexp.MustCompile(`\((\d+) of (\d+) location-days\)`)

// awaitVisitorsHeld waits until the worker last reported every room's window
// and every location's visitor lists held, exactly (the percentage alone
// rounds a few missing days up to 100%).
func awaitVisitorsHeld(t *testing.T, gwURL string) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, checks := readiness(c, gwURL)
		require.Equal(c, http.StatusOK, code)
		line := checks["mirror"]
		require.True(c, strings.HasPrefix(line, "ok: 100%"), "mirror: %q", line)
		m := heldVisitorDays.FindStringSubmatch(line)
		require.NotNil(c, m, "mirror: %q", line)
		require.NotEqual(c, "0", m[2], "mirror: %q", line)
		require.Equal(c, m[2], m[1], "mirror: %q", line)
	}, 60*time.Second, 50*time.Millisecond, "the mirror did not hold every location's visitors")
}

// seriesValue reads one series from a gateway's /metrics; 0 when it is not
// exposed yet (a counter nothing has counted).
func seriesValue(t tb, gwURL, series string) float64 {
	t.Helper()
	resp, err := http.Get(gwURL + "/metrics")
	require.NoError(t, err)
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		if name, val, ok := strings.Cut(sc.Text(), " "); ok && name == series {
			v, err := strconv.ParseFloat(val, 64)
			require.NoError(t, err)
			return v
		}
	}
	return 0
}

// newVisitor is a visitor registered "from the web app" at s on day, at
// 10:00 local.
func newVisitor(s site, day, firstName string) map[string]any {
	return map[string]any{"firstName": firstName, "lastName": "Visiting", "visitorCompany": "Analytical Engines",
		"locationId": s.number, "arrivalDate": day + " 10:00", "hostData": map[string]any{"hostId": 1001}}
}

func TestMirrorHoldsEveryLocationsVisitorLists(t *testing.T) {
	rs := startRedisServer(t)
	l := newMirrorLive(t, visitorMirrorEnv(rs.url()))
	awaitVisitorsHeld(t, l.gwURL)
	ss := sites(t, l.gwURL)
	require.Len(t, ss, 9)
	rooms := roomCount(t, l.gwURL)

	// The fill read each location's 14 days in one call each, and the
	// rooms as it does without visitors.
	st := liveStats(t, l.simURL)
	assert.Equal(t, 9*14, visitorReads(st), "one call per location-day: %+v", st.Calls)
	assert.Equal(t, 2*rooms, bookingReads(st))
	assert.Equal(t, float64(9*14), metricValue(t, l.gwURL, `engagegw_mirror_visitor_reads_total{cause="fill"}`))
	assert.Equal(t, float64(2*rooms), metricValue(t, l.gwURL, `engagegw_mirror_upstream_reads_total{cause="fill"}`))
	assert.Equal(t, 9.0, metricValue(t, l.gwURL, "engagegw_mirror_locations"))

	// Reception screens everywhere, today and the window's last day: no
	// call at all.
	resetLiveStats(t, l.simURL)
	now := time.Now()
	for _, s := range ss {
		kiosk(t, l.gwURL, s.id, localDay(s.zone, now, 0))
		kiosk(t, l.gwURL, s.id, localDay(s.zone, now, 13))
	}
	require.Zero(t, liveStats(t, l.simURL).TotalCalls, "reads of held visitor lists reach Engage")

	// The list of every location is not held: it is read through, and
	// cached as before.
	london := ss["London HQ"]
	day := localDay(london.zone, time.Now(), 1)
	everywhere := kiosk(t, l.gwURL, "", day)
	kiosk(t, l.gwURL, "", day)
	assert.Equal(t, 1, visitorReads(liveStats(t, l.simURL)), "the list of every location is read once, then cached")

	// A visitor registered in the web app: its notification costs one
	// re-read, done before the acknowledgement, and the next read shows it.
	resetLiveStats(t, l.simURL)
	var made struct{ VisitorID int64 }
	l.admin(t, http.MethodPost, "/_sim/visitors", newVisitor(london, day, "Ada"), &made)
	require.NotZero(t, made.VisitorID)
	l.acks++
	l.awaitAcked(t)
	st = liveStats(t, l.simURL)
	assert.Equal(t, 1, visitorReads(st), "one re-read for one registration: %+v", st.Calls)
	assert.Equal(t, 1, st.TotalCalls, "%+v", st.Calls)
	resetLiveStats(t, l.simURL)
	assert.Equal(t, kioskVisitor{FirstName: "Ada", Status: "EXPECTED"}, kiosk(t, l.gwURL, london.id, day)[made.VisitorID])
	assert.Zero(t, liveStats(t, l.simURL).TotalCalls)
	// The list of every location was dropped, not re-read: its next read
	// calls once.
	again := kiosk(t, l.gwURL, "", day)
	assert.Len(t, again, len(everywhere)+1)
	assert.Contains(t, again, made.VisitorID)
	assert.Equal(t, 1, visitorReads(liveStats(t, l.simURL)))

	// The visitor arrives: one re-read.
	resetLiveStats(t, l.simURL)
	l.change(t, http.MethodPost, fmt.Sprintf("/_sim/visitors/%d/action", made.VisitorID), map[string]any{"action": "arrive"})
	l.awaitAcked(t)
	st = liveStats(t, l.simURL)
	assert.Equal(t, 1, visitorReads(st), "%+v", st.Calls)
	assert.Equal(t, 1, st.TotalCalls, "%+v", st.Calls)
	resetLiveStats(t, l.simURL)
	assert.Equal(t, kioskVisitor{FirstName: "Ada", Status: "ARRIVED"}, kiosk(t, l.gwURL, london.id, day)[made.VisitorID])
	assert.Zero(t, liveStats(t, l.simURL).TotalCalls)

	// The visit is deleted: the notification says everything, no call.
	resetLiveStats(t, l.simURL)
	l.change(t, http.MethodDelete, fmt.Sprintf("/_sim/visitors/%d", made.VisitorID), nil)
	l.awaitAcked(t)
	vs := kiosk(t, l.gwURL, london.id, day)
	assert.NotContains(t, vs, made.VisitorID)
	assert.Zero(t, liveStats(t, l.simURL).TotalCalls, "a deletion is applied without a call")
}

func TestMirrorRollsEachLocationsVisitorsAtItsMidnight(t *testing.T) {
	rs := startRedisServer(t)
	// The gateway and the simulator share one clock, which the test moves.
	var offset atomic.Int64
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	sim, err := engagesim.New(engagesim.Config{Now: now, RatePerMinute: 100_000, RetryDelays: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	env := mirroredOn(simSrv.URL, rs.url(), freePort(t))
	env["MIRROR_VISITORS"] = "on"
	// The test counts the rolls' calls alone: no sweep runs meanwhile.
	env["MIRROR_SWEEP_PERIOD"] = "100000h"
	g := startGatewayIn(t, withClock(context.Background(), now), env)
	require.Eventually(t, func() bool { return sim.Stats().Listeners == len(webhook.Services()) }, 20*time.Second, 20*time.Millisecond)
	awaitVisitorsHeld(t, g.url)
	ss := sites(t, g.url)
	require.Equal(t, 9*14, visitorReads(sim.Stats()))

	// Singapore (UTC+8) ends its day at 16:00 UTC and San Francisco (UTC-8,
	// or -7 in summer) at 08:00 (07:00) UTC: no other location's midnight
	// is within minutes of either.
	for _, name := range []string{"Singapore", "San Francisco"} {
		s := ss[name]
		local := now().In(s.zone)
		midnight := time.Date(local.Year(), local.Month(), local.Day()+1, 0, 0, 0, 0, s.zone)

		// A minute before it: whatever other days ended on the way are
		// rolled first.
		offset.Store(int64(time.Until(midnight.Add(-time.Minute))))
		awaitRounds(t, g.url, 2)
		awaitVisitorsHeld(t, g.url)
		resetLiveStats(t, simSrv.URL)
		rolled := seriesValue(t, g.url, `engagegw_mirror_visitor_reads_total{cause="roll"}`)

		// Its midnight passes: one call, for its new last day.
		offset.Store(int64(time.Until(midnight.Add(30 * time.Second))))
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			require.Positive(c, visitorReads(sim.Stats()))
		}, 20*time.Second, 20*time.Millisecond, "%s's new day was not read", name)
		awaitRounds(t, g.url, 2)
		awaitVisitorsHeld(t, g.url)
		st := sim.Stats()
		assert.Equal(t, 1, visitorReads(st), "%s: %+v", name, st.Calls)
		assert.Equal(t, 1, answered(st), "%s: %+v", name, st.Calls)
		assert.Equal(t, rolled+1, seriesValue(t, g.url, `engagegw_mirror_visitor_reads_total{cause="roll"}`), name)

		// The new last day and the new today are held: reading them costs
		// nothing, and neither does another location's whole window.
		resetLiveStats(t, simSrv.URL)
		kiosk(t, g.url, s.id, localDay(s.zone, now(), 13))
		kiosk(t, g.url, s.id, localDay(s.zone, now(), 0))
		other := ss["London HQ"]
		for d := range 14 {
			kiosk(t, g.url, other.id, localDay(other.zone, now(), d))
		}
		assert.Zero(t, sim.Stats().TotalCalls, "%s: %+v", name, sim.Stats().Calls)
	}
}

func TestMirrorSweepRepairsAMissedVisitorNotification(t *testing.T) {
	rs := startRedisServer(t)
	env := visitorMirrorEnv(rs.url())
	// A sweep of the demo tenant every 10 s: rooms and visitor lists, a few
	// dozen calls a second.
	env["MIRROR_SWEEP_PERIOD"] = "10s"
	l := newMirrorLive(t, env)
	awaitVisitorsHeld(t, l.gwURL)
	london := sites(t, l.gwURL)["London HQ"]
	day := localDay(london.zone, time.Now(), 2)
	require.Zero(t, seriesValue(t, l.gwURL, "engagegw_mirror_missed_notifications_total"))

	// The notification of this registration is lost: its first attempt and
	// the three retries are dropped.
	l.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"dropDeliveries": 4}, nil)
	var made struct{ VisitorID int64 }
	l.admin(t, http.MethodPost, "/_sim/visitors", newVisitor(london, day, "Grace"), &made)
	require.NotZero(t, made.VisitorID)
	assert.NotContains(t, kiosk(t, l.gwURL, london.id, day), made.VisitorID, "the held list is served as it was")
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		require.Equal(c, "Grace", kiosk(c, l.gwURL, london.id, day)[made.VisitorID].FirstName)
	}, 30*time.Second, 50*time.Millisecond, "the sweep did not repair the missed notification")
	assert.GreaterOrEqual(t, metricValue(t, l.gwURL, "engagegw_mirror_missed_notifications_total"), 1.0)
	assert.Positive(t, metricValue(t, l.gwURL, `engagegw_mirror_visitor_reads_total{cause="sweep"}`))
}

func TestMirrorRollsAcrossAClockChange(t *testing.T) {
	rs := startRedisServer(t)
	// The shared clock starts on Saturday 27 March 2027, the day before
	// London's clocks go forward, and the test moves it.
	var offset atomic.Int64
	offset.Store(int64(time.Until(time.Date(2027, time.March, 27, 12, 0, 0, 0, time.UTC))))
	now := func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	sim, err := engagesim.New(engagesim.Config{Now: now, RatePerMinute: 100_000, RetryDelays: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	env := mirroredOn(simSrv.URL, rs.url(), freePort(t))
	env["MIRROR_VISITORS"] = "on"
	env["MIRROR_SWEEP_PERIOD"] = "100000h"
	g := startGatewayIn(t, withClock(context.Background(), now), env)
	require.Eventually(t, func() bool { return sim.Stats().Listeners == len(webhook.Services()) }, 20*time.Second, 20*time.Millisecond)
	awaitVisitorsHeld(t, g.url)
	ss := sites(t, g.url)
	london := ss["London HQ"]

	// London's Sunday has 23 hours: its midnights are 00:00 GMT and, the
	// next, 00:00 BST, an hour earlier in UTC.
	first := time.Date(2027, time.March, 28, 0, 0, 0, 0, london.zone)
	second := time.Date(2027, time.March, 29, 0, 0, 0, 0, london.zone)
	require.Equal(t, 23*time.Hour, second.Sub(first))
	for _, midnight := range []time.Time{first, second} {
		// The locations whose day ends within the minute around it.
		ending := 0
		for _, s := range ss {
			l := midnight.Add(30 * time.Second).In(s.zone)
			if l.Hour() == 0 && l.Minute() == 0 {
				ending++
			}
		}
		require.Positive(t, ending)

		offset.Store(int64(time.Until(midnight.Add(-time.Minute))))
		awaitRounds(t, g.url, 2)
		awaitVisitorsHeld(t, g.url)
		resetLiveStats(t, simSrv.URL)
		rolled := seriesValue(t, g.url, `engagegw_mirror_visitor_reads_total{cause="roll"}`)

		// Midnight passes: one call for each location whose day ended,
		// for its new last day, and London's window is its new fortnight.
		offset.Store(int64(time.Until(midnight.Add(30 * time.Second))))
		require.EventuallyWithT(t, func(c *assert.CollectT) {
			require.Equal(c, rolled+float64(ending), seriesValue(c, g.url, `engagegw_mirror_visitor_reads_total{cause="roll"}`))
		}, 20*time.Second, 20*time.Millisecond, "the new days of %s were not read", midnight)
		awaitRounds(t, g.url, 2)
		awaitVisitorsHeld(t, g.url)
		assert.Equal(t, ending, visitorReads(sim.Stats()), "%s: %+v", midnight, sim.Stats().Calls)
		resetLiveStats(t, simSrv.URL)
		for d := range 14 {
			kiosk(t, g.url, london.id, localDay(london.zone, now(), d))
		}
		assert.Zero(t, sim.Stats().TotalCalls, "%s: %+v", midnight, sim.Stats().Calls)
		assert.Equal(t, midnight.Format(time.DateOnly), localDay(london.zone, now(), 0))
	}
}
