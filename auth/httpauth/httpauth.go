// Package httpauth is client authentication on the gateway's HTTP surface,
// over package auth's credentials. An HTTP request proves who it is with
// its Authorization (Bearer JWT, or ApiKey) or X-API-Key header. A websocket
// may do the same on its upgrade request, but browsers cannot set headers
// there, so it may instead send the credential in connection_init's payload;
// the connection is refused before any operation if it does not. A websocket
// opened with a JWT is closed when the token expires, with close code 4401,
// and an SSE stream ends then with an UNAUTHENTICATED error, so a client
// reconnects with a fresh token rather than streaming on a credential that
// no longer holds. Queries and mutations are served in full once accepted.
//
//	httpauth.go  Guard: the middleware, the websocket's connection_init, the
//	             refusal, and each websocket's session, closed when its
//	             credential ends
package httpauth

import (
	"context"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql/handler/transport"
	"github.com/engagegql/gateway/auth"
	"github.com/engagegql/gateway/socket"
	"github.com/engagegql/gateway/workplace"
)

// Authenticator is what the HTTP surface asks who a caller is
// (*auth.Authenticator).
type Authenticator interface {
	Authenticate(ctx context.Context, authorization, apiKey string) (*auth.Principal, error)
}

// closeUnauthorized is the websocket close code for a connection whose
// credential was refused or has expired (graphql-transport-ws's 4401
// Unauthorized, which its reference client treats as final: it reports the
// close instead of reconnecting with the same credential).
const closeUnauthorized = socket.CloseUnauthorized

type clientAddrKey struct{}

// ClientAddr returns the remote IP of the request ctx belongs to (or the
// identity the Guard's ClientHeader gave), as the Guard recorded it.
func ClientAddr(ctx context.Context) string {
	a, _ := ctx.Value(clientAddrKey{}).(string)
	return a
}

// WithClientAddr records addr as the client's address, as the Guard does.
func WithClientAddr(ctx context.Context, addr string) context.Context {
	return context.WithValue(ctx, clientAddrKey{}, addr)
}

// Guard authenticates the callers of /graphql.
type Guard struct {
	// Auth tells who a caller is. With none every caller is anonymous (the
	// embedded demo, or AUTH_DISABLED).
	Auth Authenticator
	// Grants names what widens a credential.
	Grants Grants
	// ClientHeader, when set, names the header an authenticating proxy in
	// front identifies the caller with (X-Forwarded-For, say):
	// unauthenticated callers are then told apart by it rather than by the
	// proxy's address, which all of them would share.
	ClientHeader string
	// OnClient hears who called: a credential's name, never the
	// credential. OnRefused hears why a credential was refused. Either may
	// be nil.
	OnClient  func(ctx context.Context, client string)
	OnRefused func(ctx context.Context, reason, msg string)
}

func (g Guard) client(ctx context.Context, client string) {
	if g.OnClient != nil {
		g.OnClient(ctx, client)
	}
}

func (g Guard) refused(ctx context.Context, reason, msg string) {
	if g.OnRefused != nil {
		g.OnRefused(ctx, reason, msg)
	}
}

// Handler guards next. CORS preflights pass: browsers send them without
// credentials.
func (g Guard) Handler(next http.Handler) http.Handler {
	a, clientHeader := g.Auth, g.ClientHeader
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if host, _, err := net.SplitHostPort(r.RemoteAddr); err == nil {
			ctx = WithClientAddr(ctx, host)
		}
		if clientHeader != "" {
			// X-Forwarded-For lists the client first.
			if id, _, _ := strings.Cut(r.Header.Get(clientHeader), ","); strings.TrimSpace(id) != "" {
				ctx = WithClientAddr(ctx, clientHeader+":"+strings.TrimSpace(id))
			}
		}
		upgrade := strings.EqualFold(r.Header.Get("Upgrade"), "websocket")
		if upgrade {
			ctx = context.WithValue(ctx, sessionKey{}, &session{})
		}
		if a == nil || r.Method == http.MethodOptions {
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		authz, key := r.Header.Get("Authorization"), r.Header.Get("X-API-Key")
		if upgrade && authz == "" && key == "" {
			// The credential comes in connection_init.
			next.ServeHTTP(w, r.WithContext(ctx))
			return
		}
		p, err := a.Authenticate(ctx, authz, key)
		if err != nil {
			msg, reason := refusal(err)
			g.refused(ctx, reason, msg)
			refuse(w, err)
			return
		}
		g.client(ctx, p.ClientID())
		// A request accepted is served in full: a query or mutation needs
		// its token to be valid when it arrives, not until it is answered.
		// Streams end with their token: SSE by CredentialExpiry, a
		// websocket by its session.
		next.ServeHTTP(w, r.WithContext(withPrincipal(ctx, p, g.Grants)))
	})
}

// CredentialExpiry is when a stream opened with ctx's credential must end:
// the expiry of its JWT; zero for an API key or an anonymous caller.
func CredentialExpiry(ctx context.Context) time.Time {
	if p, ok := auth.FromContext(ctx); ok {
		return p.ExpiresAt
	}
	return time.Time{}
}

// Grants names the scopes or roles (AUTH_*_GRANT) that let a credential do
// more than act as itself.
type Grants struct {
	// ActAs lets a caller act for another user.
	ActAs string
	// Private shows the titles of private meetings the caller is not in.
	Private string
}

// withPrincipal records who the caller is for the resolvers (the acting
// user of mutations, who may see private meetings) and the rate limiter
// (the client id).
func withPrincipal(ctx context.Context, p *auth.Principal, g Grants) context.Context {
	ctx = auth.WithPrincipal(ctx, p)
	return workplace.WithCaller(ctx, workplace.Caller{Email: p.Email, MayActForOthers: p.Has(g.ActAs), Grant: g.ActAs, MaySeePrivate: p.Has(g.Private)})
}

// refuse answers a request whose credential was refused: 401, a
// WWW-Authenticate challenge (RFC 6750), and the reason as a GraphQL error.
// The reason names what is wrong with the credential, never the credential.
func refuse(w http.ResponseWriter, err error) {
	msg, reason := refusal(err)
	challenge := `Bearer realm="engage-gateway"`
	if reason != string(auth.ReasonMissing) {
		challenge += `, error="invalid_token", error_description="` + strings.ReplaceAll(msg, `"`, `'`) + `"`
	}
	w.Header().Set("WWW-Authenticate", challenge)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"errors": []any{map[string]any{"message": msg, "extensions": map[string]any{"code": workplace.EUNAUTHORIZED, "reason": reason}}},
	})
}

// refusal is what a client is told about a refused credential: the
// authenticator's message and reason, which name what is wrong and never
// the credential.
func refusal(err error) (msg, reason string) {
	var ae *auth.Error
	if errors.As(err, &ae) {
		return ae.Message, string(ae.Reason)
	}
	return "authentication failed", "invalid"
}

// WebsocketInit authenticates a websocket's connection_init when its
// upgrade request carried no credential, and arranges for the connection
// to close when the credential expires.
func (g Guard) WebsocketInit(now func() time.Time) func(ctx context.Context, payload map[string]any) (context.Context, error) {
	a := g.Auth
	return func(ctx context.Context, payload map[string]any) (context.Context, error) {
		if a == nil {
			return ctx, nil
		}
		p, ok := auth.FromContext(ctx)
		if !ok {
			authz, key := initCredential(payload)
			var err error
			if p, err = a.Authenticate(ctx, authz, key); err != nil {
				msg, reason := refusal(err)
				g.refused(ctx, reason, msg)
				return ctx, &socket.CloseError{Code: closeUnauthorized, Reason: "unauthorized: " + msg}
			}
			ctx = withPrincipal(ctx, p, g.Grants)
			g.client(ctx, p.ClientID())
		}
		if s := sessionFrom(ctx); s != nil && !p.ExpiresAt.IsZero() {
			s.expireIn(p.ExpiresAt.Sub(now()))
		}
		return ctx, nil
	}
}

// initCredential finds the credential in a connection_init payload, where
// clients put it in different places: {"Authorization": "Bearer …"} (any
// case), {"apiKey": "…"} or {"X-API-Key": "…"}, or the same inside
// {"headers": {…}}.
func initCredential(p map[string]any) (authz, key string) {
	look := func(m map[string]any) {
		for k, v := range m {
			s, ok := v.(string)
			if !ok {
				continue
			}
			switch strings.ToLower(k) {
			case "authorization":
				authz = s
			case "apikey", "x-api-key", "api_key":
				key = s
			case "token", "authtoken", "accesstoken":
				if authz == "" {
					authz = "Bearer " + s
				}
			}
		}
	}
	look(p)
	if h, ok := p["headers"].(map[string]any); ok && authz == "" && key == "" {
		look(h)
	}
	return authz, key
}

// session is one websocket connection's link between the transport, which
// owns the connection, and authentication, which knows when its credential
// ends.
type session struct {
	mu     sync.Mutex
	conn   transport.WebsocketConn
	timer  *time.Timer
	closed bool
}

type sessionKey struct{}

func sessionFrom(ctx context.Context) *session {
	s, _ := ctx.Value(sessionKey{}).(*session)
	return s
}

// expireIn closes the connection with 4401 after d: the client is told its
// token expired, and its subscriptions end with the connection.
func (s *session) expireIn(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return
	}
	if s.timer != nil {
		s.timer.Stop()
	}
	s.timer = time.AfterFunc(max(d, 0), func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.conn != nil && !s.closed {
			_ = s.conn.WriteClose(closeUnauthorized, "unauthorized: the token has expired; reconnect with a fresh one")
		}
	})
}

// EndSession stops the expiry timer of the websocket ctx belongs to once
// the connection is closed.
func EndSession(ctx context.Context) {
	if s := sessionFrom(ctx); s != nil {
		s.end()
	}
}

// end stops the expiry timer once the connection is closed.
func (s *session) end() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed = true
	if s.timer != nil {
		s.timer.Stop()
	}
}

// Sockets records each connection Inner accepts in its request's
// session, so the session can close it when its credential ends.
type Sockets struct {
	Inner transport.WebsocketImplementation
}

func (s Sockets) Accept(w http.ResponseWriter, r *http.Request, opts transport.WebsocketAcceptOptions) (transport.WebsocketConn, error) {
	conn, err := s.Inner.Accept(w, r, opts)
	if err != nil {
		return nil, err
	}
	if sess := sessionFrom(r.Context()); sess != nil {
		sess.mu.Lock()
		sess.conn = conn
		sess.mu.Unlock()
	}
	return conn, nil
}
