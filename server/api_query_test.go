package server

// End-to-end tests of every query root field, over real HTTP against an
// engagesim, checked against the simulator's own fixture.

import (
	"fmt"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAPIHierarchy(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)

	var d struct {
		Countries []struct {
			ID, Name string
			Regions  []struct {
				ID, Name  string
				Country   struct{ ID string }
				Locations []struct{ Name string }
			}
		}
		Regions []struct {
			ID, Name string
			Country  struct{ Name string }
		}
		Locations []struct {
			ID, Name, TimeZone, WindowsTimeZone string
			CostCodeMandatory                   bool
			Region                              struct{ Name string }
			Country                             struct{ Name string }
		}
	}
	s.data(t, `{
		countries { id name regions { id name country { id } locations { name } } }
		regions { id name country { name } }
		locations { id name timeZone windowsTimeZone costCodeMandatory region { name } country { name } }
	}`, nil, &d)

	countryName := map[int]string{}
	var countries []string
	for _, c := range s.fx.Countries {
		countryName[c.ID] = c.Name
		countries = append(countries, c.Name)
	}
	regionOf := map[int]engagesim.Region{}
	for _, r := range s.fx.Regions {
		regionOf[r.ID] = r
	}
	var got []string
	countryIDs, regionIDs := map[string]string{}, map[string]string{}
	for _, c := range d.Countries {
		got = append(got, c.Name)
		countryIDs[c.Name] = c.ID
		for _, r := range c.Regions {
			regionIDs[r.Name] = r.ID
			assert.Equal(t, c.ID, r.Country.ID, "region %s", r.Name)
			var want, have []string
			for _, l := range s.fx.Locations {
				if regionOf[l.RegionID].Name == r.Name {
					want = append(want, l.Name)
				}
			}
			for _, l := range r.Locations {
				have = append(have, l.Name)
			}
			assert.ElementsMatch(t, want, have, "locations of region %s", r.Name)
		}
	}
	assert.ElementsMatch(t, countries, got)

	var wantRegions, gotRegions []string
	for _, r := range s.fx.Regions {
		wantRegions = append(wantRegions, r.Name+"/"+countryName[r.CountryID])
	}
	for _, r := range d.Regions {
		gotRegions = append(gotRegions, r.Name+"/"+r.Country.Name)
	}
	assert.ElementsMatch(t, wantRegions, gotRegions)

	require.Len(t, d.Locations, len(s.fx.Locations))
	for _, l := range d.Locations {
		want := s.location(t, l.Name)
		// The gateway knows only the Windows name, so Melbourne's zone may
		// come back as Sydney's (CLDR's choice for the name); the two must
		// keep the same time all year.
		got, err := time.LoadLocation(l.TimeZone)
		require.NoError(t, err, l.Name)
		for m := range 24 {
			at := time.Date(2026, time.January, 1, 0, 0, 0, 0, time.UTC).AddDate(0, m, 0)
			assert.Equal(t, apiOffset(at, s.zone(t, want)), apiOffset(at, got), "%s in %s", l.Name, at.Format("2006-01"))
		}
		assert.Equal(t, want.TimeZone, l.WindowsTimeZone, l.Name)
		assert.Equal(t, want.CostCentreMandatory, l.CostCodeMandatory, l.Name)
		assert.Equal(t, regionOf[want.RegionID].Name, l.Region.Name, l.Name)
		assert.Equal(t, countryName[regionOf[want.RegionID].CountryID], l.Country.Name, l.Name)
	}

	t.Run("filtered", func(t *testing.T) {
		tests := []struct {
			name, query string
			vars        map[string]any
			want        []string
		}{
			{"regions of a country", `query($id: ID) { list: regions(countryId: $id) { name } }`,
				map[string]any{"id": countryIDs["United Kingdom"]}, []string{"England", "Scotland"}},
			{"regions of another country", `query($id: ID) { list: regions(countryId: $id) { name } }`,
				map[string]any{"id": countryIDs["Australia"]}, []string{"New South Wales", "Victoria"}},
			{"locations of a region", `query($id: ID) { list: locations(regionId: $id) { name } }`,
				map[string]any{"id": regionIDs["England"]}, []string{"London HQ"}},
			{"locations of another region", `query($id: ID) { list: locations(regionId: $id) { name } }`,
				map[string]any{"id": regionIDs["Victoria"]}, []string{"Melbourne"}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var d struct{ List []struct{ Name string } }
				s.data(t, tt.query, tt.vars, &d)
				var got []string
				for _, x := range d.List {
					got = append(got, x.Name)
				}
				assert.ElementsMatch(t, tt.want, got)
			})
		}
	})

	t.Run("location with everything", func(t *testing.T) {
		want := s.location(t, "London HQ")
		id := s.locationID(t, want.Name)
		type desk struct {
			ID, Name   string
			Attributes []int
			Floor      struct{ Number int }
			Location   struct{ ID string }
			Group      *struct{ Name string }
		}
		var d struct {
			Location struct {
				ID, Name, Address, City, PostCode, TimeZone, WindowsTimeZone string
				FloorsAboveGround, FloorsBelowGround                         int
				CostCodeMandatory                                            bool
				Region                                                       struct{ Name string }
				Country                                                      struct{ Name string }
				Groups                                                       []struct{ ID, Name string }
				Floors                                                       []struct {
					ID       string
					Number   int
					Name     string
					Location struct{ ID string }
					Rooms    []struct{ Name string }
					Desks    []struct{ Name string }
				}
				Rooms []struct {
					desk
					Capacity int
				}
				Desks     []desk
				CostCodes []struct {
					ID, Code, Description string
					Active                bool
					Location              struct{ ID string }
				}
				VendorServices []struct {
					ID, Name string
					Services []struct {
						ID, Name, Currency string
						Price              float64
					}
				}
			}
		}
		s.data(t, `query($id: ID!) { location(id: $id) {
			id name address city postCode timeZone windowsTimeZone floorsAboveGround floorsBelowGround costCodeMandatory
			region { name } country { name } groups { id name }
			floors { id number name location { id } rooms { name } desks { name } }
			rooms { id name capacity attributes floor { number } location { id } group { name } }
			desks { id name attributes floor { number } location { id } group { name } }
			costCodes { id code description active location { id } }
			vendorServices { id name services { id name price currency } }
		} }`, map[string]any{"id": id}, &d)
		l := d.Location
		assert.Equal(t, id, l.ID)
		assert.Equal(t, []any{want.Name, want.Address, want.City, want.PostCode, "Europe/London", "GMT Standard Time", want.FloorsAboveGround, want.FloorsBelowGround, false},
			[]any{l.Name, l.Address, l.City, l.PostCode, l.TimeZone, l.WindowsTimeZone, l.FloorsAboveGround, l.FloorsBelowGround, l.CostCodeMandatory})
		assert.Equal(t, "England", l.Region.Name)
		assert.Equal(t, "United Kingdom", l.Country.Name)

		var wantGroups, gotGroups []string
		groupName := map[int]string{}
		for _, g := range s.fx.Groups {
			groupName[g.ID] = g.Name
			if g.LocationID == want.ID {
				wantGroups = append(wantGroups, g.Name)
			}
		}
		for _, g := range l.Groups {
			gotGroups = append(gotGroups, g.Name)
		}
		assert.ElementsMatch(t, wantGroups, gotGroups)

		rooms, desks := s.resources(want.ID, 1), s.resources(want.ID, 2)
		floorRooms, floorDesks := map[int][]string{}, map[int][]string{}
		for _, r := range rooms {
			floorRooms[r.FloorNumber] = append(floorRooms[r.FloorNumber], r.Name)
		}
		for _, r := range desks {
			floorDesks[r.FloorNumber] = append(floorDesks[r.FloorNumber], r.Name)
		}
		var wantFloors, gotFloors []int
		for f := range floorRooms {
			wantFloors = append(wantFloors, f)
		}
		for f := range floorDesks {
			if !slices.Contains(wantFloors, f) {
				wantFloors = append(wantFloors, f)
			}
		}
		sort.Ints(wantFloors)
		for _, f := range l.Floors {
			gotFloors = append(gotFloors, f.Number)
			assert.Equal(t, id, f.Location.ID)
			var rs, ds []string
			for _, r := range f.Rooms {
				rs = append(rs, r.Name)
			}
			for _, r := range f.Desks {
				ds = append(ds, r.Name)
			}
			assert.ElementsMatch(t, floorRooms[f.Number], rs, "rooms of floor %d", f.Number)
			assert.ElementsMatch(t, floorDesks[f.Number], ds, "desks of floor %d", f.Number)
		}
		assert.Equal(t, wantFloors, gotFloors, "floors, lowest first")

		require.Len(t, l.Rooms, len(rooms))
		for i, r := range rooms {
			g := l.Rooms[i]
			assert.Equal(t, r.Name, g.Name)
			assert.Equal(t, r.Capacity, g.Capacity, r.Name)
			assert.ElementsMatch(t, r.Attributes, g.Attributes, r.Name)
			assert.Equal(t, r.FloorNumber, g.Floor.Number, r.Name)
			assert.Equal(t, id, g.Location.ID, r.Name)
			require.NotNil(t, g.Group, r.Name)
			assert.Equal(t, groupName[r.GroupID], g.Group.Name, r.Name)
		}
		require.Len(t, l.Desks, len(desks))
		for i, r := range desks {
			g := l.Desks[i]
			assert.Equal(t, r.Name, g.Name)
			assert.ElementsMatch(t, r.Attributes, g.Attributes, r.Name)
			assert.Equal(t, r.FloorNumber, g.Floor.Number, r.Name)
			require.NotNil(t, g.Group, r.Name)
			assert.Equal(t, groupName[r.GroupID], g.Group.Name, r.Name)
		}

		var wantCodes, gotCodes []string
		for _, c := range s.fx.CostCodes {
			if c.LocationID == want.ID {
				wantCodes = append(wantCodes, fmt.Sprintf("%s/%s/%v", c.Code, c.Description, c.IsActive))
			}
		}
		for _, c := range l.CostCodes {
			gotCodes = append(gotCodes, fmt.Sprintf("%s/%s/%v", c.Code, c.Description, c.Active))
			assert.Equal(t, id, c.Location.ID)
		}
		assert.ElementsMatch(t, wantCodes, gotCodes)

		var wantVendors, gotVendors []string
		for _, v := range s.fx.Vendors {
			if slices.Contains(v.LocationIDs, want.ID) {
				for _, sv := range v.Services {
					wantVendors = append(wantVendors, fmt.Sprintf("%s: %s %.2f %s", v.Name, sv.Name, sv.Price, sv.Currency))
				}
			}
		}
		for _, v := range l.VendorServices {
			for _, sv := range v.Services {
				gotVendors = append(gotVendors, fmt.Sprintf("%s: %s %.2f %s", v.Name, sv.Name, sv.Price, sv.Currency))
			}
		}
		assert.NotEmpty(t, wantVendors)
		assert.ElementsMatch(t, wantVendors, gotVendors)
	})

	t.Run("unknown location is null with NOT_FOUND", func(t *testing.T) {
		resp := s.call(t, `{ location(id: "TG9jYXRpb246OTk5OTk5") { id } }`, nil)
		assert.JSONEq(t, `{"location": null}`, string(resp.Data))
		assert.Equal(t, "NOT_FOUND", apiErrorAt(t, resp, "location").Extensions["code"])
	})
}

// apiFilterCase is one filter of Query.rooms with the fixture's answer.
type apiFilterCase struct {
	name string
	args string
	vars map[string]any
	keep func(engagesim.Resource) bool
}

func TestAPIRoomsAndDesksFilters(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	london := s.location(t, "London HQ")
	zone := s.zone(t, london)
	locID := s.locationID(t, london.Name)
	rooms, desks := s.resources(london.ID, 1), s.resources(london.ID, 2)

	var gd struct {
		Location struct{ Groups []struct{ ID, Name string } }
	}
	s.data(t, `query($id: ID!) { location(id: $id) { groups { id name } } }`, map[string]any{"id": locID}, &gd)
	require.NotEmpty(t, gd.Location.Groups)
	group := gd.Location.Groups[0]
	groupFixtureID := 0
	for _, g := range s.fx.Groups {
		if g.Name == group.Name {
			groupFixtureID = g.ID
		}
	}

	day := apiNextWeekday(apiLocalDay(time.Now(), zone))
	freeFrom, freeTo := apiAt(day, 8, 0), apiAt(day, 9, 0)
	busy := func(r engagesim.Resource) bool { return len(s.roomBookings(r.ID, freeFrom, freeTo)) > 0 }

	t.Run("rooms", func(t *testing.T) {
		tests := []apiFilterCase{
			{"floor", "floor: $floor", map[string]any{"floor": rooms[0].FloorNumber},
				func(r engagesim.Resource) bool { return r.FloorNumber == rooms[0].FloorNumber }},
			{"group", "groupId: $group", map[string]any{"group": group.ID},
				func(r engagesim.Resource) bool { return r.GroupID == groupFixtureID }},
			{"minCapacity", "minCapacity: $min", map[string]any{"min": 8},
				func(r engagesim.Resource) bool { return r.Capacity >= 8 }},
			{"attributes", "attributes: $attrs", map[string]any{"attrs": []int{2, 5}},
				func(r engagesim.Resource) bool {
					return slices.Contains(r.Attributes, 2) && slices.Contains(r.Attributes, 5)
				}},
			{"free for the whole window", "freeFrom: $from, freeTo: $to",
				map[string]any{"from": freeFrom.Format(time.RFC3339), "to": freeTo.Format(time.RFC3339)},
				func(r engagesim.Resource) bool { return !busy(r) }},
			{"several at once", "minCapacity: $min, attributes: $attrs", map[string]any{"min": 6, "attrs": []int{1}},
				func(r engagesim.Resource) bool { return r.Capacity >= 6 && slices.Contains(r.Attributes, 1) }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var want []string
				for _, r := range rooms {
					if tt.keep(r) {
						want = append(want, r.Name)
					}
				}
				require.NotEmpty(t, want, "the fixture must make this filter keep some rooms")
				require.Less(t, len(want), len(rooms), "the fixture must make this filter drop some rooms")

				params, args := []string{"$loc: ID!"}, []string{"locationId: $loc"}
				types := map[string]string{"floor": "Int", "group": "ID", "min": "Int", "attrs": "[Int!]", "from": "DateTime", "to": "DateTime"}
				vars := map[string]any{"loc": locID}
				for k, v := range tt.vars {
					params = append(params, "$"+k+": "+types[k])
					vars[k] = v
				}
				args = append(args, tt.args)
				q := fmt.Sprintf(`query(%s) { rooms(%s) { name } }`, strings.Join(params, ", "), strings.Join(args, ", "))
				var d struct{ Rooms []struct{ Name string } }
				s.data(t, q, vars, &d)
				var got []string
				for _, r := range d.Rooms {
					got = append(got, r.Name)
				}
				assert.ElementsMatch(t, want, got)
			})
		}
	})

	t.Run("free rooms agree with each room's bookings", func(t *testing.T) {
		var d struct {
			All []struct {
				Name     string
				Bookings []struct{ Start, End string }
			}
			Free []struct{ Name string }
		}
		s.data(t, `query($loc: ID!, $from: DateTime!, $to: DateTime!) {
			all: rooms(locationId: $loc) { name bookings(from: $from, to: $to) { start end } }
			free: rooms(locationId: $loc, freeFrom: $from, freeTo: $to) { name }
		}`, map[string]any{"loc": locID, "from": freeFrom.Format(time.RFC3339), "to": freeTo.Format(time.RFC3339)}, &d)
		var idle, free []string
		for _, r := range d.All {
			if len(r.Bookings) == 0 {
				idle = append(idle, r.Name)
			}
			for _, b := range r.Bookings {
				assert.True(t, apiTime(t, b.Start).Before(freeTo) && apiTime(t, b.End).After(freeFrom), "%s: %v overlaps the window", r.Name, b)
			}
		}
		for _, r := range d.Free {
			free = append(free, r.Name)
		}
		assert.NotEmpty(t, free)
		assert.Less(t, len(free), len(d.All))
		assert.ElementsMatch(t, idle, free)
	})

	t.Run("room by id", func(t *testing.T) {
		r := rooms[3]
		id := s.roomIDs(t, locID)[r.Name]
		var d struct {
			Room struct {
				ID, Name   string
				Capacity   int
				Attributes []int
				Floor      struct {
					ID       string
					Number   int
					Location struct{ Name string }
				}
				Location struct{ Name string }
				Group    struct{ ID string }
			}
		}
		s.data(t, `query($id: ID!) { room(id: $id) { id name capacity attributes floor { id number location { name } } location { name } group { id } } }`,
			map[string]any{"id": id}, &d)
		assert.Equal(t, id, d.Room.ID)
		assert.Equal(t, r.Name, d.Room.Name)
		assert.Equal(t, r.Capacity, d.Room.Capacity)
		assert.ElementsMatch(t, r.Attributes, d.Room.Attributes)
		assert.Equal(t, r.FloorNumber, d.Room.Floor.Number)
		assert.Equal(t, london.Name, d.Room.Floor.Location.Name)
		assert.Equal(t, london.Name, d.Room.Location.Name)
		assert.NotEmpty(t, d.Room.Group.ID)
	})

	t.Run("desks", func(t *testing.T) {
		date := day.Format(time.DateOnly)
		taken := map[int]bool{}
		for _, b := range s.fx.DeskBookings {
			if b.Date == date {
				taken[b.DeskID] = true
			}
		}
		tests := []apiFilterCase{
			{"floor", "floor: $floor", map[string]any{"floor": desks[0].FloorNumber},
				func(r engagesim.Resource) bool { return r.FloorNumber == desks[0].FloorNumber }},
			{"group", "groupId: $group", map[string]any{"group": group.ID},
				func(r engagesim.Resource) bool { return r.GroupID == groupFixtureID }},
			{"free all day", "freeOn: $on", map[string]any{"on": date},
				func(r engagesim.Resource) bool { return !taken[r.ID] }},
			{"several at once", "floor: $floor, freeOn: $on", map[string]any{"floor": desks[0].FloorNumber, "on": date},
				func(r engagesim.Resource) bool { return r.FloorNumber == desks[0].FloorNumber && !taken[r.ID] }},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var want []string
				for _, r := range desks {
					if tt.keep(r) {
						want = append(want, r.Name)
					}
				}
				require.NotEmpty(t, want)
				require.Less(t, len(want), len(desks))
				params := []string{"$loc: ID!"}
				types := map[string]string{"floor": "Int", "group": "ID", "on": "Date"}
				vars := map[string]any{"loc": locID}
				for k, v := range tt.vars {
					params = append(params, "$"+k+": "+types[k])
					vars[k] = v
				}
				q := fmt.Sprintf(`query(%s) { desks(locationId: $loc, %s) { name } }`, strings.Join(params, ", "), tt.args)
				var d struct{ Desks []struct{ Name string } }
				s.data(t, q, vars, &d)
				var got []string
				for _, r := range d.Desks {
					got = append(got, r.Name)
				}
				assert.ElementsMatch(t, want, got)
			})
		}
	})

	t.Run("desk by id", func(t *testing.T) {
		r := desks[7]
		id := s.deskIDs(t, locID)[r.Name]
		var d struct {
			Desk struct {
				ID, Name   string
				Attributes []int
				Floor      struct{ Number int }
				Location   struct{ Name string }
				Group      struct{ ID string }
			}
		}
		s.data(t, `query($id: ID!) { desk(id: $id) { id name attributes floor { number } location { name } group { id } } }`,
			map[string]any{"id": id}, &d)
		assert.Equal(t, id, d.Desk.ID)
		assert.Equal(t, r.Name, d.Desk.Name)
		assert.ElementsMatch(t, r.Attributes, d.Desk.Attributes)
		assert.Equal(t, r.FloorNumber, d.Desk.Floor.Number)
		assert.Equal(t, london.Name, d.Desk.Location.Name)
		assert.NotEmpty(t, d.Desk.Group.ID)
	})

	t.Run("bad filters", func(t *testing.T) {
		tests := []struct {
			name, query string
			vars        map[string]any
			path        string
		}{
			{"freeFrom without freeTo", `query($loc: ID!, $from: DateTime) { rooms(locationId: $loc, freeFrom: $from) { id } }`,
				map[string]any{"loc": locID, "from": freeFrom.Format(time.RFC3339)}, "rooms"},
			{"freeTo before freeFrom", `query($loc: ID!, $from: DateTime, $to: DateTime) { rooms(locationId: $loc, freeFrom: $from, freeTo: $to) { id } }`,
				map[string]any{"loc": locID, "from": freeTo.Format(time.RFC3339), "to": freeFrom.Format(time.RFC3339)}, "rooms"},
			{"group id of another type", `query($loc: ID!) { desks(locationId: $loc, groupId: $loc) { id } }`,
				map[string]any{"loc": locID}, "desks"},
			{"DateTime without offset", `query($loc: ID!) { rooms(locationId: $loc, freeFrom: "2030-01-01T09:00:00", freeTo: "2030-01-01T10:00:00") { id } }`,
				map[string]any{"loc": locID}, "rooms"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := s.call(t, tt.query, tt.vars)
				require.NotEmpty(t, resp.Errors)
				assert.Equal(t, "BAD_USER_INPUT", resp.Errors[0].Extensions["code"], resp.Errors[0].Message)
			})
		}
	})
}

func TestAPIRoomAndDeskSchedules(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	london := s.location(t, "London HQ")
	zone := s.zone(t, london)
	locID := s.locationID(t, london.Name)
	day := apiNextWeekday(apiLocalDay(time.Now(), zone))
	from, to := day, day.AddDate(0, 0, 1)

	// The room with the most bookings that day.
	var room engagesim.Resource
	var want []engagesim.Booking
	for _, r := range s.resources(london.ID, 1) {
		if bs := s.roomBookings(r.ID, from, to); len(bs) > len(want) {
			room, want = r, bs
		}
	}
	require.GreaterOrEqual(t, len(want), 2)
	slices.SortFunc(want, func(a, b engagesim.Booking) int { return a.Start.Compare(b.Start) })
	roomID := s.roomIDs(t, locID)[room.Name]

	t.Run("room bookings and free slots", func(t *testing.T) {
		slotFrom, slotTo := apiAt(day, 7, 0), apiAt(day, 21, 0)
		var d struct {
			Room struct {
				Bookings []struct {
					EngageID          apiEngageID
					Title, Start, End string
					Room              struct{ ID string }
				}
				FreeSlots []struct{ Start, End string }
			}
		}
		s.data(t, `query($id: ID!, $from: DateTime!, $to: DateTime!, $sf: DateTime!, $st: DateTime!) { room(id: $id) {
			bookings(from: $from, to: $to) { engageId title start end room { id } }
			freeSlots(from: $sf, to: $st) { start end }
		} }`, map[string]any{"id": roomID, "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339),
			"sf": slotFrom.UTC().Format(time.RFC3339), "st": slotTo.UTC().Format(time.RFC3339)}, &d)

		require.Len(t, d.Room.Bookings, len(want))
		for i, b := range want {
			g := d.Room.Bookings[i]
			assert.Equal(t, b.ID, int(g.EngageID))
			assert.Equal(t, apiTitle(b), g.Title)
			assert.Equal(t, roomID, g.Room.ID)
			apiAssertLocal(t, zone, b.Start, g.Start, "start of booking", b.ID)
			apiAssertLocal(t, zone, b.End, g.End, "end of booking", b.ID)
		}

		// The free slots are the window minus the bookings.
		var wantSlots [][2]time.Time
		cur := slotFrom
		for _, b := range want {
			if b.Start.After(cur) {
				wantSlots = append(wantSlots, [2]time.Time{cur, b.Start})
			}
			if b.End.After(cur) {
				cur = b.End
			}
		}
		if cur.Before(slotTo) {
			wantSlots = append(wantSlots, [2]time.Time{cur, slotTo})
		}
		require.Len(t, d.Room.FreeSlots, len(wantSlots), "%+v", d.Room.FreeSlots)
		for i, w := range wantSlots {
			apiAssertLocal(t, zone, w[0], d.Room.FreeSlots[i].Start, "free slot", i)
			apiAssertLocal(t, zone, w[1], d.Room.FreeSlots[i].End, "free slot", i)
		}
	})

	t.Run("windows default to today at the location", func(t *testing.T) {
		today := apiLocalDay(time.Now(), zone)
		tomorrow := today.AddDate(0, 0, 1)
		var busiest engagesim.Resource
		var want []engagesim.Booking
		for _, r := range s.resources(london.ID, 1) {
			if bs := s.roomBookings(r.ID, today, tomorrow); busiest.ID == 0 || len(bs) > len(want) {
				busiest, want = r, bs
			}
		}
		var desk engagesim.Resource
		var wantDesk []engagesim.DeskBooking
		for _, r := range s.resources(london.ID, 2) {
			if bs := s.deskBookings(r.ID, today.Format(time.DateOnly), today.Format(time.DateOnly)); desk.ID == 0 || len(bs) > len(wantDesk) {
				desk, wantDesk = r, bs
			}
		}
		var d struct {
			Room struct {
				Bookings  []struct{ EngageID apiEngageID }
				FreeSlots []struct{ Start, End string }
			}
			Desk struct {
				Bookings []struct{ EngageID apiEngageID }
			}
		}
		before := time.Now()
		s.data(t, `query($room: ID!, $desk: ID!) { room(id: $room) { bookings { engageId } freeSlots { start end } } desk(id: $desk) { bookings { engageId } } }`,
			map[string]any{"room": s.roomIDs(t, locID)[busiest.Name], "desk": s.deskIDs(t, locID)[desk.Name]}, &d)
		var got []int
		for _, b := range d.Room.Bookings {
			got = append(got, int(b.EngageID))
		}
		var wantIDs []int
		for _, b := range want {
			wantIDs = append(wantIDs, b.ID)
		}
		assert.ElementsMatch(t, wantIDs, got, "the room's bookings of today")
		got, wantIDs = nil, nil
		for _, b := range d.Desk.Bookings {
			got = append(got, int(b.EngageID))
		}
		for _, b := range wantDesk {
			wantIDs = append(wantIDs, b.ID)
		}
		assert.ElementsMatch(t, wantIDs, got, "the desk's bookings of today")

		// Free slots: the rest of today, around the bookings. Late in the
		// day the rest of it may be taken (the demo's late booking runs
		// past midnight); then there is none.
		if len(d.Room.FreeSlots) == 0 {
			taken := before.Truncate(time.Minute)
			byStart := slices.Clone(want)
			slices.SortFunc(byStart, func(a, b engagesim.Booking) int { return a.Start.Compare(b.Start) })
			for _, b := range byStart {
				if !b.Start.After(taken) && b.End.After(taken) {
					taken = b.End
				}
			}
			assert.False(t, taken.Before(tomorrow), "no free slot, yet the room is free from %s", taken)
			return
		}
		last := d.Room.FreeSlots[len(d.Room.FreeSlots)-1]
		// It ends at midnight, or where a booking running past midnight
		// begins.
		end := tomorrow
		for _, b := range want {
			if b.End.After(tomorrow) {
				end = b.Start
			}
		}
		apiAssertLocal(t, zone, end, last.End, "today's free time ends at midnight or at a booking running past it")
		first := apiTime(t, d.Room.FreeSlots[0].Start)
		assert.False(t, first.Before(before.Truncate(time.Minute)), "free time starts now, not earlier: %s", first)
		for _, sl := range d.Room.FreeSlots {
			for _, b := range want {
				assert.False(t, apiTime(t, sl.Start).Before(b.End) && apiTime(t, sl.End).After(b.Start), "slot %v overlaps booking %d", sl, b.ID)
			}
		}
	})

	t.Run("desk bookings", func(t *testing.T) {
		today := apiLocalDay(time.Now(), zone)
		first, last := today.Format(time.DateOnly), today.AddDate(0, 0, 13).Format(time.DateOnly)
		var desk engagesim.Resource
		var want []engagesim.DeskBooking
		for _, r := range s.resources(london.ID, 2) {
			if bs := s.deskBookings(r.ID, first, last); len(bs) > len(want) {
				desk, want = r, bs
			}
		}
		require.GreaterOrEqual(t, len(want), 2)
		id := s.deskIDs(t, locID)[desk.Name]
		var d struct {
			Desk struct {
				Bookings []struct {
					ID, Date, Period, Status string
					EngageID                 apiEngageID
					UntilFurtherNotice       bool
					Desk                     struct{ ID string }
					User                     struct{ Email string }
				}
			}
		}
		s.data(t, `query($id: ID!, $from: Date!, $to: Date!) { desk(id: $id) {
			bookings(from: $from, to: $to) { id engageId date period status untilFurtherNotice desk { id } user { email } }
		} }`, map[string]any{"id": id, "from": first, "to": last}, &d)
		periods := map[int]string{1: "MORNING", 2: "AFTERNOON", 3: "ALL_DAY"}
		require.Len(t, d.Desk.Bookings, len(want))
		for i, b := range want {
			g := d.Desk.Bookings[i]
			assert.Equal(t, b.ID, int(g.EngageID))
			assert.Equal(t, b.Date, g.Date)
			assert.Equal(t, periods[b.BookingType], g.Period)
			assert.Equal(t, "BOOKED", g.Status)
			assert.False(t, g.UntilFurtherNotice)
			assert.Equal(t, id, g.Desk.ID)
			assert.Equal(t, s.user(b.UserID).Email, g.User.Email)
		}
	})
}

func TestAPIBookingsQuery(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	london := s.location(t, "London HQ")
	zone := s.zone(t, london)
	locID := s.locationID(t, london.Name)
	roomIDs := s.roomIDs(t, locID)
	rooms := s.resources(london.ID, 1)
	roomByID := map[int]string{}
	for _, r := range rooms {
		roomByID[r.ID] = r.Name
	}

	type booking struct {
		ID, Title, Start, End string
		EngageID              apiEngageID
		Room                  struct{ Name string }
		Host                  struct{ Email string }
	}
	fields := `id engageId title start end room { name } host { email }`
	check := func(t *testing.T, want []engagesim.Booking, got []booking) {
		t.Helper()
		slices.SortStableFunc(want, func(a, b engagesim.Booking) int {
			if c := a.Start.Compare(b.Start); c != 0 {
				return c
			}
			return a.ID - b.ID
		})
		require.Len(t, got, len(want))
		seen := map[string]bool{}
		for i, w := range want {
			g := got[i]
			assert.False(t, seen[g.ID], "booking %s twice", g.ID)
			seen[g.ID] = true
			assert.Equal(t, w.ID, int(g.EngageID))
			assert.Equal(t, apiTitle(w), g.Title)
			assert.Equal(t, roomByID[w.RoomID], g.Room.Name)
			assert.Equal(t, s.user(w.UserID).Email, g.Host.Email)
			apiAssertLocal(t, zone, w.Start, g.Start)
			apiAssertLocal(t, zone, w.End, g.End)
		}
	}
	day := apiNextWeekday(apiLocalDay(time.Now(), zone))

	t.Run("a location's bookings of one day", func(t *testing.T) {
		from, to := apiAt(day, 10, 0), apiAt(day, 15, 0)
		var want []engagesim.Booking
		for _, r := range rooms {
			want = append(want, s.roomBookings(r.ID, from, to)...)
		}
		var d struct{ Bookings []booking }
		s.data(t, `query($loc: ID!, $from: DateTime!, $to: DateTime!) { bookings(locationId: $loc, from: $from, to: $to) { `+fields+` } }`,
			map[string]any{"loc": locID, "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)}, &d)
		require.NotEmpty(t, want)
		check(t, want, d.Bookings)
	})

	t.Run("twenty days of two rooms: two upstream windows per room, merged", func(t *testing.T) {
		from := apiLocalDay(time.Now(), zone)
		to := from.AddDate(0, 0, 20)
		a, b := rooms[0], rooms[1]
		want := append(s.roomBookings(a.ID, from, to), s.roomBookings(b.ID, from, to)...)
		require.NotEmpty(t, want)
		s.resetStats(t)
		var d struct{ Bookings []booking }
		s.data(t, `query($rooms: [ID!], $from: DateTime!, $to: DateTime!) { bookings(roomIds: $rooms, from: $from, to: $to) { `+fields+` } }`,
			map[string]any{"rooms": []string{roomIDs[a.Name], roomIDs[b.Name]}, "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339)}, &d)
		check(t, want, d.Bookings)
		assert.Equal(t, 4, s.calls(t, "GET", "/bookings"), "GET /bookings twice per room: %+v", s.stats(t).Calls)
		var bad int
		for _, c := range s.stats(t).Calls {
			if c.Status >= 400 {
				bad += c.Count
			}
		}
		assert.Zero(t, bad, "no upstream call failed: %+v", s.stats(t).Calls)
	})

	t.Run("hosted by one person", func(t *testing.T) {
		from, to := apiLocalDay(time.Now(), zone), apiLocalDay(time.Now(), zone).AddDate(0, 0, 14)
		var all []engagesim.Booking
		for _, r := range rooms[:6] {
			all = append(all, s.roomBookings(r.ID, from, to)...)
		}
		require.NotEmpty(t, all)
		host := s.user(all[0].UserID)
		var want []engagesim.Booking
		for _, b := range all {
			if b.UserID == host.ID {
				want = append(want, b)
			}
		}
		var ids []string
		for _, r := range rooms[:6] {
			ids = append(ids, roomIDs[r.Name])
		}
		var d struct{ Bookings []booking }
		s.data(t, `query($rooms: [ID!], $from: DateTime!, $to: DateTime!, $host: String) { bookings(roomIds: $rooms, from: $from, to: $to, hostEmail: $host) { `+fields+` } }`,
			map[string]any{"rooms": ids, "from": from.Format(time.RFC3339), "to": to.Format(time.RFC3339), "host": strings.ToUpper(host.Email)}, &d)
		check(t, want, d.Bookings)
	})

	t.Run("bad arguments", func(t *testing.T) {
		tests := []struct {
			name, query string
			vars        map[string]any
			code        string
		}{
			{"neither locationId nor roomIds", `query($from: DateTime!, $to: DateTime!) { bookings(from: $from, to: $to) { id } }`,
				map[string]any{"from": day.Format(time.RFC3339), "to": day.AddDate(0, 0, 1).Format(time.RFC3339)}, "BAD_USER_INPUT"},
			{"to before from", `query($loc: ID, $from: DateTime!, $to: DateTime!) { bookings(locationId: $loc, from: $from, to: $to) { id } }`,
				map[string]any{"loc": locID, "from": day.Format(time.RFC3339), "to": day.AddDate(0, 0, -1).Format(time.RFC3339)}, "BAD_USER_INPUT"},
			{"unknown room", `query($from: DateTime!, $to: DateTime!) { bookings(roomIds: ["Um9vbTo0MTo5OTk5OTk"], from: $from, to: $to) { id } }`,
				map[string]any{"from": day.Format(time.RFC3339), "to": day.AddDate(0, 0, 1).Format(time.RFC3339)}, "NOT_FOUND"},
			{"unknown location", `query($from: DateTime!, $to: DateTime!) { bookings(locationId: "TG9jYXRpb246OTk5OTk5", from: $from, to: $to) { id } }`,
				map[string]any{"from": day.Format(time.RFC3339), "to": day.AddDate(0, 0, 1).Format(time.RFC3339)}, "NOT_FOUND"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := s.call(t, tt.query, tt.vars)
				assert.JSONEq(t, `null`, string(resp.Data))
				assert.Equal(t, tt.code, apiErrorAt(t, resp, "bookings").Extensions["code"])
			})
		}
	})
}

func TestAPIBookingByID(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	now := time.Now()

	// A fixture visitor whose meeting is inside the visitor window (today
	// to 13 days ahead at its location).
	var visitor engagesim.Visitor
	var booking engagesim.Booking
	var loc engagesim.Location
	for _, v := range s.fx.Visitors {
		l := s.fx.Locations[slices.IndexFunc(s.fx.Locations, func(l engagesim.Location) bool { return l.ID == v.LocationID })]
		zone := s.zone(t, l)
		today := apiLocalDay(now, zone)
		bi := slices.IndexFunc(s.fx.Bookings, func(b engagesim.Booking) bool { return b.ID == v.BookingID })
		b := s.fx.Bookings[bi]
		if d := apiLocalDay(b.Start, zone); d.After(today) && d.Before(today.AddDate(0, 0, 13)) {
			visitor, booking, loc = v, b, l
			break
		}
	}
	require.NotZero(t, visitor.ID)
	zone := s.zone(t, loc)
	var room engagesim.Resource
	for _, r := range s.fx.Resources {
		if r.ID == booking.RoomID {
			room = r
		}
	}
	locID := s.locationID(t, loc.Name)
	roomID := s.roomIDs(t, locID)[room.Name]
	host := s.user(booking.UserID)

	// The booking's global id, as the API lists it.
	bookingID := func(t *testing.T, engageID int, start time.Time) string {
		t.Helper()
		var d struct {
			Bookings []struct {
				ID       string
				EngageID apiEngageID
			}
		}
		s.data(t, `query($rooms: [ID!], $from: DateTime!, $to: DateTime!) { bookings(roomIds: $rooms, from: $from, to: $to) { id engageId } }`,
			map[string]any{"rooms": []string{roomID}, "from": start.Format(time.RFC3339), "to": start.Add(time.Minute).Format(time.RFC3339)}, &d)
		for _, b := range d.Bookings {
			if int(b.EngageID) == engageID {
				return b.ID
			}
		}
		require.Failf(t, "booking not listed", "%d", engageID)
		return ""
	}

	t.Run("with everything it leads to", func(t *testing.T) {
		id := bookingID(t, booking.ID, booking.Start)
		var d struct {
			Booking struct {
				ID, Title, Start, End, Progress, Source string
				EngageID                                apiEngageID
				ActualStart, ActualEnd                  *string
				Private                                 bool
				Room                                    struct{ ID, Name string }
				Location                                struct{ Name, TimeZone string }
				Host                                    struct {
					Email, Name, FirstName, LastName string
					EngageID                         apiEngageID
				}
				Requestor, Creator struct{ Email string }
				CostCode           *struct{ Code string }
				Visitors           []struct{ FirstName, LastName, Company string }
				ServiceOrders      []struct{ ID string }
			}
		}
		s.data(t, `query($id: ID!) { booking(id: $id) {
			id engageId title start end actualStart actualEnd progress private source
			room { id name } location { name timeZone }
			host { email name firstName lastName engageId } requestor { email } creator { email }
			costCode { code } visitors { firstName lastName company } serviceOrders { id }
		} }`, map[string]any{"id": id}, &d)
		b := d.Booking
		assert.Equal(t, id, b.ID)
		assert.Equal(t, booking.ID, int(b.EngageID))
		assert.Equal(t, apiTitle(booking), b.Title)
		apiAssertLocal(t, zone, booking.Start, b.Start)
		apiAssertLocal(t, zone, booking.End, b.End)
		assert.Nil(t, b.ActualStart)
		assert.Nil(t, b.ActualEnd)
		assert.Equal(t, "NOT_STARTED", b.Progress)
		assert.False(t, b.Private)
		assert.NotEmpty(t, b.Source)
		assert.Equal(t, roomID, b.Room.ID)
		assert.Equal(t, room.Name, b.Room.Name)
		assert.Equal(t, loc.Name, b.Location.Name)
		assert.Equal(t, loc.IANAZone, b.Location.TimeZone)
		assert.Equal(t, host.Email, b.Host.Email)
		assert.Equal(t, host.FirstName+" "+host.LastName, b.Host.Name)
		assert.Equal(t, host.ID, int(b.Host.EngageID))
		assert.Equal(t, host.Email, b.Requestor.Email)
		assert.Equal(t, host.Email, b.Creator.Email)
		assert.Nil(t, b.CostCode)
		var want, got []string
		for _, v := range s.fx.Visitors {
			if v.BookingID == booking.ID {
				want = append(want, v.FirstName+" "+v.LastName+" "+v.Company)
			}
		}
		for _, v := range b.Visitors {
			got = append(got, v.FirstName+" "+v.LastName+" "+v.Company)
		}
		assert.Contains(t, got, visitor.FirstName+" "+visitor.LastName+" "+visitor.Company)
		assert.ElementsMatch(t, want, got)
		assert.Empty(t, b.ServiceOrders)
	})

	t.Run("with a cost code", func(t *testing.T) {
		var cc engagesim.CostCode
		for _, c := range s.fx.CostCodes {
			if c.LocationID == loc.ID && c.IsActive {
				cc = c
				break
			}
		}
		start := apiAt(apiLocalDay(now, zone).AddDate(0, 0, 2), 21, 0)
		var made struct{ BookingID int }
		s.admin(t, "POST", "/_sim/bookings?isUTCDateTime=true", map[string]any{
			"userId": host.ID, "roomId": room.ID, "meetingTitle": "Charged", "costCodeId": cc.ID,
			"startDateTime": start.UTC().Format(time.RFC3339), "endDateTime": start.Add(time.Hour).UTC().Format(time.RFC3339),
		}, &made)
		id := bookingID(t, made.BookingID, start)
		var d struct {
			Booking struct {
				Title    string
				CostCode struct {
					Code, Description string
					Active            bool
					Location          struct{ Name string }
				}
			}
		}
		s.data(t, `query($id: ID!) { booking(id: $id) { title costCode { code description active location { name } } } }`, map[string]any{"id": id}, &d)
		assert.Equal(t, "Charged", d.Booking.Title)
		assert.Equal(t, cc.Code, d.Booking.CostCode.Code)
		assert.Equal(t, cc.Description, d.Booking.CostCode.Description)
		assert.True(t, d.Booking.CostCode.Active)
		assert.Equal(t, loc.Name, d.Booking.CostCode.Location.Name)
	})

	t.Run("naming nobody", func(t *testing.T) {
		start := apiAt(apiLocalDay(now, zone).AddDate(0, 0, 2), 22, 0)
		var made struct{ BookingID int }
		s.admin(t, "POST", "/_sim/bookings?isUTCDateTime=true", map[string]any{
			"userId": 0, "roomId": room.ID, "meetingTitle": "Walk-in",
			"startDateTime": start.UTC().Format(time.RFC3339), "endDateTime": start.Add(time.Hour).UTC().Format(time.RFC3339),
		}, &made)
		var d struct {
			Booking struct {
				Title                    string
				Host, Requestor, Creator *struct{ Email string }
				CostCode                 *struct{ Code string }
			}
		}
		s.data(t, `query($id: ID!) { booking(id: $id) { title host { email } requestor { email } creator { email } costCode { code } } }`,
			map[string]any{"id": bookingID(t, made.BookingID, start)}, &d)
		assert.Equal(t, "Walk-in", d.Booking.Title)
		assert.Nil(t, d.Booking.Host)
		assert.Nil(t, d.Booking.Requestor)
		assert.Nil(t, d.Booking.Creator)
		assert.Nil(t, d.Booking.CostCode)
	})

	t.Run("unknown booking is null with NOT_FOUND", func(t *testing.T) {
		resp := s.call(t, `{ booking(id: "Qm9va2luZzo5OTk5OTk5") { id } }`, nil)
		assert.JSONEq(t, `{"booking": null}`, string(resp.Data))
		e := apiErrorAt(t, resp, "booking")
		assert.Equal(t, "NOT_FOUND", e.Extensions["code"])
		assert.Contains(t, e.Message, "does not exist")
	})
}

func TestAPIDeskBookingsQuery(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	edinburgh := s.location(t, "Edinburgh")
	zone := s.zone(t, edinburgh)
	locID := s.locationID(t, edinburgh.Name)
	deskIDs := s.deskIDs(t, locID)
	desks := s.resources(edinburgh.ID, 2)
	deskName := map[int]string{}
	for _, d := range desks {
		deskName[d.ID] = d.Name
	}
	today := apiLocalDay(time.Now(), zone)
	day := apiNextWeekday(today).Format(time.DateOnly)

	type deskBooking struct {
		ID, Date, Status string
		EngageID         apiEngageID
		Desk             struct{ Name string }
		User             struct{ Email string }
	}
	fields := `id engageId date status desk { name } user { email }`
	check := func(t *testing.T, want []engagesim.DeskBooking, got []deskBooking) {
		t.Helper()
		var w, g []string
		for _, b := range want {
			w = append(w, fmt.Sprintf("%d %s %s %s", b.ID, b.Date, deskName[b.DeskID], s.user(b.UserID).Email))
		}
		for _, b := range got {
			g = append(g, fmt.Sprintf("%d %s %s %s", b.EngageID, b.Date, b.Desk.Name, b.User.Email))
			assert.Equal(t, "BOOKED", b.Status)
		}
		require.NotEmpty(t, w)
		assert.ElementsMatch(t, w, g)
	}

	t.Run("a location's desks on one day", func(t *testing.T) {
		var want []engagesim.DeskBooking
		for _, d := range desks {
			want = append(want, s.deskBookings(d.ID, day, day)...)
		}
		var d struct{ DeskBookings []deskBooking }
		s.data(t, `query($loc: ID!, $day: Date!) { deskBookings(locationId: $loc, from: $day, to: $day) { `+fields+` } }`,
			map[string]any{"loc": locID, "day": day}, &d)
		check(t, want, d.DeskBookings)

		t.Run("of one user", func(t *testing.T) {
			u := s.user(want[0].UserID)
			var mine []engagesim.DeskBooking
			for _, b := range want {
				if b.UserID == u.ID {
					mine = append(mine, b)
				}
			}
			var d struct{ DeskBookings []deskBooking }
			s.data(t, `query($loc: ID!, $day: Date!, $u: String) { deskBookings(locationId: $loc, from: $day, to: $day, userEmail: $u) { `+fields+` } }`,
				map[string]any{"loc": locID, "day": day, "u": u.Email}, &d)
			check(t, mine, d.DeskBookings)
		})
	})

	t.Run("twenty days of two desks: two upstream windows per desk", func(t *testing.T) {
		first, last := today.Format(time.DateOnly), today.AddDate(0, 0, 19).Format(time.DateOnly)
		a, b := desks[0], desks[1]
		want := append(s.deskBookings(a.ID, first, last), s.deskBookings(b.ID, first, last)...)
		s.resetStats(t)
		var d struct{ DeskBookings []deskBooking }
		s.data(t, `query($desks: [ID!], $from: Date!, $to: Date!) { deskBookings(deskIds: $desks, from: $from, to: $to) { `+fields+` } }`,
			map[string]any{"desks": []string{deskIDs[a.Name], deskIDs[b.Name]}, "from": first, "to": last}, &d)
		check(t, want, d.DeskBookings)
		assert.Equal(t, 4, s.calls(t, "GET", "/deskBookings"))
	})

	t.Run("by id", func(t *testing.T) {
		want := s.deskBookings(desks[2].ID, today.Format(time.DateOnly), today.AddDate(0, 0, 13).Format(time.DateOnly))
		require.NotEmpty(t, want)
		var list struct{ DeskBookings []deskBooking }
		s.data(t, `query($desks: [ID!], $from: Date!, $to: Date!) { deskBookings(deskIds: $desks, from: $from, to: $to) { `+fields+` } }`,
			map[string]any{"desks": []string{deskIDs[desks[2].Name]}, "from": want[0].Date, "to": want[0].Date}, &list)
		require.Len(t, list.DeskBookings, 1)
		var d struct {
			DeskBooking struct {
				deskBooking
				Period string
			}
		}
		s.data(t, `query($id: ID!) { deskBooking(id: $id) { `+fields+` period } }`, map[string]any{"id": list.DeskBookings[0].ID}, &d)
		assert.Equal(t, list.DeskBookings[0], d.DeskBooking.deskBooking)
		assert.Equal(t, map[int]string{1: "MORNING", 2: "AFTERNOON", 3: "ALL_DAY"}[want[0].BookingType], d.DeskBooking.Period)
	})

	t.Run("bad arguments", func(t *testing.T) {
		tests := []struct {
			name, query string
			vars        map[string]any
			code        string
		}{
			{"neither locationId nor deskIds", `query($day: Date!) { deskBookings(from: $day, to: $day) { id } }`,
				map[string]any{"day": day}, "BAD_USER_INPUT"},
			{"to before from", `query($loc: ID, $from: Date!, $to: Date!) { deskBookings(locationId: $loc, from: $from, to: $to) { id } }`,
				map[string]any{"loc": locID, "from": day, "to": today.Format(time.DateOnly)}, "BAD_USER_INPUT"},
			{"malformed date", `query($loc: ID) { deskBookings(locationId: $loc, from: "tomorrow", to: "2030-01-01") { id } }`,
				map[string]any{"loc": locID}, "BAD_USER_INPUT"},
			{"unknown user", `query($loc: ID, $day: Date!) { deskBookings(locationId: $loc, from: $day, to: $day, userEmail: "nobody@example.com") { id } }`,
				map[string]any{"loc": locID, "day": day}, "NOT_FOUND"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := s.call(t, tt.query, tt.vars)
				require.NotEmpty(t, resp.Errors)
				assert.Equal(t, tt.code, resp.Errors[0].Extensions["code"], resp.Errors[0].Message)
			})
		}
	})
}

func TestAPIVisitorsConnection(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	london := s.location(t, "London HQ")
	zone := s.zone(t, london)
	locID := s.locationID(t, london.Name)
	day := apiNextWeekday(apiLocalDay(time.Now(), zone))
	date := day.Format(time.DateOnly)
	hostA, hostB := s.fx.Users[10], s.fx.Users[11]

	// A meeting at London that day, for visitors to attend.
	var meeting engagesim.Booking
	for _, r := range s.resources(london.ID, 1) {
		if bs := s.roomBookings(r.ID, day, day.AddDate(0, 0, 1)); len(bs) > 0 {
			meeting = bs[0]
			break
		}
	}
	require.NotZero(t, meeting.ID)

	// Five visitors "from the web app", three for host A (one of them for
	// the meeting) and two for host B.
	var made []int
	for i, host := range []engagesim.User{hostA, hostA, hostA, hostB, hostB} {
		body := map[string]any{"firstName": fmt.Sprintf("Guest%d", i), "lastName": "Paging", "visitorCompany": "Initech",
			"hostData": map[string]any{"hostEmailAddress": host.Email}, "locationId": london.ID,
			"arrivalDate": apiAt(day, 9+i, 15).Format("2006-01-02 15:04")}
		if i == 0 {
			body["bookingId"] = meeting.ID
		}
		var v struct{ VisitorID int }
		s.admin(t, "POST", "/_sim/visitors", body, &v)
		made = append(made, v.VisitorID)
	}
	s.admin(t, "POST", fmt.Sprintf("/_sim/visitors/%d/action", made[1]), map[string]string{"action": "arrive"}, nil)

	var want []int
	for _, v := range s.fx.Visitors {
		if v.LocationID == london.ID && v.Arrival.In(zone).Format(time.DateOnly) == date {
			want = append(want, v.ID)
		}
	}
	want = append(want, made...)

	type page struct {
		Visitors struct {
			TotalCount int
			PageInfo   struct {
				HasNextPage, HasPreviousPage bool
				StartCursor, EndCursor       *string
			}
			Edges []struct {
				Cursor string
				Node   struct {
					ID, Arrival string
					EngageID    apiEngageID
				}
			}
			Nodes []struct{ ID string }
		}
	}
	q := `query($date: Date!, $loc: ID, $first: Int, $after: String, $status: VisitorStatus, $host: String) {
		visitors(date: $date, locationId: $loc, first: $first, after: $after, status: $status, hostEmail: $host) {
			totalCount pageInfo { hasNextPage hasPreviousPage startCursor endCursor }
			edges { cursor node { id engageId arrival } } nodes { id }
		} }`

	t.Run("paging through with cursors", func(t *testing.T) {
		var got []int
		var after any
		var last time.Time
		for n := 0; ; n++ {
			require.Less(t, n, 10, "paging does not end")
			var p page
			s.data(t, q, map[string]any{"date": date, "loc": locID, "first": 2, "after": after}, &p)
			v := p.Visitors
			assert.Equal(t, len(want), v.TotalCount)
			assert.Equal(t, n > 0, v.PageInfo.HasPreviousPage)
			require.NotEmpty(t, v.Edges)
			assert.LessOrEqual(t, len(v.Edges), 2)
			require.Len(t, v.Nodes, len(v.Edges))
			for i, e := range v.Edges {
				assert.Equal(t, e.Node.ID, v.Nodes[i].ID)
				arrival := apiTime(t, e.Node.Arrival)
				assert.False(t, arrival.Before(last), "visitors in order of arrival")
				assert.True(t, strings.HasSuffix(e.Node.Arrival, apiOffset(arrival, zone)), e.Node.Arrival)
				last = arrival
				got = append(got, int(e.Node.EngageID))
			}
			assert.Equal(t, v.Edges[0].Cursor, *v.PageInfo.StartCursor)
			assert.Equal(t, v.Edges[len(v.Edges)-1].Cursor, *v.PageInfo.EndCursor)
			if !v.PageInfo.HasNextPage {
				break
			}
			after = *v.PageInfo.EndCursor
		}
		assert.ElementsMatch(t, want, got, "every visitor once")
	})

	t.Run("filters", func(t *testing.T) {
		tests := []struct {
			name string
			vars map[string]any
			want []int
		}{
			{"status", map[string]any{"status": "ARRIVED"}, []int{made[1]}},
			{"host", map[string]any{"host": hostB.Email}, []int{made[3], made[4]}},
			{"status and host", map[string]any{"status": "EXPECTED", "host": hostA.Email}, []int{made[0], made[2]}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				tt.vars["date"], tt.vars["loc"] = date, locID
				var p page
				s.data(t, q, tt.vars, &p)
				var got []int
				for _, e := range p.Visitors.Edges {
					got = append(got, int(e.Node.EngageID))
				}
				// Fixture visitors hosted by the same people may join in.
				for _, id := range tt.want {
					assert.Contains(t, got, id)
				}
				for _, id := range got {
					if !slices.Contains(tt.want, id) {
						assert.Less(t, id, made[0], "visitor %d should not match", id)
					}
				}
				assert.Equal(t, len(got), p.Visitors.TotalCount)
				assert.False(t, p.Visitors.PageInfo.HasNextPage)
			})
		}
	})

	t.Run("every location", func(t *testing.T) {
		n := 0
		for _, v := range s.fx.Visitors {
			l := s.fx.Locations[slices.IndexFunc(s.fx.Locations, func(l engagesim.Location) bool { return l.ID == v.LocationID })]
			if v.Arrival.In(s.zone(t, l)).Format(time.DateOnly) == date {
				n++
			}
		}
		var p page
		s.data(t, q, map[string]any{"date": date, "first": 500}, &p)
		assert.Equal(t, n+len(made), p.Visitors.TotalCount)
		assert.Len(t, p.Visitors.Edges, n+len(made))
	})

	t.Run("visitor by id", func(t *testing.T) {
		var p page
		s.data(t, q, map[string]any{"date": date, "loc": locID, "host": hostA.Email, "status": "EXPECTED"}, &p)
		var id string
		for _, e := range p.Visitors.Edges {
			if int(e.Node.EngageID) == made[0] {
				id = e.Node.ID
			}
		}
		require.NotEmpty(t, id)
		var d struct {
			Visitor struct {
				ID, FirstName, LastName, Company, Arrival, Status, MeetingName string
				EngageID                                                       apiEngageID
				Floor                                                          int
				Departure                                                      *string
				Host                                                           struct{ Email string }
				Location                                                       struct{ Name string }
				Room                                                           struct{ Name string }
				Booking                                                        struct{ EngageID apiEngageID }
			}
		}
		s.data(t, `query($id: ID!) { visitor(id: $id) { id engageId firstName lastName company arrival departure status floor meetingName
			host { email } location { name } room { name } booking { engageId } } }`, map[string]any{"id": id}, &d)
		v := d.Visitor
		assert.Equal(t, id, v.ID)
		assert.Equal(t, made[0], int(v.EngageID))
		assert.Equal(t, []string{"Guest0", "Paging", "Initech", "EXPECTED", apiTitle(meeting)}, []string{v.FirstName, v.LastName, v.Company, v.Status, v.MeetingName})
		apiAssertLocal(t, zone, apiAt(day, 9, 15), v.Arrival)
		assert.Nil(t, v.Departure)
		assert.Equal(t, hostA.Email, v.Host.Email)
		assert.Equal(t, london.Name, v.Location.Name)
		var room engagesim.Resource
		for _, r := range s.fx.Resources {
			if r.ID == meeting.RoomID {
				room = r
			}
		}
		assert.Equal(t, room.Name, v.Room.Name)
		assert.Equal(t, room.FloorNumber, v.Floor)
		assert.Equal(t, meeting.ID, int(v.Booking.EngageID))
	})

	t.Run("bad arguments", func(t *testing.T) {
		tests := []struct {
			name string
			vars map[string]any
			code string
		}{
			{"a cursor this API did not issue", map[string]any{"date": date, "after": "bm9wZQ"}, "BAD_USER_INPUT"},
			{"more than 500 a page", map[string]any{"date": date, "first": 501}, "BAD_USER_INPUT"},
			{"a negative page", map[string]any{"date": date, "first": -1}, "BAD_USER_INPUT"},
			{"a day past the 14-day window", map[string]any{"date": apiLocalDay(time.Now(), zone).AddDate(0, 0, 20).Format(time.DateOnly)}, "BAD_USER_INPUT"},
			{"a day in the past", map[string]any{"date": apiLocalDay(time.Now(), zone).AddDate(0, 0, -2).Format(time.DateOnly)}, "BAD_USER_INPUT"},
			{"a location id of another type", map[string]any{"date": date, "loc": "Q291bnRyeToxMDAwMDAw"}, "BAD_USER_INPUT"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := s.call(t, q, tt.vars)
				assert.Equal(t, tt.code, apiErrorAt(t, resp, "visitors").Extensions["code"], resp.Errors)
			})
		}
	})
}

func TestAPIUsersCostCodesVendors(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	u := s.fx.Users[5]

	t.Run("user by email", func(t *testing.T) {
		tests := []struct{ name, email string }{
			{"as stored", u.Email},
			{"in another case", strings.ToUpper(u.Email)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				var d struct {
					User struct {
						ID, FirstName, LastName, Email, Name string
						EngageID                             apiEngageID
					}
				}
				s.data(t, `query($e: String!) { user(email: $e) { id engageId firstName lastName email name } }`, map[string]any{"e": tt.email}, &d)
				assert.Equal(t, u.ID, int(d.User.EngageID))
				assert.Equal(t, []string{u.FirstName, u.LastName, u.Email, u.FirstName + " " + u.LastName},
					[]string{d.User.FirstName, d.User.LastName, d.User.Email, d.User.Name})
				assert.NotEmpty(t, d.User.ID)
			})
		}
	})

	t.Run("unknown user is null with NOT_FOUND", func(t *testing.T) {
		resp := s.call(t, `{ user(email: "nobody@example.com") { id } }`, nil)
		assert.JSONEq(t, `{"user": null}`, string(resp.Data))
		e := apiErrorAt(t, resp, "user")
		assert.Equal(t, "NOT_FOUND", e.Extensions["code"])
		assert.Contains(t, e.Message, "nobody@example.com")
	})

	tests := []struct {
		location string
	}{{"New York"}, {"Sydney"}, {"Singapore"}}
	for _, tt := range tests {
		t.Run("cost codes and vendors of "+tt.location, func(t *testing.T) {
			loc := s.location(t, tt.location)
			id := s.locationID(t, loc.Name)
			var d struct {
				CostCodes []struct {
					ID, Code, Description string
					Active                bool
					Location              struct{ Name string }
				}
				VendorServices []struct {
					ID, Name string
					Services []struct {
						ID, Name, Currency string
						Price              float64
					}
				}
			}
			s.data(t, `query($id: ID!) { costCodes(locationId: $id) { id code description active location { name } }
				vendorServices(locationId: $id) { id name services { id name price currency } } }`, map[string]any{"id": id}, &d)
			var want, got []string
			for _, c := range s.fx.CostCodes {
				if c.LocationID == loc.ID {
					want = append(want, fmt.Sprintf("%s %s %v", c.Code, c.Description, c.IsActive))
				}
			}
			for _, c := range d.CostCodes {
				got = append(got, fmt.Sprintf("%s %s %v", c.Code, c.Description, c.Active))
				assert.Equal(t, loc.Name, c.Location.Name)
			}
			assert.ElementsMatch(t, want, got)
			want, got = nil, nil
			for _, v := range s.fx.Vendors {
				if slices.Contains(v.LocationIDs, loc.ID) {
					for _, sv := range v.Services {
						want = append(want, fmt.Sprintf("%s %s %.2f %s", v.Name, sv.Name, sv.Price, sv.Currency))
					}
				}
			}
			for _, v := range d.VendorServices {
				for _, sv := range v.Services {
					got = append(got, fmt.Sprintf("%s %s %.2f %s", v.Name, sv.Name, sv.Price, sv.Currency))
				}
			}
			assert.NotEmpty(t, want)
			assert.ElementsMatch(t, want, got)
		})
	}

	t.Run("unknown location", func(t *testing.T) {
		resp := s.call(t, `{ costCodes(locationId: "TG9jYXRpb246OTk5OTk5") { id } }`, nil)
		assert.Equal(t, "NOT_FOUND", apiErrorAt(t, resp, "costCodes").Extensions["code"])
		resp = s.call(t, `{ vendorServices(locationId: "TG9jYXRpb246OTk5OTk5") { id } }`, nil)
		assert.Equal(t, "NOT_FOUND", apiErrorAt(t, resp, "vendorServices").Extensions["code"])
	})
}

func TestAPINodes(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	london := s.location(t, "London HQ")
	zone := s.zone(t, london)
	locID := s.locationID(t, london.Name)
	day := apiNextWeekday(apiLocalDay(time.Now(), zone))
	desks := s.resources(london.ID, 2)
	var desk engagesim.Resource
	for _, d := range desks {
		if len(s.deskBookings(d.ID, day.Format(time.DateOnly), day.Format(time.DateOnly))) > 0 {
			desk = d
			break
		}
	}
	require.NotZero(t, desk.ID)
	deskID := s.deskIDs(t, locID)[desk.Name]

	type ided = struct{ ID string }
	var d struct {
		Countries []struct {
			ID      string
			Regions []ided
		}
		Location struct {
			ID             string
			Groups         []ided
			Floors         []ided
			Rooms          []ided
			Desks          []ided
			CostCodes      []ided
			VendorServices []struct {
				ID       string
				Services []ided
			}
		}
		Bookings []struct {
			ID   string
			Host ided
		}
		DeskBookings []ided
		Visitors     struct{ Nodes []ided }
	}
	s.data(t, `query($loc: ID!, $desk: ID!, $from: DateTime!, $to: DateTime!, $day: Date!) {
		countries { id regions { id } }
		location(id: $loc) { id groups { id } floors { id } rooms { id } desks { id } costCodes { id } vendorServices { id services { id } } }
		bookings(locationId: $loc, from: $from, to: $to) { id host { id } }
		deskBookings(deskIds: [$desk], from: $day, to: $day) { id }
		visitors(date: $day) { nodes { id } }
	}`, map[string]any{"loc": locID, "desk": deskID, "from": day.Format(time.RFC3339), "to": day.AddDate(0, 0, 1).Format(time.RFC3339), "day": day.Format(time.DateOnly)}, &d)
	require.NotEmpty(t, d.Bookings)
	require.NotEmpty(t, d.DeskBookings)
	require.NotEmpty(t, d.Visitors.Nodes)
	require.NotEmpty(t, d.Location.VendorServices)

	var order struct {
		OrderVendorService struct {
			Order  struct{ ID string }
			Errors []apiUserError
		}
	}
	s.data(t, `mutation($b: ID!, $s: ID!) { orderVendorService(input: {actingUserEmail: "`+s.fx.Users[0].Email+`", bookingId: $b, serviceId: $s}) {
		order { id } errors { code message field } } }`,
		map[string]any{"b": d.Bookings[0].ID, "s": d.Location.VendorServices[0].Services[0].ID}, &order)
	require.Empty(t, order.OrderVendorService.Errors)

	ids := []struct{ typ, id string }{
		{"Country", d.Countries[0].ID},
		{"Region", d.Countries[0].Regions[0].ID},
		{"Location", d.Location.ID},
		{"Group", d.Location.Groups[0].ID},
		{"Floor", d.Location.Floors[0].ID},
		{"Room", d.Location.Rooms[0].ID},
		{"Desk", d.Location.Desks[0].ID},
		{"CostCode", d.Location.CostCodes[0].ID},
		{"Vendor", d.Location.VendorServices[0].ID},
		{"VendorService", d.Location.VendorServices[0].Services[0].ID},
		{"Booking", d.Bookings[0].ID},
		{"User", d.Bookings[0].Host.ID},
		{"DeskBooking", d.DeskBookings[0].ID},
		{"Visitor", d.Visitors.Nodes[0].ID},
		{"ServiceOrder", order.OrderVendorService.Order.ID},
	}
	t.Run("node", func(t *testing.T) {
		for _, tt := range ids {
			t.Run(tt.typ, func(t *testing.T) {
				var n struct {
					Node struct {
						ID       string
						TypeName string `json:"__typename"`
					}
				}
				s.data(t, `query($id: ID!) { node(id: $id) { __typename id } }`, map[string]any{"id": tt.id}, &n)
				assert.Equal(t, tt.typ, n.Node.TypeName)
				assert.Equal(t, tt.id, n.Node.ID)
			})
		}
	})

	t.Run("nodes in order", func(t *testing.T) {
		all := make([]string, len(ids))
		for i, x := range ids {
			all[i] = x.id
		}
		var n struct {
			Nodes []struct {
				ID       string
				TypeName string `json:"__typename"`
			}
		}
		s.data(t, `query($ids: [ID!]!) { nodes(ids: $ids) { __typename id } }`, map[string]any{"ids": all}, &n)
		require.Len(t, n.Nodes, len(ids))
		for i, x := range ids {
			assert.Equal(t, x.typ, n.Nodes[i].TypeName)
			assert.Equal(t, x.id, n.Nodes[i].ID)
		}
	})

	t.Run("nodes with an unknown and a malformed id", func(t *testing.T) {
		unknownRoom := "Um9vbTo0MTo5OTk5OTk" // Room:41:999999
		resp := s.call(t, `query($ids: [ID!]!) { nodes(ids: $ids) { id } }`,
			map[string]any{"ids": []string{d.Location.ID, unknownRoom, d.Bookings[0].ID, "not-an-id"}})
		assert.JSONEq(t, fmt.Sprintf(`{"nodes": [{"id": %q}, null, {"id": %q}, null]}`, d.Location.ID, d.Bookings[0].ID), string(resp.Data))
		require.Len(t, resp.Errors, 2, "%+v", resp.Errors)
		assert.Equal(t, "NOT_FOUND", apiErrorAt(t, resp, "nodes", 1).Extensions["code"])
		assert.Equal(t, "BAD_USER_INPUT", apiErrorAt(t, resp, "nodes", 3).Extensions["code"])
	})

	t.Run("node errors", func(t *testing.T) {
		tests := []struct{ name, id, code string }{
			{"unknown room", "Um9vbTo0MTo5OTk5OTk", "NOT_FOUND"},
			{"unknown booking", "Qm9va2luZzo5OTk5OTk5", "NOT_FOUND"},
			{"unknown user", "VXNlcjo5OTk5OTk", "NOT_FOUND"},
			{"not base64", "%%%", "BAD_USER_INPUT"},
			{"unknown type", "V2lkZ2V0OjE", "BAD_USER_INPUT"},
			{"wrong number of parts", "Um9vbTo0MQ", "BAD_USER_INPUT"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				resp := s.call(t, `query($id: ID!) { node(id: $id) { id } }`, map[string]any{"id": tt.id})
				assert.JSONEq(t, `{"node": null}`, string(resp.Data))
				assert.Equal(t, tt.code, apiErrorAt(t, resp, "node").Extensions["code"])
			})
		}
	})
}
