package guard

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/parser"
)

func TestCheckDocument(t *testing.T) {
	l := Limits{MaxTokens: 40, MaxFields: 5, MaxDirectives: 2}.WithDefaults()
	tests := []struct {
		name, query string
		code, msg   string
	}{
		{"within every limit", `{ countries { name } }`, "", ""},
		{"at the token limit", "{ a(x: 1, y: 2, z: 3, w: 4, v: 5, u: 6, t: 7, s: 8) b(r: 9, q: 0) c d }", "", ""},
		{"one token over", "{ a(x: 1, y: 2, z: 3, w: 4, v: 5, u: 6, t: 7, s: 8) b(r: 9, q: 0) c d e }",
			CodeTooManyTokens, "the document exceeds the limit of 40 tokens"},
		{"far over costs no more than just over", "{" + strings.Repeat(" a", 1_000_000) + " }",
			CodeTooManyTokens, "the document exceeds the limit of 40 tokens"},
		{"commas and whitespace are not tokens", "{ a" + strings.Repeat(", \n\t", 10_000) + "b }", "", ""},
		{"comments are", "{ a\n" + strings.Repeat("# note\n", 40) + "}", CodeTooManyTokens, "40 tokens"},
		{"fields", `{ a b c d e f }`, CodeTooManyFields, "6 fields exceed the limit of 5"},
		{"fields of selections count", `{ a { b { c } } d { e f } }`, CodeTooManyFields, "6 fields exceed the limit of 5"},
		{"a fragment counts where it is defined and wherever it is spread", `{ ...F ...F } fragment F on Query { a b }`,
			CodeTooManyFields, "6 fields exceed the limit of 5 (a fragment's fields count where it is defined and again wherever it is spread)"},
		{"and so at every level of fragments", `{ ...F } fragment F on Query { ...G } fragment G on Query { a b }`, CodeTooManyFields, "6 fields exceed"},
		{"a fragment within the limit", `{ ...F } fragment F on Query { a b }`, "", ""},
		{"every operation counts", `query A { a b } query B { c d } query C { e f }`, CodeTooManyFields, "6 fields exceed"},
		{"directives", `{ a @x @y @z }`, CodeTooManyDirectives, "3 directives exceed the limit of 2"},
		{"directives of operations, variables, fragments and spreads", `query Q($v: Int @x) @y { ...F @z } fragment F on Query @w { a }`,
			CodeTooManyDirectives, "5 directives exceed the limit of 2"},
		{"a syntax error is left to gqlgen", `{ a { b }`, "", ""},
		{"so is a lexing error", `{ a(x: "unterminated) }`, "", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := l.checkDocument(tt.query)
			if tt.code == "" {
				assert.Nil(t, err)
				return
			}
			require.NotNil(t, err)
			assert.Equal(t, tt.code, err.Extensions["code"])
			assert.Contains(t, err.Message, tt.msg)
		})
	}
}

func TestMeasureDocumentFragmentBomb(t *testing.T) {
	// Each fragment spreads the next twice, 40 deep: 2^40 fields expanded,
	// measured in 40 steps and saturating rather than overflowing.
	var b strings.Builder
	b.WriteString("{ ...F0 }\n")
	for i := range 40 {
		fmt.Fprintf(&b, "fragment F%d on Query { ...F%d ...F%d }\n", i, i+1, i+1)
	}
	b.WriteString("fragment F40 on Query { a @x }\n")
	doc, err := parser.ParseQuery(&ast.Source{Input: b.String()})
	require.NoError(t, err)
	size := measureDocument(doc)
	assert.Equal(t, maxCount, size.fields)
	assert.Equal(t, maxCount, size.directives)

	err2 := Limits{}.WithDefaults().checkDocument(b.String())
	require.NotNil(t, err2)
	assert.Equal(t, CodeTooManyFields, err2.Extensions["code"])
}

func TestMeasureDocumentFragmentCycle(t *testing.T) {
	// The validator rejects cycles; measuring must still end on one.
	doc, err := parser.ParseQuery(&ast.Source{Input: `{ ...A } fragment A on Query { a ...B } fragment B on Query { b ...A }`})
	require.NoError(t, err)
	// The operation: a, b (B's spread of A is cut where it closes). A's
	// definition: a, and B as measured then (b). B's definition: b, and A
	// as measured (a, b).
	assert.Equal(t, documentSize{fields: 7}, measureDocument(doc))
}
