package mcp_test

import (
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"testing"

	"github.com/google/uuid"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/mcp"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func TestToolCatalogue(t *testing.T) {
	wd := newWorld(t)
	srv := wd.newServer(t, mcp.Config{}, nil)
	cs := connect(t, srv)

	type hints struct{ readOnly, destructive, idempotent bool }
	want := map[string]struct {
		scope string
		hints hints
	}{
		"agent_health":            {"agent:read", hints{readOnly: true}},
		"list_offerings":          {"agent:read", hints{readOnly: true}},
		"list_pending_orders":     {"orders:read", hints{readOnly: true}},
		"get_order":               {"orders:read", hints{readOnly: true}},
		"approve_order":           {"orders:write", hints{destructive: true, idempotent: true}},
		"reject_order":            {"orders:write", hints{destructive: true, idempotent: true}},
		"list_resources":          {"resources:read", hints{readOnly: true}},
		"get_resource":            {"resources:read", hints{readOnly: true}},
		"get_resource_team":       {"resources:read", hints{readOnly: true}},
		"list_offering_users":     {"resources:read", hints{readOnly: true}},
		"list_usages":             {"usage:read", hints{readOnly: true}},
		"report_usage":            {"usage:write", hints{destructive: true, idempotent: true}},
		"list_resource_api_keys":  {"keys:read", hints{readOnly: true}},
		"rotate_resource_api_key": {"keys:write", hints{destructive: true}},
	}
	scopes := srv.ToolScopes()
	var names []string
	for tool, err := range cs.Tools(context.Background(), nil) {
		require.NoError(t, err)
		names = append(names, tool.Name)
		w, ok := want[tool.Name]
		require.True(t, ok, "unexpected tool %s", tool.Name)
		assert.Equal(t, w.scope, scopes[tool.Name], tool.Name)
		assert.Contains(t, tool.Description, w.scope, "the description names the scope")
		a := tool.Annotations
		require.NotNil(t, a, tool.Name)
		assert.Equal(t, w.hints.readOnly, a.ReadOnlyHint, "%s readOnly", tool.Name)
		if !w.hints.readOnly {
			require.NotNil(t, a.DestructiveHint, tool.Name)
			assert.Equal(t, w.hints.destructive, *a.DestructiveHint, "%s destructive", tool.Name)
			assert.Equal(t, w.hints.idempotent, a.IdempotentHint, "%s idempotent", tool.Name)
		}
		require.NotNil(t, tool.OutputSchema, "%s has typed output", tool.Name)
		schema := tool.InputSchema.(map[string]any)
		if props, _ := schema["properties"].(map[string]any); props["limit"] != nil {
			limit := props["limit"].(map[string]any)
			assert.EqualValues(t, mcp.MaxListLimit, limit["maximum"], "%s bounds its page size", tool.Name)
			assert.Contains(t, props, "cursor")
		}
	}
	assert.Len(t, names, len(want))
}

func TestListPendingOrders(t *testing.T) {
	wd := newWorld(t)
	cs := connect(t, wd.newServer(t, mcp.Config{}, nil))

	all := callOK[mcp.OrderPage](t, cs, "list_pending_orders", nil)
	var got []string
	for _, o := range all.Orders {
		got = append(got, o.UUID)
		assert.Equal(t, "pending-provider", o.State)
		assert.Equal(t, hex(wd.offering), o.OfferingUUID)
	}
	assert.ElementsMatch(t, []string{hex(wd.pending[0]), hex(wd.pending[1]), hex(wd.pending[2])}, got,
		"pending orders of the served offering only; not the executing one, not the other offering's")
	assert.Empty(t, all.NextCursor)

	t.Run("pages", func(t *testing.T) {
		var paged []string
		cursor := ""
		for range 3 {
			p := callOK[mcp.OrderPage](t, cs, "list_pending_orders", map[string]any{"limit": 2, "cursor": cursor})
			for _, o := range p.Orders {
				paged = append(paged, o.UUID)
			}
			if cursor = p.NextCursor; cursor == "" {
				break
			}
			assert.Len(t, p.Orders, 2)
		}
		assert.Equal(t, got, paged, "pages add up to the whole list, in order, without repeats")
	})
	t.Run("type filter", func(t *testing.T) {
		p := callOK[mcp.OrderPage](t, cs, "list_pending_orders", map[string]any{"type": "Terminate"})
		require.Len(t, p.Orders, 1)
		assert.Equal(t, hex(wd.pending[2]), p.Orders[0].UUID)
		assert.Equal(t, "Terminate", p.Orders[0].Type)
	})
	t.Run("refusals", func(t *testing.T) {
		first := callOK[mcp.OrderPage](t, cs, "list_pending_orders", map[string]any{"limit": 1})
		require.NotEmpty(t, first.NextCursor)
		for name, args := range map[string]map[string]any{
			"cursor of other filters": {"cursor": first.NextCursor, "type": "Create"},
			"garbage cursor":          {"cursor": "!!"},
			"limit too large":         {"limit": 1000},
			"unknown type":            {"type": "Explode"},
			"other offering":          {"offering_uuid": hex(wd.other)},
			"offering not a uuid":     {"offering_uuid": "x"},
		} {
			t.Run(name, func(t *testing.T) { callErr(t, cs, "list_pending_orders", args) })
		}
	})
}

func TestGetOrder(t *testing.T) {
	wd := newWorld(t)
	cs := connect(t, wd.newServer(t, mcp.Config{}, nil))

	o := callOK[mcp.Order](t, cs, "get_order", map[string]any{"uuid": wd.pending[0].String()})
	assert.Equal(t, hex(wd.pending[0]), o.UUID, "hyphenated input, Waldur's hex form out")
	assert.Equal(t, "Create", o.Type)
	assert.Equal(t, map[string]int64{"cpu": 500}, o.Limits)
	assert.Equal(t, "new-alloc", o.Attributes["name"])
	assert.Equal(t, "Genomics", o.ProjectName)

	tests := map[string]struct{ uuid, want string }{
		"other offering": {hex(wd.otherPending), "order " + hex(wd.otherPending) + " not found"},
		"unknown":        {hex(uuid.New()), "not found"},
		"not a uuid":     {"order-1", `uuid "order-1" is not a UUID`},
		"empty":          {"", "uuid is required"},
	}
	for name, tt := range tests {
		t.Run(name, func(t *testing.T) {
			assert.Contains(t, callErr(t, cs, "get_order", map[string]any{"uuid": tt.uuid}), tt.want)
		})
	}
	t.Run("missing argument", func(t *testing.T) {
		assert.Contains(t, callErr(t, cs, "get_order", nil), "uuid")
	})
}

func TestApproveOrder(t *testing.T) {
	wd := newWorld(t)
	cs := connect(t, wd.newServer(t, mcp.Config{}, nil))
	id := wd.pending[0]

	a := callOK[mcp.OrderAction](t, cs, "approve_order", map[string]any{"uuid": hex(id)})
	assert.True(t, a.Changed)
	assert.Equal(t, "executing", a.State)
	assert.Equal(t, []string{"approve_by_provider"}, wd.w.Transitions(id))

	again := callOK[mcp.OrderAction](t, cs, "approve_order", map[string]any{"uuid": hex(id)})
	assert.False(t, again.Changed, "approving twice changes nothing")
	assert.Equal(t, "executing", again.State)
	assert.Contains(t, again.Message, "already")
	assert.Equal(t, []string{"approve_by_provider"}, wd.w.Transitions(id))

	t.Run("rejected order", func(t *testing.T) {
		callOK[mcp.OrderAction](t, cs, "reject_order", map[string]any{"uuid": hex(wd.pending[1]), "reason": "no capacity"})
		msg := callErr(t, cs, "approve_order", map[string]any{"uuid": hex(wd.pending[1])})
		assert.Contains(t, msg, "it is rejected")
	})
	t.Run("other offering", func(t *testing.T) {
		assert.Contains(t, callErr(t, cs, "approve_order", map[string]any{"uuid": hex(wd.otherPending)}), "not found")
		assert.Empty(t, wd.w.Transitions(wd.otherPending))
	})
	t.Run("moved meanwhile", func(t *testing.T) {
		// Waldur refuses (409) because the order moved between read and
		// approve; the tool re-reads and reports the state it found.
		id := wd.pending[2]
		wd.w.FailNext("marketplace_orders_approve_by_provider", http.StatusConflict, 1)
		msg := callErr(t, cs, "approve_order", map[string]any{"uuid": hex(id)})
		assert.Contains(t, msg, "Waldur refused approve order "+hex(id)+" in the object's current state", "still pending after the refusal: Waldur's reason is passed on")
	})
	t.Run("forbidden", func(t *testing.T) {
		wd.w.FailNext("marketplace_orders_approve_by_provider", http.StatusForbidden, 1)
		msg := callErr(t, cs, "approve_order", map[string]any{"uuid": hex(wd.pending[2])})
		assert.Contains(t, msg, "lacks the permission (403)")
	})
	t.Run("waldur down", func(t *testing.T) {
		wd.w.FailNext("marketplace_orders_retrieve", http.StatusNotImplemented, 1)
		msg := callErr(t, cs, "approve_order", map[string]any{"uuid": hex(wd.pending[2])})
		assert.Contains(t, msg, "Waldur refused order")
		assert.Contains(t, msg, "501")
	})
}

func TestRejectOrder(t *testing.T) {
	wd := newWorld(t)
	cs := connect(t, wd.newServer(t, mcp.Config{}, nil))
	id := wd.pending[0]

	assert.Contains(t, callErr(t, cs, "reject_order", map[string]any{"uuid": hex(id), "reason": "  "}), "reason is required")
	assert.Empty(t, wd.w.Transitions(id))

	a := callOK[mcp.OrderAction](t, cs, "reject_order", map[string]any{"uuid": hex(id), "reason": "Quota for GPUs exhausted until May"})
	assert.True(t, a.Changed)
	assert.Equal(t, "rejected", a.State)
	o, _ := wd.w.Order(id)
	assert.Equal(t, "Quota for GPUs exhausted until May", o.ProviderRejectionComment)

	again := callOK[mcp.OrderAction](t, cs, "reject_order", map[string]any{"uuid": hex(id), "reason": "still no"})
	assert.False(t, again.Changed)
	assert.Equal(t, []string{"reject_by_provider"}, wd.w.Transitions(id))

	assert.Contains(t, callErr(t, cs, "reject_order", map[string]any{"uuid": hex(wd.executing), "reason": "late"}), "it is executing")
}

func TestResources(t *testing.T) {
	wd := newWorld(t)
	cs := connect(t, wd.newServer(t, mcp.Config{}, nil))

	p := callOK[mcp.ResourcePage](t, cs, "list_resources", nil)
	var names []string
	for _, r := range p.Resources {
		names = append(names, r.Name)
		assert.Equal(t, hex(wd.offering), r.OfferingUUID)
	}
	assert.Contains(t, names, "alloc-1")
	assert.NotContains(t, names, "theirs")

	byBackend := callOK[mcp.ResourcePage](t, cs, "list_resources", map[string]any{"backend_id": "slurm_alloc_1"})
	require.Len(t, byBackend.Resources, 1)
	assert.Equal(t, hex(wd.resource), byBackend.Resources[0].UUID)

	r := callOK[mcp.Resource](t, cs, "get_resource", map[string]any{"uuid": hex(wd.resource)})
	assert.Equal(t, "OK", r.State)
	assert.Equal(t, "slurm_alloc_1", r.BackendID)
	assert.Equal(t, int64(1000), r.Limits["cpu"])
	assert.Contains(t, callErr(t, cs, "get_resource", map[string]any{"uuid": hex(wd.otherResource)}), "not found")

	team := callOK[mcp.Team](t, cs, "get_resource_team", map[string]any{"uuid": hex(wd.resource)})
	require.Len(t, team.Members, 1)
	assert.Equal(t, "alice", team.Members[0].Username)
	assert.Equal(t, "alice_01", team.Members[0].OfferingUsername)
	assert.Contains(t, callErr(t, cs, "get_resource_team", map[string]any{"uuid": hex(wd.otherResource)}), "not found")

	users := callOK[mcp.OfferingUserPage](t, cs, "list_offering_users", nil)
	require.Len(t, users.Users, 1, "only the served offering's users")
	assert.Equal(t, "alice_01", users.Users[0].Username)
	assert.Equal(t, "OK", users.Users[0].State)
	none := callOK[mcp.OfferingUserPage](t, cs, "list_offering_users", map[string]any{"state": "Requested"})
	assert.Empty(t, none.Users)

	offerings := callOK[mcp.OfferingPage](t, cs, "list_offerings", nil)
	require.Len(t, offerings.Offerings, 1)
	assert.Equal(t, "HPC cluster", offerings.Offerings[0].Name)
	assert.Len(t, offerings.Offerings[0].Components, 2)
}

func TestListOfferingsWithoutRestriction(t *testing.T) {
	wd := newWorld(t)
	// Offerings left empty (not nil after newServer) means every offering
	// the credentials see.
	srv, err := mcp.NewServer(mcp.Config{Client: wd.w.Client()})
	require.NoError(t, err)
	cs := connect(t, srv)
	p := callOK[mcp.OfferingPage](t, cs, "list_offerings", map[string]any{"limit": 1})
	assert.Len(t, p.Offerings, 1)
	require.NotEmpty(t, p.NextCursor)
	p2 := callOK[mcp.OfferingPage](t, cs, "list_offerings", map[string]any{"limit": 1, "cursor": p.NextCursor})
	require.Len(t, p2.Offerings, 1)
	assert.NotEqual(t, p.Offerings[0].UUID, p2.Offerings[0].UUID)

	orders := callOK[mcp.OrderPage](t, cs, "list_pending_orders", nil)
	assert.Len(t, orders.Orders, 4, "pending orders of every offering")
}

func TestUsage(t *testing.T) {
	wd := newWorld(t)
	cs := connect(t, wd.newServer(t, mcp.Config{}, nil))

	listed := callOK[mcp.UsagePage](t, cs, "list_usages", map[string]any{"resource_uuid": hex(wd.resource)})
	require.Len(t, listed.Usages, 1)
	assert.Equal(t, 12.5, listed.Usages[0].Amount)
	assert.Equal(t, "2026-03", listed.Usages[0].BillingPeriod)
	assert.Contains(t, callErr(t, cs, "list_usages", map[string]any{"resource_uuid": hex(wd.otherResource)}), "not found")

	before := len(wd.w.ComponentUsages())
	args := map[string]any{
		"resource_uuid": hex(wd.resource),
		"usages":        []map[string]any{{"type": "cpu", "amount": 1234.567}, {"type": "storage", "amount": 40}},
	}
	dry := callOK[mcp.UsageReport](t, cs, "report_usage", args)
	assert.True(t, dry.DryRun)
	assert.False(t, dry.Sent)
	assert.Equal(t, "2026-03", dry.BillingPeriod)
	assert.Equal(t, []mcp.UsageAmount{{Type: "cpu", Amount: "1234.57"}, {Type: "storage", Amount: "40.00"}}, dry.Usages)
	assert.Zero(t, wd.w.CallCount("marketplace_component_usages_set_usage"), "a dry run sends nothing")
	assert.Len(t, wd.w.ComponentUsages(), before)

	args["dry_run"] = false
	sent := callOK[mcp.UsageReport](t, cs, "report_usage", args)
	assert.True(t, sent.Sent)
	assert.False(t, sent.DryRun)
	assert.Equal(t, 1, wd.w.CallCount("marketplace_component_usages_set_usage"))
	var cpu float64
	for _, u := range wd.w.ComponentUsages() {
		if u.ResourceUUID == wd.resource && u.Type == "cpu" {
			cpu = u.Usage
		}
	}
	assert.Equal(t, 1234.57, cpu, "the total replaced the earlier 12.50")

	refusals := map[string]struct {
		args map[string]any
		want string
	}{
		"unknown component": {map[string]any{"resource_uuid": hex(wd.resource), "usages": []map[string]any{{"type": "gpu", "amount": 1}}}, `no component "gpu"; its components are cpu, storage`},
		"negative":          {map[string]any{"resource_uuid": hex(wd.resource), "usages": []map[string]any{{"type": "cpu", "amount": -1}}}, "negative"},
		"twice":             {map[string]any{"resource_uuid": hex(wd.resource), "usages": []map[string]any{{"type": "cpu", "amount": 1}, {"type": "cpu", "amount": 2}}}, "appears twice"},
		"empty":             {map[string]any{"resource_uuid": hex(wd.resource), "usages": []map[string]any{}}, "usages is empty"},
		"future":            {map[string]any{"resource_uuid": hex(wd.resource), "billing_period": "2026-04", "usages": []map[string]any{{"type": "cpu", "amount": 1}}}, "in the future"},
		"bad period":        {map[string]any{"resource_uuid": hex(wd.resource), "billing_period": "March", "usages": []map[string]any{{"type": "cpu", "amount": 1}}}, "YYYY-MM"},
		"other offering":    {map[string]any{"resource_uuid": hex(wd.otherResource), "usages": []map[string]any{{"type": "cpu", "amount": 1}}}, "not found"},
	}
	for name, tt := range refusals {
		t.Run(name, func(t *testing.T) {
			tt.args["dry_run"] = false
			assert.Contains(t, callErr(t, cs, "report_usage", tt.args), tt.want)
		})
	}
	assert.Equal(t, 1, wd.w.CallCount("marketplace_component_usages_set_usage"), "refused reports send nothing")

	t.Run("past period", func(t *testing.T) {
		r := callOK[mcp.UsageReport](t, cs, "report_usage", map[string]any{
			"resource_uuid": hex(wd.resource), "billing_period": "2026-02", "dry_run": false,
			"usages": []map[string]any{{"type": "cpu", "amount": 7}},
		})
		assert.Equal(t, "2026-02", r.BillingPeriod)
		feb := callOK[mcp.UsagePage](t, cs, "list_usages", map[string]any{"resource_uuid": hex(wd.resource), "billing_period": "2026-02"})
		require.Len(t, feb.Usages, 1)
		assert.Equal(t, 7.0, feb.Usages[0].Amount)
	})
}

func TestAPIKeys(t *testing.T) {
	wd := newWorld(t)
	cs := connect(t, wd.newServer(t, mcp.Config{}, nil))

	res := call(t, cs, "list_resource_api_keys", nil)
	require.False(t, res.IsError, text(res))
	raw, err := json.Marshal(res)
	require.NoError(t, err)
	assert.NotContains(t, string(raw), wd.keySecret, "key values never leave Waldur through the tools")
	keys := callOK[mcp.APIKeyPage](t, cs, "list_resource_api_keys", nil)
	require.Len(t, keys.Keys, 1, "only the served offering's keys")
	assert.Equal(t, "slurm_alloc_1-1", keys.Keys[0].ClientID)
	assert.Equal(t, "OK", keys.Keys[0].State)
	byResource := callOK[mcp.APIKeyPage](t, cs, "list_resource_api_keys", map[string]any{"resource_uuid": hex(wd.resource)})
	assert.Len(t, byResource.Keys, 1)

	rot := callOK[mcp.RotationRequest](t, cs, "rotate_resource_api_key", map[string]any{"uuid": hex(wd.key)})
	assert.Equal(t, "Updating", rot.State)
	k, _ := wd.w.APIKey(wd.key)
	assert.Equal(t, waldur.ResourceAPIKeyStateUpdating, k.State)
	assert.True(t, slices.ContainsFunc(wd.w.Events(), func(e waldurtest.Event) bool {
		return e.ObjectType == "resource_api_key_rotation" && e.Payload["api_key_uuid"] == hex(wd.key)
	}), "Waldur asks the agent for the new value")

	assert.Contains(t, callErr(t, cs, "rotate_resource_api_key", map[string]any{"uuid": hex(wd.key)}), "already being rotated")
	assert.Contains(t, callErr(t, cs, "rotate_resource_api_key", map[string]any{"uuid": hex(wd.otherKey)}), "not found")
	// A key Updating for another command says which one.
	paused := wd.w.AddAPIKey(waldurtest.APIKeySpec{Resource: wd.resource, ClientID: "slurm_alloc_1-2"})
	require.NoError(t, wd.w.CommandAPIKey(paused, "pause"))
	assert.Contains(t, callErr(t, cs, "rotate_resource_api_key", map[string]any{"uuid": hex(paused)}), "has a pending pause")
	k2, _ := wd.w.APIKey(wd.otherKey)
	assert.Equal(t, waldur.ResourceAPIKeyStateOK, k2.State)
}

func TestAgentHealth(t *testing.T) {
	wd := newWorld(t)
	t.Run("client only", func(t *testing.T) {
		cs := connect(t, wd.newServer(t, mcp.Config{}, nil))
		h := callOK[mcp.Health](t, cs, "agent_health", nil)
		assert.False(t, h.Agent)
		assert.Nil(t, h.Stats)
		assert.True(t, h.Waldur.OK)
		assert.Equal(t, "provider", h.Waldur.Username)
		assert.Equal(t, []string{hex(wd.offering)}, h.Offerings)
	})
	t.Run("agent", func(t *testing.T) {
		agent, err := siteagent.New(siteagent.Config{
			Client:       wd.w.Client(),
			Token:        wd.w.Token(),
			OfferingUUID: hex(wd.offering),
			Orders: siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
				return siteagent.Result{}, nil
			}),
		})
		require.NoError(t, err)
		srv, err := mcp.NewServer(mcp.Config{Agent: agent})
		require.NoError(t, err)
		cs := connect(t, srv)
		h := callOK[mcp.Health](t, cs, "agent_health", nil)
		assert.True(t, h.Agent)
		assert.False(t, h.Live, "Run was not started")
		assert.False(t, h.Ready)
		require.NotNil(t, h.Stats)
		assert.Equal(t, []string{hex(wd.offering)}, h.Offerings, "the agent's offerings")
		assert.True(t, h.Waldur.OK)

		// The agent's offerings bound the tools too.
		assert.Contains(t, callErr(t, cs, "get_order", map[string]any{"uuid": hex(wd.otherPending)}), "not found")
	})
	t.Run("expired token", func(t *testing.T) {
		tok := wd.w.UserToken(wd.user)
		c := wd.w.Client(waldur.WithToken(tok))
		srv, err := mcp.NewServer(mcp.Config{Client: c})
		require.NoError(t, err)
		wd.w.ExpireToken(tok)
		cs := connect(t, srv)
		h := callOK[mcp.Health](t, cs, "agent_health", nil)
		assert.False(t, h.Waldur.OK)
		assert.Contains(t, h.Waldur.Error, "credentials (401)")
		assert.NotContains(t, h.Waldur.Error, tok, "never the token")
	})
}

func TestNewServerConfig(t *testing.T) {
	_, err := mcp.NewServer(mcp.Config{})
	assert.ErrorIs(t, err, mcp.ErrInvalidConfig)
	wd := newWorld(t)
	_, err = mcp.NewServer(mcp.Config{Client: wd.w.Client(), Offerings: []waldur.UUID{{}}})
	assert.ErrorIs(t, err, mcp.ErrInvalidConfig)
}

func TestResourcesAndPrompt(t *testing.T) {
	wd := newWorld(t)
	cs := connect(t, wd.newServer(t, mcp.Config{}, nil))
	ctx := context.Background()

	read := func(uri string) map[string]any {
		t.Helper()
		res, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: uri})
		require.NoError(t, err)
		require.Len(t, res.Contents, 1)
		assert.Equal(t, "application/json", res.Contents[0].MIMEType)
		var v map[string]any
		require.NoError(t, json.Unmarshal([]byte(res.Contents[0].Text), &v))
		return v
	}
	status := read(mcp.StatusURI)
	assert.Equal(t, false, status["agent"])
	assert.Equal(t, []any{hex(wd.offering)}, status["offerings"])

	order := read("waldur://orders/" + hex(wd.pending[0]))
	assert.Equal(t, "pending-provider", order["state"])
	resource := read("waldur://resources/" + hex(wd.resource))
	assert.Equal(t, "alloc-1", resource["name"])

	var templates []string
	for tmpl, err := range cs.ResourceTemplates(ctx, nil) {
		require.NoError(t, err)
		templates = append(templates, tmpl.URITemplate)
	}
	assert.ElementsMatch(t, []string{mcp.OrderURITemplate, mcp.ResourceURITemplate}, templates)

	for _, uri := range []string{
		"waldur://orders/" + hex(wd.otherPending),
		"waldur://orders/" + hex(uuid.New()),
		"waldur://orders/nope",
		"waldur://resources/" + hex(wd.otherResource),
	} {
		_, err := cs.ReadResource(ctx, &sdk.ReadResourceParams{URI: uri})
		assert.Error(t, err, uri)
	}

	prompt, err := cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: mcp.PromptTriageOrders})
	require.NoError(t, err)
	require.Len(t, prompt.Messages, 1)
	body := prompt.Messages[0].Content.(*sdk.TextContent).Text
	for _, id := range wd.pending {
		assert.Contains(t, body, hex(id))
	}
	assert.NotContains(t, body, hex(wd.otherPending))
	assert.Contains(t, body, "approve_order")
	assert.Contains(t, body, "reject_order")

	_, err = cs.GetPrompt(ctx, &sdk.GetPromptParams{Name: mcp.PromptTriageOrders, Arguments: map[string]string{"offering_uuid": hex(wd.other)}})
	assert.Error(t, err, "another offering's orders are not shown")
}

func TestAuditLinePerToolCall(t *testing.T) {
	wd := newWorld(t)
	logs := &logBuffer{}
	cs := connect(t, wd.newServer(t, mcp.Config{}, logs))

	callOK[mcp.Order](t, cs, "get_order", map[string]any{"uuid": hex(wd.pending[0])})
	callErr(t, cs, "get_order", map[string]any{"uuid": hex(wd.otherPending)})
	callErr(t, cs, "get_order", map[string]any{"bogus": 1}) // fails input validation
	_, err := cs.CallTool(context.Background(), &sdk.CallToolParams{Name: "no_such_tool"})
	assert.Error(t, err, "an unknown tool is a protocol error")

	lines := logs.lines(t, "mcp tool call")
	require.Len(t, lines, 4, "one line per call, whatever its outcome")
	var outcomes []string
	for _, l := range lines {
		assert.Equal(t, "local", l["key"], "stdio and in-process callers are trusted and named local")
		assert.Contains(t, l, "duration")
		outcomes = append(outcomes, l["outcome"].(string))
	}
	assert.Equal(t, []string{"ok", "error", "error", "rejected"}, outcomes)
	assert.Equal(t, "get_order", lines[0]["tool"])
	assert.Equal(t, "no_such_tool", lines[3]["tool"])
	assert.Contains(t, lines[1]["error"], "not found")
}
