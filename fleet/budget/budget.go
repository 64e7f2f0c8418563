// Package budget holds the limits the fleet shares: the upstream call
// budget of each subscription key (so replicas together never trip the
// tenant's 500 a minute or 50,000 a week), each client's rate limit, and how
// many subscriptions each client holds at once. The rates are GCRA rates
// and the subscriptions slots of a semaphore, kept by package fleet, in
// Redis when the gateway has it and in memory when it runs alone.
//
//	budget.go  Upstream (engage.Budget), ClientLimits (a gqlgen extension)
//	           and its 429, ClientStreams, and the key a client is counted by
package budget

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/auth"
	"github.com/engagegql/gateway/auth/httpauth"
	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/fleet"
	"github.com/engagegql/gateway/socket"
	"github.com/engagegql/gateway/workplace"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Upstream is engage.Budget over a fleet limiter: every call on a
// subscription key spends from the minute and the week rate at once.
// Background calls leave the reserved share of each burst to the calls a
// user is waiting for.
type Upstream struct {
	Limiter      fleet.Limiter
	Minute, Week fleet.Rate
	// Reserve is the share of each burst background calls may not use.
	Reserve float64
}

var _ engage.Budget = Upstream{}

// Take spends one call of keyID's budget, or says how long to wait for one.
func (b Upstream) Take(ctx context.Context, keyID string, class engage.Class) (time.Duration, error) {
	reserve := 0.0
	if class == engage.Background {
		reserve = b.Reserve
	}
	d, err := b.Limiter.Allow(ctx, "upstream:"+keyID, reserve, b.Minute, b.Week)
	if err != nil {
		return 0, err
	}
	if d.Allowed {
		return 0, nil
	}
	return max(d.RetryIn, time.Millisecond), nil
}

// Remaining says how many calls the key could still make at once (NaN
// when the limiter cannot say).
func (b Upstream) Remaining(keyID string) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := b.Limiter.Peek(ctx, "upstream:"+keyID, b.Minute, b.Week)
	if err != nil {
		return math.NaN()
	}
	return float64(n)
}

// ClientLimits is the per-client rate limit, a gqlgen extension: every
// operation (a query, a mutation, the start of a subscription) spends one
// event of its client's rate once it has validated and passed the abuse
// limits, before it runs, so a client over its limit costs no upstream
// call. Authenticated clients are counted by credential (the same user on
// every replica and every connection), anonymous ones by address.
type ClientLimits struct {
	Limiter fleet.Limiter
	Rate    fleet.Rate
}

var (
	_ graphql.HandlerExtension        = ClientLimits{}
	_ graphql.OperationContextMutator = ClientLimits{}
)

func (ClientLimits) ExtensionName() string                          { return "ClientRateLimit" }
func (ClientLimits) Validate(schema graphql.ExecutableSchema) error { return nil }

// MutateOperationContext refuses an operation over its client's rate. The
// refusal is a request error: over HTTP it is answered 429 with
// Retry-After (ClientLimitRefusal), on a websocket or an event stream it is
// the operation's one payload.
func (l ClientLimits) MutateOperationContext(ctx context.Context, _ *graphql.OperationContext) *gqlerror.Error {
	d, allowed := l.spend(ctx)
	if allowed {
		return nil
	}
	retry := int(math.Ceil(d.RetryIn.Seconds()))
	return &gqlerror.Error{
		Message: fmt.Sprintf("client rate limit: you may run %d operations a minute (bursts of %d); retry in %d s", l.Rate.Events, max(l.Rate.Burst, 1), retry),
		Extensions: map[string]any{
			"code":       workplace.ECLIENTLIMIT,
			"limit":      "client_rate",
			"retryAfter": retry,
		},
	}
}

// spend spends one event of the caller's rate. A limiter error is a bad
// rate, which configuration rules out; the operation is not the one to pay
// for it.
func (l ClientLimits) spend(ctx context.Context) (fleet.Decision, bool) {
	d, err := l.Limiter.Allow(ctx, "client:"+ClientKey(ctx), 0, l.Rate)
	return d, err != nil || d.Allowed
}

// Admit spends one event of the caller's rate for an operation answered
// without running (a kept answer), and says whether it may be.
func (l ClientLimits) Admit(ctx context.Context) bool {
	_, allowed := l.spend(ctx)
	return allowed
}

// ClientLimitRefusal answers a request the client rate limit refused with
// 429 and Retry-After (whole seconds, rounded up), as proxies and HTTP
// clients expect of a rate limit, whatever the response's media type.
func ClientLimitRefusal(errs gqlerror.List) (int, http.Header) {
	for _, e := range errs {
		if e.Extensions["code"] != workplace.ECLIENTLIMIT {
			continue
		}
		retry, _ := e.Extensions["retryAfter"].(int)
		return http.StatusTooManyRequests, http.Header{"Retry-After": {strconv.Itoa(max(retry, 1))}}
	}
	return 0, nil
}

// ClientKey names the caller for the limiter: a hash of its credential's
// identity (no email or key name is written to Redis), or of its address.
func ClientKey(ctx context.Context) string {
	id := "addr:" + httpauth.ClientAddr(ctx)
	if p, ok := auth.FromContext(ctx); ok {
		id = p.ClientID()
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:12])
}

// ClientStreams caps how many subscriptions one client holds open at once,
// over every socket and replica: each operation on a websocket (of either
// protocol) and each server-sent event stream holds a slot of the fleet's
// semaphore while it runs. A client is who ClientLimits counts (ClientKey).
type ClientStreams struct {
	Slots fleet.Semaphore
	Max   int
}

// Acquire takes a slot for the client of ctx; refusal says why it cannot.
func (s *ClientStreams) Acquire(ctx context.Context) (release func(), refusal *gqlerror.Error) {
	release, ok, err := s.Slots.Acquire(ctx, "streams:"+ClientKey(ctx), s.Max)
	if err != nil {
		// An invalid limit, which configuration rules out; the client is
		// not the one to pay for it.
		return nil, nil
	}
	if !ok {
		return nil, &gqlerror.Error{
			Message: fmt.Sprintf("too many subscriptions: this client may hold %d at once across the gateway (websocket operations and server-sent event streams together); complete one before starting another", s.Max),
			Extensions: map[string]any{
				"code":  socket.CodeTooManySubscriptions,
				"limit": "client",
				"max":   s.Max,
			},
		}
	}
	return release, nil
}
