package engagesim

import (
	"fmt"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestBookingShape(t *testing.T) {
	h := newHarness(t, Config{})
	r := h.api(http.MethodGet, fmt.Sprintf("/bookings/%d", bookingA), ProductExternalBookings, nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"bookingID":100001,"roomID":2001,"locationId":41,"locationTimeZone":"GMT Standard Time","meetingTitle":"Weekly sync",
		"timeFrom":"2026-03-20T11:00:00","timeTo":"2026-03-20T12:00:00","timeFromUTC":"2026-03-20T11:00:00","timeToUTC":"2026-03-20T12:00:00",
		"utcWithSetupTime":"2026-03-20T11:00:00","utcWithCleanDownTime":"2026-03-20T12:00:00",
		"actualTimeFrom":"0001-01-01T00:00:00","actualTimeTo":"0001-01-01T00:00:00","bookingRealStartTime":"0001-01-01T00:00:00","bookingRealEndTime":"0001-01-01T00:00:00",
		"hostName":"Ada Lovelace","hostEmail":"ada.lovelace@example.com","meetingProgress":0,"prepUnit":0,"prepPeriod":0,"cleanDownUnit":0,"cleanDownPeriod":0,
		"roomClear":false,"instantMeeting":false,"pendingOnGrid":false,"privateMeeting":false,"lastModifiedOn":"0001-01-01T00:00:00","modifiedBy":"Ada Lovelace",
		"createdOn":"0001-01-01T00:00:00","createdBy":"Ada Lovelace","deleted":false,"recurranceId":0,"waitList":false,"dateFrom":"2026-03-20T00:00:00","groupId":301,
		"bookingStart":"2026-03-20T11:00:00","bookingEnd":"2026-03-20T12:00:00","bookingSource":0,"userRole":1,"status":1,"hostId":1001,"requestorId":1001,
		"requestorName":"Ada Lovelace","requestorEmail":"ada.lovelace@example.com","creatorName":"Ada Lovelace","creatorEmail":"ada.lovelace@example.com",
		"setupStyle":0,"notes":"","meetingType":1,"costCodeId":0}`, string(r.body))

	requireMessage(t, h.api(http.MethodGet, "/bookings/424242", ProductExternalBookings, nil), 400, "Booking Id does not exist.")
	requireMessage(t, h.api(http.MethodGet, "/bookings/abc", ProductExternalBookings, nil), 400, "Booking Id does not exist.")
}

func bookingIDs(t *testing.T, r reply) []int {
	t.Helper()
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var out struct {
		Bookings []bookingJSON `json:"bookings"`
	}
	r.decode(t, &out)
	ids := []int{}
	for _, b := range out.Bookings {
		ids = append(ids, b.BookingID)
	}
	return ids
}

func TestListBookingsWindow(t *testing.T) {
	h := newHarness(t, Config{})
	tests := []struct {
		name   string
		query  string
		status int
		text   string
		ids    []int
	}{
		{"one day", "roomId=2001&startDate=2026-03-20&endDate=2026-03-20", 200, "", []int{bookingA, bookingB}},
		{"names any case", "ROOMID=2001&startdate=2026-03-20&EndDate=2026-03-20", 200, "", []int{bookingA, bookingB}},
		{"14 days inclusive", "roomId=2001&startDate=2026-03-07&endDate=2026-03-20", 200, "", []int{bookingA, bookingB}},
		{"15 days", "roomId=2001&startDate=2026-03-06&endDate=2026-03-20", 400, msgDateRange, nil},
		{"other days", "roomId=2001&startDate=2026-03-21&endDate=2026-03-22", 200, "", []int{}},
		{"end before start", "roomId=2001&startDate=2026-03-21&endDate=2026-03-20", 400, "endDate must not be before startDate.", nil},
		{"missing room", "startDate=2026-03-20&endDate=2026-03-20", 400, "roomId is required.", nil},
		{"unknown room", "roomId=9&startDate=2026-03-20&endDate=2026-03-20", 404, msgRoomNotFound, nil},
		{"desk is not a room", "roomId=3001&startDate=2026-03-20&endDate=2026-03-20", 404, msgRoomNotFound, nil},
		{"bad date", "roomId=2001&startDate=20-03-2026&endDate=2026-03-20", 400, "Invalid date: 20-03-2026.", nil},
		{"missing date", "roomId=2001&startDate=2026-03-20", 400, "endDate is required.", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.api(http.MethodGet, "/bookings?"+tt.query, ProductExternalBookings, nil)
			if tt.text != "" {
				requireMessage(t, r, tt.status, tt.text)
				return
			}
			assert.Equal(t, tt.ids, bookingIDs(t, r))
		})
	}
}

func TestCreateBooking(t *testing.T) {
	h := newHarness(t, Config{})
	post := func(body any, query string) reply {
		return h.api(http.MethodPost, "/bookings"+query, ProductExternalBookings, body)
	}
	tests := []struct {
		name     string
		query    string
		body     any
		status   int
		text     string
		from, to string // expected timeFromUTC / timeToUTC
	}{
		{"local minutes", "", map[string]any{"userId": userAda, "roomId": roomB, "startDateTime": "2026-03-20 11:00", "endDateTime": "2026-03-20 12:00", "meetingTitle": "x"},
			201, "", "2026-03-20T11:00:00", "2026-03-20T12:00:00"},
		{"keys any case, seconds", "", map[string]any{"USERID": userAda, "RoomID": roomB, "StartDateTime": "2026-03-20 12:00:00", "ENDDATETIME": "2026-03-20 12:30:00"},
			201, "", "2026-03-20T12:00:00", "2026-03-20T12:30:00"},
		{"utc flag", "?isUTCDateTime=true", map[string]any{"roomId": roomSydney, "startDateTime": "2026-03-20 01:00", "endDateTime": "2026-03-20 02:00"},
			201, "", "2026-03-20T01:00:00", "2026-03-20T02:00:00"},
		{"sydney local", "", map[string]any{"roomId": roomSydney, "startDateTime": "2026-03-21 09:00", "endDateTime": "2026-03-21 10:00"},
			201, "", "2026-03-20T22:00:00", "2026-03-20T23:00:00"},
		{"rfc3339 wins over local", "", map[string]any{"roomId": roomSydney, "startDateTime": "2026-03-22T09:00:00+11:00", "endDateTime": "2026-03-22T01:00:00Z"},
			201, "", "2026-03-21T22:00:00", "2026-03-22T01:00:00"},
		{"ids as strings", "", map[string]any{"roomId": "2002", "userId": "1002", "startDateTime": "2026-03-20 15:00", "endDateTime": "2026-03-20 16:00"},
			201, "", "2026-03-20T15:00:00", "2026-03-20T16:00:00"},
		{"overlap", "", map[string]any{"roomId": roomA, "startDateTime": "2026-03-20 11:30", "endDateTime": "2026-03-20 12:30"},
			409, msgRoomNotAvailable, "", ""},
		{"overlap inside", "", map[string]any{"roomId": roomA, "startDateTime": "2026-03-20 10:00", "endDateTime": "2026-03-20 15:00"},
			409, msgRoomNotAvailable, "", ""},
		{"touching is fine", "", map[string]any{"roomId": roomA, "startDateTime": "2026-03-20 12:00", "endDateTime": "2026-03-20 13:00"},
			201, "", "2026-03-20T12:00:00", "2026-03-20T13:00:00"},
		{"unknown room", "", map[string]any{"roomId": 1, "startDateTime": "2026-03-20 12:00", "endDateTime": "2026-03-20 13:00"}, 404, msgRoomNotFound, "", ""},
		{"unknown user", "", map[string]any{"roomId": roomB, "userId": 5, "startDateTime": "2026-03-20 17:00", "endDateTime": "2026-03-20 18:00"}, 404, msgUserNotFound, "", ""},
		{"end before start", "", map[string]any{"roomId": roomB, "startDateTime": "2026-03-20 18:00", "endDateTime": "2026-03-20 17:00"}, 400, msgEndBeforeStart, "", ""},
		{"bad time", "", map[string]any{"roomId": roomB, "startDateTime": "tomorrow", "endDateTime": "2026-03-20 17:00"}, 400, "Invalid date-time: tomorrow.", "", ""},
		{"bad json", "", `{"roomId":`, 400, msgBadJSON, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := post(tt.body, tt.query)
			if tt.text != "" {
				requireMessage(t, r, tt.status, tt.text)
				return
			}
			require.Equal(t, http.StatusCreated, r.status, string(r.body))
			var out struct {
				BookingID int `json:"bookingId"`
			}
			r.decode(t, &out)
			require.Positive(t, out.BookingID)
			got := h.api(http.MethodGet, fmt.Sprintf("/bookings/%d", out.BookingID), ProductExternalBookings, nil)
			var b bookingJSON
			got.decode(t, &b)
			assert.Equal(t, tt.from, b.TimeFromUTC)
			assert.Equal(t, tt.to, b.TimeToUTC)
			assert.Equal(t, 0, b.MeetingProgress)
		})
	}
}

func TestBookingsAcrossDST(t *testing.T) {
	h := newHarness(t, Config{})
	tests := []struct {
		name                 string
		room                 int
		start, end           string
		status               int
		fromUTC, toUTC       string
		fromLocal, toLocal   string
		durationMinutesTotal int
	}{
		{"london before the change (GMT)", roomB, "2026-03-28 09:00", "2026-03-28 10:00", 201, "2026-03-28T09:00:00", "2026-03-28T10:00:00", "2026-03-28T09:00:00", "2026-03-28T10:00:00", 60},
		{"london after the change (BST)", roomB, "2026-03-30 09:00", "2026-03-30 10:00", 201, "2026-03-30T08:00:00", "2026-03-30T09:00:00", "2026-03-30T09:00:00", "2026-03-30T10:00:00", 60},
		{"london across the change", roomB, "2026-03-29 00:30", "2026-03-29 03:30", 201, "2026-03-29T00:30:00", "2026-03-29T02:30:00", "2026-03-29T00:30:00", "2026-03-29T03:30:00", 120},
		{"london spring-forward gap", roomB, "2026-03-29 01:30", "2026-03-29 04:00", 400, "", "", "", "", 0},
		{"sydney before fall-back (AEDT)", roomSydney, "2026-04-03 09:00", "2026-04-03 10:00", 201, "2026-04-02T22:00:00", "2026-04-02T23:00:00", "2026-04-03T09:00:00", "2026-04-03T10:00:00", 60},
		{"sydney after fall-back (AEST)", roomSydney, "2026-04-06 09:00", "2026-04-06 10:00", 201, "2026-04-05T23:00:00", "2026-04-06T00:00:00", "2026-04-06T09:00:00", "2026-04-06T10:00:00", 60},
		{"sydney repeated hour means the later instant", roomSydney, "2026-04-05 02:30", "2026-04-05 03:30", 201, "2026-04-04T16:30:00", "2026-04-04T17:30:00", "2026-04-05T02:30:00", "2026-04-05T03:30:00", 60},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.api(http.MethodPost, "/bookings", ProductExternalBookings, map[string]any{"roomId": tt.room, "startDateTime": tt.start, "endDateTime": tt.end})
			if tt.status != 201 {
				requireMessage(t, r, tt.status, msgTimeNotExist)
				return
			}
			require.Equal(t, 201, r.status, string(r.body))
			id := int(r.obj(t)["bookingId"].(float64))
			var b bookingJSON
			h.api(http.MethodGet, fmt.Sprintf("/bookings/%d", id), ProductExternalBookings, nil).decode(t, &b)
			assert.Equal(t, tt.fromUTC, b.TimeFromUTC)
			assert.Equal(t, tt.toUTC, b.TimeToUTC)
			assert.Equal(t, tt.fromLocal, b.TimeFrom)
			assert.Equal(t, tt.toLocal, b.TimeTo)
		})
	}
	// The UTC flag never meets the gap.
	r := h.api(http.MethodPost, "/bookings?isUTCDateTime=true", ProductExternalBookings, map[string]any{"roomId": roomA, "startDateTime": "2026-03-29 01:30", "endDateTime": "2026-03-29 01:45"})
	assert.Equal(t, http.StatusCreated, r.status, string(r.body))
}

func TestEditBooking(t *testing.T) {
	h := newHarness(t, Config{})
	put := func(id int, body any) reply {
		return h.api(http.MethodPut, fmt.Sprintf("/bookings/%d", id), ProductExternalBookings, body)
	}
	r := put(bookingB, map[string]any{"userId": userAlan, "bookingDetails": map[string]any{"roomId": roomB, "startDate": "2026-03-21 09:00", "endDate": "2026-03-21 10:30", "meetingTitle": "Moved"}})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var b bookingJSON
	r.decode(t, &b)
	assert.Equal(t, roomB, b.RoomID)
	assert.Equal(t, "2026-03-21T09:00:00", b.TimeFrom)
	assert.Equal(t, "2026-03-21T10:30:00", b.TimeTo)
	assert.Equal(t, "Moved", b.MeetingTitle)

	// Only the title: times stay.
	r = put(bookingB, map[string]any{"BookingDetails": map[string]any{"MeetingTitle": "Renamed"}})
	require.Equal(t, http.StatusOK, r.status)
	r.decode(t, &b)
	assert.Equal(t, "Renamed", b.MeetingTitle)
	assert.Equal(t, "2026-03-21T09:00:00", b.TimeFrom)

	requireMessage(t, put(bookingB, map[string]any{"bookingDetails": map[string]any{"roomId": roomA, "startDate": "2026-03-20 11:30", "endDate": "2026-03-20 11:45"}}), 409, msgRoomNotAvailable)
	requireMessage(t, put(bookingB, map[string]any{"bookingDetails": map[string]any{"roomId": 77}}), 404, msgRoomNotFound)
	requireMessage(t, put(999, map[string]any{"bookingDetails": map[string]any{"meetingTitle": "x"}}), 400, msgBookingNotFound)
	requireMessage(t, put(bookingB, map[string]any{"userId": 1}), 400, "bookingDetails or actionType is required.")
	// Moving within its own span never clashes with itself.
	r = put(bookingA, map[string]any{"bookingDetails": map[string]any{"startDate": "2026-03-20 11:15", "endDate": "2026-03-20 12:15"}})
	assert.Equal(t, http.StatusOK, r.status, string(r.body))
}

func TestMeetingProgress(t *testing.T) {
	h := newHarness(t, Config{})
	act := func(id int, body map[string]any) reply {
		return h.api(http.MethodPut, fmt.Sprintf("/bookings/%d", id), ProductExternalBookings, body)
	}
	start := map[string]any{"userId": userAda, "bookingId": bookingA, "actionType": 1}
	end := map[string]any{"userId": userAda, "bookingId": bookingA, "actionType": 2}
	extend := func(m int) map[string]any {
		return map[string]any{"userId": userAda, "bookingId": bookingA, "actionType": 3, "extendByMinutes": m}
	}

	// 10:00: an hour before the 11:00 start.
	requireMessage(t, act(bookingA, start), 400, "Meeting cannot be started at this moment.")
	requireMessage(t, act(bookingA, end), 400, msgNotStarted)
	h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "44m"}) // 10:44, 16 minutes early
	requireMessage(t, act(bookingA, start), 400, "Meeting cannot be started at this moment.")
	h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "1m"}) // 10:45, 15 minutes early
	r := act(bookingA, start)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	var b bookingJSON
	r.decode(t, &b)
	assert.Equal(t, 1, b.MeetingProgress)
	assert.Equal(t, "2026-03-20T10:45:00", b.ActualTimeFrom)
	assert.Equal(t, "2026-03-20T10:45:00", b.BookingRealStartTime)
	requireMessage(t, act(bookingA, start), 400, "Meeting already started.")

	requireMessage(t, act(bookingA, extend(0)), 400, msgExtendMinutes)
	requireMessage(t, act(bookingA, extend(61)), 409, msgRoomNotAvailable) // bookingB starts at 13:00
	r = act(bookingA, extend(60))
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	r.decode(t, &b)
	assert.Equal(t, "2026-03-20T13:00:00", b.TimeTo)
	assert.Equal(t, "2026-03-20T13:00:00", b.TimeToUTC)
	assert.Equal(t, "2026-03-20T13:00:00", b.BookingRealEndTime)

	h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "45m"}) // 11:30
	r = act(bookingA, end)
	require.Equal(t, http.StatusOK, r.status)
	r.decode(t, &b)
	assert.Equal(t, 2, b.MeetingProgress)
	assert.Equal(t, "2026-03-20T11:30:00", b.ActualTimeTo)
	requireMessage(t, act(bookingA, end), 400, msgAlreadyEnded)
	requireMessage(t, act(bookingA, extend(5)), 400, msgAlreadyEnded)
	requireMessage(t, act(bookingA, start), 400, "Meeting cannot be started at this moment.")

	// Ending early frees the room from the actual end.
	r = h.api(http.MethodPost, "/bookings", ProductExternalBookings, map[string]any{"roomId": roomA, "startDateTime": "2026-03-20 11:45", "endDateTime": "2026-03-20 12:45"})
	assert.Equal(t, http.StatusCreated, r.status, string(r.body))

	// After its end a meeting cannot start.
	h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "3h"}) // 14:30, bookingB ended at 14:00
	requireMessage(t, act(bookingB, map[string]any{"actionType": 1}), 400, "Meeting cannot be started at this moment.")
	requireMessage(t, act(4242, map[string]any{"actionType": 1}), 400, "Booking Id does not exist.")
	requireMessage(t, act(bookingB, map[string]any{"actionType": 9}), 400, msgUnknownAction)
}

func TestDeleteBooking(t *testing.T) {
	h := newHarness(t, Config{})
	r := h.api(http.MethodDelete, "/bookings", ProductExternalBookings, map[string]any{"bookingId": bookingA, "userId": userAda})
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `{"Message":"Success"}`, string(r.body))
	requireMessage(t, h.api(http.MethodDelete, "/bookings", ProductExternalBookings, map[string]any{"BOOKINGID": bookingA}), 400, msgBookingNotFound)
	requireMessage(t, h.api(http.MethodGet, fmt.Sprintf("/bookings/%d", bookingA), ProductExternalBookings, nil), 400, msgBookingNotFound)
}

func TestFreeSlots(t *testing.T) {
	h := newHarness(t, Config{})
	r := h.api(http.MethodGet, "/bookings/freeslots?locationId=41&startDateTime=2026-03-20%2009:00&endDateTime=2026-03-20%2015:00&resourceType=1", ProductExternalBookings, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	assert.JSONEq(t, `{"freePeriod":[
		{"locationID":41,"floorNumber":13,"resourceID":2001,"workspaceTypeId":1,"freePeriodSlots":[
			{"startDateTime":"2026-03-20T09:00:00","endDateTime":"2026-03-20T11:00:00","startDateTimeUTC":"2026-03-20T09:00:00","endDateTimeUTC":"2026-03-20T11:00:00"},
			{"startDateTime":"2026-03-20T12:00:00","endDateTime":"2026-03-20T13:00:00","startDateTimeUTC":"2026-03-20T12:00:00","endDateTimeUTC":"2026-03-20T13:00:00"},
			{"startDateTime":"2026-03-20T14:00:00","endDateTime":"2026-03-20T15:00:00","startDateTimeUTC":"2026-03-20T14:00:00","endDateTimeUTC":"2026-03-20T15:00:00"}]},
		{"locationID":41,"floorNumber":2,"resourceID":2002,"workspaceTypeId":1,"freePeriodSlots":[
			{"startDateTime":"2026-03-20T09:00:00","endDateTime":"2026-03-20T15:00:00","startDateTimeUTC":"2026-03-20T09:00:00","endDateTimeUTC":"2026-03-20T15:00:00"}]}]}`, string(r.body))

	// Floor filter, Sydney local times with UTC twins, desks, errors.
	r = h.api(http.MethodGet, "/bookings/freeslots?locationId=41&startDateTime=2026-03-20%2009:00&endDateTime=2026-03-20%2015:00&floorNumber=2", ProductExternalBookings, nil)
	var fp struct {
		FreePeriod []freePeriod `json:"freePeriod"`
	}
	r.decode(t, &fp)
	require.Len(t, fp.FreePeriod, 1)
	assert.Equal(t, roomB, fp.FreePeriod[0].ResourceID)

	r = h.api(http.MethodGet, "/bookings/freeslots?LOCATIONID=42&startDateTime=2026-03-21%2009:00&endDateTime=2026-03-21%2010:00", ProductExternalBookings, nil)
	r.decode(t, &fp)
	require.Len(t, fp.FreePeriod, 1)
	assert.Equal(t, freeSlot{"2026-03-21T09:00:00", "2026-03-21T10:00:00", "2026-03-20T22:00:00", "2026-03-20T23:00:00"}, fp.FreePeriod[0].FreePeriodSlots[0])

	r = h.api(http.MethodGet, "/bookings/freeslots?locationId=41&startDateTime=2026-03-20T00:00:00Z&endDateTime=2026-03-21T00:00:00Z&resourceType=2", ProductExternalBookings, nil)
	r.decode(t, &fp)
	require.Len(t, fp.FreePeriod, 1, "deskA is booked all day")
	assert.Equal(t, deskB, fp.FreePeriod[0].ResourceID)

	requireMessage(t, h.api(http.MethodGet, "/bookings/freeslots?locationId=41&startDateTime=2026-03-20%2009:00&endDateTime=2026-04-20%2009:00", ProductExternalBookings, nil), 400, msgDateRange)
	requireMessage(t, h.api(http.MethodGet, "/bookings/freeslots?locationId=99&startDateTime=2026-03-20%2009:00&endDateTime=2026-03-20%2010:00", ProductExternalBookings, nil), 404, msgLocationNotFound)
	requireMessage(t, h.api(http.MethodGet, "/bookings/freeslots?startDateTime=2026-03-20%2009:00", ProductExternalBookings, nil), 400, "locationId is required.")
}

func TestAvailableRooms(t *testing.T) {
	h := newHarness(t, Config{})
	ids := func(query string) []int {
		r := h.api(http.MethodGet, "/bookings/availableRooms?"+query, ProductExternalBookings, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var out struct {
			AvailableRooms []availableRoom `json:"availableRooms"`
		}
		r.decode(t, &out)
		ids := []int{}
		for _, a := range out.AvailableRooms {
			ids = append(ids, a.RoomID)
		}
		return ids
	}
	assert.Equal(t, []int{roomB}, ids("locationID=41&startDateTime=2026-03-20%2011:30&endDateTime=2026-03-20%2012:30"))
	assert.Equal(t, []int{roomA, roomB}, ids("locationID=41&startDateTime=2026-03-20%2015:00&endDateTime=2026-03-20%2016:00"))
	assert.Equal(t, []int{roomA}, ids("locationID=41&startDateTime=2026-03-20%2015:00&endDateTime=2026-03-20%2016:00&roomAttributes=1,2"))
	assert.Equal(t, []int{}, ids("locationID=41&startDateTime=2026-03-20%2015:00&endDateTime=2026-03-20%2016:00&groupID=302"))
	r := h.api(http.MethodGet, "/bookings/availableRooms?locationID=41&startDateTime=2026-03-20%2015:00&endDateTime=2026-03-20%2016:00&roomAttributes=3", ProductExternalBookings, nil)
	assert.JSONEq(t, `{"availableRooms":[{"roomId":2002,"roomName":"London 2.01","maxCapacity":4,"floorNumber":2,"locationId":41,"roomAttributes":[3]}]}`, string(r.body))
}

func TestListBookingsUTCDates(t *testing.T) {
	h := newHarness(t, Config{})
	r := h.api(http.MethodPost, "/bookings", ProductExternalBookings, map[string]any{"roomId": roomSydney, "startDateTime": "2026-03-21 09:00", "endDateTime": "2026-03-21 10:00"})
	require.Equal(t, http.StatusCreated, r.status)
	id := int(r.obj(t)["bookingId"].(float64))
	// 09:00 Sydney on the 21st is 22:00 UTC on the 20th.
	assert.Equal(t, []int{id}, bookingIDs(t, h.api(http.MethodGet, "/bookings?roomId=2003&startDate=2026-03-21&endDate=2026-03-21", ProductExternalBookings, nil)))
	assert.Equal(t, []int{}, bookingIDs(t, h.api(http.MethodGet, "/bookings?roomId=2003&startDate=2026-03-20&endDate=2026-03-20", ProductExternalBookings, nil)))
	assert.Equal(t, []int{id}, bookingIDs(t, h.api(http.MethodGet, "/bookings?roomId=2003&startDate=2026-03-20&endDate=2026-03-20&isUTCDateTime=true", ProductExternalBookings, nil)))
}

func TestSetupAndCleanDownHoldTheRoom(t *testing.T) {
	h := newHarness(t, Config{})
	// roomB is free all day; the web app books it 15:00-16:00 with 30 minutes of set-up and
	// 15 of clean-down.
	r := h.admin(http.MethodPost, "/_sim/bookings", map[string]any{"userId": userAda, "roomId": roomB, "startDateTime": "2026-03-20 15:00",
		"endDateTime": "2026-03-20 16:00", "meetingTitle": "Catered lunch", "prepMinutes": 30, "cleanDownMinutes": 15})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	id := int(r.obj(t)["bookingId"].(float64))
	var b bookingJSON
	h.api(http.MethodGet, fmt.Sprintf("/bookings/%d", id), ProductExternalBookings, nil).decode(t, &b)
	assert.Equal(t, "2026-03-20T15:00:00", b.TimeFromUTC)
	assert.Equal(t, "2026-03-20T14:30:00", b.UtcWithSetupTime)
	assert.Equal(t, "2026-03-20T16:15:00", b.UtcWithCleanDownTime)
	assert.Equal(t, []int{holdUnitMinutes, 30, holdUnitMinutes, 15}, []int{b.PrepUnit, b.PrepPeriod, b.CleanDownUnit, b.CleanDownPeriod})

	// Free slots and available rooms count the set-up and clean-down as busy.
	r = h.api(http.MethodGet, "/bookings/freeslots?locationId=41&startDateTime=2026-03-20%2014:00&endDateTime=2026-03-20%2017:00&floorNumber=2", ProductExternalBookings, nil)
	var fp struct {
		FreePeriod []freePeriod `json:"freePeriod"`
	}
	r.decode(t, &fp)
	require.Len(t, fp.FreePeriod, 1)
	var spans []string
	for _, s := range fp.FreePeriod[0].FreePeriodSlots {
		spans = append(spans, s.StartDateTime[11:16]+"-"+s.EndDateTime[11:16])
	}
	assert.Equal(t, []string{"14:00-14:30", "16:15-17:00"}, spans)
	avail := func(from, to string) bool {
		r := h.api(http.MethodGet, "/bookings/availableRooms?locationID=41&startDateTime=2026-03-20%20"+from+"&endDateTime=2026-03-20%20"+to, ProductExternalBookings, nil)
		var out struct {
			AvailableRooms []availableRoom `json:"availableRooms"`
		}
		r.decode(t, &out)
		return slices.ContainsFunc(out.AvailableRooms, func(a availableRoom) bool { return a.RoomID == roomB })
	}
	assert.True(t, avail("14:00", "14:30"))
	assert.False(t, avail("14:00", "14:45"), "the set-up holds the room")
	assert.False(t, avail("16:00", "16:30"), "the clean-down holds the room")
	assert.True(t, avail("16:15", "17:00"))

	// A booking that meets the set-up or the clean-down clashes; one that meets neither does not.
	book := func(from, to string) int {
		return h.api(http.MethodPost, "/bookings", ProductExternalBookings, map[string]any{"userId": userAda, "roomId": roomB,
			"startDateTime": "2026-03-20 " + from, "endDateTime": "2026-03-20 " + to}).status
	}
	assert.Equal(t, http.StatusConflict, book("14:00", "14:45"))
	assert.Equal(t, http.StatusConflict, book("16:10", "16:40"))
	assert.Equal(t, http.StatusCreated, book("16:15", "16:45"))
	// Extending the meeting moves its clean-down, which now meets the booking after it.
	requireMessage(t, h.admin(http.MethodPost, fmt.Sprintf("/_sim/bookings/%d/progress", id), map[string]any{"action": "extend", "minutes": 5}), 409, msgRoomNotAvailable)
	requireMessage(t, h.admin(http.MethodPost, "/_sim/bookings", map[string]any{"userId": userAda, "roomId": roomB, "startDateTime": "2026-03-20 18:00",
		"endDateTime": "2026-03-20 19:00", "prepMinutes": -5}), 400, msgHoldMinutes)
}
