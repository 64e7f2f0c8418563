package engagesim

// This file serves the HierarchyMapping product: every answer in the {IsError,Data,Status,Message}
// envelope, errors too.

import (
	"net/http"
	"slices"
	"strconv"
	"strings"
)

// hierarchyItem is a country, region or group [C fields].
type hierarchyItem struct {
	ResourceName     string `json:"ResourceName"`
	InternalId       int    `json:"InternalId"`
	InternalParentId int    `json:"InternalParentId"`
}

type groupMapping struct {
	GroupId         int     `json:"GroupId"`
	GroupIdExternal *string `json:"GroupIdExternal"`
}

type locationItem struct {
	ResourceName               string         `json:"ResourceName"`
	InternalId                 int            `json:"InternalId"`
	InternalParentId           int            `json:"InternalParentId"`
	LocationAddress            string         `json:"LocationAddress"`
	LocationCity               string         `json:"LocationCity"`
	LocationCountry            string         `json:"LocationCountry"`
	PostCode                   string         `json:"PostCode"`
	TimeZone                   string         `json:"TimeZone"`
	NumberOfFloorsAboveGround  int            `json:"NumberOfFloorsAboveGround"`
	NumberOfFloorsBelowGround  int            `json:"NumberOfFloorsBelowGround"`
	IsCostCentreMandatory      bool           `json:"IsCostCentreMandatory"`
	IsCCPaymentCostCodeEnabled bool           `json:"IsCCPaymentCostCodeEnabled"`
	LocationGroupMappings      []groupMapping `json:"LocationGroupMappings"`
}

type userItem struct {
	InternalId int    `json:"InternalId"`
	FirstName  string `json:"FirstName"`
	LastName   string `json:"LastName"`
	Email      string `json:"Email"`
}

// roomItem is a room or desk of GET /rooms and GET /desks; FloorNumber is a string here [C].
type roomItem struct {
	FloorNumber       string `json:"FloorNumber"`
	FloorName         string `json:"FloorName"`
	ResourceName      string `json:"ResourceName"`
	InternalId        int    `json:"InternalId"`
	InternalParentId  int    `json:"InternalParentId"`
	WorkspaceTypeId   int    `json:"WorkspaceTypeId"`
	WorkspaceTypeName string `json:"WorkspaceTypeName"`
	ExtendedDetails   any    `json:"extendedDetails"`
	Capacity          int    `json:"Capacity"`
	GroupId           int    `json:"GroupId"`
	Attributes        []int  `json:"Attributes"`
}

type floorPlanItem struct {
	ResourceName    string `json:"ResourceName"`
	InternalId      int    `json:"InternalId"`
	WorkspaceTypeId int    `json:"WorkspaceTypeId"`
	FloorNumber     int    `json:"FloorNumber"`
}

// envList answers a list in the envelope; with pageNumber or pageSize present it is paged and
// TotalRecords is added beside Data.
func envList[T any](w http.ResponseWriter, r *http.Request, items []T) {
	if items == nil {
		items = []T{}
	}
	q := queryOf(r)
	env := envelope{Data: items}
	if q.str("pageNumber") != "" || q.str("pageSize") != "" {
		paged, err := page(items, q)
		if err != nil {
			writeEnvErr(w, err.status, err.text)
			return
		}
		n := len(items)
		env.Data, env.TotalRecords = paged, &n
	}
	writeJSON(w, http.StatusOK, env)
}

func envFail(w http.ResponseWriter, err *apiError) { writeEnvErr(w, err.status, err.text) }

// listedParam reads the parent id a hierarchy route lists by (countryId of regions and groups,
// regionId of locations, locationId of rooms and desks). The contract lists it without marking
// it optional, so it is required: a missing one is a 400 in the envelope. With
// Config.LenientParams a missing one lists every parent's children, as some tenants may allow.
func (s *Sim) listedParam(q query, name string) (int, *apiError) {
	if s.cfg.LenientParams {
		return q.optInt(name)
	}
	return q.reqInt(name)
}

func (s *Sim) getCountries(w http.ResponseWriter, r *http.Request, _ string) {
	s.mu.RLock()
	var out []hierarchyItem
	for _, c := range s.st.countries {
		out = append(out, hierarchyItem{ResourceName: c.Name, InternalId: c.ID})
	}
	s.mu.RUnlock()
	envList(w, r, out)
}

func (s *Sim) regionsOf(countryID int) []hierarchyItem {
	var out []hierarchyItem
	for _, rg := range s.st.regions {
		if countryID == 0 || rg.CountryID == countryID {
			out = append(out, hierarchyItem{ResourceName: rg.Name, InternalId: rg.ID, InternalParentId: rg.CountryID})
		}
	}
	return out
}

func (s *Sim) hasCountry(id int) bool {
	return slices.ContainsFunc(s.st.countries, func(c Country) bool { return c.ID == id })
}

func (s *Sim) getRegions(w http.ResponseWriter, r *http.Request, _ string) {
	cid, err := s.listedParam(queryOf(r), "countryId")
	if err != nil {
		envFail(w, err)
		return
	}
	s.mu.RLock()
	if cid != 0 && !s.hasCountry(cid) {
		s.mu.RUnlock()
		envFail(w, fail(http.StatusNotFound, msgCountryNotFound))
		return
	}
	out := s.regionsOf(cid)
	s.mu.RUnlock()
	envList(w, r, out)
}

func (s *Sim) getRegionsByParent(w http.ResponseWriter, r *http.Request, id string) {
	cid, perr := strconv.Atoi(id)
	s.mu.RLock()
	if perr != nil || !s.hasCountry(cid) {
		s.mu.RUnlock()
		envFail(w, fail(http.StatusNotFound, msgCountryNotFound))
		return
	}
	out := s.regionsOf(cid)
	s.mu.RUnlock()
	envList(w, r, out)
}

func (s *Sim) getLocations(w http.ResponseWriter, r *http.Request, _ string) {
	rid, err := s.listedParam(queryOf(r), "regionId")
	if err != nil {
		envFail(w, err)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if rid != 0 && !slices.ContainsFunc(s.st.regions, func(x Region) bool { return x.ID == rid }) {
		envFail(w, fail(http.StatusNotFound, msgRegionNotFound))
		return
	}
	var out []locationItem
	for _, id := range s.st.locOrder {
		l := s.st.locations[id]
		if rid != 0 && l.RegionID != rid {
			continue
		}
		maps := []groupMapping{}
		for _, g := range s.st.groups {
			if g.LocationID == l.ID {
				maps = append(maps, groupMapping{GroupId: g.ID})
			}
		}
		out = append(out, locationItem{ResourceName: l.Name, InternalId: l.ID, InternalParentId: l.RegionID,
			LocationAddress: l.Address, LocationCity: l.City, LocationCountry: l.Country, PostCode: l.PostCode,
			TimeZone: l.TimeZone, NumberOfFloorsAboveGround: l.FloorsAboveGround, NumberOfFloorsBelowGround: l.FloorsBelowGround,
			IsCostCentreMandatory: l.CostCentreMandatory, IsCCPaymentCostCodeEnabled: l.CCPaymentCostCodeEnabled,
			LocationGroupMappings: maps})
	}
	envList(w, r, out)
}

func (s *Sim) getGroups(w http.ResponseWriter, r *http.Request, _ string) {
	cid, err := s.listedParam(queryOf(r), "countryId")
	if err != nil {
		envFail(w, err)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if cid != 0 && !s.hasCountry(cid) {
		envFail(w, fail(http.StatusNotFound, msgCountryNotFound))
		return
	}
	var out []hierarchyItem
	for _, g := range s.st.groups {
		if cid == 0 || s.st.countryOf(g.LocationID) == cid {
			out = append(out, hierarchyItem{ResourceName: g.Name, InternalId: g.ID, InternalParentId: g.LocationID})
		}
	}
	envList(w, r, out)
}

func (s *Sim) getUsers(w http.ResponseWriter, r *http.Request, _ string) {
	email := queryOf(r).str("emailId")
	s.mu.RLock()
	var out []userItem
	for _, id := range s.st.userOrder {
		u := s.st.users[id]
		if email == "" || strings.EqualFold(u.Email, email) {
			out = append(out, userItem{InternalId: u.ID, FirstName: u.FirstName, LastName: u.LastName, Email: u.Email})
		}
	}
	s.mu.RUnlock()
	envList(w, r, out)
}

func (s *Sim) getRooms(w http.ResponseWriter, r *http.Request, _ string) {
	s.listResources(w, r, workspaceRoom)
}

func (s *Sim) getDesks(w http.ResponseWriter, r *http.Request, _ string) {
	s.listResources(w, r, workspaceDesk)
}

func (s *Sim) listResources(w http.ResponseWriter, r *http.Request, kind int) {
	lid, err := s.listedParam(queryOf(r), "locationId")
	if err != nil {
		envFail(w, err)
		return
	}
	s.mu.RLock()
	defer s.mu.RUnlock()
	if lid != 0 && s.st.locations[lid] == nil {
		envFail(w, fail(http.StatusNotFound, msgLocationNotFound))
		return
	}
	var out []roomItem
	for _, res := range s.st.sortedResources(kind, lid) {
		out = append(out, roomView(res))
	}
	envList(w, r, out)
}

func roomView(res *Resource) roomItem {
	name := "Meeting Room"
	if res.WorkspaceTypeID == workspaceDesk {
		name = "Desk"
	}
	attrs := slices.Clone(res.Attributes)
	if attrs == nil {
		attrs = []int{}
	}
	return roomItem{FloorNumber: strconv.Itoa(res.FloorNumber), FloorName: floorName(res.FloorNumber), ResourceName: res.Name,
		InternalId: res.ID, WorkspaceTypeId: res.WorkspaceTypeID, WorkspaceTypeName: name,
		Capacity: res.Capacity, GroupId: res.GroupID, Attributes: attrs}
}

func (s *Sim) getFloorPlan(w http.ResponseWriter, r *http.Request, _ string) {
	q := queryOf(r)
	lid, err := q.reqInt("locationId")
	if err != nil {
		envFail(w, err)
		return
	}
	floor, err := q.optInt("floorNumber")
	if err != nil {
		envFail(w, err)
		return
	}
	gid, err := q.optInt("groupId")
	if err != nil {
		envFail(w, err)
		return
	}
	kind, err := q.optInt("resourceTypeId")
	if err != nil {
		envFail(w, err)
		return
	}
	hasFloor := q.str("floorNumber") != ""
	s.mu.RLock()
	defer s.mu.RUnlock()
	if s.st.locations[lid] == nil {
		envFail(w, fail(http.StatusNotFound, msgLocationNotFound))
		return
	}
	var out []floorPlanItem
	for _, res := range s.st.sortedResources(kind, lid) {
		if (hasFloor && res.FloorNumber != floor) || (gid != 0 && res.GroupID != gid) {
			continue
		}
		out = append(out, floorPlanItem{ResourceName: res.Name, InternalId: res.ID, WorkspaceTypeId: res.WorkspaceTypeID, FloorNumber: res.FloorNumber})
	}
	envList(w, r, out)
}
