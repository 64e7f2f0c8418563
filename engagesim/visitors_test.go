package engagesim

import (
	"fmt"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestVisitorLifecycle(t *testing.T) {
	h := newHarness(t, Config{})
	r := h.api(http.MethodPost, "/visitor", ProductVisitor, map[string]any{
		"firstName": "Katherine", "lastName": "Johnson", "visitorCompany": "NASA",
		"hostData": map[string]any{"hostEmailAddress": "ALAN.turing@example.com"}, "locationId": locSydney,
		"arrivalDate": "2026-03-23 09:30", "passType": 1, "notifyByEmail": true, "purposeOfVisit": "Interview", "floorNumber": 5,
		"email": "kj@example.org",
	})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	id := int(r.obj(t)["visitorId"].(float64))

	r = h.api(http.MethodGet, "/visitor?visitDate=2026-03-23&locationId=42", ProductVisitor, nil)
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	assert.JSONEq(t, fmt.Sprintf(`{"visitors":[{"visitorId":%d,"firstName":"Katherine","lastName":"Johnson","visitorCompany":"NASA","email":"kj@example.org",
		"arrivalDate":"2026-03-23T09:30:00","departureDate":"0001-01-01T00:00:00","status":0,"hostId":1002,"hostName":"Alan Turing",
		"hostEmail":"alan.turing@example.com","locationId":42,"floorNumber":5,"roomId":0,"meetingName":"","bookingId":0}],"TotalRecords":1}`, id), string(r.body))

	put := func(body any) reply {
		return h.api(http.MethodPut, fmt.Sprintf("/visitor/%d", id), ProductVisitor, body)
	}
	r = put(map[string]any{"visitorCompany": "JPL", "bookingId": bookingA})
	require.Equal(t, http.StatusOK, r.status, string(r.body))
	m := r.obj(t)
	assert.Equal(t, "JPL", m["visitorCompany"])
	assert.Equal(t, float64(roomA), m["roomId"])
	assert.Equal(t, "Weekly sync", m["meetingName"])
	assert.Equal(t, float64(locLondon), m["locationId"], "the booking's room decides the location")

	steps := []struct {
		action string
		status int
		want   float64
	}{
		{"depart", 400, 0}, {"arrive", 200, 1}, {"arrive", 400, 1}, {"depart", 200, 2}, {"undepart", 200, 1}, {"unarrive", 200, 0}, {"fly", 400, 0},
	}
	for _, s := range steps {
		r = put(map[string]any{"action": s.action})
		require.Equal(t, s.status, r.status, s.action+": "+string(r.body))
		if s.status == 200 {
			assert.Equal(t, s.want, r.obj(t)["status"], s.action)
		}
	}

	r = h.api(http.MethodDelete, fmt.Sprintf("/visitor/%d", id), ProductVisitor, nil)
	require.Equal(t, http.StatusOK, r.status)
	requireMessage(t, h.api(http.MethodDelete, fmt.Sprintf("/visitor/%d", id), ProductVisitor, nil), 404, msgVisitorNotFound)
	requireMessage(t, put(map[string]any{"action": "arrive"}), 404, msgVisitorNotFound)
}

func TestVisitorValidation(t *testing.T) {
	h := newHarness(t, Config{})
	base := func(over map[string]any) map[string]any {
		m := map[string]any{"firstName": "A", "lastName": "B", "locationId": locLondon, "arrivalDate": "2026-03-21 09:00"}
		for k, v := range over {
			m[k] = v
		}
		return m
	}
	tests := []struct {
		name   string
		body   any
		status int
		text   string
	}{
		{"today is fine", base(map[string]any{"arrivalDate": "2026-03-20 18:00"}), 201, ""},
		{"today+13 is fine", base(map[string]any{"arrivalDate": "2026-04-02 09:00"}), 201, ""},
		{"today+14 is not", base(map[string]any{"arrivalDate": "2026-04-03 09:00"}), 400, msgDateRange},
		{"yesterday is not", base(map[string]any{"arrivalDate": "2026-03-19 09:00"}), 400, msgDateRange},
		{"unknown location", base(map[string]any{"locationId": 5}), 404, msgLocationNotFound},
		{"unknown host", base(map[string]any{"hostData": map[string]any{"hostId": 5}}), 404, msgUserNotFound},
		{"unknown booking", base(map[string]any{"bookingId": 5}), 400, msgBookingNotFound},
		{"missing name", base(map[string]any{"firstName": ""}), 400, "firstName and lastName are required."},
		{"missing arrival", map[string]any{"firstName": "A", "lastName": "B", "locationId": locLondon}, 400, "arrivalDate is required."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.api(http.MethodPost, "/visitor", ProductVisitor, tt.body)
			if tt.text == "" {
				assert.Equal(t, tt.status, r.status, string(r.body))
				return
			}
			requireMessage(t, r, tt.status, tt.text)
		})
	}
}

func TestListVisitors(t *testing.T) {
	h := newHarness(t, Config{})
	count := func(query string) int {
		r := h.api(http.MethodGet, "/visitor?"+query, ProductVisitor, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var out struct {
			Visitors     []visitorJSON `json:"visitors"`
			TotalRecords int           `json:"TotalRecords"`
		}
		r.decode(t, &out)
		return len(out.Visitors)
	}
	for i := range 3 {
		r := h.api(http.MethodPost, "/visitor", ProductVisitor, map[string]any{"firstName": "V", "lastName": fmt.Sprint(i), "locationId": locLondon,
			"arrivalDate": fmt.Sprintf("2026-03-20 1%d:00", i+2), "visitorCompany": "Globex"})
		require.Equal(t, http.StatusCreated, r.status)
	}
	tests := []struct {
		query string
		n     int
	}{
		{"visitDate=2026-03-20", 4},
		{"VISITDATE=2026-03-20&locationId=41", 4},
		{"visitDate=2026-03-20&locationId=42", 0},
		{"visitDate=2026-03-20&countryId=1", 4},
		{"visitDate=2026-03-20&regionId=11", 0},
		{"visitDate=2026-03-20&visitorName=grace", 1},
		{"visitDate=2026-03-20&hostName=ada", 1},
		{"visitDate=2026-03-20&hostEmail=ADA.LOVELACE@example.com", 1},
		{"visitDate=2026-03-20&visitorCompany=glob", 3},
		{"visitDate=2026-03-20&meetingName=weekly", 1},
		{"visitDate=2026-03-20&roomId=2001", 1},
		{"visitDate=2026-03-20&floorNumber=13", 1},
		{"visitDate=2026-03-20&status=1", 0},
		{"visitDate=2026-03-20&pageNumber=2&pageSize=3", 1},
		{"visitDate=2026-03-20&pageNumber=1&pageSize=3", 3},
		{"visitDate=2026-03-21", 0},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) { assert.Equal(t, tt.n, count(tt.query)) })
	}
	r := h.api(http.MethodGet, "/visitor?visitDate=2026-03-20&pageNumber=2&pageSize=3", ProductVisitor, nil)
	assert.Equal(t, float64(4), r.obj(t)["TotalRecords"])
	requireMessage(t, h.api(http.MethodGet, "/visitor?visitDate=2026-04-03", ProductVisitor, nil), 400, msgDateRange)
	requireMessage(t, h.api(http.MethodGet, "/visitor?visitDate=2026-03-19", ProductVisitor, nil), 400, msgDateRange)
	requireMessage(t, h.api(http.MethodGet, "/visitor", ProductVisitor, nil), 400, "visitDate is required.")
	// At 14:00 UTC Sydney's today is already 2026-03-21 (01:00 local) while London's is not, so
	// 2026-04-03 is within Sydney's window only.
	h.admin(http.MethodPost, "/_sim/clock", map[string]any{"advance": "4h"})
	assert.Equal(t, 0, count("visitDate=2026-04-03&locationId=42"))
	requireMessage(t, h.api(http.MethodGet, "/visitor?visitDate=2026-04-03&locationId=41", ProductVisitor, nil), 400, msgDateRange)
}

func TestCostCodesAndVendors(t *testing.T) {
	h := newHarness(t, Config{})
	r := h.api(http.MethodPost, "/costcodes", ProductCostCode, []map[string]any{{"code": "LON-200", "description": "Marketing", "locationId": locLondon, "isActive": true},
		{"Code": "LON-300", "LocationID": locLondon}})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	assert.JSONEq(t, `[{"costCodeId":702,"code":"LON-200","description":"Marketing","locationId":41,"isActive":true},
		{"costCodeId":703,"code":"LON-300","description":"","locationId":41,"isActive":true}]`, string(r.body))
	r = h.api(http.MethodGet, "/costcodes?locationId=41", ProductCostCode, nil)
	require.Equal(t, http.StatusOK, r.status)
	var ccs []costCodeJSON
	r.decode(t, &ccs)
	assert.Len(t, ccs, 3)
	assert.JSONEq(t, `[]`, string(h.api(http.MethodGet, "/costcodes?locationId=42", ProductCostCode, nil).body))
	requireMessage(t, h.api(http.MethodPost, "/costcodes", ProductCostCode, []map[string]any{{"code": "X", "locationId": 9}}), 404, msgLocationNotFound)
	requireMessage(t, h.api(http.MethodPost, "/costcodes", ProductCostCode, []map[string]any{{"locationId": 41}}), 400, "code is required.")
	requireMessage(t, h.api(http.MethodGet, "/costcodes?locationId=9", ProductCostCode, nil), 404, msgLocationNotFound)

	r = h.api(http.MethodGet, "/vendorservices?locationId=41", ProductVendorServices, nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.JSONEq(t, `[{"vendorId":61,"name":"UK Catering","services":[{"serviceId":801,"name":"Coffee and tea","price":4.5,"currency":"GBP"}]}]`, string(r.body))
	assert.JSONEq(t, `[]`, string(h.api(http.MethodGet, "/vendorservices?locationId=42", ProductVendorServices, nil).body))

	r = h.api(http.MethodPost, "/vendorservices/orders", ProductVendorServices, map[string]any{"bookingId": bookingA, "serviceId": 801, "quantity": 6, "userId": userAda})
	require.Equal(t, http.StatusCreated, r.status, string(r.body))
	assert.JSONEq(t, `{"orderId":1}`, string(r.body))
	r = h.api(http.MethodGet, "/vendorservices/orders?bookingId=100001", ProductVendorServices, nil)
	assert.JSONEq(t, `[{"orderId":1,"bookingId":100001,"serviceId":801,"quantity":6,"status":0}]`, string(r.body))
	requireMessage(t, h.api(http.MethodPost, "/vendorservices/orders", ProductVendorServices, map[string]any{"bookingId": 5, "serviceId": 801, "quantity": 1}), 400, msgBookingNotFound)
	requireMessage(t, h.api(http.MethodPost, "/vendorservices/orders", ProductVendorServices, map[string]any{"bookingId": bookingA, "serviceId": 5, "quantity": 1}), 404, msgServiceNotFound)
	requireMessage(t, h.api(http.MethodPost, "/vendorservices/orders", ProductVendorServices, map[string]any{"bookingId": bookingA, "serviceId": 801}), 400, msgQuantity)
	requireMessage(t, h.api(http.MethodGet, "/vendorservices/orders?bookingId=5", ProductVendorServices, nil), 400, msgBookingNotFound)
}
