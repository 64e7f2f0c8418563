package engagesim

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDemoFixtureSize(t *testing.T) {
	now := time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC)
	f := DemoFixture(1, now)
	assert.GreaterOrEqual(t, len(f.Countries), 3)
	assert.GreaterOrEqual(t, len(f.Locations), 6)

	zones := map[string]bool{}
	southern := false
	for _, l := range f.Locations {
		tz, err := time.LoadLocation(l.IANAZone)
		require.NoError(t, err, l.IANAZone)
		assert.NotEmpty(t, l.TimeZone)
		zones[l.TimeZone] = true
		// Southern hemisphere zones observe DST in January, not July.
		_, jan := time.Date(2026, 1, 15, 12, 0, 0, 0, tz).Zone()
		_, jul := time.Date(2026, 7, 15, 12, 0, 0, 0, tz).Zone()
		southern = southern || jan > jul
	}
	assert.GreaterOrEqual(t, len(zones), 3)
	assert.True(t, southern, "a southern-hemisphere location")
	assert.True(t, zones["AUS Eastern Standard Time"] && zones["GMT Standard Time"] && zones["Eastern Standard Time"] && zones["Singapore Standard Time"])

	rooms, desks := 0, 0
	for _, r := range f.Resources {
		switch r.WorkspaceTypeID {
		case 1:
			rooms++
			assert.Positive(t, r.Capacity)
		case 2:
			desks++
		}
	}
	assert.GreaterOrEqual(t, rooms, 100)
	assert.GreaterOrEqual(t, desks, 500)

	next14 := 0
	for _, b := range f.Bookings {
		if !b.Start.Before(now.Truncate(24*time.Hour)) && b.Start.Before(now.AddDate(0, 0, 14)) {
			next14++
		}
		assert.True(t, b.End.After(b.Start))
	}
	assert.GreaterOrEqual(t, next14, 2000)
	assert.NotEmpty(t, f.DeskBookings)
	assert.NotEmpty(t, f.Visitors)
	assert.NotEmpty(t, f.CostCodes)
	assert.NotEmpty(t, f.Vendors)
	emails := map[string]bool{}
	for _, u := range f.Users {
		assert.True(t, strings.HasSuffix(u.Email, "@example.com"), u.Email)
		assert.True(t, strings.HasPrefix(u.Email, strings.ToLower(u.FirstName)+"."+strings.ToLower(u.LastName)), u.Email)
		assert.False(t, emails[u.Email], "unique email %s", u.Email)
		emails[u.Email] = true
	}

	// The demo fixture loads and has no overlapping bookings.
	st, err := newStore(f)
	require.NoError(t, err)
	for _, b := range f.Bookings {
		assert.False(t, st.clash(b.RoomID, b.Start, b.End, b.ID), "booking %d overlaps", b.ID)
	}
}

func TestDemoFixtureDeterministic(t *testing.T) {
	day := time.Date(2026, 6, 15, 0, 0, 0, 0, time.UTC)
	a, err := json.Marshal(DemoFixture(7, day))
	require.NoError(t, err)
	b, err := json.Marshal(DemoFixture(7, day.Add(5*time.Hour)))
	require.NoError(t, err)
	c, err := json.Marshal(DemoFixture(8, day))
	require.NoError(t, err)
	assert.Equal(t, string(a), string(b), "same seed and date")
	assert.NotEqual(t, string(a), string(c), "another seed")
}

func TestDefaultSimUsesDemoFixture(t *testing.T) {
	h := newHarness(t, Config{Fixture: DemoFixture(1, baseNow())})
	r := h.api(http.MethodGet, "/rooms", ProductHierarchyMapping, nil)
	require.Equal(t, http.StatusOK, r.status)
	var e env
	r.decode(t, &e)
	assert.GreaterOrEqual(t, len(e.Data), 100)

	sim, err := New(Config{})
	require.NoError(t, err)
	defer sim.Close()
	assert.GreaterOrEqual(t, len(sim.st.bookings), 2000)
}

func TestNewRejectsBadConfig(t *testing.T) {
	_, err := New(Config{Keys: map[string]string{"Nope": "k"}})
	assert.Error(t, err)
	f := tinyFixture()
	f.Locations[0].IANAZone = "Mars/Olympus"
	_, err = New(Config{Fixture: f})
	assert.Error(t, err)
}

func TestDemoFixturePrivateMeetings(t *testing.T) {
	now := time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC)
	f := DemoFixture(1, now)
	private := map[int]Booking{}
	for _, b := range f.Bookings {
		if b.ID%privateEvery != 0 {
			assert.False(t, b.Private, "booking %d", b.ID)
			assert.NotContains(t, privateTitles, b.Title, "booking %d", b.ID)
			assert.Zero(t, b.RequestorID+b.CreatorID, "booking %d: the host asked for and made it", b.ID)
			continue
		}
		private[b.ID] = b
		assert.True(t, b.Private, "booking %d", b.ID)
		assert.Contains(t, privateTitles, b.Title)
		assistant := b.RequestorID + b.CreatorID
		assert.True(t, (b.RequestorID == 0) != (b.CreatorID == 0), "booking %d: an assistant asked for it or made it", b.ID)
		assert.NotEqual(t, b.UserID, assistant, "booking %d", b.ID)
	}
	assert.Greater(t, len(private), len(f.Bookings)/(privateEvery+1), "about one booking in %d is private", privateEvery)
	for _, v := range f.Visitors {
		if b, ok := private[v.BookingID]; ok {
			assert.Equal(t, b.Title, v.MeetingName, "visitor %d comes to a private meeting", v.ID)
		}
	}
}

func TestPrivateMeetingServedWithItsPeople(t *testing.T) {
	f := tinyFixture()
	f.Bookings[0].Private, f.Bookings[0].CreatorID = true, userAlan
	h := newHarness(t, Config{Fixture: f})
	r := h.api(http.MethodGet, "/bookings/100001", ProductExternalBookings, nil)
	require.Equal(t, http.StatusOK, r.status)
	var b map[string]any
	r.decode(t, &b)
	assert.Equal(t, true, b["privateMeeting"])
	assert.Equal(t, "ada.lovelace@example.com", b["hostEmail"])
	assert.Equal(t, "ada.lovelace@example.com", b["requestorEmail"], "the host asked for it")
	assert.Equal(t, "alan.turing@example.com", b["creatorEmail"])
	assert.Equal(t, "Alan Turing", b["createdBy"])
}
