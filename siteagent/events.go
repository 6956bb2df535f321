package siteagent

import (
	"context"
	"errors"
	"fmt"
	"sync"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// EventMode selects how the agent learns about changes in Waldur.
type EventMode int

const (
	// EventsAuto uses a broker when one is reachable and falls back to polling.
	EventsAuto EventMode = iota
	// EventsPolling uses no broker: reconciliation alone finds the work.
	EventsPolling
)

// EventsConfig configures event delivery. The zero value is EventsAuto.
type EventsConfig struct {
	Mode EventMode
	// Source, if set, is used instead of the built-in sources: webhooks,
	// tests, or a transport of your own.
	Source EventSource
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

// doWork runs fn in the pool and waits for it.
func (a *Agent) doWork(ctx context.Context, key string, fn func(context.Context) error) error {
	return a.pool.Do(ctx, key, func(ctx context.Context) error {
		a.counters.inFlight.Add(1)
		defer a.counters.inFlight.Add(-1)
		return fn(ctx)
	})
}

// sourceState tracks the running event source for readiness.
type sourceState struct {
	name      string
	connected func() bool
}

// startEvents starts the configured event source, if any, in bg.
func (a *Agent) startEvents(runCtx, workCtx context.Context, bg *sync.WaitGroup) {
	src := a.cfg.Events.Source
	if src == nil || a.cfg.Events.Mode == EventsPolling {
		a.source.Store(&sourceState{name: "polling", connected: func() bool { return true }})
		a.log.Info("siteagent: no event source; polling every reconcile interval", "interval", a.cfg.ReconcileInterval)
		return
	}
	a.source.Store(&sourceState{name: fmt.Sprintf("%T", src), connected: func() bool { return true }})
	bg.Add(1)
	go func() {
		defer bg.Done()
		err := src.Run(runCtx, func(_ context.Context, e Event) error {
			// Handlers run on workCtx so that in-flight work outlives Run's
			// context until the shutdown timeout.
			return a.HandleEvent(workCtx, e)
		})
		if err != nil && !errors.Is(err, context.Canceled) {
			a.noteError(err)
			a.log.Error("siteagent: event source stopped", "error", err)
		}
	}()
}
