package workplace

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

type staleNote struct {
	kind string
	age  time.Duration
}

func TestStalenessReport(t *testing.T) {
	tests := []struct {
		name      string
		notes     []staleNote
		wantCount int
		wantMax   time.Duration
		wantKinds []string
	}{
		{name: "nothing stale"},
		{name: "one", notes: []staleNote{{"rooms", time.Minute}},
			wantCount: 1, wantMax: time.Minute, wantKinds: []string{"rooms"}},
		{name: "oldest age, distinct sorted kinds",
			notes:     []staleNote{{"roomBookings", 3 * time.Minute}, {"bookings", 40 * time.Minute}, {"roomBookings", time.Minute}},
			wantCount: 3, wantMax: 40 * time.Minute, wantKinds: []string{"bookings", "roomBookings"}},
		{name: "a negative age counts as zero", notes: []staleNote{{"rooms", -time.Second}},
			wantCount: 1, wantMax: 0, wantKinds: []string{"rooms"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, s := WithStaleness(context.Background())
			for _, n := range tt.notes {
				NoteStale(ctx, n.kind, n.age)
			}
			count, maxAge, kinds := s.Report()
			assert.Equal(t, tt.wantCount, count)
			assert.Equal(t, tt.wantMax, maxAge)
			assert.Equal(t, tt.wantKinds, kinds)
		})
	}
}

func TestNoteStaleWithoutStaleness(t *testing.T) {
	assert.NotPanics(t, func() { NoteStale(context.Background(), "rooms", time.Minute) })
	var s *Staleness
	count, maxAge, kinds := s.Report()
	assert.Zero(t, count)
	assert.Zero(t, maxAge)
	assert.Nil(t, kinds)
}

func TestStalenessIsPerOperation(t *testing.T) {
	ctx1, s1 := WithStaleness(context.Background())
	_, s2 := WithStaleness(context.Background())
	NoteStale(ctx1, "rooms", time.Minute)
	n1, _, _ := s1.Report()
	n2, _, _ := s2.Report()
	assert.Equal(t, 1, n1)
	assert.Zero(t, n2, "another operation's Staleness is untouched")
}

func TestStalenessConcurrentNotes(t *testing.T) {
	ctx, s := WithStaleness(context.Background())
	const n = 64
	var wg sync.WaitGroup
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			kind := "rooms"
			if i%2 == 1 {
				kind = "desks"
			}
			NoteStale(ctx, kind, time.Duration(i)*time.Second)
			_, _, _ = s.Report()
		}()
	}
	wg.Wait()
	count, maxAge, kinds := s.Report()
	assert.Equal(t, n, count)
	assert.Equal(t, (n-1)*time.Second, maxAge)
	assert.Equal(t, []string{"desks", "rooms"}, kinds)
}
