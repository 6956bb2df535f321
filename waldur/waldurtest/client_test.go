package waldurtest_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// collect drains an iterator from the client.
func collect[T any](t *testing.T, seq func(func(T, error) bool)) []T {
	t.Helper()
	var out []T
	for v, err := range seq {
		require.NoError(t, err)
		out = append(out, v)
	}
	return out
}

// TestClientRoundTrip drives the fake through the project's client, so the
// fake's answers are checked against the same generated types the client
// decodes.
func TestClientRoundTrip(t *testing.T) {
	now := time.Date(2026, 8, 15, 9, 0, 0, 0, time.UTC)
	s := waldurtest.NewServer(t, waldurtest.WithClock(func() time.Time { return now }))
	ctx := t.Context()
	c := s.Client(waldur.WithPageSize(2))

	off := s.AddOffering(waldurtest.OfferingSpec{
		Name:          "GPU cloud",
		PluginOptions: map[string]any{"service_provider_can_create_offering_user": true, "custom": "x"},
		Components:    []waldurtest.ComponentSpec{{Type: "gpu", BillingType: "usage", MeasuredUnit: "hours"}},
	})
	member := s.AddUser(waldurtest.UserSpec{Username: "jdoe", Email: "jdoe@example.org"})
	prj := s.AddProject(waldurtest.ProjectSpec{Name: "Climate"})
	s.AddProjectMember(prj, member, "")
	var orders []waldur.UUID
	for range 5 {
		orders = append(orders, s.AddOrder(waldurtest.OrderSpec{Offering: off, Project: prj, Limits: map[string]int64{"gpu": 2}}))
	}

	me, err := c.Users.Me(ctx)
	require.NoError(t, err)
	assert.Equal(t, s.ProviderUser(), me.UUID)

	o, err := c.Offerings.Get(ctx, off)
	require.NoError(t, err)
	assert.Equal(t, "Marketplace.Slurm", o.Type)
	assert.True(t, o.PluginOptions.ServiceProviderCanCreateOfferingUser)
	assert.Equal(t, "x", o.PluginOptions.AdditionalProperties["custom"])
	require.Len(t, o.Components, 1)
	assert.Equal(t, waldur.BillingType("usage"), o.Components[0].BillingType)
	assert.Len(t, collect(t, c.Offerings.List(ctx, waldur.ListOfferingsOptions{})), 1)

	pending := waldur.ListOrdersOptions{OfferingUUID: off, States: []waldur.OrderState{waldur.OrderStatePendingProvider}}
	got := collect(t, c.Orders.List(ctx, pending))
	require.Len(t, got, 5, "three pages of two")
	n, err := c.Orders.Count(ctx, pending)
	require.NoError(t, err)
	assert.Equal(t, 5, n)

	first := got[len(got)-1]
	assert.Equal(t, orders[0], first.UUID, "newest first")
	require.NoError(t, c.Orders.Approve(ctx, first.UUID))
	err = c.Orders.Approve(ctx, first.UUID)
	assert.True(t, waldur.IsInvalidState(err), "approving twice: %v", err)
	require.NoError(t, c.Orders.SetBackendID(ctx, first.UUID, "job-1"))

	resID := first.MarketplaceResourceUUID
	require.NoError(t, c.Resources.SetBackendID(ctx, resID, "gpu_alloc_1"))
	require.NoError(t, c.Resources.SetLimits(ctx, resID, map[string]int64{"gpu": 2}))
	require.NoError(t, c.Resources.SetBackendMetadata(ctx, resID, map[string]any{"partition": "a100"}))
	require.NoError(t, c.Resources.SetEndpoints(ctx, resID, []waldur.Endpoint{{Name: "ssh", URL: "ssh://login"}}))
	require.NoError(t, c.Orders.SetDone(ctx, first.UUID))
	require.NoError(t, c.Resources.RefreshLastSync(ctx, resID))
	res, err := c.Resources.Get(ctx, resID)
	require.NoError(t, err)
	assert.Equal(t, waldur.ResourceStateOK, res.State)
	assert.Equal(t, "gpu_alloc_1", res.BackendID)
	assert.Equal(t, "a100", res.BackendMetadata["partition"])
	require.Len(t, res.Endpoints, 1)
	team, err := c.Resources.Team(ctx, resID)
	require.NoError(t, err)
	require.Len(t, team, 1)
	assert.Equal(t, "jdoe", team[0].Username)
	ok := collect(t, c.Resources.List(ctx, waldur.ListResourcesOptions{OfferingUUID: off, States: []waldur.ResourceState{waldur.ResourceStateOK}}))
	assert.Len(t, ok, 1)

	require.NoError(t, c.Usages.SetUsage(ctx, waldur.UsageReport{Resource: resID, Usages: []waldur.UsageAmount{{Type: "gpu", Amount: "3.50"}}}))
	usages := collect(t, c.Usages.List(ctx, waldur.ListUsagesOptions{ResourceUUID: resID, BillingPeriod: now}))
	require.Len(t, usages, 1)
	assert.Equal(t, 3.5, usages[0].Usage)
	require.NoError(t, c.Usages.SetUserUsages(ctx, usages[0].UUID, []waldur.UserUsage{{Username: "jdoe_01", Usage: "3.50"}}))
	assert.Len(t, s.UserUsages(), 1)

	ouID := s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: off, User: member})
	ous := collect(t, c.OfferingUsers.List(ctx, waldur.ListOfferingUsersOptions{}))
	require.Len(t, ous, 1)
	require.NoError(t, c.OfferingUsers.BeginCreating(ctx, ouID))
	require.NoError(t, c.OfferingUsers.SetPendingAccountLinking(ctx, ouID, "link", "https://example.org/link"))
	require.NoError(t, c.OfferingUsers.SetValidationComplete(ctx, ouID))
	require.NoError(t, c.OfferingUsers.SetUsername(ctx, ouID, "jdoe_01"))
	ou, err := c.OfferingUsers.Get(ctx, ouID)
	require.NoError(t, err)
	require.NotNil(t, ou.Username)
	assert.Equal(t, "jdoe_01", *ou.Username)

	key, err := c.APIKeys.ReportCreated(ctx, resID, "gpu_alloc_1-1", "secret-1")
	require.NoError(t, err)
	require.NoError(t, s.RotateAPIKey(key.UUID))
	require.NoError(t, c.APIKeys.SetKey(ctx, key.UUID, "secret-2", ""))
	keys := collect(t, c.APIKeys.List(ctx, waldur.ListAPIKeysOptions{}))
	require.Len(t, keys, 1)
	assert.Equal(t, waldur.ResourceAPIKeyState("OK"), keys[0].State)

	ident, err := c.Agents.CreateIdentity(ctx, waldur.AgentIdentityRequest{Offering: off, Name: "agent-" + hex(off)})
	require.NoError(t, err)
	svc, created, err := c.Agents.RegisterService(ctx, ident.UUID, "order_process", "order_process")
	require.NoError(t, err)
	assert.True(t, created)
	_, created, err = c.Agents.RegisterService(ctx, ident.UUID, "order_process", "order_process")
	require.NoError(t, err)
	assert.False(t, created)
	_, err = c.Agents.RegisterProcessor(ctx, svc.UUID, waldur.ProcessorRegistration{Name: "OrderProcessor", BackendType: "SLURM"})
	require.NoError(t, err)
	q, created, err := c.Agents.RegisterQueue(ctx, ident.UUID, nil)
	require.NoError(t, err)
	assert.True(t, created)
	assert.Equal(t, "consumer_", q.QueueName[:9])
	require.NoError(t, c.Agents.SendLogs(ctx, []waldur.LogEntry{{Identity: ident.UUID, Level: "ERROR", Message: "boom"}}))
	assert.Len(t, s.Logs(), 1)
	ids := collect(t, c.Agents.ListIdentities(ctx, waldur.ListIdentitiesOptions{OfferingUUID: off}))
	require.Len(t, ids, 1)
	require.Len(t, ids[0].Services, 1)
}
