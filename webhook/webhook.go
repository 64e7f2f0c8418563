// Package webhook receives the Engage notification webhooks (section 6 of
// the contract in /work/shared/engage-api.md) and turns each delivery into
// workplace.Change values: it verifies the signature, decodes the body of the
// service the path names, makes the cache invalidation durable, and only then
// acknowledges and publishes the changes to subscriptions.
//
// The order matters because the upstream retries anything but a 2xx: a 2xx
// given before the invalidation is durable could leave the cache stale for
// good, while an error answer only costs a retry. Publishing is best effort
// (a subscriber that misses an event re-reads on its next query), so its
// failures are logged and never turned into retries.
//
// A delivery is processed once: its delivery id (the upstream's retries
// share it) and its body (a replay under a new id; see replay.go) are
// remembered in a store the fleet shares, and a delivery without an id is
// refused unless allowed.
//
// Every choice this package makes where the contract is silent is marked
// "[X]" in a comment, as in package engage.
//
//	webhook.go   the Handler, its Options, Invalidator, Publisher and Deduper
//	decode.go    the six notification bodies decoded, and Services
//	dedupe.go    MemoryDeduper: the Deduper of a gateway without Redis
//	register.go  Register: the gateway's listeners registered upstream
//	replay.go    replay protection: body fingerprints and re-reads
package webhook

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"github.com/engagegql/gateway/workplace"
)

// Invalidator drops what the gateway cached about the changes. The handler
// acknowledges a delivery only after it returns nil, so an implementation
// must return only once the invalidation is durable (written to Redis, say).
type Invalidator interface {
	Invalidate(ctx context.Context, changes ...workplace.Change) error
}

// Publisher hands a change to subscriptions. It must never block: the
// handler calls it while the upstream waits for its answer.
type Publisher interface {
	Publish(ctx context.Context, c workplace.Change) error
}

// Deduper remembers which deliveries were processed, so the upstream's
// at-least-once delivery (retries and duplicates share one delivery id)
// invalidates and publishes once, and which bodies were, so a delivery
// replayed under a new id is recognised (see replay.go). Claim reports
// whether the caller is the first to claim key within ttl; Release gives a
// claim back after a failure, so the upstream's retry is processed.
type Deduper interface {
	Claim(ctx context.Context, key string, ttl time.Duration) (bool, error)
	Release(ctx context.Context, key string) error
}

// Defaults of Options and of the deduplication.
const (
	// DefaultMaxBody bounds a delivery's body; real batches are a few KiB.
	DefaultMaxBody int64 = 1 << 20
	// DeliveryTTL is how long a delivery id is remembered. The upstream's
	// retries span about half a minute (1 s, 5 s, 25 s), so a day is far
	// more than enough while keeping the remembered set small.
	DeliveryTTL = 24 * time.Hour
	// deliveryKeyPrefix namespaces the claims in a shared store (Redis).
	deliveryKeyPrefix = "webhook:delivery:"
	// maxDeliveryID bounds the id a claim key is built from: the header is
	// not covered by the signature, so it must not grow the store freely. [X]
	maxDeliveryID = 128
	// releaseTimeout bounds giving a claim back when the request itself
	// has been cancelled (the upstream gave up waiting).
	releaseTimeout = 5 * time.Second
)

// Headers of a delivery [X: names from the contract's section 6].
const (
	headerEventType = "X-Engage-Event-Type"
	headerSignature = "X-Engage-Signature"
	headerDelivery  = "X-Engage-Delivery"
	signaturePrefix = "sha256="
)

// Options configures a Handler. Only Secret is required.
type Options struct {
	// Secret is the key the upstream signs bodies with: the secretkey the
	// listeners were registered with. Required; never logged.
	Secret string
	// MaxBody bounds a delivery's body; a larger one is answered 413.
	// Zero or negative = DefaultMaxBody.
	MaxBody int64
	// Invalidator makes the cache forget what changed; nil = nothing is
	// cached, so there is nothing to invalidate.
	Invalidator Invalidator
	// Publisher feeds subscriptions; nil = changes are not published.
	Publisher Publisher
	// Deduper remembers processed deliveries; nil = a MemoryDeduper, which
	// is right for one replica only (replicas behind a load balancer need a
	// shared one, such as Redis, or each may process a retry once).
	Deduper Deduper
	// Logger receives what was received and done; nil = discard. Neither
	// the secret nor signatures are ever logged.
	Logger *slog.Logger
	// Now stamps Change.At; nil = time.Now.
	Now func() time.Time
	// ReplayWindow is how long a processed body is remembered, so that
	// the same signed body under another delivery id is recognised as a
	// replay (see replay.go). It should cover the upstream's retry span
	// (UpstreamRetrySpan), and must when deliveries without an id are
	// allowed, since their retries are recognised by nothing else. Zero or
	// negative = DefaultReplayWindow.
	ReplayWindow time.Duration
	// AllowMissingDeliveryID accepts deliveries without X-Engage-Delivery
	// (recognising their retries and replays by their body alone); false
	// refuses them with 400, since the upstream always sends one.
	AllowMissingDeliveryID bool
	// OnDuplicate, when set, hears every delivery acknowledged without
	// being processed, by what recognised it: "delivery" (its id was
	// seen: a retry or duplicate) or "body" (its body was processed under
	// another id within the window: a replay, or a change announced
	// exactly like the one before). It must be safe for concurrent use
	// and quick. Nil = not reported.
	OnDuplicate func(service, by string)
	// OnReread, when set, hears every re-read of a body that came again
	// within its window, with how many changes it invalidated. It must be
	// safe for concurrent use and quick. Nil = not reported.
	OnReread func(service string, invalidated int)
	// OnResult, when set, hears how every request ended: the service its
	// path names ("" when it names none, so a caller's labels stay bounded
	// whatever paths are tried), the status answered, and how many changes
	// were invalidated (0 unless the delivery was processed). A rise in
	// non-2xx answers is the first sign of a wrong secret or a changed
	// payload. It must be safe for concurrent use and quick. Nil = not
	// reported.
	OnResult func(service string, status int, invalidated int)
}

// Handler is the http.Handler of the notification endpoints. Mount it at
// "/webhooks/engage/": it reads the service from the last path segment. It
// is safe for concurrent use.
type Handler struct {
	secret    []byte
	fpKey     []byte // keys body fingerprints; derived from secret
	maxBody   int64
	inv       Invalidator
	pub       Publisher
	dedupe    Deduper
	window    time.Duration
	allowNoID bool
	log       *slog.Logger
	now       func() time.Time
	result    func(service string, status int, invalidated int)
	onDup     func(service, by string)
	onReread  func(service string, invalidated int)
	rereads   *rereads
}

// NewHandler checks opts and fills its defaults. It fails without a secret,
// because an endpoint that cannot verify signatures would let anyone flush
// the cache and forge subscription events.
func NewHandler(opts Options) (*Handler, error) {
	if opts.Secret == "" {
		return nil, errors.New("webhook: Options.Secret is required")
	}
	h := &Handler{
		secret:    []byte(opts.Secret),
		fpKey:     fingerprintKey([]byte(opts.Secret)),
		maxBody:   opts.MaxBody,
		inv:       opts.Invalidator,
		pub:       opts.Publisher,
		dedupe:    opts.Deduper,
		window:    opts.ReplayWindow,
		allowNoID: opts.AllowMissingDeliveryID,
		log:       opts.Logger,
		now:       opts.Now,
		result:    opts.OnResult,
		onDup:     opts.OnDuplicate,
		onReread:  opts.OnReread,
		rereads:   newRereads(),
	}
	if h.maxBody <= 0 {
		h.maxBody = DefaultMaxBody
	}
	if h.window <= 0 {
		h.window = DefaultReplayWindow
	}
	if h.now == nil {
		h.now = time.Now
	}
	if h.dedupe == nil {
		h.dedupe = NewMemoryDeduper(h.now)
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// ServeHTTP handles one delivery. Checks run cheapest and least trusting
// first (method, path, size, signature) so an unsigned request costs no
// decoding; nothing is claimed, invalidated or published until the body has
// been verified and decoded in full.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if h.result == nil {
		h.serve(w, r, &outcome{})
		return
	}
	sw := &statusWriter{ResponseWriter: w}
	var o outcome
	h.serve(sw, r, &o)
	if sw.status == 0 {
		sw.status = http.StatusOK // what net/http answers for a handler that wrote nothing
	}
	h.result(o.service, sw.status, o.invalidated)
}

// outcome is what serve tells Options.OnResult besides the status.
type outcome struct {
	service     string
	invalidated int
}

// statusWriter remembers the status a handler answered with.
type statusWriter struct {
	http.ResponseWriter
	status int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

// Unwrap lets http.ResponseController (and MaxBytesReader's connection
// handling) reach the server's writer.
func (s *statusWriter) Unwrap() http.ResponseWriter { return s.ResponseWriter }

// serve is ServeHTTP, noting in o what it did.
func (h *Handler) serve(w http.ResponseWriter, r *http.Request, o *outcome) {
	ctx := r.Context()
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		reply(w, http.StatusMethodNotAllowed, "Only POST is accepted.")
		return
	}
	name := path.Base(strings.TrimSuffix(r.URL.Path, "/"))
	svc, ok := lookup(name)
	if !ok {
		h.log.WarnContext(ctx, "webhook: unknown service", "path", r.URL.Path)
		reply(w, http.StatusNotFound, fmt.Sprintf("Unknown notification service %q.", clip(name)))
		return
	}
	o.service = svc.Path
	delivery := r.Header.Get(headerDelivery)
	log := h.log.With("service", svc.Path, "delivery", delivery)

	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			log.WarnContext(ctx, "webhook: body too large", "limit", h.maxBody)
			reply(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("The body exceeds %d bytes.", h.maxBody))
			return
		}
		log.WarnContext(ctx, "webhook: reading body", "err", err)
		reply(w, http.StatusBadRequest, "The body could not be read.")
		return
	}
	log.InfoContext(ctx, "webhook: received", "bytes", len(body), "eventType", r.Header.Get(headerEventType))

	if !h.signed(body, r.Header.Get(headerSignature)) {
		log.WarnContext(ctx, "webhook: bad or missing signature")
		reply(w, http.StatusUnauthorized, "The signature is missing or does not match the body.")
		return
	}
	if msg := checkEventType(r.Header.Get(headerEventType), svc); msg != "" {
		log.WarnContext(ctx, "webhook: event type disagrees with path", "reason", msg)
		reply(w, http.StatusBadRequest, msg)
		return
	}
	if delivery == "" && !h.allowNoID {
		log.WarnContext(ctx, "webhook: delivery id missing; refused (deliveries without one can be allowed by configuration)")
		reply(w, http.StatusBadRequest, headerDelivery+" is missing: without a delivery id a retried or replayed notification cannot be recognised, so this receiver refuses deliveries without one.")
		return
	}
	if len(delivery) > maxDeliveryID {
		log.WarnContext(ctx, "webhook: delivery id too long", "length", len(delivery))
		reply(w, http.StatusBadRequest, fmt.Sprintf("%s is longer than %d characters.", headerDelivery, maxDeliveryID))
		return
	}
	changes, err := svc.decode(body, h.now())
	if err != nil {
		log.WarnContext(ctx, "webhook: rejected body", "err", err)
		reply(w, http.StatusBadRequest, err.Error())
		return
	}

	// The delivery id catches the upstream's own retries and duplicates;
	// the body's fingerprint catches the same body under another id (a
	// replay, or a change announced exactly like the last: see replay.go).
	// Without an id (when allowed) the fingerprint alone recognises a
	// retry, which is why the window covers the upstream's retry span.
	var idKey string
	if delivery != "" {
		idKey = deliveryKeyPrefix + delivery
		first, err := h.dedupe.Claim(ctx, idKey, DeliveryTTL)
		if err != nil {
			// Without the claim the delivery might be processed twice
			// or not at all; a retry later is the safe answer.
			log.ErrorContext(ctx, "webhook: claiming delivery", "err", err)
			reply(w, http.StatusServiceUnavailable, "The delivery could not be recorded; retry later.")
			return
		}
		if !first {
			log.InfoContext(ctx, "webhook: duplicate delivery ignored")
			h.duplicate(svc.Path, "delivery")
			reply(w, http.StatusOK, "Delivery already processed.")
			return
		}
	}
	fp := h.fingerprint(svc.Path, body)
	bodyKey := bodyKeyPrefix + fp
	first, err := h.dedupe.Claim(ctx, bodyKey, h.window)
	if err == nil && !first {
		if err = h.scheduleReread(ctx, log, svc.Path, fp, changes); err == nil {
			h.duplicate(svc.Path, "body")
			reply(w, http.StatusOK, fmt.Sprintf("The same notification was processed under another delivery id within the last %s; what it names will be read again when that window ends.", h.window))
			return
		}
	}
	if err != nil {
		log.ErrorContext(ctx, "webhook: claiming body", "err", err)
		h.release(ctx, log, idKey)
		reply(w, http.StatusServiceUnavailable, "The delivery could not be recorded; retry later.")
		return
	}

	n, err := h.apply(ctx, log, changes)
	if err != nil {
		h.release(ctx, log, idKey)
		h.release(ctx, log, bodyKey)
		reply(w, http.StatusServiceUnavailable, "The changes could not be applied; retry later.")
		return
	}
	o.invalidated = n
	reply(w, http.StatusOK, fmt.Sprintf("Processed %d changes.", len(changes)))
}

// apply invalidates the changes and then publishes them, returning how many
// were invalidated. Only a failed invalidation is an error: publishing is
// best effort.
func (h *Handler) apply(ctx context.Context, log *slog.Logger, changes []workplace.Change) (int, error) {
	invalidated := 0
	if h.inv != nil {
		if err := h.inv.Invalidate(ctx, changes...); err != nil {
			log.ErrorContext(ctx, "webhook: invalidation failed", "changes", len(changes), "err", err)
			return 0, err
		}
		invalidated = len(changes)
	}
	published := 0
	if h.pub != nil {
		for _, c := range changes {
			if err := h.pub.Publish(ctx, c); err != nil {
				log.ErrorContext(ctx, "webhook: publish failed", "kind", c.Kind, "action", c.Action, "err", err)
				continue
			}
			published++
		}
	}
	log.InfoContext(ctx, "webhook: processed", "changes", len(changes), "published", published, "summary", summary(changes))
	return invalidated, nil
}

// duplicate reports a delivery acknowledged without being processed.
func (h *Handler) duplicate(service, by string) {
	if h.onDup != nil {
		h.onDup(service, by)
	}
}

// signed reports whether header carries the HMAC-SHA256 of body under the
// secret, comparing in constant time so the answer leaks nothing about how
// much of a forged signature was right.
func (h *Handler) signed(body []byte, header string) bool {
	if len(header) < len(signaturePrefix) || !strings.EqualFold(header[:len(signaturePrefix)], signaturePrefix) {
		return false
	}
	got, err := hex.DecodeString(strings.TrimSpace(header[len(signaturePrefix):]))
	if err != nil {
		return false
	}
	mac := hmac.New(sha256.New, h.secret)
	mac.Write(body)
	return hmac.Equal(mac.Sum(nil), got)
}

// release gives a claim back so the upstream's retry is processed. It runs
// even when the request was cancelled, since that is when retries come.
func (h *Handler) release(ctx context.Context, log *slog.Logger, key string) {
	if key == "" {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), releaseTimeout)
	defer cancel()
	if err := h.dedupe.Release(ctx, key); err != nil {
		// The retry will be answered "already processed" until the claim
		// expires: the one case where a change can be lost.
		log.ErrorContext(ctx, "webhook: releasing delivery claim", "err", err)
	}
}

// checkEventType returns why the X-Engage-Event-Type header disagrees with
// the path's service, or "" when it agrees or is absent: the real bodies
// carry no type, so the path is the authority and the header a cross-check.
func checkEventType(header string, svc service) string {
	header = strings.TrimSpace(header)
	if header == "" {
		return ""
	}
	n, err := strconv.Atoi(header)
	if err != nil {
		return fmt.Sprintf("%s %q is not a number.", headerEventType, clip(header))
	}
	if workplace.EventType(n) != svc.EventType {
		return fmt.Sprintf("%s %d does not match the path's service %s (event type %d).", headerEventType, n, svc.Path, svc.EventType)
	}
	return ""
}

// summary lists the changes compactly for the log: kind, action and the
// ids that name them.
func summary(changes []workplace.Change) []string {
	const most = 20
	out := make([]string, 0, min(len(changes), most))
	for i, c := range changes {
		if i == most {
			out = append(out, fmt.Sprintf("... %d more", len(changes)-most))
			break
		}
		var id string
		switch c.Kind {
		case workplace.KindBooking:
			id = fmt.Sprintf("booking=%d room=%d", c.BookingID, c.RoomID)
		case workplace.KindDeskBooking:
			id = fmt.Sprintf("deskBooking=%d desk=%d", c.DeskBookingID, c.DeskID)
		case workplace.KindResource:
			id = fmt.Sprintf("resource=%d", c.ResourceID)
		case workplace.KindVisitor:
			id = fmt.Sprintf("visitor=%d", c.VisitorID)
		}
		out = append(out, fmt.Sprintf("%s %s %s", c.Kind, c.Action, id))
	}
	return out
}

// reply answers with a JSON message, the shape the upstream's own errors
// have, so whoever reads the delivery log sees why.
func reply(w http.ResponseWriter, status int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Message string `json:"message"`
	}{msg})
}

// clip shortens text taken from a request before it is echoed or logged.
func clip(s string) string {
	const most = 64
	if len(s) <= most {
		return s
	}
	return s[:most] + "..."
}
