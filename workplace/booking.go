package workplace

import "time"

// MeetingProgress is where a meeting stands.
type MeetingProgress int

// Meeting progress as the upstream numbers it.
const (
	MeetingNotStarted MeetingProgress = 0
	MeetingStarted    MeetingProgress = 1
	MeetingEnded      MeetingProgress = 2
)

// Booking is a meeting room booking. Times are in the location's zone.
type Booking struct {
	ID         BookingID
	RoomID     RoomID
	LocationID LocationID
	GroupID    GroupID
	Title      string
	Start      time.Time
	End        time.Time
	// ActualStart and ActualEnd are zero until the meeting starts or ends.
	ActualStart time.Time
	ActualEnd   time.Time
	Progress    MeetingProgress
	Private     bool
	Source      string
	Host        Person
	Requestor   Person
	Creator     Person
	CostCodeID  CostCodeID
	Notes       string
	CreatedAt   time.Time
	ModifiedAt  time.Time
	Deleted     bool

	// Setup and CleanDown are how long the room is held before Start to
	// set it up and after the end to clean it down (Engage's prepPeriod
	// and cleanDownPeriod): busy time no other booking may take, which
	// free slots and available rooms count. Zero when none.
	Setup     time.Duration
	CleanDown time.Duration
}

// Person is a user as a booking names them: the upstream gives a name and an
// email (and for hosts and requestors an id), not a full user record.
type Person struct {
	ID    UserID
	Name  string
	Email string
}

// Attendee is someone invited to a new booking.
type Attendee struct {
	FirstName string
	LastName  string
	Email     string
	// Type is the upstream's attendeeType (1 internal, 2 external).
	Type int
}

// NewBooking is what it takes to book a room.
type NewBooking struct {
	UserID            UserID
	RoomID            RoomID
	Start             time.Time
	End               time.Time
	Title             string
	Source            string
	NumberOfAttendees int
	Attendees         []Attendee
}

// BookingChange edits a booking; zero fields keep their value.
type BookingChange struct {
	UserID UserID
	RoomID RoomID
	Start  time.Time
	End    time.Time
	Title  string
}

// MeetingAction moves a meeting along.
type MeetingAction int

// Meeting actions as the upstream numbers them.
const (
	MeetingStart  MeetingAction = 1
	MeetingEnd    MeetingAction = 2
	MeetingExtend MeetingAction = 3
)

// FreeSlotQuery asks for free periods of a location's workspaces.
type FreeSlotQuery struct {
	LocationID    LocationID
	From          time.Time
	To            time.Time
	Floor         *int
	WorkspaceType WorkspaceType
}

// ResourceFreeSlots lists the free periods of one workspace.
type ResourceFreeSlots struct {
	LocationID    LocationID
	Floor         int
	ResourceID    int64
	WorkspaceType WorkspaceType
	Slots         []TimeSlot
}

// TimeSlot is a period of time.
type TimeSlot struct {
	Start time.Time
	End   time.Time
}

// AvailableRoomsQuery asks which rooms are free for a whole period.
type AvailableRoomsQuery struct {
	LocationID LocationID
	From       time.Time
	To         time.Time
	GroupID    GroupID
	Attributes []int
}

// AvailableRoom is a room free for the asked period.
type AvailableRoom struct {
	RoomID     RoomID
	Name       string
	Capacity   int
	Floor      int
	LocationID LocationID
	Attributes []int
}

// DeskBookingType says which part of a day a desk booking covers.
type DeskBookingType int

// Desk booking types as the upstream numbers them.
const (
	DeskMorning   DeskBookingType = 1
	DeskAfternoon DeskBookingType = 2
	DeskAllDay    DeskBookingType = 3
)

// DeskBookingStatus is where a desk booking stands.
type DeskBookingStatus int

// Desk booking statuses.
const (
	DeskBooked    DeskBookingStatus = 0
	DeskCheckedIn DeskBookingStatus = 1
	DeskReleased  DeskBookingStatus = 2
)

// DeskBooking is one desk on one day.
type DeskBooking struct {
	ID     DeskBookingID
	DeskID DeskID
	// LocationID is the desk's location; the upstream's desk bookings do not
	// carry it, so whoever lists them by desk fills it in.
	LocationID         LocationID
	UserID             UserID
	Date               Date
	Type               DeskBookingType
	UntilFurtherNotice bool
	Status             DeskBookingStatus
}

// DeskDay is one day of a desk booking request.
type DeskDay struct {
	Date Date
	Type DeskBookingType
}

// NewDeskBooking books one desk for several days.
type NewDeskBooking struct {
	UserID UserID
	DeskID DeskID
	Source string
	Days   []DeskDay
}

// AvailableDesksQuery asks which desks are free on given days.
type AvailableDesksQuery struct {
	UserID     UserID
	LocationID LocationID
	GroupID    GroupID
	Days       []DeskDay
	PageNumber int
	PageSize   int
}

// AvailableDesk is a desk free on the asked days.
type AvailableDesk struct {
	DeskID     DeskID
	Name       string
	Attributes []int
	Floor      int
	GroupID    GroupID
}

// DeskAction moves a desk booking along.
type DeskAction int

// Desk actions as the upstream numbers them.
const (
	DeskCheckIn DeskAction = 1
	DeskRelease DeskAction = 2
)
