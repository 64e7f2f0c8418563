package auth

// This file verifies bearer tokens. The algorithm is decided before any key
// is chosen: HS256 only ever sees the shared secret, RS256 only RSA keys and
// ES256 only P-256 keys, so a token cannot pick its own verification method
// ("none") or turn a public key into an HMAC secret.

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/golang-jwt/jwt/v5"
)

// header is the part of a token's JOSE header the gateway acts on. Headers
// that point at keys ("jku", "jwk", "x5u", "x5c") are deliberately ignored:
// the token never chooses where its keys come from.
type header struct {
	Alg  string `json:"alg"`
	Kid  string `json:"kid"`
	Crit any    `json:"crit"`
}

// parseHeader decodes the header of a compact JWS without trusting it.
func parseHeader(raw string) (header, error) {
	parts := strings.Split(raw, ".")
	// An empty signature is let through so "alg":"none" tokens are told
	// apart by their algorithm; no accepted algorithm verifies it.
	if len(parts) != 3 || parts[0] == "" || parts[1] == "" {
		return header{}, errors.New("not three segments")
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[0])
	if err != nil {
		return header{}, fmt.Errorf("header encoding: %w", err)
	}
	var h header
	if err := json.Unmarshal(b, &h); err != nil {
		return header{}, fmt.Errorf("header JSON: %w", err)
	}
	return h, nil
}

// checkJWT verifies a bearer token and returns its principal.
func (a *Authenticator) checkJWT(ctx context.Context, raw string) (*Principal, error) {
	if !a.jwtEnabled() {
		return nil, fail(ReasonAlgorithm, "bearer tokens are not accepted by this gateway; use an API key")
	}
	if len(raw) > maxCredentialLen {
		return nil, fail(ReasonMalformed, "the token is larger than 16 KB")
	}
	h, err := parseHeader(raw)
	if err != nil {
		a.log.Debug("auth: token rejected", "reason", ReasonMalformed, "error", err)
		return nil, fail(ReasonMalformed, "the token is not a well-formed JWT")
	}
	if h.Crit != nil {
		return nil, fail(ReasonMalformed, `the token has critical header parameters ("crit") this gateway does not understand`)
	}
	if !a.accepts(h.Alg) {
		return nil, a.algorithmError(h.Alg)
	}
	if h.Alg == algHS256 {
		return a.verify(raw, h.Alg, a.secret)
	}
	return a.checkPublicKey(ctx, raw, h)
}

// accepts reports whether some configured key verifies alg. With a JWKS both
// RS256 and ES256 are accepted, since the document's key types may change.
func (a *Authenticator) accepts(alg string) bool {
	switch alg {
	case algHS256:
		return len(a.secret) > 0
	case algRS256, algES256:
		if a.jwks != nil {
			return true
		}
		for _, k := range a.pemKeys {
			if k.alg == alg {
				return true
			}
		}
	}
	return false
}

func (a *Authenticator) algorithmError(alg string) error {
	var accepted []string
	for _, alg := range []string{algHS256, algRS256, algES256} {
		if a.accepts(alg) {
			accepted = append(accepted, alg)
		}
	}
	shown := "(none given)"
	if alg != "" {
		if len(alg) > 16 {
			alg = alg[:16] + "..."
		}
		shown = fmt.Sprintf("%q", alg)
	}
	return fail(ReasonAlgorithm, fmt.Sprintf("the token's algorithm %s is not accepted; accepted: %s",
		shown, strings.Join(accepted, ", ")))
}

// checkPublicKey verifies an RS256 or ES256 token against the PEM keys and
// the JWKS. A token whose kid the cached JWKS lacks prompts one re-fetch
// (shared by concurrent callers and rate-limited), so a rotated key is
// accepted as soon as the identity provider publishes it.
func (a *Authenticator) checkPublicKey(ctx context.Context, raw string, h header) (*Principal, error) {
	fromJWKS := a.jwksKeys(h.Alg, h.Kid)
	keys := make([]any, 0, len(fromJWKS)+len(a.pemKeys))
	keys = append(keys, fromJWKS...)
	keys = append(keys, a.pemKeysFor(h.Alg)...)
	// The cache may be stale for this token when nothing has been loaded yet
	// or the token names a kid the cache lacks. A cached kid that fails is a
	// bad signature, not a stale cache, and re-fetching would let any forged
	// token make the gateway call the identity provider.
	stale := a.jwks != nil && (!a.jwks.loaded() || (h.Kid != "" && len(fromJWKS) == 0))
	if len(keys) > 0 {
		p, err := a.verify(raw, h.Alg, keys)
		if !stale || reasonOf(err) != ReasonSignature {
			return p, err
		}
	}
	if !stale {
		return nil, fail(ReasonSignature, "no configured key can verify the token")
	}
	a.jwks.refetch(ctx)
	if fresh := a.jwksKeys(h.Alg, h.Kid); len(fresh) > 0 {
		return a.verify(raw, h.Alg, fresh)
	}
	if !a.jwks.healthy() {
		return nil, fail(ReasonKeysUnavailable, "the keys to verify the token could not be fetched; try again later")
	}
	if len(keys) > 0 {
		return nil, errBadSignature()
	}
	return nil, fail(ReasonSignature, "the token's signing key (kid) is not among the configured keys")
}

func errBadSignature() *Error {
	return fail(ReasonSignature, "the token's signature does not verify with any configured key")
}

// jwksKeys returns the cached JWKS keys for alg: those with the token's kid,
// or all of them when the token names none.
func (a *Authenticator) jwksKeys(alg, kid string) []any {
	if a.jwks == nil {
		return nil
	}
	var out []any
	for _, k := range a.jwks.current() {
		if k.alg == alg && (kid == "" || k.kid == kid) {
			out = append(out, k.key)
		}
	}
	return out
}

// pemKeysFor returns the PEM keys pinned to alg. PEM keys have no kid, so
// they are tried whatever kid the token names.
func (a *Authenticator) pemKeysFor(alg string) []any {
	var out []any
	for _, k := range a.pemKeys {
		if k.alg == alg {
			out = append(out, k.key)
		}
	}
	return out
}

// verify checks raw's signature with key (a secret, a public key or a list
// of public keys, all for alg) and then its claims.
func (a *Authenticator) verify(raw, alg string, key any) (*Principal, error) {
	if keys, ok := key.([]any); ok {
		set := jwt.VerificationKeySet{Keys: make([]jwt.VerificationKey, len(keys))}
		for i, k := range keys {
			set.Keys[i] = k
		}
		key = set
	}
	claims := jwt.MapClaims{}
	_, err := jwt.ParseWithClaims(raw, claims, func(*jwt.Token) (any, error) { return key, nil },
		jwt.WithValidMethods([]string{alg}),
		jwt.WithIssuer(a.issuer),
		jwt.WithAudience(a.audience),
		jwt.WithLeeway(a.leeway),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(),
		jwt.WithTimeFunc(a.now),
	)
	if err != nil {
		e := a.classify(err, claims)
		a.log.Debug("auth: token rejected", "reason", e.Reason, "error", err)
		return nil, e
	}
	return a.principal(claims)
}

// classify turns a verification error into the client's *Error. When the
// claims have several faults, the one that says the token is not meant for
// this gateway wins over the one about time.
func (a *Authenticator) classify(err error, claims jwt.MapClaims) *Error {
	switch {
	case errors.Is(err, jwt.ErrTokenMalformed):
		return fail(ReasonMalformed, "the token is not a well-formed JWT")
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		return errBadSignature()
	case errors.Is(err, jwt.ErrInvalidType):
		return fail(ReasonMalformed, `the token's "exp", "nbf", "iat", "iss" or "aud" claim has the wrong type`)
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		if _, ok := claims["exp"]; !ok {
			return fail(ReasonMalformed, `the token has no expiry ("exp" claim); only expiring tokens are accepted`)
		}
		if iss, _ := claims.GetIssuer(); iss == "" {
			return fail(ReasonIssuer, `the token has no issuer ("iss" claim)`)
		}
		return fail(ReasonAudience, fmt.Sprintf(`the token has no audience ("aud" claim); it must include %q`, a.audience))
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		return fail(ReasonIssuer, "the token's issuer is not accepted")
	case errors.Is(err, jwt.ErrTokenInvalidAudience):
		return fail(ReasonAudience, fmt.Sprintf("the token's audience does not include %q", a.audience))
	case errors.Is(err, jwt.ErrTokenExpired):
		return fail(ReasonExpired, "the token has expired")
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		return fail(ReasonNotYetValid, `the token is not valid yet ("nbf" is in the future)`)
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		return fail(ReasonNotYetValid, `the token was issued in the future ("iat"); check the issuer's clock`)
	}
	return fail(ReasonMalformed, "the token could not be verified")
}

// principal builds the principal of a verified token.
func (a *Authenticator) principal(c jwt.MapClaims) (*Principal, error) {
	sub, err := c.GetSubject()
	if err != nil {
		return nil, fail(ReasonMalformed, `the token's "sub" claim is not a string`)
	}
	iss, _ := c.GetIssuer() // verified equal to a.issuer
	exp, _ := c.GetExpirationTime()
	email, _ := c[a.emailClaim].(string)
	p := &Principal{
		Kind:    KindJWT,
		Subject: sub,
		Issuer:  iss,
		Email:   email,
		Scopes:  a.scopes(c),
	}
	if exp != nil {
		p.ExpiresAt = exp.Time
	}
	return p, nil
}

// scopes is the union, in order of first appearance, of "scope" and "scp"
// (space-separated strings or arrays) and the role claim (one role as a
// string, or an array).
func (a *Authenticator) scopes(c jwt.MapClaims) []string {
	var out []string
	seen := map[string]bool{}
	add := func(vals []string) {
		for _, v := range vals {
			if v != "" && !seen[v] {
				seen[v] = true
				out = append(out, v)
			}
		}
	}
	add(claimStrings(c["scope"], true))
	add(claimStrings(c["scp"], true))
	add(claimStrings(c[a.roleClaim], false))
	return out
}

// claimStrings reads a claim that is a string or an array of strings;
// non-string array elements are ignored. split splits a string on spaces.
func claimStrings(v any, split bool) []string {
	switch v := v.(type) {
	case string:
		if split {
			return strings.Fields(v)
		}
		return []string{strings.TrimSpace(v)}
	case []any:
		out := make([]string, 0, len(v))
		for _, e := range v {
			if s, ok := e.(string); ok {
				out = append(out, strings.TrimSpace(s))
			}
		}
		return out
	}
	return nil
}

// reasonOf returns err's Reason, or "" when err is nil or not an *Error.
func reasonOf(err error) Reason {
	var e *Error
	if errors.As(err, &e) {
		return e.Reason
	}
	return ""
}
