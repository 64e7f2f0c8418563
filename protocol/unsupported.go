package protocol

import (
	"net/http"

	"github.com/99designs/gqlgen/graphql"
)

// Unsupported answers the requests no other transport takes (list it last):
// a method the endpoint does not serve is a 405 naming the ones it does, and
// anything else a 400 saying what the endpoint expects, rather than gqlgen's
// bare "transport not supported".
type Unsupported struct{}

var _ graphql.Transport = Unsupported{}

// Supports implements graphql.Transport: everything.
func (Unsupported) Supports(*http.Request) bool { return true }

// allowed are the methods of the GraphQL endpoint: the GraphQL requests, the
// single-connection event streams, and CORS preflights.
const allowed = "GET, POST, PUT, DELETE, OPTIONS"

// Do implements graphql.Transport.
func (Unsupported) Do(w http.ResponseWriter, r *http.Request, _ graphql.GraphExecutor) {
	switch r.Method {
	case http.MethodGet, http.MethodPost:
		writeProblem(w, MediaJSON, badRequest("this endpoint serves GraphQL over HTTP (GET, or POST of application/json), websockets (graphql-transport-ws, graphql-ws) and server-sent events (Accept: text/event-stream)"), CodeBadRequest)
	default:
		writeProblem(w, MediaJSON, &requestError{
			status: http.StatusMethodNotAllowed, header: http.Header{"Allow": {allowed}},
			message: "this endpoint does not serve " + r.Method + "; it serves " + allowed,
		}, CodeUnsupported)
	}
}
