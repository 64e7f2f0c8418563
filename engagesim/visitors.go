package engagesim

// This file serves the Visitor product: registering, listing (one date within the next 14 days),
// editing, arrival and departure, and deleting visitors.

import (
	"cmp"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"
)

type hostData struct {
	HostID           flexInt `json:"hostId"`
	HostEmailAddress string  `json:"hostEmailAddress"`
}

// visitorBody is POST /visitor [C] plus bookingId, email and departureDate [X]; PUT takes any
// subset of it, or an action.
type visitorBody struct {
	FirstName      *string   `json:"firstName"`
	LastName       *string   `json:"lastName"`
	VisitorCompany *string   `json:"visitorCompany"`
	HostData       *hostData `json:"hostData"`
	LocationID     *flexInt  `json:"locationId"`
	ArrivalDate    *string   `json:"arrivalDate"`
	DepartureDate  *string   `json:"departureDate"`
	PassType       *flexInt  `json:"passType"`
	NotifyByEmail  *flexBool `json:"notifyByEmail"`
	PurposeOfVisit *string   `json:"purposeOfVisit"`
	FloorNumber    *flexInt  `json:"floorNumber"`
	BookingID      *flexInt  `json:"bookingId"`
	Email          *string   `json:"email"`
	Action         string    `json:"action"`
}

type visitorJSON struct {
	VisitorID      int    `json:"visitorId"`
	FirstName      string `json:"firstName"`
	LastName       string `json:"lastName"`
	VisitorCompany string `json:"visitorCompany"`
	Email          string `json:"email"`
	ArrivalDate    string `json:"arrivalDate"`
	DepartureDate  string `json:"departureDate"`
	Status         int    `json:"status"`
	HostID         int    `json:"hostId"`
	HostName       string `json:"hostName"`
	HostEmail      string `json:"hostEmail"`
	LocationID     int    `json:"locationId"`
	FloorNumber    int    `json:"floorNumber"`
	RoomID         int    `json:"roomId"`
	MeetingName    string `json:"meetingName"`
	BookingID      int    `json:"bookingId"`
}

func (st *store) visitorView(v *Visitor) visitorJSON {
	tz := time.UTC
	if l := st.locations[v.LocationID]; l != nil {
		tz = l.tz
	}
	name, email := st.userName(v.HostID)
	return visitorJSON{VisitorID: v.ID, FirstName: v.FirstName, LastName: v.LastName, VisitorCompany: v.Company, Email: v.Email,
		ArrivalDate: fmtLocal(v.Arrival, tz), DepartureDate: fmtLocal(v.Departure, tz), Status: v.Status, HostID: v.HostID,
		HostName: name, HostEmail: email, LocationID: v.LocationID, FloorNumber: v.FloorNumber, RoomID: v.RoomID,
		MeetingName: v.MeetingName, BookingID: v.BookingID}
}

func (st *store) visitorEvent(v *Visitor, action int) event {
	tz := time.UTC
	if l := st.locations[v.LocationID]; l != nil {
		tz = l.tz
	}
	return event{typ: eventVisitor, resource: v.RoomID, item: visitorChange{VisitorId: v.ID, BookingId: v.BookingID,
		LocationId: v.LocationID, VisitDate: fmtLocal(v.Arrival, tz), VisitorAction: action}}
}

// inVisitWindow reports whether a local date lies within today … today+13 at the location.
func inVisitWindow(date time.Time, now time.Time, tz *time.Location) bool {
	y, m, d := now.In(tz).Date()
	today := time.Date(y, m, d, 0, 0, 0, 0, time.UTC)
	return !date.Before(today) && !date.After(today.AddDate(0, 0, maxWindowDays-1))
}

// applyVisitor applies the present fields of in to v, checking references and the date window.
func (st *store) applyVisitor(v *Visitor, in visitorBody, utc bool, now time.Time) *apiError {
	set := func(dst *string, src *string) {
		if src != nil {
			*dst = strings.TrimSpace(*src)
		}
	}
	set(&v.FirstName, in.FirstName)
	set(&v.LastName, in.LastName)
	set(&v.Company, in.VisitorCompany)
	set(&v.Email, in.Email)
	set(&v.Purpose, in.PurposeOfVisit)
	if in.PassType != nil {
		v.PassType = int(*in.PassType)
	}
	if in.NotifyByEmail != nil {
		v.NotifyByEmail = bool(*in.NotifyByEmail)
	}
	if in.HostData != nil {
		switch {
		case in.HostData.HostID != 0:
			if st.users[int(in.HostData.HostID)] == nil {
				return fail(http.StatusNotFound, msgUserNotFound)
			}
			v.HostID = int(in.HostData.HostID)
		case in.HostData.HostEmailAddress != "":
			u := st.userByEmail(in.HostData.HostEmailAddress)
			if u == nil {
				return fail(http.StatusNotFound, msgUserNotFound)
			}
			v.HostID = u.ID
		}
	}
	if in.BookingID != nil {
		v.BookingID, v.RoomID, v.MeetingName = int(*in.BookingID), 0, ""
		if v.BookingID != 0 {
			b := st.bookings[v.BookingID]
			if b == nil {
				return badRequest(msgBookingNotFound)
			}
			room := st.resources[b.RoomID]
			v.RoomID, v.MeetingName, v.LocationID, v.FloorNumber = room.ID, b.Title, room.LocationID, room.FloorNumber
		}
	}
	if in.LocationID != nil {
		v.LocationID = int(*in.LocationID)
	}
	if in.FloorNumber != nil {
		v.FloorNumber = int(*in.FloorNumber)
	}
	loc := st.locations[v.LocationID]
	if loc == nil {
		return fail(http.StatusNotFound, msgLocationNotFound)
	}
	if in.ArrivalDate != nil {
		t, err := parseDateTime(*in.ArrivalDate, loc.tz, utc)
		if err != nil {
			return err
		}
		day, _ := time.Parse(dateLayout, t.In(loc.tz).Format(dateLayout))
		if !inVisitWindow(day, now, loc.tz) {
			return badRequest(msgDateRange)
		}
		v.Arrival = t.UTC()
	}
	if in.DepartureDate != nil {
		t, err := parseDateTime(*in.DepartureDate, loc.tz, utc)
		if err != nil {
			return err
		}
		v.Departure = t.UTC()
	}
	if v.FirstName == "" || v.LastName == "" {
		return badRequest("firstName and lastName are required.")
	}
	if v.Arrival.IsZero() {
		return badRequest("arrivalDate is required.")
	}
	return nil
}

func (s *Sim) createVisitor(in visitorBody, utc bool) (int, *apiError) {
	var id int
	err := s.change(func(st *store, now time.Time) ([]event, *apiError) {
		v := &Visitor{Status: visitorExpect}
		if err := st.applyVisitor(v, in, utc, now); err != nil {
			return nil, err
		}
		st.nextVisitor++
		v.ID = st.nextVisitor
		st.putVisitor(v)
		id = v.ID
		return []event{st.visitorEvent(v, visitorCreated)}, nil
	})
	return id, err
}

func (s *Sim) updateVisitor(id int, in visitorBody, utc bool) *apiError {
	if in.Action != "" {
		return s.visitorAction(id, in.Action)
	}
	return s.change(func(st *store, now time.Time) ([]event, *apiError) {
		v := st.visitors[id]
		if v == nil {
			return nil, fail(http.StatusNotFound, msgVisitorNotFound)
		}
		c := *v
		if err := st.applyVisitor(&c, in, utc, now); err != nil {
			return nil, err
		}
		st.dropVisitor(v)
		*v = c
		st.putVisitor(v)
		return []event{st.visitorEvent(v, visitorUpdated)}, nil
	})
}

// visitorAction moves a visitor through expected → arrived → departed and back.
func (s *Sim) visitorAction(id int, action string) *apiError {
	return s.change(func(st *store, now time.Time) ([]event, *apiError) {
		v := st.visitors[id]
		if v == nil {
			return nil, fail(http.StatusNotFound, msgVisitorNotFound)
		}
		type step struct{ from, to, event int }
		steps := map[string]step{
			"arrive":   {visitorExpect, visitorArrived, visitorArrive},
			"unarrive": {visitorArrived, visitorExpect, visitorUnarrive},
			"depart":   {visitorArrived, visitorLeft, visitorDepart},
			"undepart": {visitorLeft, visitorArrived, visitorUndepartEv},
		}
		st1, ok := steps[strings.ToLower(strings.TrimSpace(action))]
		if !ok {
			return nil, badRequest(msgUnknownAction)
		}
		if v.Status != st1.from {
			return nil, badRequest(msgVisitorTransition)
		}
		v.Status = st1.to
		switch st1.event {
		case visitorDepart:
			v.Departure = now.UTC()
		case visitorUndepartEv:
			v.Departure = time.Time{}
		}
		return []event{st.visitorEvent(v, st1.event)}, nil
	})
}

func (s *Sim) removeVisitor(id int) *apiError {
	return s.change(func(st *store, _ time.Time) ([]event, *apiError) {
		v := st.visitors[id]
		if v == nil {
			return nil, fail(http.StatusNotFound, msgVisitorNotFound)
		}
		st.dropVisitor(v)
		return []event{st.visitorEvent(v, visitorDeleted)}, nil
	})
}

// Handlers.

func (s *Sim) postVisitor(w http.ResponseWriter, r *http.Request, _ string) {
	var in visitorBody
	if err := decodeBody(r, &in); err != nil {
		answer(w, 0, nil, err)
		return
	}
	if in.LocationID == nil && in.BookingID == nil {
		answer(w, 0, nil, badRequest("locationId is required."))
		return
	}
	id, err := s.createVisitor(in, queryOf(r).utc())
	answer(w, http.StatusCreated, struct {
		VisitorID int `json:"visitorId"`
	}{id}, err)
}

func (s *Sim) getVisitors(w http.ResponseWriter, r *http.Request, _ string) {
	q := queryOf(r)
	if q.str("visitDate") == "" {
		answer(w, 0, nil, badRequest("visitDate is required."))
		return
	}
	day, err := parseDate(q.str("visitDate"))
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	var filters [6]int
	for i, name := range []string{"status", "countryId", "regionId", "locationId", "floorNumber", "roomId"} {
		if filters[i], err = q.optInt(name); err != nil {
			answer(w, 0, nil, err)
			return
		}
	}
	has := func(name string) bool { return q.str(name) != "" }
	contains := func(field, name string) bool {
		want := lowerTrim(q.str(name))
		return want == "" || strings.Contains(strings.ToLower(field), want)
	}
	now := s.now()
	date := day.Format(dateLayout)
	s.mu.RLock()
	inWindow := false
	for _, id := range s.st.locOrder {
		l := s.st.locations[id]
		if (filters[3] == 0 || l.ID == filters[3]) && inVisitWindow(day, now, l.tz) {
			inWindow = true
		}
	}
	if !inWindow {
		s.mu.RUnlock()
		answer(w, 0, nil, badRequest(msgDateRange))
		return
	}
	// Only the asked location's (or every location's) visitors of that local date can match.
	locs := s.st.locOrder
	if filters[3] != 0 {
		locs = []int{filters[3]}
	}
	var found []*Visitor
	for _, lid := range locs {
		for _, v := range s.st.visitorsOn[visitDay{loc: lid, date: date}] {
			found = append(found, v)
		}
	}
	slices.SortFunc(found, func(a, b *Visitor) int { return cmp.Compare(a.ID, b.ID) })
	all := []visitorJSON{}
	for _, v := range found {
		loc := s.st.locations[v.LocationID]
		country, region := s.st.countryOf(v.LocationID), loc.RegionID
		if (has("status") && v.Status != filters[0]) || (filters[1] != 0 && country != filters[1]) ||
			(filters[2] != 0 && region != filters[2]) || (filters[3] != 0 && v.LocationID != filters[3]) ||
			(has("floorNumber") && v.FloorNumber != filters[4]) || (filters[5] != 0 && v.RoomID != filters[5]) {
			continue
		}
		view := s.st.visitorView(v)
		if !contains(view.FirstName+" "+view.LastName, "visitorName") || !contains(view.HostName, "hostName") ||
			!contains(view.VisitorCompany, "visitorCompany") || !contains(view.MeetingName, "meetingName") {
			continue
		}
		if e := q.str("hostEmail"); e != "" && !strings.EqualFold(e, view.HostEmail) {
			continue
		}
		if e := q.str("requestorEmail"); e != "" && !strings.EqualFold(e, view.HostEmail) {
			continue
		}
		all = append(all, view)
	}
	s.mu.RUnlock()
	slices.SortStableFunc(all, func(a, b visitorJSON) int { return strings.Compare(a.ArrivalDate, b.ArrivalDate) })
	paged, err := page(all, q)
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	writeJSON(w, http.StatusOK, struct {
		Visitors     []visitorJSON `json:"visitors"`
		TotalRecords int           `json:"TotalRecords"`
	}{paged, len(all)})
}

func (s *Sim) visitorOut(w http.ResponseWriter, id int) {
	s.mu.RLock()
	v := s.st.visitors[id]
	var out visitorJSON
	if v != nil {
		out = s.st.visitorView(v)
	}
	s.mu.RUnlock()
	if v == nil {
		answer(w, 0, nil, fail(http.StatusNotFound, msgVisitorNotFound))
		return
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *Sim) putVisitor(w http.ResponseWriter, r *http.Request, id string) {
	n, _ := strconv.Atoi(id)
	var in visitorBody
	if err := decodeBody(r, &in); err != nil {
		answer(w, 0, nil, err)
		return
	}
	if err := s.updateVisitor(n, in, queryOf(r).utc()); err != nil {
		answer(w, 0, nil, err)
		return
	}
	s.visitorOut(w, n)
}

func (s *Sim) deleteVisitor(w http.ResponseWriter, _ *http.Request, id string) {
	n, _ := strconv.Atoi(id)
	answer(w, http.StatusOK, message{msgSuccess}, s.removeVisitor(n))
}
