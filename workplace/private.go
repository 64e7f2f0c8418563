package workplace

// Private meetings: Engage marks a booking private so that its title is
// hidden from others. The gateway answers every kind of client (a lobby
// screen, a kiosk, a colleague's app), so it applies that rule itself,
// here, per caller, at the moment a title is handed to a client: never in
// what it caches, which every caller shares.

import (
	"context"
	"strings"
)

// PrivateTitle is what a private meeting's title reads as for callers who
// may not see it: a fixed, neutral text, so that clients that show titles
// keep working and show nothing of the meeting.
const PrivateTitle = "Private meeting"

// MaySeePrivate reports whether the caller on ctx may see the free text of
// booking b (its title; the upstream's notes, which the gateway does not
// serve, would fall under the same rule). Anyone may when b is not
// private. Of a private booking, its host, requestor and creator may
// (emails compared case-insensitively), and a caller whose credential
// holds the private-meetings grant. Without authentication there is no
// caller, and nobody is known to be in the meeting: the title is hidden.
func MaySeePrivate(ctx context.Context, b Booking) bool {
	if !b.Private {
		return true
	}
	c, ok := CallerFrom(ctx)
	if !ok {
		return false
	}
	if c.MaySeePrivate {
		return true
	}
	if c.Email == "" {
		return false // a credential that names no one is in no meeting
	}
	for _, p := range []Person{b.Host, b.Requestor, b.Creator} {
		if p.Email != "" && strings.EqualFold(strings.TrimSpace(p.Email), strings.TrimSpace(c.Email)) {
			return true
		}
	}
	return false
}

// BookingTitle is b's title as the caller on ctx may see it: the title, or
// PrivateTitle.
func BookingTitle(ctx context.Context, b Booking) string {
	if MaySeePrivate(ctx, b) {
		return b.Title
	}
	return PrivateTitle
}

// Visibility names what the caller on ctx may see of the tenant: two
// callers of equal Visibility are shown the same answer by every read,
// so an answer resolved for one may be handed to the other (a shared
// subscription's results). It is "all" for a caller who may see every
// private meeting, "email:" and the caller's email (lower-cased) for one
// who sees the private meetings they are in, and "none" for a caller in
// no meeting (no authentication, or a credential that names no one). A
// rule of MaySeePrivate that reads more of the caller must be named here.
func Visibility(ctx context.Context) string {
	c, ok := CallerFrom(ctx)
	switch {
	case !ok:
		return "none"
	case c.MaySeePrivate:
		return "all"
	case strings.TrimSpace(c.Email) == "":
		return "none"
	}
	return "email:" + strings.ToLower(strings.TrimSpace(c.Email))
}
