package loader

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// holdingService is a manyService that holds some locations' rooms, as
// the cache holds what it read: a StoreOnly read of those is answered, of
// any other fails with workplace.ErrNotHeld, and only reads that are not
// StoreOnly are recorded as the upstream's.
type holdingService struct {
	manyService
	mu      sync.Mutex
	held    map[workplace.LocationID]bool
	peeks   map[workplace.LocationID]int
	batches int           // StoreOnly reads
	slow    time.Duration // how long a StoreOnly read takes
	panics  bool          // a StoreOnly read panics
}

func (h *holdingService) AnswersStoreOnly() {}

func (h *holdingService) RoomsMany(ctx context.Context, locs []workplace.LocationID) ([][]workplace.Room, []error) {
	if !workplace.IsStoreOnly(ctx) {
		return h.manyService.RoomsMany(ctx, locs)
	}
	time.Sleep(h.slow)
	h.mu.Lock()
	h.batches++
	panics := h.panics
	h.mu.Unlock()
	if panics {
		panic("the store-only read failed")
	}
	out := make([][]workplace.Room, len(locs))
	errs := make([]error, len(locs))
	h.mu.Lock()
	defer h.mu.Unlock()
	for i, l := range locs {
		if h.peeks == nil {
			h.peeks = map[workplace.LocationID]int{}
		}
		h.peeks[l]++
		if !h.held[l] {
			errs[i] = workplace.ErrNotHeld
			continue
		}
		out[i] = []workplace.Room{{ID: workplace.RoomID(l*100 + 1), LocationID: l}}
	}
	return out, errs
}

func TestLoaderAnswersWhatIsHeldAtOnceAndBatchesTheRest(t *testing.T) {
	svc := &holdingService{manyService: manyService{&fakeService{}}, held: map[workplace.LocationID]bool{41: true, 42: true}}
	// A window an hour long: a hit that waited for it would not return.
	ctx := With(context.Background(), New(svc, Options{Wait: time.Hour}))
	done := make(chan []workplace.Room, 2)
	for _, loc := range []workplace.LocationID{41, 42} {
		go func() {
			rs, err := Rooms(ctx, loc)
			assert.NoError(t, err)
			done <- rs
		}()
	}
	for range 2 {
		select {
		case rs := <-done:
			require.Len(t, rs, 1)
		case <-time.After(10 * time.Second):
			require.Fail(t, "a held key waited for the batch window")
		}
	}
	assert.Empty(t, svc.Calls(), "held keys reached the upstream")

	// What is not held is batched as before: the two misses in one call,
	// after the window.
	ctx = With(context.Background(), New(svc, Options{Wait: 20 * time.Millisecond}))
	var wg sync.WaitGroup
	for _, loc := range []workplace.LocationID{41, 43, 44} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, err := Rooms(ctx, loc)
			assert.NoError(t, err)
			assert.Equal(t, []workplace.Room{{ID: workplace.RoomID(loc*100 + 1), LocationID: loc}}, rs)
		}()
	}
	wg.Wait()
	assert.Equal(t, []string{fmt.Sprintf("RoomsMany %v", []workplace.LocationID{43, 44})}, svc.Calls())

	// A hit is kept for the operation: it is not peeked again.
	svc.mu.Lock()
	svc.held[41] = false
	svc.mu.Unlock()
	rs, err := Rooms(ctx, 41)
	require.NoError(t, err)
	assert.Len(t, rs, 1)
	assert.Len(t, svc.Calls(), 1, "a hit was read again")
}

// Every room of a query asks for the hierarchy above it at once: the store
// is read once a key, a hit or a miss, however many ask meanwhile.
func TestLoaderPeeksAKeyOnceWhileManyAskForIt(t *testing.T) {
	svc := &holdingService{manyService: manyService{&fakeService{}}, held: map[workplace.LocationID]bool{41: true}, slow: 50 * time.Millisecond}
	ctx := With(context.Background(), New(svc, Options{Wait: 20 * time.Millisecond}))
	var wg sync.WaitGroup
	for i := range 200 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loc := workplace.LocationID(41 + i%2) // 41 is held, 42 is not
			rs, err := Rooms(ctx, loc)
			assert.NoError(t, err)
			assert.Equal(t, []workplace.Room{{ID: workplace.RoomID(loc*100 + 1), LocationID: loc}}, rs)
		}()
	}
	wg.Wait()
	svc.mu.Lock()
	assert.Equal(t, map[workplace.LocationID]int{41: 1, 42: 1}, svc.peeks, "peeks of the store, by key")
	svc.mu.Unlock()
	assert.Equal(t, []string{"RoomsMany [42]"}, svc.Calls(), "the miss was loaded once")
}

// Peeks wait for no window, yet the keys asked for while one is in flight
// are read together when it ends.
func TestLoaderBatchesThePeeksAskedForWhileOneIsInFlight(t *testing.T) {
	held := map[workplace.LocationID]bool{}
	for l := range workplace.LocationID(9) {
		held[41+l] = true
	}
	svc := &holdingService{manyService: manyService{&fakeService{}}, held: held, slow: 30 * time.Millisecond}
	ctx := With(context.Background(), New(svc, Options{Wait: time.Hour}))
	var wg sync.WaitGroup
	for l := range workplace.LocationID(9) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rs, err := Rooms(ctx, 41+l)
			assert.NoError(t, err)
			assert.Len(t, rs, 1)
		}()
	}
	wg.Wait()
	svc.mu.Lock()
	defer svc.mu.Unlock()
	assert.Len(t, svc.peeks, 9, "every key was peeked")
	assert.LessOrEqual(t, svc.batches, 2, "the first peek, and one batch of those asked for meanwhile")
	assert.Empty(t, svc.Calls())
}

// A peek that panics is a miss: the load that follows runs as it would
// without peeks, and the next peek runs afresh.
func TestLoaderPeekThatPanicsIsAMiss(t *testing.T) {
	svc := &holdingService{manyService: manyService{&fakeService{}}, held: map[workplace.LocationID]bool{41: true, 42: true}, panics: true}
	ctx := With(context.Background(), New(svc, Options{Wait: time.Millisecond}))
	rs, err := Rooms(ctx, 41)
	require.NoError(t, err)
	assert.Len(t, rs, 1)
	assert.Equal(t, []string{"RoomsMany [41]"}, svc.Calls(), "the miss was loaded")
	svc.mu.Lock()
	svc.panics = false
	svc.mu.Unlock()
	done := make(chan struct{})
	go func() {
		defer close(done)
		rs, err := Rooms(ctx, 42)
		assert.NoError(t, err)
		assert.Len(t, rs, 1)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		require.Fail(t, "a peek after a panic never ran")
	}
	assert.Len(t, svc.Calls(), 1, "the held key was answered by its peek")
}

func TestLoaderDoesNotPeekIntoAServiceThatCannotAnswerStoreOnly(t *testing.T) {
	svc := manyService{&fakeService{}}
	ctx := With(context.Background(), New(svc, Options{Wait: 20 * time.Millisecond}))
	var wg sync.WaitGroup
	for _, loc := range []workplace.LocationID{41, 42} {
		wg.Add(1)
		go func() { defer wg.Done(); _, err := Rooms(ctx, loc); assert.NoError(t, err) }()
	}
	wg.Wait()
	assert.Equal(t, []string{"RoomsMany [41 42]"}, svc.Calls())
}
