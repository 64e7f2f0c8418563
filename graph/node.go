package graph

// Node is what the schema's Node interface binds to. The entities are the
// domain's plain structs, which know nothing of GraphQL; their global ids come
// from resolvers, so the Go side of Node asks nothing of them.
type Node any
