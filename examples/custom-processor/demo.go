package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// runDemo runs the agent against an embedded fake Waldur until the demo is
// over, with the spaces in a temporary directory unless opt.root is set.
func runDemo(ctx context.Context, opt options, out io.Writer) error {
	level := slog.LevelError
	if opt.verbose {
		level = slog.LevelInfo
	}
	if opt.root == "" {
		dir, err := os.MkdirTemp("", "spaces-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		opt.root = dir
	}
	st, err := newStorage(opt.root, opt.maxQuotaGB)
	if err != nil {
		return err
	}
	d := newDemo(st, out)
	defer d.close()

	cfg := st.agentConfig()
	cfg.WaldurURL, cfg.Token, cfg.OfferingUUID = d.fake.URL(), d.fake.Token(), d.offering.String()
	cfg.Logger = slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))
	// The fake has no message broker, so the agent polls; short passes keep
	// the demo brief. The defaults (minutes) suit a real Waldur.
	cfg.Events.Mode = siteagent.EventsPolling
	cfg.ReconcileInterval, cfg.SyncInterval, cfg.UsageInterval = 200*time.Millisecond, 200*time.Millisecond, 200*time.Millisecond

	ctx, cancel := context.WithCancel(ctx)
	played := make(chan error, 1)
	go func() {
		played <- d.play(ctx)
		cancel() // the demo is over: stop the agent
	}()
	err = runAgent(ctx, cfg, opt.health)
	cancel()
	return errors.Join(err, <-played)
}

// demo plays Waldur and its consumers for the agent: an embedded fake Waldur
// with a storage offering, a project whose members have offering usernames,
// and orders placed while the agent runs.
type demo struct {
	fake     *waldurtest.Server
	st       *storage
	out      io.Writer
	offering waldur.UUID
	project  waldur.UUID
	start    time.Time
}

func newDemo(st *storage, out io.Writer) *demo {
	fake := waldurtest.New()
	d := &demo{fake: fake, st: st, out: out, start: time.Now()}
	d.offering = fake.AddOffering(waldurtest.OfferingSpec{
		Name:       "Project storage",
		Components: []waldurtest.ComponentSpec{{Type: component, Name: "Storage", MeasuredUnit: "GB", BillingType: "limit"}},
	})
	d.project = fake.AddProject(waldurtest.ProjectSpec{Name: "Climate modelling"})
	for _, name := range []string{"alice", "bob", "carol"} {
		u := fake.AddUser(waldurtest.UserSpec{Username: name})
		if name != "carol" { // carol has no account at this site yet, so no access
			fake.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: d.offering, User: u, Username: name + "01"})
		}
		fake.AddProjectMember(d.project, u, "PROJECT.MEMBER")
	}
	fmt.Fprintf(out, "Embedded fake Waldur at %s; spaces under %s.\n", fake.URL(), st.root)
	return d
}

func (d *demo) close() { d.fake.Close() }

// play places orders, writes data as the consumers would, and prints what the
// agent does, until the agent reported usage.
func (d *demo) play(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()

	fmt.Fprintln(d.out, "\nThe consumers order three spaces:")
	results := d.order(waldur.OrderTypeCreate, "results", waldur.UUID{}, 100)
	scratch := d.order(waldur.OrderTypeCreate, "scratch", waldur.UUID{}, 20)
	huge := d.order(waldur.OrderTypeCreate, "everything", waldur.UUID{}, 50_000)
	if err := d.waitOrders(ctx, results, scratch, huge); err != nil {
		return err
	}
	resultsID, scratchID := d.resourceOf(results), d.resourceOf(scratch)
	resultsDir := filepath.Join(d.st.root, d.backendID(resultsID))

	fmt.Fprintln(d.out, "\nThe agent gives the project's members with an offering username access:")
	if err := d.fake.WaitFor(ctx, func() bool {
		m, err := load(resultsDir)
		return err == nil && len(m.Members) == 2
	}); err != nil {
		return errors.New("demo: the members never got access")
	}
	m, _ := load(resultsDir)
	fmt.Fprintf(d.out, "  %s: %s (carol has no offering username)\n", filepath.Base(resultsDir), strings.Join(slices.Sorted(maps.Keys(m.Members)), ", "))

	fmt.Fprintln(d.out, "\nalice01 and bob01 store 2 GB in results; the consumers resize results and drop scratch:")
	for path, size := range map[string]int64{
		"users/alice01/model-run.nc": 3 * gb / 2, "users/bob01/inputs.tar": gb / 4, "shared/README": gb / 4,
	} {
		if err := writeSparse(filepath.Join(resultsDir, path), size); err != nil {
			return err
		}
	}
	shrink := d.order(waldur.OrderTypeUpdate, "", resultsID, 1)
	drop := d.order(waldur.OrderTypeTerminate, "", scratchID, 0)
	if err := d.waitOrders(ctx, shrink, drop); err != nil {
		return err
	}
	if err := d.waitOrders(ctx, d.order(waldur.OrderTypeUpdate, "", resultsID, 250)); err != nil {
		return err
	}

	fmt.Fprintln(d.out, "\nThe agent reports the space in use for billing:")
	var usage waldur.ComponentUsage
	if err := d.fake.WaitFor(ctx, func() bool {
		for _, u := range d.fake.ComponentUsages() {
			if u.ResourceUUID == resultsID && u.Usage == 2 && len(d.userUsages(u.UUID)) == 2 {
				usage = u
				return true
			}
		}
		return false
	}); err != nil {
		return errors.New("demo: usage was never reported")
	}
	fmt.Fprintf(d.out, "  results %s: %s %s GB (%s)\n", usage.BillingPeriod.Format("2006-01"), usage.Type,
		waldur.FormatAmount(usage.Usage), strings.Join(d.userUsages(usage.UUID), ", "))

	d.summary()
	return nil
}

// order places an order as a consumer would; resource is zero for Create.
func (d *demo) order(typ waldur.OrderType, name string, resource waldur.UUID, quotaGB int64) waldur.UUID {
	spec := waldurtest.OrderSpec{Offering: d.offering, Project: d.project, Type: string(typ), Resource: resource}
	if name != "" {
		spec.Attributes = map[string]any{"name": name}
	}
	if quotaGB > 0 {
		spec.Limits = map[string]int64{component: quotaGB}
	}
	return d.fake.AddOrder(spec)
}

// waitOrders prints each order as it finishes and returns when all have.
func (d *demo) waitOrders(ctx context.Context, orders ...waldur.UUID) error {
	printed := make(map[waldur.UUID]bool)
	err := d.fake.WaitFor(ctx, func() bool {
		for _, id := range orders {
			o, _ := d.fake.Order(id)
			if printed[id] || !finished(o.State) {
				continue
			}
			printed[id] = true
			note := o.ErrorMessage + o.ProviderRejectionComment
			if o.State == waldur.OrderStateDone {
				r, _ := d.fake.Resource(o.MarketplaceResourceUUID)
				note = fmt.Sprintf("%s, %d GB", r.BackendID, r.Limits[component])
				if o.Type == waldur.OrderTypeTerminate {
					note = r.BackendID + " removed"
				}
			}
			fmt.Fprintf(d.out, "  %5d ms  %-9s  %-10s → %-8s  %s\n", time.Since(d.start).Milliseconds(), o.Type, o.ResourceName, o.State, note)
		}
		return len(printed) == len(orders)
	})
	if err != nil {
		return errors.New("demo: orders did not finish")
	}
	return nil
}

func finished(s waldur.OrderState) bool {
	return s == waldur.OrderStateDone || s == waldur.OrderStateErred || s == waldur.OrderStateRejected || s == waldur.OrderStateCanceled
}

func (d *demo) resourceOf(order waldur.UUID) waldur.UUID {
	o, _ := d.fake.Order(order)
	return o.MarketplaceResourceUUID
}

func (d *demo) backendID(resource waldur.UUID) string {
	r, _ := d.fake.Resource(resource)
	return r.BackendID
}

// userUsages renders the per-user usage reported for a usage record.
func (d *demo) userUsages(record waldur.UUID) []string {
	var out []string
	for _, u := range d.fake.UserUsages() {
		if u.ComponentUsage == record {
			out = append(out, u.Username+" "+u.Usage)
		}
	}
	slices.Sort(out)
	return out
}

// summary lists the spaces on the backend and the agent's calls to Waldur.
func (d *demo) summary() {
	fmt.Fprintln(d.out, "\nSpaces on the backend:")
	entries, _ := os.ReadDir(d.st.root)
	for _, e := range entries {
		dir := filepath.Join(d.st.root, e.Name())
		m, err := load(dir)
		if err != nil {
			continue
		}
		used, _, _ := diskUsage(dir)
		fmt.Fprintf(d.out, "  %s  quota %d GB, used %s GB, members %s\n", e.Name(), m.QuotaGB,
			waldur.FormatAmount(float64(used)/gb), strings.Join(slices.Sorted(maps.Keys(m.Members)), ", "))
	}
	fmt.Fprintf(d.out, "\nDone in %s with %d calls to Waldur.\n", time.Since(d.start).Round(time.Millisecond), len(d.fake.Calls()))
}

// writeSparse makes a file of the given size without writing its blocks, as a
// stand-in for the consumers' data.
func writeSparse(path string, size int64) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if err := f.Truncate(size); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}
