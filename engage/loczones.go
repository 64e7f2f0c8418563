package engage

// This file keeps the zone of every location, for answers that carry local
// times but no zone and no UTC twin (visitors). Every list of locations read
// fills it; a miss walks the hierarchy (the upstream lists locations by
// region only) once, shared by concurrent callers, and no more often than
// missRefreshEvery, so an unknown location cannot turn every call into
// several. The walk reads through the hierarchy ZonesFrom names (the
// gateway's cache), so a replica joining a warm fleet learns the zones
// without calling Engage.

import (
	"context"
	"sync"
	"time"

	"golang.org/x/sync/singleflight"

	"github.com/engagegql/gateway/workplace"
)

// missRefreshEvery bounds how often a miss may refetch the locations [X].
const missRefreshEvery = time.Minute

type locationZones struct {
	c  *Client
	sf singleflight.Group
	// from is what the walk reads; nil reads the upstream through c.
	from workplace.Hierarchy

	mu          sync.Mutex
	zones       map[workplace.LocationID]*time.Location
	lastRefresh time.Time
}

func newLocationZones(c *Client) *locationZones {
	return &locationZones{c: c, zones: make(map[workplace.LocationID]*time.Location)}
}

// store records the zones of locations just read.
func (z *locationZones) store(locs []workplace.Location) {
	z.mu.Lock()
	defer z.mu.Unlock()
	for _, l := range locs {
		z.zones[l.ID] = l.TimeZone
	}
}

func (z *locationZones) hierarchy() workplace.Hierarchy {
	z.mu.Lock()
	defer z.mu.Unlock()
	if z.from != nil {
		return z.from
	}
	return z.c
}

func (z *locationZones) cached(id workplace.LocationID) (*time.Location, bool) {
	z.mu.Lock()
	defer z.mu.Unlock()
	loc, ok := z.zones[id]
	return loc, ok
}

// zone returns the zone of location id, fetching the locations on a miss. A
// location that is still unknown is placed in UTC, with a warning: its times
// stay correct instants, only shown with the wrong offset.
func (z *locationZones) zone(ctx context.Context, id workplace.LocationID) (*time.Location, error) {
	if loc, ok := z.cached(id); ok {
		return loc, nil
	}
	z.mu.Lock()
	due := z.lastRefresh.IsZero() || z.c.now().Sub(z.lastRefresh) >= missRefreshEvery
	z.mu.Unlock()
	if due {
		// The fetch serves every waiter, so it must not die with the first
		// one's context; the request timeout still bounds it.
		ch := z.sf.DoChan("locations", func() (any, error) {
			from := z.hierarchy()
			locs, err := workplace.AllLocations(context.WithoutCancel(ctx), from)
			if err == nil {
				z.store(locs)
				z.mu.Lock()
				z.lastRefresh = z.c.now()
				z.mu.Unlock()
			}
			return nil, err
		})
		select {
		case res := <-ch:
			if res.Err != nil {
				return nil, res.Err
			}
		case <-ctx.Done():
			return nil, ctx.Err()
		}
		if loc, ok := z.cached(id); ok {
			return loc, nil
		}
	}
	z.c.log.Warn("engage: location unknown, showing its times in UTC", "location", int64(id))
	return time.UTC, nil
}

// ZonesFrom makes the walk that finds an unknown location's zone (for the
// times of visitors and free slots) read through h instead of calling the
// upstream directly; nil, the default, calls the upstream. The gateway
// passes its cache, which decorates this client, so the walk costs no call
// where the fleet's cache already holds the hierarchy. Safe to call while
// the client serves.
func (c *Client) ZonesFrom(h workplace.Hierarchy) {
	c.locZones.mu.Lock()
	defer c.locZones.mu.Unlock()
	c.locZones.from = h
}

// zoneOf maps a Windows zone name from an answer. An unknown or empty name is
// placed in UTC with a warning rather than failing the whole answer [X]: a
// workplace.Location's TimeZone is never nil, and instants read from UTC
// twins stay exact either way.
func (c *Client) zoneOf(windowsName, what string, id int64) *time.Location {
	loc, err := c.zones.ZoneFor(windowsName)
	if err != nil {
		c.log.Warn("engage: time zone not mapped, using UTC", what, id, "timeZone", windowsName, "error", err.Error())
		return time.UTC
	}
	return loc
}
