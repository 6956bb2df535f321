package main

import (
	"context"
	"encoding/json"
	"log/slog"
	"os"
	"os/exec"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

// childEnv makes the test binary act as the program, so the test can launch
// it the way a desktop client does.
const childEnv = "MCP_STDIO_EXAMPLE_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) == "1" {
		main()
		os.Exit(0)
	}
	goleak.VerifyTestMain(m)
}

// TestLaunchedOverStdio launches the program as a subprocess over stdio with
// no Waldur configured, lists its tools and works the embedded fake's orders.
func TestLaunchedOverStdio(t *testing.T) {
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(), childEnv+"=1", "WALDUR_API_URL=")
	ctx := context.Background()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "desktop"}, nil).Connect(ctx, &sdk.CommandTransport{Command: cmd}, nil)
	require.NoError(t, err)
	defer func() { assert.NoError(t, cs.Close()) }()

	var tools []string
	for tool, err := range cs.Tools(ctx, nil) {
		require.NoError(t, err)
		tools = append(tools, tool.Name)
	}
	assert.Contains(t, tools, "approve_order")
	assert.Len(t, tools, 14)

	res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "list_pending_orders", Arguments: map[string]any{}})
	require.NoError(t, err)
	require.False(t, res.IsError)
	var page struct {
		Orders []struct {
			UUID, Type string
			Limits     map[string]int64
		}
	}
	data, _ := json.Marshal(res.StructuredContent)
	require.NoError(t, json.Unmarshal(data, &page))
	require.Len(t, page.Orders, 4)

	for _, o := range page.Orders {
		if o.Limits["gpu_hours"] == 1_000_000 {
			res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "reject_order", Arguments: map[string]any{"uuid": o.UUID, "reason": "exceeds the cluster"}})
			require.NoError(t, err)
			assert.False(t, res.IsError)
		}
	}
	res, err = cs.CallTool(ctx, &sdk.CallToolParams{Name: "list_pending_orders", Arguments: map[string]any{}})
	require.NoError(t, err)
	data, _ = json.Marshal(res.StructuredContent)
	require.NoError(t, json.Unmarshal(data, &page))
	assert.Len(t, page.Orders, 3)
}

func TestConfigureRealWaldur(t *testing.T) {
	env := map[string]string{"WALDUR_API_URL": "https://waldur.example.com", "WALDUR_OFFERING_UUID": "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b"}
	getenv := func(k string) string { return env[k] }
	log := slog.New(slog.DiscardHandler)

	_, _, err := configure(log, getenv)
	assert.ErrorContains(t, err, "WALDUR_API_TOKEN", "a URL needs a token")

	env["WALDUR_API_TOKEN"] = "w_personal"
	cfg, done, err := configure(log, getenv)
	require.NoError(t, err)
	done()
	assert.Equal(t, "https://waldur.example.com/", cfg.Client.BaseURL())
	require.Len(t, cfg.Offerings, 1)

	env["WALDUR_OFFERING_UUID"] = "nope"
	_, _, err = configure(log, getenv)
	assert.ErrorContains(t, err, "WALDUR_OFFERING_UUID")
}
