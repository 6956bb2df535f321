package siteagent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gsv-platform/waldur-agent-go/internal/backoff"
	"github.com/gsv-platform/waldur-agent-go/internal/keyedpool"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Agent is a Waldur site agent. Create it with New and start it with Run.
type Agent struct {
	cfg    Config
	client *waldur.Client
	log    *slog.Logger
	pool   *keyedpool.Pool
	retry  backoff.Policy

	offerings []*offering
	byID      map[waldur.UUID]*offering
	caps      []capability
	byType    map[waldur.ObservableObjectType][]capability
	replicas  *replicas // nil when the agent runs alone

	counters counters
	started  atomic.Int64 // unix ns; 0 before Run
	running  atomic.Bool
	stopping atomic.Bool

	// health
	lastTick   atomic.Int64 // unix ns of the main loop's last tick
	waldurOK   atomic.Bool  // the last call made for health purposes succeeded
	registered atomic.Bool
	source     atomic.Pointer[sourceState]
	kicks      sync.Map // capability → chan struct{} that starts its pass early (see kick)

	userUUID waldur.UUID // the token's user, set by connect

	mu         sync.Mutex
	work       map[string]*workState                  // work key → queued and finished work
	workPruned time.Time                              // when idle work keys were last forgotten
	attempts   map[waldur.UUID]int                    // order → processor calls in this process
	timers     map[string]*time.Timer                 // work key → scheduled retry
	refusals   refusals                               // orders Waldur refused for their offering type
	due        map[string]func(context.Context) error // scheduled work whose time has come
	dueOrder   []string                               // keys of due, oldest first (may hold stale keys)
	dueCh      chan struct{}                          // wakes feedDue when due grows
}

// offering is the agent's state for one served offering.
type offering struct {
	id      waldur.UUID
	written string // as configured, for the default identity name
	name    string // identity name

	mu       sync.Mutex
	details  *waldur.ProviderOffering
	identity waldur.UUID
	services map[string]waldur.UUID // service name → uuid
}

func (o *offering) snapshot() *waldur.ProviderOffering {
	o.mu.Lock()
	defer o.mu.Unlock()
	return o.details
}

// New validates cfg and returns an agent. It makes no network calls.
func New(cfg Config) (*Agent, error) {
	cfg, err := cfg.withDefaults()
	if err != nil {
		return nil, err
	}
	ids, written, err := cfg.offeringIDs()
	if err != nil {
		return nil, err
	}
	client := cfg.Client
	if client == nil {
		client, err = waldur.NewClient(cfg.WaldurURL, cfg.clientOptions()...)
		if err != nil {
			return nil, configError("WaldurURL", "%v", err)
		}
	}
	a := &Agent{
		cfg:      cfg,
		client:   client,
		log:      cfg.Logger,
		pool:     keyedpool.New(cfg.Concurrency),
		retry:    backoff.Policy{Initial: cfg.RetryBackoff, Max: cfg.MaxRetryBackoff, Multiplier: 2, Jitter: 0.2},
		byID:     make(map[waldur.UUID]*offering, len(ids)),
		attempts: make(map[waldur.UUID]int),
		work:     make(map[string]*workState),
		timers:   make(map[string]*time.Timer),
		due:      make(map[string]func(context.Context) error),
		dueCh:    make(chan struct{}, 1),
	}
	a.replicas = newReplicas(a)
	a.caps = a.capabilities()
	a.byType = make(map[waldur.ObservableObjectType][]capability)
	for _, c := range a.caps {
		for _, t := range c.objectTypes() {
			a.byType[t] = append(a.byType[t], c)
		}
	}
	for i, id := range ids {
		name := cfg.Name
		if name == "" {
			name = "agent-" + written[i]
		}
		o := &offering{id: id, written: written[i], name: name, services: make(map[string]waldur.UUID)}
		a.offerings = append(a.offerings, o)
		a.byID[id] = o
	}
	return a, nil
}

// Client returns the Waldur client the agent uses.
func (a *Agent) Client() *waldur.Client { return a.client }

// Offerings returns the UUIDs of the offerings the agent serves.
func (a *Agent) Offerings() []waldur.UUID {
	ids := make([]waldur.UUID, len(a.offerings))
	for i, o := range a.offerings {
		ids[i] = o.id
	}
	return ids
}

// Stats returns a snapshot of the agent's counters.
func (a *Agent) Stats() Stats {
	s := a.counters.snapshot(unixTime(a.started.Load()))
	s.WorkScheduled = int64(a.scheduledCount())
	return s
}

// Run registers the agent with Waldur, opens the event source, reconciles
// pending work, and then processes events and periodic passes until ctx ends.
// On cancellation it stops taking work, lets in-flight work finish within
// ShutdownTimeout, cancels what is left and returns nil. It returns an error
// for a fatal failure, such as Waldur rejecting the token (ErrUnauthorized).
// Run may be called once.
func (a *Agent) Run(ctx context.Context) error {
	if !a.running.CompareAndSwap(false, true) {
		return errors.New("siteagent: Run called twice")
	}
	a.started.Store(a.cfg.Now().UnixNano())
	a.tick()

	// Work continues past ctx's end until the shutdown timeout; workCancel is
	// the hard stop.
	workCtx, workCancel := context.WithCancel(context.WithoutCancel(ctx))
	defer workCancel()

	if err := a.start(ctx); err != nil {
		if ctx.Err() != nil {
			return nil
		}
		return err
	}

	var bg sync.WaitGroup
	bg.Go(func() { a.feedDue(ctx, workCtx) })
	a.startEvents(ctx, workCtx, &bg)

	a.replicas.start(ctx, &bg)
	a.startPasses(ctx, workCtx, &bg)
	heartbeatT := time.NewTicker(a.cfg.HeartbeatInterval)
	defer heartbeatT.Stop()
	liveT := time.NewTicker(livenessTick)
	defer liveT.Stop()

loop:
	for {
		select {
		case <-ctx.Done():
			break loop
		case <-liveT.C:
			a.tick()
		case <-heartbeatT.C:
			a.tick()
			a.heartbeat(ctx)
		}
	}
	return a.shutdown(workCancel, &bg)
}

// livenessTick is how often the main loop proves it is alive for /healthz.
const livenessTick = 10 * time.Second

func (a *Agent) tick() { a.lastTick.Store(time.Now().UnixNano()) }

// shutdown waits for in-flight work and background goroutines, cancelling
// work after ShutdownTimeout.
func (a *Agent) shutdown(workCancel context.CancelFunc, bg *sync.WaitGroup) error {
	a.stopping.Store(true)
	a.stopTimers()
	deadline := time.Now().Add(a.cfg.ShutdownTimeout)
	done := make(chan struct{})
	go func() {
		a.pool.Close()
		bg.Wait()
		close(done)
	}()
	timer := time.NewTimer(time.Until(deadline))
	defer timer.Stop()
	select {
	case <-done:
	case <-timer.C:
		a.log.Warn("siteagent: shutdown timeout reached; cancelling in-flight work",
			"timeout", a.cfg.ShutdownTimeout, "in_flight", a.counters.inFlight.Load())
		workCancel()
		<-done
	}
	// Usage counted since the last pass would leave with the process: report
	// it with what remains of the shutdown timeout.
	if uw := a.usageWork(); uw != nil && time.Until(deadline) > 0 {
		ctx, cancel := context.WithDeadline(context.Background(), deadline)
		uw.finalPass(ctx)
		cancel()
	}
	a.log.Info("siteagent: stopped")
	return nil
}

// start connects to Waldur and registers the agent, retrying transient
// failures with backoff until ctx ends.
func (a *Agent) start(ctx context.Context) error {
	for attempt := 1; ; attempt++ {
		err := a.connect(ctx)
		if err == nil {
			err = a.register(ctx)
		}
		if err == nil {
			return nil
		}
		if !waldur.IsTransient(err) {
			return err
		}
		a.waldurOK.Store(false)
		a.noteError(err)
		delay := a.retry.Delay(attempt)
		a.log.Warn("siteagent: Waldur not reachable; retrying", "error", err, "attempt", attempt, "in", delay)
		if err := backoff.Wait(ctx, backoff.RealClock{}, delay); err != nil {
			return err
		}
	}
}

// connect checks the credentials and learns the agent's user.
func (a *Agent) connect(ctx context.Context) error {
	me, err := a.client.Users.Me(ctx)
	if err != nil {
		if waldur.IsUnauthorized(err) {
			return fmt.Errorf("%w: %v", ErrUnauthorized, err)
		}
		return fmt.Errorf("siteagent: read the agent's user: %w", err)
	}
	a.userUUID = me.UUID
	a.waldurOK.Store(true)
	return nil
}

func (a *Agent) noteError(err error) {
	a.counters.setError(a.cfg.Now(), err)
	var pe *userPanic
	if errors.As(err, &pe) && pe.logged.CompareAndSwap(false, true) {
		a.log.Error("siteagent: processor panicked", "log_id", pe.id, "panic", fmt.Sprint(pe.value), "stack", string(pe.stack))
	}
}
