package logship

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Defaults for the zero values of Config, as in Waldur's reference agent
// where it has one.
const (
	DefaultBatchSize     = 100
	DefaultFlushInterval = time.Minute
	DefaultQueueSize     = 10_000
	DefaultSendTimeout   = 30 * time.Second
	DefaultAttempts      = 3
	DefaultModule        = "waldur-agent"
)

// Config configures a Shipper. Send and Identity are required.
type Config struct {
	// Send ships one batch; usually a waldur.Client's Agents.SendLogs.
	Send func(ctx context.Context, entries []waldur.LogEntry) error
	// Identity returns the agent identity the rows belong to. It is called
	// before each batch until it succeeds (the agent registers its identity
	// after it starts); see IdentityByName.
	Identity func(ctx context.Context) (waldur.UUID, error)

	// Level is the lowest level shipped. Default slog.LevelWarn.
	Level slog.Leveler
	// BatchSize is the most records per call. Default 100.
	BatchSize int
	// FlushInterval is how long a record waits at most for its batch to
	// fill. Default 1m.
	FlushInterval time.Duration
	// QueueSize bounds the records waiting to be sent. Default 10000.
	QueueSize int
	// SendTimeout bounds each call. Default 30s.
	SendTimeout time.Duration
	// Attempts is how many times a batch is offered before it is dropped.
	// Default 3.
	Attempts int
	// Module is the module of records whose message has no "pkg: " prefix.
	// Default "waldur-agent".
	Module string
	// Logger receives the shipper's own troubles, at debug level. It must
	// not lead back to the shipper. Default: discard.
	Logger *slog.Logger
}

// Shipper is an slog.Handler that ships records to Waldur; see the package
// documentation. Its methods are safe for concurrent use.
type Shipper struct {
	*handler
}

// shared is the state every handler derived with WithAttrs and WithGroup
// has in common.
type shared struct {
	cfg     Config
	queue   chan waldur.LogEntry
	dropped atomic.Int64
	sent    atomic.Int64
	off     atomic.Bool // the server has no log endpoint
	flush   chan chan struct{}
}

// New returns a Shipper. It panics if Send or Identity is nil.
func New(cfg Config) *Shipper {
	if cfg.Send == nil || cfg.Identity == nil {
		panic("logship: Config.Send and Config.Identity are required")
	}
	if cfg.Level == nil {
		cfg.Level = slog.LevelWarn
	}
	setDefault(&cfg.BatchSize, DefaultBatchSize)
	setDefault(&cfg.FlushInterval, DefaultFlushInterval)
	setDefault(&cfg.QueueSize, DefaultQueueSize)
	setDefault(&cfg.SendTimeout, DefaultSendTimeout)
	setDefault(&cfg.Attempts, DefaultAttempts)
	setDefault(&cfg.Module, DefaultModule)
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	sh := &shared{cfg: cfg, queue: make(chan waldur.LogEntry, cfg.QueueSize), flush: make(chan chan struct{})}
	return &Shipper{&handler{sh: sh}}
}

func setDefault[T int | time.Duration | string](p *T, def T) {
	var zero T
	if *p <= zero {
		*p = def
	}
}

// Dropped counts records dropped so far: queue full, batches refused too
// often, or shipping switched off.
func (s *Shipper) Dropped() int64 { return s.sh.dropped.Load() }

// Sent counts records Waldur accepted.
func (s *Shipper) Sent() int64 { return s.sh.sent.Load() }

// Flush asks Run to send what is queued now and waits until it has, or
// until ctx ends.
func (s *Shipper) Flush(ctx context.Context) error {
	done := make(chan struct{})
	select {
	case s.sh.flush <- done:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run sends batches until ctx ends, then sends what is queued within
// SendTimeout and returns nil.
func (s *Shipper) Run(ctx context.Context) error {
	sh := s.sh
	tick := time.NewTicker(sh.cfg.FlushInterval)
	defer tick.Stop()
	b := &batcher{sh: sh}
	for {
		select {
		case e := <-sh.queue:
			b.add(ctx, e)
		case <-tick.C:
			b.send(ctx)
		case done := <-sh.flush:
			b.drain(ctx)
			close(done)
		case <-ctx.Done():
			last, cancel := context.WithTimeout(context.WithoutCancel(ctx), sh.cfg.SendTimeout)
			b.drain(last)
			cancel()
			return nil
		}
	}
}

// batcher is Run's state: the batch being filled and its failed attempts.
type batcher struct {
	sh       *shared
	pending  []waldur.LogEntry
	attempts int
	identity waldur.UUID
}

func (b *batcher) add(ctx context.Context, e waldur.LogEntry) {
	b.pending = append(b.pending, e)
	if len(b.pending) >= b.sh.cfg.BatchSize {
		b.send(ctx)
	}
}

// drain sends everything queued now, batch by batch.
func (b *batcher) drain(ctx context.Context) {
	for {
		select {
		case e := <-b.sh.queue:
			b.add(ctx, e)
			continue
		default:
		}
		break
	}
	for len(b.pending) > 0 && ctx.Err() == nil {
		before := len(b.pending)
		b.send(ctx)
		if len(b.pending) >= before {
			break // refused: leave it for the next tick
		}
	}
}

// send offers up to BatchSize pending records once.
func (b *batcher) send(ctx context.Context) {
	sh := b.sh
	if len(b.pending) == 0 {
		return
	}
	if sh.off.Load() {
		b.drop(len(b.pending))
		return
	}
	n := min(len(b.pending), sh.cfg.BatchSize)
	cctx, cancel := context.WithTimeout(ctx, sh.cfg.SendTimeout)
	defer cancel()
	err := b.resolve(cctx)
	if err == nil {
		batch := b.pending[:n]
		for i := range batch {
			batch[i].Identity = b.identity
		}
		err = sh.cfg.Send(cctx, batch)
	}
	switch {
	case err == nil:
		sh.sent.Add(int64(n))
		b.shift(n)
	case waldur.IsNotFound(err) && b.identity != (waldur.UUID{}):
		// An older Waldur: the reference agent drops silently, and so do we.
		sh.off.Store(true)
		sh.cfg.Logger.Debug("logship: Waldur has no log endpoint; shipping off", "error", err)
		b.drop(len(b.pending))
	default:
		b.attempts++
		sh.cfg.Logger.Debug("logship: batch not sent", "attempt", b.attempts, "error", err)
		if b.attempts >= sh.cfg.Attempts {
			b.drop(n)
		}
	}
}

func (b *batcher) resolve(ctx context.Context) error {
	if b.identity != (waldur.UUID{}) {
		return nil
	}
	id, err := b.sh.cfg.Identity(ctx)
	if err != nil {
		return fmt.Errorf("logship: agent identity: %w", err)
	}
	b.identity = id
	return nil
}

func (b *batcher) drop(n int) {
	b.sh.dropped.Add(int64(n))
	b.shift(n)
}

func (b *batcher) shift(n int) {
	b.pending = append(b.pending[:0], b.pending[n:]...)
	b.attempts = 0
}

// IdentityByName returns an Identity function that finds the agent identity
// named name ("" means "agent-<offering hex>", siteagent's default) of the
// offering in Waldur.
func IdentityByName(c *waldur.Client, offering waldur.UUID, name string) func(context.Context) (waldur.UUID, error) {
	if name == "" {
		name = "agent-" + waldur.Hex(offering)
	}
	var mu sync.Mutex
	return func(ctx context.Context) (waldur.UUID, error) {
		mu.Lock()
		defer mu.Unlock()
		for id, err := range c.Agents.ListIdentities(ctx, waldur.ListIdentitiesOptions{Name: name, OfferingUUID: offering}) {
			if err != nil {
				return waldur.UUID{}, err
			}
			return id.UUID, nil
		}
		return waldur.UUID{}, errors.New("not registered yet")
	}
}

// module takes "siteagent" from "siteagent: approve order ...".
func module(msg, def string) string {
	pkg, _, ok := strings.Cut(msg, ": ")
	if !ok || pkg == "" || len(pkg) > 40 {
		return def
	}
	for _, r := range pkg {
		if !(r >= 'a' && r <= 'z' || r >= '0' && r <= '9' || r == '/' || r == '-' || r == '_' || r == '.') {
			return def
		}
	}
	return pkg
}
