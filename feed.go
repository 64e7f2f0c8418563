package main

import (
	"context"

	"github.com/engagegql/gateway/pubsub"
	"github.com/engagegql/gateway/resolvers"
)

// brokerFeed lets the resolvers subscribe to a pubsub broker without
// knowing it: the broker's concrete subscription satisfies the resolvers'
// small interface.
type brokerFeed struct{ b pubsub.Broker }

func (f brokerFeed) Subscribe(ctx context.Context) resolvers.FeedSubscription {
	return f.b.Subscribe(ctx)
}
