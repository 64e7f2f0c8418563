package graphiql

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"html"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func get(t *testing.T, h http.Handler, target string, header http.Header) *httptest.ResponseRecorder {
	t.Helper()
	r := httptest.NewRequest(http.MethodGet, target, nil)
	for k, v := range header {
		r.Header[k] = v
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

// references are the src and href attributes of the page.
var references = regexp.MustCompile(`(?:src|href)="([^"]*)"`)

func TestGraphiQLPage(t *testing.T) {
	page := Page(Config{Title: "Engage <GraphQL>", Endpoint: "/api/graphql", DefaultQuery: `{ a(x: "<b>") }`})
	w := get(t, page, "/", nil)
	require.Equal(t, http.StatusOK, w.Code)
	assert.Equal(t, "text/html; charset=utf-8", w.Header().Get("Content-Type"))
	assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
	assert.Equal(t, "no-cache", w.Header().Get("Cache-Control"))

	csp := map[string]string{}
	for d := range strings.SplitSeq(w.Header().Get("Content-Security-Policy"), ";") {
		name, value, _ := strings.Cut(strings.TrimSpace(d), " ")
		csp[name] = value
	}
	assert.Equal(t, "'none'", csp["default-src"])
	assert.Equal(t, "'self'", csp["script-src"], "no inline or remote scripts")
	assert.Equal(t, "'self'", csp["style-src"], "no inline or remote styles")
	assert.Equal(t, "'self' ws: wss:", csp["connect-src"])
	assert.Equal(t, "'none'", csp["frame-ancestors"])

	body := w.Body.String()
	assert.Contains(t, body, "<title>Engage &lt;GraphQL&gt;</title>")
	assert.Contains(t, body, `data-endpoint="/api/graphql"`)
	assert.NotContains(t, body, "<b>", "the default query is escaped")
	assert.Contains(t, html.UnescapeString(body), `data-default-query="{ a(x: "<b>") }"`)
	assert.NotContains(t, body, "<script>", "no inline script")
	assert.NotContains(t, body, "<style", "no inline style")
	assert.NotRegexp(t, `\son[a-z]+=`, body, "no inline event handlers")
	assert.NotContains(t, body, "://", "no absolute URL: nothing from another host")

	// Every reference is one of the embedded assets, at the URL that lets
	// browsers cache it for good.
	assets := Assets()
	refs := references.FindAllStringSubmatch(body, -1)
	require.Len(t, refs, 7)
	for _, m := range refs {
		ref := html.UnescapeString(m[1])
		if ref == "data:," { // the empty favicon, so browsers ask for none
			continue
		}
		t.Run(ref, func(t *testing.T) {
			require.True(t, strings.HasPrefix(ref, AssetsPath), "a local asset")
			w := get(t, assets, ref, nil)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "public, max-age=31536000, immutable", w.Header().Get("Cache-Control"))
			assert.NotEmpty(t, w.Body.Bytes())
		})
	}
}

func TestGraphiQLPageDefaults(t *testing.T) {
	body := get(t, Page(Config{}), "/", nil).Body.String()
	assert.Contains(t, body, "<title>GraphiQL</title>")
	assert.Contains(t, body, `data-endpoint="/graphql"`)
	assert.Contains(t, body, `data-default-query=""`)
}

func TestGraphiQLAssets(t *testing.T) {
	h := Assets()
	version := func(name string) string {
		t.Helper()
		data, err := files.ReadFile("assets/" + name)
		require.NoError(t, err)
		sum := sha256.Sum256(data)
		return hex.EncodeToString(sum[:8])
	}
	tests := []struct {
		name, contentType string
	}{
		{"graphiql/graphiql.min.js", "text/javascript; charset=utf-8"},
		{"graphiql/graphiql.min.css", "text/css; charset=utf-8"},
		{"react/react.production.min.js", "text/javascript; charset=utf-8"},
		{"react-dom/react-dom.production.min.js", "text/javascript; charset=utf-8"},
		{"boot.js", "text/javascript; charset=utf-8"},
		{"page.css", "text/css; charset=utf-8"},
		{"graphiql/LICENSE", "text/plain; charset=utf-8"},
		{"VERSIONS", "text/plain; charset=utf-8"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			v := version(tt.name)
			w := get(t, h, AssetsPath+tt.name+"?v="+v, nil)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, tt.contentType, w.Header().Get("Content-Type"))
			assert.Equal(t, "nosniff", w.Header().Get("X-Content-Type-Options"))
			assert.Equal(t, "public, max-age=31536000, immutable", w.Header().Get("Cache-Control"))
			etag := w.Header().Get("ETag")
			assert.Equal(t, `"`+v+`"`, etag)

			// Another or no version is not cached for good, only revalidated.
			w = get(t, h, AssetsPath+tt.name+"?v=old", nil)
			require.Equal(t, http.StatusOK, w.Code)
			assert.Equal(t, "no-cache", w.Header().Get("Cache-Control"))
			w = get(t, h, AssetsPath+tt.name, http.Header{"If-None-Match": {etag}})
			assert.Equal(t, http.StatusNotModified, w.Code)
		})
	}
	for _, name := range []string{"", "nope.js", "graphiql/", "../graphiql.go", "page.html"} {
		assert.Equal(t, http.StatusNotFound, get(t, h, AssetsPath+name, nil).Code, name)
	}
}

// TestGraphiQLVersions checks assets/VERSIONS against what is embedded: every
// third-party file listed is there with its recorded sha256 and is served as
// embedded, each package has its LICENSE, and no unlisted file hides in a
// package's folder.
func TestGraphiQLVersions(t *testing.T) {
	versions, err := files.ReadFile("assets/VERSIONS")
	require.NoError(t, err)
	h := Assets()
	listed := map[string]bool{}
	licensed := map[string]bool{}
	sc := bufio.NewScanner(bytes.NewReader(versions))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		fields := strings.Fields(line)
		require.Len(t, fields, 3, "package@version path sha256: %q", line)
		spec, name, sum := fields[0], fields[1], fields[2]
		pkg, version, ok := strings.Cut(spec, "@")
		require.True(t, ok && version != "", "pinned version in %q", spec)
		require.True(t, strings.HasPrefix(name, pkg+"/"), "%s is in its package's folder", name)
		listed[name] = true
		if strings.HasSuffix(name, "/LICENSE") {
			licensed[pkg] = true
		}

		data, err := files.ReadFile("assets/" + name)
		require.NoError(t, err, "%s is embedded", name)
		got := sha256.Sum256(data)
		assert.Equal(t, sum, hex.EncodeToString(got[:]), "sha256 of %s", name)
		w := get(t, h, AssetsPath+name, nil)
		require.Equal(t, http.StatusOK, w.Code, name)
		assert.True(t, bytes.Equal(data, w.Body.Bytes()), "%s is served as embedded", name)
	}
	require.NoError(t, sc.Err())
	for _, pkg := range []string{"graphiql", "react", "react-dom"} {
		assert.True(t, licensed[pkg], "%s's LICENSE is listed", pkg)
	}

	err = fs.WalkDir(files, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		name := strings.TrimPrefix(p, "assets/")
		if strings.Contains(name, "/") {
			assert.True(t, listed[name], "%s is listed in VERSIONS", name)
		}
		return nil
	})
	require.NoError(t, err)
}
