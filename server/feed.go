package server

import (
	"context"

	"github.com/engagegql/gateway/pubsub"
	"github.com/engagegql/gateway/resolvers"
	"github.com/engagegql/gateway/workplace"
)

// brokerFeed lets the resolvers subscribe to a pubsub broker without
// knowing it: the broker's concrete subscription satisfies the resolvers'
// small interface.
type brokerFeed struct {
	b pubsub.Broker
	// opened, when set, hears +1 when a subscription stream starts reading
	// the feed and -1 when it ends, so the streams open can be watched.
	// Nil = not counted.
	opened func(delta int)
	// delivered, when set, hears every change as it is handed to a
	// subscription (which is where the webhook-to-subscriber latency
	// ends). Nil = not reported.
	delivered func(workplace.Change)
}

func (f brokerFeed) Subscribe(ctx context.Context) resolvers.FeedSubscription {
	sub := f.b.Subscribe(ctx)
	if f.opened == nil && f.delivered == nil {
		return sub
	}
	return f.watch(ctx, sub)
}

// watch relays sub through a channel of its own, to see each change handed
// over and the subscription's end. The relay holds at most one change, so
// a subscriber that falls behind still fills the broker's buffer and is
// dropped by the broker as before.
func (f brokerFeed) watch(ctx context.Context, sub *pubsub.Subscription) resolvers.FeedSubscription {
	if f.opened != nil {
		f.opened(1)
	}
	w := &watched{sub: sub, c: make(chan *workplace.Change)}
	go func() {
		defer close(w.c)
		if f.opened != nil {
			defer f.opened(-1)
		}
		for c := range sub.C() {
			select {
			case w.c <- c:
				if f.delivered != nil {
					f.delivered(*c)
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return w
}

// watched is a subscription relayed by brokerFeed.watch.
type watched struct {
	sub *pubsub.Subscription
	c   chan *workplace.Change
}

func (w *watched) C() <-chan *workplace.Change { return w.c }

// Err is the broker's reason: its channel is closed before the relay's, so
// the reason is set by the time a reader sees the relay's channel closed.
func (w *watched) Err() error { return w.sub.Err() }
