package engagesim

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// baseNow is the test clock: Friday 2026-03-20 10:00 UTC, 10:00 in London (GMT), 21:00 in
// Sydney (AEDT). London springs forward on 2026-03-29, Sydney falls back on 2026-04-05.
func baseNow() time.Time { return time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC) }

const (
	locLondon    = 41
	locSydney    = 42
	locSingapore = 43
	roomA        = 2001 // London, floor 13, capacity 8, attributes 1,2
	roomB        = 2002 // London, floor 2
	roomSydney   = 2003
	deskA        = 3001
	deskB        = 3002
	deskSydney   = 3003
	bookingA     = 100001 // roomA, 11:00-12:00 London today
	bookingB     = 100002 // roomA, 13:00-14:00 London today
	userAda      = 1001
	userAlan     = 1002
	visitorA     = 9001
	deskBookingA = 500001 // deskA today
)

// tinyFixture is a small hand-made tenant for exact assertions.
func tinyFixture() *Fixture {
	at := func(h, m int) time.Time { return time.Date(2026, 3, 20, h, m, 0, 0, time.UTC) }
	return &Fixture{
		Countries: []Country{{1, "United Kingdom"}, {2, "Australia"}, {3, "Singapore"}},
		Regions:   []Region{{10, 1, "England"}, {11, 2, "New South Wales"}, {12, 3, "Singapore"}},
		Locations: []Location{
			{ID: locLondon, RegionID: 10, Name: "London HQ", City: "London", Country: "United Kingdom", TimeZone: "GMT Standard Time", IANAZone: "Europe/London", FloorsAboveGround: 13},
			{ID: locSydney, RegionID: 11, Name: "Sydney", City: "Sydney", Country: "Australia", TimeZone: "AUS Eastern Standard Time", IANAZone: "Australia/Sydney", FloorsAboveGround: 10},
			{ID: locSingapore, RegionID: 12, Name: "Singapore", City: "Singapore", Country: "Singapore", TimeZone: "Singapore Standard Time"},
		},
		Groups: []Group{{301, locLondon, "London North"}, {302, locSydney, "Sydney Main"}},
		Users:  []User{{userAda, "Ada", "Lovelace", "ada.lovelace@example.com"}, {userAlan, "Alan", "Turing", "alan.turing@example.com"}},
		Resources: []Resource{
			{ID: roomA, LocationID: locLondon, WorkspaceTypeID: 1, Name: "London 13.01", FloorNumber: 13, Capacity: 8, GroupID: 301, Attributes: []int{1, 2}},
			{ID: roomB, LocationID: locLondon, WorkspaceTypeID: 1, Name: "London 2.01", FloorNumber: 2, Capacity: 4, GroupID: 301, Attributes: []int{3}},
			{ID: roomSydney, LocationID: locSydney, WorkspaceTypeID: 1, Name: "Sydney 5.01", FloorNumber: 5, Capacity: 6, GroupID: 302, Attributes: []int{1}},
			{ID: deskA, LocationID: locLondon, WorkspaceTypeID: 2, Name: "Desk 13-001", FloorNumber: 13, Capacity: 1, GroupID: 301, Attributes: []int{101}},
			{ID: deskB, LocationID: locLondon, WorkspaceTypeID: 2, Name: "Desk 13-002", FloorNumber: 13, Capacity: 1, GroupID: 301},
			{ID: deskSydney, LocationID: locSydney, WorkspaceTypeID: 2, Name: "Desk 5-001", FloorNumber: 5, Capacity: 1, GroupID: 302},
		},
		Bookings: []Booking{
			{ID: bookingA, RoomID: roomA, UserID: userAda, Title: "Weekly sync", Start: at(11, 0), End: at(12, 0)},
			{ID: bookingB, RoomID: roomA, UserID: userAlan, Title: "Design review", Start: at(13, 0), End: at(14, 0)},
		},
		DeskBookings: []DeskBooking{{ID: deskBookingA, DeskID: deskA, UserID: userAda, Date: "2026-03-20", BookingType: 3}},
		Visitors: []Visitor{{ID: visitorA, FirstName: "Grace", LastName: "Hopper", Company: "Navy", HostID: userAda, LocationID: locLondon,
			FloorNumber: 13, RoomID: roomA, BookingID: bookingA, Arrival: at(10, 50), MeetingName: "Weekly sync"}},
		CostCodes: []CostCode{{701, "LON-100", "General", locLondon, true}},
		Vendors:   []Vendor{{ID: 61, Name: "UK Catering", LocationIDs: []int{locLondon}, Services: []Service{{801, "Coffee and tea", 4.5, "GBP"}}}},
	}
}

// harness is a simulator behind a real HTTP server, with a session token.
type harness struct {
	t     testing.TB
	sim   *Sim
	srv   *httptest.Server
	base  string
	token string
}

// newHarness starts a simulator over the tiny fixture at baseNow with short retry delays,
// unless cfg says otherwise.
func newHarness(t testing.TB, cfg Config) *harness {
	t.Helper()
	if cfg.Fixture == nil {
		cfg.Fixture = tinyFixture()
	}
	if cfg.Now == nil {
		cfg.Now = baseNow
	}
	if cfg.RetryDelays == nil {
		cfg.RetryDelays = []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond}
	}
	if cfg.DeliveryTimeout == 0 {
		cfg.DeliveryTimeout = 2 * time.Second
	}
	sim, err := New(cfg)
	require.NoError(t, err)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() {
		srv.Close()
		sim.Close()
	})
	h := &harness{t: t, sim: sim, srv: srv, base: srv.URL + "/" + sim.cfg.Tenant + "/api/V1"}
	h.token = h.newToken()
	return h
}

func (h *harness) newToken() string {
	h.t.Helper()
	r := h.raw(http.MethodPost, h.srv.URL+"/tokenproviderapi/token", "application/x-www-form-urlencoded",
		strings.NewReader(url.Values{"client_id": {DefaultClientID}, "password": {DefaultPassword}, "grant_type": {"password"}}.Encode()), nil)
	require.Equal(h.t, http.StatusOK, r.status, string(r.body))
	var tok tokenAnswer
	r.decode(h.t, &tok)
	return tok.AccessToken
}

// reply is an HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) decode(t testing.TB, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), string(r.body))
}

// obj decodes the body as a JSON object.
func (r reply) obj(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	r.decode(t, &m)
	return m
}

func (h *harness) raw(method, target, contentType string, body io.Reader, header map[string]string) reply {
	h.t.Helper()
	req, err := http.NewRequest(method, target, body)
	require.NoError(h.t, err)
	if contentType != "" {
		req.Header.Set("Content-Type", contentType)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(h.t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(h.t, err)
	return reply{status: resp.StatusCode, header: resp.Header, body: data}
}

func jsonBody(t testing.TB, body any) io.Reader {
	t.Helper()
	switch b := body.(type) {
	case nil:
		return nil
	case string:
		return strings.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(t, err)
		return bytes.NewReader(data)
	}
}

// api calls path (relative to the API base) with the product's demo key and the session token.
func (h *harness) api(method, path, product string, body any) reply {
	h.t.Helper()
	return h.raw(method, h.base+path, "application/json", jsonBody(h.t, body), map[string]string{
		"Ocp-Apim-Subscription-Key": DefaultKeys()[product],
		"Authorization":             "Bearer " + h.token,
	})
}

// admin calls a /_sim/ route.
func (h *harness) admin(method, path string, body any) reply {
	h.t.Helper()
	return h.raw(method, h.srv.URL+path, "application/json", jsonBody(h.t, body), nil)
}

// requireMessage asserts a {"Message":...} error answer.
func requireMessage(t *testing.T, r reply, status int, text string) {
	t.Helper()
	require.Equal(t, status, r.status, string(r.body))
	var m message
	r.decode(t, &m)
	require.Equal(t, text, m.Message)
}

// receiver is a webhook endpoint that verifies signatures and records what it got.
type receiver struct {
	srv    *httptest.Server
	secret string
	mu     sync.Mutex
	got    []delivered
	status func(n int) int // answer of the n-th request (1-based); nil = 200
}

type delivered struct {
	eventType string
	delivery  string
	body      []byte
	sigOK     bool
	header    http.Header
}

func newReceiver(t *testing.T, secret string, status func(n int) int) *receiver {
	t.Helper()
	rc := &receiver{secret: secret, status: status}
	rc.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		mac := hmac.New(sha256.New, []byte(rc.secret))
		mac.Write(body)
		want := "sha256=" + hex.EncodeToString(mac.Sum(nil))
		rc.mu.Lock()
		rc.got = append(rc.got, delivered{eventType: r.Header.Get("X-Engage-Event-Type"), delivery: r.Header.Get("X-Engage-Delivery"),
			body: body, sigOK: hmac.Equal([]byte(want), []byte(r.Header.Get("X-Engage-Signature"))), header: r.Header.Clone()})
		n := len(rc.got)
		rc.mu.Unlock()
		code := http.StatusOK
		if rc.status != nil {
			code = rc.status(n)
		}
		w.WriteHeader(code)
	}))
	t.Cleanup(rc.srv.Close)
	return rc
}

func (rc *receiver) all() []delivered {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]delivered(nil), rc.got...)
}

// waitN waits until the receiver got at least n requests and returns them.
func (rc *receiver) waitN(t *testing.T, n int) []delivered {
	t.Helper()
	require.Eventually(t, func() bool { return len(rc.all()) >= n }, 5*time.Second, 5*time.Millisecond, "want %d deliveries, got %d", n, len(rc.all()))
	return rc.all()
}

// listen registers the receiver for event types under the path /t{type}.
func (h *harness) listen(rc *receiver, types ...int) {
	h.t.Helper()
	r := h.api(http.MethodPost, "/listener", ProductExternalBookings, map[string]any{
		"secretkey": rc.secret, "eventTypes": types, "notificationUrl": rc.srv.URL + "/hook", "queueProvider": 2,
	})
	require.Equal(h.t, http.StatusOK, r.status, string(r.body))
}

// waitStats polls the stats until cond holds.
func (h *harness) waitStats(cond func(Stats) bool) Stats {
	h.t.Helper()
	require.Eventually(h.t, func() bool { return cond(h.sim.Stats()) }, 5*time.Second, 5*time.Millisecond, "stats: %+v", h.sim.Stats())
	return h.sim.Stats()
}
