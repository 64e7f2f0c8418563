package loader

import (
	"context"
	"slices"
	"strings"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// RoomBookings lists a room's bookings on the days from..to (inclusive),
// however many days that is: the window is cut into the upstream's 14-day
// windows, loaded together and merged. Every booking read primes the
// booking-by-id loader, so the same operation never reads it again.
func RoomBookings(ctx context.Context, roomID workplace.RoomID, from, to workplace.Date) ([]workplace.Booking, error) {
	l := For(ctx)
	windows := workplace.SplitWindow(from, to)
	thunks := make([]Thunk[[]workplace.Booking], len(windows))
	for i, w := range windows {
		thunks[i] = l.roomBookings.Load(ctx, roomWindow{room: roomID, from: w[0], to: w[1]})
	}
	seen := map[workplace.BookingID]bool{}
	out := []workplace.Booking{}
	for _, th := range thunks {
		bs, err := th()
		if err != nil {
			return nil, err
		}
		for _, b := range bs {
			if seen[b.ID] {
				continue
			}
			seen[b.ID] = true
			l.booking.Prime(ctx, b.ID, b)
			out = append(out, b)
		}
	}
	slices.SortFunc(out, func(a, b workplace.Booking) int { return a.Start.Compare(b.Start) })
	return out, nil
}

// Booking reads one booking by id.
func Booking(ctx context.Context, id workplace.BookingID) (workplace.Booking, error) {
	return For(ctx).booking.Load(ctx, id)()
}

// DeskBookings lists the bookings of a desk at a location on the days
// from..to (inclusive), split into the upstream's 14-day windows and merged.
func DeskBookings(ctx context.Context, locationID workplace.LocationID, deskID workplace.DeskID, from, to workplace.Date) ([]workplace.DeskBooking, error) {
	l := For(ctx)
	windows := workplace.SplitWindow(from, to)
	thunks := make([]Thunk[[]workplace.DeskBooking], len(windows))
	for i, w := range windows {
		thunks[i] = l.deskBookings.Load(ctx, deskWindow{desk: deskID, from: w[0], to: w[1]})
	}
	seen := map[workplace.DeskBookingID]bool{}
	// Never nil: a desk with no bookings in the window has an empty list,
	// which is not the null of a list that could not be read.
	out := []workplace.DeskBooking{}
	for _, th := range thunks {
		ds, err := th()
		if err != nil {
			return nil, err
		}
		for _, d := range ds {
			if !seen[d.ID] {
				seen[d.ID] = true
				d.LocationID = locationID
				out = append(out, d)
			}
		}
	}
	slices.SortFunc(out, func(a, b workplace.DeskBooking) int {
		if c := a.Date.DaysUntil(b.Date); c != 0 {
			return -c
		}
		return int(a.ID - b.ID)
	})
	return out, nil
}

// Visitors lists the visitors of one day at one location (every location
// when locationID is 0), all pages at once: filters and Relay pages are cut
// from that one list, so every visitor field of an operation shares a call.
func Visitors(ctx context.Context, date workplace.Date, locationID workplace.LocationID) ([]workplace.Visitor, error) {
	return For(ctx).visitors.Load(ctx, visitDay{date: date, location: locationID})()
}

// FreeSlots lists the free periods of every room of a location in [from, to):
// the upstream answers for all rooms at once, so all rooms of an operation
// asking the same window share one call.
func FreeSlots(ctx context.Context, locationID workplace.LocationID, from, to time.Time) ([]workplace.ResourceFreeSlots, error) {
	return For(ctx).freeSlots.Load(ctx, slotQuery{location: locationID, from: from.UTC(), to: to.UTC()})()
}

// AvailableRooms lists the rooms of a location free for all of [from, to).
func AvailableRooms(ctx context.Context, locationID workplace.LocationID, from, to time.Time) ([]workplace.AvailableRoom, error) {
	return For(ctx).availableRooms.Load(ctx, roomsQuery{location: locationID, from: from.UTC(), to: to.UTC()})()
}

// AvailableDesks lists the desks of a location free all day on date.
func AvailableDesks(ctx context.Context, locationID workplace.LocationID, date workplace.Date) ([]workplace.AvailableDesk, error) {
	return For(ctx).availableDesks.Load(ctx, desksQuery{location: locationID, date: date})()
}

// UserByEmail finds the user holding an email (case-insensitively).
func UserByEmail(ctx context.Context, email string) (workplace.User, error) {
	return For(ctx).users.Load(ctx, normalEmail(email))()
}

// normalEmail is the form emails are compared in: the upstream matches them
// case-insensitively.
func normalEmail(email string) string { return strings.ToLower(strings.TrimSpace(email)) }

// ExpectUsers tells the operation's loaders which people it shows (the hosts
// of a page of visitors, say), whose users its fields may look up by email:
// when they are UsersListAll or more, their lookups cost one call listing
// every user, however scheduling splits them into batches. The people of
// the bookings an operation reads are counted without it.
func ExpectUsers(ctx context.Context, emails ...string) {
	For(ctx).named.add(emails...)
}

// User finds a user by id. The upstream finds users by email only, so this
// lists every user, once per operation.
func User(ctx context.Context, id workplace.UserID) (workplace.User, error) {
	us, err := For(ctx).everyUser(ctx)
	if err != nil {
		return workplace.User{}, err
	}
	return find(us, func(u workplace.User) bool { return u.ID == id }, "user %d does not exist", id)
}

// CostCodes lists the cost codes of a location.
func CostCodes(ctx context.Context, locationID workplace.LocationID) ([]workplace.CostCode, error) {
	return For(ctx).costCodes.Load(ctx, locationID)()
}

// CostCode finds a cost code of a location.
func CostCode(ctx context.Context, locationID workplace.LocationID, id workplace.CostCodeID) (workplace.CostCode, error) {
	cs, err := CostCodes(ctx, locationID)
	if err != nil {
		return workplace.CostCode{}, err
	}
	return find(cs, func(c workplace.CostCode) bool { return c.ID == id }, "cost code %d does not exist at location %d", id, locationID)
}

// Vendors lists the vendors of a location with their services.
func Vendors(ctx context.Context, locationID workplace.LocationID) ([]workplace.Vendor, error) {
	return For(ctx).vendors.Load(ctx, locationID)()
}

// Vendor finds a vendor of a location.
func Vendor(ctx context.Context, locationID workplace.LocationID, id workplace.VendorID) (workplace.Vendor, error) {
	vs, err := Vendors(ctx, locationID)
	if err != nil {
		return workplace.Vendor{}, err
	}
	return find(vs, func(v workplace.Vendor) bool { return v.ID == id }, "vendor %d does not exist at location %d", id, locationID)
}

// VendorService finds a service sold at a location.
func VendorService(ctx context.Context, locationID workplace.LocationID, id workplace.ServiceID) (workplace.VendorService, error) {
	vs, err := Vendors(ctx, locationID)
	if err != nil {
		return workplace.VendorService{}, err
	}
	for _, v := range vs {
		for _, s := range v.Services {
			if s.ID == id {
				return s, nil
			}
		}
	}
	return workplace.VendorService{}, workplace.Errorf(workplace.ENOTFOUND, "service %d is not sold at location %d", id, locationID)
}

// Orders lists the service orders of a booking.
func Orders(ctx context.Context, bookingID workplace.BookingID) ([]workplace.ServiceOrder, error) {
	return For(ctx).orders.Load(ctx, bookingID)()
}

// Groups lists every group.
func Groups(ctx context.Context) ([]workplace.Group, error) {
	cs, err := Countries(ctx)
	if err != nil {
		return nil, err
	}
	return children(ctx, For(ctx).groups, cs, func(c workplace.Country) workplace.CountryID { return c.ID })
}

// Group finds a group by id.
func Group(ctx context.Context, id workplace.GroupID) (workplace.Group, error) {
	gs, err := Groups(ctx)
	if err != nil {
		return workplace.Group{}, err
	}
	return find(gs, func(g workplace.Group) bool { return g.ID == id }, "group %d does not exist", id)
}
