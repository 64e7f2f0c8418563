package workplace

import "context"

// Hierarchy reads the location hierarchy and the people of a tenant.
type Hierarchy interface {
	Countries(ctx context.Context) ([]Country, error)
	// Regions lists the regions of a country. The upstream lists regions
	// by country only; AllRegions walks every country.
	Regions(ctx context.Context, countryID CountryID) ([]Region, error)
	// Locations lists the locations of a region. The upstream lists
	// locations by region only; AllLocations walks every region.
	Locations(ctx context.Context, regionID RegionID) ([]Location, error)
	// Groups lists the groups of a country.
	Groups(ctx context.Context, countryID CountryID) ([]Group, error)
	// Users lists users; with an email, only the user holding it.
	Users(ctx context.Context, email string) ([]User, error)
	// Rooms lists the meeting rooms of a location.
	Rooms(ctx context.Context, locationID LocationID) ([]Room, error)
	// Desks lists the desks of a location.
	Desks(ctx context.Context, locationID LocationID) ([]Desk, error)
	FloorPlan(ctx context.Context, q FloorPlanQuery) ([]FloorPlanItem, error)
}

// Bookings reads and changes meeting room bookings.
type Bookings interface {
	// Bookings lists a room's bookings on the days from..to, both inclusive,
	// at most MaxWindowDays days.
	Bookings(ctx context.Context, roomID RoomID, from, to Date) ([]Booking, error)
	Booking(ctx context.Context, id BookingID) (Booking, error)
	CreateBooking(ctx context.Context, b NewBooking) (BookingID, error)
	UpdateBooking(ctx context.Context, id BookingID, c BookingChange) (Booking, error)
	// ProgressMeeting starts, ends or extends a meeting; extendMinutes is
	// used only with MeetingExtend.
	ProgressMeeting(ctx context.Context, id BookingID, userID UserID, action MeetingAction, extendMinutes int) error
	CancelBooking(ctx context.Context, id BookingID, userID UserID) error
	FreeSlots(ctx context.Context, q FreeSlotQuery) ([]ResourceFreeSlots, error)
	AvailableRooms(ctx context.Context, q AvailableRoomsQuery) ([]AvailableRoom, error)
}

// DeskBookings reads and changes desk bookings.
type DeskBookings interface {
	// DeskBookings lists a desk's bookings on the days from..to, both
	// inclusive, at most MaxWindowDays days.
	DeskBookings(ctx context.Context, deskID DeskID, from, to Date) ([]DeskBooking, error)
	AvailableDesks(ctx context.Context, q AvailableDesksQuery) ([]AvailableDesk, error)
	// CreateDeskBookings books a desk on several days; one id per day, in order.
	CreateDeskBookings(ctx context.Context, b NewDeskBooking) ([]DeskBookingID, error)
	CancelDeskBooking(ctx context.Context, id DeskBookingID, userID UserID, date Date) error
	ProgressDeskBooking(ctx context.Context, id DeskBookingID, userID UserID, action DeskAction) error
}

// Visitors reads and changes visits.
type Visitors interface {
	Visitors(ctx context.Context, q VisitorQuery) (VisitorPage, error)
	RegisterVisitor(ctx context.Context, v NewVisitor) (VisitorID, error)
	UpdateVisitor(ctx context.Context, id VisitorID, v NewVisitor) (Visitor, error)
	SetVisitorStatus(ctx context.Context, id VisitorID, action VisitorAction) (Visitor, error)
	CancelVisitor(ctx context.Context, id VisitorID) error
}

// CostCodes reads and creates cost codes.
type CostCodes interface {
	CostCodes(ctx context.Context, locationID LocationID) ([]CostCode, error)
	CreateCostCodes(ctx context.Context, codes []NewCostCode) error
}

// VendorServices reads vendors and orders their services.
type VendorServices interface {
	Vendors(ctx context.Context, locationID LocationID) ([]Vendor, error)
	OrderService(ctx context.Context, o NewServiceOrder) (OrderID, error)
	Orders(ctx context.Context, bookingID BookingID) ([]ServiceOrder, error)
}

// Listeners manages the upstream's webhook registrations.
type Listeners interface {
	RegisterListener(ctx context.Context, l NewListener) (Listener, error)
	RemoveListener(ctx context.Context, notificationURL string, types []EventType) error
	Listeners(ctx context.Context) ([]Listener, error)
}

// Service is everything the gateway asks of a tenant. The engage client
// implements it over HTTP; the cache implements it by decorating another.
type Service interface {
	Hierarchy
	Bookings
	DeskBookings
	Visitors
	CostCodes
	VendorServices
	Listeners
}

// RoomWindow is one room's bookings on the days From..To (inclusive, at most
// MaxWindowDays days).
type RoomWindow struct {
	Room     RoomID
	From, To Date
}

// DeskWindow is one desk's bookings on the days From..To (inclusive, at most
// MaxWindowDays days).
type DeskWindow struct {
	Desk     DeskID
	From, To Date
}

// ManyReader is implemented by a service that answers many keys in one round
// trip (the cache: one MGET, then the upstream for the misses only). The
// loaders use it when the service has it and fan out one call per key
// otherwise. Results and errors are in the order of the keys.
type ManyReader interface {
	RoomsMany(ctx context.Context, locations []LocationID) ([][]Room, []error)
	DesksMany(ctx context.Context, locations []LocationID) ([][]Desk, []error)
	BookingsMany(ctx context.Context, windows []RoomWindow) ([][]Booking, []error)
	DeskBookingsMany(ctx context.Context, windows []DeskWindow) ([][]DeskBooking, []error)
	BookingMany(ctx context.Context, ids []BookingID) ([]Booking, []error)
}
