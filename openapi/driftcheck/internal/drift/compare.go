package drift

import (
	"fmt"
	"regexp"
	"slices"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// Extensions of ours that the comparison honours.
const (
	extSince     = "x-waldur-since"
	extEnumSince = "x-waldur-enum-since"
	extIgnore    = "x-waldur-drift-ignore"
)

// direction says which way data flows, which decides what "compatible" means.
type direction int

const (
	// send: parameters and request bodies; the server must accept what ours produces.
	send direction = iota
	// receive: response bodies; ours must decode everything the server declares.
	receive
)

type visit struct {
	ours, theirs *openapi3.Schema
	dir          direction
}

type comparer struct {
	version string
	op      string
	report  *Report
	seen    map[visit]bool
}

// Compare checks every operation of ours against the server's schema.
func Compare(ours, server *openapi3.T) Report {
	report := Report{}
	if server.Info != nil {
		report.ServerVersion = server.Info.Version
	}
	c := &comparer{version: report.ServerVersion, report: &report, seen: map[visit]bool{}}

	serverPaths := map[string]string{} // normalised path -> server's spelling
	serverOps := map[string]string{}   // operationId -> "METHOD path"
	for _, path := range server.Paths.Keys() {
		serverPaths[normalisePath(path)] = path
		for method, op := range server.Paths.Value(path).Operations() {
			if op.OperationID != "" {
				serverOps[op.OperationID] = method + " " + path
			}
		}
	}

	for _, path := range sortedKeys(ours.Paths.Map()) {
		item := ours.Paths.Value(path)
		ops := item.Operations()
		for _, method := range sortedKeys(ops) {
			op := ops[method]
			report.Operations++
			c.op = fmt.Sprintf("%s %s (%s)", method, path, op.OperationID)
			var sItem *openapi3.PathItem
			if sp, ok := serverPaths[normalisePath(path)]; ok {
				sItem = server.Paths.Value(sp)
			}
			var sop *openapi3.Operation
			if sItem != nil {
				sop = sItem.GetOperation(method)
			}
			c.operation(item, op, sItem, sop, serverOps)
		}
	}
	return report
}

func (c *comparer) add(s Severity, loc, format string, args ...any) {
	c.report.Findings = append(c.report.Findings, Finding{
		Severity: s, Operation: c.op, Location: loc, Message: fmt.Sprintf(format, args...),
	})
}

func (c *comparer) errorf(loc, format string, args ...any) {
	c.add(SeverityError, loc, format, args...)
}
func (c *comparer) notef(loc, format string, args ...any) { c.add(SeverityNote, loc, format, args...) }

// absent reports a missing item: a note when ours marks it newer than the server
// or ignored, an error otherwise.
func (c *comparer) absent(loc string, exts map[string]any, what string) {
	if reason := extString(exts, extIgnore); reason != "" {
		c.notef(loc, "%s; ignored: %s", what, reason)
		return
	}
	if since := extString(exts, extSince); newerThan(since, c.version) {
		c.notef(loc, "%s; ours marks it since %s, server is %s", what, since, c.version)
		return
	}
	c.errorf(loc, "%s", what)
}

func (c *comparer) operation(item *openapi3.PathItem, op *openapi3.Operation, sItem *openapi3.PathItem,
	sop *openapi3.Operation, serverOps map[string]string,
) {
	if reason := extString(op.Extensions, extIgnore); reason != "" {
		c.notef("", "not compared; ignored: %s", reason)
		return
	}
	if sop == nil {
		if at, ok := serverOps[op.OperationID]; ok {
			c.errorf("", "operation missing at this method and path; server has %s at %s", op.OperationID, at)
			return
		}
		c.absent("", op.Extensions, "operation missing from server schema")
		return
	}
	if sop.OperationID != op.OperationID {
		c.errorf("", "operationId differs: server has %q", sop.OperationID)
	}

	// Parameters.
	ourParams := parameters(item, op)
	theirParams := parameters(sItem, sop)
	for _, key := range sortedKeys(ourParams) {
		p := ourParams[key]
		loc := fmt.Sprintf("%s parameter %q", p.In, p.Name)
		sp, ok := theirParams[key]
		if !ok {
			c.absent(loc, p.Extensions, "parameter missing from server schema")
			continue
		}
		c.parameter(loc, p, sp)
	}
	for _, key := range sortedKeys(theirParams) {
		if sp := theirParams[key]; sp.Required {
			if _, ok := ourParams[key]; !ok {
				c.errorf(fmt.Sprintf("%s parameter %q", sp.In, sp.Name), "server requires this parameter; ours lacks it")
			}
		}
	}

	// Request body.
	c.requestBody(op.RequestBody, sop.RequestBody)

	// Success responses; error responses describe ours alone.
	if op.Responses != nil {
		for _, code := range sortedKeys(op.Responses.Map()) {
			if !strings.HasPrefix(code, "2") {
				continue
			}
			c.response(code, op.Responses.Value(code), sop.Responses)
		}
	}
}

func (c *comparer) parameter(loc string, p, sp *openapi3.Parameter) {
	if reason := extString(p.Extensions, extIgnore); reason != "" {
		c.notef(loc, "not compared; ignored: %s", reason)
		return
	}
	if isContainer(p.Schema) || isContainer(sp.Schema) {
		if a, b := effectiveStyle(p), effectiveStyle(sp); a != b {
			c.errorf(loc, "style %s, server expects %s", a, b)
		}
		if a, b := effectiveExplode(p), effectiveExplode(sp); a != b {
			c.errorf(loc, "explode %t, server expects %t", a, b)
		}
	}
	c.schema(loc, p.Schema, sp.Schema, send)
}

func (c *comparer) requestBody(ours, theirs *openapi3.RequestBodyRef) {
	const loc = "request body"
	theirsRequired := theirs != nil && theirs.Value != nil && theirs.Value.Required
	if ours == nil || ours.Value == nil {
		if theirsRequired {
			c.errorf(loc, "server requires a request body; ours sends none")
		}
		return
	}
	if theirs == nil || theirs.Value == nil {
		c.absent(loc, ours.Value.Extensions, "server declares no request body")
		return
	}
	mt := ours.Value.Content.Get("application/json")
	if mt == nil {
		return
	}
	smt := theirs.Value.Content.Get("application/json")
	if smt == nil {
		c.errorf(loc, "server accepts no application/json body")
		return
	}
	c.schema(loc, mt.Schema, smt.Schema, send)
}

func (c *comparer) response(code string, ours *openapi3.ResponseRef, theirs *openapi3.Responses) {
	loc := "response " + code
	if ours == nil || ours.Value == nil {
		return
	}
	var sr *openapi3.ResponseRef
	if theirs != nil {
		sr = theirs.Value(code)
	}
	if sr == nil || sr.Value == nil {
		c.absent(loc, ours.Value.Extensions, "status missing from server schema")
		return
	}
	mt := ours.Value.Content.Get("application/json")
	if mt == nil || mt.Schema == nil {
		return
	}
	smt := sr.Value.Content.Get("application/json")
	if smt == nil || smt.Schema == nil {
		c.absent(loc, ours.Value.Extensions, "ours decodes a JSON body; server declares none")
		return
	}
	c.schema(loc+" body", mt.Schema, smt.Schema, receive)
}

// schema compares ours with theirs at loc, recursing into properties and items.
func (c *comparer) schema(loc string, ours, theirs *openapi3.SchemaRef, dir direction) {
	if ours == nil || ours.Value == nil || theirs == nil || theirs.Value == nil {
		return
	}
	if reason := extString(ours.Value.Extensions, extIgnore); reason != "" {
		c.notef(loc, "not compared; ignored: %s", reason)
		return
	}
	key := visit{ours.Value, theirs.Value, dir}
	if c.seen[key] {
		return // already compared (shared or recursive schema); findings would repeat
	}
	c.seen[key] = true

	o, t := flatten(ours.Value), flatten(theirs.Value)
	if t.isAny() || o.isAny() {
		return // one side is free-form JSON: nothing to check
	}
	if !compatibleType(o.typ, t.typ, dir) {
		c.errorf(loc, "type %s, server has %s", o.describe(), t.describe())
		return
	}
	if o.typ == "string" && !compatibleFormat(o.format, t.format, dir) {
		c.errorf(loc, "format %q, server has %q", o.format, t.format)
	}
	if dir == receive && t.nullable && !o.nullable {
		c.errorf(loc, "server may send null; ours is not nullable")
	}
	if len(o.enum) > 0 && t.enum != nil {
		for _, v := range o.enum {
			if slices.Contains(t.enum, v) {
				continue
			}
			if since := o.enumSince[v]; newerThan(since, c.version) {
				c.notef(loc, "enum value %q not in server; ours marks it since %s, server is %s", v, since, c.version)
				continue
			}
			c.errorf(loc, "enum value %q unknown to server", v)
		}
	}
	if o.typ == "object" {
		c.object(loc, o, t, dir)
	}
	if o.typ == "array" && o.items != nil && t.items != nil {
		c.schema(loc+"[]", o.items, t.items, dir)
	}
}

func (c *comparer) object(loc string, o, t shape, dir direction) {
	for _, name := range sortedKeys(o.props) {
		prop := o.props[name]
		ploc := loc + "." + name
		tprop, ok := t.props[name]
		if !ok {
			if len(t.props) == 0 {
				continue // server declares a free-form object: nothing to check against
			}
			var exts map[string]any
			if prop != nil && prop.Value != nil {
				exts = prop.Value.Extensions
			}
			c.absent(ploc, exts, "field missing from server schema")
			continue
		}
		c.schema(ploc, prop, tprop, dir)
	}
	if dir == send {
		for _, name := range t.required {
			if _, ok := o.props[name]; !ok {
				c.errorf(loc+"."+name, "server requires this field; ours lacks it")
			}
		}
	}
	if o.additional != nil && t.additional != nil {
		c.schema(loc+"{}", o.additional, t.additional, dir)
	}
}

// compatibleType: equal types, or integer sent where the server takes any number,
// or any number decoded where the server declares integer. An untyped side matches.
func compatibleType(ours, theirs string, dir direction) bool {
	switch {
	case ours == theirs, ours == "", theirs == "":
		return true
	case dir == send:
		return ours == "integer" && theirs == "number"
	default:
		return ours == "number" && theirs == "integer"
	}
}

// compatibleFormat: what we send must carry the server's format (a stricter format
// of ours is fine); what we decode must not assume a format the server does not promise.
func compatibleFormat(ours, theirs string, dir direction) bool {
	if ours == theirs {
		return true
	}
	if dir == send {
		return theirs == ""
	}
	return ours == ""
}

func parameters(item *openapi3.PathItem, op *openapi3.Operation) map[string]*openapi3.Parameter {
	out := map[string]*openapi3.Parameter{}
	add := func(ps openapi3.Parameters) {
		for _, ref := range ps {
			if ref != nil && ref.Value != nil {
				out[ref.Value.In+":"+ref.Value.Name] = ref.Value
			}
		}
	}
	if item != nil {
		add(item.Parameters)
	}
	if op != nil {
		add(op.Parameters) // operation parameters override path-level ones
	}
	return out
}

func effectiveStyle(p *openapi3.Parameter) string {
	if p.Style != "" {
		return p.Style
	}
	switch p.In {
	case openapi3.ParameterInQuery, openapi3.ParameterInCookie:
		return openapi3.SerializationForm
	default:
		return openapi3.SerializationSimple
	}
}

func effectiveExplode(p *openapi3.Parameter) bool {
	if p.Explode != nil {
		return *p.Explode
	}
	return effectiveStyle(p) == openapi3.SerializationForm
}

func isContainer(ref *openapi3.SchemaRef) bool {
	if ref == nil || ref.Value == nil {
		return false
	}
	s := flatten(ref.Value)
	return s.typ == "array" || s.typ == "object"
}

var pathParam = regexp.MustCompile(`\{[^}]*\}`)

// normalisePath lets /x/{uuid}/ match /x/{id}/: parameter names do not reach the wire.
func normalisePath(p string) string { return pathParam.ReplaceAllString(p, "{}") }

func extString(exts map[string]any, name string) string {
	switch v := exts[name].(type) {
	case string:
		return v
	case nil:
		return ""
	default:
		return fmt.Sprint(v)
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}
