package auth

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAuthenticateJWT(t *testing.T) {
	k := newKeys(t)
	clk := newClock()
	now := clk.Now()
	logs := &syncBuffer{}
	pemKeys := append(pkixPEM(t, &k.rsa.PublicKey), pkixPEM(t, &k.ec.PublicKey)...)
	a := newAuth(t, Config{
		HS256Secret:  []byte(testSecret),
		PublicKeyPEM: pemKeys,
		Issuer:       testIssuer,
		Audience:     testAudience,
		Now:          clk.Now,
		Logger:       debugLogger(logs),
	})

	with := func(mod func(jwt.MapClaims)) jwt.MapClaims {
		c := claimsAt(now)
		mod(c)
		return c
	}
	withHeader := func(method jwt.SigningMethod, key any, name string, value any) string {
		tok := jwt.NewWithClaims(method, claimsAt(now))
		tok.Header[name] = value
		s, err := tok.SignedString(key)
		require.NoError(t, err)
		return s
	}
	none, err := jwt.NewWithClaims(jwt.SigningMethodNone, claimsAt(now)).SignedString(jwt.UnsafeAllowNoneSignatureType)
	require.NoError(t, err)

	tests := []struct {
		name  string
		token string
		want  Reason // "" means accepted
	}{
		{"HS256 ok", sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claimsAt(now)), ""},
		{"RS256 via PEM ok", sign(t, jwt.SigningMethodRS256, k.rsa, "", claimsAt(now)), ""},
		{"RS256 via PEM ok whatever the kid", sign(t, jwt.SigningMethodRS256, k.rsa, "some-kid", claimsAt(now)), ""},
		{"ES256 via PEM ok", sign(t, jwt.SigningMethodES256, k.ec, "", claimsAt(now)), ""},
		{"audience array containing ours", sign(t, jwt.SigningMethodRS256, k.rsa, "",
			with(func(c jwt.MapClaims) { c["aud"] = []string{"other", testAudience} })), ""},
		{"expired within leeway", sign(t, jwt.SigningMethodHS256, []byte(testSecret), "",
			with(func(c jwt.MapClaims) { c["exp"] = now.Add(-20 * time.Second).Unix() })), ""},
		{"expired", sign(t, jwt.SigningMethodRS256, k.rsa, "",
			with(func(c jwt.MapClaims) { c["exp"] = now.Add(-time.Minute).Unix() })), ReasonExpired},
		{"not yet valid", sign(t, jwt.SigningMethodRS256, k.rsa, "",
			with(func(c jwt.MapClaims) { c["nbf"] = now.Add(time.Minute).Unix() })), ReasonNotYetValid},
		{"issued in the future", sign(t, jwt.SigningMethodRS256, k.rsa, "",
			with(func(c jwt.MapClaims) { c["iat"] = now.Add(time.Minute).Unix() })), ReasonNotYetValid},
		{"no exp", sign(t, jwt.SigningMethodHS256, []byte(testSecret), "",
			with(func(c jwt.MapClaims) { delete(c, "exp") })), ReasonMalformed},
		{"exp of the wrong type", sign(t, jwt.SigningMethodHS256, []byte(testSecret), "",
			with(func(c jwt.MapClaims) { c["exp"] = "tomorrow" })), ReasonMalformed},
		{"sub not a string", sign(t, jwt.SigningMethodHS256, []byte(testSecret), "",
			with(func(c jwt.MapClaims) { c["sub"] = 42 })), ReasonMalformed},
		{"wrong issuer", sign(t, jwt.SigningMethodRS256, k.rsa, "",
			with(func(c jwt.MapClaims) { c["iss"] = "https://evil.example.com/" })), ReasonIssuer},
		{"no issuer", sign(t, jwt.SigningMethodRS256, k.rsa, "",
			with(func(c jwt.MapClaims) { delete(c, "iss") })), ReasonIssuer},
		{"wrong issuer wins over expired", sign(t, jwt.SigningMethodRS256, k.rsa, "",
			with(func(c jwt.MapClaims) {
				c["iss"] = "https://evil.example.com/"
				c["exp"] = now.Add(-time.Hour).Unix()
			})), ReasonIssuer},
		{"wrong audience", sign(t, jwt.SigningMethodRS256, k.rsa, "",
			with(func(c jwt.MapClaims) { c["aud"] = "another-service" })), ReasonAudience},
		{"audience array without ours", sign(t, jwt.SigningMethodRS256, k.rsa, "",
			with(func(c jwt.MapClaims) { c["aud"] = []string{"a", "b"} })), ReasonAudience},
		{"no audience", sign(t, jwt.SigningMethodRS256, k.rsa, "",
			with(func(c jwt.MapClaims) { delete(c, "aud") })), ReasonAudience},
		{"signed by another RSA key", sign(t, jwt.SigningMethodRS256, k.rsa2, "", claimsAt(now)), ReasonSignature},
		{"signed by another EC key", sign(t, jwt.SigningMethodES256, k.ec2, "", claimsAt(now)), ReasonSignature},
		{"HS256 with another secret", sign(t, jwt.SigningMethodHS256, []byte(strings.Repeat("x", 32)), "", claimsAt(now)), ReasonSignature},
		{"alg confusion: HS256 keyed with the RSA public key PEM", sign(t, jwt.SigningMethodHS256, pkixPEM(t, &k.rsa.PublicKey), "", claimsAt(now)), ReasonSignature},
		{"alg none", none, ReasonAlgorithm},
		{"alg HS512", sign(t, jwt.SigningMethodHS512, []byte(testSecret), "", claimsAt(now)), ReasonAlgorithm},
		{"alg PS256", sign(t, jwt.SigningMethodPS256, k.rsa, "", claimsAt(now)), ReasonAlgorithm},
		{"long unknown alg", withHeader(jwt.SigningMethodHS256, []byte(testSecret), "alg", strings.Repeat("A", 100)), ReasonAlgorithm},
		{"empty alg", withHeader(jwt.SigningMethodHS256, []byte(testSecret), "alg", ""), ReasonAlgorithm},
		{"crit header", withHeader(jwt.SigningMethodHS256, []byte(testSecret), "crit", []string{"exp"}), ReasonMalformed},
		{"alg of the wrong type", withHeader(jwt.SigningMethodHS256, []byte(testSecret), "alg", 256), ReasonMalformed},
		{"two segments", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJ4In0", ReasonMalformed},
		{"garbage segments", "not.a.jwt", ReasonMalformed},
		{"bad signature encoding", sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claimsAt(now)) + "!!", ReasonMalformed},
		{"larger than 16 KB", sign(t, jwt.SigningMethodHS256, []byte(testSecret), "",
			with(func(c jwt.MapClaims) { c["pad"] = strings.Repeat("p", 16<<10) })), ReasonMalformed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), "Bearer "+tt.token, "")
			if tt.want == "" {
				require.NoError(t, err)
				assert.Equal(t, KindJWT, p.Kind)
				assert.Equal(t, "user-42", p.Subject)
				assert.Equal(t, testIssuer, p.Issuer)
				assert.Equal(t, "jwt:"+testIssuer+"|user-42", p.ClientID())
				assert.False(t, p.ExpiresAt.IsZero())
				return
			}
			assert.Nil(t, p)
			requireReason(t, err, tt.want)
			assertNoLeak(t, err, logs, tt.token, tt.token[strings.LastIndex(tt.token, ".")+1:], testSecret)
		})
	}
}

func TestAlgorithmConfusionWithoutSecret(t *testing.T) {
	k := newKeys(t)
	clk := newClock()
	pubPEM := pkixPEM(t, &k.rsa.PublicKey)
	a := newAuth(t, Config{PublicKeyPEM: pubPEM, Issuer: testIssuer, Audience: testAudience, Now: clk.Now})

	tests := []struct {
		name   string
		secret []byte
	}{
		{"PEM bytes as secret", pubPEM},
		{"DER modulus as secret", k.rsa.N.Bytes()},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			token := sign(t, jwt.SigningMethodHS256, tt.secret, "", claimsAt(clk.Now()))
			_, err := a.Authenticate(context.Background(), "Bearer "+token, "")
			e := requireReason(t, err, ReasonAlgorithm)
			assert.Contains(t, e.Message, `"HS256"`)
			assert.Contains(t, e.Message, "RS256")
		})
	}
}

func TestCertificatePEM(t *testing.T) {
	k := newKeys(t)
	clk := newClock()
	a := newAuth(t, Config{PublicKeyPEM: certPEM(t, k.rsa), Issuer: testIssuer, Audience: testAudience, Now: clk.Now})

	_, err := a.Authenticate(context.Background(), "Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa, "", claimsAt(clk.Now())), "")
	require.NoError(t, err)
	_, err = a.Authenticate(context.Background(), "Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa2, "", claimsAt(clk.Now())), "")
	requireReason(t, err, ReasonSignature)
	// The certificate holds an RSA key, so ES256 is not accepted at all.
	_, err = a.Authenticate(context.Background(), "Bearer "+sign(t, jwt.SigningMethodES256, k.ec, "", claimsAt(clk.Now())), "")
	requireReason(t, err, ReasonAlgorithm)
}

func TestClaimsToPrincipal(t *testing.T) {
	clk := newClock()
	now := clk.Now()
	tests := []struct {
		name       string
		cfg        Config
		claims     map[string]any
		wantEmail  string
		wantScopes []string
	}{
		{
			name:       "no scopes or email",
			wantScopes: nil,
		},
		{
			name:       "scope string",
			claims:     map[string]any{"scope": "read:rooms  book:desks", "email": "ada@example.com"},
			wantEmail:  "ada@example.com",
			wantScopes: []string{"read:rooms", "book:desks"},
		},
		{
			name:       "scp string and array, roles array, deduplicated",
			claims:     map[string]any{"scope": "a b", "scp": []any{"b", "c"}, "roles": []any{"admin", "a", 7}},
			wantScopes: []string{"a", "b", "c", "admin"},
		},
		{
			name:       "scp space-separated string and a single role string",
			claims:     map[string]any{"scp": "x y", "roles": "desk admin"},
			wantScopes: []string{"x", "y", "desk admin"},
		},
		{
			name:       "email of the wrong type is ignored",
			claims:     map[string]any{"email": []any{"a@example.com"}},
			wantScopes: nil,
		},
		{
			name:       "custom claim names",
			cfg:        Config{EmailClaim: "upn", RoleClaim: "groups"},
			claims:     map[string]any{"upn": "grace@example.com", "email": "other@example.com", "groups": []any{"ops"}, "roles": []any{"ignored"}},
			wantEmail:  "grace@example.com",
			wantScopes: []string{"ops"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.HS256Secret, cfg.Issuer, cfg.Audience, cfg.Now = []byte(testSecret), testIssuer, testAudience, clk.Now
			a := newAuth(t, cfg)
			c := claimsAt(now)
			for name, v := range tt.claims {
				c[name] = v
			}
			p, err := a.Authenticate(context.Background(), "Bearer "+sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", c), "")
			require.NoError(t, err)
			assert.Equal(t, tt.wantEmail, p.Email)
			assert.Equal(t, tt.wantScopes, p.Scopes)
			assert.Equal(t, now.Add(time.Hour).Unix(), p.ExpiresAt.Unix())
			for _, s := range tt.wantScopes {
				assert.True(t, p.Has(s), s)
			}
		})
	}
}
