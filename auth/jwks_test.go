package auth

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func jwksConfig(srv *jwksServer, clk *clock) Config {
	return Config{
		JWKSURL:        srv.URL,
		JWKSMinRefetch: 10 * time.Second,
		Issuer:         testIssuer,
		Audience:       testAudience,
		Now:            clk.Now,
	}
}

func TestJWKS(t *testing.T) {
	k := newKeys(t)
	clk := newClock()
	srv := newJWKSServer(t, jwkFor(t, "rsa-1", &k.rsa.PublicKey), jwkFor(t, "ec-1", &k.ec.PublicKey))
	a := newAuth(t, jwksConfig(srv, clk))
	require.EqualValues(t, 1, srv.hits.Load(), "New fetches the JWKS once")

	tests := []struct {
		name  string
		token string
		want  Reason
	}{
		{"RS256 by kid", sign(t, jwt.SigningMethodRS256, k.rsa, "rsa-1", claimsAt(clk.Now())), ""},
		{"ES256 by kid", sign(t, jwt.SigningMethodES256, k.ec, "ec-1", claimsAt(clk.Now())), ""},
		{"RS256 without kid", sign(t, jwt.SigningMethodRS256, k.rsa, "", claimsAt(clk.Now())), ""},
		{"known kid, wrong key", sign(t, jwt.SigningMethodRS256, k.rsa2, "rsa-1", claimsAt(clk.Now())), ReasonSignature},
		{"EC kid named by an RS256 token", sign(t, jwt.SigningMethodRS256, k.rsa, "ec-1", claimsAt(clk.Now())), ReasonSignature},
		{"unknown kid", sign(t, jwt.SigningMethodRS256, k.rsa, "nope", claimsAt(clk.Now())), ReasonSignature},
		{"no kid, wrong key", sign(t, jwt.SigningMethodES256, k.ec2, "", claimsAt(clk.Now())), ReasonSignature},
		{"HS256 is not accepted", sign(t, jwt.SigningMethodHS256, []byte(testSecret), "", claimsAt(clk.Now())), ReasonAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), "Bearer "+tt.token, "")
			if tt.want == "" {
				require.NoError(t, err)
				assert.Equal(t, "user-42", p.Subject)
				return
			}
			requireReason(t, err, tt.want)
			assertNoLeak(t, err, nil, tt.token)
		})
	}
	// Every unknown kid above arrived within JWKSMinRefetch of New's fetch.
	assert.EqualValues(t, 1, srv.hits.Load())
}

func TestJWKSRotation(t *testing.T) {
	k := newKeys(t)
	clk := newClock()
	srv := newJWKSServer(t, jwkFor(t, "old", &k.rsa.PublicKey))
	a := newAuth(t, jwksConfig(srv, clk))
	ctx := context.Background()
	oldToken := sign(t, jwt.SigningMethodRS256, k.rsa, "old", claimsAt(clk.Now()))

	_, err := a.Authenticate(ctx, "Bearer "+oldToken, "")
	require.NoError(t, err)

	// The IdP rotates: the new key replaces the old one.
	srv.set(t, jwkFor(t, "new", &k.rsa2.PublicKey))
	clk.Advance(11 * time.Second)
	newToken := sign(t, jwt.SigningMethodRS256, k.rsa2, "new", claimsAt(clk.Now()))
	p, err := a.Authenticate(ctx, "Bearer "+newToken, "")
	require.NoError(t, err, "the unknown kid prompts a re-fetch that finds the new key")
	assert.Equal(t, "user-42", p.Subject)
	assert.EqualValues(t, 2, srv.hits.Load())

	_, err = a.Authenticate(ctx, "Bearer "+oldToken, "")
	requireReason(t, err, ReasonSignature)
	assert.EqualValues(t, 2, srv.hits.Load(), "the re-fetch for the old kid is rate-limited")

	// Without a kid, a token of a type the loaded JWKS lacks is rejected
	// without a fetch.
	clk.Advance(time.Minute)
	_, err = a.Authenticate(ctx, "Bearer "+sign(t, jwt.SigningMethodES256, k.ec, "", claimsAt(clk.Now())), "")
	requireReason(t, err, ReasonSignature)
	assert.EqualValues(t, 2, srv.hits.Load())
}

func TestJWKSUnknownKidRateLimit(t *testing.T) {
	k := newKeys(t)
	clk := newClock()
	srv := newJWKSServer(t, jwkFor(t, "k1", &k.rsa.PublicKey))
	a := newAuth(t, jwksConfig(srv, clk))
	ctx := context.Background()
	garbage := func(kid string) string {
		return "Bearer " + sign(t, jwt.SigningMethodRS256, k.rsa2, kid, claimsAt(clk.Now()))
	}

	clk.Advance(11 * time.Second)
	for i, kid := range []string{"x1", "x2", "x3", "x4"} {
		_, err := a.Authenticate(ctx, garbage(kid), "")
		requireReason(t, err, ReasonSignature)
		assert.EqualValues(t, 2, srv.hits.Load(), "request %d", i)
	}

	clk.Advance(9 * time.Second)
	_, err := a.Authenticate(ctx, garbage("x5"), "")
	requireReason(t, err, ReasonSignature)
	assert.EqualValues(t, 2, srv.hits.Load(), "still within JWKSMinRefetch")

	clk.Advance(2 * time.Second)
	var wg sync.WaitGroup
	for i := range 32 {
		token := garbage("concurrent-" + string(rune('a'+i%26)))
		wg.Go(func() {
			_, err := a.Authenticate(ctx, token, "")
			assert.Error(t, err)
		})
	}
	wg.Wait()
	assert.EqualValues(t, 3, srv.hits.Load(), "concurrent unknown kids share one re-fetch")

	// A known kid with a bad signature never prompts a fetch.
	clk.Advance(time.Minute)
	_, err = a.Authenticate(ctx, garbage("k1"), "")
	requireReason(t, err, ReasonSignature)
	assert.EqualValues(t, 3, srv.hits.Load())
}

func TestJWKSDownAtStart(t *testing.T) {
	k := newKeys(t)
	clk := newClock()
	logs := &syncBuffer{}
	srv := newJWKSServer(t, jwkFor(t, "k1", &k.ec.PublicKey))
	srv.setStatus(http.StatusServiceUnavailable)
	cfg := jwksConfig(srv, clk)
	cfg.Logger = debugLogger(logs)
	a := newAuth(t, cfg)
	assert.Contains(t, logs.String(), "level=WARN")
	ctx := context.Background()
	token := "Bearer " + sign(t, jwt.SigningMethodES256, k.ec, "k1", claimsAt(clk.Now()))

	_, err := a.Authenticate(ctx, token, "")
	requireReason(t, err, ReasonKeysUnavailable)

	clk.Advance(11 * time.Second)
	_, err = a.Authenticate(ctx, token, "")
	requireReason(t, err, ReasonKeysUnavailable)
	assert.EqualValues(t, 2, srv.hits.Load(), "the failed fetch was retried on demand")

	srv.setStatus(http.StatusOK)
	_, err = a.Authenticate(ctx, token, "")
	requireReason(t, err, ReasonKeysUnavailable)
	assert.EqualValues(t, 2, srv.hits.Load(), "retries are rate-limited")

	clk.Advance(11 * time.Second)
	p, err := a.Authenticate(ctx, token, "")
	require.NoError(t, err)
	assert.Equal(t, "user-42", p.Subject)
	assertNoLeak(t, nil, logs, strings.TrimPrefix(token, "Bearer "))
}

func TestJWKSUnreachableAtStart(t *testing.T) {
	clk := newClock()
	srv := newJWKSServer(t)
	srv.Close() // nothing listens at the URL any more
	a := newAuth(t, jwksConfig(srv, clk))

	k := newKeys(t)
	_, err := a.Authenticate(context.Background(), "Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa, "", claimsAt(clk.Now())), "")
	requireReason(t, err, ReasonKeysUnavailable)
}

func TestJWKSFailedFetchKeepsKeys(t *testing.T) {
	k := newKeys(t)
	clk := newClock()
	srv := newJWKSServer(t, jwkFor(t, "k1", &k.rsa.PublicKey))
	a := newAuth(t, jwksConfig(srv, clk))
	ctx := context.Background()

	tests := []struct {
		name     string
		sabotage func()
	}{
		{"server error", func() { srv.setStatus(http.StatusInternalServerError) }},
		{"not JSON", func() { srv.setRaw([]byte("<html>")) }},
		{"no usable key", func() { srv.set(t, map[string]string{"kty": "oct", "kid": "k1", "k": "c2VjcmV0"}) }},
		{"larger than 1 MB", func() {
			srv.setRaw([]byte(`{"keys":[],"pad":"` + strings.Repeat("p", 1<<20) + `"}`))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.sabotage()
			t.Cleanup(func() {
				srv.setStatus(http.StatusOK)
				srv.set(t, jwkFor(t, "k1", &k.rsa.PublicKey))
			})
			hits := srv.hits.Load()
			clk.Advance(11 * time.Second)
			_, err := a.Authenticate(ctx, "Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa, "unknown", claimsAt(clk.Now())), "")
			requireReason(t, err, ReasonKeysUnavailable)
			assert.Equal(t, hits+1, srv.hits.Load())

			_, err = a.Authenticate(ctx, "Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa, "k1", claimsAt(clk.Now())), "")
			require.NoError(t, err, "the cached key still verifies")
		})
	}
}

func TestJWKSBackgroundRefresh(t *testing.T) {
	k := newKeys(t)
	clk := newClock() // frozen, so no on-demand re-fetch is ever due
	srv := newJWKSServer(t, jwkFor(t, "old", &k.rsa.PublicKey))
	served := make(chan int, 16)
	srv.mu.Lock()
	srv.served = served
	srv.mu.Unlock()
	cfg := jwksConfig(srv, clk)
	cfg.JWKSRefresh = 5 * time.Millisecond
	a := newAuth(t, cfg)
	ctx := context.Background()

	srv.set(t, jwkFor(t, "new", &k.rsa2.PublicKey))
	// The second time the new document is served, the first has been
	// stored: fetches run one at a time.
	waitServed(t, served, 2, 2)

	_, err := a.Authenticate(ctx, "Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa2, "new", claimsAt(clk.Now())), "")
	require.NoError(t, err)
	_, err = a.Authenticate(ctx, "Bearer "+sign(t, jwt.SigningMethodRS256, k.rsa, "old", claimsAt(clk.Now())), "")
	requireReason(t, err, ReasonSignature)

	a.Close()
	a.Close() // idempotent
	hits := srv.hits.Load()
	select {
	case <-a.jwks.done:
	default:
		t.Fatal("Close returned before the refresh goroutine ended")
	}
	assert.Equal(t, hits, srv.hits.Load())
}

// waitServed waits until version has been served n times.
func waitServed(t *testing.T, served <-chan int, version, n int) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for n > 0 {
		select {
		case v := <-served:
			if v == version {
				n--
			}
		case <-timeout:
			t.Fatal("the JWKS was not refreshed in the background")
		}
	}
}

func TestParseJWKS(t *testing.T) {
	k := newKeys(t)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	good := jwkFor(t, "good", &k.rsa.PublicKey)
	with := func(m map[string]string, name, value string) map[string]string {
		out := map[string]string{}
		for k, v := range m {
			out[k] = v
		}
		out[name] = value
		return out
	}
	ec := jwkFor(t, "ec", &k.ec.PublicKey)
	offCurve := with(ec, "y", ec["x"])

	tests := []struct {
		name     string
		keys     []any
		wantKids []string
		wantSkip int
		wantErr  string
	}{
		{"RSA and EC", []any{good, ec}, []string{"good", "ec"}, 0, ""},
		{"padded base64 tolerated", []any{with(good, "e", good["e"]+"=")}, []string{"good"}, 0, ""},
		{"no alg or use", []any{with(with(good, "alg", ""), "use", "")}, []string{"good"}, 0, ""},
		{"unusable keys skipped", []any{
			with(good, "use", "enc"),
			with(good, "alg", "RS512"),
			with(ec, "crv", "P-384"),
			with(ec, "alg", "ES384"),
			map[string]string{"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
			map[string]string{"kty": "OKP", "kid": "ed", "crv": "Ed25519", "x": "AAAA"},
			with(good, "n", "!!"),
			with(good, "e", "AQ"),
			with(good, "e", "AAAAAQAB"),
			jwkFor(t, "small", &small.PublicKey),
			offCurve,
			with(ec, "x", "AAAA"),
			map[string]any{"kty": "RSA", "kid": 5},
			ec,
		}, []string{"ec"}, 13, ""},
		{"no usable key", []any{with(good, "kty", "oct")}, nil, 1, "no usable"},
		{"empty", []any{}, nil, 0, "no usable"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc, err := json.Marshal(map[string]any{"keys": tt.keys})
			require.NoError(t, err)
			keys, skipped, err := parseJWKS(doc)
			assert.Len(t, skipped, tt.wantSkip, "%q", skipped)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var kids []string
			for _, k := range keys {
				kids = append(kids, k.kid)
			}
			assert.Equal(t, tt.wantKids, kids)
		})
	}

	for _, doc := range []string{`[]`, `{}`, `{"keys":{}}`, `not json`} {
		_, _, err := parseJWKS([]byte(doc))
		assert.Error(t, err, doc)
	}
}

func TestJWKSWithPEM(t *testing.T) {
	k := newKeys(t)
	clk := newClock()
	srv := newJWKSServer(t, jwkFor(t, "idp", &k.ec.PublicKey))
	cfg := jwksConfig(srv, clk)
	cfg.PublicKeyPEM = pkixPEM(t, &k.rsa.PublicKey)
	a := newAuth(t, cfg)
	ctx := context.Background()
	clk.Advance(time.Minute) // any unknown kid may prompt a re-fetch

	tests := []struct {
		name      string
		token     string
		want      Reason
		wantFetch bool
	}{
		{"PEM key with a kid the JWKS lacks", sign(t, jwt.SigningMethodRS256, k.rsa, "static", claimsAt(clk.Now())), "", false},
		{"expired PEM token is not a stale cache", sign(t, jwt.SigningMethodRS256, k.rsa, "static",
			jwt.MapClaims{"iss": testIssuer, "aud": testAudience, "exp": clk.Now().Add(-time.Hour).Unix()}), ReasonExpired, false},
		{"JWKS key", sign(t, jwt.SigningMethodES256, k.ec, "idp", claimsAt(clk.Now())), "", false},
		{"unknown kid, no key verifies", sign(t, jwt.SigningMethodRS256, k.rsa2, "other", claimsAt(clk.Now())), ReasonSignature, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hits := srv.hits.Load()
			_, err := a.Authenticate(ctx, "Bearer "+tt.token, "")
			if tt.want == "" {
				require.NoError(t, err)
			} else {
				e := requireReason(t, err, tt.want)
				if tt.want == ReasonSignature {
					assert.Contains(t, e.Message, "does not verify with any configured key")
				}
			}
			fetched := srv.hits.Load() > hits
			assert.Equal(t, tt.wantFetch, fetched, "re-fetched")
		})
	}
}
