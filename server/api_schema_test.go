package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
	"github.com/vektah/gqlparser/v2/parser"
)

// schemaExport is the schema as cmd/schemaexport writes it for front ends.
var schemaExport = filepath.Join(repoRoot, "schema.graphql")

// schemaDescriptionRules are graphql-schema-linter's rules about
// descriptions: every type, field, argument, input field and enum value has
// one, each starts with a capital, and every deprecation says why.
var schemaDescriptionRules = []string{
	"arguments-have-descriptions",
	"deprecations-have-a-reason",
	"descriptions-are-capitalized",
	"enum-values-have-descriptions",
	"fields-have-descriptions",
	"input-object-values-have-descriptions",
	"types-have-descriptions",
}

// schemaLinter returns node and the path of graphql-schema-linter's command,
// failing (never skipping) when either is missing: the schema's
// documentation is checked on every run, not only in CI.
func schemaLinter(t *testing.T) (node, linter string) {
	t.Helper()
	node, err := exec.LookPath("node")
	require.NoError(t, err, "node is not on PATH: install Node.js 20 or later to lint the schema")
	pkg := filepath.Join(clientsDir, "node_modules", "graphql-schema-linter")
	if _, err := os.Stat(filepath.Join(pkg, "package.json")); err != nil {
		t.Fatal(nodeModulesMissing)
	}
	return node, filepath.Join(clientsDir, "node_modules", ".bin", "graphql-schema-linter")
}

// TestSchemaIsDocumented lints schema.graphql with every description rule of
// graphql-schema-linter and lists each finding.
func TestSchemaIsDocumented(t *testing.T) {
	node, linter := schemaLinter(t)

	// Every rule the installed linter has about descriptions is run, so an
	// upgrade that adds one cannot go unnoticed.
	rules, err := os.ReadDir(filepath.Join(clientsDir, "node_modules", "graphql-schema-linter", "lib", "rules"))
	require.NoError(t, err)
	for _, r := range rules {
		name := strings.ReplaceAll(strings.TrimSuffix(r.Name(), ".js"), "_", "-")
		if strings.Contains(name, "description") || strings.Contains(name, "deprecation") {
			assert.Contains(t, schemaDescriptionRules, name, "graphql-schema-linter has a description rule the test does not run")
		}
	}

	findings, err := lintSchema(t, node, linter, schemaExport)
	require.NoError(t, err)
	if len(findings) > 0 {
		t.Errorf("%s has %d description findings (describe them in graph/*.graphqls, then run go generate ./...):\n%s",
			schemaExport, len(findings), strings.Join(findings, "\n"))
	}
}

// TestSchemaLintFindsAMissingDescription proves the lint fails, naming the
// member, when a description is taken out of the export.
func TestSchemaLintFindsAMissingDescription(t *testing.T) {
	node, linter := schemaLinter(t)
	b, err := os.ReadFile(schemaExport)
	require.NoError(t, err)
	const described = "  \"\"\"\n  The room to book.\n  \"\"\"\n  roomId: ID!\n"
	require.Contains(t, string(b), described)
	undocumented := filepath.Join(t.TempDir(), "schema.graphql")
	require.NoError(t, os.WriteFile(undocumented, []byte(strings.Replace(string(b), described, "  roomId: ID!\n", 1)), 0o644))

	findings, err := lintSchema(t, node, linter, undocumented)
	require.NoError(t, err)
	require.Len(t, findings, 1)
	assert.Contains(t, findings[0], "BookRoomInput.roomId")
	assert.Contains(t, findings[0], "input-object-values-have-descriptions")
}

// lintSchema runs the linter's description rules on file and returns its
// findings, one line each. An error means the linter itself failed.
func lintSchema(t *testing.T, node, linter, file string) ([]string, error) {
	t.Helper()
	var stdout, stderr bytes.Buffer
	// -c points the linter's configuration search at an empty directory, so
	// only the rules named here run.
	cmd := exec.Command(node, linter, "-c", t.TempDir(), "-f", "json", "-r", strings.Join(schemaDescriptionRules, ","), file)
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err := cmd.Run()
	var exit *exec.ExitError
	if err != nil && !(errors.As(err, &exit) && exit.ExitCode() == 1) {
		// 1 is "findings"; anything else (2: the schema did not load) is a failure.
		return nil, errors.New("graphql-schema-linter: " + err.Error() + ": " + stderr.String() + stdout.String())
	}
	var report struct {
		Errors []struct {
			Message  string `json:"message"`
			Rule     string `json:"rule"`
			Location struct {
				Line   int `json:"line"`
				Column int `json:"column"`
			} `json:"location"`
		} `json:"errors"`
	}
	if jerr := json.Unmarshal(stdout.Bytes(), &report); jerr != nil {
		return nil, errors.New("graphql-schema-linter's report is not JSON: " + jerr.Error() + ": " + stdout.String() + stderr.String())
	}
	if err != nil && len(report.Errors) == 0 {
		return nil, errors.New("graphql-schema-linter failed without findings: " + stderr.String())
	}
	var findings []string
	for _, e := range report.Errors {
		findings = append(findings, fmt.Sprintf("%s:%d:%d: %s (%s)", filepath.Base(file), e.Location.Line, e.Location.Column, e.Message, e.Rule))
	}
	return findings, nil
}

// TestSchemaExportEqualsLiveIntrospection starts the gateway, asks it the
// standard introspection query over HTTP, prints the answer as SDL with the
// formatter cmd/schemaexport uses, and requires schema.graphql to be exactly
// that. The documented normalisation: what the GraphQL specification defines
// (the scalars Int, Float, String, Boolean and ID, the __ introspection
// types, the directives @include, @skip, @deprecated, @specifiedBy and
// @oneOf) is left out of the printed answer, as the export and graphql-js's
// printSchema leave it out; and the export's leading # comment, which
// introspection cannot carry, is left out of the file. Everything else,
// descriptions, default values and directives the gateway serves beyond the
// specification's (@defer) included, must match byte for byte.
func TestSchemaExportEqualsLiveIntrospection(t *testing.T) {
	g := startGateway(t, map[string]string{})
	body, err := json.Marshal(map[string]any{"query": standardIntrospectionQuery, "operationName": "IntrospectionQuery"})
	require.NoError(t, err)
	resp, err := http.Post(g.url+"/graphql", "application/json", bytes.NewReader(body))
	require.NoError(t, err)
	defer resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
	var out struct {
		Data struct {
			Schema introspectedSchema `json:"__schema"`
		} `json:"data"`
		Errors json.RawMessage `json:"errors"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	require.Empty(t, out.Errors, "introspection failed")

	live := schemaFromIntrospection(t, out.Data.Schema)
	require.Contains(t, live.Directives, "defer", "the gateway serves @defer, so introspection must list it")
	var printed bytes.Buffer
	formatter.NewFormatter(&printed, formatter.WithIndent("  ")).FormatSchema(live)

	b, err := os.ReadFile(schemaExport)
	require.NoError(t, err)
	export := string(b)
	for strings.HasPrefix(export, "#") {
		_, export, _ = strings.Cut(export, "\n")
	}
	export = strings.TrimPrefix(export, "\n")
	if d := firstDifference(printed.String(), export); d != "" {
		t.Errorf("%s differs from live introspection (after the normalisation this test documents); run go generate ./..., or fix cmd/schemaexport:\n%s", schemaExport, d)
	}
}

// firstDifference shows where want and got first differ, by line with some
// context, or is "" when they are equal.
func firstDifference(want, got string) string {
	if want == got {
		return ""
	}
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	i := 0
	for i < len(w) && i < len(g) && w[i] == g[i] {
		i++
	}
	excerpt := func(lines []string) string {
		from, to := max(i-3, 0), min(i+8, len(lines))
		var b strings.Builder
		for n := from; n < to; n++ {
			mark := "  "
			if n == i {
				mark = "> "
			}
			fmt.Fprintf(&b, "%s%4d | %s\n", mark, n+1, lines[n])
		}
		return b.String()
	}
	return fmt.Sprintf("first difference at line %d (of the export without its leading comment)\nintrospection prints:\n%sschema.graphql has:\n%s", i+1, excerpt(w), excerpt(g))
}

// standardIntrospectionQuery is graphql-js's getIntrospectionQuery with
// descriptions, specifiedByURL, isRepeatable, the schema's description,
// deprecated input values and isOneOf: what GraphiQL and code generators
// ask, with everything the spec lets introspection say.
const standardIntrospectionQuery = `query IntrospectionQuery {
  __schema {
    description
    queryType { name }
    mutationType { name }
    subscriptionType { name }
    types { ...FullType }
    directives {
      name
      description
      isRepeatable
      locations
      args(includeDeprecated: true) { ...InputValue }
    }
  }
}

fragment FullType on __Type {
  kind
  name
  description
  specifiedByURL
  isOneOf
  fields(includeDeprecated: true) {
    name
    description
    args(includeDeprecated: true) { ...InputValue }
    type { ...TypeRef }
    isDeprecated
    deprecationReason
  }
  inputFields(includeDeprecated: true) { ...InputValue }
  interfaces { ...TypeRef }
  enumValues(includeDeprecated: true) {
    name
    description
    isDeprecated
    deprecationReason
  }
  possibleTypes { ...TypeRef }
}

fragment InputValue on __InputValue {
  name
  description
  type { ...TypeRef }
  defaultValue
  isDeprecated
  deprecationReason
}

fragment TypeRef on __Type {
  kind
  name
  ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name ofType { kind name } } } } } } } }
}`

type introspectedSchema struct {
	Description      *string                 `json:"description"`
	QueryType        *introspectedName       `json:"queryType"`
	MutationType     *introspectedName       `json:"mutationType"`
	SubscriptionType *introspectedName       `json:"subscriptionType"`
	Types            []introspectedType      `json:"types"`
	Directives       []introspectedDirective `json:"directives"`
}

type introspectedName struct {
	Name string `json:"name"`
}

type introspectedType struct {
	Kind           string                `json:"kind"`
	Name           string                `json:"name"`
	Description    *string               `json:"description"`
	SpecifiedByURL *string               `json:"specifiedByURL"`
	IsOneOf        *bool                 `json:"isOneOf"`
	Fields         []introspectedField   `json:"fields"`
	InputFields    []introspectedInput   `json:"inputFields"`
	Interfaces     []introspectedTypeRef `json:"interfaces"`
	EnumValues     []introspectedEnum    `json:"enumValues"`
	PossibleTypes  []introspectedTypeRef `json:"possibleTypes"`
}

type introspectedField struct {
	Name              string              `json:"name"`
	Description       *string             `json:"description"`
	Args              []introspectedInput `json:"args"`
	Type              introspectedTypeRef `json:"type"`
	IsDeprecated      bool                `json:"isDeprecated"`
	DeprecationReason *string             `json:"deprecationReason"`
}

type introspectedInput struct {
	Name              string              `json:"name"`
	Description       *string             `json:"description"`
	Type              introspectedTypeRef `json:"type"`
	DefaultValue      *string             `json:"defaultValue"`
	IsDeprecated      bool                `json:"isDeprecated"`
	DeprecationReason *string             `json:"deprecationReason"`
}

type introspectedEnum struct {
	Name              string  `json:"name"`
	Description       *string `json:"description"`
	IsDeprecated      bool    `json:"isDeprecated"`
	DeprecationReason *string `json:"deprecationReason"`
}

type introspectedDirective struct {
	Name         string              `json:"name"`
	Description  *string             `json:"description"`
	IsRepeatable bool                `json:"isRepeatable"`
	Locations    []string            `json:"locations"`
	Args         []introspectedInput `json:"args"`
}

type introspectedTypeRef struct {
	Kind   string               `json:"kind"`
	Name   *string              `json:"name"`
	OfType *introspectedTypeRef `json:"ofType"`
}

// specScalars and specDirectives are what the GraphQL specification defines;
// SDL printers leave them out.
var (
	specScalars    = []string{"Boolean", "Float", "ID", "Int", "String"}
	specDirectives = []string{"deprecated", "include", "oneOf", "skip", "specifiedBy"}
)

// schemaFromIntrospection rebuilds the schema an introspection answer
// describes, as the AST gqlparser's formatter prints, less what the
// specification defines.
func schemaFromIntrospection(t *testing.T, in introspectedSchema) *ast.Schema {
	t.Helper()
	s := &ast.Schema{Types: map[string]*ast.Definition{}, Directives: map[string]*ast.DirectiveDefinition{}}
	if in.Description != nil {
		s.Description = *in.Description
	}
	for _, it := range in.Types {
		if strings.HasPrefix(it.Name, "__") || slices.Contains(specScalars, it.Name) {
			continue
		}
		def := &ast.Definition{Kind: ast.DefinitionKind(it.Kind), Name: it.Name, Description: deref(it.Description)}
		if it.SpecifiedByURL != nil {
			def.Directives = append(def.Directives, &ast.Directive{Name: "specifiedBy", Arguments: ast.ArgumentList{
				{Name: "url", Value: &ast.Value{Kind: ast.StringValue, Raw: *it.SpecifiedByURL}},
			}})
		}
		if it.IsOneOf != nil && *it.IsOneOf {
			def.Directives = append(def.Directives, &ast.Directive{Name: "oneOf"})
		}
		for _, f := range it.Fields {
			def.Fields = append(def.Fields, &ast.FieldDefinition{
				Name:        f.Name,
				Description: deref(f.Description),
				Arguments:   argumentsFromIntrospection(t, f.Args),
				Type:        typeFromIntrospection(t, f.Type),
				Directives:  deprecation(f.IsDeprecated, f.DeprecationReason),
			})
		}
		for _, f := range it.InputFields {
			def.Fields = append(def.Fields, &ast.FieldDefinition{
				Name:         f.Name,
				Description:  deref(f.Description),
				Type:         typeFromIntrospection(t, f.Type),
				DefaultValue: valueFromIntrospection(t, f.DefaultValue),
				Directives:   deprecation(f.IsDeprecated, f.DeprecationReason),
			})
		}
		for _, i := range it.Interfaces {
			def.Interfaces = append(def.Interfaces, deref(i.Name))
		}
		if def.Kind == ast.Union {
			for _, p := range it.PossibleTypes {
				def.Types = append(def.Types, deref(p.Name))
			}
		}
		for _, e := range it.EnumValues {
			def.EnumValues = append(def.EnumValues, &ast.EnumValueDefinition{
				Name:        e.Name,
				Description: deref(e.Description),
				Directives:  deprecation(e.IsDeprecated, e.DeprecationReason),
			})
		}
		s.Types[def.Name] = def
	}
	root := func(n *introspectedName) *ast.Definition {
		if n == nil {
			return nil
		}
		require.Contains(t, s.Types, n.Name)
		return s.Types[n.Name]
	}
	s.Query, s.Mutation, s.Subscription = root(in.QueryType), root(in.MutationType), root(in.SubscriptionType)
	for _, d := range in.Directives {
		if slices.Contains(specDirectives, d.Name) {
			continue
		}
		def := &ast.DirectiveDefinition{
			Name:         d.Name,
			Description:  deref(d.Description),
			Arguments:    argumentsFromIntrospection(t, d.Args),
			IsRepeatable: d.IsRepeatable,
		}
		for _, l := range d.Locations {
			def.Locations = append(def.Locations, ast.DirectiveLocation(l))
		}
		s.Directives[d.Name] = def
	}
	return s
}

func argumentsFromIntrospection(t *testing.T, in []introspectedInput) ast.ArgumentDefinitionList {
	t.Helper()
	var out ast.ArgumentDefinitionList
	for _, a := range in {
		out = append(out, &ast.ArgumentDefinition{
			Name:         a.Name,
			Description:  deref(a.Description),
			Type:         typeFromIntrospection(t, a.Type),
			DefaultValue: valueFromIntrospection(t, a.DefaultValue),
			Directives:   deprecation(a.IsDeprecated, a.DeprecationReason),
		})
	}
	return out
}

func typeFromIntrospection(t *testing.T, ref introspectedTypeRef) *ast.Type {
	t.Helper()
	switch ref.Kind {
	case "NON_NULL":
		require.NotNil(t, ref.OfType)
		inner := typeFromIntrospection(t, *ref.OfType)
		inner.NonNull = true
		return inner
	case "LIST":
		require.NotNil(t, ref.OfType)
		return ast.ListType(typeFromIntrospection(t, *ref.OfType), nil)
	}
	require.NotNil(t, ref.Name, "a named type reference without a name")
	return ast.NamedType(*ref.Name, nil)
}

// valueFromIntrospection parses a default value, which introspection gives
// as GraphQL source text, the way the schema's own parser does.
func valueFromIntrospection(t *testing.T, src *string) *ast.Value {
	t.Helper()
	if src == nil {
		return nil
	}
	doc, err := parser.ParseSchema(&ast.Source{Input: "input Default { value: Default = " + *src + " }"})
	require.NoError(t, err, "default value %s", *src)
	return doc.Definitions[0].Fields[0].DefaultValue
}

func deprecation(deprecated bool, reason *string) ast.DirectiveList {
	if !deprecated {
		return nil
	}
	d := &ast.Directive{Name: "deprecated"}
	if reason != nil {
		d.Arguments = ast.ArgumentList{{Name: "reason", Value: &ast.Value{Kind: ast.StringValue, Raw: *reason}}}
	}
	return ast.DirectiveList{d}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}
