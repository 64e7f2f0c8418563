package server

// Private meetings, end to end: a private booking's title (and the meeting
// name of a visit for it) reaches its host, requestor and creator, and
// callers whose credential holds the private-meetings grant, and nobody
// else, through queries, mutation payloads and subscription events, over
// real HTTP and real websockets, with a cache between the gateway and the
// upstream that every caller shares.

import (
	"context"
	"encoding/json"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/engagegql/gateway/auth"
	"github.com/engagegql/gateway/auth/httpauth"
	"github.com/engagegql/gateway/cache"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/pubsub"
	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// API keys of the private-meeting tests: a lobby screen's, with no grant
// and no email, and a reception kiosk's, which may act for others and see
// private meetings.
const (
	privateLobbyKey     = "lobby-screen-key-5a1e9c03"
	privateReceptionKey = "reception-kiosk-key-77d2b6f1"
)

// privateFixture is the demo tenant of today in which the first private
// meeting starting two to six days from now has a host, a requestor and a
// creator who are three different people, and a visitor expected for it.
// It returns the fixture and the index of that booking; every call builds
// the same data.
func privateFixture(t *testing.T, today time.Time) (*engagesim.Fixture, int) {
	t.Helper()
	fx := engagesim.DemoFixture(1, today)
	i := slices.IndexFunc(fx.Bookings, func(b engagesim.Booking) bool {
		return b.Private && b.Start.After(today.Add(48*time.Hour)) && b.Start.Before(today.Add(6*24*time.Hour))
	})
	require.GreaterOrEqual(t, i, 0, "the demo data has private meetings")
	b := &fx.Bookings[i]
	var others []int
	for _, u := range fx.Users {
		if u.ID != b.UserID && len(others) < 2 {
			others = append(others, u.ID)
		}
	}
	b.RequestorID, b.CreatorID = others[0], others[1]
	room := fx.Resources[slices.IndexFunc(fx.Resources, func(r engagesim.Resource) bool { return r.ID == b.RoomID })]
	v := fx.Visitors[0]
	v.ID = 9990
	v.HostID, v.LocationID, v.FloorNumber, v.RoomID, v.BookingID = b.UserID, room.LocationID, room.FloorNumber, room.ID, b.ID
	v.Arrival, v.MeetingName, v.FirstName, v.LastName = b.Start.Add(-10*time.Minute), b.Title, "Grace", "Hopper"
	fx.Visitors = append(fx.Visitors, v)
	return fx, i
}

// privateEnv is two gateways in front of one fixture each (privateFixture):
// one requiring authentication, one without it (whose callers are
// anonymous); both read through a cache and serve subscriptions from a
// broker the test publishes to.
type privateEnv struct {
	authed, open *stack
	// authedBroker and openBroker feed the two gateways' subscriptions.
	authedBroker, openBroker *pubsub.Memory
	// authedHits counts the answers the authenticated gateway served kept.
	authedHits *atomic.Int64
	fx         *engagesim.Fixture
	booking    engagesim.Booking
	// ids are the global ids the API gives the booking, its room and the
	// visitor expected for it.
	bookingID, roomID, visitorID string
}

func newPrivateEnv(t *testing.T) *privateEnv {
	t.Helper()
	today := time.Now().UTC()
	keys, err := auth.ParseAPIKeys("lobby:" + keyHash(privateLobbyKey) + ",reception:" + keyHash(privateReceptionKey) + ":engage:act-as engage:private-meetings")
	require.NoError(t, err)
	a, err := auth.New(auth.Config{HS256Secret: []byte(authSecret), Issuer: authIssuer, Audience: authAudience, APIKeys: keys})
	require.NoError(t, err)
	t.Cleanup(a.Close)
	// Both gateways keep whole answers, as run does: every test here also
	// checks that no kept answer shows a caller what it may not see.
	gateway := func(authn httpauth.Authenticator) (*stack, *pubsub.Memory, *atomic.Int64) {
		fx, _ := privateFixture(t, today)
		b := pubsub.NewMemory(pubsub.Options{Logger: slog.New(slog.DiscardHandler)})
		t.Cleanup(func() { _ = b.Close() })
		var hits *atomic.Int64
		return newStackWithDeps(t, engagesim.Config{Fixture: fx}, loader.Options{}, func(d *serverDeps) {
			d.auth = authn
			d.feed = brokerFeed{b: b}
			var store cache.Store
			store, hits = keepAnswers(t, d)
			d.service = cache.New(d.service, store, cache.Options{Logger: d.log})
		}), b, hits
	}
	e := &privateEnv{}
	e.authed, e.authedBroker, e.authedHits = gateway(a)
	e.open, e.openBroker, _ = gateway(nil)
	var i int
	e.fx, i = privateFixture(t, today)
	e.booking = e.fx.Bookings[i]

	// The ids, as the API gives them to a caller who may see everything.
	var locs struct {
		Locations []struct {
			ID    string
			Rooms []struct{ ID string }
		}
	}
	e.data(t, receptionKey(), `{ locations { id rooms { id } } }`, nil, &locs)
	var locID string
	for _, l := range locs.Locations {
		for _, r := range l.Rooms {
			if mustRoomNumber(t, r.ID) == int64(e.booking.RoomID) {
				e.roomID, locID = r.ID, l.ID
			}
		}
	}
	require.NotEmpty(t, e.roomID)
	e.bookingID = e.bookingIn(t, receptionKey(), e.booking.ID).ID
	var vs struct {
		Visitors struct {
			Nodes []struct {
				ID       string
				EngageID apiEngageID
			}
		}
	}
	room := e.fx.Resources[slices.IndexFunc(e.fx.Resources, func(r engagesim.Resource) bool { return r.ID == e.booking.RoomID })]
	loc := e.fx.Locations[slices.IndexFunc(e.fx.Locations, func(l engagesim.Location) bool { return l.ID == room.LocationID })]
	zone, err := time.LoadLocation(loc.IANAZone)
	require.NoError(t, err)
	e.data(t, receptionKey(), `query($d: Date!, $l: ID) { visitors(date: $d, locationId: $l, first: 500) { nodes { id engageId } } }`,
		map[string]any{"d": e.booking.Start.Add(-10 * time.Minute).In(zone).Format(time.DateOnly), "l": locID}, &vs)
	for _, n := range vs.Visitors.Nodes {
		if int(n.EngageID) == 9990 {
			e.visitorID = n.ID
		}
	}
	require.NotEmpty(t, e.visitorID)
	return e
}

// receptionKey is the reception kiosk's credential.
func receptionKey() map[string]string { return map[string]string{"X-API-Key": privateReceptionKey} }

// user returns the fixture's user id.
func (e *privateEnv) user(t *testing.T, id int) engagesim.User {
	t.Helper()
	i := slices.IndexFunc(e.fx.Users, func(u engagesim.User) bool { return u.ID == id })
	require.GreaterOrEqual(t, i, 0)
	return e.fx.Users[i]
}

// post sends an operation with headers: to the gateway without
// authentication when headers is nil, else to the one requiring it.
func (e *privateEnv) post(t *testing.T, headers map[string]string, query string, vars map[string]any) gqlResponse {
	t.Helper()
	gw := e.authed
	if headers == nil {
		gw = e.open
	}
	status, _, resp := postGraphQL(t, gw.gwURL, headers, query, vars)
	require.Equal(t, http.StatusOK, status, "%+v", resp.Errors)
	return resp
}

// data is post for an operation that must succeed, decoded into out.
func (e *privateEnv) data(t *testing.T, headers map[string]string, query string, vars map[string]any, out any) {
	t.Helper()
	resp := e.post(t, headers, query, vars)
	require.Empty(t, resp.Errors, "%s", query)
	require.NoError(t, json.Unmarshal(resp.Data, out), "%s", resp.Data)
}

// window is the day of the private booking, as query variables.
func (e *privateEnv) window() (from, to string) {
	day := e.booking.Start.Truncate(24 * time.Hour)
	return day.Add(-24 * time.Hour).Format(time.RFC3339), day.Add(48 * time.Hour).Format(time.RFC3339)
}

// listed is a booking as a list shows it.
type listed struct {
	ID       string
	EngageID apiEngageID
	Title    string
	Private  bool
}

// bookingIn returns booking id as its room's list of the day shows it.
func (e *privateEnv) bookingIn(t *testing.T, headers map[string]string, id int) listed {
	t.Helper()
	from, to := e.window()
	var d struct{ Bookings []listed }
	e.data(t, headers, `query($r: [ID!], $from: DateTime!, $to: DateTime!) { bookings(roomIds: $r, from: $from, to: $to) { id engageId title private } }`,
		map[string]any{"r": []string{e.roomID}, "from": from, "to": to}, &d)
	i := slices.IndexFunc(d.Bookings, func(b listed) bool { return int(b.EngageID) == id })
	require.GreaterOrEqual(t, i, 0, "booking %d is not listed: %+v", id, d.Bookings)
	return d.Bookings[i]
}

// privateCaller is one kind of caller and what it should read.
type privateCaller struct {
	name string
	// headers carry the credential; nil is an anonymous caller of the
	// gateway without authentication.
	headers map[string]string
	// init is the credential as a websocket's connection_init carries it.
	init map[string]any
	// sees is whether the caller reads the private title; grant whether
	// it reads every private title, nobody whether it reads none (it names
	// no one), and else only those of meetings it is in.
	sees, grant, nobody bool
	// actingFor is the actingUserEmail its mutations name, "" for none.
	actingFor string
	// noMutation: the credential may not change the booking (it names no
	// user and may not act for one).
	noMutation bool
	// shownAs names what the caller is shown of private meetings: callers
	// shown alike may share a subscription's results, others never.
	shownAs string
}

// callers lists every kind of caller.
func (e *privateEnv) callers(t *testing.T) []privateCaller {
	t.Helper()
	host := e.user(t, e.booking.UserID).Email
	requestor := e.user(t, e.booking.RequestorID).Email
	creator := e.user(t, e.booking.CreatorID).Email
	var others []string
	for _, u := range e.fx.Users {
		if !slices.Contains([]string{host, requestor, creator}, u.Email) && len(others) < 3 {
			others = append(others, u.Email)
		}
	}
	jwtCaller := func(name, email string, extra map[string]any, sees bool) privateCaller {
		tok := signHS(t, claims(email, extra))
		return privateCaller{name: name, headers: bearer(tok), init: map[string]any{"Authorization": "Bearer " + tok}, sees: sees, shownAs: strings.ToLower(email)}
	}
	return []privateCaller{
		jwtCaller("the host", host, nil, true),
		jwtCaller("the requestor", requestor, nil, true),
		jwtCaller("the creator, whose token spells the email in capitals", strings.ToUpper(creator), nil, true),
		jwtCaller("another user", others[0], nil, false),
		jwtCaller("another user who may act for others, but not see private meetings", others[1], map[string]any{"scope": "engage:act-as"}, false),
		granted(jwtCaller("a user whose role is the grant", others[2], map[string]any{"roles": []string{"engage:private-meetings"}}, true)),
		{name: "a reception kiosk's API key with the grant", headers: receptionKey(), init: map[string]any{"apiKey": privateReceptionKey}, sees: true, grant: true, actingFor: host, shownAs: "every meeting"},
		{name: "a lobby screen's API key", headers: map[string]string{"X-API-Key": privateLobbyKey}, init: map[string]any{"apiKey": privateLobbyKey}, nobody: true, noMutation: true, shownAs: "no meeting"},
		{name: "anonymous, on a gateway without client authentication", nobody: true, actingFor: host, shownAs: "no meeting"},
	}
}

// granted marks a caller as holding the grant.
func granted(c privateCaller) privateCaller {
	c.grant, c.shownAs = true, "every meeting"
	return c
}

// title is what c should read for the private booking.
func (e *privateEnv) title(c privateCaller) string {
	if c.sees {
		return e.booking.Title
	}
	return workplace.PrivateTitle
}

func TestPrivateMeetingTitleInQueries(t *testing.T) {
	t.Parallel()
	e := newPrivateEnv(t)
	require.True(t, e.booking.Private)
	require.NotEqual(t, workplace.PrivateTitle, e.booking.Title)
	from, to := e.window()
	const q = `query($id: ID!, $room: ID!, $v: ID!, $from: DateTime!, $to: DateTime!) {
		booking(id: $id) { title private }
		node(id: $id) { ... on Booking { title } }
		bookings(roomIds: [$room], from: $from, to: $to) { engageId title private }
		room(id: $room) { bookings(from: $from, to: $to) { engageId title } }
		visitor(id: $v) { meetingName booking { title } }
	}`
	type row struct {
		EngageID apiEngageID
		Title    string
		Private  bool
	}
	for _, c := range e.callers(t) {
		t.Run(c.name, func(t *testing.T) {
			var d struct {
				Booking struct {
					Title   string
					Private bool
				}
				Node     struct{ Title string }
				Bookings []row
				Room     struct{ Bookings []row }
				Visitor  struct {
					MeetingName string
					Booking     struct{ Title string }
				}
			}
			e.data(t, c.headers, q, map[string]any{"id": e.bookingID, "room": e.roomID, "v": e.visitorID, "from": from, "to": to}, &d)
			want := e.title(c)
			assert.True(t, d.Booking.Private, "whether a meeting is private is no secret")
			assert.Equal(t, want, d.Booking.Title, "booking")
			assert.Equal(t, want, d.Node.Title, "node")
			assert.Equal(t, want, d.Visitor.MeetingName, "visitor's meeting name")
			assert.Equal(t, want, d.Visitor.Booking.Title, "visitor's booking")
			for name, list := range map[string][]row{"bookings": d.Bookings, "Room.bookings": d.Room.Bookings} {
				seen := false
				for _, b := range list {
					fixture := e.fx.Bookings[slices.IndexFunc(e.fx.Bookings, func(x engagesim.Booking) bool { return x.ID == int(b.EngageID) })]
					switch {
					case int(b.EngageID) == e.booking.ID:
						seen = true
						assert.Equal(t, want, b.Title, name)
					case fixture.Private && c.grant:
						assert.Equal(t, fixture.Title, b.Title, "%s: booking %d", name, b.EngageID)
					case fixture.Private && c.nobody:
						assert.Equal(t, workplace.PrivateTitle, b.Title, "%s: booking %d", name, b.EngageID)
					case fixture.Private:
						// Whether a user is in another private meeting of
						// the day is the demo data's chance.
					default:
						assert.Equal(t, fixture.Title, b.Title, "%s: booking %d", name, b.EngageID)
					}
				}
				assert.True(t, seen, "%s lists the booking", name)
			}
			if !c.sees {
				resp := e.post(t, c.headers, q, map[string]any{"id": e.bookingID, "room": e.roomID, "v": e.visitorID, "from": from, "to": to})
				assert.NotContains(t, string(resp.Data), e.booking.Title, "the title appears nowhere in the answer")
			}
		})
	}
}

// The cache holds the booking as the upstream gave it, for every caller;
// what a caller reads is decided after it.
func TestPrivateMeetingTitleIsNotSharedThroughTheCache(t *testing.T) {
	t.Parallel()
	e := newPrivateEnv(t)
	other := signHS(t, claims(e.fx.Users[len(e.fx.Users)-1].Email, nil))
	const q = `query($id: ID!) { booking(id: $id) { title } }`
	var d struct{ Booking struct{ Title string } }
	e.data(t, receptionKey(), q, map[string]any{"id": e.bookingID}, &d)
	require.Equal(t, e.booking.Title, d.Booking.Title)

	e.authed.resetStats(t)
	e.data(t, bearer(other), q, map[string]any{"id": e.bookingID}, &d)
	assert.Equal(t, workplace.PrivateTitle, d.Booking.Title)
	e.data(t, receptionKey(), q, map[string]any{"id": e.bookingID}, &d)
	assert.Equal(t, e.booking.Title, d.Booking.Title)
	assert.Zero(t, e.authed.stats(t).TotalCalls, "both answers came from the one cached booking")

	// The same request bytes, again and again, from callers who may see
	// the title, who may not, and who are in the meeting: each is kept and
	// served again only to callers who see what it shows.
	hits := e.authedHits.Load()
	for range 3 {
		for _, c := range e.callers(t) {
			e.data(t, c.headers, q, map[string]any{"id": e.bookingID}, &d)
			assert.Equal(t, e.title(c), d.Booking.Title, "%s", c.name)
		}
	}
	assert.GreaterOrEqual(t, e.authedHits.Load()-hits, int64(8), "kept answers were served")
	assert.Zero(t, e.authed.stats(t).TotalCalls)
}

func TestPrivateMeetingTitleInMutationPayloads(t *testing.T) {
	t.Parallel()
	e := newPrivateEnv(t)
	for _, c := range e.callers(t) {
		if c.noMutation {
			continue
		}
		t.Run(c.name, func(t *testing.T) {
			in := map[string]any{"bookingId": e.bookingID}
			if c.actingFor != "" {
				in["actingUserEmail"] = c.actingFor
			}
			var d struct {
				UpdateBooking struct {
					Booking *struct{ Title string }
					Errors  []struct{ Code, Message string }
				}
			}
			// An edit that changes nothing; the payload is the booking read
			// back, as this caller may see it.
			e.data(t, c.headers, `mutation($in: UpdateBookingInput!) { updateBooking(input: $in) { booking { title } errors { code message } } }`,
				map[string]any{"in": in}, &d)
			require.Empty(t, d.UpdateBooking.Errors)
			require.NotNil(t, d.UpdateBooking.Booking)
			assert.Equal(t, e.title(c), d.UpdateBooking.Booking.Title)
		})
	}
	// Nobody's edit changed the title.
	assert.Equal(t, e.booking.Title, e.bookingIn(t, receptionKey(), e.booking.ID).Title)
}

// privateSubscription is the subscription of the websocket test.
const privateSubscription = `subscription($room: ID!) { bookingChanged(roomIds: [$room]) { bookingId booking { title } } }`

// subscribeWS opens a graphql-transport-ws websocket to gwURL with init as
// connection_init's payload and subscribes to query.
func subscribeWS(t *testing.T, gwURL string, init map[string]any, query string, vars map[string]any) *rawWS {
	t.Helper()
	c, m, err := dialAuth(t, gwURL, nil, init)
	require.NoError(t, err)
	require.Equal(t, "connection_ack", m.Type)
	ctx, cancel := context.WithTimeout(context.Background(), subTimeout)
	t.Cleanup(cancel)
	w := &rawWS{c: c, ctx: ctx}
	w.write(t, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": query, "variables": vars}})
	return w
}

// nextPayload returns the payload of the socket's next "next" message,
// skipping pings.
func (w *rawWS) nextPayload(t *testing.T) json.RawMessage {
	t.Helper()
	for {
		m := w.read(t)
		switch m.Type {
		case "ping", "pong", "ka":
			continue
		case "next":
			return m.Payload
		}
		require.FailNow(t, "unexpected message", "%s: %s", m.Type, m.Payload)
	}
}

func TestPrivateMeetingTitleInSubscriptionEvents(t *testing.T) {
	t.Parallel()
	e := newPrivateEnv(t)
	callers := e.callers(t)
	// Each caller subscribes twice: subscriptions of callers shown alike
	// share one stream, and callers shown otherwise each get their own, so
	// no result resolved for one reaches another who may not see it.
	const each = 2
	sockets := make([][each]*rawWS, len(callers))
	authed, open := 0, 0
	shown := map[string]bool{}
	for i, c := range callers {
		gw := e.authed.gwURL
		if c.headers == nil {
			gw = e.open.gwURL
			open += each
		} else {
			authed += each
			shown[c.shownAs] = true
		}
		for j := range each {
			sockets[i][j] = subscribeWS(t, gw, c.init, privateSubscription, map[string]any{"room": e.roomID})
		}
	}
	for _, w := range []struct {
		s *stack
		n int
	}{{e.authed, authed}, {e.open, open}} {
		require.Eventually(t, func() bool { return w.s.subscriptions() == w.n }, subWait, 5*time.Millisecond, "subscriptions registered")
	}
	assert.Equal(t, len(shown), e.authedBroker.Subscribers(), "one stream for each way of being shown private meetings: %v", shown)
	assert.Equal(t, 1, e.openBroker.Subscribers())
	// The booking changed (its notification, as the webhook receiver
	// publishes it): each subscriber's payload reads it fresh.
	change := workplace.Change{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceWeb, At: time.Now(),
		BookingID: workplace.BookingID(e.booking.ID), RoomID: workplace.RoomID(e.booking.RoomID)}
	require.NoError(t, e.authedBroker.Publish(context.Background(), change))
	require.NoError(t, e.openBroker.Publish(context.Background(), change))
	for i, c := range callers {
		t.Run(c.name, func(t *testing.T) {
			for _, w := range sockets[i] {
				e.assertPrivateEvent(t, c, w.nextPayload(t))
			}
		})
	}
	for _, ws := range sockets {
		for _, w := range ws {
			_ = w.c.Close(websocket.StatusNormalClosure, "")
		}
	}
}

// assertPrivateEvent checks the booking event c was sent: the title as c
// may see it.
func (e *privateEnv) assertPrivateEvent(t *testing.T, c privateCaller, raw json.RawMessage) {
	t.Helper()
	var ev struct {
		Data struct {
			BookingChanged struct {
				BookingID string
				Booking   struct{ Title string }
			}
		}
		Errors []struct{ Message string }
	}
	require.NoError(t, json.Unmarshal(raw, &ev), "%s", raw)
	require.Empty(t, ev.Errors, "%s", raw)
	assert.Equal(t, e.bookingID, ev.Data.BookingChanged.BookingID)
	assert.Equal(t, e.title(c), ev.Data.BookingChanged.Booking.Title)
	if !c.sees {
		assert.NotContains(t, string(raw), e.booking.Title)
	}
}

// The demo data ships private meetings with titles a lobby screen must not
// show, and the embedded demo (no client authentication) hides them.
func TestPrivateMeetingsOfTheDemo(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	var private []engagesim.Booking
	for _, b := range s.fx.Bookings {
		if b.Private {
			private = append(private, b)
		}
	}
	require.NotEmpty(t, private)
	b := private[0]
	room := s.fx.Resources[slices.IndexFunc(s.fx.Resources, func(r engagesim.Resource) bool { return r.ID == b.RoomID })]
	loc := s.fx.Locations[slices.IndexFunc(s.fx.Locations, func(l engagesim.Location) bool { return l.ID == room.LocationID })]
	roomID := s.roomIDs(t, s.locationID(t, loc.Name))[room.Name]
	var d struct{ Bookings []listed }
	s.data(t, `query($r: [ID!], $from: DateTime!, $to: DateTime!) { bookings(roomIds: $r, from: $from, to: $to) { id engageId title private } }`,
		map[string]any{"r": []string{roomID}, "from": b.Start.Format(time.RFC3339), "to": b.End.Format(time.RFC3339)}, &d)
	i := slices.IndexFunc(d.Bookings, func(l listed) bool { return int(l.EngageID) == b.ID })
	require.GreaterOrEqual(t, i, 0)
	assert.True(t, d.Bookings[i].Private)
	assert.Equal(t, workplace.PrivateTitle, d.Bookings[i].Title, "booking %d, %q", b.ID, b.Title)
}
