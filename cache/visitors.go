package cache

// Visitors: the plain list of a day at a location (or at all locations) is
// cached; any other query passes through.

import (
	"context"

	"github.com/engagegql/gateway/workplace"
)

// plainVisitorQuery reports whether q is the one form the cache keeps: a
// day and a location (0 = all), no filter, no paging.
func plainVisitorQuery(q workplace.VisitorQuery) bool {
	return !q.Date.IsZero() && q.Status == nil && q.CountryID == 0 && q.RegionID == 0 && q.Floor == nil &&
		q.RoomID == 0 && q.HostEmail == "" && q.PageNumber == 0 && q.PageSize == 0
}

// Visitors implements workplace.Visitors. Caching a list also records each
// visitor's day and location, so a write naming only the visitor id drops
// the right lists.
func (s *Service) Visitors(ctx context.Context, q workplace.VisitorQuery) (workplace.VisitorPage, error) {
	if !plainVisitorQuery(q) {
		return s.inner.Visitors(ctx, q)
	}
	return readOne(ctx, s, s.codecs.visitors, fill[workplace.VisitorPage]{key: visitorsKey(q.Date, q.LocationID), ttl: s.ttl.Visitors,
		fetch: func(ctx context.Context) (workplace.VisitorPage, error) { return s.inner.Visitors(ctx, q) },
		index: func(p workplace.VisitorPage) []Item {
			out := make([]Item, 0, len(p.Visitors))
			for _, v := range p.Visitors {
				loc := v.LocationID
				if loc == 0 {
					loc = q.LocationID
				}
				out = append(out, s.indexItem(visitorIndexKey(v.ID), visitorIndex{Loc: loc, Date: q.Date}, s.ttl.Visitors))
			}
			return out
		}})
}

// dropVisitorLists adds the lists of (day, location) and (day, all
// locations) for each day.
func dropVisitorLists(ks keyset, loc workplace.LocationID, days ...workplace.Date) {
	for _, d := range days {
		if loc != 0 {
			ks.add(visitorsKey(d, loc))
		}
		ks.add(visitorsKey(d, 0))
	}
}

// widened lists the day of t and the days either side: a NewVisitor's
// arrival may not be in the location's zone.
func widened(d workplace.Date) []workplace.Date {
	return []workplace.Date{d.AddDays(-1), d, d.AddDays(1)}
}

// RegisterVisitor implements workplace.Visitors.
func (s *Service) RegisterVisitor(ctx context.Context, v workplace.NewVisitor) (workplace.VisitorID, error) {
	id, err := s.inner.RegisterVisitor(ctx, v)
	ks := keyset{}
	if !v.Arrival.IsZero() {
		dropVisitorLists(ks, v.LocationID, widened(workplace.DateOf(v.Arrival))...)
	}
	_ = s.storeInvalidate(ctx, ks.list())
	return id, err
}

// UpdateVisitor implements workplace.Visitors: the lists of the visit's old
// day (from the cache's index) and new day are dropped.
func (s *Service) UpdateVisitor(ctx context.Context, id workplace.VisitorID, v workplace.NewVisitor) (workplace.Visitor, error) {
	kn := s.newKnown()
	kn.need(ctx, visitorIndexKey(id))
	got, err := s.inner.UpdateVisitor(ctx, id, v)
	ks := keyset{}
	c := workplace.Change{Kind: workplace.KindVisitor, VisitorID: id}
	if err == nil && !got.Arrival.IsZero() {
		c.Date, c.LocationID = workplace.DateOf(got.Arrival), got.LocationID
	}
	s.planVisitor(ctx, kn, ks, c)
	if !v.Arrival.IsZero() {
		dropVisitorLists(ks, v.LocationID, widened(workplace.DateOf(v.Arrival))...)
	}
	_ = s.storeInvalidate(ctx, ks.list())
	return got, err
}

// SetVisitorStatus implements workplace.Visitors.
func (s *Service) SetVisitorStatus(ctx context.Context, id workplace.VisitorID, action workplace.VisitorAction) (workplace.Visitor, error) {
	kn := s.newKnown()
	kn.need(ctx, visitorIndexKey(id))
	got, err := s.inner.SetVisitorStatus(ctx, id, action)
	ks := keyset{}
	c := workplace.Change{Kind: workplace.KindVisitor, VisitorID: id}
	if err == nil && !got.Arrival.IsZero() {
		c.Date, c.LocationID = workplace.DateOf(got.Arrival), got.LocationID
	}
	s.planVisitor(ctx, kn, ks, c)
	_ = s.storeInvalidate(ctx, ks.list())
	return got, err
}

// CancelVisitor implements workplace.Visitors.
func (s *Service) CancelVisitor(ctx context.Context, id workplace.VisitorID) error {
	kn := s.newKnown()
	kn.need(ctx, visitorIndexKey(id))
	err := s.inner.CancelVisitor(ctx, id)
	ks := keyset{}
	s.planVisitor(ctx, kn, ks, workplace.Change{Kind: workplace.KindVisitor, VisitorID: id})
	_ = s.storeInvalidate(ctx, ks.list())
	return err
}
