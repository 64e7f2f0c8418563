// Command subload measures how changes reach many subscribers of a gateway.
// It opens -n websockets (graphql-transport-ws), subscribes each one to
// -query, waits until the gateway reports them open, then makes -changes
// changes through the gateway with -mutation, one at a time, and reports
// as JSON how each change reached the subscribers: how many got it, how
// many got it more than once, and how long after its mutation was sent.
//
//	go run ./cmd/subload -url http://127.0.0.1:8080/graphql -n 10000 \
//	  -query 'subscription($r: [ID!]) { bookingChanged(roomIds: $r) { booking { title } } }' \
//	  -variables '{"r": ["…"]}' \
//	  -mutation 'mutation($t: String!) { updateBooking(input: {bookingId: "…", title: $t, actingUserEmail: "…"}) { booking { id } } }' \
//	  -mutation-variables '{"t": "subload {{n}}"}' -mark 'subload '
//
// "{{n}}" in the mutation's variables is replaced by the change's number
// (1, 2, …); a result counts for change n when it carries -mark followed
// by n. With -pid, the gateway's resident memory is reported per
// subscriber (Linux). It is the load of bench/run-fanout.sh and of the
// gateway's test of 10,000 subscribers.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/signal"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "subload:", err)
		os.Exit(1)
	}
}

// config is what the flags say.
type config struct {
	url, query, mutation, mark, metrics string
	vars                                map[string]any
	mutationVars                        []map[string]any
	n, changes, dialers, pid            int
	timeout, quiet, deferReads          time.Duration
}

func parse(args []string, stderr io.Writer) (config, error) {
	fs := flag.NewFlagSet("subload", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var c config
	var vars, mvars string
	fs.StringVar(&c.url, "url", "http://127.0.0.1:8080/graphql", "the gateway's GraphQL endpoint")
	fs.IntVar(&c.n, "n", 1000, "how many subscribers (one websocket each)")
	fs.StringVar(&c.query, "query", "", "the subscription every subscriber sends")
	fs.StringVar(&vars, "variables", "{}", "its variables, as JSON")
	fs.StringVar(&c.mutation, "mutation", "", "the mutation that makes each change, sent to -url")
	fs.StringVar(&mvars, "mutation-variables", "{}", `its variables, as JSON; "{{n}}" in a string is the change's number; a list gives change n its n-th element (round again when it runs out)`)
	fs.StringVar(&c.mark, "mark", "", "what a result carries before the number of its change")
	fs.IntVar(&c.changes, "changes", 3, "how many changes to make, one after the other")
	fs.StringVar(&c.metrics, "metrics", "", "the gateway's /metrics, polled until engagegw_subscriptions_open reaches -n (default: -url's host)")
	fs.IntVar(&c.pid, "pid", 0, "the gateway's process id, to report its resident memory per subscriber")
	fs.IntVar(&c.dialers, "dialers", 64, "websockets opened at once")
	fs.DurationVar(&c.timeout, "timeout", 2*time.Minute, "how long it all may take")
	fs.DurationVar(&c.deferReads, "defer-reads", 0, "above 0, the readers read nothing from each change's mutation until this long after its answer (arrivals are still timed by the kernel, on Linux), as subscribers on machines of their own take nothing of the gateway's cores")
	fs.DurationVar(&c.quiet, "quiet", time.Second, "how long to listen after the last change for results that come twice")
	if err := fs.Parse(args); err != nil {
		return c, err
	}
	if c.query == "" || c.mutation == "" || c.mark == "" {
		return c, errors.New("-query, -mutation and -mark are required")
	}
	if c.deferReads > 0 && !kernelStamps {
		return c, errors.New("-defer-reads needs the kernel's receive times (Linux)")
	}
	if c.n < 1 || c.changes < 1 || c.dialers < 1 {
		return c, errors.New("-n, -changes and -dialers must be at least 1")
	}
	if err := json.Unmarshal([]byte(vars), &c.vars); err != nil {
		return c, fmt.Errorf("-variables: %w", err)
	}
	if strings.HasPrefix(strings.TrimSpace(mvars), "[") {
		if err := json.Unmarshal([]byte(mvars), &c.mutationVars); err != nil || len(c.mutationVars) == 0 {
			return c, fmt.Errorf("-mutation-variables: not a list of objects: %v", err)
		}
	} else {
		var one map[string]any
		if err := json.Unmarshal([]byte(mvars), &one); err != nil {
			return c, fmt.Errorf("-mutation-variables: %w", err)
		}
		c.mutationVars = []map[string]any{one}
	}
	if c.metrics == "" {
		c.metrics = strings.TrimSuffix(c.url, "/graphql") + "/metrics"
	}
	return c, nil
}

// Report is what subload prints.
type Report struct {
	Subscribers int `json:"subscribers"`
	Changes     int `json:"changes"`
	// Delivered counts the results that reached a subscriber the first
	// time for their change; Missing the subscriber-changes that got
	// none; Twice the results that came again for a change already
	// delivered; Unmarked the results of no change made here; Errors the
	// results with GraphQL errors and the subscriptions that ended.
	Delivered, Missing, Twice, Unmarked, Errors int
	// LatencyMS is from each change's mutation being sent to its result's
	// arrival, over every delivery; PerChange the same for each change.
	LatencyMS Percentiles   `json:"latencyMs"`
	PerChange []Percentiles `json:"perChange"`
	// KernelArrivals says that an arrival is when the kernel received the
	// message's last packet (SO_TIMESTAMPNS, Linux), not when the load's
	// reader read it; ReadLatencyMS is LatencyMS to the reads instead.
	KernelArrivals bool        `json:"kernelArrivals"`
	ReadLatencyMS  Percentiles `json:"readLatencyMs"`
	// DeferReadsMS is -defer-reads: how long after each mutation's
	// answer the load started reading.
	DeferReadsMS float64 `json:"deferReadsMs"`
	// FanOutMS is from each change's first arrival at any subscriber to its
	// arrival at each: the share of the latency that grows with the
	// subscribers.
	FanOutMS Percentiles `json:"fanOutMs"`
	// SubscribeSeconds is how long opening and subscribing them all took.
	SubscribeSeconds float64 `json:"subscribeSeconds"`
	// RSSPerSubscriberKB is the gateway's resident memory with them all
	// subscribed, less before, per subscriber (with -pid).
	RSSPerSubscriberKB float64 `json:"rssPerSubscriberKB,omitempty"`
	// GoroutinesPerSubscriber is the gateway's go_goroutines, the same way.
	GoroutinesPerSubscriber float64 `json:"goroutinesPerSubscriber"`
	// Streams is the gateway's engagegw_subscription_streams_open with
	// them all subscribed, less before: the streams they share.
	Streams float64 `json:"streams"`
	// CPU is where the machine's time went while the changes were made,
	// from the first mutation sent to the last change's last arrival
	// (Linux): what says whether the machine, not the gateway, bounds the
	// latency when the load shares it.
	CPU        CPUReport `json:"cpu"`
	FirstError string    `json:"firstError,omitempty"`
}

// CPUReport is the CPU time the changes took, per change, in milliseconds.
type CPUReport struct {
	// WallMS is how long a change took, from its mutation to its last
	// arrival, on average.
	WallMS float64 `json:"wallMs"`
	// GatewayMS is the gateway's CPU time (with -pid), LoadMS this
	// load's, MachineMS every core's busy time (both and everything else).
	GatewayMS, LoadMS, MachineMS float64
	// Cores is how many the machine has: MachineMS / (WallMS × Cores) is
	// how busy it was.
	Cores int
	// GCCycles is how many garbage collections the gateway ran meanwhile,
	// per change (its go_gc_duration_seconds_count).
	GCCycles float64 `json:"gcCycles"`
}

// Percentiles of a set of latencies, in milliseconds.
type Percentiles struct {
	P50, P90, P99, Max float64
	N                  int
}

func percentiles(d []time.Duration) Percentiles {
	if len(d) == 0 {
		return Percentiles{}
	}
	slices.Sort(d)
	at := func(q float64) float64 {
		i := min(int(q*float64(len(d))), len(d)-1)
		return float64(d[i].Microseconds()) / 1000
	}
	return Percentiles{P50: at(0.50), P90: at(0.90), P99: at(0.99), Max: float64(d[len(d)-1].Microseconds()) / 1000, N: len(d)}
}

// subscriber is one websocket and what it received. Its reader only keeps
// each message with its time of arrival; they are read once the changes
// are made, so that the load measured takes little of the machine it
// shares with the gateway.
type subscriber struct {
	ws      *wsClient
	inbox   []arrival
	inboxMu sync.Mutex
	// got counts the results received (read while changes are made).
	got atomic.Int64

	mu               sync.Mutex
	received         map[int]int       // change → times
	at               map[int]time.Time // change → first arrival
	readAt           map[int]time.Time // change → when the load read it
	unmarked, errors int
	firstErr         string
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	c, err := parse(args, stderr)
	if err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()

	rss0, _ := rssKB(c.pid)
	g0, _ := metric(ctx, c.metrics, "go_goroutines")
	open0, _ := metric(ctx, c.metrics, "engagegw_subscriptions_open")
	streams0, _ := metric(ctx, c.metrics, "engagegw_subscription_streams_open")

	start := time.Now()
	readers := newGate()
	subs := make([]*subscriber, c.n)
	var opened atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, c.n)
	work := make(chan int)
	for range c.dialers {
		wg.Go(func() {
			for i := range work {
				s := &subscriber{received: map[int]int{}, at: map[int]time.Time{}, readAt: map[int]time.Time{}}
				subs[i] = s
				if err := subscribe(ctx, c, s, readers, &wg); err != nil {
					errs <- err
					continue
				}
				opened.Add(1)
			}
		})
	}
	for i := range c.n {
		work <- i
	}
	close(work)
	// Wait for the dialers (the readers go on, counted in wg too).
	for opened.Load()+int64(len(errs)) < int64(c.n) {
		if ctx.Err() != nil {
			return fmt.Errorf("%d of %d subscribed before the timeout", opened.Load(), c.n)
		}
		time.Sleep(10 * time.Millisecond)
	}
	if len(errs) > 0 {
		return fmt.Errorf("%d subscriptions failed; the first: %w", len(errs), <-errs)
	}
	// The gateway registers a subscription after its message: wait until
	// it holds them all.
	for {
		open, err := metric(ctx, c.metrics, "engagegw_subscriptions_open")
		if err == nil && open-open0 >= float64(c.n) {
			break
		}
		if ctx.Err() != nil {
			return fmt.Errorf("the gateway reported %.0f subscriptions open, not %d: %v", open-open0, c.n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	r := Report{Subscribers: c.n, Changes: c.changes, SubscribeSeconds: time.Since(start).Seconds()}
	if rss1, err := rssKB(c.pid); err == nil && c.pid != 0 {
		r.RSSPerSubscriberKB = float64(rss1-rss0) / float64(c.n)
	}
	if st, err := metric(ctx, c.metrics, "engagegw_subscription_streams_open"); err == nil {
		r.Streams = st - streams0
	}
	if g1, err := metric(ctx, c.metrics, "go_goroutines"); err == nil {
		r.GoroutinesPerSubscriber = (g1 - g0) / float64(c.n)
	}

	sent := make([]time.Time, c.changes+1)
	gc0, _ := metric(ctx, c.metrics, "go_gc_duration_seconds_count")
	cpu0 := cpuNow(c.pid)
	for k := 1; k <= c.changes; k++ {
		if c.deferReads > 0 {
			readers.shut()
			for _, s := range subs {
				s.ws.conn.kick()
			}
			for readers.parked.Load() < int64(c.n) && ctx.Err() == nil {
				time.Sleep(time.Millisecond)
			}
		}
		sent[k] = time.Now()
		if err := mutate(ctx, c, k); err != nil {
			readers.lift()
			return fmt.Errorf("change %d: %w", k, err)
		}
		if c.deferReads > 0 {
			select {
			case <-time.After(c.deferReads):
			case <-ctx.Done():
			}
			readers.lift()
		}
		// The next change waits until this one reached everyone (or the
		// timeout), so that each is measured alone.
		for !allGot(subs, k) && ctx.Err() == nil {
			time.Sleep(2 * time.Millisecond)
		}
	}
	r.CPU = cpuNow(c.pid).since(cpu0, c.changes)
	if gc1, err := metric(ctx, c.metrics, "go_gc_duration_seconds_count"); err == nil {
		r.CPU.GCCycles = (gc1 - gc0) / float64(c.changes)
	}
	quiet := time.NewTimer(c.quiet)
	select {
	case <-quiet.C:
	case <-ctx.Done():
	}

	cancel()
	wg.Wait()
	var all, read []time.Duration
	per := make([][]time.Duration, c.changes+1)
	for _, s := range subs {
		s.read(c.mark)
		for k := 1; k <= c.changes; k++ {
			n := s.received[k]
			if n == 0 {
				r.Missing++
				continue
			}
			r.Delivered++
			r.Twice += n - 1
			d := s.at[k].Sub(sent[k])
			all = append(all, d)
			per[k] = append(per[k], d)
			read = append(read, s.readAt[k].Sub(sent[k]))
		}
		r.Unmarked += s.unmarked
		r.Errors += s.errors
		if r.FirstError == "" {
			r.FirstError = s.firstErr
		}
	}
	first := make([]time.Time, c.changes+1)
	for _, s := range subs {
		for k := 1; k <= c.changes; k++ {
			if at, ok := s.at[k]; ok && (first[k].IsZero() || at.Before(first[k])) {
				first[k] = at
			}
		}
	}
	var spread []time.Duration
	for _, s := range subs {
		for k := 1; k <= c.changes; k++ {
			if at, ok := s.at[k]; ok {
				spread = append(spread, at.Sub(first[k]))
			}
		}
	}
	r.FanOutMS = percentiles(spread)
	r.LatencyMS = percentiles(all)
	r.ReadLatencyMS = percentiles(read)
	r.KernelArrivals = kernelStamps
	r.DeferReadsMS = float64(c.deferReads) / float64(time.Millisecond)
	for k := 1; k <= c.changes; k++ {
		r.PerChange = append(r.PerChange, percentiles(per[k]))
	}
	enc := json.NewEncoder(stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(r)
}

// allGot says whether every subscriber received k messages.
func allGot(subs []*subscriber, k int) bool {
	for _, s := range subs {
		if s.got.Load() < int64(k) {
			return false
		}
	}
	return true
}

// subscribe opens s's websocket and subscribes; its reader runs (in wg)
// until ctx ends.
func subscribe(ctx context.Context, c config, s *subscriber, g *gate, wg *sync.WaitGroup) error {
	u := "ws" + strings.TrimPrefix(c.url, "http")
	ws, err := dialWS(ctx, u, "graphql-transport-ws", g)
	if err != nil {
		return err
	}
	s.ws = ws
	stop := context.AfterFunc(ctx, func() { _ = ws.close() })
	write := func(v any) error {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		return ws.writeText(b)
	}
	if err := write(map[string]any{"type": "connection_init", "payload": map[string]any{}}); err != nil {
		stop()
		_ = ws.close()
		return err
	}
	var m struct {
		ID, Type string
		Payload  json.RawMessage
	}
	if b, _, err := ws.read(readLimit); err != nil || json.Unmarshal(b, &m) != nil || m.Type != "connection_ack" {
		stop()
		_ = ws.close()
		return fmt.Errorf("no connection_ack: %v", err)
	}
	if err := write(map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": c.query, "variables": c.vars}}); err != nil {
		stop()
		_ = ws.close()
		return err
	}
	wg.Go(func() {
		defer stop()
		defer ws.close()
		for {
			b, at, err := ws.read(readLimit)
			if err != nil {
				return
			}
			now := time.Now()
			if bytes.Contains(b, []byte(`"type":"ping"`)) {
				_ = write(map[string]any{"type": "pong"})
				continue
			}
			s.inboxMu.Lock()
			s.inbox = append(s.inbox, arrival{at: at, read: now, msg: b})
			s.inboxMu.Unlock()
			s.got.Add(1)
		}
	})
	return nil
}

// readLimit is the largest message the load reads.
const readLimit = 1 << 20

// arrival is a message as it arrived: at is when it reached the socket (on
// Linux, the kernel's receive time), read when the load's reader had it.
type arrival struct {
	at, read time.Time
	msg      []byte
}

// read goes through what s received.
func (s *subscriber) read(mark string) {
	s.inboxMu.Lock()
	inbox := s.inbox
	s.inboxMu.Unlock()
	for _, a := range inbox {
		var m struct {
			ID, Type string
			Payload  json.RawMessage
		}
		if json.Unmarshal(a.msg, &m) != nil {
			continue
		}
		switch m.Type {
		case "next":
			s.take(mark, m.Payload, a)
		case "error", "complete":
			s.errors++
			if s.firstErr == "" {
				s.firstErr = m.Type + ": " + string(m.Payload)
			}
		}
	}
}

// take records one result.
func (s *subscriber) take(mark string, payload json.RawMessage, a arrival) {
	var r struct {
		Errors []json.RawMessage
	}
	if json.Unmarshal(payload, &r) == nil && len(r.Errors) > 0 {
		s.errors++
		if s.firstErr == "" {
			s.firstErr = string(payload)
		}
		return
	}
	k, ok := changeOf(payload, mark)
	if !ok {
		s.unmarked++
		return
	}
	if s.received[k] == 0 {
		s.at[k], s.readAt[k] = a.at, a.read
	}
	s.received[k]++
}

// changeOf finds the number after mark in a payload.
func changeOf(payload []byte, mark string) (int, bool) {
	i := bytes.Index(payload, []byte(mark))
	if i < 0 {
		return 0, false
	}
	rest := payload[i+len(mark):]
	j := 0
	for j < len(rest) && rest[j] >= '0' && rest[j] <= '9' {
		j++
	}
	k, err := strconv.Atoi(string(rest[:j]))
	return k, err == nil
}

// mutate makes change k.
func mutate(ctx context.Context, c config, k int) error {
	vars := substitute(c.mutationVars[(k-1)%len(c.mutationVars)], strconv.Itoa(k))
	body, err := json.Marshal(map[string]any{"query": c.mutation, "variables": vars})
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, c.url, bytes.NewReader(body))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	var out struct {
		Errors []json.RawMessage
	}
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK || json.Unmarshal(b, &out) != nil || len(out.Errors) > 0 {
		return fmt.Errorf("the mutation was answered %d: %.300s", resp.StatusCode, b)
	}
	return nil
}

// substitute replaces "{{n}}" in every string of v.
func substitute(v any, n string) any {
	switch x := v.(type) {
	case string:
		return strings.ReplaceAll(x, "{{n}}", n)
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			out[k] = substitute(e, n)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = substitute(e, n)
		}
		return out
	}
	return v
}

// metric reads one unlabelled sample from a Prometheus text endpoint.
func metric(ctx context.Context, url, name string) (float64, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return 0, err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), name+" "); ok {
			return strconv.ParseFloat(strings.TrimSpace(v), 64)
		}
	}
	return 0, fmt.Errorf("%s: no %s", url, name)
}

// rssKB is a process's resident memory.
func rssKB(pid int) (int64, error) {
	if pid == 0 {
		return 0, errors.New("no pid")
	}
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmRSS:"); ok {
			return strconv.ParseInt(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 10, 64)
		}
	}
	return 0, errors.New("no VmRSS")
}

// cpuSample is the CPU time spent so far by the gateway, this process and
// the machine.
type cpuSample struct {
	at                  time.Time
	gateway, load, busy time.Duration
	cores               int
}

// cpuNow samples the CPU times (Linux); what it cannot read stays zero.
func cpuNow(pid int) cpuSample {
	s := cpuSample{at: time.Now()}
	if pid != 0 {
		if b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
			// After the command's closing parenthesis: state, then
			// fields 4.., of which utime and stime are the 14th and 15th.
			if i := bytes.LastIndexByte(b, ')'); i >= 0 {
				f := strings.Fields(string(b[i+1:]))
				if len(f) > 12 {
					u, _ := strconv.ParseInt(f[11], 10, 64)
					k, _ := strconv.ParseInt(f[12], 10, 64)
					s.gateway = ticks(u + k)
				}
			}
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		s.load = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	if b, err := os.ReadFile("/proc/stat"); err == nil {
		for line := range strings.SplitSeq(string(b), "\n") {
			f := strings.Fields(line)
			if len(f) < 8 {
				continue
			}
			if f[0] == "cpu" {
				// user nice system idle iowait irq softirq [steal]: busy
				// is all but idle and iowait.
				for i, v := range f[1:] {
					if i == 3 || i == 4 {
						continue
					}
					n, _ := strconv.ParseInt(v, 10, 64)
					s.busy += ticks(n)
				}
			} else if strings.HasPrefix(f[0], "cpu") {
				s.cores++
			}
		}
	}
	return s
}

// ticks converts clock ticks (USER_HZ, 100 on Linux) to a duration.
func ticks(n int64) time.Duration { return time.Duration(n) * 10 * time.Millisecond }

// since reports what the changes took from s0 to s, per change.
func (s cpuSample) since(s0 cpuSample, changes int) CPUReport {
	per := func(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 / float64(max(changes, 1)) }
	return CPUReport{WallMS: per(s.at.Sub(s0.at)), GatewayMS: per(s.gateway - s0.gateway), LoadMS: per(s.load - s0.load),
		MachineMS: per(s.busy - s0.busy), Cores: s.cores}
}
