package guard

// The cost model: how many upstream calls an operation is predicted to make
// once the loaders have batched it, computed from its selections before any
// resolver runs. The whole model is in this file.
//
// The upstream lists most things by a parent (regions and groups by country,
// locations by region, rooms by location, bookings by room and window of at
// most 14 days, visitors by location and day) and fetches a few collections
// whole (countries, users). The loaders collapse duplicate keys within an
// operation. So:
//
//   - A collection fetched whole costs 1 call the first time the operation
//     needs it, and nothing after: countries and users (a user lookup by
//     email is one call, or one call listing everyone).
//   - Finding a location, a region or a group by id walks the hierarchy the
//     first time: the countries, one call per country (its regions, or its
//     groups), and for locations one call per region. A location asked for
//     only for what its id leads to (its rooms, desks, floors, cost codes,
//     vendor services) is not looked up at all.
//   - A list listed per location (rooms, desks, cost codes, vendors, free
//     slots) costs one call per distinct location its parents span.
//   - A list listed per parent (a room's or desk's bookings, a booking's
//     service orders) costs one call per parent, times the number of 14-day
//     windows its from..to spans. A room's bookings are listed for the days
//     the window covers in any zone and one before (the location's zone is
//     not looked up: the bookings carry it), so three days more.
//   - A booking's visitors cost one call per distinct location and day the
//     parent bookings span (at most one per booking).
//   - A visitor's meeting name costs what its booking does: whether the
//     meeting is private, and the caller in it, is read from the booking.
//   - Fields under a list are counted once per estimated element, so nested
//     fan-outs multiply.
//   - The same field with the same arguments at the same place (aliases of
//     it, or a fragment spread twice) is counted once: the loaders collapse
//     its keys.
//
// List sizes are not known before the call, so they are estimated (see
// Estimates): a `first:` argument or an id list gives the size when there is
// one; otherwise a typical size for the tenant. Every other field (scalars,
// objects read from their parent's data, introspection) costs nothing.
// Root mutation fields cost Estimates.MutationCalls each (the write, the read
// back and the acting user's lookup); a subscription's cost is what one
// event's payload costs.
//
// The model errs on the side of predicting more calls than the loaders make
// (a room looked up by id is counted as its location's room list, even when
// two rooms share a location); the representative operations of the
// call-count tests are predicted at or a little above their measured counts.

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"

	"github.com/vektah/gqlparser/v2/ast"
)

// Estimates are the cost model's assumed list sizes, for lists whose size is
// not known before they are fetched. The zero value of a field means its
// default, given in brackets; the defaults are those of a large office
// tenant, a little above the demo tenant's.
type Estimates struct {
	Countries          int // every country [5]
	RegionsPerCountry  int // a country's regions [3]
	LocationsPerRegion int // a region's locations [4]
	Locations          int // every location [10]
	RoomsPerLocation   int // a location's rooms [25]
	RoomsPerFloor      int // a floor's rooms [6]
	DesksPerLocation   int // a location's desks [100]
	DesksPerFloor      int // a floor's desks [20]
	FloorsPerLocation  int // a location's floors [10]
	BookingsPerRoomDay int // a room's bookings on one day [4]
	VisitorsPerBooking int // a booking's visitors [2]
	OrdersPerBooking   int // a booking's service orders [2]
	CostCodes          int // a location's cost codes [10]
	Vendors            int // a location's vendors [5]
	ListSize           int // any other list (groups, a vendor's services) [10]
	MutationCalls      int // the calls of one root mutation field [4]
	NodeCalls          int // the calls of one node(id) lookup [2]
}

func (e Estimates) withDefaults() Estimates {
	def := func(v *int, d int) {
		if *v <= 0 {
			*v = d
		}
	}
	def(&e.Countries, 5)
	def(&e.RegionsPerCountry, 3)
	def(&e.LocationsPerRegion, 4)
	def(&e.Locations, 10)
	def(&e.RoomsPerLocation, 25)
	def(&e.RoomsPerFloor, 6)
	def(&e.DesksPerLocation, 100)
	def(&e.DesksPerFloor, 20)
	def(&e.FloorsPerLocation, 10)
	def(&e.BookingsPerRoomDay, 4)
	def(&e.VisitorsPerBooking, 2)
	def(&e.OrdersPerBooking, 2)
	def(&e.CostCodes, 10)
	def(&e.Vendors, 5)
	def(&e.ListSize, 10)
	def(&e.MutationCalls, 4)
	def(&e.NodeCalls, 2)
	return e
}

// upstreamWindowDays is the widest window the upstream lists bookings for;
// wider windows are split.
const upstreamWindowDays = 14

// maxFields bounds the fields the model visits, so that a document spreading
// fragments exponentially is rejected as too costly instead of walked.
const maxFields = 100_000

// Cost predicts the upstream calls of op with its coerced variables vars,
// under the list sizes of est (zero fields: their defaults). It returns
// math.MaxInt32 for an operation too large to predict.
func Cost(op *ast.OperationDefinition, vars map[string]any, est Estimates) int {
	c := coster{est: est.withDefaults(), vars: vars, once: map[string]bool{}, charged: map[string]float64{}, active: map[string]bool{},
		parents: map[string]float64{}, argIDs: map[string]int{}, argsOf: map[*ast.Field]int{}, paths: map[string]string{}}
	c.selectionSet(op.SelectionSet, scope{mult: 1, locs: 1, days: 1}, "")
	if c.fields > maxFields || c.total > math.MaxInt32 {
		return math.MaxInt32
	}
	return int(math.Ceil(c.total))
}

// scope describes the parent objects a selection set is resolved on.
type scope struct {
	mult float64 // how many parent objects there are
	locs float64 // how many distinct locations they belong to (≤ mult)
	days float64 // how many days the parent bookings span
}

// times is the scope of n children per parent.
func (s scope) times(n float64) scope {
	s.mult *= n
	return s
}

// at is the scope of children spanning locs locations over days days.
func (s scope) at(locs, days float64) scope {
	s.locs, s.days = min(locs, s.mult), days
	return s
}

type coster struct {
	est  Estimates
	vars map[string]any
	once map[string]bool
	// charged is what each field (by its path of names and arguments,
	// aliases aside) has been charged, so repeating it adds nothing.
	charged map[string]float64
	active  map[string]bool
	// parents is how many calls of each route listed by parent (regions,
	// locations, groups) have been charged.
	parents map[string]float64
	total   float64
	fields  int
	// argIDs numbers each distinct text of arguments, and argsOf is the
	// number of each field's; paths numbers each distinct path. Keys are
	// made of these numbers, not of the texts: one argument may be a
	// megabyte, a path repeats every argument above it, and a fragment
	// spread a thousand times is visited a thousand times.
	argIDs map[string]int
	argsOf map[*ast.Field]int
	paths  map[string]string
}

// key is the path of f (with arguments args) under the field whose key is
// parent: equal for the same field with the same arguments at the same
// place, and a few bytes long however long its arguments are.
func (c *coster) key(parent string, f *ast.Field, args map[string]any) string {
	id, ok := c.argsOf[f]
	if !ok {
		text := fmt.Sprint(args)
		if id, ok = c.argIDs[text]; !ok {
			id = len(c.argIDs)
			c.argIDs[text] = id
		}
		c.argsOf[f] = id
	}
	path := parent + "/" + f.ObjectDefinition.Name + "." + f.Name + "(" + strconv.Itoa(id) + ")"
	key, ok := c.paths[path]
	if !ok {
		key = strconv.Itoa(len(c.paths))
		c.paths[path] = key
	}
	return key
}

func (c *coster) selectionSet(ss ast.SelectionSet, s scope, path string) {
	for _, sel := range ss {
		if c.fields > maxFields {
			return
		}
		switch f := sel.(type) {
		case *ast.Field:
			c.fields++
			if strings.HasPrefix(f.Name, "__") || f.ObjectDefinition == nil {
				continue
			}
			args := f.ArgumentMap(c.vars)
			key := c.key(path, f, args)
			calls, child := c.field(f.ObjectDefinition.Name, f.Name, args, s, f.SelectionSet)
			if calls > c.charged[key] {
				c.total += calls - c.charged[key]
				c.charged[key] = calls
			}
			c.selectionSet(f.SelectionSet, child, key)
		case *ast.InlineFragment:
			c.selectionSet(f.SelectionSet, s, path)
		case *ast.FragmentSpread:
			if f.Definition == nil || c.active[f.Name] {
				continue
			}
			c.active[f.Name] = true
			c.selectionSet(f.Definition.SelectionSet, s, path)
			delete(c.active, f.Name)
		}
	}
}

// whole is a collection fetched whole: one call the first time.
func (c *coster) whole(key string) float64 {
	if c.once[key] {
		return 0
	}
	c.once[key] = true
	return 1
}

// perParent is n calls of a route listed by parent, of which there are at
// most limit: the loaders collapse a parent's calls, so whatever asks for
// them, the operation never makes more than limit.
func (c *coster) perParent(route string, n, limit float64) float64 {
	add := max(min(n, limit-c.parents[route]), 0)
	c.parents[route] += add
	return add
}

// regionsOf is n countries' regions; locationsOf n regions' locations;
// groupsOf n countries' groups.
func (c *coster) regionsOf(n float64) float64 {
	return c.perParent("regions", n, float64(c.est.Countries))
}

func (c *coster) locationsOf(n float64) float64 {
	return c.perParent("locations", n, float64(c.est.Countries*c.est.RegionsPerCountry))
}

func (c *coster) groupsOf(n float64) float64 {
	return c.perParent("groups", n, float64(c.est.Countries))
}

// allRegions is the walk to every region: the countries, then each
// country's regions.
func (c *coster) allRegions() float64 {
	return c.whole("countries") + c.regionsOf(float64(c.est.Countries))
}

// allLocations is the walk to every location: every region, then each
// region's locations.
func (c *coster) allLocations() float64 {
	return c.allRegions() + c.locationsOf(float64(c.est.Countries*c.est.RegionsPerCountry))
}

// allGroups is the walk to every group: the countries, then each country's
// groups.
func (c *coster) allGroups() float64 {
	return c.whole("countries") + c.groupsOf(float64(c.est.Countries))
}

// field returns the calls of field name of parent type typ, resolved on the
// parents of s, and the scope of what it returns.
func (c *coster) field(typ, name string, args map[string]any, s scope, sel ast.SelectionSet) (float64, scope) {
	e := c.est
	perLoc := s.locs
	switch typ + "." + name {
	// Roots.
	case "Query.node":
		return float64(e.NodeCalls), s
	case "Query.nodes":
		n := float64(listLen(args["ids"]))
		return n * float64(e.NodeCalls), s.times(n).at(n, 1)
	case "Query.countries":
		return c.whole("countries"), s.times(float64(e.Countries)).at(float64(e.Locations), 1)
	case "Query.regions":
		if args["countryId"] != nil {
			return c.regionsOf(1), s.times(float64(e.RegionsPerCountry)).at(float64(e.Locations), 1)
		}
		return c.allRegions(), s.times(float64(e.Countries*e.RegionsPerCountry)).at(float64(e.Locations), 1)
	case "Query.locations":
		if args["regionId"] != nil {
			return c.locationsOf(1), s.times(float64(e.LocationsPerRegion)).at(float64(e.LocationsPerRegion), 1)
		}
		return c.allLocations(), s.times(float64(e.Locations)).at(float64(e.Locations), 1)
	case "Query.location":
		if LocationByIDOnly(sel) {
			return 0, s.at(1, 1)
		}
		return c.allLocations(), s.at(1, 1)
	case "Query.rooms":
		calls := 1.0
		if args["freeFrom"] != nil || args["freeTo"] != nil {
			calls++
		}
		n := e.RoomsPerLocation
		if args["floor"] != nil {
			n = e.RoomsPerFloor
		}
		return calls, s.times(float64(n)).at(1, 1)
	case "Query.room", "Query.desk":
		return 1, s.at(1, 1)
	case "Query.desks":
		calls := 1.0
		if args["freeOn"] != nil {
			calls++
		}
		n := e.DesksPerLocation
		if args["floor"] != nil {
			n = e.DesksPerFloor
		}
		return calls, s.times(float64(n)).at(1, 1)
	case "Query.bookings":
		rooms, lookups := float64(e.RoomsPerLocation), 1.0
		if ids := listLen(args["roomIds"]); ids > 0 {
			rooms, lookups = float64(ids), float64(ids)
		}
		days := instantDays(args["from"], args["to"])
		calls := lookups + rooms*windows(bookingDays(args["from"], args["to"]))
		return calls, s.times(rooms*days*float64(e.BookingsPerRoomDay)).at(lookups, days)
	case "Query.booking":
		return 1, s.at(1, 1)
	case "Query.deskBookings":
		desks, lookups := float64(e.DesksPerLocation), 1.0
		if ids := listLen(args["deskIds"]); ids > 0 {
			desks, lookups = float64(ids), float64(ids)
		}
		days := dateDays(args["from"], args["to"])
		calls := lookups + desks*windows(days)
		if args["userEmail"] != nil {
			calls += c.whole("users")
		}
		return calls, s.times(desks*days).at(lookups, days)
	case "Query.deskBooking":
		return 2, s.at(1, 1)
	case "Query.visitors":
		n := float64(intArg(args["first"], 50))
		locs := 1.0
		if args["locationId"] == nil {
			locs = float64(e.Locations)
		}
		// The connection stands for its page: nodes and edges cost
		// nothing more and do not multiply again.
		return 1, s.times(n).at(locs, 1)
	case "Query.visitor":
		return 1, s.at(1, 1)
	case "Query.user", "Booking.host", "Booking.requestor", "Booking.creator",
		"DeskBooking.user", "Visitor.host":
		return c.whole("users"), s
	case "Query.costCodes":
		return 1, s.times(float64(e.CostCodes)).at(1, 1)
	case "Query.vendorServices":
		return 1, s.times(float64(e.Vendors)).at(1, 1)

	// The hierarchy.
	case "Country.regions":
		return c.regionsOf(s.mult), s.times(float64(e.RegionsPerCountry))
	case "Region.locations":
		n := min(s.mult*float64(e.LocationsPerRegion), float64(e.Locations))
		return c.locationsOf(s.mult), scope{mult: n, locs: n, days: s.days}
	case "Region.country":
		return c.whole("countries"), s
	case "Location.country", "Location.region":
		return c.allRegions(), s
	case "Room.location", "Desk.location", "Booking.location", "Floor.location",
		"CostCode.location", "Visitor.location", "ResourceEvent.location", "VisitorEvent.location":
		return c.allLocations(), s
	case "Location.groups":
		return c.allGroups(), s.times(float64(e.ListSize))
	case "Room.group", "Desk.group":
		return c.allGroups(), s
	case "Location.floors":
		return 2 * perLoc, s.times(float64(e.FloorsPerLocation))
	case "Room.floor", "Desk.floor":
		return 0, s // from the room's or desk's own data
	case "Location.rooms":
		return perLoc, s.times(float64(e.RoomsPerLocation))
	case "Location.desks":
		return perLoc, s.times(float64(e.DesksPerLocation))
	case "Floor.rooms":
		return perLoc, s.times(float64(e.RoomsPerFloor))
	case "Floor.desks":
		return perLoc, s.times(float64(e.DesksPerFloor))
	case "Location.costCodes":
		return perLoc, s.times(float64(e.CostCodes))
	case "Location.vendorServices":
		return perLoc, s.times(float64(e.Vendors))
	case "Vendor.services":
		return 0, s.times(float64(e.ListSize))

	// Bookings and what hangs off them.
	case "Room.bookings":
		days := instantDays(args["from"], args["to"])
		calls := s.mult * windows(bookingDays(args["from"], args["to"]))
		return calls, s.times(days*float64(e.BookingsPerRoomDay)).at(s.locs, days)
	case "Room.freeSlots":
		return perLoc + c.allLocations(), s.times(float64(e.ListSize))
	case "Desk.bookings":
		days := dateDays(args["from"], args["to"])
		calls := s.mult * windows(days)
		if args["from"] == nil || args["to"] == nil {
			calls += c.allLocations() // the location's "today"
		}
		return calls, s.times(days).at(s.locs, days)
	case "Booking.room", "Visitor.room", "BookingEvent.room", "ResourceEvent.room":
		return perLoc, s
	case "DeskBooking.desk", "DeskBookingEvent.desk", "ResourceEvent.desk":
		return perLoc, s
	case "Booking.costCode":
		return perLoc, s
	case "Booking.visitors":
		return min(s.mult, s.locs*s.days), s.times(float64(e.VisitorsPerBooking))
	case "Booking.serviceOrders":
		return s.mult, s.times(float64(e.OrdersPerBooking))
	case "ServiceOrder.service":
		return perLoc, s
	case "ServiceOrder.booking", "Visitor.booking", "Visitor.meetingName", "BookingEvent.booking", "VisitorEvent.visitor":
		return s.mult, s.at(s.locs, 1)
	case "DeskBookingEvent.deskBooking":
		return 2 * s.mult, s
	}
	switch typ {
	case "Mutation":
		calls := float64(e.MutationCalls)
		if name == "bookDesk" {
			if in, ok := args["input"].(map[string]any); ok {
				calls += 2 * float64(listLen(in["dates"]))
			}
		}
		return calls, s.at(1, 1)
	case "Subscription":
		return 0, s.at(1, 1)
	}
	return 0, s
}

// windows is how many upstream calls of at most 14 days cover days days.
func windows(days float64) float64 {
	return math.Ceil(days / upstreamWindowDays)
}

// bookingLookAround is how many days more than its window's UTC dates a
// room's bookings are listed for: a local date is within a day of the UTC
// date either way, and one day before finds bookings running into the
// window (workplace.BookingDays).
const bookingLookAround = 3

// bookingDays is how many days a room's bookings are listed for to answer
// the window [from, to) of two DateTime arguments: its UTC dates and
// bookingLookAround more; a window without both ends is a day's.
func bookingDays(from, to any) float64 {
	f, okF := parseTime(from, time.RFC3339)
	t, okT := parseTime(to, time.RFC3339)
	if !okF || !okT || !t.After(f) {
		return 1 + bookingLookAround
	}
	y1, m1, d1 := f.UTC().Date()
	y2, m2, d2 := t.Add(-time.Nanosecond).UTC().Date()
	span := time.Date(y2, m2, d2, 0, 0, 0, 0, time.UTC).Sub(time.Date(y1, m1, d1, 0, 0, 0, 0, time.UTC)).Hours() / 24
	return math.Round(span) + 1 + bookingLookAround
}

// LocationByIDOnly reports whether a location's selections need nothing of
// it but its id (its rooms, desks, floors, cost codes, vendor services, the
// id itself), and at least one of them calls the upstream with it: then
// Query.location does not look the location up, the walk of the hierarchy
// is not made, and the cost model does not charge it. The resolver and the
// model share this one rule, so the prediction follows what is done.
func LocationByIDOnly(sel ast.SelectionSet) bool {
	budget := maxIDOnlyFields
	upstream, ok := idOnly(sel, map[string]bool{}, &budget)
	return ok && upstream
}

// maxIDOnlyFields bounds the fields LocationByIDOnly looks at: a selection
// of more is not of the few fields that need only an id.
const maxIDOnlyFields = 64

// idOnly walks sel, fragments expanded, and reports whether every field is
// one a location's id alone answers (ok) and whether one of them calls the
// upstream with it. It stops at the first other field, or when budget runs
// out.
func idOnly(sel ast.SelectionSet, active map[string]bool, budget *int) (upstream, ok bool) {
	for _, s := range sel {
		switch f := s.(type) {
		case *ast.Field:
			if *budget--; *budget < 0 {
				return false, false
			}
			switch f.Name {
			case "rooms", "desks", "floors", "costCodes", "vendorServices":
				upstream = true
			case "id", "engageId", "__typename":
			default:
				return false, false
			}
		case *ast.InlineFragment:
			u, ok := idOnly(f.SelectionSet, active, budget)
			if !ok {
				return false, false
			}
			upstream = upstream || u
		case *ast.FragmentSpread:
			if f.Definition == nil || active[f.Name] {
				continue
			}
			active[f.Name] = true
			u, ok := idOnly(f.Definition.SelectionSet, active, budget)
			delete(active, f.Name)
			if !ok {
				return false, false
			}
			upstream = upstream || u
		}
	}
	return upstream, true
}

// instantDays is how many local days the window [from, to) of two DateTime
// arguments touches; a missing end means one day (the defaults are a day).
// The location's zone is not known here, so a window not starting at
// midnight (in the offset it was given with) counts one day more.
func instantDays(from, to any) float64 {
	f, okF := parseTime(from, time.RFC3339)
	t, okT := parseTime(to, time.RFC3339)
	if !okF || !okT || !t.After(f) {
		return 1
	}
	days := math.Ceil(t.Sub(f).Hours() / 24)
	if h, m, sec := f.Clock(); h != 0 || m != 0 || sec != 0 {
		days++
	}
	return days
}

// dateDays is how many days from..to (Date arguments, both inclusive) spans;
// a missing end means one day.
func dateDays(from, to any) float64 {
	f, okF := parseTime(from, time.DateOnly)
	t, okT := parseTime(to, time.DateOnly)
	if !okF || !okT || t.Before(f) {
		return 1
	}
	return math.Round(t.Sub(f).Hours()/24) + 1
}

func parseTime(v any, layout string) (time.Time, bool) {
	switch v := v.(type) {
	case time.Time:
		return v, true
	case string:
		t, err := time.Parse(layout, v)
		return t, err == nil
	}
	return time.Time{}, false
}

func listLen(v any) int {
	if l, ok := v.([]any); ok {
		return len(l)
	}
	return 0
}

func intArg(v any, def int) int {
	switch v := v.(type) {
	case int:
		return v
	case int64:
		return int(v)
	case float64:
		return int(v)
	case interface{ Int64() (int64, error) }: // json.Number
		if n, err := v.Int64(); err == nil {
			return int(n)
		}
	}
	return def
}
