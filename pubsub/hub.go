package pubsub

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"

	"github.com/engagegql/gateway/workplace"
)

// hub is the fan-out to one process's subscribers, shared by both brokers.
// Each broker calls broadcast from exactly one goroutine, which is what keeps
// every subscriber's changes in publish order.
type hub struct {
	buffer int
	log    *slog.Logger

	// mu guards subs and closed. Sends and channel closes both happen under
	// it, so a subscription's channel is never sent to after it is closed.
	mu     sync.Mutex
	subs   map[*Subscription]struct{}
	closed bool

	dropped atomic.Uint64
}

func newHub(buffer int, log *slog.Logger) *hub {
	return &hub{buffer: buffer, log: log, subs: make(map[*Subscription]struct{})}
}

// subscribe registers a subscriber until ctx ends. After close it returns a
// subscription that has already ended.
func (h *hub) subscribe(ctx context.Context) *Subscription {
	s := &Subscription{c: make(chan *workplace.Change, h.buffer), hub: h}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		close(s.c)
		return s
	}
	h.subs[s] = struct{}{}
	// Registered before the hook exists, so a ctx that is already done still
	// finds the subscription to end (the hook waits for mu).
	s.stop = context.AfterFunc(ctx, s.Close)
	return s
}

// broadcast offers c to every subscriber without waiting: a subscriber whose
// buffer is full is dropped, so one stuck client never stalls the others or
// the goroutine feeding the hub.
func (h *hub) broadcast(c workplace.Change) {
	h.mu.Lock()
	defer h.mu.Unlock()
	shared := &c
	for s := range h.subs {
		select {
		case s.c <- shared:
		default:
			h.endLocked(s, ErrSlowSubscriber)
			h.dropped.Add(1)
			h.log.Warn("pubsub: dropped a subscriber that fell behind",
				"buffer", h.buffer, "kind", c.Kind, "action", c.Action)
		}
	}
}

// end ends s with err, once; later calls do nothing.
func (h *hub) end(s *Subscription, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.endLocked(s, err)
}

func (h *hub) endLocked(s *Subscription, err error) {
	if _, ok := h.subs[s]; !ok {
		return
	}
	delete(h.subs, s)
	s.setErr(err)
	close(s.c)
	s.stop()
}

// close ends every subscription and refuses new ones.
func (h *hub) close() {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.closed = true
	for s := range h.subs {
		h.endLocked(s, nil)
	}
}

func (h *hub) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.subs)
}
