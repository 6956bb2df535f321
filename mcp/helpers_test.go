package mcp_test

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/mcp"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// world is a fake Waldur seeded with one served offering and one the server
// must not reveal.
type world struct {
	w *waldurtest.Server

	offering, other uuid.UUID
	// Orders of the served offering: three pending (Create, Update,
	// Terminate, in that order), one executing; one pending of the other.
	pending      []uuid.UUID
	executing    uuid.UUID
	otherPending uuid.UUID
	// Resources: one OK with a team, users and keys; one of the other offering.
	resource, otherResource uuid.UUID
	member                  uuid.UUID
	key, otherKey           uuid.UUID
	keySecret               string
	user                    uuid.UUID
}

// now is the fake clock of worlds, mid-month so that billing periods are
// unambiguous.
var now = time.Date(2026, 3, 14, 10, 0, 0, 0, time.UTC)

func newWorld(t testing.TB) *world {
	t.Helper()
	w := waldurtest.NewServer(t, waldurtest.WithClock(func() time.Time { return now }))
	wd := &world{w: w}
	wd.offering = w.AddOffering(waldurtest.OfferingSpec{
		Name: "HPC cluster",
		Components: []waldurtest.ComponentSpec{
			{Type: "cpu", BillingType: "usage", MeasuredUnit: "core-hours"},
			{Type: "storage", BillingType: "limit", MeasuredUnit: "GB"},
		},
	})
	wd.other = w.AddOffering(waldurtest.OfferingSpec{Name: "Someone else's", Components: []waldurtest.ComponentSpec{{Type: "cpu"}}})

	project := w.AddProject(waldurtest.ProjectSpec{Name: "Genomics"})
	wd.resource = w.AddResource(waldurtest.ResourceSpec{
		Offering: wd.offering, Project: project, Name: "alloc-1", BackendID: "slurm_alloc_1",
		Limits: map[string]int64{"cpu": 1000, "storage": 50},
	})
	wd.otherResource = w.AddResource(waldurtest.ResourceSpec{Offering: wd.other, Name: "theirs"})

	for i, typ := range []string{"Create", "Update", "Terminate"} {
		spec := waldurtest.OrderSpec{Offering: wd.offering, Project: project, Type: typ, Created: now.Add(time.Duration(i) * time.Minute)}
		if typ != "Create" {
			spec.Resource = wd.resource
		} else {
			spec.Limits = map[string]int64{"cpu": 500}
			spec.Attributes = map[string]any{"name": "new-alloc"}
		}
		wd.pending = append(wd.pending, w.AddOrder(spec))
	}
	wd.executing = w.AddOrder(waldurtest.OrderSpec{Offering: wd.offering, Project: project, State: "executing"})
	wd.otherPending = w.AddOrder(waldurtest.OrderSpec{Offering: wd.other})

	wd.user = w.AddUser(waldurtest.UserSpec{Username: "alice", FullName: "Alice Example"})
	w.AddProjectMember(project, wd.user, "")
	w.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: wd.offering, User: wd.user, Username: "alice_01"})
	w.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: wd.other})

	wd.keySecret = "sk-live-very-secret-value"
	wd.key = w.AddAPIKey(waldurtest.APIKeySpec{Resource: wd.resource, ClientID: "slurm_alloc_1-1", Key: wd.keySecret})
	wd.otherKey = w.AddAPIKey(waldurtest.APIKeySpec{Resource: wd.otherResource})
	w.AddComponentUsage(waldurtest.UsageSpec{Resource: wd.resource, Type: "cpu", Amount: "12.50", Date: now})
	return wd
}

// logBuffer collects JSON log lines safely across goroutines.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// lines returns the log records whose message is msg.
func (b *logBuffer) lines(t testing.TB, msg string) []map[string]any {
	t.Helper()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.String()), "\n") {
		if line == "" {
			continue
		}
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec))
		if rec["msg"] == msg {
			out = append(out, rec)
		}
	}
	return out
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newServer builds a server over the world's fake Waldur, serving the world's
// offering; cfg's Client, Offerings, Logger and Now are filled in when zero.
func (wd *world) newServer(t testing.TB, cfg mcp.Config, logs *logBuffer) *mcp.Server {
	t.Helper()
	if cfg.Client == nil && cfg.Agent == nil {
		cfg.Client = wd.w.Client()
	}
	if cfg.Offerings == nil && cfg.Agent == nil {
		cfg.Offerings = []waldur.UUID{wd.offering}
	}
	if cfg.Logger == nil && logs != nil {
		cfg.Logger = logs.logger()
	}
	if cfg.Now == nil {
		cfg.Now = func() time.Time { return now }
	}
	srv, err := mcp.NewServer(cfg)
	require.NoError(t, err)
	return srv
}

// connect serves srv to an in-process client over in-memory transports, the
// trusted path, and ends both when the test ends.
func connect(t testing.TB, srv *mcp.Server) *sdk.ClientSession {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	ct, st := sdk.NewInMemoryTransports()
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx, st) }()
	cs, err := sdk.NewClient(&sdk.Implementation{Name: "test"}, nil).Connect(ctx, ct, nil)
	require.NoError(t, err)
	t.Cleanup(func() {
		_ = cs.Close()
		cancel()
		require.NoError(t, <-done)
	})
	return cs
}

// call calls a tool and returns its result, failing on protocol errors.
func call(t testing.TB, cs *sdk.ClientSession, name string, args any) *sdk.CallToolResult {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	res, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: name, Arguments: args})
	require.NoError(t, err)
	return res
}

// callOK calls a tool that must succeed and decodes its structured output.
func callOK[T any](t testing.TB, cs *sdk.ClientSession, name string, args any) T {
	t.Helper()
	res := call(t, cs, name, args)
	require.False(t, res.IsError, "tool error: %s", text(res))
	var out T
	data, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(data, &out))
	return out
}

// callErr calls a tool that must fail and returns its message.
func callErr(t testing.TB, cs *sdk.ClientSession, name string, args any) string {
	t.Helper()
	res := call(t, cs, name, args)
	require.True(t, res.IsError, "expected a tool error, got %s", text(res))
	return text(res)
}

func text(res *sdk.CallToolResult) string {
	var b strings.Builder
	for _, c := range res.Content {
		if tc, ok := c.(*sdk.TextContent); ok {
			b.WriteString(tc.Text)
		}
	}
	return b.String()
}

func hex(u uuid.UUID) string { return waldur.Hex(u) }
