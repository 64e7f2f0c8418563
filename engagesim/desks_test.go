package engagesim

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeskBookings(t *testing.T) {
	h := newHarness(t, Config{})
	post := func(body any) reply { return h.api(http.MethodPost, "/deskBookings", ProductExternalBookings, body) }

	r := post(map[string]any{"userId": userAlan, "deskId": deskB, "bookingSource": 1, "dateList": []map[string]any{
		{"date": "2026-03-20", "bookingType": 2}, {"date": "2026-03-23", "bookingType": 3}}})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	var created struct {
		BookingIDs []int `json:"bookingIds"`
	}
	r.decode(t, &created)
	require.Len(t, created.BookingIDs, 2)

	tests := []struct {
		name   string
		body   any
		status int
		text   string
	}{
		{"one per desk per date", map[string]any{"deskId": deskB, "dateList": []map[string]any{{"date": "2026-03-23", "bookingType": 1}}}, 409, msgDeskNotAvailable},
		{"seeded booking holds its desk", map[string]any{"DESKID": deskA, "DateList": []map[string]any{{"Date": "2026-03-20", "BookingType": 1}}}, 409, msgDeskNotAvailable},
		{"same date twice in one request", map[string]any{"deskId": deskSydney, "dateList": []map[string]any{{"date": "2026-03-24"}, {"date": "2026-03-24"}}}, 409, msgDeskNotAvailable},
		{"unknown desk", map[string]any{"deskId": roomA, "dateList": []map[string]any{{"date": "2026-03-24"}}}, 404, msgDeskNotFound},
		{"no dates", map[string]any{"deskId": deskB}, 400, "dateList is required."},
		{"bad date", map[string]any{"deskId": deskB, "dateList": []map[string]any{{"date": "24/03/2026"}}}, 400, "Invalid date: 24/03/2026."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) { requireMessage(t, post(tt.body), tt.status, tt.text) })
	}

	// All or none: the failed request above booked nothing on 2026-03-24.
	r = h.api(http.MethodGet, "/deskBookings?deskId=3003&startDate=2026-03-20&endDate=2026-04-02", ProductExternalBookings, nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"deskBookings":[]}`, string(r.body))

	r = h.api(http.MethodGet, "/deskBookings?DeskID=3002&startDate=2026-03-20&endDate=2026-03-23", ProductExternalBookings, nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, fmt.Sprintf(`{"deskBookings":[
		{"bookingID":%d,"deskID":3002,"userId":1002,"date":"2026-03-20T00:00:00","bookingType":2,"untilFurtherNotice":false,"status":0},
		{"bookingID":%d,"deskID":3002,"userId":1002,"date":"2026-03-23T00:00:00","bookingType":3,"untilFurtherNotice":false,"status":0}]}`,
		created.BookingIDs[0], created.BookingIDs[1]), string(r.body))
	requireMessage(t, h.api(http.MethodGet, "/deskBookings?deskId=3002&startDate=2026-03-20&endDate=2026-04-03", ProductExternalBookings, nil), 400, msgDateRange)
	requireMessage(t, h.api(http.MethodGet, "/deskBookings?deskId=9&startDate=2026-03-20&endDate=2026-03-21", ProductExternalBookings, nil), 404, msgDeskNotFound)

	// Check-in only on the booking's date; release once.
	put := func(id, action int) reply {
		return h.api(http.MethodPut, fmt.Sprintf("/deskBookings/%d", id), ProductExternalBookings, map[string]any{"userId": userAlan, "actionType": action})
	}
	requireMessage(t, put(created.BookingIDs[1], 1), 400, msgCannotCheckIn)
	r = put(created.BookingIDs[0], 1)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	assert.Equal(t, float64(1), r.obj(t)["status"])
	requireMessage(t, put(created.BookingIDs[0], 1), 400, msgCannotCheckIn)
	r = put(created.BookingIDs[0], 2)
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, float64(2), r.obj(t)["status"])
	requireMessage(t, put(created.BookingIDs[0], 2), 400, msgAlreadyReleased)
	requireMessage(t, put(999, 2), 404, msgDeskBookingNF)

	// A released booking frees the desk for that date.
	assert.Equal(t, http.StatusCreated, post(map[string]any{"deskId": deskB, "dateList": []map[string]any{{"date": "2026-03-20"}}}).status)

	r = h.api(http.MethodDelete, "/deskBookings", ProductExternalBookings, map[string]any{"bookingId": created.BookingIDs[1], "userId": userAlan, "date": "2026-03-23"})
	require.Equal(t, http.StatusOK, r.status)
	assert.Equal(t, http.StatusCreated, post(map[string]any{"deskId": deskB, "dateList": []map[string]any{{"date": "2026-03-23"}}}).status)
	requireMessage(t, h.api(http.MethodDelete, "/deskBookings", ProductExternalBookings, map[string]any{"bookingId": created.BookingIDs[1]}), 404, msgDeskBookingNF)
}

func TestAvailableDesks(t *testing.T) {
	h := newHarness(t, Config{})
	avail := func(body any) (ids []int, total int) {
		r := h.api(http.MethodPost, "/deskBookings/availableDesks", ProductExternalBookings, body)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var out struct {
			AvailableDesks []availableDesk `json:"availableDesks"`
			TotalRecords   int             `json:"TotalRecords"`
		}
		r.decode(t, &out)
		ids = []int{}
		for _, d := range out.AvailableDesks {
			ids = append(ids, d.DeskID)
		}
		return ids, out.TotalRecords
	}
	ids, total := avail(map[string]any{"userID": userAda, "locationID": locLondon, "workSpaceTypeId": 2, "dateList": []map[string]any{{"date": "2026-03-20", "bookingType": 2}}})
	assert.Equal(t, []int{deskB}, ids)
	assert.Equal(t, 1, total)
	ids, total = avail(map[string]any{"LocationId": locLondon, "dateList": []map[string]any{{"date": "2026-03-21"}}, "pageNumber": 2, "pageSize": 1})
	assert.Equal(t, []int{deskB}, ids)
	assert.Equal(t, 2, total)
	ids, _ = avail(map[string]any{"locationID": locLondon, "groupID": 302, "dateList": []map[string]any{{"date": "2026-03-21"}}})
	assert.Equal(t, []int{}, ids)
	r := h.api(http.MethodPost, "/deskBookings/availableDesks", ProductExternalBookings, map[string]any{"locationID": locLondon, "dateList": []map[string]any{{"date": "2026-03-21"}}, "pageNumber": 1, "pageSize": 1})
	assert.JSONEq(t, `{"availableDesks":[{"deskID":3001,"deskName":"Desk 13-001","deskAttributes":[101],"floorNumber":13,"groupId":301}],"TotalRecords":2}`, string(r.body))
	requireMessage(t, h.api(http.MethodPost, "/deskBookings/availableDesks", ProductExternalBookings, map[string]any{"locationID": 9, "dateList": []map[string]any{{"date": "2026-03-21"}}}), 404, msgLocationNotFound)
}
