package engagesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAdminClock(t *testing.T) {
	h := newHarness(t, Config{})
	r := h.admin(http.MethodGet, "/_sim/clock", nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"now":"2026-03-20T10:00:00Z"}`, string(r.body))
	r = h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "90m"})
	assert.JSONEq(t, `{"now":"2026-03-20T11:30:00Z"}`, string(r.body))
	r = h.admin(http.MethodPost, "/_sim/clock", map[string]any{"now": "2026-03-25T08:00:00+01:00"})
	assert.JSONEq(t, `{"now":"2026-03-25T07:00:00Z"}`, string(r.body))
	assert.Equal(t, time.Date(2026, 3, 25, 7, 0, 0, 0, time.UTC), h.sim.now().UTC())
	assert.Equal(t, http.StatusBadRequest, h.admin(http.MethodPost, "/_sim/clock", map[string]any{"now": "tomorrow"}).status)
	assert.Equal(t, http.StatusBadRequest, h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "soon"}).status)
	assert.Equal(t, http.StatusBadRequest, h.admin(http.MethodPost, "/_sim/clock", map[string]any{}).status)
	assert.Equal(t, http.StatusNotFound, h.admin(http.MethodGet, "/_sim/nothing", nil).status)
}

func TestAdminStatsShapeAndReset(t *testing.T) {
	h := newHarness(t, Config{})
	for range 3 {
		h.api(http.MethodGet, "/rooms?locationId=41", ProductHierarchyMapping, nil)
	}
	h.api(http.MethodGet, "/bookings/100001", ProductExternalBookings, nil)
	h.api(http.MethodGet, "/bookings/7", ProductExternalBookings, nil)
	h.api(http.MethodGet, "/bookings/freeslots?locationId=41&startDateTime=2026-03-20%2009:00&endDateTime=2026-03-20%2010:00", ProductExternalBookings, nil)
	h.raw(http.MethodGet, h.base+"/rooms", "", nil, nil)

	r := h.admin(http.MethodGet, "/_sim/stats", nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"totalCalls":7,"calls":[
		{"method":"GET","route":"/bookings/freeslots","product":"ExternalBookings","status":200,"count":1},
		{"method":"GET","route":"/bookings/{id}","product":"ExternalBookings","status":200,"count":1},
		{"method":"GET","route":"/bookings/{id}","product":"ExternalBookings","status":400,"count":1},
		{"method":"GET","route":"/rooms","product":"HierarchyMapping","status":200,"count":3},
		{"method":"GET","route":"/rooms","product":"HierarchyMapping","status":401,"count":1}],
		"tokenRequests":1,"tokensIssued":1,"deliveries":{"attempted":0,"succeeded":0,"failed":0,"retried":0,"dropped":0,"duplicated":0},"listeners":0}`, string(r.body))
	var st Stats
	r.decode(t, &st)
	assert.Equal(t, h.sim.Stats(), st)

	r = h.admin(http.MethodPost, "/_sim/stats/reset", nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"totalCalls":0,"calls":[],"tokenRequests":0,"tokensIssued":0,"deliveries":{"attempted":0,"succeeded":0,"failed":0,"retried":0,"dropped":0,"duplicated":0},"listeners":0}`, string(r.body))
}

func TestAdminReset(t *testing.T) {
	// Lenient, so the whole tenant can be listed in one call per route.
	h := newHarness(t, Config{LenientParams: true})
	rc := newReceiver(t, "k", nil)
	h.listen(rc, 3)
	require.Equal(t, http.StatusOK, h.api(http.MethodDelete, "/bookings", ProductExternalBookings, map[string]any{"bookingId": bookingA}).status)
	rc.waitN(t, 1)

	// A bare reset restores the initial fixture, keeps listeners and clears the stats.
	r := h.admin(http.MethodPost, "/_sim/reset", nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	assert.Equal(t, http.StatusOK, h.api(http.MethodGet, "/bookings/100001", ProductExternalBookings, nil).status)
	st := h.sim.Stats()
	assert.Equal(t, 1, st.TotalCalls)
	assert.Equal(t, 1, st.Listeners)

	// A seed loads the demo company.
	r = h.admin(http.MethodPost, "/_sim/reset", map[string]any{"seed": 3})
	require.Equal(t, http.StatusOK, r.status)
	assert.GreaterOrEqual(t, int(r.obj(t)["bookings"].(float64)), 2000)
	var e env
	h.api(http.MethodGet, "/locations", ProductHierarchyMapping, nil).decode(t, &e)
	assert.GreaterOrEqual(t, len(e.Data), 6)

	// A full fixture as JSON, and clearing listeners.
	f := tinyFixture()
	f.Bookings = nil
	raw, err := json.Marshal(map[string]any{"fixture": f, "clearListeners": true})
	require.NoError(t, err)
	r = h.admin(http.MethodPost, "/_sim/reset", string(raw))
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	assert.Equal(t, 0, h.sim.Stats().Listeners)
	requireMessage(t, h.api(http.MethodGet, "/bookings/100001", ProductExternalBookings, nil), 400, msgBookingNotFound)
	var locs env
	h.api(http.MethodGet, "/locations", ProductHierarchyMapping, nil).decode(t, &locs)
	assert.Len(t, locs.Data, 3)

	// A broken fixture is refused and changes nothing.
	r = h.admin(http.MethodPost, "/_sim/reset", map[string]any{"fixture": map[string]any{"locations": []map[string]any{{"id": 1, "timeZone": "Nowhere Standard Time"}}}})
	assert.Equal(t, http.StatusBadRequest, r.status)
	h.api(http.MethodGet, "/locations", ProductHierarchyMapping, nil).decode(t, &locs)
	assert.Len(t, locs.Data, 3)
}

func TestAdminBookings(t *testing.T) {
	h := newHarness(t, Config{})
	rc := newReceiver(t, "k", nil)
	h.listen(rc, 3, 5)

	r := h.admin(http.MethodPost, "/_sim/bookings", map[string]any{"userId": userAda, "roomId": roomB, "startDateTime": "2026-03-20 10:00", "endDateTime": "2026-03-20 11:00", "meetingTitle": "Walk-in"})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	id := int(r.obj(t)["bookingId"].(float64))
	var b bookingJSON
	h.api(http.MethodGet, fmt.Sprintf("/bookings/%d", id), ProductExternalBookings, nil).decode(t, &b)
	assert.Equal(t, "Walk-in", b.MeetingTitle)
	assert.Equal(t, sourceWeb, b.BookingSource)
	rc.waitN(t, 1)

	r = h.admin(http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", id), map[string]any{"startDateTime": "2026-03-20 10:15", "meetingTitle": "Walk-in (late)"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	assert.JSONEq(t, fmt.Sprintf(`{"bookingId":%d}`, id), string(r.body))
	h.api(http.MethodGet, fmt.Sprintf("/bookings/%d", id), ProductExternalBookings, nil).decode(t, &b)
	assert.Equal(t, "2026-03-20T10:15:00", b.TimeFrom)
	assert.Equal(t, "2026-03-20T11:00:00", b.TimeTo)
	rc.waitN(t, 2)

	requireMessage(t, h.admin(http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", id), map[string]any{"roomId": roomA, "startDateTime": "2026-03-20 11:00", "endDateTime": "2026-03-20 11:30"}), 409, msgRoomNotAvailable)
	requireMessage(t, h.admin(http.MethodPost, "/_sim/bookings/777/progress", map[string]any{"action": "start"}), 400, msgBookingNotFound)
	requireMessage(t, h.admin(http.MethodPost, fmt.Sprintf("/_sim/bookings/%d/progress", id), map[string]any{"action": "dance"}), 400, msgUnknownAction)

	require.Equal(t, http.StatusOK, h.admin(http.MethodPost, fmt.Sprintf("/_sim/bookings/%d/progress", id), map[string]any{"action": "start"}).status)
	r = h.admin(http.MethodPost, fmt.Sprintf("/_sim/bookings/%d/progress", id), map[string]any{"action": "extend", "minutes": 15})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	got := rc.waitN(t, 5)
	found := false
	for _, d := range got {
		if d.eventType == "5" && string(d.body) == fmt.Sprintf(`[{"BookingId":%d,"ResourceItemId":2002,"UpdatedTime":"2026-03-20T11:15:00","MeetingProgressionAction":2,"ActionSource":0}]`, id) {
			found = true
		}
	}
	assert.True(t, found, "extend from the web app is announced with ActionSource 0")

	require.Equal(t, http.StatusOK, h.admin(http.MethodDelete, fmt.Sprintf("/_sim/bookings/%d", id), nil).status)
	requireMessage(t, h.admin(http.MethodDelete, fmt.Sprintf("/_sim/bookings/%d", id), nil), 400, msgBookingNotFound)
	got = rc.waitN(t, 6)
	assert.JSONEq(t, fmt.Sprintf(`{"2026-03-20T00:00:00":{"ChangedItems":[{"Action":0,"BookingID":%d,"ResourceItemID":2002}]}}`, id), string(got[5].body))
}

func TestAdminDesksResourcesVisitors(t *testing.T) {
	h := newHarness(t, Config{})
	rc := newReceiver(t, "k", nil)
	h.listen(rc, 2, 7, 8)

	r := h.admin(http.MethodPost, "/_sim/deskBookings", map[string]any{"userId": userAda, "deskId": deskB, "dateList": []map[string]any{{"date": "2026-03-24"}}})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var ids struct {
		BookingIDs []int `json:"bookingIds"`
	}
	r.decode(t, &ids)
	require.Len(t, ids.BookingIDs, 1)
	requireMessage(t, h.admin(http.MethodPost, fmt.Sprintf("/_sim/deskBookings/%d/progress", ids.BookingIDs[0]), map[string]any{"action": "checkin"}), 400, msgCannotCheckIn)
	require.Equal(t, http.StatusOK, h.admin(http.MethodPost, fmt.Sprintf("/_sim/deskBookings/%d/progress", ids.BookingIDs[0]), map[string]any{"action": "release"}).status)
	require.Equal(t, http.StatusOK, h.admin(http.MethodDelete, fmt.Sprintf("/_sim/deskBookings/%d", ids.BookingIDs[0]), nil).status)
	requireMessage(t, h.admin(http.MethodDelete, fmt.Sprintf("/_sim/deskBookings/%d", ids.BookingIDs[0]), nil), 404, msgDeskBookingNF)

	// Resources: create, update, delete, each a Resource (7) event; they show in the API at once.
	r = h.admin(http.MethodPost, "/_sim/resources", map[string]any{"workspaceTypeId": 2, "locationId": locSydney, "name": "Desk 5-002", "floorNumber": 5, "groupId": 302, "attributes": []int{102}})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	rid := int(r.obj(t)["resourceId"].(float64))
	var e env
	h.api(http.MethodGet, "/desks?locationId=42", ProductHierarchyMapping, nil).decode(t, &e)
	assert.Len(t, e.Data, 2)
	r = h.admin(http.MethodPut, fmt.Sprintf("/_sim/resources/%d", rid), map[string]any{"floorNumber": 6, "name": "Desk 6-001"})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	h.api(http.MethodGet, "/desks?locationId=42", ProductHierarchyMapping, nil).decode(t, &e)
	assert.Contains(t, string(e.Data[1]), `"FloorNumber":"6"`)
	require.Equal(t, http.StatusOK, h.admin(http.MethodDelete, fmt.Sprintf("/_sim/resources/%d", rid), nil).status)
	requireMessage(t, h.admin(http.MethodDelete, fmt.Sprintf("/_sim/resources/%d", rid), nil), 404, msgResourceNotFound)
	requireMessage(t, h.admin(http.MethodPost, "/_sim/resources", map[string]any{"workspaceTypeId": 3, "locationId": locSydney, "name": "x"}), 400, "workspaceTypeId must be 1 (room) or 2 (desk).")
	requireMessage(t, h.admin(http.MethodPost, "/_sim/resources", map[string]any{"workspaceTypeId": 1, "locationId": 5, "name": "x"}), 404, msgLocationNotFound)

	// Visitors.
	r = h.admin(http.MethodPost, "/_sim/visitors", map[string]any{"firstName": "Hedy", "lastName": "Lamarr", "locationId": locLondon, "arrivalDate": "2026-03-21 14:00"})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	vid := int(r.obj(t)["visitorId"].(float64))
	require.Equal(t, http.StatusOK, h.admin(http.MethodPut, fmt.Sprintf("/_sim/visitors/%d", vid), map[string]any{"visitorCompany": "MGM"}).status)
	require.Equal(t, http.StatusOK, h.admin(http.MethodPost, fmt.Sprintf("/_sim/visitors/%d/action", vid), map[string]any{"action": "arrive"}).status)
	requireMessage(t, h.admin(http.MethodPost, fmt.Sprintf("/_sim/visitors/%d/action", vid), map[string]any{"action": "undepart"}), 400, msgVisitorTransition)
	require.Equal(t, http.StatusOK, h.admin(http.MethodDelete, fmt.Sprintf("/_sim/visitors/%d", vid), nil).status)

	// 2 desk events (the release is a DeskProgression, not subscribed), 3 resource events,
	// 4 visitor events.
	got := rc.waitN(t, 9)
	counts := map[string]int{}
	for _, d := range got {
		counts[d.eventType]++
	}
	assert.Equal(t, map[string]int{"2": 2, "7": 3, "8": 4}, map[string]int{"2": counts["2"], "7": counts["7"], "8": counts["8"]})
}

func TestConcurrentCalls(t *testing.T) {
	h := newHarness(t, Config{RatePerMinute: 100000, Fixture: DemoFixture(1, baseNow())})
	const n = 1000
	var wg sync.WaitGroup
	statuses := make(chan int, n)
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: 100}}
	for i := range n {
		wg.Go(func() {
			path := "/rooms?locationId=41"
			product := ProductHierarchyMapping
			if i%2 == 1 {
				path, product = fmt.Sprintf("/bookings?roomId=1001&startDate=2026-03-20&endDate=2026-04-02&i=%d", i), ProductExternalBookings
			}
			req, err := http.NewRequest(http.MethodGet, h.base+path, nil)
			if err != nil {
				statuses <- 0
				return
			}
			req.Header.Set("Ocp-Apim-Subscription-Key", DefaultKeys()[product])
			req.Header.Set("Authorization", "Bearer "+h.token)
			resp, err := client.Do(req)
			if err != nil {
				statuses <- 0
				return
			}
			resp.Body.Close()
			statuses <- resp.StatusCode
		})
	}
	wg.Wait()
	close(statuses)
	for s := range statuses {
		require.Equal(t, http.StatusOK, s)
	}
	assert.Equal(t, n, h.sim.Stats().TotalCalls)
}
