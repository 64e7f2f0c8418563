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
// merged schema, types in name order so the output is stable.
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
	var buf bytes.Buffer
	buf.WriteString("# The Engage GraphQL Gateway's schema, exported by cmd/schemaexport from\n# graph/*.graphqls. Do not edit: run `go generate ./...`.\n\n")
	formatter.NewFormatter(&buf, formatter.WithIndent("  ")).FormatSchema(schema)
	return buf.Bytes(), nil
}
