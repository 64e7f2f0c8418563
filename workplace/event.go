package workplace

import "time"

// ChangeKind says which kind of entity a change is about; each is one of the
// gateway's subscriptions.
type ChangeKind string

// Change kinds.
const (
	KindBooking     ChangeKind = "booking"
	KindDeskBooking ChangeKind = "deskBooking"
	KindResource    ChangeKind = "resource"
	KindVisitor     ChangeKind = "visitor"
)

// ChangeAction says what happened.
type ChangeAction string

// Change actions, across kinds.
const (
	ActionCreated    ChangeAction = "CREATED"
	ActionUpdated    ChangeAction = "UPDATED"
	ActionDeleted    ChangeAction = "DELETED"
	ActionStarted    ChangeAction = "STARTED"
	ActionEnded      ChangeAction = "ENDED"
	ActionExtended   ChangeAction = "EXTENDED"
	ActionCheckedIn  ChangeAction = "CHECKED_IN"
	ActionReleased   ChangeAction = "RELEASED"
	ActionArrived    ChangeAction = "ARRIVED"
	ActionUnarrived  ChangeAction = "UNARRIVED"
	ActionDeparted   ChangeAction = "DEPARTED"
	ActionUndeparted ChangeAction = "UNDEPARTED"
)

// ChangeSource says where a change was made.
type ChangeSource string

// Change sources, as the upstream's ActionSource tells them.
const (
	SourceWeb      ChangeSource = "WEB"
	SourceExternal ChangeSource = "EXTERNAL"
	SourceUnknown  ChangeSource = "UNKNOWN"
)

// Change is one thing that changed upstream, as a notification announced it
// (or as the gateway itself made it). Notifications carry ids only: a
// receiver re-reads what it needs. Fields that do not apply to the kind, or
// that the notification did not carry, are zero.
type Change struct {
	Kind   ChangeKind
	Action ChangeAction
	Source ChangeSource
	// At is when the gateway learned of the change.
	At time.Time

	BookingID     BookingID
	DeskBookingID DeskBookingID
	VisitorID     VisitorID
	// RoomID is the booked room; for a moved booking, one change is
	// announced for the old room and one for the new.
	RoomID RoomID
	DeskID DeskID
	// ResourceID and WorkspaceType name a changed room or desk.
	ResourceID    int64
	WorkspaceType WorkspaceType
	// LocationID is known for resource and visitor changes; booking changes
	// do not carry it.
	LocationID LocationID
	Floor      int
	// Date is the local day the change falls on (the booking's date, the
	// desk booking's date, the visit's date); zero when not announced.
	Date Date
	// NewEnd is a meeting's new end, for an extension.
	NewEnd time.Time
}
