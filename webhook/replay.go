package webhook

// This file holds the replay protection. The signature covers the body only,
// and X-Engage-Delivery is not signed, so a captured delivery sent again
// under a new delivery id would pass the delivery id check and be processed
// again: its cache invalidation repeated and, worse, its event (a visitor
// "ARRIVED", say) published again to every subscriber. So besides the
// delivery id the handler claims a fingerprint of the verified body for a
// window (Options.ReplayWindow), in the same store, so the fleet shares it.
//
// A body is not unique to one change, though. Notifications carry ids only,
// so the same booking renamed twice within a minute is announced twice with
// the same bytes (Meeting External: Action 1, the booking and its room), as
// is a visitor arrived, unarrived and arrived again. Within the window such
// a second notification cannot be told from a replay. Dropping it would
// leave the cache holding the state read after the first change, and a
// subscriber holding the first change's event, until the entries expire:
// the subscriber would not see the latest state. Processing it would let
// any replay through. The handler does neither: it acknowledges the
// duplicate, and once per window it re-reads what the body names (the same
// invalidation and events, from then on, read fresh). The latest state thus
// reaches the cache and every subscriber at most one window after the
// change, and a replayer gets at most one re-read per body and window, no
// more than the upstream's own notifications cause.
//
// The re-read is scheduled on the replica that saw the duplicate, and a
// claim in the store makes sure only one replica of the fleet schedules it.
// A replica that is stopped gracefully runs its pending re-reads at once
// (Handler.Close); one that crashes loses them, which leaves the entries
// they would have dropped to their TTLs.

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"log/slog"
	"sync"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// Bounds of the replay protection.
const (
	// UpstreamRetrySpan is the longest the upstream spends on one delivery:
	// four attempts of up to 10 s each, with 1 s, 5 s and 25 s between
	// them (the contract's section 6). A replay window shorter than this
	// would let a delivery without an id, retried, be processed twice.
	UpstreamRetrySpan = 4*10*time.Second + (1+5+25)*time.Second
	// DefaultReplayWindow is how long a body's fingerprint is remembered:
	// the retry span with margin for a slow receiver and for clocks. It is
	// also how late, at most, the second of two identical notifications
	// reaches subscribers, so it is kept short.
	DefaultReplayWindow = 2 * time.Minute
	// bodyKeyPrefix and rereadKeyPrefix namespace the fingerprint claims
	// and the claims of scheduled re-reads in a shared store.
	bodyKeyPrefix   = "webhook:body:"
	rereadKeyPrefix = "webhook:reread:"
	// rereadClaimSlack keeps a re-read's claim a little longer than its
	// timer, so a duplicate arriving as it fires does not schedule another.
	rereadClaimSlack = 10 * time.Second
	// rereadTimeout bounds one re-read: its claims, invalidation and
	// publishing.
	rereadTimeout = 15 * time.Second
	// maxPendingRereads bounds the re-reads one replica holds. Only
	// distinct signed bodies schedule one, which a replayer cannot make,
	// so the bound is never reached but by a storm of real notifications;
	// past it a duplicate is re-read at once rather than dropped.
	maxPendingRereads = 1024
)

// fingerprintLabel separates the fingerprint key from the signing key
// derived from the same secret.
const fingerprintLabel = "engage-gateway webhook body fingerprint v1"

// fingerprintKey derives the key of body fingerprints from the webhook
// secret, so the store holds neither the body nor its signature (which,
// with a body as guessable as a few ids, would be a forgery kit), and every
// replica with the secret computes the same fingerprints.
func fingerprintKey(secret []byte) []byte {
	mac := hmac.New(sha256.New, secret)
	mac.Write([]byte(fingerprintLabel))
	return mac.Sum(nil)
}

// fingerprint names a verified body of a service.
func (h *Handler) fingerprint(service string, body []byte) string {
	mac := hmac.New(sha256.New, h.fpKey)
	mac.Write([]byte(service))
	mac.Write([]byte{0})
	mac.Write(body)
	return hex.EncodeToString(mac.Sum(nil))
}

// rereads holds the re-reads a handler has scheduled.
type rereads struct {
	// after schedules f after d and returns its stop function (reporting
	// whether it stopped f before it ran); time.AfterFunc but in tests.
	after func(d time.Duration, f func()) (stop func() bool)

	mu      sync.Mutex
	pending map[string]*pendingReread // by fingerprint
	closed  bool
	running sync.WaitGroup
}

// pendingReread is one scheduled re-read.
type pendingReread struct {
	stop func() bool
	// run re-reads; due is false when it runs before the window ended.
	run func(ctx context.Context, due bool)
}

func newRereads() *rereads {
	return &rereads{
		after: func(d time.Duration, f func()) func() bool {
			return time.AfterFunc(d, f).Stop
		},
		pending: map[string]*pendingReread{},
	}
}

// scheduleReread arranges for the changes of a duplicate body to be
// processed once the window of the fingerprint fp ends, unless a re-read of
// it is already scheduled in the fleet (which runs after this arrival, so
// covers it). An error means the claim could not be made: the caller
// answers so that the upstream retries.
func (h *Handler) scheduleReread(ctx context.Context, log *slog.Logger, service, fp string, changes []workplace.Change) error {
	first, err := h.dedupe.Claim(ctx, rereadKeyPrefix+fp, h.window+rereadClaimSlack)
	if err != nil || !first {
		return err
	}
	run := func(ctx context.Context, due bool) { h.reread(ctx, service, fp, changes, due) }
	r := h.rereads
	r.mu.Lock()
	if r.closed || len(r.pending) >= maxPendingRereads {
		r.mu.Unlock()
		log.WarnContext(ctx, "webhook: cannot hold a re-read; re-reading at once", "closing", r.closed, "pending", maxPendingRereads)
		run(context.WithoutCancel(ctx), false)
		return nil
	}
	p := &pendingReread{run: run}
	r.running.Add(1)
	p.stop = r.after(h.window, func() {
		defer r.running.Done()
		r.mu.Lock()
		if r.pending[fp] == p {
			delete(r.pending, fp)
		}
		r.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), rereadTimeout)
		defer cancel()
		p.run(ctx, true)
	})
	r.pending[fp] = p
	r.mu.Unlock()
	log.InfoContext(ctx, "webhook: same notification as one processed under another delivery id; re-reading it when its window ends", "in", h.window.String())
	return nil
}

// reread processes the changes of a duplicate body after its window: the
// invalidation and events are the same, and what they name is read fresh,
// so a real change hidden behind an identical notification is seen. due is
// true when the window the duplicate fell in has ended; false when the
// re-read runs early (the handler is closing, or holds too many).
func (h *Handler) reread(ctx context.Context, service, fp string, changes []workplace.Change, due bool) {
	log := h.log.With("service", service)
	// Released first: a duplicate arriving from now on is not covered by
	// this re-read's reads, so it may schedule the next one.
	if err := h.dedupe.Release(ctx, rereadKeyPrefix+fp); err != nil {
		log.WarnContext(ctx, "webhook: releasing a re-read claim", "err", err)
	}
	var bodyKey string
	if due {
		// A new window opens, so a replay right after waits again.
		bodyKey = bodyKeyPrefix + fp
		first, err := h.dedupe.Claim(ctx, bodyKey, h.window)
		if err != nil {
			log.ErrorContext(ctx, "webhook: claiming a re-read; what it names stays cached until its entries expire", "err", err)
			return
		}
		if !first {
			// The window this re-read waited out has ended, so the
			// claim is a delivery of the same body processed after the
			// duplicate came: its reads already cover the duplicate's
			// change.
			log.DebugContext(ctx, "webhook: re-read covered by a later delivery of the same notification")
			return
		}
	}
	n, err := h.apply(ctx, log, changes)
	if err != nil {
		h.release(ctx, log, bodyKey)
		log.ErrorContext(ctx, "webhook: re-read failed; what it names stays cached until its entries expire", "changes", len(changes), "err", err)
		return
	}
	if h.onReread != nil {
		h.onReread(service, n)
	}
	log.InfoContext(ctx, "webhook: re-read a repeated notification", "changes", len(changes), "summary", summary(changes))
}

// Close runs the re-reads still waiting for their window now, rather than
// lose them with the process, and waits for those already running; ctx
// bounds it. Deliveries that arrive after Close re-read at once. Call it
// after the server stopped serving and before the store is closed.
func (h *Handler) Close(ctx context.Context) {
	r := h.rereads
	r.mu.Lock()
	r.closed = true
	pending := r.pending
	r.pending = map[string]*pendingReread{}
	r.mu.Unlock()
	for _, p := range pending {
		if !p.stop() {
			continue // it is running, or has run
		}
		if ctx.Err() == nil {
			p.run(ctx, false)
		}
		r.running.Done()
	}
	done := make(chan struct{})
	go func() { r.running.Wait(); close(done) }()
	select {
	case <-done:
	case <-ctx.Done():
	}
}

// pendingRereads is how many re-reads are waiting; for tests.
func (h *Handler) pendingRereads() int {
	h.rereads.mu.Lock()
	defer h.rereads.mu.Unlock()
	return len(h.rereads.pending)
}
