package pubsub

import (
	"context"

	"github.com/engagegql/gateway/workplace"
)

// Memory is a Broker within one process: for a single replica, for tests,
// and for running without Redis. It behaves like Redis minus the network:
// Publish queues, one goroutine fans out.
type Memory struct {
	hub *hub
	out *outbox[workplace.Change]
}

var _ Broker = (*Memory)(nil)

// NewMemory starts an in-process broker; Close stops it.
func NewMemory(opts Options) *Memory {
	opts = opts.withDefaults()
	m := &Memory{hub: newHub(opts.SubscriberBuffer, opts.Logger)}
	m.out = newOutbox(opts.PublishBuffer, opts.Logger, func(_ context.Context, c workplace.Change) error {
		m.hub.broadcast(c)
		return nil
	})
	return m
}

// Publish queues c for every subscriber; see Broker. It returns ErrBacklog
// when the queue is full and ErrClosed after Close. ctx only carries log
// attributes: delivery outlives the caller.
func (m *Memory) Publish(ctx context.Context, c workplace.Change) error {
	return m.out.enqueue(ctx, c)
}

// Subscribe receives every change published from now on until ctx ends or
// the subscription or broker is closed.
func (m *Memory) Subscribe(ctx context.Context) *Subscription { return m.hub.subscribe(ctx) }

// Close stops the fan-out goroutine, drops changes not yet delivered and ends
// every subscription with a nil Err. It is safe to call more than once.
func (m *Memory) Close() error {
	m.out.close()
	m.hub.close()
	return nil
}

// Subscribers is how many subscriptions are live, for metrics.
func (m *Memory) Subscribers() int { return m.hub.count() }

// Dropped is how many subscriptions were ended with ErrSlowSubscriber, for
// metrics.
func (m *Memory) Dropped() uint64 { return m.hub.dropped.Load() }

// Published is how many changes were fanned out, for metrics.
func (m *Memory) Published() uint64 { return m.out.published.Load() }
