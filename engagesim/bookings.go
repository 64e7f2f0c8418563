package engagesim

// This file serves room bookings of the ExternalBookings product: list, read, create, edit,
// progress (start, end, extend), delete, free slots and available rooms. The same operations back
// the admin routes, which differ only in the ActionSource they announce.

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

// bookingJSON is the Booking of the contract, every field in the order a real client reads them.
type bookingJSON struct {
	BookingID            int    `json:"bookingID"`
	RoomID               int    `json:"roomID"`
	LocationId           int    `json:"locationId"`
	LocationTimeZone     string `json:"locationTimeZone"`
	MeetingTitle         string `json:"meetingTitle"`
	TimeFrom             string `json:"timeFrom"`
	TimeTo               string `json:"timeTo"`
	TimeFromUTC          string `json:"timeFromUTC"`
	TimeToUTC            string `json:"timeToUTC"`
	UtcWithSetupTime     string `json:"utcWithSetupTime"`
	UtcWithCleanDownTime string `json:"utcWithCleanDownTime"`
	ActualTimeFrom       string `json:"actualTimeFrom"`
	ActualTimeTo         string `json:"actualTimeTo"`
	BookingRealStartTime string `json:"bookingRealStartTime"`
	BookingRealEndTime   string `json:"bookingRealEndTime"`
	HostName             string `json:"hostName"`
	HostEmail            string `json:"hostEmail"`
	MeetingProgress      int    `json:"meetingProgress"`
	PrepUnit             int    `json:"prepUnit"`
	PrepPeriod           int    `json:"prepPeriod"`
	CleanDownUnit        int    `json:"cleanDownUnit"`
	CleanDownPeriod      int    `json:"cleanDownPeriod"`
	RoomClear            bool   `json:"roomClear"`
	InstantMeeting       bool   `json:"instantMeeting"`
	PendingOnGrid        bool   `json:"pendingOnGrid"`
	PrivateMeeting       bool   `json:"privateMeeting"`
	LastModifiedOn       string `json:"lastModifiedOn"`
	ModifiedBy           string `json:"modifiedBy"`
	CreatedOn            string `json:"createdOn"`
	CreatedBy            string `json:"createdBy"`
	Deleted              bool   `json:"deleted"`
	RecurranceId         int    `json:"recurranceId"`
	WaitList             bool   `json:"waitList"`
	DateFrom             string `json:"dateFrom"`
	GroupId              int    `json:"groupId"`
	BookingStart         string `json:"bookingStart"`
	BookingEnd           string `json:"bookingEnd"`
	BookingSource        int    `json:"bookingSource"`
	UserRole             int    `json:"userRole"`
	Status               int    `json:"status"`
	HostId               int    `json:"hostId"`
	RequestorId          int    `json:"requestorId"`
	RequestorName        string `json:"requestorName"`
	RequestorEmail       string `json:"requestorEmail"`
	CreatorName          string `json:"creatorName"`
	CreatorEmail         string `json:"creatorEmail"`
	SetupStyle           int    `json:"setupStyle"`
	Notes                string `json:"notes"`
	MeetingType          int    `json:"meetingType"`
	CostCodeId           int    `json:"costCodeId"`
}

func (st *store) bookingView(b *Booking) bookingJSON {
	room := st.resources[b.RoomID]
	loc := st.locations[room.LocationID]
	tz := loc.tz
	name, email := st.userName(b.UserID)
	requestor, creator := b.UserID, b.UserID
	if b.RequestorID != 0 {
		requestor = b.RequestorID
	}
	if b.CreatorID != 0 {
		creator = b.CreatorID
	}
	reqName, reqEmail := st.userName(requestor)
	creName, creEmail := st.userName(creator)
	// The set-up and clean-down times bound the booked span, whether or not the meeting ended early.
	hold := holdingOf(b.Start, b.End, b.PrepMinutes, b.CleanDownMinutes)
	return bookingJSON{
		BookingID: b.ID, RoomID: b.RoomID, LocationId: loc.ID, LocationTimeZone: loc.TimeZone, MeetingTitle: b.Title,
		TimeFrom: fmtLocal(b.Start, tz), TimeTo: fmtLocal(b.End, tz), TimeFromUTC: fmtUTC(b.Start), TimeToUTC: fmtUTC(b.End),
		UtcWithSetupTime: fmtUTC(hold.from), UtcWithCleanDownTime: fmtUTC(hold.to),
		PrepUnit: holdUnit(b.PrepMinutes), PrepPeriod: b.PrepMinutes, CleanDownUnit: holdUnit(b.CleanDownMinutes), CleanDownPeriod: b.CleanDownMinutes,
		ActualTimeFrom: fmtLocal(b.ActualStart, tz), ActualTimeTo: fmtLocal(b.ActualEnd, tz),
		BookingRealStartTime: fmtLocal(b.ActualStart, tz), BookingRealEndTime: fmtLocal(b.ActualEnd, tz),
		HostName: name, HostEmail: email, MeetingProgress: b.Progress, PrivateMeeting: b.Private,
		LastModifiedOn: fmtLocal(b.ModifiedOn, tz), ModifiedBy: name, CreatedOn: fmtLocal(b.CreatedOn, tz), CreatedBy: creName,
		DateFrom: localMidnight(b.Start, tz), GroupId: room.GroupID,
		BookingStart: fmtLocal(b.Start, tz), BookingEnd: fmtLocal(b.End, tz), BookingSource: b.Source,
		UserRole: bookingUserRole, Status: bookingStatusActive, HostId: b.UserID, RequestorId: requestor, RequestorName: reqName,
		RequestorEmail: reqEmail, CreatorName: creName, CreatorEmail: creEmail, SetupStyle: b.SetupStyle, Notes: b.Notes,
		MeetingType: bookingMeetingType, CostCodeId: b.CostCodeID,
	}
}

// change runs a mutation under the write lock and publishes its events once it succeeded.
func (s *Sim) change(f func(st *store, now time.Time) ([]event, *apiError)) *apiError {
	now := s.now()
	s.mu.Lock()
	evs, err := f(s.st, now)
	s.mu.Unlock()
	if err != nil {
		return err
	}
	s.hooks.publish(evs)
	return nil
}

// meetingEvent is the Meeting External item of a booking at its current date and room.
func (st *store) meetingEvent(b *Booking, action int) event {
	return event{typ: eventMeetingExternal, resource: b.RoomID, date: localMidnight(b.Start, st.locationOf(b.RoomID).tz),
		item: meetingChange{Action: action, BookingID: b.ID, ResourceItemID: b.RoomID}}
}

// room returns a meeting room or a 404.
func (st *store) room(id int) (*Resource, *location, *apiError) {
	r := st.resources[id]
	if r == nil || r.WorkspaceTypeID != workspaceRoom {
		return nil, nil, fail(http.StatusNotFound, msgRoomNotFound)
	}
	return r, st.locations[r.LocationID], nil
}

func (st *store) checkUser(id int) *apiError {
	if id != 0 && st.users[id] == nil {
		return fail(http.StatusNotFound, msgUserNotFound)
	}
	return nil
}

// bookingBody is POST /bookings [C] (costCodeId added [X]).
type bookingBody struct {
	UserID            flexInt    `json:"userId"`
	RoomID            flexInt    `json:"roomId"`
	StartDateTime     string     `json:"startDateTime"`
	EndDateTime       string     `json:"endDateTime"`
	MeetingTitle      string     `json:"meetingTitle"`
	BookingSource     flexInt    `json:"bookingSource"`
	SetDefaultStyle   flexBool   `json:"setDefaultStyle"`
	NumberOfAttendees flexInt    `json:"numberOfAttendees"`
	Attendees         []attendee `json:"attendees"`
	CostCodeID        flexInt    `json:"costCodeId"`
	Notes             string     `json:"notes"`
}

type attendee struct {
	RoomID       flexInt `json:"roomId"`
	FirstName    string  `json:"firstName"`
	LastName     string  `json:"lastName"`
	Email        string  `json:"email"`
	AttendeeType flexInt `json:"attendeeType"`
}

// createBooking books a room; source is the bookingSource recorded when the body has none, and
// prep and cleanDown the minutes the room is held before and after the meeting.
func (s *Sim) createBooking(in bookingBody, utc bool, source, prep, cleanDown int) (int, *apiError) {
	var id int
	err := s.change(func(st *store, now time.Time) ([]event, *apiError) {
		_, loc, err := st.room(int(in.RoomID))
		if err != nil {
			return nil, err
		}
		if err := st.checkUser(int(in.UserID)); err != nil {
			return nil, err
		}
		start, err := parseDateTime(in.StartDateTime, loc.tz, utc)
		if err != nil {
			return nil, err
		}
		end, err := parseDateTime(in.EndDateTime, loc.tz, utc)
		if err != nil {
			return nil, err
		}
		if !end.After(start) {
			return nil, badRequest(msgEndBeforeStart)
		}
		if prep < 0 || cleanDown < 0 {
			return nil, badRequest(msgHoldMinutes)
		}
		if st.clash(int(in.RoomID), holdingOf(start, end, prep, cleanDown), 0) {
			return nil, fail(http.StatusConflict, msgRoomNotAvailable)
		}
		st.nextBooking++
		src := int(in.BookingSource)
		if src == 0 {
			src = source
		}
		attendees := int(in.NumberOfAttendees)
		if attendees == 0 {
			attendees = len(in.Attendees)
		}
		b := &Booking{ID: st.nextBooking, RoomID: int(in.RoomID), UserID: int(in.UserID), Title: in.MeetingTitle,
			Start: start.UTC(), End: end.UTC(), Source: src, Attendees: attendees, CostCodeID: int(in.CostCodeID),
			Notes: in.Notes, SetupStyle: 1, CreatedOn: now.UTC(), ModifiedOn: now.UTC(), PrepMinutes: prep, CleanDownMinutes: cleanDown}
		st.putBooking(b)
		id = b.ID
		return []event{st.meetingEvent(b, meetingUpdated)}, nil
	})
	return id, err
}

// bookingPatch is an edit: any subset of room, times and title.
type bookingPatch struct {
	RoomID       *flexInt `json:"roomId"`
	Start        *string  `json:"startDate"`
	End          *string  `json:"endDate"`
	StartAlt     *string  `json:"startDateTime"`
	EndAlt       *string  `json:"endDateTime"`
	MeetingTitle *string  `json:"meetingTitle"`
}

// editBooking moves or renames a booking and announces it under its old and new date and room.
func (s *Sim) editBooking(id int, p bookingPatch, utc bool) *apiError {
	return s.change(func(st *store, now time.Time) ([]event, *apiError) {
		b := st.bookings[id]
		if b == nil {
			return nil, badRequest(msgBookingNotFound)
		}
		if b.Progress == progressEnded {
			return nil, badRequest(msgAlreadyEnded)
		}
		before := st.meetingEvent(b, meetingUpdated)
		roomID := b.RoomID
		if p.RoomID != nil {
			roomID = int(*p.RoomID)
		}
		_, loc, err := st.room(roomID)
		if err != nil {
			return nil, err
		}
		start, end := b.Start, b.End
		if p.Start == nil {
			p.Start = p.StartAlt
		}
		if p.End == nil {
			p.End = p.EndAlt
		}
		if p.Start != nil {
			if start, err = parseDateTime(*p.Start, loc.tz, utc); err != nil {
				return nil, err
			}
		}
		if p.End != nil {
			if end, err = parseDateTime(*p.End, loc.tz, utc); err != nil {
				return nil, err
			}
		}
		if !end.After(start) {
			return nil, badRequest(msgEndBeforeStart)
		}
		if st.clash(roomID, holdingOf(start, end, b.PrepMinutes, b.CleanDownMinutes), id) {
			return nil, fail(http.StatusConflict, msgRoomNotAvailable)
		}
		st.dropBooking(b)
		b.RoomID, b.Start, b.End, b.ModifiedOn = roomID, start.UTC(), end.UTC(), now.UTC()
		if p.MeetingTitle != nil {
			b.Title = *p.MeetingTitle
		}
		st.putBooking(b)
		return []event{before, st.meetingEvent(b, meetingUpdated)}, nil
	})
}

// removeBooking deletes a booking.
func (s *Sim) removeBooking(id int) *apiError {
	return s.change(func(st *store, _ time.Time) ([]event, *apiError) {
		b := st.bookings[id]
		if b == nil {
			return nil, badRequest(msgBookingNotFound)
		}
		st.dropBooking(b)
		return []event{st.meetingEvent(b, meetingDeleted)}, nil
	})
}

// progressBooking starts, ends or extends a meeting (actionStart, actionEnd, actionExtend).
func (s *Sim) progressBooking(id, action, minutes, source int) *apiError {
	return s.change(func(st *store, now time.Time) ([]event, *apiError) {
		b := st.bookings[id]
		if b == nil {
			return nil, badRequest(msgBookingNotFound)
		}
		prog := meetingProgression{BookingId: b.ID, ResourceItemId: b.RoomID, UpdatedTime: noValue, ActionSource: source}
		var extra []event
		switch action {
		case actionStart:
			switch {
			case b.Progress == progressStarted:
				return nil, badRequest(msgAlreadyStarted)
			case b.Progress == progressEnded, now.Before(b.Start.Add(-startEarlyWindow)), !now.Before(b.End):
				return nil, badRequest(msgCannotStart)
			}
			b.Progress, b.ActualStart = progressStarted, now.UTC()
			prog.MeetingProgressionAction = progStart
		case actionEnd:
			switch b.Progress {
			case progressEnded:
				return nil, badRequest(msgAlreadyEnded)
			case progressNotStarted:
				return nil, badRequest(msgNotStarted)
			}
			b.Progress, b.ActualEnd = progressEnded, now.UTC()
			prog.MeetingProgressionAction = progStop
		case actionExtend:
			if minutes <= 0 {
				return nil, badRequest(msgExtendMinutes)
			}
			if b.Progress == progressEnded {
				return nil, badRequest(msgAlreadyEnded)
			}
			newEnd := b.End.Add(time.Duration(minutes) * time.Minute)
			if st.clash(b.RoomID, holdingOf(b.Start, newEnd, b.PrepMinutes, b.CleanDownMinutes), b.ID) {
				return nil, fail(http.StatusConflict, msgRoomNotAvailable)
			}
			b.End, b.ActualEnd = newEnd, newEnd
			prog.MeetingProgressionAction = progExtend
			prog.UpdatedTime = fmtLocal(newEnd, st.locationOf(b.RoomID).tz)
			extra = append(extra, st.meetingEvent(b, meetingUpdated))
		default:
			return nil, badRequest(msgUnknownAction)
		}
		b.ModifiedOn = now.UTC()
		return append([]event{{typ: eventMeetingProgression, resource: b.RoomID, item: prog}}, extra...), nil
	})
}

func (s *Sim) bookingOut(id int) (bookingJSON, bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	b := s.st.bookings[id]
	if b == nil {
		return bookingJSON{}, false
	}
	return s.st.bookingView(b), true
}

// Handlers.

func (s *Sim) getBookings(w http.ResponseWriter, r *http.Request, _ string) {
	q := queryOf(r)
	roomID, err := q.reqInt("roomId")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	from, err := q.date("startDate")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	to, err := q.date("endDate")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	if err := checkWindow(from, to); err != nil {
		answer(w, 0, nil, err)
		return
	}
	utc := q.utc()
	s.mu.RLock()
	_, loc, err := s.st.room(roomID)
	if err != nil {
		s.mu.RUnlock()
		answer(w, 0, nil, err)
		return
	}
	tz := loc.tz
	if utc {
		tz = time.UTC
	}
	out := []bookingJSON{}
	last := to.Format(dateLayout)
	first := from.Format(dateLayout)
	for _, b := range s.st.roomBookings(roomID) {
		d := b.Start.In(tz).Format(dateLayout)
		if d >= first && d <= last {
			out = append(out, s.st.bookingView(b))
		}
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, struct {
		Bookings []bookingJSON `json:"bookings"`
	}{out})
}

func (s *Sim) getBooking(w http.ResponseWriter, _ *http.Request, id string) {
	n, _ := strconv.Atoi(id)
	b, ok := s.bookingOut(n)
	if !ok {
		answer(w, 0, nil, badRequest(msgBookingNotFound))
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Sim) postBooking(w http.ResponseWriter, r *http.Request, _ string) {
	var in bookingBody
	if err := decodeBody(r, &in); err != nil {
		answer(w, 0, nil, err)
		return
	}
	id, err := s.createBooking(in, queryOf(r).utc(), sourceExternal, 0, 0)
	answer(w, http.StatusCreated, struct {
		BookingID int `json:"bookingId"`
	}{id}, err)
}

// putBookingBody is either an edit (bookingDetails) or a progress ("UpdateMeeting_V1").
type putBookingBody struct {
	BookingDetails  *bookingPatch `json:"bookingDetails"`
	UserID          flexInt       `json:"userId"`
	BookingID       flexInt       `json:"bookingId"`
	ActionType      *flexInt      `json:"actionType"`
	ExtendByMinutes flexInt       `json:"extendByMinutes"`
}

func (s *Sim) putBooking(w http.ResponseWriter, r *http.Request, id string) {
	n, _ := strconv.Atoi(id)
	var in putBookingBody
	if err := decodeBody(r, &in); err != nil {
		answer(w, 0, nil, err)
		return
	}
	var err *apiError
	switch {
	case in.ActionType != nil:
		err = s.progressBooking(n, int(*in.ActionType), int(in.ExtendByMinutes), sourceExternal)
	case in.BookingDetails != nil:
		err = s.editBooking(n, *in.BookingDetails, queryOf(r).utc())
	default:
		err = badRequest("bookingDetails or actionType is required.")
	}
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	b, ok := s.bookingOut(n)
	if !ok {
		answer(w, 0, nil, badRequest(msgBookingNotFound))
		return
	}
	writeJSON(w, http.StatusOK, b)
}

func (s *Sim) deleteBooking(w http.ResponseWriter, r *http.Request, _ string) {
	var in struct {
		BookingID flexInt `json:"bookingId"`
		UserID    flexInt `json:"userId"`
	}
	if err := decodeBody(r, &in); err != nil {
		answer(w, 0, nil, err)
		return
	}
	if in.BookingID == 0 {
		if n, err := strconv.Atoi(queryOf(r).str("bookingId")); err == nil {
			in.BookingID = flexInt(n)
		}
	}
	answer(w, http.StatusOK, message{msgSuccess}, s.removeBooking(int(in.BookingID)))
}

// interval is a busy span of a resource.
type interval struct{ from, to time.Time }

// holdUnit is the prepUnit or cleanDownUnit of a set-up or clean-down of minutes: none or minutes.
func holdUnit(minutes int) int {
	if minutes == 0 {
		return 0
	}
	return holdUnitMinutes
}

// busy returns the spans a room or desk is taken, sorted.
func (st *store) busy(res *Resource) []interval {
	var out []interval
	if res.WorkspaceTypeID == workspaceRoom {
		for _, b := range st.byRoom[res.ID] {
			out = append(out, holding(b))
		}
	} else {
		tz := st.locations[res.LocationID].tz
		for _, d := range st.byDesk[res.ID] {
			if d.Status == deskReleased {
				continue
			}
			day, err := time.Parse(dateLayout, d.Date)
			if err != nil {
				continue
			}
			from, to := 0, 24
			switch d.BookingType {
			case deskMorning:
				to = 12
			case deskAfternoon:
				from = 12
			}
			out = append(out, interval{localHour(day, from, tz), localHour(day, to, tz)})
		}
	}
	slices.SortFunc(out, func(a, b interval) int { return a.from.Compare(b.from) })
	return out
}

// localHour is the instant of hour h (0..24) of a local date.
func localHour(day time.Time, h int, tz *time.Location) time.Time {
	wall := day.Add(time.Duration(h) * time.Hour)
	if t, ok := resolveLocal(wall, tz); ok {
		return t
	}
	return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), 0, 0, 0, tz)
}

// freeIn returns the free spans of [from, to) given sorted busy spans.
func freeIn(busy []interval, from, to time.Time) []interval {
	var out []interval
	cur := from
	for _, b := range busy {
		if !b.to.After(cur) || !b.from.Before(to) {
			continue
		}
		if b.from.After(cur) {
			out = append(out, interval{cur, b.from})
		}
		if b.to.After(cur) {
			cur = b.to
		}
	}
	if cur.Before(to) {
		out = append(out, interval{cur, to})
	}
	return out
}

// spanParams reads locationId, startDateTime, endDateTime and isUTCDateTime, with the 14-day cap.
func (s *Sim) spanParams(q query) (*location, time.Time, time.Time, *apiError) {
	lid, err := q.reqInt("locationId")
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	s.mu.RLock()
	loc := s.st.locations[lid]
	s.mu.RUnlock()
	if loc == nil {
		return nil, time.Time{}, time.Time{}, fail(http.StatusNotFound, msgLocationNotFound)
	}
	from, err := parseDateTime(q.str("startDateTime"), loc.tz, q.utc())
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	to, err := parseDateTime(q.str("endDateTime"), loc.tz, q.utc())
	if err != nil {
		return nil, time.Time{}, time.Time{}, err
	}
	if !to.After(from) {
		return nil, time.Time{}, time.Time{}, badRequest(msgEndBeforeStart)
	}
	if to.Sub(from) > maxWindowDays*24*time.Hour {
		return nil, time.Time{}, time.Time{}, badRequest(msgDateRange)
	}
	return loc, from, to, nil
}

type freeSlot struct {
	StartDateTime    string `json:"startDateTime"`
	EndDateTime      string `json:"endDateTime"`
	StartDateTimeUTC string `json:"startDateTimeUTC"`
	EndDateTimeUTC   string `json:"endDateTimeUTC"`
}

type freePeriod struct {
	LocationID      int        `json:"locationID"`
	FloorNumber     int        `json:"floorNumber"`
	ResourceID      int        `json:"resourceID"`
	WorkspaceTypeId int        `json:"workspaceTypeId"`
	FreePeriodSlots []freeSlot `json:"freePeriodSlots"`
}

func (s *Sim) getFreeSlots(w http.ResponseWriter, r *http.Request, _ string) {
	q := queryOf(r)
	loc, from, to, err := s.spanParams(q)
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	floor, err := q.optInt("floorNumber")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	kind, err := q.optInt("resourceType")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	if kind == 0 {
		kind = workspaceRoom
	}
	hasFloor := q.str("floorNumber") != ""
	out := []freePeriod{}
	s.mu.RLock()
	for _, res := range s.st.sortedResources(kind, loc.ID) {
		if hasFloor && res.FloorNumber != floor {
			continue
		}
		free := freeIn(s.st.busy(res), from, to)
		if len(free) == 0 {
			continue
		}
		p := freePeriod{LocationID: loc.ID, FloorNumber: res.FloorNumber, ResourceID: res.ID, WorkspaceTypeId: res.WorkspaceTypeID}
		for _, f := range free {
			p.FreePeriodSlots = append(p.FreePeriodSlots, freeSlot{fmtLocal(f.from, loc.tz), fmtLocal(f.to, loc.tz), fmtUTC(f.from), fmtUTC(f.to)})
		}
		out = append(out, p)
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, struct {
		FreePeriod []freePeriod `json:"freePeriod"`
	}{out})
}

type availableRoom struct {
	RoomID         int    `json:"roomId"`
	RoomName       string `json:"roomName"`
	MaxCapacity    int    `json:"maxCapacity"`
	FloorNumber    int    `json:"floorNumber"`
	LocationID     int    `json:"locationId"`
	RoomAttributes []int  `json:"roomAttributes"`
}

func (s *Sim) getAvailableRooms(w http.ResponseWriter, r *http.Request, _ string) {
	q := queryOf(r)
	loc, from, to, err := s.spanParams(q)
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	gid, err := q.optInt("groupId")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	kind, err := q.optInt("workSpaceTypeId")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	if kind == 0 {
		kind = workspaceRoom
	}
	want, err := ints(q.str("roomAttributes"))
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	out := []availableRoom{}
	s.mu.RLock()
	for _, res := range s.st.sortedResources(kind, loc.ID) {
		if gid != 0 && res.GroupID != gid {
			continue
		}
		if slices.ContainsFunc(want, func(a int) bool { return !slices.Contains(res.Attributes, a) }) {
			continue
		}
		free := freeIn(s.st.busy(res), from, to)
		if len(free) != 1 || !free[0].from.Equal(from) || !free[0].to.Equal(to) {
			continue
		}
		attrs := slices.Clone(res.Attributes)
		if attrs == nil {
			attrs = []int{}
		}
		out = append(out, availableRoom{RoomID: res.ID, RoomName: res.Name, MaxCapacity: res.Capacity, FloorNumber: res.FloorNumber, LocationID: res.LocationID, RoomAttributes: attrs})
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, struct {
		AvailableRooms []availableRoom `json:"availableRooms"`
	}{out})
}

// lowerTrim is a helper for case-insensitive substring filters.
func lowerTrim(s string) string { return strings.ToLower(strings.TrimSpace(s)) }
