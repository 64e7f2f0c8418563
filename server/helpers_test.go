package server

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// repoRoot is the repository's root from this package's directory, the
// tests' working directory: the README, the schema's export, the npm
// clients, the deploy files and the commands the tests build are there.
const repoRoot = ".."

// theBinary is what the main package gives Run: the README it embeds.
func theBinary(t testing.TB) Binary {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(repoRoot, "README.md"))
	require.NoError(t, err)
	return Binary{README: string(b)}
}

// gateway is a gateway started as `go run .` starts it, on port 0.
type gateway struct {
	url string
	// simURL is the embedded simulator's base URL (its /_sim admin routes
	// included); "" when the gateway runs against a configured upstream.
	simURL string
	// logs is everything the gateway logged so far.
	logs *syncBuffer
	// stop stops the gateway before the test ends, as SIGTERM would, and
	// waits until it has.
	stop func()
}

// startGateway runs the gateway with env (and LISTEN_ADDR on a free loopback
// port), waits until /healthz answers, and stops it when the test ends.
func startGateway(t *testing.T, env map[string]string) *gateway {
	t.Helper()
	return startGatewayIn(t, context.Background(), env)
}

// startGatewayIn is startGateway with run()'s context derived from parent
// (which may carry a clock, see withClock).
func startGatewayIn(t testing.TB, parent context.Context, env map[string]string) *gateway {
	t.Helper()
	if _, ok := env["LISTEN_ADDR"]; !ok {
		env["LISTEN_ADDR"] = "127.0.0.1:0"
	}
	ctx, cancel := context.WithCancel(parent)
	pr, pw := io.Pipe()
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, func(k string) string { return env[k] }, pw)
		_ = pw.Close()
	}()
	type started struct{ addr, simURL string }
	addr := make(chan started, 1)
	logs := &syncBuffer{}
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		// The embedded simulator's URL is logged before the listening line.
		var simURL string
		for sc.Scan() {
			_, _ = logs.Write(append(sc.Bytes(), '\n'))
			var line struct {
				Msg       string `json:"msg"`
				Addr      string `json:"addr"`
				Simulator string `json:"simulator"`
			}
			if json.Unmarshal(sc.Bytes(), &line) != nil {
				continue
			}
			if line.Simulator != "" {
				simURL = line.Simulator
			}
			if line.Msg == "gateway listening" {
				addr <- started{line.Addr, simURL}
			}
		}
	}()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			select {
			case err := <-done:
				assert.NoError(t, err)
			case <-time.After(20 * time.Second):
				t.Error("gateway did not stop within 20s")
			}
		})
	}
	t.Cleanup(stop)
	var a started
	select {
	case a = <-addr:
	case err := <-done:
		t.Fatalf("gateway exited before listening: %v", err)
	case <-time.After(30 * time.Second):
		t.Fatal("gateway did not log its address within 30s")
	}
	g := &gateway{url: "http://" + a.addr, simURL: a.simURL, logs: logs, stop: stop}
	require.Eventually(t, func() bool {
		resp, err := http.Get(g.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 10*time.Second, 20*time.Millisecond)
	return g
}

// gqlResponse is a GraphQL response as a client sees it.
type gqlResponse struct {
	Data   json.RawMessage `json:"data"`
	Errors []struct {
		Message    string         `json:"message"`
		Path       []any          `json:"path"`
		Extensions map[string]any `json:"extensions"`
	} `json:"errors"`
	Extensions map[string]any `json:"extensions"`
}

func (g *gateway) query(t testing.TB, query string, vars map[string]any) gqlResponse {
	t.Helper()
	return queryAt(t, g.url, query, vars)
}

// buildGateway compiles the gateway once per test binary run.
func buildGateway(t testing.TB) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "gateway")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	cmd.Dir = repoRoot
	out, err := cmd.CombinedOutput()
	require.NoError(t, err, "go build: %s", out)
	return bin
}

func freePort(t testing.TB) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}

// upstreamEnv is the environment that points a gateway at an engagesim
// served at simURL, with the simulator's demo credentials and keys.
func upstreamEnv(simURL string) map[string]string {
	keys := engagesim.DefaultKeys()
	return map[string]string{
		"ENGAGE_API_URL":              simURL + "/" + engagesim.DefaultTenant + "/api/V1",
		"ENGAGE_TOKEN_URL":            simURL + "/tokenproviderapi/token",
		"ENGAGE_CLIENT_ID":            engagesim.DefaultClientID,
		"ENGAGE_PASSWORD":             engagesim.DefaultPassword,
		"ENGAGE_KEY_COSTCODE":         keys[engagesim.ProductCostCode],
		"ENGAGE_KEY_EXTERNALBOOKINGS": keys[engagesim.ProductExternalBookings],
		"ENGAGE_KEY_HIERARCHYMAPPING": keys[engagesim.ProductHierarchyMapping],
		"ENGAGE_KEY_VENDORSERVICES":   keys[engagesim.ProductVendorServices],
		"ENGAGE_KEY_VISITOR":          keys[engagesim.ProductVisitor],
		// These tests are not about client authentication (auth_test.go
		// is), and a gateway in front of an upstream requires a setting.
		"AUTH_DISABLED": "true",
		// Nor about the mirror (live_mirror_test.go is), whose worker would add
		// its own calls to the ones they count.
		"MIRROR": "off",
		// Where a test turns the mirror on, it holds bookings only: the
		// tests of bookings count every call, which the visitor lists'
		// fill and roll would add to (live_mirror_visitors_test.go counts
		// those).
		"MIRROR_VISITORS": "off",
	}
}

// withEnv returns env with extra's settings added (extra wins).
func withEnv(env, extra map[string]string) map[string]string {
	maps.Copy(env, extra)
	return env
}

// replica is one gateway process.
type replica struct {
	url, addr string
	cmd       *exec.Cmd
	// exited delivers cmd.Wait's result once.
	exited <-chan error
	logs   string
}

// startReplica runs the gateway binary with env on port and waits for
// /healthz; when the test ends it stops the process (SIGINT, then SIGKILL
// after 20 s) if it still runs, and shows its log if the test failed.
func startReplica(t testing.TB, bin string, port int, env map[string]string) *replica {
	t.Helper()
	cmd := exec.Command(bin)
	// Where Redis is comes from env alone: the test script's REDIS_URL
	// would name a second Redis beside a cluster's or Sentinel's.
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "REDIS_") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	cmd.Env = append(cmd.Env, "LISTEN_ADDR=127.0.0.1:"+fmt.Sprint(port))
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	logs, err := os.Create(filepath.Join(t.TempDir(), "gateway.log"))
	require.NoError(t, err)
	cmd.Stdout, cmd.Stderr = logs, logs
	require.NoError(t, cmd.Start())
	exited, done := make(chan error, 1), make(chan struct{})
	go func() { exited <- cmd.Wait(); close(done) }()
	r := &replica{addr: fmt.Sprintf("127.0.0.1:%d", port), cmd: cmd, exited: exited, logs: logs.Name()}
	r.url = "http://" + r.addr
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		select {
		case <-done:
		case <-time.After(20 * time.Second):
			_ = cmd.Process.Kill()
		}
		if t.Failed() {
			t.Logf("replica on %d logged:\n%s", port, r.log())
		}
	})
	require.Eventually(t, func() bool {
		resp, err := http.Get(r.url + "/healthz")
		if err != nil {
			return false
		}
		resp.Body.Close()
		return resp.StatusCode == http.StatusOK
	}, 30*time.Second, 50*time.Millisecond, "replica on %d did not come up", port)
	return r
}

// log is what the replica has logged so far.
func (r *replica) log() string {
	b, _ := os.ReadFile(r.logs)
	return string(b)
}

func (r *replica) query(t testing.TB, q string, vars map[string]any) gqlResponse {
	t.Helper()
	return (&gateway{url: r.url}).query(t, q, vars)
}

// sseEvents subscribes over server-sent events and returns the payloads of
// the events as they arrive; the stream ends with the test.
func sseEvents(t *testing.T, url, query string, vars map[string]any) <-chan json.RawMessage {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url+"/graphql", strings.NewReader(string(body)))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode)
	out := make(chan json.RawMessage, 16)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				out <- json.RawMessage(data)
			}
		}
	}()
	return out
}

// tb is what the helpers here need of a test: *testing.T, or the
// *assert.CollectT of one EventuallyWithT attempt.
type tb interface {
	require.TestingT
	Helper()
}

// queryAt posts one GraphQL operation to the gateway at gwURL and decodes
// its answer, for any tb, so it may run inside EventuallyWithT.
func queryAt(t tb, gwURL, query string, vars map[string]any) gqlResponse {
	t.Helper()
	out, err := postOperation(gwURL, query, vars)
	require.NoError(t, err)
	return out
}

// postOperation posts one operation to the gateway at gwURL and decodes its
// answer. It needs no test, so it may run on any goroutine.
func postOperation(gwURL, query string, vars map[string]any) (gqlResponse, error) {
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	if err != nil {
		return gqlResponse{}, err
	}
	resp, err := http.Post(gwURL+"/graphql", "application/json", bytes.NewReader(body))
	if err != nil {
		return gqlResponse{}, err
	}
	defer resp.Body.Close()
	var out gqlResponse
	err = json.NewDecoder(resp.Body).Decode(&out)
	return out, err
}

// simCall calls an admin route of the simulator at simURL and returns the
// status and body, whatever the status.
func simCall(t tb, simURL, method, path string, body any) (int, []byte) {
	t.Helper()
	var r io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(t, err)
		r = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(context.Background(), method, simURL+path, r)
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp.StatusCode, raw
}

// liveStats reads the simulator's counts; resetLiveStats zeroes them.
func liveStats(t tb, simURL string) engagesim.Stats {
	t.Helper()
	code, raw := simCall(t, simURL, http.MethodGet, "/_sim/stats", nil)
	require.Equal(t, http.StatusOK, code, "%s", raw)
	var st engagesim.Stats
	require.NoError(t, json.Unmarshal(raw, &st))
	return st
}

func resetLiveStats(t tb, simURL string) {
	t.Helper()
	code, raw := simCall(t, simURL, http.MethodPost, "/_sim/stats/reset", nil)
	require.Equal(t, http.StatusOK, code, "%s", raw)
}

// routeCalls counts the upstream calls to one route template.
func routeCalls(st engagesim.Stats, route string) int {
	n := 0
	for _, c := range st.Calls {
		if c.Route == route {
			n += c.Count
		}
	}
	return n
}

// readiness returns the gateway's readiness status code and its checks.
func readiness(t tb, gwURL string) (int, map[string]string) {
	t.Helper()
	resp, err := http.Get(gwURL + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct{ Checks map[string]string }
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	return resp.StatusCode, body.Checks
}

// postGraphQL sends one operation to the gateway at url with the given
// headers, checks that its raw answer leaks nothing, and decodes it.
func postGraphQL(t testing.TB, url string, headers map[string]string, query string, vars map[string]any) (int, http.Header, gqlResponse) {
	t.Helper()
	status, header, raw := postGraphQLRaw(t, url, headers, query, vars)
	apiAssertNoLeak(t, raw)
	var out gqlResponse
	require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	return status, header, out
}

// postGraphQLRaw is postGraphQL's request, returning the answer as it came.
func postGraphQLRaw(t testing.TB, url string, headers map[string]string, query string, vars map[string]any) (int, http.Header, []byte) {
	t.Helper()
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	return exchange(t, http.MethodPost, url+"/graphql", withContentType(headers, "application/json"), bytes.NewReader(body))
}

// exchange sends one request with headers (nil for none) and body (nil for
// none), and returns the answer's status, headers and body as they came.
func exchange(t testing.TB, method, url string, headers map[string]string, body io.Reader) (int, http.Header, []byte) {
	t.Helper()
	resp, raw := roundTrip(t, method, url, headers, body)
	return resp.StatusCode, resp.Header, raw
}

// roundTrip is exchange's request, returning the response (its body read
// and closed) and the body as it came: with Accept-Encoding set by hand,
// still compressed.
func roundTrip(t testing.TB, method, url string, headers map[string]string, body io.Reader) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, body)
	require.NoError(t, err)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return resp, raw
}

// withContentType is headers with Content-Type set to ct, unless headers
// name one already.
func withContentType(headers map[string]string, ct string) map[string]string {
	out := map[string]string{"Content-Type": ct}
	for k, v := range headers {
		out[k] = v
	}
	return out
}

func bearer(tok string) map[string]string { return map[string]string{"Authorization": "Bearer " + tok} }

// run serves the gateway as the binary does, without its README or
// version, until ctx is cancelled. Tests call it with LISTEN_ADDR on port 0
// and read the address from the "gateway listening" log line.
func run(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	return runWith(ctx, Binary{}, getenv, stdout, io.Discard)
}
