package webhook

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const testSecret = "s3cr3t-key"

func sign(secret string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// delivery is one request to the handler; zero fields take the defaults of a good delivery.
type delivery struct {
	method    string
	path      string            // default /webhooks/engage/desk
	body      string            // default specDesk
	header    map[string]string // set after the defaults; "" deletes
	noDefault bool              // send no default headers
}

func (d delivery) request(t *testing.T) *http.Request {
	t.Helper()
	if d.method == "" {
		d.method = http.MethodPost
	}
	if d.path == "" {
		d.path = MountPath + PathDesk
	}
	if d.body == "" {
		d.body = specDesk
	}
	r := httptest.NewRequestWithContext(t.Context(), d.method, d.path, strings.NewReader(d.body))
	if !d.noDefault {
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set(headerSignature, sign(testSecret, []byte(d.body)))
		r.Header.Set(headerDelivery, "6f1c2a4e-0000-4000-8000-000000000001")
		r.Header.Set(headerEventType, "2")
	}
	for k, v := range d.header {
		if v == "" {
			r.Header.Del(k)
			continue
		}
		r.Header.Set(k, v)
	}
	return r
}

type answer struct {
	status  int
	message string
	header  http.Header
}

func serve(t *testing.T, h http.Handler, r *http.Request) answer {
	t.Helper()
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var body struct {
		Message string `json:"message"`
	}
	require.NoError(t, json.Unmarshal(w.Body.Bytes(), &body), w.Body.String())
	return answer{w.Code, body.Message, w.Header()}
}

// testNow is the handler's clock in these tests.
func testNow() time.Time { return time.Date(2026, 3, 20, 10, 0, 0, 0, time.UTC) }

func newTestHandler(t *testing.T, rec *recorder, dd Deduper, logs *bytes.Buffer) *Handler {
	t.Helper()
	log := slog.New(slog.DiscardHandler)
	if logs != nil {
		log = slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
	h, err := NewHandler(Options{Secret: testSecret, MaxBody: 4096, Invalidator: rec, Publisher: rec, Deduper: dd, Logger: log, Now: testNow})
	require.NoError(t, err)
	return h
}

func TestHandlerAnswers(t *testing.T) {
	deskChange := workplace.Change{Kind: workplace.KindDeskBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown,
		At: testNow(), DeskBookingID: 102, DeskID: 101, Date: date(2019, 8, 28)}
	tests := []struct {
		name    string
		d       delivery
		status  int
		message string // the answer contains it
		want    []workplace.Change
	}{
		{"good delivery", delivery{}, http.StatusOK, "Processed 1 changes", []workplace.Change{deskChange}},
		{"no event type header: the path decides", delivery{header: map[string]string{headerEventType: ""}}, http.StatusOK, "Processed", []workplace.Change{deskChange}},
		{"trailing slash", delivery{path: MountPath + PathDesk + "/"}, http.StatusOK, "Processed", []workplace.Change{deskChange}},
		{"uppercase hex signature", delivery{header: map[string]string{headerSignature: "sha256=" + strings.ToUpper(sign(testSecret, []byte(specDesk))[7:])}}, http.StatusOK, "Processed", []workplace.Change{deskChange}},
		{"several items", delivery{path: MountPath + PathVisitor, body: `[{"VisitorId":1,"VisitorAction":3},{"VisitorId":2,"VisitorAction":5}]`, header: map[string]string{headerEventType: "8"}},
			http.StatusOK, "Processed 2 changes", []workplace.Change{
				{Kind: workplace.KindVisitor, Action: workplace.ActionArrived, Source: workplace.SourceUnknown, At: testNow(), VisitorID: 1},
				{Kind: workplace.KindVisitor, Action: workplace.ActionDeparted, Source: workplace.SourceUnknown, At: testNow(), VisitorID: 2}}},

		{"missing signature", delivery{header: map[string]string{headerSignature: ""}}, http.StatusUnauthorized, "signature", nil},
		{"signed with another secret", delivery{header: map[string]string{headerSignature: sign("other", []byte(specDesk))}}, http.StatusUnauthorized, "signature", nil},
		{"signature of another body", delivery{header: map[string]string{headerSignature: sign(testSecret, []byte(specResource))}}, http.StatusUnauthorized, "signature", nil},
		{"signature without prefix", delivery{header: map[string]string{headerSignature: sign(testSecret, []byte(specDesk))[7:]}}, http.StatusUnauthorized, "signature", nil},
		{"signature not hex", delivery{header: map[string]string{headerSignature: "sha256=zz"}}, http.StatusUnauthorized, "signature", nil},
		{"signature truncated", delivery{header: map[string]string{headerSignature: sign(testSecret, []byte(specDesk))[:40]}}, http.StatusUnauthorized, "signature", nil},
		{"unsigned bad body is refused for the signature first", delivery{body: `{`, header: map[string]string{headerSignature: ""}}, http.StatusUnauthorized, "signature", nil},

		{"oversized", delivery{body: "[" + strings.Repeat(" ", 5000) + "]"}, http.StatusRequestEntityTooLarge, "exceeds 4096 bytes", nil},
		{"unknown service", delivery{path: MountPath + "meeting"}, http.StatusNotFound, `"meeting"`, nil},
		{"root of the mount", delivery{path: MountPath}, http.StatusNotFound, "Unknown notification service", nil},
		{"GET", delivery{method: http.MethodGet}, http.StatusMethodNotAllowed, "POST", nil},
		{"malformed JSON", delivery{body: `[{"Date":`}, http.StatusBadRequest, "not valid JSON", nil},
		{"wrong shape: desk array to meeting-external", delivery{path: MountPath + PathMeetingExternal, header: map[string]string{headerEventType: "3"}},
			http.StatusBadRequest, "must be an object keyed by booking date, got an array (it looks like a desk notification)", nil},
		{"missing required id", delivery{body: `[{"Date":"2019-08-28T00:00:00","ResourceItemID":101,"Action":1}]`}, http.StatusBadRequest, "item 0: BookingID is missing", nil},
		{"event type disagrees with path", delivery{header: map[string]string{headerEventType: "3"}}, http.StatusBadRequest, "X-Engage-Event-Type 3 does not match the path's service desk (event type 2)", nil},
		{"event type not a number", delivery{header: map[string]string{headerEventType: "desk"}}, http.StatusBadRequest, "is not a number", nil},
		{"no delivery id", delivery{header: map[string]string{headerDelivery: ""}}, http.StatusBadRequest, "X-Engage-Delivery is missing: without a delivery id a retried or replayed notification cannot be recognised", nil},
		{"unsigned and no delivery id is refused for the signature first", delivery{header: map[string]string{headerDelivery: "", headerSignature: ""}}, http.StatusUnauthorized, "signature", nil},
		{"delivery id too long", delivery{header: map[string]string{headerDelivery: strings.Repeat("x", 129)}}, http.StatusBadRequest, "longer than 128", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := &recorder{}
			a := serve(t, newTestHandler(t, rec, nil, nil), tt.d.request(t))
			assert.Equal(t, tt.status, a.status, a.message)
			assert.Contains(t, a.message, tt.message)
			assert.Equal(t, "application/json", a.header.Get("Content-Type"))
			assert.Equal(t, tt.want, rec.gotInvalidated(), "invalidated")
			assert.Equal(t, tt.want, rec.gotPublished(), "published")
			if tt.status == http.StatusMethodNotAllowed {
				assert.Equal(t, http.MethodPost, a.header.Get("Allow"))
			}
		})
	}
}

func TestHandlerInvalidatesBeforePublishing(t *testing.T) {
	rec := &recorder{}
	d := delivery{path: MountPath + PathMeetingExternal, body: simMeetingExternalMoved, header: map[string]string{headerEventType: "3"}}
	a := serve(t, newTestHandler(t, rec, nil, nil), d.request(t))
	require.Equal(t, http.StatusOK, a.status, a.message)
	assert.Equal(t, []string{"invalidate", "publish", "publish"}, rec.gotCalls(), "one Invalidate with every change, then one Publish each")
	assert.Len(t, rec.gotInvalidated(), 2)
	assert.Equal(t, rec.gotInvalidated(), rec.gotPublished())
}

func TestHandlerDeduplicates(t *testing.T) {
	rec := &recorder{}
	var dups []string
	h := newTestHandler(t, rec, nil, nil)
	h.onDup = func(service, by string) { dups = append(dups, service+" "+by) }
	first := serve(t, h, delivery{}.request(t))
	require.Equal(t, http.StatusOK, first.status, first.message)
	again := serve(t, h, delivery{}.request(t))
	assert.Equal(t, http.StatusOK, again.status)
	assert.Equal(t, "Delivery already processed.", again.message)
	assert.Len(t, rec.gotInvalidated(), 1)
	assert.Len(t, rec.gotPublished(), 1)
	assert.Equal(t, []string{"desk delivery"}, dups)
	assert.Zero(t, h.pendingRereads(), "a retry under the same id schedules no re-read")

	// A refused delivery takes no claim: once it is right, the same id is processed.
	bad := delivery{body: `[1]`, header: map[string]string{headerDelivery: "fixed-later"}}
	assert.Equal(t, http.StatusBadRequest, serve(t, h, bad.request(t)).status)
	good := delivery{body: specDeskOther, header: map[string]string{headerDelivery: "fixed-later"}}
	assert.Equal(t, "Processed 1 changes.", serve(t, h, good.request(t)).message)
}

func TestHandlerInvalidateFailureReleasesClaim(t *testing.T) {
	fail := true
	rec := &recorder{invalidate: func([]workplace.Change) error {
		if fail {
			return errors.New("redis: connection refused")
		}
		return nil
	}}
	dd := &fakeDeduper{mem: NewMemoryDeduper(testNow)}
	var claimed, released []string
	var ttls []time.Duration
	dd.claim = func(ctx context.Context, key string, ttl time.Duration) (bool, error) {
		claimed = append(claimed, key)
		ttls = append(ttls, ttl)
		return dd.mem.Claim(ctx, key, ttl)
	}
	dd.release = func(ctx context.Context, key string) error {
		released = append(released, key)
		return dd.mem.Release(ctx, key)
	}
	h := newTestHandler(t, rec, dd, nil)

	a := serve(t, h, delivery{}.request(t))
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Empty(t, rec.gotPublished(), "nothing is published before the invalidation is durable")
	require.Len(t, claimed, 2, "the delivery id, then the body")
	assert.Equal(t, "webhook:delivery:6f1c2a4e-0000-4000-8000-000000000001", claimed[0])
	assert.True(t, strings.HasPrefix(claimed[1], bodyKeyPrefix), claimed[1])
	assert.Equal(t, []time.Duration{DeliveryTTL, DefaultReplayWindow}, ttls)
	assert.Equal(t, claimed, released, "both claims are given back")

	// The upstream's retry (same delivery id) is processed.
	fail = false
	a = serve(t, h, delivery{}.request(t))
	assert.Equal(t, http.StatusOK, a.status, a.message)
	assert.Len(t, rec.gotInvalidated(), 1)
	assert.Len(t, rec.gotPublished(), 1)
}

func TestHandlerReleasesEvenWhenRequestCancelled(t *testing.T) {
	rec := &recorder{invalidate: func([]workplace.Change) error { return context.Canceled }}
	var releaseErr error
	dd := &fakeDeduper{mem: NewMemoryDeduper(testNow)}
	dd.release = func(ctx context.Context, key string) error {
		releaseErr = ctx.Err()
		return dd.mem.Release(ctx, key)
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	r := delivery{}.request(t).WithContext(ctx)
	a := serve(t, newTestHandler(t, rec, dd, nil), r)
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.NoError(t, releaseErr, "the release runs on a live context")
	ok, err := dd.mem.Claim(t.Context(), deliveryKeyPrefix+"6f1c2a4e-0000-4000-8000-000000000001", time.Hour)
	require.NoError(t, err)
	assert.True(t, ok, "the claim was given back")
}

func TestHandlerClaimFailure(t *testing.T) {
	rec := &recorder{}
	dd := &fakeDeduper{claim: func(context.Context, string, time.Duration) (bool, error) { return false, errors.New("redis down") }}
	a := serve(t, newTestHandler(t, rec, dd, nil), delivery{}.request(t))
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	assert.Empty(t, rec.gotCalls())
}

func TestHandlerPublishFailureStillAcknowledges(t *testing.T) {
	n := 0
	rec := &recorder{publish: func(workplace.Change) error {
		n++
		if n == 1 {
			return errors.New("subscriber queue full")
		}
		return nil
	}}
	var logs bytes.Buffer
	d := delivery{path: MountPath + PathVisitor, body: `[{"VisitorId":1,"VisitorAction":3},{"VisitorId":2,"VisitorAction":5}]`, header: map[string]string{headerEventType: "8"}}
	a := serve(t, newTestHandler(t, rec, nil, &logs), d.request(t))
	assert.Equal(t, http.StatusOK, a.status)
	assert.Len(t, rec.gotInvalidated(), 2)
	assert.Len(t, rec.gotPublished(), 1, "the second change is published after the first failed")
	assert.Contains(t, logs.String(), "publish failed")
}

func TestHandlerWithoutDependencies(t *testing.T) {
	h, err := NewHandler(Options{Secret: testSecret})
	require.NoError(t, err)
	a := serve(t, h, delivery{}.request(t))
	assert.Equal(t, http.StatusOK, a.status, "nil Invalidator and Publisher: nothing cached, nothing subscribed")

	// The default body limit is 1 MiB.
	big := delivery{body: "[" + strings.Repeat(" ", int(DefaultMaxBody)) + "]"}
	assert.Equal(t, http.StatusRequestEntityTooLarge, serve(t, h, big.request(t)).status)
	fits := delivery{body: "[" + strings.Repeat(" ", int(DefaultMaxBody)-len(specDesk)) + specDesk[1:], header: map[string]string{headerDelivery: "fits"}}
	assert.Equal(t, http.StatusOK, serve(t, h, fits.request(t)).status)
}

func TestNewHandlerNeedsSecret(t *testing.T) {
	_, err := NewHandler(Options{})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Secret")
}

func TestHandlerNeverLogsSecrets(t *testing.T) {
	var logs bytes.Buffer
	rec := &recorder{invalidate: func([]workplace.Change) error { return errors.New("boom") }}
	h := newTestHandler(t, rec, nil, &logs)
	good := delivery{}
	serve(t, h, good.request(t))
	serve(t, h, delivery{header: map[string]string{headerSignature: sign("guess", []byte(specDesk))}}.request(t))
	serve(t, h, delivery{body: `[1]`}.request(t))
	out := logs.String()
	assert.Contains(t, out, "webhook: received")
	assert.Contains(t, out, "invalidation failed")
	assert.Contains(t, out, "bad or missing signature")
	assert.NotContains(t, out, testSecret)
	assert.NotContains(t, out, sign(testSecret, []byte(specDesk))[7:])
	assert.NotContains(t, out, sign("guess", []byte(specDesk))[7:])
	assert.NotContains(t, out, sign(testSecret, []byte(`[1]`))[7:])
}
