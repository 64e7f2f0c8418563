package engagesim

// This file holds the request and response helpers shared by all routes: case-insensitive query
// parameters, lenient JSON numbers, the request date-time formats and the response layouts.

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// writeJSON writes v as JSON with the status.
func writeJSON(w http.ResponseWriter, status int, v any) {
	body, err := json.Marshal(v)
	if err != nil {
		status, body = http.StatusInternalServerError, []byte(`{"Message":"`+msgServerError+`"}`)
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// message is the error body of every route outside HierarchyMapping.
type message struct {
	Message string `json:"Message"`
}

func writeMsg(w http.ResponseWriter, status int, text string) {
	writeJSON(w, status, message{Message: text})
}

// envelope wraps every HierarchyMapping answer [C]; Status is false even on success.
type envelope struct {
	IsError      bool   `json:"IsError"`
	Data         any    `json:"Data"`
	Status       bool   `json:"Status"`
	Message      string `json:"Message"`
	TotalRecords *int   `json:"TotalRecords,omitempty"`
}

func writeEnvErr(w http.ResponseWriter, status int, text string) {
	writeJSON(w, status, envelope{IsError: true, Message: text})
}

// apiError is a failure a handler answers with; the route decides the body shape.
type apiError struct {
	status int
	text   string
}

func (e *apiError) Error() string { return e.text }

func fail(status int, text string) *apiError { return &apiError{status: status, text: text} }

func badRequest(text string) *apiError { return fail(http.StatusBadRequest, text) }

// query holds query parameters with lower-cased names, because ASP.NET binds names regardless of
// case [I].
type query map[string]string

func queryOf(r *http.Request) query {
	q := query{}
	for k, v := range r.URL.Query() {
		lk := strings.ToLower(k)
		if _, ok := q[lk]; !ok && len(v) > 0 {
			q[lk] = v[0]
		}
	}
	return q
}

// str returns a parameter, trimmed.
func (q query) str(name string) string { return strings.TrimSpace(q[strings.ToLower(name)]) }

// optInt returns an integer parameter, 0 when absent; a malformed value is a 400.
func (q query) optInt(name string) (int, *apiError) {
	s := q.str(name)
	if s == "" {
		return 0, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil {
		return 0, badRequest(msgInvalidRequest)
	}
	return n, nil
}

// reqInt returns a required integer parameter.
func (q query) reqInt(name string) (int, *apiError) {
	if q.str(name) == "" {
		return 0, badRequest(name + " is required.")
	}
	return q.optInt(name)
}

// utc reports whether isUTCDateTime=true.
func (q query) utc() bool {
	b, _ := strconv.ParseBool(q.str("isUTCDateTime"))
	return b
}

// decodeBody decodes a JSON body into v. encoding/json matches object keys to struct tags
// case-insensitively at every depth, which is the ASP.NET binding behaviour the contract asks for.
func decodeBody(r *http.Request, v any) *apiError {
	data, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		return badRequest(msgBadJSON)
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil
	}
	if err := json.Unmarshal(data, v); err != nil {
		return badRequest(msgBadJSON)
	}
	return nil
}

// flexInt is an integer that also accepts a JSON string holding one, or null.
type flexInt int

func (n *flexInt) UnmarshalJSON(b []byte) error {
	s := strings.Trim(string(bytes.TrimSpace(b)), `"`)
	if s == "" || s == "null" {
		*n = 0
		return nil
	}
	// Exact first: an id beyond 2^53 must not round to its neighbour.
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		*n = flexInt(v)
		return nil
	}
	// "13.0" and 13.0: an integral float is still the integer.
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return err
	}
	if v != math.Trunc(v) || math.Abs(v) > 1<<53 {
		return fmt.Errorf("%s is not an integer", s)
	}
	*n = flexInt(v)
	return nil
}

// flexBool is a bool that also accepts "true"/"false" strings and 0/1.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.ToLower(strings.Trim(string(bytes.TrimSpace(b)), `"`))
	switch s {
	case "true", "1":
		*f = true
	case "false", "0", "", "null":
		*f = false
	default:
		return errors.New("not a bool")
	}
	return nil
}

// Formatting of response times.

func fmtLocal(t time.Time, tz *time.Location) string {
	if t.IsZero() {
		return noValue
	}
	return t.In(tz).Format(localLayout)
}

func fmtUTC(t time.Time) string {
	if t.IsZero() {
		return noValue
	}
	return t.UTC().Format(localLayout)
}

// localMidnight formats the local date of t as "YYYY-MM-DDT00:00:00".
func localMidnight(t time.Time, tz *time.Location) string {
	return t.In(tz).Format(dateLayout) + "T00:00:00"
}

// Parsing of request times.

// parseDateTime reads a request date-time: "YYYY-MM-DD HH:mm", "YYYY-MM-DD HH:mm:ss",
// "YYYY-MM-DDTHH:mm[:ss]" or RFC 3339. Without an offset it is UTC when utc is set, else local to
// tz; a local time in a spring-forward gap is a 400, and a repeated (fall-back) local time means
// the later instant [X].
func parseDateTime(s string, tz *time.Location, utc bool) (time.Time, *apiError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return time.Time{}, badRequest("A date-time is required.")
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	for _, layout := range []string{"2006-01-02 15:04", "2006-01-02 15:04:05", "2006-01-02T15:04", "2006-01-02T15:04:05", "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999"} {
		wall, err := time.Parse(layout, s)
		if err != nil {
			continue
		}
		if utc {
			return wall, nil
		}
		t, ok := resolveLocal(wall, tz)
		if !ok {
			return time.Time{}, badRequest(msgTimeNotExist)
		}
		return t, nil
	}
	return time.Time{}, badRequest("Invalid date-time: " + s + ".")
}

// resolveLocal turns a wall clock (carried as UTC) into the instant it names in tz; false when
// the wall clock falls in a gap.
func resolveLocal(wall time.Time, tz *time.Location) (time.Time, bool) {
	var best time.Time
	found := false
	for _, probe := range []time.Time{wall.Add(-36 * time.Hour), wall.Add(36 * time.Hour)} {
		_, off := probe.In(tz).Zone()
		t := wall.Add(-time.Duration(off) * time.Second)
		if sameWall(t.In(tz), wall) && (!found || t.After(best)) {
			best, found = t, true
		}
	}
	return best, found
}

func sameWall(local, wall time.Time) bool {
	y, m, d := local.Date()
	h, mi, s := local.Clock()
	return time.Date(y, m, d, h, mi, s, local.Nanosecond(), time.UTC).Equal(wall)
}

// parseDate reads a request date "YYYY-MM-DD"; a date-time is accepted and cut to its date.
func parseDate(s string) (time.Time, *apiError) {
	s = strings.TrimSpace(s)
	if len(s) >= 10 {
		if t, err := time.Parse(dateLayout, s[:10]); err == nil {
			return t, nil
		}
	}
	return time.Time{}, badRequest("Invalid date: " + s + ".")
}

// checkWindow enforces the inclusive 14-day window between two dates (UTC midnights).
func checkWindow(from, to time.Time) *apiError {
	if to.Before(from) {
		return badRequest("endDate must not be before startDate.")
	}
	if to.After(from.AddDate(0, 0, maxWindowDays-1)) {
		return badRequest(msgDateRange)
	}
	return nil
}

// page cuts a list by pageNumber (1-based, 0 = all) and pageSize (0 = all, clamped to 500).
func page[T any](items []T, q query) ([]T, *apiError) {
	num, err := q.optInt("pageNumber")
	if err != nil {
		return nil, err
	}
	size, err := q.optInt("pageSize")
	if err != nil {
		return nil, err
	}
	return pageBy(items, num, size), nil
}

func pageBy[T any](items []T, num, size int) []T {
	if num <= 0 || size <= 0 {
		return items
	}
	size = min(size, maxPageSize)
	from := (num - 1) * size
	if from >= len(items) {
		return []T{}
	}
	return items[from:min(from+size, len(items))]
}

// date returns a required date parameter.
func (q query) date(name string) (time.Time, *apiError) {
	if q.str(name) == "" {
		return time.Time{}, badRequest(name + " is required.")
	}
	return parseDate(q.str(name))
}

// ints parses a comma list of integers ("1,2, 3").
func ints(s string) ([]int, *apiError) {
	var out []int
	for part := range strings.SplitSeq(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		n, err := strconv.Atoi(part)
		if err != nil {
			return nil, badRequest(msgInvalidRequest)
		}
		out = append(out, n)
	}
	return out, nil
}
