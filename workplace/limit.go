package workplace

// An operation's time limit, for work whose context must outlive it: a query
// with @defer keeps its responses' context until the last has gone (ending it
// earlier could strand the transport waiting for one), so its deadline is
// carried beside that context instead, and whatever calls out for it (the
// loaders' batches) applies it to each call.

import "context"

// limitKey is the context key of an operation's limit.
type limitKey struct{}

// WithLimit returns ctx carrying limit, a context whose end (its deadline,
// or its cancellation when the client goes) must end the calls made for
// ctx's operation, though ctx itself goes on.
func WithLimit(ctx, limit context.Context) context.Context {
	return context.WithValue(ctx, limitKey{}, limit)
}

// Limited returns ctx ending also when the limit it carries ends, with the
// limit's deadline; ctx itself when it carries none. Call the CancelFunc
// once the call is done.
func Limited(ctx context.Context) (context.Context, context.CancelFunc) {
	limit, ok := ctx.Value(limitKey{}).(context.Context)
	if !ok {
		return ctx, func() {}
	}
	var cancel context.CancelFunc
	if d, ok := limit.Deadline(); ok {
		ctx, cancel = context.WithDeadline(ctx, d)
	} else {
		ctx, cancel = context.WithCancel(ctx)
	}
	stop := context.AfterFunc(limit, cancel)
	return ctx, func() {
		stop()
		cancel()
	}
}
