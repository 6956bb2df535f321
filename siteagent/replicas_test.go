package siteagent_test

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// replicaConfig is the fixture's config for replica id, with leases short
// enough for a test.
func (f *fixture) replicaConfig(id string, p siteagent.OrderProcessor) siteagent.Config {
	cfg := f.config(p)
	cfg.Concurrency = 32
	cfg.Replicas = siteagent.ReplicaConfig{ID: id, LeaseTTL: 6 * time.Second, Settle: time.Second}
	return cfg
}

// Two replicas polling the same orders, pending and executing, every few
// milliseconds: each order's processor runs once. Without leases both
// replicas' passes would hand the executing orders to their processors.
func TestReplicasProcessEachOrderOnce(t *testing.T) {
	f := newFixture(t)
	var ids []waldur.UUID
	for i := range 60 {
		state := "pending-provider"
		if i%2 == 0 {
			state = "executing"
		}
		ids = append(ids, f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, State: state}))
	}
	rec := &recorder{}
	a1 := start(t, f.replicaConfig("r1", rec))
	a2 := start(t, f.replicaConfig("r2", rec))
	t.Cleanup(func() {
		if t.Failed() {
			t.Logf("r1 %+v\nr2 %+v", a1.Stats(), a2.Stats())
		}
	})
	waitOrders(t, f.s, ids, waldur.OrderStateDone)

	for _, id := range ids {
		assert.Equal(t, 1, rec.count(id), "order %s", id)
	}
	s1, s2 := a1.Stats(), a2.Stats()
	for _, c := range f.s.Calls() {
		if (c.Status == 409 || c.Status == 400) && c.OperationID != "marketplace_orders_approve_by_provider" {
			t.Logf("%s %s %d", c.OperationID, c.Path, c.Status)
		}
	}
	t.Logf("done by r1 %d, r2 %d (last errors %q, %q); left to the other replica: %d, %d", s1.OrdersDone, s2.OrdersDone, s1.LastError, s2.LastError,
		s1.OrdersLeasedElsewhere, s2.OrdersLeasedElsewhere)

	// Both replicas registered under one identity and one service, each
	// with its own processor. (Starting together, both may have created an
	// identity; the younger is left without services.)
	var withServices int
	for _, ident := range f.s.Identities() {
		if len(ident.Services) > 0 {
			withServices++
		}
	}
	assert.Equal(t, 1, withServices)
	var orderServices int
	for _, svc := range f.s.Services() {
		if svc.Name == "order_process" {
			orderServices++
		}
	}
	assert.Equal(t, 1, orderServices)
	var names []string
	for _, p := range f.s.Processors() {
		names = append(names, p.Name)
	}
	assert.ElementsMatch(t, []string{"recorder@r1", "recorder@r2"}, names)
}

// An order whose lease another replica holds is left alone until the lease
// runs out, and then taken over.
func TestReplicaTakesOverAnOrderWhenItsLeaseRunsOut(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 8, 3, 10, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	f := newFixture(t, waldurtest.WithClock(now))
	id := uuid.New()
	// The replica r1 claimed the order and died.
	rid := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, BackendMetadata: map[string]any{
		"volume": "vol-1",
		"waldur_agent_lease": map[string]any{
			"replica": "r1", "order": waldur.Hex(id), "until": now().Add(time.Minute).Format(time.RFC3339Nano),
		},
	}})
	f.s.AddOrder(waldurtest.OrderSpec{UUID: id, Offering: f.offering, Type: "Update", State: "executing", Resource: rid})

	rec := &recorder{}
	cfg := f.replicaConfig("r2", rec)
	cfg.Now = now
	a := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return a.Stats().OrdersLeasedElsewhere >= 3 }))
	assert.Zero(t, rec.count(id), "the lease of r1 still runs")

	clock.Add(int64(2 * time.Minute))
	waitOrders(t, f.s, []waldur.UUID{id}, waldur.OrderStateDone)
	assert.Equal(t, 1, rec.count(id))
	r, _ := f.s.Resource(rid)
	assert.Equal(t, "vol-1", r.BackendMetadata["volume"], "the lease is kept beside the other metadata")
}

// usageCounter counts the usage passes of one replica.
type usageCounter struct{ passes atomic.Int64 }

func (u *usageCounter) ReportUsage(context.Context, *waldur.Resource, siteagent.Period) (siteagent.Usage, error) {
	u.passes.Add(1)
	return siteagent.Usage{}, nil
}

// The periodic passes run on the replica holding the offering's passes
// lease; when it stops, another takes them over once the lease ran out.
func TestReplicasRunPassesOneAtATime(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Date(2026, 8, 3, 10, 0, 0, 0, time.UTC).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	f := newFixture(t, waldurtest.WithClock(now))
	f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering})

	run := func(id string, u *usageCounter) (*siteagent.Agent, func()) {
		cfg := f.replicaConfig(id, &recorder{})
		cfg.Usage, cfg.Now = u, now
		return startStoppable(t, cfg)
	}
	u1, u2 := &usageCounter{}, &usageCounter{}
	a1, stop1 := run("r1", u1)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return u1.passes.Load() >= 2 }))
	a2, _ := run("r2", u2)
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return a2.Stats().LastReconcile.After(time.Time{}) && u1.passes.Load() >= 5 }))
	assert.Equal(t, int64(1), a1.Stats().PassesHeld)
	assert.Zero(t, a2.Stats().PassesHeld)
	assert.Zero(t, u2.passes.Load(), "r2 runs no pass while r1 holds the lease")

	stop1()
	clock.Add(int64(2 * time.Minute)) // r1's lease runs out
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return u2.passes.Load() >= 1 }))
	assert.Equal(t, int64(1), a2.Stats().PassesHeld)
}

func TestReplicaConfigIsValidated(t *testing.T) {
	f := newFixture(t)
	for _, rc := range []siteagent.ReplicaConfig{
		{ID: "has space"},
		{ID: "r1", LeaseTTL: time.Second, Settle: time.Second},
		{ID: "r1", LeaseTTL: -time.Second},
	} {
		cfg := f.config(&recorder{})
		cfg.Replicas = rc
		_, err := siteagent.New(cfg)
		require.ErrorIs(t, err, siteagent.ErrInvalidConfig, "%+v", rc)
	}
}
