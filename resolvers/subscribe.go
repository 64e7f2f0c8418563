package resolvers

// Subscriptions: each one reads the change feed, keeps the changes of its
// kind that match its filter, and hands them to gqlgen, which resolves every
// payload with fresh loaders (injected per response), so the entity it
// carries is read after the change's invalidation.

import (
	"context"
	"log/slog"
	"slices"
	"time"

	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/workplace"
)

// ChangeFeed is where subscriptions get changes from: the broker that the
// webhook receiver publishes to, on this replica or any other.
type ChangeFeed interface {
	Subscribe(ctx context.Context) FeedSubscription
}

// FeedSubscription is one subscriber's view of the feed.
type FeedSubscription interface {
	// C delivers changes until the subscription ends, then is closed. A
	// change may be shared with other subscribers: read it, never modify it.
	C() <-chan *workplace.Change
	// Err says why the subscription ended: nil when it was cancelled, an
	// error when the subscriber was dropped (for falling behind).
	Err() error
}

// kindEnded marks the last value of a stream that the feed ended with an
// error; the payload's action resolver turns it into a GraphQL error, so
// the client is told why its subscription closed.
const kindEnded workplace.ChangeKind = "ended"

// errFeedEnded is what a client sees when the feed dropped its subscription.
var errFeedEnded = workplace.Errorf(workplace.EUNAVAILABLE, "This subscription has ended: the client fell too far behind the stream of changes. Resubscribe, and re-query what you show.")

// match decides whether a change concerns a subscriber; it may read through
// the loaders in ctx.
type match func(ctx context.Context, c workplace.Change) (bool, error)

// stream serves one subscription: changes of kind that pass keep.
func (r *Resolver) stream(ctx context.Context, kind workplace.ChangeKind, keep match) (<-chan workplace.Change, error) {
	if r.Feed == nil {
		return nil, workplace.Errorf(workplace.EINTERNAL, "subscriptions are not available on this gateway")
	}
	sub := r.Feed.Subscribe(ctx)
	out := make(chan workplace.Change, 1)
	go func() {
		defer close(out)
		for c := range sub.C() {
			if c.Kind != kind {
				continue
			}
			// Fresh loaders per change: the filter may read the hierarchy,
			// and must see it as it is now.
			mctx := loader.With(ctx, loader.New(r.Service, r.Loaders))
			ok, err := keep(mctx, *c)
			if err != nil {
				r.log().WarnContext(ctx, "subscription filter failed; change skipped", "kind", c.Kind, "err", err)
				continue
			}
			if !ok {
				continue
			}
			select {
			case out <- *c:
			case <-ctx.Done():
				return
			}
		}
		if err := sub.Err(); err != nil && ctx.Err() == nil {
			// At and Source are non-null in every event type: left zero,
			// each would add an INTERNAL error ahead of the one that says
			// why the subscription ended.
			ended := workplace.Change{Kind: kindEnded, Source: workplace.SourceUnknown, At: time.Now()}
			select {
			case out <- ended:
			case <-ctx.Done():
			}
		}
	}()
	return out, nil
}

// action is every event type's action resolver.
func action(c *workplace.Change) (workplace.ChangeAction, error) {
	if c.Kind == kindEnded {
		return "", errFeedEnded
	}
	return c.Action, nil
}

// idSet decodes a list of global ids of one type into the set of their last
// part (the entity's own id).
func idSet(ids []string, typ string) (map[int64]bool, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	set := map[int64]bool{}
	for _, id := range ids {
		g, err := parseIDOf(id, typ)
		if err != nil {
			return nil, err
		}
		set[g.Parts[len(g.Parts)-1]] = true
	}
	return set, nil
}

// bookingMatch keeps booking changes of the listed rooms, or of a location's
// rooms, or all.
func bookingMatch(locationID *string, roomIDs []string) (match, error) {
	return memberMatch(locationID, roomIDs, typeRoom,
		func(c workplace.Change) int64 { return int64(c.RoomID) },
		loader.Rooms, func(r workplace.Room) int64 { return int64(r.ID) })
}

// deskBookingMatch keeps desk booking changes of the listed desks, or of a
// location's desks, or all.
func deskBookingMatch(locationID *string, deskIDs []string) (match, error) {
	return memberMatch(locationID, deskIDs, typeDesk,
		func(c workplace.Change) int64 { return int64(c.DeskID) },
		loader.Desks, func(d workplace.Desk) int64 { return int64(d.ID) })
}

// memberMatch keeps changes whose resource (changed) is one of ids (global
// ids of typ), and is listed at the location (through list) when one is
// given; with neither, every change.
func memberMatch[T any](locationID *string, ids []string, typ string, changed func(workplace.Change) int64, list func(context.Context, workplace.LocationID) ([]T, error), idOf func(T) int64) (match, error) {
	set, err := idSet(ids, typ)
	if err != nil {
		return nil, err
	}
	loc, err := optionalID(locationID, typeLocation)
	if err != nil {
		return nil, err
	}
	return func(ctx context.Context, c workplace.Change) (bool, error) {
		id := changed(c)
		if set != nil && !set[id] {
			return false, nil
		}
		if loc == 0 {
			return true, nil
		}
		items, err := list(ctx, workplace.LocationID(loc))
		if err != nil {
			return false, err
		}
		return slices.ContainsFunc(items, func(it T) bool { return idOf(it) == id }), nil
	}, nil
}

// locationMatch keeps changes at a location, or all.
func locationMatch(locationID *string) (match, error) {
	loc, err := optionalID(locationID, typeLocation)
	if err != nil {
		return nil, err
	}
	return func(_ context.Context, c workplace.Change) (bool, error) {
		return loc == 0 || int64(c.LocationID) == loc, nil
	}, nil
}

// gone turns "not found" into a null entity: a change may announce an entity
// that was deleted since.
func gone[T any](v *T, err error) (*T, error) {
	if workplace.ErrorCode(err) == workplace.ENOTFOUND {
		return nil, nil
	}
	return v, err
}

// changedBooking reads a booking change's booking, fresh.
func changedBooking(ctx context.Context, c *workplace.Change) (*workplace.Booking, error) {
	if c.Action == workplace.ActionDeleted || c.BookingID == 0 {
		return nil, nil
	}
	return gone(ptr(loader.Booking(ctx, c.BookingID)))
}

// roomAnywhere finds a room whose location is not known (a deleted
// booking's room) by looking through every location's rooms.
func roomAnywhere(ctx context.Context, id workplace.RoomID) (*workplace.Room, error) {
	if id == 0 {
		return nil, nil
	}
	return anywhere(ctx, loader.Rooms, func(r workplace.Room) bool { return r.ID == id })
}

// deskAnywhere finds a desk whose location is not known.
func deskAnywhere(ctx context.Context, id workplace.DeskID) (*workplace.Desk, error) {
	if id == 0 {
		return nil, nil
	}
	return anywhere(ctx, loader.Desks, func(d workplace.Desk) bool { return d.ID == id })
}

// anywhere looks for an item through every location's list; nil when no
// location lists it.
func anywhere[T any](ctx context.Context, list func(context.Context, workplace.LocationID) ([]T, error), is func(T) bool) (*T, error) {
	locs, err := loader.Locations(ctx, 0)
	if err != nil {
		return nil, err
	}
	lists, err := parallel(locs, func(l workplace.Location) ([]T, error) { return list(ctx, l.ID) })
	if err != nil {
		return nil, err
	}
	for _, items := range lists {
		if i := slices.IndexFunc(items, is); i >= 0 {
			return &items[i], nil
		}
	}
	return nil, nil
}

// changedDeskBooking reads a desk booking change's booking, fresh.
func changedDeskBooking(ctx context.Context, c *workplace.Change) (*workplace.DeskBooking, error) {
	if c.Action == workplace.ActionDeleted || c.DeskBookingID == 0 || c.Date.IsZero() {
		return nil, nil
	}
	desk, err := deskAnywhere(ctx, c.DeskID)
	if err != nil || desk == nil {
		return nil, err
	}
	ds, err := loader.DeskBookings(ctx, desk.LocationID, desk.ID, c.Date, c.Date)
	if err != nil {
		return nil, err
	}
	for _, d := range ds {
		if d.ID == c.DeskBookingID {
			return &d, nil
		}
	}
	return nil, nil
}

// eventLocation reads the location a change names, if it names one.
func eventLocation(ctx context.Context, c *workplace.Change) (*workplace.Location, error) {
	if c.LocationID == 0 {
		return nil, nil
	}
	return gone(ptr(loader.Location(ctx, c.LocationID)))
}

// changedVisitor reads a visitor change's visitor, fresh.
func changedVisitor(ctx context.Context, c *workplace.Change) (*workplace.Visitor, error) {
	if c.Action == workplace.ActionDeleted || c.VisitorID == 0 || c.Date.IsZero() {
		return nil, nil
	}
	g := globalID{Type: typeVisitor, Parts: []int64{int64(c.LocationID), dayPart(c.Date), int64(c.VisitorID)}}
	return gone(ptr(findVisitor(ctx, g)))
}

func (r *Resolver) log() *slog.Logger {
	if r.Logger != nil {
		return r.Logger
	}
	return slog.New(slog.DiscardHandler)
}
