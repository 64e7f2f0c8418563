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

// payload turns one of the executor's responses into what an incremental
// client is sent: a deferred query's first one as it is (with hasNext), its
// later ones in the incremental format; any other (a subscription's events
// included) as it is. i counts the operation's responses from 0.
func payload(r *graphql.Response, i int) any {
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

// merge folds a deferred response into the one response a client that does
// not take incremental delivery gets: its fields into the object at its
// path, its errors and extensions after the others.
func merge(into *graphql.Response, r *graphql.Response) error {
	into.Errors = append(into.Errors, r.Errors...)
	if len(r.Extensions) > 0 {
		if into.Extensions == nil {
			into.Extensions = map[string]any{}
		}
		maps.Copy(into.Extensions, r.Extensions)
	}
	if len(r.Data) == 0 {
		return nil
	}
	data, err := mergeAt(into.Data, r.Path, r.Data)
	if err != nil {
		return err
	}
	into.Data = data
	return nil
}

// errNoObject is a deferred fragment whose path leads to no object in the
// response (its parent was nulled by an error): there is nothing to merge
// it into, which is what it means.
var errNoObject = errors.New("no object at the path")

// mergeAt returns doc with the fields of the JSON object patch set on the
// object at path. A null patch (a non-null field of the fragment failed)
// nulls that object, as a failed non-null field does to its parent.
func mergeAt(doc json.RawMessage, path ast.Path, patch json.RawMessage) (json.RawMessage, error) {
	if len(path) == 0 {
		if isNull(patch) {
			return patch, nil
		}
		if isNull(doc) {
			return doc, nil
		}
		return mergeObjects(doc, patch)
	}
	switch step := path[0].(type) {
	case ast.PathName:
		fields, err := objectFields(doc)
		if err != nil {
			return nil, err
		}
		for i := range fields {
			if fields[i].name == string(step) {
				v, err := mergeAt(fields[i].value, path[1:], patch)
				if errors.Is(err, errNoObject) {
					return doc, nil
				}
				if err != nil {
					return nil, err
				}
				fields[i].value = v
				return encodeObject(fields), nil
			}
		}
		return doc, nil
	case ast.PathIndex:
		items, err := arrayItems(doc)
		if err != nil {
			return nil, err
		}
		if int(step) < 0 || int(step) >= len(items) {
			return doc, nil
		}
		v, err := mergeAt(items[step], path[1:], patch)
		if errors.Is(err, errNoObject) {
			return doc, nil
		}
		if err != nil {
			return nil, err
		}
		items[step] = v
		return encodeArray(items), nil
	default:
		return nil, fmt.Errorf("unknown path element %T", step)
	}
}

type field struct {
	name  string
	value json.RawMessage
}

// objectFields decodes a JSON object keeping its fields in order (GraphQL
// responses list fields in the order they were asked for).
func objectFields(doc json.RawMessage) ([]field, error) {
	if isNull(doc) {
		return nil, errNoObject
	}
	dec := json.NewDecoder(bytes.NewReader(doc))
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil, errNoObject
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
		return nil, errNoObject
	}
	var items []json.RawMessage
	if err := json.Unmarshal(doc, &items); err != nil {
		return nil, errNoObject
	}
	return items, nil
}

// mergeObjects sets patch's fields on doc: fields doc already has keep their
// place and take patch's value merged into theirs, new ones follow.
func mergeObjects(doc, patch json.RawMessage) (json.RawMessage, error) {
	fields, err := objectFields(doc)
	if err != nil {
		return nil, err
	}
	add, err := objectFields(patch)
	if err != nil {
		return nil, err
	}
next:
	for _, a := range add {
		for i := range fields {
			if fields[i].name == a.name {
				fields[i].value = mergeValues(fields[i].value, a.value)
				continue next
			}
		}
		fields = append(fields, a)
	}
	return encodeObject(fields), nil
}

// mergeValues merges a field both parts hold (the executor sends each field
// once, so this is belt and braces): objects field by field, lists of the
// same length item by item; otherwise the later value wins.
func mergeValues(a, b json.RawMessage) json.RawMessage {
	if v, err := mergeObjects(a, b); err == nil {
		return v
	}
	as, errA := arrayItems(a)
	bs, errB := arrayItems(b)
	if errA != nil || errB != nil || len(as) != len(bs) {
		return b
	}
	for i := range as {
		as[i] = mergeValues(as[i], bs[i])
	}
	return encodeArray(as)
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
