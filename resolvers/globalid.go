package resolvers

import (
	"encoding/base64"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/engagegql/gateway/workplace"
)

// A global id is the base64url of "Type:n[:n...]". Where the upstream can
// only find an entity through its parent's list (a room through its
// location's rooms), the id carries the parent's id too, so node(id:) costs
// one upstream call and no search.
type globalID struct {
	Type  string
	Parts []int64
}

func (g globalID) String() string {
	var b strings.Builder
	b.WriteString(g.Type)
	for _, p := range g.Parts {
		b.WriteByte(':')
		b.WriteString(strconv.FormatInt(p, 10))
	}
	return base64.RawURLEncoding.EncodeToString([]byte(b.String()))
}

// Entity types as global ids name them; the same as the schema's type names.
const (
	typeCountry       = "Country"
	typeRegion        = "Region"
	typeLocation      = "Location"
	typeGroup         = "Group"
	typeFloor         = "Floor"
	typeRoom          = "Room"
	typeDesk          = "Desk"
	typeBooking       = "Booking"
	typeDeskBooking   = "DeskBooking"
	typeVisitor       = "Visitor"
	typeUser          = "User"
	typeCostCode      = "CostCode"
	typeVendor        = "Vendor"
	typeVendorService = "VendorService"
	typeServiceOrder  = "ServiceOrder"
)

// partsOf tells how many integers an entity type's id carries, and whether
// the type is one this API issues ids for.
func partsOf(typ string) (int, bool) {
	switch typ {
	case typeCountry, typeRegion, typeLocation, typeGroup, typeBooking, typeUser:
		return 1, true
	case typeRoom, typeDesk, typeFloor, typeCostCode, typeVendor, typeVendorService, typeServiceOrder:
		return 2, true
	case typeVisitor:
		// location, day, id: visitors are listed by day and location only.
		return 3, true
	case typeDeskBooking:
		// location, desk, day, id: desk bookings are listed by desk and day only.
		return 4, true
	}
	return 0, false
}

func newID(typ string, parts ...int64) string {
	return globalID{Type: typ, Parts: parts}.String()
}

// maxIDLength is longer than any id this API issues (a type and at most
// four numbers, base64-encoded: 128 bytes at most). A longer one is refused
// before it is decoded.
const maxIDLength = 256

// parseID decodes any global id, with a client-facing error when it is not one.
func parseID(id string) (globalID, error) {
	if len(id) > maxIDLength {
		return globalID{}, badID(id)
	}
	raw, err := base64.RawURLEncoding.DecodeString(id)
	if err != nil {
		return globalID{}, badID(id)
	}
	fields := strings.Split(string(raw), ":")
	n, ok := partsOf(fields[0])
	if !ok || len(fields) != n+1 {
		return globalID{}, badID(id)
	}
	g := globalID{Type: fields[0], Parts: make([]int64, n)}
	for i, f := range fields[1:] {
		v, err := strconv.ParseInt(f, 10, 64)
		if err != nil {
			return globalID{}, badID(id)
		}
		g.Parts[i] = v
	}
	return g, nil
}

// parseIDOf decodes a global id that must be of type typ.
func parseIDOf(id, typ string) (globalID, error) {
	g, err := parseID(id)
	if err != nil {
		return g, err
	}
	if g.Type != typ {
		return globalID{}, workplace.Errorf(workplace.EINVALID, "id %q is a %s id, not a %s id", id, g.Type, typ)
	}
	return g, nil
}

func badID(id string) error {
	return workplace.Errorf(workplace.EINVALID, "%s is not an id this API issued", quoteID(id))
}

// quotedIDBytes is how much of a malformed id an error message quotes: a
// client sent it, and may have sent a megabyte.
const quotedIDBytes = 64

// quoteID quotes id, or its first quotedIDBytes bytes (cut between
// characters) followed by an ellipsis.
func quoteID(id string) string {
	if len(id) <= quotedIDBytes {
		return strconv.Quote(id)
	}
	cut := quotedIDBytes
	for cut > 0 && !utf8.RuneStart(id[cut]) {
		cut--
	}
	return strconv.Quote(id[:cut]) + "…"
}

// optionalID decodes a nullable id argument; nil gives the zero id.
func optionalID(id *string, typ string) (int64, error) {
	if id == nil {
		return 0, nil
	}
	g, err := parseIDOf(*id, typ)
	if err != nil {
		return 0, err
	}
	return g.Parts[0], nil
}

// dayPart packs a day into one id part as YYYYMMDD.
func dayPart(d workplace.Date) int64 {
	return int64(d.Year)*10000 + int64(d.Month)*100 + int64(d.Day)
}

// partDay unpacks dayPart.
func partDay(v int64) workplace.Date {
	return workplace.Date{Year: int(v / 10000), Month: time.Month(v / 100 % 100), Day: int(v % 100)}
}

func countryID(c workplace.Country) string   { return newID(typeCountry, int64(c.ID)) }
func regionID(r workplace.Region) string     { return newID(typeRegion, int64(r.ID)) }
func locationID(l workplace.Location) string { return newID(typeLocation, int64(l.ID)) }
func roomID(r workplace.Room) string         { return newID(typeRoom, int64(r.LocationID), int64(r.ID)) }
func deskID(d workplace.Desk) string         { return newID(typeDesk, int64(d.LocationID), int64(d.ID)) }
func groupID(g workplace.Group) string       { return newID(typeGroup, int64(g.ID)) }
func floorID(f workplace.Floor) string       { return newID(typeFloor, int64(f.LocationID), int64(f.Number)) }
func bookingID(b workplace.Booking) string   { return newID(typeBooking, int64(b.ID)) }
func userID(u workplace.User) string         { return newID(typeUser, int64(u.ID)) }
func costCodeID(c workplace.CostCode) string {
	return newID(typeCostCode, int64(c.LocationID), int64(c.ID))
}
func vendorID(v workplace.Vendor) string { return newID(typeVendor, int64(v.LocationID), int64(v.ID)) }
func vendorServiceID(s workplace.VendorService) string {
	return newID(typeVendorService, int64(s.LocationID), int64(s.ID))
}
func serviceOrderID(o workplace.ServiceOrder) string {
	return newID(typeServiceOrder, int64(o.BookingID), int64(o.ID))
}
func visitorID(v workplace.Visitor) string {
	return newID(typeVisitor, int64(v.LocationID), dayPart(workplace.DateOf(v.Arrival)), int64(v.ID))
}
func deskBookingID(d workplace.DeskBooking) string {
	return newID(typeDeskBooking, int64(d.LocationID), int64(d.DeskID), dayPart(d.Date), int64(d.ID))
}
