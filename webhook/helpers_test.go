package webhook

// This file holds the test fakes and starts an engagesim and a Handler over real HTTP for the
// end-to-end tests.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/require"
)

// simNow is the simulator's clock: Friday 2026-03-20 10:00 UTC, 10:00 in London.
func simNow() time.Time { return time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC) }

// Ids of simFixture.
const (
	simLondon   = 41
	simRoomA    = 2001 // London, floor 13
	simRoomB    = 2002 // London, floor 2
	simDeskA    = 3001 // London, floor 13
	simBookingA = 100001
	simDeskBkgA = 500001 // simDeskA today
	simVisitorA = 9001
	simUserAda  = 1001
)

// simFixture is a tiny tenant for exact assertions: one London building with two rooms, a desk,
// a booking at 11:00, a desk booking today and an expected visitor.
func simFixture() *engagesim.Fixture {
	at := func(h, m int) time.Time { return time.Date(2026, 3, 20, h, m, 0, 0, time.UTC) }
	return &engagesim.Fixture{
		Countries: []engagesim.Country{{ID: 1, Name: "United Kingdom"}},
		Regions:   []engagesim.Region{{ID: 10, CountryID: 1, Name: "England"}},
		Locations: []engagesim.Location{{ID: simLondon, RegionID: 10, Name: "London HQ", City: "London", Country: "United Kingdom",
			TimeZone: "GMT Standard Time", IANAZone: "Europe/London", FloorsAboveGround: 13}},
		Groups: []engagesim.Group{{ID: 301, LocationID: simLondon, Name: "London North"}},
		Users:  []engagesim.User{{ID: simUserAda, FirstName: "Ada", LastName: "Lovelace", Email: "ada.lovelace@example.com"}},
		Resources: []engagesim.Resource{
			{ID: simRoomA, LocationID: simLondon, WorkspaceTypeID: 1, Name: "London 13.01", FloorNumber: 13, Capacity: 8, GroupID: 301},
			{ID: simRoomB, LocationID: simLondon, WorkspaceTypeID: 1, Name: "London 2.01", FloorNumber: 2, Capacity: 4, GroupID: 301},
			{ID: simDeskA, LocationID: simLondon, WorkspaceTypeID: 2, Name: "Desk 13-001", FloorNumber: 13, Capacity: 1, GroupID: 301},
		},
		Bookings:     []engagesim.Booking{{ID: simBookingA, RoomID: simRoomA, UserID: simUserAda, Title: "Weekly sync", Start: at(11, 0), End: at(12, 0)}},
		DeskBookings: []engagesim.DeskBooking{{ID: simDeskBkgA, DeskID: simDeskA, UserID: simUserAda, Date: "2026-03-20", BookingType: 3}},
		Visitors: []engagesim.Visitor{{ID: simVisitorA, FirstName: "Grace", LastName: "Hopper", HostID: simUserAda, LocationID: simLondon,
			FloorNumber: 13, RoomID: simRoomA, BookingID: simBookingA, Arrival: at(10, 50)}},
	}
}

// recorder is a function-field fake of Invalidator and Publisher that keeps what it was given.
type recorder struct {
	mu          sync.Mutex
	invalidated []workplace.Change
	published   []workplace.Change
	calls       []string                               // "invalidate" and "publish", in order
	invalidate  func(changes []workplace.Change) error // nil = accept
	publish     func(c workplace.Change) error         // nil = accept
}

func (r *recorder) Invalidate(_ context.Context, changes ...workplace.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "invalidate")
	if r.invalidate != nil {
		if err := r.invalidate(changes); err != nil {
			return err
		}
	}
	r.invalidated = append(r.invalidated, changes...)
	return nil
}

func (r *recorder) Publish(_ context.Context, c workplace.Change) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls = append(r.calls, "publish")
	if r.publish != nil {
		if err := r.publish(c); err != nil {
			return err
		}
	}
	r.published = append(r.published, c)
	return nil
}

func (r *recorder) gotPublished() []workplace.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]workplace.Change(nil), r.published...)
}

func (r *recorder) gotCalls() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.calls...)
}

func (r *recorder) gotInvalidated() []workplace.Change {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]workplace.Change(nil), r.invalidated...)
}

// fakeDeduper is a function-field fake of Deduper; nil fields delegate to a MemoryDeduper.
type fakeDeduper struct {
	mem     *MemoryDeduper
	claim   func(ctx context.Context, key string, ttl time.Duration) (bool, error)
	release func(ctx context.Context, key string) error
}

func (d *fakeDeduper) Claim(ctx context.Context, key string, ttl time.Duration) (bool, error) {
	if d.claim != nil {
		return d.claim(ctx, key, ttl)
	}
	return d.mem.Claim(ctx, key, ttl)
}

func (d *fakeDeduper) Release(ctx context.Context, key string) error {
	if d.release != nil {
		return d.release(ctx, key)
	}
	return d.mem.Release(ctx, key)
}

// fakeListeners is a function-field fake of workplace.Listeners.
type fakeListeners struct {
	register func(ctx context.Context, l workplace.NewListener) (workplace.Listener, error)
	remove   func(ctx context.Context, notificationURL string, types []workplace.EventType) error
	list     func(ctx context.Context) ([]workplace.Listener, error)
}

func (f fakeListeners) RegisterListener(ctx context.Context, l workplace.NewListener) (workplace.Listener, error) {
	return f.register(ctx, l)
}

func (f fakeListeners) RemoveListener(ctx context.Context, notificationURL string, types []workplace.EventType) error {
	return f.remove(ctx, notificationURL, types)
}

func (f fakeListeners) Listeners(ctx context.Context) ([]workplace.Listener, error) {
	return f.list(ctx)
}

// e2e is an engagesim and a gateway Handler, both over real HTTP, and an engage.Client for the
// simulator.
type e2e struct {
	simURL  string
	hookURL string
	client  *engage.Client
	rec     *recorder
	secret  string
}

func newE2E(t *testing.T) *e2e {
	t.Helper()
	sim, err := engagesim.New(engagesim.Config{
		Fixture:         simFixture(),
		Now:             simNow,
		RetryDelays:     []time.Duration{10 * time.Millisecond, 20 * time.Millisecond, 40 * time.Millisecond},
		DeliveryTimeout: 2 * time.Second,
	})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })

	keys := map[engage.Product]string{}
	for p, k := range engagesim.DefaultKeys() {
		keys[engage.Product(p)] = k
	}
	client, err := engage.New(engage.Config{
		TokenURL: simSrv.URL + "/tokenproviderapi/token",
		APIURL:   simSrv.URL + "/" + engagesim.DefaultTenant + "/api/V1",
		ClientID: engagesim.DefaultClientID,
		Password: engagesim.DefaultPassword,
		Keys:     keys,
	})
	require.NoError(t, err)

	const secret = "e2e-secret"
	rec := &recorder{}
	h, err := NewHandler(Options{Secret: secret, Invalidator: rec, Publisher: rec, Logger: slog.New(slog.DiscardHandler)})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle(MountPath, h)
	hookSrv := httptest.NewServer(mux)
	t.Cleanup(hookSrv.Close)
	return &e2e{simURL: simSrv.URL, hookURL: hookSrv.URL, client: client, rec: rec, secret: secret}
}

// admin calls a /_sim admin route with a JSON body (nil for none) and decodes the answer into
// out (nil to ignore it).
func (e *e2e) admin(t *testing.T, method, path string, body, out any) {
	t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(t.Context(), method, e.simURL+path, rd)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Less(t, resp.StatusCode, 300, "%s %s: %s", method, path, raw)
	if out != nil {
		require.NoError(t, json.Unmarshal(raw, out))
	}
}

// register registers the gateway's listeners with the simulator.
func (e *e2e) register(t *testing.T) []workplace.Listener {
	t.Helper()
	got, err := Register(t.Context(), e.client, e.hookURL, e.secret)
	require.NoError(t, err)
	return got
}

// waitPublished waits until n changes were published and returns them.
func (e *e2e) waitPublished(t *testing.T, n int) []workplace.Change {
	t.Helper()
	require.Eventually(t, func() bool { return len(e.rec.gotPublished()) >= n }, 5*time.Second, 5*time.Millisecond,
		"want %d changes, got %v", n, e.rec.gotPublished())
	return e.rec.gotPublished()
}

// deliveries reads the simulator's delivery log.
func (e *e2e) deliveries(t *testing.T) []engagesim.DeliveryRecord {
	t.Helper()
	var out struct {
		Deliveries []engagesim.DeliveryRecord `json:"deliveries"`
	}
	e.admin(t, http.MethodGet, "/_sim/deliveries", nil, &out)
	return out.Deliveries
}
