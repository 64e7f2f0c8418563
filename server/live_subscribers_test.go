package server

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"syscall"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// subloadReport is cmd/subload's report, as far as the tests read it.
type subloadReport struct {
	Subscribers, Changes                        int
	Delivered, Missing, Twice, Unmarked, Errors int
	LatencyMS                                   struct{ P50, P90, P99, Max float64 } `json:"latencyMs"`
	ReadLatencyMS                               struct{ P50, P90, P99, Max float64 } `json:"readLatencyMs"`
	KernelArrivals                              bool                                 `json:"kernelArrivals"`
	FanOutMS                                    struct{ P50, P90, P99, Max float64 } `json:"fanOutMs"`
	SubscribeSeconds                            float64                              `json:"subscribeSeconds"`
	RSSPerSubscriberKB                          float64                              `json:"rssPerSubscriberKB"`
	GoroutinesPerSubscriber                     float64                              `json:"goroutinesPerSubscriber"`
	Streams                                     float64                              `json:"streams"`
	CPU                                         struct {
		WallMS                       float64 `json:"wallMs"`
		GatewayMS, LoadMS, MachineMS float64
		Cores                        int
		GCCycles                     float64 `json:"gcCycles"`
	} `json:"cpu"`
	FirstError string `json:"firstError"`
}

// TestTenThousandSubscribersOnOneReplica: one gateway process holds 10,000
// websocket subscriptions to one room's bookings, and each of three
// changes, made through the gateway (Engage then notifies it by webhook),
// reaches every subscriber exactly once: none missed, none twice, none
// with an error. The subscribers share one stream, so the change feed is
// read once for all of them. The latency and memory it logs are measured
// by BenchmarkFanOut (bench/run-fanout.sh), not asserted here.
func TestTenThousandSubscribersOnOneReplica(t *testing.T) {
	const n = 10_000
	_, r := fanOut(t, n, 3, 0)
	t.Logf("%d subscribers: subscribed in %.1fs; latency from the mutation p50 %.1f ms, p99 %.1f ms, max %.1f ms (from the first arrival: p99 %.1f ms); %.1f KB RSS and %.2f goroutines per subscriber",
		r.Subscribers, r.SubscribeSeconds, r.LatencyMS.P50, r.LatencyMS.P99, r.LatencyMS.Max, r.FanOutMS.P99, r.RSSPerSubscriberKB, r.GoroutinesPerSubscriber)

	assert.Equal(t, 3*n, r.Delivered, "every subscriber got every change")
	assert.Zero(t, r.Missing)
	assert.Zero(t, r.Twice, "none got a change twice")
	assert.Zero(t, r.Unmarked)
	assert.Zero(t, r.Errors, r.FirstError)
	assert.Less(t, r.GoroutinesPerSubscriber, 1.5, "a subscription holds no goroutine of its own: its socket's reader is all")
	assert.EqualValues(t, 1, r.Streams, "10,000 subscribers, one stream")
}

// fanOut starts a gateway process in front of an engagesim, and runs
// cmd/subload against it: n websocket subscribers of one room's bookings
// (query (B)'s selection for one room), and changes changes to one of its
// bookings, each made through the gateway, so that Engage notifies it by
// webhook. It returns the gateway (still running) and subload's report.
// deferReads is the load's -defer-reads: above 0 its readers read nothing
// while a change is delivered (the kernel's receive times still time each
// arrival), as subscribers on machines of their own would take nothing of
// the gateway's cores.
// The gateway and the load run as processes of their own, built without
// the race detector, which could not hold 10,000 goroutines.
func fanOut(t testing.TB, n, changes int, deferReads time.Duration) (*replica, subloadReport) {
	t.Helper()
	const replayWindow = time.Second  // the shortest WEBHOOK_REPLAY_WINDOW
	raiseFileLimit(t, uint64(n+2048)) // for each process: the gateway and the load
	bin := buildGateway(t)
	load := filepath.Join(t.TempDir(), "subload")
	build := exec.Command("go", "build", "-o", load, "./cmd/subload")
	build.Dir = repoRoot
	out, err := build.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)

	sim, err := engagesim.New(engagesim.Config{RetryDelays: []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}})
	require.NoError(t, err)
	simSrv := httptest.NewServer(sim)
	t.Cleanup(func() { simSrv.Close(); sim.Close() })
	s := &stack{sim: sim, simURL: simSrv.URL}

	port := freePort(t)
	g := startReplica(t, bin, port, withEnv(upstreamEnv(simSrv.URL), map[string]string{
		"WEBHOOK_PUBLIC_URL":    fmt.Sprintf("http://127.0.0.1:%d", port),
		"WEBHOOK_SECRET":        "subscribers-test-secret",
		"WEBHOOK_REPLAY_WINDOW": replayWindow.String(),
		// Every subscriber here is the one anonymous client.
		"CLIENT_MAX_SUBSCRIPTIONS": "0",
		"CLIENT_RATE_LIMIT":        "0",
	}))
	require.Eventually(t, func() bool { return s.stats(t).Listeners == 6 }, 20*time.Second, 50*time.Millisecond)

	// Each change is of a booking of its own: changes of one booking in
	// quick succession are announced alike, and the gateway re-reads a
	// repeated announcement only once its replay window ends.
	room, bookings, host := changeableBookings(t, s, g, changes)
	// Their own announcements (Engage notifies the gateway of each booking
	// made) open the same window: a change announced within it would be
	// re-read only when it ends, which the latency would then measure.
	made := time.Now()
	mutation := `mutation($b: ID!, $t: String!, $u: String!) { updateBooking(input: {bookingId: $b, title: $t, actingUserEmail: $u}) { booking { id } } }`
	var each []map[string]any
	for _, b := range bookings {
		each = append(each, map[string]any{"b": b, "t": "Fan-out #{{n}}", "u": host})
	}
	mvars, err := json.Marshal(each)
	require.NoError(t, err)
	vars, err := json.Marshal(map[string]any{"r": []string{room}})
	require.NoError(t, err)

	<-time.After(time.Until(made.Add(replayWindow + 100*time.Millisecond)))
	cmd := exec.Command(load,
		"-url", g.url+"/graphql", "-n", strconv.Itoa(n), "-changes", strconv.Itoa(changes), "-defer-reads", deferReads.String(), "-timeout", "4m", "-pid", strconv.Itoa(g.cmd.Process.Pid),
		"-query", `subscription($r: [ID!]) { bookingChanged(roomIds: $r) { action bookingId booking { id title start end host { name email } } } }`,
		"-variables", string(vars), "-mutation", mutation, "-mutation-variables", string(mvars), "-mark", "Fan-out #")
	if p := os.Getenv("SUBLOAD_GOMAXPROCS"); p != "" {
		cmd.Env = append(os.Environ(), "GOMAXPROCS="+p)
	}
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "subload: %s", stderr.String())
	var r subloadReport
	require.NoError(t, json.Unmarshal(stdout.Bytes(), &r), stdout.String())
	return g, r
}

// raiseFileLimit makes sure this process and its children may open want
// files (as root, raising the hard limit too).
func raiseFileLimit(t testing.TB, want uint64) {
	t.Helper()
	var l syscall.Rlimit
	require.NoError(t, syscall.Getrlimit(syscall.RLIMIT_NOFILE, &l))
	if l.Cur >= want {
		return
	}
	next := syscall.Rlimit{Cur: want, Max: max(l.Max, want)}
	require.NoError(t, syscall.Setrlimit(syscall.RLIMIT_NOFILE, &next), "raise the open-file limit to %d (hard limit %d)", want, l.Max)
}

// changeableBookings makes n bookings (in the simulator, as if from the web
// app) in a room of the demo tenant tomorrow, and returns the room, their
// global ids and their host's email, through the gateway.
func changeableBookings(t testing.TB, s *stack, g *replica, n int) (room string, bookings []string, host string) {
	t.Helper()
	var locs struct {
		Locations []struct {
			Rooms []struct{ ID string }
		}
	}
	resp := g.query(t, `{ locations { rooms { id } } }`, nil)
	require.Empty(t, resp.Errors)
	require.NoError(t, json.Unmarshal(resp.Data, &locs))
	for _, l := range locs.Locations {
		if len(l.Rooms) > 0 {
			room = l.Rooms[0].ID
			break
		}
	}
	require.NotEmpty(t, room)
	// Quarter-hours of the day the room is free.
	day := time.Now().UTC().Truncate(24 * time.Hour).Add(24 * time.Hour)
	made := 0
	for q := 0; q < 96 && made < n; q++ {
		start := day.Add(time.Duration(q) * 15 * time.Minute)
		body, err := json.Marshal(map[string]any{
			"userId": 1001, "roomId": mustRoomNumber(t, room), "meetingTitle": "Fan-out #0",
			"startDateTime": start.Format("2006-01-02 15:04"), "endDateTime": start.Add(15 * time.Minute).Format("2006-01-02 15:04"),
		})
		require.NoError(t, err)
		resp, err := http.Post(s.simURL+"/_sim/bookings", "application/json", bytes.NewReader(body))
		require.NoError(t, err)
		resp.Body.Close()
		if resp.StatusCode < 300 {
			made++
		}
	}
	require.Equal(t, n, made, "the room is not free for %d quarter-hours", n)
	var out struct {
		Room struct {
			Bookings []struct {
				ID, Title string
				Host      *struct{ Email string }
			}
		}
	}
	resp = g.query(t, `query($r: ID!, $from: DateTime!, $to: DateTime!) { room(id: $r) { bookings(from: $from, to: $to) { id title host { email } } } }`,
		map[string]any{"r": room, "from": day.Add(-24 * time.Hour).Format(time.RFC3339), "to": day.Add(48 * time.Hour).Format(time.RFC3339)})
	require.Empty(t, resp.Errors)
	require.NoError(t, json.Unmarshal(resp.Data, &out))
	for _, b := range out.Room.Bookings {
		if b.Title == "Fan-out #0" && b.Host != nil && b.Host.Email != "" {
			bookings, host = append(bookings, b.ID), b.Host.Email
		}
	}
	require.Len(t, bookings, n, "the bookings made are listed: %+v", out)
	return room, bookings, host
}

// BenchmarkFanOut measures how one change reaches 1,000, 5,000 and 10,000
// websocket subscribers of one replica (see fanOut and bench/fanout.md):
// the latency from the mutation to each subscriber's result, and what a
// subscriber holds on the gateway. Each arrival is timed by the kernel's
// receive time. At each level the load reads nothing while a change is
// delivered (load=deferred), as subscribers on machines of their own would
// take nothing of the gateway's two cores; 10,000 runs again with the load
// reading each result as it comes (load=reading), side by side.
// deferReads is how long the benchmark's load waits after each mutation's
// answer before it reads: longer than the delivery to 10,000 takes.
const deferReads = 400 * time.Millisecond

func BenchmarkFanOut(b *testing.B) {
	levels := []struct {
		n        int
		deferFor time.Duration
	}{{1_000, deferReads}, {5_000, deferReads}, {10_000, deferReads}, {10_000, 0}}
	for _, l := range levels {
		n, load := l.n, "deferred"
		if l.deferFor == 0 {
			load = "reading"
		}
		b.Run(fmt.Sprintf("subscribers=%d/load=%s", n, load), func(b *testing.B) {
			var r subloadReport
			for range b.N {
				_, r = fanOut(b, n, 5, l.deferFor)
				if r.Delivered != 5*n || r.Twice != 0 || r.Errors != 0 {
					b.Fatalf("delivered %d of %d, %d twice, %d errors (%s)", r.Delivered, 5*n, r.Twice, r.Errors, r.FirstError)
				}
			}
			b.ReportMetric(r.LatencyMS.P50, "p50-ms")
			b.ReportMetric(r.LatencyMS.P99, "p99-ms")
			b.ReportMetric(r.LatencyMS.Max, "max-ms")
			// The same, to when the load's reader read each result.
			b.ReportMetric(r.ReadLatencyMS.P99, "read-p99-ms")
			b.ReportMetric(r.FanOutMS.P99, "fanout-p99-ms")
			b.ReportMetric(r.RSSPerSubscriberKB, "RSS-KB/sub")
			b.ReportMetric(r.GoroutinesPerSubscriber, "goroutines/sub")
			b.ReportMetric(r.SubscribeSeconds, "subscribe-s")
			// Where the machine's time went per change (bench/fanout.md).
			b.ReportMetric(r.CPU.WallMS, "change-wall-ms")
			b.ReportMetric(r.CPU.GatewayMS, "gateway-cpu-ms/change")
			b.ReportMetric(r.CPU.LoadMS, "load-cpu-ms/change")
			b.ReportMetric(r.CPU.GCCycles, "gateway-gcs/change")
			if r.CPU.Cores > 0 && r.CPU.WallMS > 0 {
				b.ReportMetric(100*r.CPU.MachineMS/(r.CPU.WallMS*float64(r.CPU.Cores)), "machine-busy-%")
			}
		})
	}
}
