package server

import (
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTheREADMEListsWhatTheGatewayReads: the README's configuration table
// (which --help prints) names every environment variable the configuration
// and the tracing read, and each variable it lists first in a row is read.
func TestTheREADMEListsWhatTheGatewayReads(t *testing.T) {
	rows := settings(theBinary(t).README)
	require.Greater(t, len(rows), 50, "the README's configuration table")
	listed, mentioned := map[string]bool{}, map[string]bool{}
	for _, s := range rows {
		require.NotEmpty(t, s.names, "a row without a variable")
		require.NotEmpty(t, s.def, "%v: no default", s.names)
		require.NotEmpty(t, s.meaning, "%v: no meaning", s.names)
		for _, n := range s.names {
			assert.False(t, listed[n], "%s listed twice", n)
			listed[n] = true
		}
		for _, m := range settingName.FindAllStringSubmatch(s.def+" "+s.meaning, -1) {
			mentioned[m[1]] = true
		}
	}
	literal := regexp.MustCompile(`"([A-Z][A-Z0-9_]+)"`)
	read := map[string]bool{}
	for _, f := range []string{"config.go", filepath.Join(repoRoot, "telemetry", "tracing.go")} {
		src, err := os.ReadFile(f)
		require.NoError(t, err)
		for _, m := range literal.FindAllStringSubmatch(string(src), -1) {
			if strings.Contains(m[1], "_") || listed[m[1]] {
				read[m[1]] = true
			}
		}
	}
	for n := range read {
		assert.True(t, listed[n] || mentioned[n], "%s is read but the README's configuration table does not name it", n)
	}
	for n := range listed {
		assert.True(t, read[n], "the README lists %s, which nothing reads", n)
	}
}

// TestCommandLine: --help prints every setting with its default, --version
// the build, and anything else is refused with exit code 2.
func TestCommandLine(t *testing.T) {
	runCLI := func(args ...string) (int, string, string) {
		var out, errs bytes.Buffer
		code := Run(t.Context(), theBinary(t), args, func(string) string { return "" }, &out, &errs)
		return code, out.String(), errs.String()
	}
	code, out, _ := runCLI("--help")
	require.Zero(t, code)
	assert.Contains(t, out, "gateway check --reach")
	for _, s := range settings(theBinary(t).README) {
		assert.Contains(t, out, strings.Join(s.names, ", ")+"\n    default: "+plainText(s.def)+"\n", "--help shows %v with its default", s.names)
	}
	assert.NotContains(t, out, "`", "--help shows text, not Markdown")
	assert.Contains(t, out, "    default: :8080; in the demo (no ENGAGE_API_URL) 127.0.0.1:8080\n", "LISTEN_ADDR's default in the demo")

	code, out, _ = runCLI("--version")
	require.Zero(t, code)
	assert.Regexp(t, `^engage-gateway \S+ \(commit \S+, go1\.\S+\)\n$`, out)

	for _, args := range [][]string{{"--bogus"}, {"serve", "now"}, {"check", "--far"}, {"--help", "--version"}} {
		code, out, errs := runCLI(args...)
		assert.Equal(t, 2, code, "%q", args)
		assert.Empty(t, out)
		assert.Contains(t, errs, "see gateway --help")
	}
}
