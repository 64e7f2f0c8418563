package server

// Cold answers against the upstream's round trips. Each representative
// query is answered cold (an empty store before every request) with the
// simulator answering 10 ms after each call came and then 20 ms after. A
// query's latency is then k×L + own: k, the upstream round trips it makes
// one after another, is the slope between the two latencies, and own, what
// is left, the gateway's own time (its work, and every wait that is not a
// round trip).
//
// Side by side, the bare replay: the upstream calls the gateway made for
// the query, recorded with when each was sent and answered, grouped into
// the waves that depend on one another, and sent again wave by wave by a
// bare net/http client that reads each answer and decodes nothing. Its
// latency is what the round trips themselves take on this machine, so the
// gateway's latency less the replay's is its own time, measured rather
// than fitted.
// Run by bench/run-cold.sh; explained in bench/cold.md.

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/engagegql/gateway/cache"
	"github.com/engagegql/gateway/loader"
	"github.com/stretchr/testify/require"
	"golang.org/x/sync/errgroup"
)

// coldLatencies are the two upstream latencies the slope is taken between.
var coldLatencies = [2]time.Duration{10 * time.Millisecond, 20 * time.Millisecond}

func BenchmarkColdAgainstRoundTrips(b *testing.B) {
	e := newCCEnv(b, blSim(), loader.Options{}, true)
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
			// The bare replay of the calls of one cold answer, at the
			// first latency.
			fault("answerAfter", coldLatencies[0])
			ls.swap(cache.NewMemoryStore())
			e.rec.reset()
			require.NoError(b, c.do(op))
			waves := ccWaves(e.rec.timedCalls())
			bare := replayWaves(b, waves, loader.DefaultFanOut)
			calls := 0
			for _, w := range waves {
				calls += len(w)
			}
			b.ReportMetric(float64(bare.Microseconds())/1000, "bare-replay-ms")
			b.ReportMetric(float64((took[0]-bare).Microseconds())/1000, "own-ms-vs-replay")
			b.ReportMetric(float64(len(waves)), "waves")
			b.ReportMetric(float64(calls), "calls")
			b.ReportMetric(float64(took[0].Microseconds())/1000, fmt.Sprintf("ms-at-%s", coldLatencies[0]))
			b.ReportMetric(float64(took[1].Microseconds())/1000, fmt.Sprintf("ms-at-%s", coldLatencies[1]))
			b.ReportMetric(k, "round-trips")
			b.ReportMetric(own, "own-ms")
			b.ReportMetric(ownWork, "own-ms-sim-work-added")
		})
	}
	fault("latency", 0)
}

// ccWaves groups recorded calls into waves: a call is in the wave after the
// last one whose answer came before it was sent (it may have waited for
// that answer), so the calls of one wave were in flight together.
func ccWaves(calls []ccCall) [][]ccCall {
	slices.SortFunc(calls, func(a, b ccCall) int { return a.start.Compare(b.start) })
	wave := make([]int, len(calls))
	var waves [][]ccCall
	for i, c := range calls {
		for j := range i {
			if !calls[j].end.After(c.start) {
				wave[i] = max(wave[i], wave[j]+1)
			}
		}
		for len(waves) <= wave[i] {
			waves = append(waves, nil)
		}
		waves[wave[i]] = append(waves[wave[i]], c)
	}
	return waves
}

// replayWaves sends waves again with a bare client, each wave's calls at
// once (at most fanOut together) and each wave after the one before it,
// reading every answer whole and decoding nothing; it returns how long
// that took, the fastest of a few runs on warm connections.
func replayWaves(b *testing.B, waves [][]ccCall, fanOut int) time.Duration {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 128
	hc := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	one := func(c ccCall) error {
		resp, err := hc.Do(c.req.Clone(context.Background()))
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		if _, err := io.Copy(io.Discard, resp.Body); err != nil {
			return err
		}
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("%s %s: %s", c.req.Method, c.req.URL.Path, resp.Status)
		}
		return nil
	}
	best := time.Duration(math.MaxInt64)
	for range 6 {
		start := time.Now()
		for _, w := range waves {
			var g errgroup.Group
			g.SetLimit(fanOut)
			for _, c := range w {
				g.Go(func() error { return one(c) })
			}
			require.NoError(b, g.Wait())
		}
		best = min(best, time.Since(start))
	}
	return best
}
