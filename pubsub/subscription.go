package pubsub

import (
	"sync"

	"github.com/engagegql/gateway/workplace"
)

// Subscription is one subscriber's stream of changes. Its channel is closed
// when the subscription ends, for whichever reason; Err then says why.
type Subscription struct {
	// c carries pointers: a buffer of 64 changes costs 512 bytes rather
	// than 64 copies of the struct, and one change is shared by every
	// subscriber.
	c   chan *workplace.Change
	hub *hub
	// stop cancels the context.AfterFunc that ends the subscription with its
	// context; guarded by hub.mu.
	stop func() bool

	mu  sync.Mutex
	err error
}

// C returns the changes, in the order each publisher published them. It is
// closed when the subscription ends. Every subscriber receives the same
// *Change: read it, never modify it.
func (s *Subscription) C() <-chan *workplace.Change { return s.c }

// Err says why the subscription ended: nil while it runs and after its
// context ended or it or the broker was closed; ErrSlowSubscriber when the
// broker dropped it for falling behind.
func (s *Subscription) Err() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.err
}

// Close ends the subscription and closes its channel. It is safe to call more
// than once and concurrently with delivery.
func (s *Subscription) Close() { s.hub.end(s, nil) }

func (s *Subscription) setErr(err error) {
	s.mu.Lock()
	s.err = err
	s.mu.Unlock()
}
