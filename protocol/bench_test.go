package protocol

// What the transports cost: a POST answered by HTTP against one answered by
// gqlgen's own POST transport, over the same executor and schema, in
// process (no network); and folding a deferred query's parts into one
// response, or leaving the deferred fields out of its first part, for a
// query the size of the gateway's representative query (a). bench/run-protocol.sh
// runs them; bench/protocol.md shows the latest results.

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

func BenchmarkPOST(b *testing.B) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: `type Query { name(id: ID!, n: Int): String! }`})
	data := json.RawMessage(`{"name":"` + strings.Repeat("x", 2000) + `"}`)
	body := `{"query":"query Q($id: ID!, $n: Int) { name(id: $id, n: $n) }","operationName":"Q","variables":{"id":"Um9vbTo0MToxMDAx","n":3}}`
	for _, tt := range []struct {
		name string
		tr   graphql.Transport
	}{
		{"protocol.HTTP", HTTP{}},
		{"gqlgen-transport.POST", transport.POST{}},
	} {
		b.Run(tt.name, func(b *testing.B) {
			srv := handler.New(&graphql.ExecutableSchemaMock{
				SchemaFunc:     func() *ast.Schema { return schema },
				ComplexityFunc: func(context.Context, string, string, int, map[string]any) (int, bool) { return 0, false },
				ExecFunc: func(context.Context) graphql.ResponseHandler {
					return graphql.OneShot(&graphql.Response{Data: data})
				},
			})
			srv.AddTransport(tt.tr)
			b.ReportAllocs()
			for b.Loop() {
				req := httptest.NewRequest(http.MethodPost, "/graphql", strings.NewReader(body))
				req.Header.Set("Content-Type", "application/json")
				rec := httptest.NewRecorder()
				srv.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}

// deferredLocations is a first part and the deferred parts of a query for
// 7 locations whose 22 rooms each (about query (a)'s size) are deferred.
func deferredLocations() (query string, first json.RawMessage, rest []*graphql.Response) {
	query = `{ locations { id name ... @defer { rooms { id name capacity floor { number } } } } }`
	var locs []string
	for l := range 7 {
		locs = append(locs, fmt.Sprintf(`{"id":"TG9jYXRpb246%d","name":"Location %d","rooms":null}`, l, l))
		var rooms []string
		for r := range 22 {
			rooms = append(rooms, fmt.Sprintf(`{"id":"Um9vbTo0MToxMDA%d","name":"Room %d.%02d","capacity":%d,"floor":{"number":%d}}`, r, l, r, r+2, r%9))
		}
		no := l < 6
		rest = append(rest, &graphql.Response{
			Data:    json.RawMessage(`{"rooms":[` + strings.Join(rooms, ",") + `]}`),
			Path:    ast.Path{ast.PathName("locations"), ast.PathIndex(l)},
			HasNext: &no,
		})
	}
	return query, json.RawMessage(`{"locations":[` + strings.Join(locs, ",") + `]}`), rest
}

func BenchmarkDeferredInOneResponse(b *testing.B) {
	_, first, rest := deferredLocations()
	b.ReportAllocs()
	for b.Loop() {
		if err := mergeAll(&graphql.Response{Data: first}, rest); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkStripDeferred(b *testing.B) {
	query, first, _ := deferredLocations()
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		stripDeferred(first, doc.Operations[0].SelectionSet, doc, nil)
	}
}
