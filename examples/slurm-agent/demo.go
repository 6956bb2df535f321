package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/backends/slurm"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// runDemo runs the file's first Slurm offering against an embedded fake
// Waldur and the local Slurm: it publishes the components, orders an
// allocation, lets the member run a job, reports usage, changes the
// limit and terminates the allocation, telling each step.
func runDemo(ctx context.Context, opt options, out io.Writer) error {
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelError}))
	specs, err := load(opt.config, log)
	if err != nil {
		return err
	}
	spec := specs[0]
	fake := waldurtest.New()
	defer fake.Close()
	off, err := waldur.ParseUUID(spec.cfg.OfferingUUID)
	if err != nil {
		return err
	}
	fake.AddOffering(waldurtest.OfferingSpec{UUID: off, Name: spec.offering.Name})
	// Slugs of their own, so the demo's accounts never meet a site's.
	var b [3]byte
	_, _ = rand.Read(b[:])
	tag := hex.EncodeToString(b[:])
	cust := fake.AddCustomer(waldurtest.CustomerSpec{Name: "Physics", Slug: "physics" + tag})
	prj := fake.AddProject(waldurtest.ProjectSpec{Customer: cust, Name: "Lasers", Slug: "lasers" + tag})
	member := fake.AddUser(waldurtest.UserSpec{Username: "alice"})
	fake.AddProjectMember(prj, member, "PROJECT.MEMBER")
	fake.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: off, User: member, Username: opt.user})
	fmt.Fprintf(out, "Embedded fake Waldur at %s, offering %q on the local Slurm.\n", fake.URL(), spec.offering.Name)

	cfg := spec.cfg
	cfg.Client, cfg.WaldurURL, cfg.Token = fake.Client(), fake.URL(), fake.Token()
	cfg.Events.Mode = siteagent.EventsPolling
	cfg.ReconcileInterval, cfg.SyncInterval, cfg.UsageInterval = 200*time.Millisecond, 200*time.Millisecond, 500*time.Millisecond
	cfg.Logger = log
	spec.cfg = cfg
	if err := pushComponents(ctx, spec); err != nil {
		return err
	}
	o, _ := fake.Offering(off)
	for _, c := range o.Components {
		fmt.Fprintf(out, "  component %s (%s, %s) published\n", c.Type, c.BillingType, c.MeasuredUnit)
	}

	d := &demo{fake: fake, backend: spec.backend, out: out, offering: off, project: prj, user: opt.user, tag: tag}
	ctx, cancel := context.WithCancel(ctx)
	played := make(chan error, 1)
	go func() {
		played <- d.play(ctx)
		cancel()
	}()
	err = runAgents(ctx, []agentSpec{spec}, options{}, log)
	cancel()
	return errors.Join(err, <-played)
}

type demo struct {
	fake     *waldurtest.Server
	backend  *slurm.Backend
	out      io.Writer
	offering waldur.UUID
	project  waldur.UUID
	user     string
	tag      string // makes the demo's account names its own
}

func (d *demo) play(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 2*time.Minute)
	defer cancel()
	fmt.Fprintln(d.out, "\nThe consumer orders an allocation of 600 CPU-minutes:")
	create := d.fake.AddOrder(waldurtest.OrderSpec{Offering: d.offering, Project: d.project,
		Limits: map[string]int64{"cpu": 600}, Attributes: map[string]any{"name": "alloc-" + d.tag}})
	o, err := d.wait(ctx, create)
	if err != nil {
		return err
	}
	r, _ := d.fake.Resource(o.MarketplaceResourceUUID)
	account := r.BackendID
	assoc := d.assoc(ctx, account)
	defer d.cleanup(account, assoc.Parent)
	fmt.Fprintf(d.out, "  order %s; Slurm account %s under %s, GrpTRESMins %v\n", o.State, account, assoc.Parent, assoc.GrpTRESMin)

	if err := d.until(ctx, "the member's association", func() bool {
		ms, err := d.backend.ListMembers(ctx, &r)
		return err == nil && len(ms) == 1
	}); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "  project member %s added to %s\n", d.user, account)

	if job, err := exec.CommandContext(ctx, "runuser", "-u", d.user, "--", "srun", "-A", account,
		"-n", "1", "-t", "1", "sleep", "3").CombinedOutput(); err != nil {
		fmt.Fprintf(d.out, "  (no job run as %s: %s)\n", d.user, strings.TrimSpace(string(job)))
	} else {
		fmt.Fprintf(d.out, "  %s ran a 3-second job under %s\n", d.user, account)
		if err := d.until(ctx, "usage", func() bool { return d.usage("cpu") > 0 }); err != nil {
			return err
		}
		fmt.Fprintf(d.out, "  usage reported to Waldur: cpu %.2f CPU-minutes\n", d.usage("cpu"))
	}

	fmt.Fprintln(d.out, "\nThe consumer raises the limit to 1200 CPU-minutes:")
	update := d.fake.AddOrder(waldurtest.OrderSpec{Offering: d.offering, Type: "Update", Resource: r.UUID,
		Limits: map[string]int64{"cpu": 1200}})
	if o, err = d.wait(ctx, update); err != nil {
		return err
	}
	fmt.Fprintf(d.out, "  order %s; GrpTRESMins %v\n", o.State, d.assoc(ctx, account).GrpTRESMin)

	fmt.Fprintln(d.out, "\nThe consumer terminates the allocation:")
	terminate := d.fake.AddOrder(waldurtest.OrderSpec{Offering: d.offering, Type: "Terminate", Resource: r.UUID})
	if o, err = d.wait(ctx, terminate); err != nil {
		return err
	}
	info, _ := d.backend.Client().Account(ctx, account)
	fmt.Fprintf(d.out, "  order %s; account %s removed: %t\n", o.State, account, info == nil)
	return nil
}

// cleanup removes the demo's accounts: the allocation's, should the demo
// stop before Terminate, and the project's and customer's, which the
// agent keeps for further allocations.
func (d *demo) cleanup(account, project string) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	c := d.backend.Client()
	customer := d.assoc(ctx, project).Parent
	for _, a := range []string{account, project, customer} {
		if a != "" {
			_ = c.CancelJobs(ctx, a)
			_ = c.RemoveAccount(ctx, a)
		}
	}
}

func (d *demo) assoc(ctx context.Context, account string) slurm.Association {
	as, err := d.backend.Client().Associations(ctx, account)
	if err != nil || len(as) == 0 {
		return slurm.Association{}
	}
	return as[0]
}

// usage is the resource's usage of a component this month, as Waldur has it.
func (d *demo) usage(typ string) float64 {
	var latest waldur.ComponentUsage
	for _, u := range d.fake.ComponentUsages() {
		if u.Type == typ && !u.BillingPeriod.Before(latest.BillingPeriod.Time) {
			latest = u
		}
	}
	return latest.Usage
}

func (d *demo) wait(ctx context.Context, id waldur.UUID) (waldur.Order, error) {
	var o waldur.Order
	err := d.until(ctx, "order "+id.String(), func() bool {
		o, _ = d.fake.Order(id)
		return o.State == waldur.OrderStateDone || o.State == waldur.OrderStateErred
	})
	if err == nil && o.State == waldur.OrderStateErred {
		err = fmt.Errorf("demo: order erred: %s", o.ErrorMessage)
	}
	return o, err
}

func (d *demo) until(ctx context.Context, what string, cond func() bool) error {
	if err := d.fake.WaitFor(ctx, cond); err != nil {
		return fmt.Errorf("demo: waiting for %s: %w", what, err)
	}
	return nil
}
