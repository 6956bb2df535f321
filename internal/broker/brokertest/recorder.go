package brokertest

import (
	"context"
	"io"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gsv-platform/waldur-agent-go/internal/backoff"
	"github.com/gsv-platform/waldur-agent-go/internal/broker"
)

// Recorder wraps a handler and records, per message id, how often it ran and
// how often it succeeded, plus the peak number of concurrent handlers.
type Recorder struct {
	mu        sync.Mutex
	calls     map[string]int
	successes map[string]int
	last      map[string]broker.Message
	changed   chan struct{} // closed and replaced on every record

	running, peak atomic.Int64
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{
		calls:     map[string]int{},
		successes: map[string]int{},
		last:      map[string]broker.Message{},
		changed:   make(chan struct{}),
	}
}

// Wrap returns a handler that runs inner (nil means succeed) and records it.
func (r *Recorder) Wrap(inner broker.Handler) broker.Handler {
	return func(ctx context.Context, m broker.Message) error {
		n := r.running.Add(1)
		for p := r.peak.Load(); n > p && !r.peak.CompareAndSwap(p, n); p = r.peak.Load() {
		}
		var err error
		if inner != nil {
			err = inner(ctx, m)
		}
		r.running.Add(-1)
		r.mu.Lock()
		r.calls[m.MessageID]++
		if err == nil {
			r.successes[m.MessageID]++
		}
		r.last[m.MessageID] = m
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
		return err
	}
}

// Calls returns how often the handler ran for id.
func (r *Recorder) Calls(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.calls[id]
}

// Successes returns how often the handler succeeded for id.
func (r *Recorder) Successes(id string) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.successes[id]
}

// Last returns the last message seen with id.
func (r *Recorder) Last(id string) broker.Message {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.last[id]
}

// Peak returns the largest number of handlers that ran at once.
func (r *Recorder) Peak() int64 { return r.peak.Load() }

// Running returns the number of handlers running now.
func (r *Recorder) Running() int64 { return r.running.Load() }

// Duplicates returns how many successful runs beyond the first there were.
func (r *Recorder) Duplicates() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	d := 0
	for _, n := range r.successes {
		if n > 1 {
			d += n - 1
		}
	}
	return d
}

// WaitFor blocks until cond (called with the recorder locked) holds or ctx
// is done.
func (r *Recorder) WaitFor(ctx context.Context, cond func(r *Recorder) bool) error {
	for {
		r.mu.Lock()
		ok, changed := cond(r), r.changed
		r.mu.Unlock()
		if ok {
			return nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

// WaitSucceeded blocks until every id has succeeded at least once.
func (r *Recorder) WaitSucceeded(ctx context.Context, ids ...string) error {
	return r.WaitFor(ctx, func(r *Recorder) bool {
		for _, id := range ids {
			if r.successes[id] == 0 {
				return false
			}
		}
		return true
	})
}

// TestConfig returns a consumer Config for tests: short backoffs, and logs
// to stderr when BROKERTEST_LOG is set.
func TestConfig(creds broker.Credentials, h broker.Handler, concurrency int) broker.Config {
	var w io.Writer = io.Discard
	if os.Getenv("BROKERTEST_LOG") != "" {
		w = os.Stderr
	}
	return broker.Config{
		Credentials:     creds,
		Handler:         h,
		Concurrency:     concurrency,
		ShutdownTimeout: 10 * time.Second,
		ConnectTimeout:  20 * time.Second,
		Reconnect:       backoff.Policy{Initial: 20 * time.Millisecond, Max: 500 * time.Millisecond},
		Retry:           backoff.Policy{Initial: 20 * time.Millisecond, Max: 200 * time.Millisecond},
		Logger:          slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: slog.LevelDebug})),
	}
}

// Running is a consumer started by Start.
type Running struct {
	*broker.Consumer
	cancel context.CancelFunc
	done   chan struct{}
	err    error
}

// Start runs a consumer until Stop or the end of tb.
func Start(tb testing.TB, d broker.Dialer, cfg broker.Config) *Running {
	ctx, cancel := context.WithCancel(context.Background())
	r := &Running{Consumer: broker.NewConsumer(d, cfg), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(r.done)
		r.err = r.Consumer.Run(ctx)
	}()
	tb.Cleanup(func() { _ = r.Stop() })
	return r
}

// Stop cancels the consumer and returns Run's result once it returned.
func (r *Running) Stop() error {
	r.cancel()
	<-r.done
	return r.err
}

// Stopped is closed once Run has returned.
func (r *Running) Stopped() <-chan struct{} { return r.done }
