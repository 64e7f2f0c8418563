package fleet

// What the fleet's Redis-backed types share about Redis going away: once a
// call failed, answer from the per-process fallback at once for a while
// instead of paying the round-trip timeout on every call, probe again now and
// then, and log only the changes.

import (
	"log/slog"
	"sync"
	"time"
)

// reach tracks whether Redis answers one of the fleet's types.
type reach struct {
	retry time.Duration
	log   *slog.Logger
	// upMsg and downMsg are logged when Redis answers again and when it
	// stops answering; downAttrs go with downMsg.
	upMsg, downMsg string
	downAttrs      []any

	mu        sync.Mutex
	down      bool
	nextProbe time.Time
}

// try says whether to ask Redis: always while it answers, and once per
// retry interval (one caller) while it does not.
func (r *reach) try() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	if !r.down {
		return true
	}
	now := time.Now()
	if now.Before(r.nextProbe) {
		return false
	}
	r.nextProbe = now.Add(r.retry)
	return true
}

// report records the outcome of a Redis call, logging only the changes.
func (r *reach) report(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case err == nil && r.down:
		r.down = false
		r.log.Info(r.upMsg)
	case err != nil && !r.down:
		r.down = true
		r.nextProbe = time.Now().Add(r.retry)
		r.log.Warn(r.downMsg, append(r.downAttrs, "err", err)...)
	case err != nil:
		r.nextProbe = time.Now().Add(r.retry)
	}
}

// degraded says whether the last attempt to reach Redis failed.
func (r *reach) degraded() bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.down
}
