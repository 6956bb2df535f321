package siteagent_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// chanSource is an EventSource fed by the test. Each delivery reports the
// handler's result on its own channel.
type chanSource struct {
	ch    chan delivery
	ready chan struct{}
}

type delivery struct {
	e    siteagent.Event
	done chan error
}

func newChanSource() *chanSource {
	return &chanSource{ch: make(chan delivery), ready: make(chan struct{})}
}

func (s *chanSource) Run(ctx context.Context, h siteagent.EventHandler) error {
	close(s.ready)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		select {
		case <-ctx.Done():
			return nil
		case d := <-s.ch:
			wg.Add(1)
			go func() {
				defer wg.Done()
				d.done <- h(ctx, d.e)
			}()
		}
	}
}

// send delivers e and returns a channel with the handler's result.
func (s *chanSource) send(e siteagent.Event) <-chan error {
	d := delivery{e: e, done: make(chan error, 1)}
	s.ch <- d
	return d.done
}

func orderEvent(offering, order waldur.UUID, state waldur.OrderState) siteagent.Event {
	return siteagent.Event{
		ObjectType:   waldur.ObservableObjectTypeOrder,
		OfferingUUID: offering,
		Payload:      &siteagent.OrderEvent{OrderUUID: order, OrderState: state},
	}
}

func TestDuplicateAndStaleEventsApplyOneSetOfTransitions(t *testing.T) {
	f := newFixture(t)
	src := newChanSource()
	cfg := f.config(&recorder{})
	cfg.ReconcileInterval = time.Hour // only events drive the work here
	cfg.Events = siteagent.EventsConfig{Source: src}

	// The order is added after the agent's first reconciliation pass, so only
	// the events bring it.
	p := &recorder{}
	cfg.Orders = p
	a := start(t, cfg)
	<-src.ready
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return a.Stats().LastReconcile != time.Time{} }))
	id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering})

	// Ten copies of the same event at once.
	var results []<-chan error
	for range 10 {
		results = append(results, src.send(orderEvent(f.offering, id, waldur.OrderStatePendingProvider)))
	}
	for _, r := range results {
		require.NoError(t, <-r)
	}
	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, f.s.Transitions(id))
	assert.Equal(t, 1, p.count(id), "the processor ran once")

	// A stale event (it still says pending-provider) costs one read, no write.
	f.s.ResetCalls()
	require.NoError(t, <-src.send(orderEvent(f.offering, id, waldur.OrderStatePendingProvider)))
	assert.Equal(t, 1, len(f.s.Calls()))
	assert.Equal(t, 1, f.s.CallCount("marketplace_orders_retrieve"))

	// An event that says the order is done costs nothing at all.
	f.s.ResetCalls()
	require.NoError(t, <-src.send(orderEvent(f.offering, id, waldur.OrderStateDone)))
	assert.Empty(t, f.s.Calls())

	// Another offering's event is ignored without a call.
	require.NoError(t, <-src.send(orderEvent(waldur.UUID{1}, id, waldur.OrderStatePendingProvider)))
	assert.Empty(t, f.s.Calls())

	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, f.s.Transitions(id))
	st := a.Stats()
	assert.Equal(t, int64(13), st.EventsReceived)
	assert.Equal(t, int64(13), st.EventsProcessed)
}

func TestEventErrorIsReturnedToTheSource(t *testing.T) {
	f := newFixture(t)
	src := newChanSource()
	cfg := f.config(&recorder{})
	cfg.ReconcileInterval = time.Hour
	cfg.Events = siteagent.EventsConfig{Source: src}
	id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, State: "pending-consumer"})
	start(t, cfg)
	<-src.ready
	f.s.FailNext("marketplace_orders_retrieve", 404, 1)
	// 404 means gone or invisible: nothing to retry.
	require.NoError(t, <-src.send(orderEvent(f.offering, id, waldur.OrderStatePendingProvider)))
	f.s.FailNext("marketplace_orders_retrieve", 403, 1)
	assert.Error(t, <-src.send(orderEvent(f.offering, id, waldur.OrderStatePendingProvider)), "the source must redeliver")
}

func TestFaultyWaldurStillFinishesEveryOrderOnce(t *testing.T) {
	f := newFixture(t, waldurtest.WithFaults(waldurtest.Faults{
		ServerErrorRate: 0.2, RateLimitRate: 0.1, RetryAfter: time.Millisecond, Seed: 7,
	}))
	var ids []waldur.UUID
	for i := range 40 {
		typ := []string{"Create", "Update", "Terminate"}[i%3]
		spec := waldurtest.OrderSpec{Offering: f.offering, Type: typ}
		if i%4 == 0 {
			spec.State = "executing"
		}
		ids = append(ids, f.s.AddOrder(spec))
	}
	p := &recorder{}
	cfg := f.config(p)
	// Waldur's Retry-After (whole seconds) is honoured; other waits are short.
	cfg.Client = f.s.Client(waldur.WithRetryPolicy(waldur.RetryPolicy{MinWait: time.Millisecond, MaxWait: 2 * time.Second}))
	start(t, cfg)
	waitOrders(t, f.s, ids, waldur.OrderStateDone, waldur.OrderStateErred)

	injected := 0
	for _, c := range f.s.Calls() {
		if c.Injected {
			injected++
		}
	}
	assert.Greater(t, injected, 20, "faults were injected")
	for _, id := range ids {
		o, _ := f.s.Order(id)
		assert.Equal(t, waldur.OrderStateDone, o.State, "order %s erred: %s", id, o.ErrorMessage)
		tr := f.s.Transitions(id)
		assert.Equal(t, "set_state_done", tr[len(tr)-1])
		assert.LessOrEqual(t, len(tr), 2, "no transition twice: %v", tr)
		if len(tr) == 2 {
			assert.Equal(t, "approve_by_provider", tr[0])
		}
	}
}

func TestShutdownLetsInFlightWorkFinishThenCancels(t *testing.T) {
	f := newFixture(t)
	const n = 50
	var ids []waldur.UUID
	for range n {
		ids = append(ids, f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, State: "executing"}))
	}
	var started, cancelled atomic.Int32
	allStarted := make(chan struct{})
	p := &recorder{fn: func(ctx context.Context, _ *siteagent.Order) (siteagent.Result, error) {
		if started.Add(1) == n {
			close(allStarted)
		}
		<-ctx.Done() // a processor that only stops when told to
		cancelled.Add(1)
		return siteagent.Result{}, ctx.Err()
	}}
	cfg := f.config(p)
	cfg.Concurrency = n
	cfg.ShutdownTimeout = 50 * time.Millisecond
	a, err := siteagent.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	<-allStarted
	assert.Equal(t, int64(n), a.Stats().InFlight)
	cancel()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after the shutdown timeout")
	}
	assert.Equal(t, int32(n), cancelled.Load(), "in-flight work was cancelled after the timeout")
	for _, id := range ids {
		o, _ := f.s.Order(id)
		assert.Equal(t, waldur.OrderStateExecuting, o.State, "cancelled work leaves the order for the next run")
	}
	// goleak in TestMain checks that nothing was left running.
}

func TestShutdownWaitsForWorkThatFinishesInTime(t *testing.T) {
	f := newFixture(t)
	id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, State: "executing"})
	entered := make(chan struct{})
	release := make(chan struct{})
	p := &recorder{fn: func(ctx context.Context, _ *siteagent.Order) (siteagent.Result, error) {
		close(entered)
		<-release
		return siteagent.Result{BackendID: "late"}, ctx.Err()
	}}
	cfg := f.config(p)
	cfg.ShutdownTimeout = time.Minute
	a, err := siteagent.New(cfg)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	<-entered
	cancel()
	close(release)
	require.NoError(t, <-done)
	o, _ := f.s.Order(id)
	assert.Equal(t, waldur.OrderStateDone, o.State, "work in flight at cancellation completes")
}

func TestConfigValidation(t *testing.T) {
	valid := siteagent.Config{
		WaldurURL: "https://waldur.example.com", Token: "t",
		OfferingUUID: "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b", Orders: &recorder{},
	}
	_, err := siteagent.New(valid)
	require.NoError(t, err)
	tests := []struct {
		name  string
		edit  func(*siteagent.Config)
		field string
	}{
		{"no URL", func(c *siteagent.Config) { c.WaldurURL = "" }, "WaldurURL"},
		{"bad URL", func(c *siteagent.Config) { c.WaldurURL = "waldur.example.com" }, "WaldurURL"},
		{"no token", func(c *siteagent.Config) { c.Token = "" }, "Token"},
		{"no offering", func(c *siteagent.Config) { c.OfferingUUID = "" }, "OfferingUUID"},
		{"bad offering", func(c *siteagent.Config) { c.OfferingUUIDs = []string{"offering-1"} }, "OfferingUUID"},
		{"no processor", func(c *siteagent.Config) { c.Orders = nil }, "Orders"},
		{"negative timeout", func(c *siteagent.Config) { c.ShutdownTimeout = -time.Second }, "ShutdownTimeout"},
		{"negative concurrency", func(c *siteagent.Config) { c.Concurrency = -1 }, "Concurrency"},
		{"absurd concurrency", func(c *siteagent.Config) { c.Concurrency = 1 << 62 }, "Concurrency"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := valid
			tt.edit(&cfg)
			_, err := siteagent.New(cfg)
			require.ErrorIs(t, err, siteagent.ErrInvalidConfig)
			assert.Contains(t, err.Error(), tt.field)
		})
	}
}

func TestConfigAcceptsBothUUIDFormsAndDeduplicates(t *testing.T) {
	a, err := siteagent.New(siteagent.Config{
		WaldurURL: "https://waldur.example.com", Token: "t", Orders: &recorder{},
		OfferingUUID:  "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b",
		OfferingUUIDs: []string{"0e4b7c2d-9f1a-4e3b-8c6d-5a4f3e2d1c0b", "77aa88bb99cc00dd11ee22ff33445566"},
	})
	require.NoError(t, err)
	assert.Len(t, a.Offerings(), 2)
}

func TestHealthHandler(t *testing.T) {
	f := newFixture(t)
	cfg := f.config(&recorder{})
	a, err := siteagent.New(cfg)
	require.NoError(t, err)
	h := a.HealthHandler()

	get := func(path string) (int, siteagent.Health) {
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest("GET", path, nil))
		var body siteagent.Health
		require.NoError(t, json.NewDecoder(strings.NewReader(rec.Body.String())).Decode(&body))
		return rec.Code, body
	}
	code, _ := get("/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "not alive before Run")

	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	wctx, wcancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer wcancel()
	require.NoError(t, f.s.WaitFor(wctx, func() bool { return a.Ready() }))

	code, body := get("/healthz")
	assert.Equal(t, http.StatusOK, code)
	code, body = get("/readyz")
	assert.Equal(t, http.StatusOK, code)
	assert.Equal(t, map[string]bool{"running": true, "waldur": true, "registered": true, "events": true}, body.Checks)

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest("GET", "/stats", nil))
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Contains(t, rec.Body.String(), `"orders_done"`)
	cancel()
	require.NoError(t, <-done)
	code, _ = get("/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "not alive after Run")
}

func TestSlowProcessorIsNotCalledAgainByLaterPasses(t *testing.T) {
	f := newFixture(t)
	var ids []waldur.UUID
	for range 5 {
		ids = append(ids, f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, State: "executing"}))
	}
	release := make(chan struct{})
	p := &recorder{fn: func(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
		<-release
		return siteagent.Result{BackendID: "slow"}, nil
	}}
	cfg := f.config(p)
	cfg.ReconcileInterval = time.Millisecond
	start(t, cfg)
	// Several passes list the orders while their processors still run.
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return f.s.CallCount("marketplace_orders_list") >= 5 }))
	close(release)
	waitOrders(t, f.s, ids, waldur.OrderStateDone)
	for _, id := range ids {
		assert.Equal(t, 1, p.count(id), "a processor runs once per order, however many passes saw it pending")
	}
}
