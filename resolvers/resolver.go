// Package resolvers implements the GraphQL schema. Resolvers are thin: they
// decode arguments, call one loader or service method, and convert the
// result; the domain lives in workplace and the data access in loader.
package resolvers

import (
	"log/slog"

	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/workplace"
)

// Resolver is the root resolver and the one place dependencies are injected.
type Resolver struct {
	// Service is the tenant, read through the cache when there is one.
	// Mutations write through it and read their result back from it; reads
	// of nested data go through the per-operation loaders instead.
	Service workplace.Service
	// Feed delivers the changes subscriptions stream; nil disables them.
	Feed ChangeFeed
	// Loaders tunes the loaders subscriptions make for their filters.
	Loaders loader.Options
	// Logger receives what clients must not see; nil discards it.
	Logger *slog.Logger
}
