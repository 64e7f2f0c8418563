// Package graph holds the GraphQL schema (one .graphqls file per area) and
// the executable schema gqlgen generates from it. Nothing here is written by
// hand but the schema, the scalars and this file.
package graph

//go:generate go -C .. run github.com/99designs/gqlgen generate
//go:generate go -C .. run ./cmd/schemaexport -dir graph -out schema.graphql
