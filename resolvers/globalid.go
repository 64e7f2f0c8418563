package resolvers

import (
	"encoding/base64"
	"strconv"
	"strings"

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
	typeCountry  = "Country"
	typeRegion   = "Region"
	typeLocation = "Location"
	typeRoom     = "Room"
	typeDesk     = "Desk"
)

// partsOf tells how many integers an entity type's id carries, and whether
// the type is one this API issues ids for.
func partsOf(typ string) (int, bool) {
	switch typ {
	case typeCountry, typeRegion, typeLocation:
		return 1, true
	case typeRoom, typeDesk:
		return 2, true
	}
	return 0, false
}

func newID(typ string, parts ...int64) string {
	return globalID{Type: typ, Parts: parts}.String()
}

// parseID decodes any global id, with a client-facing error when it is not one.
func parseID(id string) (globalID, error) {
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
		if err != nil || v <= 0 {
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
	return workplace.Errorf(workplace.EINVALID, "%q is not an id this API issued", id)
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

func countryID(c workplace.Country) string   { return newID(typeCountry, int64(c.ID)) }
func regionID(r workplace.Region) string     { return newID(typeRegion, int64(r.ID)) }
func locationID(l workplace.Location) string { return newID(typeLocation, int64(l.ID)) }
func roomID(r workplace.Room) string         { return newID(typeRoom, int64(r.LocationID), int64(r.ID)) }
func deskID(d workplace.Desk) string         { return newID(typeDesk, int64(d.LocationID), int64(d.ID)) }
