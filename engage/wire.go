package engage

// This file holds the decoders that tolerate the upstream's real quirks, and
// the encoders of request times.
//
// Field casing drifts between routes and releases (PascalCase in the
// HierarchyMapping routes, camelCase elsewhere, "bookingID" beside
// "locationId"). The DTOs rely deliberately on encoding/json matching object
// keys to struct fields case-insensitively: the tags carry the documented
// casing, and a differently cased key still lands in the same field (tested
// in wire_test.go). No DTO may therefore hold two fields whose names differ
// only in case.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// envelope is the HierarchyMapping answer [C]. Status is false even on
// success and means nothing; only IsError marks a failure.
type envelope[T any] struct {
	IsError bool   `json:"IsError"`
	Data    T      `json:"Data"`
	Status  bool   `json:"Status"`
	Message string `json:"Message"`
}

// flexInt is an integer as the upstream writes it: a number (13), a numeric
// string ("13", the rooms route's floor number [C]), an empty string or null
// (both 0).
type flexInt int64

// UnmarshalJSON implements json.Unmarshaler.
func (n *flexInt) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*n = 0
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		s = strings.TrimSpace(s)
		if s == "" {
			*n = 0
			return nil
		}
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = flexInt(v)
		return nil
	}
	// "13.0" and 13.0: an integral float is still the integer.
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f != float64(int64(f)) {
		return fmt.Errorf("engage: %s is not an integer", b)
	}
	*n = flexInt(int64(f))
	return nil
}

// flexBool is a boolean written as true/false, 0/1 or "true"/"1"; null is
// false.
type flexBool bool

// UnmarshalJSON implements json.Unmarshaler.
func (v *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	switch strings.ToLower(s) {
	case "true", "1":
		*v = true
	case "false", "0", "", "null":
		*v = false
	default:
		return fmt.Errorf("engage: %s is not a boolean", b)
	}
	return nil
}

// flexString is a string that the upstream sometimes writes as a number
// (bookingSource); null is "".
type flexString string

// UnmarshalJSON implements json.Unmarshaler.
func (v *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case bytes.Equal(b, []byte("null")):
		*v = ""
	case len(b) > 0 && b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*v = flexString(s)
	default:
		*v = flexString(b)
	}
	return nil
}

// Date-time layouts. Answers carry local wall times without an offset [C],
// sometimes with fractional seconds (ASP.NET writes them when non-zero [I]).
const (
	wireLayout = "2006-01-02T15:04:05.999999999"
	// requestLayout is how request times are sent, always in UTC with
	// isUTCDateTime=true [C format].
	requestLayout = "2006-01-02 15:04:05"
	dateLayout    = time.DateOnly
)

// wireTime is a date-time as the upstream writes it, kept raw until the
// location's zone is known.
type wireTime string

// UnmarshalJSON implements json.Unmarshaler; null becomes "".
func (t *wireTime) UnmarshalJSON(b []byte) error {
	var s *string
	if err := json.Unmarshal(b, &s); err != nil {
		return fmt.Errorf("engage: date-time %s is not a string", b)
	}
	if s == nil {
		*t = ""
	} else {
		*t = wireTime(strings.TrimSpace(*s))
	}
	return nil
}

// isZero reports whether t means "no value": empty, or 0001-01-01T00:00:00
// [C], the .NET DateTime.MinValue.
func (t wireTime) isZero() bool {
	return t == "" || strings.HasPrefix(string(t), "0001-01-01")
}

// in reads t as a wall time local to loc. A value that carries an offset (or
// Z) is read as the instant it names instead, in case the upstream starts
// sending them. The zero value is the zero time.Time.
func (t wireTime) in(loc *time.Location) (time.Time, error) {
	if t.isZero() {
		return time.Time{}, nil
	}
	s := string(t)
	if strings.Contains(s, " ") && !strings.Contains(s, "T") {
		s = strings.Replace(s, " ", "T", 1)
	}
	if hasOffset(s) {
		v, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			return time.Time{}, fmt.Errorf("engage: date-time %q: %w", string(t), err)
		}
		return v.In(loc), nil
	}
	if len(s) == len(dateLayout) {
		s += "T00:00:00"
	}
	wall, err := time.ParseInLocation(wireLayout, s, time.UTC)
	if err != nil {
		return time.Time{}, fmt.Errorf("engage: date-time %q is not YYYY-MM-DDTHH:mm:ss", string(t))
	}
	return wallIn(wall, loc), nil
}

// hasOffset reports whether an ISO date-time ends with Z or ±hh:mm.
func hasOffset(s string) bool {
	if strings.HasSuffix(s, "Z") || strings.HasSuffix(s, "z") {
		return true
	}
	i := strings.LastIndexAny(s, "+-")
	return i > len("2006-01-02") && strings.Contains(s[i:], ":")
}

// wallIn places a wall clock time (given as its fields in UTC) in loc. Where
// the wall time occurs twice (the hour repeated when clocks go back) it is
// the later instant, as the contract says the upstream reads it [X]. Where it
// does not occur at all (the hour skipped when clocks go forward) it is left
// to time.Date; the upstream refuses such times, so an answer should never
// carry one.
func wallIn(wall time.Time, loc *time.Location) time.Time {
	var best time.Time
	seen := map[int]bool{}
	for _, probe := range []time.Duration{-36 * time.Hour, 0, 36 * time.Hour} {
		_, off := wall.Add(probe).In(loc).Zone()
		if seen[off] {
			continue
		}
		seen[off] = true
		cand := wall.Add(-time.Duration(off) * time.Second).In(loc)
		if sameWall(cand, wall) && cand.After(best) {
			best = cand
		}
	}
	if !best.IsZero() {
		return best
	}
	return time.Date(wall.Year(), wall.Month(), wall.Day(), wall.Hour(), wall.Minute(), wall.Second(), wall.Nanosecond(), loc)
}

func sameWall(a, b time.Time) bool {
	ay, am, ad := a.Date()
	by, bm, bd := b.Date()
	return ay == by && am == bm && ad == bd && a.Hour() == b.Hour() && a.Minute() == b.Minute() &&
		a.Second() == b.Second() && a.Nanosecond() == b.Nanosecond()
}

// pickTime returns the instant of a value the upstream writes twice: the
// ...UTC twin when present and not the zero value (no zone lookup can go
// wrong), else the local wall time read in loc. Either way the result is
// shown in loc.
func pickTime(utc, local wireTime, loc *time.Location) (time.Time, error) {
	if !utc.isZero() {
		t, err := utc.in(time.UTC)
		if err != nil {
			return time.Time{}, err
		}
		return t.In(loc), nil
	}
	return local.in(loc)
}

// wireDate reads a day written as YYYY-MM-DD or as local midnight
// (YYYY-MM-DDT00:00:00); the zero value is the zero Date.
func wireDate(t wireTime) (workplace.Date, error) {
	if t.isZero() {
		return workplace.Date{}, nil
	}
	s := string(t)
	if len(s) < len(dateLayout) {
		return workplace.Date{}, fmt.Errorf("engage: date %q is not YYYY-MM-DD", s)
	}
	return workplace.ParseDate(s[:len(dateLayout)])
}

// utcParam formats an instant for a request sent with isUTCDateTime=true.
func utcParam(t time.Time) string {
	return t.UTC().Format(requestLayout)
}

// checkWindow enforces the upstream's 14-day limit on day windows before a
// call is spent on it: from..to, both inclusive. Splitting a wider window is
// the caller's job (workplace.SplitWindow).
func checkWindow(from, to workplace.Date) error {
	switch {
	case from.IsZero() || to.IsZero():
		return workplace.Errorf(workplace.EINVALID, "Both ends of the date window are required.")
	case to.Before(from):
		return workplace.Errorf(workplace.EINVALID, "The window ends (%s) before it starts (%s).", to, from)
	case from.DaysUntil(to) >= workplace.MaxWindowDays:
		return workplace.Errorf(workplace.EINVALID, "The date range cannot exceed %d days (%s to %s).", workplace.MaxWindowDays, from, to)
	}
	return nil
}

// ints converts wire integers to typed ids.
func ints[T ~int | ~int64](in []flexInt) []T {
	if in == nil {
		return nil
	}
	out := make([]T, len(in))
	for i, v := range in {
		out[i] = T(v)
	}
	return out
}
