package graph

import (
	"io"
	"strconv"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/workplace"
)

// dateTimeLayout is RFC 3339 with the offset always written as a number:
// time.RFC3339 writes "Z" for any zero offset, which would show London's
// winter time as UTC rather than as the location's own +00:00.
const dateTimeLayout = "2006-01-02T15:04:05-07:00"

// MarshalDateTime writes an instant as RFC 3339 in the zone the time carries,
// which the engage client sets to the location's zone, so a front end shows
// local times without knowing zones. A zero time is null.
func MarshalDateTime(t time.Time) graphql.Marshaler {
	if t.IsZero() {
		return graphql.Null
	}
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(t.Format(dateTimeLayout)))
	})
}

// UnmarshalDateTime reads an RFC 3339 instant; the offset is required so an
// input is never ambiguous.
func UnmarshalDateTime(v any) (time.Time, error) {
	s, ok := v.(string)
	if !ok {
		return time.Time{}, workplace.Errorf(workplace.EINVALID, "DateTime must be an RFC 3339 string such as 2026-03-29T09:30:00+01:00")
	}
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		return time.Time{}, workplace.Errorf(workplace.EINVALID, "DateTime %q is not RFC 3339 with an offset, such as 2026-03-29T09:30:00+01:00", s)
	}
	return t, nil
}

// MarshalDate writes a day as YYYY-MM-DD.
func MarshalDate(d workplace.Date) graphql.Marshaler {
	if d.IsZero() {
		return graphql.Null
	}
	return graphql.WriterFunc(func(w io.Writer) {
		_, _ = io.WriteString(w, strconv.Quote(d.String()))
	})
}

// UnmarshalDate reads a YYYY-MM-DD day.
func UnmarshalDate(v any) (workplace.Date, error) {
	s, ok := v.(string)
	if !ok {
		return workplace.Date{}, workplace.Errorf(workplace.EINVALID, "Date must be a YYYY-MM-DD string")
	}
	d, err := workplace.ParseDate(s)
	if err != nil {
		return d, workplace.Errorf(workplace.EINVALID, "%s", err.Error())
	}
	return d, nil
}
