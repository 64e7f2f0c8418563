package engage

// This file keeps the upstream's rate limits: once API Management answers 429
// (or 403 out of quota) with Retry-After for a key, calls on that key fail
// fast until the wait has passed, instead of spending more of the budget (and
// prolonging the block) on calls that would be refused anyway.

import (
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// rateLimits holds, per subscription key, the instant until which calls are
// held back. Keys are kept in memory only, as map keys, never printed.
type rateLimits struct {
	now   func() time.Time
	mu    sync.Mutex
	until map[string]time.Time
}

func newRateLimits(now func() time.Time) *rateLimits {
	return &rateLimits{now: now, until: make(map[string]time.Time)}
}

// wait returns how long calls on key must still wait; 0 when they may go.
func (r *rateLimits) wait(key string) time.Duration {
	r.mu.Lock()
	defer r.mu.Unlock()
	u, ok := r.until[key]
	if !ok {
		return 0
	}
	d := u.Sub(r.now())
	if d <= 0 {
		delete(r.until, key)
		return 0
	}
	return d
}

// block holds key back for d. A later, longer block wins; a shorter one
// never shortens a block already in place.
func (r *rateLimits) block(key string, d time.Duration) {
	if d <= 0 {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	u := r.now().Add(d)
	if u.After(r.until[key]) {
		r.until[key] = u
	}
}

// retryAfter reads how long to wait from a rate-limited answer: the
// Retry-After header (seconds or an HTTP date), else the message. [X] With
// neither, one second, so a burst of callers still stops briefly rather than
// hammering.
func retryAfter(h http.Header, msg string, now time.Time) time.Duration {
	if v := strings.TrimSpace(h.Get("Retry-After")); v != "" {
		if s, err := strconv.ParseInt(v, 10, 64); err == nil && s >= 0 {
			return time.Duration(s) * time.Second
		}
		if t, err := http.ParseTime(v); err == nil {
			if d := t.Sub(now); d > 0 {
				return d
			}
			return 0
		}
	}
	if d, ok := waitInMessage(msg); ok {
		return d
	}
	return time.Second
}

// waitInMessage reads the wait out of API Management's texts, for answers
// without a Retry-After header: "Try again in N seconds." (429) and "Quota
// will be replenished in hh:mm:ss." (403).
func waitInMessage(msg string) (time.Duration, bool) {
	_, rest, ok := strings.Cut(strings.ToLower(msg), " in ")
	if !ok {
		return 0, false
	}
	word, _, _ := strings.Cut(strings.TrimSpace(rest), " ")
	word = strings.TrimRight(word, ".")
	if s, err := strconv.ParseInt(word, 10, 64); err == nil && s >= 0 {
		return time.Duration(s) * time.Second, true
	}
	if parts := strings.Split(word, ":"); len(parts) == 3 {
		var total time.Duration
		for i, unit := range []time.Duration{time.Hour, time.Minute, time.Second} {
			n, err := strconv.Atoi(parts[i])
			if err != nil || n < 0 {
				return 0, false
			}
			total += time.Duration(n) * unit
		}
		return total, true
	}
	return 0, false
}
