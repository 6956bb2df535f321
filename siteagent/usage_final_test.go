package siteagent_test

import (
	"context"
	"errors"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// meterStub reports a settable total for every resource in the current
// month, and nothing for earlier months.
type meterStub struct{ total atomic.Int64 }

func (m *meterStub) ReportUsage(_ context.Context, _ *waldur.Resource, p siteagent.Period) (siteagent.Usage, error) {
	if !p.Current(time.Now()) {
		return siteagent.Usage{}, nil
	}
	return siteagent.Usage{Totals: map[string]float64{"storage": float64(m.total.Load())}}, nil
}

func usageOf(s *waldurtest.Server, resource waldur.UUID) string {
	for _, u := range s.ComponentUsages() {
		if u.ResourceUUID == resource && u.Type == "storage" {
			return waldur.FormatAmount(u.Usage)
		}
	}
	return ""
}

func TestTerminateReportsTheLastUsageBeforeTheBackendIsRemoved(t *testing.T) {
	f := newFixture(t)
	res := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, BackendID: "vol-1"})
	meter := &meterStub{}
	meter.total.Store(7)
	var usageAtTerminate string
	cfg := f.config(siteagent.OrderTypes{Terminate: siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
		usageAtTerminate = usageOf(f.s, res)
		return siteagent.Result{}, nil
	})})
	cfg.Usage = meter
	cfg.UsageInterval = time.Hour
	a := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return !a.Stats().LastUsageReport.IsZero() }))
	require.Equal(t, "7.00", usageOf(f.s, res))

	meter.total.Store(9) // used since the last pass
	id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering, Type: "Terminate", Resource: res})
	waitOrders(t, f.s, []waldur.UUID{id}, waldur.OrderStateDone)
	assert.Equal(t, "9.00", usageAtTerminate, "the usage was reported before the processor ran")
}

func TestStoppingReportsUsageCountedSinceTheLastPass(t *testing.T) {
	f := newFixture(t)
	res := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, BackendID: "vol-1"})
	meter := &meterStub{}
	meter.total.Store(3)
	cfg := f.config(&recorder{})
	cfg.Usage = meter
	cfg.UsageInterval = time.Hour
	_, stop := startStoppable(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return usageOf(f.s, res) == "3.00" }))

	meter.total.Store(4)
	stop()
	assert.Equal(t, "4.00", usageOf(f.s, res), "the final pass at shutdown reported the new total")
	ops := make([]string, 0)
	for _, c := range f.s.Calls() {
		ops = append(ops, c.OperationID)
	}
	assert.Equal(t, 2, countOf(ops, "marketplace_component_usages_set_usage"))
}

func countOf(ops []string, op string) int {
	n := 0
	for i := slices.Index(ops, op); i >= 0; {
		n++
		j := slices.Index(ops[i+1:], op)
		if j < 0 {
			break
		}
		i += j + 1
	}
	return n
}

// flushingMeter shows Waldur only what was flushed into it: counted holds
// what a meter counted, flushed what the reporter has.
type flushingMeter struct {
	counted, flushed atomic.Int64
	flushes          atomic.Int32
	fail             atomic.Bool
}

func (m *flushingMeter) FlushUsage(context.Context) error {
	m.flushes.Add(1)
	if m.fail.Load() {
		return errors.New("meter unreachable")
	}
	m.flushed.Store(m.counted.Load())
	return nil
}

func (m *flushingMeter) ReportUsage(_ context.Context, _ *waldur.Resource, p siteagent.Period) (siteagent.Usage, error) {
	if !p.Current(time.Now()) {
		return siteagent.Usage{}, nil
	}
	return siteagent.Usage{Totals: map[string]float64{"storage": float64(m.flushed.Load())}}, nil
}

func TestAUsageFlusherIsFlushedBeforeEveryPassAndTheFinalOne(t *testing.T) {
	f := newFixture(t)
	res := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, BackendID: "vol-1"})
	meter := &flushingMeter{}
	meter.counted.Store(5)
	cfg := f.config(&recorder{})
	cfg.Usage = meter
	cfg.UsageInterval = time.Hour
	_, stop := startStoppable(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return usageOf(f.s, res) == "5.00" }), "the first pass flushed first")

	meter.counted.Store(8)
	stop()
	assert.Equal(t, "8.00", usageOf(f.s, res), "the final pass flushed first")
	assert.GreaterOrEqual(t, meter.flushes.Load(), int32(2))
}

func TestAFailedUsageFlushStillReports(t *testing.T) {
	f := newFixture(t)
	res := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, BackendID: "vol-1"})
	meter := &flushingMeter{}
	meter.flushed.Store(3)
	meter.counted.Store(9)
	meter.fail.Store(true)
	cfg := f.config(&recorder{})
	cfg.Usage = meter
	a := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return usageOf(f.s, res) == "3.00" }), "what the reporter has is reported")
	assert.Contains(t, a.Stats().LastError, "meter unreachable")
}
