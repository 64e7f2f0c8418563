package webhook

// This file decodes the six notification bodies of the contract's section 6
// into workplace.Change values. The bodies carry no type field and their
// field casing drifts between services (BookingID and BookingId, UpdatedTime
// and UpdateTime), so each service has its own decoder, field names match
// case-insensitively (encoding/json's rule), and a body of the wrong service
// is rejected by the fields it lacks, with a hint at what it looks like.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// Service is one notification service the gateway listens to: the path
// segment its listener is registered under and the upstream's event type.
type Service struct {
	Path      string
	EventType workplace.EventType
}

// Path segments of the six advertised services.
const (
	PathMeetingExternal    = "meeting-external"
	PathMeetingProgression = "meeting-progression"
	PathDesk               = "desk"
	PathDeskProgression    = "desk-progression"
	PathResource           = "resource"
	PathVisitor            = "visitor"
)

// Services lists the six advertised services (event types 3, 5, 2, 6, 7,
// 8; Meeting 1 and IPPhone 4 are never sent), for registering listeners.
func Services() []Service {
	out := make([]Service, 0, 6)
	for _, s := range services() {
		out = append(out, s.Service)
	}
	return out
}

// service is a Service with its decoder.
type service struct {
	Service
	decode func(body []byte, at time.Time) ([]workplace.Change, error)
}

// services is built on each call rather than held in a package variable so
// no caller can change another's table.
func services() []service {
	return []service{
		{Service{PathMeetingExternal, workplace.EventMeetingExternal}, decodeMeetingExternal},
		{Service{PathMeetingProgression, workplace.EventMeetingProgression}, decodeMeetingProgression},
		{Service{PathDesk, workplace.EventDesk}, decodeDesk},
		{Service{PathDeskProgression, workplace.EventDeskProgression}, decodeDeskProgression},
		{Service{PathResource, workplace.EventResource}, decodeResource},
		{Service{PathVisitor, workplace.EventVisitor}, decodeVisitor},
	}
}

func lookup(path string) (service, bool) {
	for _, s := range services() {
		if s.Path == path {
			return s, true
		}
	}
	return service{}, false
}

// Wire items. Every field is a pointer so a missing field is told from a
// zero one: Action 0 means "deleted", and an absent ActionSource is
// UNKNOWN, not WEB. Tags are the contract's spelling; decoding matches them
// case-insensitively.
type (
	meetingDay struct {
		ChangedItems *[]json.RawMessage `json:"ChangedItems"`
	}
	meetingItem struct {
		Action         *wireInt `json:"Action"`
		BookingID      *wireInt `json:"BookingID"`
		ResourceItemID *wireInt `json:"ResourceItemID"`
	}
	meetingProgressionItem struct {
		BookingID                *wireInt  `json:"BookingId"`
		ResourceItemID           *wireInt  `json:"ResourceItemId"`
		UpdatedTime              *wireTime `json:"UpdatedTime"`
		MeetingProgressionAction *wireInt  `json:"MeetingProgressionAction"`
		ActionSource             *wireInt  `json:"ActionSource"`
	}
	deskItem struct {
		Date           *wireTime `json:"Date"`
		BookingID      *wireInt  `json:"BookingID"`
		ResourceItemID *wireInt  `json:"ResourceItemID"`
		Action         *wireInt  `json:"Action"`
	}
	deskProgressionItem struct {
		BookingID             *wireInt  `json:"BookingId"`
		ResourceItemID        *wireInt  `json:"ResourceItemId"`
		UpdateTime            *wireTime `json:"UpdateTime"`
		DeskProgressionAction *wireInt  `json:"DeskProgressionAction"`
		ActionSource          *wireInt  `json:"ActionSource"`
	}
	resourceItem struct {
		ResourceItemID  *wireInt `json:"ResourceItemID"`
		WorkspaceTypeID *wireInt `json:"WorkspaceTypeId"`
		LocationID      *wireInt `json:"LocationId"`
		FloorNumber     *wireInt `json:"FloorNumber"`
		Action          *wireInt `json:"Action"`
	}
	visitorItem struct {
		VisitorID     *wireInt  `json:"VisitorId"`
		BookingID     *wireInt  `json:"BookingId"`
		LocationID    *wireInt  `json:"LocationId"`
		VisitDate     *wireTime `json:"VisitDate"`
		VisitorAction *wireInt  `json:"VisitorAction"`
	}
)

// decodeMeetingExternal reads the Meeting External body (event type 3): an
// object keyed by booking date whose values hold ChangedItems. Its Action
// 1 means "created or updated": the body cannot tell which, so both become
// UPDATED, and a receiver re-reads the booking. Days come out in date order
// (the object's order carries no meaning).
func decodeMeetingExternal(body []byte, at time.Time) ([]workplace.Change, error) {
	const svc = PathMeetingExternal
	if err := expect(svc, body, '{'); err != nil {
		return nil, err
	}
	var days map[string]json.RawMessage
	if err := json.Unmarshal(body, &days); err != nil {
		return nil, fmt.Errorf("%s body: %w", svc, err)
	}
	type day struct {
		key  string
		date workplace.Date
		raw  json.RawMessage
	}
	ordered := make([]day, 0, len(days))
	for k, raw := range days {
		t, err := parseTime(k)
		if err != nil {
			return nil, fmt.Errorf("%s body: key %q is not a booking date (the body must be an object keyed by date)", svc, clip(k))
		}
		ordered = append(ordered, day{k, dateOf(t), raw})
	}
	slices.SortFunc(ordered, func(a, b day) int {
		if a.date != b.date {
			if a.date.Before(b.date) {
				return -1
			}
			return 1
		}
		return strings.Compare(a.key, b.key)
	})
	var out []workplace.Change
	for _, d := range ordered {
		where := fmt.Sprintf("%s body: day %q", svc, clip(d.key))
		if !startsWith(d.raw, '{') {
			return nil, fmt.Errorf("%s: must be an object holding ChangedItems", where)
		}
		var v meetingDay
		if err := json.Unmarshal(d.raw, &v); err != nil {
			return nil, fmt.Errorf("%s: %w", where, err)
		}
		if v.ChangedItems == nil {
			return nil, fmt.Errorf("%s: ChangedItems is missing", where)
		}
		for i, raw := range *v.ChangedItems {
			var it meetingItem
			if err := item(raw, &it); err != nil {
				return nil, fmt.Errorf("%s: item %d: %w", where, i, err)
			}
			c, err := it.change(d.date, at)
			if err != nil {
				return nil, fmt.Errorf("%s: item %d: %w", where, i, err)
			}
			out = append(out, c)
		}
	}
	return nonEmpty(svc, out)
}

func (it meetingItem) change(date workplace.Date, at time.Time) (workplace.Change, error) {
	booking, err := requireID("BookingID", it.BookingID)
	if err != nil {
		return workplace.Change{}, err
	}
	room, err := requireID("ResourceItemID", it.ResourceItemID)
	if err != nil {
		return workplace.Change{}, err
	}
	action, err := requireAction("Action", it.Action, meetingExternalActions())
	if err != nil {
		return workplace.Change{}, err
	}
	return workplace.Change{Kind: workplace.KindBooking, Action: action, Source: workplace.SourceUnknown, At: at,
		BookingID: workplace.BookingID(booking), RoomID: workplace.RoomID(room), Date: date}, nil
}

// decodeMeetingProgression reads the MeetingProgression body (event type
// 5). UpdatedTime, the new end of an extension, is a wall clock local to the
// room's location with no offset; NewEnd holds that wall clock with
// time.UTC as its location (or with the offset, when one is sent), since the
// body does not name the zone. A receiver that needs the instant re-reads
// the booking.
func decodeMeetingProgression(body []byte, at time.Time) ([]workplace.Change, error) {
	return decodeArray(PathMeetingProgression, body, func(it *meetingProgressionItem) (workplace.Change, error) {
		booking, err := requireID("BookingId", it.BookingID)
		if err != nil {
			return workplace.Change{}, err
		}
		room, err := requireID("ResourceItemId", it.ResourceItemID)
		if err != nil {
			return workplace.Change{}, err
		}
		action, err := requireAction("MeetingProgressionAction", it.MeetingProgressionAction, meetingProgressionActions())
		if err != nil {
			return workplace.Change{}, err
		}
		c := workplace.Change{Kind: workplace.KindBooking, Action: action, Source: source(it.ActionSource), At: at,
			BookingID: workplace.BookingID(booking), RoomID: workplace.RoomID(room)}
		if action == workplace.ActionExtended && it.UpdatedTime != nil {
			c.NewEnd = time.Time(*it.UpdatedTime)
		}
		return c, nil
	})
}

// decodeDesk reads the Desk body (event type 2). The contract gives no
// Action numbers for it; the simulator sends the Meeting External ones (0
// deleted, 1 created or updated), and so they are read here. [X]
func decodeDesk(body []byte, at time.Time) ([]workplace.Change, error) {
	return decodeArray(PathDesk, body, func(it *deskItem) (workplace.Change, error) {
		if it.Date == nil {
			return workplace.Change{}, errors.New("Date is missing")
		}
		booking, err := requireID("BookingID", it.BookingID)
		if err != nil {
			return workplace.Change{}, err
		}
		desk, err := requireID("ResourceItemID", it.ResourceItemID)
		if err != nil {
			return workplace.Change{}, err
		}
		action, err := requireAction("Action", it.Action, deskActions())
		if err != nil {
			return workplace.Change{}, err
		}
		return workplace.Change{Kind: workplace.KindDeskBooking, Action: action, Source: workplace.SourceUnknown, At: at,
			DeskBookingID: workplace.DeskBookingID(booking), DeskID: workplace.DeskID(desk), Date: dateOf(time.Time(*it.Date))}, nil
	})
}

// decodeDeskProgression reads the DeskProgression body (event type 6; note
// UpdateTime, not MeetingProgression's UpdatedTime). An extension becomes
// UPDATED, as desk bookings have no EXTENDED in the schema; its new end, if
// sent, is kept in NewEnd.
func decodeDeskProgression(body []byte, at time.Time) ([]workplace.Change, error) {
	return decodeArray(PathDeskProgression, body, func(it *deskProgressionItem) (workplace.Change, error) {
		booking, err := requireID("BookingId", it.BookingID)
		if err != nil {
			return workplace.Change{}, err
		}
		desk, err := requireID("ResourceItemId", it.ResourceItemID)
		if err != nil {
			return workplace.Change{}, err
		}
		action, err := requireAction("DeskProgressionAction", it.DeskProgressionAction, deskProgressionActions())
		if err != nil {
			return workplace.Change{}, err
		}
		c := workplace.Change{Kind: workplace.KindDeskBooking, Action: action, Source: source(it.ActionSource), At: at,
			DeskBookingID: workplace.DeskBookingID(booking), DeskID: workplace.DeskID(desk)}
		if *it.DeskProgressionAction == deskProgressionExtend && it.UpdateTime != nil {
			c.NewEnd = time.Time(*it.UpdateTime)
		}
		return c, nil
	})
}

// decodeResource reads the Resource body (event type 7). WorkspaceTypeId is
// required: without it a room cannot be told from a desk.
func decodeResource(body []byte, at time.Time) ([]workplace.Change, error) {
	return decodeArray(PathResource, body, func(it *resourceItem) (workplace.Change, error) {
		id, err := requireID("ResourceItemID", it.ResourceItemID)
		if err != nil {
			return workplace.Change{}, err
		}
		if it.WorkspaceTypeID == nil {
			return workplace.Change{}, errors.New("WorkspaceTypeId is missing")
		}
		action, err := requireAction("Action", it.Action, resourceActions())
		if err != nil {
			return workplace.Change{}, err
		}
		return workplace.Change{Kind: workplace.KindResource, Action: action, Source: workplace.SourceUnknown, At: at,
			ResourceID: id, WorkspaceType: workplace.WorkspaceType(*it.WorkspaceTypeID),
			LocationID: workplace.LocationID(optional(it.LocationID)), Floor: int(optional(it.FloorNumber))}, nil
	})
}

// decodeVisitor reads the Visitor body (event type 8). BookingId 0 means a
// visit without a meeting; the Date is VisitDate's day, local to the
// location.
func decodeVisitor(body []byte, at time.Time) ([]workplace.Change, error) {
	return decodeArray(PathVisitor, body, func(it *visitorItem) (workplace.Change, error) {
		id, err := requireID("VisitorId", it.VisitorID)
		if err != nil {
			return workplace.Change{}, err
		}
		action, err := requireAction("VisitorAction", it.VisitorAction, visitorActions())
		if err != nil {
			return workplace.Change{}, err
		}
		c := workplace.Change{Kind: workplace.KindVisitor, Action: action, Source: workplace.SourceUnknown, At: at,
			VisitorID: workplace.VisitorID(id), BookingID: workplace.BookingID(optional(it.BookingID)),
			LocationID: workplace.LocationID(optional(it.LocationID))}
		if it.VisitDate != nil {
			c.Date = dateOf(time.Time(*it.VisitDate))
		}
		return c, nil
	})
}

// Action tables, by service. They are functions, not variables, so nothing
// can change them at run time.

func meetingExternalActions() map[int64]workplace.ChangeAction {
	return map[int64]workplace.ChangeAction{0: workplace.ActionDeleted, 1: workplace.ActionUpdated}
}

func meetingProgressionActions() map[int64]workplace.ChangeAction {
	return map[int64]workplace.ChangeAction{0: workplace.ActionStarted, 1: workplace.ActionEnded, 2: workplace.ActionExtended}
}

func deskActions() map[int64]workplace.ChangeAction {
	return map[int64]workplace.ChangeAction{0: workplace.ActionDeleted, 1: workplace.ActionUpdated}
}

// deskProgressionExtend is the DeskProgressionAction of an extension.
const deskProgressionExtend = 2

func deskProgressionActions() map[int64]workplace.ChangeAction {
	return map[int64]workplace.ChangeAction{0: workplace.ActionCheckedIn, 1: workplace.ActionReleased, deskProgressionExtend: workplace.ActionUpdated}
}

func resourceActions() map[int64]workplace.ChangeAction {
	return map[int64]workplace.ChangeAction{0: workplace.ActionDeleted, 1: workplace.ActionCreated, 2: workplace.ActionUpdated}
}

func visitorActions() map[int64]workplace.ChangeAction {
	return map[int64]workplace.ChangeAction{
		0: workplace.ActionCreated, 1: workplace.ActionUpdated, 2: workplace.ActionDeleted,
		3: workplace.ActionArrived, 4: workplace.ActionUnarrived, 5: workplace.ActionDeparted, 6: workplace.ActionUndeparted,
	}
}

// source reads ActionSource: 0 is the web app, 1 an API client; a body
// without it (or with a number the contract does not list) is UNKNOWN.
func source(n *wireInt) workplace.ChangeSource {
	switch {
	case n == nil:
		return workplace.SourceUnknown
	case *n == 0:
		return workplace.SourceWeb
	case *n == 1:
		return workplace.SourceExternal
	default:
		return workplace.SourceUnknown
	}
}

// decodeArray reads a body that is a JSON array of items of type T, turning
// each into a Change. T is one of the wire item structs.
func decodeArray[T any](svc string, body []byte, change func(*T) (workplace.Change, error)) ([]workplace.Change, error) {
	if err := expect(svc, body, '['); err != nil {
		return nil, err
	}
	var items []json.RawMessage
	if err := json.Unmarshal(body, &items); err != nil {
		return nil, fmt.Errorf("%s body: %w", svc, err)
	}
	out := make([]workplace.Change, 0, len(items))
	for i, raw := range items {
		var it T
		if err := item(raw, &it); err != nil {
			return nil, fmt.Errorf("%s body: item %d: %w", svc, i, err)
		}
		c, err := change(&it)
		if err != nil {
			if guess := guessArrayItem(raw); guess != "" && guess != svc {
				return nil, fmt.Errorf("%s body: item %d: %w (it looks like a %s notification)", svc, i, err, guess)
			}
			return nil, fmt.Errorf("%s body: item %d: %w", svc, i, err)
		}
		out = append(out, c)
	}
	return nonEmpty(svc, out)
}

// expect checks the body is valid JSON whose top level opens with open ('{'
// or '['), and says what the body looks like when it does not.
func expect(svc string, body []byte, open byte) error {
	if !json.Valid(body) {
		return errors.New("the body is not valid JSON")
	}
	if startsWith(body, open) {
		return nil
	}
	want := "an array of changes"
	if open == '{' {
		want = "an object keyed by booking date"
	}
	msg := fmt.Sprintf("%s body: must be %s, got %s", svc, want, kindOf(body))
	if guess := guessBody(body); guess != "" {
		msg += fmt.Sprintf(" (it looks like a %s notification)", guess)
	}
	return errors.New(msg)
}

// item decodes one array item, which must be a JSON object.
func item(raw json.RawMessage, v any) error {
	if !startsWith(raw, '{') {
		return fmt.Errorf("must be an object, got %s", kindOf(raw))
	}
	return json.Unmarshal(raw, v)
}

// nonEmpty refuses a batch with no changes: the upstream never sends one,
// so such a body is not a notification.
func nonEmpty(svc string, out []workplace.Change) ([]workplace.Change, error) {
	if len(out) == 0 {
		return nil, fmt.Errorf("%s body: holds no changes", svc)
	}
	return out, nil
}

// guessBody names the service whose shape body has, or "".
func guessBody(body []byte) string {
	switch {
	case startsWith(body, '['):
		var items []json.RawMessage
		if json.Unmarshal(body, &items) != nil || len(items) == 0 {
			return ""
		}
		return guessArrayItem(items[0])
	case startsWith(body, '{'):
		var obj map[string]json.RawMessage
		if json.Unmarshal(body, &obj) != nil {
			return ""
		}
		for _, v := range obj {
			if hasKey(v, "ChangedItems") {
				return PathMeetingExternal
			}
		}
	}
	return ""
}

// guessArrayItem names the service whose array items look like raw, by
// the fields only that service sends, or "".
func guessArrayItem(raw json.RawMessage) string {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return ""
	}
	has := func(name string) bool {
		for k := range obj {
			if strings.EqualFold(k, name) {
				return true
			}
		}
		return false
	}
	switch {
	case has("MeetingProgressionAction") || has("UpdatedTime"):
		return PathMeetingProgression
	case has("DeskProgressionAction") || has("UpdateTime"):
		return PathDeskProgression
	case has("VisitorAction") || has("VisitorId"):
		return PathVisitor
	case has("WorkspaceTypeId"):
		return PathResource
	case has("UntilFurtherNotice") || (has("Date") && has("Action")):
		return PathDesk
	}
	return ""
}

func hasKey(raw json.RawMessage, name string) bool {
	var obj map[string]json.RawMessage
	if json.Unmarshal(raw, &obj) != nil {
		return false
	}
	for k := range obj {
		if strings.EqualFold(k, name) {
			return true
		}
	}
	return false
}

func startsWith(b []byte, c byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == c
}

// kindOf names the JSON type of a valid value, for error messages.
func kindOf(b []byte) string {
	b = bytes.TrimLeft(b, " \t\r\n")
	if len(b) == 0 {
		return "nothing"
	}
	switch b[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 'n':
		return "null"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

// requireID returns a required id, which must be positive.
func requireID(name string, v *wireInt) (int64, error) {
	switch {
	case v == nil:
		return 0, fmt.Errorf("%s is missing", name)
	case *v <= 0:
		return 0, fmt.Errorf("%s %d is not an id", name, *v)
	}
	return int64(*v), nil
}

// requireAction maps a required action number through table. An unknown
// number is refused rather than guessed at: a guess would publish a wrong
// event, and the refusal shows in the upstream's delivery log. [X]
func requireAction(name string, v *wireInt, table map[int64]workplace.ChangeAction) (workplace.ChangeAction, error) {
	if v == nil {
		return "", fmt.Errorf("%s is missing", name)
	}
	a, ok := table[int64(*v)]
	if !ok {
		known := make([]int64, 0, len(table))
		for k := range table {
			known = append(known, k)
		}
		slices.Sort(known)
		return "", fmt.Errorf("%s %d is not one of %v", name, *v, known)
	}
	return a, nil
}

func optional(v *wireInt) int64 {
	if v == nil {
		return 0
	}
	return int64(*v)
}

// wireInt is an integer sent as a JSON number or, defensively, as a string
// of digits (the upstream's other routes drift so). [X]
type wireInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *wireInt) UnmarshalJSON(b []byte) error {
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return fmt.Errorf("%.40s is not an integer", string(b))
	}
	*n = wireInt(v)
	return nil
}

// wireTime is a date-time as the upstream sends it: local to a location,
// without an offset ("2019-08-28T09:30:00"), where "0001-01-01T00:00:00"
// means no value and reads as the zero time.
type wireTime time.Time

// UnmarshalJSON implements json.Unmarshaler.
func (t *wireTime) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("%.40s is not a date-time string", string(b))
	}
	v, err := parseTime(s)
	if err != nil {
		return err
	}
	*t = wireTime(v)
	return nil
}

// parseTime reads the date-time forms the upstream uses; a string with an
// offset keeps it, one without reads as UTC (its wall clock is local to a
// location the body does not name).
func parseTime(s string) (time.Time, error) {
	s = strings.TrimSpace(s)
	for _, layout := range []string{"2006-01-02T15:04:05", time.RFC3339, "2006-01-02 15:04:05", time.DateOnly} {
		if t, err := time.Parse(layout, s); err == nil {
			if t.Year() == 1 && t.Month() == time.January && t.Day() == 1 {
				return time.Time{}, nil
			}
			return t, nil
		}
	}
	return time.Time{}, fmt.Errorf("%q is not a date-time", clip(s))
}

// dateOf is the day of t's wall clock, or the zero Date for the zero time.
func dateOf(t time.Time) workplace.Date {
	if t.IsZero() {
		return workplace.Date{}
	}
	return workplace.DateOf(t)
}
