// Package cache is a read-through cache over workplace.Service: a decorator
// with the same interface as the engage client it wraps, so neither knows
// the other. Entries live in a Store: Redis (shared by every replica) when
// configured, memory otherwise.
//
// Four properties hold whatever the store:
//   - Precise invalidation. Room and desk bookings are cached per room (desk)
//     per local day, and answers that cannot be enumerated (availability,
//     floor plans) carry an epoch in their keys, so a change drops exactly
//     what it touches and nothing else (see Invalidate).
//   - No stale write-back. Every key has a generation; a reader notes it
//     before going upstream and writes back only if it is unchanged, so a
//     read that started before an invalidation never puts the old value back,
//     on this replica or another.
//   - Fail open. Every store call is bounded by Options.OpTimeout; when the
//     store fails, reads are served by the wrapped service, the failure is
//     logged once, and caching resumes by itself when the store answers again.
//   - Stale when the upstream is down. Every value written back also leaves
//     a last-known-good copy, stamped with when it was fetched, that
//     invalidation and the value's TTL do not touch. When the upstream cannot
//     answer (it is unavailable or rate limiting), a read is answered from
//     that copy instead of failing, and the answer is noted with its age in
//     the operation's workplace.Staleness, so the client is told it is stale.
//     Any answer the upstream does give, errors included, is never masked.
//
// Its files:
//
//	cache.go          the Service, Options and TTLs; the store's fail-open health
//	bookings.go       room bookings per room and local day, by id, and availability
//	codec.go          values as JSON, every time with its IANA zone (RFC 9557)
//	decoded.go        decoded values kept in process, reused for the same bytes
//	derived.go        availability worked out from the mirror's held days
//	desks.go          desk bookings per desk and day, and available desks
//	hierarchy.go      the hierarchy: countries down to desks, users, floor plans
//	invalidate.go     Invalidate: the keys each change drops, and nothing else
//	keys.go           the key scheme: every key the Service uses, with its hash tag
//	logged.go         Logged: a Store whose writes are told to a WriteLog
//	memory.go         MemoryStore: the Store of a single replica without Redis
//	mirror.go         the Mirror: each room's next 14 days held, kept by notifications
//	mirror_writes.go  what a write through the gateway does to what is held
//	persisted.go      PersistedQueries: automatic persisted queries, in the store
//	read.go           the read-through engine: one store round trip per read
//	redis.go          RedisStore: the Store in Redis, conditional writes in Lua
//	services.go       cost codes, vendors, orders (cached); listeners (passed through)
//	stale.go          last-known-good copies, served marked stale
//	store.go          the Store interface, Entry and Item
//	visitors.go       visitors: a day's plain list at a location, cached whole
//	writelog.go       RedisWriteLog: the fleet's log of store writes, in Redis
package cache

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/engagegql/gateway/workplace"
	"golang.org/x/sync/singleflight"
)

// TTLs say how long each kind of entry lives. A zero field takes its
// default (DefaultTTLs): long for what changes rarely and is announced by
// resource notifications, short for what changes all day.
type TTLs struct {
	// Hierarchy covers countries, regions, locations and groups. Default 1h.
	Hierarchy time.Duration
	// Resources covers rooms, desks and floor plans. Default 1h.
	Resources time.Duration
	// Users covers the user list and users by email. Default 1h.
	Users time.Duration
	// Bookings covers room-days and bookings by id. Default 5m.
	Bookings time.Duration
	// DeskBookings covers desk-days. Default 5m.
	DeskBookings time.Duration
	// Visitors covers visitor lists of a day. Default 2m.
	Visitors time.Duration
	// Catalog covers cost codes and vendors. Default 15m.
	Catalog time.Duration
	// Orders covers a booking's service orders. Default 5m.
	Orders time.Duration
	// Availability covers free slots, available rooms and available desks,
	// which no notification names precisely. Default 1m.
	Availability time.Duration
}

// DefaultTTLs are the TTLs a zero TTLs field takes.
func DefaultTTLs() TTLs {
	return TTLs{
		Hierarchy:    time.Hour,
		Resources:    time.Hour,
		Users:        time.Hour,
		Bookings:     5 * time.Minute,
		DeskBookings: 5 * time.Minute,
		Visitors:     2 * time.Minute,
		Catalog:      15 * time.Minute,
		Orders:       5 * time.Minute,
		Availability: time.Minute,
	}
}

// defaultOpTimeout bounds a store round trip unless Options.OpTimeout says
// otherwise.
const defaultOpTimeout = 150 * time.Millisecond

// Options tune a Service. The zero value is usable.
type Options struct {
	TTLs TTLs
	// OpTimeout bounds each store round trip. Zero means 150ms: a store
	// slower than that costs more than it saves.
	OpTimeout time.Duration
	// RetryInterval is how often a failed store is probed again; in
	// between, the cache steps aside instead of paying OpTimeout per call.
	// Zero means 1s.
	RetryInterval time.Duration
	// FanOut bounds the concurrent upstream calls of one many-key read.
	// Zero means 32 (loader.DefaultFanOut, UPSTREAM_CONCURRENCY's default).
	FanOut int
	// Logger receives store failures and recoveries. Nil means
	// slog.Default().
	Logger *slog.Logger
	// OnLookup, when set, hears every key a read looks up in the store:
	// its kind (a short, fixed name such as "rooms" or "roomBookings", see
	// KeyKinds) and whether the store had it. A hit ratio per kind tells
	// whether a TTL or an invalidation is too eager. A store that is down
	// counts as misses. It must be safe for concurrent use and quick. Nil
	// means not reported.
	OnLookup func(kind string, hit bool)
	// OnStoreDown, when set, hears the store fail after it answered: what
	// was computed from the store before (the kept answers) may miss writes
	// the fleet could not make meanwhile, and must be dropped. Until the
	// store answers again and the mirror has caught up, no read notes what
	// it read (see workplace.NoteUnkept).
	OnStoreDown func()
	// StaleFor is how long last-known-good copies are kept. Every value the
	// cache writes back is also written, with the time it was fetched,
	// under a shadow key that invalidation leaves alone; when the upstream
	// fails as ServeStale allows, a read the cache cannot answer fresh is
	// answered from the copy and noted with workplace.NoteStale. A stale
	// answer is only ever served marked stale, so a copy that invalidation
	// would have dropped is still what the cache last knew. Copies roughly
	// double the store's memory, and more where TTLs are short: a copy
	// lives StaleFor after the last fetch of its value, whether or not the
	// value is read again. Reading copies is not a lookup for OnLookup.
	// Zero means DefaultStaleFor (24h); negative disables stale serving
	// entirely: no copies are written or read.
	StaleFor time.Duration
	// ServeStale says which upstream errors a stale answer may stand in
	// for. It must be safe for concurrent use. Nil means the upstream being
	// unavailable or rate limiting (workplace.EUNAVAILABLE,
	// workplace.ERATELIMITED): never an answer the upstream did give, such
	// as NOT_FOUND or BAD_USER_INPUT, which a stale copy would contradict.
	ServeStale func(err error) bool
	// DecodedBytes bounds the in-process tier of decoded values (see
	// decoded.go): a read whose bytes in the store are the ones this
	// replica decoded before takes the value decoded then instead of
	// decoding them again. It is exact whatever the store holds, since only
	// equal bytes are matched. Zero means DefaultDecodedBytes (64 MiB);
	// negative disables the tier.
	DecodedBytes int
	// Now is the clock that stamps when a value was fetched and ages stale
	// answers (and places invalidation's fallback window of days), so tests
	// can move time. Nil means time.Now.
	Now func() time.Time
}

// DefaultStaleFor is how long last-known-good copies are kept unless
// Options.StaleFor says otherwise: an outage of the upstream longer than a
// day is answered with errors rather than with day-old schedules.
const DefaultStaleFor = 24 * time.Hour

func (o Options) withDefaults() Options {
	d := DefaultTTLs()
	for _, f := range []struct {
		dst *time.Duration
		def time.Duration
	}{
		{&o.TTLs.Hierarchy, d.Hierarchy}, {&o.TTLs.Resources, d.Resources}, {&o.TTLs.Users, d.Users},
		{&o.TTLs.Bookings, d.Bookings}, {&o.TTLs.DeskBookings, d.DeskBookings}, {&o.TTLs.Visitors, d.Visitors},
		{&o.TTLs.Catalog, d.Catalog}, {&o.TTLs.Orders, d.Orders}, {&o.TTLs.Availability, d.Availability},
		{&o.OpTimeout, defaultOpTimeout}, {&o.RetryInterval, time.Second},
	} {
		if *f.dst <= 0 {
			*f.dst = f.def
		}
	}
	if o.FanOut <= 0 {
		o.FanOut = 32
	}
	if o.StaleFor == 0 {
		o.StaleFor = DefaultStaleFor
	}
	if o.DecodedBytes == 0 {
		o.DecodedBytes = DefaultDecodedBytes
	}
	if o.ServeStale == nil {
		o.ServeStale = upstreamDown
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}

// Service is a workplace.Service that reads through a Store. It also
// implements workplace.ManyReader, so the loaders read many keys in one
// store round trip. It is safe for concurrent use.
type Service struct {
	inner  workplace.Service
	store  Store
	opts   Options
	ttl    TTLs
	log    *slog.Logger
	zones  *zones
	codecs codecs
	// decoded is the in-process tier of decoded values; nil without one.
	decoded *decodedTier
	flight  singleflight.Group
	health  health
	// now is Options.Now: the clock of fetched times, stale ages and the
	// fallback windows of invalidation.
	now func() time.Time
	// joined, when set (by tests), is called once a caller has started or
	// joined an upstream call.
	joined func(flightKey string)
	// mirror is the mirror keeping this cache's held days (NewMirror);
	// nil when the cache only reads through.
	mirror *Mirror
}

// holdFor is the mirror's life for a room-day (0: not held, or no mirror).
func (s *Service) holdFor(day workplace.Date) time.Duration {
	if s.mirror == nil {
		return 0
	}
	return s.mirror.holdFor(day)
}

// called tells the mirror's accounting that a read of kind goes upstream,
// for the cause its context names (a read-through when none).
func (s *Service) called(ctx context.Context, kind string) {
	if s.mirror != nil {
		s.mirror.called(ctx, kind)
	}
}

var (
	_ workplace.Service         = (*Service)(nil)
	_ workplace.ManyReader      = (*Service)(nil)
	_ workplace.StoreOnlyReader = (*Service)(nil)
)

// AnswersStoreOnly implements workplace.StoreOnlyReader: with a StoreOnly
// context, every read is answered from the store or fails with
// workplace.ErrNotHeld, and nothing reaches the upstream (the reads stop
// before their fetch; the upstream client refuses one anyway).
func (*Service) AnswersStoreOnly() {}

// New returns a Service reading through store to inner.
func New(inner workplace.Service, store Store, opts Options) *Service {
	opts = opts.withDefaults()
	z := &zones{}
	s := &Service{inner: inner, store: store, opts: opts, ttl: opts.TTLs, log: opts.Logger, zones: z, codecs: newCodecs(z), now: opts.Now,
		decoded: newDecodedTier(opts.DecodedBytes)}
	s.health.pending = map[string]struct{}{}
	return s
}

// Check reports whether the store answers, for /readyz. It is nil for the
// memory store. A failing Check does not make the gateway unable to serve
// (reads fail open), but it is worth an operator's attention.
func (s *Service) Check(ctx context.Context) error {
	_, err := bounded(ctx, s.opts.OpTimeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.store.Ping(ctx)
	})
	s.report(ctx, err)
	if err != nil {
		return fmt.Errorf("cache store: %w", err)
	}
	return nil
}

// errStepAside is returned by store calls skipped while the store is down.
var errStepAside = errors.New("cache store is down; not retried yet")

// health is the fail-open state: whether the store is down, when to probe
// it again, and the invalidations it missed meanwhile.
type health struct {
	mu        sync.Mutex
	down      bool
	nextProbe time.Time
	// recovering is set while the mirror checks, as the store answers
	// again after a long outage, whether the fleet missed notifications
	// (see Mirror.storeBack); only its calls reach the store meanwhile.
	recovering bool
	// pending holds keys whose invalidation failed; they are invalidated
	// as soon as the store answers again, so an outage does not leave
	// values cached that were announced stale meanwhile.
	pending map[string]struct{}
}

// maxPending bounds the invalidations remembered across an outage.
const maxPending = 10000

// allow says whether to try the store: always when it is up; once per
// RetryInterval when it is down.
func (s *Service) allow(ctx context.Context) bool {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	if !h.down || recovery(ctx) {
		return true
	}
	if h.recovering {
		return false
	}
	now := time.Now()
	if now.Before(h.nextProbe) {
		return false
	}
	h.nextProbe = now.Add(s.opts.RetryInterval)
	return true
}

// recoveryKey marks the store calls of the mirror's check as the store
// comes back (see health.recovering).
type recoveryKey struct{}

func recovery(ctx context.Context) bool { return ctx.Value(recoveryKey{}) != nil }

// report records the outcome of a store call, logging only transitions. It
// reports whether what the call read may be used: not when, as the store
// came back, the mirror dropped what it held (see Mirror.storeBack).
func (s *Service) report(ctx context.Context, err error) bool {
	if recovery(ctx) {
		return err == nil
	}
	h := &s.health
	h.mu.Lock()
	switch {
	case err == nil && h.down:
		usable := true
		if s.mirror != nil && !h.recovering {
			// Before anything read from the store is served, the mirror
			// learns whether the fleet missed notifications meanwhile:
			// whether the fleet's heartbeat is older than Engage retries
			// a delivery. That is asked on every return, not only after
			// this replica saw the store fail for that long, since the
			// first failure it saw may have come well after the store
			// stopped answering.
			h.recovering = true
			h.mu.Unlock()
			usable = !s.mirror.storeBack(context.WithValue(ctx, recoveryKey{}, true))
			h.mu.Lock()
			h.recovering = false
		}
		h.down = false
		pending := make([]string, 0, len(h.pending))
		for k := range h.pending {
			pending = append(pending, k)
		}
		clear(h.pending)
		h.mu.Unlock()
		s.log.Info("cache store is reachable again; caching resumed", "replayed_invalidations", len(pending))
		if len(pending) > 0 {
			if _, err := bounded(ctx, s.opts.OpTimeout, func(ctx context.Context) (struct{}, error) {
				return struct{}{}, s.store.Invalidate(ctx, pending)
			}); err != nil {
				s.remember(pending)
				s.report(ctx, err)
			}
		}
		return usable
	case err != nil && !h.down:
		h.down = true
		h.nextProbe = time.Now().Add(s.opts.RetryInterval)
		h.mu.Unlock()
		s.log.Warn("cache store failed; serving from upstream until it answers again", "err", err)
		if s.opts.OnStoreDown != nil {
			s.opts.OnStoreDown()
		}
		return false
	case err != nil:
		h.nextProbe = time.Now().Add(s.opts.RetryInterval)
	}
	h.mu.Unlock()
	return err == nil
}

// storeDown reports whether the store is taken to be down.
func (s *Service) storeDown() bool {
	s.health.mu.Lock()
	defer s.health.mu.Unlock()
	return s.health.down
}

func (s *Service) remember(keys []string) {
	h := &s.health
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, k := range keys {
		if len(h.pending) >= maxPending {
			return
		}
		h.pending[k] = struct{}{}
	}
}

// bounded runs fn with a deadline and returns at the deadline even if fn
// does not (a client created without ContextTimeoutEnabled blocks until its
// own ReadTimeout). The caller's cancellation does not cut a store call
// short: an invalidation must not be skipped because a client went away.
func bounded[T any](ctx context.Context, d time.Duration, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), d)
	defer cancel()
	type result struct {
		v   T
		err error
	}
	done := make(chan result, 1)
	go func() {
		v, err := fn(ctx)
		done <- result{v, err}
	}()
	select {
	case r := <-done:
		return r.v, r.err
	case <-ctx.Done():
		var zero T
		return zero, ctx.Err()
	}
}

// storeGet reads keys; ok is false when the store is down or failed, and
// then nothing may be written back (the generations are unknown).
func (s *Service) storeGet(ctx context.Context, keys []string) ([]Entry, bool) {
	if len(keys) == 0 {
		return nil, true
	}
	if !s.allow(ctx) {
		workplace.NoteUnkept(ctx, "the cache's store is down")
		return nil, false
	}
	es, err := bounded(ctx, s.opts.OpTimeout, func(ctx context.Context) ([]Entry, error) { return s.store.Get(ctx, keys) })
	if !s.report(ctx, err) {
		workplace.NoteUnkept(ctx, "the cache's store failed")
		return nil, false
	}
	workplace.NoteReads(ctx, len(keys), func(i int) (string, time.Time) { return keys[i], es[i].Expires })
	return es, true
}

func (s *Service) storeSet(ctx context.Context, items []Item) {
	_ = s.storeSetChecked(ctx, items)
}

// storeSetChecked is storeSet for a caller that must know the write
// happened (the mirror, before a notification is acknowledged).
func (s *Service) storeSetChecked(ctx context.Context, items []Item) error {
	if len(items) == 0 {
		return nil
	}
	if !s.allow(ctx) {
		return errStepAside
	}
	_, err := bounded(ctx, s.opts.OpTimeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.store.Set(ctx, items)
	})
	s.report(ctx, err)
	return err
}

// storeHas reports which keys hold a value; ok is false when the store is
// down or failed.
func (s *Service) storeHas(ctx context.Context, keys []string) ([]bool, bool) {
	if len(keys) == 0 {
		return nil, true
	}
	if !s.allow(ctx) {
		return nil, false
	}
	has, err := bounded(ctx, s.opts.OpTimeout, func(ctx context.Context) ([]bool, error) { return s.store.Has(ctx, keys) })
	if !s.report(ctx, err) {
		return nil, false
	}
	return has, true
}

// storeBump bumps the generations of keys and returns the new ones.
func (s *Service) storeBump(ctx context.Context, keys []string) ([]int64, error) {
	if !s.allow(ctx) {
		return nil, errStepAside
	}
	gens, err := bounded(ctx, s.opts.OpTimeout, func(ctx context.Context) ([]int64, error) { return s.store.Bump(ctx, keys) })
	s.report(ctx, err)
	return gens, err
}

// storeInvalidate invalidates keys, remembering them for replay when the
// store is down.
func (s *Service) storeInvalidate(ctx context.Context, keys []string) error {
	if len(keys) == 0 {
		return nil
	}
	if !s.allow(ctx) {
		s.remember(keys)
		return errStepAside
	}
	_, err := bounded(ctx, s.opts.OpTimeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, s.store.Invalidate(ctx, keys)
	})
	if err != nil {
		s.remember(keys)
	}
	s.report(ctx, err)
	return err
}
