package engage

import (
	"bytes"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestZonesEmbedCLDRWithLicense(t *testing.T) {
	// The table must be CLDR's own file, license header included.
	assert.True(t, bytes.Contains(windowsZonesXML, []byte("Unicode, Inc.")), "Unicode copyright header kept")
	assert.True(t, bytes.Contains(windowsZonesXML, []byte("http://www.unicode.org/copyright.html")))
	z := NewZones()
	_, err := z.ZoneFor("UTC")
	require.NoError(t, err)
	assert.Greater(t, len(z.names), 130, "every territory 001 mapping parsed")
}

func TestZoneFor(t *testing.T) {
	z := NewZones()
	tests := []struct {
		name    string
		windows string
		want    string
		wantErr string
	}{
		{name: "London is territory 001, not Dublin", windows: "GMT Standard Time", want: "Europe/London"},
		{name: "New York", windows: "Eastern Standard Time", want: "America/New_York"},
		{name: "Sydney", windows: "AUS Eastern Standard Time", want: "Australia/Sydney"},
		{name: "Singapore", windows: "Singapore Standard Time", want: "Asia/Singapore"},
		{name: "first of several zones", windows: "Central Standard Time (Mexico)", want: "America/Mexico_City"},
		{name: "case and spaces ignored", windows: "  gmt STANDARD time ", want: "Europe/London"},
		{name: "an IANA name is itself", windows: "Europe/Paris", want: "Europe/Paris"},
		{name: "UTC", windows: "UTC", want: "Etc/UTC"},
		{name: "unknown name", windows: "Mars Standard Time", wantErr: `unknown Windows time zone "Mars Standard Time"`},
		{name: "empty", windows: "", wantErr: "empty time zone name"},
		{name: "unknown IANA-looking name", windows: "Mars/Olympus_Mons", wantErr: "Mars/Olympus_Mons"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := z.ZoneFor(tt.windows)
			if tt.wantErr != "" {
				require.Error(t, err)
				assert.Contains(t, err.Error(), tt.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tt.want, loc.String())
		})
	}
}

// TestZonesAcrossDST checks the mapped zones give the right offset on both
// sides of each 2025 change.
func TestZonesAcrossDST(t *testing.T) {
	z := NewZones()
	tests := []struct {
		windows string
		at      string // UTC instant
		offset  time.Duration
	}{
		{"GMT Standard Time", "2025-03-30T00:59:59Z", 0},
		{"GMT Standard Time", "2025-03-30T01:00:00Z", time.Hour},
		{"GMT Standard Time", "2025-10-26T00:59:59Z", time.Hour},
		{"GMT Standard Time", "2025-10-26T01:00:00Z", 0},
		{"Eastern Standard Time", "2025-03-09T06:59:59Z", -5 * time.Hour},
		{"Eastern Standard Time", "2025-03-09T07:00:00Z", -4 * time.Hour},
		{"Eastern Standard Time", "2025-11-02T05:59:59Z", -4 * time.Hour},
		{"Eastern Standard Time", "2025-11-02T06:00:00Z", -5 * time.Hour},
		{"AUS Eastern Standard Time", "2025-04-05T15:59:59Z", 11 * time.Hour},
		{"AUS Eastern Standard Time", "2025-04-05T16:00:00Z", 10 * time.Hour},
		{"AUS Eastern Standard Time", "2025-10-04T15:59:59Z", 10 * time.Hour},
		{"AUS Eastern Standard Time", "2025-10-04T16:00:00Z", 11 * time.Hour},
	}
	for _, tt := range tests {
		t.Run(tt.windows+" "+tt.at, func(t *testing.T) {
			loc, err := z.ZoneFor(tt.windows)
			require.NoError(t, err)
			at, err := time.Parse(time.RFC3339, tt.at)
			require.NoError(t, err)
			_, off := at.In(loc).Zone()
			assert.Equal(t, tt.offset, time.Duration(off)*time.Second)
		})
	}
}

// TestLocalWallTimesAcrossDST reads the upstream's offset-less local times
// around each change, including the hour that occurs twice.
func TestLocalWallTimesAcrossDST(t *testing.T) {
	z := NewZones()
	tests := []struct {
		name    string
		windows string
		local   wireTime
		wantUTC string
	}{
		{"London before spring", "GMT Standard Time", "2025-03-30T00:30:00", "2025-03-30T00:30:00Z"},
		{"London after spring", "GMT Standard Time", "2025-03-30T02:30:00", "2025-03-30T01:30:00Z"},
		{"London repeated hour is the later", "GMT Standard Time", "2025-10-26T01:30:00", "2025-10-26T01:30:00Z"},
		{"London after autumn", "GMT Standard Time", "2025-10-26T02:30:00", "2025-10-26T02:30:00Z"},
		{"New York summer", "Eastern Standard Time", "2025-07-01T09:00:00", "2025-07-01T13:00:00Z"},
		{"New York repeated hour is the later", "Eastern Standard Time", "2025-11-02T01:30:00", "2025-11-02T06:30:00Z"},
		{"Sydney summer", "AUS Eastern Standard Time", "2025-01-15T09:00:00", "2025-01-14T22:00:00Z"},
		{"Sydney repeated hour is the later", "AUS Eastern Standard Time", "2025-04-06T02:30:00", "2025-04-05T16:30:00Z"},
		{"Sydney winter", "AUS Eastern Standard Time", "2025-07-01T09:00:00", "2025-06-30T23:00:00Z"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			loc, err := z.ZoneFor(tt.windows)
			require.NoError(t, err)
			got, err := tt.local.in(loc)
			require.NoError(t, err)
			want, err := time.Parse(time.RFC3339, tt.wantUTC)
			require.NoError(t, err)
			assert.True(t, want.Equal(got), "got %s", got)
			assert.Equal(t, loc, got.Location())
			assert.Equal(t, string(tt.local), got.Format("2006-01-02T15:04:05"), "wall clock kept")
		})
	}
}
