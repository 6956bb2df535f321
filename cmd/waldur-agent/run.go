package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentmetrics"
	"github.com/gsv-platform/waldur-agent-go/siteagent/logship"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// exitConfig (EX_CONFIG) is run's status for a configuration or a token
// Waldur rejects: the systemd unit does not restart the agent on it
// (RestartPreventExitStatus=78), as restarting cannot help.
const exitConfig = 78

func runCommand(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "run", "-config agent.yaml [-offering name] [-listen 127.0.0.1:8080]")
	var cf configFlags
	cf.register(fs)
	listen := fs.String("listen", "127.0.0.1:8080", "address for /healthz, /readyz, /stats and /metrics; empty for none")
	if err := parse(fs, args); err != nil {
		return err
	}
	if cf.path == "" {
		return usageError("-config is required")
	}
	err := serve(ctx, e, &cf, *listen)
	var ee *exitError
	if errors.As(err, &ee) && ee.code == 2 {
		ee.code = exitConfig
	}
	return err
}

func serve(ctx context.Context, e *env, cf *configFlags, listen string) error {
	l, err := cf.load(e)
	if err != nil {
		return err
	}
	l.warn(e.stderr)

	var handler slog.Handler = slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: l.file.LogLevel})
	cfg := l.offering.Config
	metrics := agentmetrics.New(prometheus.NewRegistry())
	if cfg.Client == nil {
		// Our own client, so that REST calls are counted.
		hc := &http.Client{Transport: metrics.Transport(nil), Timeout: time.Minute}
		if cfg.Client, err = l.client(waldur.WithHTTPClient(hc)); err != nil {
			return usageError("%v", err)
		}
	}
	var ship *logship.Shipper
	if l.file.LogShipping.Enabled {
		name := cfg.Name
		if name == "" {
			name = "agent-" + strings.TrimSpace(cfg.OfferingUUID) // siteagent's default identity name
		}
		sc := l.file.LogShipping.ShipperConfig(cfg.Client, l.id, name)
		ship = logship.New(sc)
		handler = logship.Tee(handler, ship)
		metrics.WatchLogs(ship)
	}
	log := slog.New(handler)
	cfg.Logger = log
	if err := l.setProcessors(&cfg); err != nil {
		return err
	}
	for _, w := range l.backendWarnings {
		log.Warn("waldur-agent: backend setting not applied", "warning", w)
	}
	obs := &usageProgress{Observer: metrics, p: newProgress(e)}
	cfg.Observer = obs
	if cfg.Usage != nil {
		cfg.Usage = obs.wrap(cfg.Usage)
	}
	agent, err := siteagent.New(cfg)
	if err != nil {
		return usageError("%v", err)
	}
	metrics.Watch(agent)

	if listen != "" {
		ln, err := net.Listen("tcp", listen)
		if err != nil {
			return usageError("-listen: %v", err)
		}
		srv := &http.Server{Handler: metrics.Wrap(agent.HealthHandler()), ReadHeaderTimeout: 10 * time.Second}
		go func() { _ = srv.Serve(ln) }()
		defer srv.Close()
		log.Info("waldur-agent: health and metrics", "url", "http://"+ln.Addr().String())
	}
	shipDone := make(chan struct{})
	shipCtx, stopShip := context.WithCancel(context.WithoutCancel(ctx))
	if ship != nil {
		go func() { _ = ship.Run(shipCtx); close(shipDone) }()
	} else {
		close(shipDone)
	}
	log.Info("waldur-agent: running", "offering", cfg.OfferingUUID, "backend", l.offering.BackendType)
	err = agent.Run(ctx)
	stopShip() // the shipper sends what is queued, then returns
	<-shipDone
	switch {
	case err == nil:
		return nil
	case errors.Is(err, siteagent.ErrUnauthorized):
		return &exitError{code: exitConfig, err: fmt.Errorf("%w (run waldur-agent diagnose)", err)}
	}
	return err
}

// usageProgress shows how far the current usage pass is, on a terminal.
type usageProgress struct {
	siteagent.Observer
	p *progress
	n atomic.Int64
}

func (u *usageProgress) wrap(r siteagent.UsageReporter) siteagent.UsageReporter {
	return countingReporter{r: r, u: u}
}

// countingReporter counts collections and keeps the reporter's optional
// interfaces.
type countingReporter struct {
	r siteagent.UsageReporter
	u *usageProgress
}

func (c countingReporter) ReportUsage(ctx context.Context, res *waldur.Resource, p siteagent.Period) (siteagent.Usage, error) {
	usage, err := c.r.ReportUsage(ctx, res, p)
	c.u.p.update("usage pass: %d resource-months collected", c.u.n.Add(1))
	return usage, err
}

func (c countingReporter) ProcessorInfo() siteagent.ProcessorInfo {
	if d, ok := c.r.(siteagent.Describer); ok {
		return d.ProcessorInfo()
	}
	return siteagent.ProcessorInfo{}
}

func (c countingReporter) UsageMayDecrease() bool {
	d, ok := c.r.(siteagent.DecreasingUsage)
	return ok && d.UsageMayDecrease()
}

func (u *usageProgress) UsagePassDone(offering waldur.UUID, took time.Duration, err error) {
	u.Observer.UsagePassDone(offering, took, err)
	n := u.n.Swap(0)
	if n > 0 {
		u.p.done("usage pass: %d resource-months collected in %s", n, took.Round(time.Millisecond))
	}
}
