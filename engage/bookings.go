package engage

// Room bookings, of the ExternalBookings product. Every request time is sent
// in UTC with isUTCDateTime=true, so the client never meets the upstream's
// handling of local times that do not exist or occur twice.

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// wireBooking is the Booking as a real client reads it [C], with costCodeId
// [X]. Only the fields the domain uses are decoded.
type wireBooking struct {
	BookingID        flexInt    `json:"bookingID"`
	RoomID           flexInt    `json:"roomID"`
	LocationID       flexInt    `json:"locationId"`
	LocationTimeZone string     `json:"locationTimeZone"`
	MeetingTitle     string     `json:"meetingTitle"`
	TimeFrom         wireTime   `json:"timeFrom"`
	TimeTo           wireTime   `json:"timeTo"`
	TimeFromUTC      wireTime   `json:"timeFromUTC"`
	TimeToUTC        wireTime   `json:"timeToUTC"`
	ActualTimeFrom   wireTime   `json:"actualTimeFrom"`
	ActualTimeTo     wireTime   `json:"actualTimeTo"`
	HostID           flexInt    `json:"hostId"`
	HostName         string     `json:"hostName"`
	HostEmail        string     `json:"hostEmail"`
	RequestorID      flexInt    `json:"requestorId"`
	RequestorName    string     `json:"requestorName"`
	RequestorEmail   string     `json:"requestorEmail"`
	CreatorName      string     `json:"creatorName"`
	CreatorEmail     string     `json:"creatorEmail"`
	MeetingProgress  flexInt    `json:"meetingProgress"`
	PrivateMeeting   flexBool   `json:"privateMeeting"`
	LastModifiedOn   wireTime   `json:"lastModifiedOn"`
	CreatedOn        wireTime   `json:"createdOn"`
	Deleted          flexBool   `json:"deleted"`
	GroupID          flexInt    `json:"groupId"`
	BookingSource    flexString `json:"bookingSource"`
	Notes            string     `json:"notes"`
	CostCodeID       flexInt    `json:"costCodeId"`

	// UTCWithSetupTime and UTCWithCleanDownTime are the start less the
	// set-up time and the end plus the clean-down time [C names, I
	// meaning], in UTC like the twins.
	UTCWithSetupTime     wireTime `json:"utcWithSetupTime"`
	UTCWithCleanDownTime wireTime `json:"utcWithCleanDownTime"`
}

// booking converts a wire booking. Its times are placed in the zone its
// locationTimeZone names; the start and end come from the UTC twins when
// present. The other times have no twin and are read as local to that zone.
func (c *Client) booking(route string, w wireBooking) (workplace.Booking, error) {
	loc := c.zoneOf(w.LocationTimeZone, "booking", int64(w.BookingID))
	b := workplace.Booking{
		ID:         workplace.BookingID(w.BookingID),
		RoomID:     workplace.RoomID(w.RoomID),
		LocationID: workplace.LocationID(w.LocationID),
		GroupID:    workplace.GroupID(w.GroupID),
		Title:      w.MeetingTitle,
		Progress:   workplace.MeetingProgress(w.MeetingProgress),
		Private:    bool(w.PrivateMeeting),
		Source:     string(w.BookingSource),
		Host:       workplace.Person{ID: workplace.UserID(w.HostID), Name: w.HostName, Email: w.HostEmail},
		Requestor:  workplace.Person{ID: workplace.UserID(w.RequestorID), Name: w.RequestorName, Email: w.RequestorEmail},
		Creator:    workplace.Person{Name: w.CreatorName, Email: w.CreatorEmail},
		CostCodeID: workplace.CostCodeID(w.CostCodeID),
		Notes:      w.Notes,
		Deleted:    bool(w.Deleted),
	}
	var err error
	set := func(dst *time.Time, utc, local wireTime) {
		if err == nil {
			*dst, err = pickTime(utc, local, loc)
		}
	}
	set(&b.Start, w.TimeFromUTC, w.TimeFrom)
	set(&b.End, w.TimeToUTC, w.TimeTo)
	set(&b.ActualStart, "", w.ActualTimeFrom)
	set(&b.ActualEnd, "", w.ActualTimeTo)
	set(&b.CreatedAt, "", w.CreatedOn)
	set(&b.ModifiedAt, "", w.LastModifiedOn)
	var setupFrom, cleanDownTo time.Time
	set(&setupFrom, w.UTCWithSetupTime, "")
	set(&cleanDownTo, w.UTCWithCleanDownTime, "")
	// A set-up time after the start, or a clean-down before the end, holds
	// nothing beyond the meeting.
	if !setupFrom.IsZero() && setupFrom.Before(b.Start) {
		b.Setup = b.Start.Sub(setupFrom)
	}
	if !cleanDownTo.IsZero() && cleanDownTo.After(b.End) {
		b.CleanDown = cleanDownTo.Sub(b.End)
	}
	if err != nil {
		return workplace.Booking{}, &Error{Product: ProductExternalBookings, Method: http.MethodGet, Route: route,
			Message: "booking " + strconv.FormatInt(int64(w.BookingID), 10) + ": " + err.Error(), kind: kindDecode}
	}
	return b, nil
}

// Bookings implements workplace.Bookings. The days are the room's local
// days, so isUTCDateTime, which the contract lists for the route, is sent
// as false.
func (c *Client) Bookings(ctx context.Context, roomID workplace.RoomID, from, to workplace.Date) ([]workplace.Booking, error) {
	if err := checkWindow(from, to); err != nil {
		return nil, err
	}
	q := idParam(url.Values{}, "roomId", roomID)
	q.Set("startDate", from.String())
	q.Set("endDate", to.String())
	q.Set("isUTCDateTime", "false")
	var resp struct {
		Bookings []wireBooking `json:"bookings"`
	}
	if err := c.do(ctx, get(ProductExternalBookings, "/bookings", "/bookings", q), &resp); err != nil {
		return nil, err
	}
	out := make([]workplace.Booking, 0, len(resp.Bookings))
	for _, w := range resp.Bookings {
		b, err := c.booking("/bookings", w)
		if err != nil {
			return nil, err
		}
		out = append(out, b)
	}
	return out, nil
}

func bookingPath(id workplace.BookingID) string {
	return "/bookings/" + strconv.FormatInt(int64(id), 10)
}

// Booking implements workplace.Bookings. The upstream answers an unknown id
// with 400 "Booking Id does not exist." [C], which Error maps to NOT_FOUND.
func (c *Client) Booking(ctx context.Context, id workplace.BookingID) (workplace.Booking, error) {
	var w wireBooking
	if err := c.do(ctx, get(ProductExternalBookings, "/bookings/{id}", bookingPath(id), nil), &w); err != nil {
		return workplace.Booking{}, err
	}
	return c.booking("/bookings/{id}", w)
}

type wireAttendee struct {
	RoomID       int64  `json:"roomId"`
	FirstName    string `json:"firstName"`
	LastName     string `json:"lastName"`
	Email        string `json:"email"`
	AttendeeType int    `json:"attendeeType"`
}

type wireNewBooking struct {
	UserID            int64          `json:"userId"`
	RoomID            int64          `json:"roomId"`
	StartDateTime     string         `json:"startDateTime"`
	EndDateTime       string         `json:"endDateTime"`
	MeetingTitle      string         `json:"meetingTitle"`
	BookingSource     *int64         `json:"bookingSource,omitempty"`
	SetDefaultStyle   bool           `json:"setDefaultStyle"`
	NumberOfAttendees int            `json:"numberOfAttendees"`
	Attendees         []wireAttendee `json:"attendees"`
}

// utcQuery is the flag that makes every request time UTC.
func utcQuery() url.Values { return url.Values{"isUTCDateTime": {"true"}} }

// bookingSource encodes workplace's string source as the upstream's number.
// [X] The contract does not type bookingSource; the simulator reads an
// integer, so a non-numeric source is left out and the upstream records its
// default.
func bookingSource(s string) *int64 {
	n, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64)
	if err != nil {
		return nil
	}
	return &n
}

// CreateBooking implements workplace.Bookings. A clash answers 409, which
// Error maps to CONFLICT. [X] setDefaultStyle is sent true (the room's
// default layout), as the domain has no setup style.
func (c *Client) CreateBooking(ctx context.Context, nb workplace.NewBooking) (workplace.BookingID, error) {
	if nb.Start.IsZero() || nb.End.IsZero() {
		return 0, workplace.Errorf(workplace.EINVALID, "A booking needs a start and an end.")
	}
	body := wireNewBooking{
		UserID: int64(nb.UserID), RoomID: int64(nb.RoomID),
		StartDateTime: utcParam(nb.Start), EndDateTime: utcParam(nb.End),
		MeetingTitle: nb.Title, BookingSource: bookingSource(nb.Source), SetDefaultStyle: true,
		NumberOfAttendees: nb.NumberOfAttendees, Attendees: []wireAttendee{},
	}
	for _, a := range nb.Attendees {
		body.Attendees = append(body.Attendees, wireAttendee{RoomID: int64(nb.RoomID), FirstName: a.FirstName, LastName: a.LastName, Email: a.Email, AttendeeType: a.Type})
	}
	if body.NumberOfAttendees == 0 {
		body.NumberOfAttendees = len(nb.Attendees)
	}
	var resp struct {
		BookingID flexInt `json:"bookingId"`
	}
	if err := c.do(ctx, send(ProductExternalBookings, http.MethodPost, "/bookings", "/bookings", utcQuery(), body), &resp); err != nil {
		return 0, err
	}
	return workplace.BookingID(resp.BookingID), nil
}

type wireBookingDetails struct {
	RoomID       int64  `json:"roomId,omitempty"`
	StartDate    string `json:"startDate,omitempty"`
	EndDate      string `json:"endDate,omitempty"`
	MeetingTitle string `json:"meetingTitle,omitempty"`
}

// UpdateBooking implements workplace.Bookings: zero fields of the change are
// left out of the request, so the upstream keeps their values.
func (c *Client) UpdateBooking(ctx context.Context, id workplace.BookingID, ch workplace.BookingChange) (workplace.Booking, error) {
	d := wireBookingDetails{RoomID: int64(ch.RoomID), MeetingTitle: ch.Title}
	if !ch.Start.IsZero() {
		d.StartDate = utcParam(ch.Start)
	}
	if !ch.End.IsZero() {
		d.EndDate = utcParam(ch.End)
	}
	body := struct {
		BookingDetails wireBookingDetails `json:"bookingDetails"`
		UserID         int64              `json:"userId"`
	}{d, int64(ch.UserID)}
	var w wireBooking
	if err := c.do(ctx, send(ProductExternalBookings, http.MethodPut, "/bookings/{id}", bookingPath(id), utcQuery(), body), &w); err != nil {
		return workplace.Booking{}, err
	}
	return c.booking("/bookings/{id}", w)
}

// ProgressMeeting implements workplace.Bookings ("UpdateMeeting_V1" [C]).
func (c *Client) ProgressMeeting(ctx context.Context, id workplace.BookingID, userID workplace.UserID, action workplace.MeetingAction, extendMinutes int) error {
	switch action {
	case workplace.MeetingStart, workplace.MeetingEnd:
		extendMinutes = 0
	case workplace.MeetingExtend:
		if extendMinutes <= 0 {
			return workplace.Errorf(workplace.EINVALID, "Extending a meeting needs a positive number of minutes.")
		}
	default:
		return workplace.Errorf(workplace.EINVALID, "Unknown meeting action %d.", action)
	}
	body := struct {
		UserID          int64 `json:"userId"`
		BookingID       int64 `json:"bookingId"`
		ActionType      int   `json:"actionType"`
		ExtendByMinutes int   `json:"extendByMinutes,omitempty"`
	}{int64(userID), int64(id), int(action), extendMinutes}
	return c.do(ctx, send(ProductExternalBookings, http.MethodPut, "/bookings/{id}", bookingPath(id), nil, body), nil)
}

// CancelBooking implements workplace.Bookings. The id travels in the body of
// the DELETE [C].
func (c *Client) CancelBooking(ctx context.Context, id workplace.BookingID, userID workplace.UserID) error {
	body := struct {
		BookingID int64 `json:"bookingId"`
		UserID    int64 `json:"userId"`
	}{int64(id), int64(userID)}
	return c.do(ctx, send(ProductExternalBookings, http.MethodDelete, "/bookings", "/bookings", nil, body), nil)
}

type wireFreeSlot struct {
	StartDateTime    wireTime `json:"startDateTime"`
	EndDateTime      wireTime `json:"endDateTime"`
	StartDateTimeUTC wireTime `json:"startDateTimeUTC"`
	EndDateTimeUTC   wireTime `json:"endDateTimeUTC"`
}

type wireFreePeriod struct {
	LocationID      flexInt        `json:"locationID"`
	FloorNumber     flexInt        `json:"floorNumber"`
	ResourceID      flexInt        `json:"resourceID"`
	WorkspaceTypeID flexInt        `json:"workspaceTypeId"`
	FreePeriodSlots []wireFreeSlot `json:"freePeriodSlots"`
}

// FreeSlots implements workplace.Bookings. Slot instants come from their UTC
// twins; they are shown in the location's zone, which the answer does not
// carry, so it comes from the client's location zone cache (one GET
// /locations per client, reused).
func (c *Client) FreeSlots(ctx context.Context, fq workplace.FreeSlotQuery) ([]workplace.ResourceFreeSlots, error) {
	if fq.From.IsZero() || fq.To.IsZero() {
		return nil, workplace.Errorf(workplace.EINVALID, "Free slots need a start and an end.")
	}
	q := idParam(utcQuery(), "locationId", fq.LocationID)
	q.Set("startDateTime", utcParam(fq.From))
	q.Set("endDateTime", utcParam(fq.To))
	if fq.Floor != nil {
		q.Set("floorNumber", strconv.Itoa(*fq.Floor))
	}
	if fq.WorkspaceType != 0 {
		q.Set("resourceType", strconv.Itoa(int(fq.WorkspaceType)))
	}
	var resp struct {
		FreePeriod []wireFreePeriod `json:"freePeriod"`
	}
	if err := c.do(ctx, get(ProductExternalBookings, "/bookings/freeslots", "/bookings/freeslots", q), &resp); err != nil {
		return nil, err
	}
	if len(resp.FreePeriod) == 0 {
		return []workplace.ResourceFreeSlots{}, nil
	}
	loc, err := c.locZones.zone(ctx, fq.LocationID)
	if err != nil {
		return nil, err
	}
	out := make([]workplace.ResourceFreeSlots, 0, len(resp.FreePeriod))
	for _, p := range resp.FreePeriod {
		r := workplace.ResourceFreeSlots{
			LocationID: workplace.LocationID(p.LocationID), Floor: int(p.FloorNumber),
			ResourceID: int64(p.ResourceID), WorkspaceType: workplace.WorkspaceType(p.WorkspaceTypeID),
		}
		if r.LocationID == 0 {
			r.LocationID = fq.LocationID
		}
		for _, s := range p.FreePeriodSlots {
			var slot workplace.TimeSlot
			slot.Start, err = pickTime(s.StartDateTimeUTC, s.StartDateTime, loc)
			if err == nil {
				slot.End, err = pickTime(s.EndDateTimeUTC, s.EndDateTime, loc)
			}
			if err != nil {
				return nil, &Error{Product: ProductExternalBookings, Method: http.MethodGet, Route: "/bookings/freeslots", Message: err.Error(), kind: kindDecode}
			}
			r.Slots = append(r.Slots, slot)
		}
		out = append(out, r)
	}
	return out, nil
}

type wireAvailableRoom struct {
	RoomID         flexInt   `json:"roomId"`
	RoomName       string    `json:"roomName"`
	MaxCapacity    flexInt   `json:"maxCapacity"`
	FloorNumber    flexInt   `json:"floorNumber"`
	LocationID     flexInt   `json:"locationId"`
	RoomAttributes []flexInt `json:"roomAttributes"`
}

// AvailableRooms implements workplace.Bookings.
func (c *Client) AvailableRooms(ctx context.Context, aq workplace.AvailableRoomsQuery) ([]workplace.AvailableRoom, error) {
	if aq.From.IsZero() || aq.To.IsZero() {
		return nil, workplace.Errorf(workplace.EINVALID, "Available rooms need a start and an end.")
	}
	q := idParam(utcQuery(), "locationID", aq.LocationID)
	q.Set("startDateTime", utcParam(aq.From))
	q.Set("endDateTime", utcParam(aq.To))
	idParam(q, "groupID", aq.GroupID)
	if len(aq.Attributes) > 0 {
		parts := make([]string, len(aq.Attributes))
		for i, a := range aq.Attributes {
			parts[i] = strconv.Itoa(a)
		}
		q.Set("roomAttributes", strings.Join(parts, ","))
	}
	q.Set("workSpaceTypeId", strconv.Itoa(int(workplace.WorkspaceRoom)))
	var resp struct {
		AvailableRooms []wireAvailableRoom `json:"availableRooms"`
	}
	if err := c.do(ctx, get(ProductExternalBookings, "/bookings/availableRooms", "/bookings/availableRooms", q), &resp); err != nil {
		return nil, err
	}
	out := make([]workplace.AvailableRoom, len(resp.AvailableRooms))
	for i, w := range resp.AvailableRooms {
		out[i] = workplace.AvailableRoom{
			RoomID: workplace.RoomID(w.RoomID), Name: w.RoomName, Capacity: int(w.MaxCapacity),
			Floor: int(w.FloorNumber), LocationID: workplace.LocationID(w.LocationID), Attributes: ints[int](w.RoomAttributes),
		}
		if out[i].LocationID == 0 { // [X] locationId is not a confirmed field
			out[i].LocationID = aq.LocationID
		}
	}
	return out, nil
}
