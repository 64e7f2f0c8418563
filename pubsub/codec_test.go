package pubsub

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/engagegql/gateway/workplace"
)

func TestChangeRoundTrip(t *testing.T) {
	kolkata := time.FixedZone("IST", 5*3600+1800)
	denver, err := time.LoadLocation("America/Denver")
	require.NoError(t, err)

	tests := []struct {
		name string
		c    workplace.Change
	}{
		{name: "zero", c: workplace.Change{}},
		{
			name: "every field",
			c: workplace.Change{
				Kind:          workplace.KindBooking,
				Action:        workplace.ActionExtended,
				Source:        workplace.SourceExternal,
				At:            time.Date(2025, 3, 9, 8, 30, 15, 123456789, kolkata),
				BookingID:     101,
				DeskBookingID: 202,
				VisitorID:     303,
				RoomID:        404,
				DeskID:        505,
				ResourceID:    606,
				WorkspaceType: workplace.WorkspaceDesk,
				LocationID:    707,
				Floor:         -2,
				Date:          workplace.Date{Year: 2025, Month: time.March, Day: 9},
				NewEnd:        time.Date(2025, 3, 9, 10, 0, 0, 1, denver),
			},
		},
		{
			name: "utc and monotonic clock",
			c: workplace.Change{
				Kind:   workplace.KindVisitor,
				Action: workplace.ActionArrived,
				At:     time.Now(),
				NewEnd: time.Date(1999, 12, 31, 23, 59, 59, 0, time.UTC),
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := encodeChange(tt.c)
			require.NoError(t, err)
			got, err := decodeChange(b)
			require.NoError(t, err)

			assertSameTime(t, tt.c.At, got.At)
			assertSameTime(t, tt.c.NewEnd, got.NewEnd)
			want := tt.c
			want.At, want.NewEnd, got.At, got.NewEnd = time.Time{}, time.Time{}, time.Time{}, time.Time{}
			assert.Equal(t, want, got)
		})
	}
}

// assertSameTime checks what RFC 3339 keeps: the instant and the offset (a
// named location comes back as a fixed zone).
func assertSameTime(t *testing.T, want, got time.Time) {
	t.Helper()
	assert.True(t, want.Equal(got), "want %v, got %v", want, got)
	_, wantOff := want.Zone()
	_, gotOff := got.Zone()
	assert.Equal(t, wantOff, gotOff, "zone offset")
	assert.Equal(t, want.IsZero(), got.IsZero())
}

func TestChangeWireFormat(t *testing.T) {
	b, err := encodeChange(workplace.Change{
		Kind:   workplace.KindDeskBooking,
		Action: workplace.ActionCheckedIn,
		At:     time.Date(2025, 1, 2, 3, 4, 5, 600, time.FixedZone("", -7*3600)),
		DeskID: 9,
		Date:   workplace.Date{Year: 2025, Month: time.January, Day: 2},
	})
	require.NoError(t, err)
	var m map[string]any
	require.NoError(t, json.Unmarshal(b, &m))
	assert.Equal(t, map[string]any{
		"kind":   "deskBooking",
		"action": "CHECKED_IN",
		"at":     "2025-01-02T03:04:05.0000006-07:00",
		"deskId": float64(9),
		"date":   "2025-01-02",
	}, m)
}

func TestChangeCodecErrors(t *testing.T) {
	encode := []struct {
		name string
		c    workplace.Change
	}{
		{name: "year beyond RFC 3339", c: workplace.Change{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
		{name: "not a calendar day", c: workplace.Change{Date: workplace.Date{Year: 2025, Month: time.February, Day: 30}}},
	}
	for _, tt := range encode {
		t.Run("encode "+tt.name, func(t *testing.T) {
			_, err := encodeChange(tt.c)
			assert.Error(t, err)
		})
	}
	decode := []struct {
		name string
		in   string
	}{
		{name: "not json", in: "nope"},
		{name: "bad time", in: `{"kind":"booking","at":"yesterday"}`},
		{name: "bad new end", in: `{"kind":"booking","newEnd":"2025-01-01"}`},
		{name: "bad date", in: `{"kind":"booking","date":"01/02/2025"}`},
		{name: "wrong type", in: `{"bookingId":"seven"}`},
	}
	for _, tt := range decode {
		t.Run("decode "+tt.name, func(t *testing.T) {
			_, err := decodeChange([]byte(tt.in))
			assert.Error(t, err)
		})
	}
}
