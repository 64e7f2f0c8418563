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
		assert.True(t, strings.HasSuffix(strings.ToLower(u.Email), "@example.com"), u.Email)
		assert.False(t, emails[strings.ToLower(u.Email)], "unique email, whatever its case: %s", u.Email)
		emails[strings.ToLower(u.Email)] = true
	}

	// The demo fixture loads and has no overlapping bookings.
	st, err := newStore(f)
	require.NoError(t, err)
	for _, b := range f.Bookings {
		assert.False(t, st.clash(b.RoomID, holding(&b), b.ID), "booking %d overlaps", b.ID)
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
	h := newHarness(t, Config{Fixture: DemoFixture(1, baseNow()), LenientParams: true})
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

// TestDemoFixtureEdgeCases: what real tenants have is in the demo. On 23 March 2026 the fixture's
// days hold London's clocks going forward (29 March) and Sydney's and Melbourne's going back
// (5 April).
func TestDemoFixtureEdgeCases(t *testing.T) {
	today := time.Date(2026, 3, 23, 6, 0, 0, 0, time.UTC)
	f := DemoFixture(1, today)
	zones := map[int]*time.Location{}
	offsets := map[string]bool{}
	for _, l := range f.Locations {
		tz, err := time.LoadLocation(l.IANAZone)
		require.NoError(t, err)
		zones[l.ID] = tz
		_, off := today.In(tz).Zone()
		offsets[time.Duration(off*int(time.Second)).String()] = true
	}
	assert.True(t, offsets["5h30m0s"], "a location half an hour off the hour: %v", offsets)
	assert.True(t, offsets["5h45m0s"], "a location three quarters of an hour off the hour: %v", offsets)
	locOf := map[int]int{}
	for _, r := range f.Resources {
		locOf[r.ID] = r.LocationID
	}

	t.Run("ids beyond 32 bits, up to 2^53-1", func(t *testing.T) {
		big := func(ids []int) (beyond, largest bool) {
			for _, id := range ids {
				beyond = beyond || id > 1<<31
				largest = largest || id == 1<<53-1
				assert.LessOrEqual(t, id, 1<<53-1)
			}
			return beyond, largest
		}
		var locs, rooms, bookings, users []int
		for _, l := range f.Locations {
			locs = append(locs, l.ID)
		}
		for _, r := range f.Resources {
			if r.WorkspaceTypeID == workspaceRoom {
				rooms = append(rooms, r.ID)
			}
		}
		for _, b := range f.Bookings {
			bookings = append(bookings, b.ID)
		}
		for _, u := range f.Users {
			users = append(users, u.ID)
		}
		for what, ids := range map[string][]int{"locations": locs, "rooms": rooms, "bookings": bookings, "users": users} {
			beyond, largest := big(ids)
			assert.True(t, beyond, "%s beyond 2^31", what)
			assert.True(t, largest, "a %s id of 2^53-1", what)
		}
	})

	t.Run("names beyond ASCII everywhere", func(t *testing.T) {
		nonASCII := func(s string) bool { return strings.IndexFunc(s, func(r rune) bool { return r > 127 }) >= 0 }
		has := map[string]bool{}
		for _, c := range f.Countries {
			has["country"] = has["country"] || nonASCII(c.Name)
		}
		for _, r := range f.Regions {
			has["region"] = has["region"] || nonASCII(r.Name)
		}
		for _, l := range f.Locations {
			has["location"] = has["location"] || nonASCII(l.Name)
		}
		for _, g := range f.Groups {
			has["group"] = has["group"] || nonASCII(g.Name)
		}
		for _, r := range f.Resources {
			has["resource"] = has["resource"] || nonASCII(r.Name)
		}
		for _, u := range f.Users {
			has["user"] = has["user"] || nonASCII(u.FirstName+u.LastName)
			has["mixed-case email"] = has["mixed-case email"] || u.Email != strings.ToLower(u.Email)
		}
		for _, v := range f.Visitors {
			has["visitor"] = has["visitor"] || nonASCII(v.FirstName+v.LastName+v.Company)
		}
		for _, c := range f.CostCodes {
			has["cost code"] = has["cost code"] || nonASCII(c.Description)
		}
		for _, v := range f.Vendors {
			has["vendor"] = has["vendor"] || nonASCII(v.Name)
		}
		for _, what := range []string{"country", "region", "location", "group", "resource", "user", "mixed-case email", "visitor", "cost code", "vendor"} {
			assert.True(t, has[what], what)
		}
	})

	t.Run("titles", func(t *testing.T) {
		titles := map[string]int{}
		for _, b := range f.Bookings {
			titles[b.Title]++
		}
		assert.Equal(t, len(f.Locations), titles[`Q&A: <Roadmap> "2027" & 'Ops' review 🚀`], "markup characters and an emoji, at every location")
		assert.Equal(t, len(f.Locations), titles[""], "an empty title, at every location")
	})

	t.Run("across local midnight", func(t *testing.T) {
		for _, l := range f.Locations {
			tz := zones[l.ID]
			crossing := 0
			for _, b := range f.Bookings {
				if locOf[b.RoomID] == l.ID && workplaceDay(b.Start, tz) != workplaceDay(b.End.Add(-time.Nanosecond), tz) {
					crossing++
				}
			}
			assert.GreaterOrEqual(t, crossing, 2, "%s: one into today, one out of it", l.Name)
		}
	})

	t.Run("daylight saving in both hemispheres", func(t *testing.T) {
		byTitle := func(loc int, title string) []Booking {
			var out []Booking
			for _, b := range f.Bookings {
				if locOf[b.RoomID] == loc && b.Title == title {
					out = append(out, b)
				}
			}
			return out
		}
		for _, name := range []string{"London HQ", "Sydney", "Melbourne"} {
			var l Location
			for _, x := range f.Locations {
				if x.Name == name {
					l = x
				}
			}
			tz := zones[l.ID]
			across := byTitle(l.ID, "Across the clock change")
			require.Len(t, across, 1, name)
			b := across[0]
			assert.Equal(t, time.Hour, b.End.Sub(b.Start), "%s: an hour long", name)
			_, o1 := b.Start.In(tz).Zone()
			_, o2 := b.End.In(tz).Zone()
			assert.NotEqual(t, o1, o2, "%s: the offset changes inside it", name)
			if name == "London HQ" {
				// 00:30 to 02:30 on the wall: 01:00 to 02:00 does not exist.
				assert.Equal(t, "00:30 02:30", b.Start.In(tz).Format("15:04")+" "+b.End.In(tz).Format("15:04"))
				continue
			}
			// 02:30 happens twice: once before the clocks go back, once after.
			before, after := byTitle(l.ID, "Before the clocks go back"), byTitle(l.ID, "After the clocks go back")
			require.Len(t, before, 1)
			require.Len(t, after, 1)
			assert.Equal(t, before[0].Start.In(tz).Format("2006-01-02T15:04"), after[0].Start.In(tz).Format("2006-01-02T15:04"), "%s: the same local time", name)
			assert.Equal(t, time.Hour, after[0].Start.Sub(before[0].Start), "%s: an hour apart", name)
		}
	})

	// Everything loads, and no two bookings of a room overlap.
	st, err := newStore(f)
	require.NoError(t, err)
	for _, b := range f.Bookings {
		assert.False(t, st.clash(b.RoomID, holding(&b), b.ID), "booking %d overlaps", b.ID)
	}
}

// workplaceDay is the local date of t in zone.
func workplaceDay(t time.Time, zone *time.Location) string { return t.In(zone).Format(time.DateOnly) }
func TestDemoFixturePrivateMeetings(t *testing.T) {
	now := time.Date(2026, 6, 15, 9, 0, 0, 0, time.UTC)
	f := DemoFixture(1, now)
	private := map[int]Booking{}
	for _, b := range f.Bookings {
		if b.ID >= edgeBookings && b.ID < edgeBookings+1_000_000 {
			assert.False(t, b.Private, "edge case %d", b.ID)
			continue
		}
		if b.ID%privateEvery != 0 {
			assert.False(t, b.Private, "booking %d", b.ID)
			assert.NotContains(t, privateTitles(), b.Title, "booking %d", b.ID)
			assert.Zero(t, b.RequestorID+b.CreatorID, "booking %d: the host asked for and made it", b.ID)
			continue
		}
		private[b.ID] = b
		assert.True(t, b.Private, "booking %d", b.ID)
		assert.Contains(t, privateTitles(), b.Title)
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
