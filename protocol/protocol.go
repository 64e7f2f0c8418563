// Package protocol holds the gateway's GraphQL transports over plain HTTP, in
// place of gqlgen's POST, GET and SSE transports, so that the gateway speaks
// the protocols its clients' libraries implement, to the letter:
//
//   - the GraphQL over HTTP spec (HTTP): the status codes and the data entry
//     each response media type calls for, a clear 4xx for a request that is
//     not a GraphQL request, and never an empty body;
//   - incremental delivery of @defer, as multipart/mixed (HTTP), as
//     websocket messages (each a Part, sent by package socket) and as
//     server-sent events, in the format Apollo Client and GraphiQL merge;
//   - graphql-sse, in its distinct-connections and single-connection modes
//     (SSE).
//
// The transports run operations through gqlgen's executor like any other,
// so the gateway's extensions (limits, rate limits, metrics, tracing) see
// every operation whatever its transport. Unsupported answers what none of
// them takes.
//
//	protocol.go     the package doc only
//	accept.go       content negotiation on the Accept header
//	http.go         HTTP: GET and POST, @defer as multipart/mixed
//	incremental.go  @defer: subsequent payloads (Part), or one merged response
//	request.go      reading a POST's JSON body or a GET's query string
//	response.go     writing responses: status codes per media type, Refusal
//	sse.go          SSE: graphql-sse in both modes, and Streams
//	unsupported.go  Unsupported: what no other transport takes
package protocol
