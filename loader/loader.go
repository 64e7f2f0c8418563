// Package loader holds the per-operation dataloaders the resolvers read
// through. A GraphQL operation gets a fresh set (a subscription, one per
// payload), so within one operation duplicate keys collapse, keys group by the
// upstream collection that lists them, and no upstream call is made twice;
// across operations nothing is shared, so no operation sees another's data
// and staleness is the cache's business, not the loaders'.
//
//	loader.go     Options, the Loaders of one operation, With and For
//	batch.go      batch functions: one call per parent, and users by email
//	batcher.go    Loader: keys asked for within a short window read together
//	booking.go    bookings, visitors, availability, users, cost codes, vendors, groups
//	hierarchy.go  countries, regions, locations, rooms and desks
//	many.go       batches through a workplace.ManyReader, or a fan-out
//	peek.go       peeking: the store asked first, only misses batched
package loader

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// Options tune the loaders. The zero value is usable.
type Options struct {
	// Wait is how long a loader gathers keys before it reads them (a miss
	// of the store goes upstream). Zero means DefaultWait.
	Wait time.Duration
	// FanOut bounds how many upstream calls one batch makes at once where the
	// upstream lists by one parent at a time (rooms per location). Zero means
	// DefaultFanOut.
	FanOut int
	// UsersListAll is how many distinct emails one batch must hold before the
	// loader lists every user in one call instead of one call per email.
	// Once the bookings an operation read and the visitors it shows name
	// this many people, its lookups list every user too, whatever their
	// batches: one lookup then costs the same one call (with a longer
	// answer), and lookups that scheduling splits across batches no longer
	// cost a call each. Zero means 3.
	UsersListAll int
}

// DefaultWait is long enough for sibling fields, which gqlgen starts one
// after another in a tight loop, to join one batch (and so one store round
// trip), and short next to any upstream round trip: every level of a cold
// query waits it once. Batches that scheduling splits cost store round trips
// only: the upstream is called once per key whatever the batches (and the
// users' lookups decide to list everyone from the people the operation
// names, not from a batch).
const DefaultWait = 100 * time.Microsecond

// DefaultFanOut (UPSTREAM_CONCURRENCY's default) lets a batch list every
// room of a location of up to 32 at once, in one round trip: the calls are
// the same whatever the bound, and the fleet's budget bounds their burst.
const DefaultFanOut = 32

func (o Options) withDefaults() Options {
	if o.Wait <= 0 {
		o.Wait = DefaultWait
	}
	if o.FanOut <= 0 {
		o.FanOut = DefaultFanOut
	}
	if o.UsersListAll <= 0 {
		o.UsersListAll = 3
	}
	return o
}

// all is the key of loaders that fetch a whole collection in one call.
type all struct{}

// Loaders are the dataloaders of one operation.
type Loaders struct {
	svc workplace.Service
	// heldUsers is every user as the store held them, once a peek read
	// them (see everyUser).
	heldUsersMu sync.Mutex
	heldUsers   []workplace.User
	countries   *peeking[all, []workplace.Country]
	regions     *peeking[workplace.CountryID, []workplace.Region]
	locations   *peeking[workplace.RegionID, []workplace.Location]
	groups      *peeking[workplace.CountryID, []workplace.Group]
	rooms       *peeking[workplace.LocationID, []workplace.Room]
	desks       *peeking[workplace.LocationID, []workplace.Desk]
	users       *peeking[string, workplace.User]
	allUsers    *Loader[all, []workplace.User]
	// usersListed is set once the operation asks for every user, so email
	// lookups after that read the same list instead of calling again.
	usersListed atomic.Bool
	// named holds the emails of the people the operation's bookings name
	// and the visitors it shows (ExpectUsers), so that looking them up does
	// not depend on how their lookups happen to fall into batches.
	named *emailSet

	roomBookings   *peeking[roomWindow, []workplace.Booking]
	booking        *peeking[workplace.BookingID, workplace.Booking]
	deskBookings   *peeking[deskWindow, []workplace.DeskBooking]
	visitors       *peeking[visitDay, []workplace.Visitor]
	freeSlots      *peeking[slotQuery, []workplace.ResourceFreeSlots]
	availableRooms *peeking[roomsQuery, []workplace.AvailableRoom]
	availableDesks *peeking[desksQuery, []workplace.AvailableDesk]
	costCodes      *peeking[workplace.LocationID, []workplace.CostCode]
	vendors        *peeking[workplace.LocationID, []workplace.Vendor]
	orders         *peeking[workplace.BookingID, []workplace.ServiceOrder]
}

// New returns a fresh set of loaders reading from svc.
func New(svc workplace.Service, opts Options) *Loaders {
	opts = opts.withDefaults()
	named := &emailSet{}
	m := manyReadsOf(svc)
	l := &Loaders{
		svc:   svc,
		named: named,
		countries: newPeeking(svc, func(ctx context.Context, _ []all) []*Result[[]workplace.Country] {
			v, err := svc.Countries(ctx)
			return []*Result[[]workplace.Country]{{Data: v, Error: err}}
		}, opts),
		// The upstream lists regions and groups by country and locations
		// by region: one call per parent, and a walk from the countries
		// where every one is needed (see Regions and Locations).
		regions:   newPeeking(svc, fanOut(svc.Regions, opts.FanOut), opts),
		locations: newPeeking(svc, fanOut(svc.Locations, opts.FanOut), opts),
		groups:    newPeeking(svc, fanOut(svc.Groups, opts.FanOut), opts),
		rooms:     newPeeking(svc, manyOrFanOut(m.rooms, svc.Rooms, opts.FanOut), opts),
		desks:     newPeeking(svc, manyOrFanOut(m.desks, svc.Desks, opts.FanOut), opts),
		// Its only key is all{}, so there is nothing to wait for: a batch
		// of one starts at once.
		allUsers: NewLoader(limited(func(ctx context.Context, _ []all) []*Result[[]workplace.User] {
			v, err := svc.Users(ctx, "")
			return []*Result[[]workplace.User]{{Data: v, Error: err}}
		}), 0, 1),
		roomBookings: newPeeking(svc, noting(manyOrFanOut(m.bookings, func(ctx context.Context, k roomWindow) ([]workplace.Booking, error) {
			return svc.Bookings(ctx, k.room, k.from, k.to)
		}, opts.FanOut), func(bs []workplace.Booking) { named.addBookings(bs...) }), opts),
		booking: newPeeking(svc, noting(manyOrFanOut(m.booking, svc.Booking, opts.FanOut), func(b workplace.Booking) { named.addBookings(b) }), opts),
		deskBookings: newPeeking(svc, manyOrFanOut(m.deskBookings, func(ctx context.Context, k deskWindow) ([]workplace.DeskBooking, error) {
			return svc.DeskBookings(ctx, k.desk, k.from, k.to)
		}, opts.FanOut), opts),
		visitors: newPeeking(svc, fanOut(func(ctx context.Context, k visitDay) ([]workplace.Visitor, error) {
			page, err := svc.Visitors(ctx, workplace.VisitorQuery{Date: k.date, LocationID: k.location})
			return page.Visitors, err
		}, opts.FanOut), opts),
		freeSlots: newPeeking(svc, fanOut(func(ctx context.Context, k slotQuery) ([]workplace.ResourceFreeSlots, error) {
			return svc.FreeSlots(ctx, workplace.FreeSlotQuery{LocationID: k.location, From: k.from, To: k.to, WorkspaceType: workplace.WorkspaceRoom})
		}, opts.FanOut), opts),
		availableRooms: newPeeking(svc, fanOut(func(ctx context.Context, k roomsQuery) ([]workplace.AvailableRoom, error) {
			return svc.AvailableRooms(ctx, workplace.AvailableRoomsQuery{LocationID: k.location, From: k.from, To: k.to})
		}, opts.FanOut), opts),
		availableDesks: newPeeking(svc, fanOut(func(ctx context.Context, k desksQuery) ([]workplace.AvailableDesk, error) {
			return svc.AvailableDesks(ctx, workplace.AvailableDesksQuery{LocationID: k.location, Days: []workplace.DeskDay{{Date: k.date, Type: workplace.DeskAllDay}}})
		}, opts.FanOut), opts),
		costCodes: newPeeking(svc, fanOut(svc.CostCodes, opts.FanOut), opts),
		vendors: newPeeking(svc, fanOut(func(ctx context.Context, loc workplace.LocationID) ([]workplace.Vendor, error) {
			vs, err := svc.Vendors(ctx, loc)
			for i := range vs {
				vs[i].LocationID = loc
				for j := range vs[i].Services {
					vs[i].Services[j].LocationID = loc
				}
			}
			return vs, err
		}, opts.FanOut), opts),
		orders: newPeeking(svc, fanOut(svc.Orders, opts.FanOut), opts),
	}
	l.users = newPeeking(svc, usersByEmail(svc, l.everyUser, func() bool { return l.usersListed.Load() || named.len() >= opts.UsersListAll }, opts.UsersListAll, opts.FanOut), opts)
	return l
}

// everyUser lists every user, once per operation: User(id) and the email
// batches large enough to list everyone share the one call.
func (l *Loaders) everyUser(ctx context.Context) ([]workplace.User, error) {
	if workplace.IsStoreOnly(ctx) {
		// A peek: what is held, read once for the operation, leaving the
		// operation's one listing (and its memory of having listed) to
		// the batch that may follow.
		l.heldUsersMu.Lock()
		defer l.heldUsersMu.Unlock()
		if l.heldUsers == nil {
			us, err := l.svc.Users(ctx, "")
			if err != nil {
				return nil, err
			}
			l.heldUsers = us
		}
		return l.heldUsers, nil
	}
	l.usersListed.Store(true)
	return l.allUsers.Load(ctx, all{})()
}

// Keys of the loaders whose upstream route takes more than an id.
type (
	roomWindow struct {
		room     workplace.RoomID
		from, to workplace.Date
	}
	deskWindow struct {
		desk     workplace.DeskID
		from, to workplace.Date
	}
	visitDay struct {
		date     workplace.Date
		location workplace.LocationID
	}
	slotQuery struct {
		location workplace.LocationID
		from, to time.Time
	}
	roomsQuery struct {
		location workplace.LocationID
		from, to time.Time
	}
	desksQuery struct {
		location workplace.LocationID
		date     workplace.Date
	}
)

func newLoader[K comparable, V any](fn BatchFunc[K, V], opts Options) *Loader[K, V] {
	return NewLoader(limited(fn), opts.Wait, 0)
}

// limited makes a batch's calls end with the operation's limit, when its
// context carries one (see workplace.WithLimit).
func limited[K comparable, V any](fn BatchFunc[K, V]) BatchFunc[K, V] {
	return func(ctx context.Context, keys []K) []*Result[V] {
		ctx, cancel := workplace.Limited(ctx)
		defer cancel()
		return fn(ctx, keys)
	}
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

// emailSet is a set of emails, normalised as UserByEmail does, safe for
// concurrent use. The zero value is empty and ready.
type emailSet struct {
	mu sync.Mutex
	m  map[string]struct{}
}

func (s *emailSet) add(emails ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, e := range emails {
		if e = normalEmail(e); e == "" {
			continue
		}
		if s.m == nil {
			s.m = map[string]struct{}{}
		}
		s.m[e] = struct{}{}
	}
}

// addBookings adds the people bookings name: host, requestor and creator.
func (s *emailSet) addBookings(bs ...workplace.Booking) {
	for _, b := range bs {
		s.add(b.Host.Email, b.Requestor.Email, b.Creator.Email)
	}
}

func (s *emailSet) len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.m)
}
