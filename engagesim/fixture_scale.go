package engagesim

// This file builds ScaleFixture: a generated tenant the size of a large customer, so benchmarks
// of the simulator and of what is built on it see the volume of a real office week, not the
// demo's handful of buildings.

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"time"
)

// ScaleOptions sizes a ScaleFixture. Zero (or negative) fields take the defaults named beside
// them, so ScaleOptions{Seed: 1, Today: now} is the benchmark tenant.
type ScaleOptions struct {
	// Seed drives every random choice: the same Seed and calendar date give the same fixture.
	Seed uint64
	// Today anchors the booked days; only its calendar date (in its own location) matters.
	// Zero means the current date in UTC, which makes the fixture differ from day to day.
	Today time.Time
	// Locations is the number of buildings, default 10. They take the cities of scaleSites in
	// order and cycle through them again ("London 2") beyond ten.
	Locations int
	// Rooms is the number of meeting rooms over all locations, default 500.
	Rooms int
	// Desks is the number of desks over all locations, default 2000.
	Desks int
	// Users is the number of people, default 1000.
	Users int
	// BookingsPerRoomDay is the mean number of meetings of a room on each day from Today-2 to
	// Today+27, default 3. Meetings last 30 to 120 minutes, inside 08:00-18:00 local time, and
	// never overlap; a room holds at most 20 a day.
	BookingsPerRoomDay float64
	// DeskShare is the share of desks booked on each working day (Monday to Friday) from Today
	// to Today+13, default 0.4; above 1 counts as 1.
	DeskShare float64
	// VisitorsPerLocationDay is the number of visitors of each location on each day from Today
	// to Today+13, default 5.
	VisitorsPerLocationDay int
}

// Defaults of ScaleOptions.
const (
	scaleDefaultLocations   = 10
	scaleDefaultRooms       = 500
	scaleDefaultDesks       = 2000
	scaleDefaultUsers       = 1000
	scaleDefaultPerRoomDay  = 3
	scaleDefaultDeskShare   = 0.4
	scaleDefaultVisitorsDay = 5
)

// The days a ScaleFixture books, relative to Today: meetings on [first, last] and desks and
// visitors on the 14 days a desk-booking or visitor query may ask for.
const (
	scaleFirstMeetingDay = -2
	scaleLastMeetingDay  = 27
	scaleDeskDays        = maxWindowDays
)

// Where each kind of id of a ScaleFixture starts. The ranges stay disjoint below 25,000
// locations, 9 million users, 90 million resources and 900 million meetings, so an id names one
// entity whatever its kind, and a log line or a cache key never confuses two.
const (
	scaleLocationBase    = 10_000
	scaleRegionBase      = 100
	scaleGroupBase       = 100_000
	scaleCostCodeBase    = 200_000
	scaleVendorBase      = 300_000
	scaleServiceBase     = 400_000
	scaleUserBase        = 1_000_000
	scaleResourceBase    = 10_000_000
	scaleBookingBase     = 100_000_000
	scaleDeskBookingBase = 1_000_000_000
	scaleVisitorBase     = 2_000_000_000
)

// A working day of meetings, in quarter hours since local midnight: 08:00 to 18:00.
const (
	workdayFrom      = 8 * 4
	workdayQuarters  = 10 * 4
	maxMeetingsInDay = workdayQuarters / 2 // every meeting is at least half an hour
)

// scaleSite is a city a ScaleFixture may put a building in. The ten cover both hemispheres and
// offsets from UTC-6 to UTC+13, with daylight saving in the north (London, Paris, New York,
// Chicago) and the south (Sydney, Auckland) and none elsewhere; each Windows name is one both
// the simulator's knownZones and CLDR's windowsZones table map.
type scaleSite struct {
	country, region, city, code, address, postCode, windows, iana, currency string
}

func scaleSites() []scaleSite {
	return []scaleSite{
		{"United Kingdom", "England", "London", "LON", "30 St Mary Axe", "EC3A 8BF", "GMT Standard Time", "Europe/London", "GBP"},
		{"United States", "New York", "New York", "NYC", "200 Park Avenue", "10166", "Eastern Standard Time", "America/New_York", "USD"},
		{"Brazil", "São Paulo", "São Paulo", "SAO", "Avenida Paulista 1578", "01310-200", "E. South America Standard Time", "America/Sao_Paulo", "BRL"},
		{"Australia", "New South Wales", "Sydney", "SYD", "200 George Street", "2000", "AUS Eastern Standard Time", "Australia/Sydney", "AUD"},
		{"New Zealand", "Auckland", "Auckland", "AKL", "151 Queen Street", "1010", "New Zealand Standard Time", "Pacific/Auckland", "NZD"},
		{"Singapore", "Central Region", "Singapore", "SIN", "1 Raffles Place", "048616", "Singapore Standard Time", "Asia/Singapore", "SGD"},
		{"Japan", "Kantō", "Tokyo", "TYO", "2-7-2 Marunouchi, Chiyoda-ku", "100-7090", "Tokyo Standard Time", "Asia/Tokyo", "JPY"},
		{"United States", "Midwest", "Chicago", "CHI", "233 South Wacker Drive", "60606", "Central Standard Time", "America/Chicago", "USD"},
		{"India", "Mahārāshtra", "Mumbai", "BOM", "G Block, Bandra Kurla Complex", "400051", "India Standard Time", "Asia/Kolkata", "INR"},
		{"France", "Île-de-France", "Paris", "PAR", "1 Parvis de La Défense", "92044", "Romance Standard Time", "Europe/Paris", "EUR"},
	}
}

// withDefaults fills the zero fields of a copy of o.
func (o ScaleOptions) withDefaults() ScaleOptions {
	if o.Today.IsZero() {
		o.Today = time.Now().UTC()
	}
	if o.Locations <= 0 {
		o.Locations = scaleDefaultLocations
	}
	if o.Rooms <= 0 {
		o.Rooms = scaleDefaultRooms
	}
	if o.Desks <= 0 {
		o.Desks = scaleDefaultDesks
	}
	if o.Users <= 0 {
		o.Users = scaleDefaultUsers
	}
	if o.BookingsPerRoomDay <= 0 {
		o.BookingsPerRoomDay = scaleDefaultPerRoomDay
	}
	if o.DeskShare <= 0 {
		o.DeskShare = scaleDefaultDeskShare
	}
	o.DeskShare = min(o.DeskShare, 1)
	if o.VisitorsPerLocationDay <= 0 {
		o.VisitorsPerLocationDay = scaleDefaultVisitorsDay
	}
	return o
}

// ScaleFixture builds a large tenant for benchmarks: by default 10 locations in 10 time zones of
// both hemispheres, 500 rooms and 2,000 desks spread unevenly over them, 1,000 users, about
// 45,000 meetings (3 a room a day for 30 days from Today-2), desks 40% booked on the working
// days of the next two weeks, 5 visitors a location a day, cost codes and vendors. About one
// meeting in nine is private, as in the demo. Everything is drawn from opts.Seed: the same
// options and calendar date give the same fixture.
func ScaleFixture(opts ScaleOptions) *Fixture {
	opts = opts.withDefaults()
	rng := rand.New(rand.NewPCG(opts.Seed, opts.Seed^0x5ca1ab1e0ddba11))
	g := &scaleGen{opts: opts, rng: rng, f: &Fixture{}}
	g.users()
	g.sites()
	g.meetings()
	g.deskBookings()
	g.visitors()
	g.vendors()
	markPrivate(g.f)
	return g.f
}

// scaleGen holds what the steps of ScaleFixture share.
type scaleGen struct {
	opts ScaleOptions
	rng  *rand.Rand
	f    *Fixture

	zones     []*time.Location  // the zone of each location, by index of f.Locations
	rooms     [][]Resource      // the rooms of each location, by id
	desks     [][]Resource      // the desks of each location, by id
	costCodes [][]int           // the active cost codes of each location
	meetingAt map[siteDay][]int // indexes into f.Bookings of each location's meetings on a day
	byCountry map[string][]int  // country name -> its location ids
	currency  map[string]string // country name -> currency
}

// siteDay is a location (by index) on a day offset from Today.
type siteDay struct{ site, day int }

// date returns the calendar date day days after Today, at midnight UTC.
func (g *scaleGen) date(day int) time.Time {
	y, m, d := g.opts.Today.Date()
	return time.Date(y, m, d+day, 0, 0, 0, 0, time.UTC)
}

func (g *scaleGen) users() {
	firsts := []string{"Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella", "James",
		"Mia", "William", "Amelia", "Benjamin", "Harper", "Lucas", "Evelyn", "Henry", "Abigail", "Alexander",
		"Priya", "Wei", "Aisha", "Hiroshi", "Chloé", "Mateo", "Zoë", "Arjun", "Grace", "Ethan",
		"José", "Søren", "Yuki", "Lerato", "Tāne", "Ana", "Björn", "Fatima", "Ngozi", "Kenji"}
	lasts := []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Taylor",
		"Anderson", "Thomas", "Moore", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
		"Tan", "Nguyen", "Patel", "Kim", "Walker", "Young", "King", "Wright", "Scott", "Green",
		"Müller", "Silva", "Sato", "Ngata", "Dubois", "Østergaard", "Khumalo", "Rossi", "Kowalski", "Das"}
	ascii := strings.NewReplacer("é", "e", "ë", "e", "ø", "o", "Ø", "O", "ā", "a", "ö", "o", "ü", "u")
	seen := map[string]int{}
	for i := range g.opts.Users {
		fn, ln := firsts[g.rng.IntN(len(firsts))], lasts[g.rng.IntN(len(lasts))]
		local := strings.ToLower(ascii.Replace(fn + "." + ln))
		seen[local]++
		if n := seen[local]; n > 1 {
			local = fmt.Sprintf("%s%d", local, n)
		}
		g.f.Users = append(g.f.Users, User{ID: scaleUserBase + i, FirstName: fn, LastName: ln, Email: local + "@example.com"})
	}
}

// apportion splits total over len(weights) parts in proportion to the weights (largest
// remainders, ties to the first), after giving every part one when there are enough to go round.
func apportion(total int, weights []float64) []int {
	out := make([]int, len(weights))
	if total >= len(weights) {
		for i := range out {
			out[i] = 1
		}
		total -= len(weights)
	}
	sum := 0.0
	for _, w := range weights {
		sum += w
	}
	rem := make([]float64, len(weights))
	given := 0
	for i, w := range weights {
		share := float64(total) * w / sum
		out[i] += int(share)
		given += int(share)
		rem[i] = share - float64(int(share))
	}
	order := make([]int, len(weights))
	for i := range order {
		order[i] = i
	}
	slices.SortStableFunc(order, func(a, b int) int {
		switch {
		case rem[a] > rem[b]:
			return -1
		case rem[a] < rem[b]:
			return 1
		}
		return 0
	})
	for k := 0; given < total; k++ {
		out[order[k%len(order)]]++
		given++
	}
	return out
}

// sites builds the hierarchy (countries, regions, locations, groups, cost codes) and the rooms
// and desks of every location.
func (g *scaleGen) sites() {
	f, rng, n := g.f, g.rng, g.opts.Locations
	cities := scaleSites()
	g.byCountry, g.currency = map[string][]int{}, map[string]string{}
	countryID, regionID, inCity := map[string]int{}, map[[2]string]int{}, map[string]int{}
	weights := make([]float64, n)
	for i := range weights {
		weights[i] = 0.6 + rng.Float64() // the largest building is up to 2.7 times the smallest
	}
	roomsAt, desksAt := apportion(g.opts.Rooms, weights), apportion(g.opts.Desks, weights)
	groupNames := []string{"North Wing", "South Wing", "Engineering", "Sales", "Finance", "Executive Floor", "Quiet Zone", "Collaboration Hub"}
	descriptions := []string{"General", "Marketing", "Client entertainment", "Training"}
	capacities := []int{2, 4, 4, 6, 6, 8, 8, 10, 12, 16, 20, 30}
	groupID, ccID, resID := scaleGroupBase, scaleCostCodeBase, scaleResourceBase
	for li := range n {
		site := cities[li%len(cities)]
		inCity[site.city]++
		name, code := site.city, site.code
		if k := inCity[site.city]; k > 1 {
			name, code = fmt.Sprintf("%s %d", site.city, k), fmt.Sprintf("%s%d", site.code, k)
		}
		cid, ok := countryID[site.country]
		if !ok {
			cid = len(countryID) + 1
			countryID[site.country] = cid
			f.Countries = append(f.Countries, Country{ID: cid, Name: site.country})
		}
		rk := [2]string{site.country, site.region}
		rid, ok := regionID[rk]
		if !ok {
			rid = scaleRegionBase + len(regionID)
			regionID[rk] = rid
			f.Regions = append(f.Regions, Region{ID: rid, CountryID: cid, Name: site.region})
		}
		zone, err := time.LoadLocation(site.iana)
		if err != nil {
			zone = time.UTC // unreachable: the simulator embeds the zone database
		}
		locID := scaleLocationBase + li
		floors := min(60, 2+(roomsAt[li]+desksAt[li])/40+rng.IntN(3))
		f.Locations = append(f.Locations, Location{
			ID: locID, RegionID: rid, Name: name, Address: site.address, City: site.city, Country: site.country,
			PostCode: site.postCode, TimeZone: site.windows, IANAZone: site.iana,
			FloorsAboveGround: floors, FloorsBelowGround: rng.IntN(3),
			CostCentreMandatory: li%4 == 1, CCPaymentCostCodeEnabled: li%2 == 0,
		})
		g.zones = append(g.zones, zone)
		g.byCountry[site.country] = append(g.byCountry[site.country], locID)
		g.currency[site.country] = site.currency

		// Neighbourhoods take bands of floors, from the ground up.
		var groups []int
		for _, k := range rng.Perm(len(groupNames))[:2+rng.IntN(3)] {
			groupID++
			groups = append(groups, groupID)
			f.Groups = append(f.Groups, Group{ID: groupID, LocationID: locID, Name: name + " " + groupNames[k]})
		}
		groupOf := func(floor int) int { return groups[floor*len(groups)/(floors+1)] }

		var active []int
		for c := range descriptions {
			ccID++
			f.CostCodes = append(f.CostCodes, CostCode{ID: ccID, Code: fmt.Sprintf("%s-%03d", code, 100+c*10),
				Description: descriptions[c], LocationID: locID, IsActive: c != len(descriptions)-1})
			if c != len(descriptions)-1 {
				active = append(active, ccID)
			}
		}
		g.costCodes = append(g.costCodes, active)

		var rooms, desks []Resource
		for r := range roomsAt[li] {
			resID++
			floor := rng.IntN(floors + 1)
			rooms = append(rooms, Resource{ID: resID, LocationID: locID, WorkspaceTypeID: workspaceRoom,
				Name: fmt.Sprintf("%s %d.%03d", name, floor, r+1), FloorNumber: floor,
				Capacity: capacities[rng.IntN(len(capacities))], GroupID: groupOf(floor), Attributes: pickAttrs(rng, roomAttributePool())})
		}
		for k := range desksAt[li] {
			resID++
			floor := rng.IntN(floors + 1)
			desks = append(desks, Resource{ID: resID, LocationID: locID, WorkspaceTypeID: workspaceDesk,
				Name: fmt.Sprintf("Desk %d-%04d", floor, k+1), FloorNumber: floor, Capacity: 1,
				GroupID: groupOf(floor), Attributes: pickAttrs(rng, deskAttributePool())})
		}
		f.Resources = append(f.Resources, rooms...)
		f.Resources = append(f.Resources, desks...)
		g.rooms, g.desks = append(g.rooms, rooms), append(g.desks, desks)
	}
}

// meetingCount draws the number of meetings of one room on one day: the mean, rounded up or
// down at random in proportion, then one more or one fewer a quarter of the time each.
func (g *scaleGen) meetingCount() int {
	p := g.opts.BookingsPerRoomDay
	n := int(p)
	if g.rng.Float64() < p-float64(n) {
		n++
	}
	if n > 0 {
		switch g.rng.IntN(4) {
		case 0:
			n--
		case 1:
			n++
		}
	}
	return min(n, maxMeetingsInDay)
}

// dayLayout places n meetings in the working day: lengths of 30 to 120 minutes (shorter ones
// likelier), shortened in turn when they do not fit, and the free time between them at random.
// It returns the start and length of each, in quarter hours since the working day began.
func (g *scaleGen) dayLayout(n int) (starts, lengths []int) {
	sum := 0
	for range n {
		l := []int{2, 2, 2, 4, 4, 4, 4, 6, 6, 8}[g.rng.IntN(10)]
		lengths = append(lengths, l)
		sum += l
	}
	for sum > workdayQuarters {
		i := 0
		for k, l := range lengths {
			if l > lengths[i] {
				i = k
			}
		}
		lengths[i] -= 2
		sum -= 2
	}
	free := workdayQuarters - sum
	cuts := make([]int, n)
	for i := range cuts {
		cuts[i] = g.rng.IntN(free + 1)
	}
	slices.Sort(cuts)
	at := 0
	for i, l := range lengths {
		gap := cuts[i]
		if i > 0 {
			gap -= cuts[i-1]
		}
		at += gap
		starts = append(starts, at)
		at += l
	}
	return starts, lengths
}

func (g *scaleGen) meetings() {
	f, rng := g.f, g.rng
	titles := []string{"Weekly sync", "Sprint planning", "1:1", "Design review", "Customer call", "Interview",
		"Quarterly business review", "Stand-up", "Budget review", "Architecture forum", "Onboarding", "Town hall prep",
		"Vendor pitch", "Retrospective", "Hiring panel", "Board prep", "Incident review", "Roadmap workshop",
		"Pricing committee", "Lunch & learn", "Réunion d'équipe", "Offsite planning"}
	y, m, d := g.opts.Today.Date()
	created := time.Date(y, m, d-1, 9, 0, 0, 0, time.UTC) // nothing was booked after yesterday morning
	g.meetingAt = map[siteDay][]int{}
	id := scaleBookingBase
	for li, rooms := range g.rooms {
		zone := g.zones[li]
		for day := scaleFirstMeetingDay; day <= scaleLastMeetingDay; day++ {
			for _, room := range rooms {
				starts, lengths := g.dayLayout(g.meetingCount())
				for i, at := range starts {
					q := workdayFrom + at
					start := time.Date(y, m, d+day, q/4, 15*(q%4), 0, 0, zone)
					end := start.Add(time.Duration(lengths[i]) * 15 * time.Minute)
					made := start.AddDate(0, 0, -7-rng.IntN(21)).UTC()
					if made.After(created) {
						made = created
					}
					b := Booking{ID: id, RoomID: room.ID, UserID: f.Users[rng.IntN(len(f.Users))].ID,
						Title: titles[rng.IntN(len(titles))], Start: start.UTC(), End: end.UTC(), Source: sourceWeb,
						Attendees: 1 + rng.IntN(room.Capacity), SetupStyle: 1, CreatedOn: made, ModifiedOn: made}
					if rng.IntN(5) == 0 {
						b.Source = sourceExternal
					}
					if f.Locations[li].CostCentreMandatory {
						b.CostCodeID = g.costCodes[li][rng.IntN(len(g.costCodes[li]))]
					}
					id++
					sd := siteDay{li, day}
					g.meetingAt[sd] = append(g.meetingAt[sd], len(f.Bookings))
					f.Bookings = append(f.Bookings, b)
				}
			}
		}
	}
}

// deskBookings books about DeskShare of the desks on each working day, one desk a person a day
// while there are people enough.
func (g *scaleGen) deskBookings() {
	f, rng := g.f, g.rng
	id := scaleDeskBookingBase
	for day := range scaleDeskDays {
		date := g.date(day)
		if wd := date.Weekday(); wd == time.Saturday || wd == time.Sunday {
			continue
		}
		people := rng.Perm(len(f.Users))
		next := 0
		for _, desks := range g.desks {
			for _, desk := range desks {
				if rng.Float64() >= g.opts.DeskShare {
					continue
				}
				kind := deskAllDay
				switch rng.IntN(10) {
				case 0:
					kind = deskMorning
				case 1:
					kind = deskAfternoon
				}
				src := sourceWeb
				if rng.IntN(4) == 0 {
					src = sourceExternal
				}
				f.DeskBookings = append(f.DeskBookings, DeskBooking{ID: id, DeskID: desk.ID,
					UserID: f.Users[people[next%len(people)]].ID, Date: date.Format(dateLayout),
					BookingType: kind, Status: deskBooked, Source: src})
				id++
				next++
			}
		}
	}
}

// visitors registers VisitorsPerLocationDay guests a location a day, each coming to one of that
// day's meetings there when it has any, ten minutes before it starts.
func (g *scaleGen) visitors() {
	f, rng := g.f, g.rng
	firsts := []string{"Ines", "Tomás", "Hana", "Kwame", "Elif", "Lars", "Mei", "Omar", "Nadia", "Rafael", "Sione", "Anaïs"}
	lasts := []string{"Costa", "Yilmaz", "Okafor", "Lindqvist", "Chen", "Haddad", "Novak", "Moreau", "Tupou", "Iyer"}
	companies := []string{"Acme Corp", "Globex", "Initech", "Umbrella Ltd", "Stark Industries", "Wayne Enterprises", "Hooli",
		"Société Générale & Fils", "Nakatomi Trading", "Soylent"}
	ascii := strings.NewReplacer("á", "a", "ï", "i")
	id := scaleVisitorBase
	y, m, d := g.opts.Today.Date()
	for day := range scaleDeskDays {
		for li, loc := range f.Locations {
			meetings := g.meetingAt[siteDay{li, day}]
			for range g.opts.VisitorsPerLocationDay {
				fn, ln := firsts[rng.IntN(len(firsts))], lasts[rng.IntN(len(lasts))]
				v := Visitor{ID: id, FirstName: fn, LastName: ln, Company: companies[rng.IntN(len(companies))],
					Email: strings.ToLower(ascii.Replace(fn+"."+ln)) + "@visitor.example.com", LocationID: loc.ID,
					Status: visitorExpect, PassType: 1, Purpose: "Meeting", NotifyByEmail: rng.IntN(3) != 0}
				if len(meetings) > 0 {
					b := f.Bookings[meetings[rng.IntN(len(meetings))]]
					room := resourceIn(g.rooms[li], b.RoomID)
					v.HostID, v.RoomID, v.FloorNumber, v.BookingID = b.UserID, room.ID, room.FloorNumber, b.ID
					v.Arrival, v.MeetingName = b.Start.Add(-10*time.Minute), b.Title
				} else {
					v.HostID = f.Users[rng.IntN(len(f.Users))].ID
					v.Arrival = time.Date(y, m, d+day, 9+rng.IntN(8), 15*rng.IntN(4), 0, 0, g.zones[li]).UTC()
					v.Purpose = "Site visit"
				}
				f.Visitors = append(f.Visitors, v)
				id++
			}
		}
	}
}

// vendors gives every country a caterer and an AV company serving its locations.
func (g *scaleGen) vendors() {
	vendorID, serviceID := scaleVendorBase, scaleServiceBase
	for _, c := range g.f.Countries {
		for _, kind := range []struct {
			name     string
			services []string
			prices   []float64
		}{
			{"Catering", []string{"Coffee and tea", "Sandwich platter", "Fruit bowl", "Hot lunch"}, []float64{4.5, 12, 6, 18}},
			{"AV Support", []string{"Technician on call", "Microphone set", "Hybrid meeting kit"}, []float64{80, 25, 45}},
		} {
			vendorID++
			v := Vendor{ID: vendorID, Name: c.Name + " " + kind.name, LocationIDs: slices.Clone(g.byCountry[c.Name])}
			for k, name := range kind.services {
				serviceID++
				v.Services = append(v.Services, Service{ID: serviceID, Name: name, Price: kind.prices[k], Currency: g.currency[c.Name]})
			}
			g.f.Vendors = append(g.f.Vendors, v)
		}
	}
}

// resourceIn finds a resource of a location's list by id; the lists are sorted by id.
func resourceIn(rs []Resource, id int) Resource {
	if i, ok := slices.BinarySearchFunc(rs, id, func(r Resource, id int) int { return r.ID - id }); ok {
		return rs[i]
	}
	return Resource{}
}
