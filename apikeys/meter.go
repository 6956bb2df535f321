package apikeys

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"hash/maphash"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// UsageRecord is the running total of one component of one resource in one
// billing period. Reporting a total (not a delta) makes every report
// idempotent: sending it twice, or sending an older and then a newer total,
// leaves the right value. This matches Waldur's component usage, which is
// upserted per (resource, component, billing period).
type UsageRecord struct {
	// ResourceUUID is the marketplace resource the usage is billed to.
	ResourceUUID uuid.UUID
	// Component is the offering component type ("requests", "tokens").
	Component string
	// PeriodStart is the first instant of the billing month in the Meter's
	// time zone.
	PeriodStart time.Time
	// Amount is the total for the period so far.
	Amount int64
}

// UsageSink receives usage totals, for example to report them to Waldur. A
// nil error means every record was handled; on an error the Meter sends the
// same (or newer) totals again at the next flush. A sink that meets a
// permanent refusal of one record (such as a closed billing period) should
// log it and return nil, or it will be offered that record forever.
type UsageSink interface {
	// ReportUsage receives totals ordered by period, resource and component.
	ReportUsage(ctx context.Context, usage []UsageRecord) error
}

// UsageSinkFunc adapts a function to UsageSink.
type UsageSinkFunc func(ctx context.Context, usage []UsageRecord) error

// ReportUsage calls f.
func (f UsageSinkFunc) ReportUsage(ctx context.Context, usage []UsageRecord) error {
	return f(ctx, usage)
}

// KeyUsage is one key's total for one component in one billing period.
type KeyUsage struct {
	// KeyID is the key's public id.
	KeyID string
	// ResourceUUID is the resource the key is bound to (may be uuid.Nil).
	ResourceUUID uuid.UUID
	// Component is what was counted ("requests", "tokens").
	Component string
	// PeriodStart is the first instant of the billing month.
	PeriodStart time.Time
	// Amount is the key's total for the period so far.
	Amount int64
}

// MeterConfig configures a Meter. Only Sink is required.
type MeterConfig struct {
	// Sink receives the totals. Required.
	Sink UsageSink
	// Location is the time zone whose calendar months are the billing
	// periods. Default UTC.
	Location *time.Location
	// Interval is how often Run flushes. Default 5m.
	Interval time.Duration
	// FlushTimeout bounds the last flush Run makes after its context ends.
	// Default 10s.
	FlushTimeout time.Duration
	// Now is the clock. Default time.Now.
	Now func() time.Time
	// Logger receives flush failures. Default: discard.
	Logger *slog.Logger
}

// Meter counts usage per key, component and billing period on the request
// path and reports per-resource totals to a UsageSink.
//
// Add costs a read-locked map lookup in one of several shards and an atomic
// add; nothing on that path waits for the sink. Totals stay in memory and are
// never reset within a period, so a failed flush loses nothing: the next one
// sends the newer totals. A closed period is forgotten once a flush after its
// end (plus a settling minute) succeeded.
//
// Totals live in this process. After a restart, seed them with Restore from
// what the sink already holds, or the first report of the running period
// would lower it. Several processes metering the same resource must not
// report totals to the same sink independently; aggregate them first.
type Meter struct {
	sink     UsageSink
	loc      *time.Location
	interval time.Duration
	timeout  time.Duration
	now      func() time.Time
	log      *slog.Logger

	seed   maphash.Seed
	shards [meterShards]meterShard
	cur    atomic.Pointer[period]

	flushMu  sync.Mutex // one flush at a time; guards base and reported
	base     map[usageKey]int64
	reported map[usageKey]int64
}

const (
	meterShards = 16
	// settle is how long after a period ends late additions to it are
	// still expected (a request verified just before midnight).
	settle = time.Minute
)

type meterShard struct {
	mu sync.RWMutex
	m  map[counterKey]*counter
	_  [64]byte
}

type counterKey struct {
	keyID     string
	component string
	period    int64 // period start, unix ns
}

type counter struct {
	resource uuid.UUID
	n        atomic.Int64
}

type usageKey struct {
	resource  uuid.UUID
	component string
	period    int64
}

type period struct {
	startN, endN int64
}

// NewMeter returns a Meter for cfg.
func NewMeter(cfg MeterConfig) (*Meter, error) {
	if cfg.Sink == nil {
		return nil, errors.New("apikeys: MeterConfig.Sink is required")
	}
	m := &Meter{
		sink:     cfg.Sink,
		loc:      cfg.Location,
		interval: orDefault(cfg.Interval, 5*time.Minute),
		timeout:  orDefault(cfg.FlushTimeout, 10*time.Second),
		now:      cfg.Now,
		log:      cfg.Logger,
		seed:     maphash.MakeSeed(),
		base:     make(map[usageKey]int64),
		reported: make(map[usageKey]int64),
	}
	if m.loc == nil {
		m.loc = time.UTC
	}
	if m.now == nil {
		m.now = time.Now
	}
	if m.log == nil {
		m.log = slog.New(slog.DiscardHandler)
	}
	for i := range m.shards {
		m.shards[i].m = make(map[counterKey]*counter)
	}
	return m, nil
}

// PeriodStart returns the start of the billing period (calendar month in
// the Meter's time zone) that contains t.
func (m *Meter) PeriodStart(t time.Time) time.Time {
	t = t.In(m.loc)
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, m.loc)
}

func (m *Meter) periodOf(now time.Time) int64 {
	n := now.UnixNano()
	if p := m.cur.Load(); p != nil && n >= p.startN && n < p.endN {
		return p.startN
	}
	start := m.PeriodStart(now)
	p := &period{startN: start.UnixNano(), endN: start.AddDate(0, 1, 0).UnixNano()}
	if old := m.cur.Load(); old == nil || p.startN > old.startN {
		m.cur.Store(p)
	}
	return p.startN
}

// Add counts amount units of component (for example 1 "requests", or 1234
// "tokens") for the key of id. Keys without a ResourceUUID are counted but
// not reported. Amounts must be whole units; meter fractions in a smaller
// unit. Component should be the offering component's type in Waldur.
func (m *Meter) Add(id Identity, component string, amount int64) {
	if amount == 0 {
		return
	}
	ck := counterKey{keyID: id.KeyID, component: component, period: m.periodOf(m.now())}
	s := &m.shards[maphash.String(m.seed, id.KeyID)%meterShards]
	s.mu.RLock()
	c := s.m[ck]
	s.mu.RUnlock()
	if c == nil {
		s.mu.Lock()
		if c = s.m[ck]; c == nil {
			c = &counter{resource: id.ResourceUUID}
			s.m[ck] = c
		}
		s.mu.Unlock()
	}
	c.n.Add(amount)
}

// AddContext is Add for the key that authenticated the request in ctx (see
// FromContext). It reports false when ctx carries no verified key.
func (m *Meter) AddContext(ctx context.Context, component string, amount int64) bool {
	id, ok := FromContext(ctx)
	if ok {
		m.Add(id, component, amount)
	}
	return ok
}

// Snapshot returns the current totals per key, component and period, ordered
// by period, key and component.
func (m *Meter) Snapshot() []KeyUsage {
	var out []KeyUsage
	m.each(func(k counterKey, c *counter, n int64) {
		out = append(out, KeyUsage{KeyID: k.keyID, ResourceUUID: c.resource, Component: k.component,
			PeriodStart: time.Unix(0, k.period).In(m.loc), Amount: n})
	})
	slices.SortFunc(out, func(a, b KeyUsage) int {
		return cmp.Or(a.PeriodStart.Compare(b.PeriodStart), cmp.Compare(a.KeyID, b.KeyID), cmp.Compare(a.Component, b.Component))
	})
	return out
}

func (m *Meter) each(fn func(counterKey, *counter, int64)) {
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.RLock()
		for k, c := range s.m {
			fn(k, c, c.n.Load())
		}
		s.mu.RUnlock()
	}
}

// Restore seeds per-resource totals, typically at start-up with what the sink
// already holds for the running period, so that later reports continue from
// them instead of starting at zero. Seeded totals count as reported. A later
// Restore of the same resource, component and period replaces the seed.
func (m *Meter) Restore(usage []UsageRecord) {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	for _, u := range usage {
		k := usageKey{resource: u.ResourceUUID, component: u.Component, period: m.PeriodStart(u.PeriodStart).UnixNano()}
		m.base[k] = u.Amount
		m.reported[k] = m.totalLocked(k)
	}
}

// totalLocked sums counters and seed of one usage key; flushMu held.
func (m *Meter) totalLocked(want usageKey) int64 {
	n := m.base[want]
	m.each(func(k counterKey, c *counter, v int64) {
		if c.resource == want.resource && k.component == want.component && k.period == want.period {
			n += v
		}
	})
	return n
}

// Flush reports to the sink every per-resource total that changed since the
// last successful report. On a sink error nothing is marked reported, so the
// next Flush offers the same totals again (grown by whatever was added).
func (m *Meter) Flush(ctx context.Context) error {
	m.flushMu.Lock()
	defer m.flushMu.Unlock()
	now := m.now()
	totals := make(map[usageKey]int64, len(m.base))
	for k, v := range m.base {
		totals[k] = v
	}
	m.each(func(k counterKey, c *counter, n int64) {
		if c.resource != uuid.Nil {
			totals[usageKey{resource: c.resource, component: k.component, period: k.period}] += n
		}
	})
	var recs []UsageRecord
	for k, v := range totals {
		if r, ok := m.reported[k]; ok && r == v {
			continue
		}
		recs = append(recs, UsageRecord{ResourceUUID: k.resource, Component: k.component,
			PeriodStart: time.Unix(0, k.period).In(m.loc), Amount: v})
	}
	slices.SortFunc(recs, func(a, b UsageRecord) int {
		return cmp.Or(a.PeriodStart.Compare(b.PeriodStart), cmp.Compare(a.ResourceUUID.String(), b.ResourceUUID.String()),
			cmp.Compare(a.Component, b.Component))
	})
	if len(recs) > 0 {
		if err := m.sink.ReportUsage(ctx, recs); err != nil {
			return fmt.Errorf("apikeys: report %d usage totals: %w", len(recs), err)
		}
	}
	for k, v := range totals {
		m.reported[k] = v
	}
	m.forgetClosed(now)
	return nil
}

// forgetClosed drops periods that ended (plus settle) before now; their final
// totals were just reported. flushMu held.
func (m *Meter) forgetClosed(now time.Time) {
	closed := func(p int64) bool {
		return !time.Unix(0, p).In(m.loc).AddDate(0, 1, 0).Add(settle).After(now)
	}
	for i := range m.shards {
		s := &m.shards[i]
		s.mu.Lock()
		for k := range s.m {
			if closed(k.period) {
				delete(s.m, k)
			}
		}
		s.mu.Unlock()
	}
	for k := range m.base {
		if closed(k.period) {
			delete(m.base, k)
		}
	}
	for k := range m.reported {
		if closed(k.period) {
			delete(m.reported, k)
		}
	}
}

// Run flushes every Interval until ctx is done, then flushes once more
// (bounded by FlushTimeout) and returns that flush's error. Failed periodic
// flushes are logged and retried at the next tick.
func (m *Meter) Run(ctx context.Context) error {
	t := time.NewTicker(m.interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), m.timeout)
			defer cancel()
			return m.Flush(fctx)
		case <-t.C:
			if err := m.Flush(ctx); err != nil && ctx.Err() == nil {
				m.log.LogAttrs(ctx, slog.LevelWarn, "apikeys: usage flush failed; will retry", slog.Any("error", err))
			}
		}
	}
}
