// Command ai-agent-vendor is the site agent of a vendor selling an AI agent
// through Waldur, end to end: an order provisions the agent and two API keys
// bound to the customer's project, reported to Waldur for the consumer to
// reveal; the agent serves an MCP endpoint and a chat API behind those keys
// and publishes their URLs as the resource's endpoints; every call is metered
// and reported as Waldur component usage; a rotation requested in Waldur
// replaces a key without downtime; termination revokes the keys. The agent
// also serves the status widget (package widget) that the consumer's portal
// embeds with a read-only key of the project: the resource's state, its keys,
// this month's usage against the limits and the agent's health.
//
// With no environment it plays the whole journey against an embedded fake
// Waldur, printing each step, and exits:
//
//	go run ./examples/ai-agent-vendor
//
// With -pause it waits at step 9 until Enter is pressed, so the portal's
// page with the status widget can be opened in a browser.
//
// Against a real Waldur, whose offering has the usage components "requests"
// and "ktokens", set
//
//	WALDUR_API_URL        e.g. https://waldur.example.com
//	WALDUR_API_TOKEN      the agent's token
//	WALDUR_API_TOKEN_KIND auto (default), token, pat or oidc
//	WALDUR_OFFERING_UUID  the offering
//	AGENT_LISTEN          where to serve MCP and chat (default 127.0.0.1:8080)
//	AGENT_PUBLIC_URL      how customers reach it (default http://AGENT_LISTEN)
//	AGENT_KEYS_DB         SQLite file for the key hashes (default: memory,
//	                      so keys are lost on restart)
//	AGENT_WIDGET_ORIGINS  comma-separated origins of the pages that may embed
//	                      the status widget at AGENT_PUBLIC_URL/widget/
//
// and it serves until interrupted.
package main

import (
	"bufio"
	"context"
	"database/sql"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"strings"
	"syscall"

	_ "modernc.org/sqlite"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/apikeys/sqlstore"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

func main() {
	pause := flag.Bool("pause", false, "wait at the status widget's step until Enter is pressed")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if os.Getenv("WALDUR_API_URL") != "" {
		log := slog.New(slog.NewTextHandler(os.Stderr, nil))
		if err := serve(ctx, log, os.Getenv); err != nil {
			log.Error("ai-agent-vendor failed", "error", err)
			os.Exit(1)
		}
		return
	}
	// The demo prints its steps; logs go to standard error, warnings only.
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	fake, broker := startFake()
	defer fake.Close()
	var check func(context.Context, widgetView) error
	if *pause {
		check = func(ctx context.Context, v widgetView) error {
			fmt.Printf("   Open %s/ in a browser to see the widget; press Enter to go on.\n", v.PortalURL)
			entered := make(chan struct{})
			go func() { _, _ = bufio.NewReader(os.Stdin).ReadString('\n'); close(entered) }()
			select {
			case <-entered:
			case <-ctx.Done():
			}
			return ctx.Err()
		}
	}
	if _, err := run(ctx, fake, broker, os.Stdout, log, check); err != nil {
		fmt.Fprintln(os.Stderr, "ai-agent-vendor:", err)
		fake.Close()
		os.Exit(1)
	}
	fmt.Println("Done: ordered, provisioned, called, metered, billed, rotated and terminated.")
}

// serve runs the vendor's agent against the Waldur the environment names.
func serve(ctx context.Context, log *slog.Logger, getenv func(string) string) error {
	token, offering := getenv("WALDUR_API_TOKEN"), getenv("WALDUR_OFFERING_UUID")
	if token == "" || offering == "" {
		return errors.New("WALDUR_API_TOKEN and WALDUR_OFFERING_UUID are required with WALDUR_API_URL")
	}
	// A "w_…" personal access token is recognised; an OIDC token needs
	// WALDUR_API_TOKEN_KIND=oidc.
	kind, err := waldur.ParseTokenKind(getenv("WALDUR_API_TOKEN_KIND"))
	if err != nil {
		return err
	}
	auth := waldur.WithCredential(kind, token)
	client, err := waldur.NewClient(getenv("WALDUR_API_URL"), auth, waldur.WithLogger(log))
	if err != nil {
		return err
	}
	var store apikeys.Store = apikeys.NewMemoryStore()
	if path := getenv("AGENT_KEYS_DB"); path != "" {
		db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)&_pragma=journal_mode(WAL)&_txlock=immediate")
		if err != nil {
			return err
		}
		defer db.Close()
		s, err := sqlstore.New(db, sqlstore.Config{Dialect: sqlstore.SQLite})
		if err != nil {
			return err
		}
		if err := s.Migrate(ctx); err != nil {
			return err
		}
		store = s
	} else {
		log.Warn("keeping API key hashes in memory: keys stop working when the agent restarts; set AGENT_KEYS_DB")
	}
	addr := getenv("AGENT_LISTEN")
	if addr == "" {
		addr = "127.0.0.1:8080"
	}
	public := getenv("AGENT_PUBLIC_URL")
	if public == "" {
		public = "http://" + addr
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return err
	}
	var origins []string
	for o := range strings.SplitSeq(getenv("AGENT_WIDGET_ORIGINS"), ",") {
		if o = strings.TrimSpace(o); o != "" {
			origins = append(origins, o)
		}
	}
	v, err := newVendor(vendorConfig{Client: client, Token: token, Offering: offering, Listener: ln, PublicURL: public,
		Keys: store, WidgetOrigins: origins, Logger: log})
	if err != nil {
		ln.Close()
		return err
	}
	log.Info("serving MCP, chat and the status widget", "url", public)
	return v.run(ctx)
}
