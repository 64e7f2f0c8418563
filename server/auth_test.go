package server

// End-to-end tests of client authentication: every way a credential can be
// wrong, over real HTTP and real websockets, against a gateway in front of an
// engagesim, with JWTs verified by a shared secret and by the keys of a JWKS
// endpoint that rotates them.

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/engagegql/gateway/auth"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/pubsub"
	"github.com/engagegql/gateway/socket"
	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	authIssuer   = "https://idp.example.test/"
	authAudience = "engage-gateway"
	authSecret   = "a-shared-secret-of-at-least-thirty-two-bytes"
	authKioskKey = "kiosk-key-3f9a1c7e5b2d4680"
	authBoardKey = "board-key-8e1f2a3b4c5d6e7f"
)

// jwksServer serves a JWKS document whose keys a test can rotate.
type jwksServer struct {
	mu   sync.Mutex
	keys map[string]*rsa.PrivateKey
	hits int
	srv  *httptest.Server
}

func newJWKSServer(t *testing.T) *jwksServer {
	t.Helper()
	j := &jwksServer{keys: map[string]*rsa.PrivateKey{}}
	j.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		j.mu.Lock()
		defer j.mu.Unlock()
		j.hits++
		var doc struct {
			Keys []map[string]string `json:"keys"`
		}
		for kid, k := range j.keys {
			doc.Keys = append(doc.Keys, map[string]string{
				"kty": "RSA", "kid": kid, "use": "sig", "alg": "RS256",
				"n": base64.RawURLEncoding.EncodeToString(k.N.Bytes()),
				"e": base64.RawURLEncoding.EncodeToString(big.NewInt(int64(k.E)).Bytes()),
			})
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(doc)
	}))
	t.Cleanup(j.srv.Close)
	return j
}

// rotate publishes a new key under kid and withdraws every other.
func (j *jwksServer) rotate(t *testing.T, kid string) *rsa.PrivateKey {
	t.Helper()
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	j.mu.Lock()
	defer j.mu.Unlock()
	j.keys = map[string]*rsa.PrivateKey{kid: k}
	return k
}

// claims are a token's claims, valid by default.
func claims(email string, extra map[string]any) jwt.MapClaims {
	c := jwt.MapClaims{
		"iss": authIssuer, "aud": authAudience, "sub": "user-" + email, "email": email,
		"iat": time.Now().Unix(), "exp": time.Now().Add(time.Hour).Unix(),
	}
	for k, v := range extra {
		if v == nil {
			delete(c, k)
			continue
		}
		c[k] = v
	}
	return c
}

func signHS(t *testing.T, c jwt.MapClaims) string {
	t.Helper()
	s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, c).SignedString([]byte(authSecret))
	require.NoError(t, err)
	return s
}

func signRS(t *testing.T, key *rsa.PrivateKey, kid string, c jwt.MapClaims) string {
	t.Helper()
	tok := jwt.NewWithClaims(jwt.SigningMethodRS256, c)
	tok.Header["kid"] = kid
	s, err := tok.SignedString(key)
	require.NoError(t, err)
	return s
}

func keyHash(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

// authEnv is a gateway that requires authentication.
type authEnv struct {
	*apiStack
	jwks *jwksServer
	key  *rsa.PrivateKey
}

// newAuthEnv starts a gateway that requires authentication; each edit may
// change its other deps before it is built.
func newAuthEnv(t *testing.T, edits ...func(*serverDeps)) *authEnv {
	t.Helper()
	jwks := newJWKSServer(t)
	key := jwks.rotate(t, "k1")
	keys, err := auth.ParseAPIKeys("kiosk:" + keyHash(authKioskKey) + ":engage:act-as,board:" + keyHash(authBoardKey))
	require.NoError(t, err)
	a, err := auth.New(auth.Config{
		HS256Secret: []byte(authSecret), JWKSURL: jwks.srv.URL,
		Issuer: authIssuer, Audience: authAudience, APIKeys: keys,
		JWKSMinRefetch: time.Millisecond,
	})
	require.NoError(t, err)
	t.Cleanup(a.Close)
	today := time.Now().UTC()
	s := newStackWithDeps(t, engagesim.Config{Fixture: engagesim.DemoFixture(1, today)}, loader.Options{}, func(d *serverDeps) {
		d.auth = a
		d.feed = brokerFeed{b: pubsub.NewMemory(pubsub.Options{})}
		for _, edit := range edits {
			edit(d)
		}
	})
	return &authEnv{apiStack: &apiStack{stack: s, fx: engagesim.DemoFixture(1, today)}, jwks: jwks, key: key}
}

// post sends one operation to this gateway with the given headers.
func (e *authEnv) post(t testing.TB, headers map[string]string, query string, vars map[string]any) (int, http.Header, gqlResponse) {
	t.Helper()
	return postGraphQL(t, e.gwURL, headers, query, vars)
}

func TestAuthenticationRefusesBadCredentialsBeforeAnyUpstreamCall(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	otherKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	user := e.fx.Users[3].Email
	const q = `{ countries { name } }`

	tests := []struct {
		name    string
		headers map[string]string
		reason  auth.Reason
		says    string
	}{
		{"missing", nil, auth.ReasonMissing, ""},
		{"not bearer", map[string]string{"Authorization": "Basic dXNlcjpwYXNz"}, auth.ReasonMalformed, ""},
		{"malformed token", bearer("not.a.jwt"), auth.ReasonMalformed, ""},
		{"expired", bearer(signHS(t, claims(user, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}))), auth.ReasonExpired, "expired"},
		{"no expiry", bearer(signHS(t, claims(user, map[string]any{"exp": nil}))), "", ""},
		{"wrong issuer", bearer(signHS(t, claims(user, map[string]any{"iss": "https://evil.example.test/"}))), auth.ReasonIssuer, "issuer"},
		{"wrong audience", bearer(signHS(t, claims(user, map[string]any{"aud": "another-service"}))), auth.ReasonAudience, "audience"},
		{"wrong key", bearer(signRS(t, otherKey, "k1", claims(user, nil))), auth.ReasonSignature, "signature"},
		{"wrong secret", bearer(func() string {
			s, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims(user, nil)).SignedString([]byte("another-secret-of-at-least-thirty-two-bytes"))
			require.NoError(t, err)
			return s
		}()), auth.ReasonSignature, "signature"},
		{"unknown API key", map[string]string{"X-API-Key": "no-such-key"}, auth.ReasonUnknownKey, ""},
	}
	e.resetStats(t)
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			status, h, resp := e.post(t, tc.headers, q, nil)
			assert.Equal(t, http.StatusUnauthorized, status)
			assert.Contains(t, h.Get("WWW-Authenticate"), "Bearer")
			require.Len(t, resp.Errors, 1)
			assert.Equal(t, "UNAUTHENTICATED", resp.Errors[0].Extensions["code"])
			if tc.reason != "" {
				assert.Equal(t, string(tc.reason), resp.Errors[0].Extensions["reason"], resp.Errors[0].Message)
			}
			assert.Contains(t, resp.Errors[0].Message, tc.says)
			if tok, ok := tc.headers["Authorization"]; ok {
				assert.NotContains(t, resp.Errors[0].Message, strings.TrimPrefix(tok, "Bearer "), "the token is never echoed")
			}
		})
	}
	assert.Zero(t, e.stats(t).TotalCalls+e.stats(t).TokenRequests, "no refused request reached the upstream")
}

func TestAuthenticationAcceptsEveryConfiguredMethod(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	user := e.fx.Users[3].Email
	const q = `{ countries { name } }`
	ok := func(t *testing.T, headers map[string]string) {
		t.Helper()
		status, h, resp := e.post(t, headers, q, nil)
		require.Equal(t, http.StatusOK, status)
		require.Empty(t, resp.Errors)
		assert.Contains(t, string(resp.Data), "countries")
		assert.NotEmpty(t, h.Get("X-Request-Id"), "every answer names its request id")
	}
	t.Run("HS256", func(t *testing.T) { ok(t, bearer(signHS(t, claims(user, nil)))) })
	t.Run("RS256 from the JWKS", func(t *testing.T) { ok(t, bearer(signRS(t, e.key, "k1", claims(user, nil)))) })
	t.Run("audience among several", func(t *testing.T) {
		ok(t, bearer(signHS(t, claims(user, map[string]any{"aud": []string{"other", authAudience}}))))
	})
	t.Run("API key header", func(t *testing.T) { ok(t, map[string]string{"X-API-Key": authKioskKey}) })
	t.Run("API key scheme", func(t *testing.T) { ok(t, map[string]string{"Authorization": "ApiKey " + authBoardKey}) })

	t.Run("JWKS rotation", func(t *testing.T) {
		old := e.key
		fresh := e.jwks.rotate(t, "k2")
		// A token signed with the new key is accepted at once: its unknown
		// kid makes the gateway fetch the keys again.
		ok(t, bearer(signRS(t, fresh, "k2", claims(user, nil))))
		// The withdrawn key no longer opens the gateway.
		status, _, resp := e.post(t, bearer(signRS(t, old, "k1", claims(user, nil))), q, nil)
		assert.Equal(t, http.StatusUnauthorized, status)
		require.Len(t, resp.Errors, 1)
		assert.Equal(t, string(auth.ReasonSignature), resp.Errors[0].Extensions["reason"])
	})
}

// registerVisitor registers a visitor at London HQ tomorrow and returns the
// payload's host email, or the GraphQL error code.
func (e *authEnv) registerVisitor(t *testing.T, headers map[string]string, actingUserEmail string) (host, code string) {
	t.Helper()
	_, _, locs := e.post(t, headers, `{ locations { id name } }`, nil)
	require.Empty(t, locs.Errors)
	var d struct{ Locations []struct{ ID, Name string } }
	require.NoError(t, json.Unmarshal(locs.Data, &d))
	var locID string
	for _, l := range d.Locations {
		if l.Name == "London HQ" {
			locID = l.ID
		}
	}
	require.NotEmpty(t, locID)
	in := map[string]any{
		"firstName": "Ada", "lastName": "Lovelace", "locationId": locID,
		"arrival": time.Now().Add(26 * time.Hour).UTC().Truncate(time.Minute).Format(time.RFC3339),
	}
	if actingUserEmail != "" {
		in["actingUserEmail"] = actingUserEmail
	}
	_, _, resp := e.post(t, headers, `mutation($in: RegisterVisitorInput!) { registerVisitor(input: $in) { visitor { host { email } } errors { code message } } }`, map[string]any{"in": in})
	if len(resp.Errors) > 0 {
		return "", resp.Errors[0].Extensions["code"].(string) + ": " + resp.Errors[0].Message
	}
	var p struct {
		RegisterVisitor struct {
			Visitor *struct{ Host struct{ Email string } }
			Errors  []struct{ Code, Message string }
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &p))
	if len(p.RegisterVisitor.Errors) > 0 {
		return "", p.RegisterVisitor.Errors[0].Code + ": " + p.RegisterVisitor.Errors[0].Message
	}
	require.NotNil(t, p.RegisterVisitor.Visitor)
	return p.RegisterVisitor.Visitor.Host.Email, ""
}

func TestAuthenticationActingForAnotherUserNeedsTheGrant(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	me, other := e.fx.Users[20].Email, e.fx.Users[21].Email

	t.Run("the caller acts as themself by default", func(t *testing.T) {
		host, code := e.registerVisitor(t, bearer(signHS(t, claims(me, nil))), "")
		require.Empty(t, code)
		assert.Equal(t, me, host)
	})
	t.Run("naming themself is fine", func(t *testing.T) {
		host, code := e.registerVisitor(t, bearer(signHS(t, claims(me, nil))), strings.ToUpper(me))
		require.Empty(t, code)
		assert.Equal(t, me, host)
	})
	t.Run("acting for another without the grant is forbidden", func(t *testing.T) {
		_, code := e.registerVisitor(t, bearer(signHS(t, claims(me, nil))), other)
		assert.True(t, strings.HasPrefix(code, "FORBIDDEN: "), code)
		assert.Contains(t, code, defaultActAsGrant, "the refusal names the missing grant")
	})
	t.Run("acting for another with the scope", func(t *testing.T) {
		host, code := e.registerVisitor(t, bearer(signHS(t, claims(me, map[string]any{"scope": "openid " + defaultActAsGrant}))), other)
		require.Empty(t, code)
		assert.Equal(t, other, host)
	})
	t.Run("acting for another with the role", func(t *testing.T) {
		host, code := e.registerVisitor(t, bearer(signHS(t, claims(me, map[string]any{"roles": []string{defaultActAsGrant}}))), other)
		require.Empty(t, code)
		assert.Equal(t, other, host)
	})
	t.Run("a kiosk key with the grant names the user", func(t *testing.T) {
		host, code := e.registerVisitor(t, map[string]string{"X-API-Key": authKioskKey}, other)
		require.Empty(t, code)
		assert.Equal(t, other, host)
	})
	t.Run("a key without the grant may not act for anyone", func(t *testing.T) {
		_, code := e.registerVisitor(t, map[string]string{"X-API-Key": authBoardKey}, other)
		assert.True(t, strings.HasPrefix(code, "FORBIDDEN: "), code)
	})
}

// dialAuth opens a graphql-transport-ws websocket and sends connection_init
// with payload; it returns the socket and the first message or close.
func dialAuth(t *testing.T, gwURL string, header http.Header, payload map[string]any) (*websocket.Conn, wsMessage, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), subTimeout)
	t.Cleanup(cancel)
	c, _, err := websocket.Dial(ctx, wsURL(gwURL), &websocket.DialOptions{Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: header})
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.CloseNow() })
	b, err := json.Marshal(map[string]any{"type": "connection_init", "payload": payload})
	require.NoError(t, err)
	require.NoError(t, c.Write(ctx, websocket.MessageText, b))
	rctx, rcancel := context.WithTimeout(ctx, subWait)
	defer rcancel()
	_, raw, err := c.Read(rctx)
	var m wsMessage
	if err == nil {
		require.NoError(t, json.Unmarshal(raw, &m))
	}
	return c, m, err
}

func TestAuthenticationOfWebsockets(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	user := e.fx.Users[3].Email
	closedWith := func(t *testing.T, err error) websocket.CloseError {
		t.Helper()
		var ce websocket.CloseError
		require.True(t, errors.As(err, &ce), "the connection was closed: %v", err)
		return ce
	}

	t.Run("connection_init without a credential is refused", func(t *testing.T) {
		_, _, err := dialAuth(t, e.gwURL, nil, map[string]any{})
		ce := closedWith(t, err)
		assert.Equal(t, websocket.StatusCode(socket.CloseUnauthorized), ce.Code)
		assert.Contains(t, ce.Reason, "unauthorized")
	})
	t.Run("legacy graphql-ws is refused the same way", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), subTimeout)
		defer cancel()
		c, _, err := websocket.Dial(ctx, wsURL(e.gwURL), &websocket.DialOptions{Subprotocols: []string{"graphql-ws"}})
		require.NoError(t, err)
		defer c.CloseNow()
		require.NoError(t, c.Write(ctx, websocket.MessageText, []byte(`{"type":"connection_init","payload":{"apiKey":"wrong"}}`)))
		_, raw, err := c.Read(ctx)
		require.NoError(t, err)
		assert.Contains(t, string(raw), `"connection_error"`, "the legacy protocol is told why")
		assert.Contains(t, string(raw), "unknown API key")
		_, _, err = c.Read(ctx)
		ce := closedWith(t, err)
		assert.Equal(t, websocket.StatusCode(socket.CloseUnauthorized), ce.Code)
	})
	t.Run("connection_init with an expired token is refused", func(t *testing.T) {
		tok := signHS(t, claims(user, map[string]any{"exp": time.Now().Add(-time.Hour).Unix()}))
		_, _, err := dialAuth(t, e.gwURL, nil, map[string]any{"Authorization": "Bearer " + tok})
		ce := closedWith(t, err)
		assert.Equal(t, websocket.StatusCode(socket.CloseUnauthorized), ce.Code)
		assert.Contains(t, ce.Reason, "expired")
	})
	t.Run("the upgrade request's header is enough", func(t *testing.T) {
		h := http.Header{"Authorization": {"Bearer " + signHS(t, claims(user, nil))}}
		_, m, err := dialAuth(t, e.gwURL, h, map[string]any{})
		require.NoError(t, err)
		assert.Equal(t, "connection_ack", m.Type)
	})
	t.Run("an upgrade with a bad header is refused before it opens", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), subTimeout)
		defer cancel()
		_, resp, err := websocket.Dial(ctx, wsURL(e.gwURL), &websocket.DialOptions{
			Subprotocols: []string{"graphql-transport-ws"}, HTTPHeader: http.Header{"X-Api-Key": {"wrong"}},
		})
		require.Error(t, err)
		require.NotNil(t, resp)
		assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	})
	t.Run("an API key in connection_init", func(t *testing.T) {
		_, m, err := dialAuth(t, e.gwURL, nil, map[string]any{"apiKey": authKioskKey})
		require.NoError(t, err)
		assert.Equal(t, "connection_ack", m.Type)
	})

	t.Run("a token that expires mid-stream closes the socket", func(t *testing.T) {
		expiry := time.Now().Add(2 * time.Second)
		tok := signRS(t, e.key, "k1", claims(user, map[string]any{"exp": expiry.Unix()}))
		c, m, err := dialAuth(t, e.gwURL, nil, map[string]any{"Authorization": "Bearer " + tok})
		require.NoError(t, err)
		require.Equal(t, "connection_ack", m.Type)
		ctx, cancel := context.WithTimeout(context.Background(), subTimeout)
		defer cancel()
		b, err := json.Marshal(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{
			"query": `subscription { bookingChanged { action } }`,
		}})
		require.NoError(t, err)
		require.NoError(t, c.Write(ctx, websocket.MessageText, b))
		// The stream stays open (pings only) until the token expires, then
		// the server closes it with 4401.
		for {
			_, raw, err := c.Read(ctx)
			if err != nil {
				ce := closedWith(t, err)
				assert.Equal(t, websocket.StatusCode(socket.CloseUnauthorized), ce.Code)
				assert.Contains(t, ce.Reason, "expired")
				assert.False(t, time.Now().Before(expiry.Truncate(time.Second)), "closed only once the token expired")
				return
			}
			var msg wsMessage
			require.NoError(t, json.Unmarshal(raw, &msg))
			require.Contains(t, []string{"ping", "pong", "ka"}, msg.Type, "%s", raw)
		}
	})
}

func TestAuthenticationEndsAnSSEStreamWithItsToken(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	expiry := time.Now().Add(2 * time.Second)
	tok := signHS(t, claims(e.fx.Users[3].Email, map[string]any{"exp": expiry.Unix()}))
	ctx, cancel := context.WithTimeout(context.Background(), subTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, e.gwURL+"/graphql",
		strings.NewReader(`{"query":"subscription { bookingChanged { action } }"}`))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	req.Header.Set("Authorization", "Bearer "+tok)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	_, _ = io.Copy(io.Discard, resp.Body) // returns when the server ends the stream
	require.NoError(t, ctx.Err(), "the stream ended by itself")
	assert.False(t, time.Now().Before(expiry.Truncate(time.Second)), "and only once the token expired")
}

func TestAuthenticationServesAnAcceptedRequestInFull(t *testing.T) {
	t.Parallel()
	e := newAuthEnv(t)
	user := e.fx.Users[3].Email
	// 15 s past its expiry, inside the 30 s leeway: the token is accepted,
	// so what it asks for is done, whatever the token's expiry says.
	late := bearer(signHS(t, claims(user, map[string]any{"exp": time.Now().Add(-15 * time.Second).Unix()})))

	t.Run("a query is answered in full", func(t *testing.T) {
		status, _, raw := rawExchange(t, e.gwURL, http.MethodPost, "",
			map[string]string{"Authorization": late["Authorization"], "Content-Type": "application/json"},
			`{"query":"{ countries { name } }"}`)
		require.Equal(t, http.StatusOK, status, "%s", raw)
		var resp gqlResponse
		require.NoError(t, json.Unmarshal(raw, &resp), "%s", raw)
		require.Empty(t, resp.Errors)
		var d struct{ Countries []struct{ Name string } }
		require.NoError(t, json.Unmarshal(resp.Data, &d), "%s", raw)
		assert.Len(t, d.Countries, len(e.fx.Countries))
	})
	t.Run("a mutation is done", func(t *testing.T) {
		e.resetStats(t)
		host, code := e.registerVisitor(t, late, "")
		require.Empty(t, code)
		assert.Equal(t, user, host)
		registered := 0
		for _, c := range e.stats(t).Calls {
			if c.Method == http.MethodPost && strings.Contains(strings.ToLower(c.Route), "visitor") && c.Status < 300 {
				registered += c.Count
			}
		}
		assert.Equal(t, 1, registered, "the simulator registered the visitor: %+v", e.stats(t).Calls)
	})
	t.Run("a stream ends at once, saying why", func(t *testing.T) {
		s, _ := startSSEWith(t, e.gwURL, late, `subscription { bookingChanged { action } }`, nil)
		s.expect(t, "ready")
		l := s.expect(t, "next")
		var p gqlResponse
		require.NoError(t, json.Unmarshal(l.Payload, &p), "%s", l.Payload)
		require.Len(t, p.Errors, 1, "%s", l.Payload)
		assert.Equal(t, "UNAUTHENTICATED", p.Errors[0].Extensions["code"])
		assert.Equal(t, "expired", p.Errors[0].Extensions["reason"])
		s.expect(t, "complete")
		s.ended(t)
	})
}

// TestAuthenticationWithES256PublicKeyFile runs a whole gateway process
// configured by environment only: a PEM file of an ES256 public key.
func TestAuthenticationWithES256PublicKeyFile(t *testing.T) {
	t.Parallel()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	der, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	require.NoError(t, err)
	file := filepath.Join(t.TempDir(), "jwt.pem")
	require.NoError(t, os.WriteFile(file, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der}), 0o600))
	g := startGateway(t, map[string]string{
		"AUTH_JWT_PUBLIC_KEY_FILE": file, "AUTH_JWT_ISSUER": authIssuer, "AUTH_JWT_AUDIENCE": authAudience,
	})
	post := func(headers map[string]string) (int, gqlResponse) {
		status, _, r := postGraphQL(t, g.url, headers, `{ countries { name } }`, nil)
		return status, r
	}
	status, _ := post(nil)
	assert.Equal(t, http.StatusUnauthorized, status, "the embedded demo requires the authentication it is given")
	for _, path := range []string{"/healthz", "/readyz", "/metrics", "/"} {
		resp, err := http.Get(g.url + path)
		require.NoError(t, err)
		resp.Body.Close()
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s stays open", path)
	}
	tok, err := jwt.NewWithClaims(jwt.SigningMethodES256, claims("someone@example.com", nil)).SignedString(key)
	require.NoError(t, err)
	status, resp := post(bearer(tok))
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, resp.Errors)
}
