package guard

// The validation rule "field selections must merge" (the GraphQL spec's
// FieldsInSetCanMerge, gqlparser's OverlappingFieldsCanBeMerged), checked in
// time linear in the document.
//
// gqlparser follows graphql-js: it compares every pair of fields that share
// a response name, so n fields of one name cost n²/2 comparisons and, when
// they differ, n²/2 errors: 2,000 `location(id: …)` fields with different
// ids are 2 million errors and 4 GB. Both of the spec's conditions are
// equalities, though, so comparing each field with one representative
// reaches the same verdict as comparing every pair:
//
//   - every field of one response name must have the response shape of the
//     first (the same list and non-null wrappers, the same leaf type), and
//     the subfields of all of them, merged, must have one shape per response
//     name in turn;
//   - of the fields whose parent types may be the same object (those of one
//     object type, with those of interfaces and unions), every field must
//     have the first's name and arguments, and their subfields, merged, must
//     merge in turn. Fields of two different object types are never both in
//     a response, so only their shapes must agree.
//
// A conflict is reported once, at the field that differs from the first, in
// gqlparser's words. Each field is visited once per response name it merges
// under, and once more for every object type whose fields it joins (a field
// of an interface, beside fields of two of its types, is checked with each),
// so the work is linear in the document with its fragments expanded, which
// the document limits bound; a budget of field visits stops the check (with
// an error) on a document built to multiply that last factor.

import (
	"fmt"

	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// mergeVisitsPerField is the merge check's budget of field visits per field
// the document limits allow (MaxFields). Real documents take two or three.
const mergeVisitsPerField = 50

// fieldsCanMerge is the rule, under gqlparser's name (so that it replaces
// gqlparser's), stopping after budget field visits.
func fieldsCanMerge(budget int) core.Rule {
	return core.Rule{
		Name: rules.OverlappingFieldsCanBeMergedRule.Name,
		RuleFunc: func(observers *core.Events, addError core.AddErrFunc) {
			// RuleFunc runs once per document validated, so m is the
			// state of one document.
			var m *merger
			observers.OnOperation(func(walker *core.Walker, op *ast.OperationDefinition) {
				if m == nil {
					m = &merger{schema: walker.Schema, addError: addError, budget: budget, reported: map[*ast.Field]bool{}}
					// A cycle of fragments would expand without end;
					// NoFragmentCycles rejects the document anyway.
					m.skip = hasFragmentCycle(walker.Document)
				}
				if m.skip {
					return
				}
				m.check([]ast.SelectionSet{op.SelectionSet}, true)
				if m.work > m.budget {
					m.skip = true
					addError(core.Message("the document is too complex to check that its fields can merge (more than %d field visits); send a simpler one", m.budget), core.At(op.Position))
				}
			})
		},
	}
}

type merger struct {
	schema   *ast.Schema
	addError core.AddErrFunc
	// work counts field visits, up to budget.
	work, budget int
	// skip is set once the document cannot be checked further.
	skip bool
	// reported holds the fields a conflict was reported at, so that each
	// is reported once.
	reported map[*ast.Field]bool
}

// responseGroup is the fields of a merged set that share a response name,
// in document order.
type responseGroup struct {
	name   string
	fields []*ast.Field
}

// collect merges the selection sets sets: their fields, through inline
// fragments and fragment spreads, grouped by response name. A fragment
// spread twice in the set is collected once (its fields cannot conflict
// with themselves). Fields whose parent type is unknown are left out, as
// gqlparser leaves them out: another rule reports them.
func (m *merger) collect(sets []ast.SelectionSet) []responseGroup {
	var groups []responseGroup
	index := map[string]int{}
	spread := map[string]bool{}
	var walk func(ss ast.SelectionSet)
	walk = func(ss ast.SelectionSet) {
		for _, sel := range ss {
			if m.work > m.budget {
				return
			}
			switch s := sel.(type) {
			case *ast.Field:
				m.work++
				if s.ObjectDefinition == nil {
					continue
				}
				name := s.Alias
				if name == "" {
					name = s.Name
				}
				i, ok := index[name]
				if !ok {
					i = len(groups)
					index[name] = i
					groups = append(groups, responseGroup{name: name})
				}
				groups[i].fields = append(groups[i].fields, s)
			case *ast.InlineFragment:
				walk(s.SelectionSet)
			case *ast.FragmentSpread:
				if spread[s.Name] || s.Definition == nil {
					continue
				}
				spread[s.Name] = true
				walk(s.Definition.SelectionSet)
			}
		}
	}
	for _, ss := range sets {
		walk(ss)
	}
	return groups
}

// check checks the merged set of sets: for each response name, that its
// fields merge and, when shape is set, that they have one response shape.
// (Shapes are checked across the whole document from the top, so the
// recursion of the merge condition need not check them again.)
func (m *merger) check(sets []ast.SelectionSet, shape bool) {
	for _, g := range m.collect(sets) {
		if m.work > m.budget {
			return
		}
		m.sameForCommonParents(g)
		if shape {
			m.sameShape(g)
		}
	}
}

// sameShape checks that every field of g returns the shape of the first,
// and then the same of their subfields, merged.
func (m *merger) sameShape(g responseGroup) {
	var first *ast.Field
	var subs []ast.SelectionSet
	for _, f := range g.fields {
		if f.Definition == nil {
			continue
		}
		if first == nil {
			first = f
		} else if typesConflict(m.schema, first.Definition.Type, f.Definition.Type) {
			m.conflict(g.name, f, fmt.Sprintf("they return conflicting types %q and %q", first.Definition.Type.String(), f.Definition.Type.String()))
			return
		}
		if len(f.SelectionSet) > 0 {
			subs = append(subs, f.SelectionSet)
		}
	}
	if len(subs) == 0 {
		return
	}
	for _, sub := range m.collect(subs) {
		if m.work > m.budget {
			return
		}
		m.sameShape(sub)
	}
}

// sameForCommonParents checks that the fields of g whose parents may be the
// same object have the same name and arguments, and that their subfields,
// merged, merge in turn.
func (m *merger) sameForCommonParents(g responseGroup) {
	if len(g.fields) == 1 {
		if f := g.fields[0]; len(f.SelectionSet) > 0 {
			m.check([]ast.SelectionSet{f.SelectionSet}, false)
		}
		return
	}
	// Fields of an object type are mutually exclusive with those of
	// another (gqlparser's test: both parents objects, of different names,
	// and both fields known); the others (of an interface or a union, or
	// unknown) may meet any of them.
	var objects []string
	seen := map[string]bool{}
	for _, f := range g.fields {
		if exclusive(f) && !seen[f.ObjectDefinition.Name] {
			seen[f.ObjectDefinition.Name] = true
			objects = append(objects, f.ObjectDefinition.Name)
		}
	}
	if len(objects) == 0 {
		m.sameNameAndArguments(g.name, g.fields)
		return
	}
	part := make([]*ast.Field, 0, len(g.fields))
	for _, object := range objects {
		part = part[:0]
		for _, f := range g.fields {
			if !exclusive(f) || f.ObjectDefinition.Name == object {
				part = append(part, f)
			}
		}
		m.sameNameAndArguments(g.name, part)
	}
}

// exclusive reports whether f is selected on an object type, which makes it
// mutually exclusive with the fields selected on other object types.
func exclusive(f *ast.Field) bool {
	return f.ObjectDefinition.Kind == ast.Object && f.Definition != nil
}

// sameNameAndArguments checks that the fields of one response name in
// fields, which may all be of one object, select the same field with the
// same arguments, and, if so, that their subfields merge.
func (m *merger) sameNameAndArguments(name string, fields []*ast.Field) {
	first := fields[0]
	ok := true
	for _, f := range fields[1:] {
		switch {
		case f.Name != first.Name:
			m.conflict(name, f, fmt.Sprintf("%q and %q are different fields", first.Name, f.Name))
			ok = false
		case !sameArguments(first.Arguments, f.Arguments):
			m.conflict(name, f, "they have differing arguments")
			ok = false
		}
	}
	if !ok {
		return
	}
	var subs []ast.SelectionSet
	for _, f := range fields {
		if len(f.SelectionSet) > 0 {
			subs = append(subs, f.SelectionSet)
		}
	}
	if len(subs) > 0 {
		m.check(subs, false)
	}
}

// conflict reports that f, of response name name, cannot merge with the
// first field of its name, unless a conflict was reported at f already.
func (m *merger) conflict(name string, f *ast.Field, reason string) {
	if m.reported[f] {
		return
	}
	m.reported[f] = true
	m.addError(core.Message("Fields %q conflict because %s. Use different aliases on the fields to fetch both if this was intentional.", name, reason), core.At(f.Position))
}

// typesConflict reports whether fields of types a and b cannot share a
// response name: their list and non-null wrappers differ, or either is a
// leaf (scalar or enum) and the two differ. Two composite types do not
// conflict by themselves; their subfields are compared.
func typesConflict(schema *ast.Schema, a, b *ast.Type) bool {
	for a.Elem != nil || b.Elem != nil {
		if a.NonNull != b.NonNull || a.Elem == nil || b.Elem == nil {
			return true
		}
		a, b = a.Elem, b.Elem
	}
	if a.NonNull != b.NonNull {
		return true
	}
	ta, tb := schema.Types[a.NamedType], schema.Types[b.NamedType]
	if ta == nil || tb == nil {
		return false
	}
	if ta.IsLeafType() || tb.IsLeafType() {
		return ta.Name != tb.Name
	}
	return false
}

// sameArguments reports whether a and b pass the same arguments, in any
// order.
func sameArguments(a, b ast.ArgumentList) bool {
	if len(a) != len(b) {
		return false
	}
	if len(a) > 8 {
		byName := make(map[string]*ast.Value, len(b))
		for _, arg := range b {
			if _, dup := byName[arg.Name]; !dup {
				byName[arg.Name] = arg.Value
			}
		}
		for _, arg := range a {
			v, ok := byName[arg.Name]
			if !ok || !sameValue(arg.Value, v) {
				return false
			}
		}
		return true
	}
	for _, arg := range a {
		other := b.ForName(arg.Name)
		if other == nil || !sameValue(arg.Value, other.Value) {
			return false
		}
	}
	return true
}

// sameValue reports whether a and b are the same value as written: the same
// kind and text, lists with the same items in order, objects with the same
// fields in any order.
func sameValue(a, b *ast.Value) bool {
	if a == nil || b == nil {
		return a == b
	}
	if a.Kind != b.Kind || a.Raw != b.Raw || len(a.Children) != len(b.Children) {
		return false
	}
	if a.Kind != ast.ObjectValue {
		for i, c := range a.Children {
			if !sameValue(c.Value, b.Children[i].Value) {
				return false
			}
		}
		return true
	}
	for _, c := range a.Children {
		other := b.Children.ForName(c.Name)
		if other == nil || !sameValue(c.Value, other) {
			return false
		}
	}
	return true
}

// hasFragmentCycle reports whether a fragment of doc spreads itself,
// directly or through others.
func hasFragmentCycle(doc *ast.QueryDocument) bool {
	defs := make(map[string]*ast.FragmentDefinition, len(doc.Fragments))
	for _, f := range doc.Fragments {
		if _, ok := defs[f.Name]; !ok {
			defs[f.Name] = f
		}
	}
	const (
		unvisited = iota
		open
		done
	)
	state := make(map[string]int, len(defs))
	var visit func(name string) bool
	var spreads func(ss ast.SelectionSet) bool
	visit = func(name string) bool {
		switch state[name] {
		case open:
			return true
		case done:
			return false
		}
		def := defs[name]
		if def == nil {
			state[name] = done
			return false
		}
		state[name] = open
		cyclic := spreads(def.SelectionSet)
		state[name] = done
		return cyclic
	}
	spreads = func(ss ast.SelectionSet) bool {
		for _, sel := range ss {
			switch s := sel.(type) {
			case *ast.Field:
				if spreads(s.SelectionSet) {
					return true
				}
			case *ast.InlineFragment:
				if spreads(s.SelectionSet) {
					return true
				}
			case *ast.FragmentSpread:
				if visit(s.Name) {
					return true
				}
			}
		}
		return false
	}
	for name := range defs {
		if visit(name) {
			return true
		}
	}
	return false
}
