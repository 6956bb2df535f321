package waldurtest

import (
	"context"
	"maps"
	"slices"

	"github.com/google/uuid"
)

// Event is a message Waldur would publish to RabbitMQ for an offering: an order
// reached pending-provider, an order is done, a resource API key rotation was
// requested, and so on.
type Event struct {
	// Seq numbers events in the order the server produced them, from 1.
	Seq uint64
	// ObjectType is the observable object type, for example "order".
	ObjectType string
	// Offering is the offering the event is bound to.
	Offering uuid.UUID
	// Payload is the message body in the unified (register_queue) form: the
	// legacy payload plus object_type, schema_version, offering_uuid and, for
	// orders and resources, enrichment keys. UUIDs are 32-digit hex strings.
	Payload map[string]any
}

// Legacy returns the payload in the form the per-type subscription queues of
// register_event_subscription carry: the unified keys removed.
func (e Event) Legacy() map[string]any {
	out := maps.Clone(e.Payload)
	delete(out, "object_type")
	delete(out, "schema_version")
	switch e.ObjectType {
	case "resource_periodic_limits", "offering_resources_sync":
		// offering_uuid is part of the legacy payload of these two.
	default:
		delete(out, "offering_uuid")
	}
	switch e.ObjectType {
	case "order":
		for _, k := range []string{"order_type", "resource_uuid", "resource_backend_id", "resource_name",
			"project_uuid", "project_name", "attributes", "limits", "plan_uuid"} {
			delete(out, k)
		}
	case "resource":
		for _, k := range []string{"resource_name", "resource_state", "project_uuid", "project_name"} {
			delete(out, k)
		}
	case "user_role":
		delete(out, "user_email")
		delete(out, "user_full_name")
	}
	return out
}

// EventSink receives the events the server emits. The server calls Publish
// synchronously, after the state change and before the HTTP response is
// written, so a test that got the response can rely on the event having been
// handed over. Errors are logged and otherwise ignored, as a failed publish
// does not fail the REST call in Waldur either.
type EventSink interface {
	Publish(ctx context.Context, e Event) error
}

// EventSinkFunc adapts a function to EventSink.
type EventSinkFunc func(ctx context.Context, e Event) error

// Publish calls f(ctx, e).
func (f EventSinkFunc) Publish(ctx context.Context, e Event) error { return f(ctx, e) }

// Queue is the RabbitMQ state Waldur creates for an event consumer: a vhost, a
// user and a queue. The server hands it to a QueueProvisioner, which may create
// it in a real broker.
type Queue struct {
	// Identity is the site-agent identity of a unified queue (register_queue);
	// zero for legacy queues.
	Identity uuid.UUID
	// Subscription is the event subscription of a legacy queue (create_queue);
	// zero for unified queues.
	Subscription uuid.UUID
	// Offering is the offering whose events the queue receives.
	Offering uuid.UUID
	// ObjectTypes filters the object types delivered; empty means all. A legacy
	// queue has exactly one.
	ObjectTypes []string
	// Name is the queue name: consumer_<hex> or
	// subscription_<sub>_offering_<offering>_<type>.
	Name string
	// VHost is the owning user's UUID in hex.
	VHost string
	// Username and Password are the RabbitMQ credentials: for a unified queue a
	// random login and the PAT or DRF token of the last registering request
	// (the user's DRF token when that request used OIDC); for a legacy queue
	// the subscription's UUID hex and the user's DRF token at the time the
	// subscription was created, which registering again does not refresh.
	Username string
	Password string
	// Owner is the Waldur user who registered the queue.
	Owner uuid.UUID
	// Created is true when the call created the queue (HTTP 201) and false when
	// it refreshed an existing one (HTTP 200).
	Created bool
}

func (q Queue) clone() Queue {
	q.ObjectTypes = slices.Clone(q.ObjectTypes)
	return q
}

// QueueProvisioner creates or refreshes the broker state of a queue when
// register_queue or create_queue is called. An error fails the call with 503.
type QueueProvisioner interface {
	ProvisionQueue(ctx context.Context, q Queue) error
}

// QueueProvisionerFunc adapts a function to QueueProvisioner.
type QueueProvisionerFunc func(ctx context.Context, q Queue) error

// ProvisionQueue calls f(ctx, q).
func (f QueueProvisionerFunc) ProvisionQueue(ctx context.Context, q Queue) error { return f(ctx, q) }

// ObjectTypes returns the observable object types of Waldur 8.1, the set a
// unified queue with an empty filter receives.
func ObjectTypes() []string { return slices.Clone(objectTypes) }

var objectTypes = []string{
	"order", "user_role", "resource", "offering_user", "importable_resources",
	"service_account", "course_account", "resource_periodic_limits",
	"offering_resources_sync", "resource_api_key_rotation",
	"resource_end_date_change_request", "user_profile", "user_lifecycle", "user_ssh_key",
}

// emitLocked records an event; the caller must hold s.mu. The payload gets
// object_type, schema_version and offering_uuid added.
func (s *Server) emitLocked(c *reqCtx, objectType string, offering uuid.UUID, payload map[string]any) {
	payload["object_type"] = objectType
	payload["schema_version"] = 1
	if offering != uuid.Nil {
		payload["offering_uuid"] = hexID(offering)
	}
	s.eventSeq++
	e := Event{Seq: s.eventSeq, ObjectType: objectType, Offering: offering, Payload: payload}
	rec := e
	rec.Payload = cloneJSON(payload).(map[string]any)
	s.events = append(s.events, rec)
	c.events = append(c.events, e)
}

// publish hands events to the sink; the caller must not hold s.mu.
func (s *Server) publish(ctx context.Context, events []Event) {
	if s.sink == nil {
		return
	}
	for _, e := range events {
		if err := s.sink.Publish(ctx, e); err != nil {
			s.log.Warn("waldurtest: publish event", "object_type", e.ObjectType, "seq", e.Seq, "error", err)
		}
	}
}

// cloneJSON deep-copies a value made of JSON-like maps and slices, so an event
// payload does not share maps with the server state.
func cloneJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, e := range x {
			m[k] = cloneJSON(e)
		}
		return m
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = cloneJSON(e)
		}
		return out
	case map[string]int64:
		return maps.Clone(x)
	case []string:
		return slices.Clone(x)
	default:
		return v
	}
}

// Events returns the events emitted so far, oldest first.
func (s *Server) Events() []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Event, len(s.events))
	for i, e := range s.events {
		e.Payload = cloneJSON(e.Payload).(map[string]any)
		out[i] = e
	}
	return out
}

// Queues returns the queues registered with register_queue and create_queue.
func (s *Server) Queues() []Queue {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Queue
	for _, id := range s.st.identities.list {
		if id.queue != nil {
			out = append(out, id.queue.clone())
		}
	}
	for _, q := range s.st.subQueues.list {
		out = append(out, Queue{
			Subscription: q.Subscription.UUID, Offering: q.Offering, ObjectTypes: []string{q.ObjectType},
			Name: q.Name, VHost: q.VHost, Username: hexID(q.Subscription.UUID), Password: q.Subscription.Password,
			Owner: q.Subscription.User.UUID,
		})
	}
	return out
}
