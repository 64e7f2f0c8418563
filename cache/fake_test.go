package cache

import (
	"context"
	"sync"

	"github.com/engagegql/gateway/workplace"
)

// fakeInner is the service under the cache in these tests: function fields
// (the wtf style) and a count of calls per method. A method without a
// function answers with zero values.
type fakeInner struct {
	mu    sync.Mutex
	calls map[string]int
	// spans records the from..to of every Bookings and DeskBookings call.
	spans []string

	CountriesFn      func(ctx context.Context) ([]workplace.Country, error)
	RegionsFn        func(ctx context.Context, c workplace.CountryID) ([]workplace.Region, error)
	LocationsFn      func(ctx context.Context, r workplace.RegionID) ([]workplace.Location, error)
	GroupsFn         func(ctx context.Context, c workplace.CountryID) ([]workplace.Group, error)
	UsersFn          func(ctx context.Context, email string) ([]workplace.User, error)
	RoomsFn          func(ctx context.Context, l workplace.LocationID) ([]workplace.Room, error)
	DesksFn          func(ctx context.Context, l workplace.LocationID) ([]workplace.Desk, error)
	FloorPlanFn      func(ctx context.Context, q workplace.FloorPlanQuery) ([]workplace.FloorPlanItem, error)
	BookingsFn       func(ctx context.Context, r workplace.RoomID, from, to workplace.Date) ([]workplace.Booking, error)
	BookingFn        func(ctx context.Context, id workplace.BookingID) (workplace.Booking, error)
	UpdateBookingFn  func(ctx context.Context, id workplace.BookingID, c workplace.BookingChange) (workplace.Booking, error)
	FreeSlotsFn      func(ctx context.Context, q workplace.FreeSlotQuery) ([]workplace.ResourceFreeSlots, error)
	DeskBookingsFn   func(ctx context.Context, d workplace.DeskID, from, to workplace.Date) ([]workplace.DeskBooking, error)
	VisitorsFn       func(ctx context.Context, q workplace.VisitorQuery) (workplace.VisitorPage, error)
	OrdersFn         func(ctx context.Context, b workplace.BookingID) ([]workplace.ServiceOrder, error)
	CostCodesFn      func(ctx context.Context, l workplace.LocationID) ([]workplace.CostCode, error)
	AvailableRoomsFn func(ctx context.Context, q workplace.AvailableRoomsQuery) ([]workplace.AvailableRoom, error)
	AvailableDesksFn func(ctx context.Context, q workplace.AvailableDesksQuery) ([]workplace.AvailableDesk, error)
	VendorsFn        func(ctx context.Context, l workplace.LocationID) ([]workplace.Vendor, error)
}

var _ workplace.Service = (*fakeInner)(nil)

func (f *fakeInner) hit(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.calls == nil {
		f.calls = map[string]int{}
	}
	f.calls[name]++
}

// n returns the calls of one method.
func (f *fakeInner) n(name string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[name]
}

// total returns the calls of every method.
func (f *fakeInner) total() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	n := 0
	for _, c := range f.calls {
		n += c
	}
	return n
}

func (f *fakeInner) lastSpan() string {
	f.mu.Lock()
	defer f.mu.Unlock()
	if len(f.spans) == 0 {
		return ""
	}
	return f.spans[len(f.spans)-1]
}

func (f *fakeInner) Countries(ctx context.Context) ([]workplace.Country, error) {
	f.hit("Countries")
	if f.CountriesFn != nil {
		return f.CountriesFn(ctx)
	}
	return []workplace.Country{{ID: 1, Name: "Australia"}}, nil
}

func (f *fakeInner) Regions(ctx context.Context, c workplace.CountryID) ([]workplace.Region, error) {
	f.hit("Regions")
	if f.RegionsFn != nil {
		return f.RegionsFn(ctx, c)
	}
	return []workplace.Region{{ID: 2, CountryID: c}}, nil
}

func (f *fakeInner) Locations(ctx context.Context, r workplace.RegionID) ([]workplace.Location, error) {
	f.hit("Locations")
	if f.LocationsFn != nil {
		return f.LocationsFn(ctx, r)
	}
	return []workplace.Location{{ID: 10, RegionID: r}}, nil
}

func (f *fakeInner) Groups(ctx context.Context, c workplace.CountryID) ([]workplace.Group, error) {
	f.hit("Groups")
	if f.GroupsFn != nil {
		return f.GroupsFn(ctx, c)
	}
	return []workplace.Group{{ID: 3, CountryID: c}}, nil
}

func (f *fakeInner) Users(ctx context.Context, email string) ([]workplace.User, error) {
	f.hit("Users")
	if f.UsersFn != nil {
		return f.UsersFn(ctx, email)
	}
	return []workplace.User{{ID: 4, Email: email}}, nil
}

func (f *fakeInner) Rooms(ctx context.Context, l workplace.LocationID) ([]workplace.Room, error) {
	f.hit("Rooms")
	if f.RoomsFn != nil {
		return f.RoomsFn(ctx, l)
	}
	return []workplace.Room{{ID: workplace.RoomID(l*10 + 1), LocationID: l}}, nil
}

func (f *fakeInner) Desks(ctx context.Context, l workplace.LocationID) ([]workplace.Desk, error) {
	f.hit("Desks")
	if f.DesksFn != nil {
		return f.DesksFn(ctx, l)
	}
	return []workplace.Desk{{ID: workplace.DeskID(l*10 + 1), LocationID: l}}, nil
}

func (f *fakeInner) FloorPlan(ctx context.Context, q workplace.FloorPlanQuery) ([]workplace.FloorPlanItem, error) {
	f.hit("FloorPlan")
	if f.FloorPlanFn != nil {
		return f.FloorPlanFn(ctx, q)
	}
	return []workplace.FloorPlanItem{{ID: int64(q.LocationID), Floor: q.Floor}}, nil
}

func (f *fakeInner) Bookings(ctx context.Context, r workplace.RoomID, from, to workplace.Date) ([]workplace.Booking, error) {
	f.hit("Bookings")
	f.mu.Lock()
	f.spans = append(f.spans, from.String()+".."+to.String())
	f.mu.Unlock()
	if f.BookingsFn != nil {
		return f.BookingsFn(ctx, r, from, to)
	}
	return nil, nil
}

func (f *fakeInner) Booking(ctx context.Context, id workplace.BookingID) (workplace.Booking, error) {
	f.hit("Booking")
	if f.BookingFn != nil {
		return f.BookingFn(ctx, id)
	}
	return workplace.Booking{}, workplace.Errorf(workplace.ENOTFOUND, "no booking %d", id)
}

func (f *fakeInner) CreateBooking(context.Context, workplace.NewBooking) (workplace.BookingID, error) {
	f.hit("CreateBooking")
	return 99, nil
}

func (f *fakeInner) UpdateBooking(ctx context.Context, id workplace.BookingID, c workplace.BookingChange) (workplace.Booking, error) {
	f.hit("UpdateBooking")
	if f.UpdateBookingFn != nil {
		return f.UpdateBookingFn(ctx, id, c)
	}
	return workplace.Booking{}, nil
}

func (f *fakeInner) ProgressMeeting(context.Context, workplace.BookingID, workplace.UserID, workplace.MeetingAction, int) error {
	f.hit("ProgressMeeting")
	return nil
}

func (f *fakeInner) CancelBooking(context.Context, workplace.BookingID, workplace.UserID) error {
	f.hit("CancelBooking")
	return nil
}

func (f *fakeInner) FreeSlots(ctx context.Context, q workplace.FreeSlotQuery) ([]workplace.ResourceFreeSlots, error) {
	f.hit("FreeSlots")
	if f.FreeSlotsFn != nil {
		return f.FreeSlotsFn(ctx, q)
	}
	return []workplace.ResourceFreeSlots{{LocationID: q.LocationID, Slots: []workplace.TimeSlot{{Start: q.From, End: q.To}}}}, nil
}

func (f *fakeInner) AvailableRooms(ctx context.Context, q workplace.AvailableRoomsQuery) ([]workplace.AvailableRoom, error) {
	f.hit("AvailableRooms")
	if f.AvailableRoomsFn != nil {
		return f.AvailableRoomsFn(ctx, q)
	}
	return []workplace.AvailableRoom{{RoomID: 1, LocationID: q.LocationID}}, nil
}

func (f *fakeInner) DeskBookings(ctx context.Context, d workplace.DeskID, from, to workplace.Date) ([]workplace.DeskBooking, error) {
	f.hit("DeskBookings")
	f.mu.Lock()
	f.spans = append(f.spans, from.String()+".."+to.String())
	f.mu.Unlock()
	if f.DeskBookingsFn != nil {
		return f.DeskBookingsFn(ctx, d, from, to)
	}
	return nil, nil
}

func (f *fakeInner) AvailableDesks(ctx context.Context, q workplace.AvailableDesksQuery) ([]workplace.AvailableDesk, error) {
	f.hit("AvailableDesks")
	if f.AvailableDesksFn != nil {
		return f.AvailableDesksFn(ctx, q)
	}
	return []workplace.AvailableDesk{{DeskID: 1, GroupID: q.GroupID}}, nil
}

func (f *fakeInner) CreateDeskBookings(_ context.Context, b workplace.NewDeskBooking) ([]workplace.DeskBookingID, error) {
	f.hit("CreateDeskBookings")
	return make([]workplace.DeskBookingID, len(b.Days)), nil
}

func (f *fakeInner) CancelDeskBooking(context.Context, workplace.DeskBookingID, workplace.UserID, workplace.Date) error {
	f.hit("CancelDeskBooking")
	return nil
}

func (f *fakeInner) ProgressDeskBooking(context.Context, workplace.DeskBookingID, workplace.UserID, workplace.DeskAction) error {
	f.hit("ProgressDeskBooking")
	return nil
}

func (f *fakeInner) Visitors(ctx context.Context, q workplace.VisitorQuery) (workplace.VisitorPage, error) {
	f.hit("Visitors")
	if f.VisitorsFn != nil {
		return f.VisitorsFn(ctx, q)
	}
	// One visitor per day and location, so each has one list.
	id := workplace.VisitorID(int64(q.LocationID)*100 + int64(q.Date.Day))
	return workplace.VisitorPage{Visitors: []workplace.Visitor{{ID: id, LocationID: q.LocationID}}, Total: 1}, nil
}

func (f *fakeInner) RegisterVisitor(context.Context, workplace.NewVisitor) (workplace.VisitorID, error) {
	f.hit("RegisterVisitor")
	return 6, nil
}

func (f *fakeInner) UpdateVisitor(_ context.Context, id workplace.VisitorID, v workplace.NewVisitor) (workplace.Visitor, error) {
	f.hit("UpdateVisitor")
	return workplace.Visitor{ID: id, LocationID: v.LocationID, Arrival: v.Arrival}, nil
}

func (f *fakeInner) SetVisitorStatus(_ context.Context, id workplace.VisitorID, _ workplace.VisitorAction) (workplace.Visitor, error) {
	f.hit("SetVisitorStatus")
	return workplace.Visitor{ID: id}, nil
}

func (f *fakeInner) CancelVisitor(context.Context, workplace.VisitorID) error {
	f.hit("CancelVisitor")
	return nil
}

func (f *fakeInner) CostCodes(ctx context.Context, l workplace.LocationID) ([]workplace.CostCode, error) {
	f.hit("CostCodes")
	if f.CostCodesFn != nil {
		return f.CostCodesFn(ctx, l)
	}
	return []workplace.CostCode{{ID: 7, LocationID: l}}, nil
}

func (f *fakeInner) CreateCostCodes(context.Context, []workplace.NewCostCode) error {
	f.hit("CreateCostCodes")
	return nil
}

func (f *fakeInner) Vendors(ctx context.Context, l workplace.LocationID) ([]workplace.Vendor, error) {
	f.hit("Vendors")
	if f.VendorsFn != nil {
		return f.VendorsFn(ctx, l)
	}
	return []workplace.Vendor{{ID: 8, LocationID: l}}, nil
}

func (f *fakeInner) OrderService(context.Context, workplace.NewServiceOrder) (workplace.OrderID, error) {
	f.hit("OrderService")
	return 9, nil
}

func (f *fakeInner) Orders(ctx context.Context, b workplace.BookingID) ([]workplace.ServiceOrder, error) {
	f.hit("Orders")
	if f.OrdersFn != nil {
		return f.OrdersFn(ctx, b)
	}
	return []workplace.ServiceOrder{{ID: 9, BookingID: b}}, nil
}

func (f *fakeInner) RegisterListener(_ context.Context, l workplace.NewListener) (workplace.Listener, error) {
	f.hit("RegisterListener")
	return workplace.Listener{NotificationURL: l.NotificationURL}, nil
}

func (f *fakeInner) RemoveListener(context.Context, string, []workplace.EventType) error {
	f.hit("RemoveListener")
	return nil
}

func (f *fakeInner) Listeners(context.Context) ([]workplace.Listener, error) {
	f.hit("Listeners")
	return nil, nil
}
