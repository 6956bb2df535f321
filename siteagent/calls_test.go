package siteagent_test

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// TestRESTCallsPerOrderType pins how many REST calls the agent spends per
// order when an event brings it, the numbers BENCHMARKS.md quotes. Waldur's
// reference agent spends about six calls per event before any work.
func TestRESTCallsPerOrderType(t *testing.T) {
	tests := []struct {
		name   string
		spec   func(f *fixture) waldurtest.OrderSpec
		hint   waldur.OrderState
		result siteagent.Result
		calls  []string
	}{
		{
			name: "Create from pending-provider",
			spec: func(f *fixture) waldurtest.OrderSpec { return waldurtest.OrderSpec{Offering: f.offering} },
			hint: waldur.OrderStatePendingProvider, result: siteagent.Result{BackendID: "vol-1"},
			calls: []string{"marketplace_orders_retrieve", "marketplace_orders_approve_by_provider",
				"marketplace_provider_resources_set_backend_id", "marketplace_orders_set_state_done"},
		},
		{
			name: "Create with metadata and endpoints",
			spec: func(f *fixture) waldurtest.OrderSpec { return waldurtest.OrderSpec{Offering: f.offering} },
			hint: waldur.OrderStatePendingProvider,
			result: siteagent.Result{BackendID: "vol-1", BackendMetadata: map[string]any{"pool": "a"},
				Endpoints: []siteagent.Endpoint{{Name: "NFS", URL: "nfs://x"}}},
			calls: []string{"marketplace_orders_retrieve", "marketplace_orders_approve_by_provider",
				"marketplace_provider_resources_set_backend_id", "marketplace_provider_resources_set_backend_metadata",
				"marketplace_provider_resources_set_endpoints", "marketplace_orders_set_state_done"},
		},
		{
			name: "Create already executing (after a restart)",
			spec: func(f *fixture) waldurtest.OrderSpec {
				return waldurtest.OrderSpec{Offering: f.offering, State: "executing"}
			},
			hint: waldur.OrderStateExecuting, result: siteagent.Result{BackendID: "vol-1"},
			calls: []string{"marketplace_orders_retrieve", "marketplace_provider_resources_retrieve",
				"marketplace_provider_resources_set_backend_id", "marketplace_orders_set_state_done"},
		},
		{
			name: "Update from pending-provider",
			spec: func(f *fixture) waldurtest.OrderSpec {
				return waldurtest.OrderSpec{Offering: f.offering, Type: "Update", Limits: map[string]int64{"storage": 5}}
			},
			hint: waldur.OrderStatePendingProvider,
			calls: []string{"marketplace_orders_retrieve", "marketplace_orders_approve_by_provider",
				"marketplace_provider_resources_retrieve", "marketplace_orders_set_state_done"},
		},
		{
			name: "Terminate from pending-provider",
			spec: func(f *fixture) waldurtest.OrderSpec {
				return waldurtest.OrderSpec{Offering: f.offering, Type: "Terminate"}
			},
			hint: waldur.OrderStatePendingProvider,
			calls: []string{"marketplace_orders_retrieve", "marketplace_orders_approve_by_provider",
				"marketplace_provider_resources_retrieve", "marketplace_orders_set_state_done"},
		},
		{
			name: "Create with a start date in the future",
			spec: func(f *fixture) waldurtest.OrderSpec {
				return waldurtest.OrderSpec{Offering: f.offering, StartDate: time.Now().Add(24 * time.Hour)}
			},
			hint:  waldur.OrderStatePendingProvider,
			calls: []string{"marketplace_orders_retrieve", "marketplace_orders_approve_by_provider", "marketplace_orders_retrieve"},
		},
		{
			name: "Create with a start date that has come",
			spec: func(f *fixture) waldurtest.OrderSpec {
				return waldurtest.OrderSpec{Offering: f.offering, StartDate: time.Now().Add(-time.Hour)}
			},
			hint: waldur.OrderStatePendingProvider, result: siteagent.Result{BackendID: "vol-1"},
			calls: []string{"marketplace_orders_retrieve", "marketplace_orders_approve_by_provider", "marketplace_orders_retrieve",
				"marketplace_provider_resources_set_backend_id", "marketplace_orders_set_state_done"},
		},
		{
			name: "event about a finished order",
			spec: func(f *fixture) waldurtest.OrderSpec {
				return waldurtest.OrderSpec{Offering: f.offering, State: "done"}
			},
			hint:  waldur.OrderStateDone,
			calls: nil,
		},
		{
			name: "stale event about a finished order",
			spec: func(f *fixture) waldurtest.OrderSpec {
				return waldurtest.OrderSpec{Offering: f.offering, State: "done"}
			},
			hint:  waldur.OrderStatePendingProvider,
			calls: []string{"marketplace_orders_retrieve"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			src := newChanSource()
			cfg := f.config(siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
				return tt.result, nil
			}))
			cfg.ReconcileInterval = time.Hour
			cfg.Events = siteagent.EventsConfig{Source: src}
			a := start(t, cfg)
			<-src.ready
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			require.NoError(t, f.s.WaitFor(ctx, func() bool { return !a.Stats().LastReconcile.IsZero() }))

			id := f.s.AddOrder(tt.spec(f))
			f.s.ResetCalls()
			require.NoError(t, <-src.send(orderEvent(f.offering, id, tt.hint)))
			var got []string
			for _, c := range f.s.Calls() {
				got = append(got, c.OperationID)
			}
			assert.Equal(t, tt.calls, got)
			t.Logf("%s: %d calls, %d writes", tt.name, len(got), writes(got))
		})
	}
}

func writes(ops []string) int {
	n := 0
	for _, op := range ops {
		if !slices.Contains([]string{"marketplace_orders_retrieve", "marketplace_provider_resources_retrieve"}, op) {
			n++
		}
	}
	return n
}

// Example-style check that the numbers above add up for a batch.
func TestRESTCallsForABatchOfCreateOrdersByPolling(t *testing.T) {
	f := newFixture(t)
	var ids []waldur.UUID
	for i := range 25 {
		ids = append(ids, f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Attributes: map[string]any{"name": fmt.Sprint("v", i)}}))
	}
	cfg := f.config(&recorder{})
	cfg.ReconcileInterval = time.Hour
	start(t, cfg)
	waitOrders(t, f.s, ids, waldur.OrderStateDone)
	// Listed orders are processed as listed: approve, set_backend_id, done.
	assert.Equal(t, 25, f.s.CallCount("marketplace_orders_approve_by_provider"))
	assert.Equal(t, 25, f.s.CallCount("marketplace_orders_set_state_done"))
	assert.Equal(t, 0, f.s.CallCount("marketplace_orders_retrieve"), "no per-order read after a list")
}
