package cache

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/engagegql/gateway/answer"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

type logged1 struct {
	seq  uint64
	keys []string
}

func TestRedisWriteLogReachesEveryFollowerInOrder(t *testing.T) {
	rdb := redisClient(t)
	ns := namespace(t, rdb)
	log := NewRedisWriteLog(rdb, ns, quiet())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })
	var followers []chan logged1
	for range 2 {
		// Each follower on a client of its own, as each replica is.
		other := NewRedisWriteLog(redisClient(t), ns, quiet())
		got, started := make(chan logged1, 100), make(chan uint64, 1)
		followers = append(followers, got)
		wg.Go(func() {
			other.Follow(ctx, func(seq uint64) { started <- seq }, func(seq uint64, keys []string) { got <- logged1{seq, keys} })
		})
		select {
		case seq := <-started:
			assert.Zero(t, seq)
		case <-time.After(5 * time.Second):
			t.Fatal("the follower did not start")
		}
	}
	for i := 1; i <= 50; i++ {
		require.NoError(t, log.Written(ctx, []string{fmt.Sprint("room:", i), "loc:1"}))
	}
	require.NoError(t, log.Written(ctx, nil))
	seq, err := log.Seq(ctx)
	require.NoError(t, err)
	assert.EqualValues(t, 51, seq)
	for _, got := range followers {
		for i := 1; i <= 51; i++ {
			select {
			case w := <-got:
				assert.EqualValues(t, i, w.seq)
				if i <= 50 {
					assert.Equal(t, []string{fmt.Sprint("room:", i), "loc:1"}, w.keys)
				} else {
					assert.Empty(t, w.keys)
				}
			case <-time.After(5 * time.Second):
				t.Fatalf("write %d did not arrive", i)
			}
		}
	}
}

// countedLog counts how often a follower asks where the fleet is, and can
// stop hearing the writes (as a replica whose subscription silently died).
type countedLog struct {
	*RedisWriteLog
	mu      sync.Mutex
	asked   int
	deaf    bool
	applied uint64 // the last write handed to the follower
}

func (l *countedLog) Seq(ctx context.Context) (uint64, error) {
	l.mu.Lock()
	l.asked++
	l.mu.Unlock()
	return l.RedisWriteLog.Seq(ctx)
}

func (l *countedLog) Follow(ctx context.Context, start func(uint64), apply func(uint64, []string)) {
	l.RedisWriteLog.Follow(ctx, start, func(seq uint64, keys []string) {
		l.mu.Lock()
		deaf := l.deaf
		l.mu.Unlock()
		if deaf {
			return
		}
		apply(seq, keys)
		l.mu.Lock()
		l.applied = seq
		l.mu.Unlock()
	})
}

func (l *countedLog) counts() (asked int, applied uint64) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.asked, l.applied
}

// replicaOf starts the answers of one replica over its own Redis client, in
// namespace ns, with leases of lease (zero: the default), and returns them,
// their log and its store; stop ends its Run.
func replicaOf(t *testing.T, ns string, check answer.Check, lease time.Duration) (c *answer.Cache, log *countedLog, store Store, stop func()) {
	t.Helper()
	rdb := redisClient(t)
	log = &countedLog{RedisWriteLog: NewRedisWriteLog(rdb, ns, quiet())}
	if lease > 0 {
		log.lease = lease
	}
	c = answer.New(answer.Options{Log: log, Check: check})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { c.Run(ctx); close(done) }()
	stop = sync.OnceFunc(func() { cancel(); <-done })
	t.Cleanup(stop)
	require.Eventually(t, c.Following, 5*time.Second, time.Millisecond)
	if check == answer.CheckLease {
		require.Eventually(t, c.Leased, 5*time.Second, time.Millisecond)
	}
	return c, log, Logged(NewRedisStore(rdb, StoreOptions{Namespace: ns}), log), stop
}

// Two replicas' answers over one Redis: once a write logged on one has
// returned, the other serves nothing computed from what it wrote; with a
// lease, without asking Redis per answer.
func TestAWriteOnOneReplicaDropsTheAnswersOfAnother(t *testing.T) {
	for _, check := range []answer.Check{answer.CheckLease, answer.CheckEach} {
		t.Run("check="+check.String(), func(t *testing.T) {
			ns := namespace(t, redisClient(t))
			a, _, storeA, _ := replicaOf(t, ns, check, 0)
			b, logB, _, _ := replicaOf(t, ns, check, 0)
			ctx := context.Background()
			served := 0
			for i := range 20 {
				key := fmt.Sprint("room:", i%3)
				seq, ok := b.Begin()
				require.True(t, ok)
				b.Put("q", answer.Answer{Body: []byte("old")}, seq, []string{key}, time.Time{})
				_, ok = b.Get(ctx, "q")
				require.True(t, ok)
				served++
				require.NoError(t, storeA.Invalidate(ctx, []string{key}))
				_, ok = b.Get(ctx, "q")
				require.False(t, ok, "round %d: the write on the other replica had returned", i)
				seq, _ = a.Begin()
				a.Put("q", answer.Answer{Body: []byte("other")}, seq, []string{"room:other"}, time.Time{})
				_, ok = a.Get(ctx, "q")
				assert.True(t, ok, "a write of another key leaves it")
			}
			asked, _ := logB.counts()
			if check == answer.CheckLease {
				assert.Zero(t, asked, "a leaseholder serves without asking where the fleet is")
				assert.True(t, b.Leased())
			} else {
				assert.GreaterOrEqual(t, asked, served)
			}
		})
	}
}

// A write returns only once every leaseholder has applied it.
func TestAWriteWaitsForEveryLeaseholder(t *testing.T) {
	ns := namespace(t, redisClient(t))
	_, _, store, _ := replicaOf(t, ns, answer.CheckLease, 0)
	var logs []*countedLog
	for range 3 {
		_, log, _, _ := replicaOf(t, ns, answer.CheckLease, 0)
		logs = append(logs, log)
	}
	ctx := context.Background()
	for i := range 30 {
		require.NoError(t, store.Invalidate(ctx, []string{fmt.Sprint("room:", i)}))
		seq, err := logs[0].Seq(ctx)
		require.NoError(t, err)
		for j, l := range logs {
			_, applied := l.counts()
			require.Equal(t, seq, applied, "write %d: replica %d had not applied it when it returned", i, j)
		}
	}
}

// A leaseholder that stops hearing the writes is waited for until its lease
// runs out, and then serves nothing it kept without asking; once it hears
// them again it gets a lease again. A replica that stops is not waited for.
func TestALeaseholderThatStopsHearingIsWaitedForUntilItsLeaseRunsOut(t *testing.T) {
	ns := namespace(t, redisClient(t))
	const lease = 400 * time.Millisecond
	_, _, storeA, _ := replicaOf(t, ns, answer.CheckLease, lease)
	b, logB, _, _ := replicaOf(t, ns, answer.CheckLease, lease)
	ctx := context.Background()
	seq, ok := b.Begin()
	require.True(t, ok)
	b.Put("q", answer.Answer{Body: []byte("old")}, seq, []string{"room:1"}, time.Time{})
	_, ok = b.Get(ctx, "q")
	require.True(t, ok)

	logB.mu.Lock()
	logB.deaf = true
	logB.mu.Unlock()
	start := time.Now()
	require.NoError(t, storeA.Invalidate(ctx, []string{"room:1"}))
	took := time.Since(start)
	assert.False(t, b.Leased(), "the deaf replica's lease ran out before the write returned (it took %s)", took)
	_, ok = b.Get(ctx, "q")
	assert.False(t, ok, "the deaf replica serves nothing kept from before the write")
	t.Logf("a write waited %s for a deaf leaseholder (lease %s)", took, lease)

	// Hearing again: the next write shows the gap, everything kept is
	// dropped, and the replica, caught up, gets a lease again.
	logB.mu.Lock()
	logB.deaf = false
	logB.mu.Unlock()
	require.NoError(t, storeA.Invalidate(ctx, []string{"room:3"}))
	require.Eventually(t, b.Leased, 5*time.Second, 5*time.Millisecond, "a replica that hears the writes again gets a lease again")

	// A replica that stops gives its lease up at once.
	_, _, _, stopC := replicaOf(t, ns, answer.CheckLease, 10*time.Second)
	stopC()
	start = time.Now()
	require.NoError(t, storeA.Invalidate(ctx, []string{"room:2"}))
	assert.Less(t, time.Since(start), 5*time.Second, "no wait for a replica that stopped")
	n, err := logB.rdb.HLen(ctx, logB.followersKey).Result()
	require.NoError(t, err)
	assert.EqualValues(t, 2, n, "the stopped replica left the followers")
}

// Hold renews a lease only for a follower that has applied every write.
func TestALeaseIsRenewedOnlyWhenCaughtUp(t *testing.T) {
	rdb := redisClient(t)
	log := NewRedisWriteLog(rdb, namespace(t, rdb), quiet())
	ctx := context.Background()
	until, err := log.Hold(ctx, "f", 0)
	require.NoError(t, err)
	assert.True(t, until.After(time.Now()), "caught up: granted")
	// The write waits for f, which never applies it, until f's lease runs
	// out.
	log.lease = 300 * time.Millisecond
	until, err = log.Hold(ctx, "f", 0)
	require.NoError(t, err)
	require.False(t, until.IsZero())
	require.NoError(t, log.Written(ctx, []string{"k"}))
	until, err = log.Hold(ctx, "f", 0)
	require.NoError(t, err)
	assert.True(t, until.IsZero(), "behind: not renewed")
	until, err = log.Hold(ctx, "f", 1)
	require.NoError(t, err)
	assert.True(t, until.After(time.Now()), "caught up again: granted")
	n, err := rdb.HLen(ctx, log.followersKey).Result()
	require.NoError(t, err)
	assert.EqualValues(t, 1, n)
	require.NoError(t, log.Release(ctx, "f"))
	n, err = rdb.HLen(ctx, log.followersKey).Result()
	require.NoError(t, err)
	assert.Zero(t, n)
}

type recordedLog struct {
	mu     sync.Mutex
	writes [][]string
	fail   bool
}

func (r *recordedLog) Written(_ context.Context, keys []string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail {
		return errors.New("log down")
	}
	r.writes = append(r.writes, append([]string(nil), keys...))
	return nil
}

func TestALoggedStoreLogsEveryWriteAndRetriesWhatTheLogMissed(t *testing.T) {
	rec := &recordedLog{}
	st := Logged(NewMemoryStore(), rec)
	ctx := context.Background()
	require.NoError(t, st.Set(ctx, []Item{{Key: "a", Value: []byte("1"), TTL: time.Minute}, {Key: "b", Value: []byte("2"), TTL: time.Minute, Unconditional: true}}))
	require.NoError(t, st.Invalidate(ctx, []string{"c"}))
	_, err := st.Bump(ctx, []string{"d"})
	require.NoError(t, err)
	_, err = st.Get(ctx, []string{"a"})
	require.NoError(t, err)
	assert.Equal(t, [][]string{{"a", "b"}, {"c"}, {"d"}}, rec.writes, "reads are not logged")

	rec.fail = true
	require.NoError(t, st.Invalidate(ctx, []string{"e"}))
	rec.fail = false
	require.NoError(t, st.Invalidate(ctx, []string{"f"}))
	assert.Equal(t, []string{"f", "e"}, rec.writes[len(rec.writes)-1], "the missed write goes with the next")
}

// Random interleavings over two replicas on one Redis, with leases: readers
// on both keep and serve answers computed from versioned keys while a
// writer changes them through either replica's store; a read made after a
// write returned, on either replica, never serves an answer computed before
// it.
func TestKeptAnswersOnTwoReplicasUnderRandomInterleavings(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	ns := namespace(t, redisClient(t))
	var replicas []*answer.Cache
	var stores []Store
	for range 2 {
		c, _, st, _ := replicaOf(t, ns, answer.CheckLease, 0)
		replicas, stores = append(replicas, c), append(stores, st)
	}
	const keys = 4
	var mu sync.Mutex
	version := make([]int, keys)
	ctx := context.Background()
	compute := func(a, b int) (string, []string) {
		mu.Lock()
		defer mu.Unlock()
		return fmt.Sprint(version[a], ".", version[b]), []string{fmt.Sprint("k", a), fmt.Sprint("k", b)}
	}
	read := func(r *rand.Rand) (id, got, want string) {
		c := replicas[r.IntN(len(replicas))]
		a, b := r.IntN(keys), r.IntN(keys)
		id = fmt.Sprint(a, "/", b)
		if ans, ok := c.Get(ctx, id); ok {
			got = string(ans.Body)
		} else if since, ok := c.Begin(); ok {
			v, ks := compute(a, b)
			got = v
			c.Put(id, answer.Answer{Body: []byte(v)}, since, ks, time.Time{})
		} else {
			got, _ = compute(a, b)
		}
		want, _ = compute(a, b)
		return id, got, want
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for i := range 4 {
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
	for range 300 {
		k := r.IntN(keys)
		mu.Lock()
		version[k]++
		mu.Unlock()
		require.NoError(t, stores[r.IntN(len(stores))].Invalidate(ctx, []string{fmt.Sprint("k", k)}))
		for range 4 {
			id, got, want := read(r)
			require.Equal(t, want, got, "answer %s after a write of k%d", id, k)
		}
	}
	close(stop)
	wg.Wait()
	for i, c := range replicas {
		assert.True(t, c.Leased(), "replica %d held its lease throughout", i)
	}
}

// The followers' hash lives in the counter's Redis Cluster slot, in the
// gateway's key space and in a namespace with a hash tag of its own.
func TestTheFollowersShareTheCountersSlot(t *testing.T) {
	for key, want := range map[string]string{
		"egw:v2:writes":       "egw:v2:writes:followers{egw:v2:writes}",
		"ns:egw:v2:writes":    "ns:egw:v2:writes:followers{ns:egw:v2:writes}",
		"{gw}:egw:v2:writes":  "{gw}:egw:v2:writes:followers",
		"a{b}c:egw:v2:writes": "a{b}c:egw:v2:writes:followers",
	} {
		got := sameSlot(key, "followers")
		assert.Equal(t, want, got, key)
		assert.Equal(t, slotTag(key), slotTag(got), "%s and %s share a slot", key, got)
	}
}

// slotTag is the part of a key Redis Cluster hashes.
func slotTag(key string) string {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			return key[i+1 : i+1+j]
		}
	}
	return key
}
