package engagesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestListenerRegistration(t *testing.T) {
	h := newHarness(t, Config{})
	post := func(body any) reply { return h.api(http.MethodPost, "/listener", ProductExternalBookings, body) }
	tests := []struct {
		name string
		body any
		text string
	}{
		{"no url", map[string]any{"secretkey": "s", "eventTypes": []int{3}}, msgListenerURL},
		{"relative url", map[string]any{"eventTypes": []int{3}, "notificationUrl": "/hook"}, msgListenerURL},
		{"no types", map[string]any{"notificationUrl": "https://example.com/h", "eventTypes": []int{}}, msgListenerTypes},
		{"unknown type", map[string]any{"notificationUrl": "https://example.com/h", "eventTypes": []int{9}}, msgListenerTypes},
		{"resourceIds need queueProvider 4", map[string]any{"notificationUrl": "https://example.com/h", "eventTypes": []int{3}, "resourceIds": []int{2001}, "queueProvider": 2}, msgListenerResources},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { requireMessage(t, post(tt.body), 400, tt.text) })
	}

	r := post(map[string]any{"secretKey": "s1", "eventTypes": []int{3, 5}, "notificationUrl": "https://example.com/a", "queueProvider": 2})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var reg struct {
		ListenerID      string `json:"listenerId"`
		EventTypes      []int  `json:"eventTypes"`
		NotificationURL string `json:"notificationUrl"`
	}
	r.decode(t, &reg)
	_, err := uuid.Parse(reg.ListenerID)
	require.NoError(t, err)
	assert.Equal(t, []int{3, 5}, reg.EventTypes)
	assert.Equal(t, "https://example.com/a", reg.NotificationURL)

	// Registering the same URL again replaces it and keeps its id.
	r = post(map[string]any{"secretkey": "s2", "eventTypes": []int{1, 2, 3, 4, 5, 6, 7, 8}, "notificationUrl": "https://example.com/a"})
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, reg.ListenerID, r.obj(t)["listenerId"])
	r = post(map[string]any{"secretkey": "s3", "eventTypes": []int{3}, "resourceIds": []int{2001}, "notificationUrl": "https://example.com/b", "queueProvider": 4})
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, 2, h.sim.Stats().Listeners)

	r = h.api(http.MethodGet, "/listener", ProductExternalBookings, nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.NotContains(t, string(r.body), "s2", "secrets are never shown")
	var list struct {
		Listeners []map[string]any `json:"listeners"`
	}
	r.decode(t, &list)
	require.Len(t, list.Listeners, 2)

	r = h.api(http.MethodDelete, "/listener", ProductExternalBookings, map[string]any{"notificationUrl": "https://example.com/a", "eventTypes": []int{1, 2, 4}})
	require.Equal(t, http.StatusOK, r.status)
	r = h.api(http.MethodGet, "/listener", ProductExternalBookings, nil)
	r.decode(t, &list)
	assert.Equal(t, []any{3.0, 5.0, 6.0, 7.0, 8.0}, list.Listeners[0]["eventTypes"])
	require.Equal(t, http.StatusOK, h.api(http.MethodDelete, "/listener", ProductExternalBookings, map[string]any{"notificationUrl": "https://example.com/b", "eventTypes": []int{3}}).status)
	assert.Equal(t, 1, h.sim.Stats().Listeners)
	requireMessage(t, h.api(http.MethodDelete, "/listener", ProductExternalBookings, map[string]any{"notificationUrl": "https://example.com/b"}), 404, msgListenerNotFound)
}

func TestDeliverySignedAndShaped(t *testing.T) {
	h := newHarness(t, Config{})
	rc := newReceiver(t, "top-secret", nil)
	h.listen(rc, 3)
	r := h.api(http.MethodPost, "/bookings", ProductExternalBookings, map[string]any{"roomId": roomB, "startDateTime": "2026-03-21 09:00", "endDateTime": "2026-03-21 10:00"})
	require.Equal(t, http.StatusCreated, r.status)
	id := int(r.obj(t)["bookingId"].(float64))

	got := rc.waitN(t, 1)[0]
	assert.True(t, got.sigOK, "X-Engage-Signature is the HMAC-SHA256 of the body")
	assert.Equal(t, "3", got.eventType)
	assert.Equal(t, "application/json", got.header.Get("Content-Type"))
	_, err := uuid.Parse(got.delivery)
	assert.NoError(t, err)
	assert.JSONEq(t, fmt.Sprintf(`{"2026-03-21T00:00:00":{"ChangedItems":[{"Action":1,"BookingID":%d,"ResourceItemID":2002}]}}`, id), string(got.body))

	// A wrong secret fails verification on the receiver's side.
	rc.mu.Lock()
	rc.secret = "other"
	rc.mu.Unlock()
	h.api(http.MethodDelete, "/bookings", ProductExternalBookings, map[string]any{"bookingId": id})
	got = rc.waitN(t, 2)[1]
	assert.False(t, got.sigOK)
	assert.JSONEq(t, fmt.Sprintf(`{"2026-03-21T00:00:00":{"ChangedItems":[{"Action":0,"BookingID":%d,"ResourceItemID":2002}]}}`, id), string(got.body))
}

func TestDeliveryBatchingPerEventType(t *testing.T) {
	h := newHarness(t, Config{})
	rc := newReceiver(t, "k", nil)
	h.listen(rc, 3, 5)

	// Extending produces a MeetingProgression and a Meeting External: one request each.
	h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "1h"}) // 11:00
	require.Equal(t, http.StatusOK, h.api(http.MethodPut, fmt.Sprintf("/bookings/%d", bookingA), ProductExternalBookings, map[string]any{"actionType": 1}).status)
	require.Equal(t, http.StatusOK, h.api(http.MethodPut, fmt.Sprintf("/bookings/%d", bookingA), ProductExternalBookings, map[string]any{"actionType": 3, "extendByMinutes": 30}).status)
	got := rc.waitN(t, 3)
	byType := map[string][]string{}
	for _, d := range got {
		assert.True(t, d.sigOK)
		byType[d.eventType] = append(byType[d.eventType], string(d.body))
	}
	require.Len(t, byType["5"], 2)
	require.Len(t, byType["3"], 1)
	assert.Contains(t, byType["5"], `[{"BookingId":100001,"ResourceItemId":2001,"UpdatedTime":"0001-01-01T00:00:00","MeetingProgressionAction":0,"ActionSource":1}]`)
	assert.Contains(t, byType["5"], `[{"BookingId":100001,"ResourceItemId":2001,"UpdatedTime":"2026-03-20T12:30:00","MeetingProgressionAction":2,"ActionSource":1}]`)
	assert.JSONEq(t, `{"2026-03-20T00:00:00":{"ChangedItems":[{"Action":1,"BookingID":100001,"ResourceItemID":2001}]}}`, byType["3"][0])

	// A booking moved to another date and room is announced under both.
	require.Equal(t, http.StatusOK, h.api(http.MethodPut, fmt.Sprintf("/bookings/%d", bookingB), ProductExternalBookings,
		map[string]any{"bookingDetails": map[string]any{"roomId": roomB, "startDate": "2026-03-22 09:00", "endDate": "2026-03-22 10:00"}}).status)
	got = rc.waitN(t, 4)
	assert.Equal(t, "3", got[3].eventType)
	assert.JSONEq(t, `{"2026-03-20T00:00:00":{"ChangedItems":[{"Action":1,"BookingID":100002,"ResourceItemID":2001}]},
		"2026-03-22T00:00:00":{"ChangedItems":[{"Action":1,"BookingID":100002,"ResourceItemID":2002}]}}`, string(got[3].body))

	// Deleting a room with two bookings sends one batch of Meeting External items (and no
	// Resource event to a listener that did not ask for it).
	require.Equal(t, http.StatusOK, h.admin(http.MethodDelete, fmt.Sprintf("/_sim/resources/%d", roomA), nil).status)
	got = rc.waitN(t, 5)
	assert.Equal(t, "3", got[4].eventType)
	var batch map[string]meetingDay
	require.NoError(t, json.Unmarshal(got[4].body, &batch))
	require.Len(t, batch["2026-03-20T00:00:00"].ChangedItems, 1)
	assert.Equal(t, meetingChange{Action: 0, BookingID: bookingA, ResourceItemID: roomA}, batch["2026-03-20T00:00:00"].ChangedItems[0])
	assert.Len(t, rc.all(), 5)
}

func TestDeliveryRetriesWithSameID(t *testing.T) {
	h := newHarness(t, Config{})
	rc := newReceiver(t, "k", func(n int) int {
		if n <= 2 {
			return http.StatusInternalServerError
		}
		return http.StatusNoContent
	})
	h.listen(rc, 3)
	require.Equal(t, http.StatusOK, h.api(http.MethodDelete, "/bookings", ProductExternalBookings, map[string]any{"bookingId": bookingA}).status)
	got := rc.waitN(t, 3)
	assert.Equal(t, got[0].delivery, got[1].delivery)
	assert.Equal(t, got[0].delivery, got[2].delivery)
	assert.Equal(t, got[0].body, got[2].body)
	st := h.waitStats(func(s Stats) bool { return s.Deliveries.Succeeded == 1 })
	assert.Equal(t, DeliveryStats{Attempted: 3, Succeeded: 1, Failed: 2, Retried: 2}, st.Deliveries)

	r := h.admin(http.MethodGet, "/_sim/deliveries", nil)
	var log struct {
		Deliveries []DeliveryRecord `json:"deliveries"`
	}
	r.decode(t, &log)
	require.Len(t, log.Deliveries, 3)
	for i, d := range log.Deliveries {
		assert.Equal(t, i+1, d.Attempt)
		assert.Equal(t, got[0].delivery, d.DeliveryID)
		assert.Equal(t, 3, d.EventType)
		assert.Equal(t, rc.srv.URL+"/hook", d.URL)
	}
	assert.Equal(t, 500, log.Deliveries[0].Status)
	assert.Equal(t, 204, log.Deliveries[2].Status)
}

func TestDeliveryGivesUpAfterThreeRetries(t *testing.T) {
	h := newHarness(t, Config{})
	rc := newReceiver(t, "k", func(int) int { return http.StatusBadGateway })
	h.listen(rc, 3)
	h.api(http.MethodDelete, "/bookings", ProductExternalBookings, map[string]any{"bookingId": bookingA})
	st := h.waitStats(func(s Stats) bool { return s.Deliveries.Attempted == 4 })
	assert.Equal(t, DeliveryStats{Attempted: 4, Failed: 4, Retried: 3}, st.Deliveries)
	h.sim.Close() // waits for the delivery goroutine, so nothing more can arrive
	assert.Len(t, rc.all(), 4)
}

func TestDeliveryTimeoutIsRetried(t *testing.T) {
	release := make(chan struct{})
	calls := make(chan string, 10)
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls <- r.Header.Get("X-Engage-Delivery")
		if n.Add(1) == 1 {
			select { // the first answer never comes in time
			case <-r.Context().Done():
			case <-release:
			}
		}
		w.WriteHeader(http.StatusOK)
	}))
	defer srv.Close()
	defer close(release)
	h := newHarness(t, Config{DeliveryTimeout: 100 * time.Millisecond})
	rc := &receiver{srv: srv, secret: "k"}
	h.listen(rc, 3)
	h.api(http.MethodDelete, "/bookings", ProductExternalBookings, map[string]any{"bookingId": bookingA})
	first, second := <-calls, <-calls
	assert.Equal(t, first, second)
	st := h.waitStats(func(s Stats) bool { return s.Deliveries.Succeeded == 1 })
	assert.Equal(t, 1, st.Deliveries.Failed)
	assert.Equal(t, 1, st.Deliveries.Retried)
}

func TestDropAndDuplicateFaults(t *testing.T) {
	h := newHarness(t, Config{})
	rc := newReceiver(t, "k", nil)
	h.listen(rc, 3)

	// One dropped attempt: the retry still delivers it.
	h.admin(http.MethodPost, "/_sim/faults", map[string]any{"dropDeliveries": 1})
	h.api(http.MethodDelete, "/bookings", ProductExternalBookings, map[string]any{"bookingId": bookingA})
	rc.waitN(t, 1)
	st := h.waitStats(func(s Stats) bool { return s.Deliveries.Succeeded == 1 })
	assert.Equal(t, DeliveryStats{Attempted: 1, Succeeded: 1, Retried: 1, Dropped: 1}, st.Deliveries)
	// The retry of a dropped attempt keeps its delivery id, as every retry does.
	var log struct {
		Deliveries []DeliveryRecord `json:"deliveries"`
	}
	h.admin(http.MethodGet, "/_sim/deliveries", nil).decode(t, &log)
	require.Len(t, log.Deliveries, 2)
	assert.True(t, log.Deliveries[0].Dropped)
	assert.NotEmpty(t, log.Deliveries[0].DeliveryID)
	assert.Equal(t, log.Deliveries[0].DeliveryID, log.Deliveries[1].DeliveryID)

	// Duplicated: the same delivery id twice.
	h.admin(http.MethodPost, "/_sim/faults", map[string]any{"duplicateDeliveries": 1})
	h.api(http.MethodDelete, "/bookings", ProductExternalBookings, map[string]any{"bookingId": bookingB})
	got := rc.waitN(t, 3)
	assert.Equal(t, got[1].delivery, got[2].delivery)
	assert.Equal(t, got[1].body, got[2].body)
	st = h.waitStats(func(s Stats) bool { return s.Deliveries.Duplicated == 1 && s.Deliveries.Succeeded == 3 })

	// Every attempt dropped: the delivery is lost.
	h.admin(http.MethodPost, "/_sim/faults", map[string]any{"dropDeliveries": 4})
	r := h.api(http.MethodPost, "/bookings", ProductExternalBookings, map[string]any{"roomId": roomB, "startDateTime": "2026-03-21 09:00", "endDateTime": "2026-03-21 10:00"})
	require.Equal(t, http.StatusCreated, r.status)
	st = h.waitStats(func(s Stats) bool { return s.Deliveries.Dropped == 5 })
	h.sim.Close()
	assert.Len(t, rc.all(), 3)
	assert.Equal(t, 0, h.sim.gw.currentFaults().dropDeliveries)
}

func TestResourceFilteredListener(t *testing.T) {
	h := newHarness(t, Config{})
	rc := newReceiver(t, "k", nil)
	r := h.api(http.MethodPost, "/listener", ProductExternalBookings, map[string]any{"secretkey": "k", "eventTypes": []int{3}, "resourceIds": []int{roomB},
		"notificationUrl": rc.srv.URL + "/x", "queueProvider": 4})
	require.Equal(t, http.StatusOK, r.status)
	h.api(http.MethodDelete, "/bookings", ProductExternalBookings, map[string]any{"bookingId": bookingA}) // roomA: filtered out
	h.api(http.MethodPost, "/bookings", ProductExternalBookings, map[string]any{"roomId": roomB, "startDateTime": "2026-03-21 09:00", "endDateTime": "2026-03-21 10:00"})
	got := rc.waitN(t, 1)
	assert.Contains(t, string(got[0].body), `"ResourceItemID":2002`)
	h.sim.Close()
	assert.Len(t, rc.all(), 1)
}

func TestEventBodiesOfEveryKind(t *testing.T) {
	h := newHarness(t, Config{})
	rc := newReceiver(t, "k", nil)
	h.listen(rc, 2, 5, 6, 7, 8)
	next := func(n int) delivered {
		t.Helper()
		got := rc.waitN(t, n)
		require.True(t, got[n-1].sigOK)
		return got[n-1]
	}

	// Desk (2) from the API, DeskProgression (6) from the web app.
	r := h.api(http.MethodPost, "/deskBookings", ProductExternalBookings, map[string]any{"deskId": deskB, "dateList": []map[string]any{{"date": "2026-03-20", "bookingType": 3}}})
	require.Equal(t, http.StatusCreated, r.status)
	var ids struct {
		BookingIDs []int `json:"bookingIds"`
	}
	r.decode(t, &ids)
	d := next(1)
	assert.Equal(t, "2", d.eventType)
	assert.JSONEq(t, fmt.Sprintf(`[{"Date":"2026-03-20T00:00:00","BookingID":%d,"ResourceItemID":3002,"Action":1,"UntilFurtherNotice":false}]`, ids.BookingIDs[0]), string(d.body))
	require.Equal(t, http.StatusOK, h.admin(http.MethodPost, fmt.Sprintf("/_sim/deskBookings/%d/progress", ids.BookingIDs[0]), map[string]any{"action": "checkin"}).status)
	d = next(2)
	assert.Equal(t, "6", d.eventType)
	assert.JSONEq(t, fmt.Sprintf(`[{"BookingId":%d,"ResourceItemId":3002,"UpdateTime":"0001-01-01T00:00:00","DeskProgressionAction":0,"ActionSource":0}]`, ids.BookingIDs[0]), string(d.body))
	require.Equal(t, http.StatusOK, h.api(http.MethodPut, fmt.Sprintf("/deskBookings/%d", ids.BookingIDs[0]), ProductExternalBookings, map[string]any{"actionType": 2}).status)
	d = next(3)
	assert.JSONEq(t, fmt.Sprintf(`[{"BookingId":%d,"ResourceItemId":3002,"UpdateTime":"0001-01-01T00:00:00","DeskProgressionAction":1,"ActionSource":1}]`, ids.BookingIDs[0]), string(d.body))

	// Resource (7) from the web app.
	r = h.admin(http.MethodPost, "/_sim/resources", map[string]any{"workspaceTypeId": 1, "locationId": locLondon, "name": "New room", "floorNumber": 4, "capacity": 10})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	rid := int(r.obj(t)["resourceId"].(float64))
	d = next(4)
	assert.Equal(t, "7", d.eventType)
	assert.JSONEq(t, fmt.Sprintf(`[{"ResourceItemID":%d,"WorkspaceTypeId":1,"LocationId":41,"FloorNumber":4,"Action":1}]`, rid), string(d.body))

	// MeetingProgression (5) from the web app carries ActionSource 0.
	h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "1h"})
	require.Equal(t, http.StatusOK, h.admin(http.MethodPost, fmt.Sprintf("/_sim/bookings/%d/progress", bookingA), map[string]any{"action": "start"}).status)
	d = next(5)
	assert.JSONEq(t, `[{"BookingId":100001,"ResourceItemId":2001,"UpdatedTime":"0001-01-01T00:00:00","MeetingProgressionAction":0,"ActionSource":0}]`, string(d.body))
	require.Equal(t, http.StatusOK, h.admin(http.MethodPost, fmt.Sprintf("/_sim/bookings/%d/progress", bookingA), map[string]any{"action": "end"}).status)
	d = next(6)
	assert.JSONEq(t, `[{"BookingId":100001,"ResourceItemId":2001,"UpdatedTime":"0001-01-01T00:00:00","MeetingProgressionAction":1,"ActionSource":0}]`, string(d.body))

	// Visitor (8) from the API.
	require.Equal(t, http.StatusOK, h.api(http.MethodPut, fmt.Sprintf("/visitor/%d", visitorA), ProductVisitor, map[string]any{"action": "arrive"}).status)
	d = next(7)
	assert.Equal(t, "8", d.eventType)
	assert.JSONEq(t, `[{"VisitorId":9001,"BookingId":100001,"LocationId":41,"VisitDate":"2026-03-20T10:50:00","VisitorAction":3}]`, string(d.body))
}

func TestCloseStopsPendingRetries(t *testing.T) {
	h := newHarness(t, Config{RetryDelays: []time.Duration{time.Hour}})
	rc := newReceiver(t, "k", func(int) int { return http.StatusInternalServerError })
	h.listen(rc, 3)
	h.api(http.MethodDelete, "/bookings", ProductExternalBookings, map[string]any{"bookingId": bookingA})
	rc.waitN(t, 1)
	done := make(chan struct{})
	go func() {
		h.sim.Close()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(5 * time.Second):
		t.Fatal("Close did not stop a delivery waiting to retry")
	}
	// After Close no new deliveries start.
	h.api(http.MethodDelete, "/bookings", ProductExternalBookings, map[string]any{"bookingId": bookingB})
	assert.Len(t, rc.all(), 1)
}

func TestDropRateLosesWholeDeliveriesAndOnDeliveryHearsEveryAttempt(t *testing.T) {
	var heard atomic.Int64
	h := newHarness(t, Config{RetryDelays: []time.Duration{time.Millisecond, time.Millisecond, time.Millisecond},
		OnDelivery: func(DeliveryRecord) { heard.Add(1) }})
	rc := newReceiver(t, "k", nil)
	r := h.api(http.MethodPost, "/listener", ProductExternalBookings, map[string]any{"secretkey": "k", "eventTypes": []int{3}, "notificationUrl": rc.srv.URL + "/x", "queueProvider": 2})
	require.Equal(t, http.StatusOK, r.status)

	// Every delivery lost: each of its four attempts is dropped, none sent.
	h.admin(http.MethodPost, "/_sim/faults", map[string]any{"dropRate": 1})
	r = h.api(http.MethodPost, "/bookings", ProductExternalBookings, map[string]any{"roomId": roomB, "startDateTime": "2026-03-21 09:00", "endDateTime": "2026-03-21 10:00"})
	require.Equal(t, http.StatusCreated, r.status)
	h.waitStats(func(s Stats) bool { return s.Deliveries.Dropped == 4 })
	assert.Empty(t, rc.all())
	assert.Equal(t, int64(4), heard.Load())

	// None lost: the next change is delivered at once.
	h.admin(http.MethodPost, "/_sim/faults", map[string]any{"dropRate": 0})
	h.api(http.MethodDelete, "/bookings", ProductExternalBookings, map[string]any{"bookingId": bookingA})
	rc.waitN(t, 1)
	h.waitStats(func(s Stats) bool { return s.Deliveries.Succeeded == 1 })
	assert.Equal(t, int64(5), heard.Load())
}
