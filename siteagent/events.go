package siteagent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"
	"sync"
	"time"

	"github.com/gsv-platform/waldur-agent-go/internal/broker"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// EventMode selects how the agent learns about changes in Waldur.
type EventMode int

const (
	// EventsAuto consumes the agent's event queue over AMQP when
	// EventsConfig.AMQPURL is set and reachable, otherwise over STOMP at
	// EventsConfig.STOMPURL (by default derived from the Waldur URL). When
	// neither is reachable it says so once and runs on polling alone, trying
	// the broker again now and then.
	EventsAuto EventMode = iota
	// EventsPolling uses no broker: reconciliation alone finds the work.
	EventsPolling
	// EventsAMQP consumes over AMQP 0-9-1 at EventsConfig.AMQPURL, which is
	// required.
	EventsAMQP
	// EventsSTOMP consumes over STOMP 1.2 at EventsConfig.STOMPURL: over
	// WebSocket for ws:// and wss:// URLs (what Waldur deployments expose),
	// over TCP for stomp:// and stomp+ssl:// URLs.
	EventsSTOMP
)

// String names the mode.
func (m EventMode) String() string {
	switch m {
	case EventsAuto:
		return "auto"
	case EventsPolling:
		return "polling"
	case EventsAMQP:
		return "amqp"
	case EventsSTOMP:
		return "stomp"
	}
	return fmt.Sprintf("EventMode(%d)", int(m))
}

// Defaults for the zero values of EventsConfig.
const (
	// DefaultDedupWindow is as long as messages live in Waldur's queues.
	DefaultDedupWindow = time.Hour
	// DefaultDedupSize bounds the remembered message ids (about 6 MB when
	// full).
	DefaultDedupSize = 100_000
	// DefaultEventsRetryInterval is the first delay of EventsConfig.RetryInterval.
	DefaultEventsRetryInterval = 10 * time.Second
	// DefaultWebSTOMPPath is where Waldur's Helm chart publishes RabbitMQ's
	// web-STOMP endpoint on the API host.
	DefaultWebSTOMPPath = "/rmqws-stomp"
)

// EventsConfig configures event delivery. The zero value is EventsAuto with
// the STOMP URL derived from the Waldur URL.
//
// The broker's credentials come from Waldur: the agent calls register_queue
// for each offering's identity with the event types its processors need,
// and consumes the queue it names with the login it names and the agent's
// token (Config.Token) as password; a refused login or a missing queue makes
// it call register_queue again, which resets the password. This works with a
// DRF token or a personal access token, not with an OIDC token (see
// Config.TokenKind).
//
// Against a Waldur without register_queue (before 8.1) it uses the per-type
// legacy queues of register_event_subscription instead. Their password is the
// user's DRF token as it was when the subscription was created, so the legacy
// path needs Config.Token to be a DRF token — a personal access token is
// refused — and a subscription from before a token change keeps the old
// password: after a refused login the agent deletes the subscription and
// creates it again, once per refusal, and when even that is refused it says
// so in the log and in Stats.LastError and keeps trying now and then.
type EventsConfig struct {
	Mode EventMode
	// AMQPURL locates RabbitMQ's AMQP listener, e.g. amqp://rabbit:5672 or
	// amqps://rabbit:5671. Credentials and vhost come from Waldur. Required
	// for EventsAMQP; tried first by EventsAuto when set.
	AMQPURL string
	// STOMPURL locates the STOMP endpoint. Default: the Waldur URL's host
	// with path /rmqws-stomp, wss:// for an https Waldur and ws:// for http.
	// A plain RabbitMQ web-STOMP listener is ws://host:15674/ws; STOMP over
	// TCP is stomp://host:61613.
	STOMPURL string
	// TLS configures TLS for amqps, wss and stomp+ssl URLs. Nil means the
	// system roots and the URL's host name.
	TLS *tls.Config

	// RetryInterval is the first delay before the queues are registered
	// again after a failure or, in EventsAuto, before an unreachable broker
	// is tried again; it doubles up to 5 minutes. Default 10s. (A lost
	// connection is retried by the consumer itself, from 1s up to 1m.)
	RetryInterval time.Duration

	// DedupWindow is how long the message ids of handled events are
	// remembered to drop duplicates. Default 1h (the queue TTL); negative
	// disables deduplication. Waldur's id hashes queue and content, so the
	// same content sent again within the window (a flag switched off and on
	// again) is dropped as well; the periodic passes catch up with such a
	// change.
	DedupWindow time.Duration
	// DedupSize bounds how many message ids are remembered. Default 100000;
	// negative disables deduplication.
	DedupSize int

	// Source, if set, is used instead of the built-in sources: a transport
	// of your own, or tests. Its events are deduplicated by MessageID like
	// the broker's. (Waldur's webhooks need no Source: mount
	// Agent.WebhookHandler.)
	Source EventSource

	dialer broker.Dialer // tests: replaces the AMQP and STOMP transports
}

// validate checks the fields that can be checked without the network.
func (c *EventsConfig) validate() error {
	switch c.Mode {
	case EventsAuto, EventsPolling, EventsAMQP, EventsSTOMP:
	default:
		return configError("Events.Mode", "unknown mode %d", int(c.Mode))
	}
	if c.Mode == EventsAMQP && c.AMQPURL == "" && c.Source == nil {
		return configError("Events.AMQPURL", "required for EventsAMQP")
	}
	if c.RetryInterval < 0 {
		return configError("Events.RetryInterval", "must not be negative")
	}
	if c.AMQPURL != "" {
		if err := checkURL(c.AMQPURL, "amqp", "amqps"); err != nil {
			return configError("Events.AMQPURL", "%v", err)
		}
	}
	if c.STOMPURL != "" {
		if err := checkURL(c.STOMPURL, "ws", "wss", "stomp", "stomp+ssl"); err != nil {
			return configError("Events.STOMPURL", "%v", err)
		}
	}
	return nil
}

func checkURL(raw string, schemes ...string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return errors.New("not a URL")
	}
	for _, s := range schemes {
		if u.Scheme == s && u.Host != "" {
			return nil
		}
	}
	return fmt.Errorf("%s: want a %v URL with a host", u.Redacted(), schemes)
}

// webSTOMPURL derives the web-STOMP URL Waldur's Helm chart publishes from
// the Waldur API URL.
func webSTOMPURL(waldurURL string) (string, error) {
	u, err := url.Parse(waldurURL)
	if err != nil || u.Host == "" {
		return "", fmt.Errorf("siteagent: derive the STOMP URL from %q: not a URL with a host", waldurURL)
	}
	out := url.URL{Host: u.Host, Path: DefaultWebSTOMPPath}
	switch u.Scheme {
	case "https":
		out.Scheme = "wss"
	case "http":
		out.Scheme = "ws"
	default:
		return "", fmt.Errorf("siteagent: derive the STOMP URL from %q: scheme is not http(s)", waldurURL)
	}
	return out.String(), nil
}

// EventSource delivers Waldur's events to the agent.
type EventSource interface {
	// Run delivers events to h until ctx ends, and returns nil then. h may be
	// called concurrently. An event counts as handled only when h returns nil;
	// on an error the source must deliver the event again later (or drop it
	// when it can never succeed, such as malformed input).
	Run(ctx context.Context, h EventHandler) error
}

// EventHandler handles one event; see EventSource.
type EventHandler func(ctx context.Context, e Event) error

// Event is a hint from Waldur that an object changed. The agent re-reads the
// object (or trusts the state the event carries where that suffices), so a
// duplicate or stale event is harmless.
type Event struct {
	// ObjectType is the kind of object, e.g. "order".
	ObjectType waldur.ObservableObjectType
	// OfferingUUID is the offering the event is about, when the payload says.
	OfferingUUID waldur.UUID
	// EventType names the change for user-centric types, e.g.
	// "user_deactivated"; often "".
	EventType string
	// SchemaVersion is the unified envelope's version; 0 on the legacy path.
	SchemaVersion int
	// MessageID identifies the message for deduplication ("" if unknown).
	MessageID string
	// Payload is the decoded payload, a pointer to one of the *Event types of
	// this package (*OrderEvent, *ResourceEvent, ...); nil for an object type
	// this version does not know.
	Payload any
}

// HandleEvent processes one event now and returns when it is handled. Event
// sources call it; so can programs that receive Waldur's notifications in their
// own way. A nil error means the event needs no further delivery.
func (a *Agent) HandleEvent(ctx context.Context, e Event) error {
	a.counters.eventsReceived.Add(1)
	err := a.dispatch(ctx, e)
	if err != nil {
		a.counters.eventsFailed.Add(1)
		return err
	}
	a.counters.eventsProcessed.Add(1)
	return nil
}

func (a *Agent) dispatch(ctx context.Context, e Event) error {
	if e.OfferingUUID != (waldur.UUID{}) && a.byID[e.OfferingUUID] == nil {
		return nil // another offering's event: not ours to act on
	}
	caps := a.byType[e.ObjectType]
	if e.Payload == nil || len(caps) == 0 {
		a.counters.eventsUnknown.Add(1)
		a.log.Debug("siteagent: event of a type the agent does not handle", "object_type", e.ObjectType, "message_id", e.MessageID)
		return nil
	}
	for _, c := range caps {
		if err := c.handleEvent(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// EventSourceStatus describes the agent's event source.
type EventSourceStatus struct {
	// Name is "amqp", "stomp", "polling", or the type of a custom Source.
	Name string `json:"name"`
	// Legacy is true when the broker source uses the per-type queues of
	// Waldur before 8.1.
	Legacy bool `json:"legacy,omitempty"`
	// Connected reports whether events can arrive: every queue is being
	// consumed (always true for polling).
	Connected bool `json:"connected"`
	// Queues is how many queues are consumed.
	Queues int `json:"queues,omitempty"`
	// Connects counts broker sessions established, Reconnects those after a
	// lost one, and ConnectFailures the failed attempts.
	Connects        uint64 `json:"connects,omitempty"`
	Reconnects      uint64 `json:"reconnects,omitempty"`
	ConnectFailures uint64 `json:"connect_failures,omitempty"`
	// LastReconnect is the time from losing a session to having the next
	// one, for the most recent loss (the longest among the queues).
	LastReconnect time.Duration `json:"last_reconnect,omitempty"`
	// Deliveries counts messages received; Acks, Requeues and Rejects how
	// they were settled.
	Deliveries uint64 `json:"deliveries,omitempty"`
	Acks       uint64 `json:"acks,omitempty"`
	Requeues   uint64 `json:"requeues,omitempty"`
	Rejects    uint64 `json:"rejects,omitempty"`
}

// EventSourceStatus returns the state of the event source. Before Run has
// opened it, Name is "".
func (a *Agent) EventSourceStatus() EventSourceStatus {
	src := a.source.Load()
	if src == nil {
		return EventSourceStatus{}
	}
	if src.status != nil {
		return src.status()
	}
	return EventSourceStatus{Name: src.name, Connected: src.connected()}
}

// sourceState tracks the running event source for readiness.
type sourceState struct {
	name      string
	connected func() bool
	status    func() EventSourceStatus // nil: name and connected say all
}

// connectedSource is what a custom Source may implement to take part in
// readiness.
type connectedSource interface{ Connected() bool }

// startEvents opens the configured event source in bg.
func (a *Agent) startEvents(runCtx, workCtx context.Context, bg *sync.WaitGroup) {
	ev := a.cfg.Events
	src := ev.Source
	switch {
	case src != nil:
		state := &sourceState{name: fmt.Sprintf("%T", src), connected: func() bool { return true }}
		if c, ok := src.(connectedSource); ok {
			state.connected = c.Connected
		}
		a.source.Store(state)
	case ev.Mode == EventsPolling:
		a.startPolling("polling configured")
		return
	default:
		bs, err := a.newBrokerSource()
		if err != nil {
			a.startPolling(err.Error())
			return
		}
		a.source.Store(&sourceState{name: bs.name(), connected: bs.connected, status: bs.status})
		src = bs
	}
	deliver := a.deliverer(workCtx, newDedup(ev.DedupWindow, ev.DedupSize, a.cfg.Now))
	bg.Add(1)
	go func() {
		defer bg.Done()
		if err := src.Run(runCtx, deliver); err != nil && !errors.Is(err, context.Canceled) {
			a.noteError(err)
			a.log.Error("siteagent: event source stopped; polling continues", "error", err)
		}
	}()
}

func (a *Agent) startPolling(why string) {
	a.source.Store(&sourceState{name: "polling", connected: func() bool { return true }})
	a.log.Info("siteagent: no event source; polling every reconcile interval",
		"reason", why, "interval", a.cfg.ReconcileInterval)
}

// deliverer hands events to HandleEvent, dropping those whose message id was
// handled successfully within the dedup window. Handlers run on workCtx so
// that in-flight work outlives Run's context until the shutdown timeout.
func (a *Agent) deliverer(workCtx context.Context, seen *dedup) EventHandler {
	return func(_ context.Context, e Event) error {
		if seen.contains(e.MessageID) {
			a.counters.eventsDuplicate.Add(1)
			a.log.Debug("siteagent: duplicate event dropped", "object_type", e.ObjectType, "message_id", e.MessageID)
			return nil
		}
		if err := a.HandleEvent(workCtx, e); err != nil {
			return err
		}
		// Recorded only now: a failed event must be processed again when
		// the source brings it back.
		seen.add(e.MessageID)
		return nil
	}
}
