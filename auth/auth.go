// Package auth authenticates the gateway's clients: JWT bearer tokens
// (HS256 with a shared secret, RS256/ES256 with public keys from a PEM file
// or a JWKS URL, cached and refreshed) and static API keys stored as SHA-256
// hashes.
//
// Every failure is an *Error whose Message is safe to show the client: it
// says what was wrong and never contains the token, the key or any key
// material. Details for operators go to the configured logger, equally
// without credentials.
//
//	auth.go       Config, the Authenticator, Authenticate, and the *Error of a failure
//	apikey.go     static API keys: AUTH_API_KEYS parsed, a key matched by its hash
//	jwks.go       the JWKS: fetched, cached, refreshed, refetched for an unknown kid
//	jwt.go        bearer tokens verified, the algorithm chosen before the key
//	keys.go       public keys from PEM or a JWKS, each pinned to one algorithm
//	principal.go  the Principal: scopes, client id, carried in a context
package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"
)

// Defaults for the zero values of Config.
const (
	defaultJWKSRefresh    = 5 * time.Minute
	defaultJWKSMinRefetch = 10 * time.Second
	defaultLeeway         = 30 * time.Second
	defaultHTTPTimeout    = 10 * time.Second
	defaultEmailClaim     = "email"
	defaultRoleClaim      = "roles"

	// minSecretLen is the shortest HS256 secret New accepts: RFC 7518
	// section 3.2 asks for a key at least as long as the hash output.
	minSecretLen = 32
	// maxCredentialLen bounds tokens and API keys, so a client cannot make
	// the gateway parse or hash arbitrarily large headers.
	maxCredentialLen = 16 << 10
)

// Config says which credentials the gateway accepts. At least one of
// HS256Secret, PublicKeyPEM, JWKSURL and APIKeys must be set.
type Config struct {
	// HS256Secret enables HS256 tokens signed with this shared secret. It
	// must be at least 32 bytes. It is never used for any other algorithm.
	HS256Secret []byte
	// PublicKeyPEM enables RS256 and ES256 tokens signed by these keys: one
	// or more PEM blocks of type "PUBLIC KEY" (PKIX RSA of at least 2048
	// bits, or ECDSA P-256), "RSA PUBLIC KEY" (PKCS #1) or "CERTIFICATE"
	// (only its public key is used; its validity period is not checked).
	PublicKeyPEM []byte
	// JWKSURL enables RS256 and ES256 tokens signed by the keys of this JWKS
	// document (RSA "n"/"e" and EC P-256 "x"/"y"), matched by "kid".
	JWKSURL string
	// JWKSRefresh is how often the JWKS is re-fetched in the background;
	// zero means 5 minutes.
	JWKSRefresh time.Duration
	// JWKSMinRefetch is the shortest interval between fetches prompted by a
	// token with an unknown kid, so a rotated key is picked up at once while
	// tokens with made-up kids cannot hammer the identity provider; zero
	// means 10 seconds.
	JWKSMinRefetch time.Duration
	// HTTPClient fetches the JWKS; nil means a client with a 10 second
	// timeout.
	HTTPClient *http.Client
	// Issuer is the exact "iss" every token must carry. It is required
	// whenever HS256Secret, PublicKeyPEM or JWKSURL is set.
	Issuer string
	// Audience must be one of the token's "aud" values (a string or an
	// array). It is required whenever HS256Secret, PublicKeyPEM or JWKSURL
	// is set.
	Audience string
	// Leeway is the clock skew allowed on "exp", "nbf" and "iat"; zero means
	// 30 seconds.
	Leeway time.Duration
	// EmailClaim names the claim Principal.Email is read from; empty means
	// "email".
	EmailClaim string
	// RoleClaim names the claim (a string or an array of strings) whose
	// values are added to Principal.Scopes; empty means "roles".
	RoleClaim string
	// APIKeys are the static keys accepted, typically from ParseAPIKeys.
	APIKeys []APIKey
	// Now tells the time for token validation and JWKS re-fetch limits; nil
	// means time.Now. Tests set it to move the clock.
	Now func() time.Time
	// Logger receives warnings about the JWKS and rejected credentials; nil
	// discards them. Tokens and keys are never logged.
	Logger *slog.Logger
}

// Authenticator checks credentials against a Config. It is safe for
// concurrent use. Call Close to stop its background JWKS refresh.
type Authenticator struct {
	secret     []byte
	pemKeys    []publicKey
	jwks       *keySet
	apiKeys    []APIKey
	issuer     string
	audience   string
	leeway     time.Duration
	emailClaim string
	roleClaim  string
	now        func() time.Time
	log        *slog.Logger
}

// New validates cfg and returns an Authenticator for it. With JWKSURL it
// fetches the JWKS once, bounded by 10 seconds; a failure is logged as a
// warning rather than returned, so the gateway can start while the identity
// provider is briefly down (the fetch is retried on demand and in the
// background). It then starts one goroutine refreshing the JWKS every
// JWKSRefresh until Close.
func New(cfg Config) (*Authenticator, error) {
	jwtEnabled := len(cfg.HS256Secret) > 0 || len(cfg.PublicKeyPEM) > 0 || cfg.JWKSURL != ""
	if !jwtEnabled && len(cfg.APIKeys) == 0 {
		return nil, errors.New("auth: no credentials configured: set an HS256 secret, public keys, a JWKS URL or API keys")
	}
	if len(cfg.HS256Secret) > 0 && len(cfg.HS256Secret) < minSecretLen {
		return nil, fmt.Errorf("auth: the HS256 secret is %d bytes; it must be at least %d", len(cfg.HS256Secret), minSecretLen)
	}
	if jwtEnabled && cfg.Issuer == "" {
		return nil, errors.New("auth: JWT verification is configured but the issuer is empty; tokens from any issuer would be accepted")
	}
	if jwtEnabled && cfg.Audience == "" {
		return nil, errors.New("auth: JWT verification is configured but the audience is empty; tokens meant for other services would be accepted")
	}
	if cfg.JWKSRefresh < 0 || cfg.JWKSMinRefetch < 0 || cfg.Leeway < 0 {
		return nil, errors.New("auth: the JWKS refresh and re-fetch intervals and the leeway must not be negative")
	}
	if err := checkAPIKeys(cfg.APIKeys); err != nil {
		return nil, err
	}

	a := &Authenticator{
		secret:     bytes.Clone(cfg.HS256Secret),
		apiKeys:    cloneAPIKeys(cfg.APIKeys),
		issuer:     cfg.Issuer,
		audience:   cfg.Audience,
		leeway:     or(cfg.Leeway, defaultLeeway),
		emailClaim: or(cfg.EmailClaim, defaultEmailClaim),
		roleClaim:  or(cfg.RoleClaim, defaultRoleClaim),
		now:        cfg.Now,
		log:        cfg.Logger,
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	if len(cfg.PublicKeyPEM) > 0 {
		keys, err := parsePEMKeys(cfg.PublicKeyPEM)
		if err != nil {
			return nil, err
		}
		a.pemKeys = keys
	}
	if cfg.JWKSURL != "" {
		u, err := url.Parse(cfg.JWKSURL)
		if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
			return nil, errors.New("auth: the JWKS URL must be an absolute http or https URL")
		}
		client := cfg.HTTPClient
		if client == nil {
			client = &http.Client{Timeout: defaultHTTPTimeout}
		}
		a.jwks = newKeySet(cfg.JWKSURL, client, or(cfg.JWKSRefresh, defaultJWKSRefresh),
			or(cfg.JWKSMinRefetch, defaultJWKSMinRefetch), a.now, a.log)
		a.jwks.start()
	}
	return a, nil
}

// Close stops the background JWKS refresh and waits for it to end. It is
// safe to call more than once, and on an Authenticator without a JWKS.
func (a *Authenticator) Close() {
	if a.jwks != nil {
		a.jwks.close()
	}
}

// jwtEnabled reports whether any JWT verification is configured.
func (a *Authenticator) jwtEnabled() bool {
	return len(a.secret) > 0 || len(a.pemKeys) > 0 || a.jwks != nil
}

// Authenticate checks one credential and returns its principal.
// authorization is an HTTP Authorization header value, "Bearer <jwt>" or
// "ApiKey <key>" with the scheme matched case-insensitively; apiKey is an
// X-API-Key header value. Exactly one must be non-empty: both empty is an
// *Error with ReasonMissing, both set one with ReasonMalformed. Every failure
// is an *Error. ctx bounds how long a caller waits for a JWKS re-fetch its
// token prompts; the fetch itself is shared and bounded separately.
func (a *Authenticator) Authenticate(ctx context.Context, authorization, apiKey string) (*Principal, error) {
	authorization = strings.TrimSpace(authorization)
	apiKey = strings.TrimSpace(apiKey)
	switch {
	case authorization == "" && apiKey == "":
		return nil, fail(ReasonMissing, "no credential was sent: send a JWT in the Authorization header (scheme bearer) or an API key in X-API-Key")
	case authorization != "" && apiKey != "":
		return nil, fail(ReasonMalformed, "send either an Authorization header or an X-API-Key header, not both")
	case apiKey != "":
		return a.checkAPIKey(apiKey)
	}
	scheme, credential, ok := strings.Cut(authorization, " ")
	credential = strings.TrimSpace(credential)
	if !ok || credential == "" {
		return nil, badHeader()
	}
	switch strings.ToLower(scheme) {
	case "bearer":
		return a.checkJWT(ctx, credential)
	case "apikey":
		return a.checkAPIKey(credential)
	}
	return nil, badHeader()
}

func badHeader() *Error {
	return fail(ReasonMalformed, "the Authorization header must use the scheme bearer (a JWT) or ApiKey (an API key)")
}

// Reason classifies an authentication failure, so the HTTP layer can pick a
// status and clients an error code without parsing messages.
type Reason string

// Reasons an *Error carries.
const (
	// ReasonMissing: no credential was sent.
	ReasonMissing Reason = "missing"
	// ReasonMalformed: the header, token or key is not in an accepted form,
	// or a token lacks a required claim such as "exp".
	ReasonMalformed Reason = "malformed"
	// ReasonExpired: the token's "exp" has passed.
	ReasonExpired Reason = "expired"
	// ReasonNotYetValid: the token's "nbf" or "iat" is in the future.
	ReasonNotYetValid Reason = "not_yet_valid"
	// ReasonIssuer: the token's "iss" is missing or not the configured one.
	ReasonIssuer Reason = "issuer"
	// ReasonAudience: the token's "aud" is missing or lacks the configured
	// audience.
	ReasonAudience Reason = "audience"
	// ReasonSignature: no configured key verifies the token: a wrong key, a
	// kid unknown even after a re-fetch, or a bad signature.
	ReasonSignature Reason = "signature"
	// ReasonAlgorithm: the token's "alg" is "none" or one no configured key
	// accepts.
	ReasonAlgorithm Reason = "algorithm"
	// ReasonUnknownKey: the API key is not one of the configured keys.
	ReasonUnknownKey Reason = "api_key"
	// ReasonKeysUnavailable: the JWKS could not be fetched and no cached key
	// matches the token; retrying later may succeed.
	ReasonKeysUnavailable Reason = "keys_unavailable"
)

// Error is every authentication failure. Message is safe to show the client:
// it says what was wrong and never contains the token, the key or key
// material.
type Error struct {
	Reason  Reason
	Message string
}

// Error returns Message, so the error can be shown as it is.
func (e *Error) Error() string { return e.Message }

func fail(r Reason, msg string) *Error { return &Error{Reason: r, Message: msg} }

func or[T comparable](v, def T) T {
	var zero T
	if v == zero {
		return def
	}
	return v
}
