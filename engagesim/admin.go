package engagesim

// This file serves the admin routes under /_sim/ (never part of the real API, no key or bearer):
// reset, clock, faults, stats, the delivery log, and changes "from the Engage web app", which
// announce ActionSource 0.

import (
	"net/http"
	"strconv"
	"strings"
	"time"
)

func (s *Sim) adminRoutes() *http.ServeMux {
	m := http.NewServeMux()
	m.HandleFunc("GET /_sim/healthz", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, map[string]bool{"ok": true})
	})
	m.HandleFunc("POST /_sim/reset", s.adminReset)
	m.HandleFunc("GET /_sim/clock", s.adminGetClock)
	m.HandleFunc("POST /_sim/clock", s.adminSetClock)
	m.HandleFunc("GET /_sim/faults", s.adminGetFaults)
	m.HandleFunc("POST /_sim/faults", s.adminSetFaults)
	m.HandleFunc("DELETE /_sim/faults", s.adminClearFaults)
	m.HandleFunc("GET /_sim/stats", func(w http.ResponseWriter, _ *http.Request) { writeJSON(w, http.StatusOK, s.Stats()) })
	m.HandleFunc("POST /_sim/stats/reset", func(w http.ResponseWriter, _ *http.Request) {
		s.stats.reset()
		writeJSON(w, http.StatusOK, s.Stats())
	})
	m.HandleFunc("GET /_sim/deliveries", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, struct {
			Deliveries []DeliveryRecord `json:"deliveries"`
		}{nonNil(s.hooks.records())})
	})
	m.HandleFunc("DELETE /_sim/deliveries", func(w http.ResponseWriter, _ *http.Request) {
		s.hooks.clearRecords()
		writeMsg(w, http.StatusOK, msgSuccess)
	})

	m.HandleFunc("POST /_sim/bookings", s.adminPostBooking)
	m.HandleFunc("PUT /_sim/bookings/{id}", s.adminPutBooking)
	m.HandleFunc("DELETE /_sim/bookings/{id}", s.adminDeleteBooking)
	m.HandleFunc("POST /_sim/bookings/{id}/progress", s.adminProgressBooking)
	m.HandleFunc("POST /_sim/deskBookings", s.adminPostDeskBooking)
	m.HandleFunc("DELETE /_sim/deskBookings/{id}", s.adminDeleteDeskBooking)
	m.HandleFunc("POST /_sim/deskBookings/{id}/progress", s.adminProgressDesk)
	m.HandleFunc("POST /_sim/resources", s.adminPostResource)
	m.HandleFunc("PUT /_sim/resources/{id}", s.adminPutResource)
	m.HandleFunc("DELETE /_sim/resources/{id}", s.adminDeleteResource)
	m.HandleFunc("POST /_sim/visitors", s.adminPostVisitor)
	m.HandleFunc("PUT /_sim/visitors/{id}", s.adminPutVisitor)
	m.HandleFunc("DELETE /_sim/visitors/{id}", s.adminDeleteVisitor)
	m.HandleFunc("POST /_sim/visitors/{id}/action", s.adminVisitorAction)
	m.HandleFunc("/_sim/", func(w http.ResponseWriter, _ *http.Request) {
		writeMsg(w, http.StatusNotFound, "No such admin route.")
	})
	return m
}

func nonNil[T any](x []T) []T {
	if x == nil {
		return []T{}
	}
	return x
}

func pathID(r *http.Request) int {
	n, _ := strconv.Atoi(r.PathValue("id"))
	return n
}

// resetBody is POST /_sim/reset; every field is optional.
type resetBody struct {
	Seed           *uint64  `json:"seed"`
	Fixture        *Fixture `json:"fixture"`
	ClearListeners bool     `json:"clearListeners"`
}

// adminReset reseeds the tenant (a given fixture, a demo seed, or the initial fixture), resets
// the stats, the rate windows and the delivery log, and keeps listeners unless told otherwise.
func (s *Sim) adminReset(w http.ResponseWriter, r *http.Request) {
	var in resetBody
	if err := decodeBody(r, &in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	now := s.now()
	f := in.Fixture
	switch {
	case f != nil:
	case in.Seed != nil:
		f = DemoFixture(*in.Seed, now.UTC())
	default:
		s.mu.RLock()
		f = s.initial
		s.mu.RUnlock()
		if f == nil {
			f = DemoFixture(1, now.UTC())
		}
	}
	st, err := newStore(f)
	if err != nil {
		writeMsg(w, http.StatusBadRequest, err.Error())
		return
	}
	s.mu.Lock()
	s.st = st
	s.mu.Unlock()
	s.stats.reset()
	s.gw.resetCounters()
	s.hooks.clearRecords()
	if in.ClearListeners {
		s.hooks.clearListeners()
	}
	writeJSON(w, http.StatusOK, map[string]int{
		"locations": len(f.Locations), "resources": len(f.Resources), "bookings": len(f.Bookings),
		"deskBookings": len(f.DeskBookings), "visitors": len(f.Visitors), "users": len(f.Users),
	})
}

type clockJSON struct {
	Now string `json:"now"`
}

func (s *Sim) adminGetClock(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, clockJSON{s.now().UTC().Format(time.RFC3339Nano)})
}

// adminSetClock sets the clock to "now" (RFC 3339) or moves it by "advance" (a Go duration).
func (s *Sim) adminSetClock(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Now     string `json:"now"`
		Advance string `json:"advance"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	var shift time.Duration
	switch {
	case in.Now != "":
		t, err := time.Parse(time.RFC3339Nano, in.Now)
		if err != nil {
			writeMsg(w, http.StatusBadRequest, "now must be RFC 3339.")
			return
		}
		shift = t.Sub(s.now())
	case in.Advance != "":
		d, err := time.ParseDuration(in.Advance)
		if err != nil {
			writeMsg(w, http.StatusBadRequest, "advance must be a duration such as 90m.")
			return
		}
		shift = d
	default:
		writeMsg(w, http.StatusBadRequest, "now or advance is required.")
		return
	}
	s.clockMu.Lock()
	s.offset += shift
	s.clockMu.Unlock()
	s.adminGetClock(w, r)
}

func (s *Sim) adminGetFaults(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, http.StatusOK, s.gw.currentFaults().view())
}

func (s *Sim) adminSetFaults(w http.ResponseWriter, r *http.Request) {
	var in faultPatch
	if err := decodeBody(r, &in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	if err := s.gw.applyFaults(in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	s.adminGetFaults(w, r)
}

func (s *Sim) adminClearFaults(w http.ResponseWriter, r *http.Request) {
	s.gw.clearFaults()
	s.adminGetFaults(w, r)
}

// Changes from the web app.

func adminAnswer(w http.ResponseWriter, status int, key string, id any, err *apiError) {
	if err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	writeJSON(w, status, map[string]any{key: id})
}

// adminBookingBody is a booking made in the web app, which may also hold the room for set-up
// before the meeting and clean-down after it.
type adminBookingBody struct {
	bookingBody
	PrepMinutes      flexInt `json:"prepMinutes"`
	CleanDownMinutes flexInt `json:"cleanDownMinutes"`
}

func (s *Sim) adminPostBooking(w http.ResponseWriter, r *http.Request) {
	var in adminBookingBody
	if err := decodeBody(r, &in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	id, err := s.createBooking(in.bookingBody, queryOf(r).utc(), sourceWeb, int(in.PrepMinutes), int(in.CleanDownMinutes))
	adminAnswer(w, http.StatusCreated, "bookingId", id, err)
}

func (s *Sim) adminPutBooking(w http.ResponseWriter, r *http.Request) {
	var in struct {
		RoomID        *flexInt `json:"roomId"`
		StartDateTime *string  `json:"startDateTime"`
		EndDateTime   *string  `json:"endDateTime"`
		MeetingTitle  *string  `json:"meetingTitle"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	id := pathID(r)
	err := s.editBooking(id, bookingPatch{RoomID: in.RoomID, Start: in.StartDateTime, End: in.EndDateTime, MeetingTitle: in.MeetingTitle}, queryOf(r).utc())
	adminAnswer(w, http.StatusOK, "bookingId", id, err)
}

func (s *Sim) adminDeleteBooking(w http.ResponseWriter, r *http.Request) {
	id := pathID(r)
	adminAnswer(w, http.StatusOK, "bookingId", id, s.removeBooking(id))
}

func (s *Sim) adminProgressBooking(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Action  string  `json:"action"`
		Minutes flexInt `json:"minutes"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	action := map[string]int{"start": actionStart, "end": actionEnd, "extend": actionExtend}[strings.ToLower(in.Action)]
	id := pathID(r)
	adminAnswer(w, http.StatusOK, "bookingId", id, s.progressBooking(id, action, int(in.Minutes), sourceWeb))
}

func (s *Sim) adminPostDeskBooking(w http.ResponseWriter, r *http.Request) {
	var in deskBookingBody
	if err := decodeBody(r, &in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	ids, err := s.createDeskBookings(in, sourceWeb)
	adminAnswer(w, http.StatusCreated, "bookingIds", ids, err)
}

func (s *Sim) adminDeleteDeskBooking(w http.ResponseWriter, r *http.Request) {
	id := pathID(r)
	adminAnswer(w, http.StatusOK, "bookingId", id, s.removeDeskBooking(id))
}

func (s *Sim) adminProgressDesk(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Action string `json:"action"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	action := map[string]int{"checkin": deskActionCheckIn, "release": deskActionRelease}[strings.ToLower(in.Action)]
	id := pathID(r)
	adminAnswer(w, http.StatusOK, "bookingId", id, s.progressDesk(id, action, sourceWeb))
}

// resourceBody creates or patches a room or desk.
type resourceBody struct {
	WorkspaceTypeID *flexInt   `json:"workspaceTypeId"`
	LocationID      *flexInt   `json:"locationId"`
	Name            *string    `json:"name"`
	FloorNumber     *flexInt   `json:"floorNumber"`
	Capacity        *flexInt   `json:"capacity"`
	GroupID         *flexInt   `json:"groupId"`
	Attributes      *[]flexInt `json:"attributes"`
}

func resourceEvent(r *Resource, action int) event {
	return event{typ: eventResource, resource: r.ID, item: resourceChange{ResourceItemID: r.ID, WorkspaceTypeId: r.WorkspaceTypeID,
		LocationId: r.LocationID, FloorNumber: r.FloorNumber, Action: action}}
}

func applyResource(st *store, r *Resource, in resourceBody) *apiError {
	if in.LocationID != nil {
		r.LocationID = int(*in.LocationID)
	}
	if st.locations[r.LocationID] == nil {
		return fail(http.StatusNotFound, msgLocationNotFound)
	}
	if in.Name != nil {
		r.Name = *in.Name
	}
	if in.FloorNumber != nil {
		r.FloorNumber = int(*in.FloorNumber)
	}
	if in.Capacity != nil {
		r.Capacity = int(*in.Capacity)
	}
	if in.GroupID != nil {
		r.GroupID = int(*in.GroupID)
	}
	if in.Attributes != nil {
		r.Attributes = []int{}
		for _, a := range *in.Attributes {
			r.Attributes = append(r.Attributes, int(a))
		}
	}
	if r.Name == "" {
		return badRequest("name is required.")
	}
	return nil
}

func (s *Sim) adminPostResource(w http.ResponseWriter, r *http.Request) {
	var in resourceBody
	if err := decodeBody(r, &in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	var id int
	err := s.change(func(st *store, _ time.Time) ([]event, *apiError) {
		if in.WorkspaceTypeID == nil || (*in.WorkspaceTypeID != workspaceRoom && *in.WorkspaceTypeID != workspaceDesk) {
			return nil, badRequest("workspaceTypeId must be 1 (room) or 2 (desk).")
		}
		res := &Resource{WorkspaceTypeID: int(*in.WorkspaceTypeID), Capacity: 1, Attributes: []int{}}
		if err := applyResource(st, res, in); err != nil {
			return nil, err
		}
		st.nextResource++
		res.ID = st.nextResource
		st.resources[res.ID] = res
		st.indexResource(res)
		id = res.ID
		return []event{resourceEvent(res, resourceCreated)}, nil
	})
	adminAnswer(w, http.StatusCreated, "resourceId", id, err)
}

func (s *Sim) adminPutResource(w http.ResponseWriter, r *http.Request) {
	var in resourceBody
	if err := decodeBody(r, &in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	id := pathID(r)
	err := s.change(func(st *store, _ time.Time) ([]event, *apiError) {
		res := st.resources[id]
		if res == nil {
			return nil, fail(http.StatusNotFound, msgResourceNotFound)
		}
		c := *res
		if err := applyResource(st, &c, in); err != nil {
			return nil, err
		}
		st.unindexResource(res)
		*res = c
		st.indexResource(res)
		return []event{resourceEvent(res, resourceUpdated)}, nil
	})
	adminAnswer(w, http.StatusOK, "resourceId", id, err)
}

// adminDeleteResource deletes a room or desk with its bookings, announcing each deletion.
func (s *Sim) adminDeleteResource(w http.ResponseWriter, r *http.Request) {
	id := pathID(r)
	err := s.change(func(st *store, _ time.Time) ([]event, *apiError) {
		res := st.resources[id]
		if res == nil {
			return nil, fail(http.StatusNotFound, msgResourceNotFound)
		}
		var evs []event
		for _, b := range st.roomBookings(id) {
			evs = append(evs, st.meetingEvent(b, meetingDeleted))
			st.dropBooking(b)
		}
		for _, d := range st.byDesk[id] {
			evs = append(evs, deskEvent(d, meetingDeleted))
			st.dropDeskBooking(d)
		}
		delete(st.byRoom, id)
		delete(st.byDesk, id)
		st.unindexResource(res)
		delete(st.resources, id)
		return append(evs, resourceEvent(res, resourceDeleted)), nil
	})
	adminAnswer(w, http.StatusOK, "resourceId", id, err)
}

func (s *Sim) adminPostVisitor(w http.ResponseWriter, r *http.Request) {
	var in visitorBody
	if err := decodeBody(r, &in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	id, err := s.createVisitor(in, queryOf(r).utc())
	adminAnswer(w, http.StatusCreated, "visitorId", id, err)
}

func (s *Sim) adminPutVisitor(w http.ResponseWriter, r *http.Request) {
	var in visitorBody
	if err := decodeBody(r, &in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	id := pathID(r)
	adminAnswer(w, http.StatusOK, "visitorId", id, s.updateVisitor(id, in, queryOf(r).utc()))
}

func (s *Sim) adminDeleteVisitor(w http.ResponseWriter, r *http.Request) {
	id := pathID(r)
	adminAnswer(w, http.StatusOK, "visitorId", id, s.removeVisitor(id))
}

func (s *Sim) adminVisitorAction(w http.ResponseWriter, r *http.Request) {
	var in struct {
		Action string `json:"action"`
	}
	if err := decodeBody(r, &in); err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	id := pathID(r)
	adminAnswer(w, http.StatusOK, "visitorId", id, s.visitorAction(id, in.Action))
}
