package cache

// Visitors: the plain list of a day at a location (or at all locations) is
// cached, read whole (every page); any other query passes through. With a
// mirror holding visitors, a location's list of a day in its window lives
// until the day leaves it (see mirror.go).

import (
	"context"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// visitorPageSize is the largest page GET /visitor serves.
const visitorPageSize = 500

// maxVisitorPages bounds the pages one list is read in, against an
// upstream whose TotalRecords never stops growing.
const maxVisitorPages = 100

// listVisitors reads the whole list of a plain query upstream, a page of
// visitorPageSize at a time until TotalRecords are read: one call for any
// day of up to 500 visitors. The worker's pages after the first wait for
// its pace, as its first did.
func (s *Service) listVisitors(ctx context.Context, q workplace.VisitorQuery) (workplace.VisitorPage, error) {
	all := []workplace.Visitor{}
	seen := map[workplace.VisitorID]bool{}
	for n := 1; n <= maxVisitorPages; n++ {
		if n > 1 && s.mirror != nil && byWorker(ctx) {
			if err := s.mirror.opts.Pace(ctx); err != nil {
				return workplace.VisitorPage{}, err
			}
		}
		q.PageNumber, q.PageSize = n, visitorPageSize
		s.called(ctx, visitorsKind)
		p, err := s.inner.Visitors(ctx, q)
		if err != nil {
			return workplace.VisitorPage{}, err
		}
		for _, v := range p.Visitors {
			// A visitor registered between two pages moves the others
			// along: one may come twice.
			if !seen[v.ID] {
				seen[v.ID] = true
				all = append(all, v)
			}
		}
		if len(p.Visitors) < visitorPageSize || len(all) >= p.Total {
			break
		}
	}
	return workplace.VisitorPage{Visitors: all, Total: len(all)}, nil
}

// visitorsTTL is the life of the plain list of q: the mirror's, for a list
// it holds; the visitors TTL otherwise.
func (s *Service) visitorsTTL(ctx context.Context, q workplace.VisitorQuery) time.Duration {
	if s.mirror != nil {
		if t := s.mirror.visitorsLife(ctx, q.LocationID, q.Date); t > 0 {
			return t
		}
	}
	return s.ttl.Visitors
}

// visitorIndex records each listed visitor's day and location, for the
// writes that name only the visitor.
func (s *Service) visitorIndex(p workplace.VisitorPage, q workplace.VisitorQuery, ttl time.Duration) []Item {
	out := make([]Item, 0, len(p.Visitors))
	for _, v := range p.Visitors {
		loc := v.LocationID
		if loc == 0 {
			loc = q.LocationID
		}
		out = append(out, s.indexItem(visitorIndexKey(v.ID), visitorIndex{Loc: loc, Date: q.Date}, ttl))
	}
	return out
}

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
	ttl := s.visitorsTTL(ctx, q)
	return readOne(ctx, s, s.codecs.visitors, fill[workplace.VisitorPage]{key: visitorsKey(q.Date, q.LocationID), ttl: ttl,
		fetch: func(ctx context.Context) (workplace.VisitorPage, error) { return s.listVisitors(ctx, q) },
		index: func(p workplace.VisitorPage) []Item { return s.visitorIndex(p, q, ttl) }})
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
