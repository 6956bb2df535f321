package apikeys_test

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
)

// recordingSink keeps every report and fails while fail is set.
type recordingSink struct {
	mu      sync.Mutex
	reports [][]apikeys.UsageRecord
	fail    bool
}

func (s *recordingSink) ReportUsage(_ context.Context, recs []apikeys.UsageRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.fail {
		return errors.New("waldur unavailable")
	}
	s.reports = append(s.reports, append([]apikeys.UsageRecord(nil), recs...))
	return nil
}

func (s *recordingSink) last() []apikeys.UsageRecord {
	s.mu.Lock()
	defer s.mu.Unlock()
	if len(s.reports) == 0 {
		return nil
	}
	return s.reports[len(s.reports)-1]
}

func (s *recordingSink) count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.reports)
}

func newMeter(t *testing.T, clk *clock, loc *time.Location) (*apikeys.Meter, *recordingSink) {
	t.Helper()
	sink := &recordingSink{}
	m, err := apikeys.NewMeter(apikeys.MeterConfig{Sink: sink, Now: clk.Now, Location: loc})
	require.NoError(t, err)
	return m, sink
}

// amounts indexes a report by resource and component.
func amounts(recs []apikeys.UsageRecord) map[uuid.UUID]map[string]int64 {
	out := map[uuid.UUID]map[string]int64{}
	for _, r := range recs {
		if out[r.ResourceUUID] == nil {
			out[r.ResourceUUID] = map[string]int64{}
		}
		out[r.ResourceUUID][r.Component] = r.Amount
	}
	return out
}

func TestMeterReportsRunningTotalsPerResource(t *testing.T) {
	clk := newClock()
	m, sink := newMeter(t, clk, nil)
	ctx := context.Background()
	res1, res2 := uuid.New(), uuid.New()
	k1 := apikeys.Identity{KeyID: "k1", Binding: apikeys.Binding{ResourceUUID: res1}}
	k2 := apikeys.Identity{KeyID: "k2", Binding: apikeys.Binding{ResourceUUID: res1}}
	k3 := apikeys.Identity{KeyID: "k3", Binding: apikeys.Binding{ResourceUUID: res2}}
	unbound := apikeys.Identity{KeyID: "k4"}

	m.Add(k1, "requests", 1)
	m.Add(k1, "requests", 1)
	m.Add(k2, "requests", 1)
	m.Add(k2, "tokens", 1500)
	m.Add(k3, "requests", 1)
	m.Add(unbound, "requests", 7)
	m.Add(k3, "tokens", 0)
	require.NoError(t, m.Flush(ctx))

	recs := sink.last()
	assert.Equal(t, map[uuid.UUID]map[string]int64{
		res1: {"requests": 3, "tokens": 1500},
		res2: {"requests": 1},
	}, amounts(recs), "keys of a resource are summed; unbound keys are not billed")
	for _, r := range recs {
		assert.True(t, r.PeriodStart.Equal(time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)))
	}

	m.Add(k1, "requests", 2)
	require.NoError(t, m.Flush(ctx))
	assert.Equal(t, map[uuid.UUID]map[string]int64{res1: {"requests": 5}}, amounts(sink.last()),
		"a running total, not a delta, and only what changed")
	require.NoError(t, m.Flush(ctx))
	assert.Equal(t, 2, sink.count(), "nothing changed, nothing sent")

	snap := m.Snapshot()
	require.Len(t, snap, 5)
	assert.Equal(t, apikeys.KeyUsage{KeyID: "k1", ResourceUUID: res1, Component: "requests",
		PeriodStart: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), Amount: 4}, snap[0])
	assert.Equal(t, "k4", snap[4].KeyID, "per-key totals include unbound keys")
}

func TestMeterFailedFlushLosesNothing(t *testing.T) {
	clk := newClock()
	m, sink := newMeter(t, clk, nil)
	ctx := context.Background()
	res := uuid.New()
	id := apikeys.Identity{KeyID: "k", Binding: apikeys.Binding{ResourceUUID: res}}
	m.Add(id, "requests", 10)
	sink.fail = true
	require.Error(t, m.Flush(ctx))
	m.Add(id, "requests", 5)
	require.Error(t, m.Flush(ctx))
	sink.fail = false
	require.NoError(t, m.Flush(ctx))
	assert.Equal(t, int64(15), amounts(sink.last())[res]["requests"])
}

func TestMeterBillingPeriodsFollowTheTimeZone(t *testing.T) {
	utc3 := time.FixedZone("UTC+3", 3*3600)
	clk := newClock()
	clk.t = time.Date(2026, 8, 31, 20, 0, 0, 0, time.UTC) // 23:00 on 31 August in UTC+3
	m, sink := newMeter(t, clk, utc3)
	ctx := context.Background()
	res := uuid.New()
	id := apikeys.Identity{KeyID: "k", Binding: apikeys.Binding{ResourceUUID: res}}

	m.Add(id, "requests", 1)
	clk.Advance(90 * time.Minute) // 00:30 on 1 September in UTC+3, still August in UTC
	m.Add(id, "requests", 1)
	m.Add(id, "requests", 1)
	require.NoError(t, m.Flush(ctx))

	recs := sink.last()
	require.Len(t, recs, 2)
	assert.True(t, recs[0].PeriodStart.Equal(time.Date(2026, 8, 1, 0, 0, 0, 0, utc3)), "%v", recs[0].PeriodStart)
	assert.Equal(t, int64(1), recs[0].Amount)
	assert.True(t, recs[1].PeriodStart.Equal(time.Date(2026, 9, 1, 0, 0, 0, 0, utc3)), "%v", recs[1].PeriodStart)
	assert.Equal(t, int64(2), recs[1].Amount)
	assert.Equal(t, utc3, recs[1].PeriodStart.Location())
}

func TestMeterForgetsClosedPeriodsOnlyAfterReportingThem(t *testing.T) {
	clk := newClock()
	clk.t = time.Date(2026, 8, 31, 23, 59, 0, 0, time.UTC)
	m, sink := newMeter(t, clk, nil)
	ctx := context.Background()
	res := uuid.New()
	id := apikeys.Identity{KeyID: "k", Binding: apikeys.Binding{ResourceUUID: res}}
	m.Add(id, "requests", 4)

	clk.Advance(time.Hour) // September; August is closed
	sink.fail = true
	require.Error(t, m.Flush(ctx))
	assert.Len(t, m.Snapshot(), 1, "an unreported period is kept")

	sink.fail = false
	m.Add(id, "requests", 1)
	require.NoError(t, m.Flush(ctx))
	recs := sink.last()
	require.Len(t, recs, 2)
	assert.Equal(t, int64(4), recs[0].Amount, "August's final total")
	assert.Equal(t, int64(1), recs[1].Amount)
	snap := m.Snapshot()
	require.Len(t, snap, 1, "August is forgotten once reported")
	assert.Equal(t, time.September, snap[0].PeriodStart.Month())
}

func TestMeterRestoreContinuesFromReportedTotals(t *testing.T) {
	clk := newClock()
	m, sink := newMeter(t, clk, nil)
	ctx := context.Background()
	res := uuid.New()
	m.Restore([]apikeys.UsageRecord{{ResourceUUID: res, Component: "requests", PeriodStart: clk.Now(), Amount: 100}})
	require.NoError(t, m.Flush(ctx))
	assert.Equal(t, 0, sink.count(), "restored totals count as reported")
	m.Add(apikeys.Identity{KeyID: "k", Binding: apikeys.Binding{ResourceUUID: res}}, "requests", 3)
	require.NoError(t, m.Flush(ctx))
	assert.Equal(t, int64(103), amounts(sink.last())[res]["requests"])
	assert.True(t, sink.last()[0].PeriodStart.Equal(time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC)))
}

func TestMeterConcurrentAddsAreExact(t *testing.T) {
	clk := newClock()
	m, sink := newMeter(t, clk, nil)
	res := uuid.New()
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			id := apikeys.Identity{KeyID: string(rune('a' + g%3)), Binding: apikeys.Binding{ResourceUUID: res}}
			for range 1000 {
				m.Add(id, "requests", 1)
				m.Add(id, "tokens", 3)
			}
		}()
	}
	// Flushes racing the adds must not lose or double anything.
	for range 5 {
		require.NoError(t, m.Flush(context.Background()))
	}
	wg.Wait()
	require.NoError(t, m.Flush(context.Background()))
	assert.Equal(t, map[string]int64{"requests": 8000, "tokens": 24000}, amounts(sink.last())[res])
}

func TestMeterAddContextAndRun(t *testing.T) {
	clk := newClock()
	m, sink := newMeter(t, clk, nil)
	res := uuid.New()
	assert.False(t, m.AddContext(context.Background(), "tokens", 5), "no identity in the context")
	ctx := apikeys.NewContext(context.Background(), apikeys.Identity{KeyID: "k", Binding: apikeys.Binding{ResourceUUID: res}})
	assert.True(t, m.AddContext(ctx, "tokens", 5))

	runCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- m.Run(runCtx) }()
	cancel()
	require.NoError(t, <-done, "Run flushes once more when stopped")
	assert.Equal(t, int64(5), amounts(sink.last())[res]["tokens"])

	_, err := apikeys.NewMeter(apikeys.MeterConfig{})
	assert.Error(t, err, "a sink is required")
}

func TestMeterPeriodStart(t *testing.T) {
	m, _ := newMeter(t, newClock(), time.FixedZone("UTC-5", -5*3600))
	got := m.PeriodStart(time.Date(2026, 3, 1, 3, 0, 0, 0, time.UTC)) // 22:00 on 28 February in UTC-5
	assert.Equal(t, "2026-02-01T00:00:00-05:00", got.Format(time.RFC3339))
}
