package drift

import (
	"fmt"
	"strings"

	"github.com/getkin/kin-openapi/openapi3"
)

// shape is a schema with allOf/oneOf/anyOf folded in, as far as the comparison
// needs it. drf-spectacular wraps references (`allOf: [$ref]` with readOnly or
// nullable beside it) and expresses nullable or blank enums as
// `oneOf: [XEnum, BlankEnum, NullEnum]`; both fold into one shape.
type shape struct {
	typ        string
	format     string
	nullable   bool
	enum       []string // nil: no enum
	enumSince  map[string]string
	props      map[string]*openapi3.SchemaRef
	required   []string
	items      *openapi3.SchemaRef
	additional *openapi3.SchemaRef
}

// isAny reports a schema that accepts any JSON value.
func (s shape) isAny() bool {
	return s.typ == "" && s.enum == nil && len(s.props) == 0 && s.items == nil && s.additional == nil
}

func (s shape) describe() string {
	if s.format != "" {
		return s.typ + " (" + s.format + ")"
	}
	return s.typ
}

func flatten(s *openapi3.Schema) shape {
	return flattenDepth(s, 0)
}

// maxFlattenDepth stops pathological composition chains; real schemas nest two levels.
const maxFlattenDepth = 16

func flattenDepth(s *openapi3.Schema, depth int) shape {
	var out shape
	if s == nil || depth > maxFlattenDepth {
		return out
	}
	out.nullable = s.Nullable
	for _, m := range s.AllOf {
		if m != nil && m.Value != nil {
			out.merge(flattenDepth(m.Value, depth+1))
		}
	}
	var alts []shape
	for _, m := range append(append(openapi3.SchemaRefs{}, s.OneOf...), s.AnyOf...) {
		if m == nil || m.Value == nil {
			continue
		}
		a := flattenDepth(m.Value, depth+1)
		if a.isNullOnly() {
			out.nullable = true
			continue
		}
		alts = append(alts, a)
	}
	if len(alts) > 0 {
		out.merge(union(alts))
	}

	own := shape{format: s.Format, required: s.Required, items: s.Items, additional: s.AdditionalProperties.Schema}
	if s.Type != nil && len(s.Type.Slice()) > 0 {
		for _, t := range s.Type.Slice() {
			if t == openapi3.TypeNull {
				out.nullable = true
				continue
			}
			own.typ = t
		}
	}
	if len(s.Enum) > 0 {
		own.enum = []string{}
		for _, v := range s.Enum {
			if v == nil {
				out.nullable = true
				continue
			}
			own.enum = append(own.enum, fmt.Sprint(v))
		}
	}
	if len(s.Properties) > 0 {
		own.props = s.Properties
	}
	if m, ok := s.Extensions[extEnumSince].(map[string]any); ok {
		own.enumSince = map[string]string{}
		for k, v := range m {
			own.enumSince[k] = fmt.Sprint(v)
		}
	}
	out.merge(own)

	if out.typ == "" {
		switch {
		case len(out.props) > 0 || out.additional != nil:
			out.typ = "object"
		case out.items != nil:
			out.typ = "array"
		case len(out.enum) > 0:
			out.typ = "string"
		}
	}
	return out
}

// isNullOnly reports drf-spectacular's NullEnum: `enum: [null]` and nothing else.
func (s shape) isNullOnly() bool {
	return s.nullable && s.typ == "" && len(s.enum) == 0 && s.enum != nil && len(s.props) == 0 && s.items == nil
}

// merge adds b's constraints to s (allOf semantics, first declaration wins).
func (s *shape) merge(b shape) {
	if s.typ == "" {
		s.typ = b.typ
	}
	if s.format == "" {
		s.format = b.format
	}
	s.nullable = s.nullable || b.nullable
	if b.enum != nil {
		s.enum = append(s.enum, b.enum...)
		if s.enum == nil {
			s.enum = []string{}
		}
	}
	for k, v := range b.enumSince {
		if s.enumSince == nil {
			s.enumSince = map[string]string{}
		}
		s.enumSince[k] = v
	}
	for k, v := range b.props {
		if s.props == nil {
			s.props = map[string]*openapi3.SchemaRef{}
		} else if _, ok := s.props[k]; ok {
			continue
		}
		s.props[k] = v
	}
	s.required = append(s.required, b.required...)
	if s.items == nil {
		s.items = b.items
	}
	if s.additional == nil {
		s.additional = b.additional
	}
}

// union folds oneOf alternatives: enums unite; type and format survive only when
// all alternatives agree (BlankEnum, which has no type, agrees with any string).
func union(alts []shape) shape {
	if len(alts) == 1 {
		return alts[0]
	}
	out := shape{}
	types, formats := map[string]bool{}, map[string]bool{}
	allEnum := true
	for _, a := range alts {
		out.nullable = out.nullable || a.nullable
		if a.typ != "" {
			types[a.typ] = true
		}
		formats[a.format] = true
		if a.enum == nil {
			allEnum = false
		}
	}
	if len(types) == 1 {
		for t := range types {
			out.typ = t
		}
	}
	if len(formats) == 1 {
		for f := range formats {
			out.format = f
		}
	}
	if allEnum {
		out.enum = []string{}
		for _, a := range alts {
			out.enum = append(out.enum, a.enum...)
		}
	}
	if out.typ == "" && len(types) > 1 {
		// Alternatives of different types: accept anything rather than guess.
		return shape{nullable: out.nullable}
	}
	if out.typ == "object" {
		for _, a := range alts {
			out.merge(shape{props: a.props, additional: a.additional})
		}
	}
	return out
}

// String renders the shape for debugging.
func (s shape) String() string {
	var b strings.Builder
	b.WriteString(s.describe())
	if s.nullable {
		b.WriteString(" nullable")
	}
	if s.enum != nil {
		fmt.Fprintf(&b, " enum%v", s.enum)
	}
	return b.String()
}
