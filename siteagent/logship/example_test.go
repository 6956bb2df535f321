package logship_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"

	"github.com/gsv-platform/waldur-agent-go/siteagent/logship"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// Warnings go to Waldur and to the program's own handler alike.
func Example() {
	fake := waldurtest.New()
	defer fake.Close()
	offering := fake.AddOffering(waldurtest.OfferingSpec{})
	c := fake.Client()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	// The agent registers its identity when it runs; here we do it by hand.
	_, _ = c.Agents.CreateIdentity(ctx, waldur.AgentIdentityRequest{Name: "agent-" + waldur.Hex(offering), Offering: offering})

	ship := logship.New(logship.Config{Send: c.Agents.SendLogs, Identity: logship.IdentityByName(c, offering, "")})
	done := make(chan struct{})
	go func() { _ = ship.Run(ctx); close(done) }()

	stderr := slog.NewTextHandler(os.Stdout, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{} // deterministic output
			}
			return a
		},
	})
	log := slog.New(logship.Tee(stderr, ship))
	log.Warn("siteagent: order failed", "order", "1f2e")

	_ = ship.Flush(ctx)
	for _, l := range fake.Logs() {
		fmt.Println(l.Level, l.Module, l.Message)
	}
	cancel()
	<-done
	// Output:
	// level=WARN msg="siteagent: order failed" order=1f2e
	// WARNING siteagent siteagent: order failed order=1f2e
}
