package cache

import (
	"context"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Two replicas share one store; one keeps decoded values. A change the
// other replica heard and re-read is what the first answers next, though
// it heard nothing: only equal bytes match its decoded values.
func TestDecodedTierAnswersWhatTheStoreHoldsOnEveryReplica(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		var title atomic.Value
		title.Store("first")
		daily := dailyBookings(sydney(t), func(workplace.RoomID) workplace.LocationID { return 10 })
		inner := &fakeInner{BookingsFn: func(ctx context.Context, r workplace.RoomID, from, to workplace.Date) ([]workplace.Booking, error) {
			bs, err := daily(ctx, r, from, to)
			for i := range bs {
				bs[i].Title = title.Load().(string)
			}
			return bs, err
		}}
		a, b := newService(inner, st), newService(inner, st)
		require.NotNil(t, a.decoded, "the tier is on by default")
		read := func(svc *Service) string {
			bs, err := svc.Bookings(ctx, 101, day0, day0.AddDays(2))
			require.NoError(t, err)
			require.Len(t, bs, 3)
			return bs[1].Title
		}
		assert.Equal(t, "first", read(a))
		assert.Equal(t, "first", read(a))
		assert.Zero(t, costs(inner, func() { read(a); read(b) }), "held days")

		for _, next := range []string{"second", "third", "first"} {
			title.Store(next)
			require.NoError(t, b.Invalidate(ctx, workplace.Change{Kind: workplace.KindBooking, BookingID: dailyID(101, day0.AddDays(1)), RoomID: 101, Date: day0.AddDays(1)}))
			assert.Equal(t, next, read(b))
			var got string
			assert.Zero(t, costs(inner, func() { got = read(a) }), "the other replica re-read the day")
			assert.Equal(t, next, got, "the replica that heard nothing")
		}
	})
}

// What a read answers is the caller's own: changing it changes neither the
// tier's value nor the next caller's.
func TestDecodedTierGivesEachCallerItsOwnValue(t *testing.T) {
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		inner := &fakeInner{
			BookingsFn: dailyBookings(sydney(t), func(workplace.RoomID) workplace.LocationID { return 10 }),
			RoomsFn: func(_ context.Context, l workplace.LocationID) ([]workplace.Room, error) {
				return []workplace.Room{{ID: 1, LocationID: l, Name: "A"}, {ID: 2, LocationID: l, Name: "B"}}, nil
			},
		}
		svc := newService(inner, st)
		for range 2 {
			bs, err := svc.Bookings(ctx, 101, day0, day0.AddDays(1))
			require.NoError(t, err)
			require.Len(t, bs, 2)
			assert.Equal(t, "daily", bs[0].Title)
			bs[0].Title = "changed by a caller"
			_ = append(bs[:1], workplace.Booking{Title: "appended by a caller"})

			rs, err := svc.Rooms(ctx, 10)
			require.NoError(t, err)
			assert.Equal(t, []string{"A", "B"}, []string{rs[0].Name, rs[1].Name})
			rs[0].Name = "changed by a caller"
		}
		// Many readers at once, each changing its copy (the race detector
		// watches).
		var wg sync.WaitGroup
		for i := range 16 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				rs, err := svc.Rooms(ctx, 10)
				if assert.NoError(t, err) && assert.Len(t, rs, 2) {
					assert.Equal(t, "A", rs[0].Name)
					rs[0].Name = fmt.Sprint(i)
				}
			}()
		}
		wg.Wait()
	})
}

func TestDecodedTierIsBounded(t *testing.T) {
	d := newDecodedTier(1000) // 500 a generation
	b := make([]byte, 50)     // 150 and the key's length each
	for i := range 100 {
		d.put(fmt.Sprint("k", i), b, i)
	}
	d.mu.Lock()
	held := len(d.cur) + len(d.old)
	cost := d.curCost
	d.mu.Unlock()
	assert.LessOrEqual(t, held, 6, "two generations of at most three entries")
	assert.LessOrEqual(t, cost, 500)
	v, ok := d.get("k99", b)
	assert.True(t, ok, "the latest is kept")
	assert.Equal(t, 99, v)
	_, ok = d.get("k0", b)
	assert.False(t, ok, "the first is gone")
	_, ok = d.get("k99", []byte("other bytes"))
	assert.False(t, ok, "other bytes do not match")

	d.put("big", make([]byte, 400), 1)
	_, ok = d.get("big", make([]byte, 400))
	assert.False(t, ok, "a value above half the bound is not kept")

	assert.Nil(t, newDecodedTier(0))
	svc := New(&fakeInner{}, NewMemoryStore(), Options{Logger: quiet(), DecodedBytes: -1})
	assert.Nil(t, svc.decoded, "a negative bound turns the tier off")
}

// Random interleavings of reads and changes across three replicas sharing
// a store, each with its tier: while readers on every replica read at
// random, changes land on random room-days through a random replica;
// whatever the interleaving, once a change is acknowledged (invalidated,
// re-read), every replica's next read of it answers it.
func TestDecodedTierUnderRandomInterleavings(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	forEachStore(t, func(t *testing.T, st Store) {
		ctx := context.Background()
		rng := rand.New(rand.NewPCG(seed, 1))
		const rooms, days = 4, 3
		var mu sync.Mutex
		version := map[[2]int]int{}
		daily := dailyBookings(time.UTC, func(workplace.RoomID) workplace.LocationID { return 10 })
		inner := &fakeInner{BookingsFn: func(ctx context.Context, r workplace.RoomID, from, to workplace.Date) ([]workplace.Booking, error) {
			bs, err := daily(ctx, r, from, to)
			mu.Lock()
			defer mu.Unlock()
			for i := range bs {
				bs[i].Title = fmt.Sprint("v", version[[2]int{int(r) - 101, day0.DaysUntil(workplace.DateOf(bs[i].Start))}])
			}
			return bs, err
		}}
		replicas := []*Service{newService(inner, st), newService(inner, st), newService(inner, st)}
		title := func(svc *Service, room, day int) string {
			bs, err := svc.Bookings(ctx, workplace.RoomID(101+room), day0, day0.AddDays(days-1))
			require.NoError(t, err)
			require.Len(t, bs, days)
			return bs[day].Title
		}

		stop := make(chan struct{})
		var readers sync.WaitGroup
		for i := range 6 {
			readers.Add(1)
			go func() {
				defer readers.Done()
				r := rand.New(rand.NewPCG(seed, uint64(i)+2))
				for {
					select {
					case <-stop:
						return
					default:
					}
					svc := replicas[r.IntN(len(replicas))]
					if _, err := svc.Bookings(ctx, workplace.RoomID(101+r.IntN(rooms)), day0, day0.AddDays(days-1)); err != nil {
						t.Error(err)
						return
					}
				}
			}()
		}
		for range 60 {
			room, day := rng.IntN(rooms), rng.IntN(days)
			mu.Lock()
			version[[2]int{room, day}]++
			want := fmt.Sprint("v", version[[2]int{room, day}])
			mu.Unlock()
			by := replicas[rng.IntN(len(replicas))]
			date := day0.AddDays(day)
			require.NoError(t, by.Invalidate(ctx, workplace.Change{Kind: workplace.KindBooking, BookingID: dailyID(workplace.RoomID(101+room), date), RoomID: workplace.RoomID(101 + room), Date: date}))
			for _, svc := range rng.Perm(len(replicas)) {
				assert.Equal(t, want, title(replicas[svc], room, day), "replica %d after change of room %d day %d", svc, room, day)
			}
		}
		close(stop)
		readers.Wait()
	})
}
