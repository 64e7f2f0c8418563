package server

// On the wire, as clients see it: compressed answers where they ask,
// private and unstored by default, and GET answers with an ETag that
// changes exactly when the answer does.

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"hash/maphash"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/zstd"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// wireDo sends one request with headers and reads the whole answer as
// sent (nothing is decoded when Accept-Encoding is set by hand).
func wireDo(t *testing.T, method, u string, body string, headers map[string]string) (*http.Response, []byte) {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd, headers = strings.NewReader(body), withContentType(headers, "application/json")
	}
	return roundTrip(t, method, u, headers, rd)
}

func TestOnTheWire(t *testing.T) {
	t.Parallel()
	g := startGateway(t, map[string]string{})
	const big = `{"query":"{ locations { name rooms { name capacity } } }"}`
	_, plain := wireDo(t, http.MethodPost, g.url+"/graphql", big, nil)
	require.Greater(t, len(plain), compressThreshold, "an answer worth compressing")
	require.True(t, json.Valid(plain))

	t.Run("gzip and zstd where the client asks, and no-store", func(t *testing.T) {
		resp, b := wireDo(t, http.MethodPost, g.url+"/graphql", big, map[string]string{"Accept-Encoding": "gzip"})
		require.Equal(t, http.StatusOK, resp.StatusCode)
		assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
		assert.Equal(t, "private, no-store", resp.Header.Get("Cache-Control"))
		assert.Contains(t, resp.Header.Values("Vary"), "Accept-Encoding")
		assert.Less(t, len(b), len(plain)/2)
		zr, err := gzip.NewReader(bytes.NewReader(b))
		require.NoError(t, err)
		got, err := io.ReadAll(zr)
		require.NoError(t, err)
		assert.Equal(t, string(plain), string(got))

		resp, b = wireDo(t, http.MethodPost, g.url+"/graphql", big, map[string]string{"Accept-Encoding": "gzip;q=0.5, zstd, br;q=0"})
		assert.Equal(t, "zstd", resp.Header.Get("Content-Encoding"))
		dec, err := zstd.NewReader(nil)
		require.NoError(t, err)
		defer dec.Close()
		got, err = dec.DecodeAll(b, nil)
		require.NoError(t, err)
		assert.Equal(t, string(plain), string(got))

		for _, refused := range []string{"gzip;q=0", "br", "identity", ""} {
			resp, b = wireDo(t, http.MethodPost, g.url+"/graphql", big, map[string]string{"Accept-Encoding": refused})
			assert.Empty(t, resp.Header.Get("Content-Encoding"), "Accept-Encoding: %q", refused)
			assert.Equal(t, string(plain), string(b))
		}

		// A small answer is sent as it is.
		resp, b = wireDo(t, http.MethodPost, g.url+"/graphql", `{"query":"{ __typename }"}`, map[string]string{"Accept-Encoding": "gzip"})
		assert.Empty(t, resp.Header.Get("Content-Encoding"))
		assert.JSONEq(t, `{"data":{"__typename":"Query"}}`, string(b))
		assert.Equal(t, "private, no-store", resp.Header.Get("Cache-Control"))
	})

	t.Run("a persisted query's GET carries an ETag that changes with the answer", func(t *testing.T) {
		var locs struct{ Locations []struct{ ID string } }
		resp := g.query(t, `{ locations { id } }`, nil)
		require.Empty(t, resp.Errors)
		require.NoError(t, json.Unmarshal(resp.Data, &locs))
		require.NotEmpty(t, locs.Locations)
		var rooms struct {
			Location struct {
				Rooms []struct {
					ID       string
					Bookings []struct{ ID, EngageID, Title string }
				}
			}
		}
		resp = g.query(t, `query($l: ID!) { location(id: $l) { rooms { id bookings { id engageId title } } } }`, map[string]any{"l": locs.Locations[0].ID})
		require.Empty(t, resp.Errors)
		require.NoError(t, json.Unmarshal(resp.Data, &rooms))
		var room, booking string
		for _, r := range rooms.Location.Rooms {
			for _, b := range r.Bookings {
				if room == "" && b.Title != "" {
					room, booking = r.ID, b.EngageID
				}
			}
		}
		require.NotEmpty(t, room, "a room with a booking today")

		const doc = `query RoomToday($r: ID!) { room(id: $r) { name bookings { id title start end } } }`
		sum := sha256.Sum256([]byte(doc))
		ext := `{"persistedQuery":{"version":1,"sha256Hash":"` + hex.EncodeToString(sum[:]) + `"}}`
		vars := `{"r":"` + room + `"}`
		// Registered once (Apollo's APQ), then asked for by hash over GET.
		reg, _ := json.Marshal(map[string]any{"query": doc, "variables": json.RawMessage(vars), "extensions": json.RawMessage(ext)})
		r, _ := wireDo(t, http.MethodPost, g.url+"/graphql", string(reg), nil)
		require.Equal(t, http.StatusOK, r.StatusCode)
		get := g.url + "/graphql?" + url.Values{"extensions": {ext}, "variables": {vars}}.Encode()

		r, first := wireDo(t, http.MethodGet, get, "", nil)
		require.Equal(t, http.StatusOK, r.StatusCode, "%s", first)
		etag := r.Header.Get("ETag")
		require.Regexp(t, `^W/"[A-Za-z0-9_-]+"$`, etag)
		assert.Equal(t, "private, no-cache", r.Header.Get("Cache-Control"), "may be kept, but asked again")

		r, b := wireDo(t, http.MethodGet, get, "", map[string]string{"If-None-Match": etag})
		assert.Equal(t, http.StatusNotModified, r.StatusCode)
		assert.Empty(t, b)
		assert.Equal(t, etag, r.Header.Get("ETag"))
		r, _ = wireDo(t, http.MethodGet, get, "", map[string]string{"If-None-Match": `W/"something-else"`})
		assert.Equal(t, http.StatusOK, r.StatusCode)

		// The same answer compressed keeps its (weak) tag.
		r, _ = wireDo(t, http.MethodGet, get, "", map[string]string{"If-None-Match": etag, "Accept-Encoding": "gzip"})
		assert.Equal(t, http.StatusNotModified, r.StatusCode)

		// Renamed in Engage's web app: once the notification is in, the
		// tag is another, and the answer shows the change.
		code, raw := simCall(t, g.simURL, http.MethodPut, "/_sim/bookings/"+booking, map[string]any{"meetingTitle": "Renamed on the wire"})
		require.Equal(t, http.StatusOK, code, "%s", raw)
		var changed []byte
		require.Eventually(t, func() bool {
			r, b := wireDo(t, http.MethodGet, get, "", map[string]string{"If-None-Match": etag})
			if r.StatusCode == http.StatusOK {
				changed = b
				assert.NotEqual(t, etag, r.Header.Get("ETag"))
				return true
			}
			return false
		}, 15*time.Second, 50*time.Millisecond)
		assert.Contains(t, string(changed), "Renamed on the wire")
		assert.NotEqual(t, string(first), string(changed))
	})
}

// TestCompressMemo: an answer asked again is served the compressed bytes
// remembered, an answer that only shares their hash's inputs is not, and
// the memo stays within its bound.
func TestCompressMemo(t *testing.T) {
	m := &compressMemo{seed: wireMemo.seed, items: map[memoKey]*list.Element{}}
	body := bytes.Repeat([]byte(`{"data":{"room":{"name":"London 1.01"}}}`), 100)
	z1, ok := m.compressed("gzip", body)
	require.True(t, ok)
	z2, ok := m.compressed("gzip", body)
	require.True(t, ok)
	assert.Same(t, &z1[0], &z2[0], "the second time from the memo")
	zr, err := gzip.NewReader(bytes.NewReader(z2))
	require.NoError(t, err)
	got, err := io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, body, got)

	// Another body under the same key (a forged collision) is compressed
	// afresh, not served the remembered bytes.
	other := bytes.Repeat([]byte(`{"data":{"room":{"name":"London 9.99"}}}`), 100)
	m.mu.Lock()
	el := m.items[memoKey{hash: maphash.Bytes(m.seed, body), size: len(body), enc: "gzip"}]
	delete(m.items, el.Value.(*memoEntry).key)
	el.Value.(*memoEntry).key = memoKey{hash: maphash.Bytes(m.seed, other), size: len(other), enc: "gzip"}
	m.items[el.Value.(*memoEntry).key] = el
	m.mu.Unlock()
	z3, ok := m.compressed("gzip", other)
	require.True(t, ok)
	zr, err = gzip.NewReader(bytes.NewReader(z3))
	require.NoError(t, err)
	got, err = io.ReadAll(zr)
	require.NoError(t, err)
	assert.Equal(t, other, got)

	// Bounded: many distinct answers keep it under memoMaxBytes.
	for i := range 3000 {
		b := append([]byte(strconv.Itoa(i)), body...)
		b = append(b, bytes.Repeat([]byte{byte(i)}, 8<<10)...)
		_, _ = m.compressed("zstd", b)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	assert.LessOrEqual(t, m.bytes, memoMaxBytes)
	assert.Equal(t, m.lru.Len(), len(m.items))
}

// TestOnTheWirePassesStreamsThrough: an answer that flushes (a stream) and
// one past maxBuffered are sent as they come, uncompressed and without an
// ETag; a held one is compressed.
func TestOnTheWirePassesStreamsThrough(t *testing.T) {
	serve := func(h http.HandlerFunc) *http.Response {
		req, err := http.NewRequest(http.MethodGet, "/graphql", nil)
		require.NoError(t, err)
		req.Header.Set("Accept-Encoding", "gzip")
		rec := httptest.NewRecorder()
		onTheWire(h).ServeHTTP(rec, req)
		return rec.Result()
	}
	chunk := bytes.Repeat([]byte("x"), 64<<10)
	resp := serve(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/event-stream")
		_, _ = w.Write(chunk)
		w.(http.Flusher).Flush()
	})
	assert.Empty(t, resp.Header.Get("Content-Encoding"), "a stream")
	assert.Empty(t, resp.Header.Get("ETag"))
	resp = serve(func(w http.ResponseWriter, r *http.Request) {
		for range maxBuffered/len(chunk) + 1 {
			_, _ = w.Write(chunk)
		}
	})
	assert.Empty(t, resp.Header.Get("Content-Encoding"), "past maxBuffered")
	assert.Empty(t, resp.Header.Get("ETag"))
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Len(t, b, (maxBuffered/len(chunk)+1)*len(chunk))
	resp = serve(func(w http.ResponseWriter, r *http.Request) { _, _ = w.Write(chunk) })
	assert.Equal(t, "gzip", resp.Header.Get("Content-Encoding"))
	assert.NotEmpty(t, resp.Header.Get("ETag"))
}
