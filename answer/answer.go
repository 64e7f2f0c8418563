// Package answer keeps whole answers of GraphQL queries, exactly: an answer
// is kept with the store keys it was computed from, and dropped the moment
// any of them is written, on every replica, because every replica follows
// the fleet's log of store writes (see Log). A kept answer is served only
// once this replica has applied every write the fleet had logged when the
// request came, so a change is visible on the next read everywhere: by
// asking the log, or, while the replica holds a lease of a LeasingLog,
// without asking, because no write is done until every leaseholder has
// applied it. Callers share an answer only when they see the same (see
// Handler).
//
//	answer.go   the Cache: answers kept with the keys they read, dropped on a write
//	handler.go  Handler: GET and POST queries served from the Cache, answers kept
//	log.go      the Log and LeasingLog interfaces, and MemoryLog for one replica
package answer

import (
	"container/list"
	"context"
	"crypto/rand"
	"encoding/hex"
	"strconv"
	"sync"
	"time"
)

// Defaults of Options.
const (
	DefaultMaxBytes = 32 << 20
	DefaultMaxAge   = 10 * time.Minute
	// catchUpWait bounds how long a request waits for this replica to
	// apply the writes the fleet had logged when it came; past it the log
	// is taken to have lost some, and every answer is dropped.
	catchUpWait = 250 * time.Millisecond
	// recentWrites is how many applied writes are remembered, to check an
	// answer computed while they were made before it is kept.
	recentWrites = 1024
	// checkEvery is how often a cache that checks at an interval asks the
	// log where the fleet is.
	checkEvery = 100 * time.Millisecond
	// renewEvery is how often a lease is renewed when no write is applied
	// (each write applied renews it, or tells the log it was applied, at
	// once).
	renewEvery = 250 * time.Millisecond
)

// Check is how a replica makes sure it has applied the writes the fleet
// had logged before it serves a kept answer.
type Check int

const (
	// CheckLease serves without asking the log while the replica holds a
	// lease (the Log must be a LeasingLog, whose writers wait for the
	// leaseholders), and as CheckEach when it holds none: exact on every
	// replica, with no round trip per answer.
	CheckLease Check = iota
	// CheckEach asks the log where the fleet is before every answer
	// served: exact on every replica, one round trip per answer.
	CheckEach
	// CheckInterval serves from the writes this replica has heard, and asks
	// the log every checkEvery: no round trip per answer and no wait for
	// writers, but a write made on another replica is seen only once its
	// announcement arrives (normally within a millisecond), and a replica
	// that has not heard what it should have by catchUpWait after a check
	// drops everything.
	CheckInterval
)

// String names the check as CACHE_ANSWERS_CHECK does.
func (c Check) String() string {
	switch c {
	case CheckLease:
		return "lease"
	case CheckEach:
		return "each"
	case CheckInterval:
		return "interval"
	}
	return "check(" + strconv.Itoa(int(c)) + ")"
}

// Options tune a Cache.
type Options struct {
	// Log orders the fleet's store writes; required.
	Log Log
	// MaxBytes bounds the answers kept (their bodies, ids and keys); zero
	// means DefaultMaxBytes. The least recently served go first.
	MaxBytes int
	// MaxAge bounds how long an answer is kept even when nothing it read
	// changes; zero means DefaultMaxAge.
	MaxAge time.Duration
	// Now is the clock of the answers' ages; nil means time.Now. (A
	// lease is always held on time.Now's, as the log grants it.)
	Now func() time.Time
	// Check is how the replica makes sure it has applied the fleet's
	// writes before serving a kept answer; the zero value is CheckLease.
	Check Check
}

// Answer is one kept HTTP answer.
type Answer struct {
	ContentType string
	Body        []byte
	// Name is the query's operation name, for the metrics.
	Name string
}

// Cache is the answers one replica keeps. Safe for concurrent use.
type Cache struct {
	opts Options
	id   string // this follower's name in a LeasingLog

	mu       sync.Mutex
	started  bool
	mark     uint64        // the last write applied
	resets   uint64        // how many times everything was dropped
	advanced chan struct{} // closed when mark moves
	entries  map[string]*entry
	byKey    map[string]map[*entry]struct{}
	recent   []write // ring of the last recentWrites applied
	next     int     // where the ring's next write goes
	lru      list.List
	bytes    int
	// leaseUntil is when the lease of a LeasingLog runs out: until then
	// no write is done before this replica has applied it.
	leaseUntil time.Time
}

type entry struct {
	id    string
	ans   Answer
	seq   uint64 // the last write logged before it was computed
	until time.Time
	keys  []string
	el    *list.Element
	size  int
}

type write struct {
	seq  uint64
	keys []string
}

// New returns an empty Cache; Run must follow its log for it to keep
// anything.
func New(opts Options) *Cache {
	if opts.MaxBytes <= 0 {
		opts.MaxBytes = DefaultMaxBytes
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = DefaultMaxAge
	}
	if opts.Now == nil {
		opts.Now = time.Now
	}
	var id [12]byte
	_, _ = rand.Read(id[:])
	return &Cache{opts: opts, id: hex.EncodeToString(id[:]), advanced: make(chan struct{}), entries: map[string]*entry{}, byKey: map[string]map[*entry]struct{}{}}
}

// Run follows the log until ctx ends; nothing is kept before it has
// started, nor after it returns.
func (c *Cache) Run(ctx context.Context) {
	var held sync.WaitGroup
	holdCtx, stopHolding := context.WithCancel(ctx)
	defer stopHolding()
	leasing := c.leasing()
	switch {
	case c.opts.Check == CheckInterval:
		go c.check(ctx)
	case leasing != nil:
		held.Go(func() { c.hold(holdCtx, leasing) })
	}
	c.opts.Log.Follow(ctx, func(seq uint64) {
		c.mu.Lock()
		c.resetLocked(seq)
		c.started = true
		c.mu.Unlock()
	}, c.apply)
	c.mu.Lock()
	c.started = false
	c.leaseUntil = time.Time{}
	c.resetLocked(c.mark)
	c.mu.Unlock()
	if leasing != nil {
		// Nothing is served any more: writers need not wait for this
		// replica until its lease would have run out.
		stopHolding()
		held.Wait()
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), catchUpWait)
		_ = leasing.Release(rctx, c.id)
		cancel()
	}
}

// hold tells the log, as soon as each write is applied and every renewEvery
// besides, how far this replica has applied its writes, which renews the
// lease when it has applied them all, until ctx ends.
func (c *Cache) hold(ctx context.Context, l LeasingLog) {
	t := time.NewTicker(renewEvery)
	defer t.Stop()
	for {
		c.mu.Lock()
		started, mark, advanced := c.started, c.mark, c.advanced
		c.mu.Unlock()
		if started {
			hctx, cancel := context.WithTimeout(ctx, catchUpWait)
			until, err := l.Hold(hctx, c.id, mark)
			cancel()
			c.mu.Lock()
			switch {
			case err != nil && ctx.Err() == nil:
				// The log (the store's Redis) is failing: writes may be
				// failing too, and be made up for later. Give up the
				// lease at once rather than when it runs out.
				c.leaseUntil = time.Time{}
				if c.started {
					c.resetLocked(c.mark)
				}
			case err == nil && c.started && until.After(c.leaseUntil):
				c.leaseUntil = until
			}
			c.mu.Unlock()
		}
		select {
		case <-ctx.Done():
			return
		case <-advanced:
		case <-t.C:
		}
	}
}

// Leasing reports whether this replica serves under leases of its log
// (CheckLease over a LeasingLog).
func (c *Cache) Leasing() bool { return c.leasing() != nil }

// leasing is the log whose leases this replica holds, if it holds any.
func (c *Cache) leasing() LeasingLog {
	if l, ok := c.opts.Log.(LeasingLog); ok && c.opts.Check == CheckLease {
		return l
	}
	return nil
}

// Leased reports whether this replica holds a lease of its log now, so
// serves kept answers without asking the log where the fleet is.
func (c *Cache) Leased() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.leasedLocked()
}

func (c *Cache) leasedLocked() bool { return c.started && time.Now().Before(c.leaseUntil) }

// check asks the log where the fleet is every checkEvery until ctx ends, and
// waits to have heard as much (see caughtUp): what bounds how long a replica
// that checks at an interval can miss a write.
func (c *Cache) check(ctx context.Context) {
	t := time.NewTicker(checkEvery)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		if seq, err := c.seq(ctx); err == nil {
			c.caughtUp(ctx, seq)
		} else {
			c.Drop() // a log that cannot say where it is may be missing writes
		}
	}
}

// apply drops what a write touches.
func (c *Cache) apply(seq uint64, keys []string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	switch {
	case !c.started || seq <= c.mark:
		// Logged before the follower started (it started from their
		// number): made before anything kept was computed.
		return
	case seq != c.mark+1:
		// Writes were missed: nothing kept can be trusted. (A log that
		// restarts ends the subscription, and the follower starts over.)
		c.resetLocked(seq)
		return
	}
	for _, k := range keys {
		for e := range c.byKey[k] {
			if e.seq < seq {
				c.removeLocked(e)
			}
		}
	}
	if len(c.recent) < recentWrites {
		c.recent = append(c.recent, write{seq, keys})
	} else {
		c.recent[c.next] = write{seq, keys}
	}
	c.next = (c.next + 1) % recentWrites
	c.mark = seq
	close(c.advanced)
	c.advanced = make(chan struct{})
}

func (c *Cache) resetLocked(seq uint64) {
	c.resets++
	clear(c.entries)
	clear(c.byKey)
	c.lru.Init()
	c.bytes = 0
	c.recent, c.next = c.recent[:0], 0
	c.mark = seq
	close(c.advanced)
	c.advanced = make(chan struct{})
}

func (c *Cache) removeLocked(e *entry) {
	if c.entries[e.id] != e {
		return
	}
	delete(c.entries, e.id)
	for _, k := range e.keys {
		if m := c.byKey[k]; m != nil {
			delete(m, e)
			if len(m) == 0 {
				delete(c.byKey, k)
			}
		}
	}
	c.lru.Remove(e.el)
	c.bytes -= e.size
}

// Get returns the answer kept under id, if there is one and this replica
// has applied every write the fleet had logged when Get was called.
func (c *Cache) Get(ctx context.Context, id string) (Answer, bool) {
	c.mu.Lock()
	_, ok := c.entries[id]
	asked := c.opts.Check != CheckInterval && !c.leasedLocked()
	c.mu.Unlock()
	if !ok {
		return Answer{}, false
	}
	if asked {
		seq, err := c.seq(ctx)
		if ctx.Err() != nil {
			return Answer{}, false // the request went away: nothing failed
		}
		if err != nil {
			// The log (the store's Redis) is failing: writes may be
			// failing too, and be made up for later.
			c.Drop()
			return Answer{}, false
		}
		if !c.caughtUp(ctx, seq) {
			return Answer{}, false
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started {
		return Answer{}, false
	}
	e := c.entries[id]
	if e == nil {
		return Answer{}, false
	}
	if !c.opts.Now().Before(e.until) {
		c.removeLocked(e)
		return Answer{}, false
	}
	c.lru.MoveToFront(e.el)
	return e.ans, true
}

// seq asks the log where the fleet is, for at most catchUpWait: a log that
// hangs is a log that fails.
func (c *Cache) seq(ctx context.Context) (uint64, error) {
	ctx, cancel := context.WithTimeout(ctx, catchUpWait)
	defer cancel()
	return c.opts.Log.Seq(ctx)
}

// caughtUp waits until this replica has applied the writes up to seq.
func (c *Cache) caughtUp(ctx context.Context, seq uint64) bool {
	var timeout <-chan time.Time
	for {
		c.mu.Lock()
		switch {
		case !c.started:
			c.mu.Unlock()
			return false
		case seq <= c.mark:
			// Later writes may have been applied since seq was read.
			c.mu.Unlock()
			return true
		}
		advanced := c.advanced
		c.mu.Unlock()
		if timeout == nil {
			t := time.NewTimer(catchUpWait)
			defer t.Stop()
			timeout = t.C
		}
		select {
		case <-advanced:
		case <-timeout:
			c.mu.Lock()
			if c.started && c.mark < seq {
				c.resetLocked(seq)
			}
			c.mu.Unlock()
			return false
		case <-ctx.Done():
			return false
		}
	}
}

// Since is where a replica stood in the log when an answer began to be
// computed: Begin's, for Put.
type Since struct {
	seq    uint64 // the last write applied
	resets uint64 // before how many drops of everything
}

// Begin returns where this replica stands in the log, which an answer about
// to be computed is kept under (Put): every write applied so far was made
// before the answer reads anything, and every later one is checked against
// what the answer read, whenever it is applied. ok is false when nothing may
// be kept.
func (c *Cache) Begin() (since Since, ok bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return Since{c.mark, c.resets}, c.started
}

// Put keeps ans under id: computed since (Begin's) from the store keys
// given, and valid until until (zero: until one is written). It is not kept
// when one of those keys was written since, nor when everything was dropped
// since (the writes missed then are not known).
func (c *Cache) Put(id string, ans Answer, since Since, keys []string, until time.Time) {
	now := c.opts.Now()
	if limit := now.Add(c.opts.MaxAge); until.IsZero() || until.After(limit) {
		until = limit
	}
	if !until.After(now) {
		return
	}
	size := len(id) + len(ans.Body) + len(ans.ContentType) + len(ans.Name) + 128
	for _, k := range keys {
		size += len(k) + 64
	}
	if size > c.opts.MaxBytes/8 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.started || since.resets != c.resets || !c.unwrittenSinceLocked(since.seq, keys) {
		return
	}
	seq := since.seq
	if old := c.entries[id]; old != nil {
		c.removeLocked(old)
	}
	e := &entry{id: id, ans: ans, seq: seq, until: until, keys: keys, size: size}
	e.el = c.lru.PushFront(e)
	c.entries[id] = e
	for _, k := range keys {
		m := c.byKey[k]
		if m == nil {
			m = map[*entry]struct{}{}
			c.byKey[k] = m
		}
		m[e] = struct{}{}
	}
	c.bytes += size
	for c.bytes > c.opts.MaxBytes {
		c.removeLocked(c.lru.Back().Value.(*entry))
	}
}

// unwrittenSinceLocked reports whether none of keys was written in the
// writes applied after seq (within the current reset, so contiguous), as far
// as the ring remembers them; false when it cannot tell.
func (c *Cache) unwrittenSinceLocked(seq uint64, keys []string) bool {
	if c.mark-seq > uint64(len(c.recent)) {
		return false
	}
	var set map[string]struct{}
	for _, w := range c.recent {
		if w.seq <= seq {
			continue
		}
		if set == nil {
			set = make(map[string]struct{}, len(keys))
			for _, k := range keys {
				set[k] = struct{}{}
			}
		}
		for _, k := range w.keys {
			if _, ok := set[k]; ok {
				return false
			}
		}
	}
	return true
}

// Drop drops every answer kept, as when the store they were computed from
// failed (cache.Options.OnStoreDown).
func (c *Cache) Drop() {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.started {
		c.resetLocked(c.mark)
	}
}

// Following reports whether the cache follows its log, so keeps answers.
func (c *Cache) Following() bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.started
}

// Len reports how many answers are kept, and their bytes.
func (c *Cache) Len() (n, bytes int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries), c.bytes
}
