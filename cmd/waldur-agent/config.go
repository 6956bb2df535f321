package main

import (
	"flag"
	"fmt"
	"io"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gsv-platform/waldur-agent-go/backends/execbackend"
	"github.com/gsv-platform/waldur-agent-go/backends/slurm"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// configFlags are the flags every subcommand that reads the file has.
type configFlags struct {
	path     string
	offering string
}

func (c *configFlags) register(fs *flag.FlagSet) {
	fs.StringVar(&c.path, "config", "", "the agent's configuration file (waldur-site-agent YAML)")
	fs.StringVar(&c.offering, "offering", "", "the offering to serve, by name or UUID, when the file has several")
}

func newFlagSet(e *env, name, args string) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	fs.Usage = func() {
		fmt.Fprintf(e.stderr, "usage: waldur-agent %s %s\n", name, args)
		fs.PrintDefaults()
	}
	return fs
}

// parse parses args, turning -h into success and mistakes into status 2.
func parse(fs *flag.FlagSet, args []string) error {
	if err := fs.Parse(args); err != nil {
		if err == flag.ErrHelp {
			return &exitError{code: 0, err: err}
		}
		return &exitError{code: 2, err: err}
	}
	if fs.NArg() > 0 {
		return usageError("unexpected argument %q", fs.Arg(0))
	}
	return nil
}

// loaded is one offering of a configuration file, with the environment
// applied.
type loaded struct {
	path     string
	dir      string // the file's directory: relative paths start here
	file     *agentconfig.File
	offering agentconfig.Offering
	id       waldur.UUID
	// backendWarnings are settings the backend does not apply, known once
	// setProcessors has run.
	backendWarnings []string
}

func (c *configFlags) load(e *env) (*loaded, error) {
	if c.path == "" {
		return nil, usageError("-config is required")
	}
	f, err := agentconfig.LoadSiteAgentFile(c.path)
	if err != nil {
		return nil, usageError("%v", err)
	}
	var picked []agentconfig.Offering
	for _, o := range f.Offerings {
		if c.offering == "" || o.Name == c.offering || sameUUID(o.Config.OfferingUUID, c.offering) {
			picked = append(picked, o)
		}
	}
	switch {
	case len(picked) == 0:
		return nil, usageError("no offering %q in %s", c.offering, c.path)
	case len(picked) > 1:
		var names []string
		for _, o := range picked {
			names = append(names, fmt.Sprintf("%q (%s)", o.Name, o.Config.OfferingUUID))
		}
		return nil, usageError("%s has %d offerings; pick one with -offering: %s", c.path, len(picked), strings.Join(names, ", "))
	}
	abs, err := filepath.Abs(c.path)
	if err != nil {
		return nil, usageError("%v", err)
	}
	l := &loaded{path: c.path, dir: filepath.Dir(abs), file: f, offering: picked[0]}
	if err := agentconfig.ApplyEnv(&l.offering.Config, e.getenv); err != nil {
		return nil, usageError("%v", err)
	}
	l.id, _ = waldur.ParseUUID(l.offering.Config.OfferingUUID) // checked by the loader
	return l, nil
}

func sameUUID(a, b string) bool {
	x, err1 := waldur.ParseUUID(a)
	y, err2 := waldur.ParseUUID(b)
	return err1 == nil && err2 == nil && x == y
}

// warn prints the file's warnings.
func (l *loaded) warn(w io.Writer) {
	for _, warning := range l.file.Warnings {
		fmt.Fprintf(w, "waldur-agent: %s: %s\n", l.path, warning)
	}
}

// client returns the Waldur client of the configuration: the one the loader
// built (OIDC, verify_ssl: false) or one from the URL and token.
func (l *loaded) client(opts ...waldur.Option) (*waldur.Client, error) {
	cfg := l.offering.Config
	if cfg.Client != nil {
		return cfg.Client, nil
	}
	auth := waldur.WithCredential(cfg.TokenKind, cfg.Token)
	return waldur.NewClient(cfg.WaldurURL, append([]waldur.Option{auth, waldur.WithPageSize(waldur.MaxPageSize)}, opts...)...)
}

// setProcessors puts the backend named by backend_type into cfg.
func (l *loaded) setProcessors(cfg *siteagent.Config) error {
	switch l.offering.BackendType {
	case "exec":
		b, err := l.execBackend()
		if err != nil {
			return err
		}
		if err := b.Check(); err != nil {
			return usageError("%s: %v", l.path, err)
		}
		cfg.Orders = b.Orders()
		if m := b.Membership(); m != nil {
			cfg.Membership = m
		}
		if u := b.Usage(); u != nil {
			cfg.Usage = u
		}
		return nil
	case "slurm":
		logger := cfg.Logger
		if logger == nil {
			logger = slog.New(slog.DiscardHandler)
		}
		b, warnings, err := slurm.FromOffering(&l.offering, slurm.ExecRunner{}, logger)
		if err != nil {
			return usageError("%s: %v", l.path, err)
		}
		l.backendWarnings = warnings
		b.Configure(cfg, &l.offering)
		return nil
	case "":
		return usageError("%s: backend_type is not set; this command knows: exec, slurm", l.path)
	default:
		return usageError("%s: backend_type %q is not built into this command; it knows: exec, slurm", l.path, l.offering.BackendType)
	}
}

// execSettings is backend_settings of backend_type exec.
type execSettings struct {
	Create        program `yaml:"create"`
	Update        program `yaml:"update"`
	Terminate     program `yaml:"terminate"`
	Restore       program `yaml:"restore"`
	Evaluate      program `yaml:"evaluate"`
	ListMembers   program `yaml:"list_members"`
	AddMembers    program `yaml:"add_members"`
	RemoveMembers program `yaml:"remove_members"`
	Usage         program `yaml:"usage"`

	Dir       string            `yaml:"dir"`
	Env       map[string]string `yaml:"env"`
	Timeout   duration          `yaml:"timeout"`
	MaxOutput int               `yaml:"max_output"`
}

func (l *loaded) execBackend() (*execbackend.Backend, error) {
	var s execSettings
	if err := l.offering.DecodeBackendSettings(&s); err != nil {
		return nil, usageError("%v", err)
	}
	dir := l.dir
	if s.Dir != "" {
		dir = l.abs(s.Dir)
	}
	b, err := execbackend.New(execbackend.Config{
		Create: l.cmd(s.Create), Update: l.cmd(s.Update), Terminate: l.cmd(s.Terminate), Restore: l.cmd(s.Restore),
		Evaluate: l.cmd(s.Evaluate), ListMembers: l.cmd(s.ListMembers), AddMembers: l.cmd(s.AddMembers),
		RemoveMembers: l.cmd(s.RemoveMembers), Usage: l.cmd(s.Usage),
		Dir: dir, Env: s.Env, Timeout: time.Duration(s.Timeout), MaxOutput: s.MaxOutput,
		Name: "ExecBackend",
	})
	if err != nil {
		return nil, usageError("%s: backend_settings: %v", l.path, err)
	}
	return b, nil
}

// cmd resolves a relative program path against the file's directory; a
// bare name ("python3") is looked up in PATH when it runs.
func (l *loaded) cmd(c program) execbackend.Command {
	if c == nil {
		return nil
	}
	out := append(execbackend.Command{}, c...)
	if strings.Contains(out[0], "/") {
		out[0] = l.abs(out[0])
	}
	return out
}

func (l *loaded) abs(p string) string {
	if filepath.IsAbs(p) {
		return p
	}
	return filepath.Join(l.dir, p)
}

// program is a program: a string (the path alone) or a list (program and
// arguments). Nothing is split on spaces and no shell is involved.
type program []string

func (c *program) UnmarshalYAML(n *yaml.Node) error {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Value == "" {
			return nil
		}
		*c = program{n.Value}
		return nil
	case yaml.SequenceNode:
		var list []string
		if err := n.Decode(&list); err != nil {
			return err
		}
		if len(list) == 0 {
			return fmt.Errorf("line %d: empty command", n.Line)
		}
		*c = list
		return nil
	}
	return fmt.Errorf("line %d: want a program path or a list of program and arguments", n.Line)
}

// duration reads Go durations ("2m") and plain seconds (120).
type duration time.Duration

func (d *duration) UnmarshalYAML(n *yaml.Node) error {
	if secs, err := strconv.ParseFloat(n.Value, 64); err == nil {
		*d = duration(secs * float64(time.Second))
		return nil
	}
	v, err := time.ParseDuration(n.Value)
	if err != nil {
		return fmt.Errorf("line %d: %q is not a duration such as 90s or 5m", n.Line, n.Value)
	}
	*d = duration(v)
	return nil
}
