package protocol

import (
	"encoding/json"
	"testing"

	"github.com/99designs/gqlgen/graphql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
)

func TestMergeAt(t *testing.T) {
	doc := `{"locations":[{"id":"1","name":"A"},{"id":"2","name":"B"}],"me":{"id":"u"},"gone":null}`
	tests := []struct {
		name  string
		path  ast.Path
		patch string
		want  string
	}{
		{"into a list item, fields after the others", ast.Path{ast.PathName("locations"), ast.PathIndex(1)}, `{"rooms":[{"n":1}]}`,
			`{"locations":[{"id":"1","name":"A"},{"id":"2","name":"B","rooms":[{"n":1}]}],"me":{"id":"u"},"gone":null}`},
		{"into an object", ast.Path{ast.PathName("me")}, `{"email":"e"}`,
			`{"locations":[{"id":"1","name":"A"},{"id":"2","name":"B"}],"me":{"id":"u","email":"e"},"gone":null}`},
		{"at the root", nil, `{"more":1}`,
			`{"locations":[{"id":"1","name":"A"},{"id":"2","name":"B"}],"me":{"id":"u"},"gone":null,"more":1}`},
		{"a field both have merges", ast.Path{ast.PathName("me")}, `{"id":"u"}`, doc},
		{"a failed fragment nulls its object", ast.Path{ast.PathName("me")}, `null`,
			`{"locations":[{"id":"1","name":"A"},{"id":"2","name":"B"}],"me":null,"gone":null}`},
		{"under a nulled parent: nothing to merge into", ast.Path{ast.PathName("gone")}, `{"x":1}`, doc},
		{"a path that is not there", ast.Path{ast.PathName("locations"), ast.PathIndex(5)}, `{"x":1}`, doc},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := mergeAt(json.RawMessage(doc), tt.path, json.RawMessage(tt.patch))
			require.NoError(t, err)
			assert.Equal(t, tt.want, string(got))
		})
	}
}

func TestMergeResponses(t *testing.T) {
	yes, no := true, false
	first := &graphql.Response{Data: json.RawMessage(`{"a":{"b":1}}`), HasNext: &yes}
	require.NoError(t, mergeAll(first, []*graphql.Response{
		{Data: json.RawMessage(`{"c":2}`), Path: ast.Path{ast.PathName("a")}, HasNext: &yes, Extensions: map[string]any{"stale": 1}},
		{Data: json.RawMessage(`{"d":{"e":3}}`), Path: ast.Path{ast.PathName("a")}, HasNext: &yes, Errors: gqlerror.List{{Message: "late"}}},
		{Data: json.RawMessage(`{"f":4}`), Path: ast.Path{ast.PathName("a"), ast.PathName("d")}, HasNext: &no, Extensions: map[string]any{"stale": 2}},
	}))
	assert.Equal(t, `{"a":{"b":1,"c":2,"d":{"e":3,"f":4}}}`, string(first.Data))
	assert.Len(t, first.Errors, 1)
	assert.Equal(t, map[string]any{"stale": 2}, first.Extensions)
}

func TestPayload(t *testing.T) {
	yes, no := true, false
	b, err := json.Marshal(Part(&graphql.Response{Data: json.RawMessage(`{"a":1}`), HasNext: &yes}, 0))
	require.NoError(t, err)
	assert.JSONEq(t, `{"data":{"a":1},"hasNext":true}`, string(b))
	b, err = json.Marshal(Part(&graphql.Response{Data: json.RawMessage(`{"b":2}`), Path: ast.Path{ast.PathName("a")}, Label: "l", HasNext: &no}, 1))
	require.NoError(t, err)
	assert.JSONEq(t, `{"incremental":[{"data":{"b":2},"path":["a"],"label":"l"}],"hasNext":false}`, string(b))
	// A subscription's events stay as they are.
	b, err = json.Marshal(Part(&graphql.Response{Data: json.RawMessage(`{"e":3}`)}, 4))
	require.NoError(t, err)
	assert.JSONEq(t, `{"data":{"e":3}}`, string(b))
	// No data entry where nothing ran.
	b, err = json.Marshal(Part(&graphql.Response{Errors: gqlerror.List{{Message: "no"}}}, 0))
	require.NoError(t, err)
	assert.JSONEq(t, `{"errors":[{"message":"no"}]}`, string(b))
}

func TestStripDeferred(t *testing.T) {
	tests := []struct {
		name, query, data, want string
	}{
		{"a deferred field leaves", `{ a { x ... @defer { y } } }`, `{"a":{"x":1,"y":null}}`, `{"a":{"x":1}}`},
		{"in every item of a list", `{ as { x ... @defer { y } } }`, `{"as":[{"x":1,"y":null},{"x":2,"y":null}]}`, `{"as":[{"x":1},{"x":2}]}`},
		{"through a named fragment", `query { a { x ...F @defer } } fragment F on A { y z }`, `{"a":{"x":1,"y":null,"z":null}}`, `{"a":{"x":1}}`},
		{"inside a plain fragment inside a deferred one", `{ a { x ... @defer { ... on A { y } } } }`, `{"a":{"x":1,"y":null}}`, `{"a":{"x":1}}`},
		{"a field also selected without @defer stays", `{ a { x ... @defer { x y } } }`, `{"a":{"x":1,"y":null}}`, `{"a":{"x":1}}`},
		{"@defer(if: false) defers nothing", `{ a { x ... @defer(if: false) { y } } }`, `{"a":{"x":1,"y":2}}`, `{"a":{"x":1,"y":2}}`},
		{"a variable says whether", `query($d: Boolean!) { a { x ... @defer(if: $d) { y } } }`, `{"a":{"x":1,"y":null}}`, `{"a":{"x":1}}`},
		{"aliases are the keys", `{ a { x ... @defer { why: y } } }`, `{"a":{"x":1,"why":null}}`, `{"a":{"x":1}}`},
		{"a nulled parent is left alone", `{ a { x ... @defer { y } } }`, `{"a":null}`, `{"a":null}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := parser.ParseQuery(&ast.Source{Input: tt.query})
			require.NoError(t, err)
			got := stripDeferred(json.RawMessage(tt.data), doc.Operations[0].SelectionSet, doc, map[string]any{"d": true})
			assert.Equal(t, tt.want, string(got))
		})
	}

	// Fragments spread many times over cost one walk each.
	bomb := `query { a { ...F0 } } fragment F0 on A { ...F1 ...F1 @defer } `
	for i := 1; i < 40; i++ {
		bomb += "fragment F" + itoa(i) + " on A { ...F" + itoa(i+1) + " ...F" + itoa(i+1) + " @defer } "
	}
	bomb += "fragment F40 on A { x }"
	doc, err := parser.ParseQuery(&ast.Source{Input: bomb})
	require.NoError(t, err)
	assert.Equal(t, `{"a":{"x":1}}`, string(stripDeferred(json.RawMessage(`{"a":{"x":1}}`), doc.Operations[0].SelectionSet, doc, nil)))
}

func itoa(i int) string { b, _ := json.Marshal(i); return string(b) }
