package waldurtest

import (
	"maps"
	"time"

	"github.com/google/uuid"
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// Rendering turns internal records into the generated wire types, so the fake
// answers in exactly the format of the project's OpenAPI description. The
// callers hold s.mu; maps are copied so a response or snapshot never shares
// memory with the live state.

func (s *Server) objURL(kind string, id uuid.UUID) string {
	return s.hs.URL + "/api/" + kind + "/" + hexID(id) + "/"
}

func ptr[T any](v T) *T { return &v }

func idPtr(id uuid.UUID) *openapi_types.UUID { return &id }

func strPtrOrNil(s string) *string {
	if s == "" {
		return nil
	}
	return &s
}

func timePtr(t *time.Time) *time.Time {
	if t == nil {
		return nil
	}
	v := *t
	return &v
}

func cloneMap(m map[string]any) map[string]any {
	if m == nil {
		return nil
	}
	return cloneJSON(m).(map[string]any)
}

func (s *Server) renderUser(u *user, withToken bool) waldurapi.User {
	out := waldurapi.User{
		UUID: u.UUID, URL: s.objURL("users", u.UUID), Username: u.Username, FullName: u.FullName,
		Email: u.Email, IsStaff: u.IsStaff, IsActive: true, TokenLifetime: u.TokenLifetime,
	}
	if withToken {
		out.Token = u.Token
		if u.TokenLifetime != nil {
			out.TokenExpiresAt = ptr(s.now().Add(time.Duration(*u.TokenLifetime) * time.Second))
		}
	}
	return out
}

func renderComponent(c *component) waldurapi.OfferingComponent {
	out := waldurapi.OfferingComponent{
		UUID: c.UUID, Type: c.Type, Name: c.Name, Description: c.Description, MeasuredUnit: c.MeasuredUnit,
		BillingType: waldurapi.BillingType(c.BillingType), UnitFactor: c.UnitFactor,
		LimitPeriod: strPtrOrNil(c.LimitPeriod), IsBoolean: c.IsBoolean, IsPrepaid: c.IsPrepaid,
		ArticleCode: c.ArticleCode,
	}
	if c.LimitAmount != nil {
		out.LimitAmount = ptr(*c.LimitAmount)
	}
	if c.MinValue != nil {
		out.MinValue = ptr(*c.MinValue)
	}
	if c.MaxValue != nil {
		out.MaxValue = ptr(*c.MaxValue)
	}
	if c.MaxAvailableLimit != nil {
		out.MaxAvailableLimit = ptr(*c.MaxAvailableLimit)
	}
	if c.DefaultLimit != nil {
		out.DefaultLimit = ptr(*c.DefaultLimit)
	}
	return out
}

func renderComponents(o *offering) []waldurapi.OfferingComponent {
	out := make([]waldurapi.OfferingComponent, len(o.Components))
	for i, c := range o.Components {
		out[i] = renderComponent(c)
	}
	return out
}

// pluginOptions splits the free-form options into the typed fields of the
// wire type and AdditionalProperties, by a JSON round trip.
func pluginOptions(m map[string]any) waldurapi.OfferingPluginOptions {
	var out waldurapi.OfferingPluginOptions
	if len(m) == 0 {
		return out
	}
	_ = out.UnmarshalJSON(marshal(m))
	return out
}

func (s *Server) renderOffering(o *offering) waldurapi.ProviderOffering {
	out := waldurapi.ProviderOffering{
		UUID: o.UUID, URL: s.objURL("marketplace-provider-offerings", o.UUID), Name: o.Name, Slug: o.Slug,
		Type: o.Type, State: waldurapi.OfferingState(o.State), BackendID: o.BackendID,
		Components: renderComponents(o), PluginOptions: pluginOptions(o.PluginOptions),
	}
	if o.BackendMetadata != nil {
		out.BackendMetadata = cloneMap(o.BackendMetadata)
	}
	if o.Customer != nil {
		out.CustomerUUID = idPtr(o.Customer.UUID)
		out.CustomerName = ptr(o.Customer.Name)
	}
	return out
}

func (s *Server) renderOrder(o *order) waldurapi.Order {
	off, prj := o.Offering, o.Project
	out := waldurapi.Order{
		UUID: o.UUID, URL: s.objURL("marketplace-orders", o.UUID), Slug: "order-" + hexID(o.UUID)[:8],
		State: waldurapi.OrderState(o.State), Type: waldurapi.OrderType(o.Type),
		Created: o.Created, Modified: o.Modified, CompletedAt: timePtr(o.CompletedAt),
		Offering: s.objURL("marketplace-provider-offerings", off.UUID), OfferingUUID: off.UUID,
		OfferingName: off.Name, OfferingType: off.Type, OfferingPluginOptions: cloneMap(off.PluginOptions),
		Attributes: cloneMap(o.Attributes), Limits: maps.Clone(o.Limits),
		ProjectUUID: prj.UUID, ProjectSlug: prj.Slug, ProjectName: prj.Name, ProjectDescription: prj.Description,
		CustomerUUID: prj.Customer.UUID, CustomerSlug: prj.Customer.Slug, CustomerName: prj.Customer.Name,
		BackendID: o.BackendID, ErrorMessage: o.ErrorMessage, ErrorTraceback: o.ErrorTraceback,
		RequestComment: strPtrOrNil(o.RequestComment), ProviderRejectionComment: o.ProviderReject,
		ProviderMessage: o.ProviderMsg, Output: o.Output, Cost: ptr("0.0000000000"),
	}
	if off.Customer != nil {
		out.ProviderUUID = off.Customer.UUID
		out.ProviderName = off.Customer.Name
	}
	if o.StartDate != nil {
		out.StartDate = &openapi_types.Date{Time: o.StartDate.UTC().Truncate(24 * time.Hour)}
	}
	if o.Resource != nil {
		out.MarketplaceResourceUUID = o.Resource.UUID
		out.ResourceName = o.Resource.Name
	}
	if o.Plan != nil {
		out.Plan = ptr(s.objURL("marketplace-public-plans", o.Plan.UUID))
		out.PlanUUID = idPtr(o.Plan.UUID)
		out.PlanName = ptr(o.Plan.Name)
		if o.Type == "Update" {
			out.NewPlanUUID = idPtr(o.Plan.UUID)
			if o.Resource != nil && o.Resource.Plan != nil {
				out.OldPlanUUID = idPtr(o.Resource.Plan.UUID)
			}
		}
	}
	if u := o.CreatedBy; u != nil {
		out.CreatedByUsername = u.Username
		out.CreatedByFullName = u.FullName
		out.CreatedByEmail = strPtrOrNil(u.Email)
	}
	return out
}

func (s *Server) renderResource(r *resource) waldurapi.Resource {
	off, prj := r.Offering, r.Project
	out := waldurapi.Resource{
		UUID: r.UUID, URL: s.objURL("marketplace-provider-resources", r.UUID), Name: r.Name, Slug: r.Slug,
		State: waldurapi.ResourceState(r.State), Created: r.Created, Modified: r.Modified,
		BackendID: r.BackendID, EffectiveID: r.EffectiveID, BackendMetadata: cloneMap(r.BackendMetadata),
		Attributes: cloneMap(r.Attributes), Limits: maps.Clone(r.Limits),
		Offering: s.objURL("marketplace-provider-offerings", off.UUID), OfferingUUID: off.UUID,
		OfferingName: off.Name, OfferingType: off.Type, OfferingBackendID: off.BackendID,
		OfferingPluginOptions: cloneMap(off.PluginOptions), OfferingComponents: renderComponents(off),
		ProjectUUID: prj.UUID, ProjectSlug: prj.Slug, ProjectName: prj.Name,
		CustomerUUID: prj.Customer.UUID, CustomerSlug: prj.Customer.Slug, CustomerName: prj.Customer.Name,
		Paused: r.Paused, Downscaled: r.Downscaled, RestrictMemberAccess: r.RestrictMemberAccess,
		ErrorMessage: r.ErrorMessage, ErrorTraceback: r.ErrorTraceback, LastSync: r.LastSync,
		CurrentUsages: s.currentUsages(r), HasAPIKeys: s.hasAPIKeys(r),
	}
	if r.EndDate != nil {
		out.EndDate = &openapi_types.Date{Time: *r.EndDate}
	}
	if r.Plan != nil {
		out.PlanUUID = idPtr(r.Plan.UUID)
		out.PlanName = ptr(r.Plan.Name)
	}
	for _, e := range r.Endpoints {
		out.Endpoints = append(out.Endpoints, waldurapi.Endpoint{UUID: e.UUID, Name: e.Name, URL: e.URL})
	}
	if r.CreationOrder != nil {
		out.CreationOrder = ptr(s.renderOrder(r.CreationOrder))
	}
	if o := s.orderInProgress(r); o != nil {
		out.OrderInProgress = ptr(s.renderOrder(o))
	}
	return out
}

// orderInProgress is the resource's order that is not finished yet, if any.
func (s *Server) orderInProgress(r *resource) *order {
	for _, o := range r.orders {
		switch o.State {
		case "pending-consumer", "pending-provider", "pending-project", "pending-start-date", "executing":
			return o
		}
	}
	return nil
}

func (s *Server) hasAPIKeys(r *resource) bool {
	return len(r.apiKeys) > 0
}

// currentUsages reports the usage of the current billing period by component.
func (s *Server) currentUsages(r *resource) map[string]float64 {
	period := s.billingPeriod(s.now())
	var out map[string]float64
	for _, u := range r.usages {
		if !u.BillingPeriod.Equal(period) {
			continue
		}
		if out == nil {
			out = map[string]float64{}
		}
		out[u.Component.Type] = decimalFloat(u.Usage)
	}
	return out
}

func (s *Server) renderOfferingUser(ou *offeringUser) waldurapi.OfferingUser {
	u, off := ou.User, ou.Offering
	out := waldurapi.OfferingUser{
		UUID: ou.UUID, URL: s.objURL("marketplace-offering-users", ou.UUID),
		User: s.objURL("users", u.UUID), UserUUID: u.UUID, UserUsername: u.Username, UserFullName: u.FullName,
		UserEmail: u.Email, Offering: s.objURL("marketplace-provider-offerings", off.UUID), OfferingUUID: off.UUID,
		OfferingName: off.Name, Username: strPtrOrNil(ou.Username), State: waldurapi.OfferingUserState(ou.State),
		RuntimeState: ou.RuntimeState,
		IsRestricted: ou.IsRestricted, HasConsent: ou.HasConsent, ServiceProviderComment: ou.Comment,
		ServiceProviderCommentURL: ou.CommentURL, Created: ou.Created, Modified: ou.Modified,
	}
	if off.Customer != nil {
		out.CustomerUUID = off.Customer.UUID
		out.CustomerName = off.Customer.Name
	}
	return out
}

func (s *Server) renderUsage(u *componentUsage) waldurapi.ComponentUsage {
	r := u.Resource
	return waldurapi.ComponentUsage{
		UUID: u.UUID, Created: u.Created, Description: u.Description, Type: u.Component.Type,
		Name: u.Component.Name, MeasuredUnit: u.Component.MeasuredUnit, Usage: decimalFloat(u.Usage),
		Date: u.Date, BillingPeriod: openapi_types.Date{Time: u.BillingPeriod},
		ResourceUUID: r.UUID, ResourceName: r.Name, OfferingUUID: r.Offering.UUID, OfferingName: r.Offering.Name,
		MissingUsagePolicy: waldurapi.MissingUsagePolicy(u.MissingUsagePolicy),
	}
}

func (s *Server) renderAPIKey(k *apiKey) waldurapi.ResourceAPIKey {
	return waldurapi.ResourceAPIKey{
		UUID: k.UUID, ResourceUUID: k.Resource.UUID, ResourceBackendID: k.Resource.BackendID,
		ClientID: k.ClientID, State: waldurapi.ResourceAPIKeyState(k.State), ErrorMessage: k.ErrorMessage,
		Modified: k.Modified, PendingAction: pendingAction(k.PendingAction),
	}
}

func pendingAction(a string) *waldurapi.ResourceAPIKeyAction {
	if a == "" {
		return nil
	}
	v := waldurapi.ResourceAPIKeyAction(a)
	return &v
}

func (s *Server) renderIdentity(id *identity) waldurapi.AgentIdentity {
	out := waldurapi.AgentIdentity{
		UUID: id.UUID, URL: s.objURL("marketplace-site-agent-identities", id.UUID), Offering: id.Offering.UUID,
		Name: id.Name, Version: id.Version, Dependencies: cloneJSON(id.Dependencies),
		ConfigFilePath: id.ConfigFilePath, ConfigFileContent: id.ConfigFileContent,
		LastRestarted: timePtr(id.LastRestarted), Created: id.Created, Modified: id.Modified,
		Services: []waldurapi.AgentServiceSummary{},
	}
	if id.CreatedBy != nil {
		out.CreatedBy = idPtr(id.CreatedBy.UUID)
	}
	for _, sv := range id.services {
		out.Services = append(out.Services, waldurapi.AgentServiceSummary{
			UUID: sv.UUID, URL: s.objURL("marketplace-site-agent-services", sv.UUID), Name: sv.Name,
			Mode: sv.Mode, State: waldurapi.AgentServiceState(sv.State), Statistics: cloneJSON(sv.Statistics),
			Created: sv.Created, Modified: sv.Modified,
		})
	}
	return out
}

func (s *Server) renderService(sv *service) waldurapi.AgentService {
	out := waldurapi.AgentService{
		UUID: sv.UUID, URL: s.objURL("marketplace-site-agent-services", sv.UUID), Identity: sv.Identity.UUID,
		IdentityName: sv.Identity.Name, Name: sv.Name, Mode: sv.Mode, State: waldurapi.AgentServiceState(sv.State),
		Statistics: cloneJSON(sv.Statistics), Created: sv.Created, Modified: sv.Modified,
		Processors: []waldurapi.AgentProcessorSummary{},
	}
	for _, p := range sv.processors {
		out.Processors = append(out.Processors, waldurapi.AgentProcessorSummary{
			UUID: p.UUID, URL: s.objURL("marketplace-site-agent-processors", p.UUID), Name: p.Name,
			LastRun: timePtr(p.LastRun), BackendType: p.BackendType, BackendVersion: p.BackendVersion,
			Created: p.Created, Modified: p.Modified,
		})
	}
	return out
}

func (s *Server) renderProcessor(p *processor) waldurapi.AgentProcessor {
	return waldurapi.AgentProcessor{
		UUID: p.UUID, URL: s.objURL("marketplace-site-agent-processors", p.UUID), Service: p.Service.UUID,
		ServiceName: p.Service.Name, Name: p.Name, LastRun: timePtr(p.LastRun), BackendType: p.BackendType,
		BackendVersion: p.BackendVersion, Created: p.Created, Modified: p.Modified,
	}
}

func (s *Server) renderSubscription(sub *subscription) waldurapi.EventSubscription {
	out := waldurapi.EventSubscription{
		UUID: sub.UUID, URL: s.objURL("event-subscriptions", sub.UUID), Description: sub.Description,
		User: s.objURL("users", sub.User.UUID), UserUUID: sub.User.UUID, UserUsername: sub.User.Username,
		UserFullName: sub.User.FullName, Created: sub.Created, Modified: sub.Modified,
	}
	for _, t := range sub.ObjectTypes {
		out.ObservableObjects = append(out.ObservableObjects,
			waldurapi.ObservableObject{ObjectType: waldurapi.ObservableObjectType(t)})
	}
	return out
}

func (s *Server) renderSubQueue(q *subscriptionQueue) waldurapi.EventSubscriptionQueue {
	return waldurapi.EventSubscriptionQueue{
		UUID: q.UUID, URL: s.objURL("event-subscription-queues", q.UUID),
		EventSubscription:     s.objURL("event-subscriptions", q.Subscription.UUID),
		EventSubscriptionUUID: q.Subscription.UUID, OfferingUUID: q.Offering,
		ObjectType: waldurapi.ObservableObjectType(q.ObjectType), QueueName: q.Name, Vhost: q.VHost,
		Created: q.Created,
	}
}

func (s *Server) renderLog(l *agentLog) waldurapi.SiteAgentLog {
	off := l.Identity.Offering
	return waldurapi.SiteAgentLog{
		UUID: l.UUID, Offering: s.objURL("marketplace-provider-offerings", off.UUID), OfferingUUID: off.UUID,
		AgentIdentityUUID: l.Identity.UUID, Timestamp: l.Timestamp, Level: waldurapi.LogLevel(l.Level),
		Message: l.Message, Module: l.Module, Created: l.Created,
	}
}

func (s *Server) renderTeamMember(m member, off *offering) waldurapi.TeamMember {
	u := m.User
	out := waldurapi.TeamMember{
		UUID: u.UUID, URL: s.objURL("users", u.UUID), Username: u.Username, FullName: u.FullName,
		Email: u.Email, Role: m.Role,
	}
	if ou := s.st.offeringUserFor(off, u); ou != nil {
		out.OfferingUserUsername = strPtrOrNil(ou.Username)
		out.OfferingUserState = ptr(waldurapi.OfferingUserState(ou.State))
	}
	return out
}
