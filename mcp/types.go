package mcp

import (
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// The types in this file are the tools' inputs and outputs. Their JSON form is
// the tools' JSON schema (inferred by the go-sdk from the json and jsonschema
// tags), so field names and optionality are part of the protocol: fields
// without omitempty are required. UUIDs are strings in Waldur's 32-hex-digit
// form on output; inputs also accept the hyphenated form.

// Page limits of the list tools.
const (
	// DefaultListLimit is the page size when a list tool's limit is zero.
	DefaultListLimit = 20
	// MaxListLimit bounds a list tool's limit.
	MaxListLimit = 100
)

// PageInput is embedded in every list tool's input.
type PageInput struct {
	// Limit is the page size: 1 to MaxListLimit, DefaultListLimit when zero.
	Limit int `json:"limit,omitempty" jsonschema:"page size, 1 to 100 (default 20)"`
	// Cursor continues a listing: the next_cursor of the previous page.
	Cursor string `json:"cursor,omitempty" jsonschema:"next_cursor of the previous page; omit for the first page"`
}

// UUIDInput names one object.
type UUIDInput struct {
	UUID string `json:"uuid" jsonschema:"the object's UUID (32 hex digits or hyphenated)"`
}

// ListOfferingsInput is the input of list_offerings.
type ListOfferingsInput struct {
	PageInput
}

// ListPendingOrdersInput is the input of list_pending_orders.
type ListPendingOrdersInput struct {
	OfferingUUID string `json:"offering_uuid,omitempty" jsonschema:"only orders for this offering (default: every offering the agent serves)"`
	Type         string `json:"type,omitempty" jsonschema:"only orders of this type: Create, Update, Terminate or Restore"`
	PageInput
}

// RejectOrderInput is the input of reject_order.
type RejectOrderInput struct {
	UUID   string `json:"uuid" jsonschema:"the order's UUID"`
	Reason string `json:"reason" jsonschema:"why the order is rejected; shown to the consumer"`
}

// ListResourcesInput is the input of list_resources.
type ListResourcesInput struct {
	OfferingUUID string `json:"offering_uuid,omitempty" jsonschema:"only resources of this offering (default: every offering the agent serves)"`
	State        string `json:"state,omitempty" jsonschema:"only resources in this state: Creating, OK, Erred, Updating, Terminating or Terminated"`
	ProjectUUID  string `json:"project_uuid,omitempty" jsonschema:"only resources of this project"`
	BackendID    string `json:"backend_id,omitempty" jsonschema:"only the resource with this backend ID"`
	PageInput
}

// ListOfferingUsersInput is the input of list_offering_users.
type ListOfferingUsersInput struct {
	OfferingUUID string `json:"offering_uuid,omitempty" jsonschema:"only users of this offering (default: every offering the agent serves)"`
	State        string `json:"state,omitempty" jsonschema:"only users in this state, e.g. OK, Requested, Creating"`
	UserUsername string `json:"user_username,omitempty" jsonschema:"only the offering users of this Waldur username"`
	PageInput
}

// ListUsagesInput is the input of list_usages.
type ListUsagesInput struct {
	ResourceUUID  string `json:"resource_uuid" jsonschema:"the resource whose usage to list"`
	BillingPeriod string `json:"billing_period,omitempty" jsonschema:"month as YYYY-MM (default: all periods)"`
	Type          string `json:"type,omitempty" jsonschema:"only this component type, e.g. cpu"`
	PageInput
}

// UsageAmountInput is one component's total in report_usage.
type UsageAmountInput struct {
	Type        string  `json:"type" jsonschema:"the offering component's type, e.g. cpu"`
	Amount      float64 `json:"amount" jsonschema:"total usage for the billing period, at least 0; rounded to two decimals"`
	Description string  `json:"description,omitempty" jsonschema:"optional note shown with the usage"`
}

// ReportUsageInput is the input of report_usage.
type ReportUsageInput struct {
	ResourceUUID  string             `json:"resource_uuid" jsonschema:"the resource the usage is billed to"`
	BillingPeriod string             `json:"billing_period,omitempty" jsonschema:"month as YYYY-MM (default: the current month)"`
	Usages        []UsageAmountInput `json:"usages" jsonschema:"the totals per component; reporting again replaces them"`
	// DryRun defaults to true: only an explicit false sends the report.
	DryRun *bool `json:"dry_run,omitempty" jsonschema:"when true (the default) nothing is sent: the tool returns what would be sent; set false to report"`
}

// ListAPIKeysInput is the input of list_resource_api_keys.
type ListAPIKeysInput struct {
	ResourceUUID string `json:"resource_uuid,omitempty" jsonschema:"only the keys of this resource (default: every offering the agent serves)"`
	State        string `json:"state,omitempty" jsonschema:"only keys in this state: Creating, OK, Updating or Erred"`
	PageInput
}

// Offering is an offering as the tools show it.
type Offering struct {
	UUID       string      `json:"uuid"`
	Name       string      `json:"name"`
	Type       string      `json:"type,omitempty"`
	State      string      `json:"state,omitempty"`
	Customer   string      `json:"customer_name,omitempty"`
	Components []Component `json:"components,omitempty"`
}

// Component is a billable component of an offering.
type Component struct {
	Type         string `json:"type"`
	Name         string `json:"name,omitempty"`
	BillingType  string `json:"billing_type,omitempty"`
	MeasuredUnit string `json:"measured_unit,omitempty"`
}

// OfferingPage is the output of list_offerings.
type OfferingPage struct {
	Offerings  []Offering `json:"offerings"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// Order is a marketplace order as the tools show it.
type Order struct {
	UUID           string           `json:"uuid"`
	Type           string           `json:"type"`
	State          string           `json:"state"`
	OfferingUUID   string           `json:"offering_uuid,omitempty"`
	OfferingName   string           `json:"offering_name,omitempty"`
	ResourceUUID   string           `json:"resource_uuid,omitempty"`
	ResourceName   string           `json:"resource_name,omitempty"`
	ProjectUUID    string           `json:"project_uuid,omitempty"`
	ProjectName    string           `json:"project_name,omitempty"`
	CustomerName   string           `json:"customer_name,omitempty"`
	PlanName       string           `json:"plan_name,omitempty"`
	Limits         map[string]int64 `json:"limits,omitempty"`
	Attributes     map[string]any   `json:"attributes,omitempty"`
	CreatedBy      string           `json:"created_by,omitempty"`
	RequestComment string           `json:"request_comment,omitempty"`
	ErrorMessage   string           `json:"error_message,omitempty"`
	Created        time.Time        `json:"created,omitzero"`
	Modified       time.Time        `json:"modified,omitzero"`
}

// OrderPage is the output of list_pending_orders.
type OrderPage struct {
	Orders     []Order `json:"orders"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// OrderAction is the output of approve_order and reject_order.
type OrderAction struct {
	UUID string `json:"uuid"`
	// State is the order's state after the action.
	State string `json:"state"`
	// Changed is false when the order had already been moved this way, so
	// the call changed nothing.
	Changed bool   `json:"changed"`
	Message string `json:"message"`
}

// Resource is a marketplace resource as the tools show it.
type Resource struct {
	UUID         string             `json:"uuid"`
	Name         string             `json:"name"`
	State        string             `json:"state"`
	BackendID    string             `json:"backend_id,omitempty"`
	OfferingUUID string             `json:"offering_uuid,omitempty"`
	OfferingName string             `json:"offering_name,omitempty"`
	ProjectUUID  string             `json:"project_uuid,omitempty"`
	ProjectName  string             `json:"project_name,omitempty"`
	CustomerName string             `json:"customer_name,omitempty"`
	PlanName     string             `json:"plan_name,omitempty"`
	Limits       map[string]int64   `json:"limits,omitempty"`
	Usages       map[string]float64 `json:"current_usages,omitempty"`
	Paused       bool               `json:"paused,omitempty"`
	Downscaled   bool               `json:"downscaled,omitempty"`
	ErrorMessage string             `json:"error_message,omitempty"`
	EndDate      string             `json:"end_date,omitempty"`
	Created      time.Time          `json:"created,omitzero"`
	Modified     time.Time          `json:"modified,omitzero"`
}

// ResourcePage is the output of list_resources.
type ResourcePage struct {
	Resources  []Resource `json:"resources"`
	NextCursor string     `json:"next_cursor,omitempty"`
}

// TeamMember is a member of a resource's project.
type TeamMember struct {
	UUID              string `json:"uuid"`
	Username          string `json:"username,omitempty"`
	FullName          string `json:"full_name,omitempty"`
	Email             string `json:"email,omitempty"`
	Role              string `json:"role,omitempty"`
	OfferingUsername  string `json:"offering_username,omitempty"`
	OfferingUserState string `json:"offering_user_state,omitempty"`
}

// Team is the output of get_resource_team.
type Team struct {
	ResourceUUID string       `json:"resource_uuid"`
	Members      []TeamMember `json:"members"`
}

// OfferingUser is a Waldur user's account on an offering.
type OfferingUser struct {
	UUID         string `json:"uuid"`
	OfferingUUID string `json:"offering_uuid,omitempty"`
	UserUUID     string `json:"user_uuid,omitempty"`
	UserUsername string `json:"user_username,omitempty"`
	UserFullName string `json:"user_full_name,omitempty"`
	Username     string `json:"username,omitempty"`
	State        string `json:"state"`
	Restricted   bool   `json:"is_restricted,omitempty"`
}

// OfferingUserPage is the output of list_offering_users.
type OfferingUserPage struct {
	Users      []OfferingUser `json:"users"`
	NextCursor string         `json:"next_cursor,omitempty"`
}

// Usage is one recorded component usage.
type Usage struct {
	UUID          string  `json:"uuid"`
	ResourceUUID  string  `json:"resource_uuid"`
	Type          string  `json:"type"`
	Amount        float64 `json:"amount"`
	BillingPeriod string  `json:"billing_period"`
	Description   string  `json:"description,omitempty"`
}

// UsagePage is the output of list_usages.
type UsagePage struct {
	Usages     []Usage `json:"usages"`
	NextCursor string  `json:"next_cursor,omitempty"`
}

// UsageAmount is one component's total as report_usage sends it.
type UsageAmount struct {
	Type string `json:"type"`
	// Amount is the decimal string sent to Waldur, e.g. "12.50".
	Amount      string `json:"amount"`
	Description string `json:"description,omitempty"`
}

// UsageReport is the output of report_usage.
type UsageReport struct {
	// DryRun is true when nothing was sent.
	DryRun        bool          `json:"dry_run"`
	Sent          bool          `json:"sent"`
	ResourceUUID  string        `json:"resource_uuid"`
	BillingPeriod string        `json:"billing_period"`
	Usages        []UsageAmount `json:"usages"`
	Message       string        `json:"message"`
}

// APIKey is the metadata of a resource API key; it never carries the secret.
type APIKey struct {
	UUID              string    `json:"uuid"`
	ResourceUUID      string    `json:"resource_uuid"`
	ResourceBackendID string    `json:"resource_backend_id,omitempty"`
	ClientID          string    `json:"client_id,omitempty"`
	State             string    `json:"state"`
	ErrorMessage      string    `json:"error_message,omitempty"`
	Modified          time.Time `json:"modified,omitzero"`
}

// APIKeyPage is the output of list_resource_api_keys.
type APIKeyPage struct {
	Keys       []APIKey `json:"keys"`
	NextCursor string   `json:"next_cursor,omitempty"`
}

// RotationRequest is the output of rotate_resource_api_key.
type RotationRequest struct {
	UUID    string `json:"uuid"`
	State   string `json:"state"`
	Message string `json:"message"`
}

// Health is the output of agent_health.
type Health struct {
	// Agent is true when the server runs inside a site agent; Live, Ready and
	// Stats are only meaningful then.
	Agent bool `json:"agent"`
	Live  bool `json:"live"`
	Ready bool `json:"ready"`
	// Offerings are the served offerings the caller's key sees; empty when
	// the server serves every offering its credentials reach.
	Offerings []string `json:"offerings"`
	// Stats are the agent's counters. LastError and LastErrorAt are left
	// out unless the caller is trusted or an unbound key with the operator
	// scope (ScopeAgentOperate).
	Stats *siteagent.Stats `json:"stats,omitempty"`
	// Waldur is the result of a credentials check against Waldur.
	Waldur WaldurCheck `json:"waldur"`
}

// WaldurCheck is the result of asking Waldur who the agent is.
type WaldurCheck struct {
	OK       bool   `json:"ok"`
	URL      string `json:"url"`
	Username string `json:"username,omitempty"`
	Error    string `json:"error,omitempty"`
}

// Status is the content of the waldur-agent://status resource: the agent's
// health without a call to Waldur. Offerings and Stats are shown as in
// Health.
type Status struct {
	Agent     bool             `json:"agent"`
	Live      bool             `json:"live"`
	Ready     bool             `json:"ready"`
	Offerings []string         `json:"offerings"`
	WaldurURL string           `json:"waldur_url"`
	Stats     *siteagent.Stats `json:"stats,omitempty"`
}

func hexOrEmpty(u waldur.UUID) string {
	if u == (waldur.UUID{}) {
		return ""
	}
	return waldur.Hex(u)
}

func orderOf(o *waldur.Order) Order {
	out := Order{
		UUID:         waldur.Hex(o.UUID),
		Type:         string(o.Type),
		State:        string(o.State),
		OfferingUUID: hexOrEmpty(o.OfferingUUID),
		OfferingName: o.OfferingName,
		ResourceUUID: hexOrEmpty(o.MarketplaceResourceUUID),
		ResourceName: o.ResourceName,
		ProjectUUID:  hexOrEmpty(o.ProjectUUID),
		ProjectName:  o.ProjectName,
		CustomerName: o.CustomerName,
		Limits:       o.Limits,
		Attributes:   o.Attributes,
		CreatedBy:    o.CreatedByUsername,
		ErrorMessage: o.ErrorMessage,
		Created:      o.Created,
		Modified:     o.Modified,
	}
	if o.PlanName != nil {
		out.PlanName = *o.PlanName
	}
	if o.RequestComment != nil {
		out.RequestComment = *o.RequestComment
	}
	return out
}

func resourceOf(r *waldur.Resource) Resource {
	out := Resource{
		UUID:         waldur.Hex(r.UUID),
		Name:         r.Name,
		State:        string(r.State),
		BackendID:    r.BackendID,
		OfferingUUID: hexOrEmpty(r.OfferingUUID),
		OfferingName: r.OfferingName,
		ProjectUUID:  hexOrEmpty(r.ProjectUUID),
		ProjectName:  r.ProjectName,
		CustomerName: r.CustomerName,
		Limits:       r.Limits,
		Usages:       r.CurrentUsages,
		Paused:       r.Paused,
		Downscaled:   r.Downscaled,
		ErrorMessage: r.ErrorMessage,
		Created:      r.Created,
		Modified:     r.Modified,
	}
	if r.PlanName != nil {
		out.PlanName = *r.PlanName
	}
	if r.EndDate != nil {
		out.EndDate = r.EndDate.String()
	}
	return out
}

func offeringOf(o *waldur.ProviderOffering) Offering {
	out := Offering{
		UUID:  waldur.Hex(o.UUID),
		Name:  o.Name,
		Type:  o.Type,
		State: string(o.State),
	}
	if o.CustomerName != nil {
		out.Customer = *o.CustomerName
	}
	for _, c := range o.Components {
		out.Components = append(out.Components, Component{
			Type:         c.Type,
			Name:         c.Name,
			BillingType:  string(c.BillingType),
			MeasuredUnit: c.MeasuredUnit,
		})
	}
	return out
}

func teamMemberOf(m *waldur.TeamMember) TeamMember {
	out := TeamMember{
		UUID:     waldur.Hex(m.UUID),
		Username: m.Username,
		FullName: m.FullName,
		Email:    m.Email,
		Role:     m.Role,
	}
	if m.OfferingUserUsername != nil {
		out.OfferingUsername = *m.OfferingUserUsername
	}
	if m.OfferingUserState != nil {
		out.OfferingUserState = string(*m.OfferingUserState)
	}
	return out
}

func offeringUserOf(u *waldur.OfferingUser) OfferingUser {
	out := OfferingUser{
		UUID:         waldur.Hex(u.UUID),
		OfferingUUID: hexOrEmpty(u.OfferingUUID),
		UserUUID:     hexOrEmpty(u.UserUUID),
		UserUsername: u.UserUsername,
		UserFullName: u.UserFullName,
		State:        string(u.State),
		Restricted:   u.IsRestricted,
	}
	if u.Username != nil {
		out.Username = *u.Username
	}
	return out
}

func usageOf(u *waldur.ComponentUsage) Usage {
	return Usage{
		UUID:          waldur.Hex(u.UUID),
		ResourceUUID:  hexOrEmpty(u.ResourceUUID),
		Type:          u.Type,
		Amount:        u.Usage,
		BillingPeriod: u.BillingPeriod.Format("2006-01"),
		Description:   u.Description,
	}
}

func apiKeyOf(k *waldur.ResourceAPIKey) APIKey {
	return APIKey{
		UUID:              waldur.Hex(k.UUID),
		ResourceUUID:      hexOrEmpty(k.ResourceUUID),
		ResourceBackendID: k.ResourceBackendID,
		ClientID:          k.ClientID,
		State:             string(k.State),
		ErrorMessage:      k.ErrorMessage,
		Modified:          k.Modified,
	}
}
