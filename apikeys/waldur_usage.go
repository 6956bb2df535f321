package apikeys

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// DefaultUsageMonths is how many billing months a WaldurUsage keeps by
// default: one more than the agent reports (siteagent.DefaultUsagePeriods).
const DefaultUsageMonths = siteagent.DefaultUsagePeriods + 1

// UsageComponent maps a metered component to an offering component in Waldur.
type UsageComponent struct {
	// Type is the offering component's type in Waldur. Default: the
	// metered component's name.
	Type string
	// Per is how many metered units make one unit of the Waldur component,
	// e.g. 1000 when the meter counts tokens and the offering bills thousands
	// of tokens. Default 1.
	Per int64
}

// WaldurUsageConfig configures a WaldurUsage. Only Client is required.
type WaldurUsageConfig struct {
	// Client reads the usage Waldur holds when a billing month is first
	// reported by this process. Use the agent's client. Required.
	Client *waldur.Client
	// Components maps metered components ("requests", "tokens") to offering
	// components. A component not listed is reported under its own name,
	// one to one. Several metered components may map to one type; their
	// amounts add up.
	Components map[string]UsageComponent
	// Months is how many billing months of totals are kept, counted back
	// from the newest seen. It must cover siteagent.Config.UsagePeriods.
	// Default DefaultUsageMonths (3).
	Months int
	// Logger receives seeding failures. Default: discard.
	Logger *slog.Logger
}

// WaldurUsage turns a Meter's counts into Waldur component usage: it is the
// Meter's sink and the agent's usage reporter.
//
//	usage, err := apikeys.NewWaldurUsage(apikeys.WaldurUsageConfig{Client: client})
//	meter, err := usage.NewMeter(apikeys.MeterConfig{Interval: time.Minute})
//	go meter.Run(ctx)
//	agent, err := siteagent.New(siteagent.Config{Client: client, ..., Usage: usage})
//
// The Meter flushes each resource's running totals into it, every
// MeterConfig.Interval and, because WaldurUsage is a siteagent.UsageFlusher,
// right before each usage pass of the agent. Every pass asks it for a
// resource's totals in a billing month, which the agent reports with
// set_usage when Waldur's differ. Totals, not deltas, make the reports
// idempotent per billing period. The flush before the agent's final pass at
// shutdown means a graceful stop reports everything counted until then,
// whichever of the Meter and the agent sees the end of ctx first. (A Meter
// made with NewMeter and Sink: usage.Sink() instead gets no such flush: what
// it counted since its last own flush may miss the final report.)
//
// A Meter counts in memory, so after a restart it starts the running month
// from zero while Waldur holds what the previous process reported; the agent
// would refuse the lower total as a decrease. So the first time this process
// reports a month of an offering, WaldurUsage reads Waldur's usage of that
// month (one listing per offering and month) and adds it, as a base, to what
// the Meter counted since the start. Counts that the previous process had not
// yet reported are lost with a crash. Billing months are matched by year and month, so the
// Meter's Location and the agent's TimeZone should be the same zone.
//
// Waldur's usage of the metered components must be written only through one
// WaldurUsage: what another writer (a second process, a manual correction,
// the report_usage tool of package mcp) sets is overwritten by the next
// higher total, or becomes the base after a restart. Do not Restore the Meter
// as well: the base would count twice.
type WaldurUsage struct {
	client *waldur.Client
	comps  map[string]UsageComponent
	months int
	log    *slog.Logger

	mu sync.Mutex
	// metered holds the Meter's totals: month → resource → metered component.
	metered map[int]map[uuid.UUID]map[string]int64
	// base holds Waldur's usage at seeding: month → resource → Waldur type.
	base map[int]map[uuid.UUID]map[string]float64
	// seeded marks (scope, month) pairs whose base is loaded; loading holds
	// the loads under way, which concurrent callers wait for.
	seeded  map[seedKey]bool
	loading map[seedKey]*seedLoad
	newest  int // the newest month seen, 0 before any

	metersMu sync.Mutex
	meters   []*Meter // flushed by FlushUsage
}

type seedKey struct {
	scope uuid.UUID // the offering, or the resource when the offering is unknown
	month int
}

type seedLoad struct {
	done chan struct{}
	err  error
}

// NewWaldurUsage validates cfg and returns a WaldurUsage.
func NewWaldurUsage(cfg WaldurUsageConfig) (*WaldurUsage, error) {
	if cfg.Client == nil {
		return nil, errors.New("apikeys: WaldurUsageConfig.Client is required")
	}
	if cfg.Months < 0 {
		return nil, errors.New("apikeys: WaldurUsageConfig.Months is negative")
	}
	u := &WaldurUsage{
		client:  cfg.Client,
		comps:   make(map[string]UsageComponent, len(cfg.Components)),
		months:  orDefault(cfg.Months, DefaultUsageMonths),
		log:     cfg.Logger,
		metered: make(map[int]map[uuid.UUID]map[string]int64),
		base:    make(map[int]map[uuid.UUID]map[string]float64),
		seeded:  make(map[seedKey]bool),
		loading: make(map[seedKey]*seedLoad),
	}
	for name, c := range cfg.Components {
		if c.Per < 0 {
			return nil, fmt.Errorf("apikeys: WaldurUsageConfig.Components[%q].Per is negative", name)
		}
		if c.Type == "" {
			c.Type = name
		}
		if c.Per == 0 {
			c.Per = 1
		}
		u.comps[name] = c
	}
	if u.log == nil {
		u.log = slog.New(slog.DiscardHandler)
	}
	return u, nil
}

// monthOf numbers the calendar month of t in t's own location.
func monthOf(t time.Time) int { return t.Year()*12 + int(t.Month()) - 1 }

// Sink returns the UsageSink to give the Meter (MeterConfig.Sink). It keeps
// the latest totals in memory and never fails.
func (u *WaldurUsage) Sink() UsageSink {
	return UsageSinkFunc(func(_ context.Context, usage []UsageRecord) error {
		u.mu.Lock()
		defer u.mu.Unlock()
		for _, r := range usage {
			m := monthOf(r.PeriodStart)
			u.seeMonth(m)
			if u.expired(m) {
				continue
			}
			byRes := u.metered[m]
			if byRes == nil {
				byRes = make(map[uuid.UUID]map[string]int64)
				u.metered[m] = byRes
			}
			byComp := byRes[r.ResourceUUID]
			if byComp == nil {
				byComp = make(map[string]int64, 2)
				byRes[r.ResourceUUID] = byComp
			}
			byComp[r.Component] = r.Amount
		}
		return nil
	})
}

// NewMeter returns a Meter (see NewMeter) whose sink is u, and which u
// flushes whenever the agent is about to report usage (FlushUsage). cfg.Sink
// must be unset.
func (u *WaldurUsage) NewMeter(cfg MeterConfig) (*Meter, error) {
	if cfg.Sink != nil {
		return nil, errors.New("apikeys: WaldurUsage.NewMeter: MeterConfig.Sink is set; the sink is the WaldurUsage")
	}
	cfg.Sink = u.Sink()
	m, err := NewMeter(cfg)
	if err != nil {
		return nil, err
	}
	u.metersMu.Lock()
	u.meters = append(u.meters, m)
	u.metersMu.Unlock()
	return m, nil
}

// FlushUsage implements siteagent.UsageFlusher: it flushes the Meters made
// with u.NewMeter into u, so the agent's next report includes everything
// they counted so far.
func (u *WaldurUsage) FlushUsage(ctx context.Context) error {
	u.metersMu.Lock()
	meters := slices.Clone(u.meters)
	u.metersMu.Unlock()
	var errs []error
	for _, m := range meters {
		errs = append(errs, m.Flush(ctx))
	}
	return errors.Join(errs...)
}

var _ siteagent.UsageFlusher = (*WaldurUsage)(nil)

// ReportUsage implements siteagent.UsageReporter: the resource's totals in
// the billing month, by Waldur component type, as Waldur's base plus what the
// Meter counted. A month older than Months answers empty (nothing is sent).
// It fails only when Waldur's base cannot be read; the agent then asks again
// on its next pass.
func (u *WaldurUsage) ReportUsage(ctx context.Context, r *waldur.Resource, p siteagent.Period) (siteagent.Usage, error) {
	m := monthOf(p.Start)
	u.mu.Lock()
	u.seeMonth(m)
	expired := u.expired(m)
	u.mu.Unlock()
	if expired {
		return siteagent.Usage{}, nil
	}
	if err := u.seed(ctx, r, m, p.Start); err != nil {
		return siteagent.Usage{}, err
	}

	u.mu.Lock()
	defer u.mu.Unlock()
	totals := make(map[string]float64)
	for t, v := range u.base[m][r.UUID] {
		totals[t] += v
	}
	for name, n := range u.metered[m][r.UUID] {
		c, ok := u.comps[name]
		if !ok {
			c = UsageComponent{Type: name, Per: 1}
		}
		totals[c.Type] += float64(n) / float64(c.Per)
	}
	if len(totals) == 0 {
		return siteagent.Usage{}, nil
	}
	return siteagent.Usage{Totals: totals}, nil
}

// seed loads Waldur's usage of month m for r's offering once per process;
// concurrent callers for the same offering and month wait for one load.
func (u *WaldurUsage) seed(ctx context.Context, r *waldur.Resource, m int, period time.Time) error {
	k := seedKey{scope: r.OfferingUUID, month: m}
	opts := waldur.ListUsagesOptions{OfferingUUID: r.OfferingUUID, BillingPeriod: period,
		Fields: []string{"resource_uuid", "type", "usage"}}
	if r.OfferingUUID == uuid.Nil {
		k.scope = r.UUID
		opts = waldur.ListUsagesOptions{ResourceUUID: r.UUID, BillingPeriod: period, Fields: []string{"resource_uuid", "type", "usage"}}
	}
	u.mu.Lock()
	if u.seeded[k] {
		u.mu.Unlock()
		return nil
	}
	if l := u.loading[k]; l != nil {
		u.mu.Unlock()
		select {
		case <-l.done:
			return l.err
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	l := &seedLoad{done: make(chan struct{})}
	u.loading[k] = l
	u.mu.Unlock()

	got := make(map[uuid.UUID]map[string]float64)
	var err error
	for rec, lerr := range u.client.Usages.List(ctx, opts) {
		if lerr != nil {
			err = fmt.Errorf("apikeys: read Waldur's usage in %s: %w", period.Format("2006-01"), lerr)
			break
		}
		byType := got[rec.ResourceUUID]
		if byType == nil {
			byType = make(map[string]float64, 2)
			got[rec.ResourceUUID] = byType
		}
		byType[rec.Type] = rec.Usage
	}

	u.mu.Lock()
	delete(u.loading, k)
	if err == nil && !u.expired(m) {
		u.seeded[k] = true
		byRes := u.base[m]
		if byRes == nil {
			byRes = make(map[uuid.UUID]map[string]float64, len(got))
			u.base[m] = byRes
		}
		for id, byType := range got {
			byRes[id] = byType
		}
	}
	u.mu.Unlock()
	l.err = err
	close(l.done)
	if err != nil {
		u.log.LogAttrs(ctx, slog.LevelWarn, "apikeys: Waldur's usage not readable; usage not reported",
			slog.String("scope", k.scope.String()), slog.String("period", period.Format("2006-01")), slog.Any("error", err))
	}
	return err
}

// seeMonth advances the newest month and forgets months that fell out of
// the window. mu held.
func (u *WaldurUsage) seeMonth(m int) {
	if m <= u.newest {
		return
	}
	u.newest = m
	for old := range u.metered {
		if u.expired(old) {
			delete(u.metered, old)
		}
	}
	for old := range u.base {
		if u.expired(old) {
			delete(u.base, old)
		}
	}
	for k := range u.seeded {
		if u.expired(k.month) {
			delete(u.seeded, k)
		}
	}
}

// expired reports whether month m is outside the kept window. mu held.
func (u *WaldurUsage) expired(m int) bool { return m <= u.newest-u.months }
