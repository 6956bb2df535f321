package siteagenttest

import (
	"context"
	"testing"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// Config returns a Config that serves offering of the fake server s, in
// polling mode, with passes and retries every few milliseconds so tests
// finish fast. Set the processors, and change what the test needs.
func Config(s *waldurtest.Server, offering waldur.UUID) siteagent.Config {
	return siteagent.Config{
		WaldurURL:         s.URL(),
		Token:             s.Token(),
		OfferingUUID:      offering.String(),
		ReconcileInterval: 20 * time.Millisecond,
		SyncInterval:      20 * time.Millisecond,
		UsageInterval:     20 * time.Millisecond,
		RetryBackoff:      time.Millisecond,
		MaxRetryBackoff:   10 * time.Millisecond,
		AsyncPollInterval: time.Millisecond,
		Events:            siteagent.EventsConfig{Mode: siteagent.EventsPolling},
	}
}

// Start makes an agent from cfg and runs it until the test ends. The test
// fails if cfg is invalid, or if Run returns an error.
func Start(tb testing.TB, cfg siteagent.Config) *siteagent.Agent {
	tb.Helper()
	a, err := siteagent.New(cfg)
	if err != nil {
		tb.Fatalf("siteagenttest: %v", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	tb.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			tb.Errorf("siteagenttest: Run: %v", err)
		}
	})
	return a
}
