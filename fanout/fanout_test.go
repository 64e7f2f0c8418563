package fanout_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/fanout"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// executor stands in for gqlgen's: each operation it dispatches is a stream
// whose results the test hands it, one at a time.
type executor struct {
	mu         sync.Mutex
	dispatched map[string]int
	running    map[string]*run
}

type run struct {
	results chan *graphql.Response
	ctx     context.Context
}

func newExecutor() *executor {
	return &executor{dispatched: map[string]int{}, running: map[string]*run{}}
}

func (e *executor) CreateOperationContext(context.Context, *graphql.RawParams) (*graphql.OperationContext, gqlerror.List) {
	panic("not used")
}

func (e *executor) DispatchError(context.Context, gqlerror.List) *graphql.Response {
	panic("not used")
}

func (e *executor) DispatchOperation(ctx context.Context, rc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	r := &run{results: make(chan *graphql.Response), ctx: ctx}
	e.mu.Lock()
	e.dispatched[rc.RawQuery]++
	e.running[rc.RawQuery] = r
	e.mu.Unlock()
	return func(ctx context.Context) *graphql.Response {
		select {
		case res, ok := <-r.results:
			if !ok {
				return nil
			}
			return res
		case <-ctx.Done():
			return nil
		}
	}, ctx
}

func (e *executor) times(key string) int {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.dispatched[key]
}

func (e *executor) stream(key string) *run {
	e.mu.Lock()
	defer e.mu.Unlock()
	return e.running[key]
}

// push hands the stream of key its next result, numbered seq; it returns
// once the stream has taken it (its subscribers get it next).
func (e *executor) push(t testing.TB, key string, seq int) {
	t.Helper()
	select {
	case e.stream(key).results <- &graphql.Response{Data: json.RawMessage(fmt.Sprintf(`{"seq":%d}`, seq))}:
	case <-time.After(10 * time.Second):
		require.FailNow(t, "the stream took no result", key)
	}
}

func operation(key string) *graphql.OperationContext {
	return &graphql.OperationContext{RawQuery: key, RecoverFunc: func(context.Context, any) error { return errors.New("internal") }}
}

func newHub() (*fanout.Hub, *atomic.Int64) {
	n := &atomic.Int64{}
	return fanout.New(fanout.Options{
		Key:         func(_ context.Context, rc *graphql.OperationContext) string { return rc.RawQuery },
		Subscribers: func(d int) { n.Add(int64(d)) },
	}), n
}

// recorder is a subscriber that keeps what it was handed; it takes at most
// room results when room is set.
type recorder struct {
	mu    sync.Mutex
	seqs  []int
	raw   [][]byte
	ended []error
	room  int
}

func (r *recorder) Next(res *fanout.Result) bool {
	b := res.JSON
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.room > 0 && len(r.seqs) == r.room {
		return false
	}
	var v struct {
		Data struct{ Seq int }
	}
	if err := json.Unmarshal(b, &v); err != nil {
		panic(err)
	}
	r.seqs = append(r.seqs, v.Data.Seq)
	r.raw = append(r.raw, b)
	return true
}

func (r *recorder) End(err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ended = append(r.ended, err)
}

func (r *recorder) got() ([]int, []error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]int(nil), r.seqs...), append([]error(nil), r.ended...)
}

func TestHubRunsEachDistinctSubscriptionOnceForAllItsSubscribers(t *testing.T) {
	hub, open := newHub()
	exec := newExecutor()
	var a, b []*recorder
	for i := range 150 {
		r := &recorder{}
		key := "A"
		if i%3 == 0 {
			key, b = "B", append(b, r)
		} else {
			a = append(a, r)
		}
		hub.Subscribe(context.Background(), exec, operation(key), r)
	}
	assert.Equal(t, 1, exec.times("A"))
	assert.Equal(t, 1, exec.times("B"))
	assert.Equal(t, 2, hub.Streams())
	assert.EqualValues(t, 150, open.Load())
	assert.Equal(t, 150, hub.Subscribers())

	for seq := 1; seq <= 3; seq++ {
		exec.push(t, "A", seq)
	}
	exec.push(t, "B", 10)
	close(exec.stream("A").results) // A ends; B goes on
	require.Eventually(t, func() bool { return hub.Streams() == 1 }, 10*time.Second, time.Millisecond)
	for _, r := range a {
		seqs, ended := r.got()
		assert.Equal(t, []int{1, 2, 3}, seqs)
		assert.Equal(t, []error{nil}, ended)
	}
	first := a[0].raw[0]
	for _, r := range a {
		assert.Same(t, &first[0], &r.raw[0][0], "each result is encoded once and shared")
	}
	require.Eventually(t, func() bool {
		for _, r := range b {
			if seqs, _ := r.got(); len(seqs) != 1 {
				return false
			}
		}
		return true
	}, 10*time.Second, time.Millisecond)
	for _, r := range b {
		seqs, ended := r.got()
		assert.Equal(t, []int{10}, seqs)
		assert.Empty(t, ended)
	}
	assert.EqualValues(t, len(b), open.Load())
}

func TestHubEndsASubscriberThatFallsBehindAndGoesOnForTheOthers(t *testing.T) {
	hub, _ := newHub()
	exec := newExecutor()
	slow, fast := &recorder{room: 2}, &recorder{}
	hub.Subscribe(context.Background(), exec, operation("A"), slow)
	hub.Subscribe(context.Background(), exec, operation("A"), fast)
	for seq := 1; seq <= 5; seq++ {
		exec.push(t, "A", seq)
	}
	exec.push(t, "A", 6) // taken only once 5 was handed to every subscriber
	seqs, ended := slow.got()
	assert.Equal(t, []int{1, 2}, seqs)
	assert.Equal(t, []error{fanout.ErrBehind}, ended)
	seqs, ended = fast.got()
	require.GreaterOrEqual(t, len(seqs), 5)
	assert.Equal(t, []int{1, 2, 3, 4, 5}, seqs[:5])
	assert.Empty(t, ended)
	assert.Equal(t, 1, hub.Subscribers())
}

func TestHubStopsAStreamWithItsLastSubscriber(t *testing.T) {
	hub, open := newHub()
	exec := newExecutor()
	leaveA := hub.Subscribe(context.Background(), exec, operation("A"), &recorder{})
	leaveB := hub.Subscribe(context.Background(), exec, operation("A"), &recorder{})
	run := exec.stream("A")
	leaveA()
	leaveA() // twice is once
	assert.NoError(t, run.ctx.Err(), "one subscriber left")
	leaveB()
	require.Eventually(t, func() bool { return run.ctx.Err() != nil && hub.Streams() == 0 }, 10*time.Second, time.Millisecond)
	assert.Zero(t, open.Load())

	// The next subscriber starts a stream of its own.
	r := &recorder{}
	hub.Subscribe(context.Background(), exec, operation("A"), r)
	assert.Equal(t, 2, exec.times("A"))
	exec.push(t, "A", 1)
	require.Eventually(t, func() bool { s, _ := r.got(); return len(s) == 1 }, 10*time.Second, time.Millisecond)
}

func TestHubStreamOutlivesTheSubscriberThatStartedIt(t *testing.T) {
	hub, _ := newHub()
	exec := newExecutor()
	ctx, cancel := context.WithCancel(context.Background())
	leave := hub.Subscribe(ctx, exec, operation("A"), &recorder{})
	r := &recorder{}
	hub.Subscribe(context.Background(), exec, operation("A"), r)
	cancel()
	leave()
	assert.NoError(t, exec.stream("A").ctx.Err())
	exec.push(t, "A", 1)
	exec.push(t, "A", 2)
	require.Eventually(t, func() bool { s, _ := r.got(); return len(s) >= 1 }, 10*time.Second, time.Millisecond)
}

func TestHubEndsEverySubscriberWithAnErrorWhenTheStreamPanics(t *testing.T) {
	hub, open := newHub()
	var recs []*recorder
	exec := panicking{}
	for range 3 {
		r := &recorder{}
		recs = append(recs, r)
		hub.Subscribe(context.Background(), exec, operation("A"), r)
	}
	require.Eventually(t, func() bool { return hub.Streams() == 0 }, 10*time.Second, time.Millisecond)
	for _, r := range recs {
		_, ended := r.got()
		assert.Equal(t, []error{fanout.ErrInternal}, ended)
	}
	assert.Zero(t, open.Load())
}

type panicking struct{ *executor }

func (panicking) DispatchOperation(ctx context.Context, _ *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	return func(context.Context) *graphql.Response { panic("resolver bug") }, ctx
}

// TestHubUnderRandomJoinsAndLeaves: subscribers come and go at random while
// results flow; each one gets, in order and once each, every result handed
// out between its joining and its leaving.
func TestHubUnderRandomJoinsAndLeaves(t *testing.T) {
	seed := rand.Uint64()
	t.Logf("seed %d", seed)
	hub, open := newHub()
	exec := newExecutor()
	keeper := &recorder{} // keeps the stream running throughout
	hub.Subscribe(context.Background(), exec, operation("A"), keeper)

	var wg sync.WaitGroup
	var mu sync.Mutex
	var all []*recorder
	stop := make(chan struct{})
	for w := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			rng := rand.New(rand.NewPCG(seed, uint64(w)))
			for {
				select {
				case <-stop:
					return
				default:
				}
				r := &recorder{}
				mu.Lock()
				all = append(all, r)
				mu.Unlock()
				leave := hub.Subscribe(context.Background(), exec, operation("A"), r)
				for range rng.IntN(50) {
					time.Sleep(time.Duration(rng.IntN(20)) * time.Microsecond)
				}
				leave()
			}
		}()
	}
	const results = 300
	for seq := 1; seq <= results; seq++ {
		exec.push(t, "A", seq)
	}
	close(stop)
	wg.Wait()
	close(exec.stream("A").results)
	require.Eventually(t, func() bool { return hub.Streams() == 0 }, 10*time.Second, time.Millisecond)

	seqs, ended := keeper.got()
	require.Len(t, seqs, results)
	assert.Equal(t, []error{nil}, ended)
	assert.Equal(t, 1, exec.times("A"))
	some := 0
	for _, r := range all {
		seqs, ended := r.got()
		assert.Empty(t, ended, "a subscriber that left is not ended")
		for i := 1; i < len(seqs); i++ {
			require.Equal(t, seqs[i-1]+1, seqs[i], "results in order, none twice, none skipped: %v", seqs)
		}
		if len(seqs) > 0 {
			some++
		}
	}
	assert.Positive(t, some)
	assert.Zero(t, open.Load())
}

// TestHubSubscribeReturnsOnceTheStreamHasStarted: a subscriber that joins a
// stream another is starting returns only once it has started, and only
// then is it counted, so a change published after Subscribe returns (or
// after the count shows it) reaches it.
func TestHubSubscribeReturnsOnceTheStreamHasStarted(t *testing.T) {
	hub, open := newHub()
	release := make(chan struct{})
	exec := &slowStart{executor: newExecutor(), release: release, started: make(chan struct{})}
	go hub.Subscribe(context.Background(), exec, operation("A"), &recorder{})
	<-exec.started
	joined := make(chan struct{})
	go func() {
		hub.Subscribe(context.Background(), exec, operation("A"), &recorder{})
		close(joined)
	}()
	select {
	case <-joined:
		require.FailNow(t, "Subscribe returned before the stream started")
	case <-time.After(50 * time.Millisecond):
	}
	assert.Zero(t, open.Load(), "nobody is counted before the feed reaches them")
	close(release)
	<-joined
	require.Eventually(t, func() bool { return open.Load() == 2 }, 10*time.Second, time.Millisecond)
	assert.Equal(t, 1, exec.times("A"))
}

// slowStart dispatches once release is closed.
type slowStart struct {
	*executor
	release, started chan struct{}
}

func (s *slowStart) DispatchOperation(ctx context.Context, rc *graphql.OperationContext) (graphql.ResponseHandler, context.Context) {
	close(s.started)
	<-s.release
	return s.executor.DispatchOperation(ctx, rc)
}

// TestHubHandsAResultToManySubscribersAtOnce: a stream with thousands of
// subscribers hands each result to them on several goroutines; each gets
// every result once, in order, and never two at once. A subscriber that
// panics ends the stream for all of them, as a resolver's panic does.
func TestHubHandsAResultToManySubscribersAtOnce(t *testing.T) {
	hub, open := newHub()
	exec := newExecutor()
	const n = 3000
	subs := make([]*exclusive, n)
	for i := range subs {
		subs[i] = &exclusive{}
		hub.Subscribe(context.Background(), exec, operation("A"), subs[i])
	}
	require.EqualValues(t, n, open.Load())
	for seq := 1; seq <= 5; seq++ {
		exec.push(t, "A", seq)
	}
	require.Eventually(t, func() bool {
		for _, s := range subs {
			if seqs, _ := s.got(); len(seqs) < 5 {
				return false
			}
		}
		return true
	}, 10*time.Second, time.Millisecond)
	for i, s := range subs {
		seqs, ended := s.got()
		require.Equal(t, []int{1, 2, 3, 4, 5}, seqs, "subscriber %d", i)
		require.Empty(t, ended)
		require.False(t, s.overlapped.Load(), "subscriber %d was handed two results at once", i)
	}

	subs[n/2].panics.Store(true)
	exec.push(t, "A", 6)
	require.Eventually(t, func() bool { return hub.Streams() == 0 }, 10*time.Second, time.Millisecond)
	for i, s := range subs {
		_, ended := s.got()
		require.Equal(t, []error{fanout.ErrInternal}, ended, "subscriber %d", i)
		require.False(t, s.overlapped.Load(), "subscriber %d was told its end while it was handed a result", i)
	}
	assert.Zero(t, open.Load())
}

// exclusive is a recorder that notes a Next or End made while another of
// its own runs, and panics in Next when told to.
type exclusive struct {
	recorder
	busy, overlapped, panics atomic.Bool
}

func (e *exclusive) Next(res *fanout.Result) bool {
	if !e.busy.CompareAndSwap(false, true) {
		e.overlapped.Store(true)
	}
	defer e.busy.Store(false)
	if e.panics.Load() {
		panic("a subscriber's bug")
	}
	time.Sleep(time.Microsecond)
	return e.recorder.Next(res)
}

func (e *exclusive) End(err error) {
	if !e.busy.CompareAndSwap(false, true) {
		e.overlapped.Store(true)
	}
	defer e.busy.Store(false)
	e.recorder.End(err)
}
