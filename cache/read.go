package cache

// The read-through engine: one store round trip for every key of a read,
// the upstream only for the misses (single-flighted per key and generation,
// bounded in number), and one store round trip to write the answers back,
// each conditional on the generation seen before going upstream. When the
// upstream fails as Options.ServeStale allows, one more round trip reads the
// last-known-good copies of what is still missing (see stale.go); each
// caller does its own, so the followers of a failed flight are answered as
// its leader is, and each notes the staleness in its own operation.

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// fill is one key of a read and how to answer it upstream.
type fill[T any] struct {
	key string
	// shadow is where key's last-known-good copy lives; empty means
	// shadowKey(key).
	shadow string
	ttl    time.Duration
	fetch  func(ctx context.Context) (T, error)
	// index, when set, returns the index entries to write with the value.
	index func(T) []Item
}

// flown is what one upstream call returns to everyone waiting on it:
// encoded values, so every caller decodes its own copy and none can mutate
// another's (the loaders do write into the slices they get).
type flown struct {
	values [][]byte
	index  []Item
	// at is when the upstream answered: the stamp of the values'
	// last-known-good copies.
	at time.Time
}

// share runs fetch once per key at a time in this process. The key carries
// the generation the caller saw, so a caller that arrives after an
// invalidation never joins a call that started before it. The call itself
// is not cancelled by any one caller leaving; each caller stops waiting when
// its own context ends. leader reports whether this caller's call ran, so
// only one caller writes back.
func (s *Service) share(ctx context.Context, key string, fetch func(ctx context.Context) (flown, error)) (f flown, leader bool, err error) {
	ran := false
	ch := s.flight.DoChan(key, func() (any, error) {
		ran = true
		return fetch(context.WithoutCancel(ctx))
	})
	if s.joined != nil {
		s.joined(key)
	}
	select {
	case r := <-ch:
		if r.Err != nil {
			return flown{}, false, r.Err
		}
		return r.Val.(flown), ran, nil
	case <-ctx.Done():
		return flown{}, false, ctx.Err()
	}
}

func flightKey(key string, ok bool, gens ...int64) string {
	if !ok {
		return key + "#-"
	}
	var b strings.Builder
	b.WriteString(key)
	for _, g := range gens {
		b.WriteByte('#')
		b.WriteString(strconv.FormatInt(g, 10))
	}
	return b.String()
}

// fanOut runs fn for 0..n-1, at most limit at once.
func fanOut(n, limit int, fn func(i int)) {
	if n == 1 {
		fn(0)
		return
	}
	sem := make(chan struct{}, limit)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer func() { <-sem; wg.Done() }()
			fn(i)
		}()
	}
	wg.Wait()
}

// readMany answers fills, one value per key, in the order of fills.
func readMany[T any](ctx context.Context, s *Service, c codec[T], fills []fill[T]) ([]T, []error) {
	out := make([]T, len(fills))
	errs := make([]error, len(fills))
	keys := make([]string, len(fills))
	for i, f := range fills {
		keys[i] = f.key
	}
	entries, ok := s.storeGet(ctx, keys)
	storeOnly := workplace.IsStoreOnly(ctx)
	var misses []int
	for i := range fills {
		if ok && entries[i].Found {
			if v, err := decodeKept(s, c, keys[i], entries[i].Value); err == nil {
				out[i] = v
				s.looked(fills[i].key, true)
				continue
			}
		}
		if storeOnly {
			// Not counted: the read that follows counts the miss.
			errs[i] = workplace.ErrNotHeld
			continue
		}
		s.looked(fills[i].key, false)
		misses = append(misses, i)
	}
	if storeOnly {
		return out, errs
	}
	var mu sync.Mutex
	var writes []Item
	fanOut(len(misses), s.opts.FanOut, func(j int) {
		i := misses[j]
		f := fills[i]
		var gen int64
		if ok {
			gen = entries[i].Gen
		}
		res, leader, err := s.share(ctx, flightKey(f.key, ok, gen), func(ctx context.Context) (flown, error) {
			v, err := f.fetch(ctx)
			if err != nil {
				return flown{}, err
			}
			at := s.now()
			b, err := c.enc(v)
			if err != nil {
				return flown{}, err
			}
			var idx []Item
			if f.index != nil {
				idx = f.index(v)
			}
			return flown{values: [][]byte{b}, index: idx, at: at}, nil
		})
		if err != nil {
			errs[i] = err
			return
		}
		if out[i], errs[i] = c.dec(res.values[0]); errs[i] != nil {
			return
		}
		if leader && ok {
			mu.Lock()
			writes = s.writeBack(writes, Item{Key: f.key, Value: res.values[0], TTL: f.ttl, Gen: gen}, f.shadowKey(), res.at)
			writes = append(writes, res.index...)
			mu.Unlock()
		}
	})
	s.storeSet(ctx, writes)
	staleMany(ctx, s, c, fills, out, errs)
	return out, errs
}

func (f fill[T]) shadowKey() string {
	if f.shadow != "" {
		return f.shadow
	}
	return shadowKey(f.key)
}

// staleMany answers, from last-known-good copies, the fills whose upstream
// call failed as ServeStale allows; the others keep their errors.
func staleMany[T any](ctx context.Context, s *Service, c codec[T], fills []fill[T], out []T, errs []error) {
	var failed []int
	var shadows []string
	for i, err := range errs {
		if s.staleOn(err) {
			failed = append(failed, i)
			shadows = append(shadows, fills[i].shadowKey())
		}
	}
	if len(failed) == 0 {
		return
	}
	for j, lk := range s.lastKnowns(ctx, shadows) {
		if !lk.found {
			continue
		}
		v, err := c.dec(lk.value)
		if err != nil {
			continue
		}
		i := failed[j]
		out[i], errs[i] = v, nil
		workplace.NoteStale(ctx, keyKind(fills[i].key), lk.age)
	}
}

// readOne answers one fill.
func readOne[T any](ctx context.Context, s *Service, c codec[T], f fill[T]) (T, error) {
	v, errs := readMany(ctx, s, c, []fill[T]{f})
	return v[0], errs[0]
}

// dayWindow is one window of a per-day read: an entity's days From..To.
type dayWindow struct {
	from, to workplace.Date
	// key names the day key of one day of this window's entity.
	key func(workplace.Date) string
	// fetch lists the entity's items on the days from..to upstream.
	fetch func(ctx context.Context, from, to workplace.Date) (any, error)
}

// dayItems describes the items of a per-day read (room bookings, desk
// bookings).
type dayItems[T any] struct {
	codec codec[[]T]
	ttl   time.Duration
	// days lists the days an item belongs to, clamped to from..to.
	days func(v T, from, to workplace.Date) []workplace.Date
	id   func(v T) int64
	less func(a, b T) int
	// index returns the index entries to write for the items upstream
	// returned.
	index func(items []T) []Item
	// hold, when set, is the mirror's life for a day it holds (0 for a day
	// it does not): a held day is kept until it leaves the window, never
	// re-read for age.
	hold func(day workplace.Date) time.Duration
}

// ttlOf is how long the entry of day lives.
func (d dayItems[T]) ttlOf(day workplace.Date) time.Duration {
	if d.hold != nil {
		if t := d.hold(day); t > 0 {
			return t
		}
	}
	return d.ttl
}

// split sorts the items upstream listed for from..to into their days; a
// day with none is an empty answer, not a missing one.
func (d dayItems[T]) split(items []T, from, to workplace.Date) [][]T {
	out := make([][]T, from.DaysUntil(to)+1)
	for k := range out {
		out[k] = []T{}
	}
	for _, it := range items {
		for _, day := range d.days(it, from, to) {
			k := from.DaysUntil(day)
			out[k] = append(out[k], it)
		}
	}
	return out
}

// dayPlan is how readDays answers one window.
type dayPlan[T any] struct {
	days  []workplace.Date
	first int // index of the window's first key in keys
	pass  bool
	// perDay is the window's answer per day so far, and missing the days
	// (indexes into days) the store did not answer: what a stale answer
	// has to fill.
	perDay  [][]T
	missing []int
}

// readDays answers windows of per-day entries: one store round trip for all
// day keys, then per window one upstream call covering the span from its
// first missing day to its last (at most MaxWindowDays), split into day
// entries, then one write-back round trip. A window that is not a valid
// upstream window passes through, so the upstream answers it (or rejects
// it) itself. A window whose upstream call failed as ServeStale allows is
// answered from the last-known-good copies of its missing days if every one
// of them has one (all of them in one more round trip); otherwise it keeps
// its error, since a window with a day missing would read as a free day.
func readDays[T any](ctx context.Context, s *Service, d dayItems[T], windows []dayWindow) ([][]T, []error) {
	out := make([][]T, len(windows))
	errs := make([]error, len(windows))
	plans := make([]dayPlan[T], len(windows))
	var keys []string
	for i, w := range windows {
		n := w.from.DaysUntil(w.to) + 1
		if n < 1 || n > workplace.MaxWindowDays {
			plans[i].pass = true
			continue
		}
		plans[i].first = len(keys)
		for k := range n {
			day := w.from.AddDays(k)
			plans[i].days = append(plans[i].days, day)
			keys = append(keys, w.key(day))
		}
	}
	entries, ok := s.storeGet(ctx, keys)
	if workplace.IsStoreOnly(ctx) {
		return heldDaysOnly(s, d, plans, keys, entries, ok)
	}
	var mu sync.Mutex
	var writes []Item
	fanOut(len(windows), s.opts.FanOut, func(i int) {
		w, p := windows[i], &plans[i]
		if p.pass {
			v, err := w.fetch(ctx, w.from, w.to)
			if err == nil {
				out[i] = v.([]T)
			}
			errs[i] = err
			return
		}
		p.perDay = make([][]T, len(p.days))
		perDay := p.perDay
		lo, hi := -1, -1
		for k := range p.days {
			if ok && entries[p.first+k].Found {
				if v, err := decodeKept(s, d.codec, keys[p.first+k], entries[p.first+k].Value); err == nil {
					perDay[k] = v
					s.looked(keys[p.first+k], true)
					continue
				}
			}
			s.looked(keys[p.first+k], false)
			p.missing = append(p.missing, k)
			if lo < 0 {
				lo = k
			}
			hi = k
		}
		if lo >= 0 {
			gens := make([]int64, 0, hi-lo+1)
			if ok {
				for k := lo; k <= hi; k++ {
					gens = append(gens, entries[p.first+k].Gen)
				}
			}
			from, to := p.days[lo], p.days[hi]
			fk := flightKey(w.key(from)+":to:"+to.String(), ok, gens...)
			res, leader, err := s.share(ctx, fk, func(ctx context.Context) (flown, error) {
				v, err := w.fetch(ctx, from, to)
				if err != nil {
					return flown{}, err
				}
				at := s.now()
				items := v.([]T)
				split := d.split(items, from, to)
				f := flown{values: make([][]byte, len(split)), at: at}
				for k := range split {
					if f.values[k], err = d.codec.enc(split[k]); err != nil {
						return flown{}, err
					}
				}
				if d.index != nil {
					f.index = d.index(items)
				}
				return f, nil
			})
			if err != nil {
				errs[i] = err
				return
			}
			for k := lo; k <= hi; k++ {
				v, err := d.codec.dec(res.values[k-lo])
				if err != nil {
					errs[i] = err
					return
				}
				perDay[k] = v
			}
			if leader && ok {
				mu.Lock()
				for k := lo; k <= hi; k++ {
					// Days that were cached stay as they are: their
					// generation is not this call's to guard.
					if !entries[p.first+k].Found {
						key := keys[p.first+k]
						writes = s.writeBack(writes, Item{Key: key, Value: res.values[k-lo], TTL: d.ttlOf(p.days[k]), Gen: entries[p.first+k].Gen}, shadowKey(key), res.at)
					}
				}
				writes = append(writes, res.index...)
				mu.Unlock()
			}
		}
		out[i] = merge(perDay, d.id, d.less)
	})
	s.storeSet(ctx, writes)

	var failed []int
	var shadows []string
	for i, p := range plans {
		if p.pass || !s.staleOn(errs[i]) {
			continue
		}
		failed = append(failed, i)
		for _, k := range p.missing {
			shadows = append(shadows, shadowKey(keys[p.first+k]))
		}
	}
	if len(failed) == 0 {
		return out, errs
	}
	copies := s.lastKnowns(ctx, shadows)
window:
	for _, i := range failed {
		p := plans[i]
		lks := copies[:len(p.missing)]
		copies = copies[len(p.missing):]
		var oldest time.Duration
		for j, k := range p.missing {
			if !lks[j].found {
				continue window
			}
			v, err := d.codec.dec(lks[j].value)
			if err != nil {
				continue window
			}
			p.perDay[k] = v
			oldest = max(oldest, lks[j].age)
		}
		out[i], errs[i] = merge(p.perDay, d.id, d.less), nil
		workplace.NoteStale(ctx, keyKind(keys[p.first]), oldest)
	}
	return out, errs
}

// heldDaysOnly answers readDays for a StoreOnly context: a window whose
// every day the store answered is merged from them, any other fails with
// workplace.ErrNotHeld (its misses are counted by the read that follows).
func heldDaysOnly[T any](s *Service, d dayItems[T], plans []dayPlan[T], keys []string, entries []Entry, ok bool) ([][]T, []error) {
	out := make([][]T, len(plans))
	errs := make([]error, len(plans))
window:
	for i, p := range plans {
		if p.pass || !ok {
			errs[i] = workplace.ErrNotHeld
			continue
		}
		perDay := make([][]T, len(p.days))
		for k := range p.days {
			e := entries[p.first+k]
			if !e.Found {
				errs[i] = workplace.ErrNotHeld
				continue window
			}
			v, err := decodeKept(s, d.codec, keys[p.first+k], e.Value)
			if err != nil {
				errs[i] = workplace.ErrNotHeld
				continue window
			}
			perDay[k] = v
		}
		for k := range p.days {
			s.looked(keys[p.first+k], true)
		}
		out[i] = merge(perDay, d.id, d.less)
	}
	return out, errs
}

// merge joins day lists without duplicates (an item spanning midnight is in
// both days), in order.
func merge[T any](perDay [][]T, id func(T) int64, less func(a, b T) int) []T {
	seen := map[int64]bool{}
	out := []T{}
	for _, day := range perDay {
		for _, v := range day {
			if seen[id(v)] {
				continue
			}
			seen[id(v)] = true
			out = append(out, v)
		}
	}
	slices.SortStableFunc(out, less)
	return out
}

// looked reports one lookup of key to Options.OnLookup, when set.
func (s *Service) looked(key string, hit bool) {
	if s.opts.OnLookup != nil {
		s.opts.OnLookup(keyKind(key), hit)
	}
}

// epochs reads the generations of epoch keys in one round trip; ok is
// false when the store is down.
func (s *Service) epochs(ctx context.Context, keys ...string) ([]int64, bool) {
	es, ok := s.storeGet(ctx, keys)
	if !ok {
		return nil, false
	}
	out := make([]int64, len(es))
	for i, e := range es {
		out[i] = e.Gen
	}
	return out, true
}
