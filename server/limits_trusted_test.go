package server

// Trusted documents as a gateway facing the internet runs them: the
// manifests of Apollo's and GraphQL Codegen's tools, documents named by
// their id over POST and GET, in strict mode nothing else served and no
// persisted query registered, in log mode everything served and the
// untrusted logged.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const (
	trustedCountries = "query Countries {\n  countries {\n    name\n  }\n}"
	trustedLocations = "query Locations {\n  locations {\n    name\n  }\n}"
	untrustedRegions = "query Regions { regions { name } }"
)

func sha256Hex(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// trustedManifests writes an Apollo manifest holding Countries and a
// Codegen one holding Locations, and returns their paths.
func trustedManifests(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	apollo, err := json.Marshal(map[string]any{"format": "apollo-persisted-query-manifest", "version": 1, "operations": []map[string]any{
		{"id": sha256Hex(trustedCountries), "name": "Countries", "type": "query", "body": trustedCountries},
	}})
	require.NoError(t, err)
	codegen, err := json.Marshal(map[string]string{sha256Hex(trustedLocations): trustedLocations})
	require.NoError(t, err)
	a, c := filepath.Join(dir, "persisted-query-manifest.json"), filepath.Join(dir, "persisted-documents.json")
	require.NoError(t, os.WriteFile(a, apollo, 0o600))
	require.NoError(t, os.WriteFile(c, codegen, 0o600))
	return a + "," + c
}

// trustedPost posts body (a JSON object) and returns the status and the
// answer's data and first error code.
func trustedPost(t *testing.T, g *gateway, body map[string]any) (int, string, string) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	resp, raw := wireDo(t, http.MethodPost, g.url+"/graphql", string(b), map[string]string{"Accept": "application/graphql-response+json"})
	return resp.StatusCode, string(raw), trustedCode(t, raw)
}

func trustedCode(t *testing.T, raw []byte) string {
	t.Helper()
	var out struct {
		Errors []struct {
			Extensions struct{ Code string }
		}
	}
	require.NoError(t, json.Unmarshal(raw, &out), "%s", raw)
	if len(out.Errors) == 0 {
		return ""
	}
	return out.Errors[0].Extensions.Code
}

func apq(hash string) map[string]any {
	return map[string]any{"persistedQuery": map[string]any{"version": 1, "sha256Hash": hash}}
}

func TestTrustedDocumentsStrict(t *testing.T) {
	t.Parallel()
	g := startGateway(t, map[string]string{"TRUSTED_DOCUMENTS": "strict", "TRUSTED_DOCUMENTS_MANIFESTS": trustedManifests(t)})
	assert.Contains(t, g.logs.String(), `"msg":"trusted documents","mode":"strict","documents":2`)

	t.Run("a trusted document by its id, its text, over POST and GET", func(t *testing.T) {
		for name, body := range map[string]map[string]any{
			"Apollo's hash":             {"extensions": apq(sha256Hex(trustedCountries))},
			"documentId":                {"documentId": sha256Hex(trustedLocations)},
			"documentId with sha256:":   {"documentId": "sha256:" + sha256Hex(trustedCountries)},
			"the trusted text":          {"query": trustedCountries},
			"the text and its hash":     {"query": trustedLocations, "extensions": apq(sha256Hex(trustedLocations))},
			"an id of the other tool's": {"extensions": apq(sha256Hex(trustedLocations))},
		} {
			status, raw, code := trustedPost(t, g, body)
			assert.Equal(t, http.StatusOK, status, "%s: %s", name, raw)
			assert.Empty(t, code, "%s: %s", name, raw)
			assert.True(t, strings.Contains(raw, `"countries"`) || strings.Contains(raw, `"locations"`), "%s: %s", name, raw)
		}
		resp, raw := wireDo(t, http.MethodGet, g.url+"/graphql?"+url.Values{"documentId": {sha256Hex(trustedCountries)}}.Encode(), "", nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
		assert.Contains(t, string(raw), `"countries"`)
		resp, raw = wireDo(t, http.MethodGet, g.url+"/graphql?"+url.Values{"extensions": {`{"persistedQuery":{"version":1,"sha256Hash":"` + sha256Hex(trustedLocations) + `"}}`}}.Encode(), "", nil)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "%s", raw)
		assert.Contains(t, string(raw), `"locations"`)
	})

	t.Run("anything else is refused, and nothing is registered", func(t *testing.T) {
		status, raw, code := trustedPost(t, g, map[string]any{"query": untrustedRegions})
		assert.Equal(t, http.StatusBadRequest, status, raw)
		assert.Equal(t, "TRUSTED_DOCUMENT_REQUIRED", code)
		assert.Contains(t, raw, "serves only trusted documents")
		assert.NotContains(t, raw, `"data"`)

		// Apollo's automatic persisted queries would register this.
		status, raw, code = trustedPost(t, g, map[string]any{"query": untrustedRegions, "extensions": apq(sha256Hex(untrustedRegions))})
		assert.Equal(t, http.StatusBadRequest, status, raw)
		assert.Equal(t, "PERSISTED_QUERY_NOT_FOUND", code, raw)
		status, raw, code = trustedPost(t, g, map[string]any{"extensions": apq(sha256Hex(untrustedRegions))})
		assert.Equal(t, http.StatusBadRequest, status, raw)
		assert.Equal(t, "PERSISTED_QUERY_NOT_FOUND", code, "not registered: %s", raw)

		status, raw, code = trustedPost(t, g, map[string]any{"documentId": strings.Repeat("0", 64)})
		assert.Equal(t, http.StatusBadRequest, status, raw)
		assert.Equal(t, "PERSISTED_QUERY_NOT_FOUND", code)

		// A trusted id with another text.
		status, raw, code = trustedPost(t, g, map[string]any{"query": untrustedRegions, "documentId": sha256Hex(trustedCountries)})
		assert.Equal(t, http.StatusBadRequest, status, raw)
		assert.Equal(t, "TRUSTED_DOCUMENT_REQUIRED", code)

		// Over a websocket too.
		w := dialRaw(t, g.url, "graphql-transport-ws")
		w.write(t, map[string]any{"id": "1", "type": "subscribe", "payload": map[string]any{"query": `subscription { bookingChanged { bookingId } }`}})
		m := w.read(t)
		assert.Contains(t, []string{"error", "next"}, m.Type)
		assert.Contains(t, string(m.Payload), "TRUSTED_DOCUMENT_REQUIRED")
	})
}

func TestTrustedDocumentsLog(t *testing.T) {
	t.Parallel()
	g := startGateway(t, map[string]string{"TRUSTED_DOCUMENTS": "log", "TRUSTED_DOCUMENTS_MANIFESTS": trustedManifests(t)})
	status, raw, code := trustedPost(t, g, map[string]any{"query": untrustedRegions})
	assert.Equal(t, http.StatusOK, status, raw)
	assert.Empty(t, code, raw)
	assert.Contains(t, raw, `"regions"`)
	status, _, code = trustedPost(t, g, map[string]any{"documentId": sha256Hex(trustedCountries)})
	assert.Equal(t, http.StatusOK, status)
	assert.Empty(t, code)
	// Automatic persisted queries still work for the untrusted.
	status, _, _ = trustedPost(t, g, map[string]any{"query": untrustedRegions, "extensions": apq(sha256Hex(untrustedRegions))})
	assert.Equal(t, http.StatusOK, status)
	status, raw, code = trustedPost(t, g, map[string]any{"extensions": apq(sha256Hex(untrustedRegions))})
	assert.Equal(t, http.StatusOK, status, raw)
	assert.Empty(t, code)

	require.Eventually(t, func() bool {
		return strings.Contains(g.logs.String(), `"msg":"untrusted document served","operation":"","sha256":"`+sha256Hex(untrustedRegions)+`"`)
	}, 5*time.Second, 20*time.Millisecond, "the untrusted document was logged with its hash")
	assert.NotContains(t, g.logs.String(), `"sha256":"`+sha256Hex(trustedCountries)+`"`, "a trusted one is not")
}

// TestTrustedDocumentsFromApollosManifest: the manifest is written by
// Apollo's own tool from a front end's documents, and Apollo Client's
// persisted queries link, reading its ids from it, is served by a strict
// gateway, while the same client's document of its own is refused.
func TestTrustedDocumentsFromApollosManifest(t *testing.T) {
	t.Parallel()
	node := nodeForClients(t)
	dir := t.TempDir()
	manifest := filepath.Join(dir, "persisted-query-manifest.json")
	config, err := json.Marshal(map[string]any{"documents": []string{"trusted/*.graphql"}, "output": manifest})
	require.NoError(t, err)
	configPath := filepath.Join(dir, "persisted-query-manifest.config.json")
	require.NoError(t, os.WriteFile(configPath, config, 0o600))
	ctx, cancel := context.WithTimeout(t.Context(), time.Minute)
	defer cancel()
	gen := exec.CommandContext(ctx, node, "node_modules/@apollo/generate-persisted-query-manifest/cli.js", "--config", configPath)
	gen.Dir = clientsDir
	out, err := gen.CombinedOutput()
	require.NoError(t, err, "generate-persisted-query-manifest: %s", out)
	raw, err := os.ReadFile(manifest)
	require.NoError(t, err)
	var m struct {
		Format     string
		Operations []struct{ ID, Name, Body string }
	}
	require.NoError(t, json.Unmarshal(raw, &m))
	require.Equal(t, "apollo-persisted-query-manifest", m.Format)
	require.Len(t, m.Operations, 2, "%s", raw)

	g := startGateway(t, map[string]string{"TRUSTED_DOCUMENTS": "strict", "TRUSTED_DOCUMENTS_MANIFESTS": manifest})
	run := exec.CommandContext(ctx, node, "apollo-trusted.mjs", g.url+"/graphql", manifest)
	run.Dir = clientsDir
	var stderr strings.Builder
	run.Stderr = &stderr
	got, err := run.Output()
	require.NoError(t, err, "apollo-trusted.mjs: %s; stderr: %s", got, stderr.String())
	lines := map[string]map[string]any{}
	for _, l := range strings.Split(strings.TrimSpace(string(got)), "\n") {
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(l), &v), l)
		lines[v["operation"].(string)] = v
	}
	for _, op := range []string{"LobbyCountries", "LobbyLocations"} {
		assert.Equal(t, "result", lines[op]["type"], "%s: %v", op, lines[op])
		assert.NotEmpty(t, lines[op]["data"], op)
	}
	assert.Equal(t, "error", lines["Rogue"]["type"], "%v", lines["Rogue"])
	assert.Contains(t, fmt.Sprint(lines["Rogue"]["error"]), "serves only trusted documents")
}
