package engagesim

// This file holds the Fixture (the data a simulator starts from) and DemoFixture, a deterministic
// generator of a company that looks real enough to exercise time zones, paging and caching.

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"time"
)

// Fixture is the whole state of a tenant at start or reset. Tests build tiny ones by hand;
// DemoFixture builds a large one. Times are instants (time.Time); the simulator renders them
// local to each location. It is also the JSON accepted by POST /_sim/reset {"fixture":{...}}.
type Fixture struct {
	Countries    []Country     `json:"countries"`
	Regions      []Region      `json:"regions"`
	Locations    []Location    `json:"locations"`
	Groups       []Group       `json:"groups"`
	Users        []User        `json:"users"`
	Resources    []Resource    `json:"resources"`
	Bookings     []Booking     `json:"bookings"`
	DeskBookings []DeskBooking `json:"deskBookings"`
	Visitors     []Visitor     `json:"visitors"`
	CostCodes    []CostCode    `json:"costCodes"`
	Vendors      []Vendor      `json:"vendors"`
}

// Country is the top of the hierarchy.
type Country struct {
	ID   int    `json:"id"`
	Name string `json:"name"`
}

// Region groups locations inside a country.
type Region struct {
	ID        int    `json:"id"`
	CountryID int    `json:"countryId"`
	Name      string `json:"name"`
}

// Location is a building. TimeZone is the Windows name the API shows; IANAZone is the zone the
// simulator computes with, kept beside it because the simulator must know its own zones.
type Location struct {
	ID                       int    `json:"id"`
	RegionID                 int    `json:"regionId"`
	Name                     string `json:"name"`
	Address                  string `json:"address"`
	City                     string `json:"city"`
	Country                  string `json:"country"`
	PostCode                 string `json:"postCode"`
	TimeZone                 string `json:"timeZone"`
	IANAZone                 string `json:"ianaZone"`
	FloorsAboveGround        int    `json:"floorsAboveGround"`
	FloorsBelowGround        int    `json:"floorsBelowGround"`
	CostCentreMandatory      bool   `json:"costCentreMandatory"`
	CCPaymentCostCodeEnabled bool   `json:"ccPaymentCostCodeEnabled"`
}

// Group is a bookable area ("neighbourhood") of a location; rooms and desks belong to one.
type Group struct {
	ID         int    `json:"id"`
	LocationID int    `json:"locationId"`
	Name       string `json:"name"`
}

// User is a person who books and hosts.
type User struct {
	ID        int    `json:"id"`
	FirstName string `json:"firstName"`
	LastName  string `json:"lastName"`
	Email     string `json:"email"`
}

// Resource is a meeting room (WorkspaceTypeID 1) or a desk (2).
type Resource struct {
	ID              int    `json:"id"`
	LocationID      int    `json:"locationId"`
	WorkspaceTypeID int    `json:"workspaceTypeId"`
	Name            string `json:"name"`
	FloorNumber     int    `json:"floorNumber"`
	Capacity        int    `json:"capacity"`
	GroupID         int    `json:"groupId"`
	Attributes      []int  `json:"attributes"`
}

// Booking is a room booking. Start and End are the booked span; ActualStart and ActualEnd are
// zero until the meeting is started or ended.
type Booking struct {
	ID     int `json:"id"`
	RoomID int `json:"roomId"`
	// UserID is the host; RequestorID and CreatorID name who asked for
	// the booking and who made it (an assistant, say), 0 = the host.
	UserID      int       `json:"userId"`
	RequestorID int       `json:"requestorId,omitempty"`
	CreatorID   int       `json:"creatorId,omitempty"`
	Title       string    `json:"title"`
	Start       time.Time `json:"start"`
	End         time.Time `json:"end"`
	Progress    int       `json:"progress"`
	ActualStart time.Time `json:"actualStart"`
	ActualEnd   time.Time `json:"actualEnd"`
	Source      int       `json:"source"`
	Attendees   int       `json:"attendees"`
	CostCodeID  int       `json:"costCodeId"`
	Private     bool      `json:"private"`
	Notes       string    `json:"notes"`
	SetupStyle  int       `json:"setupStyle"`
	CreatedOn   time.Time `json:"createdOn"`
	ModifiedOn  time.Time `json:"modifiedOn"`
	// PrepMinutes and CleanDownMinutes hold the room before the start (set-up) and after the
	// end (clean-down): Engage's prepPeriod and cleanDownPeriod. Bookings made through the API
	// have none; the web app (the admin routes) may give them.
	PrepMinutes      int `json:"prepMinutes,omitempty"`
	CleanDownMinutes int `json:"cleanDownMinutes,omitempty"`
}

// DeskBooking is one desk on one date (YYYY-MM-DD, local to the desk's location).
type DeskBooking struct {
	ID                 int    `json:"id"`
	DeskID             int    `json:"deskId"`
	UserID             int    `json:"userId"`
	Date               string `json:"date"`
	BookingType        int    `json:"bookingType"`
	Status             int    `json:"status"`
	UntilFurtherNotice bool   `json:"untilFurtherNotice"`
	Source             int    `json:"source"`
}

// Visitor is an expected, arrived or departed guest.
type Visitor struct {
	ID            int       `json:"id"`
	FirstName     string    `json:"firstName"`
	LastName      string    `json:"lastName"`
	Company       string    `json:"company"`
	Email         string    `json:"email"`
	HostID        int       `json:"hostId"`
	LocationID    int       `json:"locationId"`
	FloorNumber   int       `json:"floorNumber"`
	RoomID        int       `json:"roomId"`
	BookingID     int       `json:"bookingId"`
	Arrival       time.Time `json:"arrival"`
	Departure     time.Time `json:"departure"`
	Status        int       `json:"status"`
	MeetingName   string    `json:"meetingName"`
	PassType      int       `json:"passType"`
	Purpose       string    `json:"purpose"`
	NotifyByEmail bool      `json:"notifyByEmail"`
}

// CostCode is a charge code of a location.
type CostCode struct {
	ID          int    `json:"id"`
	Code        string `json:"code"`
	Description string `json:"description"`
	LocationID  int    `json:"locationId"`
	IsActive    bool   `json:"isActive"`
}

// Vendor sells services (catering, AV) to bookings at some locations.
type Vendor struct {
	ID          int       `json:"id"`
	Name        string    `json:"name"`
	LocationIDs []int     `json:"locationIds"`
	Services    []Service `json:"services"`
}

// Service is one orderable item of a vendor.
type Service struct {
	ID       int     `json:"id"`
	Name     string  `json:"name"`
	Price    float64 `json:"price"`
	Currency string  `json:"currency"`
}

// demoSite describes one location of the demo company. roomWord and deskWord begin the names of
// its rooms and desks (default: the city, and "Desk"); ids, when set, numbers its location,
// resources and bookings instead of the demo's small sequential ids.
type demoSite struct {
	country, region, name, city, address, postCode, windows, iana, currency string
	floors, below, rooms, desks                                             int
	roomWord, deskWord                                                      string
	ids                                                                     *siteIDs
}

// siteIDs numbers a site's entities as real tenants do: ids beyond 32 bits, up to the largest a
// JavaScript number holds exactly (2^53-1). Each sequence counts by its step from its first id.
type siteIDs struct {
	location          int
	resource, booking idSeq
}

// idSeq hands out ids from next, by step.
type idSeq struct{ next, step int }

func (q *idSeq) take() int {
	id := q.next
	q.next += q.step
	return id
}

// Ids of the demo beyond 32 bits [X: real tenants' ids are 64-bit integers; these exercise them].
const (
	beyond32   = 1 << 31       // the first id a signed 32-bit integer cannot hold
	largestID  = 1<<53 - 1     // the largest integer a JavaScript number holds exactly
	beyondU32  = 1 << 32       // the first id an unsigned 32-bit integer cannot hold
	bigBooking = 1<<52 + 1_000 // where the Mumbai site's bookings start
	// edgeBookings is where the bookings of addEdgeCases start; they are never private.
	edgeBookings = beyond32 + 100_000
)

func demoSites() []demoSite {
	return []demoSite{
		{"United Kingdom", "England", "London HQ", "London", "1 Finsbury Avenue", "EC2M 2PF", "GMT Standard Time", "Europe/London", "GBP", 13, 2, 22, 110, "", "", nil},
		{"United Kingdom", "Scotland", "Edinburgh", "Edinburgh", "20 Castle Terrace", "EH1 2EN", "GMT Standard Time", "Europe/London", "GBP", 5, 0, 12, 60, "", "", nil},
		{"United States", "East Coast", "New York", "New York", "350 Fifth Avenue", "10118", "Eastern Standard Time", "America/New_York", "USD", 20, 1, 20, 100, "", "", nil},
		{"United States", "West Coast", "San Francisco", "San Francisco", "101 California Street", "94111", "Pacific Standard Time", "America/Los_Angeles", "USD", 8, 1, 14, 70, "", "", nil},
		{"Australia", "New South Wales", "Sydney", "Sydney", "1 Martin Place", "2000", "AUS Eastern Standard Time", "Australia/Sydney", "AUD", 10, 1, 16, 80, "", "", nil},
		{"Australia", "Victoria", "Melbourne", "Melbourne", "120 Collins Street", "3000", "AUS Eastern Standard Time", "Australia/Melbourne", "AUD", 6, 0, 10, 50, "", "", nil},
		{"Singapore", "Singapore", "Singapore", "Singapore", "8 Marina View", "018960", "Singapore Standard Time", "Asia/Singapore", "SGD", 9, 1, 14, 70, "", "", nil},
		// Half-hour and 45-minute offsets, names beyond ASCII, ids beyond 32 bits: the location just
		// past what a signed 32-bit integer holds, its rooms and desks past an unsigned one.
		{"Bhārat (India)", "Mahārāshtra", "Mumbai — Bāndra Kurla", "Mumbai", "G Block, Bāndra Kurla Complex", "400051", "India Standard Time", "Asia/Kolkata", "INR", 6, 1, 8, 20,
			"Sabhā", "Mez", &siteIDs{location: beyond32 + 7, resource: idSeq{beyondU32 + 11, 1}, booking: idSeq{bigBooking, 1}}},
		// Everything counted down from the largest id, so a location, a room and a booking hold it.
		{"Nepal (नेपाल)", "Bāgmatī", "काठमाडौं Durbar Marg", "Kathmandu", "Durbār Mārg 14", "44600", "Nepal Standard Time", "Asia/Kathmandu", "NPR", 4, 0, 6, 12,
			"Kothā", "Ṭebul", &siteIDs{location: largestID, resource: idSeq{largestID, -1}, booking: idSeq{largestID, -1}}},
	}
}

// Room attributes of the demo [X ids]: 1 projector, 2 video conferencing, 3 whiteboard,
// 4 speakerphone, 5 wheelchair access, 6 large display; desks: 101 monitor, 102 standing,
// 103 docking station.
func roomAttributePool() []int { return []int{1, 2, 3, 4, 5, 6} }
func deskAttributePool() []int { return []int{101, 102, 103} }

// DemoFixture builds the demo company: 6 countries, 9 locations in 7 time zones (Sydney and
// Melbourne in the southern hemisphere, Mumbai half an hour and Kathmandu three quarters of an
// hour off the hour), 122 rooms, 572 desks, 205 users, about 2,600 room bookings and desk
// bookings on the 15 local dates starting at today's date, visitors, cost codes and vendors, and
// the edge cases of addEdgeCases. Two locations number their entities beyond 32 bits, up to
// 2^53-1, and name them beyond ASCII. The same seed and date give the same fixture; only today's
// calendar date matters.
func DemoFixture(seed uint64, today time.Time) *Fixture {
	rng := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	y, m, d := today.Date()
	f := &Fixture{}

	firsts := []string{"Olivia", "Liam", "Emma", "Noah", "Ava", "Oliver", "Sophia", "Elijah", "Isabella", "James",
		"Mia", "William", "Amelia", "Benjamin", "Harper", "Lucas", "Evelyn", "Henry", "Abigail", "Alexander",
		"Priya", "Wei", "Aisha", "Hiroshi", "Chloe", "Mateo", "Zara", "Arjun", "Grace", "Ethan"}
	lasts := []string{"Smith", "Johnson", "Williams", "Brown", "Jones", "Garcia", "Miller", "Davis", "Wilson", "Taylor",
		"Anderson", "Thomas", "Moore", "Martin", "Lee", "Thompson", "White", "Harris", "Clark", "Lewis",
		"Tan", "Nguyen", "Patel", "Kim", "Walker", "Young", "King", "Wright", "Scott", "Green"}
	seen := map[string]int{}
	for i := range 200 {
		fn, ln := firsts[rng.IntN(len(firsts))], lasts[rng.IntN(len(lasts))]
		local := strings.ToLower(fn + "." + ln)
		seen[local]++
		if n := seen[local]; n > 1 {
			local = fmt.Sprintf("%s%d", local, n)
		}
		f.Users = append(f.Users, User{ID: 1001 + i, FirstName: fn, LastName: ln, Email: local + "@example.com"})
	}

	countryID := map[string]int{}
	regionID := map[string]int{}
	resID, groupID, bookingID, deskBookingID, ccID := 1000, 300, 100000, 500000, 700
	titles := []string{"Weekly sync", "Sprint planning", "1:1", "Design review", "Customer call", "Interview",
		"Quarterly business review", "Stand-up", "Budget review", "Architecture forum", "Onboarding", "Town hall prep",
		"Vendor pitch", "Retrospective", "Hiring panel", "Board prep"}
	groupNames := []string{"North Wing", "South Wing", "Engineering", "Sales", "Executive Floor"}
	for li, site := range demoSites() {
		cid, ok := countryID[site.country]
		if !ok {
			cid = len(countryID) + 1
			countryID[site.country] = cid
			f.Countries = append(f.Countries, Country{ID: cid, Name: site.country})
		}
		rid, ok := regionID[site.region]
		if !ok {
			rid = 10 + len(regionID)
			regionID[site.region] = rid
			f.Regions = append(f.Regions, Region{ID: rid, CountryID: cid, Name: site.region})
		}
		locID := 41 + li
		nextRes, nextBooking := func() int { resID++; return resID }, func() int { bookingID++; return bookingID }
		if site.ids != nil {
			locID = site.ids.location
			nextRes, nextBooking = site.ids.resource.take, site.ids.booking.take
		}
		roomWord, deskWord := site.city, "Desk"
		if site.roomWord != "" {
			roomWord, deskWord = site.roomWord, site.deskWord
		}
		f.Locations = append(f.Locations, Location{
			ID: locID, RegionID: rid, Name: site.name, Address: site.address, City: site.city, Country: site.country,
			PostCode: site.postCode, TimeZone: site.windows, IANAZone: site.iana,
			FloorsAboveGround: site.floors, FloorsBelowGround: site.below,
			CostCentreMandatory: li == 2, CCPaymentCostCodeEnabled: li%2 == 0,
		})
		var groups []int
		for g := range 2 + li%2 {
			groupID++
			groups = append(groups, groupID)
			f.Groups = append(f.Groups, Group{ID: groupID, LocationID: locID, Name: site.name + " " + groupNames[(li+g)%len(groupNames)]})
		}
		descriptions := []string{"General", "Marketing", "Client entertainment", "Training"}
		if site.ids != nil {
			descriptions = []string{"Sāmānya", "Vipaṇan & PR", "Ātithya — clients", "Praśikṣaṇ"}
		}
		for c := range 4 {
			ccID++
			f.CostCodes = append(f.CostCodes, CostCode{ID: ccID, Code: fmt.Sprintf("%s-%03d", strings.ToUpper(site.city[:3]), 100+c*10),
				Description: descriptions[c], LocationID: locID, IsActive: c != 3})
		}
		loc, err := time.LoadLocation(site.iana)
		if err != nil {
			loc = time.UTC
		}
		capacities := []int{2, 4, 4, 6, 6, 8, 10, 12, 16, 20}
		var rooms []Resource
		for r := range site.rooms {
			id := nextRes()
			floor := 1 + rng.IntN(site.floors)
			attrs := pickAttrs(rng, roomAttributePool())
			room := Resource{ID: id, LocationID: locID, WorkspaceTypeID: workspaceRoom,
				Name: fmt.Sprintf("%s %d.%02d", roomWord, floor, r+1), FloorNumber: floor,
				Capacity: capacities[rng.IntN(len(capacities))], GroupID: groups[rng.IntN(len(groups))], Attributes: attrs}
			rooms = append(rooms, room)
			f.Resources = append(f.Resources, room)
		}
		var desks []Resource
		for k := range site.desks {
			id := nextRes()
			floor := 1 + rng.IntN(site.floors)
			desk := Resource{ID: id, LocationID: locID, WorkspaceTypeID: workspaceDesk,
				Name: fmt.Sprintf("%s %d-%03d", deskWord, floor, k+1), FloorNumber: floor, Capacity: 1,
				GroupID: groups[rng.IntN(len(groups))], Attributes: pickAttrs(rng, deskAttributePool())}
			desks = append(desks, desk)
			f.Resources = append(f.Resources, desk)
		}
		for day := range 15 {
			date := time.Date(y, m, d+day, 0, 0, 0, 0, time.UTC)
			weekend := date.Weekday() == time.Saturday || date.Weekday() == time.Sunday
			for _, room := range rooms {
				n := 1 + rng.IntN(3)
				if weekend {
					n = rng.IntN(2) * rng.IntN(2)
				}
				slot := 16 + rng.IntN(3) // half-hours since midnight: 08:00..09:00
				for range n {
					length := 1 + rng.IntN(4)
					if slot+length > 38 {
						break
					}
					start := time.Date(date.Year(), date.Month(), date.Day(), slot/2, 30*(slot%2), 0, 0, loc)
					end := start.Add(time.Duration(length) * 30 * time.Minute)
					user := f.Users[rng.IntN(len(f.Users))]
					f.Bookings = append(f.Bookings, Booking{ID: nextBooking(), RoomID: room.ID, UserID: user.ID,
						Title: titles[rng.IntN(len(titles))], Start: start.UTC(), End: end.UTC(), Source: sourceWeb,
						Attendees: 1 + rng.IntN(max(room.Capacity, 1)), SetupStyle: 1,
						CreatedOn: start.AddDate(0, 0, -7).UTC(), ModifiedOn: start.AddDate(0, 0, -7).UTC()})
					slot += length + rng.IntN(4)
				}
			}
			if weekend {
				continue
			}
			for _, desk := range desks {
				if rng.IntN(10) >= 4 {
					continue
				}
				deskBookingID++
				f.DeskBookings = append(f.DeskBookings, DeskBooking{ID: deskBookingID, DeskID: desk.ID,
					UserID: f.Users[rng.IntN(len(f.Users))].ID, Date: date.Format(dateLayout),
					BookingType: []int{deskMorning, deskAfternoon, deskAllDay, deskAllDay}[rng.IntN(4)], Status: deskBooked})
			}
		}
	}

	companies := []string{"Acme Corp", "Globex", "Initech", "Umbrella Ltd", "Stark Industries", "Wayne Enterprises", "Hooli"}
	for i := range 80 {
		b := f.Bookings[rng.IntN(len(f.Bookings))]
		room := resourceByID(f.Resources, b.RoomID)
		fn, ln := firsts[rng.IntN(len(firsts))], lasts[rng.IntN(len(lasts))]
		f.Visitors = append(f.Visitors, Visitor{ID: 9001 + i, FirstName: fn, LastName: ln,
			Company: companies[rng.IntN(len(companies))], Email: strings.ToLower(fn+"."+ln) + "@visitor.example.com",
			HostID: b.UserID, LocationID: room.LocationID, FloorNumber: room.FloorNumber, RoomID: room.ID,
			BookingID: b.ID, Arrival: b.Start.Add(-10 * time.Minute), Status: visitorExpect, MeetingName: b.Title,
			PassType: 1, Purpose: "Meeting", NotifyByEmail: true})
	}

	byCountry := map[string][]int{}
	currency := map[string]string{}
	for i, site := range demoSites() {
		byCountry[site.country] = append(byCountry[site.country], f.Locations[i].ID)
		currency[site.country] = site.currency
	}
	vendorID, serviceID := 60, 800
	for _, c := range f.Countries {
		for _, kind := range []struct {
			name     string
			services []string
			prices   []float64
		}{
			{"Catering", []string{"Coffee and tea", "Sandwich platter", "Fruit bowl"}, []float64{4.5, 12, 6}},
			{"AV Support", []string{"Technician on call", "Microphone set"}, []float64{80, 25}},
		} {
			vendorID++
			v := Vendor{ID: vendorID, Name: c.Name + " " + kind.name, LocationIDs: byCountry[c.Name]}
			for k, name := range kind.services {
				serviceID++
				v.Services = append(v.Services, Service{ID: serviceID, Name: name, Price: kind.prices[k], Currency: currency[c.Name]})
			}
			f.Vendors = append(f.Vendors, v)
		}
	}
	markPrivate(f)
	addEdgeCases(f, today)
	return f
}

// addEdgeCases adds what real tenants have and a generated company might lack: users with names
// beyond ASCII, mixed-case emails and ids beyond 32 bits (one at 2^53-1); at every location a
// booking running into today across midnight and one running out of it, a title of markup
// characters and an emoji, and an empty title; and at every daylight-saving change in the
// fixture's days, a booking across it and, where the clocks go back, two bookings at the same
// local time an hour apart (the hour that happens twice). Where the clocks go forward, the hour
// that does not exist is inside the booking across the change.
func addEdgeCases(f *Fixture, today time.Time) {
	people := []User{
		{ID: beyond32 + 1, FirstName: "Zoë", LastName: "Ångström", Email: "Zoe.Angstrom@Example.com"},
		{ID: beyondU32 + 5, FirstName: "José", LastName: "Müller-Łukasik", Email: "JOSE.MULLER@EXAMPLE.COM"},
		{ID: largestID, FirstName: "Ngô", LastName: "Bảo Châu", Email: "Ngo.BaoChau@example.COM"},
		{ID: beyond32 + 2, FirstName: "Søren", LastName: "Kierkegård", Email: "soren.kierkegard@example.com"},
		{ID: beyond32 + 3, FirstName: "Aarav", LastName: "Śarmā", Email: "Aarav.Sharma@Example.com"},
	}
	f.Users = append(f.Users, people...)
	ids := idSeq{edgeBookings, 1}
	host := 0
	add := func(room Resource, title string, start, end time.Time) Booking {
		u := people[host%len(people)]
		host++
		b := Booking{ID: ids.take(), RoomID: room.ID, UserID: u.ID, Title: title, Start: start.UTC(), End: end.UTC(),
			Source: sourceWeb, Attendees: 2, SetupStyle: 1, CreatedOn: start.AddDate(0, 0, -2).UTC(), ModifiedOn: start.AddDate(0, 0, -1).UTC()}
		f.Bookings = append(f.Bookings, b)
		return b
	}
	y, m, d := today.Date()
	nextVisitor := 0
	for _, v := range f.Visitors {
		nextVisitor = max(nextVisitor, v.ID)
	}
	for _, l := range f.Locations {
		zone, err := time.LoadLocation(l.IANAZone)
		if err != nil {
			continue
		}
		var rooms []Resource
		for _, r := range f.Resources {
			if r.LocationID == l.ID && r.WorkspaceTypeID == workspaceRoom {
				rooms = append(rooms, r)
			}
		}
		if len(rooms) < 3 {
			continue
		}
		at := func(day, hour, minute int) time.Time { return time.Date(y, m, d+day, hour, minute, 0, 0, zone) }
		add(rooms[0], "Night shift handover", at(-1, 23, 30), at(0, 0, 30))
		add(rooms[0], "Late release", at(0, 23, 0), at(1, 1, 0))
		marked := add(rooms[0], `Q&A: <Roadmap> "2027" & 'Ops' review 🚀`, at(0, 20, 0), at(0, 20, 30))
		add(rooms[0], "", at(0, 20, 30), at(0, 21, 0))
		nextVisitor++
		f.Visitors = append(f.Visitors, Visitor{ID: nextVisitor, FirstName: "Ünal", LastName: "Çelik", Company: "Société Générale & Fils",
			Email: "Unal.Celik@Visitor.Example.com", HostID: marked.UserID, LocationID: l.ID, FloorNumber: rooms[0].FloorNumber,
			RoomID: rooms[0].ID, BookingID: marked.ID, Arrival: marked.Start.Add(-10 * time.Minute), Status: visitorExpect,
			MeetingName: marked.Title, PassType: 1, Purpose: "Réunion", NotifyByEmail: true})
		for _, c := range clockChanges(zone, at(0, 0, 0), at(15, 0, 0)) {
			add(rooms[1], "Across the clock change", c.at.Add(-30*time.Minute), c.at.Add(30*time.Minute))
			if c.back {
				add(rooms[2], "Before the clocks go back", c.at.Add(-30*time.Minute), c.at.Add(-10*time.Minute))
				add(rooms[2], "After the clocks go back", c.at.Add(30*time.Minute), c.at.Add(50*time.Minute))
			}
		}
	}
}

// clockChange is an instant at which a zone's offset changes, and whether it goes back.
type clockChange struct {
	at   time.Time
	back bool
}

// clockChanges lists the offset changes of zone in [from, to), to the minute: an hourly scan, then
// the minute within the hour.
func clockChanges(zone *time.Location, from, to time.Time) []clockChange {
	offset := func(t time.Time) int { _, o := t.In(zone).Zone(); return o }
	var out []clockChange
	for t := from; t.Before(to); t = t.Add(time.Hour) {
		o1, o2 := offset(t), offset(t.Add(time.Hour))
		if o1 == o2 {
			continue
		}
		at := t
		for offset(at) == o1 {
			at = at.Add(time.Minute)
		}
		out = append(out, clockChange{at: at, back: o2 < o1})
	}
	return out
}

func pickAttrs(rng *rand.Rand, pool []int) []int {
	out := []int{}
	for _, a := range pool {
		if rng.IntN(2) == 0 {
			out = append(out, a)
		}
	}
	return out
}

func resourceByID(rs []Resource, id int) Resource {
	for _, r := range rs {
		if r.ID == id {
			return r
		}
	}
	return Resource{}
}
