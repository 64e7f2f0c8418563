package workplace

// Who is calling the gateway, as its authentication established, so that the
// domain's rule "a caller acts as themself unless allowed to act for others"
// is decided in one place without the resolvers knowing how callers prove
// who they are.

import (
	"context"
	"strings"
)

// Caller is an authenticated client of the gateway.
type Caller struct {
	// Email is the caller's own email, the acting user of their mutations;
	// "" for a credential that names no person (a kiosk's API key).
	Email string
	// MayActForOthers is true when the credential carries the grant that
	// lets it act for another user (a reception desk registering visitors
	// for their hosts).
	MayActForOthers bool
	// Grant names that grant (a scope or role), so a refusal can say what
	// is missing.
	Grant string
	// MaySeePrivate is true when the credential carries the grant that
	// shows private meetings' titles to someone who is not in them (a
	// reception or facilities team); see PrivateTitle.
	MaySeePrivate bool
}

type callerKey struct{}

// WithCaller returns ctx carrying c.
func WithCaller(ctx context.Context, c Caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// CallerFrom returns the caller ctx carries; ok is false when the gateway
// runs without authentication.
func CallerFrom(ctx context.Context) (c Caller, ok bool) {
	c, ok = ctx.Value(callerKey{}).(Caller)
	return c, ok
}

// ActingEmail decides whose name a mutation is made in. requested is the
// mutation's actingUserEmail ("" when omitted). Without authentication the
// request must name the user. An authenticated caller acts as themself by
// default, and for someone else only with the grant; the refusal says why.
func ActingEmail(ctx context.Context, requested string) (string, error) {
	requested = strings.TrimSpace(requested)
	c, ok := CallerFrom(ctx)
	switch {
	case !ok:
		if requested == "" {
			return "", Errorf(EINVALID, "actingUserEmail is required: this gateway runs without client authentication, so it cannot know who you are")
		}
		return requested, nil
	case requested == "" && c.Email == "":
		return "", Errorf(EINVALID, "actingUserEmail is required: your credential names no user")
	case requested == "" || strings.EqualFold(requested, c.Email):
		return c.Email, nil
	case c.MayActForOthers:
		return requested, nil
	case c.Email == "":
		return "", Errorf(EFORBIDDEN, "acting for %s needs the %q grant, which your credential does not have", requested, c.Grant)
	default:
		return "", Errorf(EFORBIDDEN, "you are signed in as %s; acting for %s needs the %q grant, which your credential does not have", c.Email, requested, c.Grant)
	}
}
