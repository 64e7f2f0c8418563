package server

// Benchmarks of the documents a client can send within the default body
// limit (1 MiB): the hostile documents that once took the process down, the
// worst each document limit still lets through to validation, and a large
// legitimate one for scale. Each is posted over HTTP to the GraphQL handler
// configured as the gateway runs ("bounded"), and most also to one that
// behaves as the gateway did before the document limits ("unbounded": no
// token, field, directive or error limit, gqlparser's pairwise
// OverlappingFieldsCanBeMerged and its name suggestions; the fixes to the
// cost model's keys and to ids are in both). Every operation
// sends a document the gateway has not seen (a comment numbers it), so none
// is answered from the query cache. Per document they report ns/op (the
// round trip as the client waits for it), B/op and allocs/op (the whole
// process: gateway, HTTP client and, for answered documents, the simulator)
// and resp-bytes/op (the answer's size). bench/run-documents.sh runs them;
// bench/documents.md explains the results.

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/99designs/gqlgen/graphql/handler"
	"github.com/engagegql/gateway/engagesim"
	"github.com/engagegql/gateway/guard"
	"github.com/engagegql/gateway/loader"
)

// benchDoc is one document of BenchmarkDocuments.
type benchDoc struct {
	name  string
	query string
	// unbounded also runs it against the behaviour before the document
	// limits; off where that takes minutes and gigabytes a run (the
	// smaller sizes of the same document show the growth).
	unbounded bool
}

// benchDocuments builds the documents. Sizes are chosen so that each,
// numbered and sent as JSON, fits the default body limit.
func benchDocuments() []benchDoc {
	return []benchDoc{
		// The documents reported from outside, and the smaller sizes the unbounded
		// handler can answer in seconds.
		{"reported/same-name-500", limitsSameName(500), true},
		{"reported/same-name-2000", limitsSameName(2000), false},
		{"reported/repeated-2000", limitsRepeated(2000), true},
		{"reported/repeated-10000", limitsRepeated(10_000), false},
		{"reported/directives-10000", limitsDirectives(10_000), true},

		// The worst the body limit allows.
		{"body/same-name-1MiB", benchFit(limitsSameName), false},
		{"body/repeated-1MiB", limitsFill("{", " countries{name}", " }"), false},
		{"body/directives-1MiB", limitsFill("{ countries", " @a", " { name } }"), false},
		{"body/tokens-1MiB", limitsFill(`{ rooms(locationId: "x", attributes: [`, " 1", `]) { name } }`), false},
		{"body/fragment-bomb", limitsFragmentBomb(40), false},
		{"body/nesting-999", limitsNested(999), true},
		{"body/string-1MiB", limitsFill(`{ location(id: "`, "x", `") { name } }`), true},
		{"body/name-1MiB", limitsFill("{ ", "a", " }"), true},
		{"body/whitespace-1MiB", limitsFill("{ countries { name }", ", ", " }"), true},

		// The worst each document limit lets through to validation (the
		// defaults: 10,000 tokens, 2,000 fields, 100 directives).
		{"limit/same-name-1000", limitsSameName(1000), true},
		{"limit/repeated-1000", limitsRepeated(1000), true},
		{"limit/unknown-fields-2000x500B", benchUnknownFields(2000, 500), true},
		{"limit/unknown-arguments-3300", "{ countries(" + benchNumbered(" a%d: 1", 3300) + ") { name } }", true},
		{"limit/unused-variables-2490", "query(" + benchNumbered(" $v%d: Int", 2490) + ") { __typename }", true},
		{"limit/interface-merge-1900", benchInterfaceMerge(1900), true},
		{"limit/fragment-900-spreads-1MiB-argument", "{" + strings.Repeat(" ...F", 900) + ` } fragment F on Query { location(id: "` + strings.Repeat("x", guard.DefaultMaxBodyBytes-5*900-200) + `") { name } }`, true},
		{"limit/directives-100", "{ countries" + strings.Repeat(" @a", 100) + " { name } }", true},

		// A large legitimate document: the schema, as introspection tools
		// ask for it.
		{"ok/introspection", benchIntrospection, true},
	}
}

// BenchmarkDocuments posts each document to both handlers.
func BenchmarkDocuments(b *testing.B) {
	var deps serverDeps
	newStackWithDeps(b, engagesim.Config{RatePerMinute: 1_000_000, QuotaPerWeek: 1_000_000_000}, loader.Options{}, func(d *serverDeps) { deps = *d })
	// Both behind the body limit, which buffers the body, as newServer
	// puts them.
	limitBody := guard.LimitBody(guard.DefaultMaxBodyBytes)
	bounded := httptest.NewServer(limitBody(newGraphQL(deps)))
	b.Cleanup(bounded.Close)

	old := deps
	old.limits = guard.Limits{MaxTokens: math.MaxInt, MaxFields: math.MaxInt, MaxDirectives: math.MaxInt, MaxErrors: math.MaxInt}
	h := newGraphQL(old).(*handler.Server)
	h.SetValidationRulesFn(nil) // gqlparser's default rules
	h.SetDisableSuggestion(false)
	unbounded := httptest.NewServer(limitBody(h))
	b.Cleanup(unbounded.Close)

	// seq numbers every document sent to these handlers, across the runs
	// of each benchmark (-count, and b.N's ramp-up), so that none is sent
	// twice.
	seq := 0
	for _, d := range benchDocuments() {
		b.Run(d.name+"/bounded", func(b *testing.B) { benchPost(b, bounded.URL, d.query, &seq) })
		if d.unbounded {
			b.Run(d.name+"/unbounded", func(b *testing.B) { benchPost(b, unbounded.URL, d.query, &seq) })
		}
	}
}

// benchPost posts query b.N times, each numbered from *seq by a trailing
// comment, and reports the answer's size.
func benchPost(b *testing.B, url, query string, seq *int) {
	quoted, err := json.Marshal(query)
	if err != nil {
		b.Fatal(err)
	}
	prefix := append([]byte(`{"query":`), quoted[:len(quoted)-1]...)
	if int64(len(prefix)+32) > guard.DefaultMaxBodyBytes {
		b.Fatalf("the document does not fit the body limit: %d bytes", len(prefix))
	}
	var total int64
	n := 0
	b.ReportAllocs()
	for b.Loop() {
		*seq++
		tail := fmt.Sprintf(` # %d"}`, *seq)
		req, err := http.NewRequest(http.MethodPost, url+"/graphql", io.MultiReader(bytes.NewReader(prefix), strings.NewReader(tail)))
		if err != nil {
			b.Fatal(err)
		}
		req.ContentLength = int64(len(prefix) + len(tail))
		req.Header.Set("Content-Type", "application/json")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		m, err := io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil || resp.StatusCode >= 500 {
			b.Fatalf("status %d, %v", resp.StatusCode, err)
		}
		total += m
		n++
	}
	b.ReportMetric(float64(total)/float64(n), "resp-bytes/op")
}

// benchFit is the largest build(n) that fits the default body limit once
// numbered and sent as JSON.
func benchFit(build func(n int) string) string {
	fits := func(n int) bool {
		q, _ := json.Marshal(build(n))
		return int64(len(q)+64) <= guard.DefaultMaxBodyBytes
	}
	lo, hi := 1, 1
	for fits(hi) {
		lo, hi = hi, hi*2
	}
	for hi-lo > 1 {
		if mid := (lo + hi) / 2; fits(mid) {
			lo = mid
		} else {
			hi = mid
		}
	}
	return build(lo)
}

// benchNumbered repeats format (with one %d) n times, numbered from 0.
func benchNumbered(format string, n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, format, i)
	}
	return b.String()
}

// benchUnknownFields is n unknown fields, each named with size letters:
// where name suggestions, an edit distance per known field, were costliest.
func benchUnknownFields(n, size int) string {
	var b strings.Builder
	b.WriteString("{")
	for i := range n {
		name := fmt.Sprintf("f%d", i)
		b.WriteString(" " + name + strings.Repeat("q", size-len(name)))
	}
	b.WriteString(" }")
	return b.String()
}

// benchInterfaceMerge is n fields of the Node interface sharing a response
// name with a field of every type that implements it: the merge check
// compares the interface's fields once for each type.
func benchInterfaceMerge(n int) string {
	var b strings.Builder
	b.WriteString(`{ nodes(ids: ["x"]) {`)
	for _, typ := range []string{"Booking", "CostCode", "Country", "Desk", "DeskBooking", "Floor", "Group", "Location", "Region", "Room", "ServiceOrder", "User", "Vendor", "VendorService", "Visitor"} {
		fmt.Fprintf(&b, " ... on %s { a: id }", typ)
	}
	b.WriteString(strings.Repeat(" a: id", n) + " } }")
	return b.String()
}

// benchIntrospection asks for every type with its fields, arguments and
// their types, nine wrappers deep, as schema tools do.
var benchIntrospection = `query Schema {
  __schema {
    queryType { name } mutationType { name } subscriptionType { name }
    types {
      kind name description
      fields(includeDeprecated: true) { name description args { name description type { ...Ref } defaultValue } type { ...Ref } isDeprecated deprecationReason }
      inputFields { name description type { ...Ref } defaultValue }
      interfaces { ...Ref }
      enumValues(includeDeprecated: true) { name description isDeprecated deprecationReason }
      possibleTypes { ...Ref }
    }
    directives { name description locations args { name description type { ...Ref } defaultValue } }
  }
}
fragment Ref on __Type {
  kind name` + strings.Repeat(" ofType { kind name", 8) + strings.Repeat(" }", 8) + `
}`
