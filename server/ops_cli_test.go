package server

// The command line as an operator uses it: the built binary's --help,
// --version and check (with --reach against a real simulator and Redis),
// and the demo's start-up hints, followed as a person would.

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"maps"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// runBinary runs the gateway binary with args and only env as its
// environment, and returns its exit code, stdout and stderr.
func runBinary(t *testing.T, bin string, env map[string]string, args ...string) (int, string, string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH")}
	for k, v := range env {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var out, errs bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errs
	err := cmd.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	return code, out.String(), errs.String()
}

func TestBinaryCommandLine(t *testing.T) {
	bin := buildGateway(t)
	sim, err := engagesim.New(engagesim.Config{})
	require.NoError(t, err)
	srv := httptest.NewServer(sim)
	t.Cleanup(func() { srv.Close(); sim.Close() })
	upstream := upstreamEnv(srv.URL)

	t.Run("--help and --version", func(t *testing.T) {
		code, out, _ := runBinary(t, bin, nil, "--help")
		require.Zero(t, code)
		for _, s := range settings(theBinary(t).README) {
			assert.Contains(t, out, strings.Join(s.names, ", ")+"\n    default: ")
		}
		code, out, _ = runBinary(t, bin, nil, "--version")
		require.Zero(t, code)
		assert.Regexp(t, `^engage-gateway \S+ \(commit \S+, go1\.\S+\)\n$`, out)
		code, _, errs := runBinary(t, bin, nil, "--port", "80")
		assert.Equal(t, 2, code)
		assert.Contains(t, errs, `"--port 80" is not a command or flag it knows; see gateway --help`)
	})

	t.Run("check names each problem", func(t *testing.T) {
		code, out, _ := runBinary(t, bin, nil, "check")
		require.Zero(t, code, out)
		assert.Contains(t, out, "configuration: sound\n  listen: 127.0.0.1:8080\n  upstream: the embedded simulator (the demo)\n  store: memory (one replica)\n")

		env := withEnv(maps.Clone(upstream), map[string]string{
			"UPSTREAM_CONCURRENCY": "0", "SHUTDOWN_TIMEOUT": "soon", "GRAPHQL_MAX_DEPTH": "-1",
			"REDIS_URL": "memcached://cache:11211", "CACHE_ANSWERS_CHECK": "sometimes",
		})
		code, out, _ = runBinary(t, bin, env, "check")
		assert.Equal(t, 1, code)
		assert.Contains(t, out, "configuration: 5 problem(s):\n")
		for _, name := range []string{"UPSTREAM_CONCURRENCY", "SHUTDOWN_TIMEOUT", "GRAPHQL_MAX_DEPTH", "REDIS_URL", "CACHE_ANSWERS_CHECK"} {
			assert.Regexp(t, regexp.MustCompile(`(?m)^  - .*`+name), out)
		}
		assert.NotContains(t, out, engagesim.DefaultPassword)
	})

	t.Run("check --reach", func(t *testing.T) {
		redisURL := os.Getenv("REDIS_URL")
		if redisURL == "" {
			t.Skip("no REDIS_URL: scripts/test.sh starts a redis-server")
		}
		env := withEnv(maps.Clone(upstream), map[string]string{"REDIS_URL": redisURL})
		code, out, _ := runBinary(t, bin, env, "check", "--reach")
		require.Zero(t, code, out)
		assert.Contains(t, out, "engage: a token, and the countries (one call, with the HierarchyMapping key)\n")
		assert.Contains(t, out, "redis: PING answered\n")

		code, out, _ = runBinary(t, bin, withEnv(maps.Clone(env), map[string]string{"ENGAGE_PASSWORD": "wrong-s3cret"}), "check", "--reach")
		assert.Equal(t, 1, code)
		assert.Contains(t, out, "configuration: sound")
		assert.Contains(t, out, "engage: no token")
		assert.NotContains(t, out, "wrong-s3cret")

		code, out, _ = runBinary(t, bin, withEnv(maps.Clone(env), map[string]string{"REDIS_URL": fmt.Sprintf("redis://127.0.0.1:%d/0", freePort(t))}), "check", "--reach")
		assert.Equal(t, 1, code)
		assert.Contains(t, out, "engage: a token")
		assert.Contains(t, out, "redis: ")
		assert.NotContains(t, out, "redis: PING answered")
	})
}

// TestDemoHints: `go run .` (here the built binary, with no settings but a
// port) prints where GraphiQL and the simulator are and a curl that makes
// a change; a person who runs the subscription it names and then the curl
// sees the change arrive.
func TestDemoHints(t *testing.T) {
	bin := buildGateway(t)
	port := freePort(t)
	ctx, cancel := context.WithCancel(t.Context())
	cmd := exec.CommandContext(ctx, bin)
	cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "LISTEN_ADDR=127.0.0.1:" + strconv.Itoa(port)}
	stderr, err := cmd.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, cmd.Start())
	t.Cleanup(func() { cancel(); _ = cmd.Wait() })

	var hints strings.Builder
	sc := bufio.NewScanner(stderr)
	for sc.Scan() {
		hints.WriteString(sc.Text() + "\n")
		if strings.HasPrefix(strings.TrimSpace(sc.Text()), "curl ") {
			break
		}
	}
	text := hints.String()
	gw := fmt.Sprintf("http://127.0.0.1:%d", port)
	assert.Contains(t, text, "GraphiQL:       "+gw+"/\n")
	assert.Contains(t, text, "GraphQL:        "+gw+"/graphql")
	sub := regexp.MustCompile(`(?m)^  (subscription \{.*\})$`).FindStringSubmatch(text)
	require.NotNil(t, sub, text)
	curl := regexp.MustCompile(`curl -sS -X PUT (\S+) -H 'Content-Type: application/json' -d '([^']+)'`).FindStringSubmatch(text)
	require.NotNil(t, curl, text)
	simURL := regexp.MustCompile(`the simulator:  (http://\S+)`).FindStringSubmatch(text)
	require.NotNil(t, simURL, text)
	assert.True(t, strings.HasPrefix(curl[1], simURL[1]+"/_sim/bookings/"), curl[1])

	// The subscription the hints name, over SSE, as GraphiQL would run it.
	events := sseEvents(t, gw, sub[1], nil)
	// The stream is registered once its first byte is written; give the
	// gateway a moment to hold the subscription.
	time.Sleep(300 * time.Millisecond)

	put, err := http.NewRequestWithContext(ctx, http.MethodPut, curl[1], strings.NewReader(curl[2]))
	require.NoError(t, err)
	put.Header.Set("Content-Type", "application/json")
	presp, err := http.DefaultClient.Do(put)
	require.NoError(t, err)
	presp.Body.Close()
	require.Equal(t, http.StatusOK, presp.StatusCode)

	select {
	case ev, ok := <-events:
		require.True(t, ok, "the stream ended")
		assert.Contains(t, string(ev), `"action":"UPDATED"`)
		assert.Contains(t, string(ev), `"title":"Renamed in the web app"`)
	case <-time.After(15 * time.Second):
		t.Fatal("the change did not arrive")
	}
}

// The booking the hints rename is one the demo's caller may see whole, at
// any time of day: a private meeting's title would arrive hidden.
func TestTheDemoHintsNameABookingTheDemoMaySee(t *testing.T) {
	start := time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)
	private := 0
	for at := start; at.Before(start.Add(48 * time.Hour)); at = at.Add(10 * time.Minute) {
		fix := engagesim.DemoFixture(1, at)
		for _, b := range fix.Bookings {
			if b.Private {
				private++
			}
		}
		b := nextBooking(fix, at)
		require.NotZero(t, b.ID, at)
		assert.False(t, b.Private, "at %s: booking %d is private", at, b.ID)
		assert.NotEmpty(t, b.Title, at)
	}
	require.NotZero(t, private, "the demo tenant has private meetings, so the check can fail")
}
