package server

// Structured logs: JSON lines through log/slog, each line written while
// serving a request carrying that request's id (and its trace id when
// tracing is on), so an operator can follow one request (and the upstream
// calls and errors it caused) through the log of a busy replica. Secrets are kept out at the source: the packages never pass a
// token, key or password to a logger.

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/graphiql"
	"github.com/engagegql/gateway/webhook"
	"github.com/engagegql/gateway/workplace"

	"go.opentelemetry.io/otel/trace"
)

// newLogger returns the process logger: JSON on w at level.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(contextHandler{slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level})})
}

type requestIDKey struct{}

// requestID returns the id of the request ctx belongs to, or "".
func requestID(ctx context.Context) string {
	id, _ := ctx.Value(requestIDKey{}).(string)
	return id
}

// contextHandler adds the request id of the context a line is logged with
// (the *Context logging methods) to the line.
type contextHandler struct{ slog.Handler }

func (h contextHandler) Handle(ctx context.Context, r slog.Record) error {
	if id := requestID(ctx); id != "" {
		r.AddAttrs(slog.String("request_id", id))
	}
	// With tracing on, the trace too: a log line leads to its trace.
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		r.AddAttrs(slog.String("trace_id", sc.TraceID().String()))
	}
	return h.Handler.Handle(ctx, r)
}

func (h contextHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	return contextHandler{h.Handler.WithAttrs(attrs)}
}

func (h contextHandler) WithGroup(name string) slog.Handler {
	return contextHandler{h.Handler.WithGroup(name)}
}

// requestIDHeader carries the id both ways: a load balancer's or client's id
// is kept (so one id spans the hops), and every answer names its id, so a
// client reporting a problem can quote it.
const requestIDHeader = "X-Request-Id"

// withRequestID gives every request an id, counts it in the HTTP metrics
// (obs; nil counts nothing) and logs one line per request when it ends:
// its route, status and duration, and what the layers below noted on its
// access record (who called, the GraphQL operations and error codes, why a
// credential was refused) and its upstream calls. Probes and scrapes are
// logged at debug level only, so they do not drown the requests that matter.
func withRequestID(log *slog.Logger, obs httpObserver, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id := r.Header.Get(requestIDHeader)
		if !validRequestID(id) {
			id = newRequestID()
		}
		w.Header().Set(requestIDHeader, id)
		ctx := context.WithValue(r.Context(), requestIDKey{}, id)
		rec := &accessRecord{}
		ctx = context.WithValue(ctx, accessKey{}, rec)
		ctx, calls := workplace.WithCallTally(ctx)
		sw := &statusRecorder{ResponseWriter: w}
		start := time.Now()
		inner := r.WithContext(ctx)
		route := routeOf(r)
		if obs != nil {
			obs.Started(route)
		}
		next.ServeHTTP(sw, inner)
		took := time.Since(start)
		if obs != nil {
			obs.Finished(route, r.Method, sw.status(), took)
		}
		level := slog.LevelInfo
		switch r.URL.Path {
		case "/healthz", "/readyz", "/metrics":
			level = slog.LevelDebug
		}
		attrs := []any{"method", r.Method, "path", r.URL.Path, "status", sw.status(), "duration_ms", took.Milliseconds(), "remote", r.RemoteAddr}
		attrs = append(attrs, rec.attrs()...)
		if n, d := calls.Calls(); n > 0 {
			attrs = append(attrs, "upstream_calls", n, "upstream_ms", float64(d.Microseconds())/1000)
		}
		log.Log(ctx, level, "http request", attrs...)
	})
}

// accessRecord is what the access line of one request says beyond HTTP,
// noted by the layers that know it. Safe for concurrent use: a websocket's
// operations note theirs as they run.
type accessRecord struct {
	mu          sync.Mutex
	client      string
	authFailure string
	ops         []string // "query Name", distinct, at most maxAccessItems
	moreOps     int
	codes       []string // error codes returned, distinct, at most maxAccessItems
}

type accessKey struct{}

// maxAccessItems bounds the operations and error codes one access line
// lists (a websocket may run many).
const maxAccessItems = 10

func accessOf(ctx context.Context) *accessRecord {
	rec, _ := ctx.Value(accessKey{}).(*accessRecord)
	return rec
}

// noteClient records who called: a credential's name, never the credential.
func noteClient(ctx context.Context, client string) {
	if rec := accessOf(ctx); rec != nil {
		rec.mu.Lock()
		rec.client = client
		rec.mu.Unlock()
	}
}

// noteAuthFailure records why a credential was refused.
func noteAuthFailure(ctx context.Context, reason, msg string) {
	if rec := accessOf(ctx); rec != nil {
		rec.mu.Lock()
		rec.authFailure = reason + ": " + msg
		rec.mu.Unlock()
	}
}

// noteOperation records a GraphQL operation ("query", "Places") and the
// error codes of its answer.
func noteOperation(ctx context.Context, kind, name string, codes ...string) {
	rec := accessOf(ctx)
	if rec == nil {
		return
	}
	op := kind
	if name != "" {
		op += " " + name
	}
	rec.mu.Lock()
	defer rec.mu.Unlock()
	switch {
	case slices.Contains(rec.ops, op):
	case len(rec.ops) < maxAccessItems:
		rec.ops = append(rec.ops, op)
	default:
		rec.moreOps++
	}
	for _, c := range codes {
		if c != "" && !slices.Contains(rec.codes, c) && len(rec.codes) < maxAccessItems {
			rec.codes = append(rec.codes, c)
		}
	}
}

func (rec *accessRecord) attrs() []any {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	var a []any
	if rec.client != "" {
		a = append(a, "client", rec.client)
	}
	if rec.authFailure != "" {
		a = append(a, "auth_failure", rec.authFailure)
	}
	if len(rec.ops) > 0 {
		ops := strings.Join(rec.ops, ", ")
		if rec.moreOps > 0 {
			ops += fmt.Sprintf(" and %d more", rec.moreOps)
		}
		a = append(a, "operation", ops)
	}
	if len(rec.codes) > 0 {
		a = append(a, "error_codes", strings.Join(rec.codes, ","))
	}
	return a
}

// accessExtension notes each GraphQL operation and the error codes of its
// answers on the request's access record.
type accessExtension struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.ResponseInterceptor
} = accessExtension{}

func (accessExtension) ExtensionName() string                   { return "AccessLog" }
func (accessExtension) Validate(graphql.ExecutableSchema) error { return nil }
func (accessExtension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	resp := next(ctx)
	if !graphql.HasOperationContext(ctx) {
		return resp
	}
	oc := graphql.GetOperationContext(ctx)
	kind, name := "operation", oc.OperationName
	if oc.Operation != nil {
		kind = string(oc.Operation.Operation)
		if name == "" {
			name = oc.Operation.Name
		}
	}
	var codes []string
	if resp != nil {
		for _, e := range resp.Errors {
			if c, ok := e.Extensions["code"].(string); ok {
				codes = append(codes, c)
			}
		}
	}
	noteOperation(ctx, kind, name, codes...)
	return resp
}

// httpObserver hears every HTTP request: when it starts, and how it ended.
type httpObserver interface {
	Started(route string)
	Finished(route, method string, status int, d time.Duration)
}

// httpRoutes are the routes the metrics label requests with: the
// gateway's few, so a client cannot make up labels.
var httpRoutes = []string{"/graphql", graphiqlRoute, graphiql.AssetsPath, "/healthz", "/readyz", "/metrics", webhook.MountPath, otherRoute}

const (
	graphiqlRoute = "/ (graphiql)"
	otherRoute    = "other"
)

// routeOf is the one of httpRoutes a request takes.
func routeOf(r *http.Request) string {
	p := r.URL.Path
	switch {
	case p == "/graphql", p == "/healthz", p == "/readyz", p == "/metrics":
		return p
	case p == "/":
		return graphiqlRoute
	case strings.HasPrefix(p, graphiql.AssetsPath):
		return graphiql.AssetsPath
	case strings.HasPrefix(p, webhook.MountPath):
		return webhook.MountPath
	}
	return otherRoute
}

// validRequestID accepts ids a log can carry safely: short, and made of
// characters that cannot forge log structure.
func validRequestID(id string) bool {
	if id == "" || len(id) > 64 {
		return false
	}
	return strings.IndexFunc(id, func(c rune) bool {
		return !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.')
	}) < 0
}

func newRequestID() string {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// statusRecorder remembers the status an answer was sent with. It passes
// Flush and Unwrap through, so streaming (SSE) and websocket upgrades work
// behind it.
type statusRecorder struct {
	http.ResponseWriter
	code int
}

func (s *statusRecorder) WriteHeader(code int) {
	if s.code == 0 {
		s.code = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusRecorder) Write(b []byte) (int, error) {
	if s.code == 0 {
		s.code = http.StatusOK
	}
	return s.ResponseWriter.Write(b)
}

func (s *statusRecorder) Flush() {
	if f, ok := s.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the connection (websocket
// hijacking, deadlines).
func (s *statusRecorder) Unwrap() http.ResponseWriter { return s.ResponseWriter }

func (s *statusRecorder) status() int {
	if s.code == 0 {
		// A hijacked websocket: the upgrade was answered with 101.
		return http.StatusSwitchingProtocols
	}
	return s.code
}
