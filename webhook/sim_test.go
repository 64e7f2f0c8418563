package webhook

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// stripAt drops Change.At, which is the handler's clock, for comparisons.
func stripAt(cs []workplace.Change) []workplace.Change {
	out := slices.Clone(cs)
	for i := range out {
		out[i].At = time.Time{}
	}
	return out
}

// TestSimEndToEnd registers the listeners through the real client, then makes a web-app change
// and checks it arrives decoded, once even when the simulator duplicates the delivery.
func TestSimEndToEnd(t *testing.T) {
	e := newE2E(t)

	got := e.register(t)
	require.Len(t, got, 6)
	paths := map[string]workplace.EventType{}
	for _, l := range got {
		require.Len(t, l.EventTypes, 1)
		paths[l.NotificationURL] = l.EventTypes[0]
	}
	for _, s := range Services() {
		assert.Equal(t, s.EventType, paths[e.hookURL+MountPath+s.Path], s.Path)
	}
	assert.Empty(t, e.register(t), "a second Register registers nothing new")
	var st engagesim.Stats
	e.admin(t, http.MethodGet, "/_sim/stats", nil, &st)
	assert.Equal(t, 6, st.Listeners)

	// A booking made in the web app: Meeting External carries no ActionSource, so its source is
	// UNKNOWN; starting the meeting in the web app is announced with ActionSource 0, WEB.
	var created struct {
		BookingID int64 `json:"bookingId"`
	}
	e.admin(t, http.MethodPost, "/_sim/bookings", map[string]any{"userId": simUserAda, "roomId": simRoomB,
		"startDateTime": "2026-03-20 10:00", "endDateTime": "2026-03-20 10:45", "meetingTitle": "Standup"}, &created)
	changes := e.waitPublished(t, 1)
	want := workplace.Change{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown,
		BookingID: workplace.BookingID(created.BookingID), RoomID: simRoomB, Date: workplace.Date{Year: 2026, Month: 3, Day: 20}}
	assert.Equal(t, []workplace.Change{want}, stripAt(changes))
	assert.False(t, changes[0].At.IsZero())

	e.admin(t, http.MethodPost, fmt.Sprintf("/_sim/bookings/%d/progress", created.BookingID), map[string]any{"action": "start"}, nil)
	changes = e.waitPublished(t, 2)
	assert.Equal(t, workplace.Change{Kind: workplace.KindBooking, Action: workplace.ActionStarted, Source: workplace.SourceWeb,
		BookingID: workplace.BookingID(created.BookingID), RoomID: simRoomB}, stripAt(changes)[1])

	// A duplicated delivery is processed once and both copies are acknowledged.
	e.admin(t, http.MethodDelete, "/_sim/deliveries", nil, nil)
	e.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"duplicateDeliveries": 1}, nil)
	e.admin(t, http.MethodPost, fmt.Sprintf("/_sim/bookings/%d/progress", created.BookingID), map[string]any{"action": "end"}, nil)
	changes = e.waitPublished(t, 3)
	require.Eventually(t, func() bool {
		// Both copies share one delivery id; counting by id keeps a late
		// record of the earlier "start" delivery from standing in for one.
		answered := map[string]int{}
		for _, d := range e.deliveries(t) {
			if d.EventType == int(workplace.EventMeetingProgression) && d.Status == http.StatusOK {
				answered[d.DeliveryID]++
			}
		}
		for _, n := range answered {
			if n >= 2 {
				return true
			}
		}
		return false
	}, 5*time.Second, 5*time.Millisecond, "both copies of the duplicated delivery are answered 200")
	var progs []workplace.Change
	for _, c := range stripAt(e.rec.gotPublished()) {
		if c.Action == workplace.ActionEnded {
			progs = append(progs, c)
		}
	}
	assert.Len(t, progs, 1, "the duplicate is published once")
	assert.Len(t, e.rec.gotInvalidated(), 3, "and invalidated once")
	var dup []engagesim.DeliveryRecord
	for _, d := range e.deliveries(t) {
		if d.Duplicate {
			dup = append(dup, d)
		}
	}
	require.Len(t, dup, 1)
	assert.Equal(t, http.StatusOK, dup[0].Status)
	assert.Len(t, changes, 3)
}

// TestSimEveryService makes a change of every kind the simulator announces through its admin
// routes (the web app) and checks each arrives decoded.
func TestSimEveryService(t *testing.T) {
	e := newE2E(t)
	e.register(t)
	day := func(d int) workplace.Date { return workplace.Date{Year: 2026, Month: 3, Day: d} }

	steps := []struct {
		name   string
		method string
		path   string
		body   any
		want   []workplace.Change
	}{
		{"meeting start", http.MethodPost, "/_sim/clock", map[string]any{"advance": "50m"}, nil},
		{"", http.MethodPost, fmt.Sprintf("/_sim/bookings/%d/progress", simBookingA), map[string]any{"action": "start"}, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionStarted, Source: workplace.SourceWeb, BookingID: simBookingA, RoomID: simRoomA}}},
		{"meeting extend", http.MethodPost, fmt.Sprintf("/_sim/bookings/%d/progress", simBookingA), map[string]any{"action": "extend", "minutes": 30}, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionExtended, Source: workplace.SourceWeb, BookingID: simBookingA, RoomID: simRoomA,
				NewEnd: time.Date(2026, 3, 20, 12, 30, 0, 0, time.UTC)},
			{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, BookingID: simBookingA, RoomID: simRoomA, Date: day(20)}}},
		{"meeting end", http.MethodPost, fmt.Sprintf("/_sim/bookings/%d/progress", simBookingA), map[string]any{"action": "end"}, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionEnded, Source: workplace.SourceWeb, BookingID: simBookingA, RoomID: simRoomA}}},
		{"meeting moved to another day and room", http.MethodPost, "/_sim/bookings", map[string]any{"userId": simUserAda, "roomId": simRoomB,
			"startDateTime": "2026-03-20 15:00", "endDateTime": "2026-03-20 16:00"}, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, BookingID: simBookingA + 1, RoomID: simRoomB, Date: day(20)}}},
		{"", http.MethodPut, fmt.Sprintf("/_sim/bookings/%d", simBookingA+1), map[string]any{"roomId": simRoomA,
			"startDateTime": "2026-03-23 09:00", "endDateTime": "2026-03-23 10:00"}, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, BookingID: simBookingA + 1, RoomID: simRoomB, Date: day(20)},
			{Kind: workplace.KindBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, BookingID: simBookingA + 1, RoomID: simRoomA, Date: day(23)}}},
		{"meeting deleted", http.MethodDelete, fmt.Sprintf("/_sim/bookings/%d", simBookingA+1), nil, []workplace.Change{
			{Kind: workplace.KindBooking, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, BookingID: simBookingA + 1, RoomID: simRoomA, Date: day(23)}}},
		{"desk booked", http.MethodPost, "/_sim/deskBookings", map[string]any{"userId": simUserAda, "deskId": simDeskA,
			"dateList": []map[string]any{{"date": "2026-03-23", "bookingType": 3}}}, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, DeskBookingID: simDeskBkgA + 1, DeskID: simDeskA, Date: day(23)}}},
		{"desk booking deleted", http.MethodDelete, fmt.Sprintf("/_sim/deskBookings/%d", simDeskBkgA+1), nil, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, DeskBookingID: simDeskBkgA + 1, DeskID: simDeskA, Date: day(23)}}},
		{"desk check-in", http.MethodPost, fmt.Sprintf("/_sim/deskBookings/%d/progress", simDeskBkgA), map[string]any{"action": "checkin"}, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionCheckedIn, Source: workplace.SourceWeb, DeskBookingID: simDeskBkgA, DeskID: simDeskA}}},
		{"desk release", http.MethodPost, fmt.Sprintf("/_sim/deskBookings/%d/progress", simDeskBkgA), map[string]any{"action": "release"}, []workplace.Change{
			{Kind: workplace.KindDeskBooking, Action: workplace.ActionReleased, Source: workplace.SourceWeb, DeskBookingID: simDeskBkgA, DeskID: simDeskA}}},
		{"resource created", http.MethodPost, "/_sim/resources", map[string]any{"workspaceTypeId": 2, "locationId": simLondon, "name": "Desk 5-001", "floorNumber": 5}, []workplace.Change{
			{Kind: workplace.KindResource, Action: workplace.ActionCreated, Source: workplace.SourceUnknown, ResourceID: simDeskA + 1, WorkspaceType: workplace.WorkspaceDesk, LocationID: simLondon, Floor: 5}}},
		{"resource updated", http.MethodPut, fmt.Sprintf("/_sim/resources/%d", simDeskA+1), map[string]any{"floorNumber": 6}, []workplace.Change{
			{Kind: workplace.KindResource, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, ResourceID: simDeskA + 1, WorkspaceType: workplace.WorkspaceDesk, LocationID: simLondon, Floor: 6}}},
		{"resource deleted", http.MethodDelete, fmt.Sprintf("/_sim/resources/%d", simDeskA+1), nil, []workplace.Change{
			{Kind: workplace.KindResource, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, ResourceID: simDeskA + 1, WorkspaceType: workplace.WorkspaceDesk, LocationID: simLondon, Floor: 6}}},
		{"visitor created", http.MethodPost, "/_sim/visitors", map[string]any{"firstName": "Alan", "lastName": "Turing", "locationId": simLondon,
			"arrivalDate": "2026-03-21 09:30", "hostData": map[string]any{"hostId": simUserAda}}, []workplace.Change{
			{Kind: workplace.KindVisitor, Action: workplace.ActionCreated, Source: workplace.SourceUnknown, VisitorID: simVisitorA + 1, LocationID: simLondon, Date: day(21)}}},
		{"visitor updated", http.MethodPut, fmt.Sprintf("/_sim/visitors/%d", simVisitorA+1), map[string]any{"purposeOfVisit": "Interview"}, []workplace.Change{
			{Kind: workplace.KindVisitor, Action: workplace.ActionUpdated, Source: workplace.SourceUnknown, VisitorID: simVisitorA + 1, LocationID: simLondon, Date: day(21)}}},
		{"visitor deleted", http.MethodDelete, fmt.Sprintf("/_sim/visitors/%d", simVisitorA+1), nil, []workplace.Change{
			{Kind: workplace.KindVisitor, Action: workplace.ActionDeleted, Source: workplace.SourceUnknown, VisitorID: simVisitorA + 1, LocationID: simLondon, Date: day(21)}}},
	}
	for _, a := range []struct {
		action string
		want   workplace.ChangeAction
	}{{"arrive", workplace.ActionArrived}, {"depart", workplace.ActionDeparted}, {"undepart", workplace.ActionUndeparted}, {"unarrive", workplace.ActionUnarrived}} {
		steps = append(steps, struct {
			name   string
			method string
			path   string
			body   any
			want   []workplace.Change
		}{"visitor " + a.action, http.MethodPost, fmt.Sprintf("/_sim/visitors/%d/action", simVisitorA), map[string]any{"action": a.action}, []workplace.Change{
			{Kind: workplace.KindVisitor, Action: a.want, Source: workplace.SourceUnknown, VisitorID: simVisitorA, BookingID: simBookingA, LocationID: simLondon, Date: day(20)}}})
	}

	seen := 0
	for _, s := range steps {
		e.admin(t, s.method, s.path, s.body, nil)
		if len(s.want) == 0 {
			continue
		}
		seen += len(s.want)
		got := e.waitPublished(t, seen)
		// Deliveries of one change may arrive in any order (one request per event type).
		assert.ElementsMatch(t, s.want, stripAt(got[seen-len(s.want):]), "%s %s (%s)", s.method, s.path, s.name)
	}
	for _, d := range e.deliveries(t) {
		assert.Equal(t, http.StatusOK, d.Status, "event type %d: %s", d.EventType, d.Body)
	}
	if testing.Verbose() {
		for _, d := range e.deliveries(t) {
			t.Logf("sim body, event type %d: %s", d.EventType, d.Body)
		}
	}
}

// post sends a delivery to the handler over HTTP as the upstream does, with
// the given signature and delivery id ("" sends no header), and returns the
// status and message.
func (e *e2e) post(t *testing.T, service string, body []byte, signature, deliveryID string) (int, string) {
	t.Helper()
	req, err := http.NewRequestWithContext(t.Context(), http.MethodPost, e.hookURL+MountPath+service, bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(headerSignature, signature)
	if deliveryID != "" {
		req.Header.Set(headerDelivery, deliveryID)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var msg struct{ Message string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&msg))
	return resp.StatusCode, msg.Message
}

// TestSimReplayedDeliveryIsRecognised captures a real delivery of the simulator (body and
// signature, as someone reading the traffic would) and sends it again under a new delivery id,
// and without one.
func TestSimReplayedDeliveryIsRecognised(t *testing.T) {
	e := newE2E(t)
	e.register(t)
	e.admin(t, http.MethodPost, fmt.Sprintf("/_sim/visitors/%d/action", simVisitorA), map[string]any{"action": "arrive"}, nil)
	e.waitPublished(t, 1)
	var captured engagesim.DeliveryRecord
	require.Eventually(t, func() bool {
		for _, d := range e.deliveries(t) {
			if d.Status == http.StatusOK {
				captured = d
				return true
			}
		}
		return false
	}, 5*time.Second, 5*time.Millisecond)
	require.NotEmpty(t, captured.DeliveryID, "the simulator names every delivery")
	signature := sign(e.secret, captured.Body)

	status, msg := e.post(t, PathVisitor, captured.Body, signature, "a-new-id-for-an-old-body")
	assert.Equal(t, http.StatusOK, status)
	assert.Contains(t, msg, "processed under another delivery id")
	status, msg = e.post(t, PathVisitor, captured.Body, signature, "")
	assert.Equal(t, http.StatusBadRequest, status)
	assert.Contains(t, msg, "X-Engage-Delivery is missing")
	assert.Len(t, e.rec.gotInvalidated(), 1, "the visitor's arrival was invalidated once")
	assert.Len(t, e.rec.gotPublished(), 1, "and announced once: no second ARRIVED")
}
