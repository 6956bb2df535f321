package siteagent

import (
	"context"
	"encoding/json"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	must "github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// These tests drive the usage capability's pass directly, so that "a second
// run" is exactly one more pass.

// meter is a UsageReporter that answers from a function and records the
// periods it was asked for.
type meter struct {
	mu       sync.Mutex
	asked    []string // "<resource name> <period>"
	fn       func(r *waldur.Resource, p Period) (Usage, error)
	decrease bool
}

func (m *meter) ReportUsage(_ context.Context, r *waldur.Resource, p Period) (Usage, error) {
	m.mu.Lock()
	m.asked = append(m.asked, r.Name+" "+p.String())
	m.mu.Unlock()
	return m.fn(r, p)
}

func (m *meter) questions() []string {
	m.mu.Lock()
	defer m.mu.Unlock()
	return slices.Clone(m.asked)
}

// decreasingMeter declares that its totals may go down.
type decreasingMeter struct{ *meter }

func (decreasingMeter) UsageMayDecrease() bool { return true }

type usageFixture struct {
	s        *waldurtest.Server
	offering waldur.UUID
	clock    *waldurtest.Clock
}

func newUsageFixture(t testing.TB, now time.Time, opts ...waldurtest.Option) *usageFixture {
	t.Helper()
	c := waldurtest.NewClock(now)
	s := waldurtest.NewServer(t, append([]waldurtest.Option{waldurtest.WithClock(c.Now)}, opts...)...)
	off := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{
		{Type: "cpu", BillingType: "usage"}, {Type: "ram", BillingType: "usage"}, {Type: "storage", BillingType: "limit"},
	}})
	return &usageFixture{s: s, offering: off, clock: c}
}

// agent returns an agent (never run) and its usage capability.
func (f *usageFixture) agent(t testing.TB, rep UsageReporter, edit func(*Config)) (*Agent, *usageWork) {
	t.Helper()
	cfg := Config{
		WaldurURL: f.s.URL(), Token: f.s.Token(), OfferingUUID: f.offering.String(),
		Usage: rep, Now: f.clock.Now, Events: EventsConfig{Mode: EventsPolling},
	}
	if edit != nil {
		edit(&cfg)
	}
	a, err := New(cfg)
	must.NoError(t, err)
	must.Len(t, a.caps, 1)
	return a, a.caps[0].(*usageWork)
}

func pass(w *usageWork) {
	ctx := context.Background()
	w.reconcile(ctx, ctx)
}

// writes returns the calls that changed something.
func writes(s *waldurtest.Server) []string {
	var out []string
	for _, c := range s.Calls() {
		if c.Method != "GET" && c.Method != "HEAD" {
			out = append(out, c.OperationID)
		}
	}
	return out
}

// usages returns Waldur's usage records as "<resource> <period> <type> <amount>".
func usages(s *waldurtest.Server) []string {
	names := map[waldur.UUID]string{}
	for _, r := range s.Resources() {
		names[r.UUID] = r.Name
	}
	var out []string
	for _, u := range s.ComponentUsages() {
		out = append(out, names[u.ResourceUUID]+" "+u.BillingPeriod.Format("2006-01")+" "+u.Type+" "+waldur.FormatAmount(u.Usage))
	}
	sort.Strings(out)
	return out
}

var mid = time.Date(2026, 8, 17, 15, 4, 5, 0, time.UTC)

func TestUsageSecondRunWritesNothing(t *testing.T) {
	f := newUsageFixture(t, mid)
	f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Name: "a"})
	f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Name: "b", State: "Erred"})
	f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Name: "gone", State: "Terminated"})
	alice := f.s.AddUser(waldurtest.UserSpec{Username: "alice"})
	f.s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: f.offering, User: alice, Username: "alice01"})
	m := &meter{fn: func(r *waldur.Resource, p Period) (Usage, error) {
		cpu := 10.004 // rounds to 10.00
		if p.Start.Month() == time.August {
			cpu = 20.456 // rounds to 20.46
		}
		return Usage{
			Totals: map[string]float64{"cpu": cpu, "ram": 512},
			ByUser: map[string]map[string]float64{"cpu": {"alice01": cpu - 4, "bob01": 4}},
		}, nil
	}}
	a, w := f.agent(t, m, nil)

	pass(w)
	assert.Equal(t, []string{
		"a 2026-07 cpu 10.00", "a 2026-07 ram 512.00", "a 2026-08 cpu 20.46", "a 2026-08 ram 512.00",
		"b 2026-07 cpu 10.00", "b 2026-07 ram 512.00", "b 2026-08 cpu 20.46", "b 2026-08 ram 512.00",
	}, usages(f.s))
	var bodies []map[string]any
	for _, c := range f.s.Calls() {
		if c.OperationID == "marketplace_component_usages_set_usage" {
			var b map[string]any
			must.NoError(t, json.Unmarshal(c.Body, &b))
			bodies = append(bodies, b)
		}
	}
	must.Len(t, bodies, 4, "one set_usage per resource and month, all components at once")
	dates := map[string]bool{}
	for _, b := range bodies {
		dates[b["date"].(string)] = true
		assert.Len(t, b["usages"], 2)
	}
	assert.Equal(t, map[string]bool{"2026-07-01T12:00:00Z": true, "2026-08-01T12:00:00Z": true}, dates)
	uu := f.s.UserUsages()
	must.Len(t, uu, 8)
	for _, u := range uu {
		if u.Username == "alice01" {
			assert.Contains(t, u.User, "/api/marketplace-offering-users/", "the offering user is named when known")
		} else {
			assert.Empty(t, u.User)
		}
	}
	assert.Equal(t, []string{"a 2026-07", "a 2026-08"}, filter(m.questions(), "a "), "oldest month first")

	// The second run reads and writes nothing.
	f.s.ResetCalls()
	pass(w)
	assert.Empty(t, writes(f.s))
	assert.Equal(t, map[string]int{
		"marketplace_provider_offerings_retrieve": 1,
		"marketplace_component_usages_list":       2, // one page per month
		"marketplace_provider_resources_list":     1,
	}, callCounts(f.s))
	for _, c := range f.s.Calls() {
		if c.OperationID == "marketplace_component_usages_list" {
			assert.Equal(t, waldur.Hex(f.offering), strings.ReplaceAll(c.Query.Get("offering_uuid"), "-", ""))
			assert.Equal(t, "300", c.Query.Get("page_size"))
		}
	}
	st := a.Stats()
	assert.Equal(t, int64(4), st.UsageReported)
	assert.Equal(t, int64(4), st.UserUsageReported)
	assert.Equal(t, int64(4), st.UsageUnchanged)
	assert.False(t, st.LastUsageReport.IsZero())
}

func filter(xs []string, prefix string) []string {
	var out []string
	for _, x := range xs {
		if strings.HasPrefix(x, prefix) {
			out = append(out, x)
		}
	}
	return out
}

func callCounts(s *waldurtest.Server) map[string]int {
	out := map[string]int{}
	for _, c := range s.Calls() {
		out[c.OperationID]++
	}
	return out
}

func TestUsageChangesAreReported(t *testing.T) {
	f := newUsageFixture(t, mid)
	f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Name: "a"})
	var mu sync.Mutex
	cpu, bob := 5.0, 1.0
	m := &meter{fn: func(*waldur.Resource, Period) (Usage, error) {
		mu.Lock()
		defer mu.Unlock()
		return Usage{Totals: map[string]float64{"cpu": cpu}, ByUser: map[string]map[string]float64{"cpu": {"bob01": bob}}}, nil
	}}
	_, w := f.agent(t, m, func(c *Config) { c.UsagePeriods = 1 })
	pass(w)
	f.s.ResetCalls()

	mu.Lock()
	bob = 2 // the total stays, one user's share changes
	mu.Unlock()
	pass(w)
	assert.Equal(t, []string{"marketplace_component_usages_set_user_usages"}, writes(f.s))

	f.s.ResetCalls()
	mu.Lock()
	cpu = 7.5
	mu.Unlock()
	pass(w)
	assert.Equal(t, []string{"marketplace_component_usages_set_usage"}, writes(f.s))
	assert.Equal(t, []string{"a 2026-08 cpu 7.50"}, usages(f.s))
}

func TestUsageDecreaseIsRefusedUnlessDeclared(t *testing.T) {
	f := newUsageFixture(t, mid)
	r := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Name: "a"})
	f.s.AddComponentUsage(waldurtest.UsageSpec{Resource: r, Type: "cpu", Amount: "100.00", Date: mid.AddDate(0, 0, -3)})
	f.s.AddComponentUsage(waldurtest.UsageSpec{Resource: r, Type: "ram", Amount: "8.00", Date: mid.AddDate(0, 0, -3)})
	ram := 8.0
	m := &meter{fn: func(*waldur.Resource, Period) (Usage, error) {
		return Usage{Totals: map[string]float64{"cpu": 90, "ram": ram}}, nil
	}}
	a, w := f.agent(t, m, func(c *Config) { c.UsagePeriods = 1 })
	f.s.ResetCalls()
	pass(w)
	assert.Empty(t, writes(f.s), "the lower total is not sent, and nothing else changed")
	assert.Equal(t, int64(1), a.Stats().UsageDecreaseRefused)

	// Another component grows: the report keeps Waldur's cpu total.
	ram = 16
	pass(w)
	assert.Equal(t, []string{"a 2026-08 cpu 100.00", "a 2026-08 ram 16.00"}, usages(f.s))

	// A reporter that declares decreasing usage normal is believed.
	_, w = f.agent(t, decreasingMeter{m}, func(c *Config) { c.UsagePeriods = 1 })
	pass(w)
	assert.Equal(t, []string{"a 2026-08 cpu 90.00", "a 2026-08 ram 16.00"}, usages(f.s))
}

func TestUsageAcrossAMonthBoundary(t *testing.T) {
	f := newUsageFixture(t, time.Date(2026, 8, 31, 23, 59, 58, 0, time.UTC))
	f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Name: "a"})
	first := true
	m := &meter{fn: func(_ *waldur.Resource, p Period) (Usage, error) {
		if first {
			// Collecting takes a while: midnight passes meanwhile.
			first = false
			f.clock.Set(time.Date(2026, 9, 1, 0, 0, 3, 0, time.UTC))
		}
		return Usage{Totals: map[string]float64{"cpu": float64(p.Start.Month())}}, nil
	}}
	a, w := f.agent(t, m, nil)
	pass(w)
	assert.Empty(t, writes(f.s), "usage collected across midnight is not reported")
	assert.Equal(t, []string{"a 2026-07"}, m.questions())
	assert.Equal(t, int64(1), a.Stats().UsageMonthChanged)

	pass(w)
	assert.Equal(t, []string{"a 2026-07", "a 2026-08", "a 2026-09"}, m.questions(), "the next pass counts months from the new date")
	assert.Equal(t, []string{"a 2026-08 cpu 8.00", "a 2026-09 cpu 9.00"}, usages(f.s))
}

func TestUsageOnlyForTheOfferingsComponents(t *testing.T) {
	f := newUsageFixture(t, mid)
	f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Name: "a"})
	m := &meter{fn: func(*waldur.Resource, Period) (Usage, error) {
		return Usage{Totals: map[string]float64{"cpu": 1, "gpu": 2}, ByUser: map[string]map[string]float64{"gpu": {"x": 2}}}, nil
	}}
	_, w := f.agent(t, m, func(c *Config) { c.UsagePeriods = 1 })
	pass(w)
	assert.Equal(t, []string{"a 2026-08 cpu 1.00"}, usages(f.s))
	assert.Empty(t, f.s.UserUsages())
}

// The months begin in Config.TimeZone; the date sent is noon UTC on the 1st,
// inside the month in every server time zone.
func TestUsageDateIsNoonUTCOnTheFirst(t *testing.T) {
	f := newUsageFixture(t, mid)
	f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Name: "a"})
	m := &meter{fn: func(_ *waldur.Resource, p Period) (Usage, error) {
		assert.Equal(t, "+03:00", p.Start.Format("-07:00"))
		return Usage{Totals: map[string]float64{"cpu": 1}}, nil
	}}
	_, w := f.agent(t, m, func(c *Config) { c.UsagePeriods = 1; c.TimeZone = time.FixedZone("EEST", 3*3600) })
	pass(w)
	var dates []string
	for _, c := range f.s.Calls() {
		switch c.OperationID {
		case "marketplace_component_usages_set_usage":
			var b struct{ Date string }
			must.NoError(t, json.Unmarshal(c.Body, &b))
			dates = append(dates, b.Date)
		case "marketplace_component_usages_list":
			assert.Equal(t, "2026-08-01", c.Query.Get("billing_period"))
		}
	}
	assert.Equal(t, []string{"2026-08-01T12:00:00Z"}, dates)
}

func TestUsageOfAPastMonthRefusedByWaldurIsNotResent(t *testing.T) {
	f := newUsageFixture(t, mid)
	f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Name: "a"})
	m := &meter{fn: func(*waldur.Resource, Period) (Usage, error) {
		return Usage{Totals: map[string]float64{"cpu": 3}}, nil
	}}
	a, w := f.agent(t, m, nil)
	f.s.FailNext("marketplace_component_usages_set_usage", 400, 1) // July: "no backfilling"
	pass(w)
	assert.Equal(t, []string{"a 2026-08 cpu 3.00"}, usages(f.s))
	pass(w)
	assert.Equal(t, []string{"a 2026-07", "a 2026-08", "a 2026-08"}, m.questions(), "July is not asked again")
	assert.Equal(t, 2, f.s.CallCount("marketplace_component_usages_set_usage"))
	assert.Zero(t, a.Stats().UsageFailed)
}

func TestUsageFailureIsCountedAndRetried(t *testing.T) {
	f := newUsageFixture(t, mid)
	f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Name: "a"})
	m := &meter{fn: func(*waldur.Resource, Period) (Usage, error) {
		return Usage{Totals: map[string]float64{"cpu": 3}}, nil
	}}
	a, w := f.agent(t, m, func(c *Config) { c.UsagePeriods = 1 })
	f.s.FailNext("marketplace_component_usages_set_usage", 403, 1)
	pass(w)
	assert.Empty(t, usages(f.s))
	assert.Equal(t, int64(1), a.Stats().UsageFailed)
	pass(w)
	assert.Equal(t, []string{"a 2026-08 cpu 3.00"}, usages(f.s))
}

func TestBillingPeriods(t *testing.T) {
	loc := time.FixedZone("X", -5*3600)
	ps := billingPeriods(time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC), loc, 3) // still Dec 31 in loc
	var got []string
	for _, p := range ps {
		got = append(got, p.String())
		assert.Equal(t, p.Start.AddDate(0, 1, 0), p.End)
		assert.Equal(t, 1, p.Start.Day())
	}
	assert.Equal(t, []string{"2025-10", "2025-11", "2025-12"}, got)
	assert.True(t, ps[2].Current(time.Date(2026, 1, 1, 3, 0, 0, 0, time.UTC)))
	assert.False(t, ps[2].Current(time.Date(2026, 1, 1, 6, 0, 0, 0, time.UTC)))
}

// TestAgentSubscribesToWhatItsProcessorsNeed checks that each capability adds
// the event types it handles, and nothing else.
func TestAgentSubscribesToWhatItsProcessorsNeed(t *testing.T) {
	usage := UsageReporterFunc(func(context.Context, *waldur.Resource, Period) (Usage, error) { return Usage{}, nil })
	status := ResourceStatusProcessorFunc(func(context.Context, *waldur.Resource) (BackendStatus, error) {
		return BackendStatus{}, nil
	})
	accounts := OfferingUserProcessorFunc(func(context.Context, *waldur.OfferingUser) (Account, error) {
		return Account{}, nil
	})
	none := MemberListerFunc(func(context.Context, *waldur.Resource) ([]Member, error) { return nil, nil })
	noop := MemberAdderFunc(func(context.Context, *waldur.Resource, []Member) error { return nil })
	membership := Membership{List: none, Add: noop, Remove: MemberRemoverFunc(noop)}
	orders := OrderProcessorFunc(func(context.Context, *Order) (Result, error) { return Result{}, nil })
	tests := []struct {
		name string
		cfg  Config
		want []string
	}{
		{"usage only", Config{Usage: usage}, nil},
		{"resource status", Config{ResourceStatus: status}, []string{"offering_resources_sync", "resource"}},
		{"offering users", Config{OfferingUsers: accounts}, []string{"offering_user"}},
		{"membership", Config{Membership: membership},
			[]string{"course_account", "offering_resources_sync", "offering_user", "resource", "service_account", "user_role"}},
		{"orders and usage", Config{Orders: orders, Usage: usage}, []string{"order"}},
		{"all", Config{Orders: orders, Membership: membership, OfferingUsers: accounts, Usage: usage, ResourceStatus: status},
			[]string{"course_account", "offering_resources_sync", "offering_user", "order", "resource", "service_account", "user_role"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := tt.cfg
			cfg.WaldurURL, cfg.Token, cfg.OfferingUUID = "https://waldur.example.com", "t", "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b"
			a, err := New(cfg)
			must.NoError(t, err)
			var got []string
			for _, ot := range a.objectTypes() {
				got = append(got, string(ot))
			}
			assert.Equal(t, tt.want, got)
		})
	}
}
