// Package pubsub carries workplace.Change events from the webhook handler to
// GraphQL subscriptions: inside one process (Memory) and across the gateway's
// replicas through one shared Redis (Redis).
//
// Both brokers share two pieces, each written once: an outbox, the bounded
// buffer between Publish and the single goroutine that sends, so the webhook
// handler is never held up by subscribers or by Redis; and a hub, the
// non-blocking fan-out to local subscribers, which drops a subscriber that
// falls behind rather than stall the others (after benbjohnson/wtf
// inmem/event.go).
//
// Across replicas, delivery survives a replica's disconnection from Redis:
// the Redis broker appends every change to one Redis stream, and each
// replica reads the stream from the last change it read. A replica that was
// cut off for a while (a network blip, a failover, a restart of Redis with
// its data) catches up on what was published meanwhile, in order, as long as
// the stream still holds it: the stream keeps about Options.StreamLength
// changes, and a replica that was away for longer than that logs that
// changes may have been lost and reads on from the newest. So delivery is at
// least once within that window: a publish that fails ambiguously (Redis
// took it but the reply was lost) is retried and arrives twice, rarely.
// Within a replica, a subscriber that falls behind is dropped. What must be
// durable is the cache invalidation, which the webhook handler does before
// it publishes; events only tell live clients to look again, so a duplicate
// costs a read and a loss a stale screen until the next change.
//
//	pubsub.go        the Broker interface, its errors and Options
//	codec.go         a workplace.Change as it crosses Redis
//	hub.go           the hub: the non-blocking fan-out to one process's subscribers
//	memory.go        Memory: the Broker within one process
//	outbox.go        the outbox: the bounded buffer before the sending goroutine
//	redis.go         Redis: the Broker across replicas, over one Redis stream
//	stream.go        the Redis broker's reader, resuming after disconnections
//	subscription.go  Subscription: one subscriber's changes, and why it ended
package pubsub

import (
	"context"
	"errors"
	"log/slog"

	"github.com/engagegql/gateway/workplace"
)

// Broker hands changes from the webhook handler to subscribers. Memory and
// Redis implement it; resolvers and the webhook handler depend on this
// interface, never on Redis.
type Broker interface {
	// Publish hands a change to every subscriber on every replica, once
	// (see the package comment for when it may arrive twice or not at all).
	// It never blocks the caller (the webhook handler) on slow
	// subscribers or on Redis: it enqueues into a bounded buffer served by a
	// goroutine; when the buffer is full it returns ErrBacklog (and logs).
	Publish(ctx context.Context, c workplace.Change) error
	// Subscribe returns a subscription receiving every change published from
	// now on, on any replica, until ctx ends or Close.
	Subscribe(ctx context.Context) *Subscription
	// Close stops the broker's goroutines and ends every subscription.
	Close() error
}

// Errors a caller may act on.
var (
	// ErrSlowSubscriber is a Subscription's Err when the broker dropped it for
	// not keeping up: its buffer was full when a change arrived. The
	// subscriber missed at least that change; a GraphQL subscription should
	// end with an error so the client resubscribes and re-reads.
	ErrSlowSubscriber = errors.New("pubsub: subscriber dropped for falling behind")
	// ErrBacklog is returned by Publish when the publish buffer is full
	// (Redis is down or slow): the change is dropped rather than block the
	// webhook handler.
	ErrBacklog = errors.New("pubsub: publish buffer full, change dropped")
	// ErrClosed is returned by Publish after Close.
	ErrClosed = errors.New("pubsub: broker closed")
)

// Defaults for the zero Options.
const (
	DefaultSubscriberBuffer = 64
	DefaultPublishBuffer    = 1024
	// DefaultChannel is the key of the Redis stream. It carries the wire
	// format's version, so replicas of different versions during a rollout
	// never read each other's events. It is one key, so it lives in one
	// Cluster slot like any other.
	DefaultChannel = "egw:v1:changes"
	// DefaultStreamLength bounds the stream at about 10,000 changes: a few
	// megabytes of Redis memory, and hours of webhooks, for a replica to
	// catch up on after a disconnection.
	DefaultStreamLength = 10000
)

// Options tune a broker; the zero value is ready to use.
type Options struct {
	// SubscriberBuffer is how many changes a subscriber may fall behind
	// before it is dropped with ErrSlowSubscriber. Zero means
	// DefaultSubscriberBuffer.
	SubscriberBuffer int
	// PublishBuffer is how many changes Publish may queue ahead of the
	// sending goroutine (for Redis, through an outage) before it returns
	// ErrBacklog. Zero means DefaultPublishBuffer.
	PublishBuffer int
	// Channel is the key of the Redis stream every replica appends to and
	// reads (the name is from when it was a pub/sub channel); Memory ignores
	// it. Empty means DefaultChannel.
	Channel string
	// StreamLength is about how many changes the Redis stream keeps (XADD
	// MAXLEN ~): how far a replica cut off from Redis can fall behind and
	// still catch up. Redis trims whole nodes of the stream
	// (stream-node-max-entries, 100 by default), so it keeps up to that many
	// more. Every replica should use the same. Memory ignores it. Zero means
	// DefaultStreamLength.
	StreamLength int
	// Logger receives drops, backlog and Redis trouble. Nil means
	// slog.Default().
	Logger *slog.Logger
}

func (o Options) withDefaults() Options {
	if o.SubscriberBuffer <= 0 {
		o.SubscriberBuffer = DefaultSubscriberBuffer
	}
	if o.PublishBuffer <= 0 {
		o.PublishBuffer = DefaultPublishBuffer
	}
	if o.Channel == "" {
		o.Channel = DefaultChannel
	}
	if o.StreamLength <= 0 {
		o.StreamLength = DefaultStreamLength
	}
	if o.Logger == nil {
		o.Logger = slog.Default()
	}
	return o
}
