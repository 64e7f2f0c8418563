// Package telemetry is what the gateway tells its operators besides its
// logs: Prometheus metrics on a registry of its own, and optional
// OpenTelemetry tracing exported over OTLP/HTTP. The packages that see the
// events report them through plain hooks the server wires to these; no
// other package imports Prometheus or OpenTelemetry's SDK, and nothing
// touches either's globals.
//
//	metrics.go   Metrics: every series, its hooks, and the gqlgen extension that counts operations
//	tracing.go   Tracing: the server span, the GraphQL spans and the spans of the calls to Engage
//
// Package telemetrytest is the OTLP collector the tests export to.
package telemetry
