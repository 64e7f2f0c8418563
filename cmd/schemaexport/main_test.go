package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestExportIsTheServedSchemaAndStable(t *testing.T) {
	first, err := export(filepath.Join("..", "..", "graph"))
	require.NoError(t, err)
	second, err := export(filepath.Join("..", "..", "graph"))
	require.NoError(t, err)
	assert.Equal(t, string(first), string(second), "export must be byte-for-byte stable")
	for _, want := range []string{"type Query {", "type Mutation {", "interface Node {", "scalar DateTime", "  bookRoom(\n", "    input: BookRoomInput!\n  ): BookingPayload!\n"} {
		assert.Contains(t, string(first), want)
	}
	// The directives the gateway serves beyond the specification's are
	// declared, with their arguments; the specification's own are not.
	assert.Contains(t, string(first), "directive @defer(")
	assert.Contains(t, string(first), "if: Boolean = true")
	assert.Contains(t, string(first), "label: String\n) on FRAGMENT_SPREAD | INLINE_FRAGMENT\n")
	for name := range specifiedDirectives {
		assert.NotContains(t, string(first), "directive @"+name)
	}
	committed, err := os.ReadFile(filepath.Join("..", "..", "schema.graphql"))
	require.NoError(t, err)
	assert.Equal(t, string(first), string(committed), "schema.graphql is stale: run go generate ./...")
}

func TestExportRejectsBrokenSchemas(t *testing.T) {
	dir := t.TempDir()
	_, err := export(dir)
	assert.ErrorContains(t, err, "no *.graphqls files")

	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.graphqls"), []byte("type Query { x: Missing }"), 0o644))
	_, err = export(dir)
	assert.Error(t, err)

	out := filepath.Join(dir, "out.graphql")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "a.graphqls"), []byte("type Query { x: Int }"), 0o644))
	require.NoError(t, run([]string{"-dir", dir, "-out", out}, os.Stderr))
	b, err := os.ReadFile(out)
	require.NoError(t, err)
	assert.Contains(t, string(b), "x: Int")
}
