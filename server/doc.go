// Package server is the gateway's wiring: it reads the configuration,
// builds the engine (Redis or memory behind the cache, the events, the
// webhook log and the limits), mounts the routes, and serves until its
// context ends. The main package at the repository's root calls Run and
// nothing else.
//
// Its files:
//
//	cli.go       Run: --help, --version, check, or serve
//	help.go      --help: the README's table of settings
//	version.go   what the binary knows of its build
//	config.go    every setting, read from the environment and checked
//	run.go       serving: the demo's simulator, the engine, the client, the authenticator, the server, the stop
//	engine.go    Redis or memory behind the cache, the events, the webhook log and the limits
//	feed.go      the resolvers' subscriptions over the event broker
//	routes.go    the HTTP surface: /graphql, GraphiQL, webhooks, health, metrics
//	wire.go      /graphql's answers on the wire: caching headers, ETags, compression
//	logging.go   JSON logs and one access line per request
//	shutdown.go  the graceful stop
//
// Three technologies of their own are beside it: the HTTP authentication
// middleware (auth/httpauth), the limits the fleet shares (fleet/budget),
// and the metrics and tracing (telemetry).
//
// The end-to-end tests beside it start the gateway, the simulator, Redis
// and real clients, and are grouped by what they prove: api_* (the schema
// answered as Engage holds it), live_* (webhooks, the mirror,
// subscriptions), limits_* (the abuse limits, budgets and rates), auth_*,
// faults_* (the upstream failing), replicas_* (a fleet sharing Redis),
// ops_* (what an operator runs: the binary, logs, metrics, tracing, the
// image, the stop) and bench_* (the benchmarks of bench/). Their helpers
// are the helpers_* files; config_test.go and help_test.go test their files.
package server
