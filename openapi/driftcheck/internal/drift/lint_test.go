package drift

import (
	"slices"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// These tests hold openapi/waldur.yaml to the conventions the generated code and
// the waldur package rely on.

const extSkipPointer = "x-go-type-skip-optional-pointer"

// walkSchemas calls fn for every property schema reachable from the components.
func walkSchemas(doc *openapi3.T, fn func(loc string, s *openapi3.Schema)) {
	var visit func(loc string, s *openapi3.Schema)
	visit = func(loc string, s *openapi3.Schema) {
		for name, p := range s.Properties {
			if p != nil && p.Value != nil {
				fn(loc+"."+name, p.Value)
				if p.Ref == "" {
					visit(loc+"."+name, p.Value)
				}
			}
		}
	}
	for name, ref := range doc.Components.Schemas {
		visit(name, ref.Value)
	}
}

func TestNullablePropertiesStayPointers(t *testing.T) {
	// With prefer-skip-optional-pointer a nullable field would become a plain
	// value: null could not be told apart, and a null date would fail to decode.
	walkSchemas(loadOurs(t), func(loc string, s *openapi3.Schema) {
		if s.Nullable {
			assert.Equal(t, false, s.Extensions[extSkipPointer], "%s is nullable: add %s: false", loc, extSkipPointer)
		}
	})
}

func TestOptionalScalarQueryParametersArePointers(t *testing.T) {
	// A plain value would always be sent: page=0, paused=false, a zero UUID.
	ours := loadOurs(t)
	for _, path := range ours.Paths.Keys() {
		for _, op := range ours.Paths.Value(path).Operations() {
			for _, ref := range op.Parameters {
				p := ref.Value
				if p.In != openapi3.ParameterInQuery || p.Required || isContainer(p.Schema) {
					continue
				}
				assert.Equal(t, false, p.Extensions[extSkipPointer], "%s: query parameter %q: add %s: false",
					op.OperationID, p.Name, extSkipPointer)
			}
		}
	}
}

func TestListsArePagedAndDescribeTheirHeaders(t *testing.T) {
	unpaged := map[string]bool{"marketplace_provider_resources_team_list": true}
	ours := loadOurs(t)
	lists := 0
	for _, path := range ours.Paths.Keys() {
		for method, op := range ours.Paths.Value(path).Operations() {
			if method != "GET" || !strings.HasSuffix(op.OperationID, "_list") {
				continue
			}
			lists++
			ok := op.Responses.Value("200")
			require.NotNil(t, ok, op.OperationID)
			mt := ok.Value.Content.Get("application/json")
			require.NotNil(t, mt, op.OperationID)
			assert.Equal(t, "array", flatten(mt.Schema.Value).typ, "%s: lists are bare arrays", op.OperationID)
			assert.Contains(t, ok.Value.Headers, "X-Result-Count", op.OperationID)
			if unpaged[op.OperationID] {
				continue
			}
			assert.Contains(t, ok.Value.Headers, "Link", op.OperationID)
			params := parameters(nil, op)
			require.Contains(t, params, "query:page", op.OperationID)
			require.Contains(t, params, "query:page_size", op.OperationID)
			size := params["query:page_size"].Schema.Value
			require.NotNil(t, size.Max, op.OperationID)
			assert.Equal(t, 300.0, *size.Max, "%s: Waldur clamps page_size at 300", op.OperationID)
		}
	}
	assert.Positive(t, lists)
}

func TestFieldParametersNameTheResponseProperties(t *testing.T) {
	ours := loadOurs(t)
	checked := 0
	for _, path := range ours.Paths.Keys() {
		for _, op := range ours.Paths.Value(path).Operations() {
			field, ok := parameters(nil, op)["query:field"]
			if !ok {
				continue
			}
			checked++
			assert.True(t, effectiveExplode(field), "%s: field repeats", op.OperationID)
			enum := flatten(field.Schema.Value.Items.Value).enum

			body := flatten(op.Responses.Value("200").Value.Content.Get("application/json").Schema.Value)
			if body.typ == "array" {
				body = flatten(body.items.Value)
			}
			props := sortedKeys(body.props)
			got := slices.Clone(enum)
			slices.Sort(got)
			assert.Equal(t, props, got, "%s: field enum must list exactly the response's properties", op.OperationID)
		}
	}
	assert.Positive(t, checked)
}

func TestEveryOperationDescribesErrors(t *testing.T) {
	ours := loadOurs(t)
	for _, path := range ours.Paths.Keys() {
		for method, op := range ours.Paths.Value(path).Operations() {
			for _, code := range []string{"401", "429"} {
				assert.NotNil(t, op.Responses.Value(code), "%s %s: no %s response", method, op.OperationID, code)
			}
			if method == "POST" && strings.Contains(path, "{uuid}") {
				assert.NotNil(t, op.Responses.Value("404"), "%s: actions on an object answer 404 for unknown ones", op.OperationID)
			}
			for code, r := range op.Responses.Map() {
				if strings.HasPrefix(code, "2") || method == "HEAD" {
					continue
				}
				mt := r.Value.Content.Get("application/json")
				if assert.NotNil(t, mt, "%s %s: error body", op.OperationID, code) {
					assert.True(t, flatten(mt.Schema.Value).isAny(),
						"%s %s: error bodies take any of Waldur's three shapes", op.OperationID, code)
				}
			}
		}
	}
}

func TestNoClosedObjects(t *testing.T) {
	// Waldur adds fields between releases; decoding must ignore unknown ones.
	walkSchemas(loadOurs(t), func(loc string, s *openapi3.Schema) {
		if has := s.AdditionalProperties.Has; has != nil {
			assert.True(t, *has, "%s: additionalProperties false", loc)
		}
	})
	for name, ref := range loadOurs(t).Components.Schemas {
		if has := ref.Value.AdditionalProperties.Has; has != nil {
			assert.True(t, *has, "%s: additionalProperties false", name)
		}
	}
}
