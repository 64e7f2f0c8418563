package protocol

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestReadBody(t *testing.T) {
	tests := []struct {
		name, body string
		// problem is part of the message of the 400, "" for none.
		problem string
		want    graphql.RawParams
	}{
		{"query", `{"query":"{ a }"}`, "", graphql.RawParams{Query: "{ a }"}},
		{"every parameter", `{"query":"query Q($n: Int) { a }","operationName":"Q","variables":{"n":1},"extensions":{"x":true}}`, "",
			graphql.RawParams{Query: "query Q($n: Int) { a }", OperationName: "Q", Variables: map[string]any{"n": jsonNumber("1")}, Extensions: map[string]any{"x": true}}},
		{"nulls", `{"query":"{ a }","operationName":null,"variables":null,"extensions":null}`, "", graphql.RawParams{Query: "{ a }"}},
		{"a persisted query's hash alone", `{"extensions":{"persistedQuery":{"version":1}}}`, "", graphql.RawParams{Extensions: map[string]any{"persistedQuery": map[string]any{"version": jsonNumber("1")}}}},
		{"empty", ``, "is empty", graphql.RawParams{}},
		{"blank", " \n", "is empty", graphql.RawParams{}},
		{"not JSON", `{"query": "{ a`, "not valid JSON", graphql.RawParams{}},
		{"two values", `{"query":"{ a }"} {}`, "more than one", graphql.RawParams{}},
		{"null", `null`, "not null", graphql.RawParams{}},
		{"a batch", `[{"query":"{ a }"}]`, "batched requests", graphql.RawParams{}},
		{"a string", `"{ a }"`, "not a JSON string", graphql.RawParams{}},
		{"no query", `{"qeury":"{ a }"}`, "has no query", graphql.RawParams{}},
		{"a blank query", `{"query":"  "}`, "has no query", graphql.RawParams{}},
		{"query an object", `{"query":{"obj":"ect"}}`, "query must be a string, not an object", graphql.RawParams{}},
		{"query a number", `{"query":0}`, "query must be a string, not a number", graphql.RawParams{}},
		{"query a boolean", `{"query":false}`, "query must be a string, not a boolean", graphql.RawParams{}},
		{"operationName an array", `{"query":"{ a }","operationName":["x"]}`, "operationName must be a string, not an array", graphql.RawParams{}},
		{"variables a string", `{"query":"{ a }","variables":"{}"}`, "variables must be a map (a JSON object), not a string", graphql.RawParams{}},
		{"extensions a number", `{"query":"{ a }","extensions":0}`, "extensions must be a map (a JSON object), not a number", graphql.RawParams{}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(tt.body))
			var got graphql.RawParams
			problem := readBody(r, &got)
			if tt.problem != "" {
				require.NotNil(t, problem)
				assert.Equal(t, http.StatusBadRequest, problem.status)
				assert.Contains(t, problem.message, tt.problem)
				if len(tt.body) > 8 {
					assert.NotContains(t, problem.message, tt.body, "the body is not echoed")
				}
				return
			}
			require.Nil(t, problem)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestReadQuery(t *testing.T) {
	q := url.Values{"query": {"query($n: String) { a }"}, "operationName": {"Q"}, "variables": {`{"n":"x"}`}, "extensions": {`{"e":1}`}}
	var got graphql.RawParams
	require.Nil(t, readQuery(httptest.NewRequest(http.MethodGet, "/graphql?"+q.Encode(), nil), &got))
	assert.Equal(t, graphql.RawParams{Query: "query($n: String) { a }", OperationName: "Q", Variables: map[string]any{"n": "x"}, Extensions: map[string]any{"e": jsonNumber("1")}}, got)

	for _, bad := range []string{"variables=%7Bnope&query=%7Ba%7D", "variables=%5B%5D&query=%7Ba%7D", "extensions=1&query=%7Ba%7D", "operationName=x", "query=%7Ba%7D&%zz"} {
		problem := readQuery(httptest.NewRequest(http.MethodGet, "/graphql?"+bad, nil), &graphql.RawParams{})
		if assert.NotNil(t, problem, bad) {
			assert.Equal(t, http.StatusBadRequest, problem.status, bad)
		}
	}
}

func TestJSONContentType(t *testing.T) {
	for ct, ok := range map[string]bool{
		"application/json": true, "application/json; charset=utf-8": true, "application/json; charset=UTF-8": true,
		"": false, "text/plain": false, "application/json; charset=latin1": false, "application/graphql": false, ";;": false,
	} {
		r := httptest.NewRequest(http.MethodPost, "/graphql", nil)
		if ct != "" {
			r.Header.Set("Content-Type", ct)
		}
		problem := jsonContentType(r)
		if ok {
			assert.Nil(t, problem, ct)
		} else if assert.NotNil(t, problem, ct) {
			assert.Equal(t, http.StatusUnsupportedMediaType, problem.status, ct)
		}
	}
}

func jsonNumber(s string) json.Number { return json.Number(s) }
