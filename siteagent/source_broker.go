package siteagent

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gsv-platform/waldur-agent-go/internal/backoff"
	"github.com/gsv-platform/waldur-agent-go/internal/broker"
	"github.com/gsv-platform/waldur-agent-go/internal/broker/amqpsource"
	"github.com/gsv-platform/waldur-agent-go/internal/broker/stompsource"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// brokerSource consumes the agent's event queues in Waldur's RabbitMQ. It
// registers the queues, picks a transport (in EventsAuto the first one that
// answers), and runs one broker.Consumer per queue: acknowledgement after
// the event was handled, delayed requeue after a failure, dead-letter for
// malformed messages, reconnection with backoff, and registration again
// when the broker refuses the login or lost the queue.
type brokerSource struct {
	a          *Agent
	auto       bool        // EventsAuto: probe the transports, fall back to polling
	transports []transport // candidates, in the order tried
	types      []waldur.ObservableObjectType

	state atomic.Int32 // stateStarting, statePolling, stateConsuming

	mu        sync.Mutex
	chosen    string
	legacy    bool
	consumers []*broker.Consumer
}

const (
	stateStarting int32 = iota
	statePolling        // EventsAuto found no broker; polling alone for now
	stateConsuming
)

// transport is one way to reach the broker.
type transport struct {
	name   string // "amqp" or "stomp"
	url    string
	dialer broker.Dialer
}

// maxSetupRetry caps the delays between attempts to register the queues or,
// in EventsAuto, to find a reachable broker.
const maxSetupRetry = 5 * time.Minute

// probeTimeout bounds one probing connection attempt.
const probeTimeout = 30 * time.Second

// newBrokerSource plans the broker source from the config, or says why
// there is none.
func (a *Agent) newBrokerSource() (*brokerSource, error) {
	ev := a.cfg.Events
	types := a.objectTypes()
	if len(types) == 0 {
		return nil, errors.New("no processor needs events")
	}
	if a.cfg.Token == "" {
		// Waldur sets the RabbitMQ password to the API credential, which
		// a Config with only a Client does not reveal.
		return nil, errors.New("Config.Token is not set; the broker password is the API token")
	}
	if a.cfg.TokenKind == waldur.TokenOIDC {
		// register_queue sets the password to the user's DRF token when
		// the call came with an OIDC token; the agent does not hold it.
		return nil, errors.New("the token is an OIDC access token; Waldur's broker takes a DRF token or a personal access token as password, so events come by polling")
	}
	s := &brokerSource{a: a, auto: ev.Mode == EventsAuto, types: types}
	amqpTr := transport{name: "amqp", url: ev.AMQPURL, dialer: amqpsource.Dialer{}}
	stompTr := transport{name: "stomp", url: ev.STOMPURL, dialer: stompsource.Dialer{Logger: a.log}}
	if ev.dialer != nil {
		amqpTr.dialer, stompTr.dialer = ev.dialer, ev.dialer
	}
	if stompTr.url == "" && ev.Mode != EventsAMQP {
		u, err := webSTOMPURL(a.client.BaseURL())
		if err != nil {
			return nil, err
		}
		stompTr.url = u
	}
	for _, tr := range []transport{amqpTr, stompTr} {
		if tr.url != "" && (ev.Mode == EventsAuto || tr.name == ev.Mode.String()) && cleartextRemote(tr.url) {
			a.log.Warn("siteagent: the broker URL is not encrypted and its host is not this machine: "+
				"the Waldur token, which is the broker password, travels in clear; use amqps:// or wss:// (stomp+ssl://)",
				"transport", tr.name, "url", redact(tr.url))
		}
	}
	switch ev.Mode {
	case EventsAMQP:
		s.transports = []transport{amqpTr}
	case EventsSTOMP:
		s.transports = []transport{stompTr}
	default:
		if amqpTr.url != "" {
			s.transports = append(s.transports, amqpTr)
		}
		s.transports = append(s.transports, stompTr)
	}
	return s, nil
}

// name is the source's name for logs and status before a transport is
// chosen: the only candidate, or "auto".
func (s *brokerSource) name() string {
	if len(s.transports) == 1 {
		return s.transports[0].name
	}
	return "auto"
}

// Run registers the queues and consumes them until ctx ends.
func (s *brokerSource) Run(ctx context.Context, h EventHandler) error {
	a := s.a
	first := a.cfg.Events.RetryInterval
	if first == 0 {
		first = DefaultEventsRetryInterval
	}
	retry := backoff.Policy{Initial: first, Max: max(first, maxSetupRetry)}
	saidPolling := false
	for attempt := 0; ; attempt++ {
		if attempt > 0 && backoff.Wait(ctx, backoff.RealClock{}, retry.Delay(attempt-1)) != nil {
			return nil
		}
		queues, legacy, err := a.registerQueues(ctx, s.types)
		var tr transport
		var primed broker.Session
		if err == nil {
			tr, primed, err = s.pick(ctx, queues[0])
		}
		if ctx.Err() != nil {
			if primed != nil {
				_ = primed.Close()
			}
			return nil
		}
		if err != nil {
			if !s.auto {
				a.noteError(err)
				a.log.Warn("siteagent: event source not ready; retrying", "error", err, "attempt", attempt+1)
				continue
			}
			s.state.Store(statePolling)
			if !saidPolling {
				saidPolling = true
				a.log.Warn("siteagent: no event broker reachable; running on polling alone and trying again now and then",
					"error", err, "reconcile_interval", a.cfg.ReconcileInterval)
			} else {
				a.log.Debug("siteagent: event broker still not reachable", "error", err)
			}
			continue
		}
		if saidPolling {
			a.log.Info("siteagent: event broker reachable now", "transport", tr.name)
		}
		s.consume(ctx, tr, queues, legacy, primed, h)
		return nil
	}
}

// pick chooses the transport. In EventsAuto it connects to each candidate
// in turn with the first queue's endpoint and keeps the first session that
// works, so that its consumer does not connect twice.
func (s *brokerSource) pick(ctx context.Context, q *eventQueue) (transport, broker.Session, error) {
	if !s.auto {
		return s.transports[0], nil, nil
	}
	var errs []error
	for _, tr := range s.transports {
		sess, err := s.dial(ctx, tr, q)
		if err == nil {
			return tr, sess, nil
		}
		errs = append(errs, fmt.Errorf("%s at %s: %w", tr.name, redact(tr.url), err))
	}
	return transport{}, nil, errors.Join(errs...)
}

// dial connects once over tr, registering the queue again if the broker
// asks for fresh credentials.
func (s *brokerSource) dial(ctx context.Context, tr transport, q *eventQueue) (broker.Session, error) {
	creds := q.credentials(tr.url, s.a.cfg.Events.TLS)
	sess, err := s.dialWith(ctx, tr, q, creds, false)
	if broker.NeedsRefresh(err) {
		sess, err = s.dialWith(ctx, tr, q, creds, true)
	}
	return sess, err
}

func (s *brokerSource) dialWith(ctx context.Context, tr transport, q *eventQueue, creds broker.Credentials, refresh bool) (broker.Session, error) {
	ep, err := creds(ctx, refresh)
	if err != nil {
		return nil, err
	}
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	return q.dialer(tr.dialer).Dial(ctx, ep, s.a.cfg.Concurrency)
}

// consume runs one consumer per queue until ctx ends.
func (s *brokerSource) consume(ctx context.Context, tr transport, queues []*eventQueue, legacy bool, primed broker.Session, h EventHandler) {
	a := s.a
	consumers := make([]*broker.Consumer, len(queues))
	var first *primedDialer
	for i, q := range queues {
		d := q.dialer(tr.dialer)
		if i == 0 && primed != nil {
			first = &primedDialer{Dialer: d, sess: primed}
			d = first
		}
		consumers[i] = broker.NewConsumer(d, broker.Config{
			Credentials:     q.credentials(tr.url, a.cfg.Events.TLS),
			Handler:         s.handler(q, h),
			Concurrency:     a.cfg.Concurrency,
			ShutdownTimeout: a.cfg.ShutdownTimeout,
			Retry:           a.retry,
			// A lost connection (a broker restart, a network blip) is
			// tried again almost at once, then less and less often.
			Reconnect: backoff.Policy{Initial: 100 * time.Millisecond, Max: time.Minute},
			Logger:    a.log,
		})
	}
	s.mu.Lock()
	s.chosen, s.legacy, s.consumers = tr.name, legacy, consumers
	s.mu.Unlock()
	s.state.Store(stateConsuming)
	a.log.Info("siteagent: consuming events", "transport", tr.name, "url", redact(tr.url),
		"queues", len(queues), "legacy", legacy, "object_types", s.types)

	var wg sync.WaitGroup
	for _, c := range consumers {
		wg.Go(func() {
			if err := c.Run(ctx); err != nil {
				a.log.Error("siteagent: event consumer failed", "error", err)
			}
		})
	}
	wg.Wait()
	if first != nil {
		first.close() // never taken when ctx ended before the consumer dialled
	}
}

// handler decodes a message and hands the event on. A message that cannot
// be decoded is rejected, which dead-letters it: no retry can fix it.
func (s *brokerSource) handler(q *eventQueue, h EventHandler) broker.Handler {
	a := s.a
	return func(ctx context.Context, m broker.Message) error {
		e, err := DecodeEvent(m.Body, q.fallbackType())
		if err != nil {
			a.counters.eventsMalformed.Add(1)
			a.log.Warn("siteagent: malformed event rejected", "message_id", m.MessageID,
				"queue", q.endpoint().Queue, "bytes", len(m.Body), "error", err)
			return broker.Reject(err)
		}
		if e.OfferingUUID == (waldur.UUID{}) {
			// Legacy payloads and user-centric types name no offering;
			// the queue is bound to one.
			e.OfferingUUID = q.off.id
		}
		e.MessageID = m.MessageID
		return h(ctx, e)
	}
}

// connected reports whether events can arrive: every queue consumed, or,
// in EventsAuto without a reachable broker, polling.
func (s *brokerSource) connected() bool {
	switch s.state.Load() {
	case statePolling:
		return true
	case stateConsuming:
		s.mu.Lock()
		defer s.mu.Unlock()
		for _, c := range s.consumers {
			if !c.Connected() {
				return false
			}
		}
		return true
	}
	return false
}

func (s *brokerSource) status() EventSourceStatus {
	st := EventSourceStatus{Name: s.name(), Connected: s.connected()}
	if s.state.Load() == statePolling {
		st.Name = "polling"
		return st
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.chosen != "" {
		st.Name = s.chosen
	}
	st.Legacy = s.legacy
	st.Queues = len(s.consumers)
	for _, c := range s.consumers {
		cs := c.Stats()
		st.Connects += cs.Connects
		st.Reconnects += cs.Reconnects
		st.ConnectFailures += cs.ConnectFailures
		st.Deliveries += cs.Deliveries
		st.Acks += cs.Acks
		st.Requeues += cs.Requeues
		st.Rejects += cs.Rejects
		st.LastReconnect = max(st.LastReconnect, cs.LastReconnect)
	}
	return st
}

// primedDialer hands out a session opened while probing on the first Dial,
// then dials normally.
type primedDialer struct {
	broker.Dialer
	mu   sync.Mutex
	sess broker.Session
}

func (d *primedDialer) Dial(ctx context.Context, ep broker.Endpoint, prefetch int) (broker.Session, error) {
	d.mu.Lock()
	sess := d.sess
	d.sess = nil
	d.mu.Unlock()
	if sess != nil {
		return sess, nil
	}
	return d.Dialer.Dial(ctx, ep, prefetch)
}

func (d *primedDialer) close() {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.sess != nil {
		_ = d.sess.Close()
		d.sess = nil
	}
}

// cleartextRemote reports whether raw is an unencrypted broker URL (amqp,
// ws, stomp) to a host other than a loopback address or localhost.
func cleartextRemote(raw string) bool {
	u, err := url.Parse(raw)
	if err != nil {
		return false
	}
	switch strings.ToLower(u.Scheme) {
	case "amqp", "ws", "stomp":
	default:
		return false
	}
	host := strings.TrimSuffix(strings.ToLower(u.Hostname()), ".")
	if host == "localhost" || strings.HasSuffix(host, ".localhost") {
		return false
	}
	ip, err := netip.ParseAddr(host)
	return err != nil || !ip.IsLoopback()
}

func redact(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid URL>"
	}
	return u.Redacted()
}
