package auth

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewRejects(t *testing.T) {
	k := newKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	privDER, err := x509.MarshalPKCS8PrivateKey(k.rsa)
	require.NoError(t, err)
	privPEM := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: privDER})
	secret := []byte(testSecret)
	key := APIKey{Name: "a", Hash: sha256.Sum256([]byte("a"))}

	tests := []struct {
		name    string
		cfg     Config
		wantErr string
	}{
		{"empty config", Config{}, "no credentials configured"},
		{"HS256 secret shorter than 32 bytes", Config{HS256Secret: secret[:31], Issuer: testIssuer, Audience: testAudience}, "31 bytes; it must be at least 32"},
		{"HS256 without issuer", Config{HS256Secret: secret, Audience: testAudience}, "issuer is empty"},
		{"HS256 without audience", Config{HS256Secret: secret, Issuer: testIssuer}, "audience is empty"},
		{"PEM without issuer", Config{PublicKeyPEM: pkixPEM(t, &k.rsa.PublicKey), Audience: testAudience}, "issuer is empty"},
		{"JWKS without audience", Config{JWKSURL: "https://idp.example.com/jwks", Issuer: testIssuer}, "audience is empty"},
		{"JWKS URL without a scheme", Config{JWKSURL: "idp.example.com/jwks", Issuer: testIssuer, Audience: testAudience}, "absolute http or https URL"},
		{"PEM without blocks", Config{PublicKeyPEM: []byte("not pem"), Issuer: testIssuer, Audience: testAudience}, "no PEM block"},
		{"PEM private key", Config{PublicKeyPEM: privPEM, Issuer: testIssuer, Audience: testAudience}, "is a private key"},
		{"PEM unknown type", Config{PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "FOO", Bytes: []byte{1}}), Issuer: testIssuer, Audience: testAudience}, `type "FOO"`},
		{"PEM RSA 1024", Config{PublicKeyPEM: pkixPEM(t, &small.PublicKey), Issuer: testIssuer, Audience: testAudience}, "shorter than 2048 bits"},
		{"PEM P-384", Config{PublicKeyPEM: pkixPEM(t, &p384.PublicKey), Issuer: testIssuer, Audience: testAudience}, "not on curve P-256"},
		{"PEM bad DER", Config{PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: []byte{1, 2}}), Issuer: testIssuer, Audience: testAudience}, "PEM block 1"},
		{"negative leeway", Config{HS256Secret: secret, Issuer: testIssuer, Audience: testAudience, Leeway: -time.Second}, "must not be negative"},
		{"API key without name", Config{APIKeys: []APIKey{{Hash: key.Hash}}}, "empty name"},
		{"API key without hash", Config{APIKeys: []APIKey{{Name: "a"}}}, `"a" has no hash`},
		{"API keys with one name", Config{APIKeys: []APIKey{key, {Name: "a", Hash: sha256.Sum256([]byte("b"))}}}, "more than once"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.cfg)
			require.ErrorContains(t, err, tt.wantErr)
			assert.Nil(t, a)
			assert.NotContains(t, err.Error(), testSecret[:31])
		})
	}
}

func TestNewAccepts(t *testing.T) {
	k := newKeys(t)
	tests := []struct {
		name string
		cfg  Config
	}{
		{"API keys only, without issuer or audience", Config{APIKeys: []APIKey{{Name: "a", Hash: sha256.Sum256([]byte("a"))}}}},
		{"HS256", Config{HS256Secret: []byte(testSecret), Issuer: testIssuer, Audience: testAudience}},
		{"RSA and EC PEM", Config{PublicKeyPEM: append(pkixPEM(t, &k.rsa.PublicKey), pkixPEM(t, &k.ec.PublicKey)...), Issuer: testIssuer, Audience: testAudience}},
		{"PKCS #1 PEM", Config{PublicKeyPEM: pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.rsa.PublicKey)}), Issuer: testIssuer, Audience: testAudience}},
		{"certificate PEM", Config{PublicKeyPEM: certPEM(t, k.rsa), Issuer: testIssuer, Audience: testAudience}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a, err := New(tt.cfg)
			require.NoError(t, err)
			a.Close()
			a.Close()
		})
	}
}

func TestAuthenticateHeaders(t *testing.T) {
	clk := newClock()
	const key = "the-api-key-value"
	a := newAuth(t, Config{
		HS256Secret: []byte(testSecret),
		Issuer:      testIssuer,
		Audience:    testAudience,
		APIKeys:     []APIKey{{Name: "svc", Hash: sha256.Sum256([]byte(key))}},
		Now:         clk.Now,
	})
	token := sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claimsAt(clk.Now()))

	tests := []struct {
		name          string
		authorization string
		apiKey        string
		wantKind      string
		want          Reason
	}{
		{name: "nothing", want: ReasonMissing},
		{name: "only spaces", authorization: "   ", apiKey: " ", want: ReasonMissing},
		{name: "bearer", authorization: "Bearer " + token, wantKind: KindJWT},
		{name: "bearer lower case", authorization: "bearer " + token, wantKind: KindJWT},
		{name: "bearer upper case, extra spaces", authorization: "BEARER   " + token + "  ", wantKind: KindJWT},
		{name: "api key header", apiKey: key, wantKind: KindAPIKey},
		{name: "ApiKey scheme", authorization: "ApiKey " + key, wantKind: KindAPIKey},
		{name: "both headers", authorization: "Bearer " + token, apiKey: key, want: ReasonMalformed},
		{name: "scheme only", authorization: "Bearer", want: ReasonMalformed},
		{name: "scheme and spaces", authorization: "Bearer    ", want: ReasonMalformed},
		{name: "token without scheme", authorization: token, want: ReasonMalformed},
		{name: "basic auth", authorization: "Basic dXNlcjpwYXNz", want: ReasonMalformed},
		{name: "api key as bearer", authorization: "Bearer " + key, want: ReasonMalformed},
		{name: "token as api key", authorization: "ApiKey " + token, want: ReasonUnknownKey},
		{name: "token in X-API-Key", apiKey: token, want: ReasonUnknownKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), tt.authorization, tt.apiKey)
			if tt.want == "" {
				require.NoError(t, err)
				assert.Equal(t, tt.wantKind, p.Kind)
				return
			}
			assert.Nil(t, p)
			e := requireReason(t, err, tt.want)
			assert.Equal(t, e.Message, err.Error())
			assertNoLeak(t, err, nil, token, key, "dXNlcjpwYXNz")
		})
	}
}
