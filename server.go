// Command gateway serves one GraphQL API over the Eptura Engage REST APIs.
//
// With no configuration it starts an embedded Engage simulator with demo
// data and serves GraphiQL on 127.0.0.1:8080, so `go run .` shows it
// working in one step. The README lists every setting; the server package
// is the wiring.
package main

import (
	"context"
	_ "embed"
	"os"
	"os/signal"
	"syscall"

	"github.com/engagegql/gateway/server"
)

// readme is the README: its configuration table is what --help prints.
//
//go:embed README.md
var readme string

// version is the release, set when one is built:
//
//	go build -ldflags "-X main.version=v1.2.3"
var version string

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	go func() {
		// A second SIGINT or SIGTERM, during the graceful stop the first
		// began, ends the process at once, as without a handler.
		<-ctx.Done()
		stop()
	}()
	code := server.Run(ctx, server.Binary{README: readme, Version: version}, os.Args[1:], os.Getenv, os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}
