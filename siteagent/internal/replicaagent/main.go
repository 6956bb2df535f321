// Command replicaagent is the agent the replica tests start as separate
// processes: a no-op order processor that appends a line per call to a log
// file, so the test can count the calls of every process, killed or not.
//
// It is configured by environment variables: WALDUR_API_URL,
// WALDUR_API_TOKEN, WALDUR_OFFERING_UUID, WALDUR_AMQP_URL, REPLICA_ID and
// REPLICA_CALL_LOG (the file to append to).
package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"sync"
	"syscall"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
)

// callLog appends "<order uuid> <replica> <pid>" per processor call. One
// write(2) per line with O_APPEND, so lines of concurrent processes never
// mix and a kill -9 loses none that was written.
type callLog struct {
	mu  sync.Mutex
	f   *os.File
	tag string
}

func (l *callLog) ProcessOrder(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
	l.mu.Lock()
	_, err := fmt.Fprintf(l.f, "%s %s\n", o.UUID, l.tag)
	l.mu.Unlock()
	if err != nil {
		return siteagent.Result{}, err
	}
	return siteagent.Result{BackendID: "vol-" + o.UUID.String()[:8]}, nil
}

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "replicaagent:", err)
		os.Exit(1)
	}
}

func run() error {
	id := os.Getenv("REPLICA_ID")
	f, err := os.OpenFile(os.Getenv("REPLICA_CALL_LOG"), os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return err
	}
	defer f.Close()
	log := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	agent, err := siteagent.New(siteagent.Config{
		WaldurURL:         os.Getenv("WALDUR_API_URL"),
		Token:             os.Getenv("WALDUR_API_TOKEN"),
		OfferingUUID:      os.Getenv("WALDUR_OFFERING_UUID"),
		Logger:            log.With("replica", id),
		Orders:            &callLog{f: f, tag: fmt.Sprintf("%s %d", id, os.Getpid())},
		Concurrency:       64,
		ReconcileInterval: 2 * time.Second,
		HeartbeatInterval: 5 * time.Second,
		RetryBackoff:      50 * time.Millisecond,
		MaxRetryBackoff:   time.Second,
		ShutdownTimeout:   5 * time.Second,
		Events:            siteagent.EventsConfig{Mode: siteagent.EventsAMQP, AMQPURL: os.Getenv("WALDUR_AMQP_URL")},
		Replicas:          siteagent.ReplicaConfig{ID: id, LeaseTTL: 6 * time.Second, Settle: time.Second},
	})
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	return agent.Run(ctx)
}
