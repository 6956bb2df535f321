package broker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gsv-platform/waldur-agent-go/internal/backoff"
)

// Defaults for zero Config fields.
const (
	DefaultConcurrency     = 1
	DefaultShutdownTimeout = 30 * time.Second
	DefaultConnectTimeout  = 30 * time.Second
	DefaultTrackedMessages = 10000
)

// stableAfter is how long a session must last, when it delivered nothing, for
// its loss to restart the reconnect backoff from the shortest delay. A session
// that delivered a message counts as stable at once. Without this rule a broker
// that accepts connections and drops them at once (a STOMP subscription to a
// missing queue fails after the CONNECT succeeded) would be retried at the
// shortest delay forever.
const stableAfter = 30 * time.Second

// ErrRunning is returned by Run when the Consumer is already running.
var ErrRunning = errors.New("broker: consumer already running")

// Config configures a Consumer. Credentials and Handler are required; every
// other zero field takes the documented default.
type Config struct {
	// Credentials yields the endpoint before every connection attempt.
	Credentials Credentials
	// Handler processes each message; its result decides the acknowledgement.
	Handler Handler
	// Concurrency is both the broker prefetch and the largest number of
	// handlers running at once. Zero means DefaultConcurrency.
	Concurrency int
	// ShutdownTimeout is how long Run, once its ctx is done, lets running
	// handlers finish before cancelling their ctx. Run still waits for them
	// to return, so that their results are acknowledged before the
	// connection closes. Zero means DefaultShutdownTimeout.
	ShutdownTimeout time.Duration
	// ConnectTimeout bounds one connection attempt, the Credentials call
	// included. Zero means DefaultConnectTimeout.
	ConnectTimeout time.Duration
	// Reconnect spaces connection attempts after a failure or a lost
	// session. The zero Policy takes backoff's defaults (1 s doubling to
	// 1 min, 20% jitter).
	Reconnect backoff.Policy
	// Retry gives the delay before a failed message is requeued, by the
	// number of times it failed (the first failure uses attempt 0). A
	// message is held, unacknowledged, during the delay, so a message that
	// always fails cannot spin; it frees its handler slot but still counts
	// against the prefetch meanwhile. The zero Policy takes backoff's
	// defaults.
	Retry backoff.Policy
	// MaxAttempts, when positive, rejects (dead-letters) a message after it
	// failed that many times. Zero means no limit: Waldur's queue TTL (1 h)
	// bounds a message's life anyway.
	MaxAttempts int
	// TrackedMessages bounds how many failing messages the consumer
	// remembers for their retry delays. Zero means DefaultTrackedMessages,
	// the length limit of Waldur's queues.
	TrackedMessages int
	// Clock is used for retry and shutdown timers. Nil means the real clock.
	Clock backoff.Clock
	// Logger receives connection events and handler failures. Nil discards.
	Logger *slog.Logger
}

// Stats is a snapshot of a Consumer's counters.
type Stats struct {
	// Connects counts sessions established; Reconnects those established
	// after a lost one.
	Connects, Reconnects uint64
	// LastReconnect is the time from losing the last lost session to
	// establishing the next one.
	LastReconnect time.Duration
	// ConnectFailures counts failed connection attempts (Credentials errors
	// included); Refreshes counts Credentials calls with refresh=true.
	ConnectFailures, Refreshes uint64
	// Deliveries counts messages received; Acks, Requeues and Rejects count
	// settlements the broker accepted.
	Deliveries, Acks, Requeues, Rejects uint64
	// SettleErrors counts acknowledgements that could not be sent, nearly
	// always because the session was lost first; the broker redelivers.
	SettleErrors uint64
	// HandlerPanics counts handler panics, which are treated as errors.
	HandlerPanics uint64
	// InFlight is the number of handlers running now.
	InFlight int64
}

// Consumer consumes one queue through a Dialer, reconnecting as needed, and
// settles every message according to its Handler's result. Create it with
// NewConsumer; its methods are safe for concurrent use.
type Consumer struct {
	dialer   Dialer
	cfg      Config
	log      *slog.Logger
	clk      backoff.Clock
	sem      chan struct{} // one token per running handler
	attempts *attempts

	running   atomic.Bool
	connected atomic.Bool

	connects, reconnects, connectFailures, refreshes atomic.Uint64
	deliveries, acks, requeues, rejects              atomic.Uint64
	settleErrors, panics                             atomic.Uint64
	inFlight                                         atomic.Int64
	lastReconnect                                    atomic.Int64 // nanoseconds
}

// NewConsumer returns a Consumer that opens sessions with d. It does not
// connect; Run does.
func NewConsumer(d Dialer, cfg Config) *Consumer {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = DefaultShutdownTimeout
	}
	if cfg.ConnectTimeout <= 0 {
		cfg.ConnectTimeout = DefaultConnectTimeout
	}
	if cfg.TrackedMessages <= 0 {
		cfg.TrackedMessages = DefaultTrackedMessages
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Consumer{
		dialer:   d,
		cfg:      cfg,
		log:      log,
		clk:      backoff.Or(cfg.Clock),
		sem:      make(chan struct{}, cfg.Concurrency),
		attempts: newAttempts(cfg.TrackedMessages),
	}
}

// Connected reports whether a session is established and consuming. It
// serves readiness checks.
func (c *Consumer) Connected() bool { return c.connected.Load() }

// Stats returns a snapshot of the consumer's counters.
func (c *Consumer) Stats() Stats {
	return Stats{
		Connects:        c.connects.Load(),
		Reconnects:      c.reconnects.Load(),
		LastReconnect:   time.Duration(c.lastReconnect.Load()),
		ConnectFailures: c.connectFailures.Load(),
		Refreshes:       c.refreshes.Load(),
		Deliveries:      c.deliveries.Load(),
		Acks:            c.acks.Load(),
		Requeues:        c.requeues.Load(),
		Rejects:         c.rejects.Load(),
		SettleErrors:    c.settleErrors.Load(),
		HandlerPanics:   c.panics.Load(),
		InFlight:        c.inFlight.Load(),
	}
}

// Run consumes until ctx is done, reconnecting with backoff whenever the
// session fails, and calling Credentials with refresh=true after the broker
// refused the credentials or could not find the queue. Once ctx is done it
// stops taking messages, lets running handlers finish (see
// Config.ShutdownTimeout), settles their messages, closes the connection —
// unacknowledged messages return to the queue — and returns nil. It returns
// an error only for an unusable Config or a second concurrent Run.
func (c *Consumer) Run(ctx context.Context) error {
	switch {
	case c.dialer == nil:
		return errors.New("broker: consumer has no Dialer")
	case c.cfg.Credentials == nil:
		return errors.New("broker: Config.Credentials is nil")
	case c.cfg.Handler == nil:
		return errors.New("broker: Config.Handler is nil")
	}
	if !c.running.CompareAndSwap(false, true) {
		return ErrRunning
	}
	defer c.running.Store(false)

	// Handlers outlive ctx by up to ShutdownTimeout, so their context is
	// detached from it and cancelled separately.
	hctx, cancelHandlers := context.WithCancel(context.WithoutCancel(ctx))
	defer cancelHandlers()
	var handlers sync.WaitGroup

	var (
		refresh  bool
		failures int
		lostAt   time.Time
	)
	for {
		if failures > 0 {
			if backoff.Wait(ctx, c.clk, c.cfg.Reconnect.Delay(failures-1)) != nil {
				break
			}
		}
		if ctx.Err() != nil {
			break
		}
		sess, ep, err := c.connect(ctx, refresh)
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.connectFailures.Add(1)
			refresh = NeedsRefresh(err)
			failures++
			c.log.WarnContext(ctx, "broker: connect failed", "error", err, "attempt", failures, "refresh", refresh)
			continue
		}
		refresh = false
		established := c.clk.Now()
		c.connects.Add(1)
		if !lostAt.IsZero() {
			c.reconnects.Add(1)
			c.lastReconnect.Store(int64(established.Sub(lostAt)))
		}
		c.connected.Store(true)
		c.log.InfoContext(ctx, "broker: consuming", "endpoint", ep, "reconnect", !lostAt.IsZero())

		delivered, err := c.consume(ctx, hctx, sess, &handlers)
		c.connected.Store(false)
		if ctx.Err() != nil {
			c.finish(sess, &handlers, cancelHandlers)
			return nil
		}
		_ = sess.Close()
		lostAt = c.clk.Now()
		refresh = NeedsRefresh(err)
		if delivered || lostAt.Sub(established) >= stableAfter {
			failures = 0
		}
		failures++
		c.log.WarnContext(ctx, "broker: session lost", "endpoint", ep, "error", err, "refresh", refresh)
	}
	c.finish(nil, &handlers, cancelHandlers)
	return nil
}

// connect obtains the endpoint and dials it within ConnectTimeout.
func (c *Consumer) connect(ctx context.Context, refresh bool) (Session, Endpoint, error) {
	ctx, cancel := context.WithTimeout(ctx, c.cfg.ConnectTimeout)
	defer cancel()
	if refresh {
		c.refreshes.Add(1)
	}
	ep, err := c.cfg.Credentials(ctx, refresh)
	if err != nil {
		return nil, ep, fmt.Errorf("broker: credentials (refresh=%t): %w", refresh, err)
	}
	sess, err := c.dialer.Dial(ctx, ep, c.cfg.Concurrency)
	if err != nil {
		return nil, ep, fmt.Errorf("broker: dial %s: %w", ep, err)
	}
	return sess, ep, nil
}

// consume hands deliveries to handlers until the session ends or ctx is done.
// It reports whether any message arrived.
func (c *Consumer) consume(ctx, hctx context.Context, sess Session, handlers *sync.WaitGroup) (delivered bool, err error) {
	for {
		d, err := sess.Next(ctx)
		if err != nil {
			return delivered, err
		}
		delivered = true
		c.deliveries.Add(1)
		select {
		case c.sem <- struct{}{}:
		case <-ctx.Done():
			// Left unacknowledged: it returns to the queue when the
			// session closes.
			return delivered, ctx.Err()
		case <-sess.Done():
			continue // Next reports why
		}
		handlers.Add(1)
		go func() {
			defer handlers.Done()
			c.handle(ctx, hctx, sess, d)
		}()
	}
}

// handle runs the handler for one delivery and settles it.
func (c *Consumer) handle(ctx, hctx context.Context, sess Session, d Delivery) {
	m := d.Message()
	key := trackingKey(m)
	m.Attempt = c.attempts.failures(key) + 1

	c.inFlight.Add(1)
	err := c.call(hctx, m)
	c.inFlight.Add(-1)
	<-c.sem // the handler slot is free; a delayed requeue below only waits

	switch {
	case err == nil:
		c.attempts.forget(key)
		c.settle(d.Ack(), &c.acks)
		return
	case IsReject(err):
		c.attempts.forget(key)
		c.log.Warn("broker: message rejected", "message_id", m.MessageID, "error", err)
		c.settle(d.Reject(), &c.rejects)
		return
	}

	failures := c.attempts.fail(key)
	if c.cfg.MaxAttempts > 0 && failures >= c.cfg.MaxAttempts {
		c.attempts.forget(key)
		c.log.Warn("broker: message rejected after too many attempts",
			"message_id", m.MessageID, "attempts", failures, "error", err)
		c.settle(d.Reject(), &c.rejects)
		return
	}
	delay := c.cfg.Retry.Delay(failures - 1)
	c.log.Info("broker: handler failed; requeueing after delay",
		"message_id", m.MessageID, "attempt", failures, "delay", delay, "error", err)

	t := c.clk.NewTimer(delay)
	defer t.Stop()
	select {
	case <-t.C():
	case <-ctx.Done(): // shutting down: requeue now rather than hold it
	case <-sess.Done():
		return // the broker requeued it already
	}
	c.settle(d.Requeue(), &c.requeues)
}

// call runs the handler, turning a panic into an error.
func (c *Consumer) call(ctx context.Context, m Message) (err error) {
	defer func() {
		if r := recover(); r != nil {
			c.panics.Add(1)
			err = fmt.Errorf("broker: handler panicked: %v", r)
		}
	}()
	return c.cfg.Handler(ctx, m)
}

func (c *Consumer) settle(err error, counter *atomic.Uint64) {
	if err != nil {
		c.settleErrors.Add(1)
		c.log.Debug("broker: settling a message failed; the broker will redeliver it", "error", err)
		return
	}
	counter.Add(1)
}

// finish waits for running handlers after ctx is done: up to ShutdownTimeout,
// then with their ctx cancelled. While waiting it keeps reading sess (if any),
// since some transports stall acknowledgements while deliveries go unread;
// those late deliveries stay unacknowledged and return to the queue when sess
// closes at the end.
func (c *Consumer) finish(sess Session, handlers *sync.WaitGroup, cancelHandlers context.CancelFunc) {
	stopCtx, cancelStop := context.WithTimeout(context.Background(), c.cfg.ShutdownTimeout)
	if sess != nil {
		if err := sess.StopConsuming(stopCtx); err != nil {
			c.log.Debug("broker: stop consuming", "error", err)
		}
	}
	cancelStop()

	handlersDone := make(chan struct{})
	go func() {
		handlers.Wait()
		close(handlersDone)
	}()
	watchDone := make(chan struct{})
	drainCtx, stopDrain := context.WithCancel(context.Background())
	go func() {
		defer close(watchDone)
		defer stopDrain()
		t := c.clk.NewTimer(c.cfg.ShutdownTimeout)
		defer t.Stop()
		select {
		case <-handlersDone:
			return
		case <-t.C():
			c.log.Warn("broker: shutdown timeout; cancelling running handlers", "running", c.inFlight.Load())
			cancelHandlers()
		}
		<-handlersDone
	}()
	if sess != nil {
		for {
			if _, err := sess.Next(drainCtx); err != nil {
				break
			}
		}
	}
	<-watchDone
	if sess != nil {
		_ = sess.Close()
	}
}
