package answer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// following returns a cache over log that follows it until the test ends.
func following(t *testing.T, log Log, opts Options) *Cache {
	t.Helper()
	opts.Log = log
	c := New(opts)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	t.Cleanup(func() { cancel(); <-done })
	require.Eventually(t, c.Following, 5*time.Second, time.Millisecond)
	return c
}

// keep computes an answer the way Handler does: Begin, then Put.
func keep(t *testing.T, c *Cache, id, body string, keys ...string) {
	t.Helper()
	seq, ok := c.Begin()
	require.True(t, ok)
	c.Put(id, Answer{ContentType: "application/json", Body: []byte(body)}, seq, keys, time.Time{})
}

func body(t *testing.T, c *Cache, id string) string {
	t.Helper()
	a, ok := c.Get(context.Background(), id)
	if !ok {
		return ""
	}
	return string(a.Body)
}

func TestAnAnswerIsDroppedWhenWhatItReadIsWritten(t *testing.T) {
	log := NewMemoryLog()
	c := following(t, log, Options{})
	keep(t, c, "a", "A", "room:1", "room:2")
	keep(t, c, "b", "B", "room:3")
	assert.Equal(t, "A", body(t, c, "a"))
	assert.Equal(t, "B", body(t, c, "b"))

	require.NoError(t, log.Written(context.Background(), []string{"room:2", "other"}))
	assert.Empty(t, body(t, c, "a"), "a key it read was written")
	assert.Equal(t, "B", body(t, c, "b"), "nothing it read was written")
	n, _ := c.Len()
	assert.Equal(t, 1, n)
}

func TestAnAnswerComputedWhileWhatItReadChangedIsNotKept(t *testing.T) {
	log := NewMemoryLog()
	c := following(t, log, Options{})
	ctx := context.Background()
	seq, ok := c.Begin()
	require.True(t, ok)
	// While it is computed, a key it read is written, and another.
	require.NoError(t, log.Written(ctx, []string{"room:1"}))
	require.NoError(t, log.Written(ctx, []string{"room:9"}))
	c.Put("a", Answer{Body: []byte("old")}, seq, []string{"room:1"}, time.Time{})
	assert.Empty(t, body(t, c, "a"))

	// One whose keys were not written is kept.
	c.Put("b", Answer{Body: []byte("fine")}, seq, []string{"room:2"}, time.Time{})
	assert.Equal(t, "fine", body(t, c, "b"))
}

func TestAnAnswerLastsUntilItsInputsExpireAndNoLongerThanMaxAge(t *testing.T) {
	var mu sync.Mutex
	now := time.Date(2026, 12, 7, 10, 0, 0, 0, time.UTC)
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	c := following(t, NewMemoryLog(), Options{Now: clock, MaxAge: time.Hour})
	seq, _ := c.Begin()
	c.Put("minute", Answer{Body: []byte("m")}, seq, nil, clock().Add(time.Minute))
	c.Put("ever", Answer{Body: []byte("e")}, seq, nil, time.Time{})
	c.Put("past", Answer{Body: []byte("p")}, seq, nil, clock().Add(-time.Second))
	assert.Equal(t, "m", body(t, c, "minute"))
	assert.Empty(t, body(t, c, "past"))
	advance(time.Minute)
	assert.Empty(t, body(t, c, "minute"))
	assert.Equal(t, "e", body(t, c, "ever"))
	advance(time.Hour)
	assert.Empty(t, body(t, c, "ever"), "MaxAge bounds what nothing drops")
}

func TestTheLeastRecentlyServedGoFirstPastTheBound(t *testing.T) {
	c := following(t, NewMemoryLog(), Options{MaxBytes: 16 << 10})
	big := string(make([]byte, 900))
	for i := range 20 {
		keep(t, c, fmt.Sprint(i), big, fmt.Sprint("k", i))
		_ = body(t, c, "0") // kept warm
	}
	n, bytes := c.Len()
	assert.LessOrEqual(t, bytes, 16<<10)
	assert.Less(t, n, 20)
	assert.NotEmpty(t, body(t, c, "0"), "the one served all along stays")
	assert.Empty(t, body(t, c, "1"))
	// The index of keys shrinks with the answers.
	c.mu.Lock()
	assert.Len(t, c.byKey, n)
	c.mu.Unlock()
	keep(t, c, "huge", string(make([]byte, 3<<10)))
	assert.Empty(t, body(t, c, "huge"), "an answer over an eighth of the bound is not kept")
}

// fakeLog is a Log whose numbering and announcements the test drives, as a
// Redis whose messages are late, lost or restarted.
type fakeLog struct {
	mu    sync.Mutex
	seq   uint64
	err   error
	apply func(uint64, []string)
	start func(uint64)
}

func (f *fakeLog) Seq(context.Context) (uint64, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.seq, f.err
}

func (f *fakeLog) Written(context.Context, []string) error { return nil }

func (f *fakeLog) Follow(ctx context.Context, start func(uint64), apply func(uint64, []string)) {
	f.mu.Lock()
	f.apply, f.start = apply, start
	s := f.seq
	f.mu.Unlock()
	start(s)
	<-ctx.Done()
}

// restart numbers from 0 again and starts the follower over, as a
// RedisWriteLog does when its subscription ends.
func (f *fakeLog) restart() {
	f.mu.Lock()
	f.seq = 0
	start := f.start
	f.mu.Unlock()
	start(0)
}

// write numbers a write; deliver announces it.
func (f *fakeLog) write() uint64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.seq++
	return f.seq
}

func (f *fakeLog) deliver(seq uint64, keys ...string) {
	f.mu.Lock()
	apply := f.apply
	f.mu.Unlock()
	apply(seq, keys)
}

func TestAKeptAnswerWaitsForTheWritesLoggedBeforeTheRequest(t *testing.T) {
	f := &fakeLog{}
	c := following(t, f, Options{})
	keep(t, c, "a", "A", "room:1")
	assert.Equal(t, "A", body(t, c, "a"))

	// Another replica wrote room:1; its announcement is on its way.
	seq := f.write()
	got := make(chan string)
	go func() { got <- body(t, c, "a") }()
	time.AfterFunc(20*time.Millisecond, func() { f.deliver(seq, "room:1") })
	assert.Empty(t, <-got, "the read waited for the write and did not serve what it dropped")

	// An announcement that never comes: the read gives up, and nothing
	// kept before it is trusted.
	keep(t, c, "b", "B", "room:2")
	f.write()
	assert.Empty(t, body(t, c, "b"))
	n, _ := c.Len()
	assert.Zero(t, n)
}

func TestALostOrRestartedLogDropsEverything(t *testing.T) {
	f := &fakeLog{}
	c := following(t, f, Options{})
	keep(t, c, "a", "A", "room:1")
	f.write()
	f.write()
	f.deliver(2, "other") // number 1 was lost
	assert.Empty(t, body(t, c, "a"))

	keep(t, c, "b", "B", "room:1")
	assert.Equal(t, "B", body(t, c, "b"))
	begun, ok := c.Begin()
	require.True(t, ok)
	f.restart() // the log restarted with nothing, and the follower starts over
	for range 3 {
		f.deliver(f.write(), "other") // numbered past where it had begun
	}
	c.Put("begun before", Answer{Body: []byte("old")}, begun, []string{"room:1"}, time.Time{})
	assert.Empty(t, body(t, c, "begun before"), "an answer begun before everything was dropped is not kept")
	assert.Empty(t, body(t, c, "b"))
	keep(t, c, "b", "B", "room:1")
	assert.Equal(t, "B", body(t, c, "b"))

	keep(t, c, "c", "C")
	f.mu.Lock()
	f.err = errors.New("down")
	f.mu.Unlock()
	assert.Empty(t, body(t, c, "c"), "a log that cannot say where it is serves nothing kept")
	n, _ := c.Len()
	assert.Zero(t, n, "and drops it: the store may be failing too")
	keep(t, c, "d", "D")
	assert.Empty(t, body(t, c, "d"), "not even what was kept since")
}

func TestAnAnswerServedFromWhatWasHeardIsCheckedEveryInterval(t *testing.T) {
	f := &fakeLog{}
	c := following(t, f, Options{Check: CheckInterval})
	keep(t, c, "a", "A", "room:1")
	f.mu.Lock()
	f.err = errors.New("down")
	f.mu.Unlock()
	assert.Equal(t, "A", body(t, c, "a"), "served without asking the log")
	// The next check finds the log down: nothing heard is trusted.
	require.Eventually(t, func() bool { n, _ := c.Len(); return n == 0 }, 5*time.Second, time.Millisecond)

	f.mu.Lock()
	f.err = nil
	f.mu.Unlock()
	keep(t, c, "b", "B", "room:2")
	assert.Equal(t, "B", body(t, c, "b"))
	f.write() // an announcement that never comes
	require.Eventually(t, func() bool { return body(t, c, "b") == "" }, 5*time.Second, time.Millisecond, "the check gives up waiting and drops everything")
}

// A write announced after the request read the fleet's number, and one
// announced again after the follower started from it, leave what is kept.
func TestWritesAlreadyCoveredLeaveTheAnswers(t *testing.T) {
	f := &fakeLog{}
	c := following(t, f, Options{})
	keep(t, c, "a", "A", "room:1")
	f.deliver(f.write(), "other")
	f.deliver(1, "other") // a repeat of a number already applied
	assert.Equal(t, "A", body(t, c, "a"))
	// A request that read the number just before a later write was
	// applied: this replica is ahead of what it asked for.
	f.deliver(f.write(), "other")
	f.mu.Lock()
	f.seq = 1
	f.mu.Unlock()
	assert.Equal(t, "A", body(t, c, "a"))
	n, _ := c.Len()
	assert.Equal(t, 1, n)
}

func TestNothingIsKeptBeforeTheLogIsFollowed(t *testing.T) {
	c := New(Options{Log: NewMemoryLog()})
	_, ok := c.Begin()
	assert.False(t, ok)
	c.Put("a", Answer{Body: []byte("A")}, Since{}, nil, time.Time{})
	assert.Empty(t, body(t, c, "a"))
}

// Random interleavings of answers computed from a versioned store by many
// goroutines while writers change it: a read made after a write returned
// never serves an answer computed before it.
func TestKeptAnswersUnderRandomInterleavings(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	log := NewMemoryLog()
	c := following(t, log, Options{})
	const keys = 5
	var mu sync.Mutex
	version := make([]int, keys)
	ctx := context.Background()
	// An answer reads two keys and is their versions.
	compute := func(a, b int) (string, []string) {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprint(version[a], ".", version[b]), []string{fmt.Sprint("k", a), fmt.Sprint("k", b)}
	}
	read := func(r *rand.Rand) (id, got, want string) {
		a, b := r.IntN(keys), r.IntN(keys)
		id = fmt.Sprint(a, "/", b)
		if ans, ok := c.Get(ctx, id); ok {
			got = string(ans.Body)
		} else {
			seq, ok := c.Begin()
			require.True(t, ok)
			v, ks := compute(a, b)
			got = v
			c.Put(id, Answer{Body: []byte(v)}, seq, ks, time.Time{})
		}
		want, _ = compute(a, b)
		return id, got, want
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 6 {
		wg.Go(func() {
			r := rand.New(rand.NewPCG(seed, uint64(i)+2))
			for {
				select {
				case <-stop:
					return
				default:
					read(r)
				}
			}
		})
	}
	r := rand.New(rand.NewPCG(seed, 1))
	for range 2000 {
		k := r.IntN(keys)
		mu.Lock()
		version[k]++
		mu.Unlock()
		require.NoError(t, log.Written(ctx, []string{fmt.Sprint("k", k)}))
		// Every answer read now is the store's as it is now (no writer
		// runs meanwhile).
		for range 3 {
			id, got, want := read(r)
			require.Equal(t, want, got, "answer %s after a write of k%d", id, k)
		}
	}
	close(stop)
	wg.Wait()
}

// TestARequestThatGoesAwayDropsNothing: a request whose context ends while
// it asks the log where the fleet is gets no kept answer, and leaves every
// answer kept: its error is its own, not the log's.
func TestARequestThatGoesAwayDropsNothing(t *testing.T) {
	f := &cancelledLog{}
	c := following(t, f, Options{})
	keep(t, c, "a", "A", "room:1")
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, ok := c.Get(ctx, "a")
	assert.False(t, ok)
	n, _ := c.Len()
	assert.Equal(t, 1, n, "nothing was dropped")
	assert.Equal(t, "A", body(t, c, "a"))
}

// cancelledLog is a fakeLog whose Seq fails as a Redis client does when
// the request's context has ended.
type cancelledLog struct{ fakeLog }

func (l *cancelledLog) Seq(ctx context.Context) (uint64, error) {
	if err := ctx.Err(); err != nil {
		return 0, err
	}
	return l.fakeLog.Seq(ctx)
}

// leasingLog is a fakeLog that grants leases, or fails to.
type leasingLog struct {
	fakeLog
	holdErr  error
	held     int
	released bool
}

func (l *leasingLog) Hold(_ context.Context, _ string, mark uint64) (time.Time, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.held++
	if l.holdErr != nil {
		return time.Time{}, l.holdErr
	}
	if mark != l.seq {
		return time.Time{}, nil
	}
	return time.Now().Add(time.Minute), nil
}

func (l *leasingLog) Release(context.Context, string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.released = true
	return nil
}

// A leaseholder serves without asking the log; one whose renewal fails
// gives the lease up and drops everything at once, and asks the log again;
// one that stops releases its lease.
func TestALeaseholderServesWithoutAskingUntilItsLogFails(t *testing.T) {
	l := &leasingLog{}
	l.err = errors.New("asked")
	c := New(Options{Log: l})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	require.Eventually(t, c.Leased, 5*time.Second, time.Millisecond)
	keep(t, c, "a", "A", "room:1")
	assert.Equal(t, "A", body(t, c, "a"), "served without asking the log (which fails when asked)")

	l.mu.Lock()
	l.holdErr = errors.New("redis down")
	l.mu.Unlock()
	require.Eventually(t, func() bool { return !c.Leased() }, 5*time.Second, time.Millisecond)
	n, _ := c.Len()
	assert.Zero(t, n, "everything was dropped with the lease")

	cancel()
	<-done
	l.mu.Lock()
	defer l.mu.Unlock()
	assert.True(t, l.released, "a cache that stops releases its lease")
}
