package engagesim

// This file holds listener registration (POST/DELETE/GET /listener) and webhook delivery as
// section 6 of the contract describes it: one signed request per batch of one event type,
// retried with backoff under the same delivery id.

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"slices"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"
)

// event is one notification item waiting to be delivered.
type event struct {
	typ      int
	resource int    // the room, desk or resource it concerns, for listeners filtered by resourceIds
	date     string // Meeting External only: the local midnight it is keyed by
	item     any    // the wire item
}

// Wire items of section 6; field names and casing are the contract's.
type (
	meetingChange struct {
		Action         int `json:"Action"`
		BookingID      int `json:"BookingID"`
		ResourceItemID int `json:"ResourceItemID"`
	}
	meetingProgression struct {
		BookingId                int    `json:"BookingId"`
		ResourceItemId           int    `json:"ResourceItemId"`
		UpdatedTime              string `json:"UpdatedTime"`
		MeetingProgressionAction int    `json:"MeetingProgressionAction"`
		ActionSource             int    `json:"ActionSource"`
	}
	deskChange struct {
		Date               string `json:"Date"`
		BookingID          int    `json:"BookingID"`
		ResourceItemID     int    `json:"ResourceItemID"`
		Action             int    `json:"Action"`
		UntilFurtherNotice bool   `json:"UntilFurtherNotice"`
	}
	deskProgression struct {
		BookingId             int    `json:"BookingId"`
		ResourceItemId        int    `json:"ResourceItemId"`
		UpdateTime            string `json:"UpdateTime"`
		DeskProgressionAction int    `json:"DeskProgressionAction"`
		ActionSource          int    `json:"ActionSource"`
	}
	resourceChange struct {
		ResourceItemID  int `json:"ResourceItemID"`
		WorkspaceTypeId int `json:"WorkspaceTypeId"`
		LocationId      int `json:"LocationId"`
		FloorNumber     int `json:"FloorNumber"`
		Action          int `json:"Action"`
	}
	visitorChange struct {
		VisitorId     int    `json:"VisitorId"`
		BookingId     int    `json:"BookingId"`
		LocationId    int    `json:"LocationId"`
		VisitDate     string `json:"VisitDate"`
		VisitorAction int    `json:"VisitorAction"`
	}
)

// meetingDay is the value under one date key of a Meeting External body.
type meetingDay struct {
	ChangedItems []meetingChange `json:"ChangedItems"`
}

// listener is one registration.
type listener struct {
	ID            string `json:"listenerId"`
	EventTypes    []int  `json:"eventTypes"`
	URL           string `json:"notificationUrl"`
	ResourceIDs   []int  `json:"resourceIds"`
	QueueProvider int    `json:"queueProvider"`
	secret        string
}

// DeliveryRecord is one delivery attempt, listed by GET /_sim/deliveries.
type DeliveryRecord struct {
	DeliveryID string          `json:"deliveryId"`
	ListenerID string          `json:"listenerId"`
	EventType  int             `json:"eventType"`
	URL        string          `json:"url"`
	Body       json.RawMessage `json:"body"`
	Attempt    int             `json:"attempt"`
	Status     int             `json:"status"` // HTTP status; 0 when no answer or dropped
	Error      string          `json:"error,omitempty"`
	Dropped    bool            `json:"dropped,omitempty"`
	Duplicate  bool            `json:"duplicate,omitempty"`
	Time       time.Time       `json:"time"`
}

// hooks holds the listeners and the deliveries in flight.
type hooks struct {
	s         *Sim
	mu        sync.Mutex
	listeners []*listener
	closed    bool
	ctx       context.Context
	cancel    context.CancelFunc
	wg        sync.WaitGroup
	logMu     sync.Mutex
	log       []DeliveryRecord
}

func newHooks(s *Sim) *hooks {
	ctx, cancel := context.WithCancel(context.Background())
	return &hooks{s: s, ctx: ctx, cancel: cancel}
}

func (h *hooks) close() {
	h.mu.Lock()
	h.closed = true
	h.cancel()
	h.mu.Unlock()
	h.wg.Wait()
}

func (h *hooks) count() int {
	h.mu.Lock()
	defer h.mu.Unlock()
	return len(h.listeners)
}

func (h *hooks) clearListeners() {
	h.mu.Lock()
	h.listeners = nil
	h.mu.Unlock()
}

// publish sends the events of one change: per listener, one request per event type it wants.
func (h *hooks) publish(evs []event) {
	if len(evs) == 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.closed {
		return
	}
	for _, l := range h.listeners {
		for _, typ := range l.EventTypes {
			var batch []event
			for _, e := range evs {
				if e.typ == typ && (len(l.ResourceIDs) == 0 || slices.Contains(l.ResourceIDs, e.resource)) {
					batch = append(batch, e)
				}
			}
			if len(batch) == 0 {
				continue
			}
			body, err := batchBody(typ, batch)
			if err != nil {
				h.s.log.Error("engagesim: encode notification", "err", err)
				continue
			}
			h.wg.Add(1)
			go h.deliver(l.ID, l.URL, l.secret, typ, body)
		}
	}
}

// batchBody encodes a batch of one event type as section 6 shows it.
func batchBody(typ int, batch []event) ([]byte, error) {
	if typ == eventMeetingExternal {
		days := map[string]*meetingDay{}
		for _, e := range batch {
			d := days[e.date]
			if d == nil {
				d = &meetingDay{}
				days[e.date] = d
			}
			c := e.item.(meetingChange)
			if !slices.Contains(d.ChangedItems, c) {
				d.ChangedItems = append(d.ChangedItems, c)
			}
		}
		return json.Marshal(days)
	}
	items := make([]any, 0, len(batch))
	for _, e := range batch {
		items = append(items, e.item)
	}
	return json.Marshal(items)
}

// deliver posts one batch until acknowledged or out of retries.
func (h *hooks) deliver(listenerID, target, secret string, typ int, body []byte) {
	defer h.wg.Done()
	id := uuid.NewString()
	delays := h.s.cfg.RetryDelays
	lost := false
	for attempt := 1; attempt <= 1+len(delays); attempt++ {
		if attempt > 1 {
			if !sleepCtx(h.ctx, delays[attempt-2]) {
				return
			}
			h.s.stats.delivery(func(d *DeliveryStats) { d.Retried++ })
		}
		rec := DeliveryRecord{DeliveryID: id, ListenerID: listenerID, EventType: typ, URL: target, Body: body, Attempt: attempt, Time: time.Now()}
		drop, dup, lose := h.s.gw.takeDelivery(attempt == 1, lost)
		lost = lost || lose
		if drop {
			h.s.stats.delivery(func(d *DeliveryStats) { d.Dropped++ })
			rec.Dropped = true
			h.record(rec)
			continue
		}
		sends := 1
		if dup {
			sends = 2
			h.s.stats.delivery(func(d *DeliveryStats) { d.Duplicated++ })
		}
		acked := false
		for i := range sends {
			r := rec
			r.Duplicate = i > 0
			r.Time = time.Now()
			status, err := h.send(target, secret, id, typ, body)
			h.s.log.Debug("engagesim: delivery", "url", target, "deliveryId", id, "eventType", typ, "attempt", attempt, "status", status, "err", err)
			r.Status = status
			ok := err == nil && status >= 200 && status < 300
			if err != nil {
				r.Error = err.Error()
			}
			h.s.stats.delivery(func(d *DeliveryStats) {
				d.Attempted++
				if ok {
					d.Succeeded++
				} else {
					d.Failed++
				}
			})
			h.record(r)
			acked = acked || ok
		}
		if acked {
			return
		}
		if h.ctx.Err() != nil {
			return
		}
	}
	h.s.log.Warn("engagesim: delivery abandoned", "url", target, "deliveryId", id, "eventType", typ)
}

// send makes one HTTP request; the status is 0 when no answer came.
func (h *hooks) send(target, secret, id string, typ int, body []byte) (int, error) {
	ctx, cancel := context.WithTimeout(h.ctx, h.s.cfg.DeliveryTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return 0, err
	}
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write(body)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Engage-Event-Type", strconv.Itoa(typ))
	req.Header.Set("X-Engage-Signature", "sha256="+hex.EncodeToString(mac.Sum(nil)))
	req.Header.Set("X-Engage-Delivery", id)
	resp, err := h.s.cfg.HTTPClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return resp.StatusCode, nil
}

func (h *hooks) record(r DeliveryRecord) {
	h.logMu.Lock()
	h.log = append(h.log, r)
	if len(h.log) > deliveryLogSize {
		h.log = slices.Clone(h.log[len(h.log)-deliveryLogSize:])
	}
	h.logMu.Unlock()
	if h.s.cfg.OnDelivery != nil {
		h.s.cfg.OnDelivery(r)
	}
}

func (h *hooks) records() []DeliveryRecord {
	h.logMu.Lock()
	defer h.logMu.Unlock()
	return slices.Clone(h.log)
}

func (h *hooks) clearRecords() {
	h.logMu.Lock()
	h.log = nil
	h.logMu.Unlock()
}

// listenerBody is POST and DELETE /listener; secretkey and secretKey both bind here because
// JSON keys match case-insensitively.
type listenerBody struct {
	SecretKey       string    `json:"secretkey"`
	EventTypes      []flexInt `json:"eventTypes"`
	ResourceIDs     []flexInt `json:"resourceIds"`
	NotificationURL string    `json:"notificationUrl"`
	QueueProvider   flexInt   `json:"queueProvider"`
}

func (b listenerBody) types() ([]int, *apiError) {
	var out []int
	for _, t := range b.EventTypes {
		if t < eventMeeting || t > eventVisitor {
			return nil, badRequest(msgListenerTypes)
		}
		if !slices.Contains(out, int(t)) {
			out = append(out, int(t))
		}
	}
	return out, nil
}

// postListener is POST /listener: registering a URL again replaces its registration.
func (s *Sim) postListener(w http.ResponseWriter, r *http.Request, _ string) {
	var b listenerBody
	if err := decodeBody(r, &b); err != nil {
		answer(w, 0, nil, err)
		return
	}
	u, err := url.Parse(b.NotificationURL)
	if b.NotificationURL == "" || err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		answer(w, 0, nil, badRequest(msgListenerURL))
		return
	}
	types, aerr := b.types()
	if aerr != nil || len(types) == 0 {
		answer(w, 0, nil, badRequest(msgListenerTypes))
		return
	}
	var rids []int
	for _, id := range b.ResourceIDs {
		rids = append(rids, int(id))
	}
	if len(rids) > 0 && b.QueueProvider != 4 {
		answer(w, 0, nil, badRequest(msgListenerResources))
		return
	}
	h := s.hooks
	h.mu.Lock()
	l := &listener{ID: uuid.NewString(), EventTypes: types, URL: b.NotificationURL, ResourceIDs: rids, QueueProvider: int(b.QueueProvider), secret: b.SecretKey}
	if i := slices.IndexFunc(h.listeners, func(x *listener) bool { return x.URL == b.NotificationURL }); i >= 0 {
		l.ID = h.listeners[i].ID
		h.listeners[i] = l
	} else {
		h.listeners = append(h.listeners, l)
	}
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		ListenerID      string `json:"listenerId"`
		EventTypes      []int  `json:"eventTypes"`
		NotificationURL string `json:"notificationUrl"`
	}{l.ID, types, l.URL})
}

// deleteListener is DELETE /listener: the listed event types leave the URL's registration, and
// the registration goes when none is left (or none was listed).
func (s *Sim) deleteListener(w http.ResponseWriter, r *http.Request, _ string) {
	var b listenerBody
	if err := decodeBody(r, &b); err != nil {
		answer(w, 0, nil, err)
		return
	}
	types, aerr := b.types()
	if aerr != nil {
		answer(w, 0, nil, aerr)
		return
	}
	h := s.hooks
	h.mu.Lock()
	i := slices.IndexFunc(h.listeners, func(x *listener) bool { return x.URL == b.NotificationURL })
	if i < 0 {
		h.mu.Unlock()
		answer(w, 0, nil, fail(http.StatusNotFound, msgListenerNotFound))
		return
	}
	l := *h.listeners[i]
	l.EventTypes = slices.DeleteFunc(slices.Clone(l.EventTypes), func(t int) bool { return len(types) == 0 || slices.Contains(types, t) })
	if len(l.EventTypes) == 0 {
		h.listeners = slices.Delete(h.listeners, i, i+1)
	} else {
		h.listeners[i] = &l
	}
	h.mu.Unlock()
	writeMsg(w, http.StatusOK, msgSuccess)
}

// getListeners is GET /listener [X shape]; secrets are never shown.
func (s *Sim) getListeners(w http.ResponseWriter, _ *http.Request, _ string) {
	h := s.hooks
	h.mu.Lock()
	out := make([]listener, 0, len(h.listeners))
	for _, l := range h.listeners {
		c := *l
		if c.ResourceIDs == nil {
			c.ResourceIDs = []int{}
		}
		out = append(out, c)
	}
	h.mu.Unlock()
	writeJSON(w, http.StatusOK, struct {
		Listeners []listener `json:"listeners"`
	}{out})
}
