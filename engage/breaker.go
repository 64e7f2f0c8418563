package engage

// This file is the circuit breaker kept per product. When one of Engage's
// products keeps failing (network errors, timeouts, 5xx), every call to it
// would wait for its own failure, and retries would add load to a service
// that is already down. The breaker notices the run of failures, fails calls
// at once for a cooldown, then lets one probe through to learn whether the
// product is back.

import (
	"sync"
	"time"
)

// Breaker configures the circuit breaker the client keeps per product.
type Breaker struct {
	// Failures is how many consecutive failed attempts (network error,
	// timeout, 5xx) open the breaker; zero = DefaultBreakerFailures;
	// negative disables the breaker. Answers such as 4xx and 429 are not
	// failures: they prove the product answers.
	Failures int
	// Cooldown is how long an open breaker fails calls before it lets one
	// probe through; zero = DefaultBreakerCooldown.
	Cooldown time.Duration
}

// Defaults of Breaker.
const (
	DefaultBreakerFailures = 5
	DefaultBreakerCooldown = 10 * time.Second
)

// The states of a breaker, as BreakerStates and Config.OnBreaker name them.
const (
	BreakerClosed   = "closed"
	BreakerOpen     = "open"
	BreakerHalfOpen = "half-open"
)

// probeWait is the RetryAfter of a call refused while a half-open breaker's
// probe is in flight: the probe's answer is usually that close. [X]
const probeWait = time.Second

// health is what one attempt says about its product.
type health int

const (
	healthUnknown health = iota // nothing learnt: the caller gave up, or the attempt was never sent
	healthy                     // the product answered (any status but 5xx)
	failing                     // network error, timeout or 5xx
)

// circuit is one product's breaker.
type circuit struct {
	state   string
	fails   int       // consecutive failures while closed
	until   time.Time // open: when the cooldown ends
	probing bool      // half-open: the one probe is in flight
	// gen changes on every transition, so an attempt that started in an
	// earlier state (a slow call finishing after the breaker opened) does
	// not count in the new one.
	gen uint64
}

// breakers holds the circuit of every product.
type breakers struct {
	threshold int // <= 0: disabled
	cooldown  time.Duration
	now       func() time.Time
	on        func(Product, string)

	mu sync.Mutex
	m  map[Product]*circuit
}

func newBreakers(cfg Breaker, now func() time.Time, on func(Product, string)) *breakers {
	b := &breakers{threshold: cfg.Failures, cooldown: cfg.Cooldown, now: now, on: on, m: map[Product]*circuit{}}
	if b.threshold == 0 {
		b.threshold = DefaultBreakerFailures
	}
	if b.cooldown == 0 {
		b.cooldown = DefaultBreakerCooldown
	}
	for _, p := range Products() {
		b.m[p] = &circuit{state: BreakerClosed}
	}
	return b
}

// ticket is the permission for one attempt; done must be called with it
// exactly once.
type ticket struct {
	p     Product
	gen   uint64
	probe bool
}

// transition is one state change, reported after the lock is released so
// that Config.OnBreaker may call back into the client.
type transition struct {
	p     Product
	state string
}

// allow asks for one attempt on p. When the breaker refuses, ok is false and
// wait says how long until it could allow one.
func (b *breakers) allow(p Product) (t ticket, wait time.Duration, ok bool) {
	if b.threshold <= 0 {
		return ticket{p: p}, 0, true
	}
	var moved []transition
	defer func() { b.report(moved) }()
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.m[p]
	switch c.state {
	case BreakerOpen:
		if d := c.until.Sub(b.now()); d > 0 {
			return ticket{}, d, false
		}
		moved = append(moved, b.move(p, c, BreakerHalfOpen))
		fallthrough
	case BreakerHalfOpen:
		if c.probing {
			return ticket{}, probeWait, false
		}
		c.probing = true
		return ticket{p: p, gen: c.gen, probe: true}, 0, true
	}
	return ticket{p: p, gen: c.gen}, 0, true
}

// done records what the attempt of t learnt, and reports whether the
// product's breaker is still closed, i.e. whether a retry may follow.
func (b *breakers) done(t ticket, h health) (closed bool) {
	if b.threshold <= 0 {
		return true
	}
	var moved []transition
	defer func() { b.report(moved) }()
	b.mu.Lock()
	defer b.mu.Unlock()
	c := b.m[t.p]
	if t.gen != c.gen {
		return c.state == BreakerClosed
	}
	switch {
	case t.probe && h == healthy:
		moved = append(moved, b.move(t.p, c, BreakerClosed))
	case t.probe && h == failing:
		moved = append(moved, b.move(t.p, c, BreakerOpen))
	case t.probe:
		c.probing = false // the next caller probes instead
	case h == healthy:
		c.fails = 0
	case h == failing:
		c.fails++
		if c.fails >= b.threshold {
			moved = append(moved, b.move(t.p, c, BreakerOpen))
		}
	}
	return c.state == BreakerClosed
}

// move changes c's state; b.mu must be held.
func (b *breakers) move(p Product, c *circuit, state string) transition {
	c.state, c.fails, c.probing = state, 0, false
	c.gen++
	if state == BreakerOpen {
		c.until = b.now().Add(b.cooldown)
	}
	return transition{p, state}
}

func (b *breakers) report(moved []transition) {
	if b.on == nil {
		return
	}
	for _, m := range moved {
		b.on(m.p, m.state)
	}
}

// states returns every product's state. An open breaker whose cooldown has
// passed stays "open" until the next call makes it half-open.
func (b *breakers) states() map[Product]string {
	out := make(map[Product]string, len(b.m))
	b.mu.Lock()
	defer b.mu.Unlock()
	for p, c := range b.m {
		out[p] = c.state
	}
	return out
}
