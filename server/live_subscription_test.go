package server

// Subscriptions end to end, through clients this project did not write:
// graphql-ws, the reference client of the graphql-transport-ws protocol, and
// subscriptions-transport-ws, the client of the legacy graphql-ws protocol,
// both from npm (clients/) and run by node; server-sent events read by a
// plain net/http client; and raw websockets for what those libraries hide
// (legacy keep-alives, a client that stops answering or reading). The test
// publishes changes into the gateway's broker as the webhook receiver would.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/engagegql/gateway/guard"
	"github.com/engagegql/gateway/pubsub"
	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// subEnv is a gateway whose subscriptions are fed by a broker the test
// publishes to, with facts of the demo data to publish about.
type subEnv struct {
	*stack
	broker *pubsub.Memory
	fx     subFixture
}

// subFixture is what the demo data holds that changes can name.
type subFixture struct {
	// location is the location of booking; its rooms include room.
	location, room string
	// bookingID is the global id of a booking of room; bookingTitle is its
	// title as the API returns it.
	bookingID, bookingTitle string
	// otherLocation is another location, and otherRoom one of its rooms.
	otherLocation, otherRoom string
	// visitorID is the global id of a visitor expected at location on
	// visitDay; visitorName is their first name as the API returns it.
	visitorID, visitorName string
	visitDay               workplace.Date
}

// newSubEnv starts a stack fed by a new memory broker with opts.
func newSubEnv(t *testing.T, opts pubsub.Options, edits ...func(*serverDeps)) *subEnv {
	t.Helper()
	opts.Logger = slog.New(slog.DiscardHandler)
	b := pubsub.NewMemory(opts)
	t.Cleanup(func() { _ = b.Close() })
	e := &subEnv{stack: newStackWithFeed(t, b, edits...), broker: b}
	e.fx = e.fixture(t)
	return e
}

// fixture finds a booking (with its room and location), another location
// with a room, and a visitor, through the API.
func (e *subEnv) fixture(t *testing.T) subFixture {
	t.Helper()
	var locs struct {
		Locations []struct {
			ID       string
			TimeZone string
			Rooms    []struct{ ID string }
		}
	}
	e.data(t, `{ locations { id timeZone rooms { id } } }`, nil, &locs)
	require.GreaterOrEqual(t, len(locs.Locations), 2)

	var fx subFixture
	now := time.Now()
	for _, l := range locs.Locations {
		if len(l.Rooms) == 0 {
			continue
		}
		if fx.location == "" {
			var bs struct {
				Bookings []struct {
					ID, Title string
					Room      struct{ ID string }
				}
			}
			e.data(t, `query($l: ID!, $from: DateTime!, $to: DateTime!) { bookings(locationId: $l, from: $from, to: $to) { id title room { id } } }`,
				map[string]any{"l": l.ID, "from": now.Add(-24 * time.Hour).Format(time.RFC3339), "to": now.Add(7 * 24 * time.Hour).Format(time.RFC3339)}, &bs)
			if len(bs.Bookings) > 0 {
				b := bs.Bookings[0]
				fx.location, fx.room, fx.bookingID, fx.bookingTitle = l.ID, b.Room.ID, b.ID, b.Title
				zone, err := time.LoadLocation(l.TimeZone)
				require.NoError(t, err)
				fx.visitorID, fx.visitorName, fx.visitDay = e.visitor(t, l.ID, workplace.DateOf(now.In(zone)))
				continue
			}
		}
		if fx.otherLocation == "" {
			fx.otherLocation, fx.otherRoom = l.ID, l.Rooms[0].ID
		}
	}
	require.NotEmpty(t, fx.bookingID, "no location of the demo data has bookings this week")
	require.NotEmpty(t, fx.otherRoom)
	require.NotEmpty(t, fx.bookingTitle)
	return fx
}

// visitor finds a visitor expected at a location, from day on.
func (e *subEnv) visitor(t *testing.T, loc string, day workplace.Date) (id, name string, on workplace.Date) {
	t.Helper()
	for i := 0; i < 14; i++ {
		var vs struct {
			Visitors struct {
				Nodes []struct{ ID, FirstName string }
			}
		}
		d := day.AddDays(i)
		e.data(t, `query($d: Date!, $l: ID) { visitors(date: $d, locationId: $l, first: 1) { nodes { id firstName } } }`,
			map[string]any{"d": d.String(), "l": loc}, &vs)
		if n := vs.Visitors.Nodes; len(n) > 0 {
			return n[0].ID, n[0].FirstName, d
		}
	}
	t.Fatalf("no visitor expected at %s in the 14 days from %s", loc, day)
	return "", "", workplace.Date{}
}

// data runs a query that must succeed and decodes its data into out.
func (e *subEnv) data(t testing.TB, query string, vars map[string]any, out any) {
	t.Helper()
	resp := e.query(t, query, vars)
	require.Empty(t, resp.Errors, "%s", query)
	require.NoError(t, json.Unmarshal(resp.Data, out))
}

// publish hands c to the broker, as the webhook receiver does.
func (e *subEnv) publish(t testing.TB, c workplace.Change) {
	t.Helper()
	require.NoError(t, e.broker.Publish(context.Background(), c))
}

// subscribers waits until the gateway holds exactly n subscriptions: it
// registers a subscription after the client's handshake, so a client's
// "ready" does not yet mean the change feed reaches it. (Subscriptions
// that ask for the same thing share one reader of the feed.)
func (e *subEnv) subscribers(t testing.TB, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return e.subscriptions() == n }, subWait, 5*time.Millisecond,
		"want %d subscriptions", n)
}

// idPart is the i-th number in a global id ("Type:n:n..." in base64url).
func idPart(t testing.TB, id string, i int) int64 {
	t.Helper()
	raw, err := base64.RawURLEncoding.DecodeString(id)
	require.NoError(t, err)
	parts := strings.Split(string(raw), ":")
	require.Greater(t, len(parts), i+1, "%s", raw)
	n, err := strconv.ParseInt(parts[i+1], 10, 64)
	require.NoError(t, err)
	return n
}

// Subscription documents the scenarios use.
const (
	bookingSubscription = `subscription($l: ID, $r: [ID!]) {
		bookingChanged(locationId: $l, roomIds: $r) { action source at bookingId booking { id title } room { id } }
	}`
	visitorSubscription = `subscription($l: ID) {
		visitorChanged(locationId: $l) { action source date visitor { id firstName } location { id } }
	}`
)

// bookingEvent is the payload of bookingSubscription.
type bookingEvent struct {
	Data struct {
		BookingChanged struct {
			Action, Source, At, BookingID string
			Booking                       *struct{ ID, Title string }
			Room                          *struct{ ID string }
		}
	}
	Errors []struct {
		Message    string
		Extensions map[string]any
	}
}

// visitorEvent is the payload of visitorSubscription.
type visitorEvent struct {
	Data struct {
		VisitorChanged struct {
			Action, Source, Date string
			Visitor              *struct{ ID, FirstName string }
			Location             *struct{ ID string }
		}
	}
	Errors []struct{ Message string }
}

func decodeEvent[T any](t testing.TB, l subLine) T {
	t.Helper()
	var v T
	require.NoError(t, json.Unmarshal(l.Payload, &v), "%s", l)
	return v
}

// subTransport starts a subscriber that waits for n events over one
// transport, and asserts how it ends after them.
type subTransport struct {
	name  string
	start func(t *testing.T, e *subEnv, query string, vars map[string]any, n int) (s *subStream, finished func(t *testing.T))
}

func subTransports() []subTransport {
	viaNode := func(script string) func(*testing.T, *subEnv, string, map[string]any, int) (*subStream, func(*testing.T)) {
		return func(t *testing.T, e *subEnv, query string, vars map[string]any, n int) (*subStream, func(*testing.T)) {
			t.Helper()
			c := startNodeClient(t, nodeForClients(t), script, e.gwURL, query, vars, n, false)
			return c.subStream, func(t *testing.T) {
				t.Helper()
				// After n events the client closes its connection and exits 0.
				c.ended(t)
				assert.Equal(t, 0, c.exitCode(t), "%s", c.logs())
			}
		}
	}
	return []subTransport{
		{name: "graphql-transport-ws via graphql-ws", start: viaNode(transportWSScript)},
		{name: "legacy graphql-ws via subscriptions-transport-ws", start: viaNode(legacyWSScript)},
		{name: "server-sent events via graphql-sse, distinct connections", start: viaNode(sseScript)},
		{name: "server-sent events via graphql-sse, single connection", start: viaNode(sseSingleScript)},
		{name: "server-sent events via net/http", start: func(t *testing.T, e *subEnv, query string, vars map[string]any, _ int) (*subStream, func(*testing.T)) {
			t.Helper()
			s, cancel := startSSE(t, e.gwURL, query, vars)
			return s, func(t *testing.T) {
				t.Helper()
				// An SSE stream ends when the client disconnects.
				cancel()
				s.ended(t)
			}
		}},
	}
}

// TestSubscriptionEventsThroughRealClients subscribes to booking and visitor
// changes over each transport and publishes changes, some of which the
// filters must keep out. Each client gets exactly its matching changes, in
// publish order, with the entity read fresh from the API; and when the
// clients go, so do their subscriptions.
func TestSubscriptionEventsThroughRealClients(t *testing.T) {
	for _, tr := range subTransports() {
		t.Run(tr.name, func(t *testing.T) {
			t.Parallel()
			e := newSubEnv(t, pubsub.Options{})
			fx := e.fx
			roomID := workplace.RoomID(idPart(t, fx.room, 1))
			locID := workplace.LocationID(idPart(t, fx.location, 0))
			otherLocID := workplace.LocationID(idPart(t, fx.otherLocation, 0))
			bookingID := workplace.BookingID(idPart(t, fx.bookingID, 0))

			// One client filters bookings by location, one by room; one
			// takes visitors at the location.
			byLocation, byLocationDone := tr.start(t, e, bookingSubscription, map[string]any{"l": fx.location}, 2)
			byRoom, byRoomDone := tr.start(t, e, bookingSubscription, map[string]any{"r": []string{fx.room}}, 2)
			visitors, visitorsDone := tr.start(t, e, visitorSubscription, map[string]any{"l": fx.location}, 1)
			for _, s := range []*subStream{byLocation, byRoom, visitors} {
				s.expect(t, "ready")
			}
			e.subscribers(t, 3)

			at := time.Now().UTC().Truncate(time.Second)
			// Kept out: another location's room, and another location's
			// visitor; and for the booking clients, every visitor change.
			e.publish(t, workplace.Change{Kind: workplace.KindBooking, Action: workplace.ActionCreated, Source: workplace.SourceWeb, At: at,
				BookingID: bookingID + 1_000_000, RoomID: workplace.RoomID(idPart(t, fx.otherRoom, 1))})
			e.publish(t, workplace.Change{Kind: workplace.KindVisitor, Action: workplace.ActionArrived, Source: workplace.SourceWeb, At: at,
				VisitorID: workplace.VisitorID(idPart(t, fx.visitorID, 2)), LocationID: otherLocID, Date: fx.visitDay})
			// Delivered, in this order.
			e.publish(t, workplace.Change{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceWeb, At: at.Add(time.Second),
				BookingID: bookingID, RoomID: roomID})
			e.publish(t, workplace.Change{Kind: workplace.KindVisitor, Action: workplace.ActionArrived, Source: workplace.SourceExternal, At: at.Add(2 * time.Second),
				VisitorID: workplace.VisitorID(idPart(t, fx.visitorID, 2)), LocationID: locID, Date: fx.visitDay})
			e.publish(t, workplace.Change{Kind: workplace.KindBooking, Action: workplace.ActionDeleted, Source: workplace.SourceExternal, At: at.Add(3 * time.Second),
				BookingID: bookingID, RoomID: roomID})

			for _, s := range []*subStream{byLocation, byRoom} {
				first := decodeEvent[bookingEvent](t, s.expect(t, "next"))
				require.Empty(t, first.Errors, "%s", s.name)
				ev := first.Data.BookingChanged
				assert.Equal(t, "UPDATED", ev.Action, "%s: the first event is the first matching change", s.name)
				assert.Equal(t, "WEB", ev.Source)
				assert.Equal(t, fx.bookingID, ev.BookingID)
				if assert.NotNil(t, ev.Booking, "%s: the booking is read fresh", s.name) {
					assert.Equal(t, fx.bookingID, ev.Booking.ID)
					assert.Equal(t, fx.bookingTitle, ev.Booking.Title, "%s: the title the API returns", s.name)
				}
				if assert.NotNil(t, ev.Room) {
					assert.Equal(t, fx.room, ev.Room.ID)
				}
				firstAt, err := time.Parse(time.RFC3339, ev.At)
				require.NoError(t, err)
				assert.True(t, firstAt.Equal(at.Add(time.Second)), "%s: at %s", s.name, ev.At)

				second := decodeEvent[bookingEvent](t, s.expect(t, "next"))
				require.Empty(t, second.Errors, "%s", s.name)
				ev = second.Data.BookingChanged
				assert.Equal(t, "DELETED", ev.Action, "%s: changes arrive in publish order", s.name)
				assert.Equal(t, "EXTERNAL", ev.Source)
				assert.Equal(t, fx.bookingID, ev.BookingID)
				assert.Nil(t, ev.Booking, "%s: a deleted booking is null", s.name)
				if assert.NotNil(t, ev.Room, "%s: a deleted booking's room is still named", s.name) {
					assert.Equal(t, fx.room, ev.Room.ID)
				}
			}

			v := decodeEvent[visitorEvent](t, visitors.expect(t, "next"))
			require.Empty(t, v.Errors)
			ev := v.Data.VisitorChanged
			assert.Equal(t, "ARRIVED", ev.Action, "the other location's visitor change is kept out")
			assert.Equal(t, "EXTERNAL", ev.Source)
			assert.Equal(t, fx.visitDay.String(), ev.Date)
			if assert.NotNil(t, ev.Visitor, "the visitor is read fresh") {
				assert.Equal(t, fx.visitorID, ev.Visitor.ID)
				assert.Equal(t, fx.visitorName, ev.Visitor.FirstName)
			}
			if assert.NotNil(t, ev.Location) {
				assert.Equal(t, fx.location, ev.Location.ID)
			}

			byLocationDone(t)
			byRoomDone(t)
			visitorsDone(t)
			e.subscribers(t, 0)
		})
	}
}

// TestSubscriptionErrorsReachClients: a subscription the gateway refuses (a
// location id it never issued) reaches each client as an event with a
// client-facing error, the stream then ends, the node clients exit non-zero,
// and nothing stays subscribed.
func TestSubscriptionErrorsReachClients(t *testing.T) {
	e := newSubEnv(t, pubsub.Options{})
	vars := map[string]any{"l": "not-an-id"}
	check := func(t *testing.T, l subLine) {
		t.Helper()
		ev := decodeEvent[bookingEvent](t, l)
		require.Len(t, ev.Errors, 1, "%s", l)
		assert.Contains(t, ev.Errors[0].Message, `"not-an-id" is not an id`)
		assert.Equal(t, workplace.EINVALID, ev.Errors[0].Extensions["code"])
	}
	for _, script := range []string{transportWSScript, legacyWSScript} {
		t.Run(script, func(t *testing.T) {
			c := startNodeClient(t, nodeForClients(t), script, e.gwURL, bookingSubscription, vars, 1, false)
			c.expect(t, "ready")
			check(t, c.expect(t, "next"))
			assert.Equal(t, 1, c.exitCode(t), "%s", c.logs())
		})
	}
	t.Run("sse", func(t *testing.T) {
		s, _ := startSSE(t, e.gwURL, bookingSubscription, vars)
		s.expect(t, "ready")
		check(t, s.expect(t, "next"))
		s.expect(t, "complete")
		s.ended(t)
	})
	e.subscribers(t, 0)
}

// TestSubscriptionClientsLeavingFreeTheirSubscriptions: a client that
// unsubscribes on an open connection, one that closes its connection, and
// one that vanishes without a word (a killed process, a dropped SSE
// request) each free their subscription on the gateway.
func TestSubscriptionClientsLeavingFreeTheirSubscriptions(t *testing.T) {
	e := newSubEnv(t, pubsub.Options{})
	vars := map[string]any{"l": e.fx.location}
	node := nodeForClients(t)

	for _, script := range []string{transportWSScript, legacyWSScript} {
		t.Run(script, func(t *testing.T) {
			c := startNodeClient(t, node, script, e.gwURL, bookingSubscription, vars, 0, true)
			c.expect(t, "ready")
			e.subscribers(t, 1)
			c.send(t, "unsubscribe")
			c.expect(t, "unsubscribed")
			e.subscribers(t, 0)
			c.send(t, "close")
			c.expect(t, "closed")
			assert.Equal(t, 0, c.exitCode(t), "%s", c.logs())

			c = startNodeClient(t, node, script, e.gwURL, bookingSubscription, vars, 0, true)
			c.expect(t, "ready")
			e.subscribers(t, 1)
			c.send(t, "close")
			c.expect(t, "closed")
			assert.Equal(t, 0, c.exitCode(t), "%s", c.logs())
			e.subscribers(t, 0)

			c = startNodeClient(t, node, script, e.gwURL, bookingSubscription, vars, 0, true)
			c.expect(t, "ready")
			e.subscribers(t, 1)
			require.NoError(t, c.cmd.Process.Kill())
			c.exitCode(t)
			e.subscribers(t, 0)
		})
	}
	t.Run("sse", func(t *testing.T) {
		s, cancel := startSSE(t, e.gwURL, bookingSubscription, vars)
		s.expect(t, "ready")
		e.subscribers(t, 1)
		cancel()
		e.subscribers(t, 0)
	})
}

// TestSubscriptionKeepAlive: idle connections of every transport are
// pinged at the keep-alive interval, and a graphql-transport-ws client that
// does not answer with pong is dropped, which frees its subscription.
func TestSubscriptionKeepAlive(t *testing.T) {
	const interval = 200 * time.Millisecond
	e := newSubEnv(t, pubsub.Options{}, func(d *serverDeps) { d.keepAlive = interval })
	vars := map[string]any{"l": e.fx.location}

	t.Run("graphql-transport-ws via graphql-ws", func(t *testing.T) {
		c := startNodeClient(t, nodeForClients(t), transportWSScript, e.gwURL, bookingSubscription, vars, 0, true)
		c.expect(t, "ready")
		// The client answers each ping with pong, so the connection and
		// its subscription outlive several intervals.
		for range 3 {
			c.expect(t, "ping")
		}
		assert.Equal(t, 1, e.broker.Subscribers())
		c.send(t, "close")
		c.expect(t, "closed")
		assert.Equal(t, 0, c.exitCode(t), "%s", c.logs())
		e.subscribers(t, 0)
	})

	t.Run("graphql-transport-ws without pong", func(t *testing.T) {
		w := dialRaw(t, e.gwURL, "graphql-transport-ws")
		w.write(t, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": bookingSubscription, "variables": vars}})
		e.subscribers(t, 1)
		assert.Equal(t, "ping", w.read(t).Type)
		// Never answering: the gateway closes the connection after two
		// intervals without a pong.
		ctx, cancel := context.WithTimeout(w.ctx, subWait)
		defer cancel()
		for {
			_, b, err := w.c.Read(ctx)
			if err != nil {
				require.NoError(t, ctx.Err(), "the gateway kept a connection that answers no ping")
				assert.Equal(t, websocket.StatusPolicyViolation, websocket.CloseStatus(err), "closed, saying why: %v", err)
				break
			}
			var m wsMessage
			require.NoError(t, json.Unmarshal(b, &m))
			require.Equal(t, "ping", m.Type, "%s", b)
		}
		e.subscribers(t, 0)
	})

	t.Run("legacy graphql-ws", func(t *testing.T) {
		w := dialRaw(t, e.gwURL, "graphql-ws")
		w.write(t, map[string]any{"id": "1", "type": "start", "payload": map[string]any{"query": bookingSubscription, "variables": vars}})
		// One "ka" follows the ack at once, then one per interval.
		start := time.Now()
		for range 3 {
			assert.Equal(t, "ka", w.read(t).Type)
		}
		assert.GreaterOrEqual(t, time.Since(start), interval, "two of the ka's came by the interval")
		e.subscribers(t, 1)
	})

	t.Run("server-sent events", func(t *testing.T) {
		s, _ := startSSE(t, e.gwURL, bookingSubscription, vars)
		s.expect(t, "ready")
		for range 2 {
			s.expect(t, "ping")
		}
	})
}

// TestSubscriptionSlowSubscriberIsDropped: a client that stops reading
// falls behind and is dropped; when it reads again it gets what was queued,
// then an error telling it to resubscribe, then the end of the stream. A
// fast client on the same broker meanwhile gets every change, in order.
func TestSubscriptionSlowSubscriberIsDropped(t *testing.T) {
	e := newSubEnv(t, pubsub.Options{SubscriberBuffer: 1})
	fx := e.fx
	change := func(i int) workplace.Change {
		return workplace.Change{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceWeb,
			At:        time.Unix(1_700_000_000+int64(i), 0).UTC(),
			BookingID: workplace.BookingID(idPart(t, fx.bookingID, 0)), RoomID: workplace.RoomID(idPart(t, fx.room, 1))}
	}
	vars := map[string]any{"r": []string{fx.room}}

	fast := startNodeClient(t, nodeForClients(t), transportWSScript, e.gwURL, bookingSubscription, vars, 0, true)
	fast.expect(t, "ready")
	e.subscribers(t, 1)

	// The slow client asks for a big payload (the booking many times over)
	// so that the socket buffers between it and the gateway fill within a
	// few events once it stops reading. It speaks the legacy protocol,
	// whose keep-alive needs no answer.
	var big strings.Builder
	big.WriteString(`subscription($r: [ID!]) { bookingChanged(roomIds: $r) { action at `)
	for i := range 300 {
		fmt.Fprintf(&big, "b%d: booking { id title start end } ", i)
	}
	big.WriteString("} }")
	slow := dialRaw(t, e.gwURL, "graphql-ws")
	slow.write(t, map[string]any{"id": "1", "type": "start", "payload": map[string]any{"query": big.String(), "variables": vars}})
	require.Equal(t, "ka", slow.read(t).Type)
	e.subscribers(t, 2)

	// One change at a time, each awaited at the fast client, until the
	// broker drops the slow one.
	const most = 3000
	sent := 0
	for ; sent < most && e.broker.Dropped() == 0; sent++ {
		e.publish(t, change(sent))
		ev := decodeEvent[bookingEvent](t, fast.expect(t, "next"))
		require.Empty(t, ev.Errors)
		at, err := time.Parse(time.RFC3339, ev.Data.BookingChanged.At)
		require.NoError(t, err)
		require.True(t, at.Equal(change(sent).At), "fast client: event %d in order, got %s", sent, ev.Data.BookingChanged.At)
	}
	require.EqualValues(t, 1, e.broker.Dropped(), "the slow client was not dropped after %d changes", sent)
	e.subscribers(t, 1)
	t.Logf("the slow client was dropped after %d changes", sent)

	// The fast client still gets changes after the drop.
	e.publish(t, change(sent))
	ev := decodeEvent[bookingEvent](t, fast.expect(t, "next"))
	require.Empty(t, ev.Errors)
	at, err := time.Parse(time.RFC3339, ev.Data.BookingChanged.At)
	require.NoError(t, err)
	assert.True(t, at.Equal(change(sent).At))

	// The slow client reads again: the changes that were queued for it, in
	// order, then the one error that says why it was dropped, then the end.
	got := 0
	for {
		m := slow.read(t)
		if m.Type == "ka" {
			continue
		}
		require.Equal(t, "data", m.Type, "the stream ended without saying why: %+v", m)
		var p bookingEvent
		require.NoError(t, json.Unmarshal(m.Payload, &p))
		if len(p.Errors) > 0 {
			require.Len(t, p.Errors, 1, "%s", m.Payload)
			assert.Contains(t, p.Errors[0].Message, "fell too far behind")
			assert.Contains(t, p.Errors[0].Message, "Resubscribe")
			assert.Equal(t, workplace.EUNAVAILABLE, p.Errors[0].Extensions["code"])
			break
		}
		at, err := time.Parse(time.RFC3339, p.Data.BookingChanged.At)
		require.NoError(t, err)
		require.True(t, at.Equal(change(got).At), "slow client: event %d in order, got %s", got, p.Data.BookingChanged.At)
		got++
	}
	for {
		m := slow.read(t)
		if m.Type != "ka" {
			require.Equal(t, "complete", m.Type, "nothing but the end follows the error: %+v", m)
			break
		}
	}
	assert.Less(t, got, sent, "the slow client missed changes")
	assert.Positive(t, got)

	fast.send(t, "close")
	fast.expect(t, "closed")
	assert.Equal(t, 0, fast.exitCode(t), "%s", fast.logs())
}

// bookingChange is the i-th update of the fixture's booking (at a time of
// its own), as the webhook receiver publishes it.
func (e *subEnv) bookingChange(t testing.TB, i int) workplace.Change {
	t.Helper()
	return workplace.Change{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceWeb,
		At:        time.Unix(1_700_000_000+int64(i), 0).UTC(),
		BookingID: workplace.BookingID(idPart(t, e.fx.bookingID, 0)), RoomID: workplace.RoomID(idPart(t, e.fx.room, 1))}
}

// subscribeMessage subscribes to the fixture room's bookings under id, with
// a message of type typ: subscribe (graphql-transport-ws) or start (legacy).
func (e *subEnv) subscribeMessage(id, typ string) map[string]any {
	return map[string]any{"id": id, "type": typ, "payload": map[string]any{
		"query": bookingSubscription, "variables": map[string]any{"r": []string{e.fx.room}},
	}}
}

// TestWebsocketInitTimeout: a socket that sends no connection_init within
// the init timeout is closed with 4408, in either protocol, and the
// graphql-ws client reports that close; one that sends it in time stays
// open.
func TestWebsocketInitTimeout(t *testing.T) {
	const timeout = 300 * time.Millisecond
	e := newSubEnv(t, pubsub.Options{}, func(d *serverDeps) {
		d.wsInitTimeout = timeout
		d.keepAlive = timeout / 2
	})
	for _, proto := range []string{"graphql-transport-ws", "graphql-ws"} {
		t.Run(proto, func(t *testing.T) {
			start := time.Now()
			w := dialWS(t, e.gwURL, proto, nil)
			ce := w.closed(t)
			assert.Equal(t, websocket.StatusCode(4408), ce.Code)
			assert.Equal(t, "Connection initialisation timeout", ce.Reason)
			assert.GreaterOrEqual(t, time.Since(start), timeout, "not before the timeout")
		})
	}
	t.Run("connection_init in time", func(t *testing.T) {
		w := dialRaw(t, e.gwURL, "graphql-transport-ws")
		start := time.Now()
		for time.Since(start) < 2*timeout {
			require.Equal(t, "ping", w.read(t).Type, "the socket is open, and pinged")
			w.write(t, map[string]any{"type": "pong"})
		}
	})
	t.Run("the graphql-ws client", func(t *testing.T) {
		c := startNodeClient(t, nodeForClients(t), manyWSScript, e.gwURL, bookingSubscription, nil, 1, false, "--init-delay=5000")
		l := untilClosed(t, c)
		assert.Equal(t, 4408, l.Code, "%s", l)
		assert.Equal(t, "Connection initialisation timeout", l.Reason)
		assert.Equal(t, 1, c.exitCode(t), "%s", c.logs())
	})
}

// TestWebsocketProtocolGraphQLTransportWS: the rules of graphql-transport-ws
// that close a socket (an id in use, invalid messages, a second
// connection_init, an operation before connection_ack), each with its code
// and a reason, and an id that is free again once its operation completed.
func TestWebsocketProtocolGraphQLTransportWS(t *testing.T) {
	const maxMessage = 4096
	e := newSubEnv(t, pubsub.Options{}, func(d *serverDeps) { d.limits = guard.Limits{MaxBodyBytes: maxMessage} })
	const proto = "graphql-transport-ws"

	t.Run("an id in use closes the socket with 4409", func(t *testing.T) {
		w := dialRaw(t, e.gwURL, proto)
		w.write(t, e.subscribeMessage("1", "subscribe"))
		e.subscribers(t, 1)
		w.write(t, e.subscribeMessage("1", "subscribe"))
		ce := w.closed(t)
		assert.Equal(t, websocket.StatusCode(4409), ce.Code)
		assert.Equal(t, "Subscriber for 1 already exists", ce.Reason)
		e.subscribers(t, 0)
	})
	t.Run("a long id in use is named, cut short", func(t *testing.T) {
		id := strings.Repeat("x", 200)
		w := dialRaw(t, e.gwURL, proto)
		w.write(t, e.subscribeMessage(id, "subscribe"))
		w.write(t, e.subscribeMessage(id, "subscribe"))
		ce := w.closed(t)
		assert.Equal(t, websocket.StatusCode(4409), ce.Code)
		assert.True(t, strings.HasPrefix(ce.Reason, "Subscriber for xxx"), ce.Reason)
		assert.True(t, strings.HasSuffix(ce.Reason, " already exists"), ce.Reason)
		e.subscribers(t, 0)
	})
	t.Run("an id is free again once its operation completed", func(t *testing.T) {
		w := dialRaw(t, e.gwURL, proto)
		w.write(t, e.subscribeMessage("1", "subscribe"))
		e.subscribers(t, 1)
		// Completed, the id may be used at once: here by a query, whose
		// answer comes under it.
		w.write(t, map[string]any{"id": "1", "type": "complete"})
		w.write(t, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "{ __typename }"}})
		m := w.expect(t, "next")
		assert.Equal(t, "1", m.ID)
		assert.JSONEq(t, `{"data":{"__typename":"Query"}}`, string(m.Payload))
		assert.Equal(t, "1", w.expect(t, "complete").ID)
		e.subscribers(t, 0)
	})
	t.Run("the graphql-ws client reports an id in use", func(t *testing.T) {
		c := startNodeClient(t, nodeForClients(t), manyWSScript, e.gwURL, bookingSubscription, nil, 2, false, "--same-id")
		l := untilClosed(t, c)
		assert.Equal(t, 4409, l.Code, "%s", l)
		assert.Equal(t, "Subscriber for same already exists", l.Reason)
		assert.Equal(t, 1, c.exitCode(t), "%s", c.logs())
		e.subscribers(t, 0)
	})

	for _, tc := range []struct{ name, message, reason string }{
		{"not JSON", `{"type":`, "not a JSON object"},
		{"not an object", `["subscribe"]`, "not a JSON object"},
		{"more than one JSON value", `{"type":"ping"} {"type":"ping"}`, "not a JSON object"},
		{"no type", `{"id":"1"}`, "no type"},
		{"an unknown type", `{"type":"start","id":"1","payload":{}}`, `unknown type "start"`},
		{"a server's message", `{"type":"next","id":"1","payload":{}}`, "a client does not send next"},
		{"subscribe without an id", `{"type":"subscribe","payload":{"query":"{ __typename }"}}`, "subscribe without an id"},
		{"an id that is not a string", `{"type":"subscribe","id":7,"payload":{"query":"{ __typename }"}}`, "id is not a string"},
		{"subscribe without a payload", `{"type":"subscribe","id":"1"}`, "payload is not an object"},
		{"complete without an id", `{"type":"complete"}`, "complete without an id"},
	} {
		t.Run("invalid message: "+tc.name, func(t *testing.T) {
			w := dialRaw(t, e.gwURL, proto)
			w.writeRaw(t, tc.message)
			ce := w.closed(t)
			assert.Equal(t, websocket.StatusCode(4400), ce.Code)
			assert.Contains(t, ce.Reason, tc.reason)
		})
	}
	t.Run("connection_init with a payload that is not an object", func(t *testing.T) {
		w := dialWS(t, e.gwURL, proto, nil)
		w.writeRaw(t, `{"type":"connection_init","payload":"token"}`)
		ce := w.closed(t)
		assert.Equal(t, websocket.StatusCode(4400), ce.Code)
		assert.Contains(t, ce.Reason, "payload is not an object")
	})
	t.Run("a message over GRAPHQL_MAX_BODY_BYTES closes with 1009", func(t *testing.T) {
		w := dialRaw(t, e.gwURL, proto)
		w.write(t, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": "{ __typename }", "pad": strings.Repeat("x", maxMessage)}})
		assert.Equal(t, websocket.StatusMessageTooBig, w.closed(t).Code)
	})
	t.Run("a second connection_init closes with 4429", func(t *testing.T) {
		w := dialRaw(t, e.gwURL, proto)
		w.write(t, map[string]any{"type": "connection_init"})
		ce := w.closed(t)
		assert.Equal(t, websocket.StatusCode(4429), ce.Code)
		assert.Equal(t, "Too many initialisation requests", ce.Reason)
	})
	t.Run("subscribe before connection_ack closes with 4401", func(t *testing.T) {
		w := dialWS(t, e.gwURL, proto, nil)
		w.write(t, e.subscribeMessage("1", "subscribe"))
		ce := w.closed(t)
		assert.Equal(t, websocket.StatusCode(4401), ce.Code)
		assert.Equal(t, "Unauthorized", ce.Reason)
		assert.Zero(t, e.broker.Subscribers())
	})
	t.Run("a ping is answered with its payload, before connection_init too", func(t *testing.T) {
		w := dialWS(t, e.gwURL, proto, nil)
		w.writeRaw(t, `{"type":"ping","payload":{"n":1}}`)
		m := w.read(t)
		assert.Equal(t, "pong", m.Type)
		assert.JSONEq(t, `{"n":1}`, string(m.Payload))
	})
}

// TestWebsocketProtocolLegacyGraphQLWS: the legacy protocol's equivalents,
// as its reference server (subscriptions-transport-ws) behaves: an invalid
// message is answered with connection_error and the socket reads on; an id
// started again replaces its operation; an operation before
// connection_init closes the socket with 4401.
func TestWebsocketProtocolLegacyGraphQLWS(t *testing.T) {
	e := newSubEnv(t, pubsub.Options{})
	const proto = "graphql-ws"

	t.Run("invalid messages get connection_error, and the socket reads on", func(t *testing.T) {
		w := dialRaw(t, e.gwURL, proto)
		for _, tc := range []struct{ message, reason string }{
			{`{"type":`, "not a JSON object"},
			{`{"id":"1"}`, "no type"},
			{`{"type":"subscribe","id":"1","payload":{}}`, `unknown type "subscribe"`},
			{`{"type":"start","payload":{"query":"{ __typename }"}}`, "start without an id"},
			{`{"type":"start","id":"1","payload":[]}`, "payload is not an object"},
			{`{"type":"stop"}`, "stop without an id"},
			{`{"type":"connection_init"}`, "already received"},
		} {
			w.writeRaw(t, tc.message)
			m := w.expect(t, "connection_error")
			var p struct{ Message string }
			require.NoError(t, json.Unmarshal(m.Payload, &p), "%s", m.Payload)
			assert.Contains(t, p.Message, tc.reason, tc.message)
		}
		w.write(t, e.subscribeMessage("1", "start"))
		e.subscribers(t, 1)
		e.publish(t, e.bookingChange(t, 1))
		assert.Equal(t, "1", w.expect(t, "data").ID)
		w.write(t, map[string]any{"id": "1", "type": "stop"})
		assert.Equal(t, "1", w.expect(t, "complete").ID)
		e.subscribers(t, 0)
	})
	t.Run("an id started again replaces its operation", func(t *testing.T) {
		w := dialRaw(t, e.gwURL, proto)
		w.write(t, e.subscribeMessage("1", "start"))
		e.subscribers(t, 1)
		// Started again under its id, here as a query: the subscription
		// leaves, and the query answers under the id.
		w.write(t, map[string]any{"id": "1", "type": "start", "payload": map[string]any{"query": "{ __typename }"}})
		m := w.expect(t, "data")
		assert.Equal(t, "1", m.ID)
		assert.JSONEq(t, `{"data":{"__typename":"Query"}}`, string(m.Payload))
		assert.Equal(t, "1", w.expect(t, "complete").ID)
		e.subscribers(t, 0)
		w.write(t, map[string]any{"type": "connection_terminate"})
		ce := w.closed(t)
		assert.Equal(t, websocket.StatusNormalClosure, ce.Code)
	})
	t.Run("start before connection_init closes with 4401", func(t *testing.T) {
		w := dialWS(t, e.gwURL, proto, nil)
		w.write(t, e.subscribeMessage("1", "start"))
		assert.Contains(t, string(w.expect(t, "connection_error").Payload), "Unauthorized")
		ce := w.closed(t)
		assert.Equal(t, websocket.StatusCode(4401), ce.Code)
		assert.Zero(t, e.broker.Subscribers())
	})
}
