package server

// On the wire: how /graphql's answers travel. Answers are private and not
// to be stored by default (Cache-Control: private, no-store). An answer to
// a GET query carries an ETag, a hash of its bytes, so it changes exactly
// when the answer does (the mirror and the kept answers make asking again
// cheap), and a client that sends it back in If-None-Match is answered 304
// with no body. Answers over compressThreshold are compressed with zstd or
// gzip when the client asks. Streams (SSE, multipart/mixed) and websockets
// pass through untouched: they are written as they happen.

import (
	"bytes"
	"compress/gzip"
	"container/list"
	"crypto/sha256"
	"encoding/base64"
	"hash/maphash"
	"net/http"
	"strconv"
	"strings"
	"sync"

	"github.com/klauspost/compress/zstd"
)

const (
	// compressThreshold is the smallest answer compressed: below it the
	// encoding's framing costs more than it saves.
	compressThreshold = 1024
	// maxBuffered is the most of one answer held to compute its ETag and
	// choose its encoding; a larger one is sent as it comes, uncompressed,
	// without an ETag.
	maxBuffered = 8 << 20
	// noStore is the default Cache-Control of /graphql's answers.
	noStore = "private, no-store"
	// revalidate is the Cache-Control of an answer with an ETag: a
	// browser may keep it, but must ask again, with If-None-Match.
	revalidate = "private, no-cache"
)

// zstdEncoder compresses answers at its fastest level, with no concurrency
// of its own (EncodeAll on a whole answer), safe for concurrent use.
var zstdEncoder, _ = zstd.NewWriter(nil, zstd.WithEncoderLevel(zstd.SpeedFastest), zstd.WithEncoderConcurrency(1), zstd.WithZeroFrames(true))

// onTheWire wraps /graphql with the caching headers, the ETags of GET
// answers and compression.
func onTheWire(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.EqualFold(r.Header.Get("Upgrade"), "websocket") {
			next.ServeHTTP(w, r)
			return
		}
		ww := &wireWriter{ResponseWriter: w, r: r, encoding: acceptedEncoding(r.Header.Get("Accept-Encoding"))}
		w.Header().Add("Vary", "Accept-Encoding")
		next.ServeHTTP(ww, r)
		ww.finish()
	})
}

// acceptedEncoding is the encoding to answer in: zstd or gzip where the
// client accepts it (a q-value above 0), zstd first; "" for none.
func acceptedEncoding(header string) string {
	accepted := map[string]bool{}
	for _, part := range strings.Split(header, ",") {
		name, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		q := 1.0
		if _, v, ok := strings.Cut(strings.ReplaceAll(params, " ", ""), "q="); ok {
			if f, err := strconv.ParseFloat(v, 64); err == nil {
				q = f
			}
		}
		accepted[strings.ToLower(strings.TrimSpace(name))] = q > 0
	}
	for _, enc := range []string{"zstd", "gzip"} {
		if accepted[enc] {
			return enc
		}
	}
	return ""
}

// wireWriter holds an answer until the handler is done, unless it streams.
type wireWriter struct {
	http.ResponseWriter
	r        *http.Request
	encoding string
	status   int
	buf      bytes.Buffer
	// through is true once the answer is passed on as it comes: a stream,
	// an answer past maxBuffered, or one the handler flushed.
	through bool
	decided bool
}

func (w *wireWriter) decide(status int) {
	if w.decided {
		return
	}
	w.decided, w.status = true, status
	h := w.Header()
	if h.Get("Cache-Control") == "" {
		h.Set("Cache-Control", noStore)
	}
	ct := h.Get("Content-Type")
	if strings.HasPrefix(ct, "text/event-stream") || strings.HasPrefix(ct, "multipart/") || status == http.StatusSwitchingProtocols {
		w.passThrough()
	}
}

// passThrough sends what is held and everything after it as it comes.
func (w *wireWriter) passThrough() {
	if w.through {
		return
	}
	w.through = true
	w.ResponseWriter.WriteHeader(w.status)
	if w.buf.Len() > 0 {
		_, _ = w.ResponseWriter.Write(w.buf.Bytes())
		w.buf.Reset()
	}
}

func (w *wireWriter) WriteHeader(status int) {
	if status >= 100 && status < 200 && status != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(status)
		return
	}
	w.decide(status)
}

func (w *wireWriter) Write(b []byte) (int, error) {
	w.decide(http.StatusOK)
	if w.through {
		return w.ResponseWriter.Write(b)
	}
	if w.buf.Len()+len(b) > maxBuffered {
		w.passThrough()
		return w.ResponseWriter.Write(b)
	}
	return w.buf.Write(b)
}

// Flush sends the answer on as it comes from now on: a handler that
// flushes is streaming.
func (w *wireWriter) Flush() {
	w.decide(http.StatusOK)
	w.passThrough()
	if f, ok := w.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection.
func (w *wireWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish sends a held answer: 304 when the client holds it already, else
// compressed when that pays.
func (w *wireWriter) finish() {
	if w.through {
		return
	}
	if !w.decided {
		w.decide(http.StatusOK)
	}
	h := w.Header()
	body := w.buf.Bytes()
	if w.r.Method == http.MethodGet && w.status == http.StatusOK && h.Get("Set-Cookie") == "" {
		sum := sha256.Sum256(body)
		etag := `W/"` + base64.RawURLEncoding.EncodeToString(sum[:18]) + `"`
		h.Set("ETag", etag)
		if h.Get("Cache-Control") == noStore {
			h.Set("Cache-Control", revalidate)
		}
		if etagMatches(w.r.Header.Get("If-None-Match"), etag) {
			h.Del("Content-Length")
			h.Del("Content-Type")
			w.ResponseWriter.WriteHeader(http.StatusNotModified)
			return
		}
	}
	if w.encoding != "" && len(body) >= compressThreshold && h.Get("Content-Encoding") == "" {
		if z, ok := wireMemo.compressed(w.encoding, body); ok {
			h.Set("Content-Encoding", w.encoding)
			body = z
		}
	}
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.ResponseWriter.WriteHeader(w.status)
	_, _ = w.ResponseWriter.Write(body)
}

// etagMatches is If-None-Match's weak comparison: the tag, W/ or not, or *.
func etagMatches(header, etag string) bool {
	want := strings.TrimPrefix(etag, "W/")
	for _, t := range strings.Split(header, ",") {
		t = strings.TrimSpace(t)
		if t == "*" || strings.TrimPrefix(t, "W/") == want {
			return true
		}
	}
	return false
}

// compressed is body in enc; false when it did not shrink.
func compressed(enc string, body []byte) ([]byte, bool) {
	var out []byte
	switch enc {
	case "zstd":
		out = zstdEncoder.EncodeAll(body, make([]byte, 0, len(body)/3))
	case "gzip":
		var b bytes.Buffer
		b.Grow(len(body) / 3)
		zw, _ := gzip.NewWriterLevel(&b, gzip.BestSpeed)
		_, _ = zw.Write(body)
		_ = zw.Close()
		out = b.Bytes()
	default:
		return nil, false
	}
	return out, len(out) < len(body)
}

// compressMemo remembers the compressed forms of recent answers, so that
// the same answer asked again and again (a kept answer, a screen polling)
// is compressed once: a lookup costs a hash of the answer and a comparison
// with the one remembered, a small part of compressing it.
type compressMemo struct {
	mu    sync.Mutex
	seed  maphash.Seed
	items map[memoKey]*list.Element
	lru   list.List // of *memoEntry, most recently used first
	bytes int
}

type memoKey struct {
	hash uint64
	size int
	enc  string
}

type memoEntry struct {
	key     memoKey
	body, z []byte
}

const (
	// memoMaxBytes bounds what the memo holds, answers and their
	// compressed forms together.
	memoMaxBytes = 16 << 20
	// memoMaxAnswer is the largest answer remembered.
	memoMaxAnswer = 1 << 20
)

var wireMemo = &compressMemo{seed: maphash.MakeSeed(), items: map[memoKey]*list.Element{}}

// compressed is body in enc, from the memo when it holds it; false when
// compressing does not shrink it.
func (m *compressMemo) compressed(enc string, body []byte) ([]byte, bool) {
	if len(body) > memoMaxAnswer {
		return compressed(enc, body)
	}
	key := memoKey{hash: maphash.Bytes(m.seed, body), size: len(body), enc: enc}
	m.mu.Lock()
	if el, ok := m.items[key]; ok && bytes.Equal(el.Value.(*memoEntry).body, body) {
		m.lru.MoveToFront(el)
		z := el.Value.(*memoEntry).z
		m.mu.Unlock()
		return z, z != nil
	}
	m.mu.Unlock()
	z, ok := compressed(enc, body)
	e := &memoEntry{key: key, body: bytes.Clone(body)}
	if ok {
		e.z = z
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if old, ok := m.items[key]; ok {
		m.drop(old)
	}
	m.items[key] = m.lru.PushFront(e)
	m.bytes += len(e.body) + len(e.z)
	for m.bytes > memoMaxBytes {
		m.drop(m.lru.Back())
	}
	return z, ok
}

func (m *compressMemo) drop(el *list.Element) {
	e := m.lru.Remove(el).(*memoEntry)
	delete(m.items, e.key)
	m.bytes -= len(e.body) + len(e.z)
}
