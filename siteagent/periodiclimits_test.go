package siteagent_test

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/siteagenttest"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func periodicEvent(t *testing.T, resource, policy waldur.UUID) siteagent.Event {
	t.Helper()
	body, err := json.Marshal(map[string]any{
		"object_type": "resource_periodic_limits", "schema_version": 1,
		"resource_uuid": waldur.Hex(resource), "backend_id": "hpc_alloc", "policy_uuid": waldur.Hex(policy),
		"action": "apply_periodic_settings", "timestamp": "2026-08-01T00:00:00+00:00",
		"settings": map[string]any{"fairshare": 300},
	})
	require.NoError(t, err)
	e, err := siteagent.DecodeEvent(body, "")
	require.NoError(t, err)
	return e
}

func TestPeriodicLimitsReportsResult(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	res := s.AddResource(waldurtest.ResourceSpec{Offering: off, BackendID: "hpc_alloc"})
	ok, failing := uuid.New(), uuid.New()

	var got []string
	cfg := siteagenttest.Config(s, off)
	cfg.PeriodicLimits = siteagent.PeriodicLimitsProcessorFunc(func(_ context.Context, r *waldur.Resource, e *siteagent.PeriodicLimitsEvent) ([]string, error) {
		got = append(got, r.BackendID)
		if e.PolicyUUID == failing {
			return []string{"sacctmgr modify"}, siteagent.Permanentf("no such account")
		}
		return []string{"sacctmgr -i modify account where name=hpc_alloc set fairshare=300"}, nil
	})
	agent := siteagenttest.Start(t, cfg)

	require.NoError(t, agent.HandleEvent(t.Context(), periodicEvent(t, res, ok)))
	require.NoError(t, agent.HandleEvent(t.Context(), periodicEvent(t, res, failing)), "a permanent failure is reported, not redelivered")

	assert.Equal(t, []string{"hpc_alloc", "hpc_alloc"}, got)
	assert.Equal(t, []waldurtest.PeriodicResult{
		{Policy: ok, Resource: res, Success: true, Mode: "production",
			CommandsExecuted: []string{"sacctmgr -i modify account where name=hpc_alloc set fairshare=300"}},
		{Policy: failing, Resource: res, Success: false, Mode: "production", ErrorMessage: "no such account",
			CommandsExecuted: []string{"sacctmgr modify"}},
	}, s.PeriodicResults())
}

func TestPeriodicLimitsTransientErrorRedelivers(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	res := s.AddResource(waldurtest.ResourceSpec{Offering: off})
	cfg := siteagenttest.Config(s, off)
	cfg.PeriodicLimits = siteagent.PeriodicLimitsProcessorFunc(func(context.Context, *waldur.Resource, *siteagent.PeriodicLimitsEvent) ([]string, error) {
		return nil, assert.AnError
	})
	agent := siteagenttest.Start(t, cfg)
	assert.ErrorIs(t, agent.HandleEvent(t.Context(), periodicEvent(t, res, uuid.New())), assert.AnError)
	assert.Empty(t, s.PeriodicResults())
}

// Without a PeriodicLimits processor the events are not handled: nothing is
// reported as applied.
func TestPeriodicLimitsNotHandledWithoutProcessor(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	res := s.AddResource(waldurtest.ResourceSpec{Offering: off})
	cfg := siteagenttest.Config(s, off)
	cfg.Orders = siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
		return siteagent.Result{}, nil
	})
	agent := siteagenttest.Start(t, cfg)
	require.NoError(t, agent.HandleEvent(t.Context(), periodicEvent(t, res, uuid.New())))
	assert.Empty(t, s.PeriodicResults())
	assert.EqualValues(t, 1, agent.Stats().EventsUnknown)
}
