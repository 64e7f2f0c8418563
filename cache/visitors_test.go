package cache

import (
	"context"
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// pagedVisitors answers VisitorsFn with n visitors, paged as the contract
// pages (pageNumber from 1, pageSize at most 500, TotalRecords beside), and
// records the pages asked for.
func pagedVisitors(n int, asked *[][2]int) func(context.Context, workplace.VisitorQuery) (workplace.VisitorPage, error) {
	return func(_ context.Context, q workplace.VisitorQuery) (workplace.VisitorPage, error) {
		*asked = append(*asked, [2]int{q.PageNumber, q.PageSize})
		all := make([]workplace.Visitor, n)
		for i := range all {
			all[i] = workplace.Visitor{ID: workplace.VisitorID(1000 + i), LocationID: q.LocationID}
		}
		if q.PageNumber <= 0 || q.PageSize <= 0 {
			return workplace.VisitorPage{Visitors: all, Total: n}, nil
		}
		size := min(q.PageSize, 500)
		from := min((q.PageNumber-1)*size, n)
		return workplace.VisitorPage{Visitors: all[from:min(from+size, n)], Total: n}, nil
	}
}

func TestVisitorListsAreReadWholeAPageAtATime(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		visitors int
		pages    [][2]int
	}{
		{0, [][2]int{{1, 500}}},
		{3, [][2]int{{1, 500}}},
		{500, [][2]int{{1, 500}}},
		{501, [][2]int{{1, 500}, {2, 500}}},
		{1203, [][2]int{{1, 500}, {2, 500}, {3, 500}}},
	} {
		var asked [][2]int
		inner := &fakeInner{VisitorsFn: pagedVisitors(tc.visitors, &asked)}
		svc := newService(inner, NewMemoryStore())
		q := workplace.VisitorQuery{Date: day0, LocationID: 10}
		p, err := svc.Visitors(ctx, q)
		require.NoError(t, err)
		assert.Equal(t, tc.pages, asked, "%d visitors", tc.visitors)
		require.Len(t, p.Visitors, tc.visitors)
		assert.Equal(t, tc.visitors, p.Total)
		for i, v := range p.Visitors {
			require.Equal(t, workplace.VisitorID(1000+i), v.ID)
		}
		assert.Zero(t, costs(inner, func() {
			again, err := svc.Visitors(ctx, q)
			require.NoError(t, err)
			assert.Len(t, again.Visitors, tc.visitors)
		}), "the whole list is cached")
	}
}

func TestVisitorSpanTurnsAtTheLocationsMidnight(t *testing.T) {
	zone := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		require.NoError(t, err)
		return l
	}
	d := func(y int, m time.Month, day int) workplace.Date { return workplace.Date{Year: y, Month: m, Day: day} }
	// Singapore is UTC+8: its 27 November ends at 16:00 UTC. Los Angeles is
	// UTC-8 in November: its 27 November ends at 08:00 UTC on the 28th.
	sg, la := visitorSpan(zone("Asia/Singapore")), visitorSpan(zone("America/Los_Angeles"))
	before := time.Date(2026, time.November, 27, 15, 59, 30, 0, time.UTC)
	after := before.Add(time.Minute)

	from, to, ahead := sg.days(before)
	assert.Equal(t, [3]workplace.Date{d(2026, 11, 27), d(2026, 12, 10), d(2026, 12, 10)}, [3]workplace.Date{from, to, ahead})
	assert.Equal(t, 30*time.Second+time.Hour, sg.life(before, d(2026, 11, 27)), "held until the day ends, and an hour")
	assert.Zero(t, sg.life(before, d(2026, 12, 11)), "not in the window yet")
	from, to, _ = sg.days(after)
	assert.Equal(t, [2]workplace.Date{d(2026, 11, 28), d(2026, 12, 11)}, [2]workplace.Date{from, to})
	assert.Zero(t, sg.life(after, d(2026, 11, 27)), "the day left the window")
	assert.Equal(t, 24*time.Hour-30*time.Second+time.Hour, sg.life(after, d(2026, 11, 28)))

	from, to, _ = la.days(after)
	assert.Equal(t, [2]workplace.Date{d(2026, 11, 27), d(2026, 12, 10)}, [2]workplace.Date{from, to}, "Los Angeles is still on the 27th")
	laEnds := time.Date(2026, time.November, 28, 8, 0, 0, 0, time.UTC)
	assert.Equal(t, laEnds.Add(time.Hour).Sub(after), la.life(after, d(2026, 11, 27)))
	from, to, _ = la.days(laEnds.Add(time.Second))
	assert.Equal(t, [2]workplace.Date{d(2026, 11, 28), d(2026, 12, 11)}, [2]workplace.Date{from, to})

	// Rooms and desks keep UTC dates U-3 … U+15, read ahead to U+24, each
	// day held until it is U-4 (and an hour).
	from, to, ahead = bookingSpan.days(before)
	assert.Equal(t, [3]workplace.Date{d(2026, 11, 24), d(2026, 12, 12), d(2026, 12, 21)}, [3]workplace.Date{from, to, ahead})
	assert.Equal(t, 8*time.Hour+30*time.Second+time.Hour, bookingSpan.life(before, d(2026, 11, 24)))
	assert.Zero(t, bookingSpan.life(before, d(2026, 12, 22)))
}

func TestReadWindowsCoverWhatOneReadCovers(t *testing.T) {
	days := []workplace.Date{day0, day0.AddDays(1), day0.AddDays(5), day0.AddDays(20)}
	assert.Equal(t, [][2]workplace.Date{{day0, day0}, {day0.AddDays(1), day0.AddDays(1)}, {day0.AddDays(5), day0.AddDays(5)}, {day0.AddDays(20), day0.AddDays(20)}},
		readWindows(days, 1), "a visitor list is one day a read")
	assert.Equal(t, workplace.SplitWindow(day0, day0.AddDays(20)), readWindows(days, workplace.MaxWindowDays), "bookings are read as before")
	assert.Equal(t, [][2]workplace.Date{{day0, day0.AddDays(1)}, {day0.AddDays(5), day0.AddDays(5)}, {day0.AddDays(20), day0.AddDays(20)}},
		readWindows(days, 3))
	assert.Empty(t, readWindows(nil, 1))
}

func TestVisitorsKeysParseBack(t *testing.T) {
	for _, loc := range []workplace.LocationID{0, 41, 1<<53 - 1} {
		day, l, ok := parseVisitorsKey(visitorsKey(day0, loc))
		require.True(t, ok)
		assert.Equal(t, day0, day)
		assert.Equal(t, loc, l)
	}
	for _, key := range []string{roomDayKey(41, day0), visitorIndexKey(41), tagged("visitors:nonsense:loc:1"), tagged("visitors:2026-11-27:loc:x")} {
		_, _, ok := parseVisitorsKey(key)
		assert.False(t, ok, key)
	}
	_, _, ok := heldVisitors{}.parse(visitorsKey(day0, 0))
	assert.False(t, ok, "the list of every location is not held")
}
