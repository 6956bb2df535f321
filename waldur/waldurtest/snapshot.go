package waldurtest

import (
	"fmt"
	"time"

	"github.com/google/uuid"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// Snapshots are copies of the server's objects in their wire form, exactly
// what a GET would return; changing them changes nothing on the server.

// Client returns a waldur.Client for the server, authenticated as the default
// provider user. opts are applied after the defaults and may override them.
func (s *Server) Client(opts ...waldur.Option) *waldur.Client {
	all := append([]waldur.Option{waldur.WithToken(s.Token()), waldur.WithHTTPClient(s.HTTPClient())}, opts...)
	c, err := waldur.NewClient(s.URL(), all...)
	if err != nil {
		panic(fmt.Sprintf("waldurtest: client: %v", err))
	}
	return c
}

// snapshot renders a list of records under the lock.
func snapshot[T, W any](s *Server, list func() []*T, render func(*T) W) []W {
	s.mu.Lock()
	defer s.mu.Unlock()
	items := list()
	out := make([]W, len(items))
	for i, x := range items {
		out[i] = render(x)
	}
	return out
}

// get renders one record under the lock.
func get[T, W any](s *Server, t func() *table[T], id uuid.UUID, render func(*T) W) (W, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	x := t().get(id)
	if x == nil {
		var zero W
		return zero, false
	}
	return render(x), true
}

// Order returns an order as GET /api/marketplace-orders/{uuid}/ would.
func (s *Server) Order(id uuid.UUID) (waldur.Order, bool) {
	return get(s, func() *table[order] { return &s.st.orders }, id, s.renderOrder)
}

// Orders returns all orders, oldest first.
func (s *Server) Orders() []waldur.Order {
	return snapshot(s, func() []*order { return s.st.orders.list }, s.renderOrder)
}

// Resource returns a resource as GET /api/marketplace-provider-resources/{uuid}/ would.
func (s *Server) Resource(id uuid.UUID) (waldur.Resource, bool) {
	return get(s, func() *table[resource] { return &s.st.resources }, id, s.renderResource)
}

// Resources returns all resources, oldest first.
func (s *Server) Resources() []waldur.Resource {
	return snapshot(s, func() []*resource { return s.st.resources.list }, s.renderResource)
}

// Offering returns an offering as GET /api/marketplace-provider-offerings/{uuid}/ would.
func (s *Server) Offering(id uuid.UUID) (waldur.ProviderOffering, bool) {
	return get(s, func() *table[offering] { return &s.st.offerings }, id, s.renderOffering)
}

// OfferingUser returns an offering user.
func (s *Server) OfferingUser(id uuid.UUID) (waldur.OfferingUser, bool) {
	return get(s, func() *table[offeringUser] { return &s.st.offeringUsers }, id, s.renderOfferingUser)
}

// OfferingUsers returns all offering users, oldest first.
func (s *Server) OfferingUsers() []waldur.OfferingUser {
	return snapshot(s, func() []*offeringUser { return s.st.offeringUsers.list }, s.renderOfferingUser)
}

// ComponentUsages returns all usage records, oldest first.
func (s *Server) ComponentUsages() []waldur.ComponentUsage {
	return snapshot(s, func() []*componentUsage { return s.st.usages.list }, s.renderUsage)
}

// UserUsage is one user's reported usage of one usage record.
type UserUsage struct {
	UUID           uuid.UUID
	ComponentUsage uuid.UUID
	Type           string // component type
	Username       string
	Usage          string // decimal as reported
	User           string // offering user URL, when reported
	Date           time.Time
}

// UserUsages returns all per-user usage reports, oldest first.
func (s *Server) UserUsages() []UserUsage {
	return snapshot(s, func() []*userUsage { return s.st.userUsages.list }, func(u *userUsage) UserUsage {
		return UserUsage{UUID: u.UUID, ComponentUsage: u.ComponentUsage.UUID, Type: u.ComponentUsage.Component.Type,
			Username: u.Username, Usage: u.Usage, User: u.User, Date: u.Date}
	})
}

// APIKey returns the status of a resource API key.
func (s *Server) APIKey(id uuid.UUID) (waldur.ResourceAPIKey, bool) {
	return get(s, func() *table[apiKey] { return &s.st.apiKeys }, id, s.renderAPIKey)
}

// APIKeys returns the status of all resource API keys, oldest first.
func (s *Server) APIKeys() []waldur.ResourceAPIKey {
	return snapshot(s, func() []*apiKey { return s.st.apiKeys.list }, s.renderAPIKey)
}

// APIKeySecret returns the value last reported for a key with report_created
// or set_key, so a test can check what the agent applied.
func (s *Server) APIKeySecret(id uuid.UUID) (string, bool) {
	return get(s, func() *table[apiKey] { return &s.st.apiKeys }, id, func(k *apiKey) string { return k.key })
}

// Identities returns all agent identities, oldest first.
func (s *Server) Identities() []waldur.AgentIdentity {
	return snapshot(s, func() []*identity { return s.st.identities.list }, s.renderIdentity)
}

// Services returns all agent services, oldest first.
func (s *Server) Services() []waldur.AgentService {
	return snapshot(s, func() []*service { return s.st.services.list }, s.renderService)
}

// Processors returns all agent processors, oldest first; last_run is the
// heartbeat.
func (s *Server) Processors() []waldur.AgentProcessor {
	return snapshot(s, func() []*processor { return s.st.processors.list }, s.renderProcessor)
}

// Logs returns the site-agent log records received, oldest first.
func (s *Server) Logs() []waldurapi.SiteAgentLog {
	return snapshot(s, func() []*agentLog { return s.st.logs.list }, s.renderLog)
}

// EventSubscriptions returns the legacy event subscriptions, oldest first.
func (s *Server) EventSubscriptions() []waldur.EventSubscription {
	return snapshot(s, func() []*subscription { return s.st.subscriptions.list }, s.renderSubscription)
}
