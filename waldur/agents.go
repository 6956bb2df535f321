package waldur

import (
	"bytes"
	"context"
	"encoding/json"
	"iter"
	"net/http"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// AgentsService registers a site agent with Waldur: its identity, services
// and processors (whose registration is the heartbeat), its event queues, and
// its logs.
//
// The register calls are get-or-create: Waldur answers 201 when it created
// the object and 200 when it already existed, and the methods that report it
// return created accordingly.
type AgentsService struct{ c *Client }

// ListIdentitiesOptions filters [AgentsService.ListIdentities]. Zero fields
// do not filter.
type ListIdentitiesOptions struct {
	// Name selects the identity with this name.
	Name string
	// OfferingUUID selects the identities of one offering.
	OfferingUUID UUID
}

// ListIdentities returns agent identities; creating one is not
// get-or-create, so look it up by name first.
//
// Waldur: GET /api/marketplace-site-agent-identities/
func (s *AgentsService) ListIdentities(ctx context.Context, opts ListIdentitiesOptions) iter.Seq2[AgentIdentity, error] {
	return list[AgentIdentity](ctx, s.c, func() (*http.Request, error) {
		return waldurapi.NewMarketplaceSiteAgentIdentitiesListRequest(s.c.server, &waldurapi.MarketplaceSiteAgentIdentitiesListParams{
			Name:         optString(opts.Name),
			OfferingUUID: optUUID(opts.OfferingUUID),
			PageSize:     &s.c.pageSize,
		})
	})
}

// CreateIdentity creates an agent identity. Offering and Name are required;
// a zero LastRestarted is sent as the current time.
//
// Waldur: POST /api/marketplace-site-agent-identities/
func (s *AgentsService) CreateIdentity(ctx context.Context, r AgentIdentityRequest) (*AgentIdentity, error) {
	if r.LastRestarted.IsZero() {
		r.LastRestarted = s.c.now()
	}
	req, err := waldurapi.NewMarketplaceSiteAgentIdentitiesCreateRequest(s.c.server, r)
	var id AgentIdentity
	if _, err := s.c.call(ctx, req, err, &id); err != nil {
		return nil, err
	}
	return &id, nil
}

// GetIdentity returns one agent identity with its services.
//
// Waldur: GET /api/marketplace-site-agent-identities/{uuid}/
func (s *AgentsService) GetIdentity(ctx context.Context, id UUID) (*AgentIdentity, error) {
	req, err := waldurapi.NewMarketplaceSiteAgentIdentitiesRetrieveRequest(s.c.server, id)
	var out AgentIdentity
	if _, err := s.c.call(ctx, req, err, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// UpdateIdentity replaces an agent identity (version, dependencies, restart
// time). Like CreateIdentity, a zero LastRestarted is sent as the current time.
//
// Waldur: PUT /api/marketplace-site-agent-identities/{uuid}/
func (s *AgentsService) UpdateIdentity(ctx context.Context, id UUID, r AgentIdentityRequest) (*AgentIdentity, error) {
	if r.LastRestarted.IsZero() {
		r.LastRestarted = s.c.now()
	}
	req, err := waldurapi.NewMarketplaceSiteAgentIdentitiesUpdateRequest(s.c.server, id, r)
	var out AgentIdentity
	if _, err := s.c.call(ctx, req, err, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RegisterService gets or creates the service name of an identity and marks
// it Active; mode may be empty. Keep names stable: they are the keys.
//
// Waldur: POST /api/marketplace-site-agent-identities/{uuid}/register_service/
func (s *AgentsService) RegisterService(ctx context.Context, identityID UUID, name, mode string) (svc *AgentService, created bool, err error) {
	ctx = WithRetrySafe(ctx) // get-or-create in Waldur: repeating it is harmless
	req, err := waldurapi.NewMarketplaceSiteAgentIdentitiesRegisterServiceRequest(s.c.server, identityID, waldurapi.AgentServiceRequest{
		Name: name,
		Mode: optString(mode),
	})
	var out AgentService
	status, err := s.c.call(ctx, req, err, &out)
	if err != nil {
		return nil, false, err
	}
	return &out, status == http.StatusCreated, nil
}

// ProcessorRegistration describes a processor for
// [AgentsService.RegisterProcessor].
type ProcessorRegistration struct {
	// Name identifies the processor within its service; keep it stable.
	Name string
	// BackendType names the kind of backend, e.g. "SLURM".
	BackendType string
	// BackendVersion is the backend's version, if known.
	BackendVersion string
}

// RegisterProcessor gets or creates a processor of a service and sets its
// last run to now. This is the heartbeat: Waldur marks a service Idle when
// its newest processor has not run for ten minutes, so call it at least
// every five.
//
// Waldur: POST /api/marketplace-site-agent-services/{uuid}/register_processor/
func (s *AgentsService) RegisterProcessor(ctx context.Context, serviceID UUID, p ProcessorRegistration) (*AgentProcessor, error) {
	ctx = WithRetrySafe(ctx) // get-or-create in Waldur: repeating it is harmless
	req, err := waldurapi.NewMarketplaceSiteAgentServicesRegisterProcessorRequest(s.c.server, serviceID, waldurapi.AgentProcessorRequest{
		Name:           p.Name,
		BackendType:    p.BackendType,
		BackendVersion: optString(p.BackendVersion),
	})
	var out AgentProcessor
	if _, err := s.c.call(ctx, req, err, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// SetStatistics publishes free-form statistics of a service. A nil map is
// sent as an empty object.
//
// Waldur: POST /api/marketplace-site-agent-services/{uuid}/set_statistics/
func (s *AgentsService) SetStatistics(ctx context.Context, serviceID UUID, stats map[string]any) (*AgentService, error) {
	ctx = WithRetrySafe(ctx) // idempotent in Waldur: repeating it is harmless
	if stats == nil {
		stats = map[string]any{}
	}
	req, err := waldurapi.NewMarketplaceSiteAgentServicesSetStatisticsRequest(s.c.server, serviceID, waldurapi.AgentStatisticsRequest{Statistics: stats})
	var out AgentService
	if _, err := s.c.call(ctx, req, err, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// RegisterQueue gets or creates the identity's unified event queue and sets
// the RabbitMQ password to the credential of this call (Waldur 8.1). Call it
// at every start, after rotating the token, and after the broker refused the
// login. objectTypes nil keeps the queue's current filter; an empty, non-nil
// slice routes all types. A 404 means an older Waldur: use the legacy
// [AgentsService.RegisterEventSubscription]; a 409 means another user owns
// the identity's queue.
//
// Waldur: POST /api/marketplace-site-agent-identities/{uuid}/register_queue/
func (s *AgentsService) RegisterQueue(ctx context.Context, identityID UUID, objectTypes []ObservableObjectType) (q *AgentQueue, created bool, err error) {
	ctx = WithRetrySafe(ctx) // get-or-create in Waldur: repeating it is harmless
	// Encoded here rather than with the generated body type, whose omitempty
	// cannot tell "omitted" (keep the filter) from "empty" (all types).
	body := []byte(`{}`)
	if objectTypes != nil {
		body, err = json.Marshal(struct {
			ObjectTypes []ObservableObjectType `json:"object_types"`
		}{objectTypes})
		if err != nil {
			return nil, false, opError("register queue", err)
		}
	}
	req, err := waldurapi.NewMarketplaceSiteAgentIdentitiesRegisterQueueRequestWithBody(s.c.server, identityID, "application/json", bytes.NewReader(body))
	var out AgentQueue
	status, err := s.c.call(ctx, req, err, &out)
	if err != nil {
		return nil, false, err
	}
	return &out, status == http.StatusCreated, nil
}

// RegisterEventSubscription gets or creates the identity's legacy event
// subscription for one object type. Deprecated by Waldur in favour of
// [AgentsService.RegisterQueue]; use it only where that answers 404. The
// broker login is the subscription's UUID hex; the password is the user's DRF
// token as it was when the subscription was created — a personal access
// token does not work here, and an existing subscription keeps its password
// (see [AgentsService.DeleteEventSubscription]).
//
// Waldur: POST /api/marketplace-site-agent-identities/{uuid}/register_event_subscription/
func (s *AgentsService) RegisterEventSubscription(ctx context.Context, identityID UUID, objectType ObservableObjectType, description string) (*EventSubscription, error) {
	ctx = WithRetrySafe(ctx) // get-or-create in Waldur: repeating it is harmless
	req, err := waldurapi.NewMarketplaceSiteAgentIdentitiesRegisterEventSubscriptionRequest(s.c.server, identityID, waldurapi.EventSubscriptionRequest{
		ObservableObjectType: objectType,
		Description:          description,
	})
	var out EventSubscription
	if _, err := s.c.call(ctx, req, err, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// DeleteEventSubscription deletes a legacy event subscription with its queues
// and RabbitMQ user. The subscription's RabbitMQ password is the user's DRF
// token when it was created, and registering it again keeps that password;
// after a token change, delete it and register again.
//
// Waldur: DELETE /api/event-subscriptions/{uuid}/
func (s *AgentsService) DeleteEventSubscription(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewEventSubscriptionsDestroyRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}

// CreateQueue gets or creates the legacy queue of a subscription for one
// offering and object type; it must exist before subscribing.
//
// Waldur: POST /api/event-subscriptions/{uuid}/create_queue/
func (s *AgentsService) CreateQueue(ctx context.Context, subscriptionID, offeringID UUID, objectType ObservableObjectType) (*EventSubscriptionQueue, error) {
	ctx = WithRetrySafe(ctx) // get-or-create in Waldur: repeating it is harmless
	req, err := waldurapi.NewEventSubscriptionsCreateQueueRequest(s.c.server, subscriptionID, waldurapi.EventSubscriptionQueueRequest{
		OfferingUUID: offeringID,
		ObjectType:   objectType,
	})
	var out EventSubscriptionQueue
	if _, err := s.c.call(ctx, req, err, &out); err != nil {
		return nil, err
	}
	return &out, nil
}

// LogEntry is one log record shipped to Waldur with [AgentsService.SendLogs].
type LogEntry struct {
	// Identity is the agent identity the record belongs to.
	Identity UUID
	// Time is when it happened; zero means now.
	Time time.Time
	// Level is one of LogLevelDEBUG ... LogLevelCRITICAL.
	Level LogLevel
	// Message is the log message. Keep secrets out of it.
	Message string
	// Module names the emitting component.
	Module string
}

// SendLogs ships a batch of log records (Waldur 8.1). An empty batch sends
// nothing. Older servers answer 404 ([IsNotFound]); callers may drop the batch.
//
// Waldur: POST /api/marketplace-site-agent-logs/
func (s *AgentsService) SendLogs(ctx context.Context, entries []LogEntry) error {
	if len(entries) == 0 {
		return nil
	}
	now := s.c.now()
	body := make([]waldurapi.SiteAgentLogRequest, len(entries))
	for i, e := range entries {
		t := e.Time
		if t.IsZero() {
			t = now
		}
		body[i] = waldurapi.SiteAgentLogRequest{
			AgentIdentityUUID: e.Identity,
			Timestamp:         float64(t.UnixMicro()) / 1e6,
			Level:             e.Level,
			Message:           e.Message,
			Module:            e.Module,
		}
	}
	req, err := waldurapi.NewMarketplaceSiteAgentLogsCreateRequest(s.c.server, body)
	return s.c.action(ctx, req, err)
}
