package protocol

import (
	"context"
	"fmt"
	"io"
	"net/http"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// HTTP serves queries and mutations over POST and queries over GET, as the
// GraphQL over HTTP spec has it:
//
//   - application/graphql-response+json answers a request error (a document
//     that does not parse or validate, variables that do not coerce, a limit
//     that refuses the operation) with 400 and no data entry, and an
//     executed operation with 200;
//   - application/json answers every well-formed GraphQL response with 200,
//     request errors included, again with no data entry where nothing ran;
//   - a request that is not a GraphQL request (malformed JSON, a parameter
//     of the wrong type, no query) is a 400, a body that is not JSON a 415,
//     a mutation over GET a 405, an Accept header that allows none of the
//     response types a 406, each with an error saying what was wrong.
//
// A query with @defer is answered in parts (multipart/mixed) to a client
// that names multipart/mixed in its Accept header, and in one response,
// every deferred fragment merged in, to any other. Subscriptions are served
// by the websocket and server-sent events transports, never here.
type HTTP struct {
	// Refuse gives requests refused before execution a status of their own
	// (429 for a client over its rate limit); nil gives them the media
	// type's.
	Refuse Refusal
}

var _ graphql.Transport = HTTP{}

// Supports implements graphql.Transport: every GET and POST that is not a
// websocket upgrade (list the streaming transports first).
func (HTTP) Supports(r *http.Request) bool {
	return r.Header.Get("Upgrade") == "" && (r.Method == http.MethodGet || r.Method == http.MethodPost)
}

// Do implements graphql.Transport.
func (t HTTP) Do(w http.ResponseWriter, r *http.Request, exec graphql.GraphExecutor) {
	acc := negotiate(r.Header.Get("Accept"))
	mt := acc.json
	if mt == "" {
		mt = MediaJSON // for errors: the client must be able to read them
	}
	if !acc.acceptable() {
		writeProblem(w, mt, &requestError{status: http.StatusNotAcceptable, message: fmt.Sprintf(
			"the Accept header allows none of the media types this endpoint answers with: %s, %s or (for @defer) %s", MediaGraphQLResponse, MediaJSON, MediaMultipart)}, CodeNotAcceptable)
		return
	}
	params, problem := readRequest(r)
	if problem != nil {
		writeProblem(w, mt, problem, CodeBadRequest)
		return
	}

	ctx := r.Context()
	rc, errs := exec.CreateOperationContext(ctx, params)
	if errs != nil {
		resp := exec.DispatchError(graphql.WithOperationContext(ctx, rc), errs)
		status, h := requestErrorStatus(mt, resp.Errors, t.Refuse)
		writeJSON(w, status, mt, h, wireOf(resp))
		return
	}
	switch op := rc.Operation.Operation; {
	case r.Method == http.MethodGet && op != ast.Query:
		writeProblem(w, mt, &requestError{
			status: http.StatusMethodNotAllowed, header: http.Header{"Allow": {"POST"}},
			message: fmt.Sprintf("GET serves queries only; send this %s with POST", op),
		}, CodeUnsupported)
		return
	case op == ast.Subscription:
		writeProblem(w, mt, &requestError{
			status:  http.StatusBadRequest,
			message: "subscriptions are served over websockets (graphql-transport-ws or graphql-ws) and server-sent events (Accept: text/event-stream), not in a single response",
		}, CodeUnsupported)
		return
	}

	responses, ctx := exec.DispatchOperation(ctx, rc)
	first := responses(ctx)
	if first == nil {
		writeJSON(w, http.StatusServiceUnavailable, mt, nil, noResponse())
		return
	}
	if acc.multipart && (hasNext(first) || acc.json == "") {
		writeMultipart(w, ctx, responses, first)
		return
	}
	// One response: the deferred fragments are merged into the first.
	var rest []*graphql.Response
	for more := hasNext(first); more; {
		next := responses(ctx)
		if next == nil {
			break
		}
		rest = append(rest, next)
		more = hasNext(next)
	}
	if err := mergeAll(first, rest); err != nil {
		first.Errors = append(first.Errors, &gqlerror.Error{
			Message:    "the deferred parts of the response could not be merged into it",
			Extensions: map[string]any{"code": "INTERNAL"},
		})
	}
	status, h := http.StatusOK, http.Header(nil)
	if len(first.Data) == 0 {
		// Refused by an extension before anything was resolved.
		status, h = requestErrorStatus(mt, first.Errors, t.Refuse)
	}
	writeJSON(w, status, mt, h, wireOf(first))
}

// The multipart/mixed framing of incremental delivery, as Apollo Client
// (deferSpec=20220824), GraphiQL and the incremental delivery RFC of the
// GraphQL over HTTP working group read it: the boundary follows every part
// at once, so a client can hand a part on as soon as it has it.
const (
	multipartBoundary    = "-"
	multipartContentType = `multipart/mixed; boundary="` + multipartBoundary + `"; deferSpec=20220824`
	partHeader           = "\r\nContent-Type: application/json; charset=utf-8\r\n\r\n"
	delimiter            = "\r\n--" + multipartBoundary
)

// writeMultipart streams an operation's responses as multipart/mixed, one
// part per payload, flushing each.
func writeMultipart(w http.ResponseWriter, ctx context.Context, responses graphql.ResponseHandler, first *graphql.Response) {
	h := w.Header()
	h.Set("Content-Type", multipartContentType)
	h.Set("Cache-Control", "no-cache")
	// Proxies that buffer responses (nginx) would hold the parts back.
	h.Set("X-Accel-Buffering", "no")
	w.WriteHeader(http.StatusOK)
	flush := func() {
		if f, ok := w.(http.Flusher); ok {
			f.Flush()
		}
	}
	_, _ = io.WriteString(w, delimiter)
	writePart := func(r *graphql.Response, i int) {
		_, _ = io.WriteString(w, partHeader)
		_ = writeCompactJSON(w, Part(r, i))
		_, _ = io.WriteString(w, delimiter)
		flush()
	}
	writePart(first, 0)
	for i, more := 1, hasNext(first); more; i++ {
		next := responses(ctx)
		if next == nil {
			break
		}
		writePart(next, i)
		more = hasNext(next)
	}
	_, _ = io.WriteString(w, "--\r\n")
	flush()
}
