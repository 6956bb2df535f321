package main

import (
	"bytes"
	"context"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const server = `openapi: 3.0.3
info: {title: t, version: 8.0.5}
paths:
  /api/users/me/:
    get:
      operationId: users_me_retrieve
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  uuid: {type: string, format: uuid}
                  username: {type: string}
`

const ours = `openapi: 3.0.3
info: {title: ours, version: 8.1.2}
paths:
  /api/users/me/:
    get:
      operationId: users_me_retrieve
      responses:
        '200':
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  uuid: {type: string, format: uuid}
                  username: {type: string}
  /api/marketplace-site-agent-logs/:
    post:
      operationId: marketplace_site_agent_logs_create
      x-waldur-since: '8.1'
      responses:
        '201': {description: created}
`

func write(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

func TestRun(t *testing.T) {
	oursPath := write(t, "ours.yaml", ours)
	tests := []struct {
		name       string
		server     string
		args       []string
		wantCode   int
		wantOut    []string
		notWantOut []string
	}{
		{
			name:     "no drift",
			server:   server,
			wantCode: 0,
			wantOut: []string{
				"note: POST /api/marketplace-site-agent-logs/ (marketplace_site_agent_logs_create): operation missing from server schema; ours marks it since 8.1",
				"driftcheck: 0 errors, 1 notes: 2 operations of ours against Waldur 8.0.5",
			},
		},
		{
			name:       "quiet hides notes",
			server:     server,
			args:       []string{"-q"},
			wantCode:   0,
			notWantOut: []string{"note:"},
		},
		{
			name:     "renamed field fails naming it",
			server:   strings.Replace(server, "username:", "user_name:", 1),
			wantCode: 1,
			wantOut:  []string{"error: GET /api/users/me/ (users_me_retrieve): response 200 body.username: field missing from server schema"},
		},
		{
			name:     "newer server turns since-marks into errors",
			server:   strings.Replace(server, "version: 8.0.5", "version: 8.1.2", 1),
			wantCode: 1,
			wantOut:  []string{"error: POST /api/marketplace-site-agent-logs/ (marketplace_site_agent_logs_create): operation missing from server schema"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			args := append([]string{"-schema", write(t, "server.yaml", tt.server), "-ours", oursPath}, tt.args...)
			code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
			assert.Equal(t, tt.wantCode, code, "stderr: %s", stderr.String())
			for _, w := range tt.wantOut {
				assert.Contains(t, stdout.String(), w)
			}
			for _, w := range tt.notWantOut {
				assert.NotContains(t, stdout.String(), w)
			}
		})
	}
}

func TestRunUsesTokenFromEnvironment(t *testing.T) {
	var gotAuth string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotAuth = r.Header.Get("Authorization")
		_, _ = w.Write([]byte(server))
	}))
	defer srv.Close()

	env := map[string]string{"WALDUR_API_TOKEN": "abc123"}
	var stdout, stderr bytes.Buffer
	code := run(context.Background(), []string{"-schema", srv.URL + "/api/schema/", "-ours", write(t, "ours.yaml", ours)},
		func(k string) string { return env[k] }, &stdout, &stderr)
	assert.Equal(t, 0, code, stderr.String())
	assert.Equal(t, "Token abc123", gotAuth)
	assert.NotContains(t, stdout.String()+stderr.String(), "abc123", "the token is never printed")
}

func TestRunUsageErrors(t *testing.T) {
	tests := map[string][]string{
		"no schema":       {},
		"stray argument":  {"-schema", "x.yaml", "extra"},
		"unknown flag":    {"-bogus"},
		"unreadable file": {"-schema", filepath.Join(t.TempDir(), "missing.yaml")},
	}
	for name, args := range tests {
		t.Run(name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			code := run(context.Background(), args, func(string) string { return "" }, &stdout, &stderr)
			assert.Equal(t, 2, code)
			assert.NotEmpty(t, stderr.String())
		})
	}
}
