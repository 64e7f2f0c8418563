package engagesim

// This file serves desk bookings of the ExternalBookings product: available desks, booking one
// desk per date, listing, cancelling, check-in and release.

import (
	"net/http"
	"slices"
	"strconv"
	"time"
)

type dateItem struct {
	Date        string  `json:"date"`
	BookingType flexInt `json:"bookingType"`
}

// deskBookingBody is POST /deskBookings [C].
type deskBookingBody struct {
	UserID        flexInt    `json:"userId"`
	DeskID        flexInt    `json:"deskId"`
	BookingSource flexInt    `json:"bookingSource"`
	DateList      []dateItem `json:"dateList"`
}

type deskBookingJSON struct {
	BookingID          int    `json:"bookingID"`
	DeskID             int    `json:"deskID"`
	UserID             int    `json:"userId"`
	Date               string `json:"date"`
	BookingType        int    `json:"bookingType"`
	UntilFurtherNotice bool   `json:"untilFurtherNotice"`
	Status             int    `json:"status"`
}

func deskView(d *DeskBooking) deskBookingJSON {
	return deskBookingJSON{BookingID: d.ID, DeskID: d.DeskID, UserID: d.UserID, Date: d.Date + "T00:00:00",
		BookingType: d.BookingType, UntilFurtherNotice: d.UntilFurtherNotice, Status: d.Status}
}

func deskEvent(d *DeskBooking, action int) event {
	return event{typ: eventDesk, resource: d.DeskID, item: deskChange{Date: d.Date + "T00:00:00", BookingID: d.ID,
		ResourceItemID: d.DeskID, Action: action, UntilFurtherNotice: d.UntilFurtherNotice}}
}

func (st *store) desk(id int) (*Resource, *apiError) {
	r := st.resources[id]
	if r == nil || r.WorkspaceTypeID != workspaceDesk {
		return nil, fail(http.StatusNotFound, msgDeskNotFound)
	}
	return r, nil
}

// createDeskBookings books a desk on every listed date, all or none.
func (s *Sim) createDeskBookings(in deskBookingBody, source int) ([]int, *apiError) {
	var ids []int
	err := s.change(func(st *store, _ time.Time) ([]event, *apiError) {
		if _, err := st.desk(int(in.DeskID)); err != nil {
			return nil, err
		}
		if err := st.checkUser(int(in.UserID)); err != nil {
			return nil, err
		}
		if len(in.DateList) == 0 {
			return nil, badRequest("dateList is required.")
		}
		var dates []string
		for _, d := range in.DateList {
			day, err := parseDate(d.Date)
			if err != nil {
				return nil, err
			}
			if d.BookingType < 0 || d.BookingType > deskAllDay {
				return nil, badRequest("bookingType must be 1, 2 or 3.")
			}
			date := day.Format(dateLayout)
			if slices.Contains(dates, date) || st.liveDeskBooking(int(in.DeskID), date, 0) != nil {
				return nil, fail(http.StatusConflict, msgDeskNotAvailable)
			}
			dates = append(dates, date)
		}
		src := int(in.BookingSource)
		if src == 0 {
			src = source
		}
		var evs []event
		for i, date := range dates {
			st.nextDeskBooking++
			kind := int(in.DateList[i].BookingType)
			if kind == 0 {
				kind = deskAllDay
			}
			d := &DeskBooking{ID: st.nextDeskBooking, DeskID: int(in.DeskID), UserID: int(in.UserID), Date: date, BookingType: kind, Status: deskBooked, Source: src}
			st.putDeskBooking(d)
			ids = append(ids, d.ID)
			evs = append(evs, deskEvent(d, meetingUpdated))
		}
		return evs, nil
	})
	return ids, err
}

func (s *Sim) removeDeskBooking(id int) *apiError {
	return s.change(func(st *store, _ time.Time) ([]event, *apiError) {
		d := st.deskBookings[id]
		if d == nil {
			return nil, fail(http.StatusNotFound, msgDeskBookingNF)
		}
		st.dropDeskBooking(d)
		return []event{deskEvent(d, meetingDeleted)}, nil
	})
}

// progressDesk checks in (only on the booking's local date) or releases a desk booking.
func (s *Sim) progressDesk(id, action, source int) *apiError {
	return s.change(func(st *store, now time.Time) ([]event, *apiError) {
		d := st.deskBookings[id]
		if d == nil {
			return nil, fail(http.StatusNotFound, msgDeskBookingNF)
		}
		p := deskProgression{BookingId: d.ID, ResourceItemId: d.DeskID, UpdateTime: noValue, ActionSource: source}
		switch action {
		case deskActionCheckIn:
			today := now.In(st.locationOf(d.DeskID).tz).Format(dateLayout)
			if d.Status != deskBooked || d.Date != today {
				return nil, badRequest(msgCannotCheckIn)
			}
			d.Status, p.DeskProgressionAction = deskCheckedIn, deskProgCheckIn
		case deskActionRelease:
			if d.Status == deskReleased {
				return nil, badRequest(msgAlreadyReleased)
			}
			d.Status, p.DeskProgressionAction = deskReleased, deskProgRelease
		default:
			return nil, badRequest(msgUnknownAction)
		}
		return []event{{typ: eventDeskProgression, resource: d.DeskID, item: p}}, nil
	})
}

// Handlers.

type availableDesk struct {
	DeskID         int    `json:"deskID"`
	DeskName       string `json:"deskName"`
	DeskAttributes []int  `json:"deskAttributes"`
	FloorNumber    int    `json:"floorNumber"`
	GroupID        int    `json:"groupId"`
}

func (s *Sim) postAvailableDesks(w http.ResponseWriter, r *http.Request, _ string) {
	var in struct {
		UserID          flexInt    `json:"userID"`
		LocationID      flexInt    `json:"locationID"`
		GroupID         flexInt    `json:"groupID"`
		WorkSpaceTypeID flexInt    `json:"workSpaceTypeId"`
		DateList        []dateItem `json:"dateList"`
		PageNumber      flexInt    `json:"pageNumber"`
		PageSize        flexInt    `json:"pageSize"`
	}
	if err := decodeBody(r, &in); err != nil {
		answer(w, 0, nil, err)
		return
	}
	if len(in.DateList) == 0 {
		answer(w, 0, nil, badRequest("dateList is required."))
		return
	}
	var dates []string
	for _, d := range in.DateList {
		day, err := parseDate(d.Date)
		if err != nil {
			answer(w, 0, nil, err)
			return
		}
		dates = append(dates, day.Format(dateLayout))
	}
	s.mu.RLock()
	if s.st.locations[int(in.LocationID)] == nil {
		s.mu.RUnlock()
		answer(w, 0, nil, fail(http.StatusNotFound, msgLocationNotFound))
		return
	}
	all := []availableDesk{}
	for _, res := range s.st.sortedResources(workspaceDesk, int(in.LocationID)) {
		if in.GroupID != 0 && res.GroupID != int(in.GroupID) {
			continue
		}
		if slices.ContainsFunc(dates, func(d string) bool { return s.st.liveDeskBooking(res.ID, d, 0) != nil }) {
			continue
		}
		attrs := slices.Clone(res.Attributes)
		if attrs == nil {
			attrs = []int{}
		}
		all = append(all, availableDesk{DeskID: res.ID, DeskName: res.Name, DeskAttributes: attrs, FloorNumber: res.FloorNumber, GroupID: res.GroupID})
	}
	s.mu.RUnlock()
	writeJSON(w, http.StatusOK, struct {
		AvailableDesks []availableDesk `json:"availableDesks"`
		TotalRecords   int             `json:"TotalRecords"`
	}{pageBy(all, int(in.PageNumber), int(in.PageSize)), len(all)})
}

func (s *Sim) postDeskBookings(w http.ResponseWriter, r *http.Request, _ string) {
	var in deskBookingBody
	if err := decodeBody(r, &in); err != nil {
		answer(w, 0, nil, err)
		return
	}
	ids, err := s.createDeskBookings(in, sourceExternal)
	answer(w, http.StatusCreated, struct {
		BookingIDs []int `json:"bookingIds"`
	}{ids}, err)
}

func (s *Sim) getDeskBookings(w http.ResponseWriter, r *http.Request, _ string) {
	q := queryOf(r)
	deskID, err := q.reqInt("deskId")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	from, err := q.date("startDate")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	to, err := q.date("endDate")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	if err := checkWindow(from, to); err != nil {
		answer(w, 0, nil, err)
		return
	}
	first, last := from.Format(dateLayout), to.Format(dateLayout)
	s.mu.RLock()
	if _, err := s.st.desk(deskID); err != nil {
		s.mu.RUnlock()
		answer(w, 0, nil, err)
		return
	}
	out := []deskBookingJSON{}
	for _, d := range s.st.byDesk[deskID] {
		if d.Date >= first && d.Date <= last {
			out = append(out, deskView(d))
		}
	}
	s.mu.RUnlock()
	slices.SortFunc(out, func(a, b deskBookingJSON) int {
		if a.Date != b.Date {
			if a.Date < b.Date {
				return -1
			}
			return 1
		}
		return a.BookingID - b.BookingID
	})
	writeJSON(w, http.StatusOK, struct {
		DeskBookings []deskBookingJSON `json:"deskBookings"`
	}{out})
}

func (s *Sim) deleteDeskBooking(w http.ResponseWriter, r *http.Request, _ string) {
	var in struct {
		BookingID flexInt `json:"bookingId"`
		UserID    flexInt `json:"userId"`
		Date      string  `json:"date"`
	}
	if err := decodeBody(r, &in); err != nil {
		answer(w, 0, nil, err)
		return
	}
	answer(w, http.StatusOK, message{msgSuccess}, s.removeDeskBooking(int(in.BookingID)))
}

func (s *Sim) putDeskBooking(w http.ResponseWriter, r *http.Request, id string) {
	n, _ := strconv.Atoi(id)
	var in struct {
		UserID     flexInt `json:"userId"`
		ActionType flexInt `json:"actionType"`
	}
	if err := decodeBody(r, &in); err != nil {
		answer(w, 0, nil, err)
		return
	}
	if err := s.progressDesk(n, int(in.ActionType), sourceExternal); err != nil {
		answer(w, 0, nil, err)
		return
	}
	s.mu.RLock()
	d := s.st.deskBookings[n]
	var out deskBookingJSON
	if d != nil {
		out = deskView(d)
	}
	s.mu.RUnlock()
	if d == nil {
		answer(w, 0, nil, fail(http.StatusNotFound, msgDeskBookingNF))
		return
	}
	writeJSON(w, http.StatusOK, out)
}
