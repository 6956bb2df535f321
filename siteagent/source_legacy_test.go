package siteagent

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	must "github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/internal/broker"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// checkingDialer plays RabbitMQ's login check: it accepts a connection only
// with the login and password the fake Waldur gave the queue, as Waldur's
// RabbitMQ would, and then consumes nothing.
type checkingDialer struct {
	s                *waldurtest.Server
	accepted, refuse atomic.Int64
}

func (d *checkingDialer) Dial(_ context.Context, ep broker.Endpoint, _ int) (broker.Session, error) {
	for _, q := range d.s.Queues() {
		if q.Name != ep.Queue {
			continue
		}
		if q.Username != ep.Login || q.Password != ep.Password {
			d.refuse.Add(1)
			return nil, fmt.Errorf("%w: login refused for %s", broker.ErrAuth, ep.Login)
		}
		d.accepted.Add(1)
		return newIdleSession(), nil
	}
	return nil, fmt.Errorf("%w: %s", broker.ErrQueueNotFound, ep.Queue)
}

// idleSession is a session that delivers nothing until it is closed.
type idleSession struct {
	once sync.Once
	done chan struct{}
}

func newIdleSession() *idleSession { return &idleSession{done: make(chan struct{})} }

func (s *idleSession) Next(ctx context.Context) (broker.Delivery, error) {
	select {
	case <-ctx.Done():
		return nil, ctx.Err()
	case <-s.done:
		return nil, errors.New("session closed")
	}
}
func (s *idleSession) Done() <-chan struct{}               { return s.done }
func (s *idleSession) StopConsuming(context.Context) error { return nil }
func (s *idleSession) Close() error                        { s.once.Do(func() { close(s.done) }); return nil }

type legacyFixture struct {
	s        *waldurtest.Server
	offering waldur.UUID
	d        *checkingDialer
}

func newLegacyFixture(t *testing.T) *legacyFixture {
	s := waldurtest.NewServer(t, waldurtest.WithLegacyWaldur())
	return &legacyFixture{s: s, offering: s.AddOffering(waldurtest.OfferingSpec{}), d: &checkingDialer{s: s}}
}

// run starts an agent with token and returns a stop function that waits for
// Run to return.
func (f *legacyFixture) run(t *testing.T, token string) (*Agent, func()) {
	t.Helper()
	a, err := New(Config{
		WaldurURL: f.s.URL(), Token: token, OfferingUUID: f.offering.String(),
		Orders:            OrderProcessorFunc(func(context.Context, *Order) (Result, error) { return Result{}, nil }),
		ReconcileInterval: time.Hour,
		Events:            EventsConfig{Mode: EventsAMQP, AMQPURL: "amqp://rabbit.invalid:5672", dialer: f.d},
	})
	must.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	stop := func() {
		cancel()
		must.NoError(t, <-done)
	}
	t.Cleanup(func() {
		if ctx.Err() == nil {
			stop()
		}
	})
	return a, stop
}

func (f *legacyFixture) waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	must.NoError(t, f.s.WaitFor(ctx, cond), what)
}

// TestLegacyRefusedLoginRecreatesTheSubscription: a legacy subscription's
// RabbitMQ password is the DRF token it was created with, and registering it
// again keeps it. After the token changed, the agent must delete the
// subscription and create it anew, or the broker refuses it for ever.
func TestLegacyRefusedLoginRecreatesTheSubscription(t *testing.T) {
	f := newLegacyFixture(t)
	a, stop := f.run(t, f.s.Token())
	f.waitFor(t, "the first agent consumes its legacy queue", func() bool { return a.EventSourceStatus().Connected })
	must.Len(t, f.s.EventSubscriptions(), 1)
	old := f.s.EventSubscriptions()[0].UUID
	stop()

	// The token is regenerated; the subscription keeps the old password.
	token := f.s.RotateToken(f.s.ProviderUser())
	a, _ = f.run(t, token)
	f.waitFor(t, "the agent with the new token consumes again", func() bool { return a.EventSourceStatus().Connected })

	assert.Positive(t, f.d.refuse.Load(), "the old subscription's password was refused first")
	assert.Equal(t, 1, f.s.CallCount("event_subscriptions_destroy"), "deleted once")
	subs := f.s.EventSubscriptions()
	must.Len(t, subs, 1)
	assert.NotEqual(t, old, subs[0].UUID, "a new subscription")
	assert.Equal(t, token, f.s.Queues()[0].Password)
}

// TestLegacyPathRefusesAPATAndSaysWhy: the legacy path never takes a PAT.
// The agent deletes the subscription once per refusal cycle, not on every
// attempt, and says that a DRF token is needed.
func TestLegacyPathRefusesAPATAndSaysWhy(t *testing.T) {
	f := newLegacyFixture(t)
	a, _ := f.run(t, f.s.PAT())
	f.waitFor(t, "the broker refuses the PAT several times", func() bool { return f.d.refuse.Load() >= 4 })
	assert.Zero(t, f.d.accepted.Load())
	assert.Equal(t, 1, f.s.CallCount("event_subscriptions_destroy"), "bounded: one deletion for the refusal cycle")
	f.waitFor(t, "the reason reaches Stats", func() bool { return a.Stats().LastError != "" })
	assert.Contains(t, a.Stats().LastError, "DRF token")
	assert.Contains(t, a.Stats().LastError, "never a personal access token")
}
