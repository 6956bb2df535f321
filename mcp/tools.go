package mcp

import (
	"context"
	"fmt"
	"maps"

	"github.com/google/jsonschema-go/jsonschema"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Tool names.
const (
	ToolAgentHealth       = "agent_health"
	ToolListOfferings     = "list_offerings"
	ToolListPendingOrders = "list_pending_orders"
	ToolGetOrder          = "get_order"
	ToolApproveOrder      = "approve_order"
	ToolRejectOrder       = "reject_order"
	ToolListResources     = "list_resources"
	ToolGetResource       = "get_resource"
	ToolGetResourceTeam   = "get_resource_team"
	ToolListOfferingUsers = "list_offering_users"
	ToolListUsages        = "list_usages"
	ToolReportUsage       = "report_usage"
	ToolListAPIKeys       = "list_resource_api_keys"
	ToolRotateAPIKey      = "rotate_resource_api_key"
)

// effect classifies what a tool does, for its annotations.
type effect int

const (
	readOnly    effect = iota // changes nothing
	idempotent                // changes state; repeating the call changes nothing more
	destructive               // changes or overwrites state; not idempotent
)

// toolDef describes one tool.
type toolDef struct {
	name, title, desc string
	scope             string
	effect            effect
	// overwrites marks an idempotent tool whose change cannot be undone
	// (rejecting an order, replacing usage totals).
	overwrites bool
	// enums restricts string properties of the input to these values.
	enums map[string][]any
}

// ToolScopes returns the scope each tool requires of an HTTP caller's key.
func (s *Server) ToolScopes() map[string]string {
	return maps.Clone(s.scopes)
}

// addTool registers a typed tool on srv: the go-sdk infers the input and
// output schemas from In and Out, validates the input, and turns a returned
// error into a tool result with isError.
func addTool[In, Out any](s *Server, srv *sdk.Server, d toolDef, h func(context.Context, In) (Out, error)) {
	s.scopes[d.name] = d.scope
	ann := &sdk.ToolAnnotations{Title: d.title, OpenWorldHint: ptr(false)}
	switch d.effect {
	case readOnly:
		ann.ReadOnlyHint = true
	case idempotent:
		ann.IdempotentHint = true
		ann.DestructiveHint = ptr(d.overwrites)
	case destructive:
		ann.DestructiveHint = ptr(true)
	}
	sdk.AddTool(srv, &sdk.Tool{
		Name:        d.name,
		Title:       d.title,
		Description: fmt.Sprintf("%s Requires the scope %s over HTTP.", d.desc, d.scope),
		Annotations: ann,
		InputSchema: inputSchema[In](d.enums),
	}, func(ctx context.Context, _ *sdk.CallToolRequest, in In) (*sdk.CallToolResult, Out, error) {
		out, err := h(ctx, in)
		return nil, out, err
	})
}

// inputSchema infers In's schema and adds what tags cannot say: the bounds of
// limit and the allowed values of enumerated fields.
func inputSchema[In any](enums map[string][]any) *jsonschema.Schema {
	sch, err := jsonschema.For[In](nil)
	if err != nil {
		panic(fmt.Sprintf("mcp: input schema: %v", err)) // a programming error in this package
	}
	if p := sch.Properties["limit"]; p != nil {
		p.Minimum, p.Maximum = ptr(0.0), ptr(float64(MaxListLimit))
	}
	for name, values := range enums {
		if p := sch.Properties[name]; p != nil {
			p.Enum = values
		}
	}
	return sch
}

func ptr[T any](v T) *T { return &v }

// addTools registers every tool on srv.
func (s *Server) addTools(srv *sdk.Server) {
	addTool(s, srv, toolDef{
		name: ToolAgentHealth, title: "Site agent health", scope: ScopeAgentRead,
		desc: "Reports whether the site agent is live and ready, its counters (orders approved, done, erred, events) and whether Waldur accepts its credentials. The agent's last error is shown to operators only (scope " + ScopeAgentOperate + ").",
	}, s.agentHealth)
	addTool(s, srv, toolDef{
		name: ToolListOfferings, title: "List offerings", scope: ScopeAgentRead,
		desc: "Lists the marketplace offerings the site agent serves, with their billable components.",
	}, s.listOfferings)

	addTool(s, srv, toolDef{
		name: ToolListPendingOrders, title: "List pending orders", scope: ScopeOrdersRead,
		desc:  "Lists orders waiting for the service provider's decision (state pending-provider).",
		enums: map[string][]any{"type": {"Create", "Update", "Terminate", "Restore"}},
	}, s.listPendingOrders)
	addTool(s, srv, toolDef{
		name: ToolGetOrder, title: "Get order", scope: ScopeOrdersRead,
		desc: "Shows one order: type, state, project, requested limits and the consumer's order form.",
	}, s.getOrder)
	addTool(s, srv, toolDef{
		name: ToolApproveOrder, title: "Approve order", scope: ScopeOrdersWrite, effect: idempotent, overwrites: true,
		desc: "Approves an order in state pending-provider; the site agent then provisions, changes or terminates the resource. Approving an already approved order changes nothing.",
	}, s.approveOrder)
	addTool(s, srv, toolDef{
		name: ToolRejectOrder, title: "Reject order", scope: ScopeOrdersWrite, effect: idempotent, overwrites: true,
		desc: "Rejects an order in state pending-provider with a reason shown to the consumer. Rejecting cannot be undone.",
	}, s.rejectOrder)

	addTool(s, srv, toolDef{
		name: ToolListResources, title: "List resources", scope: ScopeResourcesRead,
		desc:  "Lists marketplace resources of the served offerings.",
		enums: map[string][]any{"state": {"Creating", "OK", "Erred", "Updating", "Terminating", "Terminated"}},
	}, s.listResources)
	addTool(s, srv, toolDef{
		name: ToolGetResource, title: "Get resource", scope: ScopeResourcesRead,
		desc: "Shows one resource: state, backend ID, limits and current usage.",
	}, s.getResource)
	addTool(s, srv, toolDef{
		name: ToolGetResourceTeam, title: "Get resource team", scope: ScopeResourcesRead,
		desc: "Lists the members of a resource's project with their roles and offering usernames.",
	}, s.getResourceTeam)
	addTool(s, srv, toolDef{
		name: ToolListOfferingUsers, title: "List offering users", scope: ScopeResourcesRead,
		desc: "Lists Waldur users' accounts on the served offerings, with their site usernames and states.",
	}, s.listOfferingUsers)

	addTool(s, srv, toolDef{
		name: ToolListUsages, title: "List usage", scope: ScopeUsageRead,
		desc: "Lists the component usage recorded in Waldur for a resource, per billing period.",
	}, s.listUsages)
	addTool(s, srv, toolDef{
		name: ToolReportUsage, title: "Report usage", scope: ScopeUsageWrite, effect: idempotent, overwrites: true,
		desc: "Reports a resource's usage totals per component for a billing month; a later report replaces them. A dry run unless dry_run is false: it then only validates and shows what would be sent.",
	}, s.reportUsage)

	addTool(s, srv, toolDef{
		name: ToolListAPIKeys, title: "List resource API keys", scope: ScopeKeysRead,
		desc:  "Lists the API keys of resources: their client IDs and states. Never the key values.",
		enums: map[string][]any{"state": {"Creating", "OK", "Updating", "Erred"}},
	}, s.listAPIKeys)
	addTool(s, srv, toolDef{
		name: ToolRotateAPIKey, title: "Rotate resource API key", scope: ScopeKeysWrite, effect: destructive,
		desc: "Requests a new value for a resource API key (state OK or Erred); the site agent then replaces the key on its backend and the old value stops working.",
	}, s.rotateAPIKey)
}
