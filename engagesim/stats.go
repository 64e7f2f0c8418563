package engagesim

// This file counts what the simulator serves, so tests and benchmarks can measure how many
// upstream calls a GraphQL operation costs.

import (
	"cmp"
	"slices"
	"sync"
)

// Stats is the answer of GET /_sim/stats and of (*Sim).Stats.
type Stats struct {
	// TotalCalls counts every API call (not token, not admin) whatever its status.
	TotalCalls    int           `json:"totalCalls"`
	Calls         []CallStat    `json:"calls"`
	TokenRequests int           `json:"tokenRequests"`
	TokensIssued  int           `json:"tokensIssued"`
	Deliveries    DeliveryStats `json:"deliveries"`
	// Listeners is the number of listeners registered now.
	Listeners int `json:"listeners"`
}

// CallStat counts API calls of one method, route template, product and status. Route is the
// template relative to the API base ("/bookings/{id}"); it and Product are "" for a path that
// matches no operation.
type CallStat struct {
	Method  string `json:"method"`
	Route   string `json:"route"`
	Product string `json:"product"`
	Status  int    `json:"status"`
	Count   int    `json:"count"`
}

// DeliveryStats counts webhook delivery attempts. Attempted counts HTTP requests sent (including
// duplicates); Succeeded those answered 2xx; Failed those answered otherwise or not at all;
// Retried the attempts after a delivery's first; Dropped the attempts a fault swallowed;
// Duplicated the extra requests a fault added.
type DeliveryStats struct {
	Attempted  int `json:"attempted"`
	Succeeded  int `json:"succeeded"`
	Failed     int `json:"failed"`
	Retried    int `json:"retried"`
	Dropped    int `json:"dropped"`
	Duplicated int `json:"duplicated"`
}

type callKey struct {
	method, route, product string
	status                 int
}

type statsRecorder struct {
	mu            sync.Mutex
	total         int
	calls         map[callKey]int
	tokenRequests int
	tokensIssued  int
	deliveries    DeliveryStats
}

func newStatsRecorder() *statsRecorder { return &statsRecorder{calls: map[callKey]int{}} }

func (s *statsRecorder) call(method, route, product string, status int) {
	if status == 0 {
		status = 200
	}
	s.mu.Lock()
	s.total++
	s.calls[callKey{method, route, product, status}]++
	s.mu.Unlock()
}

func (s *statsRecorder) tokenRequest() {
	s.mu.Lock()
	s.tokenRequests++
	s.mu.Unlock()
}

func (s *statsRecorder) tokenIssued() {
	s.mu.Lock()
	s.tokensIssued++
	s.mu.Unlock()
}

func (s *statsRecorder) delivery(f func(d *DeliveryStats)) {
	s.mu.Lock()
	f(&s.deliveries)
	s.mu.Unlock()
}

func (s *statsRecorder) reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.total, s.tokenRequests, s.tokensIssued = 0, 0, 0
	s.calls = map[callKey]int{}
	s.deliveries = DeliveryStats{}
}

func (s *statsRecorder) snapshot() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Stats{TotalCalls: s.total, Calls: []CallStat{}, TokenRequests: s.tokenRequests, TokensIssued: s.tokensIssued, Deliveries: s.deliveries}
	for k, n := range s.calls {
		out.Calls = append(out.Calls, CallStat{Method: k.method, Route: k.route, Product: k.product, Status: k.status, Count: n})
	}
	slices.SortFunc(out.Calls, func(a, b CallStat) int {
		return cmp.Or(cmp.Compare(a.Route, b.Route), cmp.Compare(a.Method, b.Method), cmp.Compare(a.Status, b.Status), cmp.Compare(a.Product, b.Product))
	})
	return out
}

// Stats returns the counters since start or the last reset.
func (s *Sim) Stats() Stats {
	out := s.stats.snapshot()
	out.Listeners = s.hooks.count()
	return out
}
