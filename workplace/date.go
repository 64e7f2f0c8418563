package workplace

import (
	"fmt"
	"time"
)

// Date is a calendar day with no time zone: the upstream's booking windows,
// desk booking days and visit dates are days local to a location.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// DateOf returns the day t falls on in t's own location.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{Year: y, Month: m, Day: d}
}

// ParseDate reads a YYYY-MM-DD day.
func ParseDate(s string) (Date, error) {
	t, err := time.Parse(time.DateOnly, s)
	if err != nil {
		return Date{}, fmt.Errorf("date %q is not YYYY-MM-DD", s)
	}
	return DateOf(t), nil
}

// String formats the day as YYYY-MM-DD, the form the upstream takes.
func (d Date) String() string {
	return fmt.Sprintf("%04d-%02d-%02d", d.Year, d.Month, d.Day)
}

// IsZero reports whether d is the zero Date.
func (d Date) IsZero() bool { return d == Date{} }

// In returns local midnight of the day in loc.
func (d Date) In(loc *time.Location) time.Time {
	return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, loc)
}

// AddDays returns the day n days later (earlier when n < 0).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 12, 0, 0, 0, time.UTC))
}

// Before reports whether d is earlier than o.
func (d Date) Before(o Date) bool { return d.compare(o) < 0 }

// After reports whether d is later than o.
func (d Date) After(o Date) bool { return d.compare(o) > 0 }

// DaysUntil returns the number of days from d to o (negative when o is earlier).
func (d Date) DaysUntil(o Date) int {
	a := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, time.UTC)
	b := time.Date(o.Year, o.Month, o.Day, 12, 0, 0, 0, time.UTC)
	return int(b.Sub(a).Round(24*time.Hour) / (24 * time.Hour))
}

func (d Date) compare(o Date) int {
	switch {
	case d.Year != o.Year:
		return d.Year - o.Year
	case d.Month != o.Month:
		return int(d.Month) - int(o.Month)
	default:
		return d.Day - o.Day
	}
}

// MaxWindowDays is the widest window, in days with both ends inclusive, that
// the upstream's booking and visitor queries accept.
const MaxWindowDays = 14

// SplitWindow cuts the inclusive window [from, to] into consecutive windows of
// at most MaxWindowDays days each, in order. An empty slice means to < from.
func SplitWindow(from, to Date) [][2]Date {
	var out [][2]Date
	for start := from; !start.After(to); start = start.AddDays(MaxWindowDays) {
		end := start.AddDays(MaxWindowDays - 1)
		if end.After(to) {
			end = to
		}
		out = append(out, [2]Date{start, end})
	}
	return out
}

// LookBehindDays is how many local days before a window a room's bookings
// are also listed for, to find the bookings that began before it and run
// into it (a meeting across midnight). [X] The upstream's GET /bookings may
// list a day's bookings by their start's local date, as the simulator does;
// a booking that began more than this many days earlier is not found.
const LookBehindDays = 1

// maxOffsetDays bounds how far a location's local date can be from the UTC
// date of the same instant: zones run from UTC-12 to UTC+14.
const maxOffsetDays = 1

// BookingDays returns the local days whose bookings are listed to answer
// which bookings overlap the instants first..last (last inclusive) at a
// location whose zone is not known: the local dates of any zone, widened by
// LookBehindDays. A room's bookings carry their location's zone, so the
// caller filters them exactly once it has them, and the hierarchy is never
// walked for a zone.
func BookingDays(first, last time.Time) (from, to Date) {
	return DateOf(first.UTC()).AddDays(-maxOffsetDays - LookBehindDays), DateOf(last.UTC()).AddDays(maxOffsetDays)
}
