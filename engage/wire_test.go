package engage

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/engagegql/gateway/workplace"
)

func TestFlexInt(t *testing.T) {
	tests := []struct {
		in      string
		want    flexInt
		wantErr bool
	}{
		{in: `13`, want: 13},
		{in: `"13"`, want: 13},
		{in: `" 7 "`, want: 7},
		{in: `""`, want: 0},
		{in: `null`, want: 0},
		{in: `-2`, want: -2},
		{in: `13.0`, want: 13},
		{in: `"13.0"`, want: 13},
		{in: `1.5`, wantErr: true},
		{in: `"thirteen"`, wantErr: true},
		{in: `true`, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			var got struct {
				N flexInt `json:"n"`
			}
			err := json.Unmarshal([]byte(`{"n":`+tt.in+`}`), &got)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, got.N)
		})
	}
}

func TestFlexBoolAndString(t *testing.T) {
	bools := []struct {
		in   string
		want flexBool
	}{{`true`, true}, {`false`, false}, {`1`, true}, {`0`, false}, {`"true"`, true}, {`null`, false}}
	for _, tt := range bools {
		t.Run("bool "+tt.in, func(t *testing.T) {
			var got flexBool
			require.NoError(t, json.Unmarshal([]byte(tt.in), &got))
			assert.Equal(t, tt.want, got)
		})
	}
	strs := []struct {
		in   string
		want flexString
	}{{`"Outlook"`, "Outlook"}, {`2`, "2"}, {`null`, ""}}
	for _, tt := range strs {
		t.Run("string "+tt.in, func(t *testing.T) {
			var got flexString
			require.NoError(t, json.Unmarshal([]byte(tt.in), &got))
			assert.Equal(t, tt.want, got)
		})
	}
}

// TestDecodingIgnoresFieldCase pins the deliberate reliance on encoding/json's
// case-insensitive key matching: the upstream's casing drifts, and the same
// DTO must read every variant.
func TestDecodingIgnoresFieldCase(t *testing.T) {
	tests := []struct {
		name string
		json string
	}{
		{"documented casing", `{"bookingID":7,"roomID":96,"locationId":41,"locationTimeZone":"GMT Standard Time","meetingTitle":"Sync","timeFromUTC":"2025-06-02T08:00:00","meetingProgress":1}`},
		{"PascalCase", `{"BookingID":7,"RoomId":96,"LocationID":41,"LocationTimeZone":"GMT Standard Time","MeetingTitle":"Sync","TimeFromUtc":"2025-06-02T08:00:00","MeetingProgress":"1"}`},
		{"lower case", `{"bookingid":7,"roomid":96,"locationid":41,"locationtimezone":"GMT Standard Time","meetingtitle":"Sync","timefromutc":"2025-06-02T08:00:00","meetingprogress":1}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w wireBooking
			require.NoError(t, json.Unmarshal([]byte(tt.json), &w))
			assert.Equal(t, flexInt(7), w.BookingID)
			assert.Equal(t, flexInt(96), w.RoomID)
			assert.Equal(t, flexInt(41), w.LocationID)
			assert.Equal(t, "GMT Standard Time", w.LocationTimeZone)
			assert.Equal(t, "Sync", w.MeetingTitle)
			assert.Equal(t, wireTime("2025-06-02T08:00:00"), w.TimeFromUTC)
			assert.Equal(t, flexInt(1), w.MeetingProgress)
		})
	}

	t.Run("rooms: floor as a string, keys in either case", func(t *testing.T) {
		var env envelope[[]wireWorkspace]
		body := `{"isError":false,"data":[{"floorNumber":"13","internalId":96,"RESOURCENAME":"Room 13.01","Capacity":8,"attributes":[1,"2"],"extendedDetails":null}],"status":false,"message":""}`
		require.NoError(t, json.Unmarshal([]byte(body), &env))
		require.Len(t, env.Data, 1)
		assert.Equal(t, flexInt(13), env.Data[0].FloorNumber)
		assert.Equal(t, flexInt(96), env.Data[0].InternalID)
		assert.Equal(t, "Room 13.01", env.Data[0].ResourceName)
		assert.Equal(t, []flexInt{1, 2}, env.Data[0].Attributes)
	})
}

func TestWireTime(t *testing.T) {
	london, err := NewZones().ZoneFor("GMT Standard Time")
	require.NoError(t, err)
	tests := []struct {
		name    string
		in      wireTime
		wantUTC string // "" = zero time
		wantErr bool
	}{
		{name: "no value", in: "0001-01-01T00:00:00"},
		{name: "empty", in: ""},
		{name: "local summer time", in: "2025-06-02T09:00:00", wantUTC: "2025-06-02T08:00:00Z"},
		{name: "fractional seconds", in: "2025-06-02T09:00:00.5", wantUTC: "2025-06-02T08:00:00.5Z"},
		{name: "request-style space", in: "2025-06-02 09:00:00", wantUTC: "2025-06-02T08:00:00Z"},
		{name: "a bare date is local midnight", in: "2025-06-02", wantUTC: "2025-06-01T23:00:00Z"},
		{name: "an offset is honoured", in: "2025-06-02T09:00:00+10:00", wantUTC: "2025-06-01T23:00:00Z"},
		{name: "Z is honoured", in: "2025-06-02T09:00:00Z", wantUTC: "2025-06-02T09:00:00Z"},
		{name: "garbage", in: "next Tuesday", wantErr: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.in.in(london)
			if tt.wantErr {
				assert.Error(t, err)
				return
			}
			require.NoError(t, err)
			if tt.wantUTC == "" {
				assert.True(t, got.IsZero())
				return
			}
			want, err := time.Parse(time.RFC3339Nano, tt.wantUTC)
			require.NoError(t, err)
			assert.True(t, want.Equal(got), "got %s", got)
			assert.Equal(t, london, got.Location())
		})
	}

	t.Run("null decodes as no value", func(t *testing.T) {
		var w struct {
			T wireTime `json:"t"`
		}
		require.NoError(t, json.Unmarshal([]byte(`{"t":null}`), &w))
		assert.True(t, w.T.isZero())
	})
}

func TestPickTime(t *testing.T) {
	sydney, err := NewZones().ZoneFor("AUS Eastern Standard Time")
	require.NoError(t, err)
	tests := []struct {
		name       string
		utc, local wireTime
		wantUTC    string
	}{
		{"the UTC twin wins", "2025-04-05T15:30:00", "2025-04-06T02:30:00", "2025-04-05T15:30:00Z"},
		{"a zero twin falls back to local", "0001-01-01T00:00:00", "2025-07-01T09:00:00", "2025-06-30T23:00:00Z"},
		{"a missing twin falls back to local", "", "2025-07-01T09:00:00", "2025-06-30T23:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := pickTime(tt.utc, tt.local, sydney)
			require.NoError(t, err)
			want, _ := time.Parse(time.RFC3339, tt.wantUTC)
			assert.True(t, want.Equal(got), "got %s", got)
			assert.Equal(t, sydney, got.Location())
		})
	}
}

func TestCheckWindow(t *testing.T) {
	d := func(s string) workplace.Date {
		v, err := workplace.ParseDate(s)
		require.NoError(t, err)
		return v
	}
	tests := []struct {
		name     string
		from, to workplace.Date
		ok       bool
	}{
		{"one day", d("2025-03-27"), d("2025-03-27"), true},
		{"fourteen days inclusive", d("2025-03-27"), d("2025-04-09"), true},
		{"fifteen days", d("2025-03-27"), d("2025-04-10"), false},
		{"backwards", d("2025-03-27"), d("2025-03-26"), false},
		{"zero end", d("2025-03-27"), workplace.Date{}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := checkWindow(tt.from, tt.to)
			if tt.ok {
				assert.NoError(t, err)
				return
			}
			assert.Equal(t, workplace.EINVALID, workplace.ErrorCode(err))
		})
	}
}

func TestWireVisitorUpdateLeavesWhatTheUpstreamNeverReturns(t *testing.T) {
	v := workplace.NewVisitor{FirstName: "Grace", LastName: "Hopper", LocationID: 41, Floor: 3,
		PassType: 1, NotifyByEmail: false, PurposeOfVisit: ""}
	b, err := json.Marshal(wireVisitorUpdateOf(v))
	require.NoError(t, err)
	var fields map[string]any
	require.NoError(t, json.Unmarshal(b, &fields))
	for _, f := range []string{"passType", "notifyByEmail", "purposeOfVisit"} {
		assert.NotContains(t, fields, f, "an update must not overwrite %s, which no answer tells the gateway", f)
	}
	assert.Equal(t, "Grace", fields["firstName"])
	assert.EqualValues(t, 3, fields["floorNumber"])

	b, err = json.Marshal(wireNewVisitorOf(workplace.NewVisitor{PurposeOfVisit: "Interview", PassType: 2, NotifyByEmail: true}))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"purposeOfVisit":"Interview"`, "a registration still sends them")
}
