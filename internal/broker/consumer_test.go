package broker_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gsv-platform/waldur-agent-go/internal/backoff"
	"github.com/gsv-platform/waldur-agent-go/internal/backoff/backofftest"
	"github.com/gsv-platform/waldur-agent-go/internal/broker"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// harness runs a Consumer over a fake dialer and a fake clock.
type harness struct {
	t        *testing.T
	dialer   *fakeDialer
	clk      *backofftest.Clock
	consumer *broker.Consumer
	refresh  chan bool // Credentials calls
	cancel   context.CancelFunc
	runErr   chan error    // receives Run's result once
	runDone  chan struct{} // closed when Run returned
}

func newHarness(t *testing.T, cfg broker.Config) *harness {
	t.Helper()
	h := &harness{
		t:       t,
		dialer:  newFakeDialer(),
		clk:     backofftest.NewClock(time.Unix(1_000_000, 0)),
		refresh: make(chan bool, 20),
		runErr:  make(chan error, 1),
		runDone: make(chan struct{}),
	}
	cfg.Clock = h.clk
	if cfg.Credentials == nil {
		cfg.Credentials = func(_ context.Context, refresh bool) (broker.Endpoint, error) {
			h.refresh <- refresh
			return broker.Endpoint{URL: "amqp://x", Queue: "q"}, nil
		}
	}
	noJitter := backoff.Policy{Initial: time.Second, Max: 8 * time.Second, Jitter: backoff.NoJitter}
	if cfg.Reconnect.Initial == 0 {
		cfg.Reconnect = noJitter
	}
	if cfg.Retry.Initial == 0 {
		cfg.Retry = noJitter
	}
	h.consumer = broker.NewConsumer(h.dialer, cfg)
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	go func() {
		defer close(h.runDone)
		h.runErr <- h.consumer.Run(ctx)
	}()
	t.Cleanup(func() {
		cancel()
		select {
		case <-h.runDone:
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return h
}

// connect serves the next dial with a fresh session.
func (h *harness) connect() *fakeSession {
	s := newFakeSession()
	h.dialer.results <- dialResult{sess: s}
	<-h.dialer.calls
	return s
}

// stop cancels Run and waits for it to return.
func (h *harness) stop() error {
	h.cancel()
	return <-h.runErr
}

// waitTimer waits for the n-th pending timer and returns the pending delays.
func (h *harness) waitTimer(n int) []time.Duration {
	h.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(h.t, h.clk.WaitTimers(ctx, n))
	return h.clk.Pending()
}

func msg(id string) broker.Message {
	return broker.Message{MessageID: id, Body: []byte(`{"id":"` + id + `"}`)}
}

func TestSettlementFollowsHandlerResult(t *testing.T) {
	handled := make(chan broker.Message, 10)
	h := newHarness(t, broker.Config{
		Concurrency: 4,
		Handler: func(_ context.Context, m broker.Message) error {
			handled <- m
			switch string(m.MessageID) {
			case "bad":
				return broker.Reject(errors.New("malformed"))
			case "panic":
				panic("boom")
			}
			return nil
		},
	})
	s := h.connect()
	s.deliver(msg("ok"))
	assert.Equal(t, settlement{"ok", "ack"}, <-s.settled)
	assert.Equal(t, 1, (<-handled).Attempt)

	s.deliver(msg("bad"))
	assert.Equal(t, settlement{"bad", "reject"}, <-s.settled)
	<-handled

	s.deliver(msg("panic"))
	<-handled
	assert.Equal(t, []time.Duration{time.Second}, h.waitTimer(1), "a panic is retried like an error")
	h.clk.Advance(time.Second)
	assert.Equal(t, settlement{"panic", "requeue"}, <-s.settled)

	require.NoError(t, h.stop())
	st := h.consumer.Stats()
	assert.Equal(t, uint64(3), st.Deliveries)
	assert.Equal(t, uint64(1), st.Acks)
	assert.Equal(t, uint64(1), st.Rejects)
	assert.Equal(t, uint64(1), st.Requeues)
	assert.Equal(t, uint64(1), st.HandlerPanics)
	assert.True(t, s.closed.Load())
}

func TestFailedMessageIsRequeuedAfterGrowingDelay(t *testing.T) {
	attempts := make(chan int, 10)
	h := newHarness(t, broker.Config{
		Handler: func(_ context.Context, m broker.Message) error {
			attempts <- m.Attempt
			if m.Attempt < 4 {
				return errors.New("backend busy")
			}
			return nil
		},
	})
	s := h.connect()
	for i, want := range []time.Duration{time.Second, 2 * time.Second, 4 * time.Second} {
		s.deliver(msg("m1"))
		assert.Equal(t, i+1, <-attempts)
		assert.Equal(t, []time.Duration{want}, h.waitTimer(1), "delay after failure %d", i+1)
		select {
		case st := <-s.settled:
			t.Fatalf("settled before the delay passed: %v", st)
		default:
		}
		h.clk.Advance(want)
		assert.Equal(t, settlement{"m1", "requeue"}, <-s.settled)
	}
	s.deliver(msg("m1"))
	assert.Equal(t, 4, <-attempts)
	assert.Equal(t, settlement{"m1", "ack"}, <-s.settled)

	// Success forgets the count: the same id starts again at attempt 1,
	// with the shortest delay.
	s.deliver(msg("m1"))
	assert.Equal(t, 1, <-attempts)
	assert.Equal(t, []time.Duration{time.Second}, h.waitTimer(1))
}

func TestMaxAttemptsRejects(t *testing.T) {
	h := newHarness(t, broker.Config{
		MaxAttempts: 2,
		Handler:     func(context.Context, broker.Message) error { return errors.New("always") },
	})
	s := h.connect()
	s.deliver(msg("p"))
	h.waitTimer(1)
	h.clk.Advance(time.Second)
	assert.Equal(t, settlement{"p", "requeue"}, <-s.settled)
	s.deliver(msg("p"))
	assert.Equal(t, settlement{"p", "reject"}, <-s.settled)
}

func TestRequeueDelayEndsWithSession(t *testing.T) {
	handled := make(chan struct{}, 1)
	h := newHarness(t, broker.Config{
		Handler: func(context.Context, broker.Message) error {
			handled <- struct{}{}
			return errors.New("fail")
		},
	})
	s := h.connect()
	s.deliver(msg("x"))
	<-handled
	h.waitTimer(1)
	s.end(errors.New("connection reset"))
	// The broker requeues unacknowledged messages itself: no settlement, and
	// the delay timer is dropped (only the reconnect timer remains).
	// (The delay timer goes before the reconnect timer comes, so the pending
	// timers are looked at until they settle.)
	require.Eventually(t, func() bool {
		return slices.Equal(h.clk.Pending(), []time.Duration{time.Second}) && h.consumer.Stats().InFlight == 0
	}, 5*time.Second, time.Millisecond)
	assert.Empty(t, s.settled)
}

func TestConcurrencyBound(t *testing.T) {
	const limit = 3
	var running, peak atomic.Int64
	release := make(chan struct{})
	started := make(chan struct{}, 20)
	h := newHarness(t, broker.Config{
		Concurrency: limit,
		Handler: func(context.Context, broker.Message) error {
			n := running.Add(1)
			for {
				p := peak.Load()
				if n <= p || peak.CompareAndSwap(p, n) {
					break
				}
			}
			started <- struct{}{}
			<-release
			running.Add(-1)
			return nil
		},
	})
	s := h.connect()
	go func() {
		for i := range 10 {
			s.deliver(msg(fmt.Sprint("m", i)))
		}
	}()
	for range limit {
		<-started
	}
	assert.Equal(t, int64(limit), h.consumer.Stats().InFlight)
	select {
	case <-started:
		t.Fatal("a handler started beyond the concurrency limit")
	default:
	}
	close(release)
	for range 10 {
		assert.Equal(t, "ack", (<-s.settled).kind)
	}
	assert.Equal(t, int64(limit), peak.Load())
}

func TestRefreshAfterAuthAndNotFound(t *testing.T) {
	h := newHarness(t, broker.Config{Handler: func(context.Context, broker.Message) error { return nil }})

	assert.False(t, <-h.refresh, "first attempt")
	h.dialer.results <- dialResult{err: fmt.Errorf("login: %w", broker.ErrAuth)}
	<-h.dialer.calls
	assert.Equal(t, []time.Duration{time.Second}, h.waitTimer(1))
	h.clk.Advance(time.Second)
	assert.True(t, <-h.refresh, "after ACCESS_REFUSED")

	h.dialer.results <- dialResult{err: errors.New("connection refused")}
	<-h.dialer.calls
	assert.Equal(t, []time.Duration{2 * time.Second}, h.waitTimer(1), "backoff grows")
	h.clk.Advance(2 * time.Second)
	assert.False(t, <-h.refresh, "a network error keeps the credentials")

	s := h.connect()
	assert.Eventually(t, h.consumer.Connected, 5*time.Second, time.Millisecond)
	s.end(fmt.Errorf("subscribe: %w", broker.ErrQueueNotFound))
	assert.Equal(t, []time.Duration{4 * time.Second}, h.waitTimer(1),
		"a session that delivered nothing and died at once does not reset the backoff")
	assert.False(t, h.consumer.Connected())
	h.clk.Advance(4 * time.Second)
	assert.True(t, <-h.refresh, "after NOT_FOUND")
	h.connect()
	require.Eventually(t, h.consumer.Connected, 5*time.Second, time.Millisecond)

	st := h.consumer.Stats()
	assert.Equal(t, uint64(2), st.Connects)
	assert.Equal(t, uint64(1), st.Reconnects)
	assert.Equal(t, 4*time.Second, st.LastReconnect)
	assert.Equal(t, uint64(2), st.ConnectFailures)
	assert.Equal(t, uint64(2), st.Refreshes)
}

func TestCredentialsErrorIsRetried(t *testing.T) {
	calls := make(chan bool, 10)
	var fail atomic.Bool
	fail.Store(true)
	h := newHarness(t, broker.Config{
		Handler: func(context.Context, broker.Message) error { return nil },
		Credentials: func(_ context.Context, refresh bool) (broker.Endpoint, error) {
			calls <- refresh
			if fail.Load() {
				return broker.Endpoint{}, errors.New("waldur unavailable")
			}
			return broker.Endpoint{Queue: "q"}, nil
		},
	})
	<-calls
	h.waitTimer(1)
	fail.Store(false)
	h.clk.Advance(time.Second)
	<-calls
	h.connect()
	assert.Eventually(t, h.consumer.Connected, 5*time.Second, time.Millisecond)
}

func TestStableSessionResetsBackoff(t *testing.T) {
	h := newHarness(t, broker.Config{Handler: func(context.Context, broker.Message) error { return nil }})
	h.dialer.results <- dialResult{err: errors.New("refused")}
	<-h.dialer.calls
	h.waitTimer(1)
	h.clk.Advance(time.Second)
	s := h.connect()
	s.deliver(msg("a"))
	<-s.settled
	s.end(errors.New("connection forced"))
	assert.Equal(t, []time.Duration{time.Second}, h.waitTimer(1), "a session that delivered resets the backoff")
}

func TestShutdownLetsHandlersFinish(t *testing.T) {
	started := make(chan struct{})
	release := make(chan struct{})
	h := newHarness(t, broker.Config{
		Handler: func(ctx context.Context, _ broker.Message) error {
			close(started)
			<-release
			return ctx.Err() // still nil: the shutdown timeout has not passed
		},
	})
	s := h.connect()
	s.deliver(msg("m"))
	<-started
	h.cancel()
	require.Eventually(t, s.stopped.Load, 5*time.Second, time.Millisecond)
	select {
	case err := <-h.runErr:
		t.Fatalf("Run returned while a handler was running: %v", err)
	default:
	}
	assert.False(t, s.closed.Load(), "closed before the handler finished")
	close(release)
	assert.Equal(t, settlement{"m", "ack"}, <-s.settled, "acknowledged before the connection closed")
	require.NoError(t, <-h.runErr)
	assert.True(t, s.closed.Load())
}

func TestShutdownTimeoutCancelsHandlers(t *testing.T) {
	started := make(chan struct{})
	h := newHarness(t, broker.Config{
		ShutdownTimeout: 5 * time.Second,
		Handler: func(ctx context.Context, _ broker.Message) error {
			close(started)
			<-ctx.Done()
			return ctx.Err()
		},
	})
	s := h.connect()
	s.deliver(msg("slow"))
	<-started
	h.cancel()
	assert.Equal(t, []time.Duration{5 * time.Second}, h.waitTimer(1))
	h.clk.Advance(5 * time.Second)
	assert.Equal(t, settlement{"slow", "requeue"}, <-s.settled, "requeued at once when shutting down")
	require.NoError(t, <-h.runErr)
}

func TestShutdownRequeuesHeldMessages(t *testing.T) {
	handled := make(chan struct{})
	h := newHarness(t, broker.Config{
		Handler: func(context.Context, broker.Message) error {
			close(handled)
			return errors.New("fail")
		},
	})
	s := h.connect()
	s.deliver(msg("held"))
	<-handled
	h.waitTimer(1)
	h.cancel()
	assert.Equal(t, settlement{"held", "requeue"}, <-s.settled)
	require.NoError(t, <-h.runErr)
}

func TestShutdownWhileDisconnected(t *testing.T) {
	h := newHarness(t, broker.Config{Handler: func(context.Context, broker.Message) error { return nil }})
	h.dialer.results <- dialResult{err: errors.New("refused")}
	<-h.dialer.calls
	h.waitTimer(1)
	require.NoError(t, h.stop())
}

func TestRunRejectsBadUse(t *testing.T) {
	ctx := context.Background()
	assert.Error(t, broker.NewConsumer(nil, broker.Config{}).Run(ctx))
	assert.Error(t, broker.NewConsumer(newFakeDialer(), broker.Config{Handler: func(context.Context, broker.Message) error { return nil }}).Run(ctx))
	assert.Error(t, broker.NewConsumer(newFakeDialer(), broker.Config{Credentials: broker.StaticCredentials(broker.Endpoint{})}).Run(ctx))

	h := newHarness(t, broker.Config{Handler: func(context.Context, broker.Message) error { return nil }})
	h.connect()
	require.Eventually(t, h.consumer.Connected, 5*time.Second, time.Millisecond)
	assert.ErrorIs(t, h.consumer.Run(ctx), broker.ErrRunning)
}
