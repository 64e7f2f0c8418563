// Package engagesim simulates the Eptura Engage (Condeco) REST API as /work/shared/engage-api.md
// describes it: the token provider, the Azure API Management checks, every route of the five
// products with the real service's wire quirks, webhook notifications, and admin routes under
// /_sim/ that stand for the Engage web app, move the clock and inject faults. The gateway is
// built and tested against it because nobody on the team can reach the real service.
//
// Every choice the contract leaves open ([X]) lives in choices.go. The admin routes, JSON in and
// out, need no key or token:
//
//	POST   /_sim/reset                       {"seed":N} | {"fixture":{...}} , "clearListeners":bool
//	GET    /_sim/clock, POST /_sim/clock     {"now":"RFC3339"} | {"advance":"90m"}
//	GET|POST|DELETE /_sim/faults             see Faults; POST also takes "revokeTokens":true
//	GET    /_sim/stats, POST /_sim/stats/reset   see Stats
//	GET|DELETE /_sim/deliveries              the last delivery attempts, see DeliveryRecord
//	POST   /_sim/bookings, PUT|DELETE /_sim/bookings/{id}, POST /_sim/bookings/{id}/progress
//	POST   /_sim/deskBookings, DELETE /_sim/deskBookings/{id}, POST /_sim/deskBookings/{id}/progress
//	POST   /_sim/resources, PUT|DELETE /_sim/resources/{id}
//	POST   /_sim/visitors, PUT|DELETE /_sim/visitors/{id}, POST /_sim/visitors/{id}/action
//	GET    /_sim/healthz
//
// Its files:
//
//	sim.go              the Sim: New, the table of API routes, ServeHTTP
//	admin.go            the admin routes under /_sim/
//	apim.go             token provider and API Management: keys, quotas, Faults
//	bookings.go         room bookings, free slots and available rooms
//	choices.go          every choice the contract leaves open ([X]), as constants
//	config.go           Config, its defaults, the products and the demo keys
//	costvendor.go       the CostCode and VendorServices products
//	desks.go            desk bookings and available desks
//	fixture.go          the Fixture a simulator starts from, and DemoFixture
//	fixture_private.go  the demo fixture's private meetings, chosen by booking id
//	fixture_scale.go    ScaleFixture: a tenant the size of a large customer
//	hierarchy.go        the HierarchyMapping product, every answer in its envelope
//	httpx.go            request and response helpers shared by all routes
//	stats.go            Stats: counts of the calls, tokens and deliveries served
//	store.go            the in-memory tenant: the Fixture's entities and their indexes
//	visitors.go         the Visitor product
//	webhook.go          listener registration, and signed webhook delivery with retries
package engagesim

import (
	"bytes"
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	// The simulator must know its own zones even on hosts without a zoneinfo database.
	_ "time/tzdata"
)

// Sim is one simulated tenant. It is an http.Handler and is safe for concurrent use.
type Sim struct {
	cfg Config
	log *slog.Logger

	mu      sync.RWMutex // guards st and initial
	st      *store
	initial *Fixture // what a bare POST /_sim/reset restores; nil = the demo fixture

	clockMu sync.Mutex
	offset  time.Duration

	gw     *gateway
	stats  *statsRecorder
	hooks  *hooks
	routes []route
	admin  *http.ServeMux
}

// New builds a simulator from cfg (zero fields take their documented defaults).
func New(cfg Config) (*Sim, error) {
	cfg = cfg.withDefaults()
	s := &Sim{cfg: cfg, log: cfg.Logger, initial: cfg.Fixture}
	for product, key := range cfg.Keys {
		if !knownProduct(product) {
			return nil, fmt.Errorf("engagesim: unknown product %q", product)
		}
		if key == "" {
			return nil, fmt.Errorf("engagesim: empty key for product %q", product)
		}
	}
	f := cfg.Fixture
	if f == nil {
		f = DemoFixture(1, s.now().UTC())
	}
	st, err := newStore(f)
	if err != nil {
		return nil, err
	}
	s.st = st
	s.gw = newGateway(cfg)
	s.stats = newStatsRecorder()
	s.hooks = newHooks(s)
	s.routes = s.apiRoutes()
	s.admin = s.adminRoutes()
	return s, nil
}

// Close stops webhook deliveries in flight and waits for their goroutines.
func (s *Sim) Close() { s.hooks.close() }

// now is the simulator clock: the base clock plus the admin offset.
func (s *Sim) now() time.Time {
	s.clockMu.Lock()
	off := s.offset
	s.clockMu.Unlock()
	return s.cfg.Now().Add(off)
}

func knownProduct(p string) bool {
	switch p {
	case ProductCostCode, ProductExternalBookings, ProductHierarchyMapping, ProductVendorServices, ProductVisitor:
		return true
	}
	return false
}

// ServeHTTP serves the token provider, the API under /{Tenant}/api/V1 and the admin routes.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case strings.EqualFold(strings.TrimSuffix(p, "/"), "/tokenproviderapi/token"):
		s.handleToken(w, r)
	case p == "/_sim" || strings.HasPrefix(p, "/_sim/"):
		s.admin.ServeHTTP(w, r)
	default:
		s.serveAPI(w, r)
	}
}

// route is one API operation.
type route struct {
	method  string
	segs    []string // lower-cased; "{id}" matches one segment
	tmpl    string   // the template reported in stats, relative to the API base
	product string
	handle  func(w http.ResponseWriter, r *http.Request, id string)
}

func (s *Sim) apiRoutes() []route {
	mk := func(method, tmpl, product string, h func(http.ResponseWriter, *http.Request, string)) route {
		return route{method: method, segs: strings.Split(strings.ToLower(strings.Trim(tmpl, "/")), "/"), tmpl: tmpl, product: product, handle: h}
	}
	hm, eb, vi, cc, vs := ProductHierarchyMapping, ProductExternalBookings, ProductVisitor, ProductCostCode, ProductVendorServices
	// Literal paths come before the {id} paths they would otherwise match.
	return []route{
		mk("GET", "/countries", hm, s.getCountries),
		mk("GET", "/regions", hm, s.getRegions),
		mk("GET", "/regionsByParent/{id}", hm, s.getRegionsByParent),
		mk("GET", "/locations", hm, s.getLocations),
		mk("GET", "/groups", hm, s.getGroups),
		mk("GET", "/users", hm, s.getUsers),
		mk("GET", "/rooms", hm, s.getRooms),
		mk("GET", "/desks", hm, s.getDesks),
		mk("GET", "/floorPlan", hm, s.getFloorPlan),

		mk("GET", "/bookings/freeslots", eb, s.getFreeSlots),
		mk("GET", "/bookings/availableRooms", eb, s.getAvailableRooms),
		mk("GET", "/bookings", eb, s.getBookings),
		mk("GET", "/bookings/{id}", eb, s.getBooking),
		mk("POST", "/bookings", eb, s.postBooking),
		mk("PUT", "/bookings/{id}", eb, s.putBooking),
		mk("DELETE", "/bookings", eb, s.deleteBooking),
		mk("POST", "/deskBookings/availableDesks", eb, s.postAvailableDesks),
		mk("POST", "/deskBookings", eb, s.postDeskBookings),
		mk("GET", "/deskBookings", eb, s.getDeskBookings),
		mk("DELETE", "/deskBookings", eb, s.deleteDeskBooking),
		mk("PUT", "/deskBookings/{id}", eb, s.putDeskBooking),
		mk("POST", "/listener", eb, s.postListener),
		mk("DELETE", "/listener", eb, s.deleteListener),
		mk("GET", "/listener", eb, s.getListeners),

		mk("POST", "/visitor", vi, s.postVisitor),
		mk("GET", "/visitor", vi, s.getVisitors),
		mk("PUT", "/visitor/{id}", vi, s.putVisitor),
		mk("DELETE", "/visitor/{id}", vi, s.deleteVisitor),

		mk("POST", "/costcodes", cc, s.postCostCodes),
		mk("GET", "/costcodes", cc, s.getCostCodes),

		mk("GET", "/vendorservices", vs, s.getVendorServices),
		mk("POST", "/vendorservices/orders", vs, s.postOrder),
		mk("GET", "/vendorservices/orders", vs, s.getOrders),
	}
}

// match finds the route of a path: /{tenant}/api/V1/..., all matched case-insensitively.
func (s *Sim) match(method, path string) (*route, string) {
	segs := strings.Split(strings.Trim(path, "/"), "/")
	if len(segs) < 4 || !strings.EqualFold(segs[0], s.cfg.Tenant) || !strings.EqualFold(segs[1], "api") || !strings.EqualFold(segs[2], "v1") {
		return nil, ""
	}
	rest := segs[3:]
	for i := range s.routes {
		rt := &s.routes[i]
		if rt.method != method || len(rt.segs) != len(rest) {
			continue
		}
		id, ok := "", true
		for k, seg := range rt.segs {
			if seg == "{id}" {
				id = rest[k]
				continue
			}
			if !strings.EqualFold(seg, rest[k]) {
				ok = false
				break
			}
		}
		if ok {
			return rt, id
		}
	}
	return nil, ""
}

// statusWriter remembers the status a handler answered with, for the stats.
// statusWriter tells decided the status of its answer once, when it is
// decided: before any of the answer can reach the client, so that a call
// is counted by the time its caller has the answer.
type statusWriter struct {
	http.ResponseWriter
	status  int
	decided func(status int)
}

func (w *statusWriter) decide(code int) {
	if w.status == 0 {
		w.status = code
		w.decided(code)
	}
}

func (w *statusWriter) WriteHeader(code int) {
	w.decide(code)
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	w.decide(http.StatusOK)
	return w.ResponseWriter.Write(b)
}

// serveAPI runs the gateway checks in the documented order, the faults, then the route.
func (s *Sim) serveAPI(w http.ResponseWriter, r *http.Request) {
	rt, id := s.match(r.Method, r.URL.Path)
	tmpl, product := "", ""
	if rt != nil {
		tmpl, product = rt.tmpl, rt.product
	}
	f := s.gw.currentFaults()
	if f.answerAfter > 0 {
		held := &heldAnswer{header: http.Header{}}
		defer held.flush(r.Context(), w, time.Now().Add(f.answerAfter))
		w = held
	}
	sw := &statusWriter{ResponseWriter: w, decided: func(status int) { s.stats.call(r.Method, tmpl, product, status) }}
	// An answer the route never wrote is a 200 with no body.
	defer sw.decide(http.StatusOK)
	if rt == nil {
		writeJSON(sw, http.StatusNotFound, apimError{StatusCode: http.StatusNotFound, Message: msgNoRoute})
		return
	}
	if f.latency > 0 {
		t := time.NewTimer(f.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
		}
	}
	if !s.gw.admit(sw, r, rt.product, s.now()) {
		return
	}
	if s.gw.injectError() {
		writeMsg(sw, f.errorStatus, msgServerError)
		return
	}
	rt.handle(sw, r, id)
}

// answer writes a handler outcome: err as the route's error body, else v with status.
func answer(w http.ResponseWriter, status int, v any, err *apiError) {
	if err != nil {
		writeMsg(w, err.status, err.text)
		return
	}
	writeJSON(w, status, v)
}

// sleepCtx waits d or until ctx ends; false when ctx ended first.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	}
}

// heldAnswer is an answer held back until its time (Faults.AnswerAfter).
type heldAnswer struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (h *heldAnswer) Header() http.Header { return h.header }

func (h *heldAnswer) WriteHeader(code int) {
	if h.status == 0 {
		h.status = code
	}
}

func (h *heldAnswer) Write(b []byte) (int, error) {
	h.WriteHeader(http.StatusOK)
	return h.body.Write(b)
}

// flush writes the answer to w once at comes, or drops it when ctx ends
// first (the caller has gone).
func (h *heldAnswer) flush(ctx context.Context, w http.ResponseWriter, at time.Time) {
	if !sleepCtx(ctx, time.Until(at)) {
		return
	}
	for k, v := range h.header {
		w.Header()[k] = v
	}
	w.WriteHeader(cmp.Or(h.status, http.StatusOK))
	_, _ = w.Write(h.body.Bytes())
}
