// Package resolvers implements the GraphQL schema. Resolvers are thin: they
// decode arguments, call one loader or service method, and convert the
// result; the domain lives in workplace and the data access in loader.
package resolvers

import "github.com/engagegql/gateway/workplace"

// Resolver is the root resolver and the one place dependencies are injected.
type Resolver struct {
	// Service is the tenant, read through the cache when there is one. Reads
	// of nested data go through the per-operation loaders instead.
	Service workplace.Service
}
