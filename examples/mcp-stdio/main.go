// Command mcp-stdio is a Waldur site agent's MCP server for desktop MCP
// clients, which launch it and talk to it over standard input and output.
//
// With no environment it starts an embedded fake Waldur with an offering, a
// few pending orders, resources, users, usage and an API key, so it works out
// of the box; try "list the pending orders and approve the sensible ones".
// To serve a real Waldur set:
//
//	WALDUR_API_URL        e.g. https://waldur.example.com
//	WALDUR_API_TOKEN      the agent's token (a DRF token, or a "w_…" personal access token)
//	WALDUR_API_TOKEN_KIND auto (default), token, pat or oidc
//	WALDUR_OFFERING_UUID  the offering to serve (optional; default: every offering the token manages)
//
// Standard output carries the protocol, so logs (one audit line per tool
// call) go to standard error. A stdio client is trusted with every tool; see
// package mcp for HTTP with API keys. README.md shows a client configuration.
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"

	"github.com/gsv-platform/waldur-agent-go/mcp"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

func main() {
	log := slog.New(slog.NewTextHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, log, os.Getenv); err != nil {
		log.Error("mcp-stdio failed", "error", err)
		os.Exit(1)
	}
}

// run serves MCP on stdio until the client disconnects or ctx ends.
func run(ctx context.Context, log *slog.Logger, getenv func(string) string) error {
	cfg, closeFake, err := configure(log, getenv)
	if err != nil {
		return err
	}
	defer closeFake()
	srv, err := mcp.NewServer(cfg)
	if err != nil {
		return err
	}
	return srv.RunStdio(ctx)
}

// configure connects to the Waldur named by the environment, or starts the
// embedded fake when WALDUR_API_URL is unset.
func configure(log *slog.Logger, getenv func(string) string) (mcp.Config, func(), error) {
	cfg := mcp.Config{Logger: log, Name: "waldur-site-agent"}
	url := getenv("WALDUR_API_URL")
	if url == "" {
		fake, offering := startFake()
		log.Info("serving an embedded fake Waldur; set WALDUR_API_URL to serve a real one", "url", fake.URL())
		cfg.Client, cfg.Offerings = fake.Client(), []waldur.UUID{offering}
		return cfg, fake.Close, nil
	}
	token := getenv("WALDUR_API_TOKEN")
	if token == "" {
		return cfg, nil, errors.New("WALDUR_API_TOKEN is required with WALDUR_API_URL")
	}
	// A "w_…" personal access token is recognised; an OIDC token needs
	// WALDUR_API_TOKEN_KIND=oidc.
	kind, err := waldur.ParseTokenKind(getenv("WALDUR_API_TOKEN_KIND"))
	if err != nil {
		return cfg, nil, err
	}
	auth := waldur.WithCredential(kind, token)
	c, err := waldur.NewClient(url, auth, waldur.WithUserAgent("mcp-stdio"), waldur.WithLogger(log))
	if err != nil {
		return cfg, nil, err
	}
	cfg.Client = c
	if o := getenv("WALDUR_OFFERING_UUID"); o != "" {
		id, err := waldur.ParseUUID(o)
		if err != nil {
			return cfg, nil, fmt.Errorf("WALDUR_OFFERING_UUID: %w", err)
		}
		cfg.Offerings = []waldur.UUID{id}
	}
	log.Info("serving Waldur", "url", c.BaseURL(), "offerings", len(cfg.Offerings))
	return cfg, func() {}, nil
}
