package cache

// The key scheme, in one place. Every key the Service reads or writes is
// built here, so a change of layout is one edit and one version bump.
//
// Layout: "egw:v2:{<entity>}<qualifiers>". The part in braces is a Redis
// Cluster hash tag: a value key and its generation key (the value key plus
// ":gen") always share a slot, so the Lua scripts that touch both are legal
// in Cluster. Keys of different entities live in different slots and are
// only ever read together through a pipeline of single-key commands, never
// MGET.
//
// Bump keyPrefix's version whenever the encoding of any value changes: old
// entries then become unreachable and expire by their TTLs instead of being
// misread.
//
// Every value the cache writes back also has a last-known-good copy under
// its shadow key (the value key plus ":lkg"; see stale.go), which
// invalidation leaves alone and which is read only when the upstream cannot
// answer. It shares the value's hash tag, so its write can be guarded by the
// value's generation. Answers keyed by epochs keep their copy under the key
// built without the epochs, so the copy outlives an epoch's bump as the
// others outlive invalidation.

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// keyPrefix names the gateway and the version of the scheme.
const keyPrefix = "egw:v2:"

// genSuffix turns a value key into its generation key.
const genSuffix = ":gen"

// genKey is where the generation of key lives. Stores use it; it shares
// key's hash tag because it extends key.
func genKey(key string) string { return key + genSuffix }

// shadowSuffix turns a value key into its shadow key.
const shadowSuffix = ":lkg"

// shadowKey is where the last-known-good copy of key lives; it shares key's
// hash tag because it extends key.
func shadowKey(key string) string { return key + shadowSuffix }

// DeliveryKey is the key the webhook receiver claims (Store.Claim) for a
// delivery id, so a retried delivery is processed once across replicas.
func DeliveryKey(deliveryID string) string {
	return tagged("delivery:" + url.QueryEscape(deliveryID))
}

// persistedQueryKey is where an automatic persisted query's text is kept,
// by the SHA-256 hash clients send instead of it.
func persistedQueryKey(hash string) string { return tagged("apq:" + url.QueryEscape(hash)) }

// kindNames names the kinds whose entity prefix would read ambiguously
// beside another ("room" is a room's bookings of a day, "rooms" a
// location's rooms).
var kindNames = map[string]string{
	"room":    "roomBookings",
	"desk":    "deskBookings",
	"booking": "bookings",
	"avail":   "availability",
}

// KeyKinds lists every kind keyKind returns for a key the reads look up,
// so a consumer can bound its labels (or pre-declare them).
func KeyKinds() []string {
	return []string{"countries", "regions", "locations", "groups", "rooms", "desks", "users", "floorplan",
		"roomBookings", "deskBookings", "bookings", "visitors", "costcodes", "vendors", "orders", "availability", "other"}
}

// keyKind names the kind of entry key holds: its entity, the first part
// inside the hash tag. It never returns anything outside KeyKinds.
func keyKind(key string) string {
	rest, ok := strings.CutPrefix(key, keyPrefix+"{")
	if !ok {
		return "other"
	}
	entity, _, _ := strings.Cut(rest, "}")
	entity, _, _ = strings.Cut(entity, ":")
	if n, ok := kindNames[entity]; ok {
		entity = n
	}
	for _, k := range KeyKinds() {
		if k == entity {
			return k
		}
	}
	return "other"
}

func tagged(entity string) string { return keyPrefix + "{" + entity + "}" }

func id[T ~int64](v T) string { return strconv.FormatInt(int64(v), 10) }

// Hierarchy.

func countriesKey() string                            { return tagged("countries") }
func regionsKey(c workplace.CountryID) string         { return tagged("regions:country:" + id(c)) }
func locationsKey(r workplace.RegionID) string        { return tagged("locations:region:" + id(r)) }
func groupsKey(c workplace.CountryID) string          { return tagged("groups:country:" + id(c)) }
func roomsKey(l workplace.LocationID) string          { return tagged("rooms:loc:" + id(l)) }
func desksKey(l workplace.LocationID) string          { return tagged("desks:loc:" + id(l)) }
func floorPlanEpochKey(l workplace.LocationID) string { return tagged("epoch:floorplan:loc:" + id(l)) }

// usersKey escapes the email so no character of it can end the hash tag
// early or collide with another key's qualifiers.
func usersKey(email string) string {
	if email == "" {
		return tagged("users:all")
	}
	return tagged("users:email:" + url.QueryEscape(email))
}

// floorPlanKey carries the location's floor plan epoch: bumping the epoch
// drops every floor plan answer of the location at once.
func floorPlanKey(epoch int64, q workplace.FloorPlanQuery) string {
	return tagged("floorplan:loc:"+id(q.LocationID)) +
		fmt.Sprintf(":e%d:f%d:g%d:w%d", epoch, q.Floor, q.GroupID, q.WorkspaceType)
}

// Bookings, per room per local day.

func roomDayKey(r workplace.RoomID, d workplace.Date) string {
	return tagged("room:" + id(r) + ":day:" + d.String())
}
func bookingKey(b workplace.BookingID) string { return tagged("booking:" + id(b)) }

// mirrorStatusKey is where the mirror's worker leaves its status for every
// replica.
func mirrorStatusKey() string { return tagged("mirror:status") }

// mirrorAliveKey holds the fleet's last heartbeat; mirrorGapKey marks a
// resync owed after a gap in notifications.
func mirrorAliveKey() string { return tagged("mirror:alive") }
func mirrorGapKey() string   { return tagged("mirror:gap") }

// mirrorDeskKey marks a desk the mirror keeps (read lately).
func mirrorDeskKey(d workplace.DeskID) string { return tagged("mirror:desk:" + id(d)) }

// Desk bookings, per desk per day.

func deskDayKey(d workplace.DeskID, day workplace.Date) string {
	return tagged("desk:" + id(d) + ":day:" + day.String())
}

// Visitors: the plain form only, by day and location (0 = all locations).

func visitorsKey(d workplace.Date, l workplace.LocationID) string {
	return tagged("visitors:" + d.String() + ":loc:" + id(l))
}

// Catalog and orders.

func costCodesKey(l workplace.LocationID) string { return tagged("costcodes:loc:" + id(l)) }
func vendorsKey(l workplace.LocationID) string   { return tagged("vendors:loc:" + id(l)) }
func ordersKey(b workplace.BookingID) string     { return tagged("orders:booking:" + id(b)) }

// Availability. Answers are keyed by location and query, which cannot be
// enumerated, so they carry epochs in their keys: the location's room (or
// desk) availability epoch and the tenant-wide one. Bumping an epoch (its
// generation) drops every answer keyed by it; orphaned answers expire.

func roomAvailEpochKey(l workplace.LocationID) string {
	return tagged("epoch:avail:rooms:loc:" + id(l))
}
func deskAvailEpochKey(l workplace.LocationID) string {
	return tagged("epoch:avail:desks:loc:" + id(l))
}
func tenantRoomAvailEpochKey() string { return tagged("epoch:avail:rooms:all") }
func tenantDeskAvailEpochKey() string { return tagged("epoch:avail:desks:all") }

func availPrefix(l workplace.LocationID, epochs []int64) string {
	var b strings.Builder
	b.WriteString(tagged("avail:loc:" + id(l)))
	b.WriteString(":e")
	for i, e := range epochs {
		if i > 0 {
			b.WriteByte('.')
		}
		b.WriteString(strconv.FormatInt(e, 10))
	}
	return b.String()
}

// anyEpoch stands for the epochs in the shadow key of an epoch-keyed
// answer: no generation is negative, so it names no live answer, and the
// copy stays reachable whatever the epochs become.
const anyEpoch = -1

func instant(t time.Time) string { return strconv.FormatInt(t.UnixNano(), 36) }

func freeSlotsKey(epochs []int64, q workplace.FreeSlotQuery) string {
	floor := "-"
	if q.Floor != nil {
		floor = strconv.Itoa(*q.Floor)
	}
	return availPrefix(q.LocationID, epochs) + ":fs:" + instant(q.From) + ":" + instant(q.To) +
		":f" + floor + ":w" + strconv.Itoa(int(q.WorkspaceType))
}

func availableRoomsKey(epochs []int64, q workplace.AvailableRoomsQuery) string {
	return availPrefix(q.LocationID, epochs) + ":ar:" + instant(q.From) + ":" + instant(q.To) +
		":g" + id(q.GroupID) + ":a" + ints(q.Attributes)
}

func availableDesksKey(epochs []int64, q workplace.AvailableDesksQuery) string {
	var days strings.Builder
	for i, d := range q.Days {
		if i > 0 {
			days.WriteByte(',')
		}
		days.WriteString(d.Date.String() + "/" + strconv.Itoa(int(d.Type)))
	}
	return availPrefix(q.LocationID, epochs) + ":ad:u" + id(q.UserID) + ":g" + id(q.GroupID) +
		":d" + days.String() + ":p" + strconv.Itoa(q.PageNumber) + "/" + strconv.Itoa(q.PageSize)
}

func ints(v []int) string {
	parts := make([]string, len(v))
	for i, a := range v {
		parts[i] = strconv.Itoa(a)
	}
	return strings.Join(parts, ",")
}

// Indexes: facts the cache learns while filling, kept only to make
// invalidation precise (which location a room is in, which days a booking
// covers). They are written unconditionally and expire with the entries
// they describe.

func roomIndexKey(r workplace.RoomID) string               { return tagged("idx:room:" + id(r)) }
func deskIndexKey(d workplace.DeskID) string               { return tagged("idx:desk:" + id(d)) }
func bookingIndexKey(b workplace.BookingID) string         { return tagged("idx:booking:" + id(b)) }
func deskBookingIndexKey(b workplace.DeskBookingID) string { return tagged("idx:deskbooking:" + id(b)) }
func visitorIndexKey(v workplace.VisitorID) string         { return tagged("idx:visitor:" + id(v)) }
