package guard

import (
	"fmt"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
	"github.com/vektah/gqlparser/v2/parser"
	"github.com/vektah/gqlparser/v2/validator"
	"github.com/vektah/gqlparser/v2/validator/core"
	"github.com/vektah/gqlparser/v2/validator/rules"
)

// mergeSchema has what makes fields conflict or not: an interface and a
// union over two object types whose fields share names but not types (Int
// against String, nullable against not, lists of nullable against not),
// arguments of every kind of value, and lists.
const mergeSchema = `
interface Pet { name: String friends: [Pet] owner: Human }
type Dog implements Pet { name: String friends: [Pet] owner: Human barks(loud: Boolean): Boolean size: Int nick: String! tags: [String] }
type Cat implements Pet { name: String friends: [Pet] owner: Human meows: Boolean size: String nick: String tags: [String!] }
union Animal = Dog | Cat
enum Kind { DOG CAT }
input Filter { kind: Kind ids: [ID] }
type Human { name(short: Boolean): String pets: [Pet] pet(id: ID, filter: Filter): Pet animal(kind: Kind): Animal friends: [Human] }
type Query { pet(id: ID, filter: Filter): Pet pets: [Pet] animal(kind: Kind): Animal human(id: ID): Human dog: Dog cat: Cat }
`

// validateWith validates query against schema with rule alone.
func validateWith(t testing.TB, schema *ast.Schema, rule core.Rule, query string) gqlerror.List {
	t.Helper()
	doc, err := parser.ParseQuery(&ast.Source{Input: query})
	require.NoError(t, err, query)
	return validator.ValidateWithRules(schema, doc, rules.NewRules(rule))
}

func TestFieldsCanMergeAgreesWithGqlparser(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: mergeSchema})
	tests := []struct {
		name, query string
		conflict    bool
	}{
		{"one field", `{ dog { name } }`, false},
		{"the same field twice", `{ dog { name name } }`, false},
		{"an alias of another field", `{ dog { name: nick name } }`, true},
		{"aliases apart", `{ dog { a: name b: nick } }`, false},
		{"the same arguments", `{ pet(id: "1") { name } pet(id: "1") { name } }`, false},
		{"different arguments", `{ pet(id: "1") { name } pet(id: "2") { name } }`, true},
		{"an argument against none", `{ pet(id: "1") { name } pet { name } }`, true},
		{"one variable", `query($v: ID) { pet(id: $v) { name } pet(id: $v) { name } }`, false},
		{"a variable against a value", `query($v: ID) { pet(id: $v) { name } pet(id: "1") { name } }`, true},
		{"objects in any order", `{ pet(filter: {kind: DOG, ids: ["1"]}) { name } pet(filter: {ids: ["1"], kind: DOG}) { name } }`, false},
		{"objects that differ", `{ pet(filter: {kind: DOG}) { name } pet(filter: {kind: CAT}) { name } }`, true},
		{"lists in another order", `{ pet(filter: {ids: ["1", "2"]}) { name } pet(filter: {ids: ["2", "1"]}) { name } }`, true},
		{"subfields merge", `{ dog { owner { name } } dog { owner { pets { name } } } }`, false},
		{"subfields conflict", `{ dog { owner { x: name } } dog { owner { x: pets { name } } } }`, true},
		{"deep subfields conflict", `{ human { friends { friends { x: name } } } human { friends { friends { x: name(short: true) } } } }`, true},
		{"different objects may differ", `{ pets { ... on Dog { x: barks } ... on Cat { x: meows } } }`, false},
		{"but not in shape", `{ pets { ... on Dog { size } ... on Cat { size } } }`, true},
		{"nor in nullability", `{ pets { ... on Dog { nick } ... on Cat { nick } } }`, true},
		{"nor in list items", `{ pets { ... on Dog { tags } ... on Cat { tags } } }`, true},
		{"an interface's field meets each object's", `{ pets { name ... on Dog { name: nick } } }`, true},
		{"an interface's field, the same on each", `{ pets { name ... on Dog { name } ... on Cat { name } } }`, false},
		{"a union's members", `{ animal { ... on Dog { x: name } ... on Cat { x: meows } } }`, true},
		{"a union's members, exclusive", `{ animal { ... on Dog { x: barks } ... on Cat { x: meows } } }`, false},
		{"exclusive parents make subfields exclusive", `{ pets { ... on Dog { owner { x: name } } ... on Cat { owner { x: name(short: true) } } } }`, false},
		{"but their shapes still count", `{ pets { ... on Dog { friends { ... on Dog { size } } } ... on Cat { friends { ... on Cat { size } } } } }`, true},
		{"through a fragment", `{ dog { ...D name: nick } } fragment D on Dog { name }`, true},
		{"between fragments", `{ dog { ...A ...B } } fragment A on Dog { x: name } fragment B on Dog { x: nick }`, true},
		{"fragments that agree", `{ dog { ...A ...B } } fragment A on Dog { x: name } fragment B on Dog { x: name }`, false},
		{"a fragment spread twice", `{ dog { ...A ...A } } fragment A on Dog { x: name y: nick }`, false},
		{"fragments under two fields", `{ human { pet { ...A } } human { pet { ...B } } } fragment A on Pet { x: name } fragment B on Pet { x: owner { name } }`, true},
		{"a fragment nested in itself, legally", `{ dog { ...A friends { ...A } } } fragment A on Pet { name }`, false},
		{"__typename", `{ pets { __typename ... on Dog { __typename } } }`, false},
		{"__typename against a field", `{ pets { __typename ... on Dog { __typename: name } } }`, true},
		{"unknown fields are left to another rule", `{ dog { nope nope: nope } }`, false},
		{"in every operation", `query A { dog { name } } query B { dog { name: nick name } }`, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			theirs := validateWith(t, schema, rules.OverlappingFieldsCanBeMergedRule, tt.query)
			ours := validateWith(t, schema, fieldsCanMerge(1_000_000), tt.query)
			require.Equal(t, tt.conflict, len(theirs) > 0, "gqlparser: %v", theirs)
			assert.Equal(t, tt.conflict, len(ours) > 0, "ours: %v", ours)
		})
	}
}

func TestFieldsCanMergeMessages(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: mergeSchema})
	tests := []struct{ query, msg string }{
		{`{ dog { name: nick name } }`, `Fields "name" conflict because "nick" and "name" are different fields. Use different aliases on the fields to fetch both if this was intentional.`},
		{`{ pet(id: "1") { name } pet(id: "2") { name } }`, `Fields "pet" conflict because they have differing arguments. Use different aliases on the fields to fetch both if this was intentional.`},
		{`{ pets { ... on Dog { size } ... on Cat { size } } }`, `Fields "size" conflict because they return conflicting types "Int" and "String". Use different aliases on the fields to fetch both if this was intentional.`},
	}
	for _, tt := range tests {
		errs := validateWith(t, schema, fieldsCanMerge(1_000_000), tt.query)
		require.Len(t, errs, 1, tt.query)
		assert.Equal(t, tt.msg, errs[0].Message)
		assert.Equal(t, "OverlappingFieldsCanBeMerged", errs[0].Rule)
		assert.NotEmpty(t, errs[0].Locations)
	}
}

// TestFieldsCanMergeAgreesOnRandomDocuments compares the verdicts of both
// rules on documents drawn at random over mergeSchema, with a small pool of
// aliases and argument values, so that fields collide often.
func TestFieldsCanMergeAgreesOnRandomDocuments(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: mergeSchema})
	r := rand.New(rand.NewPCG(1, 2))
	conflicts := 0
	const docs = 3000
	for range docs {
		q := newDocGen(r, schema).document()
		theirs := validateWith(t, schema, rules.OverlappingFieldsCanBeMergedRule, q)
		ours := validateWith(t, schema, fieldsCanMerge(1_000_000), q)
		require.Equal(t, len(theirs) > 0, len(ours) > 0, "%s\ngqlparser: %v\nours: %v", q, theirs, ours)
		if len(ours) > 0 {
			conflicts++
		}
	}
	t.Logf("%d of %d documents conflict", conflicts, docs)
	assert.Greater(t, conflicts, docs/5, "enough documents conflict")
	assert.Less(t, conflicts, docs*4/5, "and enough do not")
}

// docGen draws a document: an operation and up to three fragments on Pet,
// Dog or Cat, each fragment spreading only earlier ones (so there is no
// cycle) and each spread somewhere (so none is unused).
type docGen struct {
	r      *rand.Rand
	schema *ast.Schema
	frags  []string
	used   map[string]bool
}

func newDocGen(r *rand.Rand, schema *ast.Schema) *docGen {
	return &docGen{r: r, schema: schema, used: map[string]bool{}}
}

func (g *docGen) document() string {
	var defs []string
	for i := range g.r.IntN(4) {
		on := []string{"Pet", "Dog", "Cat"}[g.r.IntN(3)]
		body := g.selectionSet(g.schema.Types[on], 1)
		name := fmt.Sprintf("F%d", i)
		g.frags = append(g.frags, name)
		defs = append(defs, fmt.Sprintf("fragment %s on %s %s", name, on, body))
	}
	op := g.selectionSet(g.schema.Query, 0)
	var unused []string
	for _, f := range g.frags {
		if !g.used[f] {
			unused = append(unused, "..."+f)
		}
	}
	if len(unused) > 0 {
		op = strings.TrimSuffix(op, "}") + " pets { " + strings.Join(unused, " ") + " } }"
	}
	return "query($v: ID) " + op + "\n" + strings.Join(defs, "\n")
}

func (g *docGen) selectionSet(typ *ast.Definition, depth int) string {
	var b strings.Builder
	b.WriteString("{")
	for range 1 + g.r.IntN(3) {
		b.WriteString(" ")
		pet := typ.Name == "Pet" || typ.Name == "Dog" || typ.Name == "Cat"
		switch k := g.r.IntN(10); {
		case k < 2 && (pet || typ.Name == "Animal") && depth < 4:
			on := []string{"Dog", "Cat", "Pet"}[g.r.IntN(3)]
			if typ.Name == "Animal" {
				on = []string{"Dog", "Cat"}[g.r.IntN(2)]
			}
			fmt.Fprintf(&b, "... on %s %s", on, g.selectionSet(g.schema.Types[on], depth+1))
		case k < 3 && pet && len(g.frags) > 0:
			f := g.frags[g.r.IntN(len(g.frags))]
			g.used[f] = true
			b.WriteString("..." + f)
		default:
			b.WriteString(g.field(typ, depth))
		}
	}
	b.WriteString(" }")
	return b.String()
}

func (g *docGen) field(typ *ast.Definition, depth int) string {
	var fields []*ast.FieldDefinition
	for _, f := range typ.Fields {
		if !strings.HasPrefix(f.Name, "__") {
			fields = append(fields, f)
		}
	}
	if len(fields) == 0 {
		return "__typename"
	}
	f := fields[g.r.IntN(len(fields))]
	var b strings.Builder
	if g.r.IntN(10) < 2 {
		b.WriteString([]string{"x", "y", "name", "size"}[g.r.IntN(4)] + ": ")
	}
	b.WriteString(f.Name)
	var args []string
	for _, a := range f.Arguments {
		if g.r.IntN(5) == 0 {
			args = append(args, a.Name+": "+g.value(a.Type))
		}
	}
	if len(args) > 0 {
		b.WriteString("(" + strings.Join(args, ", ") + ")")
	}
	if sub := g.schema.Types[f.Type.Name()]; !sub.IsLeafType() {
		if depth >= 4 {
			b.WriteString(" { __typename }")
		} else {
			b.WriteString(" " + g.selectionSet(sub, depth+1))
		}
	}
	return b.String()
}

func (g *docGen) value(typ *ast.Type) string {
	pick := func(vs ...string) string { return vs[g.r.IntN(len(vs))] }
	switch typ.Name() {
	case "Boolean":
		return pick("true", "false")
	case "ID":
		return pick(`"1"`, `"2"`, "$v")
	case "Kind":
		return pick("DOG", "CAT")
	case "Filter":
		return pick(`{kind: DOG}`, `{ids: ["1"]}`, `{kind: DOG, ids: ["1"]}`, `{ids: ["1"], kind: DOG}`, `{ids: ["1", "2"]}`)
	}
	return "null"
}

func TestFieldsCanMergeIsLinear(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: mergeSchema})
	var b strings.Builder
	b.WriteString("{")
	for i := range 2000 {
		fmt.Fprintf(&b, ` pet(id: "%d") { name }`, i)
	}
	b.WriteString(" }")
	// Each field differs from the first: one error each, where comparing
	// every pair gives 1,999,000. The budget is four visits a field.
	errs := validateWith(t, schema, fieldsCanMerge(4*4000), b.String())
	assert.Len(t, errs, 1999)
	for _, e := range errs {
		require.Contains(t, e.Message, `Fields "pet" conflict because they have differing arguments`)
	}

	repeated := "{" + strings.Repeat(" pets { name owner { name } }", 10_000) + " }"
	assert.Empty(t, validateWith(t, schema, fieldsCanMerge(4*30_000), repeated), "10,000 repeated fields merge")
}

func TestFieldsCanMergeBudget(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: mergeSchema})
	errs := validateWith(t, schema, fieldsCanMerge(10), "{"+strings.Repeat(" dog { name }", 20)+" }")
	require.Len(t, errs, 1)
	assert.Equal(t, "the document is too complex to check that its fields can merge (more than 10 field visits); send a simpler one", errs[0].Message)
}

func TestFieldsCanMergeSkipsFragmentCycles(t *testing.T) {
	// NoFragmentCycles reports the cycle; the merge check must end.
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: mergeSchema})
	assert.Empty(t, validateWith(t, schema, fieldsCanMerge(1_000_000), `{ dog { ...A } } fragment A on Dog { friends { ...B } } fragment B on Pet { ...A }`))
}

func TestValidationRules(t *testing.T) {
	schema := gqlparser.MustLoadSchema(&ast.Source{Input: mergeSchema})
	r := ValidationRules(Limits{})()
	names := map[string]bool{}
	for name := range r.GetInner() {
		names[name] = true
	}
	assert.Len(t, names, len(rules.NewDefaultRules().GetInner()), "every default rule, in one form or another")
	for _, name := range []string{"FieldsOnCorrectType", "KnownArgumentNames", "KnownTypeNames", "ScalarLeafs", "ValuesOfCorrectType"} {
		assert.False(t, names[name], name)
		assert.True(t, names[name+"WithoutSuggestions"], name)
	}

	doc, err := parser.ParseQuery(&ast.Source{Input: `query($x: Hman) { dgo { nam } dog { nick: name nick } human { name(shrt: true) animal(kind: DGO) { __typename } } }`})
	require.NoError(t, err)
	errs := validator.ValidateWithRules(schema, doc, r)
	var msgs []string
	for _, e := range errs {
		msgs = append(msgs, e.Message)
	}
	all := strings.Join(msgs, "\n")
	assert.NotContains(t, all, "Did you mean")
	assert.Contains(t, all, `Cannot query field "dgo" on type "Query".`)
	assert.Contains(t, all, `Fields "nick" conflict`)
	assert.Contains(t, all, `Unknown argument "shrt"`)
}
