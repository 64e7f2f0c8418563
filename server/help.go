package server

import (
	"fmt"
	"io"
	"regexp"
	"strings"
)

// The README's configuration table is the one list of the settings: the
// binary embeds the README (Binary) and --help prints the table, and a
// test checks that every variable the gateway reads is in it and every
// variable in it is read.

// setting is one row of the README's configuration table.
type setting struct {
	names        []string
	def, meaning string // as the README writes them (Markdown)
}

var settingName = regexp.MustCompile("`([A-Z][A-Z0-9_]*)`")

// settings are the rows of the table under readme's "## Configuration".
func settings(readme string) []setting {
	_, sec, _ := strings.Cut(readme, "\n## Configuration\n")
	sec, _, _ = strings.Cut(sec, "\n## ")
	var out []setting
	for _, line := range strings.Split(sec, "\n") {
		if !strings.HasPrefix(line, "| `") || !strings.HasSuffix(line, " |") {
			continue
		}
		cols := strings.Split(strings.TrimSuffix(strings.TrimPrefix(line, "| "), " |"), " | ")
		if len(cols) != 3 {
			continue
		}
		s := setting{def: cols[1], meaning: cols[2]}
		for _, m := range settingName.FindAllStringSubmatch(cols[0], -1) {
			s.names = append(s.names, m[1])
		}
		out = append(out, s)
	}
	return out
}

var mdLink = regexp.MustCompile(`\[([^\]]+)\]\([^)]+\)`)

// plainText is Markdown as a terminal shows it.
func plainText(md string) string {
	s := mdLink.ReplaceAllString(md, "$1")
	return strings.NewReplacer("`", "", "**", "", `\|`, "|").Replace(s)
}

// wrap breaks s into lines of at most width columns after indent.
func wrap(w io.Writer, indent, s string, width int) {
	line := indent
	for _, word := range strings.Fields(s) {
		if len(line) > len(indent) && len(line)+1+len(word) > width {
			fmt.Fprintln(w, line)
			line = indent
		}
		if len(line) > len(indent) {
			line += " "
		}
		line += word
	}
	if len(line) > len(indent) {
		fmt.Fprintln(w, line)
	}
}

// writeHelp prints the command line and every setting with its default.
func writeHelp(w io.Writer, bin Binary) {
	fmt.Fprintf(w, `%s

Usage:
  gateway                serve (with no ENGAGE_API_URL: the demo, on an embedded simulator)
  gateway check          check the configuration in the environment; exit 1 naming each problem
  gateway check --reach  the same, then reach Engage (a token and one call) and Redis
  gateway --version      print the version and exit
  gateway --help         print this and exit

Settings, read from the environment (the README explains each at length):

`, buildInfo(bin.Version))
	for _, s := range settings(bin.README) {
		fmt.Fprintln(w, strings.Join(s.names, ", "))
		fmt.Fprintf(w, "    default: %s\n", plainText(s.def))
		wrap(w, "    ", plainText(s.meaning), 100)
	}
}
