package server

// graphql-sse's single-connection mode over real HTTP, request by request:
// reservations, the stream, operations on it, and every limit and check
// that applies (the graphql-sse client itself runs the subscriptions of
// live_subscription_test.go in both modes).

import (
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/engagegql/gateway/protocol"
	"github.com/engagegql/gateway/pubsub"
	"github.com/engagegql/gateway/workplace"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// sseEnv is a gateway requiring authentication whose subscriptions are fed
// by a broker the test holds.
type sseEnv struct {
	*authEnv
	broker *pubsub.Memory
}

func newSSEEnv(t *testing.T, limits protocol.StreamLimits) *sseEnv {
	t.Helper()
	b := pubsub.NewMemory(pubsub.Options{})
	t.Cleanup(func() { _ = b.Close() })
	e := newAuthEnv(t, func(d *serverDeps) {
		d.feed = brokerFeed{b: b}
		d.sseStreams = limits
	})
	return &sseEnv{authEnv: e, broker: b}
}

// do sends one request of the single-connection mode with a credential
// (headers) and the stream token tok ("" for none); body is JSON or "".
func (e *sseEnv) do(t *testing.T, method, path string, headers map[string]string, tok, body string) (int, []byte) {
	t.Helper()
	var r io.Reader
	h := map[string]string{}
	if body != "" {
		r = strings.NewReader(body)
		h["Content-Type"] = "application/json"
	}
	if tok != "" {
		h[protocol.TokenHeader] = tok
	}
	for k, v := range headers {
		h[k] = v
	}
	status, _, raw := exchange(t, method, e.gwURL+path, h, r)
	apiAssertNoLeak(t, raw)
	return status, raw
}

// reserve reserves a stream and returns its token.
func (e *sseEnv) reserve(t *testing.T, headers map[string]string) string {
	t.Helper()
	status, raw := e.do(t, http.MethodPut, "/graphql", headers, "", "")
	require.Equal(t, http.StatusCreated, status, "%s", raw)
	require.NotEmpty(t, raw)
	return string(raw)
}

// open opens the reserved stream of tok.
func (e *sseEnv) open(t *testing.T, headers map[string]string, tok string) (*subStream, func()) {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, e.gwURL+"/graphql", nil)
	require.NoError(t, err)
	req.Header.Set(protocol.TokenHeader, tok)
	for k, v := range headers {
		req.Header.Set(k, v)
	}
	s, cancel := openSSE(t, req)
	s.expect(t, "ready")
	return s, cancel
}

// operation is a single-connection POST's body: query, with its id in
// extensions.operationId ("" for none).
func operation(t *testing.T, id, query string) string {
	t.Helper()
	ext := map[string]any{}
	if id != "" {
		ext["operationId"] = id
	}
	b, err := json.Marshal(map[string]any{"query": query, "extensions": ext})
	require.NoError(t, err)
	return string(b)
}

// streamed is the data of a single-connection event.
type streamed struct {
	ID      string          `json:"id"`
	Payload json.RawMessage `json:"payload"`
}

func (e *sseEnv) subscribers(t *testing.T, n int) {
	t.Helper()
	require.Eventually(t, func() bool { return e.subscriptions() == n }, subWait, 5*time.Millisecond,
		"want %d subscriptions", n)
}

const sseSubscription = `subscription { bookingChanged { action bookingId } }`

func TestSSESingleConnection(t *testing.T) {
	t.Parallel()
	kiosk := map[string]string{"X-API-Key": authKioskKey}
	board := map[string]string{"X-API-Key": authBoardKey}

	t.Run("operations share one stream, each event tagged with its operation", func(t *testing.T) {
		e := newSSEEnv(t, protocol.StreamLimits{})
		tok := e.reserve(t, kiosk)
		s, closeStream := e.open(t, kiosk, tok)
		for _, id := range []string{"a", "b"} {
			status, raw := e.do(t, http.MethodPost, "/graphql", kiosk, tok, operation(t, id, sseSubscription))
			require.Equal(t, http.StatusAccepted, status, "%s", raw)
		}
		e.subscribers(t, 2)
		require.NoError(t, e.broker.Publish(t.Context(), workplace.Change{Kind: workplace.KindBooking, Action: workplace.ActionCreated, BookingID: 7, RoomID: 1}))
		seen := map[string]bool{}
		for range 2 {
			var ev streamed
			require.NoError(t, json.Unmarshal(s.expect(t, "next").Payload, &ev))
			seen[ev.ID] = true
			assert.Contains(t, string(ev.Payload), `"action":"CREATED"`)
		}
		assert.Equal(t, map[string]bool{"a": true, "b": true}, seen)

		// A query runs on the stream too, and completes.
		status, _ := e.do(t, http.MethodPost, "/graphql", kiosk, tok, operation(t, "q", `{ countries { name } }`))
		require.Equal(t, http.StatusAccepted, status)
		var ev streamed
		require.NoError(t, json.Unmarshal(s.expect(t, "next").Payload, &ev))
		assert.Equal(t, "q", ev.ID)
		assert.Contains(t, string(ev.Payload), `"countries"`)
		require.NoError(t, json.Unmarshal(s.expect(t, "complete").Payload, &ev))
		assert.Equal(t, "q", ev.ID)

		// DELETE stops one operation; the other goes on.
		status, _ = e.do(t, http.MethodDelete, "/graphql?operationId=a", kiosk, tok, "")
		require.Equal(t, http.StatusOK, status)
		e.subscribers(t, 1)
		// The stream's end ends what it carries.
		closeStream()
		e.subscribers(t, 0)
		status, raw := e.do(t, http.MethodPost, "/graphql", kiosk, tok, operation(t, "c", sseSubscription))
		assert.Equal(t, http.StatusNotFound, status, "the token ended with its stream: %s", raw)
	})

	t.Run("every request is authenticated, and a token is its client's", func(t *testing.T) {
		e := newSSEEnv(t, protocol.StreamLimits{})
		status, _ := e.do(t, http.MethodPut, "/graphql", nil, "", "")
		assert.Equal(t, http.StatusUnauthorized, status, "reserving needs a credential")
		tok := e.reserve(t, kiosk)
		status, _ = e.do(t, http.MethodGet, "/graphql", nil, tok, "")
		assert.Equal(t, http.StatusUnauthorized, status, "opening needs a credential")
		status, _ = e.do(t, http.MethodGet, "/graphql", map[string]string{"Accept": "text/event-stream", "X-API-Key": authBoardKey}, tok, "")
		assert.Equal(t, http.StatusNotFound, status, "another client cannot open it")
		_, closeStream := e.open(t, kiosk, tok)
		defer closeStream()
		status, _ = e.do(t, http.MethodPost, "/graphql", nil, tok, operation(t, "a", sseSubscription))
		assert.Equal(t, http.StatusUnauthorized, status, "an operation needs a credential")
		status, _ = e.do(t, http.MethodPost, "/graphql", board, tok, operation(t, "a", sseSubscription))
		assert.Equal(t, http.StatusNotFound, status, "another client cannot use it")
		status, _ = e.do(t, http.MethodGet, "/graphql", map[string]string{"Accept": "text/event-stream", "X-API-Key": authKioskKey}, tok, "")
		assert.Equal(t, http.StatusConflict, status, "one connection per reservation")
		status, raw := e.do(t, http.MethodPost, "/graphql", kiosk, "unknown-token", operation(t, "a", sseSubscription))
		assert.Equal(t, http.StatusNotFound, status)
		assert.Contains(t, string(raw), "another replica", "the refusal says a token is only good where it was issued")
	})

	t.Run("operations that are refused say why", func(t *testing.T) {
		e := newSSEEnv(t, protocol.StreamLimits{Operations: 2})
		tok := e.reserve(t, kiosk)
		_, closeStream := e.open(t, kiosk, tok)
		defer closeStream()
		for _, tt := range []struct {
			name, body string
			status     int
			code       string
		}{
			{"no operation id", operation(t, "", sseSubscription), http.StatusBadRequest, "BAD_REQUEST"},
			{"not valid GraphQL", operation(t, "x", `subscription { nope }`), http.StatusBadRequest, "GRAPHQL_VALIDATION_FAILED"},
			{"the first", operation(t, "a", sseSubscription), http.StatusAccepted, ""},
			{"the same id again", operation(t, "a", sseSubscription), http.StatusConflict, "BAD_REQUEST"},
			{"the second", operation(t, "b", sseSubscription), http.StatusAccepted, ""},
			{"one past the limit", operation(t, "c", sseSubscription), http.StatusTooManyRequests, "TOO_MANY_OPERATIONS"},
		} {
			status, raw := e.do(t, http.MethodPost, "/graphql", kiosk, tok, tt.body)
			require.Equal(t, tt.status, status, "%s: %s", tt.name, raw)
			if tt.code != "" {
				assert.Equal(t, tt.code, errorCode(decodeGQL(t, raw)), "%s: %s", tt.name, raw)
			}
		}
		status, _ := e.do(t, http.MethodDelete, "/graphql?operationId=a", kiosk, tok, "")
		require.Equal(t, http.StatusOK, status)
		e.subscribers(t, 1)
		status, raw := e.do(t, http.MethodPost, "/graphql", kiosk, tok, operation(t, "c", sseSubscription))
		assert.Equal(t, http.StatusAccepted, status, "room again once one stopped: %s", raw)
	})

	t.Run("a client holds a bounded number of streams; reservations lapse", func(t *testing.T) {
		e := newSSEEnv(t, protocol.StreamLimits{PerClient: 2, ReservationTimeout: 300 * time.Millisecond})
		tok := e.reserve(t, kiosk)
		_, closeStream := e.open(t, kiosk, tok)
		defer closeStream()
		lapsing := e.reserve(t, kiosk)
		status, raw := e.do(t, http.MethodPut, "/graphql", kiosk, "", "")
		assert.Equal(t, http.StatusTooManyRequests, status, "%s", raw)
		assert.Equal(t, "TOO_MANY_STREAMS", errorCode(decodeGQL(t, raw)))
		e.reserve(t, board) // another client has its own
		// The reservation never opened lapses, and makes room.
		require.Eventually(t, func() bool {
			status, _ := e.do(t, http.MethodDelete, "/graphql?operationId=x", kiosk, lapsing, "")
			return status == http.StatusNotFound
		}, subWait, 20*time.Millisecond, "the reservation did not lapse")
		e.reserve(t, kiosk)
	})

	t.Run("an operation ends with its credential, the stream goes on", func(t *testing.T) {
		e := newSSEEnv(t, protocol.StreamLimits{})
		user := e.fx.Users[3].Email
		long := bearer(signHS(t, claims(user, nil)))
		expiry := time.Now().Add(1500 * time.Millisecond)
		short := bearer(signHS(t, claims(user, map[string]any{"exp": expiry.Unix()})))
		tok := e.reserve(t, long)
		s, closeStream := e.open(t, long, tok)
		defer closeStream()
		status, raw := e.do(t, http.MethodPost, "/graphql", short, tok, operation(t, "short", sseSubscription))
		require.Equal(t, http.StatusAccepted, status, "%s", raw)
		var ev streamed
		require.NoError(t, json.Unmarshal(s.expect(t, "next").Payload, &ev))
		assert.Equal(t, "short", ev.ID)
		assert.Equal(t, "UNAUTHENTICATED", errorCode(decodeGQL(t, ev.Payload)), "%s", ev.Payload)
		assert.False(t, time.Now().Before(expiry.Truncate(time.Second)), "ended only once the token expired")
		require.NoError(t, json.Unmarshal(s.expect(t, "complete").Payload, &ev))
		assert.Equal(t, "short", ev.ID)
		status, _ = e.do(t, http.MethodPost, "/graphql", long, tok, operation(t, "long", `{ countries { name } }`))
		assert.Equal(t, http.StatusAccepted, status, "the stream goes on")
		s.expect(t, "next")
	})
}

// decodeGQL decodes a GraphQL response.
func decodeGQL(t *testing.T, raw []byte) gqlResponse {
	t.Helper()
	var r gqlResponse
	require.NoError(t, json.Unmarshal(raw, &r), "%s", raw)
	return r
}
