package pubsub_test

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/engagegql/gateway/pubsub"
	"github.com/engagegql/gateway/workplace"
)

// brokers are the implementations every behaviour test runs against. Each
// constructor closes the broker after the test.
func brokers() []struct {
	name string
	new  func(t *testing.T, opts pubsub.Options) testBroker
} {
	return []struct {
		name string
		new  func(t *testing.T, opts pubsub.Options) testBroker
	}{
		{name: "memory", new: newMemory},
		{name: "redis", new: newRedis},
		{name: "redis-pool", new: newRedisPooled},
	}
}

func newMemory(t *testing.T, opts pubsub.Options) testBroker {
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	b := pubsub.NewMemory(opts)
	t.Cleanup(func() { assert.NoError(t, b.Close()) })
	return b
}

// newRedis is one replica on its own client; the stream is unique to the
// test unless opts names one.
func newRedis(t *testing.T, opts pubsub.Options) testBroker {
	t.Helper()
	return newRedisOn(t, newClient(t, redisURL(t)), opts)
}

// pooledClient hides that its client is a *redis.Client, as a Cluster or
// Ring client is not one: the broker then reads through the client's pool
// rather than a connection of its own.
type pooledClient struct{ redis.UniversalClient }

// newRedisPooled is newRedis through a pooledClient.
func newRedisPooled(t *testing.T, opts pubsub.Options) testBroker {
	t.Helper()
	return newRedisOn(t, pooledClient{newClient(t, redisURL(t))}, opts)
}

// newRedisOn is one replica on client, closed after the test; the stream is
// unique to the test unless opts names one.
func newRedisOn(t *testing.T, client redis.UniversalClient, opts pubsub.Options) testBroker {
	t.Helper()
	if opts.Channel == "" {
		opts.Channel = uniqueStream(t)
	}
	if opts.Logger == nil {
		opts.Logger = testLogger(t)
	}
	b, err := pubsub.NewRedis(client, opts)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, b.Close()) })
	return b
}

func TestDeliversEveryChangeOnceInOrder(t *testing.T) {
	for _, bc := range brokers() {
		t.Run(bc.name, func(t *testing.T) {
			b := bc.new(t, pubsub.Options{})
			subs := []*pubsub.Subscription{
				b.Subscribe(t.Context()), b.Subscribe(t.Context()), b.Subscribe(t.Context()),
			}
			require.Equal(t, 3, b.Subscribers())

			// Fewer than the subscriber buffer, so nobody needs to read
			// while publishing.
			const n = 50
			for i := 1; i <= n; i++ {
				require.NoError(t, publishPromptly(t, b, change(i)))
			}
			require.NoError(t, publishPromptly(t, b, sentinel()))
			for _, s := range subs {
				for i := 1; i <= n; i++ {
					require.Equal(t, change(i), recv(t, s))
				}
				assert.Equal(t, sentinel(), recv(t, s), "a change arrived twice")
			}
			assert.Eventually(t, func() bool { return b.Published() == n+1 }, wait, 10*time.Millisecond)
			assert.Zero(t, b.Dropped())
		})
	}
}

func TestSubscriptionEnds(t *testing.T) {
	for _, bc := range brokers() {
		t.Run(bc.name, func(t *testing.T) {
			b := bc.new(t, pubsub.Options{})
			ctx, cancel := context.WithCancel(t.Context())
			cancelled := b.Subscribe(ctx)
			closed := b.Subscribe(t.Context())
			stays := b.Subscribe(t.Context())
			done, cancelDone := context.WithCancel(t.Context())
			cancelDone()
			require.Empty(t, ended(t, b.Subscribe(done)), "subscribing with a finished context")
			require.Equal(t, 3, b.Subscribers())

			cancel()
			assert.Empty(t, ended(t, cancelled))
			assert.NoError(t, cancelled.Err())
			closed.Close()
			closed.Close()
			assert.Empty(t, ended(t, closed))
			assert.NoError(t, closed.Err())
			assert.Equal(t, 1, b.Subscribers())

			require.NoError(t, publishPromptly(t, b, change(1)))
			assert.Equal(t, change(1), recv(t, stays))
			assert.NoError(t, stays.Err())
		})
	}
}

func TestSlowSubscriberIsDropped(t *testing.T) {
	for _, bc := range brokers() {
		t.Run(bc.name, func(t *testing.T) {
			b := bc.new(t, pubsub.Options{SubscriberBuffer: 1})
			slow := b.Subscribe(t.Context()) // never reads
			fast := b.Subscribe(t.Context())

			// One change at a time, each read by fast before the next: fast
			// never holds more than its buffer of one, slow overflows on the
			// second.
			const n = 10
			for i := 1; i <= n; i++ {
				require.NoError(t, publishPromptly(t, b, change(i)))
				require.Equal(t, change(i), recv(t, fast))
			}
			assert.Equal(t, []workplace.Change{change(1)}, ended(t, slow))
			assert.ErrorIs(t, slow.Err(), pubsub.ErrSlowSubscriber)
			assert.NoError(t, fast.Err())
			assert.Equal(t, uint64(1), b.Dropped())
			assert.Equal(t, 1, b.Subscribers())
		})
	}
}

func TestPublishNeverBlocks(t *testing.T) {
	for _, bc := range brokers() {
		t.Run(bc.name, func(t *testing.T) {
			const buffer = 4
			b := bc.new(t, pubsub.Options{SubscriberBuffer: 1, PublishBuffer: buffer})
			slow := b.Subscribe(t.Context()) // never reads

			accepted := 0
			for i := 1; i <= 200; i++ {
				err := publishPromptly(t, b, change(i))
				if err == nil {
					accepted++
					continue
				}
				require.ErrorIs(t, err, pubsub.ErrBacklog)
			}
			// The buffer starts empty, so at least its size goes through:
			// more than enough to overflow slow.
			assert.GreaterOrEqual(t, accepted, buffer)
			// Keep publishing, one change at a time and never blocked, until
			// slow is dropped; slow's channel is not read, so it stays slow.
			giveUp := time.After(2 * wait)
			for i := 201; b.Dropped() == 0; i++ {
				if err := publishPromptly(t, b, change(i)); err != nil {
					require.ErrorIs(t, err, pubsub.ErrBacklog)
				}
				select {
				case <-time.After(20 * time.Millisecond):
				case <-giveUp:
					t.Fatalf("slow subscriber not dropped; published %d", b.Published())
				}
			}
			assert.Equal(t, uint64(1), b.Dropped())
			ended(t, slow)
			assert.ErrorIs(t, slow.Err(), pubsub.ErrSlowSubscriber)
		})
	}
}

func TestCloseEndsEverything(t *testing.T) {
	for _, bc := range brokers() {
		t.Run(bc.name, func(t *testing.T) {
			before := runtime.NumGoroutine()
			b := bc.new(t, pubsub.Options{})
			subs := []*pubsub.Subscription{b.Subscribe(t.Context()), b.Subscribe(t.Context())}
			require.NoError(t, publishPromptly(t, b, change(1)))
			for _, s := range subs {
				require.Equal(t, change(1), recv(t, s))
			}

			closePromptly(t, b)
			for _, s := range subs {
				assert.Empty(t, ended(t, s))
				assert.NoError(t, s.Err())
			}
			assert.Zero(t, b.Subscribers())
			assert.ErrorIs(t, b.Publish(t.Context(), change(2)), pubsub.ErrClosed)
			assert.Empty(t, ended(t, b.Subscribe(t.Context())), "subscribing after Close")
			assert.NoError(t, b.Close(), "second Close")

			// Every goroutine the broker started, and the ones go-redis
			// started for its reader, has exited.
			goroutinesDropTo(t, before)
		})
	}
}

// goroutinesDropTo polls, from the test's own goroutine so as not to count
// a poller, until at most n goroutines run, and dumps them if not.
func goroutinesDropTo(t *testing.T, n int) {
	t.Helper()
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	timeout := time.After(wait)
	for runtime.NumGoroutine() > n {
		select {
		case <-tick.C:
		case <-timeout:
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines, want at most %d:\n%s", runtime.NumGoroutine(), n, buf[:runtime.Stack(buf, true)])
		}
	}
}

func TestPublishIgnoresCallerContext(t *testing.T) {
	// The webhook's request may be over by the time the change is sent; the
	// change must still go out.
	for _, bc := range brokers() {
		t.Run(bc.name, func(t *testing.T) {
			b := bc.new(t, pubsub.Options{})
			s := b.Subscribe(t.Context())
			ctx, cancel := context.WithCancel(t.Context())
			cancel()
			err := b.Publish(ctx, change(1))
			require.False(t, errors.Is(err, context.Canceled))
			require.NoError(t, err)
			assert.Equal(t, change(1), recv(t, s))
		})
	}
}
