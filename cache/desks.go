package cache

// Desk bookings: cached per desk per day, available desks per location; the
// writes invalidate what they touch before they return.

import (
	"context"
	"slices"

	"github.com/engagegql/gateway/workplace"
)

func (s *Service) deskItems() dayItems[workplace.DeskBooking] {
	return dayItems[workplace.DeskBooking]{
		codec: s.codecs.deskBookings,
		ttl:   s.ttl.DeskBookings,
		// A desk booking is on its date; one until further notice is on
		// every day from its date on.
		days: func(b workplace.DeskBooking, from, to workplace.Date) []workplace.Date {
			last := b.Date
			if b.UntilFurtherNotice && last.Before(to) {
				last = to
			}
			return clampDays(b.Date, last, from, to)
		},
		id: func(b workplace.DeskBooking) int64 { return int64(b.ID) },
		less: func(a, b workplace.DeskBooking) int {
			switch {
			case a.Date.Before(b.Date):
				return -1
			case a.Date.After(b.Date):
				return 1
			}
			return int(a.ID - b.ID)
		},
		index: func(bs []workplace.DeskBooking) []Item {
			out := make([]Item, 0, len(bs))
			for _, b := range bs {
				out = append(out, s.indexItem(deskBookingIndexKey(b.ID), deskBookingIndex{Desk: b.DeskID, Date: b.Date}, max(s.ttl.DeskBookings, s.holdFor(b.Date))))
			}
			return out
		},
		hold: s.holdFor,
	}
}

// DeskBookings implements workplace.DeskBookings from the desk's day
// entries.
func (s *Service) DeskBookings(ctx context.Context, deskID workplace.DeskID, from, to workplace.Date) ([]workplace.DeskBooking, error) {
	v, errs := s.DeskBookingsMany(ctx, []workplace.DeskWindow{{Desk: deskID, From: from, To: to}})
	return v[0], errs[0]
}

// DeskBookingsMany implements workplace.ManyReader like BookingsMany.
func (s *Service) DeskBookingsMany(ctx context.Context, windows []workplace.DeskWindow) ([][]workplace.DeskBooking, []error) {
	ws := make([]dayWindow, len(windows))
	widened := false
	for i, w := range windows {
		from, to := s.widenDeskWindow(ctx, w.From, w.To)
		widened = widened || from != w.From || to != w.To
		ws[i] = dayWindow{from: from, to: to,
			key: func(d workplace.Date) string { return deskDayKey(w.Desk, d) },
			fetch: func(ctx context.Context, from, to workplace.Date) (any, error) {
				s.called(ctx, "deskBookings")
				if s.mirror != nil && !byWorker(ctx) {
					s.mirror.track(ctx, w.Desk)
				}
				return s.inner.DeskBookings(ctx, w.Desk, from, to)
			}}
	}
	out, errs := readDays(ctx, s, s.deskItems(), ws)
	if widened {
		for i, w := range windows {
			out[i] = slices.DeleteFunc(out[i], func(b workplace.DeskBooking) bool {
				return b.Date.After(w.To) || (b.Date.Before(w.From) && !b.UntilFurtherNotice)
			})
		}
	}
	return out, errs
}

// widenDeskWindow is the window a reader's desk window is read as: with a
// live mirror, a window inside one of the two fortnights the mirror holds
// of a desk (see bookingSpan) is read as that whole fortnight, so a desk's
// first read, which the mirror then keeps, leaves the worker one call to
// fill the other.
func (s *Service) widenDeskWindow(ctx context.Context, from, to workplace.Date) (workplace.Date, workplace.Date) {
	if s.mirror == nil || byWorker(ctx) || s.holdFor(from) == 0 || s.holdFor(to) == 0 || to.Before(from) {
		return from, to
	}
	first, _, ahead := bookingSpan.days(s.now())
	for start := first; !start.After(ahead); start = start.AddDays(workplace.MaxWindowDays) {
		last := start.AddDays(workplace.MaxWindowDays - 1)
		if last.After(ahead) {
			last = ahead
		}
		if !from.Before(start) && !to.After(last) {
			return start, last
		}
	}
	return from, to
}

// AvailableDesks implements workplace.DeskBookings, derived from the
// mirror where it holds every desk asked about (derived.go). Otherwise
// answers carry the location's desk availability epoch and the tenant-wide
// one; their last-known-good copies do not, like FreeSlots'.
func (s *Service) AvailableDesks(ctx context.Context, q workplace.AvailableDesksQuery) ([]workplace.AvailableDesk, error) {
	v, ok := s.derivedAvailableDesks(ctx, q)
	s.answered(ctx, AnswerAvailableDesks, ok)
	if ok {
		return v, nil
	}
	ep, ok := s.epochs(ctx, deskAvailEpochKey(q.LocationID), tenantDeskAvailEpochKey())
	if !ok {
		return s.inner.AvailableDesks(ctx, q)
	}
	return readOne(ctx, s, s.codecs.availableDesks, fill[[]workplace.AvailableDesk]{key: availableDesksKey(ep, q), ttl: s.ttl.Availability,
		shadow: shadowKey(availableDesksKey([]int64{anyEpoch}, q)),
		fetch:  func(ctx context.Context) ([]workplace.AvailableDesk, error) { return s.inner.AvailableDesks(ctx, q) }})
}

// CreateDeskBookings implements workplace.DeskBookings.
func (s *Service) CreateDeskBookings(ctx context.Context, b workplace.NewDeskBooking) ([]workplace.DeskBookingID, error) {
	ids, err := s.inner.CreateDeskBookings(ctx, b)
	days := make([]workplace.Date, 0, len(b.Days))
	for _, d := range b.Days {
		days = append(days, d.Date)
	}
	ks := keyset{}
	s.dropDeskDays(ctx, s.newKnown(), ks, b.DeskID, slices.Compact(days))
	_ = s.invalidateWrite(ctx, ks)
	return ids, err
}

// CancelDeskBooking implements workplace.DeskBookings. The desk comes from
// the cache's index of desk bookings it has listed.
func (s *Service) CancelDeskBooking(ctx context.Context, id workplace.DeskBookingID, userID workplace.UserID, date workplace.Date) error {
	kn := s.newKnown()
	kn.need(ctx, deskBookingIndexKey(id))
	err := s.inner.CancelDeskBooking(ctx, id, userID, date)
	ks := keyset{}
	s.planDeskBooking(ctx, kn, ks, workplace.Change{Kind: workplace.KindDeskBooking, DeskBookingID: id, Date: date})
	if err == nil {
		_ = s.invalidateWrite(ctx, ks, int64(id))
	} else {
		_ = s.invalidateWrite(ctx, ks)
	}
	return err
}

// ProgressDeskBooking implements workplace.DeskBookings.
func (s *Service) ProgressDeskBooking(ctx context.Context, id workplace.DeskBookingID, userID workplace.UserID, action workplace.DeskAction) error {
	kn := s.newKnown()
	kn.need(ctx, deskBookingIndexKey(id))
	err := s.inner.ProgressDeskBooking(ctx, id, userID, action)
	ks := keyset{}
	s.planDeskBooking(ctx, kn, ks, workplace.Change{Kind: workplace.KindDeskBooking, DeskBookingID: id})
	_ = s.invalidateWrite(ctx, ks)
	return err
}
