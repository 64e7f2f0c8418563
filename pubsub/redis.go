package pubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/engagegql/gateway/workplace"
)

// subscribeTimeout bounds NewRedis's wait for Redis to confirm the
// subscription.
const subscribeTimeout = 10 * time.Second

// Redis is a Broker across replicas: every replica publishes to one Redis
// channel and fans out what it receives from it to its own subscribers.
// A replica does not also deliver its own changes locally; they come back
// through Redis like everyone else's, so each subscriber sees each change
// once.
//
// Each Redis owns one *redis.PubSub, one connection per process, read by one
// goroutine. go-redis reconnects and resubscribes that connection by itself
// (it pings every few seconds and redials on failure), but Redis pub/sub
// keeps nothing: changes published while this replica was disconnected are
// lost to its subscribers. A resubscription is logged as a warning so the
// gap is visible. Changes this replica publishes while Redis is down stay in
// the publish buffer and are sent, in order, when it is back; they reach
// only the replicas that have resubscribed by then. A PUBLISH that fails
// ambiguously (a timeout after Redis took it) is retried, by go-redis and
// then by the broker, so a change may rarely arrive twice: subscribers
// re-read on a change, so a duplicate costs a read, a loss a stale screen.
type Redis struct {
	client  redis.UniversalClient
	channel string
	log     *slog.Logger

	ps  *redis.PubSub
	hub *hub
	out *outbox[[]byte]

	received chan struct{} // closed when the receive loop has exited
	once     sync.Once
}

var _ Broker = (*Redis)(nil)

// NewRedis subscribes to opts.Channel and returns once Redis has confirmed
// it, so that a change published after NewRedis returns reaches this
// replica. It fails when Redis does not confirm within 10 seconds: a replica
// that starts without Redis should not look healthy. The client stays the
// caller's: Close does not close it.
func NewRedis(client redis.UniversalClient, opts Options) (*Redis, error) {
	if client == nil {
		return nil, errors.New("pubsub: nil redis client")
	}
	opts = opts.withDefaults()

	ctx, cancel := context.WithTimeout(context.Background(), subscribeTimeout)
	defer cancel()
	ps := client.Subscribe(ctx, opts.Channel)
	// Subscribe does not wait; the first reply is the confirmation.
	msg, err := ps.Receive(ctx)
	if err == nil {
		if _, ok := msg.(*redis.Subscription); !ok {
			err = fmt.Errorf("unexpected reply %T", msg)
		}
	}
	if err != nil {
		_ = ps.Close()
		return nil, fmt.Errorf("pubsub: subscribing to redis channel %q: %w", opts.Channel, err)
	}

	r := &Redis{
		client:   client,
		channel:  opts.Channel,
		log:      opts.Logger,
		ps:       ps,
		hub:      newHub(opts.SubscriberBuffer, opts.Logger),
		received: make(chan struct{}),
	}
	r.out = newOutbox(opts.PublishBuffer, opts.Logger, r.send)
	// ChannelWithSubscriptions rather than Channel: the subscription replies
	// are how a reconnect shows. go-redis drops a message only when this Go
	// channel stays full for a minute; the loop never blocks, so it does not.
	go r.receive(ps.ChannelWithSubscriptions())
	return r, nil
}

// Publish encodes c and queues it for PUBLISH; see Broker. An encoding error
// is returned at once; ErrBacklog when the queue is full (Redis down or
// slow); ErrClosed after Close. ctx only carries log attributes: the send
// outlives the caller.
func (r *Redis) Publish(ctx context.Context, c workplace.Change) error {
	b, err := encodeChange(c)
	if err != nil {
		return err
	}
	return r.out.enqueue(ctx, b)
}

func (r *Redis) send(ctx context.Context, b []byte) error {
	return r.client.Publish(ctx, r.channel, b).Err()
}

// receive is the only reader of r.ps: it decodes each message and fans it
// out, and exits when Close closes the PubSub.
func (r *Redis) receive(ch <-chan any) {
	defer close(r.received)
	for msg := range ch {
		switch m := msg.(type) {
		case *redis.Subscription:
			if m.Kind == "subscribe" {
				r.log.Warn("pubsub: resubscribed to redis after a disconnect; changes published meanwhile were lost",
					"channel", r.channel)
			}
		case *redis.Message:
			c, err := decodeChange([]byte(m.Payload))
			if err != nil {
				r.log.Error("pubsub: undecodable change from redis", "channel", r.channel, "err", err)
				continue
			}
			r.hub.broadcast(c)
		}
	}
}

// Subscribe receives every change published from now on, by any replica,
// until ctx ends or the subscription or broker is closed.
func (r *Redis) Subscribe(ctx context.Context) *Subscription { return r.hub.subscribe(ctx) }

// Close stops publishing (dropping what is still queued, after waiting for a
// PUBLISH in flight up to the client's timeouts), closes the PubSub, waits
// for the receive loop to exit and ends every subscription with a nil Err.
// It is safe to call more than once.
func (r *Redis) Close() error {
	var err error
	r.once.Do(func() {
		r.out.close()
		err = r.ps.Close()
		<-r.received
		r.hub.close()
	})
	return err
}

// Subscribers is how many subscriptions are live on this replica, for
// metrics.
func (r *Redis) Subscribers() int { return r.hub.count() }

// Dropped is how many of this replica's subscriptions were ended with
// ErrSlowSubscriber, for metrics.
func (r *Redis) Dropped() uint64 { return r.hub.dropped.Load() }

// Published is how many changes this replica has PUBLISHed to Redis, for
// metrics.
func (r *Redis) Published() uint64 { return r.out.published.Load() }
