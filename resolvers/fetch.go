package resolvers

// Helpers of the query resolvers: they turn GraphQL arguments into loader
// calls. Kept out of the *.resolvers.go files, which gqlgen rewrites.

import (
	"context"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/graph"
	"github.com/engagegql/gateway/guard"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/workplace"
)

// locationByID serves Query.location. The upstream lists locations by
// region only, so finding one by id walks the hierarchy; when the query
// asks only for what the id alone leads to (guard.LocationByIDOnly), the
// walk is skipped and those fields' own calls tell an unknown location by
// their NOT_FOUND.
func locationByID(ctx context.Context, id workplace.LocationID) (*workplace.Location, error) {
	if guard.LocationByIDOnly(graphql.GetFieldContext(ctx).Field.Selections) {
		return &workplace.Location{ID: id}, nil
	}
	return ptr(loader.Location(ctx, id))
}

// zoneOf returns the time zone of a location.
func zoneOf(ctx context.Context, id workplace.LocationID) (*time.Location, error) {
	l, err := loader.Location(ctx, id)
	if err != nil {
		return nil, err
	}
	return l.TimeZone, nil
}

// window resolves an optional [from, to) window at a location: omitted ends
// default to the location's current day (from its midnight to the next).
func window(ctx context.Context, locationID workplace.LocationID, from, to *time.Time) (time.Time, time.Time, *time.Location, error) {
	zone, err := zoneOf(ctx, locationID)
	if err != nil {
		return time.Time{}, time.Time{}, nil, err
	}
	f, t, err := windowIn(zone, workplace.Now(ctx), from, to)
	return f, t, zone, err
}

// windowIn resolves an optional [from, to) window in zone at now: omitted
// ends default to the day of now there (from its midnight to the next); a
// start alone runs to the end of today, or of its own day when later.
func windowIn(zone *time.Location, now time.Time, from, to *time.Time) (time.Time, time.Time, error) {
	today := workplace.DateOf(now.In(zone))
	f, t := today.In(zone), today.AddDays(1).In(zone)
	if from != nil {
		f = *from
	}
	if to != nil {
		t = *to
	} else if from != nil && !f.Before(t) {
		t = workplace.DateOf(f.In(zone)).AddDays(1).In(zone)
	}
	if !f.Before(t) {
		return time.Time{}, time.Time{}, workplace.Errorf(workplace.EINVALID, "the window's end (%s) must be after its start (%s)", t.Format(time.RFC3339), f.Format(time.RFC3339))
	}
	return f.In(zone), t.In(zone), nil
}

// roomBookings serves Room.bookings: the room's bookings overlapping a
// window whose omitted ends default to the room's local day. The bookings
// carry their location's zone, so even a default window costs no call for
// the location: the days listed cover the window in any zone
// (workplace.BookingDays), and the bookings are then filtered in their own.
// Only an end given without a start, at a room with no bookings near it,
// needs the location's zone, to tell whether that end is before the day
// began.
func roomBookings(ctx context.Context, room workplace.Room, from, to *time.Time) ([]workplace.Booking, error) {
	now := workplace.Now(ctx)
	if from != nil && to != nil {
		if !from.Before(*to) {
			return nil, workplace.Errorf(workplace.EINVALID, "the window's end (%s) must be after its start (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
		}
		return roomBookingsIn(ctx, room, *from, *to)
	}
	// The window lies within the instants first..last, whatever the zone.
	first, last := now, now
	if from != nil {
		first, last = *from, later(*from, now)
	}
	if to != nil {
		last = to.Add(-time.Nanosecond)
		first = earlier(first, last)
	}
	d1, d2 := workplace.BookingDays(first, last)
	bs, err := loader.RoomBookings(ctx, room.ID, d1, d2)
	if err != nil {
		return nil, err
	}
	var zone *time.Location
	if len(bs) > 0 {
		zone = bs[0].Start.Location()
	} else if to == nil {
		return []workplace.Booking{}, nil
	} else if zone, err = zoneOf(ctx, room.LocationID); err != nil {
		return nil, err
	}
	f, t, err := windowIn(zone, now, from, to)
	if err != nil {
		return nil, err
	}
	return overlapping(bs, f, t), nil
}

// roomBookingsIn lists a room's bookings that overlap [from, to), with no
// call for the location's zone (see roomBookings).
func roomBookingsIn(ctx context.Context, room workplace.Room, from, to time.Time) ([]workplace.Booking, error) {
	d1, d2 := workplace.BookingDays(from, to.Add(-time.Nanosecond))
	bs, err := loader.RoomBookings(ctx, room.ID, d1, d2)
	if err != nil {
		return nil, err
	}
	return overlapping(bs, from, to), nil
}

// overlapping keeps the bookings that overlap [from, to).
func overlapping(bs []workplace.Booking, from, to time.Time) []workplace.Booking {
	out := make([]workplace.Booking, 0, len(bs))
	for _, b := range bs {
		if b.Start.Before(to) && b.End.After(from) {
			out = append(out, b)
		}
	}
	return out
}

func later(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func earlier(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// parallel runs fn for every item at once, so the loaders they call batch
// together, and returns the results in order or the first error.
func parallel[T, R any](items []T, fn func(T) (R, error)) ([]R, error) {
	out := make([]R, len(items))
	errs := make([]error, len(items))
	var wg sync.WaitGroup
	for i, it := range items {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = fn(it)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// resources resolves the rooms or desks a query names: those of ids
// (global ids of typ, each carrying its location) or, without ids, all of
// locationID's; one of the two is required.
func resources[T any](ctx context.Context, locationID *string, ids []string, idsArg, typ string,
	one func(context.Context, workplace.LocationID, int64) (T, error),
	all func(context.Context, workplace.LocationID) ([]T, error),
) ([]T, error) {
	switch {
	case len(ids) > 0:
		gids := make([]globalID, len(ids))
		for i, id := range ids {
			g, err := parseIDOf(id, typ)
			if err != nil {
				return nil, err
			}
			gids[i] = g
		}
		return parallel(gids, func(g globalID) (T, error) {
			return one(ctx, workplace.LocationID(g.Parts[0]), g.Parts[1])
		})
	case locationID != nil:
		g, err := parseIDOf(*locationID, typeLocation)
		if err != nil {
			return nil, err
		}
		return all(ctx, workplace.LocationID(g.Parts[0]))
	}
	what := strings.ToLower(typ)
	return nil, workplace.Errorf(workplace.EINVALID, "give locationId or %s: Engage lists bookings %s by %s", idsArg, what, what)
}

func roomOf(ctx context.Context, loc workplace.LocationID, id int64) (workplace.Room, error) {
	return loader.Room(ctx, loc, workplace.RoomID(id))
}

func deskOf(ctx context.Context, loc workplace.LocationID, id int64) (workplace.Desk, error) {
	return loader.Desk(ctx, loc, workplace.DeskID(id))
}

// queryBookings serves Query.bookings.
func queryBookings(ctx context.Context, locationID *string, roomIDs []string, from, to time.Time, hostEmail *string) ([]workplace.Booking, error) {
	if !from.Before(to) {
		return nil, workplace.Errorf(workplace.EINVALID, "to (%s) must be after from (%s)", to.Format(time.RFC3339), from.Format(time.RFC3339))
	}
	rooms, err := resources(ctx, locationID, roomIDs, "roomIds", typeRoom, roomOf, loader.Rooms)
	if err != nil {
		return nil, err
	}
	lists, err := parallel(rooms, func(room workplace.Room) ([]workplace.Booking, error) {
		return roomBookingsIn(ctx, room, from, to)
	})
	if err != nil {
		return nil, err
	}
	out := []workplace.Booking{}
	for _, l := range lists {
		for _, b := range l {
			if hostEmail == nil || strings.EqualFold(b.Host.Email, *hostEmail) {
				out = append(out, b)
			}
		}
	}
	slices.SortFunc(out, func(a, b workplace.Booking) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	return out, nil
}

// queryDeskBookings serves Query.deskBookings.
func queryDeskBookings(ctx context.Context, locationID *string, deskIDs []string, from, to workplace.Date, userEmail *string) ([]workplace.DeskBooking, error) {
	if to.Before(from) {
		return nil, workplace.Errorf(workplace.EINVALID, "to (%s) must not be before from (%s)", to, from)
	}
	desks, err := resources(ctx, locationID, deskIDs, "deskIds", typeDesk, deskOf, loader.Desks)
	if err != nil {
		return nil, err
	}
	var user *workplace.User
	if userEmail != nil {
		u, err := loader.UserByEmail(ctx, *userEmail)
		if err != nil {
			return nil, err
		}
		user = &u
	}
	lists, err := parallel(desks, func(d workplace.Desk) ([]workplace.DeskBooking, error) {
		return loader.DeskBookings(ctx, d.LocationID, d.ID, from, to)
	})
	if err != nil {
		return nil, err
	}
	out := []workplace.DeskBooking{}
	for _, l := range lists {
		for _, b := range l {
			if user == nil || b.UserID == user.ID {
				out = append(out, b)
			}
		}
	}
	return out, nil
}

// locationAndGroup decodes the location and optional group arguments the
// rooms and desks filters share.
func locationAndGroup(locationID string, groupID *string) (workplace.LocationID, int64, error) {
	g, err := parseIDOf(locationID, typeLocation)
	if err != nil {
		return 0, 0, err
	}
	group, err := optionalID(groupID, typeGroup)
	return workplace.LocationID(g.Parts[0]), group, err
}

// filterRooms serves Query.rooms.
func filterRooms(ctx context.Context, locationID string, floor *int, groupID *string, minCapacity *int, attributes []int, freeFrom, freeTo *time.Time) ([]workplace.Room, error) {
	loc, group, err := locationAndGroup(locationID, groupID)
	if err != nil {
		return nil, err
	}
	if (freeFrom == nil) != (freeTo == nil) {
		return nil, workplace.Errorf(workplace.EINVALID, "give both freeFrom and freeTo, or neither")
	}
	var free map[workplace.RoomID]bool
	if freeFrom != nil {
		if !freeFrom.Before(*freeTo) {
			return nil, workplace.Errorf(workplace.EINVALID, "freeTo must be after freeFrom")
		}
		avail, err := loader.AvailableRooms(ctx, loc, *freeFrom, *freeTo)
		if err != nil {
			return nil, err
		}
		free = map[workplace.RoomID]bool{}
		for _, a := range avail {
			free[a.RoomID] = true
		}
	}
	rooms, err := loader.Rooms(ctx, loc)
	if err != nil {
		return nil, err
	}
	out := []workplace.Room{}
	for _, r := range rooms {
		switch {
		case floor != nil && r.Floor != *floor,
			group != 0 && int64(r.GroupID) != group,
			minCapacity != nil && r.Capacity < *minCapacity,
			!hasAll(r.Attributes, attributes),
			free != nil && !free[r.ID]:
			continue
		}
		out = append(out, r)
	}
	return out, nil
}

// filterDesks serves Query.desks.
func filterDesks(ctx context.Context, locationID string, floor *int, groupID *string, freeOn *workplace.Date) ([]workplace.Desk, error) {
	loc, group, err := locationAndGroup(locationID, groupID)
	if err != nil {
		return nil, err
	}
	var free map[workplace.DeskID]bool
	if freeOn != nil {
		avail, err := loader.AvailableDesks(ctx, loc, *freeOn)
		if err != nil {
			return nil, err
		}
		free = map[workplace.DeskID]bool{}
		for _, a := range avail {
			free[a.DeskID] = true
		}
	}
	desks, err := loader.Desks(ctx, loc)
	if err != nil {
		return nil, err
	}
	out := []workplace.Desk{}
	for _, d := range desks {
		switch {
		case floor != nil && d.Floor != *floor,
			group != 0 && int64(d.GroupID) != group,
			free != nil && !free[d.ID]:
			continue
		}
		out = append(out, d)
	}
	return out, nil
}

func hasAll(have, want []int) bool {
	for _, w := range want {
		if !slices.Contains(have, w) {
			return false
		}
	}
	return true
}

// floorsOf lists the floors a location's rooms and desks are on.
func floorsOf(ctx context.Context, loc workplace.LocationID) ([]workplace.Floor, error) {
	type lists struct {
		rooms []workplace.Room
		desks []workplace.Desk
	}
	var l lists
	var rerr, derr error
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); l.rooms, rerr = loader.Rooms(ctx, loc) }()
	go func() { defer wg.Done(); l.desks, derr = loader.Desks(ctx, loc) }()
	wg.Wait()
	if rerr != nil {
		return nil, rerr
	}
	if derr != nil {
		return nil, derr
	}
	seen := map[int]workplace.Floor{}
	for _, r := range l.rooms {
		seen[r.Floor] = workplace.Floor{LocationID: loc, Number: r.Floor, Name: r.FloorName}
	}
	for _, d := range l.desks {
		if _, ok := seen[d.Floor]; !ok {
			seen[d.Floor] = workplace.Floor{LocationID: loc, Number: d.Floor, Name: d.FloorName}
		}
	}
	out := make([]workplace.Floor, 0, len(seen))
	for _, f := range seen {
		out = append(out, f)
	}
	slices.SortFunc(out, func(a, b workplace.Floor) int { return a.Number - b.Number })
	return out, nil
}

// floor finds one floor of a location.
func floor(ctx context.Context, loc workplace.LocationID, number int) (workplace.Floor, error) {
	fs, err := floorsOf(ctx, loc)
	if err != nil {
		return workplace.Floor{}, err
	}
	for _, f := range fs {
		if f.Number == number {
			return f, nil
		}
	}
	return workplace.Floor{}, workplace.Errorf(workplace.ENOTFOUND, "location %d has no floor %d", loc, number)
}

// personUser resolves a person a booking names to a User: the tenant's user
// holding their email, or, when none does (a guest host), the person as the
// booking names them. Null when the booking names nobody.
func personUser(ctx context.Context, p workplace.Person) (*workplace.User, error) {
	if p.Email == "" {
		return nil, nil
	}
	u, err := loader.UserByEmail(ctx, p.Email)
	if err == nil {
		return &u, nil
	}
	if workplace.ErrorCode(err) != workplace.ENOTFOUND {
		return nil, err
	}
	first, last, _ := strings.Cut(p.Name, " ")
	return &workplace.User{ID: p.ID, FirstName: first, LastName: last, Email: p.Email}, nil
}

// visitorsOfBooking lists the visitors expected for a booking. Engage lists
// visitors only from today to 13 days ahead, so a booking outside those days
// has none to show.
func visitorsOfBooking(ctx context.Context, b workplace.Booking) ([]workplace.Visitor, error) {
	day := workplace.DateOf(b.Start)
	today := workplace.DateOf(workplace.Now(ctx).In(b.Start.Location()))
	if day.Before(today) || day.After(today.AddDays(workplace.MaxWindowDays-1)) {
		return []workplace.Visitor{}, nil
	}
	vs, err := loader.Visitors(ctx, day, b.LocationID)
	if err != nil {
		return nil, err
	}
	out := []workplace.Visitor{}
	for _, v := range vs {
		if v.BookingID == b.ID {
			out = append(out, v)
		}
	}
	return out, nil
}

// findVisitor finds a visitor by the parts of its global id.
func findVisitor(ctx context.Context, g globalID) (workplace.Visitor, error) {
	vs, err := loader.Visitors(ctx, partDay(g.Parts[1]), workplace.LocationID(g.Parts[0]))
	if err != nil {
		return workplace.Visitor{}, err
	}
	for _, v := range vs {
		if int64(v.ID) == g.Parts[2] {
			return v, nil
		}
	}
	return workplace.Visitor{}, workplace.Errorf(workplace.ENOTFOUND, "visitor %d does not exist (or no longer does)", g.Parts[2])
}

// findDeskBooking finds a desk booking by the parts of its global id.
func findDeskBooking(ctx context.Context, g globalID) (workplace.DeskBooking, error) {
	day := partDay(g.Parts[2])
	ds, err := loader.DeskBookings(ctx, workplace.LocationID(g.Parts[0]), workplace.DeskID(g.Parts[1]), day, day)
	if err != nil {
		return workplace.DeskBooking{}, err
	}
	for _, d := range ds {
		if int64(d.ID) == g.Parts[3] {
			return d, nil
		}
	}
	return workplace.DeskBooking{}, workplace.Errorf(workplace.ENOTFOUND, "desk booking %d does not exist (or no longer does)", g.Parts[3])
}

// findOrder finds a service order by the parts of its global id.
func findOrder(ctx context.Context, g globalID) (workplace.ServiceOrder, error) {
	os, err := loader.Orders(ctx, workplace.BookingID(g.Parts[0]))
	if err != nil {
		return workplace.ServiceOrder{}, err
	}
	for _, o := range os {
		if int64(o.ID) == g.Parts[1] {
			return o, nil
		}
	}
	return workplace.ServiceOrder{}, workplace.Errorf(workplace.ENOTFOUND, "service order %d does not exist", g.Parts[1])
}

// roomFreeSlots lists a room's free periods in a window (default: the rest
// of the location's day). The upstream lists every room of the location in
// one call, which all rooms of the operation share.
func roomFreeSlots(ctx context.Context, room workplace.Room, from, to *time.Time) ([]workplace.TimeSlot, error) {
	if from == nil {
		zone, err := zoneOf(ctx, room.LocationID)
		if err != nil {
			return nil, err
		}
		now := workplace.Now(ctx).In(zone).Truncate(time.Minute)
		from = &now
	}
	f, t, _, err := window(ctx, room.LocationID, from, to)
	if err != nil {
		return nil, err
	}
	all, err := loader.FreeSlots(ctx, room.LocationID, f, t)
	if err != nil {
		return nil, err
	}
	for _, r := range all {
		if r.ResourceID == int64(room.ID) {
			return r.Slots, nil
		}
	}
	return []workplace.TimeSlot{}, nil
}

// orderStatus names an upstream order status.
func orderStatus(s string) graph.ServiceOrderStatus {
	switch s {
	case "0":
		return graph.ServiceOrderStatusPlaced
	case "1":
		return graph.ServiceOrderStatusConfirmed
	case "2":
		return graph.ServiceOrderStatusDelivered
	case "3":
		return graph.ServiceOrderStatusCancelled
	}
	return graph.ServiceOrderStatusOther
}
