package auth

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestPrincipal(t *testing.T) {
	tests := []struct {
		name     string
		p        *Principal
		clientID string
		has      map[string]bool
	}{
		{
			name:     "jwt",
			p:        &Principal{Kind: KindJWT, Subject: "u1", Issuer: "https://idp/", Scopes: []string{"read:rooms", "admin"}},
			clientID: "jwt:https://idp/|u1",
			has:      map[string]bool{"read:rooms": true, "admin": true, "read": false, "ADMIN": false, "": false},
		},
		{
			name:     "api key",
			p:        &Principal{Kind: KindAPIKey, Subject: "kiosk", Scopes: []string{"read"}},
			clientID: "key:kiosk",
			has:      map[string]bool{"read": true, "write": false},
		},
		{
			name:     "nil",
			clientID: "",
			has:      map[string]bool{"read": false},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.clientID, tt.p.ClientID())
			for scope, want := range tt.has {
				assert.Equal(t, want, tt.p.Has(scope), scope)
			}
		})
	}
}

func TestContext(t *testing.T) {
	_, ok := FromContext(context.Background())
	assert.False(t, ok)

	_, ok = FromContext(WithPrincipal(context.Background(), nil))
	assert.False(t, ok, "a nil principal is no principal")

	p := &Principal{Kind: KindAPIKey, Subject: "kiosk"}
	got, ok := FromContext(WithPrincipal(context.Background(), p))
	require.True(t, ok)
	assert.Same(t, p, got)

	// Another package's string key cannot collide with the private key type.
	ctx := context.WithValue(context.Background(), "auth.principal", p) //nolint:staticcheck // the point of the test
	_, ok = FromContext(ctx)
	assert.False(t, ok)
}
