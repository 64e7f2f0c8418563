// Package resolvers implements the GraphQL schema. Resolvers are thin: they
// decode arguments, call one loader or service method, and convert the
// result; the domain lives in workplace and the data access in loader.
//
//	resolver.go                the Resolver, where dependencies are injected
//	booking.resolvers.go       bookings and desk bookings
//	catalog.resolvers.go       users, cost codes, vendors and service orders
//	connection.go              the visitors connection: cursors and pages
//	convert.go                 ptr and engageID, small conversions
//	errors.go                  ErrorPresenter and Recover, for errors and panics
//	fetch.go                   query helpers: arguments turned into loader calls
//	globalid.go                global ids, base64url of "Type:n": made and parsed
//	hierarchy.resolvers.go     countries down to rooms and desks
//	mutate.go                  mutation helpers: acting user, read-back, UserErrors
//	node.go                    lookupNode(s): the entity a global id names
//	node.resolvers.go          Query.node and Query.nodes, the root resolvers
//	private.go                 a visitor's meeting name as the caller may see it
//	subscribe.go               ChangeFeed, and how a subscription filters its changes
//	subscription.resolvers.go  the subscriptions and their events
//	visitor.resolvers.go       visitors
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
