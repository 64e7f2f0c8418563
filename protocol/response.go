package protocol

// Writing GraphQL responses: the status code each media type calls for, no
// data entry where nothing was executed, and never an empty body.

import (
	"encoding/json"
	"io"
	"net/http"
	"strconv"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Refusal decides the status of a request refused before execution whose
// errors call for one of their own (a client over its rate limit: 429 with
// Retry-After), whatever the media type; status 0 leaves the media type's
// own. A nil Refusal refuses nothing specially.
type Refusal func(errs gqlerror.List) (status int, header http.Header)

// wire is a GraphQL response as it is written: unlike graphql.Response it
// leaves data out when nothing was executed, as a request error must.
type wire struct {
	Errors     gqlerror.List   `json:"errors,omitempty"`
	Data       json.RawMessage `json:"data,omitempty"`
	HasNext    *bool           `json:"hasNext,omitempty"`
	Extensions map[string]any  `json:"extensions,omitempty"`
}

func wireOf(r *graphql.Response) wire {
	return wire{Errors: r.Errors, Data: r.Data, Extensions: r.Extensions}
}

// Code of the errors this package answers with itself.
const (
	// CodeBadRequest is a request that is not a GraphQL request: malformed
	// JSON, a parameter of the wrong type, no query.
	CodeBadRequest = "BAD_REQUEST"
	// CodeNotAcceptable is a request whose Accept header allows no media
	// type the endpoint answers with.
	CodeNotAcceptable = "NOT_ACCEPTABLE"
	// CodeUnsupported is a request this transport does not serve (a
	// mutation over GET, a subscription over a single response).
	CodeUnsupported = "UNSUPPORTED_OPERATION"
	// CodeNoResponse reports that an operation produced no response, which
	// the executor does when its request ended before it ran.
	CodeNoResponse = "NO_RESPONSE"
)

// writeJSON writes one response of media type mt with status.
func writeJSON(w http.ResponseWriter, status int, mt string, header http.Header, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		// Every response is marshalled from JSON the executor wrote.
		status = http.StatusInternalServerError
		b = []byte(`{"errors":[{"message":"the response could not be encoded","extensions":{"code":"INTERNAL"}}]}`)
	}
	h := w.Header()
	for k, vs := range header {
		h[k] = vs
	}
	h.Set("Content-Type", mt)
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// writeProblem answers a request the server will not run with one error
// saying why, as JSON of the negotiated type (application/json when the
// client accepts neither JSON type: the error must still be readable).
func writeProblem(w http.ResponseWriter, mt string, e *requestError, code string) {
	if mt == "" {
		mt = MediaJSON
	}
	writeJSON(w, e.status, mt, e.header, wire{Errors: gqlerror.List{{Message: e.message, Extensions: map[string]any{"code": code}}}})
}

// requestErrorStatus is the status of a response to a request that was not
// executed (it did not parse or validate, a limit refused it): 200 for
// application/json, as legacy clients expect, and 400 for
// application/graphql-response+json, unless refuse names another.
func requestErrorStatus(mt string, errs gqlerror.List, refuse Refusal) (int, http.Header) {
	if refuse != nil {
		if status, h := refuse(errs); status != 0 {
			return status, h
		}
	}
	if mt == MediaGraphQLResponse {
		return http.StatusBadRequest, nil
	}
	return http.StatusOK, nil
}

// noResponse is what a client gets instead of an empty body when an
// operation produced no response.
func noResponse() wire {
	return wire{Errors: gqlerror.List{{
		Message:    "the operation produced no response because its request ended before it ran; retry the request",
		Extensions: map[string]any{"code": CodeNoResponse},
	}}}
}

// writeCompactJSON writes v as one line of JSON.
func writeCompactJSON(w io.Writer, v any) error {
	b, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = w.Write(b)
	return err
}
