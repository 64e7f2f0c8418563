// Package graph holds the GraphQL schema (one .graphqls file per area) and
// the executable schema gqlgen generates from it. Nothing here is written by
// hand but the schema, the Node type, the scalars and this file.
//
//	generate.go     this doc and the go:generate lines: gqlgen, then the schema export
//	node.go         Node, the Go type the schema's Node interface binds to
//	scalar.go       the DateTime and Date scalars: how they are written and read
//	*.graphqls      the schema, one file per area
//	*.generated.go  gqlgen's output: the executable schema and the models
package graph

//go:generate go -C .. run github.com/99designs/gqlgen generate
//go:generate go -C .. run ./cmd/schemaexport -dir graph -out schema.graphql
