package slurm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Config configures a Backend.
type Config struct {
	// Runner runs sacctmgr and sacct. Default ExecRunner{} with
	// Settings.SlurmBinPath.
	Runner Runner
	// Settings are the backend settings; see SettingsFromOffering. Zero
	// fields take the documented defaults.
	Settings Settings
	// Components are the offering's components (backend_components):
	// their unit factors and accounting types turn Waldur limits into
	// GrpTRESMins and Slurm usage into Waldur usage.
	Components []agentconfig.Component
	// PeriodicLimits enables and configures periodic limits.
	PeriodicLimits agentconfig.PeriodicLimits
	// TimeZone is the Slurm cluster's local time zone, in which sacct
	// reads times. Default time.Local.
	TimeZone *time.Location
	// UsageCache is how long one sacct answer serves the usage of every
	// resource of a billing month, so a usage pass over many resources
	// runs one sacct per month. Default 30s; negative disables it.
	UsageCache time.Duration
	// Logger receives the backend's logs. Default: discard.
	Logger *slog.Logger
	// Now returns the current time. Default time.Now.
	Now func() time.Time
}

// Backend manages Slurm accounts for Waldur resources. It is the
// processor for every kind of work the agent does for a Slurm offering:
// siteagent.OrderProcessor, siteagent.MembershipProcessor,
// siteagent.UsageReporter and siteagent.ResourceStatusProcessor with
// pausing, downscaling and restoring, and PeriodicLimits.
type Backend struct {
	client     *Client
	settings   Settings
	components []component
	periodic   agentconfig.PeriodicLimits
	tz         *time.Location
	cacheFor   time.Duration
	log        *slog.Logger
	now        func() time.Time

	mu    sync.Mutex             // guards usage
	usage map[string]*usageEntry // by period start

	pmu         sync.Mutex
	parentsMade map[string]bool // "parent/account" made or found
}

// New returns a Backend for cfg.
func New(cfg Config) (*Backend, error) {
	cfg.Settings = cfg.Settings.withDefaults()
	if err := cfg.Settings.Validate(); err != nil {
		return nil, err
	}
	cs, err := components(cfg.Components)
	if err != nil {
		return nil, err
	}
	b := &Backend{
		settings: cfg.Settings, components: cs, periodic: cfg.PeriodicLimits,
		tz: cfg.TimeZone, cacheFor: cfg.UsageCache, log: cfg.Logger, now: cfg.Now,
		usage: make(map[string]*usageEntry), parentsMade: make(map[string]bool),
	}
	r := cfg.Runner
	if r == nil {
		r = ExecRunner{BinDir: cfg.Settings.SlurmBinPath}
	}
	b.client = &Client{Runner: r, Cluster: cfg.Settings.ClusterName, serial: new(sync.Mutex)}
	if b.tz == nil {
		b.tz = time.Local
	}
	if b.cacheFor == 0 {
		b.cacheFor = 30 * time.Second
	}
	if b.log == nil {
		b.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if b.now == nil {
		b.now = time.Now
	}
	return b, nil
}

// FromOffering builds a Backend from an offering of the reference agent's
// configuration file: its backend_settings, backend_components and
// periodic_limits. The warnings name every setting that is not applied.
func FromOffering(o *agentconfig.Offering, r Runner, logger *slog.Logger) (*Backend, []string, error) {
	if o.BackendType != "" && o.BackendType != "slurm" {
		return nil, nil, fmt.Errorf("slurm: offering %q has backend_type %q", o.Name, o.BackendType)
	}
	s, warnings, err := SettingsFromOffering(o)
	if err != nil {
		return nil, warnings, err
	}
	b, err := New(Config{Runner: r, Settings: s, Components: o.BackendComponents,
		PeriodicLimits: o.PeriodicLimits, TimeZone: o.Config.TimeZone, Logger: logger})
	return b, warnings, err
}

// Client returns the sacctmgr and sacct client the backend uses.
func (b *Backend) Client() *Client { return b.client }

// ProcessorInfo names the backend in Waldur's agent registry.
func (b *Backend) ProcessorInfo() siteagent.ProcessorInfo {
	return siteagent.ProcessorInfo{Name: "SlurmBackend", BackendType: "SLURM"}
}

// ProcessOrder carries out an order: Create and Restore make the
// resource's account (and its customer and project parents), Update sets
// its limits, Terminate removes it. Each is idempotent: run again, it
// finds the work done.
func (b *Backend) ProcessOrder(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
	r, err := o.Resource(ctx)
	if err != nil {
		return siteagent.Result{}, err
	}
	switch o.Type {
	case waldur.OrderTypeCreate:
		return b.create(ctx, r, o.Limits)
	case waldur.OrderTypeRestore:
		return b.create(ctx, r, r.Limits)
	case waldur.OrderTypeUpdate:
		return siteagent.Result{}, b.setLimits(ctx, r, o.Limits)
	case waldur.OrderTypeTerminate:
		return siteagent.Result{}, b.terminate(ctx, r)
	}
	return siteagent.Result{}, siteagent.Permanent(fmt.Errorf("slurm: %w: %s", siteagent.ErrUnsupportedOrderType, o.Type))
}

// marker goes into the description of a resource's account, so that the
// account is recognised as the resource's when an order runs again.
func marker(r *waldur.Resource) string {
	return "waldur resource " + strings.ReplaceAll(r.UUID.String(), "-", "")
}

func (b *Backend) create(ctx context.Context, r *waldur.Resource, limits map[string]int64) (siteagent.Result, error) {
	name := r.BackendID
	if name != "" {
		if err := CheckAccount(name); err != nil {
			return siteagent.Result{}, siteagent.Permanent(fmt.Errorf("slurm: backend id: %w", err))
		}
	}
	parent, err := b.parents(ctx, r)
	if err != nil {
		return siteagent.Result{}, err
	}
	if name == "" {
		if name, err = b.freeName(ctx, r); err != nil {
			return siteagent.Result{}, err
		}
	}
	// The limits go with the new account; an account that was there
	// already (an order run again, a Restore) gets them set.
	var set []string
	if grp := grpTRESMins(b.components, limits, termMonths(r)); len(grp) > 0 {
		set = append(set, "GrpTRESMins="+tresArg(grp))
	}
	made, err := b.client.AddAccount(ctx, name, parent, marker(r), parent, set...)
	if err != nil {
		// Perhaps a parent went away: make sure of them again next time.
		b.pmu.Lock()
		clear(b.parentsMade)
		b.pmu.Unlock()
		return siteagent.Result{}, fmt.Errorf("slurm: create account %s: %w", name, err)
	}
	if !made {
		if err := b.applyLimits(ctx, name, r, limits); err != nil {
			return siteagent.Result{}, err
		}
	}
	b.log.InfoContext(ctx, "slurm account ready", "account", name, "parent", parent, "resource", r.UUID)
	return siteagent.Result{BackendID: name, BackendMetadata: map[string]any{
		"account": name, "parent_account": parent,
	}}, nil
}

// parents makes the accounts above the resource's: the customer's under
// root_account and the project's under it, or the project's alone under
// parent_account. It returns the project's account.
func (b *Backend) parents(ctx context.Context, r *waldur.Resource) (string, error) {
	s := b.settings
	if r.ProjectSlug == "" || (s.ParentAccount == "" && r.CustomerSlug == "") {
		return "", siteagent.Permanentf("slurm: resource %s has no project or customer slug to name its accounts after", r.UUID)
	}
	project := AccountName(s.ProjectPrefix, r.ProjectSlug)
	parent := s.ParentAccount
	if parent == "" {
		customer := AccountName(s.CustomerPrefix, r.CustomerSlug)
		if customer == project {
			return "", siteagent.Permanentf("slurm: customer and project accounts would both be %q; give customer_prefix and project_prefix different values", customer)
		}
		if err := b.ensureAccount(ctx, customer, s.RootAccount, r.CustomerName); err != nil {
			return "", fmt.Errorf("slurm: create customer account %s: %w", customer, err)
		}
		parent = customer
	}
	if err := b.ensureAccount(ctx, project, parent, r.ProjectName); err != nil {
		return "", fmt.Errorf("slurm: create project account %s: %w", project, err)
	}
	return project, nil
}

// ensureAccount makes a customer or project account once per process:
// every allocation of a project needs it, and each sacctmgr call costs a
// round trip to slurmdbd.
func (b *Backend) ensureAccount(ctx context.Context, name, parent, description string) error {
	key := parent + "/" + name
	b.pmu.Lock()
	known := b.parentsMade[key]
	b.pmu.Unlock()
	if known {
		return nil
	}
	if _, err := b.client.AddAccount(ctx, name, parent, description, name); err != nil {
		return err
	}
	b.pmu.Lock()
	b.parentsMade[key] = true
	b.pmu.Unlock()
	return nil
}

// freeName finds the resource's account name: allocation_prefix + slug,
// or with a suffix _2, _3, ... when another resource has it. An account
// already marked as the resource's is its own (an order run again).
func (b *Backend) freeName(ctx context.Context, r *waldur.Resource) (string, error) {
	slug := r.Slug
	if slug == "" {
		slug = r.Name
	}
	base := AccountName(b.settings.AllocationPrefix, slug)
	if base == "" {
		return "", siteagent.Permanentf("slurm: resource %s has no slug to name its account after", r.UUID)
	}
	for i := 1; i <= b.settings.BackendIDMaxRetries; i++ {
		name := base
		if i > 1 {
			suffix := "_" + strconv.Itoa(i)
			name = base[:min(len(base), 64-len(suffix))] + suffix
		}
		info, err := b.client.Account(ctx, name)
		if err != nil {
			return "", err
		}
		if info == nil || info.Description == marker(r) {
			return name, nil
		}
	}
	return "", siteagent.Permanentf("slurm: accounts %s to %s_%d are all taken", base, base, b.settings.BackendIDMaxRetries)
}

// applyLimits sets GrpTRESMins from Waldur limits.
func (b *Backend) applyLimits(ctx context.Context, account string, r *waldur.Resource, limits map[string]int64) error {
	grp := grpTRESMins(b.components, limits, termMonths(r))
	if len(grp) == 0 {
		return nil
	}
	if err := b.client.ModifyAccount(ctx, account, "GrpTRESMins="+tresArg(grp)); err != nil {
		return fmt.Errorf("slurm: set limits of %s: %w", account, err)
	}
	return nil
}

func (b *Backend) setLimits(ctx context.Context, r *waldur.Resource, limits map[string]int64) error {
	account, err := b.account(ctx, r)
	if err != nil {
		return err
	}
	return b.applyLimits(ctx, account, r, limits)
}

// account returns the resource's account, checked to exist.
func (b *Backend) account(ctx context.Context, r *waldur.Resource) (string, error) {
	if r.BackendID == "" {
		return "", siteagent.Permanentf("slurm: resource %s has no Slurm account (no backend id)", r.UUID)
	}
	if err := CheckAccount(r.BackendID); err != nil {
		return "", siteagent.Permanent(fmt.Errorf("slurm: backend id: %w", err))
	}
	info, err := b.client.Account(ctx, r.BackendID)
	if err != nil {
		return "", err
	}
	if info == nil {
		return "", siteagent.Permanentf("slurm: account %s of resource %s does not exist", r.BackendID, r.UUID)
	}
	return r.BackendID, nil
}

func (b *Backend) terminate(ctx context.Context, r *waldur.Resource) error {
	if r.BackendID == "" {
		return nil // never created
	}
	if err := CheckAccount(r.BackendID); err != nil {
		return siteagent.Permanent(fmt.Errorf("slurm: backend id: %w", err))
	}
	if err := b.client.CancelJobs(ctx, r.BackendID); err != nil {
		return fmt.Errorf("slurm: cancel jobs of %s: %w", r.BackendID, err)
	}
	if err := b.client.RemoveAccount(ctx, r.BackendID); err != nil {
		return fmt.Errorf("slurm: remove account %s: %w", r.BackendID, err)
	}
	b.log.InfoContext(ctx, "slurm account removed", "account", r.BackendID, "resource", r.UUID)
	return nil
}

// errNoQoS refuses pausing or downscaling without the QoS to do it with.
var errNoQoS = errors.New("slurm: no QoS configured")
