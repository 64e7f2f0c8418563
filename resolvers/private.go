package resolvers

// Private meetings reach clients through two fields: a booking's title and
// a visitor's meeting name (Engage copies the meeting's title onto the
// visit). Both are resolved per caller, after every cache, by the domain's
// rule (workplace.MaySeePrivate).

import (
	"context"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/workplace"
)

// visitorMeetingName is v's meeting name as the caller may see it. A visit
// for a booking takes that booking's privacy, so the booking is read
// (through the operation's loader and the cache) unless the caller may see
// every private meeting anyway. The name is hidden when the booking is
// private and the caller is not in it; it is "" when the booking no longer
// exists, or when it cannot be read now (the error then says why), since
// nothing then says it may be shown.
func visitorMeetingName(ctx context.Context, v workplace.Visitor) string {
	if v.BookingID == 0 || v.MeetingName == "" {
		return v.MeetingName
	}
	if c, ok := workplace.CallerFrom(ctx); ok && c.MaySeePrivate {
		return v.MeetingName
	}
	b, err := loader.Booking(ctx, v.BookingID)
	switch {
	case workplace.ErrorCode(err) == workplace.ENOTFOUND:
		return ""
	case err != nil:
		graphql.AddError(ctx, err)
		return ""
	case !workplace.MaySeePrivate(ctx, b):
		return workplace.PrivateTitle
	}
	return v.MeetingName
}
