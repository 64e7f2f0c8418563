package cache

// How values are serialized: JSON, with every time written as RFC 3339 plus
// its IANA zone in brackets (the RFC 9557 form, e.g.
// "2026-11-27T09:00:00+11:00[Australia/Sydney]"), so a cached booking's
// Start is still in the location's zone, not merely at its offset. Types
// without times are stored as they are; types with times go through a
// mirror struct here.

import (
	"encoding/json"
	"strings"
	"sync"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// zones caches loaded locations: time.LoadLocation reads the zone database
// on every call, and a day of bookings holds many times.
type zones struct{ m sync.Map }

func (z *zones) load(name string) (*time.Location, error) {
	if l, ok := z.m.Load(name); ok {
		return l.(*time.Location), nil
	}
	l, err := time.LoadLocation(name)
	if err != nil {
		return nil, err
	}
	z.m.Store(name, l)
	return l, nil
}

func encTime(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	s := t.Format(time.RFC3339Nano)
	if name := t.Location().String(); name != "" {
		s += "[" + name + "]"
	}
	return s
}

func (z *zones) decTime(s string) (time.Time, error) {
	if s == "" {
		return time.Time{}, nil
	}
	stamp, name, _ := strings.Cut(s, "[")
	t, err := time.Parse(time.RFC3339Nano, stamp)
	if err != nil || name == "" {
		return t, err
	}
	name = strings.TrimSuffix(name, "]")
	loc, err := z.load(name)
	if err != nil {
		// A zone that is not in the database (a named fixed zone) keeps its
		// name and the offset it was written with.
		_, off := t.Zone()
		return t.In(time.FixedZone(name, off)), nil
	}
	return t.In(loc), nil
}

func encZone(l *time.Location) string {
	if l == nil {
		return ""
	}
	return l.String()
}

func (z *zones) decZone(name string) *time.Location {
	if name == "" {
		return nil
	}
	l, err := z.load(name)
	if err != nil {
		return nil
	}
	return l
}

// codec turns one kind of value into bytes and back.
type codec[T any] struct {
	enc func(T) ([]byte, error)
	dec func([]byte) (T, error)
	// clone copies a decoded value for a caller of the decoded tier, so
	// that changing its own copy changes no other's (see decodeKept). The
	// lists a value holds (a booking's attendees, a room's attributes) are
	// shared: nothing changes them once decoded. Nil keeps the kind out of
	// the tier.
	clone func(T) T
}

// kept gives c the clone that lets decoded values of its kind be kept.
func kept[T any](c codec[T], clone func(T) T) codec[T] {
	c.clone = clone
	return c
}

func same[T any](v T) T { return v }

// plain is the codec of types without times.
func plain[T any]() codec[T] {
	return codec[T]{
		enc: func(v T) ([]byte, error) { return json.Marshal(v) },
		dec: func(b []byte) (T, error) {
			var v T
			err := json.Unmarshal(b, &v)
			return v, err
		},
	}
}

// mirrored is the codec of a type stored through a mirror struct M.
func mirrored[T, M any](to func(T) M, from func(M) (T, error)) codec[T] {
	return codec[T]{
		enc: func(v T) ([]byte, error) { return json.Marshal(to(v)) },
		dec: func(b []byte) (T, error) {
			var m M
			if err := json.Unmarshal(b, &m); err != nil {
				var zero T
				return zero, err
			}
			return from(m)
		},
	}
}

// sliceOf lifts a per-element mirror to slices.
func sliceOf[T, M any](to func(T) M, from func(M) (T, error)) (func([]T) []M, func([]M) ([]T, error)) {
	return func(v []T) []M {
			if v == nil {
				return nil
			}
			out := make([]M, len(v))
			for i := range v {
				out[i] = to(v[i])
			}
			return out
		}, func(m []M) ([]T, error) {
			if m == nil {
				return nil, nil
			}
			out := make([]T, len(m))
			for i := range m {
				var err error
				if out[i], err = from(m[i]); err != nil {
					return nil, err
				}
			}
			return out, nil
		}
}

type mBooking struct {
	ID          workplace.BookingID       `json:"id"`
	RoomID      workplace.RoomID          `json:"room,omitempty"`
	LocationID  workplace.LocationID      `json:"loc,omitempty"`
	GroupID     workplace.GroupID         `json:"grp,omitempty"`
	Title       string                    `json:"title,omitempty"`
	Start       string                    `json:"start,omitempty"`
	End         string                    `json:"end,omitempty"`
	ActualStart string                    `json:"astart,omitempty"`
	ActualEnd   string                    `json:"aend,omitempty"`
	Progress    workplace.MeetingProgress `json:"prog,omitempty"`
	Private     bool                      `json:"priv,omitempty"`
	Source      string                    `json:"src,omitempty"`
	Host        workplace.Person          `json:"host"`
	Requestor   workplace.Person          `json:"req"`
	Creator     workplace.Person          `json:"creator"`
	CostCodeID  workplace.CostCodeID      `json:"cc,omitempty"`
	Notes       string                    `json:"notes,omitempty"`
	CreatedAt   string                    `json:"created,omitempty"`
	ModifiedAt  string                    `json:"modified,omitempty"`
	Deleted     bool                      `json:"del,omitempty"`

	Setup     time.Duration `json:"setup,omitempty"`
	CleanDown time.Duration `json:"clean,omitempty"`
}

func toBooking(b workplace.Booking) mBooking {
	return mBooking{
		ID: b.ID, RoomID: b.RoomID, LocationID: b.LocationID, GroupID: b.GroupID, Title: b.Title,
		Start: encTime(b.Start), End: encTime(b.End), ActualStart: encTime(b.ActualStart), ActualEnd: encTime(b.ActualEnd),
		Progress: b.Progress, Private: b.Private, Source: b.Source, Host: b.Host, Requestor: b.Requestor, Creator: b.Creator,
		CostCodeID: b.CostCodeID, Notes: b.Notes, CreatedAt: encTime(b.CreatedAt), ModifiedAt: encTime(b.ModifiedAt), Deleted: b.Deleted,
		Setup: b.Setup, CleanDown: b.CleanDown,
	}
}

func (z *zones) fromBooking(m mBooking) (workplace.Booking, error) {
	b := workplace.Booking{
		ID: m.ID, RoomID: m.RoomID, LocationID: m.LocationID, GroupID: m.GroupID, Title: m.Title,
		Progress: m.Progress, Private: m.Private, Source: m.Source, Host: m.Host, Requestor: m.Requestor, Creator: m.Creator,
		CostCodeID: m.CostCodeID, Notes: m.Notes, Deleted: m.Deleted, Setup: m.Setup, CleanDown: m.CleanDown,
	}
	var err error
	for _, f := range []struct {
		dst *time.Time
		src string
	}{{&b.Start, m.Start}, {&b.End, m.End}, {&b.ActualStart, m.ActualStart}, {&b.ActualEnd, m.ActualEnd}, {&b.CreatedAt, m.CreatedAt}, {&b.ModifiedAt, m.ModifiedAt}} {
		if *f.dst, err = z.decTime(f.src); err != nil {
			return workplace.Booking{}, err
		}
	}
	return b, nil
}

type mLocation struct {
	workplace.Location
	// Zone replaces TimeZone, which JSON cannot carry.
	Zone string `json:"zone,omitempty"`
}

func toLocation(l workplace.Location) mLocation {
	m := mLocation{Location: l, Zone: encZone(l.TimeZone)}
	m.TimeZone = nil
	return m
}

func (z *zones) fromLocation(m mLocation) (workplace.Location, error) {
	l := m.Location
	l.TimeZone = z.decZone(m.Zone)
	return l, nil
}

type mVisitor struct {
	ID          workplace.VisitorID     `json:"id"`
	FirstName   string                  `json:"fn,omitempty"`
	LastName    string                  `json:"ln,omitempty"`
	Company     string                  `json:"co,omitempty"`
	Email       string                  `json:"email,omitempty"`
	Arrival     string                  `json:"arr,omitempty"`
	Departure   string                  `json:"dep,omitempty"`
	Status      workplace.VisitorStatus `json:"st,omitempty"`
	Host        workplace.Person        `json:"host"`
	LocationID  workplace.LocationID    `json:"loc,omitempty"`
	Floor       int                     `json:"floor,omitempty"`
	RoomID      workplace.RoomID        `json:"room,omitempty"`
	MeetingName string                  `json:"mtg,omitempty"`
	BookingID   workplace.BookingID     `json:"bk,omitempty"`
}

func toVisitor(v workplace.Visitor) mVisitor {
	return mVisitor{
		ID: v.ID, FirstName: v.FirstName, LastName: v.LastName, Company: v.Company, Email: v.Email,
		Arrival: encTime(v.Arrival), Departure: encTime(v.Departure), Status: v.Status, Host: v.Host,
		LocationID: v.LocationID, Floor: v.Floor, RoomID: v.RoomID, MeetingName: v.MeetingName, BookingID: v.BookingID,
	}
}

func (z *zones) fromVisitor(m mVisitor) (workplace.Visitor, error) {
	v := workplace.Visitor{
		ID: m.ID, FirstName: m.FirstName, LastName: m.LastName, Company: m.Company, Email: m.Email, Status: m.Status,
		Host: m.Host, LocationID: m.LocationID, Floor: m.Floor, RoomID: m.RoomID, MeetingName: m.MeetingName, BookingID: m.BookingID,
	}
	var err error
	if v.Arrival, err = z.decTime(m.Arrival); err != nil {
		return v, err
	}
	v.Departure, err = z.decTime(m.Departure)
	return v, err
}

type mVisitorPage struct {
	Visitors []mVisitor `json:"v"`
	Total    int        `json:"n"`
}

type mFreeSlots struct {
	LocationID    workplace.LocationID    `json:"loc,omitempty"`
	Floor         int                     `json:"floor,omitempty"`
	ResourceID    int64                   `json:"res"`
	WorkspaceType workplace.WorkspaceType `json:"ws,omitempty"`
	Slots         [][2]string             `json:"slots"`
}

func toFreeSlots(r workplace.ResourceFreeSlots) mFreeSlots {
	m := mFreeSlots{LocationID: r.LocationID, Floor: r.Floor, ResourceID: r.ResourceID, WorkspaceType: r.WorkspaceType}
	for _, s := range r.Slots {
		m.Slots = append(m.Slots, [2]string{encTime(s.Start), encTime(s.End)})
	}
	return m
}

func (z *zones) fromFreeSlots(m mFreeSlots) (workplace.ResourceFreeSlots, error) {
	r := workplace.ResourceFreeSlots{LocationID: m.LocationID, Floor: m.Floor, ResourceID: m.ResourceID, WorkspaceType: m.WorkspaceType}
	for _, s := range m.Slots {
		start, err := z.decTime(s[0])
		if err != nil {
			return r, err
		}
		end, err := z.decTime(s[1])
		if err != nil {
			return r, err
		}
		r.Slots = append(r.Slots, workplace.TimeSlot{Start: start, End: end})
	}
	return r, nil
}

// codecs holds the codec of every cached kind of value.
type codecs struct {
	countries      codec[[]workplace.Country]
	regions        codec[[]workplace.Region]
	locations      codec[[]workplace.Location]
	groups         codec[[]workplace.Group]
	users          codec[[]workplace.User]
	rooms          codec[[]workplace.Room]
	desks          codec[[]workplace.Desk]
	floorPlan      codec[[]workplace.FloorPlanItem]
	booking        codec[workplace.Booking]
	bookings       codec[[]workplace.Booking]
	deskBookings   codec[[]workplace.DeskBooking]
	visitors       codec[workplace.VisitorPage]
	costCodes      codec[[]workplace.CostCode]
	vendors        codec[[]workplace.Vendor]
	orders         codec[[]workplace.ServiceOrder]
	freeSlots      codec[[]workplace.ResourceFreeSlots]
	availableRooms codec[[]workplace.AvailableRoom]
	availableDesks codec[[]workplace.AvailableDesk]
	bookingFacts   codec[bookingFacts]
}

func newCodecs(z *zones) codecs {
	locTo, locFrom := sliceOf(toLocation, z.fromLocation)
	bkTo, bkFrom := sliceOf(toBooking, z.fromBooking)
	visTo, visFrom := sliceOf(toVisitor, z.fromVisitor)
	fsTo, fsFrom := sliceOf(toFreeSlots, z.fromFreeSlots)
	return codecs{
		countries:    kept(plain[[]workplace.Country](), cloneSlice),
		regions:      kept(plain[[]workplace.Region](), cloneSlice),
		locations:    kept(mirrored(locTo, locFrom), cloneSlice),
		groups:       kept(plain[[]workplace.Group](), cloneSlice),
		users:        kept(plain[[]workplace.User](), cloneSlice),
		rooms:        kept(plain[[]workplace.Room](), cloneSlice),
		desks:        kept(plain[[]workplace.Desk](), cloneSlice),
		floorPlan:    kept(plain[[]workplace.FloorPlanItem](), cloneSlice),
		booking:      kept(mirrored(toBooking, z.fromBooking), same),
		bookings:     kept(mirrored(bkTo, bkFrom), cloneSlice),
		deskBookings: kept(plain[[]workplace.DeskBooking](), cloneSlice),
		visitors: kept(mirrored(func(p workplace.VisitorPage) mVisitorPage {
			return mVisitorPage{Visitors: visTo(p.Visitors), Total: p.Total}
		}, func(m mVisitorPage) (workplace.VisitorPage, error) {
			vs, err := visFrom(m.Visitors)
			return workplace.VisitorPage{Visitors: vs, Total: m.Total}, err
		}), cloneVisitorPage),
		costCodes:      kept(plain[[]workplace.CostCode](), cloneSlice),
		vendors:        kept(plain[[]workplace.Vendor](), cloneSlice),
		orders:         kept(plain[[]workplace.ServiceOrder](), cloneSlice),
		freeSlots:      kept(mirrored(fsTo, fsFrom), cloneSlice),
		availableRooms: kept(plain[[]workplace.AvailableRoom](), cloneSlice),
		availableDesks: kept(plain[[]workplace.AvailableDesk](), cloneSlice),
		bookingFacts: kept(mirrored(func(f bookingFacts) mBookingFacts {
			return mBookingFacts{Room: f.Room, Loc: f.Loc, Start: encTime(f.Start), End: encTime(f.End)}
		}, func(m mBookingFacts) (bookingFacts, error) {
			f := bookingFacts{Room: m.Room, Loc: m.Loc}
			var err error
			if f.Start, err = z.decTime(m.Start); err == nil {
				f.End, err = z.decTime(m.End)
			}
			return f, err
		}), same),
	}
}

// bookingFacts is what invalidation needs to know of a booking: its room,
// its location and the days it covers.
type bookingFacts struct {
	Room       workplace.RoomID
	Loc        workplace.LocationID
	Start, End time.Time
}

type mBookingFacts struct {
	Room  workplace.RoomID     `json:"room"`
	Loc   workplace.LocationID `json:"loc,omitempty"`
	Start string               `json:"start,omitempty"`
	End   string               `json:"end,omitempty"`
}

func factsOf(b workplace.Booking) bookingFacts {
	return bookingFacts{Room: b.RoomID, Loc: b.LocationID, Start: b.Start, End: b.End}
}

// Small index values, stored as plain JSON.

type roomIndex struct {
	Loc workplace.LocationID `json:"loc"`
}

type deskBookingIndex struct {
	Desk workplace.DeskID `json:"desk"`
	Date workplace.Date   `json:"date"`
}

type visitorIndex struct {
	Loc  workplace.LocationID `json:"loc"`
	Date workplace.Date       `json:"date"`
}
