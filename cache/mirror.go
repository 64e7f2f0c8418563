package cache

// The mirror: every room's bookings for the window held in the store,
// filled once, kept by notifications, rolled as days pass and repaired by
// a sweep, so that reading them costs no upstream call and Engage is
// called only when something changed (the vendor's advice, section 5 of
// the contract: pull bookings per room for the next 14 days, keep them
// locally, update them from notifications).
//
// It is the informer pattern with Engage's notifications as the watch:
//
//   - Held days. For every room the mirror holds the local days
//     U-3 … U+15 (U is today's UTC date), which answer a room's bookings
//     for today … today+13 at any location (workplace.BookingDays widens a
//     window by the zones' offsets and the look-behind), and fetches ahead
//     up to U+24 so that the days entering the window are already held. A
//     held day's entry lives until it leaves the window, never re-read for
//     age; days outside it are read through with the bookings TTL.
//   - Fill and roll. One worker for the fleet (a Lease) looks for held days
//     missing from the store, every Interval, and reads each room's first
//     missing day and the 13 after it in one call (GET /bookings covers 14
//     days), paced within its share of the upstream budget: once for the
//     first fill, then about once per room per fortnight as the window
//     rolls, and again for whatever the store lost (eviction, Redis
//     replaced).
//   - Notifications. Invalidate, which the webhook receiver calls before it
//     acknowledges, re-reads the held days a change names instead of
//     dropping them: it bumps their generation (so no earlier read can
//     write back), keeps serving the held value until the re-read replaces
//     it, and returns once it has, so every replica serves the new value
//     from the acknowledgement on, and the subscriptions it then feeds read
//     the mirror instead of Engage. A deleted booking costs no call: it is
//     taken out of the held days. Re-reads of one room that arrive while
//     one is waiting join it.
//   - Sweep. The worker re-reads every room at a pace that covers the
//     tenant once per SweepPeriod, fixes what differs and counts each
//     differing day as a missed notification.
//   - Visitors (MirrorOptions.Visitors). The plain visitor list of every
//     location is held too, for the location's own days today … today+13
//     (local to its zone: GET /visitor takes no other visitDate, so nothing
//     is read ahead). The worker fills each location-day in one call (more
//     for a list of over 500), and rolls one location-day when the
//     location's day ends, at its local midnight; notifications re-read a
//     held list in place (a deleted visitor is taken out without a call),
//     and the sweep re-reads them as it does rooms. The list of every
//     location at once is not held: it is read through with its TTL.

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// Lease is held by at most one replica of the fleet at a time: the one
// that runs the mirror's worker. fleet.RedisLease and fleet.MemoryLease
// implement it.
type Lease interface {
	Hold(ctx context.Context, life time.Duration) (bool, error)
	Release(ctx context.Context) error
}

// The mirror's window, in days from today's UTC date U.
const (
	// heldFrom and heldTo bound the days every room must hold: the days
	// workplace.BookingDays lists to answer any window within today …
	// today+13 local at any location. Local today is U-1 … U+1 (zones run
	// from UTC-12 to UTC+14), and BookingDays widens a window's UTC dates
	// by a day each way and by the look-behind.
	heldFrom = -3
	heldTo   = workplace.MaxWindowDays + 1
	// aheadTo is how far a fill or roll reads ahead: a fill reads the
	// held days in two 14-day reads, so the second ends 28 days after
	// heldFrom, and a roll then costs a room one call a fortnight.
	aheadTo = heldFrom + 2*workplace.MaxWindowDays - 1
)

// heldSpan is what the mirror holds of one subject, in days from today in
// the zone whose midnights turn the subject's days: each kind has its own
// (see held.span).
type heldSpan struct {
	zone *time.Location
	// from … to are the days every subject must hold: what the fill
	// completes and the status counts. ahead (≥ to) is the last day a fill
	// reads ahead to and the mirror keeps.
	from, to, ahead int
	// per is how many days one upstream read covers.
	per int
}

// bookingSpan is the span of rooms and desks: UTC dates, which hold every
// location's today … today+13, read 14 days at a time.
var bookingSpan = heldSpan{zone: time.UTC, from: heldFrom, to: heldTo, ahead: aheadTo, per: workplace.MaxWindowDays}

// visitorSpan is the span of a location's visitor lists: its own local days
// today … today+13, the only days GET /visitor lists, one day a read.
func visitorSpan(zone *time.Location) heldSpan {
	return heldSpan{zone: zone, from: 0, to: workplace.MaxWindowDays - 1, ahead: workplace.MaxWindowDays - 1, per: 1}
}

// days are the span's days at now.
func (sp heldSpan) days(now time.Time) (from, to, ahead workplace.Date) {
	t := workplace.DateOf(now.In(sp.zone))
	return t.AddDays(sp.from), t.AddDays(sp.to), t.AddDays(sp.ahead)
}

// life is how long an entry of day lives at now: until the day leaves the
// span (at the zone's midnight) plus an hour; 0 for a day outside it.
func (sp heldSpan) life(now time.Time, day workplace.Date) time.Duration {
	from, _, ahead := sp.days(now)
	if day.Before(from) || day.After(ahead) {
		return 0
	}
	leaves := day.AddDays(-sp.from + 1).In(sp.zone).Add(time.Hour)
	return max(time.Minute, leaves.Sub(now))
}

// readWindows groups days (sorted, distinct) into the windows upstream reads
// cover, per days at most each: spans of 14 days are cut as SplitWindow cuts
// them, shorter ones hold only days asked for.
func readWindows(days []workplace.Date, per int) [][2]workplace.Date {
	if len(days) == 0 {
		return nil
	}
	if per >= workplace.MaxWindowDays {
		return workplace.SplitWindow(days[0], days[len(days)-1])
	}
	var out [][2]workplace.Date
	for _, d := range days {
		if n := len(out); n > 0 && out[n-1][0].DaysUntil(d) < per {
			out[n-1][1] = d
			continue
		}
		out = append(out, [2]workplace.Date{d, d})
	}
	return out
}

// Causes of the mirror's upstream calls, as MirrorOptions.OnCall names
// them.
const (
	CauseFill   = "fill"   // the first fill of the window
	CauseRoll   = "roll"   // days entering the window
	CauseRefill = "refill" // held days the store lost
	CauseChange = "change" // a notification's re-read
	CauseSweep  = "sweep"  // the repair sweep
	CauseRead   = "read"   // a read of what is not held (read-through)
)

// MirrorOptions tune a Mirror. Only Lease is required.
type MirrorOptions struct {
	// Lease elects the replica that fills, rolls and sweeps; every replica
	// serves from the mirror and re-reads the notifications it receives.
	Lease Lease
	// Pace blocks until the worker may make one more upstream call, which
	// keeps the worker within its share of the budget, so users' requests
	// go first. Nil means unpaced.
	Pace func(ctx context.Context) error
	// Background marks a context for calls nobody waits for (the worker's),
	// so the upstream client's budget can rank them after users' calls.
	// Nil leaves contexts as they are.
	Background func(ctx context.Context) context.Context
	// Interval is how often the worker looks for missing days and sweeps
	// its share. Zero means 10s.
	Interval time.Duration
	// SweepPeriod is how long one sweep of every room takes. Zero means 96h.
	SweepPeriod time.Duration
	// LeaseLife is how long the lease outlives its holder's last renewal:
	// how long the fleet waits for a dead worker (one that stops cleanly
	// hands over at once). Zero means 3 Intervals, and at least 15s; the
	// worker renews it during a long round too.
	LeaseLife time.Duration
	// Coalesce is how long a notification's re-read waits for others of
	// the same room to join it. Zero means 50ms; negative means none.
	Coalesce time.Duration
	// RefreshTimeout bounds a notification's re-read. Zero means 8s, under
	// the 10 s Engage waits for an acknowledgement.
	RefreshTimeout time.Duration
	// Visitors makes the mirror hold every location's plain visitor lists
	// for its next 14 days too; false holds bookings only, and visitor
	// lists are read through with their TTL.
	Visitors bool
	// OnCall, when set, hears every upstream read of bookings the mirror's
	// cache makes, by cause (Cause*). It must be safe for concurrent use and
	// quick.
	OnCall func(cause string)
	// OnVisitorCall, when set, hears every upstream read of a visitor list
	// (each page) the mirror's cache makes, by cause, as OnCall does.
	OnVisitorCall func(cause string)
	// OnMissed, when set, hears each held day the sweep found wrong.
	OnMissed func(n int)
	// OnResync, when set, hears every resync after a gap in notifications.
	OnResync func()
	// OnAnswer, when set, hears every availability query (AnswerFreeSlots,
	// AnswerAvailableRooms, AnswerAvailableDesks): derived from the held
	// days, or passed to Engage.
	OnAnswer func(query string, derived bool)
	// RetrySpan is how long Engage keeps retrying a delivery: a fleet that
	// had no replica alive for longer lost notifications, and the mirror
	// is read again when one starts. Zero means 71s (four 10 s attempts
	// and the 1 s, 5 s and 25 s waits between them).
	RetrySpan time.Duration
	// WaitLive makes the mirror hold nothing until Live is called: the
	// listeners it depends on are still being registered. False means
	// notifications already flow.
	WaitLive bool
	// Logger receives what the worker does. Nil means the cache's logger.
	Logger *slog.Logger
}

func (o MirrorOptions) withDefaults(s *Service) MirrorOptions {
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.SweepPeriod <= 0 {
		o.SweepPeriod = 96 * time.Hour
	}
	if o.LeaseLife <= 0 {
		o.LeaseLife = max(3*o.Interval, 15*time.Second)
	}
	if o.Coalesce == 0 {
		o.Coalesce = 50 * time.Millisecond
	}
	if o.RefreshTimeout <= 0 {
		o.RefreshTimeout = 8 * time.Second
	}
	if o.Pace == nil {
		o.Pace = func(context.Context) error { return nil }
	}
	if o.Background == nil {
		o.Background = func(ctx context.Context) context.Context { return ctx }
	}
	if o.OnCall == nil {
		o.OnCall = func(string) {}
	}
	if o.OnVisitorCall == nil {
		o.OnVisitorCall = func(string) {}
	}
	if o.OnMissed == nil {
		o.OnMissed = func(int) {}
	}
	if o.OnAnswer == nil {
		o.OnAnswer = func(string, bool) {}
	}
	if o.OnResync == nil {
		o.OnResync = func() {}
	}
	if o.RetrySpan <= 0 {
		o.RetrySpan = 71 * time.Second
	}
	if o.Logger == nil {
		o.Logger = s.log
	}
	return o
}

// Mirror keeps the held days of a Service (see the file comment). Create it
// with NewMirror and run its worker with Run; its Service then serves held
// days from the store and re-reads them on notifications.
type Mirror struct {
	s    *Service
	opts MirrorOptions
	log  *slog.Logger

	pending coalescer

	// The worker's state, touched by Run's goroutine only.
	filled      bool
	sweepCursor int
	sweepOwed   float64
	lastPass    time.Time
	verified    map[string]time.Time
	// seen holds the subjects this worker found held or filled: one found
	// missing whole afterwards was lost by the store (a refill).
	seen map[string]bool

	// zones places the days of locations' visitor lists.
	zones locationZones

	leader atomic.Bool
	missed atomic.Int64
	rounds atomic.Int64
	// live is set once notifications reach the fleet (Live).
	live atomic.Bool
	// renewed is when the worker last renewed its lease.
	renewed time.Time
	// warned is when the worker last warned of a failure; failures in
	// between are logged at debug level, so a long outage is one line a
	// minute, not one a round.
	warned atomic.Int64
}

// failed logs a failure of the worker's.
func (m *Mirror) failed(ctx context.Context, msg string, args ...any) {
	if ctx.Err() != nil {
		return // the replica is stopping
	}
	now := time.Now().UnixNano()
	if last := m.warned.Load(); now-last > int64(time.Minute) && m.warned.CompareAndSwap(last, now) {
		m.log.Warn(msg, args...)
		return
	}
	m.log.Debug(msg, args...)
}

// step is called by the worker before each upstream call: it renews the
// lease when a third of its life has passed, so a long round never
// outlives it, then waits for the worker's pace. An error ends the round:
// the lease was lost (another replica works now) or ctx ended.
func (m *Mirror) step(ctx context.Context) error {
	if time.Since(m.renewed) > m.opts.LeaseLife/3 {
		held, err := m.opts.Lease.Hold(ctx, m.opts.LeaseLife)
		if err != nil || !held {
			m.leader.Store(false)
			return fmt.Errorf("mirror: the worker's lease was lost: %v", err)
		}
		m.renewed = time.Now()
	}
	return m.opts.Pace(ctx)
}

// NewMirror makes s a mirror: from now on its held days live until they
// leave the window and its Invalidate re-reads them. Call it before s
// serves, once.
func NewMirror(s *Service, opts MirrorOptions) *Mirror {
	m := &Mirror{s: s, opts: opts.withDefaults(s), verified: map[string]time.Time{}, seen: map[string]bool{}}
	// Lists no notification announces (the hierarchy, users, the catalog)
	// are held for a sweep period, so they are read again once per sweep;
	// rooms' and desks' lists are dropped by resource notifications too.
	for _, ttl := range []*time.Duration{&s.ttl.Hierarchy, &s.ttl.Resources, &s.ttl.Users, &s.ttl.Catalog} {
		*ttl = max(*ttl, m.opts.SweepPeriod)
	}
	m.log = m.opts.Logger
	m.live.Store(!m.opts.WaitLive)
	m.pending.m = map[string]*pendingRead{}
	m.zones.m = map[workplace.LocationID]*time.Location{}
	s.mirror = m
	return m
}

// holdFor is the life of a held room-day or desk-day entry: until the day
// leaves the window (U-3 passes) plus an hour, for a day the mirror holds;
// 0 otherwise.
func (m *Mirror) holdFor(day workplace.Date) time.Duration { return m.lifeIn(bookingSpan, day) }

// lifeIn is the life of an entry of day in span sp: 0 while the mirror
// holds nothing (see Live) or for a day outside the span.
func (m *Mirror) lifeIn(sp heldSpan, day workplace.Date) time.Duration {
	if !m.live.Load() {
		return 0
	}
	return sp.life(m.s.now(), day)
}

// visitorsLife is the life of the visitor list of (day, loc): until the
// location's day leaves its window, for a list the mirror holds; 0 for one
// it does not (the list of every location, a day outside the window, or a
// location whose zone is not known).
func (m *Mirror) visitorsLife(ctx context.Context, loc workplace.LocationID, day workplace.Date) time.Duration {
	if !m.opts.Visitors || loc == 0 {
		return 0
	}
	zone, ok := m.zones.of(ctx, m, loc)
	if !ok {
		return 0
	}
	return m.lifeIn(visitorSpan(zone), day)
}

// locationZones holds the zones of the tenant's locations, which turn the
// days of their visitor lists. The worker sets them every round; another
// replica reads the hierarchy (through the cache) when it meets a location
// it does not know, or knew too long ago.
type locationZones struct {
	mu sync.Mutex
	m  map[workplace.LocationID]*time.Location
	at time.Time
}

// zoneLife is how long a replica trusts the zones it read, and how long it
// waits before reading them again for a location it did not find.
const (
	zoneLife  = 10 * time.Minute
	zoneRetry = time.Minute
)

// set replaces the zones by those of locs.
func (z *locationZones) set(locs []workplace.Location, at time.Time) {
	m := make(map[workplace.LocationID]*time.Location, len(locs))
	for _, l := range locs {
		if l.TimeZone != nil {
			m[l.ID] = l.TimeZone
		}
	}
	z.mu.Lock()
	z.m, z.at = m, at
	z.mu.Unlock()
}

// of is loc's zone; false when the hierarchy does not have it (or cannot be
// read, and it was never known).
func (z *locationZones) of(ctx context.Context, m *Mirror, loc workplace.LocationID) (*time.Location, bool) {
	now := m.s.now()
	z.mu.Lock()
	zone, ok := z.m[loc]
	age := now.Sub(z.at)
	z.mu.Unlock()
	if ok && age < zoneLife || !ok && age < zoneRetry {
		return zone, ok
	}
	locs, err := workplace.AllLocations(ctx, m.s)
	if err != nil {
		return zone, ok
	}
	z.set(locs, now)
	z.mu.Lock()
	defer z.mu.Unlock()
	zone, ok = z.m[loc]
	return zone, ok
}

// causeKey carries the cause of the reads made with a context.
type causeKey struct{}

func withCause(ctx context.Context, cause string) context.Context {
	return context.WithValue(ctx, causeKey{}, cause)
}

// byWorker reports whether ctx is the worker's (fill, roll, refill, sweep).
func byWorker(ctx context.Context) bool {
	switch cause, _ := ctx.Value(causeKey{}).(string); cause {
	case CauseFill, CauseRoll, CauseRefill, CauseSweep:
		return true
	}
	return false
}

// called counts one upstream read of kind by its context's cause.
func (m *Mirror) called(ctx context.Context, kind string) {
	cause, _ := ctx.Value(causeKey{}).(string)
	if cause == "" {
		cause = CauseRead
	}
	if kind == visitorsKind {
		m.opts.OnVisitorCall(cause)
		return
	}
	m.opts.OnCall(cause)
}

// held is one kind of per-day entries the mirror holds, in terms every
// kind shares: rooms' bookings (every room, from the start), desks'
// bookings (a desk from its first read on) and locations' visitor lists
// (every location, with MirrorOptions.Visitors).
type held interface {
	// name is the kind's name in logs: "room", "desk" or "visitors".
	name() string
	// span is what the mirror holds of subject id; false when that cannot
	// be known now (a location whose zone is not known).
	span(ctx context.Context, id int64) (heldSpan, bool)
	// key is the entry of subject id on day.
	key(id int64, day workplace.Date) string
	// parse reads a key of this kind back.
	parse(key string) (id int64, day workplace.Date, ok bool)
	// reread reads days (sorted, one window of at most 14 days) of id
	// upstream and returns each day's encoded value, and the index items
	// to write.
	reread(ctx context.Context, id int64, from, to workplace.Date) (days [][]byte, index []Item, err error)
	// without decodes a day's value, drops the items whose ids are in
	// gone, and encodes it again.
	without(v []byte, gone []int64) ([]byte, error)
	// same reports whether two encoded days hold the same items.
	same(a, b []byte) bool
	// fill reads id's window from..to through the cache (what is missing
	// of it), as a reader would.
	fill(ctx context.Context, id int64, from, to workplace.Date) error
	// ttl is the life of id's entry of day.
	ttl(ctx context.Context, id int64, day workplace.Date) time.Duration
}

// heldBookings is held for a kind of workspace's bookings, rooms' or
// desks', per workspace and day across bookingSpan.
type heldBookings[T any] struct {
	s     *Service
	kind  string // "room" or "desk": its name, and its day keys' tag
	call  string // the read's name in the mirror's accounting
	items func() dayItems[T]
	keyOf func(id int64, d workplace.Date) string
	read  func(ctx context.Context, id int64, from, to workplace.Date) ([]T, error)
	// fillf reads a window through the cache, as a reader would.
	fillf func(ctx context.Context, id int64, from, to workplace.Date) error
}

// heldRooms is held for rooms' bookings.
func heldRooms(s *Service) held {
	return heldBookings[workplace.Booking]{s: s, kind: "room", call: "roomBookings", items: s.bookingItems,
		keyOf: func(id int64, d workplace.Date) string { return roomDayKey(workplace.RoomID(id), d) },
		read: func(ctx context.Context, id int64, from, to workplace.Date) ([]workplace.Booking, error) {
			return s.inner.Bookings(ctx, workplace.RoomID(id), from, to)
		},
		fillf: func(ctx context.Context, id int64, from, to workplace.Date) error {
			_, errs := s.BookingsMany(ctx, []workplace.RoomWindow{{Room: workplace.RoomID(id), From: from, To: to}})
			return errs[0]
		}}
}

// heldDesks is held for desks' bookings.
func heldDesks(s *Service) held {
	return heldBookings[workplace.DeskBooking]{s: s, kind: "desk", call: "deskBookings", items: s.deskItems,
		keyOf: func(id int64, d workplace.Date) string { return deskDayKey(workplace.DeskID(id), d) },
		read: func(ctx context.Context, id int64, from, to workplace.Date) ([]workplace.DeskBooking, error) {
			return s.inner.DeskBookings(ctx, workplace.DeskID(id), from, to)
		},
		fillf: func(ctx context.Context, id int64, from, to workplace.Date) error {
			_, errs := s.DeskBookingsMany(ctx, []workplace.DeskWindow{{Desk: workplace.DeskID(id), From: from, To: to}})
			return errs[0]
		}}
}

func (h heldBookings[T]) name() string                               { return h.kind }
func (heldBookings[T]) span(context.Context, int64) (heldSpan, bool) { return bookingSpan, true }
func (h heldBookings[T]) key(id int64, d workplace.Date) string      { return h.keyOf(id, d) }
func (h heldBookings[T]) parse(key string) (int64, workplace.Date, bool) {
	return parseDayKey(key, h.kind)
}
func (h heldBookings[T]) reread(ctx context.Context, id int64, from, to workplace.Date) ([][]byte, []Item, error) {
	h.s.called(ctx, h.call)
	items, err := h.read(ctx, id, from, to)
	if err != nil {
		return nil, nil, err
	}
	d := h.items()
	return encodeDays(d, items, from, to), d.index(items), nil
}
func (h heldBookings[T]) without(v []byte, gone []int64) ([]byte, error) {
	return withoutItems(h.items(), v, gone)
}
func (h heldBookings[T]) same(a, b []byte) bool { return sameItems(h.items(), a, b) }
func (h heldBookings[T]) fill(ctx context.Context, id int64, from, to workplace.Date) error {
	return h.fillf(ctx, id, from, to)
}
func (h heldBookings[T]) ttl(_ context.Context, _ int64, day workplace.Date) time.Duration {
	return h.items().ttlOf(day)
}

// visitorsKind names the kind of locations' visitor lists.
const visitorsKind = "visitors"

// heldVisitors is held for locations' plain visitor lists, one entry per
// location and local day; the subject's id is the location's.
type heldVisitors struct{ m *Mirror }

func (heldVisitors) name() string { return visitorsKind }
func (h heldVisitors) span(ctx context.Context, id int64) (heldSpan, bool) {
	zone, ok := h.m.zones.of(ctx, h.m, workplace.LocationID(id))
	if !ok {
		return heldSpan{}, false
	}
	return visitorSpan(zone), true
}
func (heldVisitors) key(id int64, d workplace.Date) string {
	return visitorsKey(d, workplace.LocationID(id))
}
func (heldVisitors) parse(key string) (int64, workplace.Date, bool) {
	day, loc, ok := parseVisitorsKey(key)
	return int64(loc), day, ok && loc != 0
}
func (h heldVisitors) reread(ctx context.Context, id int64, from, to workplace.Date) ([][]byte, []Item, error) {
	s := h.m.s
	loc := workplace.LocationID(id)
	var days [][]byte
	var index []Item
	for d := from; !d.After(to); d = d.AddDays(1) {
		q := workplace.VisitorQuery{Date: d, LocationID: loc}
		p, err := s.listVisitors(ctx, q)
		if err != nil {
			return nil, nil, err
		}
		v, err := s.codecs.visitors.enc(p)
		if err != nil {
			return nil, nil, err
		}
		days = append(days, v)
		index = append(index, s.visitorIndex(p, q, s.visitorsTTL(ctx, q))...)
	}
	return days, index, nil
}
func (h heldVisitors) without(v []byte, gone []int64) ([]byte, error) {
	c := h.m.s.codecs.visitors
	p, err := c.dec(v)
	if err != nil {
		return nil, err
	}
	n := len(p.Visitors)
	p.Visitors = slices.DeleteFunc(p.Visitors, func(v workplace.Visitor) bool { return slices.Contains(gone, int64(v.ID)) })
	p.Total = max(0, p.Total-(n-len(p.Visitors)))
	return c.enc(p)
}
func (h heldVisitors) same(a, b []byte) bool {
	c := h.m.s.codecs.visitors
	x, err1 := c.dec(a)
	y, err2 := c.dec(b)
	if err1 != nil || err2 != nil || len(x.Visitors) != len(y.Visitors) || x.Total != y.Total {
		return false
	}
	canon := func(vs []workplace.Visitor) string {
		c := slices.Clone(vs)
		slices.SortFunc(c, func(p, q workplace.Visitor) int { return cmpInt64(int64(p.ID), int64(q.ID)) })
		b, _ := json.Marshal(c)
		return string(b)
	}
	return canon(x.Visitors) == canon(y.Visitors)
}
func (h heldVisitors) fill(ctx context.Context, id int64, from, to workplace.Date) error {
	for d := from; !d.After(to); d = d.AddDays(1) {
		if _, err := h.m.s.Visitors(ctx, workplace.VisitorQuery{Date: d, LocationID: workplace.LocationID(id)}); err != nil {
			return err
		}
	}
	return nil
}
func (h heldVisitors) ttl(ctx context.Context, id int64, day workplace.Date) time.Duration {
	return h.m.s.visitorsTTL(ctx, workplace.VisitorQuery{Date: day, LocationID: workplace.LocationID(id)})
}

// encodeDays splits items into the days from..to and encodes each.
func encodeDays[T any](d dayItems[T], items []T, from, to workplace.Date) [][]byte {
	split := d.split(items, from, to)
	out := make([][]byte, len(split))
	for k, day := range split {
		out[k], _ = d.codec.enc(day) // the codecs encode plain structs
	}
	return out
}

// withoutItems drops the items whose ids are in gone from an encoded day.
func withoutItems[T any](d dayItems[T], v []byte, gone []int64) ([]byte, error) {
	items, err := d.codec.dec(v)
	if err != nil {
		return nil, err
	}
	kept := slices.DeleteFunc(items, func(it T) bool { return slices.Contains(gone, d.id(it)) })
	return d.codec.enc(kept)
}

// sameItems reports whether two encoded days hold the same items, whatever
// their order.
func sameItems[T any](d dayItems[T], a, b []byte) bool {
	x, err1 := d.codec.dec(a)
	y, err2 := d.codec.dec(b)
	if err1 != nil || err2 != nil || len(x) != len(y) {
		return false
	}
	canon := func(items []T) string {
		c := slices.Clone(items)
		slices.SortFunc(c, func(p, q T) int { return cmpInt64(d.id(p), d.id(q)) })
		v, _ := json.Marshal(c)
		return string(v)
	}
	return canon(x) == canon(y)
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

// kinds are the mirror's held kinds.
func (m *Mirror) kinds() []held {
	if m.opts.Visitors {
		return []held{heldRooms(m.s), heldDesks(m.s), heldVisitors{m}}
	}
	return []held{heldRooms(m.s), heldDesks(m.s)}
}

// heldKey is one held entry a change names.
type heldKey struct {
	kind held
	id   int64
	day  workplace.Date
}

// heldOf says which held kind's entry key is, if any, and of which day in
// the window.
func (m *Mirror) heldOf(ctx context.Context, key string) (heldKey, bool) {
	for _, k := range m.kinds() {
		if id, day, ok := k.parse(key); ok {
			if sp, ok := k.span(ctx, id); !ok || m.lifeIn(sp, day) == 0 {
				return heldKey{}, false
			}
			return heldKey{kind: k, id: id, day: day}, true
		}
	}
	return heldKey{}, false
}

// deletedIDs are the ids a change says are gone, with nothing else to
// re-read: a cancelled booking or desk booking, a deleted visitor.
func deletedIDs(c workplace.Change) (int64, bool) {
	if c.Action != workplace.ActionDeleted {
		return 0, false
	}
	switch {
	case c.Kind == workplace.KindBooking && c.BookingID != 0:
		return int64(c.BookingID), true
	case c.Kind == workplace.KindDeskBooking && c.DeskBookingID != 0:
		return int64(c.DeskBookingID), true
	case c.Kind == workplace.KindVisitor && c.VisitorID != 0:
		return int64(c.VisitorID), true
	}
	return 0, false
}

// apply is Invalidate for a mirror: the held days the changes name that
// the store holds are re-read (or, for a cancellation, patched) in place,
// and everything else is invalidated as the read-through cache does. It
// returns once the held days are current or, where a re-read failed,
// dropped, so a read after it never sees the state before the change as
// current.
func (m *Mirror) apply(ctx context.Context, changes []workplace.Change, kn *known) error {
	s := m.s
	rest, reread, patch := keyset{}, keyset{}, keyset{}
	var gone []int64
	for _, c := range changes {
		ks := keyset{}
		s.plan(ctx, kn, ks, c)
		id, isDelete := deletedIDs(c)
		if isDelete {
			gone = append(gone, id)
		}
		for k := range ks {
			switch _, ok := m.heldOf(ctx, k); {
			case !ok:
				rest.add(k)
			case isDelete:
				patch.add(k)
			default:
				reread.add(k)
			}
		}
	}
	return m.keep(ctx, rest, reread, patch, gone)
}

// keep brings the keys of changes up to date: rest is invalidated as the
// read-through cache does; the held days of reread are re-read in place,
// and those of patch have the items whose ids are in gone taken out
// without a call. A held day the store does not hold is only invalidated.
// It returns once every day is current or, where a re-read failed,
// dropped.
func (m *Mirror) keep(ctx context.Context, rest, reread, patch keyset, gone []int64) error {
	s := m.s
	for k := range reread {
		delete(patch, k) // a day also changed otherwise is re-read, which covers the cancellation
	}
	// What the store does not hold is only invalidated: nothing to keep
	// current (the worker fills it, or a reader reads it through).
	cands := append(reread.list(), patch.list()...)
	if es, ok := s.storeGet(ctx, cands); ok {
		for i, e := range es {
			if !e.Found {
				rest.add(cands[i])
				delete(reread, cands[i])
				delete(patch, cands[i])
			}
		}
	}
	if err := s.storeInvalidate(ctx, rest.list()); err != nil {
		return err
	}
	var failed []string
	if len(patch) > 0 {
		if err := m.patch(ctx, patch.list(), gone); err != nil {
			failed = append(failed, patch.list()...)
		}
	}
	type subject struct {
		kind held
		id   int64
	}
	bySubject := map[string]*struct {
		subject
		days []workplace.Date
	}{}
	for k := range reread {
		h, _ := m.heldOf(ctx, k)
		sk := h.kind.name() + ":" + strconv.FormatInt(h.id, 10)
		e := bySubject[sk]
		if e == nil {
			e = &struct {
				subject
				days []workplace.Date
			}{subject: subject{kind: h.kind, id: h.id}}
			bySubject[sk] = e
		}
		e.days = append(e.days, h.day)
	}
	names := make([]string, 0, len(bySubject))
	for n := range bySubject {
		names = append(names, n)
	}
	slices.Sort(names)
	var mu sync.Mutex
	fanOut(len(names), s.opts.FanOut, func(i int) {
		e := bySubject[names[i]]
		run := func(ctx context.Context, days []workplace.Date) error { return m.refresh(ctx, e.kind, e.id, days) }
		if err := m.pending.do(ctx, names[i], e.days, m.opts.Coalesce, m.opts.RefreshTimeout, run); err != nil {
			m.log.WarnContext(ctx, "mirror: re-reading held days after a notification failed; dropping them, so reads go upstream", "kind", e.kind.name(), "id", e.id, "err", err)
			mu.Lock()
			for _, d := range e.days {
				failed = append(failed, e.kind.key(e.id, d))
			}
			mu.Unlock()
		}
	})
	return s.storeInvalidate(ctx, failed)
}

// refresh re-reads held days of one subject: their generations are bumped
// first, so the value stays served until this re-read replaces it and no
// read that began earlier can write back over it.
func (m *Mirror) refresh(ctx context.Context, kind held, id int64, days []workplace.Date) error {
	s := m.s
	slices.SortFunc(days, func(a, b workplace.Date) int { return -a.DaysUntil(b) })
	days = slices.Compact(days)
	keys := make([]string, len(days))
	for i, d := range days {
		keys[i] = kind.key(id, d)
	}
	gens, err := s.storeBump(ctx, keys)
	if err != nil {
		return err
	}
	gen := map[workplace.Date]int64{}
	for i, d := range days {
		gen[d] = gens[i]
	}
	sp, ok := kind.span(ctx, id)
	if !ok {
		return fmt.Errorf("mirror: what is held of %s %d is not known now", kind.name(), id)
	}
	var writes []Item
	for _, w := range readWindows(days, sp.per) {
		values, index, err := kind.reread(withCause(ctx, CauseChange), id, w[0], w[1])
		if err != nil {
			return err
		}
		at := s.now()
		for k, v := range values {
			day := w[0].AddDays(k)
			g, ok := gen[day]
			if !ok {
				continue
			}
			key := kind.key(id, day)
			writes = s.writeBack(writes, Item{Key: key, Value: v, TTL: kind.ttl(ctx, id, day), Gen: g}, shadowKey(key), at)
		}
		writes = append(writes, index...)
	}
	return s.storeSetChecked(ctx, writes)
}

// patch takes cancelled bookings out of held days without a call: the
// generations are bumped first, then each day is rewritten under its new
// generation only if nobody bumped it since (a newer re-read wins).
func (m *Mirror) patch(ctx context.Context, keys []string, gone []int64) error {
	s := m.s
	gens, err := s.storeBump(ctx, keys)
	if err != nil {
		return err
	}
	entries, ok := s.storeGet(ctx, keys)
	if !ok {
		return errStepAside
	}
	var writes []Item
	for i, e := range entries {
		h, held := m.heldOf(ctx, keys[i])
		if !held || !e.Found || e.Gen != gens[i] {
			continue // not held (the worker fills it), or re-read since
		}
		v, err := h.kind.without(e.Value, gone)
		if err != nil {
			return err
		}
		writes = s.writeBack(writes, Item{Key: keys[i], Value: v, TTL: h.kind.ttl(ctx, h.id, h.day), Gen: gens[i]}, shadowKey(keys[i]), s.now())
	}
	return s.storeSetChecked(ctx, writes)
}

// coalescer joins the re-reads of one room that arrive while one is
// waiting to start: at most one re-read per room runs, and one waits.
type coalescer struct {
	mu sync.Mutex
	m  map[string]*pendingRead
}

// pendingRead is one re-read of a subject's days, waiting or running.
type pendingRead struct {
	days    []workplace.Date
	started bool
	done    chan struct{}
	err     error
}

// do re-reads days of subject with run, joining the waiting re-read of
// subject if there is one, and returns once a re-read that started after this call
// has finished. The re-read runs on its own deadline (timeout), so one
// caller giving up does not fail the others.
func (c *coalescer) do(ctx context.Context, subject string, days []workplace.Date, wait, timeout time.Duration,
	run func(ctx context.Context, days []workplace.Date) error) error {
	c.mu.Lock()
	r := c.m[subject]
	if r == nil || r.started {
		prev := r
		r = &pendingRead{done: make(chan struct{})}
		c.m[subject] = r
		go func() {
			if prev != nil {
				<-prev.done
			}
			if wait > 0 {
				time.Sleep(wait)
			}
			c.mu.Lock()
			r.started = true
			days := slices.Clone(r.days)
			c.mu.Unlock()
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), timeout)
			r.err = run(rctx, days)
			cancel()
			close(r.done)
			c.mu.Lock()
			if c.m[subject] == r {
				delete(c.m, subject)
			}
			c.mu.Unlock()
		}()
	}
	r.days = append(r.days, days...)
	c.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run is the worker: while this replica holds the lease, it fills and
// rolls the held days and sweeps, every Interval, until ctx ends; then it
// releases the lease, so another replica takes over at once.
func (m *Mirror) Run(ctx context.Context) {
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), time.Second)
		defer cancel()
		// Released whatever this replica believes: the lease releases only
		// its own holder, and ctx ending during a renewal loses the belief.
		_ = m.opts.Lease.Release(rctx)
		m.leader.Store(false)
	}()
	beating := make(chan struct{})
	defer func() { <-beating }()
	go func() { defer close(beating); m.beat(ctx) }()
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		if !m.live.Load() {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				continue
			}
		}
		held, err := m.opts.Lease.Hold(ctx, m.opts.LeaseLife)
		if err != nil {
			m.failed(ctx, "mirror: the worker's lease could not be checked; not working until it can", "err", err)
		}
		was := m.leader.Swap(held && err == nil)
		switch {
		case held && err == nil:
			m.renewed = time.Now()
			if !was {
				m.takeOver(ctx)
			}
			m.pass(ctx)
		case was:
			m.log.Info("mirror: another replica is the mirror's worker now")
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// takeOver starts this replica's turn as the worker where the last
// worker's status left the sweep: at its cursor, owing what came due
// since its last round, so a handover never restarts the sweep and
// leaves the subjects at its end waiting longer than the sweep period.
func (m *Mirror) takeOver(ctx context.Context) {
	st, ok := m.Status(ctx)
	if ok && st.Worker && !st.At.IsZero() {
		m.sweepCursor, m.lastPass = st.SweepCursor, st.At
	}
	m.log.Info("mirror: this replica is the mirror's worker", "sweepCursor", m.sweepCursor)
}

// beat runs on every replica, on its own so that a long round of the
// worker never holds it up: every Interval while notifications reach this
// replica it renews the fleet's heartbeat. When this replica could not
// renew it for longer than Engage's retry span (the store was unreachable,
// or the process was stopped), it checks the fleet's: no replica renewing
// it for that long means none could take notifications, so what may have
// changed is re-synced before it is served again, as after a fleet
// restart. This replica's own span is timed on the monotonic clock, so a
// jump of the wall clock is not a gap.
func (m *Mirror) beat(ctx context.Context) {
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	var beaten time.Time
	for {
		if m.live.Load() {
			if !beaten.IsZero() && time.Since(beaten) > m.opts.RetrySpan && m.checkGap(ctx) {
				m.resyncMarked(ctx)
			}
			// While the store is down the beat waits: the first call that
			// finds it back must see the heartbeat as the outage left it
			// (see storeBack).
			if !m.s.storeDown() && m.heartbeat(ctx) {
				beaten = time.Now()
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// heartbeat tells the fleet this replica is alive and receiving
// notifications: a replica starting after every replica was gone for
// longer than Engage retries a delivery knows notifications were lost. It
// reports whether the store took it.
func (m *Mirror) heartbeat(ctx context.Context) bool {
	b := strconv.AppendInt(nil, m.s.now().UnixMilli(), 10)
	return m.s.storeSetChecked(ctx, []Item{{Key: mirrorAliveKey(), Value: b, TTL: mirrorMemory, Unconditional: true}}) == nil
}

// mirrorMemory is how long the fleet's heartbeat and resync marks live:
// longer than any held day.
const mirrorMemory = 60 * 24 * time.Hour

// checkGap runs as a replica starts, and when its beat could not be
// renewed for a while (see beat): when the fleet's last heartbeat is older than Engage's retry span,
// notifications may have been lost while no replica could take them, and
// a resync is marked for the worker (see resync), whichever replica it
// is. It reports whether it marked one.
func (m *Mirror) checkGap(ctx context.Context) bool {
	es, ok := m.s.storeGet(ctx, []string{mirrorAliveKey()})
	if !ok || !es[0].Found {
		return false
	}
	ms, err := strconv.ParseInt(string(es[0].Value), 10, 64)
	if err != nil {
		return false
	}
	last := time.UnixMilli(ms)
	gap := m.s.now().Sub(last)
	if gap <= m.opts.RetrySpan {
		return false
	}
	m.log.Warn("mirror: no replica was receiving notifications for longer than Engage retries them; the mirror is re-read before it is served as current", "since", last.UTC().Format(time.RFC3339), "gap", gap.Round(time.Second).String())
	return m.s.storeSetChecked(ctx, []Item{{Key: mirrorGapKey(), Value: []byte(last.UTC().Format(time.RFC3339)), TTL: mirrorMemory, Unconditional: true}}) == nil
}

// Prepare runs once as a replica starts, before it serves: when the
// fleet's last heartbeat is older than Engage's retry span (every replica
// was gone, so notifications were lost), every held day is dropped before
// anything is served from it, and the worker reads the window again.
func (m *Mirror) Prepare(ctx context.Context) {
	m.checkGap(ctx)
	m.resyncMarked(ctx)
}

// resyncMarked resyncs at once when a gap is marked, and reports whether
// it did.
func (m *Mirror) resyncMarked(ctx context.Context) bool {
	es, ok := m.s.storeGet(ctx, []string{mirrorGapKey()})
	if !ok || !es[0].Found {
		return false
	}
	subjects, _, err := m.subjects(withCause(m.opts.Background(ctx), CauseFill))
	if err != nil {
		m.log.Warn("mirror: listing the tenant for a resync failed; the worker resyncs when it can", "err", err)
		return false
	}
	return m.resync(ctx, subjects)
}

// storeBack runs as the store answers again after an outage, before
// anything read from it is served: when no replica renewed the fleet's
// heartbeat for longer than Engage's retry span, none could take
// notifications (each was refused for want of the store, and Engage gave
// it up), so what the mirror held is dropped for the worker to read
// again. It reports whether it was.
func (m *Mirror) storeBack(ctx context.Context) bool {
	if !m.live.Load() || !m.checkGap(ctx) || !m.resyncMarked(ctx) {
		return false
	}
	// Renewed at once, so no other replica coming back resyncs again.
	m.heartbeat(ctx)
	return true
}

// resync drops every held day of every subject when a gap was marked, so
// that reads go upstream (or, with Engage unable to answer, are served
// marked stale) until the worker has read the window again; it reports
// whether it did.
func (m *Mirror) resync(ctx context.Context, subjects []subject) bool {
	es, ok := m.s.storeGet(ctx, []string{mirrorGapKey()})
	if !ok || !es[0].Found {
		return false
	}
	now := m.s.now()
	var keys []string
	for _, sj := range subjects {
		sp, ok := sj.kind.span(ctx, sj.id)
		if !ok {
			continue
		}
		from, _, ahead := sp.days(now)
		for d := from; !d.After(ahead); d = d.AddDays(1) {
			keys = append(keys, sj.kind.key(sj.id, d))
		}
	}
	const chunk = 2000
	for start := 0; start < len(keys); start += chunk {
		if err := m.s.storeInvalidate(ctx, keys[start:min(start+chunk, len(keys))]); err != nil {
			m.log.Warn("mirror: dropping the held days for a resync failed; trying again next round", "err", err)
			return false
		}
	}
	// The status described what was dropped; a mark left behind only
	// repeats the resync.
	_ = m.s.storeInvalidate(ctx, []string{mirrorGapKey(), mirrorStatusKey()})
	m.opts.OnResync()
	m.log.Warn("mirror: dropped every held day after a gap in notifications; the worker reads them again", "subjects", len(subjects), "days", len(keys))
	return true
}

// Live says notifications now reach the fleet (the listeners are
// registered), so the mirror may hold days: until then it only reads
// through, since what it held could not be kept.
func (m *Mirror) Live() { m.live.Store(true) }

// subject is one room, desk or location (its visitor lists) whose window
// the worker keeps.
type subject struct {
	kind held
	id   int64
	// zone is the zone of the room's or desk's location, where known: the
	// sweep verifies its held days from the location's today on.
	zone *time.Location
}

func (sj subject) String() string { return sj.kind.name() + ":" + strconv.FormatInt(sj.id, 10) }

// tenantCount counts the subjects of each kind the worker keeps.
type tenantCount struct{ rooms, desks, locations int }

// subjects lists what the worker keeps, walking the hierarchy through the
// cache: every room, every desk read since its tracking mark was last set
// (see track), and, with MirrorOptions.Visitors, every location whose zone
// is known (its visitor lists), in that order. n counts them.
func (m *Mirror) subjects(ctx context.Context) (out []subject, n tenantCount, err error) {
	locs, err := workplace.AllLocations(ctx, m.s)
	if err != nil {
		return nil, tenantCount{}, err
	}
	m.zones.set(locs, m.s.now())
	var deskIDs []workplace.DeskID
	var deskZones []*time.Location
	for _, l := range locs {
		rs, err := m.s.Rooms(ctx, l.ID)
		if err != nil {
			return nil, tenantCount{}, fmt.Errorf("rooms of location %d: %w", l.ID, err)
		}
		for _, r := range rs {
			out = append(out, subject{heldRooms(m.s), int64(r.ID), l.TimeZone})
		}
		ds, err := m.s.Desks(ctx, l.ID)
		if err != nil {
			return nil, tenantCount{}, fmt.Errorf("desks of location %d: %w", l.ID, err)
		}
		for _, d := range ds {
			deskIDs = append(deskIDs, d.ID)
			deskZones = append(deskZones, l.TimeZone)
		}
	}
	n.rooms = len(out)
	// The whole list of users is held too: lookups by email are answered
	// from it (see Users).
	if _, err := m.s.Users(ctx, ""); err != nil {
		return nil, tenantCount{}, fmt.Errorf("users: %w", err)
	}
	const chunk = 1000
	for start := 0; start < len(deskIDs); start += chunk {
		part := deskIDs[start:min(start+chunk, len(deskIDs))]
		keys := make([]string, len(part))
		for i, d := range part {
			keys[i] = mirrorDeskKey(d)
		}
		es, ok := m.s.storeGet(ctx, keys)
		if !ok {
			break
		}
		for i, e := range es {
			if e.Found {
				out = append(out, subject{heldDesks(m.s), int64(part[i]), deskZones[start+i]})
			}
		}
	}
	n.desks = len(out) - n.rooms
	if m.opts.Visitors {
		for _, l := range locs {
			if l.TimeZone != nil {
				out = append(out, subject{heldVisitors{m}, int64(l.ID), nil})
				n.locations++
			}
		}
	}
	return out, n, nil
}

// deskTracking is how long a desk stays mirrored after the read that last
// missed its held days: a desk nobody reads for a fortnight is let go, and
// its next read takes it back.
const deskTracking = 14 * 24 * time.Hour

// track marks a desk as mirrored: a reader missed its held days, so the
// worker fills the rest of its window and keeps it.
func (m *Mirror) track(ctx context.Context, desk workplace.DeskID) {
	m.s.storeSet(ctx, []Item{{Key: mirrorDeskKey(desk), Value: []byte("1"), TTL: deskTracking, Unconditional: true}})
}

// pass is one round of the worker: fill what is missing, sweep its share,
// publish the status.
func (m *Mirror) pass(ctx context.Context) {
	// With the store down there is nowhere to keep what the round would
	// read, and its walk of the tenant would go upstream: the round waits.
	if m.s.storeDown() {
		return
	}
	bctx := m.opts.Background(ctx)
	subjects, n, err := m.subjects(withCause(bctx, CauseFill))
	if err != nil {
		m.failed(ctx, "mirror: listing the tenant's rooms and desks failed; trying again next round", "err", err)
		return
	}
	st := MirrorStatus{Rooms: n.rooms, Desks: n.desks, Locations: n.locations, Worker: true}
	if m.resync(ctx, subjects) {
		clear(m.seen)
		clear(m.verified)
	}
	for kind, c := range m.fill(bctx, subjects) {
		if kind == visitorsKind {
			st.HeldVisitorDays, st.WantedVisitorDays = c.held, c.wanted
		} else {
			st.HeldDays, st.WantedDays = st.HeldDays+c.held, st.WantedDays+c.wanted
		}
	}
	if st.HeldDays == st.WantedDays && st.HeldVisitorDays == st.WantedVisitorDays && !m.filled {
		m.filled = true
		m.log.Info("mirror: every room's window is held", "rooms", n.rooms, "desks", n.desks, "days", st.WantedDays,
			"locations", n.locations, "visitorDays", st.WantedVisitorDays)
	}
	m.sweep(bctx, subjects)
	m.rounds.Add(1)
	now := m.s.now()
	st.Filled = m.filled
	st.SweepCursor, st.Missed = m.sweepCursor, m.missed.Load()
	oldest := now
	for _, sj := range subjects {
		if v, ok := m.verified[sj.String()]; !ok {
			oldest = time.Time{}
			break
		} else if v.Before(oldest) {
			oldest = v
		}
	}
	st.OldestVerified = oldest
	st.At = now
	m.publish(ctx, st)
}

// heldCount is how many held days of one kind the store has and should
// have.
type heldCount struct{ held, wanted int }

// fill reads, for every subject with held days missing, its first missing
// day and the days after it one read covers (13 more for bookings, capped
// at the span's ahead; none for visitor lists), paced, until nothing of the
// window is missing, and reports by kind how many held days the store has
// and should have. A failed read ends the round: Engage refusing or failing
// one read will refuse the next.
func (m *Mirror) fill(ctx context.Context, subjects []subject) map[string]*heldCount {
	s := m.s
	now := s.now()
	counts := map[string]*heldCount{}
	// Each subject's window, as the round sees it.
	type window struct {
		from, ahead workplace.Date
		n, per      int
		ok          bool
	}
	windows := make([]window, len(subjects))
	for i, sj := range subjects {
		c := counts[sj.kind.name()]
		if c == nil {
			c = &heldCount{}
			counts[sj.kind.name()] = c
		}
		sp, ok := sj.kind.span(ctx, sj.id)
		if !ok {
			continue
		}
		from, to, ahead := sp.days(now)
		windows[i] = window{from: from, ahead: ahead, n: from.DaysUntil(to) + 1, per: sp.per, ok: true}
		c.wanted += windows[i].n
	}
	storeDown := func() map[string]*heldCount {
		for _, c := range counts {
			c.held = 0 // nothing can be held
		}
		return counts
	}
	const chunk = 25 // subjects per store round trip: each stays quick
	for start := 0; start < len(subjects); start += chunk {
		part := subjects[start:min(start+chunk, len(subjects))]
		var keys []string
		for i, sj := range part {
			w := windows[start+i]
			for k := range w.n {
				keys = append(keys, sj.kind.key(sj.id, w.from.AddDays(k)))
			}
		}
		has, ok := s.storeHas(ctx, keys)
		if !ok {
			return storeDown()
		}
		for i, sj := range part {
			w := windows[start+i]
			c := counts[sj.kind.name()]
			mine := has[:w.n]
			has = has[w.n:]
			if !w.ok {
				continue
			}
			var missing []int
			for k := range w.n {
				if mine[k] {
					c.held++
				} else {
					missing = append(missing, k)
				}
			}
			if len(missing) == 0 {
				m.seen[sj.String()] = true
				continue
			}
			whole := len(missing) == w.n
			cause := CauseRefill
			switch {
			case !m.filled || !m.seen[sj.String()]:
				// The first fill, or a subject this worker never held
				// (a desk read for the first time).
				cause = CauseFill
			case missing[0] >= w.n-3:
				cause = CauseRoll
			}
			m.seen[sj.String()] = true
			for len(missing) > 0 {
				if err := m.step(ctx); err != nil {
					return counts
				}
				wf := w.from.AddDays(missing[0])
				wt := min2(wf.AddDays(w.per-1), w.ahead)
				if err := sj.kind.fill(withCause(ctx, cause), sj.id, wf, wt); err != nil {
					m.failed(ctx, "mirror: filling held days failed; trying again next round", "kind", sj.kind.name(), "id", sj.id, "from", wf.String(), "to", wt.String(), "err", err)
					return counts
				}
				for len(missing) > 0 && !w.from.AddDays(missing[0]).After(wt) {
					c.held++
					missing = missing[1:]
				}
			}
			if whole {
				m.verified[sj.String()] = s.now()
			}
		}
	}
	return counts
}

func min2(a, b workplace.Date) workplace.Date {
	if a.After(b) {
		return b
	}
	return a
}

// sweep re-reads its share of subjects (subjects × time since the last
// pass / SweepPeriod), compares every held day with Engage's answer, and
// fixes and counts the days that differ: notifications the fleet missed.
func (m *Mirror) sweep(ctx context.Context, subjects []subject) {
	now := m.s.now()
	if m.lastPass.IsZero() || len(subjects) == 0 {
		m.lastPass = now
		return
	}
	m.sweepOwed += float64(len(subjects)) * float64(now.Sub(m.lastPass)) / float64(m.opts.SweepPeriod)
	m.lastPass = now
	m.sweepOwed = math.Min(m.sweepOwed, float64(len(subjects)))
	for m.sweepOwed >= 1 {
		if m.sweepCursor >= len(subjects) {
			m.sweepCursor = 0
		}
		sj := subjects[m.sweepCursor]
		if err := m.sweepOne(ctx, sj); err != nil {
			m.failed(ctx, "mirror: sweeping failed; it is swept again next round", "kind", sj.kind.name(), "id", sj.id, "err", err)
			return
		}
		m.sweepCursor++
		m.sweepOwed--
	}
}

// sweepOne re-reads the held days of one subject's window and writes back
// those that differ, each under the generation it saw before the read, so
// a notification's re-read that lands meanwhile is never overwritten.
//
// A room's or desk's held days are verified from its location's today on,
// those read ahead included (two reads): its days gone by, which nothing
// books any more, are not. Where the zone is not known, every held day is.
func (m *Mirror) sweepOne(ctx context.Context, sj subject) error {
	s := m.s
	sp, ok := sj.kind.span(ctx, sj.id)
	if !ok {
		return fmt.Errorf("mirror: what is held of %s %d is not known now", sj.kind.name(), sj.id)
	}
	from, _, ahead := sp.days(s.now())
	if sj.zone != nil {
		if today := workplace.DateOf(s.now().In(sj.zone)); today.After(from) {
			from = today
		}
	}
	var writes []Item
	missed := 0
	for _, w := range readWindows(dayRange(from, ahead), sp.per) {
		n := w[0].DaysUntil(w[1]) + 1
		keys := make([]string, n)
		for k := range n {
			keys[k] = sj.kind.key(sj.id, w[0].AddDays(k))
		}
		entries, ok := s.storeGet(ctx, keys)
		if !ok {
			return errStepAside
		}
		if !slices.ContainsFunc(entries, func(e Entry) bool { return e.Found }) {
			continue
		}
		if err := m.step(ctx); err != nil {
			return err
		}
		values, index, err := sj.kind.reread(withCause(ctx, CauseSweep), sj.id, w[0], w[1])
		if err != nil {
			return err
		}
		at := s.now()
		for k, v := range values {
			e := entries[k]
			if !e.Found || sj.kind.same(e.Value, v) {
				continue
			}
			day := w[0].AddDays(k)
			missed++
			m.log.Warn("mirror: the sweep found a held day that differs from Engage: a notification was missed", "kind", sj.kind.name(), "id", sj.id, "day", day.String())
			writes = s.writeBack(writes, Item{Key: keys[k], Value: v, TTL: sj.kind.ttl(ctx, sj.id, day), Gen: e.Gen}, shadowKey(keys[k]), at)
		}
		writes = append(writes, index...)
	}
	if err := s.storeSetChecked(ctx, writes); err != nil {
		return err
	}
	m.verified[sj.String()] = s.now()
	if missed > 0 {
		m.missed.Add(int64(missed))
		m.opts.OnMissed(missed)
	}
	return nil
}

// MirrorStatus is what the worker last reported about the mirror: what
// every replica's /readyz and /metrics show.
type MirrorStatus struct {
	// Worker is true on the status the worker wrote (false: none yet).
	Worker bool `json:"worker"`
	// Rooms is how many rooms the tenant has; Desks how many desks are
	// mirrored (read lately); Locations how many locations' visitor lists
	// are mirrored (every location, with MirrorOptions.Visitors; else 0).
	Rooms     int `json:"rooms"`
	Desks     int `json:"desks"`
	Locations int `json:"locations"`
	// HeldDays and WantedDays are the room-days and desk-days held and to
	// be held.
	HeldDays   int `json:"heldDays"`
	WantedDays int `json:"wantedDays"`
	// HeldVisitorDays and WantedVisitorDays are the location-days whose
	// visitor list is held and to be held.
	HeldVisitorDays   int `json:"heldVisitorDays"`
	WantedVisitorDays int `json:"wantedVisitorDays"`
	// Filled is true once every room's window (and every location's
	// visitor lists) was held.
	Filled bool `json:"filled"`
	// OldestVerified is when the subject (room, desk or location's visitor
	// lists) verified longest ago was last read in full (its fill) or had
	// its window verified (the sweep);
	// zero while some subject never was.
	OldestVerified time.Time `json:"oldestVerified"`
	// SweepCursor is how many subjects of the current sweep are done:
	// rooms first, then desks, then locations.
	SweepCursor int `json:"sweepCursor"`
	// Missed is how many held days the sweep found wrong, since the
	// worker started.
	Missed int64 `json:"missed"`
	// At is when the worker wrote this.
	At time.Time `json:"at"`
}

// Coverage is the share of held days the store has, 0 … 1: bookings' days
// and visitor lists' days together.
func (s MirrorStatus) Coverage() float64 {
	wanted := s.WantedDays + s.WantedVisitorDays
	if wanted == 0 {
		return 0
	}
	return float64(s.HeldDays+s.HeldVisitorDays) / float64(wanted)
}

// publish writes the status where every replica reads it; it lives a few
// rounds, so a status without a worker behind it disappears.
func (m *Mirror) publish(ctx context.Context, st MirrorStatus) {
	b, err := json.Marshal(st)
	if err != nil {
		return
	}
	m.s.storeSet(ctx, []Item{{Key: mirrorStatusKey(), Value: b, TTL: 3*m.opts.Interval + m.opts.LeaseLife, Unconditional: true}})
}

// Status reads the worker's last status. ok is false when there is none
// (no worker has run a round yet, or it stopped).
func (m *Mirror) Status(ctx context.Context) (st MirrorStatus, ok bool) {
	es, found := m.s.storeGet(ctx, []string{mirrorStatusKey()})
	if !found || !es[0].Found {
		return MirrorStatus{}, false
	}
	if json.Unmarshal(es[0].Value, &st) != nil {
		return MirrorStatus{}, false
	}
	return st, true
}

// Worker reports whether this replica runs the worker now.
func (m *Mirror) Worker() bool { return m.leader.Load() }

// Rounds is how many rounds this replica has run as the worker.
func (m *Mirror) Rounds() int64 { return m.rounds.Load() }

// parseVisitorsKey parses a visitor list's key back into its day and
// location (0 for the list of every location).
func parseVisitorsKey(key string) (workplace.Date, workplace.LocationID, bool) {
	rest, ok := strings.CutPrefix(key, keyPrefix+"{visitors:")
	if !ok {
		return workplace.Date{}, 0, false
	}
	rest, ok = strings.CutSuffix(rest, "}")
	if !ok {
		return workplace.Date{}, 0, false
	}
	dayPart, locPart, ok := strings.Cut(rest, ":loc:")
	if !ok {
		return workplace.Date{}, 0, false
	}
	day, err := workplace.ParseDate(dayPart)
	if err != nil {
		return workplace.Date{}, 0, false
	}
	n, err := strconv.ParseInt(locPart, 10, 64)
	if err != nil {
		return workplace.Date{}, 0, false
	}
	return day, workplace.LocationID(n), true
}

// parseDayKey parses a per-day key of entity ("room", "desk") back into
// its id and day.
func parseDayKey(key, entity string) (int64, workplace.Date, bool) {
	rest, ok := strings.CutPrefix(key, keyPrefix+"{"+entity+":")
	if !ok {
		return 0, workplace.Date{}, false
	}
	rest, ok = strings.CutSuffix(rest, "}")
	if !ok {
		return 0, workplace.Date{}, false
	}
	idPart, dayPart, ok := strings.Cut(rest, ":day:")
	if !ok {
		return 0, workplace.Date{}, false
	}
	n, err := strconv.ParseInt(idPart, 10, 64)
	if err != nil {
		return 0, workplace.Date{}, false
	}
	day, err := workplace.ParseDate(dayPart)
	if err != nil {
		return 0, workplace.Date{}, false
	}
	return n, day, true
}
