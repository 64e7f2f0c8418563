//go:build tools

// Package main pins the code generator in go.mod, so `go generate ./...`
// runs the same gqlgen on every machine.
package main

import _ "github.com/99designs/gqlgen"
