package workplace

import "time"

// VisitorStatus is where a visit stands.
type VisitorStatus int

// Visitor statuses as the upstream numbers them.
const (
	VisitorExpected VisitorStatus = 0
	VisitorArrived  VisitorStatus = 1
	VisitorDeparted VisitorStatus = 2
)

// Visitor is a guest expected at a location.
type Visitor struct {
	ID          VisitorID
	FirstName   string
	LastName    string
	Company     string
	Email       string
	Arrival     time.Time
	Departure   time.Time
	Status      VisitorStatus
	Host        Person
	LocationID  LocationID
	Floor       int
	RoomID      RoomID
	MeetingName string
	BookingID   BookingID
}

// NewVisitor registers a visitor, or (for an update) replaces its details.
type NewVisitor struct {
	FirstName      string
	LastName       string
	Company        string
	Email          string
	HostID         UserID
	HostEmail      string
	LocationID     LocationID
	Arrival        time.Time
	PassType       int
	NotifyByEmail  bool
	PurposeOfVisit string
	Floor          int
	BookingID      BookingID
}

// VisitorQuery lists visitors of one day.
type VisitorQuery struct {
	Date       Date
	Status     *VisitorStatus
	CountryID  CountryID
	RegionID   RegionID
	LocationID LocationID
	Floor      *int
	RoomID     RoomID
	HostEmail  string
	PageNumber int
	PageSize   int
}

// VisitorPage is one page of visitors and the total over all pages.
type VisitorPage struct {
	Visitors []Visitor
	Total    int
}

// VisitorAction changes a visitor's status.
type VisitorAction string

// Visitor actions as the upstream names them.
const (
	VisitorArrive   VisitorAction = "arrive"
	VisitorUnarrive VisitorAction = "unarrive"
	VisitorDepart   VisitorAction = "depart"
	VisitorUndepart VisitorAction = "undepart"
)

// CostCode is a code a booking's cost is charged to.
type CostCode struct {
	ID          CostCodeID
	Code        string
	Description string
	LocationID  LocationID
	Active      bool
}

// NewCostCode creates a cost code.
type NewCostCode struct {
	Code        string
	Description string
	LocationID  LocationID
	Active      bool
}

// Vendor sells services (catering, AV) at a location.
type Vendor struct {
	ID   VendorID
	Name string
	// LocationID is the location the vendor was listed for.
	LocationID LocationID
	Services   []VendorService
}

// VendorService is something a vendor sells, at a price.
type VendorService struct {
	ID ServiceID
	// LocationID is the location the service was listed for.
	LocationID LocationID
	Name       string
	Price      float64
	Currency   string
}

// ServiceOrder is a service ordered for a booking.
type ServiceOrder struct {
	ID        OrderID
	BookingID BookingID
	ServiceID ServiceID
	Quantity  int
	Status    string
}

// NewServiceOrder orders a service for a booking.
type NewServiceOrder struct {
	BookingID BookingID
	ServiceID ServiceID
	Quantity  int
	UserID    UserID
}

// EventType is the upstream's notification service number.
type EventType int

// Notification services as the upstream numbers them.
const (
	EventMeeting            EventType = 1
	EventDesk               EventType = 2
	EventMeetingExternal    EventType = 3
	EventIPPhone            EventType = 4
	EventMeetingProgression EventType = 5
	EventDeskProgression    EventType = 6
	EventResource           EventType = 7
	EventVisitor            EventType = 8
)

// Listener is a webhook registration with the upstream.
type Listener struct {
	ID              string
	EventTypes      []EventType
	NotificationURL string
}

// NewListener registers a webhook.
type NewListener struct {
	SecretKey       string
	EventTypes      []EventType
	NotificationURL string
}
