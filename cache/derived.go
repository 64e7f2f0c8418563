package cache

// Derived answers: free slots, available rooms and available desks worked
// out from the mirror's held days instead of asked of Engage. Engage
// answers them from its bookings; where the mirror holds the bookings of
// every workspace the answer depends on, on every day it depends on, the
// same answer follows from them at no upstream call, and it is exact from a
// change's acknowledgement on, as the held days are. Anywhere else (no
// mirror, not live yet, a workspace or day not held, a query Engage would
// reject) the query passes through, cached by epoch as without a mirror.
//
// The rules are the simulator's reading of Engage's (engagesim/bookings.go
// and desks.go): a booking holds its room from its set-up before the start
// to its clean-down after the end, or after the actual end once a meeting
// ended early; a desk booking that is not released holds its desk for its
// morning, afternoon or whole local day; a free slot is a gap between those
// spans inside the window; a room is available when it is free for the
// whole window; a desk is available when nothing holds it on any of the
// days asked. DERIVED.md lists where an answer could differ from Engage's.

import (
	"context"
	"slices"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// maxAvailabilityPage is the largest pageSize Engage honours; a larger one
// is clamped to it [C name, X semantics].
const maxAvailabilityPage = 500

// heldChunk bounds the keys of one store round trip of a derived answer, so
// a large location's read stays well inside the store's timeout.
const heldChunk = 1000

// The availability queries, as MirrorOptions.OnAnswer names them.
const (
	AnswerFreeSlots      = "freeSlots"
	AnswerAvailableRooms = "availableRooms"
	AnswerAvailableDesks = "availableDesks"
)

// answered tells the mirror's accounting how an availability query was
// answered; a StoreOnly peek that could not derive it is the read that
// follows it's to count.
func (s *Service) answered(ctx context.Context, query string, derived bool) {
	if s.mirror != nil && (derived || !workplace.IsStoreOnly(ctx)) {
		s.mirror.opts.OnAnswer(query, derived)
	}
}

// span is a period [from, to).
type span struct{ from, to time.Time }

// derivable reports whether the mirror may answer: it is on, and live
// (notifications keep what it holds).
func (s *Service) derivable() bool { return s.mirror != nil && s.mirror.live.Load() }

// answerWindow is the window Engage would read: the instants to the second,
// as a request sends them. ok is false for a window Engage rejects (no
// start or end, an end not after the start, more than the widest window),
// which it must answer itself.
func answerWindow(from, to time.Time) (time.Time, time.Time, bool) {
	if from.IsZero() || to.IsZero() {
		return time.Time{}, time.Time{}, false
	}
	from, to = from.Truncate(time.Second), to.Truncate(time.Second)
	if !to.After(from) || to.Sub(from) > workplace.MaxWindowDays*24*time.Hour {
		return time.Time{}, time.Time{}, false
	}
	return from, to, true
}

// siteZone is the zone of a location, read through the cache (the mirror's
// worker reads the hierarchy every round, so it is there); false when the
// location is not known.
func (s *Service) siteZone(ctx context.Context, id workplace.LocationID) (*time.Location, bool) {
	locs, err := workplace.AllLocations(ctx, s)
	if err != nil {
		return nil, false
	}
	for _, l := range locs {
		if l.ID == id && l.TimeZone != nil {
			return l.TimeZone, true
		}
	}
	return nil, false
}

// heldLists reads the held days of every subject (ids) and returns each
// subject's items on them, merged without duplicates. ok is false unless
// every one of those days is held: inside the mirror's window and present
// in the store. Nothing goes upstream.
func heldLists[T any](ctx context.Context, s *Service, d dayItems[T], key func(id int64, day workplace.Date) string, ids []int64, days []workplace.Date) ([][]T, bool) {
	for _, day := range days {
		if s.mirror.holdFor(day) == 0 {
			return nil, false
		}
	}
	keys := make([]string, 0, len(ids)*len(days))
	for _, id := range ids {
		for _, day := range days {
			keys = append(keys, key(id, day))
		}
	}
	entries := make([]Entry, 0, len(keys))
	for start := 0; start < len(keys); start += heldChunk {
		es, ok := s.storeGet(ctx, keys[start:min(start+heldChunk, len(keys))])
		if !ok {
			return nil, false
		}
		for _, e := range es {
			if !e.Found {
				return nil, false
			}
		}
		entries = append(entries, es...)
	}
	out := make([][]T, len(ids))
	for i := range ids {
		perDay := make([][]T, len(days))
		for k := range days {
			j := i*len(days) + k
			v, err := decodeKept(s, d.codec, keys[j], entries[j].Value)
			if err != nil {
				return nil, false
			}
			perDay[k] = v
		}
		out[i] = merge(perDay, d.id, d.less)
	}
	return out, true
}

// roomDays are the local days whose held bookings decide a room's time in
// [from, to): those of the window, the day before it (a meeting that began
// then and runs into it, as workplace.LookBehindDays reads) and the day
// after it (a set-up that begins before the booking's day does).
func roomDays(from, to time.Time, zone *time.Location) []workplace.Date {
	first := workplace.DateOf(from.In(zone)).AddDays(-workplace.LookBehindDays)
	return dayRange(first, workplace.DateOf(to.In(zone)).AddDays(1))
}

// heldRooms reads the held bookings of rooms on days; false unless all of
// them are held.
func (s *Service) heldRooms(ctx context.Context, rooms []workplace.Room, days []workplace.Date) ([][]workplace.Booking, bool) {
	ids := make([]int64, len(rooms))
	for i, r := range rooms {
		ids[i] = int64(r.ID)
	}
	return heldLists(ctx, s, s.bookingItems(), func(id int64, d workplace.Date) string { return roomDayKey(workplace.RoomID(id), d) }, ids, days)
}

// heldDesks reads the held bookings of desks on days; false unless all of
// them are held.
func (s *Service) heldDesks(ctx context.Context, desks []workplace.Desk, days []workplace.Date) ([][]workplace.DeskBooking, bool) {
	ids := make([]int64, len(desks))
	for i, d := range desks {
		ids[i] = int64(d.ID)
	}
	return heldLists(ctx, s, s.deskItems(), func(id int64, d workplace.Date) string { return deskDayKey(workplace.DeskID(id), d) }, ids, days)
}

// roomHold is the span a booking holds its room: from its set-up to its
// clean-down after the booked end, or after the actual end when the meeting
// ended early. A deleted booking holds nothing.
func roomHold(b workplace.Booking) (span, bool) {
	if b.Deleted {
		return span{}, false
	}
	end := b.End
	if b.Progress == workplace.MeetingEnded && !b.ActualEnd.IsZero() && b.ActualEnd.Before(b.End) {
		end = b.ActualEnd
	}
	return span{b.Start.Add(-b.Setup), end.Add(b.CleanDown)}, true
}

// roomBusy is the sorted spans bookings hold their room.
func roomBusy(bs []workplace.Booking) []span {
	out := make([]span, 0, len(bs))
	for _, b := range bs {
		if h, ok := roomHold(b); ok {
			out = append(out, h)
		}
	}
	return sortSpans(out)
}

// deskHold is the span a desk booking holds its desk on its local date: the
// morning (to noon), the afternoon (from noon) or the whole day. A released
// booking holds nothing.
func deskHold(b workplace.DeskBooking, zone *time.Location) (span, bool) {
	if b.Status == workplace.DeskReleased {
		return span{}, false
	}
	from, to := 0, 24
	switch b.Type {
	case workplace.DeskMorning:
		to = 12
	case workplace.DeskAfternoon:
		from = 12
	}
	return span{wallHour(b.Date, from, zone), wallHour(b.Date, to, zone)}, true
}

// deskBusy is the sorted spans desk bookings hold their desk.
func deskBusy(bs []workplace.DeskBooking, zone *time.Location) []span {
	out := make([]span, 0, len(bs))
	for _, b := range bs {
		if h, ok := deskHold(b, zone); ok {
			out = append(out, h)
		}
	}
	return sortSpans(out)
}

func sortSpans(ss []span) []span {
	slices.SortFunc(ss, func(a, b span) int { return a.from.Compare(b.from) })
	return ss
}

// wallHour is the instant of hour h (0 … 24) of a local day in zone. An
// hour the clocks pass twice is its later instant, as Engage reads a
// repeated local time; an hour they skip is what time.Date makes of it.
func wallHour(day workplace.Date, h int, zone *time.Location) time.Time {
	t := time.Date(day.Year, day.Month, day.Day, h, 0, 0, 0, zone)
	for _, later := range []time.Duration{2 * time.Hour, time.Hour, 30 * time.Minute} {
		if u := t.Add(later); sameClock(u, t) {
			return u
		}
	}
	return t
}

// sameClock reports whether two instants read the same on their zone's
// wall clock.
func sameClock(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd && a.Hour() == b.Hour() && a.Minute() == b.Minute() && a.Second() == b.Second()
}

// freeWithin is the gaps of [from, to) between busy spans (sorted by
// start): what Engage lists as a resource's free slots.
func freeWithin(busy []span, from, to time.Time) []span {
	var out []span
	at := from
	for _, b := range busy {
		if !b.to.After(at) || !b.from.Before(to) {
			continue
		}
		if b.from.After(at) {
			out = append(out, span{at, b.from})
		}
		at = b.to
	}
	if at.Before(to) {
		out = append(out, span{at, to})
	}
	return out
}

// slotsIn turns free spans into time slots in zone.
func slotsIn(free []span, zone *time.Location) []workplace.TimeSlot {
	out := make([]workplace.TimeSlot, len(free))
	for i, f := range free {
		out[i] = workplace.TimeSlot{Start: f.from.In(zone), End: f.to.In(zone)}
	}
	return out
}

// listOf is a copy of attrs that is never nil: Engage always sends a list.
func listOf(attrs []int) []int {
	if attrs == nil {
		return []int{}
	}
	return slices.Clone(attrs)
}

// hasEvery reports whether have holds every attribute of want.
func hasEvery(have, want []int) bool {
	for _, a := range want {
		if !slices.Contains(have, a) {
			return false
		}
	}
	return true
}

// byRoomID and byDeskID order workspaces as Engage lists them.
func byRoomID(a, b workplace.Room) int { return cmpInt64(int64(a.ID), int64(b.ID)) }
func byDeskID(a, b workplace.Desk) int { return cmpInt64(int64(a.ID), int64(b.ID)) }

// derivedFreeSlots answers q from the mirror; false when it cannot.
func (s *Service) derivedFreeSlots(ctx context.Context, q workplace.FreeSlotQuery) ([]workplace.ResourceFreeSlots, bool) {
	if !s.derivable() {
		return nil, false
	}
	from, to, ok := answerWindow(q.From, q.To)
	if !ok {
		return nil, false
	}
	kind := q.WorkspaceType
	if kind == 0 {
		kind = workplace.WorkspaceRoom // Engage's default resourceType
	}
	if kind != workplace.WorkspaceRoom && kind != workplace.WorkspaceDesk {
		return nil, false
	}
	zone, ok := s.siteZone(ctx, q.LocationID)
	if !ok {
		return nil, false
	}
	onFloor := func(floor int) bool { return q.Floor == nil || *q.Floor == floor }
	type resource struct {
		id    int64
		floor int
		busy  []span
	}
	var res []resource
	if kind == workplace.WorkspaceRoom {
		all, err := s.Rooms(ctx, q.LocationID)
		if err != nil {
			return nil, false
		}
		rooms := slices.DeleteFunc(slices.Clone(all), func(r workplace.Room) bool { return !onFloor(r.Floor) })
		slices.SortFunc(rooms, byRoomID)
		lists, ok := s.heldRooms(ctx, rooms, roomDays(from, to, zone))
		if !ok {
			return nil, false
		}
		for i, r := range rooms {
			res = append(res, resource{int64(r.ID), r.Floor, roomBusy(lists[i])})
		}
	} else {
		all, err := s.Desks(ctx, q.LocationID)
		if err != nil {
			return nil, false
		}
		desks := slices.DeleteFunc(slices.Clone(all), func(d workplace.Desk) bool { return !onFloor(d.Floor) })
		slices.SortFunc(desks, byDeskID)
		days := dayRange(workplace.DateOf(from.In(zone)), workplace.DateOf(to.In(zone)))
		lists, ok := s.heldDesks(ctx, desks, days)
		if !ok {
			return nil, false
		}
		for i, d := range desks {
			res = append(res, resource{int64(d.ID), d.Floor, deskBusy(lists[i], zone)})
		}
	}
	out := []workplace.ResourceFreeSlots{}
	for _, r := range res {
		free := freeWithin(r.busy, from, to)
		if len(free) == 0 {
			continue // Engage leaves out a workspace with no free slot
		}
		out = append(out, workplace.ResourceFreeSlots{LocationID: q.LocationID, Floor: r.floor, ResourceID: r.id, WorkspaceType: kind, Slots: slotsIn(free, zone)})
	}
	return out, true
}

// derivedAvailableRooms answers q from the mirror; false when it cannot.
// Only the rooms the group and attributes let through need be held.
func (s *Service) derivedAvailableRooms(ctx context.Context, q workplace.AvailableRoomsQuery) ([]workplace.AvailableRoom, bool) {
	if !s.derivable() {
		return nil, false
	}
	from, to, ok := answerWindow(q.From, q.To)
	if !ok {
		return nil, false
	}
	zone, ok := s.siteZone(ctx, q.LocationID)
	if !ok {
		return nil, false
	}
	all, err := s.Rooms(ctx, q.LocationID)
	if err != nil {
		return nil, false
	}
	rooms := slices.DeleteFunc(slices.Clone(all), func(r workplace.Room) bool {
		return q.GroupID != 0 && r.GroupID != q.GroupID || !hasEvery(r.Attributes, q.Attributes)
	})
	slices.SortFunc(rooms, byRoomID)
	lists, ok := s.heldRooms(ctx, rooms, roomDays(from, to, zone))
	if !ok {
		return nil, false
	}
	out := []workplace.AvailableRoom{}
	for i, r := range rooms {
		free := freeWithin(roomBusy(lists[i]), from, to)
		if len(free) != 1 || !free[0].from.Equal(from) || !free[0].to.Equal(to) {
			continue
		}
		out = append(out, workplace.AvailableRoom{RoomID: r.ID, Name: r.Name, Capacity: r.Capacity, Floor: r.Floor,
			LocationID: q.LocationID, Attributes: listOf(r.Attributes)})
	}
	return out, true
}

// derivedAvailableDesks answers q from the mirror; false when it cannot.
// Only the desks the group lets through need be held, on the days asked.
func (s *Service) derivedAvailableDesks(ctx context.Context, q workplace.AvailableDesksQuery) ([]workplace.AvailableDesk, bool) {
	if !s.derivable() || len(q.Days) == 0 {
		return nil, false
	}
	var days []workplace.Date
	for _, d := range q.Days {
		if d.Date.IsZero() {
			return nil, false
		}
		if !slices.Contains(days, d.Date) {
			days = append(days, d.Date)
		}
	}
	if _, ok := s.siteZone(ctx, q.LocationID); !ok {
		return nil, false
	}
	all, err := s.Desks(ctx, q.LocationID)
	if err != nil {
		return nil, false
	}
	desks := slices.DeleteFunc(slices.Clone(all), func(d workplace.Desk) bool { return q.GroupID != 0 && d.GroupID != q.GroupID })
	slices.SortFunc(desks, byDeskID)
	lists, ok := s.heldDesks(ctx, desks, days)
	if !ok {
		return nil, false
	}
	free := []workplace.AvailableDesk{}
	for i, d := range desks {
		// A booking holds its desk on its own date, whatever part of the
		// day it books or is asked for.
		taken := slices.ContainsFunc(lists[i], func(b workplace.DeskBooking) bool {
			return b.Status != workplace.DeskReleased && slices.Contains(days, b.Date)
		})
		if !taken {
			free = append(free, workplace.AvailableDesk{DeskID: d.ID, Name: d.Name, Attributes: listOf(d.Attributes), Floor: d.Floor, GroupID: d.GroupID})
		}
	}
	return pageOf(free, q.PageNumber, q.PageSize), true
}

// pageOf is page number (1-based) of size of items; number or size 0 (or
// less) means all of them.
func pageOf[T any](items []T, number, size int) []T {
	if number <= 0 || size <= 0 {
		return items
	}
	size = min(size, maxAvailabilityPage)
	first := (number - 1) * size
	if first >= len(items) {
		return []T{}
	}
	return items[first:min(first+size, len(items))]
}
