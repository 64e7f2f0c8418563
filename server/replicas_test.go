package server

// Several replicas, as a customer runs them: real gateway processes sharing
// one real Redis and one engagesim, over real HTTP.

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/webhook"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReplicasShareCacheAndEventsThroughRedis(t *testing.T) {
	replicasShareCacheAndEventsThroughRedis(t, map[string]string{"REDIS_URL": redisForReplicas(t)})
}

// replicasShareCacheAndEventsThroughRedis runs TestReplicasShareCacheAndEventsThroughRedis's test on the Redis that redisEnv names.
func replicasShareCacheAndEventsThroughRedis(t *testing.T, redisEnv map[string]string) {
	bin := buildGateway(t)

	sim, err := engagesim.New(engagesim.Config{RetryDelays: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	s := &stack{sim: sim, simURL: simSrv.URL}

	portA, portB := freePort(t), freePort(t)
	env := withEnv(withEnv(upstreamEnv(simSrv.URL), redisEnv), map[string]string{
		// The fleet's public address: here replica A stands in for the
		// load balancer, so every notification lands on A.
		"WEBHOOK_PUBLIC_URL": fmt.Sprintf("http://127.0.0.1:%d", portA),
		"WEBHOOK_SECRET":     "replica-test-secret",
		// The change below is repeated until an event arrives, and every
		// change of one booking is announced with the same body: with
		// the default window (two minutes, for Engage's retry span) a
		// repeat would be re-read only when it ends. This simulator
		// retries within 350 ms.
		"WEBHOOK_REPLAY_WINDOW": "1s",
	})
	a := startReplica(t, bin, portA, env)
	b := startReplica(t, bin, portB, env)

	// Both replicas register the same six listeners: idempotent.
	require.Eventually(t, func() bool { return s.stats(t).Listeners == 6 }, 20*time.Second, 50*time.Millisecond)

	// A room in London and one of its bookings tomorrow.
	var locs struct {
		Locations []struct {
			ID    string
			Name  string
			Rooms []struct{ ID string }
		}
	}
	resp := b.query(t, `{ locations { id name rooms { id } } }`, nil)
	require.Empty(t, resp.Errors)
	require.NoError(t, json.Unmarshal(resp.Data, &locs))
	require.NotEmpty(t, locs.Locations[0].Rooms)
	room := locs.Locations[0].Rooms[0].ID

	const window = `query($room: ID!, $from: DateTime!, $to: DateTime!) {
		bookings(roomIds: [$room], from: $from, to: $to) { id title start private }
	}`
	from := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	vars := map[string]any{"room": room, "from": from.Format(time.RFC3339), "to": from.Add(3 * 24 * time.Hour).Format(time.RFC3339)}
	type booking struct {
		ID, Title, Start string
		Private          bool
	}
	type bookings struct{ Bookings []booking }
	read := func(r *replica) bookings {
		t.Helper()
		resp := r.query(t, window, vars)
		require.Empty(t, resp.Errors)
		var out bookings
		require.NoError(t, json.Unmarshal(resp.Data, &out))
		return out
	}

	// B reads (and caches) the room's bookings; A then answers the same
	// query from the shared cache without a single upstream call.
	before := read(b)
	if len(before.Bookings) == 0 {
		// Make sure there is a booking to change.
		s.admin(t, http.MethodPost, "/_sim/bookings", map[string]any{
			"userId": 1001, "roomId": mustRoomNumber(t, room),
			"startDateTime": from.Add(10 * time.Hour).Format("2006-01-02 15:04"),
			"endDateTime":   from.Add(11 * time.Hour).Format("2006-01-02 15:04"), "meetingTitle": "Seed",
		}, nil)
		require.Eventually(t, func() bool { return len(read(b).Bookings) > 0 }, 10*time.Second, 50*time.Millisecond)
		before = read(b)
	}
	s.resetStats(t)
	cached := read(a)
	assert.Equal(t, before, cached)
	assert.Zero(t, s.stats(t).TotalCalls, "a warm shared cache answers without the upstream")

	// Subscribe on B; the change will land on A.
	events := sseEvents(t, b.url, `subscription($room: ID!) {
		bookingChanged(roomIds: [$room]) { action source bookingId booking { id title } }
	}`, map[string]any{"room": room})

	// A private meeting's new title would be hidden from this anonymous
	// caller: change another.
	i := slices.IndexFunc(before.Bookings, func(b booking) bool { return !b.Private })
	require.GreaterOrEqual(t, i, 0, "no booking that is not private: %+v", before.Bookings)
	target := before.Bookings[i]
	engageID := mustBookingNumber(t, target.ID)
	// A change "from the web app".
	require.Eventually(t, func() bool {
		// The SSE subscription is registered asynchronously; a change made
		// before it would be missed, so retry the change until an event
		// comes (each retry is a real, new change).
		s.admin(t, http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", engageID), map[string]any{"meetingTitle": "Moved to the board room " + time.Now().Format("150405.000")}, nil)
		select {
		case ev := <-events:
			var got struct {
				Data struct {
					BookingChanged struct {
						Action, Source, BookingID string
						Booking                   struct{ ID, Title string }
					}
				}
			}
			require.NoError(t, json.Unmarshal(ev, &got), "%s", ev)
			bc := got.Data.BookingChanged
			assert.Equal(t, target.ID, bc.BookingID)
			assert.Equal(t, "UPDATED", bc.Action)
			assert.True(t, strings.HasPrefix(bc.Booking.Title, "Moved to the board room"), "the event carries the booking read fresh: %s", ev)
			return true
		case <-time.After(2 * time.Second):
			return false
		}
	}, 20*time.Second, 10*time.Millisecond)

	// Both replicas now show the new title: the old cached window was
	// invalidated, not merely cold.
	for _, r := range []*replica{a, b} {
		after := read(r)
		var title string
		for _, bk := range after.Bookings {
			if bk.ID == target.ID {
				title = bk.Title
			}
		}
		assert.True(t, strings.HasPrefix(title, "Moved to the board room"), "replica %s shows %q", r.url, title)
	}
	// And only the invalidated room-day was read again: one bookings call
	// covering the missing day, shared by both replicas.
	st := s.stats(t)
	var bookingCalls int
	for _, c := range st.Calls {
		if c.Route == "/bookings" {
			bookingCalls += c.Count
		}
	}
	assert.Equal(t, 1, bookingCalls, "exactly the re-read the invalidation needs: %+v", st.Calls)
}

// TestReplicasSharePersistedQueries: a query registered on one replica is
// known by its hash on every other, through Redis.
func TestReplicasSharePersistedQueries(t *testing.T) {
	replicasSharePersistedQueries(t, map[string]string{"REDIS_URL": redisForReplicas(t)})
}

// replicasSharePersistedQueries runs TestReplicasSharePersistedQueries's test on the Redis that redisEnv names.
func replicasSharePersistedQueries(t *testing.T, redisEnv map[string]string) {
	bin := buildGateway(t)
	sim, err := engagesim.New(engagesim.Config{})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	env := withEnv(upstreamEnv(simSrv.URL), redisEnv)
	a := startReplica(t, bin, freePort(t), env)
	b := startReplica(t, bin, freePort(t), env)

	const query = `{ countries { name } }`
	sum := sha256.Sum256([]byte(query))
	hash := hex.EncodeToString(sum[:])
	ext := map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
	post := func(r *replica, body map[string]any) gqlResponse {
		t.Helper()
		raw, err := json.Marshal(body)
		require.NoError(t, err)
		resp, err := http.Post(r.url+"/graphql", "application/json", strings.NewReader(string(raw)))
		require.NoError(t, err)
		defer resp.Body.Close()
		var out gqlResponse
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
		return out
	}

	// Unknown hash: the client is asked for the text.
	miss := post(b, map[string]any{"extensions": ext})
	require.NotEmpty(t, miss.Errors)
	assert.Equal(t, "PERSISTED_QUERY_NOT_FOUND", miss.Errors[0].Extensions["code"])

	// Registered on A with its text ...
	reg := post(a, map[string]any{"query": query, "extensions": ext})
	require.Empty(t, reg.Errors)
	// ... B answers the hash alone.
	hit := post(b, map[string]any{"extensions": ext})
	require.Empty(t, hit.Errors)
	assert.JSONEq(t, string(reg.Data), string(hit.Data))

	// A text that does not hash to the hash is refused, not stored.
	bad := post(a, map[string]any{"query": `{ countries { id } }`, "extensions": ext})
	require.NotEmpty(t, bad.Errors)
	again := post(b, map[string]any{"extensions": ext})
	require.Empty(t, again.Errors)
	assert.JSONEq(t, string(reg.Data), string(again.Data))
}

// mustRoomNumber and mustBookingNumber read the Engage number out of a
// global id; tests may look inside ids, clients must not.
func mustRoomNumber(t testing.TB, id string) int64 {
	t.Helper()
	g, err := decodeTestID(id)
	require.NoError(t, err)
	return g[len(g)-1]
}

func mustBookingNumber(t *testing.T, id string) int64 { return mustRoomNumber(t, id) }

// decodeTestID splits a global id into its numbers.
func decodeTestID(id string) ([]int64, error) {
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return nil, err
	}
	parts := strings.Split(string(raw), ":")
	out := make([]int64, 0, len(parts)-1)
	for _, p := range parts[1:] {
		n, err := strconv.ParseInt(p, 10, 64)
		if err != nil {
			return nil, err
		}
		out = append(out, n)
	}
	return out, nil
}

// TestReplicasRecogniseAReplay: a delivery processed on one replica, sent
// again to another under a new delivery id (a replay: the signature covers
// the body only), is recognised there through Redis: acknowledged, with no
// second invalidation and no second event.
func TestReplicasRecogniseAReplay(t *testing.T) {
	replicasRecogniseAReplay(t, map[string]string{"REDIS_URL": redisForReplicas(t)})
}

// replicasRecogniseAReplay runs TestReplicasRecogniseAReplay's test on the Redis that redisEnv names.
func replicasRecogniseAReplay(t *testing.T, redisEnv map[string]string) {
	bin := buildGateway(t)
	sim, err := engagesim.New(engagesim.Config{})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	const secret = "replica-replay-secret"
	// No WEBHOOK_PUBLIC_URL: the simulator delivers nothing; the test does.
	env := withEnv(withEnv(upstreamEnv(simSrv.URL), redisEnv), map[string]string{"WEBHOOK_SECRET": secret})
	a := startReplica(t, bin, freePort(t), env)
	b := startReplica(t, bin, freePort(t), env)
	s := &stack{sim: sim, simURL: simSrv.URL}

	rooms := londonRooms(t, a.url)
	day := tomorrow()
	id := seedBooking(t, simSrv.URL, rooms[0], day, "Acquisition talks")
	body := meetingExternal(day, id, mustRoomNumber(t, rooms[0]))
	events := sseEvents(t, b.url, `subscription { bookingChanged { action bookingId booking { title } } }`, nil)
	awaitSubscriptions(t, b.url, 1)

	// The upstream's delivery lands on A; its event reaches B's subscriber.
	require.Equal(t, http.StatusOK, deliver(t, a.url, http.MethodPost, webhook.PathMeetingExternal, body, sign(secret, body), "original-delivery"))
	ev, ok := nextEvent(t, events, 20*time.Second)
	require.True(t, ok, "no event for the delivery")
	assert.Equal(t, id, mustBookingNumber(t, ev.BookingID))

	// The window is cached for the fleet.
	window := windowVars(rooms[0])
	readB := func() gqlResponse { t.Helper(); return b.query(t, windowQuery, window) }
	first := readB()
	require.Equal(t, "Acquisition talks", titleOf(t, first, id))

	// The same body and signature on B, under a new id and then under the
	// original one (the upstream's retry).
	s.resetStats(t)
	require.Equal(t, http.StatusOK, deliver(t, b.url, http.MethodPost, webhook.PathMeetingExternal, body, sign(secret, body), "replayed-delivery"))
	require.Equal(t, http.StatusOK, deliver(t, b.url, http.MethodPost, webhook.PathMeetingExternal, body, sign(secret, body), "original-delivery"))
	assert.JSONEq(t, string(first.Data), string(readB().Data))
	assert.Zero(t, s.stats(t).TotalCalls, "nothing was invalidated")
	if ev, ok := nextEvent(t, events, 2*time.Second); ok {
		t.Errorf("the replay reached a subscriber: %+v", ev)
	}
	samples := scrape(t, b.url)
	byBody, _ := metricSum(samples, "engagegw_webhook_duplicates_total", map[string]string{"service": webhook.PathMeetingExternal, "by": "body"})
	byID, _ := metricSum(samples, "engagegw_webhook_duplicates_total", map[string]string{"service": webhook.PathMeetingExternal, "by": "delivery"})
	assert.Equal(t, []float64{1, 1}, []float64{byBody, byID}, "B recognised the replay by A's body claim and the retry by A's id claim")
}
