package siteagent_test

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/siteagenttest"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// Tests of the agent against Waldur behaviour read in its server code
// ("Corrections from the server code" in the facts).

// jsonLogger logs to b in JSON, for tests that read records back.
func (b *logBuffer) jsonLogger() *slog.Logger {
	return slog.New(slog.NewJSONHandler(b, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// records returns the records whose message contains msg.
func (b *logBuffer) records(t *testing.T, msg string) []map[string]any {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []map[string]any
	for _, line := range strings.Split(strings.TrimSpace(b.buf.String()), "\n") {
		var rec map[string]any
		require.NoError(t, json.Unmarshal([]byte(line), &rec), line)
		if m, _ := rec["msg"].(string); strings.Contains(m, msg) {
			out = append(out, rec)
		}
	}
	return out
}

func waitFor(t *testing.T, s *waldurtest.Server, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, s.WaitFor(ctx, cond))
}

// passes waits until the agent has listed orders n more times.
func passes(t *testing.T, s *waldurtest.Server, n int) {
	t.Helper()
	target := s.CallCount("marketplace_orders_list") + n
	waitFor(t, s, func() bool { return s.CallCount("marketplace_orders_list") >= target })
}

// Waldur's 405 for an offering type is final: the agent logs it once per
// offering and action with the type, counts it, and does not process or
// retry the order again.
func TestOrderActionRefusedForOfferingTypeIsNotRetried(t *testing.T) {
	for _, tc := range []struct {
		typ, action string
		fail        bool // the processor fails for good, so the agent marks the order erred
	}{
		{"Marketplace.Basic", "set_state_erred", true},
		{"Marketplace.Script", "set_state_done", false},
	} {
		t.Run(tc.typ, func(t *testing.T) {
			s := waldurtest.NewServer(t)
			off := s.AddOffering(waldurtest.OfferingSpec{Type: tc.typ})
			orders := []waldur.UUID{s.AddOrder(waldurtest.OrderSpec{Offering: off}), s.AddOrder(waldurtest.OrderSpec{Offering: off})}
			var logs logBuffer
			p := &recorder{fn: func(context.Context, *siteagent.Order) (siteagent.Result, error) {
				if tc.fail {
					return siteagent.Result{}, siteagent.Permanentf("no capacity")
				}
				return siteagent.Result{}, nil
			}}
			cfg := siteagenttest.Config(s, off)
			cfg.Orders = p
			cfg.Logger = logs.jsonLogger()
			a := siteagenttest.Start(t, cfg)

			waitFor(t, s, func() bool { return a.Stats().OrdersRefused == 2 })
			passes(t, s, 3)
			for _, id := range orders {
				assert.Equal(t, 1, p.count(id), "a refused order is not processed again")
				o, _ := s.Order(id)
				assert.Equal(t, waldur.OrderStateExecuting, o.State, "Waldur keeps it executing")
				assert.Equal(t, []string{"approve_by_provider"}, s.Transitions(id))
			}
			st := a.Stats()
			assert.Equal(t, int64(2), st.OrdersRefused)
			assert.Zero(t, st.OrdersDone+st.OrdersErred)

			refused := logs.records(t, "Waldur refuses "+tc.action)
			require.Len(t, refused, 1, "logged once per offering and action")
			assert.Equal(t, tc.typ, refused[0]["offering_type"])
			assert.Equal(t, "ERROR", refused[0]["level"])
			warned := logs.records(t, "Waldur refuses order state actions for this offering type")
			require.Len(t, warned, 1, "the start warns about the offering type")
			assert.Equal(t, tc.typ, warned[0]["offering_type"])
		})
	}
}

// A Slurm offering gets no start warning.
func TestNoOfferingTypeWarningForSlurm(t *testing.T) {
	f := newFixture(t)
	var logs logBuffer
	cfg := f.config(&recorder{})
	cfg.Logger = logs.jsonLogger()
	a := start(t, cfg)
	waitFor(t, f.s, func() bool { return !a.Stats().LastReconcile.IsZero() })
	assert.Empty(t, logs.records(t, "offering type"))
}

// An approved order with a future start date is pending-start-date, not
// executing: the agent leaves it until Waldur moves it on.
func TestApprovedOrderWaitingForItsStartDateIsNotProcessed(t *testing.T) {
	clk := waldurtest.NewClock(time.Now())
	s := waldurtest.NewServer(t, waldurtest.WithClock(clk.Now))
	off := s.AddOffering(waldurtest.OfferingSpec{})
	id := s.AddOrder(waldurtest.OrderSpec{Offering: off, StartDate: clk.Now().Add(24 * time.Hour)})
	p := &recorder{}
	cfg := siteagenttest.Config(s, off)
	cfg.Orders = p
	start(t, cfg)

	waitFor(t, s, func() bool { return len(s.Transitions(id)) == 1 })
	passes(t, s, 3)
	o, _ := s.Order(id)
	assert.Equal(t, waldur.OrderStatePendingStartDate, o.State)
	assert.Zero(t, p.count(id), "not processed before its start date")
	assert.Equal(t, 1, s.CallCount("marketplace_orders_approve_by_provider"))

	clk.Add(48 * time.Hour)
	require.Equal(t, []waldur.UUID{id}, s.StartDueOrders())
	waitOrders(t, s, []waldur.UUID{id}, waldur.OrderStateDone)
	assert.Equal(t, 1, p.count(id))
	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, s.Transitions(id))
}

// set_state_erred carries both keys, the traceback empty unless
// ErrorTraceback is set; Waldur reads both.
func TestSetStateErredSendsMessageAndTraceback(t *testing.T) {
	f := newFixture(t)
	id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering})
	start(t, f.config(&recorder{fn: func(context.Context, *siteagent.Order) (siteagent.Result, error) {
		return siteagent.Result{}, siteagent.Permanentf("no capacity")
	}}))
	waitOrders(t, f.s, []waldur.UUID{id}, waldur.OrderStateErred)
	var body map[string]any
	for _, c := range f.s.Calls() {
		if c.OperationID == "marketplace_orders_set_state_erred" {
			require.NoError(t, json.Unmarshal(c.Body, &body))
		}
	}
	assert.Equal(t, map[string]any{"error_message": "no capacity", "error_traceback": ""}, body)
}

// What reaches Waldur of a failure is bounded; a panic is a fixed message
// with a log id, its value and stack only in the log.
func TestPanicsAndLongErrorsReachWaldurBounded(t *testing.T) {
	f := newFixture(t)
	panicky := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Attributes: map[string]any{"name": "panic"}})
	long := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Attributes: map[string]any{"name": "long"}})
	rejected := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Attributes: map[string]any{"name": "reject"}})
	huge := strings.Repeat("é", 100_000)
	var logs logBuffer
	p := siteagent.OrderTypes{
		Create: siteagent.OrderProcessorFunc(func(_ context.Context, o *siteagent.Order) (siteagent.Result, error) {
			if o.Attributes["name"] == "panic" {
				panic("secret=hunter2")
			}
			return siteagent.Result{}, siteagent.Permanent(errors.New(huge))
		}),
		Evaluator: siteagent.OrderEvaluatorFunc(func(_ context.Context, o *siteagent.Order) (siteagent.Decision, error) {
			if o.Attributes["name"] == "reject" {
				return siteagent.Reject(huge), nil
			}
			return siteagent.Accept(), nil
		}),
	}
	cfg := f.config(p)
	cfg.ErrorTraceback = true
	cfg.Logger = logs.jsonLogger()
	a := start(t, cfg)
	waitOrders(t, f.s, []waldur.UUID{panicky, long}, waldur.OrderStateErred)
	waitOrders(t, f.s, []waldur.UUID{rejected}, waldur.OrderStateRejected)

	o, _ := f.s.Order(panicky)
	require.Regexp(t, `^internal error in the site agent \(log id [0-9a-f]{8}\)$`, o.ErrorMessage)
	assert.Empty(t, o.ErrorTraceback)
	logID := strings.TrimSuffix(strings.TrimPrefix(o.ErrorMessage, "internal error in the site agent (log id "), ")")
	panics := logs.records(t, "processor panicked")
	require.Len(t, panics, 1)
	assert.Equal(t, logID, panics[0]["log_id"])
	assert.Equal(t, "secret=hunter2", panics[0]["panic"])
	assert.Contains(t, panics[0]["stack"], "dialect_test.go", "the log has the stack")
	assert.NotContains(t, a.Stats().LastError, "hunter2", "Stats go to Waldur with set_statistics")
	assert.LessOrEqual(t, len(a.Stats().LastError), siteagent.MaxErrorMessage)

	o, _ = f.s.Order(long)
	assert.LessOrEqual(t, len(o.ErrorMessage), siteagent.MaxErrorMessage)
	assert.True(t, strings.HasSuffix(o.ErrorMessage, "… (truncated)"))
	assert.True(t, strings.HasPrefix(o.ErrorMessage, "éé"))
	assert.LessOrEqual(t, len(o.ErrorTraceback), siteagent.MaxErrorTraceback)
	assert.NotEmpty(t, o.ErrorTraceback)

	o, _ = f.s.Order(rejected)
	assert.LessOrEqual(t, len(o.ProviderRejectionComment), siteagent.MaxErrorMessage)
	assert.True(t, strings.HasSuffix(o.ProviderRejectionComment, "… (truncated)"))
}

type statusOnly struct{}

func (statusOnly) BackendStatus(context.Context, *waldur.Resource) (siteagent.BackendStatus, error) {
	return siteagent.BackendStatus{}, nil
}

type noMembers struct{}

func (noMembers) ListMembers(context.Context, *waldur.Resource) ([]siteagent.Member, error) {
	return nil, nil
}
func (noMembers) AddMembers(context.Context, *waldur.Resource, []siteagent.Member) error { return nil }
func (noMembers) RemoveMembers(context.Context, *waldur.Resource, []siteagent.Member) error {
	return nil
}

// A successful resource sync refreshes last_sync when it is old, so
// Waldur's resync stops pushing the resource; fresh resources cost no call.
func TestResourceSyncRefreshesLastSync(t *testing.T) {
	for _, tc := range []struct {
		name string
		set  func(*siteagent.Config)
	}{
		{"resource status", func(c *siteagent.Config) { c.ResourceStatus = statusOnly{} }},
		{"membership only", func(c *siteagent.Config) { c.Membership = noMembers{} }},
		{"both", func(c *siteagent.Config) { c.ResourceStatus = statusOnly{}; c.Membership = noMembers{} }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := waldurtest.NewServer(t)
			off := s.AddOffering(waldurtest.OfferingSpec{})
			stale := s.AddResource(waldurtest.ResourceSpec{Offering: off, LastSync: time.Now().Add(-2 * time.Hour)})
			s.AddResource(waldurtest.ResourceSpec{Offering: off})
			require.Equal(t, []waldur.UUID{stale}, s.SyncStaleResources(), "Waldur's resync pushes the stale one")
			cfg := siteagenttest.Config(s, off)
			tc.set(&cfg)
			a := start(t, cfg)

			waitFor(t, s, func() bool {
				r, _ := s.Resource(stale)
				return time.Since(r.LastSync) < time.Minute
			})
			target := s.CallCount("marketplace_provider_resources_list") + 4
			waitFor(t, s, func() bool { return s.CallCount("marketplace_provider_resources_list") >= target })
			assert.Empty(t, s.SyncStaleResources(), "refreshed: no longer pushed")
			assert.Equal(t, 1, s.CallCount("marketplace_provider_resources_refresh_last_sync"),
				"one refresh for the stale resource, none for the fresh one or on later passes")
			assert.Equal(t, int64(1), a.Stats().ResourcesSynced)
		})
	}
}

// offering_user events carry the state as Waldur's FSM integer; the agent
// reads it as the name, so a username_set event for an OK user needs no read.
func TestOfferingUserEventWithIntegerState(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{PluginOptions: map[string]any{
		"service_provider_can_create_offering_user": true, "username_generation_policy": "service_provider",
	}})
	id := s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: off, Username: "u0"}) // OK: not in the agent's passes
	src := newChanSource()
	cfg := siteagenttest.Config(s, off)
	cfg.OfferingUsers = siteagent.OfferingUserProcessorFunc(func(context.Context, *waldur.OfferingUser) (siteagent.Account, error) {
		return siteagent.Account{}, errors.New("not expected")
	})
	cfg.ReconcileInterval, cfg.SyncInterval = time.Hour, time.Hour
	cfg.Events = siteagent.EventsConfig{Source: src}
	a := start(t, cfg)
	<-src.ready
	waitFor(t, s, func() bool { return a.Ready() })

	err := s.Client().OfferingUsers.SetUsername(context.Background(), id, "u1")
	require.NoError(t, err)
	evs := s.Events()
	last := evs[len(evs)-1]
	require.Equal(t, "offering_user", last.ObjectType)
	body, err := json.Marshal(last.Payload)
	require.NoError(t, err)
	require.Contains(t, string(body), `"state":5`)
	e, err := siteagent.DecodeEvent(body, "")
	require.NoError(t, err)
	require.Equal(t, string(waldur.OfferingUserStateOK), e.Payload.(*siteagent.OfferingUserEvent).State)

	s.ResetCalls()
	require.NoError(t, <-src.send(e))
	assert.Zero(t, s.CallCount("marketplace_offering_users_retrieve"), "the event's state suffices")
}

// Usage lands in the agent's month when Waldur runs in another time zone:
// Waldur files it under the month of the date in its own zone, and the first
// instant of the month in UTC is still the previous month in New York.
func TestUsageLandsInTheMonthWhateverWaldursTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	s := waldurtest.NewServer(t, waldurtest.WithTimeZone(ny))
	off := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{{Type: "cpu"}}})
	s.AddResource(waldurtest.ResourceSpec{Offering: off})
	var month time.Time
	var mu sync.Mutex
	cfg := siteagenttest.Config(s, off)
	cfg.UsagePeriods = 1
	cfg.Usage = siteagent.UsageReporterFunc(func(_ context.Context, _ *waldur.Resource, p siteagent.Period) (siteagent.Usage, error) {
		mu.Lock()
		month = p.Start
		mu.Unlock()
		return siteagent.Usage{Totals: map[string]float64{"cpu": 7}}, nil
	})
	start(t, cfg)
	waitFor(t, s, func() bool { return len(s.ComponentUsages()) == 1 })
	u := s.ComponentUsages()[0]
	mu.Lock()
	defer mu.Unlock()
	assert.Equal(t, month.Format("2006-01-02"), u.BillingPeriod.String(), "Waldur's month is the agent's")
}

func TestDecodeOfferingUserState(t *testing.T) {
	for _, tc := range []struct{ state, want string }{
		{`1`, "Requested"}, {`5`, "OK"}, {`9`, "Error creating"}, {`10`, "Error deleting"},
		{`"OK"`, "OK"}, {`"Creating"`, "Creating"},
		{`0`, ""}, {`11`, ""}, {`5.0`, ""}, {`null`, ""}, {`true`, ""},
	} {
		body := `{"object_type":"offering_user","offering_user_uuid":"5d0f0a8c2a7e4b51a1f3c6d7e8f90a12","action":"username_set","state":` + tc.state + `}`
		e, err := siteagent.DecodeEvent([]byte(body), "")
		require.NoError(t, err, tc.state)
		assert.Equal(t, tc.want, e.Payload.(*siteagent.OfferingUserEvent).State, "state %s", tc.state)
	}
}
