package fleet

// This file holds what both limiters share: the types of the Limiter
// contract and the GCRA arithmetic (the generic cell rate algorithm, a leaky
// bucket kept as one timestamp per rate). The Redis script repeats the same
// arithmetic in Lua; the two must change together.

import (
	"context"
	"fmt"
	"math"
	"time"
)

// Rate is one limit: Events per Per on average, with Burst extra events
// allowed at once. A full bucket therefore lets Burst+1 events through back
// to back (Burst 0: one at a time, evenly spaced), then one more every
// Per/Events: callers get the budget's average without its peaks.
type Rate struct {
	Events int
	Per    time.Duration
	Burst  int
}

// Decision is the outcome of one Allow: whether to go ahead, and what a
// caller needs to answer a refusal (Retry-After) or report the budget.
type Decision struct {
	Allowed bool
	// RetryIn is, when not allowed, how long until the same call could be
	// allowed (if nobody else spends meanwhile). Zero when allowed.
	RetryIn time.Duration
	// Remaining is how many more events the tightest rate would allow right
	// now, after this call: the "budget remaining" of metrics. It counts the
	// whole bucket, whatever the caller's reserve.
	Remaining int
}

// Limiter spends events against rates, per key. Implementations are safe
// for concurrent use. A key must always be used with the same rates in the
// same order: each rate's state is found by its position.
type Limiter interface {
	// Allow spends one event on key against every rate at once, all or
	// nothing: a refusal by one rate spends none of the others. reserve, in
	// [0,1), is the fraction of each rate's burst capacity this caller may
	// not use, kept for others: a background caller with reserve 0.5 is
	// refused once the bucket is half spent, leaving the rest to interactive
	// callers (reserve 0). A caller may always spend from a full bucket,
	// whatever its reserve. Errors are returned only for invalid arguments.
	Allow(ctx context.Context, key string, reserve float64, rates ...Rate) (Decision, error)
	// Peek reports Remaining for key without spending, for metrics.
	Peek(ctx context.Context, key string, rates ...Rate) (int, error)
}

// maxSpan bounds a bucket's capacity in microseconds (about 140 years), so
// that the arithmetic stays exact in int64 here and in Lua's doubles.
const maxSpan = int64(1) << 52

// step is a rate prepared for the arithmetic, in microseconds: the time one
// event adds to the bucket, the part of the bucket this caller may fill and
// the whole bucket.
type step struct {
	interval int64
	limit    int64
	capacity int64
}

// plan validates the arguments of a call and prepares its rates. The
// interval between events is rounded up to a whole microsecond, erring on
// the side of the budget; a rate faster than one event per microsecond is
// slowed to that.
func plan(reserve float64, rates []Rate) ([]step, error) {
	if !(reserve >= 0 && reserve < 1) { // also refuses NaN
		return nil, fmt.Errorf("%w: reserve %v is not in [0,1)", ErrInvalidArgument, reserve)
	}
	if len(rates) == 0 {
		return nil, fmt.Errorf("%w: no rate", ErrInvalidArgument)
	}
	steps := make([]step, len(rates))
	for i, r := range rates {
		if r.Events <= 0 || r.Per < time.Microsecond || r.Burst < 0 {
			return nil, fmt.Errorf("%w: rate %d (%d per %v, burst %d) needs positive events, a period of at least 1µs and a burst of 0 or more",
				ErrInvalidArgument, i, r.Events, r.Per, r.Burst)
		}
		per := r.Per.Microseconds()
		interval := per / int64(r.Events)
		if per%int64(r.Events) != 0 {
			interval++
		}
		if int64(r.Burst) >= maxSpan/interval {
			return nil, fmt.Errorf("%w: rate %d: burst %d is too large", ErrInvalidArgument, i, r.Burst)
		}
		capacity := (int64(r.Burst) + 1) * interval
		limit := max(interval, int64(math.Floor(float64(capacity)*(1-reserve))))
		steps[i] = step{interval: interval, limit: limit, capacity: capacity}
	}
	return steps, nil
}

// decide runs GCRA at now over the theoretical arrival times (tats, 0 when
// unknown) of one key's rates. With spend it returns the new tats when every
// rate allows, nil otherwise. Without spend it only reports Remaining.
func decide(now int64, tats []int64, steps []step, spend bool) (Decision, []int64) {
	allowed := spend
	var retry int64
	remaining := int64(math.MaxInt64)
	next := make([]int64, len(steps))
	for i, s := range steps {
		tat := max(tats[i], now)
		next[i] = tat + s.interval
		if over := next[i] - now - s.limit; over > 0 {
			allowed = false
			retry = max(retry, over)
		}
		remaining = min(remaining, (s.capacity-(tat-now))/s.interval)
	}
	d := Decision{Allowed: allowed}
	if allowed {
		remaining--
	} else {
		next = nil
		if spend {
			d.RetryIn = time.Duration(retry) * time.Microsecond
		}
	}
	d.Remaining = int(max(0, remaining))
	return d, next
}

// fallbackRates divides rates by share, for a replica cut off from the
// shared state: share replicas in that state together stay near the shared
// budget. The burst is divided too, keeping at least one event.
func fallbackRates(rates []Rate, share int) []Rate {
	if share <= 1 {
		return rates
	}
	out := make([]Rate, len(rates))
	for i, r := range rates {
		out[i] = Rate{Events: r.Events, Per: r.Per * time.Duration(share), Burst: max(0, (r.Burst+1)/share-1)}
	}
	return out
}
