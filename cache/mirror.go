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
//     U-2 … U+14 (U is today's UTC date), which answer a room's bookings
//     for today … today+13 at any location (workplace.BookingDays widens a
//     window by the zones' offsets and the look-behind), and fetches ahead
//     up to U+27 so that the days entering the window are already held. A
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
	// heldFrom and heldTo bound the days every room must hold: they answer
	// today … today+13 local at every location.
	heldFrom = -2
	heldTo   = workplace.MaxWindowDays
	// aheadTo is how far a fill or roll reads ahead: one 14-day read from
	// the first missing day, so a roll costs a room one call a fortnight.
	aheadTo = heldFrom + 2*workplace.MaxWindowDays + 1
)

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
	// SweepPeriod is how long one sweep of every room takes. Zero means 72h.
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
	// OnCall, when set, hears every upstream read the mirror's cache makes,
	// by cause (Cause*). It must be safe for concurrent use and quick.
	OnCall func(cause string)
	// OnMissed, when set, hears each held day the sweep found wrong.
	OnMissed func(n int)
	// Logger receives what the worker does. Nil means the cache's logger.
	Logger *slog.Logger
}

func (o MirrorOptions) withDefaults(s *Service) MirrorOptions {
	if o.Interval <= 0 {
		o.Interval = 10 * time.Second
	}
	if o.SweepPeriod <= 0 {
		o.SweepPeriod = 72 * time.Hour
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
	if o.OnMissed == nil {
		o.OnMissed = func(int) {}
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
	verified    map[workplace.RoomID]time.Time

	leader atomic.Bool
	missed atomic.Int64
	// renewed is when the worker last renewed its lease.
	renewed time.Time
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
	m := &Mirror{s: s, opts: opts.withDefaults(s), verified: map[workplace.RoomID]time.Time{}}
	m.log = m.opts.Logger
	m.pending.m = map[workplace.RoomID]*refresh{}
	s.mirror = m
	return m
}

// today is today's UTC date, the origin of the window.
func (m *Mirror) today() workplace.Date { return workplace.DateOf(m.s.now().UTC()) }

// holdFor is the life of a room-day's entry: until the day leaves the
// window (U-2 passes) plus an hour, for a day the mirror holds; 0 otherwise.
func (m *Mirror) holdFor(day workplace.Date) time.Duration {
	u := m.today()
	if day.Before(u.AddDays(heldFrom)) || day.After(u.AddDays(aheadTo)) {
		return 0
	}
	leaves := day.AddDays(-heldFrom + 1).In(time.UTC).Add(time.Hour)
	return max(time.Minute, leaves.Sub(m.s.now()))
}

// causeKey carries the cause of the reads made with a context.
type causeKey struct{}

func withCause(ctx context.Context, cause string) context.Context {
	return context.WithValue(ctx, causeKey{}, cause)
}

// called counts one upstream read by its context's cause.
func (m *Mirror) called(ctx context.Context, _ string) {
	cause, _ := ctx.Value(causeKey{}).(string)
	if cause == "" {
		cause = CauseRead
	}
	m.opts.OnCall(cause)
}

// apply is Invalidate for a mirror: the held room-days the changes name are
// re-read (or, for a deleted booking, patched) in place, and everything
// else is invalidated as the read-through cache does. It returns once the
// held days are current or, where a re-read failed, dropped, so that a
// read after it never sees the state before the change as current.
func (m *Mirror) apply(ctx context.Context, changes []workplace.Change, kn *known) error {
	s := m.s
	rest, reread, patch := keyset{}, keyset{}, keyset{}
	var deleted []workplace.BookingID
	for _, c := range changes {
		ks := keyset{}
		s.plan(ctx, kn, ks, c)
		isDelete := c.Kind == workplace.KindBooking && c.Action == workplace.ActionDeleted && c.BookingID != 0
		if isDelete {
			deleted = append(deleted, c.BookingID)
		}
		for k := range ks {
			_, day, ok := roomDayOf(k)
			switch {
			case !ok || m.holdFor(day) == 0:
				rest.add(k)
			case isDelete:
				patch.add(k)
			default:
				reread.add(k)
			}
		}
	}
	for k := range reread {
		delete(patch, k) // a day also changed otherwise is re-read, which covers the delete
	}
	if err := s.storeInvalidate(ctx, rest.list()); err != nil {
		return err
	}
	var failed []string
	if len(patch) > 0 {
		if err := m.patch(ctx, patch.list(), deleted); err != nil {
			failed = append(failed, patch.list()...)
		}
	}
	byRoom := map[workplace.RoomID][]workplace.Date{}
	for k := range reread {
		room, day, _ := roomDayOf(k)
		byRoom[room] = append(byRoom[room], day)
	}
	rooms := make([]workplace.RoomID, 0, len(byRoom))
	for r := range byRoom {
		rooms = append(rooms, r)
	}
	var mu sync.Mutex
	fanOut(len(rooms), s.opts.FanOut, func(i int) {
		room := rooms[i]
		if err := m.pending.do(ctx, room, byRoom[room], m.opts.Coalesce, m.opts.RefreshTimeout, m.refreshRoom); err != nil {
			m.log.WarnContext(ctx, "mirror: re-reading a room's days after a notification failed; dropping them, so reads go upstream", "room", room, "err", err)
			mu.Lock()
			for _, d := range byRoom[room] {
				failed = append(failed, roomDayKey(room, d))
			}
			mu.Unlock()
		}
	})
	return s.storeInvalidate(ctx, failed)
}

// refreshRoom re-reads the held days of one room: their generations are
// bumped first, so the value stays served until this re-read replaces it
// and no read that began earlier can write back over it.
func (m *Mirror) refreshRoom(ctx context.Context, room workplace.RoomID, days []workplace.Date) error {
	s := m.s
	slices.SortFunc(days, func(a, b workplace.Date) int { return a.DaysUntil(b) * -1 })
	days = slices.Compact(days)
	keys := make([]string, len(days))
	for i, d := range days {
		keys[i] = roomDayKey(room, d)
	}
	gens, err := s.storeBump(ctx, keys)
	if err != nil {
		return err
	}
	gen := map[workplace.Date]int64{}
	for i, d := range days {
		gen[d] = gens[i]
	}
	d := s.bookingItems()
	var writes []Item
	for _, w := range workplace.SplitWindow(days[0], days[len(days)-1]) {
		cctx := withCause(ctx, CauseChange)
		s.called(cctx, "roomBookings")
		items, err := s.inner.Bookings(cctx, room, w[0], w[1])
		if err != nil {
			return err
		}
		at := s.now()
		for k, day := range d.split(items, w[0], w[1]) {
			dd := w[0].AddDays(k)
			g, ok := gen[dd]
			if !ok {
				continue
			}
			v, err := d.codec.enc(day)
			if err != nil {
				return err
			}
			key := roomDayKey(room, dd)
			writes = s.writeBack(writes, Item{Key: key, Value: v, TTL: d.ttlOf(dd), Gen: g}, shadowKey(key), at)
		}
		writes = append(writes, d.index(items)...)
	}
	return s.storeSetChecked(ctx, writes)
}

// patch takes deleted bookings out of held days without a call: the
// generations are bumped first, then each day is rewritten under its new
// generation only if nobody bumped it since (a newer re-read wins).
func (m *Mirror) patch(ctx context.Context, keys []string, ids []workplace.BookingID) error {
	s := m.s
	gens, err := s.storeBump(ctx, keys)
	if err != nil {
		return err
	}
	entries, ok := s.storeGet(ctx, keys)
	if !ok {
		return errStepAside
	}
	d := s.bookingItems()
	var writes []Item
	for i, e := range entries {
		if !e.Found || e.Gen != gens[i] {
			continue // not held (the worker fills it), or re-read since
		}
		bs, err := d.codec.dec(e.Value)
		if err != nil {
			return err
		}
		kept := slices.DeleteFunc(bs, func(b workplace.Booking) bool { return slices.Contains(ids, b.ID) })
		v, err := d.codec.enc(kept)
		if err != nil {
			return err
		}
		_, day, _ := roomDayOf(keys[i])
		writes = s.writeBack(writes, Item{Key: keys[i], Value: v, TTL: d.ttlOf(day), Gen: gens[i]}, shadowKey(keys[i]), s.now())
	}
	return s.storeSetChecked(ctx, writes)
}

// coalescer joins the re-reads of one room that arrive while one is
// waiting to start: at most one re-read per room runs, and one waits.
type coalescer struct {
	mu sync.Mutex
	m  map[workplace.RoomID]*refresh
}

// refresh is one re-read of a room's days, waiting or running.
type refresh struct {
	days    []workplace.Date
	started bool
	done    chan struct{}
	err     error
}

// do re-reads days of room with run, joining the waiting re-read of room
// if there is one, and returns once a re-read that started after this call
// has finished. The re-read runs on its own deadline (timeout), so one
// caller giving up does not fail the others.
func (c *coalescer) do(ctx context.Context, room workplace.RoomID, days []workplace.Date, wait, timeout time.Duration,
	run func(ctx context.Context, room workplace.RoomID, days []workplace.Date) error) error {
	c.mu.Lock()
	r := c.m[room]
	if r == nil || r.started {
		prev := r
		r = &refresh{done: make(chan struct{})}
		c.m[room] = r
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
			r.err = run(rctx, room, days)
			cancel()
			close(r.done)
			c.mu.Lock()
			if c.m[room] == r {
				delete(c.m, room)
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
		if m.leader.Load() {
			_ = m.opts.Lease.Release(rctx)
		}
		m.leader.Store(false)
	}()
	t := time.NewTicker(m.opts.Interval)
	defer t.Stop()
	for {
		held, err := m.opts.Lease.Hold(ctx, m.opts.LeaseLife)
		if err != nil && ctx.Err() == nil {
			m.log.Warn("mirror: the worker's lease could not be checked; not working until it can", "err", err)
		}
		was := m.leader.Swap(held && err == nil)
		switch {
		case held && err == nil:
			m.renewed = time.Now()
			if !was {
				m.log.Info("mirror: this replica is the mirror's worker")
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

// roomRef is a room and where it is.
type roomRef struct {
	id  workplace.RoomID
	loc workplace.LocationID
}

// rooms lists every room of the tenant, walking the hierarchy through the
// cache.
func (m *Mirror) rooms(ctx context.Context) ([]roomRef, error) {
	locs, err := workplace.AllLocations(ctx, m.s)
	if err != nil {
		return nil, err
	}
	var out []roomRef
	for _, l := range locs {
		rs, err := m.s.Rooms(ctx, l.ID)
		if err != nil {
			return nil, fmt.Errorf("rooms of location %d: %w", l.ID, err)
		}
		for _, r := range rs {
			out = append(out, roomRef{id: r.ID, loc: l.ID})
		}
	}
	slices.SortFunc(out, func(a, b roomRef) int { return int(a.id - b.id) })
	return out, nil
}

// pass is one round of the worker: fill what is missing, sweep its share,
// publish the status.
func (m *Mirror) pass(ctx context.Context) {
	bctx := m.opts.Background(ctx)
	rooms, err := m.rooms(withCause(bctx, CauseFill))
	if err != nil {
		if ctx.Err() == nil {
			m.log.Warn("mirror: listing the tenant's rooms failed; trying again next round", "err", err)
		}
		return
	}
	st := MirrorStatus{Rooms: len(rooms), Worker: true}
	held, wanted := m.fill(bctx, rooms)
	st.HeldDays, st.WantedDays = held, wanted
	if held == wanted && !m.filled {
		m.filled = true
		m.log.Info("mirror: every room's window is held", "rooms", len(rooms), "days", wanted)
	}
	m.sweep(bctx, rooms)
	now := m.s.now()
	st.Filled = m.filled
	st.SweepCursor, st.Missed = m.sweepCursor, m.missed.Load()
	oldest := now
	for _, r := range rooms {
		if v, ok := m.verified[r.id]; !ok {
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

// fill reads, for every room with held days missing, its first missing day
// and the 13 after it (capped at aheadTo), paced, and reports how many held
// days the store has and should have.
func (m *Mirror) fill(ctx context.Context, rooms []roomRef) (held, wanted int) {
	s := m.s
	u := m.today()
	from, to := u.AddDays(heldFrom), u.AddDays(heldTo)
	n := from.DaysUntil(to) + 1
	const chunk = 100 // rooms per store round trip
	for start := 0; start < len(rooms); start += chunk {
		part := rooms[start:min(start+chunk, len(rooms))]
		keys := make([]string, 0, len(part)*n)
		for _, r := range part {
			for k := range n {
				keys = append(keys, roomDayKey(r.id, from.AddDays(k)))
			}
		}
		entries, ok := s.storeGet(ctx, keys)
		if !ok {
			return 0, len(rooms) * n // the store is down: nothing can be held
		}
		for i, r := range part {
			var missing []int
			for k := range n {
				if entries[i*n+k].Found {
					held++
				} else {
					missing = append(missing, k)
				}
			}
			wanted += n
			if len(missing) == 0 {
				continue
			}
			cause := CauseRefill
			switch {
			case !m.filled:
				cause = CauseFill
			case missing[0] >= n-3:
				cause = CauseRoll
			}
			whole := len(missing) == n
			for len(missing) > 0 {
				if err := m.step(ctx); err != nil {
					return held, wanted
				}
				wf := from.AddDays(missing[0])
				wt := min2(wf.AddDays(workplace.MaxWindowDays-1), u.AddDays(aheadTo))
				_, errs := s.BookingsMany(withCause(ctx, cause), []workplace.RoomWindow{{Room: r.id, From: wf, To: wt}})
				if errs[0] != nil {
					// Engage refusing or failing one read will refuse the
					// next: the round ends here, and the next one resumes.
					if ctx.Err() == nil {
						m.log.Warn("mirror: filling a room's days failed; trying again next round", "room", r.id, "from", wf.String(), "to", wt.String(), "err", errs[0])
					}
					return held, wanted + (len(rooms)-start-i-1)*n
				}
				for len(missing) > 0 && !from.AddDays(missing[0]).After(wt) {
					held++
					missing = missing[1:]
				}
			}
			if whole && len(missing) == 0 {
				m.verified[r.id] = s.now()
			}
		}
	}
	return held, wanted
}

func min2(a, b workplace.Date) workplace.Date {
	if a.After(b) {
		return b
	}
	return a
}

// sweep re-reads its share of rooms (rooms × time since the last pass /
// SweepPeriod), compares every held day with Engage's answer, and fixes
// and counts the days that differ: notifications the fleet missed.
func (m *Mirror) sweep(ctx context.Context, rooms []roomRef) {
	now := m.s.now()
	if m.lastPass.IsZero() || len(rooms) == 0 {
		m.lastPass = now
		return
	}
	m.sweepOwed += float64(len(rooms)) * float64(now.Sub(m.lastPass)) / float64(m.opts.SweepPeriod)
	m.lastPass = now
	m.sweepOwed = math.Min(m.sweepOwed, float64(len(rooms)))
	for m.sweepOwed >= 1 {
		if m.sweepCursor >= len(rooms) {
			m.sweepCursor = 0
		}
		r := rooms[m.sweepCursor]
		if err := m.sweepRoom(ctx, r.id); err != nil {
			if ctx.Err() == nil {
				m.log.Warn("mirror: sweeping a room failed; it is swept again next round", "room", r.id, "err", err)
			}
			return
		}
		m.sweepCursor++
		m.sweepOwed--
	}
}

// sweepRoom re-reads every held day of one room and writes back those that
// differ, each under the generation it saw before the read, so a
// notification's re-read that lands meanwhile is never overwritten.
func (m *Mirror) sweepRoom(ctx context.Context, room workplace.RoomID) error {
	s := m.s
	u := m.today()
	d := s.bookingItems()
	var writes []Item
	missed := 0
	for _, w := range workplace.SplitWindow(u.AddDays(heldFrom), u.AddDays(aheadTo)) {
		n := w[0].DaysUntil(w[1]) + 1
		keys := make([]string, n)
		for k := range n {
			keys[k] = roomDayKey(room, w[0].AddDays(k))
		}
		entries, ok := s.storeGet(ctx, keys)
		if !ok {
			return errStepAside
		}
		anyHeld := slices.ContainsFunc(entries, func(e Entry) bool { return e.Found })
		if !anyHeld {
			continue
		}
		if err := m.step(ctx); err != nil {
			return err
		}
		cctx := withCause(ctx, CauseSweep)
		s.called(cctx, "roomBookings")
		items, err := s.inner.Bookings(cctx, room, w[0], w[1])
		if err != nil {
			return err
		}
		at := s.now()
		for k, day := range d.split(items, w[0], w[1]) {
			e := entries[k]
			if !e.Found {
				continue
			}
			heldV, err := d.codec.dec(e.Value)
			if err == nil && sameBookings(heldV, day) {
				continue
			}
			dd := w[0].AddDays(k)
			v, err := d.codec.enc(day)
			if err != nil {
				return err
			}
			missed++
			m.log.Warn("mirror: the sweep found a held day that differs from Engage: a notification was missed", "room", room, "day", dd.String(), "held", len(heldV), "engage", len(day))
			writes = s.writeBack(writes, Item{Key: keys[k], Value: v, TTL: d.ttlOf(dd), Gen: e.Gen}, shadowKey(keys[k]), at)
		}
		writes = append(writes, d.index(items)...)
	}
	if err := s.storeSetChecked(ctx, writes); err != nil {
		return err
	}
	m.verified[room] = s.now()
	if missed > 0 {
		m.missed.Add(int64(missed))
		m.opts.OnMissed(missed)
	}
	return nil
}

// sameBookings reports whether two lists hold the same bookings, whatever
// their order.
func sameBookings(a, b []workplace.Booking) bool {
	if len(a) != len(b) {
		return false
	}
	enc := func(bs []workplace.Booking) string {
		c := slices.Clone(bs)
		slices.SortFunc(c, func(x, y workplace.Booking) int { return int(x.ID - y.ID) })
		v, _ := json.Marshal(c)
		return string(v)
	}
	return enc(a) == enc(b)
}

// MirrorStatus is what the worker last reported about the mirror: what
// every replica's /readyz and /metrics show.
type MirrorStatus struct {
	// Worker is true on the status the worker wrote (false: none yet).
	Worker bool `json:"worker"`
	// Rooms is how many rooms the tenant has.
	Rooms int `json:"rooms"`
	// HeldDays and WantedDays are the room-days held and to be held.
	HeldDays   int `json:"heldDays"`
	WantedDays int `json:"wantedDays"`
	// Filled is true once every room's window was held.
	Filled bool `json:"filled"`
	// OldestVerified is when the room verified longest ago was last read
	// in full (fill or sweep); zero while some room never was.
	OldestVerified time.Time `json:"oldestVerified"`
	// SweepCursor is how many rooms of the current sweep are done.
	SweepCursor int `json:"sweepCursor"`
	// Missed is how many held days the sweep found wrong, since the
	// worker started.
	Missed int64 `json:"missed"`
	// At is when the worker wrote this.
	At time.Time `json:"at"`
}

// Coverage is the share of held days the store has, 0 … 1.
func (s MirrorStatus) Coverage() float64 {
	if s.WantedDays == 0 {
		return 0
	}
	return float64(s.HeldDays) / float64(s.WantedDays)
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

// roomDayOf parses a roomDayKey back into its room and day.
func roomDayOf(key string) (workplace.RoomID, workplace.Date, bool) {
	rest, ok := strings.CutPrefix(key, keyPrefix+"{room:")
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
	return workplace.RoomID(n), day, true
}
