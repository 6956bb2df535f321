package main

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// report prints one line per check and counts failures and warnings.
type report struct {
	e                  *env
	failures, warnings int
}

func (r *report) ok(format string, args ...any) { r.line("✓", format, args...) }
func (r *report) fail(format string, args ...any) {
	r.failures++
	r.line("✗", format, args...)
}
func (r *report) warn(format string, args ...any) {
	r.warnings++
	r.line("!", format, args...)
}
func (r *report) skip(format string, args ...any) { r.line("-", format, args...) }
func (r *report) line(mark, format string, args ...any) {
	fmt.Fprintf(r.e.stdout, "%s %s\n", mark, fmt.Sprintf(format, args...))
}

// slurmOnly is the offering type whose orders Waldur lets an agent move
// to executing and erred; other types answer 405 there.
const slurmOnly = "Marketplace.Slurm"

// stuckAge is how long an executing order may go unmodified before
// diagnose calls it stuck, siteagent's default StuckOrderAge.
const stuckAge = siteagent.DefaultStuckOrderAge

// maxSkew is the clock difference diagnose tolerates.
const maxSkew = 30 * time.Second

func diagnoseCommand(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "diagnose", "-config agent.yaml [-offering name] [-timeout 30s]")
	var cf configFlags
	cf.register(fs)
	timeout := fs.Duration("timeout", 30*time.Second, "bound on the whole diagnosis")
	if err := parse(fs, args); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	r := &report{e: e}
	l, err := cf.load(e)
	if err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			r.fail("configuration: %v", ee.err)
			return errFailed
		}
		return err
	}
	d := &diagnosis{r: r, l: l, cfg: l.offering.Config}
	d.run(ctx)
	fmt.Fprintf(e.stdout, "\n%d failed, %d warnings\n", r.failures, r.warnings)
	if r.failures > 0 {
		return errFailed
	}
	return nil
}

type diagnosis struct {
	r      *report
	l      *loaded
	cfg    siteagent.Config
	c      *waldur.Client
	clock  *clockWatch
	user   *waldur.User
	ident  *waldur.AgentIdentity
	queue  *waldur.AgentQueue
	broker bool // register_queue answered: the broker can be tried
}

func (d *diagnosis) run(ctx context.Context) {
	r, l := d.r, d.l
	r.ok("configuration: %s, offering %q (%s), backend %s", l.path, l.offering.Name, l.offering.Config.OfferingUUID, orNone(l.offering.BackendType))
	for _, w := range l.file.Warnings {
		r.warn("configuration: %s", w)
	}
	if err := d.l.setProcessors(&siteagent.Config{}); err != nil {
		var ee *exitError
		if errors.As(err, &ee) {
			err = ee.err
		}
		r.fail("backend: %v", err)
	}
	for _, w := range d.l.backendWarnings {
		r.warn("backend: %s", w)
	}
	if !d.connect(ctx) {
		return
	}
	if !d.offering(ctx) {
		return
	}
	d.identity(ctx)
	d.registerQueue(ctx)
	d.brokerCheck(ctx)
	d.orders(ctx)
	d.clockCheck()
}

// connect checks the URL and the token with one call: who am I.
func (d *diagnosis) connect(ctx context.Context) bool {
	d.clock = &clockWatch{}
	var err error
	if d.cfg.Client != nil {
		d.c = d.cfg.Client // OIDC or verify_ssl: false; its transport is its own
		d.clock = nil
	} else {
		d.c, err = d.l.client(waldur.WithHTTPClient(&http.Client{Transport: d.clock.wrap(http.DefaultTransport), Timeout: 30 * time.Second}),
			waldur.WithRetryPolicy(waldur.RetryPolicy{MaxRetries: 1}))
		if err != nil {
			d.r.fail("Waldur: %v", err)
			return false
		}
	}
	start := time.Now()
	me, err := d.c.Users.Me(ctx)
	switch {
	case err == nil:
		d.r.ok("Waldur: %s answers (%s)", d.cfg.WaldurURL, time.Since(start).Round(time.Millisecond))
	case waldur.IsUnauthorized(err) || waldur.IsForbidden(err):
		d.r.ok("Waldur: %s answers", d.cfg.WaldurURL)
		d.r.fail("token: refused by Waldur (%s); set waldur_api_token to a valid token of the offering's manager", apiDetail(err))
		return false
	default:
		d.r.fail("Waldur: %s does not answer: %v", d.cfg.WaldurURL, err)
		return false
	}
	d.user = me
	kind := "token"
	switch {
	case d.l.offering.OIDC:
		kind = "OIDC client credentials"
	case d.c.TokenKind() == waldur.TokenPAT:
		kind = "personal access token"
	case d.c.TokenKind() == waldur.TokenOIDC:
		kind = "OIDC access token"
	}
	role := ""
	if me.IsStaff {
		role = ", staff"
	}
	d.r.ok("%s: user %s%s%s", kind, me.Username, paren(me.FullName), role)
	return true
}

func (d *diagnosis) offering(ctx context.Context) bool {
	o, err := d.c.Offerings.Get(ctx, d.l.id)
	if err != nil {
		if waldur.IsNotFound(err) {
			d.r.fail("offering %s: not found, or user %s cannot see it (needs the offering manager role)", d.cfg.OfferingUUID, d.user.Username)
		} else {
			d.r.fail("offering %s: %v", d.cfg.OfferingUUID, err)
		}
		return false
	}
	d.r.ok("offering: %q, type %s, state %s, %d components", o.Name, o.Type, o.State, len(o.Components))
	if o.Type != slurmOnly {
		d.r.warn("offering type %s: Waldur refuses set_state_executing and set_state_erred for it (405, only %s); orders go from approved to done, and failures cannot be marked erred", o.Type, slurmOnly)
	}
	return true
}

func (d *diagnosis) identity(ctx context.Context) {
	name := d.cfg.Name
	if name == "" {
		name = "agent-" + d.cfg.OfferingUUID
	}
	for id, err := range d.c.Agents.ListIdentities(ctx, waldur.ListIdentitiesOptions{Name: name, OfferingUUID: d.l.id}) {
		if err != nil {
			d.r.fail("identity %s: %v", name, err)
			return
		}
		d.ident = &id
		break
	}
	if d.ident == nil {
		d.r.warn("identity %s: not registered yet; the agent registers it when it runs", name)
		return
	}
	var services []string
	idle := false
	for _, s := range d.ident.Services {
		services = append(services, fmt.Sprintf("%s (%s)", s.Name, s.State))
		idle = idle || s.State != waldur.AgentServiceStateActive
	}
	version := ""
	if d.ident.Version != nil {
		version = ", version " + *d.ident.Version
	}
	if len(services) == 0 {
		d.r.warn("identity %s%s: registered, without services; the agent registers them when it runs", name, version)
		return
	}
	d.r.ok("identity %s%s: services %s", name, version, strings.Join(services, ", "))
	if idle {
		d.r.warn("services: not all Active; Waldur marks a service Idle after 10 minutes without a heartbeat: is the agent running?")
	}
}

func (d *diagnosis) registerQueue(ctx context.Context) {
	if d.ident == nil {
		d.r.skip("register_queue: needs the identity")
		return
	}
	q, _, err := d.c.Agents.RegisterQueue(ctx, d.ident.UUID, nil)
	switch {
	case err == nil:
		d.queue = q
		d.broker = true
		d.r.ok("register_queue: queue %s in vhost %s for broker user %s", q.QueueName, q.Vhost, q.RmqUsername)
	case waldur.IsNotFound(err):
		d.r.warn("register_queue: not available (Waldur before 8.1); the agent uses legacy event subscriptions")
	case waldur.IsConflict(err):
		d.r.fail("register_queue: the identity's queue belongs to another Waldur user (409); delete the identity or use another name")
	default:
		d.r.fail("register_queue: %v", err)
	}
}

func (d *diagnosis) orders(ctx context.Context) {
	pending, err := d.c.Orders.Count(ctx, waldur.ListOrdersOptions{OfferingUUID: d.l.id, States: []waldur.OrderState{waldur.OrderStatePendingProvider}})
	if err != nil {
		d.r.fail("orders: %v", err)
		return
	}
	executing, err := d.c.Orders.Count(ctx, waldur.ListOrdersOptions{OfferingUUID: d.l.id, States: []waldur.OrderState{waldur.OrderStateExecuting}})
	if err != nil {
		d.r.fail("orders: %v", err)
		return
	}
	stuck, err := d.c.Orders.Count(ctx, waldur.ListOrdersOptions{OfferingUUID: d.l.id, States: []waldur.OrderState{waldur.OrderStateExecuting},
		ModifiedBefore: time.Now().Add(-stuckAge)})
	if err != nil {
		d.r.fail("orders: %v", err)
		return
	}
	if stuck > 0 {
		d.r.warn("orders: %d pending the provider, %d executing, %d of them unchanged for more than %s (stuck?)", pending, executing, stuck, stuckAge)
		return
	}
	d.r.ok("orders: %d pending the provider, %d executing, none stuck", pending, executing)
}

func (d *diagnosis) clockCheck() {
	if d.clock == nil {
		d.r.skip("clock: not checked with this client")
		return
	}
	skew, ok := d.clock.skew()
	switch {
	case !ok:
		d.r.skip("clock: Waldur sent no Date header")
	case skew > maxSkew || skew < -maxSkew:
		d.r.warn("clock: %s off Waldur's (usage months and token expiry depend on it); run NTP", skew.Round(time.Second))
	default:
		d.r.ok("clock: within %s of Waldur's", maxSkew)
	}
}

func apiDetail(err error) string {
	var ae *waldur.APIError
	if errors.As(err, &ae) {
		if ae.Detail != "" {
			return fmt.Sprintf("%d: %s", ae.StatusCode, ae.Detail)
		}
		return fmt.Sprintf("HTTP %d", ae.StatusCode)
	}
	return err.Error()
}

func orNone(s string) string {
	if s == "" {
		return "(none)"
	}
	return s
}

func paren(s string) string {
	if s == "" {
		return ""
	}
	return " (" + s + ")"
}
