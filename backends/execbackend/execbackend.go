package execbackend

import (
	"context"
	"errors"
	"fmt"
	osexec "os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Defaults for the zero values of Config.
const (
	DefaultTimeout   = 5 * time.Minute
	DefaultMaxOutput = 1 << 20
)

// Command is a program and its fixed arguments, run without a shell.
type Command []string

// Config names the programs of each kind of work. A nil Command means the
// work is not done by this backend; see the package documentation for what
// each program reads and writes.
type Config struct {
	// Create, Update, Terminate and Restore carry out orders of that type.
	// Restore falls back to Create. An order of a type without a command is
	// marked erred.
	Create, Update, Terminate, Restore Command
	// Evaluate decides orders pending the provider's approval. Without it
	// every order is accepted.
	Evaluate Command
	// ListMembers, AddMembers and RemoveMembers keep each resource's
	// members in sync: all three or none.
	ListMembers, AddMembers, RemoveMembers Command
	// Usage reports a resource's usage in a billing month.
	Usage Command

	// Dir is the programs' working directory. Default: the agent's.
	Dir string
	// Env is added to the programs' environment.
	Env map[string]string
	// Timeout bounds each run. Default 5m.
	Timeout time.Duration
	// MaxOutput bounds a program's standard output in bytes. Default 1 MiB.
	MaxOutput int

	// Name and Version describe the backend to Waldur (register_processor).
	// Defaults "ExecBackend" and "".
	Name, Version string
}

// Backend runs the configured programs. It is an siteagent.OrderProcessor
// and siteagent.OrderEvaluator; Membership and Usage return the other
// processors. It is safe for concurrent use.
type Backend struct {
	cfg Config
	run *runner
}

// New checks cfg and returns a Backend. Every command must name a program;
// it is not looked up until it runs.
func New(cfg Config) (*Backend, error) {
	named := map[string]Command{
		"create": cfg.Create, "update": cfg.Update, "terminate": cfg.Terminate, "restore": cfg.Restore,
		"evaluate": cfg.Evaluate, "list_members": cfg.ListMembers, "add_members": cfg.AddMembers,
		"remove_members": cfg.RemoveMembers, "usage": cfg.Usage,
	}
	some := false
	for name, c := range named {
		if c == nil {
			continue
		}
		if len(c) == 0 || strings.TrimSpace(c[0]) == "" {
			return nil, fmt.Errorf("execbackend: %s: empty command", name)
		}
		some = true
	}
	if !some {
		return nil, errors.New("execbackend: no command configured")
	}
	m := 0
	for _, c := range []Command{cfg.ListMembers, cfg.AddMembers, cfg.RemoveMembers} {
		if c != nil {
			m++
		}
	}
	if m != 0 && m != 3 {
		return nil, errors.New("execbackend: membership needs all of list_members, add_members and remove_members")
	}
	if cfg.Timeout < 0 || cfg.MaxOutput < 0 {
		return nil, errors.New("execbackend: timeout and max output must not be negative")
	}
	if cfg.Timeout == 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.MaxOutput == 0 {
		cfg.MaxOutput = DefaultMaxOutput
	}
	if cfg.Name == "" {
		cfg.Name = "ExecBackend"
	}
	return &Backend{cfg: cfg, run: newRunner(&cfg)}, nil
}

// Check reports programs that cannot be started: missing, or not
// executable. It starts nothing; run it before serving, as a deployment
// check.
func (b *Backend) Check() error {
	var errs []error
	for _, c := range []struct {
		name string
		cmd  Command
	}{
		{"create", b.cfg.Create}, {"update", b.cfg.Update}, {"terminate", b.cfg.Terminate}, {"restore", b.cfg.Restore},
		{"evaluate", b.cfg.Evaluate}, {"list_members", b.cfg.ListMembers}, {"add_members", b.cfg.AddMembers},
		{"remove_members", b.cfg.RemoveMembers}, {"usage", b.cfg.Usage},
	} {
		if c.cmd == nil {
			continue
		}
		prog := c.cmd[0]
		if b.cfg.Dir != "" && strings.Contains(prog, "/") && !filepath.IsAbs(prog) {
			prog = filepath.Join(b.cfg.Dir, prog)
		}
		if _, err := osexec.LookPath(prog); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", c.name, err))
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("execbackend: %w", errors.Join(errs...))
	}
	return nil
}

// HasOrders reports whether any order command is configured.
func (b *Backend) HasOrders() bool {
	return b.cfg.Create != nil || b.cfg.Update != nil || b.cfg.Terminate != nil || b.cfg.Restore != nil
}

// Orders returns b as an order processor, or nil when no order command is
// configured, ready for siteagent.Config.Orders.
func (b *Backend) Orders() siteagent.OrderProcessor {
	if !b.HasOrders() {
		return nil
	}
	return b
}

// ProcessorInfo implements siteagent.Describer.
func (b *Backend) ProcessorInfo() siteagent.ProcessorInfo {
	return siteagent.ProcessorInfo{Name: b.cfg.Name, BackendType: "exec", BackendVersion: b.cfg.Version}
}

// ProcessOrder runs the command of the order's type; see the package
// documentation.
func (b *Backend) ProcessOrder(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
	var cmd Command
	switch o.Type {
	case waldur.OrderTypeCreate:
		cmd = b.cfg.Create
	case waldur.OrderTypeUpdate:
		cmd = b.cfg.Update
	case waldur.OrderTypeTerminate:
		cmd = b.cfg.Terminate
	case waldur.OrderTypeRestore:
		cmd = b.cfg.Restore
		if cmd == nil {
			cmd = b.cfg.Create
		}
	}
	if cmd == nil {
		return siteagent.Result{}, siteagent.Permanent(fmt.Errorf("%w: %s", siteagent.ErrUnsupportedOrderType, o.Type))
	}
	req := request{Protocol: Protocol, Action: strings.ToLower(string(o.Type)), Order: newOrderInfo(o)}
	// A first Create attempt has no backend state to show; other orders
	// have a resource the program needs (its backend_id above all).
	if o.ResourceUUID != (waldur.UUID{}) && (o.Type != waldur.OrderTypeCreate || o.Attempt > 1 || o.BackendOrderID != "") {
		r, err := o.Resource(ctx)
		if err != nil {
			return siteagent.Result{}, err
		}
		req.Resource = newResourceInfo(r)
	}
	var ans orderAnswer
	if err := b.run.run(ctx, cmd, req, &ans); err != nil {
		var exit *ExitError
		if errors.As(err, &exit) {
			// The program's own words: Waldur shows them on the order.
			return siteagent.Result{}, err
		}
		return siteagent.Result{}, fmt.Errorf("execbackend: order %s: %w", hex(o.UUID), err)
	}
	if ans.InProgress != "" {
		return siteagent.InProgress(ans.InProgress), nil
	}
	res := siteagent.Result{BackendID: ans.BackendID, BackendMetadata: ans.BackendMetadata, Limits: ans.Limits}
	for _, e := range ans.Endpoints {
		res.Endpoints = append(res.Endpoints, siteagent.Endpoint{Name: e.Name, URL: e.URL})
	}
	return res, nil
}

// EvaluateOrder implements siteagent.OrderEvaluator with the Evaluate
// command; without one it accepts. Every failure of the program is
// transient here: the order stays pending and is evaluated again.
func (b *Backend) EvaluateOrder(ctx context.Context, o *siteagent.Order) (siteagent.Decision, error) {
	if b.cfg.Evaluate == nil {
		return siteagent.Accept(), nil
	}
	var ans decisionAnswer
	req := request{Protocol: Protocol, Action: "evaluate", Order: newOrderInfo(o)}
	if err := b.run.run(ctx, b.cfg.Evaluate, req, &ans); err != nil {
		return siteagent.KeepPending(), fmt.Errorf("execbackend: evaluate order %s: %w", hex(o.UUID), transient(err))
	}
	switch ans.Decision {
	case "accept", "":
		return siteagent.Accept(), nil
	case "reject":
		return siteagent.Reject(ans.Reason), nil
	case "keep":
		return siteagent.KeepPending(), nil
	}
	return siteagent.KeepPending(), fmt.Errorf("execbackend: evaluate order %s: decision %q is not accept, reject or keep", hex(o.UUID), ans.Decision)
}

// transient drops the Permanent mark run puts on its errors, for callers
// whose failures are all transient.
func transient(err error) error {
	if siteagent.IsPermanent(err) {
		if inner := errors.Unwrap(err); inner != nil {
			return inner
		}
	}
	return err
}
