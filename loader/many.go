package loader

import (
	"context"

	"github.com/engagegql/gateway/workplace"
)

// manyReads are a workplace.ManyReader's methods in the loaders' key types;
// each is nil when the service is not a ManyReader.
type manyReads struct {
	rooms        func(context.Context, []workplace.LocationID) ([][]workplace.Room, []error)
	desks        func(context.Context, []workplace.LocationID) ([][]workplace.Desk, []error)
	bookings     func(context.Context, []roomWindow) ([][]workplace.Booking, []error)
	deskBookings func(context.Context, []deskWindow) ([][]workplace.DeskBooking, []error)
	booking      func(context.Context, []workplace.BookingID) ([]workplace.Booking, []error)
}

// manyReadsOf returns svc's one-round-trip reads, when it has them (the
// cache does: one pipeline for every key of a batch, the upstream only for
// the misses).
func manyReadsOf(svc workplace.Service) manyReads {
	mr, ok := svc.(workplace.ManyReader)
	if !ok {
		return manyReads{}
	}
	return manyReads{
		rooms: mr.RoomsMany,
		desks: mr.DesksMany,
		bookings: func(ctx context.Context, ks []roomWindow) ([][]workplace.Booking, []error) {
			ws := make([]workplace.RoomWindow, len(ks))
			for i, k := range ks {
				ws[i] = workplace.RoomWindow{Room: k.room, From: k.from, To: k.to}
			}
			return mr.BookingsMany(ctx, ws)
		},
		deskBookings: func(ctx context.Context, ks []deskWindow) ([][]workplace.DeskBooking, []error) {
			ws := make([]workplace.DeskWindow, len(ks))
			for i, k := range ks {
				ws[i] = workplace.DeskWindow{Desk: k.desk, From: k.from, To: k.to}
			}
			return mr.DeskBookingsMany(ctx, ws)
		},
		booking: mr.BookingMany,
	}
}

// manyOrFanOut batches through many when the service has it, and otherwise
// makes one call per key, at most limit at once.
func manyOrFanOut[K comparable, V any](many func(context.Context, []K) ([]V, []error), one func(context.Context, K) (V, error), limit int) BatchFunc[K, V] {
	if many == nil {
		return fanOut(one, limit)
	}
	return func(ctx context.Context, keys []K) []*Result[V] {
		vs, errs := many(ctx, keys)
		out := make([]*Result[V], len(keys))
		for i := range keys {
			r := &Result[V]{}
			if i < len(vs) {
				r.Data = vs[i]
			}
			if i < len(errs) {
				r.Error = errs[i]
			}
			out[i] = r
		}
		return out
	}
}

// noting calls note with every value a batch read successfully.
func noting[K comparable, V any](fn BatchFunc[K, V], note func(V)) BatchFunc[K, V] {
	return func(ctx context.Context, keys []K) []*Result[V] {
		out := fn(ctx, keys)
		for _, r := range out {
			if r != nil && r.Error == nil {
				note(r.Data)
			}
		}
		return out
	}
}
