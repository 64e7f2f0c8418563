// Package loader holds the per-operation dataloaders the resolvers read
// through. A GraphQL operation gets a fresh set (a subscription, one per
// payload), so within one operation duplicate keys collapse, keys group by the
// upstream collection that lists them, and no upstream call is made twice;
// across operations nothing is shared, so no operation sees another's data
// and staleness is the cache's business, not the loaders'.
package loader

import (
	"context"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/graph-gophers/dataloader/v7"
)

// Options tune the loaders. The zero value is usable.
type Options struct {
	// Wait is how long a loader gathers keys before it calls the upstream.
	// Zero means 2ms: long enough for sibling fields to join, short next to
	// an upstream round trip.
	Wait time.Duration
	// FanOut bounds how many upstream calls one batch makes at once where the
	// upstream lists by one parent at a time (rooms per location). Zero means 8.
	FanOut int
}

func (o Options) withDefaults() Options {
	if o.Wait <= 0 {
		o.Wait = 2 * time.Millisecond
	}
	if o.FanOut <= 0 {
		o.FanOut = 8
	}
	return o
}

// all is the key of loaders that fetch a whole collection in one call.
type all struct{}

// Loaders are the dataloaders of one operation.
type Loaders struct {
	countries *dataloader.Loader[all, []workplace.Country]
	regions   *dataloader.Loader[workplace.CountryID, []workplace.Region]
	locations *dataloader.Loader[workplace.RegionID, []workplace.Location]
	rooms     *dataloader.Loader[workplace.LocationID, []workplace.Room]
	desks     *dataloader.Loader[workplace.LocationID, []workplace.Desk]
}

// New returns a fresh set of loaders reading from svc.
func New(svc workplace.Service, opts Options) *Loaders {
	opts = opts.withDefaults()
	return &Loaders{
		countries: newLoader(func(ctx context.Context, _ []all) []*dataloader.Result[[]workplace.Country] {
			v, err := svc.Countries(ctx)
			return []*dataloader.Result[[]workplace.Country]{{Data: v, Error: err}}
		}, opts),
		regions:   newLoader(byParentOrAll(svc.Regions, func(r workplace.Region) workplace.CountryID { return r.CountryID }), opts),
		locations: newLoader(byParentOrAll(svc.Locations, func(l workplace.Location) workplace.RegionID { return l.RegionID }), opts),
		rooms:     newLoader(fanOut(svc.Rooms, opts.FanOut), opts),
		desks:     newLoader(fanOut(svc.Desks, opts.FanOut), opts),
	}
}

func newLoader[K comparable, V any](fn dataloader.BatchFunc[K, V], opts Options) *dataloader.Loader[K, V] {
	return dataloader.NewBatchedLoader(fn, dataloader.WithWait[K, V](opts.Wait))
}

type ctxKey struct{}

// With returns a context carrying l.
func With(ctx context.Context, l *Loaders) context.Context {
	return context.WithValue(ctx, ctxKey{}, l)
}

// For returns the loaders of the operation ctx belongs to. It panics when
// there are none: that is a wiring bug, never a client's fault.
func For(ctx context.Context) *Loaders {
	l, ok := ctx.Value(ctxKey{}).(*Loaders)
	if !ok {
		panic("loader: no loaders in context; the GraphQL server must inject them per operation")
	}
	return l
}
