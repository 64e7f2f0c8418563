package workplace

import (
	"context"
	"errors"
)

// ErrNotHeld answers a read made with a StoreOnly context that would have
// to reach the upstream: what it asks for is not held by the gateway.
var ErrNotHeld = errors.New("workplace: not held here; answering it would call the upstream")

type storeOnlyKey struct{}

// StoreOnly returns a context whose reads are answered only from what the
// gateway holds (its cache, the mirror): every read that would call the
// upstream fails at once with ErrNotHeld, and nothing is written. The
// loaders use it to answer hits without waiting to batch them.
func StoreOnly(ctx context.Context) context.Context {
	return context.WithValue(ctx, storeOnlyKey{}, true)
}

// IsStoreOnly reports whether ctx is StoreOnly's.
func IsStoreOnly(ctx context.Context) bool { return ctx.Value(storeOnlyKey{}) != nil }

// StoreOnlyReader is a Service that answers StoreOnly contexts as
// StoreOnly says, from what it holds. The loaders peek only into one.
type StoreOnlyReader interface {
	AnswersStoreOnly()
}
