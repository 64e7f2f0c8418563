package guard

// The time limit of a query with @defer. Its deferred fragments resolve after
// its first response has gone, on contexts derived from that response's and
// from its resolvers' (gqlgen hands a resolver's context on to the fields
// under it), and the executor passes each fragment's result on through a
// channel whose sender gives up once its context has ended, even while the
// transport waits to receive: ending that context at the deadline, or when
// the client goes, could leave the transport waiting forever. So a deferred
// query's responses run on a context that ends only once the transport has
// taken the last of them, and the limit (the deadline, or the client going)
// travels beside it (workplace.WithLimit) to the loaders, which end their
// upstream calls with it.

import (
	"context"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/workplace"
	"github.com/vektah/gqlparser/v2/ast"
)

// deferralKey holds the *deferral of the query a response context belongs to.
type deferralKey struct{}

// deferral is one deferred query's state.
type deferral struct {
	deadline time.Time

	mu sync.Mutex
	// delivery is the context its responses run on; it ends with end.
	delivery    context.Context
	endDelivery context.CancelFunc
	// endLimit ends the limit of its upstream calls.
	endLimit context.CancelFunc
	// unwatch stops watching the transport's context.
	unwatch func() bool
	// inCall is true while the transport waits for a response.
	inCall bool
	// gone is true once the transport's context ended: the client went.
	gone bool
	// over is true once the last response has been taken, or the client
	// went and no call waits.
	over bool
}

// usesDefer reports whether op (with the fragments of doc it spreads) has a
// @defer anywhere.
func usesDefer(doc *ast.QueryDocument, op *ast.OperationDefinition) bool {
	seen := map[string]bool{}
	var walk func(ast.SelectionSet) bool
	walk = func(ss ast.SelectionSet) bool {
		for _, sel := range ss {
			switch s := sel.(type) {
			case *ast.Field:
				if walk(s.SelectionSet) {
					return true
				}
			case *ast.InlineFragment:
				if s.Directives.ForName("defer") != nil || walk(s.SelectionSet) {
					return true
				}
			case *ast.FragmentSpread:
				if s.Directives.ForName("defer") != nil {
					return true
				}
				if seen[s.Name] {
					continue
				}
				seen[s.Name] = true
				if f := doc.Fragments.ForName(s.Name); f != nil && walk(f.SelectionSet) {
					return true
				}
			}
		}
		return false
	}
	return walk(op.SelectionSet)
}

// InterceptOperation implements graphql.OperationInterceptor: a query with
// @defer gets the deferral described at the top of this file; every other
// operation passes.
func (e Extension) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx)
	if op.Operation == nil || op.Operation.Operation != ast.Query || !usesDefer(op.Doc, op.Operation) {
		return next(ctx)
	}
	d := &deferral{deadline: time.Now().Add(e.limits.Timeout)}
	responses := next(ctx)
	return func(ctx context.Context) *graphql.Response {
		dctx, ok := d.begin(ctx)
		if !ok {
			return nil
		}
		resp := responses(dctx)
		d.done(resp)
		return resp
	}
}

// begin starts a call of the transport for the next response; false when
// the operation is over.
func (d *deferral) begin(ctx context.Context) (context.Context, bool) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.over || ctx.Err() != nil {
		return nil, false
	}
	if d.delivery == nil {
		// The limit ends with the client's request, or at the deadline.
		limit, endLimit := context.WithDeadline(ctx, d.deadline)
		delivery, end := context.WithCancel(context.WithoutCancel(ctx))
		d.delivery = workplace.WithLimit(context.WithValue(delivery, deferralKey{}, d), limit)
		d.endDelivery, d.endLimit = end, endLimit
		d.unwatch = context.AfterFunc(ctx, d.leave)
	}
	d.inCall = true
	return d.delivery, true
}

// done ends a call: after the last response the operation is over, and so
// it is when the client went while the call waited.
func (d *deferral) done(resp *graphql.Response) {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.inCall = false
	if resp == nil || resp.HasNext == nil || !*resp.HasNext || d.gone {
		d.end()
	}
}

// leave is called when the transport's context ends, which has ended the
// limit, so the upstream calls stop at once. The responses' context ends now
// if the transport is not waiting for one, else once its wait is over (the
// stopped calls make it short).
func (d *deferral) leave() {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.gone = true
	if !d.inCall {
		d.end()
	}
}

func (d *deferral) end() {
	if d.over {
		return
	}
	d.over = true
	d.endLimit()
	d.endDelivery()
	d.unwatch()
}

// timedOut reports whether the operation's deadline has passed while its
// client waited.
func (d *deferral) timedOut() bool {
	d.mu.Lock()
	defer d.mu.Unlock()
	return !d.gone && !time.Now().Before(d.deadline)
}
