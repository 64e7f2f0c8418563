package guard

// Trusted documents: for a gateway facing the internet, the operations its
// own front ends were built with, read from the manifests their build
// tools write, and nothing else.
//
// Two manifest formats are read:
//   - Apollo's persisted query manifest (@apollo/generate-persisted-query-manifest):
//     {"format": "apollo-persisted-query-manifest", "version": 1,
//     "operations": [{"id": "<sha256>", "name": …, "type": …, "body": "<document>"}]}
//   - GraphQL Codegen's persisted documents (the client preset's
//     persistedDocuments): {"<hash>": "<document>", …}
//
// A client names a trusted document by its id, in extensions.persistedQuery.sha256Hash
// (Apollo's persisted queries link) or documentId (the GraphQL over HTTP
// proposal, and Codegen's clients), or sends its text.

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"os"
	"strings"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// TrustedMode is how a gateway treats documents that are not trusted.
type TrustedMode string

const (
	// TrustedOff serves any document (the default).
	TrustedOff TrustedMode = "off"
	// TrustedLog serves any document, and logs those not in the manifests.
	TrustedLog TrustedMode = "log"
	// TrustedStrict serves only the manifests' documents, and registers no
	// automatic persisted query.
	TrustedStrict TrustedMode = "strict"
)

// Error codes of trusted documents.
const (
	// CodeTrustedDocumentRequired: the document sent is not trusted.
	CodeTrustedDocumentRequired = "TRUSTED_DOCUMENT_REQUIRED"
	// CodePersistedQueryNotFound: no trusted document has the id sent
	// (Apollo's code, so its link's retry with the text follows).
	CodePersistedQueryNotFound = "PERSISTED_QUERY_NOT_FOUND"
)

// DocumentIDExtension is where the transports put a request's top-level
// documentId.
const DocumentIDExtension = "documentId"

// TrustedDocuments holds the manifests' documents by id and by text.
type TrustedDocuments struct {
	mode   TrustedMode
	byID   map[string]string
	byText map[string]bool
	log    *slog.Logger
}

// LoadTrustedDocuments reads the manifests at paths, in either format.
func LoadTrustedDocuments(mode TrustedMode, paths []string, log *slog.Logger) (*TrustedDocuments, error) {
	t := &TrustedDocuments{mode: mode, byID: map[string]string{}, byText: map[string]bool{}, log: log}
	if t.log == nil {
		t.log = slog.New(slog.DiscardHandler)
	}
	for _, p := range paths {
		raw, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("trusted documents manifest: %w", err)
		}
		docs, err := parseManifest(raw)
		if err != nil {
			return nil, fmt.Errorf("trusted documents manifest %s: %w", p, err)
		}
		for id, body := range docs {
			if prev, ok := t.byID[id]; ok && prev != body {
				return nil, fmt.Errorf("trusted documents manifest %s: id %s names two different documents", p, id)
			}
			t.byID[id] = body
			t.byText[body] = true
		}
	}
	if len(t.byID) == 0 && mode != TrustedOff {
		return nil, fmt.Errorf("trusted documents: the manifests hold no document")
	}
	return t, nil
}

// parseManifest reads one manifest: Apollo's format, or Codegen's map.
func parseManifest(raw []byte) (map[string]string, error) {
	var apollo struct {
		Format     string `json:"format"`
		Version    int    `json:"version"`
		Operations []struct {
			ID   string `json:"id"`
			Body string `json:"body"`
		} `json:"operations"`
	}
	if err := json.Unmarshal(raw, &apollo); err == nil && apollo.Format != "" {
		if apollo.Format != "apollo-persisted-query-manifest" || apollo.Version != 1 {
			return nil, fmt.Errorf("format %q version %d: not apollo-persisted-query-manifest version 1", apollo.Format, apollo.Version)
		}
		docs := map[string]string{}
		for i, op := range apollo.Operations {
			if op.ID == "" || strings.TrimSpace(op.Body) == "" {
				return nil, fmt.Errorf("operation %d has no id or no body", i)
			}
			docs[op.ID] = op.Body
		}
		return docs, nil
	}
	var codegen map[string]string
	if err := json.Unmarshal(raw, &codegen); err != nil {
		return nil, fmt.Errorf("neither Apollo's persisted query manifest nor a map of hashes to documents (GraphQL Codegen's): %w", err)
	}
	for id, body := range codegen {
		if id == "" || strings.TrimSpace(body) == "" {
			return nil, fmt.Errorf("an empty hash or document")
		}
	}
	return codegen, nil
}

// SetLogger is where untrusted documents served in log mode are logged.
func (t *TrustedDocuments) SetLogger(l *slog.Logger) { t.log = l }

// Mode is how the gateway treats untrusted documents.
func (t *TrustedDocuments) Mode() TrustedMode { return t.mode }

// Len is how many documents are trusted.
func (t *TrustedDocuments) Len() int { return len(t.byID) }

var _ interface {
	graphql.HandlerExtension
	graphql.OperationParameterMutator
} = (*TrustedDocuments)(nil)

// ExtensionName implements graphql.HandlerExtension.
func (*TrustedDocuments) ExtensionName() string { return "TrustedDocuments" }

// Validate implements graphql.HandlerExtension.
func (*TrustedDocuments) Validate(graphql.ExecutableSchema) error { return nil }

// MutateOperationParameters implements graphql.OperationParameterMutator.
// It runs before automatic persisted queries: a trusted document named by
// its id gets its text; in strict mode anything else is refused, so no
// persisted query is looked up or registered; in log mode it goes on, and
// an untrusted text is logged.
func (t *TrustedDocuments) MutateOperationParameters(ctx context.Context, params *graphql.RawParams) *gqlerror.Error {
	if t.mode == TrustedOff {
		return nil
	}
	id, fromAPQ := documentID(params.Extensions)
	if id != "" {
		body, ok := t.lookup(id)
		switch {
		case ok && params.Query != "" && params.Query != body:
			return reject(CodeTrustedDocumentRequired, "the query sent is not the trusted document %s names", id)
		case ok:
			params.Query = body
			// Served from the manifest, not from (or into) the cache of
			// automatic persisted queries.
			delete(params.Extensions, "persistedQuery")
			delete(params.Extensions, DocumentIDExtension)
			return nil
		case t.mode == TrustedStrict:
			if params.Query != "" && t.byText[params.Query] {
				delete(params.Extensions, "persistedQuery")
				return nil
			}
			return reject(CodePersistedQueryNotFound, "no trusted document has the id %s: this gateway serves only the documents of its manifests", id)
		case !fromAPQ:
			return reject(CodePersistedQueryNotFound, "no trusted document has the id %s", id)
		}
		// Log mode: an automatic persisted query the manifests do not
		// hold goes on to the cache of persisted queries.
	}
	if params.Query == "" || t.byText[params.Query] {
		return nil
	}
	if t.mode == TrustedStrict {
		return reject(CodeTrustedDocumentRequired, "this gateway serves only trusted documents: send the id of one from its manifests (extensions.persistedQuery.sha256Hash or documentId), not a document of your own")
	}
	sum := sha256.Sum256([]byte(params.Query))
	t.log.WarnContext(ctx, "untrusted document served", "operation", params.OperationName, "sha256", hex.EncodeToString(sum[:]), "bytes", len(params.Query))
	return nil
}

// lookup finds a trusted document by id, with or without the "sha256:"
// that Codegen's hashes may carry.
func (t *TrustedDocuments) lookup(id string) (string, bool) {
	if body, ok := t.byID[id]; ok {
		return body, true
	}
	if bare, ok := strings.CutPrefix(id, "sha256:"); ok {
		body, ok := t.byID[bare]
		return body, ok
	}
	body, ok := t.byID["sha256:"+id]
	return body, ok
}

// documentID is the id a request names its document by, and whether it
// came as an automatic persisted query's hash.
func documentID(ext map[string]any) (string, bool) {
	if id, ok := ext[DocumentIDExtension].(string); ok && id != "" {
		return id, false
	}
	if pq, ok := ext["persistedQuery"].(map[string]any); ok {
		if h, ok := pq["sha256Hash"].(string); ok && h != "" {
			return h, true
		}
	}
	return "", false
}
