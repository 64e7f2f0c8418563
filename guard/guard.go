// Package guard holds the gateway's abuse limits: how large a document may
// be before it is validated (tokens, fields, directives), how deep, how
// aliased and how costly (in predicted upstream calls) one operation may be,
// whether it may introspect the schema, how long a query or mutation may run,
// how many errors a response carries, how large a request body may be, and
// which browser origins may call the API.
//
// The size of a document is checked before gqlgen validates it, because
// validation itself costs time and memory in proportion to it (see
// document.go), and the validation rules are gqlparser's with the one that
// was quadratic replaced and without name suggestions (see rules.go and
// merge.go). Every other limit on an operation is
// checked on the parsed and validated document, before any resolver runs, so
// a rejected operation costs no upstream call. A rejection is a GraphQL error
// whose extensions.code names the limit (TOO_MANY_TOKENS, TOO_MANY_FIELDS,
// TOO_MANY_DIRECTIVES, QUERY_TOO_DEEP, TOO_MANY_ALIASES, QUERY_TOO_COSTLY,
// INTROSPECTION_DISABLED, OPERATION_TIMEOUT, REQUEST_TOO_LARGE) and whose
// message gives the measured value and the limit.
//
// Per-client rate limits are not here: they are counted per authenticated
// client in the fleet's shared limiter (package fleet), which the gateway
// wires in after these checks.
//
//	guard.go      Limits, their defaults and codes, and the Extension
//	cost.go       the cost model: predicted upstream calls (Cost)
//	defer.go      the time limit of a query with @defer
//	document.go   a document's size, checked before validation
//	http.go       LimitBody and CORS
//	measure.go    Measure: depth, aliases and introspection
//	merge.go      "field selections must merge" in linear time
//	response.go   the bound on a response's errors
//	rules.go      ValidationRules: the rules documents are validated with
//	trusted.go    TrustedDocuments: the manifests of trusted operations
//	websocket.go  WebsocketOrigins: which pages may open a websocket
package guard

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/99designs/gqlgen/graphql"
	"github.com/engagegql/gateway/workplace"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// Codes of the rejections, in extensions.code. They pass the gateway's error
// presenter unchanged: gqlgen errors that wrap no Go error keep their
// extensions.
const (
	CodeTooManyTokens         = "TOO_MANY_TOKENS"
	CodeTooManyFields         = "TOO_MANY_FIELDS"
	CodeTooManyDirectives     = "TOO_MANY_DIRECTIVES"
	CodeTooManyErrors         = "TOO_MANY_ERRORS"
	CodeTooDeep               = "QUERY_TOO_DEEP"
	CodeTooManyAliases        = "TOO_MANY_ALIASES"
	CodeTooCostly             = "QUERY_TOO_COSTLY"
	CodeIntrospectionDisabled = "INTROSPECTION_DISABLED"
	CodeTimeout               = "OPERATION_TIMEOUT"
	CodeTooLarge              = "REQUEST_TOO_LARGE"
)

// Defaults of Limits. The document limits are far above what real
// operations need (GraphiQL's introspection query has about 200 tokens and
// 500 fields counted as MaxFields counts them; the front ends' largest
// operations fewer) and low enough that validating the largest document they
// let through takes milliseconds (bench/documents.md). The alias limit is generous because an alias that
// repeats a field costs no upstream call (the loaders collapse it) and the
// cost limit bounds the ones that do; it bounds the work of shaping one
// response. The others are chosen so that the front ends' real operations (a
// location's rooms with their bookings, hosts and visitors: depth 5, cost
// about 30) pass with room to spare, while one operation cannot spend more
// than about half of the upstream's 500 calls a minute.
const (
	DefaultMaxTokens     = 10_000
	DefaultMaxFields     = 2_000
	DefaultMaxDirectives = 100
	DefaultMaxErrors     = 100
	DefaultMaxDepth      = 12
	DefaultMaxAliases    = 500
	DefaultMaxCost       = 300
	DefaultMaxBodyBytes  = 1 << 20
	DefaultTimeout       = 30 * time.Second
)

// Limits bound one GraphQL operation. The zero value of each field means its
// default, so a zero Limits is the gateway's default policy.
type Limits struct {
	// MaxTokens bounds the lexical tokens of a document (names, values,
	// punctuators and comments; whitespace and commas are not tokens).
	// Zero means DefaultMaxTokens.
	MaxTokens int
	// MaxFields bounds the fields of a document, counting a fragment's
	// fields once where it is defined and once more wherever it is spread
	// (as validation visits them). Zero means DefaultMaxFields.
	MaxFields int
	// MaxDirectives bounds the directives of a document, counted as
	// MaxFields counts fields. Zero means DefaultMaxDirectives.
	MaxDirectives int
	// MaxErrors bounds the errors of one response: past it, the last error
	// says how many more were left out. Zero means DefaultMaxErrors.
	MaxErrors int
	// MaxDepth bounds how deeply fields nest (a top-level field is depth 1;
	// introspection fields are not counted). Zero means DefaultMaxDepth.
	MaxDepth int
	// MaxAliases bounds how many fields carry an alias, counted once per
	// place a fragment is spread. Zero means DefaultMaxAliases.
	MaxAliases int
	// MaxCost bounds the upstream calls an operation is predicted to make
	// (see Cost). Zero means DefaultMaxCost.
	MaxCost int
	// MaxBodyBytes bounds a request body (see LimitBody). Zero means
	// DefaultMaxBodyBytes.
	MaxBodyBytes int64
	// Timeout bounds how long a query or mutation runs; subscriptions live
	// as long as their client wants. Zero means DefaultTimeout.
	Timeout time.Duration
	// DisableIntrospection rejects __schema and __type (GraphiQL's docs then
	// have nothing to show); false allows them.
	DisableIntrospection bool
	// Estimates are the cost model's assumptions; zero fields mean their
	// defaults (see Estimates).
	Estimates Estimates
}

// WithDefaults returns l with every zero field set to its default.
func (l Limits) WithDefaults() Limits {
	if l.MaxTokens <= 0 {
		l.MaxTokens = DefaultMaxTokens
	}
	if l.MaxFields <= 0 {
		l.MaxFields = DefaultMaxFields
	}
	if l.MaxDirectives <= 0 {
		l.MaxDirectives = DefaultMaxDirectives
	}
	if l.MaxErrors <= 0 {
		l.MaxErrors = DefaultMaxErrors
	}
	if l.MaxDepth <= 0 {
		l.MaxDepth = DefaultMaxDepth
	}
	if l.MaxAliases <= 0 {
		l.MaxAliases = DefaultMaxAliases
	}
	if l.MaxCost <= 0 {
		l.MaxCost = DefaultMaxCost
	}
	if l.MaxBodyBytes <= 0 {
		l.MaxBodyBytes = DefaultMaxBodyBytes
	}
	if l.Timeout <= 0 {
		l.Timeout = DefaultTimeout
	}
	l.Estimates = l.Estimates.withDefaults()
	return l
}

// Extension is the gqlgen handler extension that enforces Limits: it bounds
// each document before gqlgen validates it, checks each operation once it
// is validated (before any resolver runs), bounds the time of each query and
// mutation, and the errors of every response.
type Extension struct {
	limits Limits
	parsed graphql.Cache[*ast.QueryDocument]
}

// New returns the extension enforcing l (zero fields: their defaults). Add
// it with handler.Server.Use, after any extension that rewrites the query
// (automatic persisted queries), and give the server ValidationRules too.
// parsed is the server's query cache (handler.Server.SetQueryCache): a
// document found there was measured and validated before, so it is not
// measured again; nil measures every document.
func New(l Limits, parsed graphql.Cache[*ast.QueryDocument]) Extension {
	return Extension{limits: l.WithDefaults(), parsed: parsed}
}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
	graphql.OperationContextMutator
	graphql.OperationInterceptor
	graphql.ResponseInterceptor
} = Extension{}

// ExtensionName implements graphql.HandlerExtension.
func (Extension) ExtensionName() string { return "Guard" }

// Validate implements graphql.HandlerExtension.
func (Extension) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters implements graphql.OperationParameterMutator:
// it runs before gqlgen parses and validates the document, and rejects one
// whose tokens, fields or directives exceed their limits (see
// checkDocument). A document it cannot parse is left to gqlgen, which
// reports the syntax error as it always does.
func (e Extension) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	if params.Query == "" {
		return nil
	}
	if e.parsed != nil {
		if _, ok := e.parsed.Get(ctx, params.Query); ok {
			return nil
		}
	}
	return e.limits.checkDocument(params.Query)
}

// MutateOperationContext implements graphql.OperationContextMutator: it
// measures the operation and rejects it when a limit is exceeded. Nothing
// has been resolved yet, so a rejected operation costs no upstream call.
func (e Extension) MutateOperationContext(_ context.Context, opCtx *graphql.OperationContext) *gqlerror.Error {
	if opCtx.Operation == nil {
		return nil
	}
	m := Measure(opCtx.Operation, opCtx.Variables)
	l := e.limits
	switch {
	case l.DisableIntrospection && m.Introspects:
		return reject(CodeIntrospectionDisabled, "introspection (__schema and __type) is disabled on this gateway")
	case m.Depth > l.MaxDepth:
		return reject(CodeTooDeep, "query depth %d exceeds the limit of %d", m.Depth, l.MaxDepth)
	case m.Aliases > l.MaxAliases:
		return reject(CodeTooManyAliases, "%d aliases exceed the limit of %d", m.Aliases, l.MaxAliases)
	}
	if cost := Cost(opCtx.Operation, opCtx.Variables, l.Estimates); cost > l.MaxCost {
		return reject(CodeTooCostly, "query cost %d (predicted upstream calls) exceeds the limit of %d; ask for fewer rooms, desks or days at once", cost, l.MaxCost)
	}
	return nil
}

// reject is a gqlgen error with code; it wraps no Go error, so the error
// presenter passes it on as it is.
func reject(code, format string, args ...any) *gqlerror.Error {
	return &gqlerror.Error{Message: fmt.Sprintf(format, args...), Extensions: map[string]any{"code": code}}
}

// InterceptResponse implements graphql.ResponseInterceptor: it bounds the
// time of a query or mutation (see timed) and the errors of every response,
// the validation errors of a rejected document included (see capErrors).
func (e Extension) InterceptResponse(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	return capErrors(e.timed(ctx, next), e.limits.MaxErrors)
}

// timed gives a query or mutation Timeout to run. The upstream calls cut
// short by the deadline fail as UPSTREAM_UNAVAILABLE (or INTERNAL, when the
// deadline struck inside the gateway); once the deadline has passed, those
// errors are reported as OPERATION_TIMEOUT with a message naming the limit,
// since the upstream was not at fault. Subscriptions are exempt: each event
// payload runs on the subscription's own context. Parsing and validation are
// not timed: they are over before this runs (and take no context), and the
// document limits are what bound them.
func (e Extension) timed(ctx context.Context, next graphql.ResponseHandler) *graphql.Response {
	if !graphql.HasOperationContext(ctx) {
		return next(ctx)
	}
	if op := graphql.GetOperationContext(ctx).Operation; op == nil || op.Operation == ast.Subscription {
		return next(ctx)
	}
	if d, ok := ctx.Value(deferralKey{}).(*deferral); ok {
		// A deferred query's upstream calls have its deadline (see
		// defer.go).
		resp := next(ctx)
		if resp != nil && d.timedOut() {
			e.reportTimeout(resp)
		}
		return resp
	}
	tctx, cancel := context.WithTimeout(ctx, e.limits.Timeout)
	defer cancel()
	resp := next(tctx)
	if resp == nil || ctx.Err() != nil || !errors.Is(tctx.Err(), context.DeadlineExceeded) {
		return resp
	}
	e.reportTimeout(resp)
	return resp
}

// reportTimeout reports the errors of calls the deadline cut as the
// operation's timeout rather than the upstream's failure.
func (e Extension) reportTimeout(resp *graphql.Response) {
	for _, err := range resp.Errors {
		code, _ := err.Extensions["code"].(string)
		if code != workplace.EUNAVAILABLE && code != workplace.EINTERNAL {
			continue
		}
		err.Message = fmt.Sprintf("the operation did not finish within the time limit of %s", e.limits.Timeout)
		err.Extensions["code"] = CodeTimeout
	}
}
