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

// recordingBatch is a batch function that records its batches and answers
// each key k with "v<k>", or an error for a negative key.
type recordingBatch struct {
	mu      sync.Mutex
	batches [][]int
}

func (r *recordingBatch) fn(_ context.Context, keys []int) []*Result[string] {
	r.mu.Lock()
	r.batches = append(r.batches, append([]int(nil), keys...))
	r.mu.Unlock()
	out := make([]*Result[string], len(keys))
	for i, k := range keys {
		if k < 0 {
			out[i] = &Result[string]{Error: fmt.Errorf("no %d", k)}
			continue
		}
		out[i] = &Result[string]{Data: fmt.Sprint("v", k)}
	}
	return out
}

func (r *recordingBatch) seen() [][]int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]int(nil), r.batches...)
}

func TestABatchGathersTheKeysOfItsWindowAndEachKeyOnce(t *testing.T) {
	rec := &recordingBatch{}
	l := NewLoader(rec.fn, 5*time.Millisecond, 0)
	ctx := context.Background()
	var wg sync.WaitGroup
	got := make([]string, 6)
	for i, k := range []int{1, 2, 3, 2, 1, 4} {
		wg.Go(func() {
			v, err := l.Load(ctx, k)()
			assert.NoError(t, err)
			got[i] = v
		})
	}
	wg.Wait()
	assert.Equal(t, []string{"v1", "v2", "v3", "v2", "v1", "v4"}, got)
	require.Len(t, rec.seen(), 1, "one batch: %v", rec.seen())
	assert.ElementsMatch(t, []int{1, 2, 3, 4}, rec.seen()[0])

	// Asked again, a key is answered from the first batch; errors stay
	// with their key; a primed key is never read.
	v, err := l.Load(ctx, 3)()
	require.NoError(t, err)
	assert.Equal(t, "v3", v)
	l.Prime(9, "primed")
	vs, errs := l.LoadMany(ctx, []int{9, -1, 4})()
	assert.Equal(t, []string{"primed", "", "v4"}, vs)
	require.Len(t, errs, 3)
	assert.NoError(t, errs[0])
	assert.EqualError(t, errs[1], "no -1")
	assert.Equal(t, [][]int{{-1}}, rec.seen()[1:])
	_, errs = l.LoadMany(ctx, []int{1, 2})()
	assert.Nil(t, errs, "no error at all: nil")
}

func TestABatchStartsWhenFullAndWaitsForCallersOnTheirWay(t *testing.T) {
	rec := &recordingBatch{}
	l := NewLoader(rec.fn, time.Hour, 2)
	ctx := context.Background()
	a, b := l.Load(ctx, 1), l.Load(ctx, 2)
	_, err := a()
	require.NoError(t, err, "full at two keys: no hour's wait")
	_, err = b()
	require.NoError(t, err)

	// A caller on its way holds the batch past its window (within
	// gatherLonger windows).
	rec2 := &recordingBatch{}
	l2 := NewLoader(rec2.fn, 5*time.Millisecond, 0)
	arrived := l2.Expect()
	first := l2.Load(ctx, 1)
	time.AfterFunc(10*time.Millisecond, func() {
		l2.Load(ctx, 2)
		arrived()
	})
	_, err = first()
	require.NoError(t, err)
	assert.Equal(t, [][]int{{1, 2}}, rec2.seen())
}

func TestABatchThatPanicsFailsItsKeysWhichMayBeAskedAgain(t *testing.T) {
	calls := 0
	l := NewLoader(func(_ context.Context, keys []int) []*Result[string] {
		calls++
		if calls == 1 {
			panic("boom")
		}
		return []*Result[string]{{Data: "ok"}}
	}, 0, 0)
	ctx := context.Background()
	_, err := l.Load(ctx, 1)()
	require.Error(t, err)
	assert.Equal(t, workplace.EINTERNAL, workplace.ErrorCode(err))
	assert.NotContains(t, err.Error(), "boom", "the panic is logged, not shown")
	v, err := l.Load(ctx, 1)()
	require.NoError(t, err, "read again")
	assert.Equal(t, "ok", v)

	short := NewLoader(func(context.Context, []int) []*Result[string] { return nil }, 0, 0)
	_, err = short.Load(ctx, 1)()
	require.Error(t, err)
	assert.Equal(t, workplace.EINTERNAL, workplace.ErrorCode(err), "a batch that answers too few results fails its keys")
}
