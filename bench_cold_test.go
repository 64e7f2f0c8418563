package main

// Cold answers against the upstream's round trips. Each representative
// query is answered cold (an empty store before every request) with the
// simulator answering 10 ms after each call came and then 20 ms after. A
// query's latency is then k×L + own: k, the upstream round trips it makes
// one after another, is the slope between the two latencies, and own, what
// is left, the gateway's own time (its work, and every wait that is not a
// round trip).
// Run by bench/run-cold.sh; explained in bench/cold.md.

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/engagegql/gateway/cache"
	"github.com/engagegql/gateway/loader"
	"github.com/stretchr/testify/require"
)

// coldLatencies are the two upstream latencies the slope is taken between.
var coldLatencies = [2]time.Duration{10 * time.Millisecond, 20 * time.Millisecond}

func BenchmarkColdAgainstRoundTrips(b *testing.B) {
	e := newCCEnv(b, blSim(), loader.Options{}, false)
	ls := &blStore{}
	ls.swap(cache.NewMemoryStore())
	c := blGateway(b, e, ls, loader.Options{})
	// The upstream's latency, two ways: answerAfter holds each answer
	// until that long after its call came (a remote upstream's latency has
	// its own work inside it), latency waits that long before the call is
	// handled (the simulator's work, in this process, adds to each round
	// trip, and so shows in own).
	fault := func(name string, d time.Duration) {
		code, raw := simCall(b, e.simURL, http.MethodPost, "/_sim/faults", map[string]any{"latency": "", "answerAfter": "", name: d.String()})
		require.Equal(b, http.StatusOK, code, "%s", raw)
	}
	measure := func(b *testing.B, op blOp, name string) (took [2]time.Duration) {
		for i, lat := range coldLatencies {
			fault(name, lat)
			for range b.N {
				ls.swap(cache.NewMemoryStore())
				start := time.Now()
				if err := c.do(op); err != nil {
					b.Fatal(err)
				}
				took[i] += time.Since(start)
			}
			took[i] /= time.Duration(b.N)
		}
		return took
	}
	slope := func(took [2]time.Duration) (k, own float64) {
		d := coldLatencies[1] - coldLatencies[0]
		k = float64(took[1]-took[0]) / float64(d)
		return k, (float64(took[0]) - k*float64(coldLatencies[0])) / 1e6
	}
	for _, op := range blOps(e) {
		b.Run(op.name, func(b *testing.B) {
			took := measure(b, op, "answerAfter")
			k, own := slope(took)
			_, ownWork := slope(measure(b, op, "latency"))
			b.ReportMetric(float64(took[0].Microseconds())/1000, fmt.Sprintf("ms-at-%s", coldLatencies[0]))
			b.ReportMetric(float64(took[1].Microseconds())/1000, fmt.Sprintf("ms-at-%s", coldLatencies[1]))
			b.ReportMetric(k, "round-trips")
			b.ReportMetric(own, "own-ms")
			b.ReportMetric(ownWork, "own-ms-sim-work-added")
		})
	}
	fault("latency", 0)
}
