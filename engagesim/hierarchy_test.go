package engagesim

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// env is the HierarchyMapping envelope as a client decodes it.
type env struct {
	IsError      bool              `json:"IsError"`
	Data         []json.RawMessage `json:"Data"`
	Status       bool              `json:"Status"`
	Message      string            `json:"Message"`
	TotalRecords *int              `json:"TotalRecords"`
}

func TestHierarchyEnvelopeAndShapes(t *testing.T) {
	h := newHarness(t, Config{})
	tests := []struct {
		name  string
		path  string
		count int
		first string
	}{
		{"countries", "/countries", 3, `{"ResourceName":"United Kingdom","InternalId":1,"InternalParentId":0}`},
		{"regions by query", "/regions?countryId=2", 1, `{"ResourceName":"New South Wales","InternalId":11,"InternalParentId":2}`},
		{"regionsByParent", "/regionsByParent/3", 1, `{"ResourceName":"Singapore","InternalId":12,"InternalParentId":3}`},
		{"locations", "/locations?regionId=10", 1, `{"ResourceName":"London HQ","InternalId":41,"InternalParentId":10,"LocationAddress":"","LocationCity":"London",
			"LocationCountry":"United Kingdom","PostCode":"","TimeZone":"GMT Standard Time","NumberOfFloorsAboveGround":13,"NumberOfFloorsBelowGround":0,
			"IsCostCentreMandatory":false,"IsCCPaymentCostCodeEnabled":false,"LocationGroupMappings":[{"GroupId":301,"GroupIdExternal":null}]}`},
		{"groups", "/groups?countryId=1", 1, `{"ResourceName":"London North","InternalId":301,"InternalParentId":41}`},
		{"users by email, any case", "/users?EMAILID=ADA.lovelace@example.com", 1, `{"InternalId":1001,"FirstName":"Ada","LastName":"Lovelace","Email":"ada.lovelace@example.com"}`},
		{"users", "/users", 2, `{"InternalId":1001,"FirstName":"Ada","LastName":"Lovelace","Email":"ada.lovelace@example.com"}`},
		{"rooms: FloorNumber is a string", "/rooms?locationID=41", 2, `{"FloorNumber":"13","FloorName":"Floor 13","ResourceName":"London 13.01","InternalId":2001,
			"InternalParentId":0,"WorkspaceTypeId":1,"WorkspaceTypeName":"Meeting Room","extendedDetails":null,"Capacity":8,"GroupId":301,"Attributes":[1,2]}`},
		{"desks", "/desks?locationid=41", 2, `{"FloorNumber":"13","FloorName":"Floor 13","ResourceName":"Desk 13-001","InternalId":3001,
			"InternalParentId":0,"WorkspaceTypeId":2,"WorkspaceTypeName":"Desk","extendedDetails":null,"Capacity":1,"GroupId":301,"Attributes":[101]}`},
		{"floorPlan", "/floorPlan?locationId=41&floorNumber=13&resourceTypeId=2", 2, `{"ResourceName":"Desk 13-001","InternalId":3001,"WorkspaceTypeId":2,"FloorNumber":13}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := h.api(http.MethodGet, tt.path, ProductHierarchyMapping, nil)
			require.Equal(t, http.StatusOK, r.status, string(r.body))
			var e env
			r.decode(t, &e)
			assert.False(t, e.IsError)
			assert.False(t, e.Status, "Status is false even on success")
			assert.Equal(t, "", e.Message)
			assert.Nil(t, e.TotalRecords)
			require.Len(t, e.Data, tt.count)
			assert.JSONEq(t, tt.first, string(e.Data[0]))
		})
	}
}

// TestHierarchyLenient lists every parent's children when the listed parameter is missing, and
// only with LenientParams.
func TestHierarchyLenient(t *testing.T) {
	h := newHarness(t, Config{LenientParams: true})
	for path, n := range map[string]int{"/regions": 3, "/locations": 3, "/groups": 2, "/rooms": 3, "/desks": 3} {
		t.Run(path, func(t *testing.T) {
			r := h.api(http.MethodGet, path, ProductHierarchyMapping, nil)
			require.Equal(t, http.StatusOK, r.status, string(r.body))
			var e env
			r.decode(t, &e)
			assert.Len(t, e.Data, n)
		})
	}
}

func TestHierarchyErrors(t *testing.T) {
	h := newHarness(t, Config{})
	tests := []struct {
		path   string
		status int
		text   string
	}{
		{"/regions?countryId=99", 404, msgCountryNotFound},
		{"/regionsByParent/99", 404, msgCountryNotFound},
		{"/locations?regionId=99", 404, msgRegionNotFound},
		{"/rooms?locationId=99", 404, msgLocationNotFound},
		{"/rooms?locationId=abc", 400, msgInvalidRequest},
		{"/floorPlan", 400, "locationId is required."},
		// The parameters the contract lists for these routes are required.
		{"/regions", 400, "countryId is required."},
		{"/locations", 400, "regionId is required."},
		{"/groups", 400, "countryId is required."},
		{"/rooms", 400, "locationId is required."},
		{"/desks", 400, "locationId is required."},
		{"/desks?locationId=", 400, "locationId is required."},
		{"/floorPlan?locationId=99", 404, msgLocationNotFound},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			r := h.api(http.MethodGet, tt.path, ProductHierarchyMapping, nil)
			require.Equal(t, tt.status, r.status)
			assert.JSONEq(t, `{"IsError":true,"Data":null,"Status":false,"Message":"`+tt.text+`"}`, string(r.body))
		})
	}
}

func TestHierarchyPaging(t *testing.T) {
	h := newHarness(t, Config{})
	tests := []struct {
		query string
		ids   []float64
	}{
		{"pageNumber=1&pageSize=1", []float64{2001}},
		{"pageNumber=2&pageSize=1", []float64{2002}},
		{"pageNumber=3&pageSize=1", nil},
		{"pageNumber=0&pageSize=1", []float64{2001, 2002}},
		{"pageNumber=1&pageSize=0", []float64{2001, 2002}},
		{"PAGENUMBER=1&pagesize=9999", []float64{2001, 2002}},
	}
	for _, tt := range tests {
		t.Run(tt.query, func(t *testing.T) {
			r := h.api(http.MethodGet, "/rooms?locationId=41&"+tt.query, ProductHierarchyMapping, nil)
			require.Equal(t, http.StatusOK, r.status)
			var e struct {
				Data         []map[string]any
				TotalRecords int
			}
			r.decode(t, &e)
			assert.Equal(t, 2, e.TotalRecords)
			var ids []float64
			for _, d := range e.Data {
				ids = append(ids, d["InternalId"].(float64))
			}
			assert.Equal(t, tt.ids, ids)
		})
	}
}
