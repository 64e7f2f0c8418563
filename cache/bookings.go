package cache

// Room bookings: cached per room per local day, bookings by id, and the
// availability answers of a location; the writes invalidate what they touch
// before they return.

import (
	"context"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// localDays returns the first and last local day a booking covers, in the
// zone of its start (the location's zone). A booking that ends exactly at
// midnight does not cover the day that midnight begins.
func localDays(start, end time.Time) (first, last workplace.Date) {
	first = workplace.DateOf(start)
	if !end.After(start) {
		return first, first
	}
	e := end.In(start.Location())
	last = workplace.DateOf(e)
	if e.Equal(last.In(start.Location())) {
		last = last.AddDays(-1)
	}
	if last.Before(first) {
		last = first
	}
	return first, last
}

// dayRange lists the days first..last.
func dayRange(first, last workplace.Date) []workplace.Date {
	var out []workplace.Date
	for d := first; !d.After(last); d = d.AddDays(1) {
		out = append(out, d)
	}
	return out
}

// clampDays lists the days of first..last inside from..to. An item the
// upstream returned for a window but lying outside it (it should not
// happen) goes to the nearest day of the window rather than being lost.
func clampDays(first, last, from, to workplace.Date) []workplace.Date {
	switch {
	case last.Before(from):
		return []workplace.Date{from}
	case first.After(to):
		return []workplace.Date{to}
	}
	if first.Before(from) {
		first = from
	}
	if last.After(to) {
		last = to
	}
	return dayRange(first, last)
}

func (s *Service) bookingItems() dayItems[workplace.Booking] {
	return dayItems[workplace.Booking]{
		codec: s.codecs.bookings,
		ttl:   s.ttl.Bookings,
		days: func(b workplace.Booking, from, to workplace.Date) []workplace.Date {
			first, last := localDays(b.Start, b.End)
			return clampDays(first, last, from, to)
		},
		id:    func(b workplace.Booking) int64 { return int64(b.ID) },
		less:  func(a, b workplace.Booking) int { return a.Start.Compare(b.Start) },
		index: s.bookingIndex,
		hold:  s.holdFor,
	}
}

// bookingIndex records, for each booking read, the facts invalidation needs
// (room, location, days) and the room's location.
func (s *Service) bookingIndex(bs []workplace.Booking) []Item {
	out := make([]Item, 0, 2*len(bs))
	rooms := map[workplace.RoomID]bool{}
	for _, b := range bs {
		if v, err := s.codecs.bookingFacts.enc(factsOf(b)); err == nil {
			// Held days keep their bookings' facts as long as they are
			// held, so the gateway's own writes need not look them up.
			ttl := s.ttl.Bookings
			if _, last := localDays(b.Start, b.End); s.holdFor(last) > ttl {
				ttl = s.holdFor(last)
			}
			out = append(out, Item{Key: bookingIndexKey(b.ID), Value: v, TTL: ttl, Unconditional: true})
		}
		if b.LocationID != 0 && !rooms[b.RoomID] {
			rooms[b.RoomID] = true
			out = append(out, s.indexItem(roomIndexKey(b.RoomID), roomIndex{Loc: b.LocationID}, s.ttl.Resources))
		}
	}
	return out
}

// Bookings implements workplace.Bookings from the room's day entries.
func (s *Service) Bookings(ctx context.Context, roomID workplace.RoomID, from, to workplace.Date) ([]workplace.Booking, error) {
	v, errs := s.BookingsMany(ctx, []workplace.RoomWindow{{Room: roomID, From: from, To: to}})
	return v[0], errs[0]
}

// BookingsMany implements workplace.ManyReader: one store round trip for
// every room-day of every window, one upstream call per window for its
// missing span.
func (s *Service) BookingsMany(ctx context.Context, windows []workplace.RoomWindow) ([][]workplace.Booking, []error) {
	ws := make([]dayWindow, len(windows))
	for i, w := range windows {
		ws[i] = dayWindow{from: w.From, to: w.To,
			key: func(d workplace.Date) string { return roomDayKey(w.Room, d) },
			fetch: func(ctx context.Context, from, to workplace.Date) (any, error) {
				s.called(ctx, "roomBookings")
				return s.inner.Bookings(ctx, w.Room, from, to)
			}}
	}
	return readDays(ctx, s, s.bookingItems(), ws)
}

// Booking implements workplace.Bookings.
func (s *Service) Booking(ctx context.Context, id workplace.BookingID) (workplace.Booking, error) {
	v, errs := s.BookingMany(ctx, []workplace.BookingID{id})
	return v[0], errs[0]
}

// BookingMany implements workplace.ManyReader. A booking missing from the
// cache that lies on a day the mirror holds is taken from that day, and
// cached as a read would cache it (so its last-known-good copy serves it
// while Engage is down); the rest read through.
func (s *Service) BookingMany(ctx context.Context, ids []workplace.BookingID) ([]workplace.Booking, []error) {
	fills := make([]fill[workplace.Booking], len(ids))
	for i, id := range ids {
		fills[i] = fill[workplace.Booking]{key: bookingKey(id), ttl: s.ttl.Bookings,
			fetch: func(ctx context.Context) (workplace.Booking, error) {
				if bs, held := s.heldBookings(ctx, []workplace.BookingID{id}); held[0] {
					return bs[0], nil
				}
				return s.inner.Booking(ctx, id)
			},
			index: func(b workplace.Booking) []Item { return s.bookingIndex([]workplace.Booking{b}) }}
	}
	return readMany(ctx, s, s.codecs.booking, fills)
}

// heldBookings finds bookings in the mirror's held days: a booking whose
// facts are indexed, on a day held and present in the store that lists
// it, is that day's copy, which notifications keep exact. held[i] is
// false where the read must go through (no live mirror, facts or day
// unknown, or the day does not list it: moved or gone). Nothing goes
// upstream.
func (s *Service) heldBookings(ctx context.Context, ids []workplace.BookingID) (out []workplace.Booking, held []bool) {
	out, held = make([]workplace.Booking, len(ids)), make([]bool, len(ids))
	if !s.derivable() || len(ids) == 0 {
		return out, held
	}
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = bookingIndexKey(id)
	}
	es, ok := s.storeGet(ctx, keys)
	if !ok {
		return out, held
	}
	var at []int
	var dayKeys []string
	for i, e := range es {
		if !e.Found {
			continue
		}
		f, err := decodeKept(s, s.codecs.bookingFacts, keys[i], e.Value)
		if err != nil || f.Room == 0 || f.Start.IsZero() {
			continue
		}
		if day := workplace.DateOf(f.Start); s.holdFor(day) > 0 {
			at = append(at, i)
			dayKeys = append(dayKeys, roomDayKey(f.Room, day))
		}
	}
	days, ok := s.storeGet(ctx, dayKeys)
	if !ok {
		return out, held
	}
	for k, e := range days {
		if !e.Found {
			continue
		}
		bs, err := decodeKept(s, s.codecs.bookings, dayKeys[k], e.Value)
		if err != nil {
			continue
		}
		for _, b := range bs {
			if i := at[k]; b.ID == ids[i] {
				out[i], held[i] = b, true
				break
			}
		}
	}
	return out, held
}

// FreeSlots implements workplace.Bookings. Where the mirror holds what
// the answer depends on, it is worked out from that (derived.go).
// Otherwise answers carry the location's room and/or desk availability
// epochs (by workspace type) and the tenant-wide ones; their
// last-known-good copies do not, so a copy survives the epochs' bumps as
// other copies survive invalidation.
func (s *Service) FreeSlots(ctx context.Context, q workplace.FreeSlotQuery) ([]workplace.ResourceFreeSlots, error) {
	v, ok := s.derivedFreeSlots(ctx, q)
	s.answered(ctx, AnswerFreeSlots, ok)
	if ok {
		return v, nil
	}
	var eks []string
	if q.WorkspaceType != workplace.WorkspaceDesk {
		eks = append(eks, roomAvailEpochKey(q.LocationID), tenantRoomAvailEpochKey())
	}
	if q.WorkspaceType != workplace.WorkspaceRoom {
		eks = append(eks, deskAvailEpochKey(q.LocationID), tenantDeskAvailEpochKey())
	}
	ep, ok := s.epochs(ctx, eks...)
	if !ok {
		return s.inner.FreeSlots(ctx, q)
	}
	return readOne(ctx, s, s.codecs.freeSlots, fill[[]workplace.ResourceFreeSlots]{key: freeSlotsKey(ep, q), ttl: s.ttl.Availability,
		shadow: shadowKey(freeSlotsKey([]int64{anyEpoch}, q)),
		fetch:  func(ctx context.Context) ([]workplace.ResourceFreeSlots, error) { return s.inner.FreeSlots(ctx, q) }})
}

// AvailableRooms implements workplace.Bookings, derived from the mirror
// or keyed like FreeSlots.
func (s *Service) AvailableRooms(ctx context.Context, q workplace.AvailableRoomsQuery) ([]workplace.AvailableRoom, error) {
	v, ok := s.derivedAvailableRooms(ctx, q)
	s.answered(ctx, AnswerAvailableRooms, ok)
	if ok {
		return v, nil
	}
	ep, ok := s.epochs(ctx, roomAvailEpochKey(q.LocationID), tenantRoomAvailEpochKey())
	if !ok {
		return s.inner.AvailableRooms(ctx, q)
	}
	return readOne(ctx, s, s.codecs.availableRooms, fill[[]workplace.AvailableRoom]{key: availableRoomsKey(ep, q), ttl: s.ttl.Availability,
		shadow: shadowKey(availableRoomsKey([]int64{anyEpoch}, q)),
		fetch:  func(ctx context.Context) ([]workplace.AvailableRoom, error) { return s.inner.AvailableRooms(ctx, q) }})
}

// CreateBooking implements workplace.Bookings. The new booking's days are
// taken from its times widened by a day each way, because a NewBooking does
// not say the room's zone.
func (s *Service) CreateBooking(ctx context.Context, nb workplace.NewBooking) (workplace.BookingID, error) {
	id, err := s.inner.CreateBooking(ctx, nb)
	kn := s.newKnown()
	ks := keyset{}
	if id != 0 {
		ks.add(bookingKey(id), bookingIndexKey(id))
	}
	first, last := localDays(nb.Start, nb.End)
	s.dropRoomDays(ctx, kn, ks, nb.RoomID, 0, dayRange(first.AddDays(-1), last.AddDays(1)))
	_ = s.invalidateWrite(ctx, ks)
	return id, err
}

// UpdateBooking implements workplace.Bookings. The booking may move to
// another room or day, so the days it covered before (from the cache, or
// else the upstream) and after are both dropped.
func (s *Service) UpdateBooking(ctx context.Context, id workplace.BookingID, c workplace.BookingChange) (workplace.Booking, error) {
	kn := s.newKnown()
	before, known := s.bookingFactsFor(ctx, kn, id)
	b, err := s.inner.UpdateBooking(ctx, id, c)
	ks := keyset{}
	ks.add(bookingKey(id), bookingIndexKey(id))
	if known {
		s.dropFacts(ctx, kn, ks, before, time.Time{})
	}
	if err == nil {
		s.dropFacts(ctx, kn, ks, factsOf(b), time.Time{})
	} else if c.RoomID != 0 || !c.Start.IsZero() {
		room := c.RoomID
		if room == 0 && known {
			room = before.Room
		}
		start, end := c.Start, c.End
		if start.IsZero() && known {
			start, end = before.Start, before.End
		}
		first, last := localDays(start, end)
		s.dropRoomDays(ctx, kn, ks, room, 0, dayRange(first.AddDays(-1), last.AddDays(1)))
	} else if !known {
		ks.add(tenantRoomAvailEpochKey())
	}
	_ = s.invalidateWrite(ctx, ks)
	return b, err
}

// ProgressMeeting implements workplace.Bookings. An extension can push the
// meeting past midnight, so the days up to the new end are dropped too.
func (s *Service) ProgressMeeting(ctx context.Context, id workplace.BookingID, userID workplace.UserID, action workplace.MeetingAction, extendMinutes int) error {
	kn := s.newKnown()
	before, known := s.bookingFactsFor(ctx, kn, id)
	err := s.inner.ProgressMeeting(ctx, id, userID, action, extendMinutes)
	ks := keyset{}
	ks.add(bookingKey(id), bookingIndexKey(id))
	if known {
		var newEnd time.Time
		if action == workplace.MeetingExtend {
			newEnd = before.End.Add(time.Duration(extendMinutes) * time.Minute)
		}
		s.dropFacts(ctx, kn, ks, before, newEnd)
	} else {
		ks.add(tenantRoomAvailEpochKey())
	}
	_ = s.invalidateWrite(ctx, ks)
	return err
}

// CancelBooking implements workplace.Bookings.
func (s *Service) CancelBooking(ctx context.Context, id workplace.BookingID, userID workplace.UserID) error {
	kn := s.newKnown()
	before, known := s.bookingFactsFor(ctx, kn, id)
	err := s.inner.CancelBooking(ctx, id, userID)
	ks := keyset{}
	ks.add(bookingKey(id), bookingIndexKey(id))
	if known {
		s.dropFacts(ctx, kn, ks, before, time.Time{})
	} else {
		ks.add(tenantRoomAvailEpochKey())
	}
	if err == nil {
		_ = s.invalidateWrite(ctx, ks, int64(id))
	} else {
		_ = s.invalidateWrite(ctx, ks)
	}
	return err
}

// bookingFactsFor learns a booking's room, location and days before a
// write: from the cache's index or entity, else from the upstream.
func (s *Service) bookingFactsFor(ctx context.Context, kn *known, id workplace.BookingID) (bookingFacts, bool) {
	if f, ok := kn.booking(ctx, id); ok {
		return f, true
	}
	b, err := s.inner.Booking(ctx, id)
	if err != nil {
		return bookingFacts{}, false
	}
	return factsOf(b), true
}
