package pubsub_test

import (
	"context"
	"errors"
	"log/slog"
	"net"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/engagegql/gateway/pubsub"
)

func TestRedisReplicasEachDeliverOnce(t *testing.T) {
	channel := uniqueChannel(t)
	a := newRedis(t, pubsub.Options{Channel: channel})
	b := newRedis(t, pubsub.Options{Channel: channel})
	subs := map[string]*pubsub.Subscription{
		"a1": a.Subscribe(t.Context()), "a2": a.Subscribe(t.Context()), "b1": b.Subscribe(t.Context()),
	}

	for i, from := range []testBroker{a, b, a} {
		c := change(i + 1)
		require.NoError(t, publishPromptly(t, from, c))
		for name, s := range subs {
			assert.Equal(t, c, recv(t, s), "subscriber %s", name)
		}
		require.NoError(t, publishPromptly(t, from, sentinel()))
		for name, s := range subs {
			assert.Equal(t, sentinel(), recv(t, s), "subscriber %s got a change twice", name)
		}
	}
	assert.Eventually(t, func() bool { return a.Published() == 4 && b.Published() == 2 }, wait, 10*time.Millisecond)
}

func TestRedisRecoversAfterRestart(t *testing.T) {
	port := freePort(t)
	srv := startRedisServer(t, port)
	client := redis.NewClient(&redis.Options{Addr: srv.addr()})
	t.Cleanup(func() { _ = client.Close() })
	b, err := pubsub.NewRedis(client, pubsub.Options{Channel: uniqueChannel(t), Logger: testLogger(t)})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, b.Close()) })
	s := b.Subscribe(t.Context())

	require.NoError(t, publishPromptly(t, b, change(1)))
	require.Equal(t, change(1), recv(t, s))

	srv.stop()
	startRedisServer(t, port)

	// Both sides reconnect on their own; publish until a change made after
	// the restart arrives on the same subscription.
	giveUp := time.After(20 * time.Second)
	for i := 2; ; i++ {
		require.NoError(t, publishPromptly(t, b, change(i)))
		select {
		case c, ok := <-s.C():
			require.True(t, ok, "subscription ended: %v", s.Err())
			assert.GreaterOrEqual(t, c.BookingID, change(2).BookingID)
			assert.Equal(t, 1, b.Subscribers())
			return
		case <-time.After(200 * time.Millisecond):
		case <-giveUp:
			t.Fatal("no change arrived after redis restarted")
		}
	}
}

func TestRedisDownPublishDoesNotBlock(t *testing.T) {
	srv := startRedisServer(t, freePort(t))
	// No go-redis retries, so the first failed PUBLISH is logged at once.
	client := redis.NewClient(&redis.Options{Addr: srv.addr(), MaxRetries: -1})
	t.Cleanup(func() { _ = client.Close() })
	var logs logBuffer
	const buffer = 4
	b, err := pubsub.NewRedis(client, pubsub.Options{
		Channel:       uniqueChannel(t),
		PublishBuffer: buffer,
		Logger:        slog.New(slog.NewTextHandler(&logs, nil)),
	})
	require.NoError(t, err)
	s := b.Subscribe(t.Context())

	srv.stop()
	// The sender holds one change it keeps retrying; the buffer takes
	// `buffer` more; the next is refused.
	var backlog error
	for i := 1; i <= buffer+2 && backlog == nil; i++ {
		if err := publishPromptly(t, b, change(i)); err != nil {
			backlog = err
		}
	}
	require.ErrorIs(t, backlog, pubsub.ErrBacklog)
	assert.Contains(t, logs.String(), "publish buffer full")
	assert.Eventually(t, func() bool { return strings.Contains(logs.String(), "publish failed") },
		wait, 10*time.Millisecond, "logs: %s", logs.String())

	closePromptly(t, b)
	assert.Empty(t, ended(t, s))
	assert.NoError(t, s.Err())
	assert.Contains(t, logs.String(), "closed with changes not yet published")
}

func TestNewRedisFailsWithoutRedis(t *testing.T) {
	client := redis.NewClient(&redis.Options{Addr: net.JoinHostPort("127.0.0.1", strconv.Itoa(freePort(t)))})
	t.Cleanup(func() { _ = client.Close() })
	done := make(chan error, 1)
	go func() {
		b, err := pubsub.NewRedis(client, pubsub.Options{Logger: testLogger(t)})
		if err == nil {
			_ = b.Close()
		}
		done <- err
	}()
	select {
	case err := <-done:
		assert.Error(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("NewRedis blocked")
	}

	_, err := pubsub.NewRedis(nil, pubsub.Options{})
	assert.Error(t, err)
	assert.False(t, errors.Is(err, context.DeadlineExceeded))
}
