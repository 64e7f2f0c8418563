package auth

import (
	"context"
	"slices"
	"time"
)

// Kinds of Principal, so callers can tell a person's token from a service's
// static key without comparing bare strings.
const (
	KindJWT    = "jwt"
	KindAPIKey = "apikey"
)

// Principal is who a request acts for once its credential has been checked.
// Resolvers and middleware read it from the context to authorise operations
// and to key per-client rate limits; it carries no credential material.
type Principal struct {
	// Kind is KindJWT or KindAPIKey.
	Kind string
	// Subject is the token's "sub" claim, or the API key's name.
	Subject string
	// Issuer is the token's "iss" claim; empty for API keys. It is kept so
	// ClientID can tell apart equal subjects of different issuers.
	Issuer string
	// Email is the token's email claim (Config.EmailClaim), or the API key's
	// configured email; empty when there is none.
	Email string
	// Scopes are what the principal may do: for a token, the union of
	// "scope", "scp" and the role claim; for an API key, its configured
	// scopes.
	Scopes []string
	// ExpiresAt is the token's "exp"; zero for API keys, which do not expire.
	ExpiresAt time.Time
}

// Has reports whether the principal holds scope, compared exactly, so
// authorisation checks read as one call. A nil principal holds nothing.
func (p *Principal) Has(scope string) bool {
	return p != nil && slices.Contains(p.Scopes, scope)
}

// ClientID is a stable identifier for per-client accounting such as rate
// limits: "jwt:"+iss+"|"+sub for tokens and "key:"+name for API keys. Two
// tokens of the same subject share it; tokens without a subject share one
// per issuer, which errs on the side of a tighter limit.
func (p *Principal) ClientID() string {
	if p == nil {
		return ""
	}
	if p.Kind == KindAPIKey {
		return "key:" + p.Subject
	}
	return "jwt:" + p.Issuer + "|" + p.Subject
}

// principalKey is the private context key for the principal, so no other
// package can set or read it except through the accessors below.
type principalKey struct{}

// WithPrincipal returns a context carrying p, for the HTTP and websocket
// layers to hand the authenticated principal to resolvers.
func WithPrincipal(ctx context.Context, p *Principal) context.Context {
	return context.WithValue(ctx, principalKey{}, p)
}

// FromContext returns the principal stored by WithPrincipal. ok is false
// when there is none (or it is nil), so callers never dereference nil.
func FromContext(ctx context.Context) (*Principal, bool) {
	p, ok := ctx.Value(principalKey{}).(*Principal)
	return p, ok && p != nil
}
