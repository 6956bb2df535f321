package siteagent_test

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/siteagenttest"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fixture is a fake Waldur with one offering.
type fixture struct {
	s        *waldurtest.Server
	offering waldur.UUID
}

func newFixture(t testing.TB, opts ...waldurtest.Option) *fixture {
	t.Helper()
	s := waldurtest.NewServer(t, opts...)
	off := s.AddOffering(waldurtest.OfferingSpec{
		Name:       "Storage",
		Components: []waldurtest.ComponentSpec{{Type: "storage", BillingType: "limit"}},
	})
	return &fixture{s: s, offering: off}
}

// config returns a Config for the fixture with test-friendly intervals.
func (f *fixture) config(p siteagent.OrderProcessor) siteagent.Config {
	cfg := siteagenttest.Config(f.s, f.offering)
	cfg.Orders = p
	return cfg
}

// start runs the agent until the test ends and fails the test if Run fails.
func start(t *testing.T, cfg siteagent.Config) *siteagent.Agent {
	t.Helper()
	return siteagenttest.Start(t, cfg)
}

// startStoppable runs the agent until the returned stop is called, or the
// test ends, and fails the test if Run fails. stop returns once Run has.
func startStoppable(t *testing.T, cfg siteagent.Config) (*siteagent.Agent, func()) {
	t.Helper()
	a, err := siteagent.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			assert.NoError(t, <-done)
		})
	}
	t.Cleanup(stop)
	return a, stop
}

// waitOrders waits until every order is in one of the wanted states.
func waitOrders(t *testing.T, s *waldurtest.Server, ids []waldur.UUID, states ...waldur.OrderState) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	err := s.WaitFor(ctx, func() bool {
		for _, id := range ids {
			o, ok := s.Order(id)
			if !ok {
				return false
			}
			found := false
			for _, st := range states {
				found = found || o.State == st
			}
			if !found {
				return false
			}
		}
		return true
	})
	if err != nil {
		for _, id := range ids {
			o, _ := s.Order(id)
			t.Logf("order %s: %s %s %q", id, o.Type, o.State, o.ErrorMessage)
		}
		t.Fatalf("orders did not reach %v: %v", states, err)
	}
}

// recorder is a processor that records what it was asked.
type recorder struct {
	mu    sync.Mutex
	calls map[waldur.UUID]int
	fn    func(ctx context.Context, o *siteagent.Order) (siteagent.Result, error)
}

func (r *recorder) ProcessOrder(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
	r.mu.Lock()
	if r.calls == nil {
		r.calls = make(map[waldur.UUID]int)
	}
	r.calls[o.UUID]++
	r.mu.Unlock()
	if r.fn != nil {
		return r.fn(ctx, o)
	}
	return siteagent.Result{BackendID: "vol-" + o.ResourceName}, nil
}

func (r *recorder) count(id waldur.UUID) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id]
}

func TestAgentProcessesEveryOrderTypeByPolling(t *testing.T) {
	f := newFixture(t)
	create := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Type: "Create",
		Limits: map[string]int64{"storage": 100}, Attributes: map[string]any{"name": "alpha"}})
	existing := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, BackendID: "vol-beta",
		Limits: map[string]int64{"storage": 10}})
	update := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Type: "Update", Resource: existing,
		Limits: map[string]int64{"storage": 20}})
	doomed := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, BackendID: "vol-gamma"})
	terminate := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Type: "Terminate", Resource: doomed, State: "executing"})

	var seen sync.Map
	p := siteagent.OrderTypes{
		Create: siteagent.OrderProcessorFunc(func(_ context.Context, o *siteagent.Order) (siteagent.Result, error) {
			seen.Store("create", o.Limits["storage"])
			return siteagent.Result{
				BackendID:       "vol-" + o.Attributes["name"].(string),
				BackendMetadata: map[string]any{"pool": "fast"},
				Endpoints:       []siteagent.Endpoint{{Name: "NFS", URL: "nfs://filer/alpha"}},
			}, nil
		}),
		Update: siteagent.OrderProcessorFunc(func(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
			r, err := o.Resource(ctx)
			if err != nil {
				return siteagent.Result{}, err
			}
			seen.Store("update", r.BackendID)
			return siteagent.Result{}, nil
		}),
		Terminate: siteagent.OrderProcessorFunc(func(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
			r, err := o.Resource(ctx)
			if err != nil {
				return siteagent.Result{}, err
			}
			seen.Store("terminate", r.BackendID)
			return siteagent.Result{}, nil
		}),
	}
	start(t, f.config(p))
	waitOrders(t, f.s, []waldur.UUID{create, update, terminate}, waldur.OrderStateDone)

	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, f.s.Transitions(create))
	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, f.s.Transitions(update))
	assert.Equal(t, []string{"set_state_done"}, f.s.Transitions(terminate))

	o, _ := f.s.Order(create)
	r, _ := f.s.Resource(o.MarketplaceResourceUUID)
	assert.Equal(t, waldur.ResourceStateOK, r.State)
	assert.Equal(t, "vol-alpha", r.BackendID)
	assert.Equal(t, map[string]any{"pool": "fast"}, r.BackendMetadata)
	require.Len(t, r.Endpoints, 1)
	assert.Equal(t, "nfs://filer/alpha", r.Endpoints[0].URL)

	r, _ = f.s.Resource(existing)
	assert.Equal(t, int64(20), r.Limits["storage"])
	r, _ = f.s.Resource(doomed)
	assert.Equal(t, waldur.ResourceStateTerminated, r.State)

	for k, want := range map[string]any{"create": int64(100), "update": "vol-beta", "terminate": "vol-gamma"} {
		got, _ := seen.Load(k)
		assert.Equal(t, want, got, k)
	}
}

func TestAgentRegistersOnceAndHeartbeats(t *testing.T) {
	f := newFixture(t)
	cfg := f.config(&recorder{})
	cfg.HeartbeatInterval = 5 * time.Millisecond
	a := start(t, cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return f.s.CallCount("marketplace_site_agent_services_set_statistics") >= 2 }))

	ids := f.s.Identities()
	require.Len(t, ids, 1)
	assert.Equal(t, "agent-"+f.offering.String(), ids[0].Name)
	assert.Equal(t, f.offering, ids[0].Offering)
	assert.Equal(t, 1, f.s.CallCount("marketplace_site_agent_identities_create"))
	assert.Equal(t, 1, f.s.CallCount("marketplace_site_agent_identities_register_service"), "registration happens once per Run")
	procs := f.s.Processors()
	require.Len(t, procs, 1)
	assert.Equal(t, "recorder", procs[0].Name)
	assert.Equal(t, "go", procs[0].BackendType)
	assert.NotZero(t, a.Stats().LastHeartbeat)

	// An identity deleted in Waldur is registered again on the next heartbeat.
	req, err := f.s.HTTPClient().Do(mustRequest(t, "DELETE",
		f.s.URL()+"/api/marketplace-site-agent-identities/"+waldur.Hex(ids[0].UUID)+"/", f.s.Token()))
	require.NoError(t, err)
	req.Body.Close()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return len(f.s.Identities()) == 1 && f.s.Identities()[0].UUID != ids[0].UUID }))
}

func TestAgentUpdatesAnExistingIdentity(t *testing.T) {
	f := newFixture(t)
	c := f.s.Client()
	_, err := c.Agents.CreateIdentity(context.Background(), waldur.AgentIdentityRequest{Offering: f.offering, Name: "agent-" + f.offering.String()})
	require.NoError(t, err)
	cfg := f.config(&recorder{})
	cfg.Version = "1.2.3"
	start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return len(f.s.Processors()) == 1 }))
	ids := f.s.Identities()
	require.Len(t, ids, 1, "the identity is found by name, not created twice")
	require.NotNil(t, ids[0].Version)
	assert.Equal(t, "1.2.3", *ids[0].Version)
	assert.NotEmpty(t, ids[0].Dependencies)
}

func TestRunFailsOnRejectedToken(t *testing.T) {
	f := newFixture(t)
	cfg := f.config(&recorder{})
	cfg.Token = "not-the-token"
	a, err := siteagent.New(cfg)
	require.NoError(t, err)
	err = a.Run(context.Background())
	require.ErrorIs(t, err, siteagent.ErrUnauthorized)
	assert.NotContains(t, err.Error(), f.s.Token())
}

func TestRunRetriesUnreachableWaldurUntilCancelled(t *testing.T) {
	f := newFixture(t)
	f.s.FailNext("users_me_retrieve", 503, 1000)
	cfg := f.config(&recorder{})
	a, err := siteagent.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	require.NoError(t, f.s.WaitFor(wctx, func() bool { return f.s.CallCount("users_me_retrieve") >= 3 }))
	assert.False(t, a.Ready())
	cancel()
	assert.NoError(t, <-done, "a cancelled start is a clean stop")
}

func TestPermanentErrorsAndPanicsErrTheOrder(t *testing.T) {
	f := newFixture(t)
	permanent := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Attributes: map[string]any{"name": "quota"}})
	panicky := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Attributes: map[string]any{"name": "panic"}})
	flaky := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Attributes: map[string]any{"name": "flaky"}})

	var flakyCalls atomic.Int32
	p := &recorder{fn: func(_ context.Context, o *siteagent.Order) (siteagent.Result, error) {
		switch o.Attributes["name"] {
		case "quota":
			return siteagent.Result{}, siteagent.Permanentf("project quota of %d TB exceeded", 5)
		case "panic":
			var m map[string]int
			m["boom"]++ // a nil-map panic in user code
		case "flaky":
			if flakyCalls.Add(1) < 3 {
				return siteagent.Result{}, errors.New("backend busy")
			}
		}
		return siteagent.Result{BackendID: "ok"}, nil
	}}
	cfg := f.config(p)
	cfg.ErrorTraceback = true
	a := start(t, cfg)
	waitOrders(t, f.s, []waldur.UUID{permanent, panicky}, waldur.OrderStateErred)
	waitOrders(t, f.s, []waldur.UUID{flaky}, waldur.OrderStateDone)

	o, _ := f.s.Order(permanent)
	assert.Equal(t, "project quota of 5 TB exceeded", o.ErrorMessage)
	o, _ = f.s.Order(panicky)
	assert.Regexp(t, `^internal error in the site agent \(log id [0-9a-f]{8}\)$`, o.ErrorMessage)
	assert.Empty(t, o.ErrorTraceback, "a panic's stack goes to the log only")
	assert.Equal(t, []string{"approve_by_provider", "set_state_erred"}, f.s.Transitions(permanent))
	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, f.s.Transitions(flaky))
	assert.Equal(t, 3, p.count(flaky), "a transient error is retried until it succeeds")
	assert.Equal(t, 1, p.count(permanent), "a permanent error is not retried")
	st := a.Stats()
	assert.Equal(t, int64(2), st.OrdersErred)
	assert.GreaterOrEqual(t, st.OrdersRetried, int64(2))
}

func TestEvaluatorDecidesPendingOrders(t *testing.T) {
	f := newFixture(t)
	small := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Limits: map[string]int64{"storage": 10}})
	huge := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Limits: map[string]int64{"storage": 10_000}})
	later := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Limits: map[string]int64{"storage": 500}})

	var evaluated atomic.Int32
	p := siteagent.OrderTypes{
		Create: &recorder{},
		Evaluator: siteagent.OrderEvaluatorFunc(func(_ context.Context, o *siteagent.Order) (siteagent.Decision, error) {
			evaluated.Add(1)
			switch n := o.Limits["storage"]; {
			case n > 1000:
				return siteagent.Reject(fmt.Sprintf("%d TB is more than we have", n)), nil
			case n > 100:
				return siteagent.KeepPending(), nil
			}
			return siteagent.Accept(), nil
		}),
	}
	start(t, f.config(p))
	waitOrders(t, f.s, []waldur.UUID{small}, waldur.OrderStateDone)
	waitOrders(t, f.s, []waldur.UUID{huge}, waldur.OrderStateRejected)
	// The kept order is evaluated again on later passes and stays pending.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return evaluated.Load() >= 5 }))

	o, _ := f.s.Order(huge)
	assert.Equal(t, "10000 TB is more than we have", o.ProviderRejectionComment)
	o, _ = f.s.Order(later)
	assert.Equal(t, waldur.OrderStatePendingProvider, o.State)
	assert.Empty(t, f.s.Transitions(later))
}

func TestAsynchronousProcessorIsAskedAgainUntilDone(t *testing.T) {
	f := newFixture(t)
	id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering})
	var asked atomic.Int32
	p := &recorder{fn: func(_ context.Context, o *siteagent.Order) (siteagent.Result, error) {
		switch asked.Add(1) {
		case 1:
			return siteagent.InProgress("job-42"), nil
		case 2:
			if o.BackendOrderID != "job-42" {
				return siteagent.Result{}, siteagent.Permanentf("lost the job id: %q", o.BackendOrderID)
			}
			return siteagent.InProgress("job-42"), nil
		}
		return siteagent.Result{BackendID: "vol-async"}, nil
	}}
	start(t, f.config(p))
	waitOrders(t, f.s, []waldur.UUID{id}, waldur.OrderStateDone)
	o, _ := f.s.Order(id)
	assert.Equal(t, "job-42", o.BackendID)
	assert.Equal(t, 1, f.s.CallCount("marketplace_orders_set_backend_id"), "an unchanged backend order id is not written again")
	r, _ := f.s.Resource(o.MarketplaceResourceUUID)
	assert.Equal(t, "vol-async", r.BackendID)
}

func TestUnsupportedOrderTypeErrsTheOrder(t *testing.T) {
	f := newFixture(t)
	res := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering})
	id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Type: "Terminate", Resource: res})
	start(t, f.config(siteagent.OrderTypes{Create: &recorder{}}))
	waitOrders(t, f.s, []waldur.UUID{id}, waldur.OrderStateErred)
	o, _ := f.s.Order(id)
	assert.Contains(t, o.ErrorMessage, "Terminate")
}

func mustRequest(t *testing.T, method, url, token string) *http.Request {
	t.Helper()
	req, err := http.NewRequest(method, url, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Token "+token)
	return req
}
