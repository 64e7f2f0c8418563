package loader

import (
	"context"

	"github.com/engagegql/gateway/workplace"
)

// Countries lists every country.
func Countries(ctx context.Context) ([]workplace.Country, error) {
	return For(ctx).countries.Load(ctx, all{})()
}

// Country finds a country by id.
func Country(ctx context.Context, id workplace.CountryID) (workplace.Country, error) {
	cs, err := Countries(ctx)
	if err != nil {
		return workplace.Country{}, err
	}
	return find(cs, func(c workplace.Country) bool { return c.ID == id }, "country %d does not exist", id)
}

// Regions lists the regions of a country, or, for id 0, of every country:
// the upstream lists regions by country only, so that walks the countries.
func Regions(ctx context.Context, countryID workplace.CountryID) ([]workplace.Region, error) {
	l := For(ctx)
	if countryID != 0 {
		return l.regions.Load(ctx, countryID)()
	}
	cs, err := Countries(ctx)
	if err != nil {
		return nil, err
	}
	return children(ctx, l.regions, cs, func(c workplace.Country) workplace.CountryID { return c.ID })
}

// Region finds a region by id.
func Region(ctx context.Context, id workplace.RegionID) (workplace.Region, error) {
	rs, err := Regions(ctx, 0)
	if err != nil {
		return workplace.Region{}, err
	}
	return find(rs, func(r workplace.Region) bool { return r.ID == id }, "region %d does not exist", id)
}

// Locations lists the locations of a region, or, for id 0, of every
// region: the upstream lists locations by region only, so that walks the
// countries and their regions.
func Locations(ctx context.Context, regionID workplace.RegionID) ([]workplace.Location, error) {
	l := For(ctx)
	if regionID != 0 {
		return l.locations.Load(ctx, regionID)()
	}
	rs, err := Regions(ctx, 0)
	if err != nil {
		return nil, err
	}
	return children(ctx, l.locations, rs, func(r workplace.Region) workplace.RegionID { return r.ID })
}

// children loads the lists of every parent in one batch of the loader and
// returns them concatenated in the parents' order, or the first error.
func children[P any, K comparable, C any](ctx context.Context, ld keyLoader[K, []C], parents []P, key func(P) K) ([]C, error) {
	keys := make([]K, len(parents))
	for i, p := range parents {
		keys[i] = key(p)
	}
	lists, errs := ld.LoadMany(ctx, keys)()
	out := []C{}
	for i := range keys {
		if len(errs) > i && errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, lists[i]...)
	}
	return out, nil
}

// Location finds a location by id.
func Location(ctx context.Context, id workplace.LocationID) (workplace.Location, error) {
	ls, err := Locations(ctx, 0)
	if err != nil {
		return workplace.Location{}, err
	}
	return find(ls, func(l workplace.Location) bool { return l.ID == id }, "location %d does not exist", id)
}

// Rooms lists the rooms of a location.
func Rooms(ctx context.Context, locationID workplace.LocationID) ([]workplace.Room, error) {
	return For(ctx).rooms.Load(ctx, locationID)()
}

// Room finds a room of a location. The upstream has no route for one room,
// so a room is looked up in its location's list, which the operation shares.
func Room(ctx context.Context, locationID workplace.LocationID, id workplace.RoomID) (workplace.Room, error) {
	rs, err := Rooms(ctx, locationID)
	if err != nil {
		return workplace.Room{}, err
	}
	return find(rs, func(r workplace.Room) bool { return r.ID == id }, "room %d does not exist at location %d", id, locationID)
}

// Desks lists the desks of a location.
func Desks(ctx context.Context, locationID workplace.LocationID) ([]workplace.Desk, error) {
	return For(ctx).desks.Load(ctx, locationID)()
}

// Desk finds a desk of a location.
func Desk(ctx context.Context, locationID workplace.LocationID, id workplace.DeskID) (workplace.Desk, error) {
	ds, err := Desks(ctx, locationID)
	if err != nil {
		return workplace.Desk{}, err
	}
	return find(ds, func(d workplace.Desk) bool { return d.ID == id }, "desk %d does not exist at location %d", id, locationID)
}

func find[V any](items []V, match func(V) bool, format string, args ...any) (V, error) {
	for _, it := range items {
		if match(it) {
			return it, nil
		}
	}
	var zero V
	return zero, workplace.Errorf(workplace.ENOTFOUND, format, args...)
}
