package cache

// Cached reads of the hierarchy: countries, regions, locations, groups,
// users, rooms, desks and floor plans.

import (
	"context"
	"strings"

	"github.com/engagegql/gateway/workplace"
)

// Countries implements workplace.Hierarchy.
func (s *Service) Countries(ctx context.Context) ([]workplace.Country, error) {
	return readOne(ctx, s, s.codecs.countries, fill[[]workplace.Country]{key: countriesKey(), ttl: s.ttl.Hierarchy, fetch: s.inner.Countries})
}

// Regions implements workplace.Hierarchy.
func (s *Service) Regions(ctx context.Context, countryID workplace.CountryID) ([]workplace.Region, error) {
	return readOne(ctx, s, s.codecs.regions, fill[[]workplace.Region]{key: regionsKey(countryID), ttl: s.ttl.Hierarchy,
		fetch: func(ctx context.Context) ([]workplace.Region, error) { return s.inner.Regions(ctx, countryID) }})
}

// Locations implements workplace.Hierarchy.
func (s *Service) Locations(ctx context.Context, regionID workplace.RegionID) ([]workplace.Location, error) {
	return readOne(ctx, s, s.codecs.locations, fill[[]workplace.Location]{key: locationsKey(regionID), ttl: s.ttl.Hierarchy,
		fetch: func(ctx context.Context) ([]workplace.Location, error) { return s.inner.Locations(ctx, regionID) }})
}

// Groups implements workplace.Hierarchy.
func (s *Service) Groups(ctx context.Context, countryID workplace.CountryID) ([]workplace.Group, error) {
	return readOne(ctx, s, s.codecs.groups, fill[[]workplace.Group]{key: groupsKey(countryID), ttl: s.ttl.Hierarchy,
		fetch: func(ctx context.Context) ([]workplace.Group, error) { return s.inner.Groups(ctx, countryID) }})
}

// Users implements workplace.Hierarchy; the whole list ("" email) and each
// email are separate entries.
func (s *Service) Users(ctx context.Context, email string) ([]workplace.User, error) {
	if email != "" && s.mirror != nil {
		// The mirror holds the whole list: a user found by email is
		// found in it, without a call. [X] Emails match regardless of
		// case, as the simulator matches them.
		if es, ok := s.storeGet(ctx, []string{usersKey("")}); ok && es[0].Found {
			if all, err := decodeKept(s, s.codecs.users, usersKey(""), es[0].Value); err == nil {
				s.looked(usersKey(email), true)
				out := []workplace.User{}
				for _, u := range all {
					if strings.EqualFold(u.Email, email) {
						out = append(out, u)
					}
				}
				return out, nil
			}
		}
	}
	return readOne(ctx, s, s.codecs.users, fill[[]workplace.User]{key: usersKey(email), ttl: s.ttl.Users,
		fetch: func(ctx context.Context) ([]workplace.User, error) { return s.inner.Users(ctx, email) }})
}

// Rooms implements workplace.Hierarchy.
func (s *Service) Rooms(ctx context.Context, locationID workplace.LocationID) ([]workplace.Room, error) {
	v, errs := s.RoomsMany(ctx, []workplace.LocationID{locationID})
	return v[0], errs[0]
}

// Desks implements workplace.Hierarchy.
func (s *Service) Desks(ctx context.Context, locationID workplace.LocationID) ([]workplace.Desk, error) {
	v, errs := s.DesksMany(ctx, []workplace.LocationID{locationID})
	return v[0], errs[0]
}

// RoomsMany implements workplace.ManyReader. Caching a location's rooms
// also records each room's location, which makes invalidation of a booking
// change precise (it drops availability of that location only).
func (s *Service) RoomsMany(ctx context.Context, locations []workplace.LocationID) ([][]workplace.Room, []error) {
	fills := make([]fill[[]workplace.Room], len(locations))
	for i, loc := range locations {
		fills[i] = fill[[]workplace.Room]{key: roomsKey(loc), ttl: s.ttl.Resources,
			fetch: func(ctx context.Context) ([]workplace.Room, error) { return s.inner.Rooms(ctx, loc) },
			index: func(rs []workplace.Room) []Item {
				out := make([]Item, 0, len(rs))
				for _, r := range rs {
					out = append(out, s.indexItem(roomIndexKey(r.ID), roomIndex{Loc: loc}, s.ttl.Resources))
				}
				return out
			}}
	}
	return readMany(ctx, s, s.codecs.rooms, fills)
}

// DesksMany implements workplace.ManyReader, recording each desk's location
// as RoomsMany does each room's.
func (s *Service) DesksMany(ctx context.Context, locations []workplace.LocationID) ([][]workplace.Desk, []error) {
	fills := make([]fill[[]workplace.Desk], len(locations))
	for i, loc := range locations {
		fills[i] = fill[[]workplace.Desk]{key: desksKey(loc), ttl: s.ttl.Resources,
			fetch: func(ctx context.Context) ([]workplace.Desk, error) { return s.inner.Desks(ctx, loc) },
			index: func(ds []workplace.Desk) []Item {
				out := make([]Item, 0, len(ds))
				for _, d := range ds {
					out = append(out, s.indexItem(deskIndexKey(d.ID), roomIndex{Loc: loc}, s.ttl.Resources))
				}
				return out
			}}
	}
	return readMany(ctx, s, s.codecs.desks, fills)
}

// FloorPlan implements workplace.Hierarchy. Answers carry the location's
// floor plan epoch, which a resource change bumps; their last-known-good
// copies do not, so a copy survives the bump.
func (s *Service) FloorPlan(ctx context.Context, q workplace.FloorPlanQuery) ([]workplace.FloorPlanItem, error) {
	ep, ok := s.epochs(ctx, floorPlanEpochKey(q.LocationID))
	if !ok {
		return s.inner.FloorPlan(ctx, q)
	}
	return readOne(ctx, s, s.codecs.floorPlan, fill[[]workplace.FloorPlanItem]{key: floorPlanKey(ep[0], q), ttl: s.ttl.Resources,
		shadow: shadowKey(floorPlanKey(anyEpoch, q)),
		fetch:  func(ctx context.Context) ([]workplace.FloorPlanItem, error) { return s.inner.FloorPlan(ctx, q) }})
}
