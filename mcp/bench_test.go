package mcp_test

import (
	"context"
	"testing"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/mcp"
)

// The benchmarks measure tool calls per second through the whole stack:
// HTTP, key verification (apikeys, warm cache), the go-sdk's streamable
// transport and session, the scope check and audit line, the tool, and a
// round trip to the fake Waldur over loopback. The status resource involves
// no Waldur call, so it shows the MCP-over-HTTP overhead alone; the in-memory
// variant shows the same tool without HTTP and auth.

func reportRate(b *testing.B) {
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "calls/s")
}

func benchRemote(b *testing.B, cfg mcp.Config) (*remote, *mcp.Client) {
	r := newRemote(b, cfg)
	key, _ := r.issue(b, apikeys.NoRateLimit(), "*")
	return r, r.dial(b, key)
}

func BenchmarkToolCallHTTP(b *testing.B) {
	for _, mode := range []struct {
		name      string
		stateless bool
	}{{"stateful", false}, {"stateless", true}} {
		b.Run(mode.name+"/get_order", func(b *testing.B) {
			r, c := benchRemote(b, mcp.Config{Stateless: mode.stateless})
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if _, err := c.GetOrder(ctx, r.pending[0]); err != nil {
					b.Fatal(err)
				}
			}
			reportRate(b)
		})
		b.Run(mode.name+"/get_order/parallel", func(b *testing.B) {
			r, c := benchRemote(b, mcp.Config{Stateless: mode.stateless})
			ctx := context.Background()
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					if _, err := c.GetOrder(ctx, r.pending[0]); err != nil {
						b.Error(err)
						return
					}
				}
			})
			reportRate(b)
		})
	}
	b.Run("stateful/status_resource", func(b *testing.B) {
		_, c := benchRemote(b, mcp.Config{})
		ctx := context.Background()
		b.ReportAllocs()
		for b.Loop() {
			if _, err := c.MCPSession().ReadResource(ctx, &sdk.ReadResourceParams{URI: mcp.StatusURI}); err != nil {
				b.Fatal(err)
			}
		}
		reportRate(b)
	})
}

func BenchmarkToolCallInMemory(b *testing.B) {
	wd := newWorld(b)
	cs := connect(b, wd.newServer(b, mcp.Config{}, nil))
	ctx := context.Background()
	args := map[string]any{"uuid": hex(wd.pending[0])}
	b.ReportAllocs()
	for b.Loop() {
		res, err := cs.CallTool(ctx, &sdk.CallToolParams{Name: "get_order", Arguments: args})
		require.NoError(b, err)
		if res.IsError {
			b.Fatal(text(res))
		}
	}
	reportRate(b)
}
