package loader

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// manyService is a fakeService that also answers many keys at once, as the
// cache does; its single-key reads must then go unused.
type manyService struct {
	*fakeService
}

func (m manyService) RoomsMany(_ context.Context, locs []workplace.LocationID) ([][]workplace.Room, []error) {
	m.record(fmt.Sprintf("RoomsMany %v", slices.Sorted(slices.Values(locs))))
	out := make([][]workplace.Room, len(locs))
	errs := make([]error, len(locs))
	for i, l := range locs {
		if l == 99 {
			errs[i] = workplace.Errorf(workplace.ENOTFOUND, "location 99 does not exist")
			continue
		}
		out[i] = []workplace.Room{{ID: workplace.RoomID(l*100 + 1), LocationID: l}}
	}
	return out, errs
}

func (m manyService) DesksMany(context.Context, []workplace.LocationID) ([][]workplace.Desk, []error) {
	panic("not used")
}

func (m manyService) BookingsMany(_ context.Context, ws []workplace.RoomWindow) ([][]workplace.Booking, []error) {
	m.record(fmt.Sprintf("BookingsMany %d", len(ws)))
	out := make([][]workplace.Booking, len(ws))
	for i, w := range ws {
		start := w.From.In(time.UTC).Add(9 * time.Hour)
		out[i] = []workplace.Booking{{ID: workplace.BookingID(int64(w.Room)*1000 + int64(w.From.Day)), RoomID: w.Room, Start: start, End: start.Add(time.Hour)}}
	}
	return out, make([]error, len(ws))
}

func (m manyService) DeskBookingsMany(context.Context, []workplace.DeskWindow) ([][]workplace.DeskBooking, []error) {
	panic("not used")
}

func (m manyService) BookingMany(context.Context, []workplace.BookingID) ([]workplace.Booking, []error) {
	panic("not used")
}

func TestLoaderUsesManyReaderInOneBatch(t *testing.T) {
	svc := manyService{&fakeService{}}
	// A window wide enough for three goroutines started one after another
	// to reach it under the race detector on a busy machine.
	ctx := With(context.Background(), New(svc, Options{Wait: 5 * time.Millisecond}))

	// Three locations asked at once: one RoomsMany, no Rooms call.
	load(t, []workplace.LocationID{41, 42, 43}, func(l workplace.LocationID) error { _, err := Rooms(ctx, l); return err })
	assert.Equal(t, []string{"RoomsMany [41 42 43]"}, svc.Calls())

	// Errors stay with their key.
	_, err := Rooms(ctx, 99)
	require.Error(t, err)
	assert.Equal(t, workplace.ENOTFOUND, workplace.ErrorCode(err))

	// A 20-day window of two rooms: four windows, one BookingsMany.
	from := workplace.Date{Year: 2026, Month: time.March, Day: 1}
	load(t, []workplace.RoomID{7, 8}, func(r workplace.RoomID) error {
		bs, err := RoomBookings(ctx, r, from, from.AddDays(19))
		if err == nil && len(bs) != 2 {
			return fmt.Errorf("room %d: %d bookings, want one per window", r, len(bs))
		}
		return err
	})
	assert.Contains(t, svc.Calls(), "BookingsMany 4")
}
