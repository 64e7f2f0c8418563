package server

// @defer end to end: through Apollo Client (npm, run by node from clients/)
// over HTTP multipart/mixed and over a graphql-transport-ws websocket, as an
// application sees it; through plain HTTP clients that ask for one
// response; over server-sent events; and with the limits that bound every
// query (GRAPHQL_TIMEOUT, the cost limit, the loaders' one call per key).

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"os/exec"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/guard"
	"github.com/engagegql/gateway/loader"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// deferQuery asks for every location, its rooms deferred.
const deferQuery = `query LocationsThenRooms { locations { id name ... @defer(label: "rooms") { rooms { id name capacity } } } }`

// deferLocation is a location of deferQuery's answer.
type deferLocation struct {
	ID, Name string
	Rooms    *[]struct {
		ID, Name string
		Capacity int
	}
}

// apolloLine is one line clients/apollo-defer.mjs prints.
type apolloLine struct {
	Type      string          `json:"type"`
	DataState string          `json:"dataState"`
	Data      json.RawMessage `json:"data"`
	Error     json.RawMessage `json:"error"`
}

// runApollo runs one query through Apollo Client with link "http" or "ws"
// and returns what it handed the application.
func runApollo(t *testing.T, node, url, query string, vars map[string]any, link string, headers map[string]string) []apolloLine {
	t.Helper()
	rawVars, err := json.Marshal(vars)
	require.NoError(t, err)
	rawHeaders, err := json.Marshal(headers)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), subTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "apollo-defer.mjs", url, query, string(rawVars), link, string(rawHeaders))
	cmd.Dir = clientsDir
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	var lines []apolloLine
	sc := bufio.NewScanner(bytes.NewReader(out))
	sc.Buffer(make([]byte, 1<<20), 16<<20)
	for sc.Scan() {
		var l apolloLine
		require.NoError(t, json.Unmarshal(sc.Bytes(), &l), "%s", sc.Text())
		lines = append(lines, l)
	}
	require.NoError(t, err, "apollo-defer.mjs %s: %s; stderr: %s", link, out, stderr.String())
	return lines
}

// roomNames lists a location's rooms in the fixture by name, sorted.
func (s *apiStack) roomNames(t *testing.T, name string) []string {
	t.Helper()
	var names []string
	for _, r := range s.resources(s.location(t, name).ID, 1) {
		names = append(names, r.Name)
	}
	slices.Sort(names)
	return names
}

// assertDeferred checks locations as the complete answer of deferQuery:
// every location of the fixture with every one of its rooms.
func (s *apiStack) assertDeferred(t *testing.T, locations []deferLocation) {
	t.Helper()
	require.Len(t, locations, len(s.fx.Locations))
	for _, l := range locations {
		require.NotNil(t, l.Rooms, "%s has its rooms", l.Name)
		var got []string
		for _, r := range *l.Rooms {
			got = append(got, r.Name)
			assert.NotEmpty(t, r.ID)
			assert.Positive(t, r.Capacity)
		}
		slices.Sort(got)
		assert.Equal(t, s.roomNames(t, l.Name), got, "the rooms of %s", l.Name)
	}
}

func TestDeferThroughApolloClient(t *testing.T) {
	t.Parallel()
	node := nodeForClients(t)
	e := newAuthEnv(t)
	for _, link := range []string{"http", "ws"} {
		t.Run(link, func(t *testing.T) {
			url := e.gwURL + "/graphql"
			if link == "ws" {
				url = wsURL(e.gwURL)
			}
			lines := runApollo(t, node, url, deferQuery, nil, link, map[string]string{"X-API-Key": authKioskKey})
			require.GreaterOrEqual(t, len(lines), 2, "the first payload, then the deferred ones: %v", lines)

			// First the locations alone: their rooms are still on their way.
			first := lines[0]
			require.Equal(t, "streaming", first.DataState, "%s", first.Data)
			var initial struct{ Locations []deferLocation }
			require.NoError(t, json.Unmarshal(first.Data, &initial))
			require.Len(t, initial.Locations, len(e.fx.Locations))
			for _, l := range initial.Locations {
				assert.NotEmpty(t, l.Name)
				assert.Nil(t, l.Rooms, "%s's rooms are deferred, not in the first payload", l.Name)
			}
			// Then, merged by the client, every location's rooms.
			last := lines[len(lines)-1]
			require.Equal(t, "complete", last.DataState)
			var complete struct{ Locations []deferLocation }
			require.NoError(t, json.Unmarshal(last.Data, &complete))
			e.assertDeferred(t, complete.Locations)
			for _, l := range lines {
				assert.Equal(t, "result", l.Type, "%s", l.Error)
			}
		})
	}
}

// readMultipart reads a multipart/mixed answer's parts.
func readMultipart(t testing.TB, resp *http.Response) []json.RawMessage {
	t.Helper()
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	require.Equal(t, "multipart/mixed", mt)
	r := multipart.NewReader(resp.Body, params["boundary"])
	var parts []json.RawMessage
	for {
		p, err := r.NextPart()
		if err == io.EOF {
			return parts
		}
		require.NoError(t, err)
		assert.Contains(t, p.Header.Get("Content-Type"), "application/json")
		b, err := io.ReadAll(p)
		require.NoError(t, err)
		parts = append(parts, b)
	}
}

// postDeferred posts query asking for incremental delivery.
func postDeferred(t testing.TB, ctx context.Context, gwURL, query string, headers map[string]string) *http.Response {
	t.Helper()
	return postStreaming(t, ctx, gwURL, "multipart/mixed;deferSpec=20220824, application/json", headers, map[string]any{"query": query})
}

// postStreaming posts a GraphQL request to /graphql accepting accept, with
// headers (nil for none), and returns the response unread: for answers that
// come in parts or as a stream. ctx ends the request.
func postStreaming(t testing.TB, ctx context.Context, gwURL, accept string, headers map[string]string, request map[string]any) *http.Response {
	t.Helper()
	body, err := json.Marshal(request)
	require.NoError(t, err)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, gwURL+"/graphql", bytes.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", accept)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	return resp
}

// subsequentPayload is a payload after the first of a deferred query.
type subsequentPayload struct {
	Incremental []struct {
		Data   json.RawMessage
		Path   []any
		Label  string
		Errors []struct {
			Message    string
			Extensions map[string]any
		}
	}
	HasNext *bool
}

func TestDeferOverHTTP(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)

	t.Run("multipart/mixed: the first payload, then one per deferred fragment", func(t *testing.T) {
		resp := postDeferred(t, context.Background(), s.gwURL, deferQuery, nil)
		defer resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode)
		parts := readMultipart(t, resp)
		require.Len(t, parts, 1+len(s.fx.Locations), "one part per location's rooms")
		var first struct {
			Data    struct{ Locations []deferLocation }
			HasNext *bool
		}
		require.NoError(t, json.Unmarshal(parts[0], &first))
		require.NotNil(t, first.HasNext)
		assert.True(t, *first.HasNext)
		assert.NotContains(t, string(parts[0]), `"rooms"`, "the deferred field is left out, not null: %s", parts[0])
		locations := first.Data.Locations
		for i, raw := range parts[1:] {
			var p subsequentPayload
			require.NoError(t, json.Unmarshal(raw, &p), "%s", raw)
			require.NotNil(t, p.HasNext)
			assert.Equal(t, i < len(parts)-2, *p.HasNext, "only the last part says nothing follows")
			require.Len(t, p.Incremental, 1)
			inc := p.Incremental[0]
			assert.Equal(t, "rooms", inc.Label)
			require.Len(t, inc.Path, 2)
			assert.Equal(t, "locations", inc.Path[0])
			var rooms struct {
				Rooms *[]struct {
					ID, Name string
					Capacity int
				}
			}
			require.NoError(t, json.Unmarshal(inc.Data, &rooms))
			locations[int(inc.Path[1].(float64))].Rooms = rooms.Rooms
		}
		s.assertDeferred(t, locations)
	})
	t.Run("one response for a client that asks for JSON", func(t *testing.T) {
		for _, accept := range []string{"application/json", "application/graphql-response+json", ""} {
			status, h, raw := rawExchange(t, s.gwURL, http.MethodPost, "",
				map[string]string{"Content-Type": "application/json", "Accept": accept}, `{"query":`+jsonQuote(deferQuery)+`}`)
			require.Equal(t, http.StatusOK, status, "%s", raw)
			assert.NotContains(t, h.Get("Content-Type"), "multipart")
			var one map[string]json.RawMessage
			require.NoError(t, json.Unmarshal(raw, &one))
			assert.NotContains(t, one, "hasNext")
			assert.NotContains(t, one, "errors")
			var d struct{ Locations []deferLocation }
			require.NoError(t, json.Unmarshal(one["data"], &d))
			s.assertDeferred(t, d.Locations)
		}
	})
	t.Run("over GET", func(t *testing.T) {
		status, _, raw := rawExchange(t, s.gwURL, http.MethodGet, "query="+strings.ReplaceAll(deferQuery, " ", "+"), nil, "")
		require.Equal(t, http.StatusOK, status, "%s", raw)
		var one gqlResponse
		require.NoError(t, json.Unmarshal(raw, &one))
		var d struct{ Locations []deferLocation }
		require.NoError(t, json.Unmarshal(one.Data, &d))
		s.assertDeferred(t, d.Locations)
	})
	t.Run("over server-sent events", func(t *testing.T) {
		sse, _ := startSSE(t, s.gwURL, deferQuery, nil)
		sse.expect(t, "ready")
		first := sse.expect(t, "next")
		assert.Contains(t, string(first.Payload), `"hasNext":true`)
		assert.NotContains(t, string(first.Payload), `"rooms"`)
		for range s.fx.Locations {
			var p subsequentPayload
			require.NoError(t, json.Unmarshal(sse.expect(t, "next").Payload, &p))
			require.Len(t, p.Incremental, 1)
			assert.Contains(t, string(p.Incremental[0].Data), `"rooms"`)
		}
		sse.expect(t, "complete")
		sse.ended(t)
	})
}

// jsonQuote is s as a JSON string.
func jsonQuote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func TestDeferSharesTheOperationsLoaders(t *testing.T) {
	t.Parallel()
	s := newAPIStack(t)
	// A location's rooms are listed once whether they are deferred or not,
	// and asking for them in two deferred fragments costs nothing more: the
	// deferred fragments resolve with the operation's loaders.
	plain := `{ locations { id name rooms { id name capacity } } }`
	s.resetStats(t)
	s.call(t, plain, nil)
	want := s.stats(t).Calls
	for _, q := range []string{deferQuery, `{ locations { id name ... @defer(label: "a") { rooms { id } } ... @defer(label: "b") { rooms { name capacity } } } }`} {
		s.resetStats(t)
		resp := postDeferred(t, context.Background(), s.gwURL, q, nil)
		parts := readMultipart(t, resp)
		resp.Body.Close()
		require.NotEmpty(t, parts)
		assert.ElementsMatch(t, want, s.stats(t).Calls, "%s makes the calls the plain query makes", q)
	}
}

func TestDeferWithinTheLimits(t *testing.T) {
	t.Parallel()
	t.Run("GRAPHQL_TIMEOUT bounds the deferred fragments", func(t *testing.T) {
		// Every upstream call takes 700 ms: the locations arrive within the
		// limit of 1 s, their deferred rooms would not.
		s := newLimitStack(t, func(d *serverDeps) { d.limits = guard.Limits{Timeout: time.Second} })
		s.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"latency": "700ms"}, nil)
		resp := postDeferred(t, context.Background(), s.gwURL, `{ countries { name ... @defer { regions { name } } } }`, nil)
		defer resp.Body.Close()
		parts := readMultipart(t, resp)
		require.Greater(t, len(parts), 1, "%s", parts)
		var first gqlResponse
		require.NoError(t, json.Unmarshal(parts[0], &first))
		assert.Empty(t, first.Errors, "the first payload is within the limit: %s", parts[0])
		timedOut := 0
		for _, raw := range parts[1:] {
			var p subsequentPayload
			require.NoError(t, json.Unmarshal(raw, &p))
			require.Len(t, p.Incremental, 1)
			for _, e := range p.Incremental[0].Errors {
				assert.Equal(t, guard.CodeTimeout, e.Extensions["code"], "%s", raw)
				assert.Equal(t, "the operation did not finish within the time limit of 1s", e.Message)
				timedOut++
			}
		}
		assert.Positive(t, timedOut, "the deferred fragments were cut at the deadline: %s", parts)
	})
	t.Run("the cost limit counts the deferred fragments", func(t *testing.T) {
		s := newLimitStack(t, func(d *serverDeps) { d.limits = guard.Limits{MaxCost: 3} })
		s.resetStats(t)
		r := s.query(t, deferQuery, nil)
		require.NotEmpty(t, r.Errors)
		assert.Equal(t, guard.CodeTooCostly, r.Errors[0].Extensions["code"])
		assert.Empty(t, s.stats(t).Calls, "refused before any upstream call")
	})
}

func TestDeferWhenTheClientGoes(t *testing.T) {
	t.Parallel()
	// A client that goes while the deferred fragments resolve leaves no
	// request behind: the gateway stops waiting for them. The executor's
	// deferred fragments give up on a context that ends while the transport
	// waits for them, so this is tried several times.
	s := newLimitStack(t, nil)
	s.admin(t, http.MethodPost, "/_sim/faults", map[string]any{"latency": "200ms"}, nil)
	for range 8 {
		ctx, cancel := context.WithCancel(context.Background())
		resp := postDeferred(t, ctx, s.gwURL, `{ countries { name ... @defer { regions { name } } } }`, nil)
		// The first part has come; the deferred ones are on their way.
		assert.Contains(t, string(multipartFirst(t, resp)), `"countries"`)
		cancel()
		resp.Body.Close()
		require.Eventually(t, func() bool { return s.inFlight.Load() == 0 }, 10*time.Second, 5*time.Millisecond,
			"the request is still being served after its client went")
	}
}

// multipartFirst reads the first part of a multipart/mixed answer.
func multipartFirst(t testing.TB, resp *http.Response) []byte {
	t.Helper()
	_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	require.NoError(t, err)
	p, err := multipart.NewReader(resp.Body, params["boundary"]).NextPart()
	require.NoError(t, err)
	// The part ends where the next boundary starts, which the server
	// writes at once: reading to its end does not wait for the next part.
	b, err := io.ReadAll(p)
	require.NoError(t, err)
	return b
}

// BenchmarkLocationRoomsDeferred is query (a) of bench_test.go with each
// room's bookings deferred, answered over multipart/mixed (as Apollo Client
// takes it) and in one response (as a client that asks for JSON gets it);
// BenchmarkLocationRooms is the same query without @defer. It reports, per
// operation, the upstream calls and, over multipart/mixed, how long the
// first part took (first-part-ns/op).
func BenchmarkLocationRoomsDeferred(b *testing.B) {
	const deferred = `query Rooms($id: ID!) {
  location(id: $id) { rooms { name ... @defer { bookings { title host { name email } visitors { firstName } } } } }
}`
	for _, parts := range []bool{true, false} {
		name := "one-response"
		if parts {
			name = "multipart"
		}
		b.Run(name, func(b *testing.B) {
			e := newCCEnv(b, engagesim.Config{RatePerMinute: 1_000_000, QuotaPerWeek: 1_000_000_000}, loader.Options{}, false)
			body, err := json.Marshal(map[string]any{"query": deferred, "variables": map[string]any{"id": e.locID}})
			require.NoError(b, err)
			accept := "application/json"
			if parts {
				accept = "multipart/mixed;deferSpec=20220824, application/json"
			}
			e.resetStats(b)
			b.ReportAllocs()
			n, first := 0, time.Duration(0)
			for b.Loop() {
				start := time.Now()
				req, err := http.NewRequest(http.MethodPost, e.gwURL+"/graphql", bytes.NewReader(body))
				require.NoError(b, err)
				req.Header.Set("Content-Type", "application/json")
				req.Header.Set("Accept", accept)
				resp, err := http.DefaultClient.Do(req)
				require.NoError(b, err)
				if parts {
					_, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
					require.NoError(b, err)
					r := multipart.NewReader(resp.Body, params["boundary"])
					seen := 0
					for {
						p, err := r.NextPart()
						if err == io.EOF {
							break
						}
						require.NoError(b, err)
						_, err = io.Copy(io.Discard, p)
						require.NoError(b, err)
						if seen == 0 {
							first += time.Since(start)
						}
						seen++
					}
					require.Greater(b, seen, 1)
				} else {
					var one gqlResponse
					require.NoError(b, json.NewDecoder(resp.Body).Decode(&one))
					require.Empty(b, one.Errors)
				}
				resp.Body.Close()
				n++
			}
			b.ReportMetric(float64(e.stats(b).TotalCalls)/float64(n), "upstream-calls/op")
			if parts {
				b.ReportMetric(float64(first.Nanoseconds())/float64(n), "first-part-ns/op")
			}
		})
	}
}
