package pubsub

import (
	"context"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Retry pacing for a send that failed (Redis down): quick enough to recover
// within a second of Redis coming back, slow enough not to spin.
const (
	minRetryDelay = 50 * time.Millisecond
	maxRetryDelay = time.Second
	// backlogReportEvery spaces the logs of a full publish buffer.
	backlogReportEvery = 10 * time.Second
)

// outbox is the bounded buffer between Publish and the one goroutine that
// sends, shared by both brokers. Publish only ever does a non-blocking
// enqueue; the goroutine sends in order and retries a failed send until it
// succeeds or the broker closes, so a Redis outage backs changes up here
// (and then rejects them with ErrBacklog) instead of in the webhook handler.
type outbox[T any] struct {
	ch   chan T
	send func(context.Context, T) error
	log  *slog.Logger

	// mu orders enqueue against close: no change is accepted after close
	// returns, and ch is never closed, so enqueue cannot panic.
	mu     sync.RWMutex
	closed bool

	ctx    context.Context
	cancel context.CancelFunc
	done   chan struct{}

	published atomic.Uint64
	// rejected counts ErrBacklog since the last report, and lastReport is
	// when that was (Unix nanoseconds): a full buffer is logged at most once
	// per backlogReportEvery, not once per webhook.
	rejected   atomic.Uint64
	lastReport atomic.Int64
}

func newOutbox[T any](size int, log *slog.Logger, send func(context.Context, T) error) *outbox[T] {
	ctx, cancel := context.WithCancel(context.Background())
	o := &outbox[T]{
		ch:     make(chan T, size),
		send:   send,
		log:    log,
		ctx:    ctx,
		cancel: cancel,
		done:   make(chan struct{}),
	}
	go o.run()
	return o
}

func (o *outbox[T]) enqueue(ctx context.Context, v T) error {
	o.mu.RLock()
	defer o.mu.RUnlock()
	if o.closed {
		return ErrClosed
	}
	select {
	case o.ch <- v:
		return nil
	default:
		o.rejected.Add(1)
		now := time.Now().UnixNano()
		last := o.lastReport.Load()
		if now-last >= int64(backlogReportEvery) && o.lastReport.CompareAndSwap(last, now) {
			o.log.ErrorContext(ctx, "pubsub: publish buffer full; changes dropped",
				"buffer", cap(o.ch), "dropped", o.rejected.Swap(0))
		}
		return ErrBacklog
	}
}

func (o *outbox[T]) run() {
	defer close(o.done)
	for {
		select {
		case <-o.ctx.Done():
			return
		case v := <-o.ch:
			if !o.deliver(v) {
				return
			}
		}
	}
}

// deliver sends v, retrying with backoff; false means the outbox closed first.
func (o *outbox[T]) deliver(v T) bool {
	delay := minRetryDelay
	for attempt := 1; ; attempt++ {
		err := o.send(o.ctx, v)
		if err == nil {
			o.published.Add(1)
			if attempt > 1 {
				o.log.Info("pubsub: publishing recovered", "attempts", attempt)
			}
			return true
		}
		if o.ctx.Err() != nil {
			return false
		}
		if attempt == 1 {
			o.log.Error("pubsub: publish failed; retrying until it succeeds or the broker closes",
				"err", err, "queued", len(o.ch))
		}
		t := time.NewTimer(delay)
		select {
		case <-o.ctx.Done():
			t.Stop()
			return false
		case <-t.C:
		}
		delay = min(2*delay, maxRetryDelay)
	}
}

// close stops the goroutine, waiting for a send in flight, and drops what is
// still queued: a broker that is closing has nobody left to retry for.
func (o *outbox[T]) close() {
	o.mu.Lock()
	if o.closed {
		o.mu.Unlock()
		return
	}
	o.closed = true
	o.mu.Unlock()
	o.cancel()
	<-o.done
	if n := len(o.ch); n > 0 {
		o.log.Warn("pubsub: closed with changes not yet published", "dropped", n)
	}
}
