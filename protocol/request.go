package protocol

// Reading a GraphQL request: a POST's JSON body or a GET's query string, with
// each parameter checked against the GraphQL over HTTP spec, so a malformed
// request is answered 400 with what is wrong with it rather than guessed at.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/guard"
)

// requestError is a request the server will not run: its status and what
// the client did wrong.
type requestError struct {
	status  int
	message string
	// header is added to the answer (Allow for a 405).
	header http.Header
}

func (e *requestError) Error() string { return e.message }

func badRequest(format string, args ...any) *requestError {
	return &requestError{status: http.StatusBadRequest, message: fmt.Sprintf(format, args...)}
}

// jsonContentType reports whether a request body is declared as JSON in
// UTF-8 (or with no charset, which JSON implies); err says what is wrong
// with the header otherwise.
func jsonContentType(r *http.Request) *requestError {
	ct := r.Header.Get("Content-Type")
	if ct == "" {
		return &requestError{status: http.StatusUnsupportedMediaType, message: "the request has no Content-Type: send the GraphQL request as JSON with Content-Type: application/json"}
	}
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != MediaJSON {
		return &requestError{status: http.StatusUnsupportedMediaType, message: "the request body must be JSON (Content-Type: application/json), not " + quoteHeader(ct)}
	}
	if cs, ok := params["charset"]; ok && !strings.EqualFold(cs, "utf-8") {
		return &requestError{status: http.StatusUnsupportedMediaType, message: "the request body must be UTF-8, not " + quoteHeader(cs)}
	}
	return nil
}

// quoteHeader quotes a header value for a message, cut short: it is the
// client's own, but need not be echoed whole.
func quoteHeader(v string) string {
	if len(v) > 64 {
		v = v[:64] + "…"
	}
	return fmt.Sprintf("%q", v)
}

// readRequest reads a GraphQL request, a POST's JSON body or a GET's query
// string, with the headers it came with and the time it took to read.
func readRequest(r *http.Request) (*graphql.RawParams, *requestError) {
	params := &graphql.RawParams{Headers: r.Header}
	start := graphql.Now()
	var problem *requestError
	if r.Method == http.MethodPost {
		if problem = jsonContentType(r); problem == nil {
			problem = readBody(r, params)
		}
	} else {
		problem = readQuery(r, params)
	}
	if problem != nil {
		return nil, problem
	}
	params.ReadTime = graphql.TraceTiming{Start: start, End: graphql.Now()}
	return params, nil
}

// readBody decodes a POST's JSON body into params.
func readBody(r *http.Request, params *graphql.RawParams) *requestError {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return badRequest("the request body could not be read")
	}
	if len(bytes.TrimSpace(body)) == 0 {
		return badRequest("the request body is empty: send a JSON object with the query, as {\"query\": \"{ countries { name } }\"}")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	var fields *struct {
		Query         json.RawMessage `json:"query"`
		OperationName json.RawMessage `json:"operationName"`
		Variables     json.RawMessage `json:"variables"`
		Extensions    json.RawMessage `json:"extensions"`
		DocumentID    json.RawMessage `json:"documentId"`
	}
	if err := dec.Decode(&fields); err != nil {
		var te *json.UnmarshalTypeError
		if errors.As(err, &te) {
			if bytes.HasPrefix(bytes.TrimSpace(body), []byte("[")) {
				return badRequest("batched requests (a JSON array) are not served: send one JSON object per request")
			}
			return badRequest("the request body must be a JSON object with the query, not a JSON %s", te.Value)
		}
		return badRequest("the request body is not valid JSON: %s", jsonProblem(err))
	}
	if dec.More() {
		return badRequest("the request body holds more than one JSON value")
	}
	if fields == nil {
		return badRequest("the request body must be a JSON object with the query, not null")
	}
	return decodeParams(params, func(name string) (json.RawMessage, bool) {
		var v json.RawMessage
		switch name {
		case "query":
			v = fields.Query
		case "operationName":
			v = fields.OperationName
		case "variables":
			v = fields.Variables
		case "extensions":
			v = fields.Extensions
		case "documentId":
			v = fields.DocumentID
		}
		return v, v != nil
	}, false)
}

// readQuery decodes a GET's query string into params.
func readQuery(r *http.Request, params *graphql.RawParams) *requestError {
	q, err := url.ParseQuery(r.URL.RawQuery)
	if err != nil {
		return badRequest("the query string is malformed: %s", jsonProblem(err))
	}
	return decodeParams(params, func(name string) (json.RawMessage, bool) {
		vs, ok := q[name]
		if !ok || len(vs) == 0 {
			return nil, false
		}
		if name == "query" || name == "operationName" || name == "documentId" {
			b, _ := json.Marshal(vs[0])
			return b, true
		}
		return json.RawMessage(vs[0]), true
	}, true)
}

// decodeParams checks and decodes the four parameters of a GraphQL request:
// query and operationName strings, variables and extensions maps; each may
// be absent or null. get returns a parameter's JSON; in a GET's query string
// variables and extensions are JSON text.
func decodeParams(params *graphql.RawParams, get func(string) (json.RawMessage, bool), inURL bool) *requestError {
	str := func(name string, dst *string) *requestError {
		raw, ok := get(name)
		if !ok || isNull(raw) {
			return nil
		}
		if err := json.Unmarshal(raw, dst); err != nil {
			return badRequest("%s must be a string, not %s", name, jsonKind(raw))
		}
		return nil
	}
	obj := func(name string, dst *map[string]any) *requestError {
		raw, ok := get(name)
		if !ok || isNull(raw) {
			return nil
		}
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		if err := dec.Decode(dst); err != nil || dec.More() {
			if inURL && !json.Valid(raw) {
				return badRequest("%s must be a JSON object (URL-encoded), and is not valid JSON", name)
			}
			return badRequest("%s must be a map (a JSON object), not %s", name, jsonKind(raw))
		}
		return nil
	}
	var documentID string
	for _, check := range []*requestError{
		str("query", &params.Query),
		str("operationName", &params.OperationName),
		obj("variables", &params.Variables),
		obj("extensions", &params.Extensions),
		str("documentId", &documentID),
	} {
		if check != nil {
			return check
		}
	}
	if documentID != "" {
		// A trusted document by its id (the GraphQL over HTTP proposal's
		// persisted documents): the trusted documents look it up.
		if params.Extensions == nil {
			params.Extensions = map[string]any{}
		}
		params.Extensions[guard.DocumentIDExtension] = documentID
	}
	if strings.TrimSpace(params.Query) == "" {
		// Automatic persisted queries send a hash instead of the query,
		// trusted documents an id.
		_, apq := params.Extensions["persistedQuery"]
		if !apq && documentID == "" {
			return badRequest("the request has no query: send the GraphQL document in the query parameter")
		}
	}
	return nil
}

func isNull(raw json.RawMessage) bool {
	return string(bytes.TrimSpace(raw)) == "null"
}

// jsonKind names the kind of a JSON value, for messages.
func jsonKind(raw json.RawMessage) string {
	t := bytes.TrimSpace(raw)
	if len(t) == 0 {
		return "nothing"
	}
	switch t[0] {
	case '{':
		return "an object"
	case '[':
		return "an array"
	case '"':
		return "a string"
	case 't', 'f':
		return "a boolean"
	default:
		return "a number"
	}
}

// jsonProblem describes a decoding error without quoting the input.
func jsonProblem(err error) string {
	var se *json.SyntaxError
	switch {
	case errors.As(err, &se):
		return fmt.Sprintf("%s (at byte %d)", se.Error(), se.Offset)
	case errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF):
		return "it ends too early"
	default:
		return "it cannot be decoded"
	}
}
