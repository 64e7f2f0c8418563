package resolvers

import (
	"context"
	"sync"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/graph"
	"github.com/engagegql/gateway/loader"
	"github.com/engagegql/gateway/workplace"
)

// lookupNode fetches the entity a global id names, through the loaders.
func lookupNode(ctx context.Context, id string) (graph.Node, error) {
	g, err := parseID(id)
	if err != nil {
		return nil, err
	}
	p := g.Parts
	var n graph.Node
	switch g.Type {
	case typeCountry:
		n, err = ptr(loader.Country(ctx, workplace.CountryID(p[0])))
	case typeRegion:
		n, err = ptr(loader.Region(ctx, workplace.RegionID(p[0])))
	case typeLocation:
		n, err = ptr(loader.Location(ctx, workplace.LocationID(p[0])))
	case typeRoom:
		n, err = ptr(loader.Room(ctx, workplace.LocationID(p[0]), workplace.RoomID(p[1])))
	case typeDesk:
		n, err = ptr(loader.Desk(ctx, workplace.LocationID(p[0]), workplace.DeskID(p[1])))
	case typeGroup:
		n, err = ptr(loader.Group(ctx, workplace.GroupID(p[0])))
	case typeFloor:
		n, err = ptr(floor(ctx, workplace.LocationID(p[0]), int(p[1])))
	case typeBooking:
		n, err = ptr(loader.Booking(ctx, workplace.BookingID(p[0])))
	case typeDeskBooking:
		n, err = ptr(findDeskBooking(ctx, g))
	case typeVisitor:
		n, err = ptr(findVisitor(ctx, g))
	case typeUser:
		n, err = ptr(loader.User(ctx, workplace.UserID(p[0])))
	case typeCostCode:
		n, err = ptr(loader.CostCode(ctx, workplace.LocationID(p[0]), workplace.CostCodeID(p[1])))
	case typeVendor:
		n, err = ptr(loader.Vendor(ctx, workplace.LocationID(p[0]), workplace.VendorID(p[1])))
	case typeVendorService:
		n, err = ptr(loader.VendorService(ctx, workplace.LocationID(p[0]), workplace.ServiceID(p[1])))
	case typeServiceOrder:
		n, err = ptr(findOrder(ctx, g))
	default:
		return nil, badID(id)
	}
	if err != nil {
		return nil, err
	}
	return n, nil
}

// lookupNodes fetches many entities at once: the lookups run concurrently so
// their loaders batch, and a failed lookup leaves null at its index and an
// error at its path instead of failing the whole list.
func lookupNodes(ctx context.Context, ids []string) []graph.Node {
	out := make([]graph.Node, len(ids))
	errs := make([]error, len(ids))
	var wg sync.WaitGroup
	for i, id := range ids {
		wg.Add(1)
		go func() {
			defer wg.Done()
			out[i], errs[i] = lookupNode(ctx, id)
		}()
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			pctx := graphql.WithPathContext(ctx, graphql.NewPathWithIndex(i))
			graphql.AddError(pctx, err)
		}
	}
	return out
}
