package mcp_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/mcp"
)

// remote is an MCP server behind httptest with API keys.
type remote struct {
	*world
	srv  *mcp.Server
	keys *apikeys.Manager
	url  string
	logs *logBuffer
}

func newRemote(t testing.TB, cfg mcp.Config) *remote {
	t.Helper()
	return serveRemote(t, newWorld(t), cfg)
}

// serveRemote serves wd's fake Waldur like newRemote.
func serveRemote(t testing.TB, wd *world, cfg mcp.Config) *remote {
	t.Helper()
	keys, err := apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore()})
	require.NoError(t, err)
	if cfg.Keys == nil {
		cfg.Keys = keys
	}
	logs := &logBuffer{}
	srv := wd.newServer(t, cfg, logs)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) }) // runs first: ends sessions, then the listener
	return &remote{world: wd, srv: srv, keys: keys, url: hs.URL, logs: logs}
}

// issue returns a new key with the given scopes and its display form.
func (r *remote) issue(t testing.TB, limit apikeys.RateLimit, scopes ...string) (key, display string) {
	t.Helper()
	iss, err := r.keys.Issue(context.Background(), apikeys.IssueOptions{Name: "test", Scopes: scopes, TTL: time.Hour, RateLimit: limit})
	require.NoError(t, err)
	return iss.Key.Format(), iss.Key.Display()
}

func (r *remote) dial(t testing.TB, key string) *mcp.Client {
	t.Helper()
	c, err := mcp.Dial(context.Background(), r.url, key)
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
	return c
}

// post sends one raw JSON-RPC message with the given Authorization header
// (none when empty) and optional session.
func (r *remote) post(t testing.TB, authorization, session, body string) *http.Response {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, r.url, strings.NewReader(body))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	if authorization != "" {
		req.Header.Set("Authorization", authorization)
	}
	if session != "" {
		req.Header.Set("Mcp-Session-Id", session)
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	return resp
}

const initialize = `{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"raw","version":"0"}}}`

func TestHTTPReadAndWriteWithScopes(t *testing.T) {
	r := newRemote(t, mcp.Config{})
	key, display := r.issue(t, apikeys.RateLimit{}, "orders:*", "agent:read")
	c := r.dial(t, key)
	ctx := context.Background()

	tools, err := c.Tools(ctx)
	require.NoError(t, err)
	assert.Len(t, tools, 14, "every tool is listed; scopes are checked per call")

	o, err := c.GetOrder(ctx, r.pending[0])
	require.NoError(t, err)
	assert.Equal(t, "pending-provider", o.State)
	a, err := c.ApproveOrder(ctx, r.pending[0])
	require.NoError(t, err)
	assert.True(t, a.Changed)
	assert.Equal(t, []string{"approve_by_provider"}, r.w.Transitions(r.pending[0]))
	rej, err := c.RejectOrder(ctx, r.pending[1], "not this month")
	require.NoError(t, err)
	assert.Equal(t, "rejected", rej.State)
	page, err := c.ListPendingOrders(ctx, mcp.ListPendingOrdersInput{})
	require.NoError(t, err)
	assert.Len(t, page.Orders, 1)
	h, err := c.Health(ctx)
	require.NoError(t, err)
	assert.True(t, h.Waldur.OK)

	lines := r.logs.lines(t, "mcp tool call")
	require.Len(t, lines, 5, "one audit line per tool call")
	for _, l := range lines {
		assert.Equal(t, display, l["key"])
		assert.Equal(t, "ok", l["outcome"])
	}
	assert.NotContains(t, r.logs.String(), key, "the secret is never logged")
}

func TestHTTPScopeDenied(t *testing.T) {
	r := newRemote(t, mcp.Config{})
	key, display := r.issue(t, apikeys.RateLimit{}, "orders:read")
	c := r.dial(t, key)
	ctx := context.Background()

	_, err := c.GetOrder(ctx, r.pending[0])
	require.NoError(t, err, "orders:read suffices to read")

	tests := []struct {
		name  string
		call  func() error
		scope string
	}{
		{"approve_order", func() error { _, err := c.ApproveOrder(ctx, r.pending[0]); return err }, "orders:write"},
		{"reject_order", func() error { _, err := c.RejectOrder(ctx, r.pending[0], "no"); return err }, "orders:write"},
		{"report_usage", func() error {
			_, err := c.ReportUsage(ctx, mcp.ReportUsageInput{ResourceUUID: hex(r.resource), Usages: []mcp.UsageAmountInput{{Type: "cpu", Amount: 1}}})
			return err
		}, "usage:write"},
		{"get_resource", func() error { _, err := c.GetResource(ctx, r.resource); return err }, "resources:read"},
		{"agent_health", func() error { _, err := c.Health(ctx); return err }, "agent:read"},
		{"rotate_resource_api_key", func() error {
			return c.CallTool(ctx, "rotate_resource_api_key", mcp.UUIDInput{UUID: hex(r.key)}, nil)
		}, "keys:write"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.call()
			var te *mcp.ToolError
			require.ErrorAs(t, err, &te, "a denial is a tool error, not a transport failure")
			assert.Equal(t, tt.name, te.Tool)
			assert.Contains(t, te.Message, `lacks the scope "`+tt.scope+`"`)
		})
	}
	assert.Empty(t, r.w.Transitions(r.pending[0]), "nothing was changed")
	assert.Zero(t, r.w.CallCount("marketplace_resource_api_keys_rotate"))

	var denied []map[string]any
	for _, l := range r.logs.lines(t, "mcp tool call") {
		if l["outcome"] == "denied" {
			denied = append(denied, l)
			assert.Equal(t, "WARN", l["level"])
			assert.Equal(t, display, l["key"])
		}
	}
	assert.Len(t, denied, len(tests))

	t.Run("resources", func(t *testing.T) {
		s := c.MCPSession()
		_, err := s.ReadResource(ctx, &sdk.ReadResourceParams{URI: "waldur://orders/" + hex(r.pending[0])})
		assert.NoError(t, err)
		_, err = s.ReadResource(ctx, &sdk.ReadResourceParams{URI: mcp.StatusURI})
		require.Error(t, err)
		assert.Contains(t, err.Error(), "agent:read")
		_, err = s.ReadResource(ctx, &sdk.ReadResourceParams{URI: "waldur://resources/" + hex(r.resource)})
		assert.ErrorContains(t, err, "resources:read")
	})
}

func TestHTTPRefusesWithoutValidKey(t *testing.T) {
	r := newRemote(t, mcp.Config{})
	ctx := context.Background()

	resp := r.post(t, "", "", initialize)
	assert.Equal(t, http.StatusUnauthorized, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("WWW-Authenticate"))

	key, display := r.issue(t, apikeys.RateLimit{})
	require.NoError(t, r.keys.Revoke(ctx, strings.TrimPrefix(display, "wak_")))
	for name, k := range map[string]string{
		"malformed": "not-a-key",
		"revoked":   key,
	} {
		t.Run(name, func(t *testing.T) {
			_, err := mcp.Dial(ctx, r.url, k)
			assert.ErrorIs(t, err, mcp.ErrUnauthorized)
		})
	}
	assert.Empty(t, r.logs.lines(t, "mcp tool call"), "nothing reached a tool")
}

func TestHTTPTokenScheme(t *testing.T) {
	r := newRemote(t, mcp.Config{})
	key, _ := r.issue(t, apikeys.RateLimit{})
	for _, scheme := range []string{"Token", "Bearer", "bearer"} {
		resp := r.post(t, scheme+" "+key, "", initialize)
		assert.Equal(t, http.StatusOK, resp.StatusCode, scheme)
		assert.NotEmpty(t, resp.Header.Get("Mcp-Session-Id"), scheme)
	}
}

func TestHTTPRateLimitPerKey(t *testing.T) {
	r := newRemote(t, mcp.Config{})
	limited, _ := r.issue(t, apikeys.RateLimit{PerSecond: 1e-6, Burst: 2})
	other, _ := r.issue(t, apikeys.RateLimit{})
	for range 2 {
		assert.Equal(t, http.StatusOK, r.post(t, "Bearer "+limited, "", initialize).StatusCode)
	}
	resp := r.post(t, "Bearer "+limited, "", initialize)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.NotEmpty(t, resp.Header.Get("Retry-After"))
	assert.Equal(t, http.StatusOK, r.post(t, "Bearer "+other, "", initialize).StatusCode, "limits are per key")
}

func TestHTTPSessionBoundToKey(t *testing.T) {
	r := newRemote(t, mcp.Config{})
	a, _ := r.issue(t, apikeys.RateLimit{}, "*")
	b, _ := r.issue(t, apikeys.RateLimit{}, "*")
	c := r.dial(t, a)
	session := c.MCPSession().ID()
	require.NotEmpty(t, session)

	list := `{"jsonrpc":"2.0","id":2,"method":"tools/list","params":{}}`
	assert.Equal(t, http.StatusOK, r.post(t, "Bearer "+a, session, list).StatusCode)
	assert.Equal(t, http.StatusForbidden, r.post(t, "Bearer "+b, session, list).StatusCode,
		"another key cannot use the session")
}

func TestHTTPWithoutVerifier(t *testing.T) {
	wd := newWorld(t)
	srv := wd.newServer(t, mcp.Config{}, nil)
	rec := httptest.NewRecorder()
	srv.Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/", strings.NewReader(initialize)))
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code, "fails closed")
}

func TestHTTPStateless(t *testing.T) {
	r := newRemote(t, mcp.Config{Stateless: true})
	key, _ := r.issue(t, apikeys.RateLimit{}, "orders:read")
	c := r.dial(t, key)
	o, err := c.GetOrder(context.Background(), r.pending[0])
	require.NoError(t, err)
	assert.Equal(t, hex(r.pending[0]), o.UUID)
	_, err = c.ApproveOrder(context.Background(), r.pending[0])
	var te *mcp.ToolError
	assert.ErrorAs(t, err, &te)
}

// TestHTTPKeyStoreDown checks that a failing verifier answers 503 and logs
// nothing secret.
func TestHTTPKeyStoreDown(t *testing.T) {
	r := newRemote(t, mcp.Config{Keys: failingVerifier{}})
	resp := r.post(t, "Bearer wak_000000000000_0000000000000000000000000000", "", initialize)
	assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
}

type failingVerifier struct{}

func (failingVerifier) Verify(context.Context, string, ...string) (apikeys.Result, error) {
	return apikeys.Result{}, errors.New("store unreachable")
}

// TestClientConfig checks NewClient's argument checks.
func TestClientConfig(t *testing.T) {
	_, err := mcp.NewClient(context.Background(), mcp.ClientConfig{URL: "http://127.0.0.1:1"})
	assert.Error(t, err)
	_, err = mcp.Dial(context.Background(), "http://127.0.0.1:1/mcp", "wak_x")
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "wak_x", "the key is not in errors")
}

// TestHTTPUnknownTool checks that a key cannot reach a tool that has no
// scope, and that the attempt is audited.
func TestHTTPUnknownTool(t *testing.T) {
	r := newRemote(t, mcp.Config{})
	key, display := r.issue(t, apikeys.RateLimit{}, "*")
	c := r.dial(t, key)
	err := c.CallTool(context.Background(), "no_such_tool", nil, nil)
	var te *mcp.ToolError
	require.ErrorAs(t, err, &te)
	assert.Contains(t, te.Message, "not available to API keys")
	lines := r.logs.lines(t, "mcp tool call")
	require.Len(t, lines, 1)
	assert.Equal(t, display, lines[0]["key"])
	assert.Equal(t, "denied", lines[0]["outcome"])
}

// TestHTTPProxiedHost checks the DNS rebinding guard on a loopback listener
// and the switch for a reverse proxy on the same machine.
func TestHTTPProxiedHost(t *testing.T) {
	for _, tt := range []struct {
		disable bool
		want    int
	}{{false, http.StatusForbidden}, {true, http.StatusOK}} {
		r := newRemote(t, mcp.Config{DisableLocalhostProtection: tt.disable})
		key, _ := r.issue(t, apikeys.RateLimit{})
		req, err := http.NewRequest(http.MethodPost, r.url, strings.NewReader(initialize))
		require.NoError(t, err)
		req.Host = "agent.example.com"
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Authorization", "Bearer "+key)
		resp, err := http.DefaultClient.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
		assert.Equal(t, tt.want, resp.StatusCode, "disabled=%v", tt.disable)
	}
}
