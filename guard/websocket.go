package guard

// Which pages may open a websocket.

import (
	"errors"
	"net/http"
	"net/url"
	"path"
	"strings"

	"github.com/99designs/gqlgen/graphql/handler/transport"
)

// WebsocketOrigins wraps a websocket implementation (nil: gqlgen's default,
// coder/websocket) so that it accepts a browser's upgrade only from the
// gateway's own origin or from an origin matching one of patterns, and
// refuses any other with 403. Patterns are those of coder/websocket's
// AcceptOptions.OriginPatterns: path.Match patterns, case-insensitive,
// matched against the Origin's host (app.example.com, *.example.com,
// localhost:5173), or against scheme://host when the pattern has a scheme.
// Requests without an Origin (clients that are not browsers) are accepted,
// as coder/websocket does.
//
// The check is made here rather than in inner's AcceptOptions so that any
// implementation (the shutdown drainer's, say) gets it: once the origin is
// verified, inner sees the request without its Origin header.
func WebsocketOrigins(patterns []string, inner transport.WebsocketImplementation) transport.WebsocketImplementation {
	if inner == nil {
		inner = transport.CoderWebsocketImplementation{}
	}
	return originCheck{patterns: patterns, inner: inner}
}

type originCheck struct {
	patterns []string
	inner    transport.WebsocketImplementation
}

// Accept implements transport.WebsocketImplementation.
func (o originCheck) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	origin := r.Header.Get("Origin")
	if origin == "" {
		return o.inner.Accept(w, r, opts)
	}
	if !originAllowed(r.Host, origin, o.patterns) {
		http.Error(w, "websocket: this origin may not connect; set WEBSOCKET_ORIGINS to allow it", http.StatusForbidden)
		return nil, errors.New("websocket origin " + origin + " not allowed")
	}
	verified := *r
	verified.Header = r.Header.Clone()
	verified.Header.Del("Origin")
	return o.inner.Accept(w, &verified, opts)
}

// originAllowed is coder/websocket's authenticateOrigin: the request's own
// host, or a pattern match.
func originAllowed(host, origin string, patterns []string) bool {
	u, err := url.Parse(origin)
	if err != nil || u.Host == "" {
		return false
	}
	if strings.EqualFold(host, u.Host) {
		return true
	}
	for _, p := range patterns {
		target := u.Host
		if strings.Contains(p, "://") {
			target = u.Scheme + "://" + u.Host
		}
		if ok, err := path.Match(strings.ToLower(p), strings.ToLower(target)); err == nil && ok {
			return true
		}
	}
	return false
}

// ValidOriginPattern reports whether p is a usable websocket origin
// pattern (a well-formed path.Match pattern).
func ValidOriginPattern(p string) bool {
	if p == "" {
		return false
	}
	_, err := path.Match(p, "")
	return err == nil
}
