package mcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/internal/testenv"
	"github.com/gsv-platform/waldur-agent-go/mcp"
)

// TestEndToEndNodeClient drives the streamable HTTP endpoint with the
// reference TypeScript MCP client (@modelcontextprotocol/sdk from npm):
// refused without a key, then tools listed, a read and a write tool called,
// and a tool outside the key's scopes refused. The script is e2e/client.mjs.
func TestEndToEndNodeClient(t *testing.T) {
	modules := testenv.NodeModules(t)
	node, err := exec.LookPath("node")
	if err != nil {
		t.Skipf("skipping: no node binary on PATH (%v)", err)
	}

	// Run a copy of the script next to the installed modules, wherever
	// they are, as ESM resolves imports from the script's directory.
	dir := t.TempDir()
	script, err := os.ReadFile(filepath.Join("e2e", "client.mjs"))
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "client.mjs"), script, 0o600))
	require.NoError(t, os.Symlink(modules, filepath.Join(dir, "node_modules")))

	r := newRemote(t, mcp.Config{})
	key, display := r.issue(t, apikeys.RateLimit{}, "orders:read", "orders:write")
	order := r.pending[0]

	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "client.mjs")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "MCP_URL="+r.url, "MCP_API_KEY="+key, "MCP_ORDER_UUID="+hex(order))
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	require.NoError(t, cmd.Run(), "node client failed:\n%s", stderr.String())

	var got struct {
		Refused  string `json:"refused_without_key"`
		Tools    int    `json:"tools"`
		Read     string `json:"read_state"`
		Approved string `json:"approved_state"`
		Changed  bool   `json:"approved_changed"`
		Denied   string `json:"denied"`
	}
	require.NoError(t, json.Unmarshal(bytes.TrimSpace(stdout.Bytes()), &got), "stdout: %s", stdout.String())
	assert.NotEmpty(t, got.Refused)
	assert.Equal(t, 14, got.Tools)
	assert.Equal(t, "pending-provider", got.Read)
	assert.Equal(t, "executing", got.Approved)
	assert.True(t, got.Changed)
	assert.Contains(t, got.Denied, `"usage:write"`)

	assert.Equal(t, []string{"approve_by_provider"}, r.w.Transitions(order), "the write reached Waldur once")
	var outcomes []string
	for _, l := range r.logs.lines(t, "mcp tool call") {
		assert.Equal(t, display, l["key"])
		outcomes = append(outcomes, l["tool"].(string)+":"+l["outcome"].(string))
	}
	assert.Equal(t, []string{"get_order:ok", "approve_order:ok", "report_usage:denied"}, outcomes)
}
