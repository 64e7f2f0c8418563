package server

// Conformance to the GraphQL over HTTP spec, over real HTTP: the graphql-http
// package's own server audits (run by node from clients/), and the status
// code, media type and body of every kind of request the audits do not
// cover, with the credential a real client would send.

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os/exec"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// auditScript runs graphql-http's serverAudits (see clients/audit-http.mjs).
const auditScript = "audit-http.mjs"

// auditResult is one audit as clients/audit-http.mjs reports it.
type auditResult struct {
	ID       string          `json:"id"`
	Name     string          `json:"name"`
	Status   string          `json:"status"`
	Reason   string          `json:"reason"`
	Response json.RawMessage `json:"response"`
}

func TestGraphQLOverHTTPAudit(t *testing.T) {
	t.Parallel()
	node := nodeForClients(t)
	e := newAuthEnv(t)
	headers, err := json.Marshal(map[string]string{"X-API-Key": authKioskKey})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), subTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, auditScript, e.gwURL+"/graphql", string(headers))
	cmd.Dir = clientsDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var report struct {
		Counts  map[string]int `json:"counts"`
		Results []auditResult  `json:"results"`
	}
	require.NoError(t, json.Unmarshal(out, &report), "audit output %q; stderr: %s", out, stderr.String())
	require.NotEmpty(t, report.Results, "no audit ran; stderr: %s", stderr.String())
	for _, r := range report.Results {
		assert.Equal(t, "ok", r.Status, "audit %s %q: %s; response %s", r.ID, r.Name, r.Reason, r.Response)
	}
	t.Logf("graphql-http audits: %v", report.Counts)
	assert.NoError(t, err, "the audit script exits 0 when every audit is ok; stderr: %s", stderr.String())
}

// rawExchange sends one request to /graphql with headers (and a body and
// URL query string, either may be "") and returns the answer's status,
// headers and body, checking that the body leaks nothing.
func rawExchange(t *testing.T, gwURL, method, query string, headers map[string]string, body string) (int, http.Header, []byte) {
	t.Helper()
	url := gwURL + "/graphql"
	if query != "" {
		url += "?" + query
	}
	var r io.Reader
	if body != "" {
		r = strings.NewReader(body)
	}
	status, header, raw := exchange(t, method, url, headers, r)
	apiAssertNoLeak(t, raw)
	return status, header, raw
}

func TestHTTPStatusAndBodyPerMediaType(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	// Depth 14, past the default limit of 12.
	tooDeep := "{ locations { region" + strings.Repeat(" { country { regions", 6) + " { name }" + strings.Repeat(" } }", 6) + " } }"
	const (
		js = "application/json"
		gr = "application/graphql-response+json"
	)
	// Every request carries the kiosk's API key.
	with := func(kv ...string) map[string]string {
		h := map[string]string{"X-API-Key": authKioskKey}
		for i := 0; i < len(kv); i += 2 {
			if kv[i+1] != "" {
				h[kv[i]] = kv[i+1]
			}
		}
		return h
	}
	post := func(accept string) map[string]string { return with("Content-Type", js, "Accept", accept) }
	tests := []struct {
		name    string
		method  string
		query   string // the URL's query string
		headers map[string]string
		body    string
		status  int
		// mediaType is the answer's Content-Type.
		mediaType string
		// code is the first error's extensions.code; "" wants no errors.
		code string
		// data says whether the body has a data entry.
		data bool
		// header is one header the answer must carry, as "Name: value".
		header string
	}{
		{"a query, application/json", "POST", "", post(js), `{"query":"{ countries { name } }"}`, 200, js, "", true, ""},
		{"a query, graphql-response+json", "POST", "", post(gr), `{"query":"{ countries { name } }"}`, 200, gr, "", true, ""},
		{"a query, no Accept", "POST", "", post(""), `{"query":"{ countries { name } }"}`, 200, js, "", true, ""},
		{"a query, Accept */*", "POST", "", post("*/*"), `{"query":"{ countries { name } }"}`, 200, js, "", true, ""},
		{"Apollo Client's Accept", "POST", "", post(gr + ",application/json;q=0.9"), `{"query":"{ countries { name } }"}`, 200, gr, "", true, ""},
		{"json preferred by quality", "POST", "", post(gr + ";q=0.5, application/json"), `{"query":"{ countries { name } }"}`, 200, js, "", true, ""},

		{"parse failure, application/json", "POST", "", post(js), `{"query":"{"}`, 200, js, "GRAPHQL_PARSE_FAILED", false, ""},
		{"parse failure, graphql-response+json", "POST", "", post(gr), `{"query":"{"}`, 400, gr, "GRAPHQL_PARSE_FAILED", false, ""},
		{"validation failure, application/json", "POST", "", post(js), `{"query":"{ countries { nope } }"}`, 200, js, "GRAPHQL_VALIDATION_FAILED", false, ""},
		{"validation failure, graphql-response+json", "POST", "", post(gr), `{"query":"{ countries { nope } }"}`, 400, gr, "GRAPHQL_VALIDATION_FAILED", false, ""},
		{"variable coercion failure, application/json", "POST", "", post(js), `{"query":"query($id: ID!) { room(id: $id) { id } }","variables":{"id":null}}`, 200, js, "GRAPHQL_VALIDATION_FAILED", false, ""},
		{"variable coercion failure, graphql-response+json", "POST", "", post(gr), `{"query":"query($id: ID!) { room(id: $id) { id } }","variables":{"id":null}}`, 400, gr, "GRAPHQL_VALIDATION_FAILED", false, ""},
		{"unknown operation name", "POST", "", post(gr), `{"query":"query A { countries { name } }","operationName":"B"}`, 400, gr, "GRAPHQL_VALIDATION_FAILED", false, ""},
		{"too deep, application/json", "POST", "", post(js), `{"query":"` + tooDeep + `"}`, 200, js, "QUERY_TOO_DEEP", false, ""},
		{"too deep, graphql-response+json", "POST", "", post(gr), `{"query":"` + tooDeep + `"}`, 400, gr, "QUERY_TOO_DEEP", false, ""},
		{"a field error keeps data", "POST", "", post(gr), `{"query":"{ countries { name } location(id: \"TG9jYXRpb246OTk5OTk5\") { id } }"}`, 200, gr, "NOT_FOUND", true, ""},

		{"malformed JSON", "POST", "", post(js), `{"query": "{ countries`, 400, js, "BAD_REQUEST", false, ""},
		{"empty body", "POST", "", post(gr), ``, 400, gr, "BAD_REQUEST", false, ""},
		{"a JSON array (batch)", "POST", "", post(js), `[{"query":"{ countries { name } }"}]`, 400, js, "BAD_REQUEST", false, ""},
		{"a JSON string", "POST", "", post(js), `"{ countries { name } }"`, 400, js, "BAD_REQUEST", false, ""},
		{"query is a number", "POST", "", post(js), `{"query":1}`, 400, js, "BAD_REQUEST", false, ""},
		{"operationName is an object", "POST", "", post(js), `{"query":"{ countries { name } }","operationName":{}}`, 400, js, "BAD_REQUEST", false, ""},
		{"variables is a string", "POST", "", post(js), `{"query":"{ countries { name } }","variables":"{}"}`, 400, js, "BAD_REQUEST", false, ""},
		{"extensions is an array", "POST", "", post(js), `{"query":"{ countries { name } }","extensions":[]}`, 400, js, "BAD_REQUEST", false, ""},
		{"no query", "POST", "", post(js), `{"qeury":"{ countries { name } }"}`, 400, js, "BAD_REQUEST", false, ""},
		{"null parameters", "POST", "", post(js), `{"query":"{ countries { name } }","variables":null,"operationName":null,"extensions":null}`, 200, js, "", true, ""},
		{"a body that is not JSON", "POST", "", with("Content-Type", "text/plain"), `{"query":"{ countries { name } }"}`, 415, js, "BAD_REQUEST", false, ""},
		{"a body in another charset", "POST", "", with("Content-Type", "application/json; charset=latin1"), `{"query":"{ countries { name } }"}`, 415, js, "BAD_REQUEST", false, ""},
		{"no Content-Type", "POST", "", with(), `{"query":"{ countries { name } }"}`, 415, js, "BAD_REQUEST", false, ""},
		{"an Accept this endpoint cannot meet", "POST", "", post("text/html"), `{"query":"{ countries { name } }"}`, 406, js, "NOT_ACCEPTABLE", false, ""},
		{"a subscription over POST", "POST", "", post(js), `{"query":"subscription { bookingChanged { action } }"}`, 400, js, "UNSUPPORTED_OPERATION", false, ""},

		{"a query over GET", "GET", "query=%7B+countries+%7B+name+%7D+%7D", with(), "", 200, js, "", true, ""},
		{"variables over GET", "GET", "query=query(%24n%3A+String!)+%7B+__type(name%3A+%24n)+%7B+name+%7D+%7D&variables=%7B%22n%22%3A%22Room%22%7D", with("Accept", gr), "", 200, gr, "", true, ""},
		{"malformed variables over GET", "GET", "query=%7B+countries+%7B+name+%7D+%7D&variables=%7Bnope", with(), "", 400, js, "BAD_REQUEST", false, ""},
		{"a mutation over GET", "GET", "query=mutation+%7B+cancelBooking(input%3A+%7BbookingId%3A+%22x%22%7D)+%7B+errors+%7B+code+%7D+%7D+%7D", with("Accept", gr), "", 405, gr, "UNSUPPORTED_OPERATION", false, "Allow: POST"},
		{"a method the endpoint does not serve", "PATCH", "", post(js), `{"query":"{ countries { name } }"}`, 405, js, "UNSUPPORTED_OPERATION", false, "Allow: GET, POST, PUT, DELETE, OPTIONS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			status, h, raw := rawExchange(t, e.gwURL, tt.method, tt.query, tt.headers, tt.body)
			assert.Equal(t, tt.status, status, "%s", raw)
			assert.Equal(t, tt.mediaType, h.Get("Content-Type"))
			var body map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(raw, &body), "the body is a JSON object: %s", raw)
			_, hasData := body["data"]
			assert.Equal(t, tt.data, hasData, "data entry: %s", raw)
			var errs []struct {
				Message    string
				Extensions map[string]any
			}
			if e, ok := body["errors"]; ok {
				require.NoError(t, json.Unmarshal(e, &errs))
			}
			if tt.code == "" {
				assert.Empty(t, errs, "%s", raw)
			} else if assert.NotEmpty(t, errs, "%s", raw) {
				assert.Equal(t, tt.code, errs[0].Extensions["code"], "%s", raw)
				assert.NotEmpty(t, errs[0].Message)
			}
			if tt.header != "" {
				name, value, _ := strings.Cut(tt.header, ": ")
				assert.Equal(t, value, h.Get(name))
			}
		})
	}
}
