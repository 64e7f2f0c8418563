package engage

// The HierarchyMapping routes: countries down to desks, users and floor
// plans. Every answer comes in the envelope.

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"

	"github.com/engagegql/gateway/workplace"
)

// wireNode is the common shape of countries, regions and groups [C].
type wireNode struct {
	ResourceName     string  `json:"ResourceName"`
	InternalID       flexInt `json:"InternalId"`
	InternalParentID flexInt `json:"InternalParentId"`
}

type wireLocation struct {
	ResourceName               string   `json:"ResourceName"`
	InternalID                 flexInt  `json:"InternalId"`
	InternalParentID           flexInt  `json:"InternalParentId"`
	LocationAddress            string   `json:"LocationAddress"`
	LocationCity               string   `json:"LocationCity"`
	LocationCountry            string   `json:"LocationCountry"`
	PostCode                   string   `json:"PostCode"`
	TimeZone                   string   `json:"TimeZone"`
	NumberOfFloorsAboveGround  flexInt  `json:"NumberOfFloorsAboveGround"`
	NumberOfFloorsBelowGround  flexInt  `json:"NumberOfFloorsBelowGround"`
	IsCostCentreMandatory      flexBool `json:"IsCostCentreMandatory"`
	IsCCPaymentCostCodeEnabled flexBool `json:"IsCCPaymentCostCodeEnabled"`
	LocationGroupMappings      []struct {
		GroupID flexInt `json:"GroupId"`
	} `json:"LocationGroupMappings"`
}

type wireUser struct {
	InternalID flexInt `json:"InternalId"`
	FirstName  string  `json:"FirstName"`
	LastName   string  `json:"LastName"`
	Email      string  `json:"Email"`
}

// wireWorkspace is a room or a desk [C]. FloorNumber is a string here ("13")
// and an int elsewhere; flexInt reads both.
type wireWorkspace struct {
	FloorNumber       flexInt         `json:"FloorNumber"`
	FloorName         string          `json:"FloorName"`
	ResourceName      string          `json:"ResourceName"`
	InternalID        flexInt         `json:"InternalId"`
	InternalParentID  flexInt         `json:"InternalParentId"`
	WorkspaceTypeID   flexInt         `json:"WorkspaceTypeId"`
	WorkspaceTypeName string          `json:"WorkspaceTypeName"`
	ExtendedDetails   json.RawMessage `json:"extendedDetails"`
	Capacity          flexInt         `json:"Capacity"`
	GroupID           flexInt         `json:"GroupId"`
	Attributes        []flexInt       `json:"Attributes"`
}

type wireFloorPlanItem struct {
	ResourceName    string  `json:"ResourceName"`
	InternalID      flexInt `json:"InternalId"`
	WorkspaceTypeID flexInt `json:"WorkspaceTypeId"`
	FloorNumber     flexInt `json:"FloorNumber"`
}

// hierarchy fetches one HierarchyMapping route and unwraps its envelope.
func hierarchy[T any](ctx context.Context, c *Client, route, path string, q url.Values) ([]T, error) {
	var env envelope[[]T]
	if err := c.do(ctx, get(ProductHierarchyMapping, route, path, q), &env); err != nil {
		return nil, err
	}
	if env.IsError {
		// A 2xx that says IsError: the envelope's own failure flag wins
		// over the status [X].
		return nil, &Error{
			Status: 200, Product: ProductHierarchyMapping, Method: "GET", Route: route,
			Message: c.scrub(env.Message), kind: kindEnvelope,
		}
	}
	return env.Data, nil
}

// idParam adds name=id to q when id is not zero; the upstream reads a
// missing filter as "all".
func idParam[T ~int64](q url.Values, name string, id T) url.Values {
	if id != 0 {
		q.Set(name, strconv.FormatInt(int64(id), 10))
	}
	return q
}

// Countries implements workplace.Hierarchy.
func (c *Client) Countries(ctx context.Context) ([]workplace.Country, error) {
	nodes, err := hierarchy[wireNode](ctx, c, "/countries", "/countries", nil)
	if err != nil {
		return nil, err
	}
	out := make([]workplace.Country, len(nodes))
	for i, n := range nodes {
		out[i] = workplace.Country{ID: workplace.CountryID(n.InternalID), Name: n.ResourceName}
	}
	return out, nil
}

// Regions implements workplace.Hierarchy. The route lists by country
// [C: countryId is its parameter]; there is no call for every region.
func (c *Client) Regions(ctx context.Context, countryID workplace.CountryID) ([]workplace.Region, error) {
	if err := requireParent(ProductHierarchyMapping, "/regions", "countryId", int64(countryID)); err != nil {
		return nil, err
	}
	nodes, err := hierarchy[wireNode](ctx, c, "/regions", "/regions", idParam(url.Values{}, "countryId", countryID))
	if err != nil {
		return nil, err
	}
	return regions(nodes), nil
}

// RegionsByParent lists a country's regions through the regionsByParent
// route [C]. It answers what Regions(ctx, countryID) answers; it exists
// because some tenants expose only one of the two.
func (c *Client) RegionsByParent(ctx context.Context, countryID workplace.CountryID) ([]workplace.Region, error) {
	path := "/regionsByParent/" + strconv.FormatInt(int64(countryID), 10)
	nodes, err := hierarchy[wireNode](ctx, c, "/regionsByParent/{countryId}", path, nil)
	if err != nil {
		return nil, err
	}
	return regions(nodes), nil
}

func regions(nodes []wireNode) []workplace.Region {
	out := make([]workplace.Region, len(nodes))
	for i, n := range nodes {
		out[i] = workplace.Region{ID: workplace.RegionID(n.InternalID), Name: n.ResourceName, CountryID: workplace.CountryID(n.InternalParentID)}
	}
	return out
}

// Locations implements workplace.Hierarchy: the locations of one region,
// the route's parameter [C]. Each location's Windows zone is mapped to its
// IANA zone; the answer also refreshes the client's location zone cache,
// which places the times of visitors.
func (c *Client) Locations(ctx context.Context, regionID workplace.RegionID) ([]workplace.Location, error) {
	if err := requireParent(ProductHierarchyMapping, "/locations", "regionId", int64(regionID)); err != nil {
		return nil, err
	}
	ws, err := hierarchy[wireLocation](ctx, c, "/locations", "/locations", idParam(url.Values{}, "regionId", regionID))
	if err != nil {
		return nil, err
	}
	out := make([]workplace.Location, len(ws))
	for i, w := range ws {
		l := workplace.Location{
			ID:                     workplace.LocationID(w.InternalID),
			Name:                   w.ResourceName,
			RegionID:               workplace.RegionID(w.InternalParentID),
			Address:                w.LocationAddress,
			City:                   w.LocationCity,
			Country:                w.LocationCountry,
			PostCode:               w.PostCode,
			WindowsTimeZone:        w.TimeZone,
			TimeZone:               c.zoneOf(w.TimeZone, "location", int64(w.InternalID)),
			FloorsAboveGround:      int(w.NumberOfFloorsAboveGround),
			FloorsBelowGround:      int(w.NumberOfFloorsBelowGround),
			CostCodeMandatory:      bool(w.IsCostCentreMandatory),
			CostCodePaymentEnabled: bool(w.IsCCPaymentCostCodeEnabled),
		}
		for _, g := range w.LocationGroupMappings {
			l.GroupIDs = append(l.GroupIDs, workplace.GroupID(g.GroupID))
		}
		out[i] = l
	}
	c.locZones.store(out)
	return out, nil
}

// Groups implements workplace.Hierarchy: the groups of one country, the
// route's parameter [C]. [X] What a group's InternalParentId names is not
// public (the simulator sends the group's location), so it is not read: a
// group's country is the one asked for.
func (c *Client) Groups(ctx context.Context, countryID workplace.CountryID) ([]workplace.Group, error) {
	if err := requireParent(ProductHierarchyMapping, "/groups", "countryId", int64(countryID)); err != nil {
		return nil, err
	}
	nodes, err := hierarchy[wireNode](ctx, c, "/groups", "/groups", idParam(url.Values{}, "countryId", countryID))
	if err != nil {
		return nil, err
	}
	out := make([]workplace.Group, len(nodes))
	for i, n := range nodes {
		out[i] = workplace.Group{ID: workplace.GroupID(n.InternalID), Name: n.ResourceName, CountryID: countryID}
	}
	return out, nil
}

// Users implements workplace.Hierarchy.
func (c *Client) Users(ctx context.Context, email string) ([]workplace.User, error) {
	q := url.Values{}
	if email != "" {
		q.Set("emailId", email)
	}
	ws, err := hierarchy[wireUser](ctx, c, "/users", "/users", q)
	if err != nil {
		return nil, err
	}
	out := make([]workplace.User, len(ws))
	for i, w := range ws {
		out[i] = workplace.User{ID: workplace.UserID(w.InternalID), FirstName: w.FirstName, LastName: w.LastName, Email: w.Email}
	}
	return out, nil
}

// Rooms implements workplace.Hierarchy. The route answers InternalParentId 0
// [C], so a room's location is the one asked for.
func (c *Client) Rooms(ctx context.Context, locationID workplace.LocationID) ([]workplace.Room, error) {
	if err := requireParent(ProductHierarchyMapping, "/rooms", "locationId", int64(locationID)); err != nil {
		return nil, err
	}
	ws, err := hierarchy[wireWorkspace](ctx, c, "/rooms", "/rooms", idParam(url.Values{}, "locationId", locationID))
	if err != nil {
		return nil, err
	}
	out := make([]workplace.Room, len(ws))
	for i, w := range ws {
		out[i] = workplace.Room{
			ID: workplace.RoomID(w.InternalID), Name: w.ResourceName, LocationID: locationID,
			Floor: int(w.FloorNumber), FloorName: w.FloorName, GroupID: workplace.GroupID(w.GroupID),
			Capacity: int(w.Capacity), Attributes: ints[int](w.Attributes),
		}
	}
	return out, nil
}

// Desks implements workplace.Hierarchy.
func (c *Client) Desks(ctx context.Context, locationID workplace.LocationID) ([]workplace.Desk, error) {
	if err := requireParent(ProductHierarchyMapping, "/desks", "locationId", int64(locationID)); err != nil {
		return nil, err
	}
	ws, err := hierarchy[wireWorkspace](ctx, c, "/desks", "/desks", idParam(url.Values{}, "locationId", locationID))
	if err != nil {
		return nil, err
	}
	out := make([]workplace.Desk, len(ws))
	for i, w := range ws {
		out[i] = workplace.Desk{
			ID: workplace.DeskID(w.InternalID), Name: w.ResourceName, LocationID: locationID,
			Floor: int(w.FloorNumber), FloorName: w.FloorName, GroupID: workplace.GroupID(w.GroupID),
			Attributes: ints[int](w.Attributes),
		}
	}
	return out, nil
}

// requireParent refuses, before any call, to list a route's children
// without the parent the contract lists as its parameter: the upstream
// answers 400 to that, and sending it would be the gateway's bug, not the
// client's. Callers walk the hierarchy instead (workplace.AllLocations).
func requireParent(p Product, route, param string, id int64) error {
	if id != 0 {
		return nil
	}
	return &Error{Product: p, Method: http.MethodGet, Route: route, Message: param + " is required; the gateway must walk the hierarchy", kind: kindContract}
}

// FloorPlan implements workplace.Hierarchy. The floor is always sent: floor 0
// is the ground floor, not "any floor".
func (c *Client) FloorPlan(ctx context.Context, q workplace.FloorPlanQuery) ([]workplace.FloorPlanItem, error) {
	v := idParam(url.Values{}, "locationId", q.LocationID)
	v.Set("floorNumber", strconv.Itoa(q.Floor))
	idParam(v, "groupId", q.GroupID)
	if q.WorkspaceType != 0 {
		v.Set("resourceTypeId", strconv.Itoa(int(q.WorkspaceType)))
	}
	ws, err := hierarchy[wireFloorPlanItem](ctx, c, "/floorPlan", "/floorPlan", v)
	if err != nil {
		return nil, err
	}
	out := make([]workplace.FloorPlanItem, len(ws))
	for i, w := range ws {
		out[i] = workplace.FloorPlanItem{ID: int64(w.InternalID), Name: w.ResourceName, WorkspaceType: workplace.WorkspaceType(w.WorkspaceTypeID), Floor: int(w.FloorNumber)}
	}
	return out, nil
}
