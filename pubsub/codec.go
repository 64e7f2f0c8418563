package pubsub

import (
	"encoding/json"
	"fmt"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// wireChange is workplace.Change as it crosses Redis. It is a separate type so
// the domain stays free of JSON tags and the format is fixed here: times are
// RFC 3339 with nanoseconds and their zone offset (the instant and the offset
// survive; a named location becomes a fixed zone), dates are YYYY-MM-DD, and
// zero fields are left out. Changing it incompatibly means a new stream key
// (DefaultChannel carries the version).
type wireChange struct {
	Kind          workplace.ChangeKind    `json:"kind"`
	Action        workplace.ChangeAction  `json:"action"`
	Source        workplace.ChangeSource  `json:"source,omitempty"`
	At            string                  `json:"at,omitempty"`
	BookingID     workplace.BookingID     `json:"bookingId,omitempty"`
	DeskBookingID workplace.DeskBookingID `json:"deskBookingId,omitempty"`
	VisitorID     workplace.VisitorID     `json:"visitorId,omitempty"`
	RoomID        workplace.RoomID        `json:"roomId,omitempty"`
	DeskID        workplace.DeskID        `json:"deskId,omitempty"`
	ResourceID    int64                   `json:"resourceId,omitempty"`
	WorkspaceType workplace.WorkspaceType `json:"workspaceType,omitempty"`
	LocationID    workplace.LocationID    `json:"locationId,omitempty"`
	Floor         int                     `json:"floor,omitempty"`
	Date          string                  `json:"date,omitempty"`
	NewEnd        string                  `json:"newEnd,omitempty"`
}

func encodeChange(c workplace.Change) ([]byte, error) {
	at, err := formatTime(c.At)
	if err != nil {
		return nil, fmt.Errorf("pubsub: encoding change at: %w", err)
	}
	newEnd, err := formatTime(c.NewEnd)
	if err != nil {
		return nil, fmt.Errorf("pubsub: encoding change newEnd: %w", err)
	}
	w := wireChange{
		Kind:          c.Kind,
		Action:        c.Action,
		Source:        c.Source,
		At:            at,
		BookingID:     c.BookingID,
		DeskBookingID: c.DeskBookingID,
		VisitorID:     c.VisitorID,
		RoomID:        c.RoomID,
		DeskID:        c.DeskID,
		ResourceID:    c.ResourceID,
		WorkspaceType: c.WorkspaceType,
		LocationID:    c.LocationID,
		Floor:         c.Floor,
		NewEnd:        newEnd,
	}
	if !c.Date.IsZero() {
		w.Date = c.Date.String()
		if d, err := workplace.ParseDate(w.Date); err != nil || d != c.Date {
			return nil, fmt.Errorf("pubsub: encoding change: %v is not a calendar day", c.Date)
		}
	}
	return json.Marshal(w)
}

func decodeChange(b []byte) (workplace.Change, error) {
	var w wireChange
	if err := json.Unmarshal(b, &w); err != nil {
		return workplace.Change{}, fmt.Errorf("pubsub: decoding change: %w", err)
	}
	c := workplace.Change{
		Kind:          w.Kind,
		Action:        w.Action,
		Source:        w.Source,
		BookingID:     w.BookingID,
		DeskBookingID: w.DeskBookingID,
		VisitorID:     w.VisitorID,
		RoomID:        w.RoomID,
		DeskID:        w.DeskID,
		ResourceID:    w.ResourceID,
		WorkspaceType: w.WorkspaceType,
		LocationID:    w.LocationID,
		Floor:         w.Floor,
	}
	var err error
	if c.At, err = parseTime(w.At); err != nil {
		return workplace.Change{}, fmt.Errorf("pubsub: decoding change at: %w", err)
	}
	if c.NewEnd, err = parseTime(w.NewEnd); err != nil {
		return workplace.Change{}, fmt.Errorf("pubsub: decoding change newEnd: %w", err)
	}
	if w.Date != "" {
		if c.Date, err = workplace.ParseDate(w.Date); err != nil {
			return workplace.Change{}, fmt.Errorf("pubsub: decoding change: %w", err)
		}
	}
	return c, nil
}

// formatTime leaves the zero time out and refuses years RFC 3339 cannot
// hold, which would otherwise encode but never decode.
func formatTime(t time.Time) (string, error) {
	if t.IsZero() {
		return "", nil
	}
	if y := t.Year(); y < 0 || y > 9999 {
		return "", fmt.Errorf("year %d outside RFC 3339", y)
	}
	return t.Format(time.RFC3339Nano), nil
}

func parseTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	return time.Parse(time.RFC3339Nano, s)
}
