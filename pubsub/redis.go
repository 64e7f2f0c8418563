package pubsub

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/engagegql/gateway/workplace"
)

// startTimeout bounds NewRedis's wait for Redis to answer.
const startTimeout = 10 * time.Second

// changeField is the stream entry's one field, holding the encoded change.
const changeField = "c"

// Redis is a Broker across replicas: every replica appends its changes to
// one Redis stream (XADD, trimmed to about Options.StreamLength entries) and
// reads the stream with one goroutine, fanning out what it reads to its own
// subscribers. A replica does not also deliver its own changes locally; they
// come back through Redis like everyone else's, so each subscriber sees each
// change once, in the order of the stream, which keeps each publisher's
// order.
//
// Unlike pub/sub, the stream keeps what was published while a replica was
// not reading: after a failed read (a dropped connection, a failover, Redis
// restarting) the reader waits a moment and reads again from the last entry
// it read, so its subscribers miss nothing the stream still holds. If the
// stream was trimmed past that entry (the replica was away for more than
// StreamLength changes), or was recreated with lower IDs (Redis restarted
// without its data and with a clock behind the old entries), the reader logs
// a warning that changes may have been lost and reads on from the newest
// entry. A catch-up is a burst like any other: a subscriber that cannot keep
// up with it is dropped with ErrSlowSubscriber.
//
// Changes this replica publishes while Redis is down stay in the publish
// buffer and are appended, in order, when it is back. An XADD that fails
// ambiguously (a timeout after Redis took it) is retried, by go-redis and
// then by the broker, so a change may rarely arrive twice: subscribers
// re-read on a change, so a duplicate costs a read, a loss a stale screen.
//
// The stream costs Redis memory whether or not anyone reads it: about
// 220 to 300 bytes a change, so 2 to 3 MB at the default StreamLength.
type Redis struct {
	client redis.UniversalClient
	stream string
	maxLen int64
	log    *slog.Logger

	hub *hub
	out *outbox[[]byte]

	// The reader's state, touched only by its goroutine (and by NewRedis
	// before it starts).
	last   streamID    // the last entry read, or where reading started
	verify bool        // whether to check the stream before reading on from last
	conn   *redis.Conn // the reader's own connection, nil when none is open

	// connID is the Redis client id of conn while it is open, else 0, for
	// Close to unblock it.
	connID   atomic.Int64
	stop     context.CancelFunc // cancels the reader's context
	received chan struct{}      // closed when the reader has exited
	once     sync.Once
}

var _ Broker = (*Redis)(nil)

// NewRedis notes where the stream opts.Channel ends now and starts reading
// from there, so that every change published after NewRedis returns reaches
// this replica (and none published before). It fails when Redis does not
// answer within 10 seconds: a replica that starts without Redis should not
// look healthy. The client stays the caller's: Close does not close it.
//
// With a *redis.Client (standalone or Sentinel), the reader blocks on a
// connection of its own, counted in the client's PoolSize, which Close ends
// at once with CLIENT UNBLOCK. Other clients (Cluster, Ring) read through
// their pool, and Close waits for the read in progress, up to a second; so
// it does where CLIENT UNBLOCK is refused (an ACL without @admin).
func NewRedis(client redis.UniversalClient, opts Options) (*Redis, error) {
	if client == nil {
		return nil, errors.New("pubsub: nil redis client")
	}
	opts = opts.withDefaults()

	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	st, err := readStreamState(ctx, client, opts.Channel, int64(opts.StreamLength))
	if err != nil {
		return nil, fmt.Errorf("pubsub: reading redis stream %q: %w", opts.Channel, err)
	}

	readCtx, stop := context.WithCancel(context.Background())
	r := &Redis{
		client:   client,
		stream:   opts.Channel,
		maxLen:   int64(opts.StreamLength),
		log:      opts.Logger,
		hub:      newHub(opts.SubscriberBuffer, opts.Logger),
		last:     st.last,
		stop:     stop,
		received: make(chan struct{}),
	}
	r.out = newOutbox(opts.PublishBuffer, opts.Logger, r.send)
	go r.receive(readCtx)
	return r, nil
}

// Publish encodes c and queues it for XADD; see Broker. An encoding error is
// returned at once; ErrBacklog when the queue is full (Redis down or slow);
// ErrClosed after Close. ctx only carries log attributes: the send outlives
// the caller.
func (r *Redis) Publish(ctx context.Context, c workplace.Change) error {
	b, err := encodeChange(c)
	if err != nil {
		return err
	}
	return r.out.enqueue(ctx, b)
}

// send appends one change to the stream and trims it. The trim is
// approximate (~) so that Redis only drops whole nodes, which is cheap.
func (r *Redis) send(ctx context.Context, b []byte) error {
	return r.client.XAdd(ctx, &redis.XAddArgs{
		Stream: r.stream,
		MaxLen: r.maxLen,
		Approx: true,
		Values: []any{changeField, b},
	}).Err()
}

// Subscribe receives every change published from now on, by any replica,
// until ctx ends or the subscription or broker is closed.
func (r *Redis) Subscribe(ctx context.Context) *Subscription { return r.hub.subscribe(ctx) }

// Close stops publishing (dropping what is still queued, after waiting for an
// XADD in flight up to the client's timeouts), stops the reader and waits for
// it, and ends every subscription with a nil Err. When Redis is unreachable,
// a read in flight can hold Close up to the client's timeouts too. It is
// safe to call more than once.
func (r *Redis) Close() error {
	r.once.Do(func() {
		r.out.close()
		r.stopReading()
		r.hub.close()
	})
	return nil
}

// Subscribers is how many subscriptions are live on this replica, for
// metrics.
func (r *Redis) Subscribers() int { return r.hub.count() }

// Dropped is how many of this replica's subscriptions were ended with
// ErrSlowSubscriber, for metrics.
func (r *Redis) Dropped() uint64 { return r.hub.dropped.Load() }

// Published is how many changes this replica has appended to the Redis
// stream, for metrics.
func (r *Redis) Published() uint64 { return r.out.published.Load() }
