package cache

// Precise invalidation: what each change drops, and nothing else.

import (
	"context"
	"encoding/json"
	"slices"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// Invalidate drops what the changes touch, in one store round trip after
// at most one round trip reading the cache's indexes (more only when a
// change names neither a room nor a location the first read could find):
//
//   - booking: the booking, its room-days (the change's Date, plus the days
//     the cached booking covers, plus those up to NewEnd for an extension;
//     with no Date and no cached booking, the room's days from yesterday to
//     today+14 in UTC, which covers today..today+13 in every zone), and the
//     free slots and available rooms of the room's location (room index,
//     else the cached booking's location; else the tenant-wide room
//     availability epoch). A booking that moved (cached room differs from
//     the change's) loses both rooms' days.
//   - desk booking: the desk-day (the change's Date, plus the cached desk
//     booking's date; with neither, the same bounded window as bookings),
//     and the available desks of the desk's location (desk index, else the
//     tenant-wide desk availability epoch). A change naming no desk that the
//     index cannot resolve drops only the tenant-wide desk availability.
//   - resource: the location's rooms or desks (both when the type is not
//     given), its floor plans and its room and desk availability. With no
//     location (and none in the indexes) only the tenant-wide availability
//     epochs are bumped; lists and floor plans then live out their TTLs.
//   - visitor: the visitor lists of (Date, LocationID) and (Date, all
//     locations), and of the day and location the cache last listed the
//     visitor under; with no Date and no index entry, the all-locations (and
//     the change's location) lists of the same bounded window.
//
// The error is the store's; the keys it could not invalidate are retried
// when the store answers again.
func (s *Service) Invalidate(ctx context.Context, changes ...workplace.Change) error {
	kn := s.newKnown()
	var pre []string
	for _, c := range changes {
		switch c.Kind {
		case workplace.KindBooking:
			pre = append(pre, bookingIndexKey(c.BookingID), bookingKey(c.BookingID), roomIndexKey(c.RoomID))
		case workplace.KindDeskBooking:
			pre = append(pre, deskIndexKey(c.DeskID), deskBookingIndexKey(c.DeskBookingID))
		case workplace.KindResource:
			if c.LocationID == 0 {
				pre = append(pre, roomIndexKey(workplace.RoomID(c.ResourceID)), deskIndexKey(workplace.DeskID(c.ResourceID)))
			}
		case workplace.KindVisitor:
			pre = append(pre, visitorIndexKey(c.VisitorID))
		}
	}
	kn.need(ctx, pre...)
	if s.mirror != nil {
		return s.mirror.apply(ctx, changes, kn)
	}
	ks := keyset{}
	for _, c := range changes {
		s.plan(ctx, kn, ks, c)
	}
	return s.storeInvalidate(ctx, ks.list())
}

// plan adds the keys one change drops.
func (s *Service) plan(ctx context.Context, kn *known, ks keyset, c workplace.Change) {
	switch c.Kind {
	case workplace.KindBooking:
		s.planBooking(ctx, kn, ks, c)
	case workplace.KindDeskBooking:
		s.planDeskBooking(ctx, kn, ks, c)
	case workplace.KindResource:
		s.planResource(ctx, kn, ks, c)
	case workplace.KindVisitor:
		s.planVisitor(ctx, kn, ks, c)
	}
}

func (s *Service) planBooking(ctx context.Context, kn *known, ks keyset, c workplace.Change) {
	var facts bookingFacts
	var known bool
	if c.BookingID != 0 {
		ks.add(bookingKey(c.BookingID), bookingIndexKey(c.BookingID))
		facts, known = kn.booking(ctx, c.BookingID)
	}
	handled := false
	if c.RoomID != 0 {
		var days []workplace.Date
		var loc workplace.LocationID
		if !c.Date.IsZero() {
			days = append(days, c.Date)
		}
		if known && facts.Room == c.RoomID {
			days = append(days, factDays(facts, c.NewEnd)...)
			loc = facts.Loc
		}
		if len(days) == 0 {
			days = s.fallbackDays()
		}
		s.dropRoomDays(ctx, kn, ks, c.RoomID, loc, days)
		handled = true
	}
	if known && facts.Room != 0 && facts.Room != c.RoomID {
		days := factDays(facts, c.NewEnd)
		if c.RoomID == 0 && !c.Date.IsZero() {
			days = append(days, c.Date)
		}
		s.dropRoomDays(ctx, kn, ks, facts.Room, facts.Loc, days)
		handled = true
	}
	if !handled {
		ks.add(tenantRoomAvailEpochKey())
	}
}

func (s *Service) planDeskBooking(ctx context.Context, kn *known, ks keyset, c workplace.Change) {
	desk := c.DeskID
	var idx deskBookingIndex
	var known bool
	if c.DeskBookingID != 0 {
		idx, known = kn.deskBooking(ctx, c.DeskBookingID)
	}
	if desk == 0 && known {
		desk = idx.Desk
	}
	if desk == 0 {
		ks.add(tenantDeskAvailEpochKey())
		return
	}
	var days []workplace.Date
	if !c.Date.IsZero() {
		days = append(days, c.Date)
	}
	if known && idx.Desk == desk {
		days = append(days, idx.Date)
	}
	if len(days) == 0 {
		days = s.fallbackDays()
	}
	s.dropDeskDays(ctx, kn, ks, desk, days)
}

func (s *Service) planResource(ctx context.Context, kn *known, ks keyset, c workplace.Change) {
	loc := c.LocationID
	if loc == 0 && c.ResourceID != 0 && c.WorkspaceType != workplace.WorkspaceDesk {
		loc = kn.location(ctx, roomIndexKey(workplace.RoomID(c.ResourceID)))
	}
	if loc == 0 && c.ResourceID != 0 && c.WorkspaceType != workplace.WorkspaceRoom {
		loc = kn.location(ctx, deskIndexKey(workplace.DeskID(c.ResourceID)))
	}
	if loc == 0 {
		ks.add(tenantRoomAvailEpochKey(), tenantDeskAvailEpochKey())
		return
	}
	switch c.WorkspaceType {
	case workplace.WorkspaceRoom:
		ks.add(roomsKey(loc))
	case workplace.WorkspaceDesk:
		ks.add(desksKey(loc))
	default:
		ks.add(roomsKey(loc), desksKey(loc))
	}
	ks.add(floorPlanEpochKey(loc), roomAvailEpochKey(loc), deskAvailEpochKey(loc))
}

func (s *Service) planVisitor(ctx context.Context, kn *known, ks keyset, c workplace.Change) {
	var idx visitorIndex
	var known bool
	if c.VisitorID != 0 {
		idx, known = kn.visitor(ctx, c.VisitorID)
	}
	loc := c.LocationID
	if loc == 0 && known {
		loc = idx.Loc
	}
	if !c.Date.IsZero() {
		dropVisitorLists(ks, loc, c.Date)
	}
	if known {
		dropVisitorLists(ks, idx.Loc, idx.Date)
	}
	if c.Date.IsZero() && !known {
		dropVisitorLists(ks, loc, s.fallbackDays()...)
	}
}

// dropRoomDays adds a room's days and its location's room availability;
// the location comes from the room index, else loc, else the tenant-wide
// epoch stands in for it.
func (s *Service) dropRoomDays(ctx context.Context, kn *known, ks keyset, room workplace.RoomID, loc workplace.LocationID, days []workplace.Date) {
	if room == 0 {
		ks.add(tenantRoomAvailEpochKey())
		return
	}
	for _, d := range days {
		ks.add(roomDayKey(room, d))
	}
	if l := kn.location(ctx, roomIndexKey(room)); l != 0 {
		loc = l
	}
	if loc != 0 {
		ks.add(roomAvailEpochKey(loc))
	} else {
		ks.add(tenantRoomAvailEpochKey())
	}
}

// dropDeskDays adds a desk's days and its location's desk availability.
func (s *Service) dropDeskDays(ctx context.Context, kn *known, ks keyset, desk workplace.DeskID, days []workplace.Date) {
	if desk == 0 {
		ks.add(tenantDeskAvailEpochKey())
		return
	}
	for _, d := range days {
		ks.add(deskDayKey(desk, d))
	}
	if loc := kn.location(ctx, deskIndexKey(desk)); loc != 0 {
		ks.add(deskAvailEpochKey(loc))
	} else {
		ks.add(tenantDeskAvailEpochKey())
	}
}

// dropFacts adds what a booking with these facts touches, its end pushed to
// newEnd when that is later.
func (s *Service) dropFacts(ctx context.Context, kn *known, ks keyset, f bookingFacts, newEnd time.Time) {
	s.dropRoomDays(ctx, kn, ks, f.Room, f.Loc, factDays(f, newEnd))
}

// maxFactDays bounds the days one booking can drop, against a nonsense end.
const maxFactDays = 31

func factDays(f bookingFacts, newEnd time.Time) []workplace.Date {
	if f.Start.IsZero() {
		return nil
	}
	end := f.End
	if newEnd.After(end) {
		end = newEnd
	}
	first, last := localDays(f.Start, end)
	if first.DaysUntil(last) >= maxFactDays {
		last = first.AddDays(maxFactDays - 1)
	}
	return dayRange(first, last)
}

// fallbackDays is the bounded window dropped when a change says neither
// its day nor anything the cache knows: yesterday to today+14 in UTC, which
// holds today..today+13 of every zone (UTC-12 to UTC+14).
func (s *Service) fallbackDays() []workplace.Date {
	today := workplace.DateOf(s.now().UTC())
	return dayRange(today.AddDays(-1), today.AddDays(workplace.MaxWindowDays))
}

// keyset collects keys to invalidate without duplicates.
type keyset map[string]struct{}

func (k keyset) add(keys ...string) {
	for _, key := range keys {
		k[key] = struct{}{}
	}
}

func (k keyset) list() []string {
	out := make([]string, 0, len(k))
	for key := range k {
		out = append(out, key)
	}
	slices.Sort(out)
	return out
}

func (s *Service) indexItem(key string, v any, ttl time.Duration) Item {
	b, _ := json.Marshal(v) // index values are plain structs of numbers
	return Item{Key: key, Value: b, TTL: ttl, Unconditional: true}
}

// known reads the cache's indexes for an invalidation, each key at most
// once; with the store down, nothing is known.
type known struct {
	s *Service
	m map[string]Entry
}

func (s *Service) newKnown() *known { return &known{s: s, m: map[string]Entry{}} }

// need reads the keys not read yet, in one round trip.
func (k *known) need(ctx context.Context, keys ...string) {
	var missing []string
	for _, key := range keys {
		if _, ok := k.m[key]; !ok && !slices.Contains(missing, key) {
			missing = append(missing, key)
		}
	}
	if len(missing) == 0 {
		return
	}
	es, ok := k.s.storeGet(ctx, missing)
	for i, key := range missing {
		if ok {
			k.m[key] = es[i]
		} else {
			k.m[key] = Entry{}
		}
	}
}

func (k *known) value(ctx context.Context, key string) ([]byte, bool) {
	k.need(ctx, key)
	e := k.m[key]
	return e.Value, e.Found
}

// booking returns the facts of a cached booking, from its index or its
// entity.
func (k *known) booking(ctx context.Context, id workplace.BookingID) (bookingFacts, bool) {
	k.need(ctx, bookingIndexKey(id), bookingKey(id))
	if v, ok := k.value(ctx, bookingIndexKey(id)); ok {
		if f, err := k.s.codecs.bookingFacts.dec(v); err == nil {
			return f, true
		}
	}
	if v, ok := k.value(ctx, bookingKey(id)); ok {
		if b, err := k.s.codecs.booking.dec(v); err == nil {
			return factsOf(b), true
		}
	}
	return bookingFacts{}, false
}

// location reads a room or desk index; 0 when unknown.
func (k *known) location(ctx context.Context, key string) workplace.LocationID {
	var idx roomIndex
	if v, ok := k.value(ctx, key); ok && json.Unmarshal(v, &idx) == nil {
		return idx.Loc
	}
	return 0
}

func (k *known) deskBooking(ctx context.Context, id workplace.DeskBookingID) (deskBookingIndex, bool) {
	var idx deskBookingIndex
	v, ok := k.value(ctx, deskBookingIndexKey(id))
	return idx, ok && json.Unmarshal(v, &idx) == nil
}

func (k *known) visitor(ctx context.Context, id workplace.VisitorID) (visitorIndex, bool) {
	var idx visitorIndex
	v, ok := k.value(ctx, visitorIndexKey(id))
	return idx, ok && json.Unmarshal(v, &idx) == nil
}
