package auth

// This file measures what checking a credential costs the gateway: every
// request pays one Authenticate before anything else runs. bench/protection.md
// puts the numbers in perspective; bench/run-protection.sh reproduces them.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"math/big"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// BenchmarkAuthenticate checks one valid credential per op, the way the
// HTTP layer calls Authenticate: a bearer token in the Authorization header
// or a key in X-API-Key. Tokens carry the claims a real identity provider
// sends (email, scopes, roles), so building the principal is counted too.
// The JWKS case measures the steady state: the keys were fetched by New and
// the token's kid is cached, so no op goes to the network.
func BenchmarkAuthenticate(b *testing.B) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := func() time.Time { return now }
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	claims := claimsAt(now)
	claims["email"] = "ada@example.com"
	claims["scope"] = "read:rooms read:desks book:desks"
	claims["roles"] = []string{"facilities"}

	// One PEM file with both keys, as an identity provider that signs with
	// either would be configured; each token is checked only against the
	// key of its algorithm.
	pemKeys := append(benchPEM(b, &rsaKey.PublicKey), benchPEM(b, &ecKey.PublicKey)...)
	jwks := benchJWKSServer(b, map[string]any{
		"rsa-1": &rsaKey.PublicKey,
		"ec-1":  &ecKey.PublicKey,
	})

	jwtCfg := func(c Config) Config {
		c.Issuer, c.Audience, c.Now = testIssuer, testAudience, clock
		return c
	}
	bearer := func(method jwt.SigningMethod, key any, kid string) string {
		return "Bearer " + benchSign(b, method, key, kid, claims)
	}
	cases := []struct {
		name          string
		cfg           Config
		authz, apiKey string
	}{
		{"HS256", jwtCfg(Config{HS256Secret: []byte(testSecret)}),
			bearer(jwt.SigningMethodHS256, []byte(testSecret), ""), ""},
		{"RS256/PEM", jwtCfg(Config{PublicKeyPEM: pemKeys}),
			bearer(jwt.SigningMethodRS256, rsaKey, ""), ""},
		{"ES256/PEM", jwtCfg(Config{PublicKeyPEM: pemKeys}),
			bearer(jwt.SigningMethodES256, ecKey, ""), ""},
		// JWKSRefresh is longer than any run, so no background fetch lands
		// in the measurement.
		{"RS256/JWKS", jwtCfg(Config{JWKSURL: jwks.URL, JWKSRefresh: time.Hour}),
			bearer(jwt.SigningMethodRS256, rsaKey, "rsa-1"), ""},
		{"APIKey/keys=1", Config{APIKeys: benchAPIKeys(1)}, "", benchAPIKey(0)},
		// The key presented is the last configured, though the check does
		// the same work whichever key matches.
		{"APIKey/keys=100", Config{APIKeys: benchAPIKeys(100)}, "", benchAPIKey(99)},
	}
	for _, c := range cases {
		b.Run(c.name, func(b *testing.B) {
			a, err := New(c.cfg)
			if err != nil {
				b.Fatal(err)
			}
			defer a.Close()
			ctx := context.Background()
			// A credential the benchmark got wrong would measure a refusal.
			if _, err := a.Authenticate(ctx, c.authz, c.apiKey); err != nil {
				b.Fatalf("the benchmark's credential is refused: %v", err)
			}
			hits := jwks.hits()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := a.Authenticate(ctx, c.authz, c.apiKey); err != nil {
					b.Fatal(err)
				}
			}
			b.StopTimer()
			if c.cfg.JWKSURL != "" && jwks.hits() != hits {
				b.Fatalf("the JWKS was fetched %d times while measuring; the steady state fetches nothing", jwks.hits()-hits)
			}
		})
	}
}

// benchSign signs claims with method and key, with a kid header when given.
func benchSign(b *testing.B, method jwt.SigningMethod, key any, kid string, claims jwt.MapClaims) string {
	b.Helper()
	tok := jwt.NewWithClaims(method, claims)
	if kid != "" {
		tok.Header["kid"] = kid
	}
	s, err := tok.SignedString(key)
	if err != nil {
		b.Fatal(err)
	}
	return s
}

// benchPEM is pub as a PKIX "PUBLIC KEY" block.
func benchPEM(b *testing.B, pub any) []byte {
	b.Helper()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		b.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

// benchAPIKey is the i-th key the benchmark's clients present.
func benchAPIKey(i int) string { return fmt.Sprintf("bench-api-key-%03d-0123456789abcdef", i) }

// benchAPIKeys configures n keys, the hashes of benchAPIKey(0) to (n-1).
func benchAPIKeys(n int) []APIKey {
	keys := make([]APIKey, n)
	for i := range keys {
		keys[i] = APIKey{
			Name:   fmt.Sprintf("service-%03d", i),
			Hash:   sha256.Sum256([]byte(benchAPIKey(i))),
			Scopes: []string{"read:rooms", "read:desks"},
		}
	}
	return keys
}

// jwksCounter is an identity provider's JWKS endpoint that counts its
// requests.
type jwksCounter struct {
	*httptest.Server
	n atomic.Int64
}

func (s *jwksCounter) hits() int64 { return s.n.Load() }

// benchJWKSServer serves the public keys, by kid, as a JWKS document.
func benchJWKSServer(b *testing.B, byKid map[string]any) *jwksCounter {
	b.Helper()
	enc := base64.RawURLEncoding.EncodeToString
	var keys []map[string]string
	for kid, pub := range byKid {
		switch k := pub.(type) {
		case *rsa.PublicKey:
			keys = append(keys, map[string]string{"kty": "RSA", "kid": kid, "use": "sig", "alg": algRS256,
				"n": enc(k.N.Bytes()), "e": enc(big.NewInt(int64(k.E)).Bytes())})
		case *ecdsa.PublicKey:
			point, err := k.Bytes() // 0x04 || x || y
			if err != nil {
				b.Fatal(err)
			}
			keys = append(keys, map[string]string{"kty": "EC", "kid": kid, "use": "sig", "alg": algES256,
				"crv": "P-256", "x": enc(point[1:33]), "y": enc(point[33:])})
		default:
			b.Fatalf("no JWK for a %T", pub)
		}
	}
	doc, err := json.Marshal(map[string]any{"keys": keys})
	if err != nil {
		b.Fatal(err)
	}
	s := &jwksCounter{}
	s.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		s.n.Add(1)
		w.Header().Set("Content-Type", "application/jwk-set+json")
		_, _ = w.Write(doc)
	}))
	b.Cleanup(s.Close)
	return s
}
