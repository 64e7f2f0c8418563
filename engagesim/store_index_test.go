package engagesim

import (
	"fmt"
	"maps"
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// requireIndexes rebuilds every index of the store from its entities, the slow way, and
// requires the kept ones to match: an index a change forgot shows here.
func requireIndexes(t *testing.T, s *Sim) {
	t.Helper()
	s.mu.RLock()
	defer s.mu.RUnlock()
	st := s.st

	byLocation := map[int][]int{}
	for _, r := range slices.Sorted(maps.Keys(st.resources)) {
		res := st.resources[r]
		byLocation[res.LocationID] = append(byLocation[res.LocationID], r)
	}
	kept := map[int][]int{}
	for loc, rs := range st.byLocation {
		for _, r := range rs {
			require.Same(t, st.resources[r.ID], r, "resource %d is the stored one", r.ID)
			kept[loc] = append(kept[loc], r.ID)
		}
	}
	require.Equal(t, byLocation, kept, "resources by location")

	visitorsOn := map[visitDay][]int{}
	for id, v := range st.visitors {
		if k, ok := st.visitDayOf(v); ok {
			visitorsOn[k] = append(visitorsOn[k], id)
		}
	}
	keptVisitors := map[visitDay][]int{}
	for k, m := range st.visitorsOn {
		require.NotEmpty(t, m, "no empty day is kept")
		for id, v := range m {
			require.Same(t, st.visitors[id], v, "visitor %d is the stored one", id)
			keptVisitors[k] = append(keptVisitors[k], id)
		}
	}
	for _, m := range []map[visitDay][]int{visitorsOn, keptVisitors} {
		for k := range m {
			slices.Sort(m[k])
		}
	}
	require.Equal(t, visitorsOn, keptVisitors, "visitors by location and day")

	for id, b := range st.bookings {
		require.Same(t, b, st.byRoom[b.RoomID][id], "booking %d under its room", id)
	}
	for room, m := range st.byRoom {
		for id, b := range m {
			require.Equal(t, room, b.RoomID, "booking %d under room %d", id, room)
			require.Same(t, st.bookings[id], b)
		}
	}
	for id, d := range st.deskBookings {
		require.Same(t, d, st.byDesk[d.DeskID][id], "desk booking %d under its desk", id)
	}
}

// TestIndexesFollowEveryChange moves resources and visitors between locations and days through
// the admin and API routes and checks, after each change, that the listings see the change and
// that the indexes equal what a scan of the store gives.
func TestIndexesFollowEveryChange(t *testing.T) {
	h := newHarness(t, Config{})
	listIDs := func(path string) []int {
		t.Helper()
		r := h.api(http.MethodGet, path, ProductHierarchyMapping, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var e struct {
			Data []struct {
				InternalID int `json:"InternalId"`
			} `json:"Data"`
		}
		r.decode(t, &e)
		var out []int
		for _, d := range e.Data {
			out = append(out, d.InternalID)
		}
		return out
	}
	visitors := func(date string, loc int) []int {
		t.Helper()
		q := "/visitor?visitDate=" + date
		if loc != 0 {
			q += fmt.Sprintf("&locationId=%d", loc)
		}
		r := h.api(http.MethodGet, q, ProductVisitor, nil)
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		var got struct {
			Visitors []visitorJSON `json:"visitors"`
		}
		r.decode(t, &got)
		var out []int
		for _, v := range got.Visitors {
			out = append(out, v.VisitorID)
		}
		return out
	}
	requireIndexes(t, h.sim)

	t.Run("resources", func(t *testing.T) {
		r := h.admin(http.MethodPost, "/_sim/resources", map[string]any{"workspaceTypeId": 1, "locationId": locSydney, "name": "Sydney 1.01", "floorNumber": 1})
		require.Equal(t, http.StatusCreated, r.status, string(r.body))
		made := int(r.obj(t)["resourceId"].(float64))
		requireIndexes(t, h.sim)
		assert.Equal(t, []int{roomSydney, made}, listIDs(fmt.Sprintf("/rooms?locationId=%d", locSydney)))

		r = h.admin(http.MethodPut, fmt.Sprintf("/_sim/resources/%d", roomB), map[string]any{"locationId": locSydney})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		requireIndexes(t, h.sim)
		assert.Equal(t, []int{roomA}, listIDs(fmt.Sprintf("/rooms?locationId=%d", locLondon)))
		assert.Equal(t, []int{roomB, roomSydney, made}, listIDs(fmt.Sprintf("/rooms?locationId=%d", locSydney)), "by id")

		requireMessage(t, h.admin(http.MethodPut, fmt.Sprintf("/_sim/resources/%d", roomB), map[string]any{"locationId": 999}), 404, msgLocationNotFound)
		requireIndexes(t, h.sim)
		assert.Contains(t, listIDs(fmt.Sprintf("/rooms?locationId=%d", locSydney)), roomB, "a refused move leaves it")

		r = h.admin(http.MethodPut, fmt.Sprintf("/_sim/resources/%d", deskB), map[string]any{"locationId": locSingapore, "name": "Desk 1-001"})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		requireIndexes(t, h.sim)
		assert.Equal(t, []int{deskA}, listIDs(fmt.Sprintf("/desks?locationId=%d", locLondon)))
		assert.Equal(t, []int{deskB}, listIDs(fmt.Sprintf("/desks?locationId=%d", locSingapore)))
		assert.Empty(t, listIDs(fmt.Sprintf("/rooms?locationId=%d", locSingapore)), "a desk is no room")

		require.Equal(t, http.StatusOK, h.admin(http.MethodDelete, fmt.Sprintf("/_sim/resources/%d", made), nil).status)
		require.Equal(t, http.StatusOK, h.admin(http.MethodDelete, fmt.Sprintf("/_sim/resources/%d", deskB), nil).status)
		requireIndexes(t, h.sim)
		assert.Equal(t, []int{roomB, roomSydney}, listIDs(fmt.Sprintf("/rooms?locationId=%d", locSydney)))
		assert.Empty(t, listIDs(fmt.Sprintf("/desks?locationId=%d", locSingapore)))
	})

	t.Run("visitors", func(t *testing.T) {
		r := h.admin(http.MethodPost, "/_sim/visitors", map[string]any{"firstName": "Mary", "lastName": "Jackson",
			"hostData": map[string]any{"hostId": userAda}, "locationId": locLondon, "arrivalDate": "2026-03-23 09:30"})
		require.Equal(t, http.StatusCreated, r.status, string(r.body))
		id := int(r.obj(t)["visitorId"].(float64))
		requireIndexes(t, h.sim)
		assert.Equal(t, []int{id}, visitors("2026-03-23", locLondon))
		assert.Equal(t, []int{id}, visitors("2026-03-23", 0), "every location")

		// 23:30 in Sydney on the 24th is still the 24th there, though the 24th's 12:30 in UTC.
		r = h.admin(http.MethodPut, fmt.Sprintf("/_sim/visitors/%d", id), map[string]any{"locationId": locSydney, "arrivalDate": "2026-03-24 23:30"})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		requireIndexes(t, h.sim)
		assert.Empty(t, visitors("2026-03-23", 0))
		assert.Empty(t, visitors("2026-03-24", locLondon))
		assert.Equal(t, []int{id}, visitors("2026-03-24", locSydney))

		requireMessage(t, h.admin(http.MethodPut, fmt.Sprintf("/_sim/visitors/%d", id), map[string]any{"arrivalDate": "2026-05-01 10:00"}), 400, msgDateRange)
		requireIndexes(t, h.sim)
		assert.Equal(t, []int{id}, visitors("2026-03-24", locSydney), "a refused edit leaves it")

		r = h.admin(http.MethodPut, fmt.Sprintf("/_sim/visitors/%d", id), map[string]any{"bookingId": bookingA})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		requireIndexes(t, h.sim)
		assert.Equal(t, []int{id}, visitors("2026-03-24", locLondon), "the booking's room moved it to London")

		r = h.admin(http.MethodPost, fmt.Sprintf("/_sim/visitors/%d/action", id), map[string]any{"action": "arrive"})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		requireIndexes(t, h.sim)
		assert.Equal(t, []int{id}, visitors("2026-03-24", locLondon))

		require.Equal(t, http.StatusOK, h.admin(http.MethodDelete, fmt.Sprintf("/_sim/visitors/%d", id), nil).status)
		requireIndexes(t, h.sim)
		assert.Empty(t, visitors("2026-03-24", 0))
		assert.Equal(t, []int{visitorA}, visitors("2026-03-20", locLondon), "the fixture's visitor stays")
	})

	t.Run("reset", func(t *testing.T) {
		f := ScaleFixture(ScaleOptions{Seed: 5, Today: baseNow(), Locations: 4, Rooms: 12, Desks: 20, Users: 30})
		r := h.admin(http.MethodPost, "/_sim/reset", map[string]any{"fixture": f})
		require.Equal(t, http.StatusOK, r.status, string(r.body))
		requireIndexes(t, h.sim)
		rooms := 0
		for _, l := range f.Locations {
			rooms += len(listIDs(fmt.Sprintf("/rooms?locationId=%d", l.ID)))
		}
		assert.Equal(t, 12, rooms)
		assert.Len(t, visitors("2026-03-21", 0), 4*5)
	})
}

// TestDuplicateIDsInFixture: a fixture naming one id twice keeps the last, in the indexes too.
func TestDuplicateIDsInFixture(t *testing.T) {
	f := tinyFixture()
	moved := f.Resources[1] // roomB, London
	moved.LocationID, moved.Name = locSydney, "Sydney 2.01"
	f.Resources = append(f.Resources, moved)
	again := f.Visitors[0]
	again.LocationID = locSydney
	f.Visitors = append(f.Visitors, again)
	h := newHarness(t, Config{Fixture: f})
	requireIndexes(t, h.sim)
	h.sim.mu.RLock()
	defer h.sim.mu.RUnlock()
	assert.Len(t, h.sim.st.sortedResources(workspaceRoom, locLondon), 1)
	assert.Len(t, h.sim.st.sortedResources(workspaceRoom, locSydney), 2)
	assert.Len(t, h.sim.st.visitorsOn, 1)
}
