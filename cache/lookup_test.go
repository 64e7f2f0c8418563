package cache

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestOnLookupCountsHitsAndMissesByKind: a cold read reports a miss per
// key and a warm one a hit per key, under the kind of entry read.
func TestOnLookupCountsHitsAndMissesByKind(t *testing.T) {
	ctx := context.Background()
	inner := &fakeInner{BookingsFn: dailyBookings(sydney(t), func(workplace.RoomID) workplace.LocationID { return 10 })}
	type tally struct{ hits, misses int }
	var mu sync.Mutex
	seen := map[string]tally{}
	svc := New(inner, NewMemoryStore(), Options{Logger: quiet(), OpTimeout: 5 * time.Second, OnLookup: func(kind string, hit bool) {
		mu.Lock()
		defer mu.Unlock()
		c := seen[kind]
		if hit {
			c.hits++
		} else {
			c.misses++
		}
		seen[kind] = c
	}})
	for range 2 {
		_, err := svc.Rooms(ctx, 10)
		require.NoError(t, err)
		_, err = svc.Bookings(ctx, 101, day0, day0.AddDays(2))
		require.NoError(t, err)
	}
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, map[string]tally{
		"rooms":        {hits: 1, misses: 1},
		"roomBookings": {hits: 3, misses: 3},
	}, seen)
}

// TestKeyKindsAreBounded: every key a read looks up has a named kind, and
// nothing else escapes as a label.
func TestKeyKindsAreBounded(t *testing.T) {
	from := time.Date(2026, 11, 27, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		key, kind string
	}{
		{countriesKey(), "countries"},
		{regionsKey(1), "regions"},
		{locationsKey(1), "locations"},
		{groupsKey(1), "groups"},
		{roomsKey(1), "rooms"},
		{desksKey(1), "desks"},
		{usersKey("a}b@example.com"), "users"},
		{floorPlanKey(0, workplace.FloorPlanQuery{LocationID: 1}), "floorplan"},
		{roomDayKey(1, day0), "roomBookings"},
		{deskDayKey(1, day0), "deskBookings"},
		{bookingKey(1), "bookings"},
		{visitorsKey(day0, 1), "visitors"},
		{costCodesKey(1), "costcodes"},
		{vendorsKey(1), "vendors"},
		{ordersKey(1), "orders"},
		{freeSlotsKey([]int64{1, 2}, workplace.FreeSlotQuery{LocationID: 1, From: from, To: from}), "availability"},
		{"not:ours", "other"},
		{tagged("surprise:1"), "other"},
	}
	for _, tt := range tests {
		t.Run(tt.key, func(t *testing.T) {
			assert.Equal(t, tt.kind, keyKind(tt.key))
			assert.Contains(t, KeyKinds(), keyKind(tt.key))
		})
	}
}
