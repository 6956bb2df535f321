package drift

import (
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const tinySchemaJSON = `{"openapi": "3.0.3", "info": {"title": "t", "version": "8.1.2"},
 "paths": {"/api/users/me/": {"get": {"operationId": "users_me_retrieve",
   "responses": {"200": {"description": "ok"}}}}}}`

func TestLoadFromServerSendsToken(t *testing.T) {
	tests := []struct {
		token, wantAuth string
	}{
		{"", ""},
		{"0123abcd", "Token 0123abcd"},
		{"Token 0123abcd", "Token 0123abcd"},
		{"Bearer w_pat", "Bearer w_pat"},
	}
	for _, tt := range tests {
		t.Run(tt.wantAuth, func(t *testing.T) {
			var gotAuth, gotPath string
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				gotAuth, gotPath = r.Header.Get("Authorization"), r.URL.Path
				w.Header().Set("Content-Type", "application/vnd.oai.openapi+json")
				_, _ = w.Write([]byte(tinySchemaJSON))
			}))
			defer srv.Close()

			doc, err := Load(context.Background(), srv.URL+"/api/schema/", LoadOptions{Token: tt.token})
			require.NoError(t, err)
			assert.Equal(t, "8.1.2", doc.Info.Version)
			assert.Equal(t, "/api/schema/", gotPath)
			assert.Equal(t, tt.wantAuth, gotAuth)
		})
	}
}

func TestLoadReportsServerRefusalWithoutSecrets(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, `{"detail": "Invalid token."}`, http.StatusUnauthorized)
	}))
	defer srv.Close()

	_, err := Load(context.Background(), srv.URL+"/api/schema/", LoadOptions{Token: "sekrit-key"})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
	assert.NotContains(t, err.Error(), "sekrit-key")
}

func TestLoadFileYAMLAndJSON(t *testing.T) {
	dir := t.TempDir()
	jsonPath := filepath.Join(dir, "schema.json")
	require.NoError(t, os.WriteFile(jsonPath, []byte(tinySchemaJSON), 0o600))
	doc, err := Load(context.Background(), jsonPath, LoadOptions{})
	require.NoError(t, err)
	assert.NotNil(t, doc.Paths.Value("/api/users/me/"))

	_, err = Load(context.Background(), filepath.Join(dir, "missing.yaml"), LoadOptions{})
	assert.Error(t, err)

	garbage := filepath.Join(dir, "garbage.yaml")
	require.NoError(t, os.WriteFile(garbage, []byte("openapi: [unclosed"), 0o600))
	_, err = Load(context.Background(), garbage, LoadOptions{})
	assert.Error(t, err)
}

// FuzzCompare feeds arbitrary server schemas through Parse and Compare: a hostile
// or broken /api/schema/ answer must give an error or a report, never a panic.
func FuzzCompare(f *testing.F) {
	f.Add([]byte(tinySchemaJSON))
	f.Add([]byte("openapi: 3.0.3\ninfo: {title: t, version: '8'}\npaths:\n  /api/users/me/:\n    get:\n      operationId: x\n      responses: {'200': {description: ok, content: {application/json: {schema: {oneOf: [{enum: [null]}, {type: string}]}}}}}\n"))
	ours, err := Parse([]byte(`openapi: 3.0.3
info: {title: ours, version: '8.1.2'}
paths:
  /api/users/me/:
    get:
      operationId: users_me_retrieve
      parameters:
        - {name: field, in: query, schema: {type: array, items: {type: string, enum: [uuid]}}}
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  uuid: {type: string, format: uuid}
                  token_lifetime: {type: integer, nullable: true}
`))
	require.NoError(f, err)
	f.Fuzz(func(t *testing.T, data []byte) {
		server, err := Parse(data)
		if err != nil {
			return
		}
		r := Compare(ours, server)
		assert.Equal(t, 1, r.Operations)
	})
}
