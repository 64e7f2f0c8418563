package guard

// The bounds on a document before gqlgen validates it. Validation visits
// every field and directive of a document, once for every operation and
// fragment definition that reaches it, runs some twenty rules on each, and
// adds an error for each thing wrong; nothing bounds it but the document,
// and no deadline covers it (gqlparser takes no context). So the document
// is measured first, by a pass that costs a few microseconds per kilobyte:
// its tokens are counted, stopping at the limit, and only a document within
// the token limit is parsed to count its fields and directives.

import (
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/lexer"
	"github.com/vektah/gqlparser/v2/parser"
)

// checkDocument rejects query when its tokens, fields or directives exceed
// l's limits, and returns nil otherwise, or when query does not lex or
// parse: gqlgen then reports the syntax error as it always does.
func (l Limits) checkDocument(query string) *gqlerror.Error {
	src := &ast.Source{Input: query}
	n, ok := countTokens(src, l.MaxTokens)
	switch {
	case !ok:
		return nil
	case n > l.MaxTokens:
		return reject(CodeTooManyTokens, "the document exceeds the limit of %d tokens (names, values, punctuators and comments count; whitespace and commas do not)", l.MaxTokens)
	}
	doc, err := parser.ParseQuery(src)
	if err != nil {
		return nil
	}
	size := measureDocument(doc)
	switch {
	case size.fields > l.MaxFields:
		return reject(CodeTooManyFields, "%d fields exceed the limit of %d (a fragment's fields count where it is defined and again wherever it is spread)", size.fields, l.MaxFields)
	case size.directives > l.MaxDirectives:
		return reject(CodeTooManyDirectives, "%d directives exceed the limit of %d (a fragment's directives count where it is defined and again wherever it is spread)", size.directives, l.MaxDirectives)
	}
	return nil
}

// countTokens counts the tokens of src up to limit+1, so that a document
// far over the limit costs no more than one just over it. ok is false when
// src does not lex.
func countTokens(src *ast.Source, limit int) (n int, ok bool) {
	lx := lexer.New(src)
	for n <= limit {
		tok, err := lx.ReadToken()
		if err != nil {
			return n, false
		}
		if tok.Kind == lexer.EOF {
			return n, true
		}
		n++
	}
	return n, true
}

// documentSize is what validation will visit in a document: its fields and
// directives, those of each fragment counted where it is defined and again
// wherever it is spread (an upper bound: validation enters a fragment once
// per operation however often the operation spreads it, but execution and
// the merge check expand every spread).
type documentSize struct {
	fields, directives int
}

func (s documentSize) plus(o documentSize) documentSize {
	return documentSize{fields: min(s.fields+o.fields, maxCount), directives: min(s.directives+o.directives, maxCount)}
}

// measureDocument measures doc in time linear in its length: each
// fragment's size is computed once, however often it is spread (a fragment
// spreading another twice, twenty deep, is a million fields measured in
// twenty steps), and a cycle of fragments is cut where it closes.
func measureDocument(doc *ast.QueryDocument) documentSize {
	m := documentMeasurer{
		defs:   make(map[string]*ast.FragmentDefinition, len(doc.Fragments)),
		memo:   map[string]documentSize{},
		active: map[string]bool{},
	}
	for _, f := range doc.Fragments {
		if _, ok := m.defs[f.Name]; !ok {
			m.defs[f.Name] = f
		}
	}
	var total documentSize
	for _, op := range doc.Operations {
		total = total.plus(documentSize{directives: len(op.Directives)})
		for _, v := range op.VariableDefinitions {
			total = total.plus(documentSize{directives: len(v.Directives)})
		}
		total = total.plus(m.selectionSet(op.SelectionSet))
	}
	for _, f := range doc.Fragments {
		total = total.plus(documentSize{directives: len(f.Directives)}).plus(m.selectionSet(f.SelectionSet))
	}
	return total
}

type documentMeasurer struct {
	defs   map[string]*ast.FragmentDefinition
	memo   map[string]documentSize
	active map[string]bool
}

func (m *documentMeasurer) selectionSet(ss ast.SelectionSet) documentSize {
	var n documentSize
	for _, sel := range ss {
		switch s := sel.(type) {
		case *ast.Field:
			n = n.plus(documentSize{fields: 1, directives: len(s.Directives)}).plus(m.selectionSet(s.SelectionSet))
		case *ast.InlineFragment:
			n = n.plus(documentSize{directives: len(s.Directives)}).plus(m.selectionSet(s.SelectionSet))
		case *ast.FragmentSpread:
			n = n.plus(documentSize{directives: len(s.Directives)}).plus(m.fragment(s.Name))
		}
	}
	return n
}

// fragment is the size of the fragment named name where it is spread: its
// own directives and selections.
func (m *documentMeasurer) fragment(name string) documentSize {
	if n, ok := m.memo[name]; ok {
		return n
	}
	def := m.defs[name]
	if def == nil || m.active[name] {
		return documentSize{}
	}
	m.active[name] = true
	n := documentSize{directives: len(def.Directives)}.plus(m.selectionSet(def.SelectionSet))
	delete(m.active, name)
	m.memo[name] = n
	return n
}
