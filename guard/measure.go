package guard

// Depth, aliases and introspection, measured on a validated operation with
// its fragments expanded.

import (
	"github.com/vektah/gqlparser/v2/ast"
)

// Measurement is what Measure finds in an operation.
type Measurement struct {
	// Depth is how deeply fields nest: 1 for `{ countries { name } }`'s
	// countries, 2 for its name. Introspection fields (__schema, __type) and
	// what they select are not counted: they are answered from the schema,
	// never upstream, and GraphiQL's own introspection query nests deeper
	// than any real operation.
	Depth int
	// Aliases counts the fields that carry an alias, once for every place
	// their fragment is spread.
	Aliases int
	// Introspects is set when the operation selects __schema or __type.
	Introspects bool
}

// Measure measures op, whose fragment spreads the validator has resolved.
// A fragment is measured once however often it is spread (so a document that
// spreads fragments exponentially is measured in linear time), and a cycle of
// fragments is cut where it closes.
func Measure(op *ast.OperationDefinition, _ map[string]any) Measurement {
	m := measurer{memo: map[string]Measurement{}, active: map[string]bool{}}
	return m.selectionSet(op.SelectionSet)
}

type measurer struct {
	memo   map[string]Measurement
	active map[string]bool
}

// maxCount keeps alias counts of fragment bombs from overflowing.
const maxCount = 1 << 30

func (m *measurer) selectionSet(ss ast.SelectionSet) Measurement {
	var out Measurement
	add := func(sub Measurement, depth int) {
		out.Depth = max(out.Depth, depth)
		out.Aliases = min(out.Aliases+sub.Aliases, maxCount)
		out.Introspects = out.Introspects || sub.Introspects
	}
	for _, sel := range ss {
		switch s := sel.(type) {
		case *ast.Field:
			sub := m.selectionSet(s.SelectionSet)
			if s.Alias != "" && s.Alias != s.Name {
				sub.Aliases = min(sub.Aliases+1, maxCount)
			}
			if s.Name == "__schema" || s.Name == "__type" {
				sub.Introspects = true
				add(sub, 0)
				continue
			}
			add(sub, 1+sub.Depth)
		case *ast.InlineFragment:
			sub := m.selectionSet(s.SelectionSet)
			add(sub, sub.Depth)
		case *ast.FragmentSpread:
			if s.Definition == nil || m.active[s.Name] {
				continue
			}
			sub, ok := m.memo[s.Name]
			if !ok {
				m.active[s.Name] = true
				sub = m.selectionSet(s.Definition.SelectionSet)
				delete(m.active, s.Name)
				m.memo[s.Name] = sub
			}
			add(sub, sub.Depth)
		}
	}
	return out
}
