// Package fleet coordinates the gateway's replicas through the Redis they
// share, so that limits meant for the whole deployment hold however many
// replicas serve it:
//
//   - Limiter spends events against rates shared by every replica: the
//     upstream budget of each Engage subscription key (which API Management
//     enforces on the sum of our calls, not per replica) and the per-client
//     rate limits of the gateway itself. It keeps answering from memory,
//     with each replica's share of the budget, while Redis is unreachable.
//   - TokenLease lets one replica fetch the upstream session token for the
//     whole fleet and the others reuse it, instead of every replica logging
//     in on its own. The token is encrypted before it reaches Redis.
//
// Every Redis key of one limiter key, and of one credential, carries the
// same hash tag, so the scripts work on a single node, Sentinel or Cluster.
//
//	fleet.go            ErrInvalidArgument, and bounded: a call given up at a deadline
//	lease.go            Lease and RedisLease: held by one replica at a time
//	limiter.go          the Limiter contract (Rate, Decision) and the GCRA arithmetic
//	memory.go           MemoryLimiter: the Limiter of one process
//	reach.go            reach: what the Redis types do while Redis is away
//	redis.go            RedisLimiter: GCRA in Lua on Redis's clock, with a fallback
//	semaphore.go        the Semaphore contract, and MemorySemaphore for one process
//	semaphore_redis.go  RedisSemaphore: slots in a sorted set per key, expiring
//	tally.go            Tally: the fleet's event counts in hourly buckets
//	token.go            TokenLease: one replica logs in, the others load its token
package fleet

import (
	"context"
	"errors"
	"time"
)

// ErrInvalidArgument is wrapped by the errors of calls whose arguments are
// wrong (a rate without events, a reserve out of range, a lease without a
// life): a programming error to fix, unlike Redis being down, which the
// fleet's types absorb or report otherwise.
var ErrInvalidArgument = errors.New("fleet: invalid argument")

// bounded runs fn under a deadline d and returns at that deadline even when
// fn does not: a go-redis client created without ContextTimeoutEnabled
// waits for its own ReadTimeout (seconds) whatever the context says, and a
// rate limiter or a token lookup that is slower than its budget is worse
// than none. fn goes on in the background until the client gives up.
func bounded[T any](ctx context.Context, d time.Duration, fn func(context.Context) (T, error)) (T, error) {
	ctx, cancel := context.WithTimeout(ctx, d)
	defer cancel()
	type outcome struct {
		v   T
		err error
	}
	out := make(chan outcome, 1)
	go func() {
		v, err := fn(ctx)
		out <- outcome{v, err}
	}()
	select {
	case o := <-out:
		return o.v, o.err
	case <-ctx.Done():
		select {
		case o := <-out: // finished just in time
			return o.v, o.err
		default:
			var zero T
			return zero, ctx.Err()
		}
	}
}
