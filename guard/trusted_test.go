package guard

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTrustedManifests: both tools' formats are read, and a manifest that
// is neither, or holds nothing, or names two documents by one id, stops
// start-up with a message saying which.
func TestTrustedManifests(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(text), 0o600))
		return p
	}
	apollo := write("apollo.json", `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"aa","name":"A","type":"query","body":"{ a }"}]}`)
	codegen := write("codegen.json", `{"bb":"{ b }","sha256:cc":"{ c }"}`)
	td, err := LoadTrustedDocuments(TrustedStrict, []string{apollo, codegen}, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, td.Len())
	for id, body := range map[string]string{"aa": "{ a }", "sha256:aa": "{ a }", "bb": "{ b }", "cc": "{ c }", "sha256:cc": "{ c }"} {
		got, ok := td.lookup(id)
		assert.True(t, ok, id)
		assert.Equal(t, body, got)
	}
	_, ok := td.lookup("dd")
	assert.False(t, ok)

	for name, c := range map[string]struct {
		paths []string
		want  string
	}{
		"missing":               {[]string{filepath.Join(dir, "nope.json")}, "no such file"},
		"not JSON":              {[]string{write("bad.json", `{"format":`)}, "neither Apollo's persisted query manifest nor"},
		"another format":        {[]string{write("v2.json", `{"format":"apollo-persisted-query-manifest","version":2,"operations":[]}`)}, "version 2"},
		"an empty body":         {[]string{write("empty-body.json", `{"format":"apollo-persisted-query-manifest","version":1,"operations":[{"id":"x","body":" "}]}`)}, "no id or no body"},
		"nothing":               {[]string{write("nothing.json", `{}`)}, "hold no document"},
		"one id, two documents": {[]string{apollo, write("clash.json", `{"aa":"{ other }"}`)}, "id aa names two different documents"},
	} {
		_, err := LoadTrustedDocuments(TrustedStrict, c.paths, nil)
		require.Error(t, err, name)
		assert.Contains(t, err.Error(), c.want, name)
	}
}
