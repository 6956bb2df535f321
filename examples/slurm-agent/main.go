// Command slurm-agent is a Waldur site agent for a Slurm cluster, driven
// by the configuration file of Waldur's reference agent
// (waldur-site-agent), so a site moves over with the file it has:
//
//	go run ./examples/slurm-agent -config /etc/waldur/waldur-site-agent-config.yaml
//
// Every offering with backend_type slurm gets an agent; its Slurm accounts
// are managed with sacctmgr and its usage read with sacct on this
// machine. Settings the Go agent does not apply are logged by name.
//
// With -fake the agents talk to an embedded fake Waldur instead, seeded
// with the file's offering, a project with a member and a few orders, and
// the program tells what it does to the local Slurm and exits:
//
//	sudo .ci/slurm   # a one-node cluster, if there is none
//	go run ./examples/slurm-agent -config examples/slurm-agent/waldur-site-agent-config.yaml -fake
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/gsv-platform/waldur-agent-go/backends/slurm"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

type options struct {
	config string // the reference agent's YAML file
	fake   bool   // run against an embedded fake Waldur
	user   string // with fake: the Unix user the demo's member is, and runs a job as
	health string // address for the health endpoints of the first agent
	pushed bool   // publish backend_components to the offering first (load-components)
}

func main() {
	var opt options
	flag.StringVar(&opt.config, "config", "", "waldur-site-agent configuration file (required)")
	flag.BoolVar(&opt.fake, "fake", false, "run against an embedded fake Waldur and tell what happens")
	flag.StringVar(&opt.user, "user", "slurmtest1", "with -fake: the project member's username, a local user who runs a job")
	flag.StringVar(&opt.health, "health", "", "address to serve /healthz, /readyz and /stats on, e.g. :8080")
	flag.BoolVar(&opt.pushed, "load-components", false, "publish backend_components to each offering before starting")
	flag.Parse()
	if opt.config == "" {
		flag.Usage()
		os.Exit(2)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opt, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "slurm-agent:", err)
		os.Exit(1)
	}
}

// agentSpec is one offering's agent configuration with its backend.
type agentSpec struct {
	offering *agentconfig.Offering
	backend  *slurm.Backend
	cfg      siteagent.Config
}

// load reads the file and builds a backend and agent configuration for
// each Slurm offering, logging what is not applied.
func load(path string, log *slog.Logger) ([]agentSpec, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	f, err := agentconfig.LoadSiteAgentFile(path)
	if err != nil {
		return nil, err
	}
	for _, w := range f.Warnings {
		log.Warn("configuration: " + w.String())
	}
	var specs []agentSpec
	for i := range f.Offerings {
		o := &f.Offerings[i]
		if o.BackendType != "slurm" {
			log.Warn("offering skipped: not a Slurm offering", "offering", o.Name, "backend_type", o.BackendType)
			continue
		}
		b, warnings, err := slurm.FromOffering(o, slurm.ExecRunner{}, log)
		if err != nil {
			return nil, fmt.Errorf("offering %q: %w", o.Name, err)
		}
		for _, w := range warnings {
			log.Warn("configuration: offerings["+fmt.Sprint(i)+"]."+w, "offering", o.Name)
		}
		cfg := o.Config
		cfg.Logger = log
		b.Configure(&cfg, o)
		specs = append(specs, agentSpec{offering: o, backend: b, cfg: cfg})
	}
	if len(specs) == 0 {
		return nil, errors.New("no offering with backend_type slurm in " + path)
	}
	return specs, nil
}

func run(ctx context.Context, opt options, out io.Writer) error {
	if opt.fake {
		return runDemo(ctx, opt, out)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	specs, err := load(opt.config, log)
	if err != nil {
		return err
	}
	return runAgents(ctx, specs, opt, log)
}

// runAgents runs one agent per offering until ctx ends or one fails.
func runAgents(ctx context.Context, specs []agentSpec, opt options, log *slog.Logger) error {
	agents := make([]*siteagent.Agent, len(specs))
	for i, s := range specs {
		if opt.pushed {
			if err := pushComponents(ctx, s); err != nil {
				return err
			}
		}
		a, err := siteagent.New(s.cfg)
		if err != nil {
			return fmt.Errorf("offering %q: %w", s.offering.Name, err)
		}
		agents[i] = a
	}
	if opt.health != "" {
		srv := &http.Server{Addr: opt.health, Handler: agents[0].HealthHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				log.Error("health endpoints failed", "error", err)
			}
		}()
		defer srv.Close()
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	errs := make([]error, len(agents))
	var wg sync.WaitGroup
	for i, a := range agents {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if errs[i] = a.Run(ctx); errs[i] != nil {
				cancel() // one agent failing stops the program
			}
		}()
	}
	wg.Wait()
	return errors.Join(errs...)
}

// pushComponents publishes the offering's backend_components to Waldur,
// as the reference agent's load-components does.
func pushComponents(ctx context.Context, s agentSpec) error {
	client := s.cfg.Client
	if client == nil {
		a, err := siteagent.New(s.cfg)
		if err != nil {
			return err
		}
		client = a.Client()
	}
	uuid, err := waldur.ParseUUID(s.cfg.OfferingUUID)
	if err != nil {
		return err
	}
	pushed, err := client.Offerings.PushComponents(ctx, uuid, s.offering.ComponentRequests())
	for _, p := range pushed {
		if p.Err == nil {
			s.cfg.Logger.Info("offering component published", "offering", s.offering.Name, "type", p.Type, "created", p.Created)
		}
	}
	return err
}
