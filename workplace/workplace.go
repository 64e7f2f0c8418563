// Package workplace holds the domain of the gateway: the entities of an Engage
// tenant (countries down to desks, bookings, visitors, cost codes, vendor
// services), their typed ids, the service interfaces the upstream client and
// the cache both implement, and the error codes clients see.
//
// It depends on the standard library only, so every other package can import
// it and none of them needs to know about another: the engage client
// implements these interfaces over HTTP, the cache decorates them, and the
// resolvers consume them.
//
//	workplace.go  typed ids, and the hierarchy: countries down to desks, users
//	booking.go    room and desk bookings, free slots and availability
//	caller.go     the Caller on a context, and ActingEmail
//	calls.go      CallTally: one request's upstream calls and their time
//	date.go       Date, a day without a zone, and BookingDays
//	error.go      the error codes clients see, Error and Coder
//	event.go      Change: what a notification announced, kind, action, source
//	inputs.go     Inputs: what an answer was computed from, for keeping it
//	limit.go      WithLimit and Limited: an operation's time limit
//	private.go    private meetings: MaySeePrivate, BookingTitle, Visibility
//	service.go    the service interfaces, Service and ManyReader
//	stale.go      Staleness: the stale answers an operation was served
//	storeonly.go  StoreOnly: reads answered without calling the upstream
//	visitor.go    visitors, cost codes, vendors, orders and listeners
//	walk.go       AllRegions and AllLocations, walked from the top
package workplace

import "time"

// Typed ids keep a room id from being passed where a desk id is expected.
// Engage ids are integers everywhere.
type (
	CountryID     int64
	RegionID      int64
	LocationID    int64
	GroupID       int64
	RoomID        int64
	DeskID        int64
	BookingID     int64
	DeskBookingID int64
	VisitorID     int64
	UserID        int64
	CostCodeID    int64
	VendorID      int64
	ServiceID     int64
	OrderID       int64
)

// Country is the top of the location hierarchy.
type Country struct {
	ID   CountryID
	Name string
}

// Region groups locations inside a country.
type Region struct {
	ID        RegionID
	Name      string
	CountryID CountryID
}

// Location is a building or campus; every time at a location is local to
// its TimeZone.
type Location struct {
	ID       LocationID
	Name     string
	RegionID RegionID
	Address  string
	City     string
	Country  string
	PostCode string
	// TimeZone is the IANA zone the upstream's Windows zone name maps to;
	// never nil for a location read from the upstream.
	TimeZone *time.Location
	// WindowsTimeZone is the zone name exactly as the upstream sent it.
	WindowsTimeZone        string
	FloorsAboveGround      int
	FloorsBelowGround      int
	CostCodeMandatory      bool
	CostCodePaymentEnabled bool
	GroupIDs               []GroupID
}

// Group is a set of locations (the upstream's "groups" route lists them by
// country; rooms and desks name the group they belong to).
type Group struct {
	ID        GroupID
	Name      string
	CountryID CountryID
}

// WorkspaceType tells rooms from desks where one route answers both.
type WorkspaceType int

// Workspace types as the upstream numbers them.
const (
	WorkspaceRoom WorkspaceType = 1
	WorkspaceDesk WorkspaceType = 2
)

// Room is a bookable meeting room.
type Room struct {
	ID         RoomID
	Name       string
	LocationID LocationID
	Floor      int
	FloorName  string
	GroupID    GroupID
	Capacity   int
	Attributes []int
}

// Desk is a bookable desk.
type Desk struct {
	ID         DeskID
	Name       string
	LocationID LocationID
	Floor      int
	FloorName  string
	GroupID    GroupID
	Attributes []int
}

// Floor is a floor of a location, as its rooms and desks name it; the
// upstream has no list of floors of its own.
type Floor struct {
	LocationID LocationID
	Number     int
	Name       string
}

// FloorPlanItem is one workspace on a floor plan.
type FloorPlanItem struct {
	ID            int64
	Name          string
	WorkspaceType WorkspaceType
	Floor         int
}

// FloorPlanQuery selects a floor plan.
type FloorPlanQuery struct {
	LocationID    LocationID
	Floor         int
	GroupID       GroupID
	WorkspaceType WorkspaceType
}

// User is a person known to the tenant: a host, a requestor, a desk user.
type User struct {
	ID        UserID
	FirstName string
	LastName  string
	Email     string
}
