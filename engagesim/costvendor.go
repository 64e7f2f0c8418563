package engagesim

// This file serves the CostCode and VendorServices products.

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"slices"
)

type costCodeJSON struct {
	CostCodeID  int    `json:"costCodeId"`
	Code        string `json:"code"`
	Description string `json:"description"`
	LocationID  int    `json:"locationId"`
	IsActive    bool   `json:"isActive"`
}

type costCodeBody struct {
	Code        string    `json:"code"`
	Description string    `json:"description"`
	LocationID  flexInt   `json:"locationId"`
	IsActive    *flexBool `json:"isActive"`
}

// postCostCodes is POST /costcodes: a list (a single object is accepted too); all or none are
// created, and the answer is the created cost codes [X].
func (s *Sim) postCostCodes(w http.ResponseWriter, r *http.Request, _ string) {
	data, err := io.ReadAll(io.LimitReader(r.Body, 8<<20))
	if err != nil {
		answer(w, 0, nil, badRequest(msgBadJSON))
		return
	}
	data = bytes.TrimSpace(data)
	var in []costCodeBody
	if len(data) > 0 && data[0] == '{' {
		var one costCodeBody
		err = json.Unmarshal(data, &one)
		in = []costCodeBody{one}
	} else {
		err = json.Unmarshal(data, &in)
	}
	if err != nil || len(in) == 0 {
		answer(w, 0, nil, badRequest(msgBadJSON))
		return
	}
	s.mu.Lock()
	for _, c := range in {
		if c.Code == "" {
			s.mu.Unlock()
			answer(w, 0, nil, badRequest("code is required."))
			return
		}
		if s.st.locations[int(c.LocationID)] == nil {
			s.mu.Unlock()
			answer(w, 0, nil, fail(http.StatusNotFound, msgLocationNotFound))
			return
		}
	}
	out := []costCodeJSON{}
	for _, c := range in {
		s.st.nextCostCode++
		active := c.IsActive == nil || bool(*c.IsActive)
		cc := &CostCode{ID: s.st.nextCostCode, Code: c.Code, Description: c.Description, LocationID: int(c.LocationID), IsActive: active}
		s.st.costCodes = append(s.st.costCodes, cc)
		out = append(out, costCodeJSON{cc.ID, cc.Code, cc.Description, cc.LocationID, cc.IsActive})
	}
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, out)
}

func (s *Sim) getCostCodes(w http.ResponseWriter, r *http.Request, _ string) {
	lid, err := queryOf(r).optInt("locationId")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if lid != 0 && s.st.locations[lid] == nil {
		answer(w, 0, nil, fail(http.StatusNotFound, msgLocationNotFound))
		return
	}
	out := []costCodeJSON{}
	for _, c := range s.st.costCodes {
		if lid == 0 || c.LocationID == lid {
			out = append(out, costCodeJSON{c.ID, c.Code, c.Description, c.LocationID, c.IsActive})
		}
	}
	writeJSON(w, http.StatusOK, out)
}

type serviceJSON struct {
	ServiceID int     `json:"serviceId"`
	Name      string  `json:"name"`
	Price     float64 `json:"price"`
	Currency  string  `json:"currency"`
}

type vendorJSON struct {
	VendorID int           `json:"vendorId"`
	Name     string        `json:"name"`
	Services []serviceJSON `json:"services"`
}

func (s *Sim) getVendorServices(w http.ResponseWriter, r *http.Request, _ string) {
	lid, err := queryOf(r).optInt("locationId")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if lid != 0 && s.st.locations[lid] == nil {
		answer(w, 0, nil, fail(http.StatusNotFound, msgLocationNotFound))
		return
	}
	out := []vendorJSON{}
	for _, v := range s.st.vendors {
		if lid != 0 && !slices.Contains(v.LocationIDs, lid) {
			continue
		}
		vj := vendorJSON{VendorID: v.ID, Name: v.Name, Services: []serviceJSON{}}
		for _, sv := range v.Services {
			vj.Services = append(vj.Services, serviceJSON{sv.ID, sv.Name, sv.Price, sv.Currency})
		}
		out = append(out, vj)
	}
	writeJSON(w, http.StatusOK, out)
}

type orderJSON struct {
	OrderID   int `json:"orderId"`
	BookingID int `json:"bookingId"`
	ServiceID int `json:"serviceId"`
	Quantity  int `json:"quantity"`
	Status    int `json:"status"`
}

func (s *Sim) postOrder(w http.ResponseWriter, r *http.Request, _ string) {
	var in struct {
		BookingID flexInt `json:"bookingId"`
		ServiceID flexInt `json:"serviceId"`
		Quantity  flexInt `json:"quantity"`
		UserID    flexInt `json:"userId"`
	}
	if err := decodeBody(r, &in); err != nil {
		answer(w, 0, nil, err)
		return
	}
	s.mu.Lock()
	var aerr *apiError
	var id int
	switch {
	case s.st.bookings[int(in.BookingID)] == nil:
		aerr = badRequest(msgBookingNotFound)
	case s.st.services[int(in.ServiceID)] == nil:
		aerr = fail(http.StatusNotFound, msgServiceNotFound)
	case in.Quantity <= 0:
		aerr = badRequest(msgQuantity)
	default:
		id = s.st.nextOrder
		s.st.nextOrder++
		s.st.orders[id] = &order{ID: id, BookingID: int(in.BookingID), ServiceID: int(in.ServiceID), Quantity: int(in.Quantity), UserID: int(in.UserID), Status: orderPlaced}
	}
	s.mu.Unlock()
	answer(w, http.StatusCreated, struct {
		OrderID int `json:"orderId"`
	}{id}, aerr)
}

func (s *Sim) getOrders(w http.ResponseWriter, r *http.Request, _ string) {
	bid, err := queryOf(r).reqInt("bookingId")
	if err != nil {
		answer(w, 0, nil, err)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.st.bookings[bid] == nil {
		answer(w, 0, nil, badRequest(msgBookingNotFound))
		return
	}
	out := []orderJSON{}
	for _, o := range s.st.orders {
		if o.BookingID == bid {
			out = append(out, orderJSON{o.ID, o.BookingID, o.ServiceID, o.Quantity, o.Status})
		}
	}
	slices.SortFunc(out, func(a, b orderJSON) int { return a.OrderID - b.OrderID })
	writeJSON(w, http.StatusOK, out)
}
