package webhook

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// specDeskOther is a desk body other than specDesk.
const specDeskOther = `[{"Date":"2019-08-29T00:00:00","BookingID":103,"ResourceItemID":101,"Action":1,"UntilFurtherNotice":false}]`

// fakeTimers stands in for time.AfterFunc: it keeps what was scheduled
// until the test fires it.
type fakeTimers struct {
	mu     sync.Mutex
	timers []*fakeTimer
}

type fakeTimer struct {
	d             time.Duration
	f             func()
	stopped, done bool
}

func (ft *fakeTimers) after(d time.Duration, f func()) func() bool {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	t := &fakeTimer{d: d, f: f}
	ft.timers = append(ft.timers, t)
	return func() bool {
		ft.mu.Lock()
		defer ft.mu.Unlock()
		if t.stopped || t.done {
			return false
		}
		t.stopped = true
		return true
	}
}

// fire runs every timer neither stopped nor run, and returns how many ran.
func (ft *fakeTimers) fire() int {
	ft.mu.Lock()
	var due []*fakeTimer
	for _, t := range ft.timers {
		if !t.stopped && !t.done {
			t.done = true
			due = append(due, t)
		}
	}
	ft.mu.Unlock()
	for _, t := range due {
		t.f()
	}
	return len(due)
}

// delays lists the delays of everything scheduled.
func (ft *fakeTimers) delays() []time.Duration {
	ft.mu.Lock()
	defer ft.mu.Unlock()
	var out []time.Duration
	for _, t := range ft.timers {
		out = append(out, t.d)
	}
	return out
}

// replayHandler is a handler on clk and fake timers, reporting duplicates
// and re-reads.
type replayHandler struct {
	*Handler
	clk     *clock
	rec     *recorder
	timers  *fakeTimers
	mu      sync.Mutex
	dups    []string
	rereadN []int
}

func newReplayHandler(t *testing.T, clk *clock, edit func(*Options)) *replayHandler {
	t.Helper()
	rh := &replayHandler{clk: clk, rec: &recorder{}, timers: &fakeTimers{}}
	opts := Options{Secret: testSecret, Invalidator: rh.rec, Publisher: rh.rec, Now: clk.Now, Deduper: NewMemoryDeduper(clk.Now),
		OnDuplicate: func(service, by string) { rh.mu.Lock(); rh.dups = append(rh.dups, service+" "+by); rh.mu.Unlock() },
		OnReread:    func(_ string, n int) { rh.mu.Lock(); rh.rereadN = append(rh.rereadN, n); rh.mu.Unlock() },
	}
	if edit != nil {
		edit(&opts)
	}
	h, err := NewHandler(opts)
	require.NoError(t, err)
	h.rereads.after = rh.timers.after
	rh.Handler = h
	return rh
}

// windowEnds moves the clock on by the default window and fires what is
// due, as time.AfterFunc would; it returns how many ran.
func (rh *replayHandler) windowEnds() int {
	rh.clk.advance(DefaultReplayWindow)
	return rh.timers.fire()
}

func (rh *replayHandler) gotDups() []string {
	rh.mu.Lock()
	defer rh.mu.Unlock()
	return append([]string(nil), rh.dups...)
}

func (rh *replayHandler) gotRereads() []int {
	rh.mu.Lock()
	defer rh.mu.Unlock()
	return append([]int(nil), rh.rereadN...)
}

// withID is the default good delivery under another delivery id.
func withID(id string) delivery { return delivery{header: map[string]string{headerDelivery: id}} }

func TestHandlerRecognisesReplayUnderNewID(t *testing.T) {
	clk := &clock{now: testNow()}
	h := newReplayHandler(t, clk, nil)

	a := serve(t, h, withID("original").request(t))
	require.Equal(t, "Processed 1 changes.", a.message)

	// The captured delivery, signed as it was, sent again under new ids.
	for _, id := range []string{"replay-1", "replay-2"} {
		a = serve(t, h, withID(id).request(t))
		assert.Equal(t, http.StatusOK, a.status, "acknowledged, so the sender has no reason to retry")
		assert.Contains(t, a.message, "processed under another delivery id within the last 2m0s")
	}
	assert.Len(t, h.rec.gotInvalidated(), 1, "the replays invalidated nothing")
	assert.Len(t, h.rec.gotPublished(), 1, "nor published anything")
	assert.Equal(t, []string{"desk body", "desk body"}, h.gotDups())
	assert.Equal(t, 1, h.pendingRereads(), "one re-read per body and window, however many replays")
	assert.Equal(t, []time.Duration{DefaultReplayWindow}, h.timers.delays(), "due when the window ends")

	// A retry of a replay is recognised by its id.
	a = serve(t, h, withID("replay-1").request(t))
	assert.Equal(t, "Delivery already processed.", a.message)

	// When the window ends, what the body names is read once more.
	require.Equal(t, 1, h.windowEnds())
	assert.Len(t, h.rec.gotInvalidated(), 2)
	assert.Len(t, h.rec.gotPublished(), 2)
	assert.Equal(t, []int{1}, h.gotRereads())
	assert.Zero(t, h.pendingRereads())

	// The re-read opened a new window: a replay now waits for its end.
	a = serve(t, h, withID("replay-3").request(t))
	assert.Contains(t, a.message, "processed under another delivery id")
	assert.Len(t, h.rec.gotPublished(), 2)
	assert.Equal(t, 1, h.pendingRereads())

	// Another body is another notification.
	a = serve(t, h, delivery{body: specDeskOther, header: map[string]string{headerDelivery: "other"}}.request(t))
	assert.Equal(t, "Processed 1 changes.", a.message)
}

// Two real changes of one booking are announced with the same bytes; the
// second cannot be told from a replay, but a subscriber, who reads the
// entity fresh on each event, still ends on the latest state.
func TestHandlerIdenticalNotificationsEndOnLatestState(t *testing.T) {
	clk := &clock{now: testNow()}
	var mu sync.Mutex
	title, seen := "", []string{}
	h := newReplayHandler(t, clk, nil)
	h.rec.publish = func(workplace.Change) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, title) // the subscriber's fresh read
		return nil
	}
	set := func(s string) { mu.Lock(); title = s; mu.Unlock() }

	set("Board meeting")
	require.Equal(t, "Processed 1 changes.", serve(t, h, withID("change-1").request(t)).message)
	clk.advance(20 * time.Second)
	set("Board meeting (moved online)")
	a := serve(t, h, withID("change-2").request(t))
	require.Equal(t, http.StatusOK, a.status)
	mu.Lock()
	assert.Equal(t, []string{"Board meeting"}, seen, "the second change waits for the window")
	mu.Unlock()

	h.windowEnds()
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, []string{"Board meeting", "Board meeting (moved online)"}, seen, "the re-read shows the latest state")
}

func TestHandlerMissingDeliveryID(t *testing.T) {
	noID := delivery{header: map[string]string{headerDelivery: ""}}
	t.Run("refused by default", func(t *testing.T) {
		var status []int
		h := newReplayHandler(t, &clock{now: testNow()}, func(o *Options) {
			o.OnResult = func(_ string, s, _ int) { status = append(status, s) }
		})
		a := serve(t, h, noID.request(t))
		assert.Equal(t, http.StatusBadRequest, a.status)
		assert.Equal(t, "X-Engage-Delivery is missing: without a delivery id a retried or replayed notification cannot be recognised, so this receiver refuses deliveries without one.", a.message)
		assert.Empty(t, h.rec.gotCalls())
		assert.Equal(t, []int{http.StatusBadRequest}, status, "counted as a rejected request")
	})
	t.Run("allowed", func(t *testing.T) {
		h := newReplayHandler(t, &clock{now: testNow()}, func(o *Options) { o.AllowMissingDeliveryID = true })
		a := serve(t, h, noID.request(t))
		assert.Equal(t, "Processed 1 changes.", a.message)
		// Its retry, with no id either, is recognised by the body.
		a = serve(t, h, noID.request(t))
		assert.Equal(t, http.StatusOK, a.status)
		assert.Contains(t, a.message, "processed under another delivery id")
		assert.Len(t, h.rec.gotPublished(), 1)
		assert.Equal(t, []string{"desk body"}, h.gotDups())
	})
}

// A re-read that comes due after a later delivery of the same body was
// processed (its window had ended) has nothing left to show.
func TestHandlerRereadCoveredByLaterDelivery(t *testing.T) {
	clk := &clock{now: testNow()}
	h := newReplayHandler(t, clk, nil)
	serve(t, h, withID("first").request(t))
	clk.advance(10 * time.Second)
	serve(t, h, withID("second").request(t))
	require.Equal(t, 1, h.pendingRereads())

	clk.advance(DefaultReplayWindow)
	a := serve(t, h, withID("third").request(t))
	require.Equal(t, "Processed 1 changes.", a.message, "the first window has ended")
	h.timers.fire()
	assert.Len(t, h.rec.gotPublished(), 2, "the re-read was covered by the third delivery")
	assert.Empty(t, h.gotRereads())
}

func TestHandlerRereadFailureGivesTheBodyBack(t *testing.T) {
	clk := &clock{now: testNow()}
	h := newReplayHandler(t, clk, nil)
	serve(t, h, withID("first").request(t))
	serve(t, h, withID("second").request(t))
	h.rec.invalidate = func([]workplace.Change) error { return errors.New("redis: connection refused") }
	h.windowEnds()
	assert.Empty(t, h.gotRereads())
	h.rec.invalidate = nil

	// The failed re-read left no claim: the next delivery of the body is
	// processed at once.
	a := serve(t, h, withID("third").request(t))
	assert.Equal(t, "Processed 1 changes.", a.message)
}

func TestHandlerBodyClaimFailure(t *testing.T) {
	rec := &recorder{}
	dd := &fakeDeduper{mem: NewMemoryDeduper(testNow)}
	var released []string
	dd.claim = func(ctx context.Context, key string, ttl time.Duration) (bool, error) {
		if strings.HasPrefix(key, bodyKeyPrefix) {
			return false, errors.New("redis down")
		}
		return dd.mem.Claim(ctx, key, ttl)
	}
	dd.release = func(ctx context.Context, key string) error {
		released = append(released, key)
		return dd.mem.Release(ctx, key)
	}
	h := newTestHandler(t, rec, dd, nil)
	a := serve(t, h, delivery{}.request(t))
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Empty(t, rec.gotCalls())
	assert.Equal(t, []string{deliveryKeyPrefix + "6f1c2a4e-0000-4000-8000-000000000001"}, released, "the id is given back for the retry")
}

func TestHandlerCloseRunsPendingRereads(t *testing.T) {
	h := newReplayHandler(t, &clock{now: testNow()}, nil)
	serve(t, h, withID("first").request(t))
	serve(t, h, withID("second").request(t))
	require.Equal(t, 1, h.pendingRereads())

	h.Close(t.Context())
	assert.Zero(t, h.pendingRereads())
	assert.Len(t, h.rec.gotPublished(), 2, "the pending re-read ran at Close")
	assert.Zero(t, h.timers.fire(), "and not again when its timer would have fired")

	// After Close nothing waits: a duplicate body is re-read at once.
	closed := newReplayHandler(t, &clock{now: testNow()}, nil)
	closed.Close(t.Context())
	serve(t, closed, withID("a").request(t))
	serve(t, closed, withID("b").request(t))
	assert.Len(t, closed.rec.gotPublished(), 2)
	assert.Zero(t, closed.pendingRereads())
}

// With the real timer, the re-read runs by itself when the window ends.
func TestHandlerRereadOnRealTimer(t *testing.T) {
	rec := &recorder{}
	h, err := NewHandler(Options{Secret: testSecret, Invalidator: rec, Publisher: rec, ReplayWindow: 50 * time.Millisecond})
	require.NoError(t, err)
	serve(t, h, withID("first").request(t))
	serve(t, h, withID("second").request(t))
	require.Eventually(t, func() bool { return len(rec.gotPublished()) == 2 }, 5*time.Second, 5*time.Millisecond)
	require.Eventually(t, func() bool { return h.pendingRereads() == 0 }, 5*time.Second, 5*time.Millisecond)
	h.Close(t.Context())
}

func TestFingerprint(t *testing.T) {
	h, err := NewHandler(Options{Secret: testSecret})
	require.NoError(t, err)
	other, err := NewHandler(Options{Secret: "another-secret"})
	require.NoError(t, err)
	body := []byte(specDesk)
	fp := h.fingerprint(PathDesk, body)
	assert.Len(t, fp, 64)
	assert.Equal(t, fp, h.fingerprint(PathDesk, body), "stable, so every replica computes the same")
	assert.NotEqual(t, fp, h.fingerprint(PathResource, body), "per service")
	assert.NotEqual(t, fp, h.fingerprint(PathDesk, []byte(specDeskOther)))
	assert.NotEqual(t, fp, other.fingerprint(PathDesk, body), "keyed by the secret")
	assert.NotContains(t, sign(testSecret, body), fp, "the store never holds a signature")
}
