// Package graphiql serves GraphiQL, the in-browser GraphQL IDE, from files
// embedded in the binary: the page works with no internet access, and its
// Content-Security-Policy lets it load nothing from any other origin.
//
// The third-party files under assets/ (GraphiQL, React and ReactDOM, each
// beside its LICENSE) come from the npm registry through
// scripts/graphiql-assets.sh, which records their versions and checksums in
// assets/VERSIONS. boot.js, page.css and page.html are this package's own.
package graphiql

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"io/fs"
	"net/http"
	"path"
	"strings"
	"time"
)

// AssetsPath is the path prefix Assets serves under; the page refers to its
// scripts and styles there.
const AssetsPath = "/graphiql/"

// ExampleQuery is the operation the gateway's GraphiQL opens with. It must
// stay valid against the gateway's schema: the gateway's tests run it.
const ExampleQuery = `# Locations, time zones and rooms.
# Run it with Ctrl-Enter; the Docs
# pane on the left shows the schema.
query Locations {
  locations {
    id
    name
    timeZone
    rooms {
      id
      name
      capacity
    }
  }
}
`

// contentSecurityPolicy allows scripts and styles from the page's own origin
// only. GraphiQL's stylesheet inlines its fonts and icons as data: URLs, and
// its fetcher talks to the endpoint over HTTP and websockets.
const contentSecurityPolicy = "default-src 'none'; script-src 'self'; style-src 'self'; " +
	"img-src 'self' data:; font-src 'self' data:; connect-src 'self' ws: wss:; " +
	"base-uri 'none'; form-action 'none'; frame-ancestors 'none'"

//go:embed page.html assets
var files embed.FS

// Config is what the page shows.
type Config struct {
	// Title is the page's title. Empty means "GraphiQL".
	Title string
	// Endpoint is the path of the GraphQL endpoint on the page's own origin:
	// queries go there over HTTP, subscriptions over a websocket
	// (graphql-transport-ws) on the same path. Empty means "/graphql".
	Endpoint string
	// DefaultQuery is what the editor opens with while the browser has no
	// saved GraphiQL tabs. Empty means GraphiQL's own greeting.
	DefaultQuery string
}

// Page returns the handler of the GraphiQL page. Its scripts and styles are
// served by Assets under AssetsPath, each URL naming its content's hash so
// browsers may cache them for good. It panics if the embedded page refers to
// a file that is not embedded, which the package's tests rule out.
func Page(cfg Config) http.Handler {
	if cfg.Title == "" {
		cfg.Title = "GraphiQL"
	}
	if cfg.Endpoint == "" {
		cfg.Endpoint = "/graphql"
	}
	set := mustLoad()
	tmpl := template.Must(template.New("page.html").Funcs(template.FuncMap{
		"asset": set.url,
	}).ParseFS(files, "page.html"))
	var page bytes.Buffer
	if err := tmpl.Execute(&page, cfg); err != nil {
		panic(fmt.Sprintf("graphiql: page: %v", err))
	}
	body := page.Bytes()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h.Set("Content-Type", "text/html; charset=utf-8")
		h.Set("Content-Security-Policy", contentSecurityPolicy)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("Referrer-Policy", "same-origin")
		// The page names the assets' current hashes, so it is revalidated.
		h.Set("Cache-Control", "no-cache")
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(body))
	})
}

// Assets returns the handler of the embedded scripts, styles and licenses,
// to be mounted at AssetsPath. A request whose v parameter matches the
// file's hash (as the page's URLs do) may be cached for a year; any other is
// revalidated by ETag.
func Assets() http.Handler {
	set := mustLoad()
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		a, ok := set.files[strings.TrimPrefix(r.URL.Path, AssetsPath)]
		if !ok {
			http.NotFound(w, r)
			return
		}
		h := w.Header()
		h.Set("Content-Type", a.contentType)
		h.Set("X-Content-Type-Options", "nosniff")
		h.Set("ETag", `"`+a.version+`"`)
		if r.URL.Query().Get("v") == a.version {
			h.Set("Cache-Control", "public, max-age=31536000, immutable")
		} else {
			h.Set("Cache-Control", "no-cache")
		}
		http.ServeContent(w, r, "", time.Time{}, bytes.NewReader(a.data))
	})
}

// asset is one embedded file as served.
type asset struct {
	data        []byte
	contentType string
	// version is a prefix of the hex sha256 of data.
	version string
}

// assetSet is every file under assets/, by its path below it.
type assetSet struct {
	files map[string]asset
}

// url is the URL the page uses for the file name under assets/.
func (s assetSet) url(name string) (string, error) {
	a, ok := s.files[name]
	if !ok {
		return "", fmt.Errorf("asset %q is not embedded", name)
	}
	return AssetsPath + name + "?v=" + a.version, nil
}

// contentType is set explicitly rather than by mime.TypeByExtension, whose
// answer a host's /etc/mime.types can change.
func contentType(name string) string {
	switch path.Ext(name) {
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".css":
		return "text/css; charset=utf-8"
	default:
		return "text/plain; charset=utf-8"
	}
}

// mustLoad reads and hashes the embedded assets; reading an embed.FS fails
// only if the package is built wrong.
func mustLoad() assetSet {
	set := assetSet{files: map[string]asset{}}
	err := fs.WalkDir(files, "assets", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		set.files[strings.TrimPrefix(p, "assets/")] = asset{
			data:        data,
			contentType: contentType(p),
			version:     hex.EncodeToString(sum[:8]),
		}
		return nil
	})
	if err != nil {
		panic(fmt.Sprintf("graphiql: embedded assets: %v", err))
	}
	return set
}
