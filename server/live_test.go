package server

// The gateway live, as it runs in production: started with run() over real
// HTTP to an engagesim, on a Redis server the test owns (and stops and
// starts again), with the simulator's webhooks landing on the gateway's own
// /webhooks/engage/ routes and the changes reaching subscribers over SSE.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// liveSecret is the webhook secret of the live gateways.
const liveSecret = "live-test-secret"

// live is a gateway run by run() in front of its own engagesim.
type live struct {
	*stack
	// acks counts the webhook deliveries the test's changes cause; see
	// awaitAcked.
	acks int
	// gw is the gateway process, its logs included.
	gw *gateway
}

// newLive starts an engagesim on httptest and a gateway in front of it with
// env added to the upstream settings. With webhooks, the gateway registers
// its listeners at its own address with liveSecret, and newLive returns once
// all six are registered.
func newLive(t *testing.T, env map[string]string, webhooks bool) *live {
	t.Helper()
	sim, err := engagesim.New(engagesim.Config{RetryDelays: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })

	full := upstreamEnv(simSrv.URL)
	if webhooks {
		// The listeners are registered with the address, so it is chosen
		// before the gateway starts.
		port := freePort(t)
		full["LISTEN_ADDR"] = fmt.Sprintf("127.0.0.1:%d", port)
		full["WEBHOOK_PUBLIC_URL"] = fmt.Sprintf("http://127.0.0.1:%d", port)
		full["WEBHOOK_SECRET"] = liveSecret
		// The tests change one booking several times in a few seconds,
		// and the simulator announces each change of a booking with the
		// same body, which the default window (two minutes, for Engage's
		// retry span) would re-read only when it ends. This simulator
		// retries within 350 ms, so a second covers its retry span.
		full["WEBHOOK_REPLAY_WINDOW"] = "1s"
	}
	for k, v := range env {
		full[k] = v
	}
	g := startGateway(t, full)
	l := &live{stack: &stack{sim: sim, simURL: simSrv.URL, gwURL: g.url}, gw: g}
	if webhooks {
		require.Eventually(t, func() bool { return sim.Stats().Listeners == len(webhook.Services()) }, 20*time.Second, 20*time.Millisecond,
			"the gateway did not register its listeners")
	}
	return l
}

// tomorrow is the first day the tests book on: a whole day ahead of every
// location's clock, so nothing booked on it has started.
func tomorrow() time.Time { return time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour) }

// londonRooms returns the ids of London HQ's rooms (Europe/London).
func londonRooms(t tb, gwURL string) []string {
	t.Helper()
	resp := queryAt(t, gwURL, `{ locations { name timeZone rooms { id } } }`, nil)
	require.Empty(t, resp.Errors)
	var out struct {
		Locations []struct {
			Name, TimeZone string
			Rooms          []struct{ ID string }
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &out))
	for _, l := range out.Locations {
		if l.Name == "London HQ" {
			require.Equal(t, "Europe/London", l.TimeZone)
			require.GreaterOrEqual(t, len(l.Rooms), 2)
			ids := make([]string, len(l.Rooms))
			for i, r := range l.Rooms {
				ids[i] = r.ID
			}
			return ids
		}
	}
	require.FailNow(t, "no London HQ", "%s", resp.Data)
	return nil
}

// seedBooking books room "from the web app" for half an hour on day (local
// wall clock), in the first free slot from 06:00, and returns the booking's
// Engage number.
func seedBooking(t tb, simURL, room string, day time.Time, title string) int64 {
	t.Helper()
	ids, err := decodeTestID(room)
	require.NoError(t, err)
	for start := day.Add(6 * time.Hour); start.Before(day.Add(21 * time.Hour)); start = start.Add(30 * time.Minute) {
		code, raw := simCall(t, simURL, http.MethodPost, "/_sim/bookings", map[string]any{
			"userId": 1001, "roomId": ids[len(ids)-1],
			"startDateTime": start.Format("2006-01-02 15:04"),
			"endDateTime":   start.Add(30 * time.Minute).Format("2006-01-02 15:04"),
			"meetingTitle":  title,
		})
		if code == http.StatusConflict {
			continue
		}
		require.Equal(t, http.StatusCreated, code, "%s", raw)
		var out struct{ BookingID int64 }
		require.NoError(t, json.Unmarshal(raw, &out))
		return out.BookingID
	}
	require.FailNow(t, "no free half hour", "room %s on %s", room, day.Format(time.DateOnly))
	return 0
}

// windowQuery reads a room's bookings over three days.
const windowQuery = `query($room: ID!, $from: DateTime!, $to: DateTime!) {
	bookings(roomIds: [$room], from: $from, to: $to) { id engageId title start }
}`

func windowVars(room string) map[string]any {
	from := tomorrow()
	return map[string]any{"room": room, "from": from.Format(time.RFC3339), "to": from.Add(3 * 24 * time.Hour).Format(time.RFC3339)}
}

// titleOf returns the title of booking id in a window's answer, "" when it
// is not there.
func titleOf(t tb, resp gqlResponse, id int64) string {
	t.Helper()
	require.Empty(t, resp.Errors)
	var out struct {
		Bookings []struct {
			EngageID apiEngageID
			Title    string
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &out))
	for _, b := range out.Bookings {
		if int64(b.EngageID) == id {
			return b.Title
		}
	}
	return ""
}

// change makes a change "from the web app" that the simulator announces in
// one webhook delivery.
func (l *live) change(t *testing.T, method, path string, body any) {
	t.Helper()
	l.admin(t, method, path, body, nil)
	l.acks++
}

// awaitAcked waits until the gateway has acknowledged a delivery for every
// change the test made, so no announcement is still in flight. It reads the
// simulator's delivery log, which resetting the stats leaves alone.
func (l *live) awaitAcked(t *testing.T) {
	t.Helper()
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		log := deliveries(c, l.simURL)
		ids := map[string]bool{}
		for _, d := range log {
			if d.Status >= 200 && d.Status < 300 {
				ids[d.DeliveryID] = true
			}
		}
		require.GreaterOrEqual(c, len(ids), l.acks, "acknowledged deliveries: %+v", log)
	}, 20*time.Second, 20*time.Millisecond, "the gateway did not acknowledge every change")
}

// deliveries reads the simulator's delivery log.
func deliveries(t tb, simURL string) []engagesim.DeliveryRecord {
	t.Helper()
	code, raw := simCall(t, simURL, http.MethodGet, "/_sim/deliveries", nil)
	require.Equal(t, http.StatusOK, code, "%s", raw)
	var log struct{ Deliveries []engagesim.DeliveryRecord }
	require.NoError(t, json.Unmarshal(raw, &log))
	return log.Deliveries
}

// requireCached waits until query answers from the cache: a read followed
// by the same read costing no upstream call at all.
func (l *live) requireCached(t *testing.T, query string, vars map[string]any) gqlResponse {
	t.Helper()
	var cached gqlResponse
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		first := queryAt(c, l.gwURL, query, vars)
		require.Empty(c, first.Errors)
		resetLiveStats(c, l.simURL)
		again := queryAt(c, l.gwURL, query, vars)
		require.Empty(c, again.Errors)
		require.JSONEq(c, string(first.Data), string(again.Data))
		require.Zero(c, liveStats(c, l.simURL).TotalCalls, "a warm cache answers without the upstream")
		cached = again
	}, 20*time.Second, 100*time.Millisecond)
	return cached
}

// changeEvent is one bookingChanged payload.
type changeEvent struct {
	Action, BookingID string
	Booking           *struct{ Title string }
}

// warmUpTitle starts the titles of the changes that prove a subscription
// live; nextEvent skips their events.
const warmUpTitle = "warm-up "

// subscribeLive subscribes over SSE to every booking change and returns once
// the subscription is live: the SSE answer comes before the subscription is
// registered, so it changes the booking warmUp (in a room the test does not
// read) until an event for it arrives. Events of the test's earlier changes
// that arrive meanwhile are skipped.
func (l *live) subscribeLive(t *testing.T, warmUp int64) <-chan json.RawMessage {
	t.Helper()
	events := sseEvents(t, l.gwURL, `subscription { bookingChanged { action bookingId booking { title } } }`, nil)
	// Each attempt is a real, new change; the loop runs on the test's
	// goroutine so its failures stop the test.
	deadline := time.Now().Add(25 * time.Second)
	for n := 1; time.Now().Before(deadline); n++ {
		l.change(t, http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", warmUp), map[string]any{"meetingTitle": fmt.Sprintf("%s%d", warmUpTitle, n)})
		wait := time.After(3 * time.Second)
	awaitWarmUp:
		for {
			select {
			case ev, ok := <-events:
				require.True(t, ok, "the event stream ended")
				if strings.Contains(string(ev), warmUpTitle) {
					return events
				}
				// The event of a change the test made before subscribing
				// (its delivery can still be on its way): settle drops
				// the rest of those.
			case <-wait:
				break awaitWarmUp
			}
		}
	}
	require.FailNow(t, "no event arrived for the warm-up changes")
	return nil
}

// settle drops the events of changes made before the test's own: their
// deliveries were acknowledged (awaitAcked), but a delivery retried under
// load can still be on its way to the subscriber. It returns once no event
// has come for quiet.
func settle(t *testing.T, events <-chan json.RawMessage, quiet time.Duration) {
	t.Helper()
	deadline := time.After(15 * time.Second)
	for {
		select {
		case _, ok := <-events:
			require.True(t, ok, "the event stream ended")
		case <-time.After(quiet):
			return
		case <-deadline:
			require.FailNow(t, "events kept coming for 15 s after every change was acknowledged")
		}
	}
}

// nextEvent returns the next event that is not a warm-up's, or false when
// none arrives within wait.
func nextEvent(t *testing.T, events <-chan json.RawMessage, wait time.Duration) (changeEvent, bool) {
	t.Helper()
	timeout := time.After(wait)
	for {
		select {
		case raw, ok := <-events:
			require.True(t, ok, "the event stream ended")
			var got struct {
				Data   struct{ BookingChanged changeEvent }
				Errors []struct{ Message string }
			}
			require.NoError(t, json.Unmarshal(raw, &got), "%s", raw)
			require.Empty(t, got.Errors, "%s", raw)
			ev := got.Data.BookingChanged
			if ev.Booking != nil && strings.HasPrefix(ev.Booking.Title, warmUpTitle) {
				continue
			}
			return ev, true
		case <-timeout:
			return changeEvent{}, false
		}
	}
}

func TestLiveCacheSurvivesRedisOutage(t *testing.T) {
	rs := startRedisServer(t)
	l := newLive(t, map[string]string{"REDIS_URL": rs.url()}, false)

	rooms := londonRooms(t, l.gwURL)
	// Without webhooks nothing announces a change: book before reading.
	id := seedBooking(t, l.simURL, rooms[0], tomorrow(), "Before the outage")
	const locations = `{ locations { id name timeZone rooms { id name } } }`
	window := windowVars(rooms[0])

	locs := l.requireCached(t, locations, nil)
	before := l.requireCached(t, windowQuery, window)
	require.Equal(t, "Before the outage", titleOf(t, before, id))
	code, checks := readiness(t, l.gwURL)
	require.Equal(t, http.StatusOK, code, "%v", checks)

	rs.stop(t)

	// The replica gives up its kept answers' lease (CACHE_ANSWERS_CHECK=
	// lease) as soon as a renewal fails, within a renewal and its timeout,
	// and drops them.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		_, checks := readiness(c, l.gwURL)
		assert.NotContains(c, checks["answers"], "under a lease")
	}, 5*time.Second, 20*time.Millisecond)
	// The cache fails open: the same answers, now from the upstream.
	resetLiveStats(t, l.simURL)
	assert.JSONEq(t, string(locs.Data), string(queryAt(t, l.gwURL, locations, nil).Data))
	assert.JSONEq(t, string(before.Data), string(queryAt(t, l.gwURL, windowQuery, window).Data))
	assert.Positive(t, liveStats(t, l.simURL).TotalCalls, "with Redis down the answers come from the upstream")
	// A query never cached answers too.
	other := queryAt(t, l.gwURL, windowQuery, windowVars(rooms[1]))
	require.Empty(t, other.Errors)
	// And the gateway tells its load balancer.
	code, checks = readiness(t, l.gwURL)
	assert.Equal(t, http.StatusServiceUnavailable, code)
	assert.NotEqual(t, "ok", checks["redis"])
	assert.Equal(t, "ok", checks["upstream"])

	// Redis back (empty: it kept nothing) and caching resumes by itself.
	rs.start(t)
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		code, checks := readiness(c, l.gwURL)
		assert.Equal(c, http.StatusOK, code, "%v", checks)
	}, 20*time.Second, 100*time.Millisecond, "/readyz did not recover")
	after := l.requireCached(t, windowQuery, window)
	assert.JSONEq(t, string(before.Data), string(after.Data))
	l.requireCached(t, locations, nil)
}

func TestLiveWebhookInvalidatesCachedBookings(t *testing.T) {
	l := newLive(t, nil, true)
	rooms := londonRooms(t, l.gwURL)
	id := seedBooking(t, l.simURL, rooms[0], tomorrow(), "Quarterly planning")
	l.acks++
	l.awaitAcked(t)

	window := windowVars(rooms[0])
	cached := l.requireCached(t, windowQuery, window)
	require.Equal(t, "Quarterly planning", titleOf(t, cached, id))

	// Someone renames the meeting in the Engage web app; the cached day is
	// dropped and the next read shows the new title (the entry would
	// otherwise live for minutes).
	l.change(t, http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", id), map[string]any{"meetingTitle": "Quarterly planning (moved online)"})
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.Equal(c, "Quarterly planning (moved online)", titleOf(c, queryAt(c, l.gwURL, windowQuery, window), id))
	}, 20*time.Second, 50*time.Millisecond)
	// And it is cached again.
	l.awaitAcked(t)
	l.requireCached(t, windowQuery, window)
}

func TestLiveWebhookDuplicateDeliveryIsOneEvent(t *testing.T) {
	l := newLive(t, nil, true)
	rooms := londonRooms(t, l.gwURL)
	id := seedBooking(t, l.simURL, rooms[0], tomorrow(), "Design review")
	warm := seedBooking(t, l.simURL, rooms[1], tomorrow(), warmUpTitle+"0")
	l.acks += 2
	events := l.subscribeLive(t, warm)
	l.awaitAcked(t)
	settle(t, events, time.Second)

	// The next delivery's first attempt is sent twice, with one delivery id.
	l.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"duplicateDeliveries": 1}, nil)
	l.change(t, http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", id), map[string]any{"meetingTitle": "Design review, first change"})
	ev, ok := nextEvent(t, events, 20*time.Second)
	require.True(t, ok, "no event for the change")
	require.NotNil(t, ev.Booking)
	assert.Equal(t, "Design review, first change", ev.Booking.Title)
	assert.Equal(t, id, mustBookingNumber(t, ev.BookingID))

	// Both requests were answered 2xx (the second as already processed)
	// before the next change is made.
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		assert.True(c, slices.ContainsFunc(deliveries(c, l.simURL), func(d engagesim.DeliveryRecord) bool {
			return d.Duplicate && d.Status == http.StatusOK
		}))
	}, 20*time.Second, 20*time.Millisecond, "the simulator did not deliver the duplicate")
	assert.Equal(t, 1, l.sim.Stats().Deliveries.Duplicated)

	// The next event is the next change's, not the duplicate's.
	l.change(t, http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", id), map[string]any{"meetingTitle": "Design review, second change"})
	ev, ok = nextEvent(t, events, 20*time.Second)
	require.True(t, ok, "no event for the second change")
	require.NotNil(t, ev.Booking)
	assert.Equal(t, "Design review, second change", ev.Booking.Title, "the duplicate delivery made a second event")
}

// meetingExternal is a Meeting External body (section 6) announcing that
// booking in room changed on day.
func meetingExternal(day time.Time, booking, room int64) []byte {
	return fmt.Appendf(nil, `{%q:{"ChangedItems":[{"Action":1,"BookingID":%d,"ResourceItemID":%d}]}}`,
		day.Format("2006-01-02")+"T00:00:00", booking, room)
}

// sign is the X-Engage-Signature of body under secret.
func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// deliver posts a notification to the gateway as the upstream does, and
// returns the status.
func deliver(t *testing.T, gwURL, method, service string, body []byte, signature, delivery string) int {
	t.Helper()
	req, err := http.NewRequestWithContext(context.Background(), method, gwURL+webhook.MountPath+service, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	if signature != "" {
		req.Header.Set("X-Engage-Signature", signature)
	}
	if delivery != "" {
		req.Header.Set("X-Engage-Delivery", delivery)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	if resp.StatusCode >= 300 {
		var msg struct{ Message string }
		assert.NoError(t, json.Unmarshal(raw, &msg), "an error answer is a JSON message: %s", raw)
		assert.NotEmpty(t, msg.Message)
	}
	return resp.StatusCode
}

func TestLiveWebhookBadSignatureChangesNothing(t *testing.T) {
	l := newLive(t, nil, true)
	rooms := londonRooms(t, l.gwURL)
	day := tomorrow()
	id := seedBooking(t, l.simURL, rooms[0], day, "Board meeting")
	warm := seedBooking(t, l.simURL, rooms[1], day, warmUpTitle+"0")
	l.acks += 2
	events := l.subscribeLive(t, warm)
	l.awaitAcked(t)
	settle(t, events, time.Second)

	window := windowVars(rooms[0])
	cached := l.requireCached(t, windowQuery, window)
	require.Equal(t, "Board meeting", titleOf(t, cached, id))

	// A forged notification for the cached room-day.
	body := meetingExternal(day, id, mustRoomNumber(t, rooms[0]))
	require.Equal(t, http.StatusUnauthorized, deliver(t, l.gwURL, http.MethodPost, webhook.PathMeetingExternal, body, sign("not-the-secret", body), "forged-1"))
	require.Equal(t, http.StatusUnauthorized, deliver(t, l.gwURL, http.MethodPost, webhook.PathMeetingExternal, body, "", "forged-2"))

	// Nothing was invalidated ...
	resetLiveStats(t, l.simURL)
	assert.JSONEq(t, string(cached.Data), string(queryAt(t, l.gwURL, windowQuery, window).Data))
	assert.Zero(t, liveStats(t, l.simURL).TotalCalls, "the cached window was still cached")
	// ... nor published.
	if ev, ok := nextEvent(t, events, 2*time.Second); ok {
		t.Errorf("a forged notification reached a subscriber: %+v", ev)
	}

	// The same body, signed with the secret: an event, and the day is read
	// again.
	resetLiveStats(t, l.simURL)
	require.Equal(t, http.StatusOK, deliver(t, l.gwURL, http.MethodPost, webhook.PathMeetingExternal, body, sign(liveSecret, body), "genuine-1"))
	ev, ok := nextEvent(t, events, 20*time.Second)
	require.True(t, ok, "no event for the signed notification")
	assert.Equal(t, id, mustBookingNumber(t, ev.BookingID))
	assert.Equal(t, "UPDATED", ev.Action)
	require.NotNil(t, ev.Booking)
	assert.Equal(t, "Board meeting", ev.Booking.Title)
	assert.JSONEq(t, string(cached.Data), string(queryAt(t, l.gwURL, windowQuery, window).Data))
	assert.Positive(t, routeCalls(liveStats(t, l.simURL), "/bookings"), "the room-day was invalidated and read again")
}

func TestLiveWebhookRejectsBadInput(t *testing.T) {
	l := newLive(t, nil, true)
	huge := append([]byte(`{"x":"`), bytes.Repeat([]byte("a"), int(webhook.DefaultMaxBody))...)
	huge = append(huge, `"}`...)
	signed := func(body string) (string, []byte) { return sign(liveSecret, []byte(body)), []byte(body) }
	tests := []struct {
		name, method, service string
		body                  []byte
		signature             string
		want                  int
	}{
		{name: "unknown service", method: http.MethodPost, service: "meeting-internal", body: []byte(`{}`), signature: sign(liveSecret, []byte(`{}`)), want: http.StatusNotFound},
		{name: "oversized body", method: http.MethodPost, service: webhook.PathMeetingExternal, body: huge, signature: sign(liveSecret, huge), want: http.StatusRequestEntityTooLarge},
		{name: "GET", method: http.MethodGet, service: webhook.PathMeetingExternal, want: http.StatusMethodNotAllowed},
	}
	for _, c := range []struct{ name, body string }{
		{"malformed JSON", `{"2030-01-02T00:00:00":{"ChangedItems":[`},
		// An array of items is the shape of the other services, not this one.
		{"wrong shape", `[{"BookingID":1,"ResourceItemID":2,"Action":1}]`},
	} {
		sig, body := signed(c.body)
		tests = append(tests, struct {
			name, method, service string
			body                  []byte
			signature             string
			want                  int
		}{c.name, http.MethodPost, webhook.PathMeetingExternal, body, sig, http.StatusBadRequest})
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, deliver(t, l.gwURL, tt.method, tt.service, tt.body, tt.signature, ""))
		})
	}
}

// awaitSubscriptions waits until the gateway at url has n subscriptions
// reading its change feed, so a change made now reaches them.
func awaitSubscriptions(t *testing.T, url string, n int) {
	t.Helper()
	require.Eventually(t, func() bool {
		open, _ := metricSum(scrape(t, url), "engagegw_subscriptions_open", nil)
		return open >= float64(n)
	}, 20*time.Second, 20*time.Millisecond, "%d subscriptions did not open on %s", n, url)
}

// capturedDelivery returns a delivery of body's announcement the gateway
// acknowledged, as someone reading the traffic would have seen it: the body
// (and so its signature) and the delivery id.
func capturedDelivery(t *testing.T, simURL, contains string) engagesim.DeliveryRecord {
	t.Helper()
	var got engagesim.DeliveryRecord
	require.EventuallyWithT(t, func(c *assert.CollectT) {
		for _, d := range deliveries(c, simURL) {
			if d.Status == http.StatusOK && strings.Contains(string(d.Body), contains) {
				got = d
				return
			}
		}
		require.Fail(c, "no acknowledged delivery mentions "+contains)
	}, 20*time.Second, 20*time.Millisecond)
	return got
}

// TestLiveWebhookReplayIsRecognised: a delivery captured on the wire and sent
// again under a new delivery id passes the signature check (the signature
// covers the body only) but is acknowledged without being processed: no
// second invalidation, no second event. A delivery without an id is refused.
// On one replica's memory and on Redis, with the default replay window.
func TestLiveWebhookReplayIsRecognised(t *testing.T) {
	for _, backend := range []string{"memory", "redis"} {
		t.Run(backend, func(t *testing.T) {
			env := map[string]string{"WEBHOOK_REPLAY_WINDOW": webhook.DefaultReplayWindow.String()}
			if backend == "redis" {
				env["REDIS_URL"] = redisForReplicas(t)
			}
			l := newLive(t, env, true)
			rooms := londonRooms(t, l.gwURL)
			day := tomorrow()
			id := seedBooking(t, l.simURL, rooms[0], day, "Salary review")
			l.acks++
			l.awaitAcked(t)
			captured := capturedDelivery(t, l.simURL, fmt.Sprintf(`"BookingID":%d`, id))

			events := sseEvents(t, l.gwURL, `subscription { bookingChanged { action bookingId booking { title } } }`, nil)
			awaitSubscriptions(t, l.gwURL, 1)
			window := windowVars(rooms[0])
			cached := l.requireCached(t, windowQuery, window)
			require.Equal(t, "Salary review", titleOf(t, cached, id))

			// The captured body and signature, under a new delivery id.
			resetLiveStats(t, l.simURL)
			require.Equal(t, http.StatusOK, deliver(t, l.gwURL, http.MethodPost, webhook.PathMeetingExternal, captured.Body, sign(liveSecret, captured.Body), "replayed-"+captured.DeliveryID))
			// And once without any: refused.
			require.Equal(t, http.StatusBadRequest, deliver(t, l.gwURL, http.MethodPost, webhook.PathMeetingExternal, captured.Body, sign(liveSecret, captured.Body), ""))

			assert.JSONEq(t, string(cached.Data), string(queryAt(t, l.gwURL, windowQuery, window).Data))
			assert.Zero(t, liveStats(t, l.simURL).TotalCalls, "the replay invalidated nothing: the window is still cached")
			if ev, ok := nextEvent(t, events, 2*time.Second); ok {
				t.Errorf("the replay reached a subscriber: %+v", ev)
			}
			samples := scrape(t, l.gwURL)
			dup, _ := metricSum(samples, "engagegw_webhook_duplicates_total", map[string]string{"service": webhook.PathMeetingExternal, "by": "body"})
			assert.Equal(t, 1.0, dup)
			refused, _ := metricSum(samples, "engagegw_webhook_requests_total", map[string]string{"service": webhook.PathMeetingExternal, "status": "400"})
			assert.Equal(t, 1.0, refused, "the delivery without an id is counted as rejected")
		})
	}
}

// TestLiveWebhookMissingDeliveryIDAllowed: with the setting, a delivery
// without an id is processed, and its retry (no id either) is recognised by
// its body.
func TestLiveWebhookMissingDeliveryIDAllowed(t *testing.T) {
	l := newLive(t, map[string]string{"WEBHOOK_ALLOW_MISSING_DELIVERY_ID": "true", "WEBHOOK_REPLAY_WINDOW": webhook.DefaultReplayWindow.String()}, true)
	rooms := londonRooms(t, l.gwURL)
	day := tomorrow()
	id := seedBooking(t, l.simURL, rooms[0], day, "Offsite planning")
	l.acks++
	l.awaitAcked(t)
	events := sseEvents(t, l.gwURL, `subscription { bookingChanged { action bookingId booking { title } } }`, nil)
	awaitSubscriptions(t, l.gwURL, 1)
	window := windowVars(rooms[0])
	l.requireCached(t, windowQuery, window)

	// A notification the gateway has not seen: the booking announced under
	// its day and the next, signed, without a delivery id.
	room := mustRoomNumber(t, rooms[0])
	body := fmt.Appendf(nil, `{%q:{"ChangedItems":[{"Action":1,"BookingID":%d,"ResourceItemID":%d}]},%q:{"ChangedItems":[{"Action":1,"BookingID":%d,"ResourceItemID":%d}]}}`,
		day.Format("2006-01-02")+"T00:00:00", id, room, day.AddDate(0, 0, 1).Format("2006-01-02")+"T00:00:00", id, room)
	resetLiveStats(t, l.simURL)
	require.Equal(t, http.StatusOK, deliver(t, l.gwURL, http.MethodPost, webhook.PathMeetingExternal, body, sign(liveSecret, body), ""))
	for range 2 { // one event per announced day
		ev, ok := nextEvent(t, events, 20*time.Second)
		require.True(t, ok, "no event for the delivery without an id")
		assert.Equal(t, id, mustBookingNumber(t, ev.BookingID))
	}
	queryAt(t, l.gwURL, windowQuery, window)
	assert.Positive(t, routeCalls(liveStats(t, l.simURL), "/bookings"), "the announced days were invalidated")

	// The upstream's retry of it carries no id either: the body recognises it.
	l.requireCached(t, windowQuery, window)
	resetLiveStats(t, l.simURL)
	require.Equal(t, http.StatusOK, deliver(t, l.gwURL, http.MethodPost, webhook.PathMeetingExternal, body, sign(liveSecret, body), ""))
	queryAt(t, l.gwURL, windowQuery, window)
	assert.Zero(t, liveStats(t, l.simURL).TotalCalls, "the retry invalidated nothing")
	if ev, ok := nextEvent(t, events, 2*time.Second); ok {
		t.Errorf("the retry reached a subscriber: %+v", ev)
	}
}

// TestLiveWebhookIdenticalChangesEndOnLatestState: a booking renamed twice
// in quick succession is announced twice with the same body, which the
// gateway cannot tell from a replay; it re-reads the booking when the
// window ends, so the subscriber's last event and the cache show the second
// title.
func TestLiveWebhookIdenticalChangesEndOnLatestState(t *testing.T) {
	l := newLive(t, map[string]string{"WEBHOOK_REPLAY_WINDOW": "10s"}, true)
	rooms := londonRooms(t, l.gwURL)
	id := seedBooking(t, l.simURL, rooms[0], tomorrow(), "Roadmap")
	l.acks++
	l.awaitAcked(t)
	events := sseEvents(t, l.gwURL, `subscription { bookingChanged { action bookingId booking { title } } }`, nil)
	awaitSubscriptions(t, l.gwURL, 1)
	window := windowVars(rooms[0])
	settle(t, events, 500*time.Millisecond)

	// The first rename may fall in the window of the seed's announcement
	// (the same body) and come as a re-read itself; either way its event
	// carries its title.
	l.change(t, http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", id), map[string]any{"meetingTitle": "Roadmap v1"})
	var last string
	for last != "Roadmap v1" {
		ev, ok := nextEvent(t, events, 20*time.Second)
		require.True(t, ok, "no event for the first rename")
		require.NotNil(t, ev.Booking)
		last = ev.Booking.Title
	}
	l.requireCached(t, windowQuery, window)
	rereads := func() float64 {
		n, _ := metricSum(scrape(t, l.gwURL), "engagegw_webhook_rereads_total", map[string]string{"service": webhook.PathMeetingExternal})
		return n
	}
	before := rereads()
	l.change(t, http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", id), map[string]any{"meetingTitle": "Roadmap v2"})
	ev, ok := nextEvent(t, events, 20*time.Second)
	require.True(t, ok, "the second rename never reached the subscriber")
	require.NotNil(t, ev.Booking)
	assert.Equal(t, "Roadmap v2", ev.Booking.Title)
	assert.Equal(t, "Roadmap v2", titleOf(t, queryAt(t, l.gwURL, windowQuery, window), id), "the cache was invalidated too")
	assert.Equal(t, before+1, rereads(), "the second announcement came within the window and was re-read when it ended")
}
