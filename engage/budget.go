package engage

// This file asks the fleet's shared call budget before every API attempt, so
// that however many replicas run, together they stay under the upstream's
// per-key rate limit instead of each learning it from a 429. The budget
// itself lives elsewhere (see package fleet); the client only knows the
// Budget interface, the urgency of a call (its Class) and the key's public
// id.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// Class tells the shared budget how urgent a call is: interactive calls (a
// GraphQL query a user waits for) go before background work (subscription
// payload re-reads, listener registration), which only spends budget while
// plenty is left.
type Class int

// The classes of a call, from the most urgent.
const (
	// Interactive is a call someone waits for; the default.
	Interactive Class = iota
	// Background is work nobody waits for, which yields to interactive
	// calls when the budget runs low.
	Background
)

// String names the class in logs and metrics.
func (c Class) String() string {
	if c == Background {
		return "background"
	}
	return "interactive"
}

// classKey is the context key of a call's Class.
type classKey struct{}

// WithClass marks every call made with the returned context as class c, so
// the code that starts background work marks it once and the client methods
// keep the signatures of workplace.Service.
func WithClass(ctx context.Context, c Class) context.Context {
	return context.WithValue(ctx, classKey{}, c)
}

// ClassOf returns the class ctx was marked with by WithClass; Interactive
// when unset, so a call nobody thought about is never starved.
func ClassOf(ctx context.Context) Class {
	if c, ok := ctx.Value(classKey{}).(Class); ok {
		return c
	}
	return Interactive
}

// Budget is the upstream call budget shared by every replica (see package
// fleet). Take asks for one call on the subscription key identified by keyID
// (never the key itself): it returns 0 when the call may be sent now, or how
// long until one could be. An error means the budget store failed; the
// client then sends the call (the store is expected to fall back by itself)
// and logs the failure at most once a minute.
type Budget interface {
	Take(ctx context.Context, keyID string, class Class) (wait time.Duration, err error)
}

// BudgetFunc adapts a function to Budget, so main can wire a budget whose
// method takes its own class type (package fleet does not import engage)
// with a one-line conversion.
type BudgetFunc func(ctx context.Context, keyID string, class Class) (time.Duration, error)

// Take implements Budget.
func (f BudgetFunc) Take(ctx context.Context, keyID string, class Class) (time.Duration, error) {
	return f(ctx, keyID, class)
}

// Default waits for the budget when Config.BudgetMaxWait is zero. A user
// waits briefly rather than see an error; background work can afford to wait
// longer for its turn.
const (
	DefaultBudgetMaxWaitInteractive = 2 * time.Second
	DefaultBudgetMaxWaitBackground  = 10 * time.Second
)

// keyID is the public name of a subscription key in the shared budget and in
// metrics: the first 16 hex digits of SHA-256(apiURL NUL key). The API URL is
// part of it so two tenants that happen to share a key value do not share a
// budget; 64 bits keep ids distinct without revealing anything of the key.
func keyID(apiURL, key string) string {
	sum := sha256.Sum256([]byte(apiURL + "\x00" + key))
	return hex.EncodeToString(sum[:])[:16]
}

// takeBudget asks the budget for one attempt on key, waiting while the wait
// fits the class's limit and the caller's deadline. It returns nil when the
// attempt may go (also when the budget store failed) and an *Error (or the
// context's error) otherwise.
func (c *Client) takeBudget(ctx context.Context, r request, key string) error {
	if c.budget == nil {
		return nil
	}
	class := ClassOf(ctx)
	limit := c.budgetMaxWait
	if limit == 0 {
		limit = DefaultBudgetMaxWaitInteractive
		if class == Background {
			limit = DefaultBudgetMaxWaitBackground
		}
	}
	id := c.keyIDs[r.product]
	// The limit bounds the whole wait of one attempt, so a budget that keeps
	// answering "a little longer" cannot hold a call forever.
	var waited time.Duration
	for {
		wait, err := c.budget.Take(ctx, id, class)
		if err != nil {
			if ctx.Err() != nil {
				return ctx.Err()
			}
			if c.budgetLog.allow() {
				c.log.Warn("engage: call budget unavailable; sending without it", "product", string(r.product), "error", c.scrub(err.Error()))
			}
			return nil
		}
		if wait <= 0 {
			return nil
		}
		if waited+wait > limit || !fitsDeadline(ctx, wait) {
			c.log.Debug("engage: call budget spent", "product", string(r.product), "route", r.route, "class", class.String(), "wait", wait.String())
			return &Error{
				Product: r.product, Method: r.method, Route: r.route,
				RetryAfter: wait, kind: kindBudget,
			}
		}
		if err := c.sleep(ctx, wait); err != nil {
			return err
		}
		waited += wait
	}
}

// fitsDeadline reports whether waiting d still leaves the caller's context
// alive: no wait may end past the deadline, since the call after it could not
// be made anyway.
func fitsDeadline(ctx context.Context, d time.Duration) bool {
	deadline, ok := ctx.Deadline()
	return !ok || time.Until(deadline) > d
}

// sleepCtx waits d, or until ctx ends (then it returns ctx's error).
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// logLimiter lets one log line through per interval, so a failing
// dependency that every call meets (the budget store, the token share) is
// reported without flooding the log.
type logLimiter struct {
	every time.Duration
	now   func() time.Time
	mu    sync.Mutex
	last  time.Time
}

func (l *logLimiter) allow() bool {
	l.mu.Lock()
	defer l.mu.Unlock()
	now := l.now()
	// A clock that went back (a test's, or a corrected host clock) lets the
	// line through rather than silence it for as long as it went back.
	if d := now.Sub(l.last); !l.last.IsZero() && d >= 0 && d < l.every {
		return false
	}
	l.last = now
	return true
}
