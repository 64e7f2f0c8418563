package workplace

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestActingEmail(t *testing.T) {
	self := Caller{Email: "ana@example.com", Grant: "engage.act_as"}
	deputy := Caller{Email: "reception@example.com", MayActForOthers: true, Grant: "engage.act_as"}
	kiosk := Caller{Grant: "engage.act_as"}
	kioskWithGrant := Caller{MayActForOthers: true, Grant: "engage.act_as"}
	tests := []struct {
		name      string
		caller    *Caller
		requested string
		want      string
		code      string
	}{
		{"anonymous names the user", nil, "bo@example.com", "bo@example.com", ""},
		{"anonymous must name the user", nil, " ", "", EINVALID},
		{"caller acts as themself by default", &self, "", "ana@example.com", ""},
		{"caller may name themself in any case", &self, "ANA@example.com", "ana@example.com", ""},
		{"caller may not act for another", &self, "bo@example.com", "", EFORBIDDEN},
		{"granted caller acts for another", &deputy, "bo@example.com", "bo@example.com", ""},
		{"credential without email must name the user", &kioskWithGrant, "", "", EINVALID},
		{"credential without email or grant", &kiosk, "bo@example.com", "", EFORBIDDEN},
		{"credential without email with grant", &kioskWithGrant, "bo@example.com", "bo@example.com", ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.caller != nil {
				ctx = WithCaller(ctx, *tc.caller)
			}
			got, err := ActingEmail(ctx, tc.requested)
			if tc.code != "" {
				require.Error(t, err)
				assert.Equal(t, tc.code, ErrorCode(err))
				if tc.code == EFORBIDDEN {
					assert.Contains(t, ErrorMessage(err), "engage.act_as", "the refusal names the missing grant")
				}
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, got)
		})
	}
}
