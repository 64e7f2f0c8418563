package cache

import (
	"context"
	"errors"
	"fmt"
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

// Two replicas' answers over one Redis: once a write logged on one has
// returned, the other serves nothing computed from what it wrote.
func TestAWriteOnOneReplicaDropsTheAnswersOfAnother(t *testing.T) {
	rdb := redisClient(t)
	ns := namespace(t, rdb)
	replica := func() (*answer.Cache, Store) {
		log := NewRedisWriteLog(redisClient(t), ns, quiet())
		c := answer.New(answer.Options{Log: log})
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { c.Run(ctx); close(done) }()
		t.Cleanup(func() { cancel(); <-done })
		require.Eventually(t, c.Following, 5*time.Second, time.Millisecond)
		return c, Logged(NewRedisStore(rdb, StoreOptions{Namespace: ns}), log)
	}
	a, storeA := replica()
	b, _ := replica()
	ctx := context.Background()
	for i := range 20 {
		key := fmt.Sprint("room:", i%3)
		seq, ok := b.Begin()
		require.True(t, ok)
		b.Put("q", answer.Answer{Body: []byte("old")}, seq, []string{key}, time.Time{})
		_, ok = b.Get(ctx, "q")
		require.True(t, ok)
		require.NoError(t, storeA.Invalidate(ctx, []string{key}))
		_, ok = b.Get(ctx, "q")
		require.False(t, ok, "round %d: the write on the other replica had returned", i)
		seq, _ = a.Begin()
		a.Put("q", answer.Answer{Body: []byte("other")}, seq, []string{"room:other"}, time.Time{})
		_, ok = a.Get(ctx, "q")
		assert.True(t, ok, "a write of another key leaves it")
	}
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
