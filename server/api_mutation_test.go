package server

// End-to-end tests of every mutation, over real HTTP against an engagesim:
// each returns the changed entity read back fresh, or typed UserErrors, and
// a query afterwards sees the change.

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiBooking is a Booking as the mutation tests read it.
type apiBooking struct {
	ID, Title, Start, End, Progress string
	EngageID                        apiEngageID
	ActualStart, ActualEnd          *string
	Room                            struct{ ID, Name string }
	Host                            struct{ Email string }
}

const apiBookingFields = `id engageId title start end progress actualStart actualEnd room { id name } host { email }`

// apiBookingPayload is the payload of the booking mutations.
type apiBookingPayload struct {
	Booking *apiBooking
	Errors  []apiUserError
}

// mutate runs a mutation that takes one input and decodes its payload.
func (s *apiStack) mutate(t testing.TB, name, inputType, selection string, input map[string]any, out any) {
	t.Helper()
	q := fmt.Sprintf(`mutation($in: %s!) { p: %s(input: $in) { %s } }`, inputType, name, selection)
	resp := s.call(t, q, map[string]any{"in": input})
	require.Empty(t, resp.Errors, "%s: GraphQL errors", name)
	var d struct{ P json.RawMessage }
	require.NoError(t, json.Unmarshal(resp.Data, &d))
	require.NoError(t, json.Unmarshal(d.P, out), "%s", d.P)
}

// bookRoom books a room and requires success.
func (s *apiStack) bookRoom(t testing.TB, email, roomID string, start, end time.Time, title string) apiBooking {
	t.Helper()
	var p apiBookingPayload
	s.mutate(t, "bookRoom", "BookRoomInput", `booking { `+apiBookingFields+` } errors { code message field }`, map[string]any{
		"actingUserEmail": email, "roomId": roomID, "title": title,
		"start": start.UTC().Format(time.RFC3339), "end": end.UTC().Format(time.RFC3339),
	}, &p)
	require.Empty(t, p.Errors)
	require.NotNil(t, p.Booking)
	return *p.Booking
}

// booking reads a booking by id; nil with the error code when it fails.
func (s *apiStack) booking(t testing.TB, id string) (*apiBooking, string) {
	t.Helper()
	resp := s.call(t, `query($id: ID!) { booking(id: $id) { `+apiBookingFields+` } }`, map[string]any{"id": id})
	var d struct{ Booking *apiBooking }
	require.NoError(t, json.Unmarshal(resp.Data, &d))
	if len(resp.Errors) > 0 {
		return d.Booking, fmt.Sprint(resp.Errors[0].Extensions["code"])
	}
	return d.Booking, ""
}

// roomSchedule lists the ids of a room's bookings in [from, to).
func (s *apiStack) roomSchedule(t testing.TB, roomID string, from, to time.Time) []string {
	t.Helper()
	var d struct {
		Room struct{ Bookings []struct{ ID string } }
	}
	s.data(t, `query($id: ID!, $from: DateTime!, $to: DateTime!) { room(id: $id) { bookings(from: $from, to: $to) { id } } }`,
		map[string]any{"id": roomID, "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)}, &d)
	var out []string
	for _, b := range d.Room.Bookings {
		out = append(out, b.ID)
	}
	return out
}

func apiAssertUserError(t testing.TB, errs []apiUserError, code string, field []string, contains string) {
	t.Helper()
	require.Len(t, errs, 1, "%+v", errs)
	assert.Equal(t, code, errs[0].Code, errs[0].Message)
	assert.Equal(t, field, errs[0].Field)
	assert.Contains(t, errs[0].Message, contains)
}

func TestAPIBookRoom(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	london := s.location(t, "London HQ")
	zone := s.zone(t, london)
	locID := s.locationID(t, london.Name)
	rooms := s.resources(london.ID, 1)
	roomIDs := s.roomIDs(t, locID)
	room := rooms[0]
	roomID := roomIDs[room.Name]
	user := s.fx.Users[3]
	day := apiNextWeekday(apiLocalDay(time.Now(), zone).AddDate(0, 0, 1))
	start, end := apiAt(day, 20, 0), apiAt(day, 21, 0)

	var made apiBooking
	t.Run("books and reads back fresh", func(t *testing.T) {
		var p apiBookingPayload
		s.mutate(t, "bookRoom", "BookRoomInput", `booking { `+apiBookingFields+` } errors { code message field }`, map[string]any{
			"actingUserEmail": user.Email, "roomId": roomID, "title": "Quarterly planning",
			"start": start.UTC().Format(time.RFC3339), "end": end.UTC().Format(time.RFC3339),
			"numberOfAttendees": 3,
			"attendees": []map[string]any{
				{"firstName": "Ada", "lastName": "Lovelace", "email": "ada@visitor.example.com", "external": true},
				{"firstName": user.FirstName, "lastName": user.LastName, "email": user.Email},
			},
		}, &p)
		require.Empty(t, p.Errors)
		require.NotNil(t, p.Booking)
		made = *p.Booking
		assert.Equal(t, "Quarterly planning", made.Title)
		assert.Equal(t, roomID, made.Room.ID)
		assert.Equal(t, user.Email, made.Host.Email)
		assert.Equal(t, "NOT_STARTED", made.Progress)
		apiAssertLocal(t, zone, start, made.Start)
		apiAssertLocal(t, zone, end, made.End)

		got, code := s.booking(t, made.ID)
		require.Empty(t, code)
		assert.Equal(t, made, *got)
		assert.Equal(t, []string{made.ID}, s.roomSchedule(t, roomID, apiAt(day, 19, 30), day.AddDate(0, 0, 1)))
	})

	// A fixture booking of another room on a weekday, to clash with.
	var fixed engagesim.Booking
	var fixedRoom engagesim.Resource
	for _, r := range rooms[1:] {
		if bs := s.roomBookings(r.ID, day, day.AddDate(0, 0, 1)); len(bs) > 0 {
			fixed, fixedRoom = bs[0], r
			break
		}
	}
	require.NotZero(t, fixed.ID)

	tests := []struct {
		name       string
		input      map[string]any
		code       string
		field      []string
		contains   string
		noBookings bool
	}{
		{"a clash with the booking just made",
			map[string]any{"roomId": roomID, "start": start.Add(30 * time.Minute), "end": end.Add(30 * time.Minute)},
			"CONFLICT", nil, "Room is not available for the requested time.", false},
		{"a clash with an existing booking",
			map[string]any{"roomId": roomIDs[fixedRoom.Name], "start": fixed.Start.Add(-15 * time.Minute), "end": fixed.Start.Add(15 * time.Minute)},
			"CONFLICT", nil, "not available", false},
		{"unknown acting user",
			map[string]any{"actingUserEmail": "nobody@example.com"},
			"NOT_FOUND", []string{"input", "actingUserEmail"}, "nobody@example.com", true},
		{"end before start",
			map[string]any{"start": end, "end": start},
			"BAD_USER_INPUT", []string{"input", "end"}, "end must be after start", true},
		{"end at start",
			map[string]any{"start": start, "end": start},
			"BAD_USER_INPUT", []string{"input", "end"}, "end must be after start", true},
		{"malformed room id",
			map[string]any{"roomId": "room-1"},
			"BAD_USER_INPUT", []string{"input", "roomId"}, "not an id", true},
		{"a desk id for a room",
			map[string]any{"roomId": s.deskIDs(t, locID)[s.resources(london.ID, 2)[0].Name]},
			"BAD_USER_INPUT", []string{"input", "roomId"}, "not a Room id", true},
		{"unknown room",
			map[string]any{"roomId": "Um9vbTo0MTo5OTk5OTk"},
			"NOT_FOUND", nil, "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// A free evening slot unless the case says otherwise.
			in := map[string]any{"actingUserEmail": user.Email, "roomId": roomID, "title": "Clash", "start": start.Add(2 * time.Hour), "end": end.Add(2 * time.Hour)}
			for k, v := range tt.input {
				in[k] = v
			}
			for k, v := range in {
				if tv, ok := v.(time.Time); ok {
					in[k] = tv.UTC().Format(time.RFC3339)
				}
			}
			s.resetStats(t)
			var p apiBookingPayload
			s.mutate(t, "bookRoom", "BookRoomInput", `booking { id } errors { code message field }`, in, &p)
			assert.Nil(t, p.Booking)
			apiAssertUserError(t, p.Errors, tt.code, tt.field, tt.contains)
			if tt.noBookings {
				assert.Zero(t, s.calls(t, "POST", "/bookings"), "refused before any upstream booking call")
			}
		})
	}
	assert.Equal(t, []string{made.ID}, s.roomSchedule(t, roomID, apiAt(day, 19, 30), day.AddDate(0, 0, 1)), "no clash was booked")
}

func TestAPIUpdateAndCancelBooking(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	london := s.location(t, "London HQ")
	zone := s.zone(t, london)
	locID := s.locationID(t, london.Name)
	rooms := s.resources(london.ID, 1)
	roomIDs := s.roomIDs(t, locID)
	roomA, roomB := roomIDs[rooms[0].Name], roomIDs[rooms[1].Name]
	user := s.fx.Users[4]
	day := apiLocalDay(time.Now(), zone).AddDate(0, 0, 3)
	// The evening, when the demo rooms have no bookings of their own.
	window := func(room string) []string { return s.roomSchedule(t, room, apiAt(day, 19, 30), day.AddDate(0, 0, 1)) }
	b := s.bookRoom(t, user.Email, roomA, apiAt(day, 20, 0), apiAt(day, 21, 0), "Draft")
	other := s.bookRoom(t, user.Email, roomB, apiAt(day, 22, 0), apiAt(day, 23, 0), "Later")

	update := func(t *testing.T, in map[string]any) apiBookingPayload {
		t.Helper()
		in["actingUserEmail"] = user.Email
		if _, ok := in["bookingId"]; !ok {
			in["bookingId"] = b.ID
		}
		var p apiBookingPayload
		s.mutate(t, "updateBooking", "UpdateBookingInput", `booking { `+apiBookingFields+` } errors { code message field }`, in, &p)
		return p
	}

	t.Run("moves time and room", func(t *testing.T) {
		start, end := apiAt(day, 20, 30), apiAt(day, 21, 45)
		p := update(t, map[string]any{"roomId": roomB, "start": start.UTC().Format(time.RFC3339), "end": end.Format(time.RFC3339), "title": "Moved"})
		require.Empty(t, p.Errors)
		require.NotNil(t, p.Booking)
		assert.Equal(t, b.ID, p.Booking.ID)
		assert.Equal(t, roomB, p.Booking.Room.ID)
		assert.Equal(t, "Moved", p.Booking.Title)
		apiAssertLocal(t, zone, start, p.Booking.Start)
		apiAssertLocal(t, zone, end, p.Booking.End)

		got, code := s.booking(t, b.ID)
		require.Empty(t, code)
		assert.Equal(t, *p.Booking, *got)
		assert.NotContains(t, window(roomA), b.ID)
		assert.ElementsMatch(t, []string{b.ID, other.ID}, window(roomB))
	})

	t.Run("omitted fields are kept", func(t *testing.T) {
		before, _ := s.booking(t, b.ID)
		p := update(t, map[string]any{"title": "Renamed"})
		require.Empty(t, p.Errors)
		assert.Equal(t, "Renamed", p.Booking.Title)
		assert.Equal(t, before.Start, p.Booking.Start)
		assert.Equal(t, before.End, p.Booking.End)
		assert.Equal(t, before.Room, p.Booking.Room)
	})

	tests := []struct {
		name     string
		input    map[string]any
		code     string
		field    []string
		contains string
	}{
		{"into a clash", map[string]any{"end": apiAt(day, 22, 30).Format(time.RFC3339)}, "CONFLICT", nil, "not available"},
		{"end before start", map[string]any{"end": apiAt(day, 20, 0).Format(time.RFC3339)}, "BAD_USER_INPUT", []string{"input", "end"}, "end must be after start"},
		{"unknown booking", map[string]any{"bookingId": "Qm9va2luZzo5OTk5OTk5"}, "NOT_FOUND", []string{"input", "bookingId"}, "does not exist"},
		{"malformed booking id", map[string]any{"bookingId": "?"}, "BAD_USER_INPUT", []string{"input", "bookingId"}, "not an id"},
		{"unknown room", map[string]any{"roomId": "Um9vbTo0MTo5OTk5OTk"}, "NOT_FOUND", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := s.booking(t, b.ID)
			p := update(t, tt.input)
			assert.Nil(t, p.Booking)
			apiAssertUserError(t, p.Errors, tt.code, tt.field, tt.contains)
			after, _ := s.booking(t, b.ID)
			assert.Equal(t, before, after, "a failed update changes nothing")
		})
	}

	t.Run("cancel", func(t *testing.T) {
		cancel := func(t *testing.T, id string) struct {
			CancelledBookingID *string
			Errors             []apiUserError
		} {
			t.Helper()
			var p struct {
				CancelledBookingID *string
				Errors             []apiUserError
			}
			s.mutate(t, "cancelBooking", "BookingActionInput", `cancelledBookingId errors { code message field }`,
				map[string]any{"actingUserEmail": user.Email, "bookingId": id}, &p)
			return p
		}
		p := cancel(t, b.ID)
		require.Empty(t, p.Errors)
		require.NotNil(t, p.CancelledBookingID)
		assert.Equal(t, b.ID, *p.CancelledBookingID)

		got, code := s.booking(t, b.ID)
		assert.Nil(t, got)
		assert.Equal(t, "NOT_FOUND", code)
		assert.Equal(t, []string{other.ID}, window(roomB))

		p = cancel(t, b.ID)
		assert.Nil(t, p.CancelledBookingID)
		apiAssertUserError(t, p.Errors, "NOT_FOUND", nil, "does not exist")

		var bad struct {
			CancelledBookingID *string
			Errors             []apiUserError
		}
		s.mutate(t, "cancelBooking", "BookingActionInput", `cancelledBookingId errors { code message field }`,
			map[string]any{"actingUserEmail": "nobody@example.com", "bookingId": other.ID}, &bad)
		apiAssertUserError(t, bad.Errors, "NOT_FOUND", []string{"input", "actingUserEmail"}, "nobody@example.com")
		assert.Equal(t, []string{other.ID}, window(roomB))
	})
}

func TestAPIMeetingProgress(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	london := s.location(t, "London HQ")
	zone := s.zone(t, london)
	// The simulator's clock stands at 21:00 tomorrow in London, when the
	// demo rooms are free; the meetings start from there.
	now := apiAt(apiLocalDay(time.Now(), zone).AddDate(0, 0, 1), 21, 0)
	s.setClock(t, now)
	locID := s.locationID(t, london.Name)
	roomID := s.roomIDs(t, locID)[s.resources(london.ID, 1)[2].Name]
	user := s.fx.Users[6]

	meeting := s.bookRoom(t, user.Email, roomID, now.Add(5*time.Minute), now.Add(35*time.Minute), "Stand-up")
	early := s.bookRoom(t, user.Email, roomID, now.Add(3*time.Hour), now.Add(4*time.Hour), "Much later")

	progress := func(t *testing.T, name string, in map[string]any) apiBookingPayload {
		t.Helper()
		in["actingUserEmail"] = user.Email
		typ := "BookingActionInput"
		if name == "extendMeeting" {
			typ = "ExtendMeetingInput"
		}
		var p apiBookingPayload
		s.mutate(t, name, typ, `booking { `+apiBookingFields+` } errors { code message field }`, in, &p)
		return p
	}
	near := func(t *testing.T, want time.Time, got *string) {
		t.Helper()
		require.NotNil(t, got)
		assert.WithinDuration(t, want, apiTime(t, *got), time.Minute)
		assert.Equal(t, apiOffset(want, zone), apiTime(t, *got).Format("-07:00"))
	}

	t.Run("starting too early", func(t *testing.T) {
		p := progress(t, "startMeeting", map[string]any{"bookingId": early.ID})
		assert.Nil(t, p.Booking)
		apiAssertUserError(t, p.Errors, "BAD_USER_INPUT", nil, "Meeting cannot be started at this moment.")
		got, _ := s.booking(t, early.ID)
		assert.Equal(t, "NOT_STARTED", got.Progress)
	})

	t.Run("ending a meeting that has not started", func(t *testing.T) {
		p := progress(t, "endMeeting", map[string]any{"bookingId": early.ID})
		apiAssertUserError(t, p.Errors, "BAD_USER_INPUT", nil, "Meeting has not started.")
	})

	t.Run("start", func(t *testing.T) {
		p := progress(t, "startMeeting", map[string]any{"bookingId": meeting.ID})
		require.Empty(t, p.Errors)
		require.NotNil(t, p.Booking)
		assert.Equal(t, "STARTED", p.Booking.Progress)
		near(t, now, p.Booking.ActualStart)
		assert.Nil(t, p.Booking.ActualEnd)
		got, _ := s.booking(t, meeting.ID)
		assert.Equal(t, *p.Booking, *got)
	})

	t.Run("starting again", func(t *testing.T) {
		p := progress(t, "startMeeting", map[string]any{"bookingId": meeting.ID})
		apiAssertUserError(t, p.Errors, "BAD_USER_INPUT", nil, "Meeting already started.")
	})

	t.Run("extend", func(t *testing.T) {
		p := progress(t, "extendMeeting", map[string]any{"bookingId": meeting.ID, "minutes": 15})
		require.Empty(t, p.Errors)
		assert.Equal(t, "STARTED", p.Booking.Progress)
		apiAssertLocal(t, zone, now.Add(50*time.Minute), p.Booking.End)
		apiAssertLocal(t, zone, now.Add(5*time.Minute), p.Booking.Start)
	})

	t.Run("extend into a clash", func(t *testing.T) {
		s.bookRoom(t, s.fx.Users[7].Email, roomID, now.Add(50*time.Minute), now.Add(80*time.Minute), "Next meeting")
		p := progress(t, "extendMeeting", map[string]any{"bookingId": meeting.ID, "minutes": 15})
		apiAssertUserError(t, p.Errors, "CONFLICT", nil, "not available")
		got, _ := s.booking(t, meeting.ID)
		apiAssertLocal(t, zone, now.Add(50*time.Minute), got.End)
	})

	t.Run("extend by nothing", func(t *testing.T) {
		p := progress(t, "extendMeeting", map[string]any{"bookingId": meeting.ID, "minutes": 0})
		apiAssertUserError(t, p.Errors, "BAD_USER_INPUT", []string{"input", "minutes"}, "minutes must be positive")
	})

	t.Run("end", func(t *testing.T) {
		p := progress(t, "endMeeting", map[string]any{"bookingId": meeting.ID})
		require.Empty(t, p.Errors)
		assert.Equal(t, "ENDED", p.Booking.Progress)
		near(t, now, p.Booking.ActualStart)
		near(t, now, p.Booking.ActualEnd)
		got, _ := s.booking(t, meeting.ID)
		assert.Equal(t, *p.Booking, *got)
	})

	t.Run("ending again", func(t *testing.T) {
		p := progress(t, "endMeeting", map[string]any{"bookingId": meeting.ID})
		apiAssertUserError(t, p.Errors, "BAD_USER_INPUT", nil, "Meeting has already ended.")
	})

	t.Run("editing an ended meeting", func(t *testing.T) {
		var p apiBookingPayload
		s.mutate(t, "updateBooking", "UpdateBookingInput", `booking { id } errors { code message field }`,
			map[string]any{"actingUserEmail": user.Email, "bookingId": meeting.ID, "title": "Too late"}, &p)
		assert.Nil(t, p.Booking)
		apiAssertUserError(t, p.Errors, "BAD_USER_INPUT", nil, "Meeting has already ended.")
	})

	t.Run("unknown booking", func(t *testing.T) {
		for _, name := range []string{"startMeeting", "endMeeting", "extendMeeting"} {
			in := map[string]any{"bookingId": "Qm9va2luZzo5OTk5OTk5"}
			if name == "extendMeeting" {
				in["minutes"] = 5
			}
			p := progress(t, name, in)
			assert.Nil(t, p.Booking, name)
			apiAssertUserError(t, p.Errors, "NOT_FOUND", nil, "does not exist")
		}
	})
}

// apiDeskPayload is the payload of the desk booking mutations.
type apiDeskPayload struct {
	DeskBooking *apiDeskBooking
	Errors      []apiUserError
}

type apiDeskBooking struct {
	ID, Date, Period, Status string
	EngageID                 apiEngageID
	Desk                     struct{ Name string }
	User                     struct{ Email string }
}

const apiDeskBookingFields = `id engageId date period status desk { name } user { email }`

func TestAPIDeskBookingMutations(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	london := s.location(t, "London HQ")
	zone := s.zone(t, london)
	locID := s.locationID(t, london.Name)
	today := apiLocalDay(time.Now(), zone)
	dates := make([]string, 6)
	for i := range dates {
		dates[i] = today.AddDate(0, 0, i).Format(time.DateOnly)
	}
	var desk engagesim.Resource
	for _, d := range s.resources(london.ID, 2) {
		if len(s.deskBookings(d.ID, dates[0], dates[5])) == 0 {
			desk = d
			break
		}
	}
	require.NotZero(t, desk.ID, "a desk free all week")
	deskID := s.deskIDs(t, locID)[desk.Name]
	user := s.fx.Users[8]

	book := func(t *testing.T, in map[string]any) struct {
		DeskBookings []apiDeskBooking
		Errors       []apiUserError
	} {
		t.Helper()
		if _, ok := in["actingUserEmail"]; !ok {
			in["actingUserEmail"] = user.Email
		}
		if _, ok := in["deskId"]; !ok {
			in["deskId"] = deskID
		}
		var p struct {
			DeskBookings []apiDeskBooking
			Errors       []apiUserError
		}
		s.mutate(t, "bookDesk", "BookDeskInput", `deskBookings { `+apiDeskBookingFields+` } errors { code message field }`, in, &p)
		return p
	}
	listed := func(t *testing.T) []apiDeskBooking {
		t.Helper()
		var d struct{ DeskBookings []apiDeskBooking }
		s.data(t, `query($d: [ID!], $from: Date!, $to: Date!) { deskBookings(deskIds: $d, from: $from, to: $to) { `+apiDeskBookingFields+` } }`,
			map[string]any{"d": []string{deskID}, "from": dates[0], "to": dates[5]}, &d)
		return d.DeskBookings
	}
	action := func(t *testing.T, name, id string) apiDeskPayload {
		t.Helper()
		var p apiDeskPayload
		s.mutate(t, name, "DeskBookingActionInput", `deskBooking { `+apiDeskBookingFields+` } errors { code message field }`,
			map[string]any{"actingUserEmail": user.Email, "deskBookingId": id}, &p)
		return p
	}

	var made []apiDeskBooking
	t.Run("several dates at once", func(t *testing.T) {
		p := book(t, map[string]any{"dates": dates[:3]})
		require.Empty(t, p.Errors)
		require.Len(t, p.DeskBookings, 3)
		for i, b := range p.DeskBookings {
			assert.Equal(t, dates[i], b.Date)
			assert.Equal(t, "ALL_DAY", b.Period)
			assert.Equal(t, "BOOKED", b.Status)
			assert.Equal(t, desk.Name, b.Desk.Name)
			assert.Equal(t, user.Email, b.User.Email)
		}
		made = p.DeskBookings
		assert.Equal(t, made, listed(t))
	})

	t.Run("dates more than 14 days apart", func(t *testing.T) {
		far := []string{today.AddDate(0, 0, 16).Format(time.DateOnly), today.AddDate(0, 0, 40).Format(time.DateOnly)}
		p := book(t, map[string]any{"dates": far, "period": "AFTERNOON"})
		require.Empty(t, p.Errors)
		require.Len(t, p.DeskBookings, 2, "both read back, from two upstream windows")
		for i, b := range p.DeskBookings {
			assert.Equal(t, far[i], b.Date)
			assert.Equal(t, "AFTERNOON", b.Period)
		}
	})

	t.Run("a morning", func(t *testing.T) {
		p := book(t, map[string]any{"dates": []string{dates[5]}, "period": "MORNING"})
		require.Empty(t, p.Errors)
		require.Len(t, p.DeskBookings, 1)
		assert.Equal(t, "MORNING", p.DeskBookings[0].Period)
	})

	tests := []struct {
		name     string
		input    map[string]any
		code     string
		field    []string
		contains string
	}{
		{"same desk same date twice", map[string]any{"dates": []string{dates[3], dates[2]}}, "CONFLICT", nil, "Desk is not available for the requested date."},
		{"the same date twice in one request", map[string]any{"dates": []string{dates[4], dates[4]}}, "CONFLICT", nil, "not available"},
		{"no dates", map[string]any{"dates": []string{}}, "BAD_USER_INPUT", []string{"input", "dates"}, "at least one date"},
		{"unknown acting user", map[string]any{"dates": []string{dates[4]}, "actingUserEmail": "nobody@example.com"}, "NOT_FOUND", []string{"input", "actingUserEmail"}, "nobody@example.com"},
		{"a room id for a desk", map[string]any{"dates": []string{dates[4]}, "deskId": s.roomIDs(t, locID)[s.resources(london.ID, 1)[0].Name]}, "BAD_USER_INPUT", []string{"input", "deskId"}, "not a Desk id"},
		{"unknown desk", map[string]any{"dates": []string{dates[4]}, "deskId": "RGVzazo0MTo5OTk5OTk"}, "NOT_FOUND", nil, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := listed(t)
			p := book(t, tt.input)
			assert.Empty(t, p.DeskBookings)
			apiAssertUserError(t, p.Errors, tt.code, tt.field, tt.contains)
			assert.Equal(t, before, listed(t), "all dates or none")
		})
	}

	t.Run("check in on today's date", func(t *testing.T) {
		p := action(t, "checkInDesk", made[0].ID)
		require.Empty(t, p.Errors)
		require.NotNil(t, p.DeskBooking)
		assert.Equal(t, made[0].ID, p.DeskBooking.ID)
		assert.Equal(t, "CHECKED_IN", p.DeskBooking.Status)
	})

	t.Run("check in on another date", func(t *testing.T) {
		p := action(t, "checkInDesk", made[1].ID)
		assert.Nil(t, p.DeskBooking)
		apiAssertUserError(t, p.Errors, "BAD_USER_INPUT", nil, "Desk cannot be checked in at this moment.")
	})

	t.Run("release", func(t *testing.T) {
		p := action(t, "releaseDesk", made[1].ID)
		require.Empty(t, p.Errors)
		assert.Equal(t, "RELEASED", p.DeskBooking.Status)
		p = action(t, "releaseDesk", made[1].ID)
		apiAssertUserError(t, p.Errors, "BAD_USER_INPUT", nil, "already released")
	})

	t.Run("cancel", func(t *testing.T) {
		cancel := func(t *testing.T) struct {
			CancelledDeskBookingID *string
			Errors                 []apiUserError
		} {
			t.Helper()
			var p struct {
				CancelledDeskBookingID *string
				Errors                 []apiUserError
			}
			s.mutate(t, "cancelDeskBooking", "DeskBookingActionInput", `cancelledDeskBookingId errors { code message field }`,
				map[string]any{"actingUserEmail": user.Email, "deskBookingId": made[2].ID}, &p)
			return p
		}
		p := cancel(t)
		require.Empty(t, p.Errors)
		assert.Equal(t, made[2].ID, *p.CancelledDeskBookingID)

		resp := s.call(t, `query($id: ID!) { deskBooking(id: $id) { id } }`, map[string]any{"id": made[2].ID})
		assert.JSONEq(t, `{"deskBooking": null}`, string(resp.Data))
		assert.Equal(t, "NOT_FOUND", apiErrorAt(t, resp, "deskBooking").Extensions["code"])

		p = cancel(t)
		assert.Nil(t, p.CancelledDeskBookingID)
		apiAssertUserError(t, p.Errors, "NOT_FOUND", nil, "not found")

		statuses := map[string]string{}
		for _, b := range listed(t) {
			statuses[b.Date] = b.Status
		}
		assert.Equal(t, map[string]string{dates[0]: "CHECKED_IN", dates[1]: "RELEASED", dates[5]: "BOOKED"}, statuses)
	})

	t.Run("actions on an unknown desk booking", func(t *testing.T) {
		unknown := apiGlobalID("DeskBooking", 41, int64(desk.ID), 20300101, 999999)
		for _, name := range []string{"checkInDesk", "releaseDesk"} {
			p := action(t, name, unknown)
			apiAssertUserError(t, p.Errors, "NOT_FOUND", nil, "")
		}
	})
}

// apiVisitorPayload is the payload of the visitor mutations.
type apiVisitorPayload struct {
	Visitor *apiVisitor
	Errors  []apiUserError
}

type apiVisitor struct {
	ID, FirstName, LastName, Company, Email, Arrival, Status, MeetingName string
	EngageID                                                              apiEngageID
	Floor                                                                 int
	Departure                                                             *string
	Host                                                                  struct{ Email string }
	Location                                                              struct{ Name string }
	Booking                                                               *struct{ EngageID apiEngageID }
}

const apiVisitorFields = `id engageId firstName lastName company email arrival departure status floor meetingName host { email } location { name } booking { engageId }`

func TestAPIVisitorMutations(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	london := s.location(t, "London HQ")
	zone := s.zone(t, london)
	locID := s.locationID(t, london.Name)
	day := apiLocalDay(time.Now(), zone).AddDate(0, 0, 2)
	actor, host, other := s.fx.Users[20], s.fx.Users[21], s.fx.Users[22]
	meeting := s.bookRoom(t, host.Email, s.roomIDs(t, locID)[s.resources(london.ID, 1)[4].Name], apiAt(day, 20, 0), apiAt(day, 21, 0), "Interview")

	mutate := func(t *testing.T, name, typ string, in map[string]any) apiVisitorPayload {
		t.Helper()
		if _, ok := in["actingUserEmail"]; !ok {
			in["actingUserEmail"] = actor.Email
		}
		var p apiVisitorPayload
		s.mutate(t, name, typ, `visitor { `+apiVisitorFields+` } errors { code message field }`, in, &p)
		return p
	}
	read := func(t *testing.T, id string) (*apiVisitor, string) {
		t.Helper()
		resp := s.call(t, `query($id: ID!) { visitor(id: $id) { `+apiVisitorFields+` } }`, map[string]any{"id": id})
		var d struct{ Visitor *apiVisitor }
		require.NoError(t, json.Unmarshal(resp.Data, &d))
		if len(resp.Errors) > 0 {
			return d.Visitor, fmt.Sprint(resp.Errors[0].Extensions["code"])
		}
		return d.Visitor, ""
	}

	arrival := apiAt(day, 19, 45)
	var v apiVisitor
	t.Run("register", func(t *testing.T) {
		p := mutate(t, "registerVisitor", "RegisterVisitorInput", map[string]any{
			"hostEmail": host.Email, "firstName": "Grace", "lastName": "Hopper", "company": "Navy", "email": "grace@visitor.example.com",
			"locationId": locID, "arrival": arrival.Format(time.RFC3339), "floor": 3, "bookingId": meeting.ID,
			"purposeOfVisit": "Interview", "notifyByEmail": false,
		})
		require.Empty(t, p.Errors)
		require.NotNil(t, p.Visitor)
		v = *p.Visitor
		assert.Equal(t, []string{"Grace", "Hopper", "Navy", "grace@visitor.example.com", "EXPECTED", "Interview"},
			[]string{v.FirstName, v.LastName, v.Company, v.Email, v.Status, v.MeetingName})
		apiAssertLocal(t, zone, arrival, v.Arrival)
		assert.Nil(t, v.Departure)
		assert.Equal(t, host.Email, v.Host.Email)
		assert.Equal(t, london.Name, v.Location.Name)
		require.NotNil(t, v.Booking)
		assert.Equal(t, meeting.EngageID, v.Booking.EngageID)

		got, code := read(t, v.ID)
		require.Empty(t, code)
		assert.Equal(t, v, *got)

		var d struct {
			Booking struct{ Visitors []struct{ ID string } }
		}
		s.data(t, `query($id: ID!) { booking(id: $id) { visitors { id } } }`, map[string]any{"id": meeting.ID}, &d)
		assert.Equal(t, []struct{ ID string }{{v.ID}}, d.Booking.Visitors)
	})

	t.Run("register with the acting user as host", func(t *testing.T) {
		p := mutate(t, "registerVisitor", "RegisterVisitorInput", map[string]any{
			"firstName": "Alan", "lastName": "Turing", "locationId": locID, "arrival": apiAt(day, 9, 0).UTC().Format(time.RFC3339),
		})
		require.Empty(t, p.Errors)
		assert.Equal(t, actor.Email, p.Visitor.Host.Email)
		assert.Nil(t, p.Visitor.Booking)
		apiAssertLocal(t, zone, apiAt(day, 9, 0), p.Visitor.Arrival)
	})

	t.Run("update", func(t *testing.T) {
		later := apiAt(day, 20, 30)
		p := mutate(t, "updateVisitor", "UpdateVisitorInput", map[string]any{
			"visitorId": v.ID, "firstName": "Rear Admiral Grace", "company": "US Navy", "arrival": later.UTC().Format(time.RFC3339), "hostEmail": other.Email,
		})
		require.Empty(t, p.Errors)
		require.NotNil(t, p.Visitor)
		u := *p.Visitor
		assert.Equal(t, v.EngageID, u.EngageID)
		assert.Equal(t, []string{"Rear Admiral Grace", "Hopper", "US Navy", other.Email}, []string{u.FirstName, u.LastName, u.Company, u.Host.Email})
		apiAssertLocal(t, zone, later, u.Arrival)
		got, code := read(t, u.ID)
		require.Empty(t, code)
		assert.Equal(t, u, *got)
		v = u
	})

	t.Run("status changes", func(t *testing.T) {
		steps := []struct {
			change, status string
			departed       bool
			code           string
		}{
			{"DEPART", "", false, "BAD_USER_INPUT"},
			{"ARRIVE", "ARRIVED", false, ""},
			{"ARRIVE", "", false, "BAD_USER_INPUT"},
			{"UNARRIVE", "EXPECTED", false, ""},
			{"ARRIVE", "ARRIVED", false, ""},
			{"DEPART", "DEPARTED", true, ""},
			{"UNDEPART", "ARRIVED", false, ""},
			{"DEPART", "DEPARTED", true, ""},
		}
		for i, st := range steps {
			t.Run(fmt.Sprintf("%d %s", i, st.change), func(t *testing.T) {
				p := mutate(t, "setVisitorStatus", "SetVisitorStatusInput", map[string]any{"visitorId": v.ID, "change": st.change})
				if st.code != "" {
					assert.Nil(t, p.Visitor)
					apiAssertUserError(t, p.Errors, st.code, nil, "not allowed")
					return
				}
				require.Empty(t, p.Errors)
				assert.Equal(t, st.status, p.Visitor.Status)
				assert.Equal(t, st.departed, p.Visitor.Departure != nil, "departure %v", p.Visitor.Departure)
				got, _ := read(t, v.ID)
				assert.Equal(t, *p.Visitor, *got)
			})
		}
	})

	tests := []struct {
		name, mutation, typ string
		input               map[string]any
		code                string
		field               []string
	}{
		{"register past the 14-day window", "registerVisitor", "RegisterVisitorInput",
			map[string]any{"firstName": "A", "lastName": "B", "locationId": locID, "arrival": day.AddDate(0, 0, 20).Format(time.RFC3339)}, "BAD_USER_INPUT", nil},
		{"register for an unknown host", "registerVisitor", "RegisterVisitorInput",
			map[string]any{"firstName": "A", "lastName": "B", "locationId": locID, "arrival": arrival.Format(time.RFC3339), "hostEmail": "nobody@example.com"}, "NOT_FOUND", []string{"input", "hostEmail"}},
		{"register at an unknown location", "registerVisitor", "RegisterVisitorInput",
			map[string]any{"firstName": "A", "lastName": "B", "locationId": "TG9jYXRpb246OTk5OTk5", "arrival": arrival.Format(time.RFC3339)}, "NOT_FOUND", []string{"input", "locationId"}},
		{"register by an unknown user", "registerVisitor", "RegisterVisitorInput",
			map[string]any{"actingUserEmail": "nobody@example.com", "firstName": "A", "lastName": "B", "locationId": locID, "arrival": arrival.Format(time.RFC3339)}, "NOT_FOUND", []string{"input", "actingUserEmail"}},
		{"update an unknown visitor", "updateVisitor", "UpdateVisitorInput",
			map[string]any{"visitorId": apiGlobalID("Visitor", int64(london.ID), apiDayPart(day), 999999), "firstName": "X"}, "NOT_FOUND", []string{"input", "visitorId"}},
		{"update with a malformed id", "updateVisitor", "UpdateVisitorInput",
			map[string]any{"visitorId": "nope", "firstName": "X"}, "BAD_USER_INPUT", []string{"input", "visitorId"}},
		{"update to an unknown host", "updateVisitor", "UpdateVisitorInput",
			map[string]any{"visitorId": v.ID, "hostEmail": "nobody@example.com"}, "NOT_FOUND", []string{"input", "hostEmail"}},
		{"status of an unknown visitor", "setVisitorStatus", "SetVisitorStatusInput",
			map[string]any{"visitorId": apiGlobalID("Visitor", int64(london.ID), apiDayPart(day), 999999), "change": "ARRIVE"}, "NOT_FOUND", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before, _ := read(t, v.ID)
			p := mutate(t, tt.mutation, tt.typ, tt.input)
			assert.Nil(t, p.Visitor)
			require.Len(t, p.Errors, 1, "%+v", p.Errors)
			assert.Equal(t, tt.code, p.Errors[0].Code, p.Errors[0].Message)
			assert.Equal(t, tt.field, p.Errors[0].Field)
			after, _ := read(t, v.ID)
			assert.Equal(t, before, after)
		})
	}

	t.Run("cancel", func(t *testing.T) {
		cancel := func(t *testing.T) struct {
			CancelledVisitorID *string
			Errors             []apiUserError
		} {
			t.Helper()
			var p struct {
				CancelledVisitorID *string
				Errors             []apiUserError
			}
			s.mutate(t, "cancelVisitor", "VisitorActionInput", `cancelledVisitorId errors { code message field }`,
				map[string]any{"actingUserEmail": actor.Email, "visitorId": v.ID}, &p)
			return p
		}
		p := cancel(t)
		require.Empty(t, p.Errors)
		assert.Equal(t, v.ID, *p.CancelledVisitorID)
		got, code := read(t, v.ID)
		assert.Nil(t, got)
		assert.Equal(t, "NOT_FOUND", code)
		p = cancel(t)
		assert.Nil(t, p.CancelledVisitorID)
		apiAssertUserError(t, p.Errors, "NOT_FOUND", nil, "not found")
	})
}

func TestAPICostCodesAndServiceOrders(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	singapore := s.location(t, "Singapore")
	zone := s.zone(t, singapore)
	locID := s.locationID(t, singapore.Name)
	user := s.fx.Users[30]

	type costCode struct {
		ID, Code, Description string
		Active                bool
		Location              struct{ Name string }
	}
	type costCodesPayload struct {
		CostCodes []costCode
		Errors    []apiUserError
	}
	create := func(t *testing.T, in map[string]any) costCodesPayload {
		t.Helper()
		if _, ok := in["actingUserEmail"]; !ok {
			in["actingUserEmail"] = user.Email
		}
		if _, ok := in["locationId"]; !ok {
			in["locationId"] = locID
		}
		var p costCodesPayload
		s.mutate(t, "createCostCodes", "CreateCostCodesInput", `costCodes { id code description active location { name } } errors { code message field }`, in, &p)
		return p
	}

	t.Run("create cost codes", func(t *testing.T) {
		p := create(t, map[string]any{"codes": []map[string]any{
			{"code": "SIN-900", "description": "Offsite"},
			{"code": "SIN-910", "active": false},
		}})
		require.Empty(t, p.Errors)
		var want, got []string
		for _, c := range s.fx.CostCodes {
			if c.LocationID == singapore.ID {
				want = append(want, fmt.Sprintf("%s %s %v", c.Code, c.Description, c.IsActive))
			}
		}
		want = append(want, "SIN-900 Offsite true", "SIN-910  false")
		for _, c := range p.CostCodes {
			got = append(got, fmt.Sprintf("%s %s %v", c.Code, c.Description, c.Active))
			assert.Equal(t, singapore.Name, c.Location.Name)
		}
		assert.ElementsMatch(t, want, got)

		var d struct{ CostCodes []costCode }
		s.data(t, `query($id: ID!) { costCodes(locationId: $id) { id code description active location { name } } }`, map[string]any{"id": locID}, &d)
		assert.ElementsMatch(t, p.CostCodes, d.CostCodes)
	})

	ccTests := []struct {
		name  string
		input map[string]any
		code  string
		field []string
	}{
		{"no codes", map[string]any{"codes": []map[string]any{}}, "BAD_USER_INPUT", []string{"input", "codes"}},
		{"an empty code", map[string]any{"codes": []map[string]any{{"code": ""}}}, "BAD_USER_INPUT", nil},
		{"unknown location", map[string]any{"codes": []map[string]any{{"code": "X"}}, "locationId": "TG9jYXRpb246OTk5OTk5"}, "NOT_FOUND", nil},
		{"unknown acting user", map[string]any{"codes": []map[string]any{{"code": "X"}}, "actingUserEmail": "nobody@example.com"}, "NOT_FOUND", []string{"input", "actingUserEmail"}},
	}
	for _, tt := range ccTests {
		t.Run("create cost codes: "+tt.name, func(t *testing.T) {
			p := create(t, tt.input)
			assert.Empty(t, p.CostCodes)
			require.Len(t, p.Errors, 1, "%+v", p.Errors)
			assert.Equal(t, tt.code, p.Errors[0].Code, p.Errors[0].Message)
			assert.Equal(t, tt.field, p.Errors[0].Field)
		})
	}

	// A booking to order for, and a service sold at Singapore.
	day := apiLocalDay(time.Now(), zone).AddDate(0, 0, 4)
	b := s.bookRoom(t, user.Email, s.roomIDs(t, locID)[s.resources(singapore.ID, 1)[0].Name], apiAt(day, 21, 0), apiAt(day, 22, 0), "Catered")
	var vd struct {
		VendorServices []struct {
			Services []struct {
				ID, Name string
				Price    float64
			}
		}
	}
	s.data(t, `query($id: ID!) { vendorServices(locationId: $id) { services { id name price } } }`, map[string]any{"id": locID}, &vd)
	require.NotEmpty(t, vd.VendorServices)
	service := vd.VendorServices[0].Services[1]

	type order struct {
		ID, Status string
		Quantity   int
		Service    struct{ ID, Name string }
		Booking    struct{ ID string }
	}
	orderFields := `id quantity status service { id name } booking { id }`
	orderIt := func(t *testing.T, in map[string]any) struct {
		Order  *order
		Errors []apiUserError
	} {
		t.Helper()
		base := map[string]any{"actingUserEmail": user.Email, "bookingId": b.ID, "serviceId": service.ID}
		for k, v := range in {
			base[k] = v
		}
		var p struct {
			Order  *order
			Errors []apiUserError
		}
		s.mutate(t, "orderVendorService", "OrderVendorServiceInput", `order { `+orderFields+` } errors { code message field }`, base, &p)
		return p
	}

	t.Run("order a service", func(t *testing.T) {
		p := orderIt(t, map[string]any{"quantity": 3})
		require.Empty(t, p.Errors)
		require.NotNil(t, p.Order)
		assert.Equal(t, 3, p.Order.Quantity)
		assert.Equal(t, "PLACED", p.Order.Status)
		assert.Equal(t, service.ID, p.Order.Service.ID)
		assert.Equal(t, service.Name, p.Order.Service.Name)
		assert.Equal(t, b.ID, p.Order.Booking.ID)

		second := orderIt(t, map[string]any{})
		require.Empty(t, second.Errors)
		assert.Equal(t, 1, second.Order.Quantity, "quantity defaults to 1")

		var d struct {
			Booking struct{ ServiceOrders []order }
		}
		s.data(t, `query($id: ID!) { booking(id: $id) { serviceOrders { `+orderFields+` } } }`, map[string]any{"id": b.ID}, &d)
		assert.Equal(t, []order{*p.Order, *second.Order}, d.Booking.ServiceOrders)
	})

	orderTests := []struct {
		name  string
		input map[string]any
		code  string
		field []string
	}{
		{"quantity zero", map[string]any{"quantity": 0}, "BAD_USER_INPUT", []string{"input", "quantity"}},
		{"unknown service", map[string]any{"serviceId": apiGlobalID("VendorService", int64(singapore.ID), 999999)}, "NOT_FOUND", nil},
		{"unknown booking", map[string]any{"bookingId": "Qm9va2luZzo5OTk5OTk5"}, "NOT_FOUND", nil},
		{"a booking id for a service", map[string]any{"serviceId": b.ID}, "BAD_USER_INPUT", []string{"input", "serviceId"}},
		{"unknown acting user", map[string]any{"actingUserEmail": "nobody@example.com"}, "NOT_FOUND", []string{"input", "actingUserEmail"}},
	}
	for _, tt := range orderTests {
		t.Run("order: "+tt.name, func(t *testing.T) {
			p := orderIt(t, tt.input)
			assert.Nil(t, p.Order)
			require.Len(t, p.Errors, 1, "%+v", p.Errors)
			assert.Equal(t, tt.code, p.Errors[0].Code, p.Errors[0].Message)
			assert.Equal(t, tt.field, p.Errors[0].Field)
		})
	}
}
