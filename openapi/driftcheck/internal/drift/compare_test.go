package drift

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// doc builds a small OpenAPI document: one POST operation whose request and 200
// response use schema Thing, with the given query parameters and schemas.
func doc(t *testing.T, version, opExtra, params, schemas string) []byte {
	t.Helper()
	return []byte(fmt.Sprintf(`openapi: 3.0.3
info: {title: t, version: %q}
paths:
  /api/things/{uuid}/do/:
    post:
      operationId: things_do
%s
      parameters:
        - {name: uuid, in: path, required: true, schema: {type: string, format: uuid}}
%s
      requestBody:
        content:
          application/json:
            schema: {$ref: '#/components/schemas/ThingRequest'}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema: {$ref: '#/components/schemas/Thing'}
        '400':
          description: ours only
components:
  schemas:
%s
`, version, opExtra, params, schemas))
}

const baseSchemas = `    ThingRequest:
      type: object
      required: [name]
      properties:
        name: {type: string}
        size: {type: integer}
    Thing:
      type: object
      properties:
        uuid: {type: string, format: uuid}
        state: {$ref: '#/components/schemas/ThingState'}
        period: {type: string, nullable: true}
        amount: {type: number, format: double}
    ThingState:
      type: string
      enum: [OK, Erred]`

const baseParams = `        - {name: state, in: query, explode: true, style: form, schema: {type: array, items: {$ref: '#/components/schemas/ThingState'}}}
        - {name: page, in: query, schema: {type: integer}}`

func compareDocs(t *testing.T, ours, server []byte) Report {
	t.Helper()
	o, err := Parse(ours)
	require.NoError(t, err)
	s, err := Parse(server)
	require.NoError(t, err)
	return Compare(o, s)
}

func TestCompare(t *testing.T) {
	type want struct {
		severity Severity
		contains string
	}
	tests := []struct {
		name          string
		oursOp        string
		oursParams    string
		oursSchemas   string
		serverVersion string
		serverOp      string
		serverParams  string
		serverSchemas string
		want          []want
	}{
		{name: "identical"},
		{
			name:          "field renamed on the server",
			serverSchemas: strings.Replace(baseSchemas, "        amount:", "        amount_total:", 1),
			want:          []want{{SeverityError, "response 200 body.amount: field missing from server schema"}},
		},
		{
			name:          "request field the server requires is missing from ours",
			serverSchemas: strings.Replace(baseSchemas, "required: [name]", "required: [name, colour]", 1) + "\n",
			want:          []want{{SeverityError, "request body.colour: server requires this field"}},
		},
		{
			name:        "enum value unknown to the server",
			oursSchemas: strings.Replace(baseSchemas, "enum: [OK, Erred]", "enum: [OK, Erred, Paused]", 1),
			want: []want{
				{SeverityError, `query parameter "state"[]: enum value "Paused" unknown to server`},
				{SeverityError, `response 200 body.state: enum value "Paused" unknown to server`},
			},
		},
		{
			name: "enum value newer than the server is a note",
			oursSchemas: strings.Replace(baseSchemas, "enum: [OK, Erred]",
				"enum: [OK, Erred, Paused]\n      x-waldur-enum-since: {Paused: '8.1'}", 1),
			serverVersion: "8.0.5",
			want: []want{
				{SeverityNote, `enum value "Paused" not in server; ours marks it since 8.1, server is 8.0.5`},
				{SeverityNote, `response 200 body.state: enum value "Paused" not in server`},
			},
		},
		{
			name: "enum value marked since a version the server has is an error",
			oursSchemas: strings.Replace(baseSchemas, "enum: [OK, Erred]",
				"enum: [OK, Erred, Paused]\n      x-waldur-enum-since: {Paused: '8.1'}", 1),
			serverVersion: "8.1.2",
			want: []want{
				{SeverityError, `query parameter "state"[]: enum value "Paused" unknown to server`},
				{SeverityError, `response 200 body.state: enum value "Paused" unknown to server`},
			},
		},
		{
			name:         "explode differs",
			serverParams: strings.Replace(baseParams, "explode: true", "explode: false", 1),
			want:         []want{{SeverityError, `query parameter "state": explode true, server expects false`}},
		},
		{
			name:         "parameter missing from the server",
			serverParams: `        - {name: state, in: query, explode: true, style: form, schema: {type: array, items: {$ref: '#/components/schemas/ThingState'}}}`,
			want:         []want{{SeverityError, `query parameter "page": parameter missing from server schema`}},
		},
		{
			name:          "parameter newer than the server is a note",
			oursParams:    baseParams + "\n        - {name: modified_before, in: query, x-waldur-since: '8.1', schema: {type: string, format: date-time}}",
			want:          []want{{SeverityNote, `query parameter "modified_before": parameter missing from server schema; ours marks it since 8.1`}},
			serverVersion: "8.0.5",
		},
		{
			name:         "server requires a parameter ours lacks",
			serverParams: baseParams + "\n        - {name: tenant, in: query, required: true, schema: {type: string}}",
			want:         []want{{SeverityError, `query parameter "tenant": server requires this parameter`}},
		},
		{
			name:          "response type differs",
			serverSchemas: strings.Replace(baseSchemas, "uuid: {type: string, format: uuid}", "uuid: {type: integer}", 1),
			want:          []want{{SeverityError, "response 200 body.uuid: type string (uuid), server has integer"}},
		},
		{
			name:          "ours assumes a format the server does not promise",
			serverSchemas: strings.Replace(baseSchemas, "uuid: {type: string, format: uuid}", "uuid: {type: string}", 1),
			want:          []want{{SeverityError, `response 200 body.uuid: format "uuid", server has ""`}},
		},
		{
			name: "a deliberate difference is a note",
			oursSchemas: strings.Replace(baseSchemas, "uuid: {type: string, format: uuid}",
				"uuid: {type: string, format: uuid, x-waldur-drift-ignore: hex UUID in practice}", 1),
			serverSchemas: strings.Replace(baseSchemas, "uuid: {type: string, format: uuid}", "uuid: {type: string}", 1),
			want:          []want{{SeverityNote, "response 200 body.uuid: not compared; ignored: hex UUID in practice"}},
		},
		{
			name:          "server may send null",
			serverSchemas: strings.Replace(baseSchemas, "amount: {type: number, format: double}", "amount: {type: number, nullable: true}", 1),
			want:          []want{{SeverityError, "response 200 body.amount: server may send null; ours is not nullable"}},
		},
		{
			name: "null via drf-spectacular's oneOf NullEnum",
			serverSchemas: strings.Replace(baseSchemas, "state: {$ref: '#/components/schemas/ThingState'}",
				"state: {oneOf: [{$ref: '#/components/schemas/ThingState'}, {$ref: '#/components/schemas/NullEnum'}]}", 1) +
				"\n    NullEnum:\n      enum: [null]",
			want: []want{{SeverityError, "response 200 body.state: server may send null"}},
		},
		{
			name:          "decoding a number where the server declares integer is fine",
			serverSchemas: strings.Replace(baseSchemas, "amount: {type: number, format: double}", "amount: {type: integer}", 1),
		},
		{
			name:          "sending an integer where the server takes any number is fine",
			serverSchemas: strings.Replace(baseSchemas, "size: {type: integer}", "size: {type: number}", 1),
		},
		{
			name:        "sending a number where the server takes integers is not",
			oursSchemas: strings.Replace(baseSchemas, "size: {type: integer}", "size: {type: number}", 1),
			want:        []want{{SeverityError, "request body.size: type number, server has integer"}},
		},
		{
			name:        "decoding an integer where the server declares number is not",
			oursSchemas: strings.Replace(baseSchemas, "amount: {type: number, format: double}", "amount: {type: integer}", 1),
			want:        []want{{SeverityError, "response 200 body.amount: type integer, server has number"}},
		},
		{
			name:          "operation newer than the server is a note",
			oursOp:        "      x-waldur-since: '8.1'",
			serverVersion: "8.0.5",
			serverOp:      "REMOVE",
			want:          []want{{SeverityNote, "operation missing from server schema; ours marks it since 8.1, server is 8.0.5"}},
		},
		{
			name:     "operation missing from the server",
			serverOp: "REMOVE",
			want:     []want{{SeverityError, "POST /api/things/{uuid}/do/ (things_do): operation missing from server schema"}},
		},
		{
			name:     "operation moved on the server",
			serverOp: "MOVE",
			want:     []want{{SeverityError, "operation missing at this method and path; server has things_do at POST /api/other/{uuid}/do/"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			or := func(a, b string) string {
				if a != "" {
					return a
				}
				return b
			}
			ours := doc(t, "8.1.2", tt.oursOp, or(tt.oursParams, baseParams), or(tt.oursSchemas, baseSchemas))
			server := doc(t, or(tt.serverVersion, "8.0.5"), "", or(tt.serverParams, baseParams), or(tt.serverSchemas, baseSchemas))
			if tt.serverOp == "MOVE" {
				server = []byte(strings.Replace(string(server), "/api/things/{uuid}/do/:", "/api/other/{uuid}/do/:", 1))
			}
			if tt.serverOp == "REMOVE" {
				server = []byte(strings.Replace(string(server), "/api/things/{uuid}/do/:", "/api/other/{uuid}/do/:", 1))
				server = []byte(strings.Replace(string(server), "operationId: things_do", "operationId: other_do", 1))
			}
			report := compareDocs(t, ours, server)
			require.Len(t, report.Findings, len(tt.want), "findings: %v", report.Findings)
			for i, w := range tt.want {
				assert.Equal(t, w.severity, report.Findings[i].Severity, "finding %d: %s", i, report.Findings[i])
				assert.Contains(t, report.Findings[i].String(), w.contains)
			}
			assert.Equal(t, 1, report.Operations)
		})
	}
}

func TestCompareOperationIDAndPathParameterNames(t *testing.T) {
	ours := doc(t, "8.1.2", "", baseParams, baseSchemas)
	server := strings.Replace(string(doc(t, "8.0.5", "", baseParams, baseSchemas)), "operationId: things_do", "operationId: things_perform", 1)
	server = strings.Replace(server, "/api/things/{uuid}/do/:", "/api/things/{id}/do/:", 1)
	server = strings.Replace(server, "{name: uuid, in: path", "{name: id, in: path", 1)

	report := compareDocs(t, ours, []byte(server))
	var got []string
	for _, f := range report.Findings {
		got = append(got, f.String())
	}
	assert.Contains(t, got, `error: POST /api/things/{uuid}/do/ (things_do): operationId differs: server has "things_perform"`,
		"the path matches despite another parameter name; the operationId does not")
	assert.Contains(t, got, `error: POST /api/things/{uuid}/do/ (things_do): path parameter "uuid": parameter missing from server schema`)
	assert.Contains(t, got, `error: POST /api/things/{uuid}/do/ (things_do): path parameter "id": server requires this parameter; ours lacks it`)
}

func TestFlattenFoldsSpectacularWrappers(t *testing.T) {
	server := `openapi: 3.0.3
info: {title: t, version: '1'}
paths: {}
components:
  schemas:
    Wrapped:
      type: object
      properties:
        period: {nullable: true, oneOf: [{$ref: '#/components/schemas/PeriodEnum'}, {$ref: '#/components/schemas/BlankEnum'}, {$ref: '#/components/schemas/NullEnum'}]}
        state: {allOf: [{$ref: '#/components/schemas/PeriodEnum'}], readOnly: true}
        ip: {oneOf: [{type: string, format: ipv4}, {type: string, format: ipv6}]}
        mixed: {oneOf: [{type: string}, {type: integer}]}
    PeriodEnum: {type: string, enum: [month, total]}
    BlankEnum: {enum: ['']}
    NullEnum: {enum: [null]}
`
	d, err := Parse([]byte(server))
	require.NoError(t, err)
	props := d.Components.Schemas["Wrapped"].Value.Properties

	period := flatten(props["period"].Value)
	assert.Equal(t, "string", period.typ)
	assert.True(t, period.nullable)
	assert.ElementsMatch(t, []string{"month", "total", ""}, period.enum)

	state := flatten(props["state"].Value)
	assert.Equal(t, "string", state.typ)
	assert.False(t, state.nullable)
	assert.Equal(t, []string{"month", "total"}, state.enum)

	ip := flatten(props["ip"].Value)
	assert.Equal(t, "string", ip.typ)
	assert.Empty(t, ip.format, "formats that disagree fold to none")

	assert.True(t, flatten(props["mixed"].Value).isAny(), "alternatives of different types accept anything")
}

func TestNewerThan(t *testing.T) {
	tests := []struct {
		since, server string
		want          bool
	}{
		{"8.1", "8.0.5", true},
		{"8.1", "8.1.2", false},
		{"8.1", "8.1", false},
		{"8.1.3", "8.1.2", true},
		{"9", "8.99.99", true},
		{"8.1", "8.1.0-dev", false},
		{"8.1", "v8.0.9", true},
		{"", "8.0.5", false},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, newerThan(tt.since, tt.server), "newerThan(%q, %q)", tt.since, tt.server)
	}
}
