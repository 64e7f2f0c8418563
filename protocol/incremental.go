package protocol

// Incremental delivery (@defer). The executor answers a deferred query with
// an initial response (hasNext: true) and then one response per deferred
// fragment, each carrying its fragment's fields and the path of the object
// they belong to. Clients that take incremental delivery (multipart/mixed,
// websockets, server-sent events) get those as the subsequent payloads of
// the format Apollo Client (deferSpec=20220824) and GraphiQL read; a client
// that asked for one response gets one, with every fragment merged in.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"

	"github.com/99designs/gqlgen/graphql"
	"github.com/vektah/gqlparser/v2/ast"
	"github.com/vektah/gqlparser/v2/gqlerror"
)

// subsequent is a payload after the initial one.
type subsequent struct {
	Incremental []incrementalItem `json:"incremental"`
	HasNext     bool              `json:"hasNext"`
}

// incrementalItem is one deferred fragment's result.
type incrementalItem struct {
	Data       json.RawMessage `json:"data"`
	Path       ast.Path        `json:"path"`
	Label      string          `json:"label,omitempty"`
	Errors     gqlerror.List   `json:"errors,omitempty"`
	Extensions map[string]any  `json:"extensions,omitempty"`
}

// hasNext reports whether more responses follow r.
func hasNext(r *graphql.Response) bool { return r.HasNext != nil && *r.HasNext }

// Part turns one of the executor's responses into what an incremental
// client is sent, over HTTP, SSE and websockets alike: a deferred query's
// first one as it is (with hasNext), its later ones in the incremental
// format; any other (a subscription's events included) as it is. i counts
// the operation's responses from 0.
func Part(r *graphql.Response, i int) any {
	if i == 0 || r.HasNext == nil {
		w := wireOf(r)
		if r.HasNext != nil {
			next := *r.HasNext
			w.HasNext = &next
			if len(w.Data) == 0 {
				w.Data = json.RawMessage("null")
			}
		}
		return w
	}
	data := r.Data
	if len(data) == 0 {
		data = json.RawMessage("null")
	}
	path := r.Path
	if path == nil {
		path = ast.Path{}
	}
	return subsequent{
		Incremental: []incrementalItem{{Data: data, Path: path, Label: r.Label, Errors: r.Errors, Extensions: r.Extensions}},
		HasNext:     hasNext(r),
	}
}

// mergeAll folds the deferred responses into the one response a client
// that does not take incremental delivery gets: each one's fields into the
// object at its path, its errors and extensions after the others'. The
// first response is decoded once, only as deep as the paths lead, so the
// cost grows with the response, not with the response times its parts.
func mergeAll(into *graphql.Response, rest []*graphql.Response) error {
	doc := &tree{raw: into.Data}
	for _, r := range rest {
		into.Errors = append(into.Errors, r.Errors...)
		if len(r.Extensions) > 0 {
			if into.Extensions == nil {
				into.Extensions = map[string]any{}
			}
			maps.Copy(into.Extensions, r.Extensions)
		}
		if len(r.Data) == 0 {
			continue
		}
		if err := doc.mergeAt(r.Path, r.Data); err != nil {
			return err
		}
	}
	var b bytes.Buffer
	doc.encode(&b)
	into.Data = b.Bytes()
	return nil
}

// mergeAt returns doc with the fields of the JSON object patch set on the
// object at path (see tree.mergeAt).
func mergeAt(doc json.RawMessage, path ast.Path, patch json.RawMessage) (json.RawMessage, error) {
	t := &tree{raw: doc}
	if err := t.mergeAt(path, patch); err != nil {
		return nil, err
	}
	var b bytes.Buffer
	t.encode(&b)
	return b.Bytes(), nil
}

// tree is a JSON value decoded only as deep as merging into it needs: an
// object keeps its fields in order (GraphQL responses list fields in the
// order they were asked for); what was never decoded is written back as it
// came.
type tree struct {
	raw    json.RawMessage
	fields []treeField // decoded object
	items  []*tree     // decoded array
	kind   byte        // 0: raw, 'o': object, 'a': array
}

type treeField struct {
	name  string
	value *tree
}

// object decodes t as an object; false when it is not one (null: a parent
// an error nulled).
func (t *tree) object() bool {
	if t.kind == 'o' {
		return true
	}
	if t.kind != 0 {
		return false
	}
	fields, err := objectFields(t.raw)
	if err != nil {
		return false
	}
	t.kind, t.raw = 'o', nil
	t.fields = make([]treeField, len(fields))
	for i, f := range fields {
		t.fields[i] = treeField{name: f.name, value: &tree{raw: f.value}}
	}
	return true
}

// array decodes t as an array; false when it is not one.
func (t *tree) array() bool {
	if t.kind == 'a' {
		return true
	}
	if t.kind != 0 {
		return false
	}
	items, err := arrayItems(t.raw)
	if err != nil {
		return false
	}
	t.kind, t.raw = 'a', nil
	t.items = make([]*tree, len(items))
	for i, v := range items {
		t.items[i] = &tree{raw: v}
	}
	return true
}

// mergeAt sets the fields of the JSON object patch on the object at path.
// A null patch (a non-null field of the fragment failed) nulls that object,
// as a failed non-null field does to its parent; a path that leads nowhere
// (under an object an error nulled) merges nothing, which is what it means.
func (t *tree) mergeAt(path ast.Path, patch json.RawMessage) error {
	for _, step := range path {
		switch s := step.(type) {
		case ast.PathName:
			if !t.object() {
				return nil
			}
			var next *tree
			for _, f := range t.fields {
				if f.name == string(s) {
					next = f.value
					break
				}
			}
			if next == nil {
				return nil
			}
			t = next
		case ast.PathIndex:
			if !t.array() || int(s) < 0 || int(s) >= len(t.items) {
				return nil
			}
			t = t.items[s]
		default:
			return fmt.Errorf("unknown path element %T", step)
		}
	}
	if isNull(patch) {
		*t = tree{raw: patch}
		return nil
	}
	if t.kind == 0 && isNull(t.raw) {
		return nil
	}
	t.merge(patch)
	return nil
}

// merge merges the JSON value v into t: objects field by field (a field
// both hold is merged, new ones follow), lists of the same length item by
// item; otherwise v wins. The executor sends each field once, so merging a
// field both hold is belt and braces.
func (t *tree) merge(v json.RawMessage) {
	patch := &tree{raw: v}
	switch {
	case patch.object() && t.object():
	next:
		for _, pf := range patch.fields {
			for _, f := range t.fields {
				if f.name == pf.name {
					f.value.merge(pf.value.rawValue())
					continue next
				}
			}
			t.fields = append(t.fields, pf)
		}
	case patch.array() && t.array() && len(patch.items) == len(t.items):
		for i, item := range patch.items {
			t.items[i].merge(item.rawValue())
		}
	default:
		*t = tree{raw: v}
	}
}

// rawValue is t as JSON.
func (t *tree) rawValue() json.RawMessage {
	if t.kind == 0 {
		return t.raw
	}
	var b bytes.Buffer
	t.encode(&b)
	return b.Bytes()
}

func (t *tree) encode(b *bytes.Buffer) {
	switch t.kind {
	case 'o':
		b.WriteByte('{')
		for i, f := range t.fields {
			if i > 0 {
				b.WriteByte(',')
			}
			name, _ := json.Marshal(f.name)
			b.Write(name)
			b.WriteByte(':')
			f.value.encode(b)
		}
		b.WriteByte('}')
	case 'a':
		b.WriteByte('[')
		for i, item := range t.items {
			if i > 0 {
				b.WriteByte(',')
			}
			item.encode(b)
		}
		b.WriteByte(']')
	default:
		b.Write(t.raw)
	}
}

// errNotThere is a value that is not the object or array sought.
var errNotThere = errors.New("not the object or array sought")

type field struct {
	name  string
	value json.RawMessage
}

// objectFields decodes a JSON object keeping its fields in order (GraphQL
// responses list fields in the order they were asked for).
func objectFields(doc json.RawMessage) ([]field, error) {
	if isNull(doc) {
		return nil, errNotThere
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errNotThere
	}
	var fields []field
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return nil, err
		}
		name, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		fields = append(fields, field{name: name, value: v})
	}
	return fields, nil
}

func arrayItems(doc json.RawMessage) ([]json.RawMessage, error) {
	if isNull(doc) {
		return nil, errNotThere
	}
	var items []json.RawMessage
	if err := json.Unmarshal(doc, &items); err != nil {
		return nil, errNotThere
	}
	return items, nil
}

func encodeObject(fields []field) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, f := range fields {
		if i > 0 {
			b.WriteByte(',')
		}
		name, _ := json.Marshal(f.name)
		b.Write(name)
		b.WriteByte(':')
		b.Write(f.value)
	}
	b.WriteByte('}')
	return b.Bytes()
}

func encodeArray(items []json.RawMessage) json.RawMessage {
	var b bytes.Buffer
	b.WriteByte('[')
	for i, v := range items {
		if i > 0 {
			b.WriteByte(',')
		}
		b.Write(v)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// Incremental is the gqlgen extension that makes a deferred query's first
// payload what the incremental delivery spec says it is: the executor writes
// the fields only deferred fragments select as null there (a null where the
// schema may promise a value), and the spec leaves them out until their
// fragment's payload brings them. Add it with handler.Server.Use.
type Incremental struct{}

var _ interface {
	graphql.HandlerExtension
	graphql.OperationInterceptor
} = Incremental{}

// ExtensionName implements graphql.HandlerExtension.
func (Incremental) ExtensionName() string { return "IncrementalDelivery" }

// Validate implements graphql.HandlerExtension.
func (Incremental) Validate(graphql.ExecutableSchema) error { return nil }

// InterceptOperation implements graphql.OperationInterceptor.
func (Incremental) InterceptOperation(ctx context.Context, next graphql.OperationHandler) graphql.ResponseHandler {
	op := graphql.GetOperationContext(ctx)
	responses := next(ctx)
	if op.Operation == nil || op.Operation.Operation != ast.Query {
		return responses
	}
	first := true
	return func(ctx context.Context) *graphql.Response {
		r := responses(ctx)
		if first && r != nil && hasNext(r) && len(r.Data) > 0 {
			r.Data = stripDeferred(r.Data, op.Operation.SelectionSet, op.Doc, op.Variables)
		}
		first = false
		return r
	}
}

// stripDeferred leaves out of a first payload the fields that only deferred
// fragments select. Type conditions are not told apart: a field some other
// fragment selects without @defer stays.
func stripDeferred(data json.RawMessage, ss ast.SelectionSet, doc *ast.QueryDocument, vars map[string]any) json.RawMessage {
	fields, err := objectFields(data)
	if err != nil {
		return data
	}
	sel := selected{kept: map[string]ast.SelectionSet{}, deferred: map[string]bool{}}
	sel.collect(ss, doc, vars, false, map[string]bool{})
	out := fields[:0]
	for _, f := range fields {
		sub, kept := sel.kept[f.name]
		if !kept {
			if sel.deferred[f.name] {
				continue
			}
			out = append(out, f)
			continue
		}
		if len(sub) > 0 {
			f.value = stripDeferredIn(f.value, sub, doc, vars)
		}
		out = append(out, f)
	}
	return encodeObject(out)
}

// stripDeferredIn strips an object, or each object of a (nested) list.
func stripDeferredIn(v json.RawMessage, ss ast.SelectionSet, doc *ast.QueryDocument, vars map[string]any) json.RawMessage {
	if items, err := arrayItems(v); err == nil {
		for i := range items {
			items[i] = stripDeferredIn(items[i], ss, doc, vars)
		}
		return encodeArray(items)
	}
	return stripDeferred(v, ss, doc, vars)
}

// selected is what one object's selections ask for: the response keys
// selected outside any deferred fragment (with their subselections merged),
// and those selected inside one.
type selected struct {
	kept     map[string]ast.SelectionSet
	deferred map[string]bool
}

// collect gathers ss's fields into s; seen holds the fragments already
// spread at this level (spreading one twice adds nothing, and must not cost
// twice: fragments may spread each other many times over).
func (s selected) collect(ss ast.SelectionSet, doc *ast.QueryDocument, vars map[string]any, inDefer bool, seen map[string]bool) {
	for _, sel := range ss {
		switch f := sel.(type) {
		case *ast.Field:
			if inDefer {
				s.deferred[f.Alias] = true
			} else {
				s.kept[f.Alias] = append(s.kept[f.Alias], f.SelectionSet...)
			}
		case *ast.InlineFragment:
			s.collect(f.SelectionSet, doc, vars, inDefer || deferred(f.Directives, vars), seen)
		case *ast.FragmentSpread:
			d := inDefer || deferred(f.Directives, vars)
			key := fmt.Sprintf("%s/%t", f.Name, d)
			if seen[key] {
				continue
			}
			seen[key] = true
			if def := doc.Fragments.ForName(f.Name); def != nil {
				s.collect(def.SelectionSet, doc, vars, d, seen)
			}
		}
	}
}

// deferred reports whether directives defer their fragment: @defer, unless
// its if argument is false.
func deferred(ds ast.DirectiveList, vars map[string]any) bool {
	d := ds.ForName("defer")
	if d == nil {
		return false
	}
	if arg := d.Arguments.ForName("if"); arg != nil {
		if v, err := arg.Value.Value(vars); err == nil {
			if b, ok := v.(bool); ok {
				return b
			}
		}
	}
	return true
}
