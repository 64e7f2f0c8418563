package main

// The limits the fleet shares: the upstream call budget of each subscription
// key (so replicas together never trip the tenant's 500 a minute or 50,000 a
// week), each client's rate limit, and how many subscriptions each client
// holds at once. The rates are GCRA rates and the subscriptions slots of a
// semaphore, kept by package fleet, in Redis when the gateway has it and in
// memory when it runs alone.

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
	"github.com/engagegql/gateway/engage"
	"github.com/engagegql/gateway/fleet"
	"github.com/engagegql/gateway/socket"
	"github.com/engagegql/gateway/workplace"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// upstreamBudget is engage.Budget over a fleet limiter: every call on a
// subscription key spends from the minute and the week rate at once.
// Background calls leave the reserved share of each burst to the calls a
// user is waiting for.
type upstreamBudget struct {
	limiter fleet.Limiter
	cfg     budgetConfig
}

var _ engage.Budget = upstreamBudget{}

func (b upstreamBudget) Take(ctx context.Context, keyID string, class engage.Class) (time.Duration, error) {
	reserve := 0.0
	if class == engage.Background {
		reserve = b.cfg.reserve
	}
	d, err := b.limiter.Allow(ctx, "upstream:"+keyID, reserve, b.cfg.minute, b.cfg.week)
	if err != nil {
		return 0, err
	}
	if d.Allowed {
		return 0, nil
	}
	return max(d.RetryIn, time.Millisecond), nil
}

// remaining says how many calls the key could still make at once.
func (b upstreamBudget) remaining(keyID string) float64 {
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	n, err := b.limiter.Peek(ctx, "upstream:"+keyID, b.cfg.minute, b.cfg.week)
	if err != nil {
		return math.NaN()
	}
	return float64(n)
}

// clientLimits is the per-client rate limit, a gqlgen extension: every
// operation (a query, a mutation, the start of a subscription) spends one
// event of its client's rate once it has validated and passed the abuse
// limits, before it runs, so a client over its limit costs no upstream
// call. Authenticated clients are counted by credential (the same user on
// every replica and every connection), anonymous ones by address.
type clientLimits struct {
	limiter fleet.Limiter
	rate    fleet.Rate
}

var (
	_ graphql.HandlerExtension        = clientLimits{}
	_ graphql.OperationContextMutator = clientLimits{}
)

func (clientLimits) ExtensionName() string                          { return "ClientRateLimit" }
func (clientLimits) Validate(schema graphql.ExecutableSchema) error { return nil }

// MutateOperationContext refuses an operation over its client's rate. The
// refusal is a request error: over HTTP it is answered 429 with
// Retry-After (clientLimitRefusal), on a websocket or an event stream it is
// the operation's one payload.
func (l clientLimits) MutateOperationContext(ctx context.Context, _ *graphql.OperationContext) *gqlerror.Error {
	d, allowed := l.spend(ctx)
	if allowed {
		return nil
	}
	retry := int(math.Ceil(d.RetryIn.Seconds()))
	return &gqlerror.Error{
		Message: fmt.Sprintf("client rate limit: you may run %d operations a minute (bursts of %d); retry in %d s", l.rate.Events, max(l.rate.Burst, 1), retry),
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
func (l clientLimits) spend(ctx context.Context) (fleet.Decision, bool) {
	d, err := l.limiter.Allow(ctx, "client:"+clientKey(ctx), 0, l.rate)
	return d, err != nil || d.Allowed
}

// admit is spend for an operation answered without running (a kept
// answer).
func (l clientLimits) admit(ctx context.Context) bool {
	_, allowed := l.spend(ctx)
	return allowed
}

// clientLimitRefusal answers a request the client rate limit refused with
// 429 and Retry-After (whole seconds, rounded up), as proxies and HTTP
// clients expect of a rate limit, whatever the response's media type.
func clientLimitRefusal(errs gqlerror.List) (int, http.Header) {
	for _, e := range errs {
		if e.Extensions["code"] != workplace.ECLIENTLIMIT {
			continue
		}
		retry, _ := e.Extensions["retryAfter"].(int)
		return http.StatusTooManyRequests, http.Header{"Retry-After": {strconv.Itoa(max(retry, 1))}}
	}
	return 0, nil
}

// clientKey names the caller for the limiter: a hash of its credential's
// identity (no email or key name is written to Redis), or of its address.
func clientKey(ctx context.Context) string {
	id := "addr:" + clientAddr(ctx)
	if p, ok := auth.FromContext(ctx); ok {
		id = p.ClientID()
	}
	sum := sha256.Sum256([]byte(id))
	return hex.EncodeToString(sum[:12])
}

// clientStreams caps how many subscriptions one client holds open at once,
// over every socket and replica: each operation on a websocket (of either
// protocol) and each server-sent event stream holds a slot of the fleet's
// semaphore while it runs. A client is who clientLimits counts (clientKey).
type clientStreams struct {
	slots fleet.Semaphore
	max   int
}

// acquire takes a slot for the client of ctx; refusal says why it cannot.
func (s *clientStreams) acquire(ctx context.Context) (release func(), refusal *gqlerror.Error) {
	release, ok, err := s.slots.Acquire(ctx, "streams:"+clientKey(ctx), s.max)
	if err != nil {
		// An invalid limit, which configuration rules out; the client is
		// not the one to pay for it.
		return nil, nil
	}
	if !ok {
		return nil, &gqlerror.Error{
			Message: fmt.Sprintf("too many subscriptions: this client may hold %d at once across the gateway (websocket operations and server-sent event streams together); complete one before starting another", s.max),
			Extensions: map[string]any{
				"code":  socket.CodeTooManySubscriptions,
				"limit": "client",
				"max":   s.max,
			},
		}
	}
	return release, nil
}
