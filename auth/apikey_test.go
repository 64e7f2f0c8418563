package auth

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func hashHex(key string) string {
	sum := sha256.Sum256([]byte(key))
	return hex.EncodeToString(sum[:])
}

func TestParseAPIKeys(t *testing.T) {
	h1, h2 := hashHex("key-one"), hashHex("key-two")
	tests := []struct {
		name    string
		in      string
		want    []APIKey
		wantErr string
	}{
		{name: "empty", in: "  ", want: nil},
		{
			name: "name and hash only",
			in:   "reports:" + h1,
			want: []APIKey{{Name: "reports", Hash: sha256.Sum256([]byte("key-one"))}},
		},
		{
			name: "scopes with colons, email, spaces and blank entries",
			in:   " kiosk : " + strings.ToUpper(h1) + ":read:rooms  book:desks:ops@example.com , ,reports:" + h2 + "::",
			want: []APIKey{
				{Name: "kiosk", Hash: sha256.Sum256([]byte("key-one")), Scopes: []string{"read:rooms", "book:desks"}, Email: "ops@example.com"},
				{Name: "reports", Hash: sha256.Sum256([]byte("key-two"))},
			},
		},
		{
			name: "scopes without email",
			in:   "a:" + h1 + ":read:rooms write",
			want: []APIKey{{Name: "a", Hash: sha256.Sum256([]byte("key-one")), Scopes: []string{"read:rooms", "write"}}},
		},
		{
			name: "email without scopes",
			in:   "a:" + h1 + "::a@example.com",
			want: []APIKey{{Name: "a", Hash: sha256.Sum256([]byte("key-one")), Email: "a@example.com"}},
		},
		{name: "bad hex", in: "a:" + strings.Repeat("zz", 32), wantErr: `"a": the hash is not hexadecimal`},
		{name: "wrong length", in: "a:" + h1[:63], wantErr: `"a": the hash must be 64 hexadecimal characters (a SHA-256), not 63`},
		{name: "no hash", in: "a", wantErr: `"a" has no hash`},
		{name: "duplicate names", in: "a:" + h1 + ",a:" + h2, wantErr: `name "a" appears more than once`},
		{name: "duplicate hashes", in: "a:" + h1 + ",b:" + h1, wantErr: `"a" and "b" have the same hash`},
		{name: "empty name", in: "a:" + h1 + ",:" + h2, wantErr: "entry 2 has an empty name"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseAPIKeys(tt.in)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				assert.NotContains(t, err.Error(), h1[:40])
				assert.NotContains(t, err.Error(), h2[:40])
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got)
		})
	}
}

func TestAuthenticateAPIKey(t *testing.T) {
	const key = "s3cr3t-kiosk-key-0001"
	keys, err := ParseAPIKeys("reports:" + hashHex("reports-key") + ",kiosk:" + hashHex(key) + ":read book:kiosk@example.com")
	require.NoError(t, err)
	logs := &syncBuffer{}
	a := newAuth(t, Config{APIKeys: keys, Logger: debugLogger(logs)})

	tests := []struct {
		name          string
		authorization string
		apiKey        string
		want          Reason
	}{
		{name: "X-API-Key", apiKey: key},
		{name: "ApiKey scheme", authorization: "ApiKey " + key},
		{name: "apikey scheme, any case and spacing", authorization: "  aPiKeY   " + key + " "},
		{name: "unknown key", apiKey: key + "x", want: ReasonUnknownKey},
		{name: "unknown key via header", authorization: "ApiKey " + strings.ToUpper(key), want: ReasonUnknownKey},
		{name: "key larger than 16 KB", apiKey: strings.Repeat(key, 1000), want: ReasonMalformed},
		{name: "bearer tokens not configured", authorization: "Bearer " + key, want: ReasonAlgorithm},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := a.Authenticate(context.Background(), tt.authorization, tt.apiKey)
			if tt.want == "" {
				require.NoError(t, err)
				assert.Equal(t, &Principal{Kind: KindAPIKey, Subject: "kiosk", Email: "kiosk@example.com", Scopes: []string{"read", "book"}}, p)
				assert.Equal(t, "key:kiosk", p.ClientID())
				assert.True(t, p.ExpiresAt.IsZero())
				return
			}
			requireReason(t, err, tt.want)
			assertNoLeak(t, err, logs, key, strings.ToUpper(key), tt.apiKey)
		})
	}
}

func TestAPIKeysAreCopied(t *testing.T) {
	keys, err := ParseAPIKeys("kiosk:" + hashHex("k") + ":read")
	require.NoError(t, err)
	a := newAuth(t, Config{APIKeys: keys})
	keys[0].Scopes[0] = "admin"
	keys[0].Name = "changed"

	p, err := a.Authenticate(context.Background(), "", "k")
	require.NoError(t, err)
	assert.Equal(t, "kiosk", p.Subject)
	assert.Equal(t, []string{"read"}, p.Scopes)
	p.Scopes[0] = "admin"
	p, err = a.Authenticate(context.Background(), "", "k")
	require.NoError(t, err)
	assert.Equal(t, []string{"read"}, p.Scopes, "principals do not share the configured slice")
}
