package resolvers

import (
	"context"
	"encoding/base64"
	"slices"
	"strconv"
	"strings"

	"github.com/engagegql/gateway/graph"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/workplace"
)

// maxPage bounds `first` on connections, as the upstream bounds its pages.
const maxPage = 500

// A cursor is the base64url of "offset:N" in the filtered, ordered list: the
// list is read whole from one upstream call per operation, so an offset is
// stable for the life of that list.
func cursorAt(i int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("offset:" + strconv.Itoa(i)))
}

func offsetAfter(cursor *string) (int, error) {
	if cursor == nil {
		return 0, nil
	}
	raw, err := base64.RawURLEncoding.DecodeString(*cursor)
	if err == nil {
		if n, ok := strings.CutPrefix(string(raw), "offset:"); ok {
			if i, err := strconv.Atoi(n); err == nil && i >= 0 {
				return i + 1, nil
			}
		}
	}
	return 0, workplace.Errorf(workplace.EINVALID, "after %q is not a cursor this API issued", *cursor)
}

// visitorConnection serves Query.visitors.
func visitorConnection(ctx context.Context, date workplace.Date, locationID *string, status *workplace.VisitorStatus, hostEmail *string, first *int, after *string) (graph.VisitorConnection, error) {
	loc, err := optionalID(locationID, typeLocation)
	if err != nil {
		return graph.VisitorConnection{}, err
	}
	n := 50
	if first != nil {
		n = *first
	}
	if n < 0 || n > maxPage {
		return graph.VisitorConnection{}, workplace.Errorf(workplace.EINVALID, "first must be between 0 and %d", maxPage)
	}
	start, err := offsetAfter(after)
	if err != nil {
		return graph.VisitorConnection{}, err
	}
	all, err := loader.Visitors(ctx, date, workplace.LocationID(loc))
	if err != nil {
		return graph.VisitorConnection{}, err
	}
	var matched []workplace.Visitor
	for _, v := range all {
		if status != nil && v.Status != *status {
			continue
		}
		if hostEmail != nil && !strings.EqualFold(v.Host.Email, *hostEmail) {
			continue
		}
		matched = append(matched, v)
	}
	slices.SortStableFunc(matched, func(a, b workplace.Visitor) int {
		if c := a.Arrival.Compare(b.Arrival); c != 0 {
			return c
		}
		return int(a.ID - b.ID)
	})
	end := min(start+n, len(matched))
	start = min(start, end)
	conn := graph.VisitorConnection{
		Edges:      []graph.VisitorEdge{},
		Nodes:      []workplace.Visitor{},
		TotalCount: len(matched),
		PageInfo: graph.PageInfo{
			HasPreviousPage: start > 0,
			HasNextPage:     end < len(matched),
		},
	}
	hosts := make([]string, 0, end-start)
	for i := start; i < end; i++ {
		v := matched[i]
		conn.Edges = append(conn.Edges, graph.VisitorEdge{Cursor: cursorAt(i), Node: v})
		conn.Nodes = append(conn.Nodes, v)
		hosts = append(hosts, v.Host.Email)
	}
	loader.ExpectUsers(ctx, hosts...)
	if len(conn.Edges) > 0 {
		s, e := conn.Edges[0].Cursor, conn.Edges[len(conn.Edges)-1].Cursor
		conn.PageInfo.StartCursor, conn.PageInfo.EndCursor = &s, &e
	}
	return conn, nil
}
