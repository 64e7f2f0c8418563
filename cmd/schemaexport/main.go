// Command schemaexport writes the gateway's whole GraphQL schema, merged
// from graph/*.graphqls into one document, to schema.graphql at the
// repository root, for front-end code generators. `go generate ./...` runs
// it, so the export is always the schema the gateway serves.
//
// Usage: schemaexport [-dir graph] [-out schema.graphql]
package main

import (
	"bytes"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/vektah/gqlparser/v2"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/formatter"
)

func main() {
	if err := run(os.Args[1:], os.Stderr); err != nil {
		fmt.Fprintf(os.Stderr, "schemaexport: %v\n", err)
		os.Exit(1)
	}
}

func run(args []string, stderr io.Writer) error {
	fs := flag.NewFlagSet("schemaexport", flag.ContinueOnError)
	fs.SetOutput(stderr)
	dir := fs.String("dir", "graph", "directory holding the *.graphqls files")
	out := fs.String("out", "schema.graphql", "file to write")
	if err := fs.Parse(args); err != nil {
		return err
	}
	doc, err := export(*dir)
	if err != nil {
		return err
	}
	return os.WriteFile(*out, doc, 0o644)
}

// export loads and validates every schema file of dir and formats the
// merged schema, directives and then types in name order so the output is
// stable. It is what live introspection of the gateway reports, printed the
// same way (the root package's TestSchemaExportEqualsLiveIntrospection holds
// it to that), less what the GraphQL specification itself defines.
func export(dir string) ([]byte, error) {
	files, err := filepath.Glob(filepath.Join(dir, "*.graphqls"))
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no *.graphqls files in %s", dir)
	}
	slices.Sort(files)
	var sources []*ast.Source
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			return nil, err
		}
		sources = append(sources, &ast.Source{Name: filepath.ToSlash(f), Input: string(b)})
	}
	schema, err := gqlparser.LoadSchema(sources...)
	if err != nil {
		return nil, err
	}
	declareServedDirectives(schema)
	var buf bytes.Buffer
	buf.WriteString("# The Engage GraphQL Gateway's schema, exported by cmd/schemaexport from\n# graph/*.graphqls. Do not edit: run `go generate ./...`.\n\n")
	formatter.NewFormatter(&buf, formatter.WithIndent("  ")).FormatSchema(schema)
	return buf.Bytes(), nil
}

// specifiedDirectives are the directives the GraphQL specification defines.
// Every GraphQL tool knows them, so SDL printers leave their definitions out
// (graphql-js's printSchema does too), as the export does.
var specifiedDirectives = map[string]bool{
	"deprecated":  true,
	"include":     true,
	"oneOf":       true,
	"skip":        true,
	"specifiedBy": true,
}

// declareServedDirectives makes the formatter write out the directives that
// gqlparser's prelude adds to every schema beyond the specification's, today
// @defer: the gateway serves them and introspection lists them, and a
// client's tools know them only if the export declares them. The formatter
// leaves out whatever comes from the prelude, so these lose their position.
func declareServedDirectives(schema *ast.Schema) {
	for name, d := range schema.Directives {
		if specifiedDirectives[name] || d.Position == nil || d.Position.Src == nil || !d.Position.Src.BuiltIn {
			continue
		}
		served := *d
		served.Position = nil
		schema.Directives[name] = &served
	}
}
