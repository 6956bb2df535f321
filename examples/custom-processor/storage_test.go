package main

import (
	"context"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"sync"
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

// env is a fake Waldur with a storage offering and a project in which alice
// and bob (offering usernames alice01 and bob01) are members and carol
// (carol01) is not yet, and an agent serving the offering with a storage
// under a temporary root.
type env struct {
	t        *testing.T
	s        *waldurtest.Server
	st       *storage
	agent    *siteagent.Agent
	offering waldur.UUID
	project  waldur.UUID
	users    map[string]waldur.UUID
}

// start starts the env's agent; adjust, if not nil, changes its config first.
func start(t *testing.T, adjust func(*siteagent.Config)) *env {
	s := waldurtest.NewServer(t)
	st, err := newStorage(t.TempDir(), 1000)
	require.NoError(t, err)
	e := &env{t: t, s: s, st: st, users: make(map[string]waldur.UUID)}
	e.offering = s.AddOffering(waldurtest.OfferingSpec{
		Components: []waldurtest.ComponentSpec{{Type: component, MeasuredUnit: "GB", BillingType: "limit"}},
	})
	e.project = s.AddProject(waldurtest.ProjectSpec{})
	for _, name := range []string{"alice", "bob", "carol"} {
		u := s.AddUser(waldurtest.UserSpec{Username: name})
		s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: e.offering, User: u, Username: name + "01"})
		if name != "carol" {
			s.AddProjectMember(e.project, u, "")
		}
		e.users[name] = u
	}

	cfg := st.agentConfig()
	cfg.WaldurURL, cfg.Token, cfg.OfferingUUID = s.URL(), s.Token(), e.offering.String()
	cfg.Events.Mode = siteagent.EventsPolling
	cfg.ReconcileInterval, cfg.SyncInterval, cfg.UsageInterval = 20*time.Millisecond, 20*time.Millisecond, 20*time.Millisecond
	cfg.RetryBackoff = 10 * time.Millisecond
	if adjust != nil {
		adjust(&cfg)
	}
	e.agent = siteagenttest.Start(t, cfg)
	return e
}

// waitFor waits until cond holds, failing the test after 30 seconds.
func (e *env) waitFor(what string, cond func() bool) {
	e.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(e.t, e.s.WaitFor(ctx, cond), "waiting for %s", what)
}

// order places an order of the env's offering and project and returns it
// once finished.
func (e *env) order(spec waldurtest.OrderSpec) waldur.Order {
	e.t.Helper()
	spec.Offering, spec.Project = e.offering, e.project
	id := e.s.AddOrder(spec)
	var o waldur.Order
	e.waitFor("the order to finish", func() bool {
		o, _ = e.s.Order(id)
		return finished(o.State)
	})
	return o
}

// space orders a space and returns its resource and directory.
func (e *env) space(quotaGB int64) (waldur.UUID, string) {
	e.t.Helper()
	o := e.order(waldurtest.OrderSpec{Limits: map[string]int64{component: quotaGB}})
	require.Equal(e.t, waldur.OrderStateDone, o.State, o.ErrorMessage)
	r, _ := e.s.Resource(o.MarketplaceResourceUUID)
	return r.UUID, filepath.Join(e.st.root, r.BackendID)
}

func (e *env) meta(dir string) spaceMeta {
	e.t.Helper()
	m, err := load(dir)
	require.NoError(e.t, err)
	return m
}

// members lists a space's members, or nil when it cannot be read.
func members(dir string) []string {
	m, err := load(dir)
	if err != nil {
		return nil
	}
	return slices.Sorted(maps.Keys(m.Members))
}

func TestOrdersCreateResizeAndRemoveASpace(t *testing.T) {
	e := start(t, nil)

	created := e.order(waldurtest.OrderSpec{Attributes: map[string]any{"name": "results"}, Limits: map[string]int64{component: 100}})
	require.Equal(t, waldur.OrderStateDone, created.State, created.ErrorMessage)
	r, _ := e.s.Resource(created.MarketplaceResourceUUID)
	dir := filepath.Join(e.st.root, r.BackendID)
	assert.Equal(t, "space-"+waldur.Hex(r.UUID)[:12], r.BackendID)
	assert.Equal(t, spaceMeta{Resource: r.UUID.String(), QuotaGB: 100}, e.meta(dir))
	assert.DirExists(t, filepath.Join(dir, usersDir))
	assert.Equal(t, "file://"+dir, r.Endpoints[0].URL)
	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, e.s.Transitions(created.UUID))

	updated := e.order(waldurtest.OrderSpec{Type: "Update", Resource: r.UUID, Limits: map[string]int64{component: 250}})
	require.Equal(t, waldur.OrderStateDone, updated.State, updated.ErrorMessage)
	assert.EqualValues(t, 250, e.meta(dir).QuotaGB)
	r, _ = e.s.Resource(r.UUID)
	assert.EqualValues(t, 250, r.Limits[component])

	terminated := e.order(waldurtest.OrderSpec{Type: "Terminate", Resource: r.UUID})
	require.Equal(t, waldur.OrderStateDone, terminated.State, terminated.ErrorMessage)
	assert.NoDirExists(t, dir)
}

func TestOrdersThatCannotBeCarriedOut(t *testing.T) {
	tests := []struct {
		name string
		// order returns the order to place, after any preparation.
		order     func(e *env) waldurtest.OrderSpec
		wantState waldur.OrderState
		wantMsg   string // in the rejection comment or error message
	}{{
		name: "a quota above the maximum is rejected",
		order: func(*env) waldurtest.OrderSpec {
			return waldurtest.OrderSpec{Limits: map[string]int64{component: 5000}}
		},
		wantState: waldur.OrderStateRejected, wantMsg: "at most 1000 GB",
	}, {
		name:      "a space without a quota is rejected",
		order:     func(*env) waldurtest.OrderSpec { return waldurtest.OrderSpec{} },
		wantState: waldur.OrderStateRejected, wantMsg: "at least 1 GB",
	}, {
		name: "an approved quota above the maximum errs",
		order: func(*env) waldurtest.OrderSpec {
			return waldurtest.OrderSpec{State: "executing", Limits: map[string]int64{component: 5000}}
		},
		wantState: waldur.OrderStateErred, wantMsg: "at most 1000 GB",
	}, {
		name: "shrinking below the data held errs",
		order: func(e *env) waldurtest.OrderSpec {
			r, dir := e.space(10)
			require.NoError(e.t, writeSparse(filepath.Join(dir, "data"), 2*gb))
			return waldurtest.OrderSpec{Type: "Update", Resource: r, Limits: map[string]int64{component: 1}}
		},
		wantState: waldur.OrderStateErred, wantMsg: "holds 2.00 GB",
	}, {
		name: "a backend id that is a path errs",
		order: func(e *env) waldurtest.OrderSpec {
			r := e.s.AddResource(waldurtest.ResourceSpec{Offering: e.offering, Project: e.project, BackendID: "../etc"})
			return waldurtest.OrderSpec{Type: "Terminate", Resource: r}
		},
		wantState: waldur.OrderStateErred, wantMsg: "not a space name",
	}, {
		name: "another resource's space is not removed",
		order: func(e *env) waldurtest.OrderSpec {
			_, dir := e.space(10)
			r := e.s.AddResource(waldurtest.ResourceSpec{Offering: e.offering, Project: e.project, BackendID: filepath.Base(dir)})
			return waldurtest.OrderSpec{Type: "Terminate", Resource: r}
		},
		wantState: waldur.OrderStateErred, wantMsg: "belongs to resource",
	}, {
		name: "removing a missing space succeeds",
		order: func(e *env) waldurtest.OrderSpec {
			r := e.s.AddResource(waldurtest.ResourceSpec{Offering: e.offering, Project: e.project, BackendID: "space-gone"})
			return waldurtest.OrderSpec{Type: "Terminate", Resource: r}
		},
		wantState: waldur.OrderStateDone,
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := start(t, nil)
			spec := tt.order(e)
			before, err := os.ReadDir(e.st.root)
			require.NoError(t, err)

			o := e.order(spec)

			assert.Equal(t, tt.wantState, o.State)
			assert.Contains(t, o.ErrorMessage+o.ProviderRejectionComment, tt.wantMsg)
			after, err := os.ReadDir(e.st.root)
			require.NoError(t, err)
			assert.Equal(t, before, after, "spaces changed")
		})
	}
}

// The agent may hand a processor the same order again (a crash before the
// order was marked done, a duplicate event); here the processor runs each
// Create twice in a row.
func TestCreateTwiceMakesOneSpace(t *testing.T) {
	var (
		mu      sync.Mutex
		results []siteagent.Result
	)
	e := start(t, func(cfg *siteagent.Config) {
		orders := cfg.Orders.(siteagent.OrderTypes)
		create := orders.Create
		orders.Create = siteagent.OrderProcessorFunc(func(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
			var res siteagent.Result
			for range 2 {
				var err error
				if res, err = create.ProcessOrder(ctx, o); err != nil {
					return res, err
				}
				mu.Lock()
				results = append(results, res)
				mu.Unlock()
			}
			return res, nil
		})
		cfg.Orders = orders
	})

	o := e.order(waldurtest.OrderSpec{Limits: map[string]int64{component: 100}})

	require.Equal(t, waldur.OrderStateDone, o.State, o.ErrorMessage)
	mu.Lock()
	defer mu.Unlock()
	require.GreaterOrEqual(t, len(results), 2, "the agent may call once more, for a listing made while it worked")
	for _, r := range results[1:] {
		assert.Equal(t, results[0], r)
	}
	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, e.s.Transitions(o.UUID))
	spaces, err := os.ReadDir(e.st.root)
	require.NoError(t, err)
	require.Len(t, spaces, 1)
	assert.Equal(t, results[0].BackendID, spaces[0].Name())
}

func TestMembershipFollowsTheProject(t *testing.T) {
	e := start(t, nil)
	_, dir := e.space(10)
	e.waitFor("the members to be added", func() bool { return slices.Equal(members(dir), []string{"alice01", "bob01"}) })
	assert.DirExists(t, filepath.Join(dir, usersDir, "alice01"))

	e.s.AddProjectMember(e.project, e.users["carol"], "")
	e.waitFor("carol01 to be added", func() bool { return slices.Contains(members(dir), "carol01") })

	e.s.RemoveProjectMember(e.project, e.users["alice"])
	e.waitFor("alice01 to be removed", func() bool { return slices.Equal(members(dir), []string{"bob01", "carol01"}) })
	assert.DirExists(t, filepath.Join(dir, usersDir, "alice01"), "a removed member's data is kept")
}

func TestUsageIsReportedOnce(t *testing.T) {
	e := start(t, nil)
	id, dir := e.space(10)
	e.waitFor("the members to be added", func() bool { return len(members(dir)) == 2 })
	require.NoError(t, writeSparse(filepath.Join(dir, usersDir, "alice01", "run.nc"), 3*gb/2))
	require.NoError(t, writeSparse(filepath.Join(dir, "shared", "README"), gb/4))

	// byUser returns the latest per-user usage reported for resource id.
	byUser := func() map[string]string {
		out := make(map[string]string)
		for _, rec := range e.s.ComponentUsages() {
			for _, u := range e.s.UserUsages() {
				if rec.ResourceUUID == id && u.ComponentUsage == rec.UUID {
					out[u.Username] = u.Usage
				}
			}
		}
		return out
	}
	e.waitFor("the usage to be reported", func() bool { return byUser()["alice01"] == "1.50" })
	records := e.s.ComponentUsages()
	require.Len(t, records, 1)
	assert.Equal(t, component, records[0].Type)
	assert.InDelta(t, 1.75, records[0].Usage, 0.001)
	assert.Equal(t, map[string]string{"alice01": "1.50", "bob01": "0.00"}, byUser())

	// Another pass finds Waldur up to date and writes nothing.
	setUsage := e.s.CallCount("marketplace_component_usages_set_usage")
	setUserUsages := e.s.CallCount("marketplace_component_usages_set_user_usages")
	unchanged := e.agent.Stats().UsageUnchanged
	e.waitFor("another usage pass", func() bool { return e.agent.Stats().UsageUnchanged > unchanged })
	assert.Equal(t, setUsage, e.s.CallCount("marketplace_component_usages_set_usage"))
	assert.Equal(t, setUserUsages, e.s.CallCount("marketplace_component_usages_set_user_usages"))
}

func TestPauseAndOperatorQuota(t *testing.T) {
	e := start(t, nil)
	id, dir := e.space(10)
	paused := func(want bool) func() bool {
		return func() bool { m, err := load(dir); return err == nil && m.Paused == want }
	}

	yes, no := true, false
	e.s.ChangeResource(id, waldurtest.ResourceChange{Paused: &yes})
	e.waitFor("the space to be paused", paused(true))
	e.s.ChangeResource(id, waldurtest.ResourceChange{Paused: &no})
	e.waitFor("the space to be restored", paused(false))

	// An operator raises the quota on the backend; Waldur's limits follow.
	require.NoError(t, e.st.change(dir, id, false, func(m *spaceMeta) error { m.QuotaGB = 30; return nil }))
	e.waitFor("Waldur's limits to follow", func() bool { r, _ := e.s.Resource(id); return r.Limits[component] == 30 })
}
