package protocol

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
)

// newTestServer serves a schema of one field through HTTP; responses wraps
// each response the executor makes.
func newTestServer(t *testing.T, responses graphql.ResponseMiddleware) *httptest.Server {
	t.Helper()
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `type Query { name: String! }`})
	srv := handler.New(&graphql.ExecutableSchemaMock{
		SchemaFunc: func() *ast.Schema { return schema },
		ComplexityFunc: func(context.Context, string, string, int, map[string]any) (int, bool) {
			return 0, false
		},
		ExecFunc: func(ctx context.Context) graphql.ResponseHandler {
			return graphql.OneShot(&graphql.Response{Data: json.RawMessage(`{"name":"x"}`)})
		},
	})
	srv.AddTransport(HTTP{})
	srv.AddTransport(Unsupported{})
	if responses != nil {
		srv.AroundResponses(responses)
	}
	s := httptest.NewServer(srv)
	t.Cleanup(s.Close)
	return s
}

func TestHTTPNeverAnswersWithNothing(t *testing.T) {
	// The executor answers nil when its request ended before the operation
	// ran: the client still gets an error saying so, never a "null" body.
	s := newTestServer(t, func(context.Context, graphql.ResponseHandler) *graphql.Response { return nil })
	for _, accept := range []string{MediaJSON, MediaGraphQLResponse} {
		req, err := http.NewRequest(http.MethodPost, s.URL, strings.NewReader(`{"query":"{ name }"}`))
		require.NoError(t, err)
		req.Header.Set("Content-Type", MediaJSON)
		req.Header.Set("Accept", accept)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		var body struct {
			Data   json.RawMessage
			Errors []struct {
				Message    string
				Extensions map[string]any
			}
		}
		require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
		resp.Body.Close()
		assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
		assert.Equal(t, accept, resp.Header.Get("Content-Type"))
		assert.Nil(t, body.Data)
		require.Len(t, body.Errors, 1)
		assert.Equal(t, CodeNoResponse, body.Errors[0].Extensions["code"])
	}
}

func TestHTTPAnswersAnExecutedOperation(t *testing.T) {
	s := newTestServer(t, nil)
	resp, err := http.Post(s.URL, MediaJSON, strings.NewReader(`{"query":"{ name }"}`))
	require.NoError(t, err)
	defer resp.Body.Close()
	var body map[string]json.RawMessage
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, http.StatusOK, resp.StatusCode)
	assert.JSONEq(t, `{"name":"x"}`, string(body["data"]))
	assert.NotContains(t, body, "errors")
}
