package siteagent_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"os"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/internal/rabbitadmin"
	"github.com/gsv-platform/waldur-agent-go/internal/testenv"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/siteagenttest"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// Integration tests against the RabbitMQ of internal/testenv: the fake
// Waldur provisions queues there as Waldur does and publishes its events
// there over STOMP, and the agent consumes them over AMQP or web-STOMP.

// brokerTransport is a way for the agent to reach the test broker.
type brokerTransport struct {
	name   string
	events func(tb testing.TB) siteagent.EventsConfig
}

func brokerTransports() []brokerTransport {
	return []brokerTransport{
		{"amqp", func(tb testing.TB) siteagent.EventsConfig {
			return siteagent.EventsConfig{Mode: siteagent.EventsAMQP, AMQPURL: amqpEndpoint(tb)}
		}},
		{"stomp-ws", func(tb testing.TB) siteagent.EventsConfig {
			return siteagent.EventsConfig{Mode: siteagent.EventsSTOMP, STOMPURL: testenv.WebSTOMPURL(tb)}
		}},
	}
}

// amqpEndpoint is the test broker's AMQP URL without credentials and vhost,
// which come from register_queue.
func amqpEndpoint(tb testing.TB) string {
	u, err := url.Parse(testenv.AMQPURL(tb))
	require.NoError(tb, err)
	u.User, u.Path = nil, ""
	return u.String()
}

// eventCount is how many orders the acceptance runs use: 10 000, or 1 000
// with -short. WALDUR_TEST_EVENTS overrides both.
func eventCount(tb testing.TB) int {
	if s := os.Getenv("WALDUR_TEST_EVENTS"); s != "" {
		n, err := strconv.Atoi(s)
		require.NoError(tb, err, "WALDUR_TEST_EVENTS")
		return n
	}
	if testing.Short() {
		return 1000
	}
	return 10_000
}

// brokerEnv is a fake Waldur wired to the test broker. It notes when each
// order's pending-provider and done events were published and how many
// messages went to the queue.
type brokerEnv struct {
	s        *waldurtest.Server
	rmq      *waldurtest.RabbitMQ
	offering waldur.UUID

	mu        sync.Mutex
	published int // messages published to the agent's queue
	pending   map[waldur.UUID]time.Time
	done      map[waldur.UUID]time.Time
	doneCh    chan struct{} // closed when wantDone orders are done
	wantDone  int
}

func newBrokerEnv(tb testing.TB, opts ...waldurtest.Option) *brokerEnv {
	tb.Helper()
	rmq, err := waldurtest.NewRabbitMQ(waldurtest.RabbitMQConfig{
		ManagementURL: testenv.RabbitMQAPI(tb), STOMPAddr: testenv.STOMPAddr(tb),
	})
	require.NoError(tb, err)
	tb.Cleanup(func() { assert.NoError(tb, rmq.Close()) })
	e := &brokerEnv{rmq: rmq, pending: map[waldur.UUID]time.Time{}, done: map[waldur.UUID]time.Time{}}
	sink := waldurtest.EventSinkFunc(func(ctx context.Context, ev waldurtest.Event) error {
		e.note(ev)
		return rmq.Publish(ctx, ev)
	})
	opts = append([]waldurtest.Option{waldurtest.WithCallLogLimit(1000)}, opts...)
	opts = append(opts, waldurtest.WithQueueProvisioner(rmq), waldurtest.WithEventSink(sink))
	e.s = waldurtest.NewServer(tb, opts...)
	e.offering = e.s.AddOffering(waldurtest.OfferingSpec{Name: "Storage"})
	return e
}

func (e *brokerEnv) note(ev waldurtest.Event) {
	now := time.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	e.published++
	if ev.ObjectType != "order" {
		return
	}
	id, err := waldur.ParseUUID(fmt.Sprint(ev.Payload["order_uuid"]))
	if err != nil {
		return
	}
	switch ev.Payload["order_state"] {
	case "pending-provider":
		if _, ok := e.pending[id]; !ok {
			e.pending[id] = now
		}
	case "done":
		e.done[id] = now
		if e.doneCh != nil && len(e.done) >= e.wantDone {
			close(e.doneCh)
			e.doneCh = nil
		}
	}
}

// expectDone returns a channel closed once n orders are done.
func (e *brokerEnv) expectDone(n int) <-chan struct{} {
	e.mu.Lock()
	defer e.mu.Unlock()
	ch := make(chan struct{})
	if len(e.done) >= n {
		close(ch)
		return ch
	}
	e.doneCh, e.wantDone = ch, n
	return ch
}

// latencies returns the event-to-done times of the given orders.
func (e *brokerEnv) latencies(ids []waldur.UUID) []time.Duration {
	e.mu.Lock()
	defer e.mu.Unlock()
	out := make([]time.Duration, 0, len(ids))
	for _, id := range ids {
		if d, ok := e.done[id]; ok {
			out = append(out, d.Sub(e.pending[id]))
		}
	}
	return out
}

func (e *brokerEnv) config(p siteagent.OrderProcessor, ev siteagent.EventsConfig) siteagent.Config {
	return siteagent.Config{
		WaldurURL:         e.s.URL(),
		Token:             e.s.Token(),
		OfferingUUID:      e.offering.String(),
		Orders:            p,
		Concurrency:       16,
		ReconcileInterval: time.Hour, // only events bring orders after the first pass
		RetryBackoff:      10 * time.Millisecond,
		MaxRetryBackoff:   100 * time.Millisecond,
		Events:            ev,
	}
}

// startConsuming starts the agent and waits until it consumes its queues.
func (e *brokerEnv) startConsuming(tb testing.TB, cfg siteagent.Config) *siteagent.Agent {
	tb.Helper()
	a := siteagenttest.Start(tb, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	require.NoError(tb, e.s.WaitFor(ctx, func() bool { return a.EventSourceStatus().Connected && a.Ready() }),
		"the agent consumes its queue")
	return a
}

// throttle waits until the agent's backlog is small enough that the queue,
// which holds at most 10 000 messages and dead-letters the rest, never
// overflows.
func (e *brokerEnv) throttle(tb testing.TB, a *siteagent.Agent) {
	tb.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	require.NoError(tb, e.s.WaitFor(ctx, func() bool {
		st := a.EventSourceStatus()
		e.mu.Lock()
		defer e.mu.Unlock()
		return e.published-int(st.Acks+st.Rejects) < 4000
	}), "the agent keeps up")
}

// countingProcessor is a no-op processor that counts its calls per order.
type countingProcessor struct{ calls sync.Map } // order → *atomic.Int64

func (p *countingProcessor) ProcessOrder(_ context.Context, o *siteagent.Order) (siteagent.Result, error) {
	n, _ := p.calls.LoadOrStore(o.UUID, new(atomic.Int64))
	n.(*atomic.Int64).Add(1)
	return siteagent.Result{}, nil
}

func (p *countingProcessor) count(id waldur.UUID) int64 {
	n, ok := p.calls.Load(id)
	if !ok {
		return 0
	}
	return n.(*atomic.Int64).Load()
}

func percentile(d []time.Duration, p float64) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	return s[min(len(s)-1, int(float64(len(s))*p))]
}

// checkExactlyOnce asserts that every order is done by one approve and one
// done, and that the processor ran once for each.
func checkExactlyOnce(t *testing.T, e *brokerEnv, p *countingProcessor, ids []waldur.UUID) {
	t.Helper()
	bad := 0
	for _, id := range ids {
		tr := e.s.Transitions(id)
		if !slices.Equal(tr, []string{"approve_by_provider", "set_state_done"}) || p.count(id) != 1 {
			bad++
			if bad <= 5 {
				t.Errorf("order %s: transitions %v, processor calls %d", id, tr, p.count(id))
			}
		}
	}
	assert.Zero(t, bad, "orders not processed exactly once")
}

// TestBrokerOrdersExactlyOnce sends a burst of orders (10 000 unless
// -short) through each transport and force-closes the agent's broker
// connections five times meanwhile: every order must be done by exactly one
// approve and one done. It logs the event-to-done latency under the burst
// (the queue's backlog included) and the time each reconnect took.
func TestBrokerOrdersExactlyOnce(t *testing.T) {
	const closes = 5
	for _, tr := range brokerTransports() {
		t.Run(tr.name, func(t *testing.T) {
			e := newBrokerEnv(t)
			p := &countingProcessor{}
			a := e.startConsuming(t, e.config(p, tr.events(t)))
			n := eventCount(t)
			allDone := e.expectDone(n)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()

			var reconnects []time.Duration
			ids := make([]waldur.UUID, 0, n)
			closeAt := n / (closes + 1)
			for i := range n {
				ids = append(ids, e.s.AddOrder(waldurtest.OrderSpec{Offering: e.offering}))
				if i%1000 == 999 {
					e.throttle(t, a)
				}
				if closes > 0 && (i+1)%closeAt == 0 && len(reconnects) < closes {
					before := a.EventSourceStatus().Reconnects
					require.NoError(t, e.rmq.CloseConsumerConnections(ctx))
					require.NoError(t, e.s.WaitFor(ctx, func() bool {
						st := a.EventSourceStatus()
						return st.Reconnects > before && st.Connected
					}), "the agent reconnects")
					reconnects = append(reconnects, a.EventSourceStatus().LastReconnect)
				}
			}
			select {
			case <-allDone:
			case <-ctx.Done():
				t.Fatalf("orders not done in time; stats %+v, source %+v", a.Stats(), a.EventSourceStatus())
			}
			checkExactlyOnce(t, e, p, ids)
			lat := e.latencies(ids)
			st, src := a.Stats(), a.EventSourceStatus()
			assert.Zero(t, st.EventsMalformed)
			assert.Equal(t, closes, len(reconnects))
			t.Logf("%s: %d orders in a burst, event-to-done p50 %v p99 %v; reconnect times after forced closes %v; "+
				"events received %d, duplicates dropped %d, deliveries %d, requeues %d",
				tr.name, n, percentile(lat, 0.50), percentile(lat, 0.99), reconnects,
				st.EventsReceived, st.EventsDuplicate, src.Deliveries, src.Requeues)
		})
	}
}

// fuzzedPayload returns payload number i of a mix of broken and odd
// messages: invalid JSON, JSON that is not an object, orders without a
// valid UUID, unknown object types, random bytes. Each is distinct.
func fuzzedPayload(r *rand.Rand, i int) []byte {
	switch i % 9 {
	case 0:
		b := make([]byte, 1+r.IntN(64))
		for j := range b {
			b[j] = byte(r.UintN(256))
		}
		return append([]byte(strconv.Itoa(i)+"\x00"), b...)
	case 1:
		full := fmt.Sprintf(`{"object_type":"order","order_uuid":"%032x","order_state":"pending-provider"}`, i)
		return []byte(full[:1+r.IntN(len(full)-1)])
	case 2:
		return fmt.Appendf(nil, `[{"object_type":"order","n":%d}]`, i)
	case 3:
		return fmt.Appendf(nil, `{"object_type":"order","order_uuid":"not-a-uuid-%d"}`, i)
	case 4:
		return fmt.Appendf(nil, `{"object_type":"mystery_%d","schema_version":7,"nested":{"a":[1,2,{"b":null}]}}`, i)
	case 5:
		return fmt.Appendf(nil, `{"order_uuid":"%032x","order_state":"pending-provider"}`, i) // no object_type
	case 6:
		return fmt.Appendf(nil, `"just a string %d"`, i)
	case 7:
		return fmt.Appendf(nil, `{"object_type":"order","order_uuid":12345,"i":%d,"bad":"\xff\xfe"}`, i)
	default:
		return fmt.Appendf(nil, `%s{"i":%d}`, string(make([]byte, r.IntN(4))), i)
	}
}

func TestBrokerMalformedPayloadsAreDeadLetteredAndCounted(t *testing.T) {
	for _, tr := range brokerTransports() {
		t.Run(tr.name, func(t *testing.T) {
			e := newBrokerEnv(t)
			p := &countingProcessor{}
			a := e.startConsuming(t, e.config(p, tr.events(t)))
			queues := e.s.Queues()
			require.Len(t, queues, 1)
			q := queues[0]
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
			defer cancel()

			bad := eventCount(t)
			good := max(bad/10, 10)
			allDone := e.expectDone(good)
			r := rand.New(rand.NewPCG(1, 2))
			var wantMalformed, wantUnknown int64
			var ids []waldur.UUID
			for i := range bad {
				body := fuzzedPayload(r, i)
				if ev, err := siteagent.DecodeEvent(body, ""); err != nil {
					wantMalformed++
				} else if ev.Payload == nil {
					wantUnknown++
				}
				_, err := e.rmq.PublishRaw(ctx, q.Name, body)
				require.NoError(t, err)
				e.mu.Lock()
				e.published++
				e.mu.Unlock()
				if i%(bad/good) == 0 {
					ids = append(ids, e.s.AddOrder(waldurtest.OrderSpec{Offering: e.offering}))
				}
				if i%1000 == 999 {
					e.throttle(t, a)
				}
			}
			for len(ids) < good {
				ids = append(ids, e.s.AddOrder(waldurtest.OrderSpec{Offering: e.offering}))
			}
			select {
			case <-allDone:
			case <-ctx.Done():
				t.Fatalf("orders not done in time; stats %+v", a.Stats())
			}
			require.NoError(t, e.s.WaitFor(ctx, func() bool {
				st := a.Stats()
				return st.EventsMalformed+st.EventsUnknown >= wantMalformed+wantUnknown &&
					a.EventSourceStatus().Rejects >= uint64(wantMalformed) // settled after the count
			}), "every payload is counted")
			checkExactlyOnce(t, e, p, ids)
			st, src := a.Stats(), a.EventSourceStatus()
			assert.Equal(t, wantMalformed, st.EventsMalformed)
			assert.Equal(t, wantUnknown, st.EventsUnknown)
			assert.Equal(t, uint64(wantMalformed), src.Rejects)
			assert.Positive(t, wantMalformed)
			assert.Positive(t, wantUnknown)

			// The rejected messages are in Waldur's dead-letter queue.
			admin := newAdmin(t)
			require.NoError(t, e.s.WaitFor(ctx, func() bool {
				info, err := admin.Queue(ctx, q.VHost, rabbitadmin.DeadLetterQueue)
				return err == nil && int64(info.Messages) == wantMalformed
			}), "rejected messages are dead-lettered")
			t.Logf("%s: %d fuzzed payloads (%d malformed, %d unknown) with %d orders: all counted, orders done once",
				tr.name, bad, wantMalformed, wantUnknown, good)
		})
	}
}

// newAdmin returns a management API client whose connections close when
// the test ends.
func newAdmin(tb testing.TB) *rabbitadmin.Client {
	tb.Helper()
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	tb.Cleanup(hc.CloseIdleConnections)
	admin, err := rabbitadmin.New(testenv.RabbitMQAPI(tb), rabbitadmin.WithHTTPClient(hc))
	require.NoError(tb, err)
	return admin
}

func TestBrokerLegacyQueuesOfAnOlderWaldur(t *testing.T) {
	for _, tr := range brokerTransports() {
		t.Run(tr.name, func(t *testing.T) {
			e := newBrokerEnv(t, waldurtest.WithLegacyWaldur())
			p := &countingProcessor{}
			a := e.startConsuming(t, e.config(p, tr.events(t)))
			src := a.EventSourceStatus()
			assert.True(t, src.Legacy)
			assert.Equal(t, 1, src.Queues, "one queue per offering and object type: orders only")
			queues := e.s.Queues()
			require.Len(t, queues, 1)
			assert.Regexp(t, `^subscription_[0-9a-f]{32}_offering_`+waldur.Hex(e.offering)+`_order$`, queues[0].Name)

			const n = 100
			allDone := e.expectDone(n)
			ids := make([]waldur.UUID, n)
			for i := range ids {
				ids[i] = e.s.AddOrder(waldurtest.OrderSpec{Offering: e.offering})
			}
			select {
			case <-allDone:
			case <-time.After(2 * time.Minute):
				t.Fatalf("orders not done in time; stats %+v", a.Stats())
			}
			checkExactlyOnce(t, e, p, ids)
			assert.Zero(t, a.Stats().EventsMalformed, "legacy payloads name no object type; the queue does")
		})
	}
}

func TestBrokerRegistersAgainWhenRefused(t *testing.T) {
	for _, tr := range brokerTransports() {
		for _, what := range []string{"password changed", "queue deleted"} {
			t.Run(tr.name+"/"+what, func(t *testing.T) {
				e := newBrokerEnv(t)
				p := &countingProcessor{}
				a := e.startConsuming(t, e.config(p, tr.events(t)))
				ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
				defer cancel()
				q := e.s.Queues()[0]
				registered := e.s.CallCount("marketplace_site_agent_identities_register_queue")
				admin := newAdmin(t)
				switch what {
				case "password changed":
					// As after a token rotation elsewhere: the broker
					// refuses the old password until register_queue resets it.
					require.NoError(t, admin.PutUser(ctx, q.Username, "another-password"))
					require.NoError(t, e.rmq.CloseConsumerConnections(ctx))
				case "queue deleted":
					// As Waldur's clean-up tasks may do.
					require.NoError(t, admin.DeleteQueue(ctx, q.VHost, q.Name))
				}
				require.NoError(t, e.s.WaitFor(ctx, func() bool {
					return a.EventSourceStatus().Reconnects > 0 && a.EventSourceStatus().Connected
				}))
				assert.Greater(t, e.s.CallCount("marketplace_site_agent_identities_register_queue"), registered,
					"register_queue again")

				allDone := e.expectDone(1)
				id := e.s.AddOrder(waldurtest.OrderSpec{Offering: e.offering})
				select {
				case <-allDone:
				case <-ctx.Done():
					t.Fatalf("order not done; source %+v", a.EventSourceStatus())
				}
				checkExactlyOnce(t, e, p, []waldur.UUID{id})
			})
		}
	}
}

func TestBrokerDropsDuplicateMessages(t *testing.T) {
	e := newBrokerEnv(t)
	p := &countingProcessor{}
	a := e.startConsuming(t, e.config(p, brokerTransports()[0].events(t)))
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	allDone := e.expectDone(1)
	id := e.s.AddOrder(waldurtest.OrderSpec{Offering: e.offering})
	<-allDone
	require.NoError(t, e.s.WaitFor(ctx, func() bool { return a.Stats().EventsProcessed >= 2 }), "pending and done events")

	// The same content to the same queue has the same x-message-id: the
	// first copy is handled (one read, nothing to do), the second dropped.
	body := fmt.Appendf(nil, `{"object_type":"order","schema_version":1,"offering_uuid":"%s","order_uuid":"%s","order_state":"pending-provider"}`,
		waldur.Hex(e.offering), waldur.Hex(id))
	q := e.s.Queues()[0]
	for copies := range uint64(2) {
		_, err := e.rmq.PublishRaw(ctx, q.Name, body)
		require.NoError(t, err)
		require.NoError(t, e.s.WaitFor(ctx, func() bool { return a.EventSourceStatus().Acks >= 3+copies }))
	}
	st := a.Stats()
	assert.Equal(t, int64(1), st.EventsDuplicate)
	assert.Equal(t, int64(3), st.EventsProcessed)
	checkExactlyOnce(t, e, p, []waldur.UUID{id})
}

func TestBrokerAutoModePicksAReachableTransport(t *testing.T) {
	tests := []struct {
		name string
		ev   func(tb testing.TB) siteagent.EventsConfig
		want string
	}{
		{"AMQP first", func(tb testing.TB) siteagent.EventsConfig {
			return siteagent.EventsConfig{AMQPURL: amqpEndpoint(tb), STOMPURL: testenv.WebSTOMPURL(tb)}
		}, "amqp"},
		{"STOMP when AMQP is unreachable", func(tb testing.TB) siteagent.EventsConfig {
			return siteagent.EventsConfig{AMQPURL: "amqp://127.0.0.1:1", STOMPURL: testenv.WebSTOMPURL(tb)}
		}, "stomp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newBrokerEnv(t)
			p := &countingProcessor{}
			a := e.startConsuming(t, e.config(p, tt.ev(t)))
			st := a.EventSourceStatus()
			assert.Equal(t, tt.want, st.Name)
			assert.Equal(t, uint64(1), st.Connects, "the probing session is the consumer's")
			allDone := e.expectDone(10)
			var ids []waldur.UUID
			for range 10 {
				ids = append(ids, e.s.AddOrder(waldurtest.OrderSpec{Offering: e.offering}))
			}
			select {
			case <-allDone:
			case <-time.After(time.Minute):
				t.Fatalf("orders not done; source %+v", a.EventSourceStatus())
			}
			checkExactlyOnce(t, e, p, ids)
		})
	}
}

// TestBrokerLegacySubscriptionAfterATokenChange: on a real RabbitMQ, a legacy
// subscription created with the old DRF token keeps that password; the agent
// with the new token must delete the subscription and create it again to be
// let in.
func TestBrokerLegacySubscriptionAfterATokenChange(t *testing.T) {
	for _, tr := range brokerTransports() {
		t.Run(tr.name, func(t *testing.T) {
			e := newBrokerEnv(t, waldurtest.WithLegacyWaldur())
			p := &countingProcessor{}
			first, err := siteagent.New(e.config(p, tr.events(t)))
			require.NoError(t, err)
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan error, 1)
			go func() { done <- first.Run(ctx) }()
			wait, waitCancel := context.WithTimeout(context.Background(), time.Minute)
			defer waitCancel()
			require.NoError(t, e.s.WaitFor(wait, func() bool { return first.EventSourceStatus().Connected }))
			cancel()
			require.NoError(t, <-done)

			cfg := e.config(p, tr.events(t))
			cfg.Token = e.s.RotateToken(e.s.ProviderUser())
			a := e.startConsuming(t, cfg)
			assert.Equal(t, 1, e.s.CallCount("event_subscriptions_destroy"))
			allDone := e.expectDone(1)
			id := e.s.AddOrder(waldurtest.OrderSpec{Offering: e.offering})
			select {
			case <-allDone:
			case <-wait.Done():
				t.Fatalf("order not done; source %+v", a.EventSourceStatus())
			}
			checkExactlyOnce(t, e, p, []waldur.UUID{id})
		})
	}
}
