// Command custom-processor is a Waldur site agent for a storage service that
// keeps each resource as a directory with a quota, members and usage. It is
// the template for writing an agent for your own backend: storage.go is the
// backend, this file the program around it; README.md says what to replace.
//
// With no environment it starts an embedded fake Waldur with an offering, a
// project with members and a few orders, runs the agent until the orders are
// done and usage was reported, prints what happened and exits:
//
//	go run ./examples/custom-processor
//
// Against a real Waldur it runs until interrupted:
//
//	WALDUR_API_URL=https://waldur.example.com \
//	WALDUR_API_TOKEN=<the agent's token> \
//	WALDUR_OFFERING_UUID=<offering uuid> \
//	go run ./examples/custom-processor -root /srv/spaces -health :8080
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
	"path/filepath"
	"syscall"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
)

// options are the command line's settings.
type options struct {
	root       string // where the spaces live; "" for a temporary directory
	maxQuotaGB int64
	health     string // address for the health endpoints; "" for none
	verbose    bool
}

func main() {
	var opt options
	flag.StringVar(&opt.root, "root", "", "directory holding the spaces (default: a temporary directory)")
	flag.Int64Var(&opt.maxQuotaGB, "max-quota", 10_000, "largest quota of a space, in GB; larger orders are rejected")
	flag.StringVar(&opt.health, "health", "", "address to serve /healthz, /readyz and /stats on, e.g. :8080")
	flag.BoolVar(&opt.verbose, "v", false, "log the agent's work in the demo (always logged against a real Waldur)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, opt, os.Getenv, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "custom-processor:", err)
		os.Exit(1)
	}
}

// run runs the agent until ctx ends. With no WALDUR_API_URL it runs the demo
// instead, which tells its story on out.
func run(ctx context.Context, opt options, getenv func(string) string, out io.Writer) error {
	if getenv("WALDUR_API_URL") == "" {
		return runDemo(ctx, opt, out)
	}
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	if opt.root == "" {
		// The same directory on every start, so a restarted agent finds its
		// spaces; but temporary directories do not last.
		opt.root = filepath.Join(os.TempDir(), "waldur-spaces")
		log.Warn("spaces are kept in a temporary directory; set -root", "root", opt.root)
	}
	st, err := newStorage(opt.root, opt.maxQuotaGB)
	if err != nil {
		return err
	}
	cfg := st.agentConfig()
	cfg.WaldurURL = getenv("WALDUR_API_URL")
	cfg.Token = getenv("WALDUR_API_TOKEN")
	cfg.OfferingUUID = getenv("WALDUR_OFFERING_UUID")
	cfg.Logger = log
	return runAgent(ctx, cfg, opt.health)
}

// runAgent creates the agent and runs it, with its health endpoints when addr
// is set, until ctx ends.
func runAgent(ctx context.Context, cfg siteagent.Config, addr string) error {
	agent, err := siteagent.New(cfg)
	if err != nil {
		return err
	}
	if addr != "" {
		srv := &http.Server{Addr: addr, Handler: agent.HealthHandler(), ReadHeaderTimeout: 10 * time.Second}
		go func() {
			if err := srv.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
				cfg.Logger.Error("health endpoints failed", "error", err)
			}
		}()
		defer srv.Close()
	}
	return agent.Run(ctx)
}
