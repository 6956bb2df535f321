package apikeys_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/siteagenttest"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// tokens maps the metered "tokens" to the offering's "ktokens" component.
var tokens = map[string]apikeys.UsageComponent{"tokens": {Type: "ktokens", Per: 1000}}

// usageKit is a kit whose fake and agent share the Manager's clock, with a
// Meter flushing into a WaldurUsage.
type usageKit struct {
	*kit
	usage *apikeys.WaldurUsage
	meter *apikeys.Meter
}

func newUsageKit(t *testing.T) *usageKit {
	t.Helper()
	f := newFixture(t, nil)
	k := newKitFrom(t, f, waldurtest.WithClock(f.clock.Now))
	u := &usageKit{kit: k}
	var err error
	u.usage, err = apikeys.NewWaldurUsage(apikeys.WaldurUsageConfig{Client: k.s.Client(), Components: tokens})
	require.NoError(t, err)
	u.meter, err = apikeys.NewMeter(apikeys.MeterConfig{Sink: u.usage.Sink(), Now: k.clock.Now})
	require.NoError(t, err)
	return u
}

// resourceKey adds an OK resource with a key and returns the key's identity.
func (u *usageKit) resourceKey(t *testing.T) (uuid.UUID, apikeys.Identity) {
	t.Helper()
	rid := u.s.AddResource(waldurtest.ResourceSpec{Offering: u.offering, BackendID: "gw-" + uuid.NewString()[:4]})
	is, err := u.m.IssueForResource(context.Background(), apikeys.Binding{OfferingUUID: u.offering, ResourceUUID: rid},
		apikeys.IssueOptions{ClientID: "gw-1", TTL: time.Hour})
	require.NoError(t, err)
	res := u.verify(t, is.Key.Format())
	require.True(t, res.Valid())
	return rid, res.Identity
}

func (u *usageKit) startAgent(t *testing.T) *siteagent.Agent {
	t.Helper()
	cfg := u.config()
	cfg.Usage = u.usage
	cfg.UsageInterval = 10 * time.Millisecond
	cfg.Now = u.clock.Now
	return siteagenttest.Start(t, cfg)
}

// amounts returns the fake's usage records of a resource in the current
// month: type → amount.
func (u *usageKit) amounts(rid uuid.UUID) map[string]float64 {
	out := map[string]float64{}
	month := period(u.clock.Now()).Start
	for _, c := range u.s.ComponentUsages() {
		if c.ResourceUUID == rid && c.BillingPeriod.Time.Equal(month) {
			out[c.Type] = c.Usage
		}
	}
	return out
}

func (u *usageKit) waitAmounts(t *testing.T, rid uuid.UUID, want map[string]float64) {
	t.Helper()
	u.wait(t, fmt.Sprint("usage ", want), func() bool { return assert.ObjectsAreEqual(want, u.amounts(rid)) })
}

func TestMeteredUsageBecomesWaldurComponentUsage(t *testing.T) {
	u := newUsageKit(t)
	ctx := context.Background()
	rid, id := u.resourceKey(t)
	u.meter.Add(id, "requests", 3)
	u.meter.Add(id, "tokens", 12_340)
	u.meter.Add(id, "unbilled", 7) // not a component of the offering
	require.NoError(t, u.meter.Flush(ctx))
	a := u.startAgent(t)

	u.waitAmounts(t, rid, map[string]float64{"requests": 3, "ktokens": 12.34})
	var sets []waldurtest.Call
	for _, c := range u.s.Calls() {
		if c.OperationID == "marketplace_component_usages_set_usage" {
			sets = append(sets, c)
		}
	}
	require.Len(t, sets, 1)
	var body struct {
		Resource string `json:"resource"`
		Date     string `json:"date"`
		Usages   []struct {
			Type   string `json:"type"`
			Amount any    `json:"amount"`
		} `json:"usages"`
	}
	require.NoError(t, json.Unmarshal(sets[0].Body, &body))
	assert.Equal(t, "2026-08-01T12:00:00Z", body.Date, "noon UTC on the 1st: inside the billing month in every server time zone")
	require.Len(t, body.Usages, 2, "the unknown component is not sent")
	assert.Equal(t, "ktokens", body.Usages[0].Type)
	assert.Equal(t, "12.34", body.Usages[0].Amount, "a decimal string")
	assert.Equal(t, "requests", body.Usages[1].Type)
	assert.Equal(t, "3.00", body.Usages[1].Amount)

	// Totals grow; unchanged totals are not sent again.
	u.meter.Add(id, "requests", 2)
	require.NoError(t, u.meter.Flush(ctx))
	u.waitAmounts(t, rid, map[string]float64{"requests": 5, "ktokens": 12.34})
	before := a.Stats().UsageUnchanged
	u.wait(t, "an unchanged pass", func() bool { return a.Stats().UsageUnchanged > before })
	assert.Equal(t, 2, u.s.CallCount("marketplace_component_usages_set_usage"))
	assert.Zero(t, a.Stats().UsageDecreaseRefused)
}

// After a restart the Meter starts from zero while Waldur holds the month's
// usage so far: the reports continue from Waldur's totals.
func TestRestartContinuesFromWaldursTotals(t *testing.T) {
	u := newUsageKit(t)
	ctx := context.Background()
	rid, id := u.resourceKey(t)
	idle, _ := u.resourceKey(t)
	aug := time.Date(2026, 8, 3, 0, 0, 0, 0, time.UTC)
	u.s.AddComponentUsage(waldurtest.UsageSpec{Resource: rid, Type: "requests", Amount: "100.00", Date: aug})
	u.s.AddComponentUsage(waldurtest.UsageSpec{Resource: rid, Type: "ktokens", Amount: "2.50", Date: aug})
	u.s.AddComponentUsage(waldurtest.UsageSpec{Resource: idle, Type: "requests", Amount: "40.00", Date: aug})
	u.s.AddComponentUsage(waldurtest.UsageSpec{Resource: rid, Type: "requests", Amount: "900.00", Date: aug.AddDate(0, -1, 0)})

	u.meter.Add(id, "requests", 5)
	u.meter.Add(id, "tokens", 500)
	require.NoError(t, u.meter.Flush(ctx))
	a := u.startAgent(t)

	u.waitAmounts(t, rid, map[string]float64{"requests": 105, "ktokens": 3})
	u.wait(t, "a pass with nothing new", func() bool { return a.Stats().UsageUnchanged > 0 })
	assert.Zero(t, a.Stats().UsageDecreaseRefused)
	assert.Equal(t, map[string]float64{"requests": 40}, u.amounts(idle), "untouched")
	for _, c := range u.s.ComponentUsages() {
		if c.ResourceUUID == rid && c.BillingPeriod.Time.Month() == time.July {
			assert.Equal(t, 900.0, c.Usage, "the previous month stays")
		}
	}
}

// period returns the siteagent period of the month holding t.
func period(t time.Time) siteagent.Period {
	start := time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
	return siteagent.Period{Start: start, End: start.AddDate(0, 1, 0)}
}

func TestReportUsageMapsComponents(t *testing.T) {
	u := newUsageKit(t)
	ctx := context.Background()
	usage, err := apikeys.NewWaldurUsage(apikeys.WaldurUsageConfig{Client: u.s.Client(), Components: map[string]apikeys.UsageComponent{
		"tokens":       {Type: "ktokens", Per: 1000},
		"tool_calls":   {Type: "requests"},
		"image_tokens": {Type: "ktokens", Per: 500},
	}})
	require.NoError(t, err)
	meter, err := apikeys.NewMeter(apikeys.MeterConfig{Sink: usage.Sink(), Now: u.clock.Now})
	require.NoError(t, err)
	rid, id := u.resourceKey(t)
	other, _ := u.resourceKey(t)
	meter.Add(id, "requests", 4)
	meter.Add(id, "tool_calls", 6)
	meter.Add(id, "tokens", 1500)
	meter.Add(id, "image_tokens", 250)
	meter.Add(id, "gpu_seconds", 9)
	require.NoError(t, meter.Flush(ctx))

	r, _ := u.s.Resource(rid)
	got, err := usage.ReportUsage(ctx, &r, period(u.clock.Now()))
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"requests": 10, "ktokens": 2, "gpu_seconds": 9}, got.Totals)
	assert.Nil(t, got.ByUser)

	o, _ := u.s.Resource(other)
	got, err = usage.ReportUsage(ctx, &o, period(u.clock.Now()))
	require.NoError(t, err)
	assert.Empty(t, got.Totals, "nothing metered, nothing in Waldur")
	got, err = usage.ReportUsage(ctx, &r, period(u.clock.Now().AddDate(0, -1, 0)))
	require.NoError(t, err)
	assert.Empty(t, got.Totals, "nothing in the previous month")
}

// Waldur's usage is read once per offering and month, however many
// resources and passes ask.
func TestSeedingReadsWaldurOncePerOfferingAndMonth(t *testing.T) {
	u := newUsageKit(t)
	ctx := context.Background()
	var rs []waldur.Resource
	for range 5 {
		rid, id := u.resourceKey(t)
		u.meter.Add(id, "requests", 1)
		r, _ := u.s.Resource(rid)
		rs = append(rs, r)
	}
	require.NoError(t, u.meter.Flush(ctx))
	u.s.ResetCalls()
	now := u.clock.Now()
	var wg sync.WaitGroup
	for range 3 { // passes
		for _, r := range rs {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for _, p := range []siteagent.Period{period(now.AddDate(0, -1, 0)), period(now)} {
					got, err := u.usage.ReportUsage(ctx, &r, p)
					assert.NoError(t, err)
					if p.Current(now) {
						assert.Equal(t, map[string]float64{"requests": 1}, got.Totals)
					}
				}
			}()
		}
		wg.Wait()
	}
	assert.Equal(t, 2, u.s.CallCount("marketplace_component_usages_list"), "one per month")
}

func TestSeedingFailureIsRetriedOnTheNextPass(t *testing.T) {
	u := newUsageKit(t)
	ctx := context.Background()
	rid, id := u.resourceKey(t)
	u.s.AddComponentUsage(waldurtest.UsageSpec{Resource: rid, Type: "requests", Amount: "10", Date: u.clock.Now()})
	u.meter.Add(id, "requests", 1)
	require.NoError(t, u.meter.Flush(ctx))
	r, _ := u.s.Resource(rid)

	u.s.FailNext("marketplace_component_usages_list", 403, 1)
	_, err := u.usage.ReportUsage(ctx, &r, period(u.clock.Now()))
	require.Error(t, err, "without Waldur's base the total would be too low")
	got, err := u.usage.ReportUsage(ctx, &r, period(u.clock.Now()))
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"requests": 11}, got.Totals)
}

// A resource without its offering is seeded on its own.
func TestSeedingByResourceWithoutOffering(t *testing.T) {
	u := newUsageKit(t)
	ctx := context.Background()
	rid, id := u.resourceKey(t)
	u.s.AddComponentUsage(waldurtest.UsageSpec{Resource: rid, Type: "requests", Amount: "10", Date: u.clock.Now()})
	u.meter.Add(id, "requests", 1)
	require.NoError(t, u.meter.Flush(ctx))
	u.s.ResetCalls()
	got, err := u.usage.ReportUsage(ctx, &waldur.Resource{UUID: rid}, period(u.clock.Now()))
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"requests": 11}, got.Totals)
	calls := u.s.Calls()
	require.Len(t, calls, 1)
	assert.Equal(t, rid, uuid.MustParse(calls[0].Query.Get("resource_uuid")))
}

// Months fall out of the window as newer ones arrive.
func TestOldMonthsAreForgotten(t *testing.T) {
	u := newUsageKit(t)
	ctx := context.Background()
	rid, id := u.resourceKey(t)
	r, _ := u.s.Resource(rid)
	aug := period(u.clock.Now())
	u.meter.Add(id, "requests", 8)
	require.NoError(t, u.meter.Flush(ctx))

	u.clock.Advance(3 * 31 * 24 * time.Hour) // November
	u.meter.Add(id, "requests", 1)
	require.NoError(t, u.meter.Flush(ctx))
	got, err := u.usage.ReportUsage(ctx, &r, period(u.clock.Now()))
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"requests": 1}, got.Totals)
	got, err = u.usage.ReportUsage(ctx, &r, aug)
	require.NoError(t, err)
	assert.Empty(t, got.Totals, "August is outside the three months kept")
}

func TestNewWaldurUsageValidates(t *testing.T) {
	s := waldurtest.NewServer(t)
	for name, cfg := range map[string]apikeys.WaldurUsageConfig{
		"no client":    {},
		"negative":     {Client: s.Client(), Months: -1},
		"negative per": {Client: s.Client(), Components: map[string]apikeys.UsageComponent{"x": {Per: -2}}},
	} {
		_, err := apikeys.NewWaldurUsage(cfg)
		assert.Error(t, err, name)
	}
}
