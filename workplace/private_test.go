package workplace

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestBookingTitle(t *testing.T) {
	private := Booking{Title: "Redundancy consultation", Private: true,
		Host:      Person{ID: 1, Name: "Ana Host", Email: "ana.host@example.com"},
		Requestor: Person{ID: 2, Name: "Bo Requestor", Email: "bo.requestor@example.com"},
		Creator:   Person{Name: "Cy Creator", Email: "Cy.Creator@Example.com"},
	}
	public := private
	public.Private = false
	tests := []struct {
		name    string
		caller  *Caller
		booking Booking
		want    string
	}{
		{"the host", &Caller{Email: "ana.host@example.com"}, private, "Redundancy consultation"},
		{"the host, in another case", &Caller{Email: "ANA.HOST@example.com"}, private, "Redundancy consultation"},
		{"the requestor", &Caller{Email: "bo.requestor@example.com"}, private, "Redundancy consultation"},
		{"the creator", &Caller{Email: "cy.creator@example.com"}, private, "Redundancy consultation"},
		{"another user", &Caller{Email: "dee@example.com"}, private, PrivateTitle},
		{"another user with the act-as grant only", &Caller{Email: "dee@example.com", MayActForOthers: true}, private, PrivateTitle},
		{"a caller with the private grant", &Caller{Email: "reception@example.com", MaySeePrivate: true}, private, "Redundancy consultation"},
		{"a kiosk key naming no one", &Caller{}, private, PrivateTitle},
		{"a kiosk key with the grant", &Caller{MaySeePrivate: true}, private, "Redundancy consultation"},
		{"anonymous", nil, private, PrivateTitle},
		{"anyone, of a meeting that is not private", &Caller{Email: "dee@example.com"}, public, "Redundancy consultation"},
		{"anonymous, of a meeting that is not private", nil, public, "Redundancy consultation"},
		{"an empty email never matches a person without one", &Caller{}, Booking{Title: "x", Private: true, Host: Person{Name: "No Email"}}, PrivateTitle},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			ctx := context.Background()
			if tc.caller != nil {
				ctx = WithCaller(ctx, *tc.caller)
			}
			assert.Equal(t, tc.want, BookingTitle(ctx, tc.booking))
			assert.Equal(t, tc.want != PrivateTitle, MaySeePrivate(ctx, tc.booking))
		})
	}
}
