package engagesim

// This file holds the in-memory tenant: the entities loaded from a Fixture and their indexes.
// The Sim guards it with one RWMutex; methods here assume the caller holds it.

import (
	"cmp"
	"fmt"
	"maps"
	"slices"
	"strings"
	"time"
)

// location is a Location with its loaded zone.
type location struct {
	Location
	tz *time.Location
}

// order is a vendor service order.
type order struct {
	ID        int
	BookingID int
	ServiceID int
	Quantity  int
	UserID    int
	Status    int
}

// store is one tenant's data.
type store struct {
	countries []Country
	regions   []Region
	locations map[int]*location
	locOrder  []int
	groups    []Group
	users     map[int]*User
	userOrder []int
	resources map[int]*Resource
	// byLocation holds each location's rooms and desks sorted by id, so that listing one
	// location costs what it holds, not what the tenant holds.
	byLocation map[int][]*Resource

	bookings     map[int]*Booking
	byRoom       map[int]map[int]*Booking
	deskBookings map[int]*DeskBooking
	byDesk       map[int]map[int]*DeskBooking
	visitors     map[int]*Visitor
	// visitorsOn holds the visitors of each location by the local date of their arrival, the
	// one date a visitor listing asks for.
	visitorsOn map[visitDay]map[int]*Visitor
	costCodes  []*CostCode
	vendors    []Vendor
	services   map[int]*Service
	orders     map[int]*order

	nextResource, nextBooking, nextDeskBooking, nextVisitor, nextCostCode, nextOrder int
}

// knownZones maps the Windows zone names the simulator is likely to meet to IANA zones, used
// when a fixture location names only the Windows zone.
func knownZones() map[string]string {
	return map[string]string{
		"GMT Standard Time":              "Europe/London",
		"Eastern Standard Time":          "America/New_York",
		"Central Standard Time":          "America/Chicago",
		"Pacific Standard Time":          "America/Los_Angeles",
		"AUS Eastern Standard Time":      "Australia/Sydney",
		"Singapore Standard Time":        "Asia/Singapore",
		"W. Europe Standard Time":        "Europe/Berlin",
		"Romance Standard Time":          "Europe/Paris",
		"India Standard Time":            "Asia/Calcutta",
		"Tokyo Standard Time":            "Asia/Tokyo",
		"UTC":                            "UTC",
		"New Zealand Standard Time":      "Pacific/Auckland",
		"E. South America Standard Time": "America/Sao_Paulo",
	}
}

// newStore copies f into a fresh store, so later changes never touch the caller's fixture.
func newStore(f *Fixture) (*store, error) {
	st := &store{
		countries:    slices.Clone(f.Countries),
		regions:      slices.Clone(f.Regions),
		locations:    map[int]*location{},
		groups:       slices.Clone(f.Groups),
		users:        map[int]*User{},
		resources:    map[int]*Resource{},
		byLocation:   map[int][]*Resource{},
		bookings:     map[int]*Booking{},
		byRoom:       map[int]map[int]*Booking{},
		deskBookings: map[int]*DeskBooking{},
		byDesk:       map[int]map[int]*DeskBooking{},
		visitors:     map[int]*Visitor{},
		visitorsOn:   map[visitDay]map[int]*Visitor{},
		services:     map[int]*Service{},
		orders:       map[int]*order{},
		nextOrder:    1,
	}
	for _, l := range f.Locations {
		zone := l.IANAZone
		if zone == "" {
			zone = knownZones()[l.TimeZone]
		}
		tz, err := time.LoadLocation(zone)
		if err != nil || zone == "" {
			return nil, fmt.Errorf("engagesim: location %d: time zone %q/%q: %v", l.ID, l.TimeZone, l.IANAZone, err)
		}
		st.locations[l.ID] = &location{Location: l, tz: tz}
		st.locOrder = append(st.locOrder, l.ID)
	}
	for _, u := range f.Users {
		st.users[u.ID] = &u
		st.userOrder = append(st.userOrder, u.ID)
	}
	for _, r := range f.Resources {
		if _, ok := st.locations[r.LocationID]; !ok {
			return nil, fmt.Errorf("engagesim: resource %d: unknown location %d", r.ID, r.LocationID)
		}
		r.Attributes = slices.Clone(r.Attributes)
		if old := st.resources[r.ID]; old != nil {
			st.unindexResource(old)
		}
		st.resources[r.ID] = &r
		st.indexResource(&r)
		st.nextResource = max(st.nextResource, r.ID)
	}
	for _, b := range f.Bookings {
		if r := st.resources[b.RoomID]; r == nil || r.WorkspaceTypeID != workspaceRoom {
			return nil, fmt.Errorf("engagesim: booking %d: unknown room %d", b.ID, b.RoomID)
		}
		st.putBooking(&b)
		st.nextBooking = max(st.nextBooking, b.ID)
	}
	for _, d := range f.DeskBookings {
		if r := st.resources[d.DeskID]; r == nil || r.WorkspaceTypeID != workspaceDesk {
			return nil, fmt.Errorf("engagesim: desk booking %d: unknown desk %d", d.ID, d.DeskID)
		}
		st.putDeskBooking(&d)
		st.nextDeskBooking = max(st.nextDeskBooking, d.ID)
	}
	for _, v := range f.Visitors {
		if old := st.visitors[v.ID]; old != nil {
			st.dropVisitor(old)
		}
		st.putVisitor(&v)
		st.nextVisitor = max(st.nextVisitor, v.ID)
	}
	for _, c := range f.CostCodes {
		st.costCodes = append(st.costCodes, &c)
		st.nextCostCode = max(st.nextCostCode, c.ID)
	}
	for _, v := range f.Vendors {
		v.LocationIDs = slices.Clone(v.LocationIDs)
		v.Services = slices.Clone(v.Services)
		st.vendors = append(st.vendors, v)
		for i := range v.Services {
			st.services[v.Services[i].ID] = &v.Services[i]
		}
	}
	return st, nil
}

func (st *store) putBooking(b *Booking) {
	st.bookings[b.ID] = b
	m := st.byRoom[b.RoomID]
	if m == nil {
		m = map[int]*Booking{}
		st.byRoom[b.RoomID] = m
	}
	m[b.ID] = b
}

func (st *store) dropBooking(b *Booking) {
	delete(st.bookings, b.ID)
	delete(st.byRoom[b.RoomID], b.ID)
}

func (st *store) putDeskBooking(d *DeskBooking) {
	st.deskBookings[d.ID] = d
	m := st.byDesk[d.DeskID]
	if m == nil {
		m = map[int]*DeskBooking{}
		st.byDesk[d.DeskID] = m
	}
	m[d.ID] = d
}

func (st *store) dropDeskBooking(d *DeskBooking) {
	delete(st.deskBookings, d.ID)
	delete(st.byDesk[d.DeskID], d.ID)
}

// indexResource files a resource under its location; unindexResource takes it out. A change of
// a resource's location is an unindex before it and an index after it.
func (st *store) indexResource(r *Resource) {
	rs := st.byLocation[r.LocationID]
	i, found := slices.BinarySearchFunc(rs, r.ID, resourceByIDCmp)
	if found {
		rs[i] = r
		return
	}
	st.byLocation[r.LocationID] = slices.Insert(rs, i, r)
}

func (st *store) unindexResource(r *Resource) {
	rs := st.byLocation[r.LocationID]
	i, found := slices.BinarySearchFunc(rs, r.ID, resourceByIDCmp)
	if !found {
		return
	}
	if rs = slices.Delete(rs, i, i+1); len(rs) == 0 {
		delete(st.byLocation, r.LocationID)
		return
	}
	st.byLocation[r.LocationID] = rs
}

func resourceByIDCmp(r *Resource, id int) int { return cmp.Compare(r.ID, id) }

// visitDay is a location and a local date (YYYY-MM-DD) there.
type visitDay struct {
	loc  int
	date string
}

// visitDayOf is where and on which local date a visitor arrives; false when the visitor's
// location is unknown, as no listing shows such a visitor.
func (st *store) visitDayOf(v *Visitor) (visitDay, bool) {
	l := st.locations[v.LocationID]
	if l == nil {
		return visitDay{}, false
	}
	return visitDay{loc: l.ID, date: v.Arrival.In(l.tz).Format(dateLayout)}, true
}

// putVisitor stores a visitor and files it under its day; dropVisitor undoes both. A change of
// a visitor's location or arrival is a drop before it and a put after it.
func (st *store) putVisitor(v *Visitor) {
	st.visitors[v.ID] = v
	k, ok := st.visitDayOf(v)
	if !ok {
		return
	}
	m := st.visitorsOn[k]
	if m == nil {
		m = map[int]*Visitor{}
		st.visitorsOn[k] = m
	}
	m[v.ID] = v
}

func (st *store) dropVisitor(v *Visitor) {
	delete(st.visitors, v.ID)
	k, ok := st.visitDayOf(v)
	if !ok {
		return
	}
	if m := st.visitorsOn[k]; m != nil {
		delete(m, v.ID)
		if len(m) == 0 {
			delete(st.visitorsOn, k)
		}
	}
}

// locationOf returns the location of a resource, or nil.
func (st *store) locationOf(resourceID int) *location {
	r := st.resources[resourceID]
	if r == nil {
		return nil
	}
	return st.locations[r.LocationID]
}

// countryOf returns the country id of a location.
func (st *store) countryOf(locID int) int {
	l := st.locations[locID]
	if l == nil {
		return 0
	}
	for _, r := range st.regions {
		if r.ID == l.RegionID {
			return r.CountryID
		}
	}
	return 0
}

// occupiedEnd is when a booking stops holding its room: the booked end, or the actual end when
// the meeting ended early.
func occupiedEnd(b *Booking) time.Time {
	if b.Progress == progressEnded && !b.ActualEnd.IsZero() && b.ActualEnd.Before(b.End) {
		return b.ActualEnd
	}
	return b.End
}

// holding is the span a booking holds its room: its set-up before the start, the meeting, and
// its clean-down after the occupied end.
func holding(b *Booking) interval {
	return holdingOf(b.Start, occupiedEnd(b), b.PrepMinutes, b.CleanDownMinutes)
}

// holdingOf is the span a meeting of [start, end) with prep and cleanDown minutes holds its room.
func holdingOf(start, end time.Time, prep, cleanDown int) interval {
	return interval{start.Add(-time.Duration(prep) * time.Minute), end.Add(time.Duration(cleanDown) * time.Minute)}
}

// clash returns whether any booking of the room but skip holds it anywhere in span.
func (st *store) clash(roomID int, span interval, skip int) bool {
	for id, b := range st.byRoom[roomID] {
		if id == skip {
			continue
		}
		if h := holding(b); h.from.Before(span.to) && h.to.After(span.from) {
			return true
		}
	}
	return false
}

// roomBookings returns a room's bookings sorted by start.
func (st *store) roomBookings(roomID int) []*Booking {
	out := slices.Collect(maps.Values(st.byRoom[roomID]))
	slices.SortFunc(out, func(a, b *Booking) int {
		if c := a.Start.Compare(b.Start); c != 0 {
			return c
		}
		return a.ID - b.ID
	})
	return out
}

// liveDeskBooking returns the booking that holds a desk on a date, or nil.
func (st *store) liveDeskBooking(deskID int, date string, skip int) *DeskBooking {
	for id, d := range st.byDesk[deskID] {
		if id != skip && d.Date == date && d.Status != deskReleased {
			return d
		}
	}
	return nil
}

// sortedResources returns resources of a type (0 = any) at a location (0 = any), by id.
func (st *store) sortedResources(workspaceType, locID int) []*Resource {
	var out []*Resource
	if locID != 0 {
		for _, r := range st.byLocation[locID] {
			if workspaceType == 0 || r.WorkspaceTypeID == workspaceType {
				out = append(out, r)
			}
		}
		return out
	}
	for _, r := range st.resources {
		if (workspaceType == 0 || r.WorkspaceTypeID == workspaceType) && (locID == 0 || r.LocationID == locID) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *Resource) int { return a.ID - b.ID })
	return out
}

// userByEmail finds a user by email, case-insensitively.
func (st *store) userByEmail(email string) *User {
	for _, id := range st.userOrder {
		if u := st.users[id]; strings.EqualFold(u.Email, email) {
			return u
		}
	}
	return nil
}

func (st *store) userName(id int) (name, email string) {
	if u := st.users[id]; u != nil {
		return u.FirstName + " " + u.LastName, u.Email
	}
	return "", ""
}

func floorName(n int) string {
	switch {
	case n == 0:
		return "Ground Floor"
	case n < 0:
		return fmt.Sprintf("Basement %d", -n)
	default:
		return fmt.Sprintf("Floor %d", n)
	}
}
