package logship_test

import (
	"context"
	"log/slog"
	"testing"

	"github.com/gsv-platform/waldur-agent-go/siteagent/logship"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// BenchmarkHandle is what a shipped log call costs the agent's goroutine:
// rendering the record and queueing it (or counting it as dropped).
func BenchmarkHandle(b *testing.B) {
	for _, bc := range []struct {
		name  string
		queue int // records the queue holds; nothing drains it here
	}{{"queued", 1 << 20}, {"queue full", 1}} {
		b.Run(bc.name, func(b *testing.B) {
			ship := logship.New(logship.Config{
				Send:      func(context.Context, []waldur.LogEntry) error { return nil },
				Identity:  func(context.Context) (waldur.UUID, error) { return waldur.UUID{1}, nil },
				QueueSize: bc.queue,
			})
			log := slog.New(ship)
			b.ReportAllocs()
			for b.Loop() {
				log.Warn("siteagent: order handling failed; will retry", "order", "1f2e3d4c", "error", "quota exceeded")
			}
		})
	}
}
