package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

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
	body, err := json.Marshal(map[string]any{"query": query, "variables": vars})
	require.NoError(t, err)
	resp, err := http.Post(g.url+"/graphql", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out gqlResponse
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return out
}

func TestGatewayEndToEndOnEmbeddedSimulator(t *testing.T) {
	g := startGateway(t, map[string]string{})

	resp := g.query(t, `{
		countries { id name regions { id name locations { id name timeZone windowsTimeZone
			rooms { id name capacity floor { number } location { id } }
			desks { id name floor { number } }
		} } }
	}`, nil)
	require.Empty(t, resp.Errors)
	var data struct {
		Countries []struct {
			ID, Name string
			Regions  []struct {
				ID, Name  string
				Locations []struct {
					ID, Name, TimeZone, WindowsTimeZone string
					Rooms                               []struct {
						ID, Name string
						Capacity int
						Floor    struct{ Number int }
						Location struct{ ID string }
					}
					Desks []struct {
						ID, Name string
						Floor    struct{ Number int }
					}
				}
			}
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &data))
	require.GreaterOrEqual(t, len(data.Countries), 3)

	zones := map[string]bool{}
	var rooms, desks int
	var aRoom, aLocation string
	for _, c := range data.Countries {
		for _, r := range c.Regions {
			for _, l := range r.Locations {
				zones[l.TimeZone] = true
				assert.NotEmpty(t, l.WindowsTimeZone)
				assert.Contains(t, l.TimeZone, "/", "IANA zone for %s", l.Name)
				for _, room := range l.Rooms {
					assert.Equal(t, l.ID, room.Location.ID)
					aRoom, aLocation = room.ID, l.ID
				}
				rooms += len(l.Rooms)
				desks += len(l.Desks)
			}
		}
	}
	assert.GreaterOrEqual(t, len(zones), 3)
	assert.True(t, zones["Australia/Sydney"], "a southern-hemisphere location: %v", zones)
	assert.GreaterOrEqual(t, rooms, 100)
	assert.GreaterOrEqual(t, desks, 500)

	// node(id:) resolves any global id to its entity.
	resp = g.query(t, `query($id: ID!) { node(id: $id) { id ... on Room { name location { id } } } }`, map[string]any{"id": aRoom})
	require.Empty(t, resp.Errors)
	var node struct {
		Node struct {
			ID       string
			Name     string
			Location struct{ ID string }
		}
	}
	require.NoError(t, json.Unmarshal(resp.Data, &node))
	assert.Equal(t, aRoom, node.Node.ID)
	assert.Equal(t, aLocation, node.Node.Location.ID)
	assert.NotEmpty(t, node.Node.Name)
}

func TestGatewayErrorsAreClientFacing(t *testing.T) {
	g := startGateway(t, map[string]string{})

	tests := []struct {
		name, query string
		code        string
		contains    string
	}{
		{"malformed id", `{ room(id: "not-an-id") { id } }`, "BAD_USER_INPUT", "not an id"},
		{"wrong id type", `{ countries { id } location(id: "Q291bnRyeToxMDAwMDAw") { id } }`, "BAD_USER_INPUT", "Country id, not a Location id"},
		{"unknown location", `{ location(id: "TG9jYXRpb246OTk5OTk5") { id } }`, "NOT_FOUND", "location 999999 does not exist"},
		{"syntax error", `{ countries { id `, "GRAPHQL_PARSE_FAILED", "Expected"},
		{"unknown field", `{ countries { nope } }`, "GRAPHQL_VALIDATION_FAILED", "Cannot query field"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			resp := g.query(t, tt.query, nil)
			require.NotEmpty(t, resp.Errors)
			assert.Equal(t, tt.code, resp.Errors[0].Extensions["code"])
			assert.Contains(t, resp.Errors[0].Message, tt.contains)
		})
	}

	// A malformed body is the client's fault and says so.
	resp, err := http.Post(g.url+"/graphql", "application/json", strings.NewReader("{not json"))
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
}

func TestGatewayReadiness(t *testing.T) {
	redisURL := os.Getenv("REDIS_URL")
	if redisURL == "" {
		t.Skip("REDIS_URL is not set; scripts/test.sh starts a redis-server and sets it")
	}
	g := startGateway(t, map[string]string{"REDIS_URL": redisURL})
	resp, err := http.Get(g.url + "/readyz")
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var body struct {
		Status string
		Checks map[string]string
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, "ready", body.Status)
	assert.Equal(t, "ok", body.Checks["upstream"])
	assert.Equal(t, "ok", body.Checks["redis"])

	page, err := http.Get(g.url + "/")
	require.NoError(t, err)
	defer page.Body.Close()
	html, _ := io.ReadAll(page.Body)
	assert.Equal(t, http.StatusOK, page.StatusCode)
	assert.Contains(t, string(html), "graphiql")
}

func TestGatewayRefusesToStartWithoutItsRedis(t *testing.T) {
	// Nothing listens on port 1: a replica that cannot reach the fleet's
	// Redis must say so and stop, not run on state of its own.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	env := map[string]string{"LISTEN_ADDR": "127.0.0.1:0", "REDIS_URL": "redis://127.0.0.1:1/0"}
	err := run(ctx, func(k string) string { return env[k] }, io.Discard)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "Redis (127.0.0.1:1) did not answer")
}
