package engage

// Visitors, of the Visitor product. A visitor's times are local to its
// location and come without a zone or a UTC twin, so they are placed with
// the client's location zone cache.

import (
	"context"
	"net/http"
	"net/url"
	"strconv"

	"github.com/engagegql/gateway/workplace"
)

type wireVisitor struct {
	VisitorID      flexInt  `json:"visitorId"`
	FirstName      string   `json:"firstName"`
	LastName       string   `json:"lastName"`
	VisitorCompany string   `json:"visitorCompany"`
	Email          string   `json:"email"`
	ArrivalDate    wireTime `json:"arrivalDate"`
	DepartureDate  wireTime `json:"departureDate"`
	Status         flexInt  `json:"status"`
	HostID         flexInt  `json:"hostId"`
	HostName       string   `json:"hostName"`
	HostEmail      string   `json:"hostEmail"`
	LocationID     flexInt  `json:"locationId"`
	FloorNumber    flexInt  `json:"floorNumber"`
	RoomID         flexInt  `json:"roomId"`
	MeetingName    string   `json:"meetingName"`
	BookingID      flexInt  `json:"bookingId"`
}

func (c *Client) visitor(ctx context.Context, route string, w wireVisitor) (workplace.Visitor, error) {
	loc, err := c.locZones.zone(ctx, workplace.LocationID(w.LocationID))
	if err != nil {
		return workplace.Visitor{}, err
	}
	v := workplace.Visitor{
		ID: workplace.VisitorID(w.VisitorID), FirstName: w.FirstName, LastName: w.LastName,
		Company: w.VisitorCompany, Email: w.Email, Status: workplace.VisitorStatus(w.Status),
		Host:       workplace.Person{ID: workplace.UserID(w.HostID), Name: w.HostName, Email: w.HostEmail},
		LocationID: workplace.LocationID(w.LocationID), Floor: int(w.FloorNumber), RoomID: workplace.RoomID(w.RoomID),
		MeetingName: w.MeetingName, BookingID: workplace.BookingID(w.BookingID),
	}
	if v.Arrival, err = w.ArrivalDate.in(loc); err == nil {
		v.Departure, err = w.DepartureDate.in(loc)
	}
	if err != nil {
		return workplace.Visitor{}, &Error{Product: ProductVisitor, Method: http.MethodGet, Route: route, Message: err.Error(), kind: kindDecode}
	}
	return v, nil
}

// Visitors implements workplace.Visitors. visitDate must fall within the
// location's next 14 days; the upstream enforces that.
func (c *Client) Visitors(ctx context.Context, vq workplace.VisitorQuery) (workplace.VisitorPage, error) {
	if vq.Date.IsZero() {
		return workplace.VisitorPage{}, workplace.Errorf(workplace.EINVALID, "Visitors are listed by visit date; the date is required.")
	}
	q := url.Values{"visitDate": {vq.Date.String()}}
	if vq.Status != nil {
		q.Set("status", strconv.Itoa(int(*vq.Status)))
	}
	idParam(q, "countryId", vq.CountryID)
	idParam(q, "regionId", vq.RegionID)
	idParam(q, "locationId", vq.LocationID)
	if vq.Floor != nil {
		q.Set("floorNumber", strconv.Itoa(*vq.Floor))
	}
	idParam(q, "roomId", vq.RoomID)
	if vq.HostEmail != "" {
		q.Set("hostEmail", vq.HostEmail)
	}
	if vq.PageNumber > 0 {
		q.Set("pageNumber", strconv.Itoa(vq.PageNumber))
	}
	if vq.PageSize > 0 {
		q.Set("pageSize", strconv.Itoa(vq.PageSize))
	}
	var resp struct {
		Visitors     []wireVisitor `json:"visitors"`
		TotalRecords *flexInt      `json:"TotalRecords"`
	}
	if err := c.do(ctx, get(ProductVisitor, "/visitor", "/visitor", q), &resp); err != nil {
		return workplace.VisitorPage{}, err
	}
	page := workplace.VisitorPage{Visitors: make([]workplace.Visitor, 0, len(resp.Visitors)), Total: len(resp.Visitors)}
	if resp.TotalRecords != nil {
		page.Total = int(*resp.TotalRecords)
	}
	for _, w := range resp.Visitors {
		v, err := c.visitor(ctx, "/visitor", w)
		if err != nil {
			return workplace.VisitorPage{}, err
		}
		page.Visitors = append(page.Visitors, v)
	}
	return page, nil
}

type wireHostData struct {
	HostID           int64  `json:"hostId,omitempty"`
	HostEmailAddress string `json:"hostEmailAddress,omitempty"`
}

type wireNewVisitor struct {
	FirstName      string       `json:"firstName"`
	LastName       string       `json:"lastName"`
	VisitorCompany string       `json:"visitorCompany"`
	Email          string       `json:"email,omitempty"`
	HostData       wireHostData `json:"hostData"`
	LocationID     int64        `json:"locationId,omitempty"`
	ArrivalDate    string       `json:"arrivalDate,omitempty"`
	// The upstream never returns these three, so an update cannot know
	// their values to send them back: they are sent on registration only
	// (see UpdateVisitor), and omitted when nil.
	PassType       *int    `json:"passType,omitempty"`
	NotifyByEmail  *bool   `json:"notifyByEmail,omitempty"`
	PurposeOfVisit *string `json:"purposeOfVisit,omitempty"`
	FloorNumber    int     `json:"floorNumber"`
	BookingID      int64   `json:"bookingId,omitempty"`
}

// wireNewVisitorOf encodes a visitor's details. The arrival is sent in UTC
// with isUTCDateTime=true, like every other request time.
func wireNewVisitorOf(v workplace.NewVisitor) wireNewVisitor {
	w := wireNewVisitor{
		FirstName: v.FirstName, LastName: v.LastName, VisitorCompany: v.Company, Email: v.Email,
		HostData:   wireHostData{HostID: int64(v.HostID), HostEmailAddress: v.HostEmail},
		LocationID: int64(v.LocationID), PassType: &v.PassType, NotifyByEmail: &v.NotifyByEmail,
		PurposeOfVisit: &v.PurposeOfVisit, FloorNumber: v.Floor, BookingID: int64(v.BookingID),
	}
	if !v.Arrival.IsZero() {
		w.ArrivalDate = utcParam(v.Arrival)
	}
	return w
}

// wireVisitorUpdateOf encodes the body of PUT /visitor/{id}: the
// registration's fields but the pass type, the e-mail notice and the purpose
// of the visit, so an update does not overwrite what the visitor was
// registered with. [X] The update is taken to leave absent fields as they
// are.
func wireVisitorUpdateOf(v workplace.NewVisitor) wireNewVisitor {
	w := wireNewVisitorOf(v)
	w.PassType, w.NotifyByEmail, w.PurposeOfVisit = nil, nil, nil
	return w
}

func visitorPath(id workplace.VisitorID) string {
	return "/visitor/" + strconv.FormatInt(int64(id), 10)
}

// RegisterVisitor implements workplace.Visitors.
func (c *Client) RegisterVisitor(ctx context.Context, v workplace.NewVisitor) (workplace.VisitorID, error) {
	var resp struct {
		VisitorID flexInt `json:"visitorId"`
	}
	if err := c.do(ctx, send(ProductVisitor, http.MethodPost, "/visitor", "/visitor", utcQuery(), wireNewVisitorOf(v)), &resp); err != nil {
		return 0, err
	}
	return workplace.VisitorID(resp.VisitorID), nil
}

// UpdateVisitor implements workplace.Visitors: the details replace the
// visitor's, except the pass type, the e-mail notice and the purpose of the
// visit, which keep what the visitor was registered with (v's values for
// them are ignored; see wireVisitorUpdateOf).
func (c *Client) UpdateVisitor(ctx context.Context, id workplace.VisitorID, v workplace.NewVisitor) (workplace.Visitor, error) {
	var w wireVisitor
	if err := c.do(ctx, send(ProductVisitor, http.MethodPut, "/visitor/{id}", visitorPath(id), utcQuery(), wireVisitorUpdateOf(v)), &w); err != nil {
		return workplace.Visitor{}, err
	}
	return c.visitor(ctx, "/visitor/{id}", w)
}

// SetVisitorStatus implements workplace.Visitors with PUT {"action":...} [X].
func (c *Client) SetVisitorStatus(ctx context.Context, id workplace.VisitorID, action workplace.VisitorAction) (workplace.Visitor, error) {
	switch action {
	case workplace.VisitorArrive, workplace.VisitorUnarrive, workplace.VisitorDepart, workplace.VisitorUndepart:
	default:
		return workplace.Visitor{}, workplace.Errorf(workplace.EINVALID, "Unknown visitor action %q.", string(action))
	}
	body := struct {
		Action string `json:"action"`
	}{string(action)}
	var w wireVisitor
	if err := c.do(ctx, send(ProductVisitor, http.MethodPut, "/visitor/{id}", visitorPath(id), nil, body), &w); err != nil {
		return workplace.Visitor{}, err
	}
	return c.visitor(ctx, "/visitor/{id}", w)
}

// CancelVisitor implements workplace.Visitors.
func (c *Client) CancelVisitor(ctx context.Context, id workplace.VisitorID) error {
	return c.do(ctx, request{product: ProductVisitor, method: http.MethodDelete, route: "/visitor/{id}", path: visitorPath(id)}, nil)
}
