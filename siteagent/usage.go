package siteagent

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Usage reporting: what Waldur bills. Every UsageInterval the agent asks the
// UsageReporter for each live resource's usage in the last UsagePeriods
// billing months and reports what Waldur does not have yet.

// UsageReporter collects how much a resource used in a billing period.
// Setting it in Config.Usage makes the agent, every UsageInterval and for
// every OK or Erred resource of the offering, call ReportUsage once per
// billing month (the previous and the current month by default, oldest
// first) and report the answer to Waldur:
//
//   - totals go with one set_usage per resource and month, all components at
//     once, dated the 1st of the month at 12:00 UTC (see Config.TimeZone); amounts
//     are rounded to two decimals;
//   - per-user usage goes with set_user_usages, per component;
//   - what Waldur already has is not sent again: the agent reads the
//     offering's usage records of each month once per pass, so a pass over
//     unchanged usage writes nothing. (Per-user usage is compared with what
//     the agent itself last sent, as Waldur's per-user records are not read:
//     after a restart it is sent once more.)
//   - a total lower than Waldur's is refused (logged, counted in
//     Stats.UsageDecreaseRefused, Waldur's value kept) unless the reporter
//     implements DecreasingUsage and says so;
//   - only component types of the offering are reported; others are logged;
//   - if the month changes while a resource's usage is collected, that
//     resource is skipped and reported on the next pass, with the months
//     counted from the new date.
//
// An error is logged and counted (Stats.UsageFailed); the resource is asked
// again on the next pass. A reporter that cannot tell a past month's usage
// returns an empty Usage for it, and nothing is sent.
type UsageReporter interface {
	ReportUsage(ctx context.Context, r *waldur.Resource, p Period) (Usage, error)
}

// UsageReporterFunc adapts a function to UsageReporter.
type UsageReporterFunc func(ctx context.Context, r *waldur.Resource, p Period) (Usage, error)

// ReportUsage calls f.
func (f UsageReporterFunc) ReportUsage(ctx context.Context, r *waldur.Resource, p Period) (Usage, error) {
	return f(ctx, r, p)
}

// UsageFlusher is an optional interface of a UsageReporter whose numbers
// reach it from elsewhere in batches, such as a meter that counts requests
// in memory and flushes them into the reporter. The agent calls FlushUsage
// before every usage pass, before reporting a resource that a Terminate
// order is about to remove, and before the final pass at shutdown, so that
// what was counted up to then is in the report even when the flusher's own
// schedule (or its own stop) has not come round yet. An error is logged and
// the pass goes on with what the reporter has.
type UsageFlusher interface {
	FlushUsage(ctx context.Context) error
}

// DecreasingUsage is an optional interface of a UsageReporter whose totals may
// go down within a month (corrections, refunds). When UsageMayDecrease
// returns true, lower totals are reported like any other.
type DecreasingUsage interface {
	UsageMayDecrease() bool
}

// Period is a billing month: from Start (the first instant of the month in
// Config.TimeZone) up to, not including, End (the first instant of the next).
type Period struct {
	Start, End time.Time
}

// String renders the month as "2006-01".
func (p Period) String() string { return p.Start.Format("2006-01") }

// Current reports whether now falls in the period.
func (p Period) Current(now time.Time) bool { return !now.Before(p.Start) && now.Before(p.End) }

// usageDate is the date sent with a period's usage: the 1st of the month at
// 12:00 UTC. Waldur files usage under the month of that instant in its own
// time zone, and noon UTC on the 1st is on the 1st in every zone from UTC-12
// to UTC+14, while the first instant of the month would fall in the previous
// month for a server west of the agent's zone.
func usageDate(p Period) time.Time {
	return time.Date(p.Start.Year(), p.Start.Month(), 1, 12, 0, 0, 0, time.UTC)
}

// Usage is a resource's usage in a period.
type Usage struct {
	// Totals maps a component type to the resource's total use in the period
	// so far, in the component's unit, e.g. {"cpu": 1234.5}.
	Totals map[string]float64
	// ByUser maps a component type to each offering username's share, e.g.
	// {"cpu": {"alice": 1000, "bob": 234.5}}. A component listed here must
	// be in Totals too (or known to Waldur already).
	ByUser map[string]map[string]float64
}

// serviceReport is the Waldur agent service of usage reporting, named like the
// reference agent's mode.
const serviceReport = "report"

// usageWork is the capability that reports usage.
type usageWork struct {
	a *Agent
	p UsageReporter

	mu sync.Mutex
	// sent maps a component usage record to the user usages this process
	// last wrote to it, so unchanged ones are not written again.
	sent map[waldur.UUID]string
	// refused holds resource months Waldur refused as past periods; they
	// are not offered again in this process.
	refused map[string]bool
}

func newUsageWork(a *Agent) *usageWork {
	return &usageWork{a: a, p: a.cfg.Usage, sent: make(map[waldur.UUID]string), refused: make(map[string]bool)}
}

func (w *usageWork) registration() registration {
	return registration{service: serviceReport, processors: []ProcessorInfo{describe(w.p)}}
}

// objectTypes is empty: no event tells that usage grew; reporting is periodic.
func (w *usageWork) objectTypes() []waldur.ObservableObjectType { return nil }

func (w *usageWork) handleEvent(context.Context, Event) error { return nil }

func (w *usageWork) interval() time.Duration { return w.a.cfg.UsageInterval }

func usageKey(id waldur.UUID) string { return "usage:" + waldur.Hex(id) }

// flush asks a UsageFlusher reporter to bring its numbers up to date.
func (w *usageWork) flush(ctx context.Context) {
	f, ok := w.p.(UsageFlusher)
	if !ok {
		return
	}
	_, err := callUser(ctx, w.a.cfg.ProcessorTimeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, f.FlushUsage(ctx)
	})
	if err != nil && ctx.Err() == nil {
		w.a.noteError(err)
		w.a.log.Warn("siteagent: usage flush failed; reporting what the reporter has", "error", err)
	}
}

func (w *usageWork) reconcile(runCtx, workCtx context.Context) {
	w.flush(runCtx)
	ok := true
	for _, off := range w.a.passOfferings() {
		if err := w.pass(runCtx, workCtx, off); err != nil {
			ok = false
			if runCtx.Err() == nil {
				w.a.noteError(err)
				w.a.log.Warn("siteagent: usage pass failed", "offering", off.id, "error", err)
			}
		}
	}
	if ok {
		w.a.counters.lastUsageReport.Store(w.a.cfg.Now().UnixNano())
	}
}

// billingPeriods returns the n months ending with the one holding now,
// oldest first.
func billingPeriods(now time.Time, loc *time.Location, n int) []Period {
	now = now.In(loc)
	cur := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, loc)
	out := make([]Period, n)
	for i := range n {
		start := cur.AddDate(0, i-n+1, 0)
		out[i] = Period{Start: start, End: start.AddDate(0, 1, 0)}
	}
	return out
}

// usageRecord is Waldur's usage record of one component of one resource in
// one month.
type usageRecord struct {
	id     waldur.UUID
	amount string // as FormatAmount renders it
}

// usagePass is one pass over one offering.
type usagePass struct {
	w           *usageWork
	off         *offering
	periods     []Period
	month       time.Time // the first instant of the current month at the start
	components  map[string]bool
	mayDecrease bool
	// existing[i] holds period i's records: resource → component type → record.
	existing []map[waldur.UUID]map[string]usageRecord

	warned sync.Map // component types reported but unknown to the offering

	usersOnce sync.Once
	userURLs  map[string]string // offering username → offering user URL

	mu       sync.Mutex
	deferred []deferredUsers

	scope    waldur.ListUsagesOptions // whose usage records the pass reads
	newBatch func() *batch            // where per-resource work runs
}

// pass reports the usage of every live resource of one offering. It reads
// the offering's usage records of each month first (one call per 300
// records), then lists the resources and reports each in the pool.
func (w *usageWork) pass(runCtx, workCtx context.Context, off *offering) error {
	return w.passWith(runCtx, off, func() *batch { return w.a.newBatch(runCtx, workCtx) })
}

// finalPass reports every offering's usage once more while the agent stops,
// in the caller and within ctx, so that usage counted since the last pass is
// not lost with the process.
func (w *usageWork) finalPass(ctx context.Context) {
	w.flush(ctx)
	for _, off := range w.a.passOfferings() {
		if err := w.passWith(ctx, off, func() *batch { return w.a.inlineBatch(ctx) }); err != nil {
			w.a.log.Warn("siteagent: final usage pass failed", "offering", off.id, "error", err)
			return
		}
	}
	w.a.log.Info("siteagent: final usage reported")
}

// newPass prepares a pass for the current billing months over the usage
// records scope selects (an offering's or one resource's).
func (w *usageWork) newPass(off *offering, scope waldur.ListUsagesOptions, newBatch func() *batch) *usagePass {
	a := w.a
	periods := billingPeriods(a.cfg.Now(), a.cfg.TimeZone, a.cfg.UsagePeriods)
	ps := &usagePass{
		w: w, off: off, periods: periods, month: periods[len(periods)-1].Start,
		components: make(map[string]bool), existing: make([]map[waldur.UUID]map[string]usageRecord, len(periods)),
		scope: scope, newBatch: newBatch,
	}
	if d, ok := w.p.(DecreasingUsage); ok {
		ps.mayDecrease = d.UsageMayDecrease()
	}
	if d := off.snapshot(); d != nil {
		for _, c := range d.Components {
			ps.components[c.Type] = true
		}
	}
	return ps
}

// records reads the scope's usage records of period i.
func (ps *usagePass) records(ctx context.Context, i int) (map[waldur.UUID]map[string]usageRecord, error) {
	opts := ps.scope
	opts.BillingPeriod = ps.periods[i].Start
	return ps.w.existing(ctx, opts)
}

func (w *usageWork) passWith(runCtx context.Context, off *offering, newBatch func() *batch) error {
	a := w.a
	if err := a.loadOffering(runCtx, off); err != nil {
		return err
	}
	ps := w.newPass(off, waldur.ListUsagesOptions{OfferingUUID: off.id}, newBatch)
	keep := make(map[waldur.UUID]bool)
	for i := range ps.periods {
		recs, err := ps.records(runCtx, i)
		if err != nil {
			return err
		}
		ps.existing[i] = recs
		for _, byType := range recs {
			for _, rec := range byType {
				keep[rec.id] = true
			}
		}
	}
	w.mu.Lock()
	maps.DeleteFunc(w.sent, func(id waldur.UUID, _ string) bool { return !keep[id] })
	w.mu.Unlock()

	b := newBatch()
	err := a.eachLiveResource(runCtx, off, waldur.UUID{}, func(r *waldur.Resource) bool {
		return b.submit(usageKey(r.UUID), func(ctx context.Context) error {
			ps.resource(ctx, r)
			return nil
		})
	})
	b.wait()
	if err != nil {
		return err
	}
	return ps.sendDeferred(runCtx)
}

// reportResource reports one resource's usage now, in the caller: the
// agent does so before a Terminate order's processor removes the backend,
// so usage counted since the last pass still reaches Waldur. Failures are
// logged and counted like a pass's.
func (w *usageWork) reportResource(ctx context.Context, off *offering, r *waldur.Resource) {
	w.flush(ctx)
	ps := w.newPass(off, waldur.ListUsagesOptions{ResourceUUID: r.UUID}, func() *batch { return w.a.inlineBatch(ctx) })
	var err error
	for i := range ps.periods {
		if ps.existing[i], err = ps.records(ctx, i); err != nil {
			break
		}
	}
	if err == nil {
		ps.resource(ctx, r)
		err = ps.sendDeferred(ctx)
	}
	if err != nil {
		w.a.counters.usageFailed.Add(1)
		w.a.noteError(err)
		w.a.log.Warn("siteagent: final usage of a terminated resource not reported", "resource", r.UUID, "error", err)
	}
}

// sendDeferred sends the per-user usage of records this pass created: their
// UUIDs come from one more read of the month's records, not one per resource.
func (ps *usagePass) sendDeferred(runCtx context.Context) error {
	a := ps.w.a
	for i, p := range ps.periods {
		var todo []deferredUsers
		for _, d := range ps.deferred {
			if d.period == i {
				todo = append(todo, d)
			}
		}
		if len(todo) == 0 {
			continue
		}
		recs, err := ps.records(runCtx, i)
		if err != nil {
			return err
		}
		b := ps.newBatch()
		for _, d := range todo {
			id := recs[d.resource][d.component].id
			if id == (waldur.UUID{}) {
				a.log.Warn("siteagent: per-user usage of a component without a total; not sent",
					"resource", d.resource, "period", p.String(), "component", d.component)
				continue
			}
			if !b.submit(usageKey(d.resource), func(ctx context.Context) error {
				ps.sendUsers(ctx, d.resource, p, d.component, id, d.items, d.fp)
				return nil
			}) {
				break
			}
		}
		b.wait()
	}
	return nil
}

// existing reads usage records of one month (opts selects the offering or
// the resource): resource → component type → record.
func (w *usageWork) existing(ctx context.Context, opts waldur.ListUsagesOptions) (map[waldur.UUID]map[string]usageRecord, error) {
	out := make(map[waldur.UUID]map[string]usageRecord)
	opts.Fields = []string{"uuid", "type", "usage", "resource_uuid"}
	for u, err := range w.a.client.Usages.List(ctx, opts) {
		if err != nil {
			return nil, fmt.Errorf("siteagent: list usage of %s: %w", opts.BillingPeriod.Format("2006-01"), err)
		}
		byType := out[u.ResourceUUID]
		if byType == nil {
			byType = make(map[string]usageRecord, 2)
			out[u.ResourceUUID] = byType
		}
		byType[u.Type] = usageRecord{id: u.UUID, amount: formatAmount(u.Usage)}
	}
	return out, nil
}

// monthChanged reports whether the current month is no longer the one the
// pass started in.
func (ps *usagePass) monthChanged() bool {
	now := ps.w.a.cfg.Now()
	return !ps.periods[len(ps.periods)-1].Current(now)
}

// resource reports one resource's usage, month by month, oldest first.
func (ps *usagePass) resource(ctx context.Context, r *waldur.Resource) {
	a := ps.w.a
	for i, p := range ps.periods {
		if ps.w.isRefused(r.UUID, p) {
			continue
		}
		if ps.monthChanged() {
			ps.skipMonthChanged(r)
			return
		}
		u, err := callUser(ctx, a.cfg.ProcessorTimeout, func(ctx context.Context) (Usage, error) {
			return ps.w.p.ReportUsage(ctx, r, p)
		})
		if ps.monthChanged() {
			ps.skipMonthChanged(r)
			return
		}
		if err == nil {
			err = ps.report(ctx, r, i, ps.existing[i][r.UUID], u)
		}
		if err != nil {
			a.counters.usageFailed.Add(1)
			a.noteError(err)
			a.log.Warn("siteagent: usage not reported", "resource", r.UUID, "period", p.String(), "error", err)
		}
	}
}

func (ps *usagePass) skipMonthChanged(r *waldur.Resource) {
	ps.w.a.counters.usageMonthChanged.Add(1)
	ps.w.a.log.Info("siteagent: the month changed while usage was collected; reporting next pass", "resource", r.UUID)
}

// report sends what Waldur lacks of one resource's usage in one month.
func (ps *usagePass) report(ctx context.Context, r *waldur.Resource, period int, have map[string]usageRecord, u Usage) error {
	a := ps.w.a
	p := ps.periods[period]
	types := make([]string, 0, len(u.Totals))
	for t, v := range u.Totals {
		switch {
		case !ps.components[t]:
			if _, warned := ps.warned.LoadOrStore(t, true); !warned {
				a.log.Warn("siteagent: usage reported for a component the offering does not have; not sent",
					"offering", ps.off.id, "component", t)
			}
		case math.IsNaN(v) || math.IsInf(v, 0):
			a.log.Warn("siteagent: usage is not a number; not sent", "resource", r.UUID, "component", t)
		default:
			types = append(types, t)
		}
	}
	slices.Sort(types)

	items := make([]waldur.UsageAmount, 0, len(types))
	changed := false
	for _, t := range types {
		amount := formatAmount(u.Totals[t])
		old, known := have[t]
		if known && amount != old.amount && lessAmount(amount, old.amount) && !ps.mayDecrease {
			a.counters.usageDecreaseRefused.Add(1)
			a.log.Warn("siteagent: usage total decreased; keeping Waldur's value",
				"resource", r.UUID, "period", p.String(), "component", t, "waldur", old.amount, "reported", amount)
			amount = old.amount
		}
		changed = changed || !known || amount != old.amount
		items = append(items, waldur.UsageAmount{Type: t, Amount: amount})
	}
	if changed {
		err := a.client.Usages.SetUsage(ctx, waldur.UsageReport{Resource: r.UUID, Date: usageDate(p), Usages: items})
		if err != nil {
			var apiErr *waldur.APIError
			if errors.As(err, &apiErr) && apiErr.StatusCode == http.StatusBadRequest && !p.Current(a.cfg.Now()) {
				// Waldur may refuse to backfill past billing periods.
				ps.w.refuse(r.UUID, p)
				a.log.Info("siteagent: Waldur refused usage of a past month", "resource", r.UUID, "period", p.String(), "error", err)
				return nil
			}
			return fmt.Errorf("siteagent: set usage of resource %s in %s: %w", r.UUID, p, err)
		}
		a.counters.usageReported.Add(1)
	} else if len(items) > 0 {
		a.counters.usageUnchanged.Add(1)
	}
	ps.reportUsers(ctx, r, period, have, u)
	return nil
}

// deferredUsers is per-user usage of a record created in this pass, sent once
// the record's UUID is known.
type deferredUsers struct {
	resource  waldur.UUID
	period    int
	component string
	items     []waldur.UserUsage
	fp        string
}

// reportUsers sends per-user usage that changed since this process last sent
// it, one set_user_usages per component usage record. Failures are logged and
// counted: the totals went through, and the next pass sends the users again.
func (ps *usagePass) reportUsers(ctx context.Context, r *waldur.Resource, period int, have map[string]usageRecord, u Usage) {
	p := ps.periods[period]
	types := make([]string, 0, len(u.ByUser))
	for t, users := range u.ByUser {
		if ps.components[t] && len(users) > 0 {
			types = append(types, t)
		}
	}
	slices.Sort(types)
	for _, t := range types {
		names := make([]string, 0, len(u.ByUser[t]))
		for name := range u.ByUser[t] {
			names = append(names, name)
		}
		slices.Sort(names)
		items := make([]waldur.UserUsage, 0, len(names))
		var fp strings.Builder
		for _, name := range names {
			v := u.ByUser[t][name]
			if name == "" || math.IsNaN(v) || math.IsInf(v, 0) {
				continue
			}
			it := waldur.UserUsage{Username: name, Usage: formatAmount(v)}
			items = append(items, it)
			fmt.Fprintf(&fp, "%s\x00%s\n", it.Username, it.Usage)
		}
		if len(items) == 0 {
			continue
		}
		id := have[t].id
		if id == (waldur.UUID{}) {
			ps.mu.Lock()
			ps.deferred = append(ps.deferred, deferredUsers{resource: r.UUID, period: period, component: t, items: items, fp: fp.String()})
			ps.mu.Unlock()
			continue
		}
		ps.sendUsers(ctx, r.UUID, p, t, id, items, fp.String())
	}
}

// sendUsers writes one record's per-user usage unless this process wrote the
// same last time.
func (ps *usagePass) sendUsers(ctx context.Context, resource waldur.UUID, p Period, component string, id waldur.UUID, items []waldur.UserUsage, fp string) {
	a := ps.w.a
	if ps.w.sentAlready(id, fp) {
		return
	}
	for i := range items {
		items[i].User = ps.userURL(ctx, items[i].Username)
	}
	if err := a.client.Usages.SetUserUsages(waldur.WithRetrySafe(ctx), id, items); err != nil {
		a.counters.usageFailed.Add(1)
		a.noteError(err)
		a.log.Warn("siteagent: per-user usage not reported", "resource", resource, "period", p.String(),
			"component", component, "error", err)
		return
	}
	ps.w.markSent(id, fp)
	a.counters.userUsageReported.Add(1)
}

// userURL returns the URL of the offering user with this username, sent with
// per-user usage as Waldur's reference agent does; "" if unknown. The
// offering's users are read once per pass, when first needed.
func (ps *usagePass) userURL(ctx context.Context, username string) string {
	ps.usersOnce.Do(func() {
		ps.userURLs = make(map[string]string)
		opts := waldur.ListOfferingUsersOptions{OfferingUUID: ps.off.id, Fields: []string{"username", "url"}}
		for u, err := range ps.w.a.client.OfferingUsers.List(ctx, opts) {
			if err != nil {
				ps.w.a.log.Warn("siteagent: offering users not readable; per-user usage sent without them",
					"offering", ps.off.id, "error", err)
				return
			}
			if u.Username != nil && *u.Username != "" {
				ps.userURLs[*u.Username] = u.URL
			}
		}
	})
	return ps.userURLs[username]
}

func (w *usageWork) sentAlready(id waldur.UUID, fp string) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.sent[id] == fp
}

func (w *usageWork) markSent(id waldur.UUID, fp string) {
	w.mu.Lock()
	w.sent[id] = fp
	w.mu.Unlock()
}

func refusedKey(id waldur.UUID, p Period) string { return waldur.Hex(id) + "/" + p.String() }

func (w *usageWork) refuse(id waldur.UUID, p Period) {
	w.mu.Lock()
	w.refused[refusedKey(id, p)] = true
	w.mu.Unlock()
}

func (w *usageWork) isRefused(id waldur.UUID, p Period) bool {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.refused[refusedKey(id, p)]
}

// formatAmount renders an amount as Waldur stores it, two decimals, without
// a negative zero.
func formatAmount(v float64) string {
	s := waldur.FormatAmount(v)
	if s == "-0.00" {
		return "0.00"
	}
	return s
}

// lessAmount compares two amounts rendered by formatAmount.
func lessAmount(a, b string) bool {
	x, errx := strconv.ParseFloat(a, 64)
	y, erry := strconv.ParseFloat(b, 64)
	return errx == nil && erry == nil && x < y
}
