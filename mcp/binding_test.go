package mcp_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/mcp"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/siteagenttest"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// side is one customer's corner of the served offering: a project with a
// resource, a pending order on it, an API key, usage and a team member with
// an offering user.
type side struct {
	customer, project, resource, order, key, user uuid.UUID
	backendID                                     string
	names                                         []string // customer, project, resource and user names
}

// addSide seeds one side into wd's fake Waldur.
func addSide(wd *world, name string) side {
	w := wd.w
	sd := side{backendID: name + "_alloc", names: []string{name + " Corp", name + " project", name + "-res", name + "-user"}}
	sd.customer = w.AddCustomer(waldurtest.CustomerSpec{Name: sd.names[0]})
	sd.project = w.AddProject(waldurtest.ProjectSpec{Customer: sd.customer, Name: sd.names[1]})
	sd.resource = w.AddResource(waldurtest.ResourceSpec{Offering: wd.offering, Project: sd.project, Name: sd.names[2], BackendID: sd.backendID})
	sd.order = w.AddOrder(waldurtest.OrderSpec{Offering: wd.offering, Project: sd.project, Type: "Update", Resource: sd.resource})
	sd.key = w.AddAPIKey(waldurtest.APIKeySpec{Resource: sd.resource})
	sd.user = w.AddUser(waldurtest.UserSpec{Username: sd.names[3]})
	w.AddProjectMember(sd.project, sd.user, "")
	w.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: wd.offering, User: sd.user, Username: name + "_01"})
	w.AddComponentUsage(waldurtest.UsageSpec{Resource: sd.resource, Type: "cpu", Amount: "3.00", Date: now})
	return sd
}

// ids are the side's UUIDs in both forms a client might see.
func (sd side) ids() []string {
	var out []string
	for _, u := range []uuid.UUID{sd.customer, sd.project, sd.resource, sd.order, sd.key, sd.user} {
		out = append(out, hex(u), u.String())
	}
	return out
}

func (r *remote) issueBound(t testing.TB, b apikeys.Binding, scopes ...string) string {
	t.Helper()
	iss, err := r.keys.Issue(context.Background(), apikeys.IssueOptions{Name: "bound", Binding: b, Scopes: scopes, TTL: time.Hour})
	require.NoError(t, err)
	return iss.Key.Format()
}

// want is what a probe expects.
type want int

const (
	succeeds want = iota // no error; nothing more is known
	shows                // no error, and something of the inside side appears
	hidden               // answered as not found, exactly like an unknown UUID
)

// probe is one call of a tool, resource or prompt. For hidden probes, arg
// names the argument holding the outside UUID, replaced by an unknown one to
// compare the answers.
type probe struct {
	args map[string]any
	want want
	arg  string
}

// toolProbes lists, for every tool, calls that a key bound to side in must
// answer without revealing anything of side out. A tool missing here fails
// TestBindingEveryTool: a new tool needs its binding checks and its probes.
var toolProbes = map[string]func(in, out side) []probe{
	mcp.ToolAgentHealth:   func(in, out side) []probe { return []probe{{want: succeeds}} },
	mcp.ToolListOfferings: func(in, out side) []probe { return []probe{{want: succeeds}} },
	mcp.ToolListPendingOrders: func(in, out side) []probe {
		return []probe{{want: shows}, {args: map[string]any{"type": "Update"}, want: shows}}
	},
	mcp.ToolGetOrder: func(in, out side) []probe {
		return []probe{{args: map[string]any{"uuid": hex(in.order)}, want: shows}, {args: map[string]any{"uuid": hex(out.order)}, want: hidden, arg: "uuid"}}
	},
	mcp.ToolApproveOrder: func(in, out side) []probe {
		return []probe{{args: map[string]any{"uuid": hex(out.order)}, want: hidden, arg: "uuid"}}
	},
	mcp.ToolRejectOrder: func(in, out side) []probe {
		return []probe{{args: map[string]any{"uuid": hex(out.order), "reason": "not yours"}, want: hidden, arg: "uuid"}}
	},
	mcp.ToolListResources: func(in, out side) []probe {
		return []probe{
			{want: shows},
			{args: map[string]any{"project_uuid": hex(out.project)}, want: succeeds},
			{args: map[string]any{"backend_id": out.backendID}, want: succeeds},
			{args: map[string]any{"state": "OK"}, want: shows},
		}
	},
	mcp.ToolGetResource: func(in, out side) []probe {
		return []probe{{args: map[string]any{"uuid": hex(in.resource)}, want: shows}, {args: map[string]any{"uuid": hex(out.resource)}, want: hidden, arg: "uuid"}}
	},
	mcp.ToolGetResourceTeam: func(in, out side) []probe {
		return []probe{{args: map[string]any{"uuid": hex(in.resource)}, want: shows}, {args: map[string]any{"uuid": hex(out.resource)}, want: hidden, arg: "uuid"}}
	},
	mcp.ToolListOfferingUsers: func(in, out side) []probe { return []probe{{want: shows}} },
	mcp.ToolListUsages: func(in, out side) []probe {
		return []probe{{args: map[string]any{"resource_uuid": hex(in.resource)}, want: shows}, {args: map[string]any{"resource_uuid": hex(out.resource)}, want: hidden, arg: "resource_uuid"}}
	},
	mcp.ToolReportUsage: func(in, out side) []probe {
		usages := []map[string]any{{"type": "cpu", "amount": 99}}
		return []probe{
			{args: map[string]any{"resource_uuid": hex(in.resource), "usages": usages}, want: shows}, // a dry run
			{args: map[string]any{"resource_uuid": hex(out.resource), "usages": usages, "dry_run": false}, want: hidden, arg: "resource_uuid"},
		}
	},
	mcp.ToolListAPIKeys: func(in, out side) []probe {
		return []probe{
			{want: shows},
			{args: map[string]any{"resource_uuid": hex(in.resource)}, want: shows},
			{args: map[string]any{"resource_uuid": hex(out.resource)}, want: hidden, arg: "resource_uuid"},
		}
	},
	mcp.ToolRotateAPIKey: func(in, out side) []probe {
		return []probe{{args: map[string]any{"uuid": hex(out.key)}, want: hidden, arg: "uuid"}}
	},
}

// resourceProbes does for resources and templates what toolProbes does for
// tools; the URI stands in for the arguments.
var resourceProbes = map[string]func(in, out side) []probe{
	mcp.StatusURI: func(in, out side) []probe {
		return []probe{{args: map[string]any{"uri": mcp.StatusURI}, want: succeeds}}
	},
	mcp.OrderURITemplate: func(in, out side) []probe {
		return []probe{
			{args: map[string]any{"uri": "waldur://orders/" + hex(in.order)}, want: shows},
			{args: map[string]any{"uri": "waldur://orders/" + hex(out.order)}, want: hidden},
		}
	},
	mcp.ResourceURITemplate: func(in, out side) []probe {
		return []probe{
			{args: map[string]any{"uri": "waldur://resources/" + hex(in.resource)}, want: shows},
			{args: map[string]any{"uri": "waldur://resources/" + hex(out.resource)}, want: hidden},
		}
	},
}

// TestBindingEveryTool calls every registered tool, resource and prompt with
// keys bound to side A's project, customer or resource (or all of them, as
// apikeys.Provisioner issues keys): lists show only A, B's objects are not
// found exactly as unknown ones are, writes to B change nothing.
func TestBindingEveryTool(t *testing.T) {
	wd := newWorld(t)
	a, b := addSide(wd, "alpha"), addSide(wd, "beta")
	r := serveRemote(t, wd, mcp.Config{})
	ctx := context.Background()

	registered := r.srv.ToolScopes()
	for name := range registered {
		require.Contains(t, toolProbes, name, "tool %s has no binding probes: check that it honours a key's Binding, then add them", name)
	}

	// Outside: side B, and newWorld's own project and other offering.
	outside := append(b.ids(), b.names...)
	outside = append(outside, b.backendID, "Genomics", "alice", "slurm_alloc_1")
	for _, id := range append([]uuid.UUID{wd.resource, wd.key, wd.user, wd.executing, wd.otherResource, wd.otherPending, wd.otherKey}, wd.pending...) {
		outside = append(outside, hex(id))
	}

	bindings := map[string]apikeys.Binding{
		"project":  {ProjectUUID: a.project},
		"customer": {CustomerUUID: a.customer},
		"resource": {ResourceUUID: a.resource},
		"provisioned": {CustomerUUID: a.customer, ProjectUUID: a.project,
			OfferingUUID: wd.offering, ResourceUUID: a.resource},
	}
	for name, binding := range bindings {
		t.Run(name, func(t *testing.T) {
			c := r.dial(t, r.issueBound(t, binding, "*"))
			s := c.MCPSession()

			var listed []string
			for tool, err := range s.Tools(ctx, nil) {
				require.NoError(t, err)
				listed = append(listed, tool.Name)
			}
			assert.Len(t, listed, len(registered), "a bound key sees the whole catalogue; the binding narrows the objects")

			for tool, probes := range toolProbes {
				require.Contains(t, registered, tool, "probes of a tool that does not exist")
				for i, p := range probes(a, b) {
					got, isErr := callRaw(t, s, tool, p.args)
					checkProbe(t, tool, i, p, got, isErr, a, outside, func(id string) (string, bool) {
						args := cloneArgs(p.args)
						args[p.arg] = id
						return callRaw(t, s, tool, args)
					})
				}
			}

			var uris []string
			for res, err := range s.Resources(ctx, nil) {
				require.NoError(t, err)
				uris = append(uris, res.URI)
			}
			for tmpl, err := range s.ResourceTemplates(ctx, nil) {
				require.NoError(t, err)
				uris = append(uris, tmpl.URITemplate)
			}
			for _, uri := range uris {
				probes, ok := resourceProbes[uri]
				require.True(t, ok, "resource %s has no binding probes", uri)
				for i, p := range probes(a, b) {
					got, isErr := readRaw(t, s, p.args["uri"].(string))
					checkProbe(t, uri, i, p, got, isErr, a, outside, func(id string) (string, bool) {
						u := p.args["uri"].(string)
						return readRaw(t, s, u[:strings.LastIndex(u, "/")+1]+id)
					})
				}
			}

			var prompts []string
			for pr, err := range s.Prompts(ctx, nil) {
				require.NoError(t, err)
				prompts = append(prompts, pr.Name)
			}
			require.Equal(t, []string{mcp.PromptTriageOrders}, prompts, "a new prompt needs binding probes here")
			pr, err := s.GetPrompt(ctx, &sdk.GetPromptParams{Name: mcp.PromptTriageOrders})
			require.NoError(t, err)
			body := pr.Messages[0].Content.(*sdk.TextContent).Text
			assert.Contains(t, body, hex(a.order))
			assertNone(t, mcp.PromptTriageOrders, body, outside)
		})
	}

	assert.Empty(t, r.w.Transitions(b.order), "B's order was not approved or rejected")
	assert.Empty(t, r.w.Transitions(a.order), "nothing wrote to A either")
	assert.Zero(t, r.w.CallCount("marketplace_resource_api_keys_rotate"), "no key was rotated")
	for _, u := range r.w.ComponentUsages() {
		assert.NotEqual(t, 99.0, u.Usage, "no usage was reported")
	}
}

// callRaw calls a tool and returns its whole answer as text.
func callRaw(t testing.TB, s *sdk.ClientSession, tool string, args map[string]any) (string, bool) {
	t.Helper()
	if args == nil {
		args = map[string]any{}
	}
	res, err := s.CallTool(context.Background(), &sdk.CallToolParams{Name: tool, Arguments: args})
	require.NoError(t, err, tool)
	data, err := json.Marshal(res.StructuredContent)
	require.NoError(t, err)
	return text(res) + string(data), res.IsError
}

// readRaw reads a resource and returns its contents, or the error's message.
func readRaw(t testing.TB, s *sdk.ClientSession, uri string) (string, bool) {
	t.Helper()
	res, err := s.ReadResource(context.Background(), &sdk.ReadResourceParams{URI: uri})
	if err != nil {
		return err.Error(), true
	}
	var b strings.Builder
	for _, c := range res.Contents {
		b.WriteString(c.Text)
	}
	return b.String(), false
}

func checkProbe(t *testing.T, what string, i int, p probe, got string, isErr bool, in side, outside []string, with func(id string) (string, bool)) {
	t.Helper()
	where := fmt.Sprintf("%s probe %d", what, i)
	switch p.want {
	case succeeds, shows:
		require.False(t, isErr, "%s: %s", where, got)
		assertNone(t, where, got, outside)
		if p.want == shows {
			assert.True(t, slices.ContainsFunc(in.ids(), func(id string) bool { return strings.Contains(got, id) }),
				"%s shows something of the bound side: %s", where, got)
		}
	case hidden:
		require.True(t, isErr, "%s: answered %s", where, got)
		assert.Contains(t, got, "not found", where)
		unknown := hex(uuid.New())
		other, otherErr := with(unknown)
		require.True(t, otherErr, where)
		assert.Equal(t, strings.ReplaceAll(other, unknown, "<uuid>"), maskAll(got, outside), "%s: an object outside the binding looks like one that does not exist", where)
	}
}

// assertNone checks that got mentions nothing outside.
func assertNone(t *testing.T, where, got string, outside []string) {
	t.Helper()
	for _, o := range outside {
		assert.NotContains(t, got, o, "%s reveals %s", where, o)
	}
}

func maskAll(s string, ids []string) string {
	for _, id := range ids {
		s = strings.ReplaceAll(s, id, "<uuid>")
	}
	return s
}

func cloneArgs(m map[string]any) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// TestBindingActsInside checks that the binding narrows without blocking: a
// key bound to A's resource decides A's order, rotates A's key and reports
// A's usage, and an unbound key still sees B.
func TestBindingActsInside(t *testing.T) {
	wd := newWorld(t)
	a, b := addSide(wd, "alpha"), addSide(wd, "beta")
	r := serveRemote(t, wd, mcp.Config{})
	ctx := context.Background()

	c := r.dial(t, r.issueBound(t, apikeys.Binding{ProjectUUID: a.project, ResourceUUID: a.resource}, "*"))
	approved, err := c.ApproveOrder(ctx, a.order)
	require.NoError(t, err)
	assert.True(t, approved.Changed)
	assert.Equal(t, []string{"approve_by_provider"}, r.w.Transitions(a.order))
	require.NoError(t, c.CallTool(ctx, mcp.ToolRotateAPIKey, mcp.UUIDInput{UUID: hex(a.key)}, nil))
	assert.Equal(t, 1, r.w.CallCount("marketplace_resource_api_keys_rotate"))
	dry := false
	rep, err := c.ReportUsage(ctx, mcp.ReportUsageInput{ResourceUUID: hex(a.resource), Usages: []mcp.UsageAmountInput{{Type: "cpu", Amount: 7}}, DryRun: &dry})
	require.NoError(t, err)
	assert.True(t, rep.Sent)

	unbound := r.dial(t, r.issueBound(t, apikeys.Binding{}, "*"))
	o, err := unbound.GetOrder(ctx, b.order)
	require.NoError(t, err, "an unbound key keeps seeing every served object")
	assert.Equal(t, hex(b.order), o.UUID)
	var page mcp.ResourcePage
	require.NoError(t, unbound.CallTool(ctx, mcp.ToolListResources, nil, &page))
	var ids []string
	for _, res := range page.Resources {
		ids = append(ids, res.UUID)
	}
	assert.Subset(t, ids, []string{hex(a.resource), hex(b.resource), hex(wd.resource)})
}

// TestBindingOffering checks a key bound to one of two served offerings.
func TestBindingOffering(t *testing.T) {
	wd := newWorld(t)
	y := wd.w.AddOffering(waldurtest.OfferingSpec{Name: "Cloud storage"})
	ry := wd.w.AddResource(waldurtest.ResourceSpec{Offering: y, Name: "bucket-1"})
	oy := wd.w.AddOrder(waldurtest.OrderSpec{Offering: y, Type: "Update", Resource: ry})
	ky := wd.w.AddAPIKey(waldurtest.APIKeySpec{Resource: ry})
	r := serveRemote(t, wd, mcp.Config{Offerings: []uuid.UUID{wd.offering, y}})
	ctx := context.Background()
	c := r.dial(t, r.issueBound(t, apikeys.Binding{OfferingUUID: y}, "*"))

	h, err := c.Health(ctx)
	require.NoError(t, err)
	assert.Equal(t, []string{hex(y)}, h.Offerings)
	// listed returns the UUIDs a list tool answers under its items' name.
	listed := func(tool, items string) []string {
		var page map[string][]struct{ UUID string }
		require.NoError(t, c.CallTool(ctx, tool, nil, &page), tool)
		var out []string
		for _, item := range page[items] {
			out = append(out, item.UUID)
		}
		return out
	}
	assert.Equal(t, []string{hex(y)}, listed(mcp.ToolListOfferings, "offerings"))
	assert.Equal(t, []string{hex(ry)}, listed(mcp.ToolListResources, "resources"))
	assert.Equal(t, []string{hex(oy)}, listed(mcp.ToolListPendingOrders, "orders"))
	assert.Equal(t, []string{hex(ky)}, listed(mcp.ToolListAPIKeys, "keys"))
	assert.Empty(t, listed(mcp.ToolListOfferingUsers, "users"), "alice is an offering user of the other offering")

	var te *mcp.ToolError
	_, err = c.GetResource(ctx, wd.resource)
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "resource "+hex(wd.resource)+" not found", te.Message)
	_, err = c.ListPendingOrders(ctx, mcp.ListPendingOrdersInput{OfferingUUID: hex(wd.offering)})
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "offering "+hex(wd.offering)+" not found", te.Message, "as for an offering the server does not serve")
}

// TestLastErrorNeedsOperatorScope checks who sees the agent's last error in
// agent_health and the status resource: trusted callers and unbound keys
// with the operator scope, never a key without it or a bound key.
func TestLastErrorNeedsOperatorScope(t *testing.T) {
	w := waldurtest.NewServer(t)
	offering := w.AddOffering(waldurtest.OfferingSpec{})
	project := w.AddProject(waldurtest.ProjectSpec{})
	order := w.AddOrder(waldurtest.OrderSpec{Offering: offering, Project: project})
	const secret = "quota of project beta exhausted"
	cfg := siteagenttest.Config(w, offering)
	cfg.Orders = siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
		return siteagent.Result{}, siteagent.Permanentf("backend refused: %s", secret)
	})
	agent := siteagenttest.Start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, w.WaitFor(ctx, func() bool { return strings.Contains(agent.Stats().LastError, secret) }))

	keys, err := apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore()})
	require.NoError(t, err)
	srv, err := mcp.NewServer(mcp.Config{Agent: agent, Keys: keys})
	require.NoError(t, err)
	hs := httptest.NewServer(srv.Handler())
	t.Cleanup(hs.Close)
	t.Cleanup(func() { assert.NoError(t, srv.Close()) })

	type view struct{ health, status string }
	read := func(s *sdk.ClientSession) view {
		health, isErr := callRaw(t, s, mcp.ToolAgentHealth, nil)
		require.False(t, isErr, health)
		status, isErr := readRaw(t, s, mcp.StatusURI)
		require.False(t, isErr, status)
		return view{health, status}
	}
	remote := func(b apikeys.Binding, scopes ...string) view {
		iss, err := keys.Issue(context.Background(), apikeys.IssueOptions{Scopes: scopes, Binding: b, TTL: time.Hour})
		require.NoError(t, err)
		c, err := mcp.Dial(context.Background(), hs.URL, iss.Key.Format())
		require.NoError(t, err)
		defer c.Close()
		return read(c.MCPSession())
	}

	tests := []struct {
		name string
		view view
		sees bool
	}{
		{"agent:read", remote(apikeys.Binding{}, mcp.ScopeAgentRead), false},
		{"agent:read and operator", remote(apikeys.Binding{}, mcp.ScopeAgentRead, mcp.ScopeAgentOperate), true},
		{"agent:*", remote(apikeys.Binding{}, "agent:*"), true},
		{"operator but bound", remote(apikeys.Binding{ProjectUUID: project}, "*"), false},
		{"local", read(connect(t, srv)), true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			for what, got := range map[string]string{"agent_health": tt.view.health, "status": tt.view.status} {
				assert.Contains(t, got, `"orders_erred"`, "%s: the counters are shown either way", what)
				if tt.sees {
					assert.Contains(t, got, secret, what)
					assert.Contains(t, got, `"last_error_at"`, what)
				} else {
					assert.NotContains(t, got, secret, what)
					assert.NotContains(t, got, "last_error", what)
				}
			}
		})
	}
	o, _ := w.Order(order)
	assert.Equal(t, "erred", string(o.State))
}

// TestBindingTeamsBounded checks that list_offering_users for a broad
// binding reads a bounded number of resources, and says what to do instead.
func TestBindingTeamsBounded(t *testing.T) {
	wd := newWorld(t)
	customer := wd.w.AddCustomer(waldurtest.CustomerSpec{Name: "Big"})
	project := wd.w.AddProject(waldurtest.ProjectSpec{Customer: customer})
	for range 501 {
		wd.w.AddResource(waldurtest.ResourceSpec{Offering: wd.offering, Project: project})
	}
	r := serveRemote(t, wd, mcp.Config{})
	c := r.dial(t, r.issueBound(t, apikeys.Binding{CustomerUUID: customer}, "*"))
	err := c.CallTool(context.Background(), mcp.ToolListOfferingUsers, nil, nil)
	var te *mcp.ToolError
	require.ErrorAs(t, err, &te)
	assert.Contains(t, te.Message, "more than 500 resources")
	assert.Contains(t, te.Message, mcp.ToolGetResourceTeam)
	assert.Equal(t, 1, r.w.CallCount("marketplace_provider_resources_team_list"), "one team per project")
}
