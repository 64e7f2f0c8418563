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

// TestVisibility: callers MaySeePrivate treats alike have equal
// visibilities, and callers it may treat otherwise have different ones.
func TestVisibility(t *testing.T) {
	in := func(c Caller) context.Context { return WithCaller(context.Background(), c) }
	ana := in(Caller{Email: "ana.host@example.com"})
	assert.Equal(t, Visibility(ana), Visibility(in(Caller{Email: " Ana.Host@Example.com "})), "emails compare case-insensitively")
	assert.Equal(t, Visibility(ana), Visibility(in(Caller{Email: "ana.host@example.com", MayActForOthers: true, Grant: "act-as"})), "acting for others shows nothing more")
	assert.NotEqual(t, Visibility(ana), Visibility(in(Caller{Email: "bo@example.com"})))
	assert.NotEqual(t, Visibility(ana), Visibility(in(Caller{Email: "ana.host@example.com", MaySeePrivate: true})))
	all := Visibility(in(Caller{MaySeePrivate: true}))
	assert.Equal(t, all, Visibility(in(Caller{Email: "bo@example.com", MaySeePrivate: true})), "the grant shows every meeting, whoever holds it")
	none := Visibility(context.Background())
	assert.Equal(t, none, Visibility(in(Caller{})), "a credential naming no one is in no meeting, like no caller")
	assert.NotEqual(t, none, all)
	assert.NotEqual(t, none, Visibility(ana))

	// The rule itself agrees: equal visibilities see a private booking alike.
	b := Booking{Title: "t", Private: true, Host: Person{Email: "ana.host@example.com"}}
	for _, pair := range [][2]context.Context{
		{ana, in(Caller{Email: "ANA.HOST@example.com"})},
		{context.Background(), in(Caller{})},
		{in(Caller{MaySeePrivate: true}), in(Caller{Email: "x@example.com", MaySeePrivate: true})},
	} {
		assert.Equal(t, Visibility(pair[0]), Visibility(pair[1]))
		assert.Equal(t, MaySeePrivate(pair[0], b), MaySeePrivate(pair[1], b))
	}
}
