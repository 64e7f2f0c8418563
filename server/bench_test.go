package server

// Benchmarks of the four representative operations of api_callcount_test.go,
// end to end: a GraphQL request over HTTP to the gateway, which calls the
// simulator over HTTP, both in this process. Each reports, per operation,
// the upstream calls it cost (upstream-calls/op, from the simulator's
// counts), the latency (ns/op) and the allocations (with -benchmem) of the
// whole round trip, the simulator's share included. bench/run.sh runs them
// and bench/README.md shows the latest results.

import (
	"testing"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/loader"
)

// benchOperation runs one operation b.N times against a fresh stack with
// the loaders' defaults and limits high enough that the upstream never
// answers 429 or 403, and reports its upstream calls per operation.
func benchOperation(b *testing.B, op func(e *ccEnv) (string, map[string]any)) {
	e := newCCEnv(b, engagesim.Config{RatePerMinute: 1_000_000, QuotaPerWeek: 1_000_000_000}, loader.Options{}, false)
	query, vars := op(e)
	e.resetStats(b)
	b.ReportAllocs()
	n := 0
	for b.Loop() {
		r := e.query(b, query, vars)
		if len(r.Errors) > 0 {
			b.Fatalf("the operation failed: %s", r.Errors[0].Message)
		}
		n++
	}
	st := e.stats(b)
	b.ReportMetric(float64(st.TotalCalls)/float64(n), "upstream-calls/op")
}

// BenchmarkLocationRooms is query (a): London HQ's 22 rooms with today's
// bookings, their hosts and visitors.
func BenchmarkLocationRooms(b *testing.B) {
	benchOperation(b, func(e *ccEnv) (string, map[string]any) {
		return ccRoomsQuery, map[string]any{"id": e.locID}
	})
}

// BenchmarkFloorDesks is query (b): the desks of London HQ's busiest floor
// with their desk bookings of the week from today, and their users.
func BenchmarkFloorDesks(b *testing.B) {
	benchOperation(b, func(e *ccEnv) (string, map[string]any) {
		floor, _ := e.busiestFloor()
		from, to := e.week()
		return ccDesksQuery, map[string]any{"loc": e.locID, "floor": floor, "from": e.day(from), "to": e.day(to)}
	})
}

// BenchmarkVisitorsToday is query (c): today's visitors at London HQ with
// their hosts and rooms.
func BenchmarkVisitorsToday(b *testing.B) {
	benchOperation(b, func(e *ccEnv) (string, map[string]any) {
		return ccVisitorsQuery, map[string]any{"date": e.day(e.today), "loc": e.locID}
	})
}

// BenchmarkBookingByID is query (d): one booking with its room, location,
// people, cost code, visitors and service orders.
func BenchmarkBookingByID(b *testing.B) {
	benchOperation(b, func(e *ccEnv) (string, map[string]any) {
		return ccBookingQuery, map[string]any{"id": e.bookingID}
	})
}
