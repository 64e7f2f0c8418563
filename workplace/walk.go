package workplace

// The upstream lists regions by country and locations by region only: there
// is no call for every region or every location. These walk the hierarchy
// from the top, one level at a time, for a reader that needs all of them
// (the time zones of every location).

import (
	"context"
	"sync"
)

// walkFanOut bounds how many lists of one level a walk reads at once.
const walkFanOut = 4

// AllRegions lists the regions of every country: one call for the countries
// and one per country.
func AllRegions(ctx context.Context, h Hierarchy) ([]Region, error) {
	cs, err := h.Countries(ctx)
	if err != nil {
		return nil, err
	}
	return eachOf(ctx, cs, func(ctx context.Context, c Country) ([]Region, error) { return h.Regions(ctx, c.ID) })
}

// AllLocations lists the locations of every region of every country: the
// regions as AllRegions does, then one call per region.
func AllLocations(ctx context.Context, h Hierarchy) ([]Location, error) {
	rs, err := AllRegions(ctx, h)
	if err != nil {
		return nil, err
	}
	return eachOf(ctx, rs, func(ctx context.Context, r Region) ([]Location, error) { return h.Locations(ctx, r.ID) })
}

// eachOf lists the children of every parent, at most walkFanOut at once, and
// returns them in the parents' order, or the first error.
func eachOf[P, C any](ctx context.Context, parents []P, list func(context.Context, P) ([]C, error)) ([]C, error) {
	lists := make([][]C, len(parents))
	errs := make([]error, len(parents))
	sem := make(chan struct{}, walkFanOut)
	var wg sync.WaitGroup
	for i, p := range parents {
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer func() { <-sem; wg.Done() }()
			lists[i], errs[i] = list(ctx, p)
		}()
	}
	wg.Wait()
	var out []C
	for i := range parents {
		if errs[i] != nil {
			return nil, errs[i]
		}
		out = append(out, lists[i]...)
	}
	return out, nil
}
