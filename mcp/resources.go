package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"
)

// Resource URIs.
const (
	// StatusURI is the agent's status: liveness, readiness, offerings and
	// counters (Status as JSON), read without a call to Waldur.
	StatusURI = "waldur-agent://status"
	// OrderURITemplate and ResourceURITemplate read one order or resource
	// (Order, Resource as JSON).
	OrderURITemplate    = "waldur://orders/{uuid}"
	ResourceURITemplate = "waldur://resources/{uuid}"
)

const (
	orderURIPrefix    = "waldur://orders/"
	resourceURIPrefix = "waldur://resources/"
)

// PromptTriageOrders is the prompt for triaging pending orders.
const PromptTriageOrders = "triage_pending_orders"

// triageSample bounds how many pending orders the prompt embeds.
const triageSample = 20

func (s *Server) addResources(srv *sdk.Server) {
	srv.AddResource(&sdk.Resource{
		URI:         StatusURI,
		Name:        "agent-status",
		Title:       "Site agent status",
		Description: "Liveness, readiness, served offerings and counters of the site agent. Requires the scope " + ScopeAgentRead + " over HTTP; the last error also " + ScopeAgentOperate + ".",
		MIMEType:    "application/json",
	}, func(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
		return jsonContents(req.Params.URI, s.status(callerFrom(ctx)))
	})
	srv.AddResourceTemplate(&sdk.ResourceTemplate{
		URITemplate: OrderURITemplate,
		Name:        "order",
		Title:       "Marketplace order",
		Description: "One order of a served offering. Requires the scope " + ScopeOrdersRead + " over HTTP.",
		MIMEType:    "application/json",
	}, func(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
		uri := req.Params.URI
		o, err := s.getOrder(ctx, UUIDInput{UUID: strings.TrimPrefix(uri, orderURIPrefix)})
		if err != nil {
			return nil, resourceError(uri, err)
		}
		return jsonContents(uri, o)
	})
	srv.AddResourceTemplate(&sdk.ResourceTemplate{
		URITemplate: ResourceURITemplate,
		Name:        "resource",
		Title:       "Marketplace resource",
		Description: "One resource of a served offering. Requires the scope " + ScopeResourcesRead + " over HTTP.",
		MIMEType:    "application/json",
	}, func(ctx context.Context, req *sdk.ReadResourceRequest) (*sdk.ReadResourceResult, error) {
		uri := req.Params.URI
		r, err := s.getResource(ctx, UUIDInput{UUID: strings.TrimPrefix(uri, resourceURIPrefix)})
		if err != nil {
			return nil, resourceError(uri, err)
		}
		return jsonContents(uri, r)
	})
}

// resourceError maps a tool error to a resource read error: objects that do
// not exist, are not served, or whose UUID does not parse become MCP's
// resource-not-found.
func resourceError(uri string, err error) error {
	var f *failure
	if isNotFound(err) || errors.As(err, &f) && f.badArg {
		return sdk.ResourceNotFoundError(uri)
	}
	return fmt.Errorf("reading %s: %w", uri, err)
}

func jsonContents(uri string, v any) (*sdk.ReadResourceResult, error) {
	data, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		return nil, fmt.Errorf("mcp: encode %s: %w", uri, err)
	}
	return &sdk.ReadResourceResult{Contents: []*sdk.ResourceContents{{
		URI:      uri,
		MIMEType: "application/json",
		Text:     string(data),
	}}}, nil
}

func (s *Server) addPrompts(srv *sdk.Server) {
	srv.AddPrompt(&sdk.Prompt{
		Name:        PromptTriageOrders,
		Title:       "Triage pending orders",
		Description: "Walks through the orders waiting for the provider's decision and approves or rejects each with a reason. Requires the scope " + ScopeOrdersRead + " over HTTP (and " + ScopeOrdersWrite + " to act).",
		Arguments: []*sdk.PromptArgument{{
			Name:        "offering_uuid",
			Description: "only orders for this offering (default: every offering the agent serves)",
		}},
	}, s.triagePrompt)
}

func (s *Server) triagePrompt(ctx context.Context, req *sdk.GetPromptRequest) (*sdk.GetPromptResult, error) {
	offering := req.Params.Arguments["offering_uuid"]
	pending, err := s.listPendingOrders(ctx, ListPendingOrdersInput{
		OfferingUUID: offering,
		PageInput:    PageInput{Limit: triageSample},
	})
	if err != nil {
		return nil, fmt.Errorf("%s: %w", PromptTriageOrders, err)
	}
	var b strings.Builder
	b.WriteString("Triage the orders below, which wait for the service provider's decision in Waldur.\n\n" +
		"For each order: read it with get_order if the summary is not enough, check the requested limits " +
		"against the offering's components (list_offerings) and anything unusual in the order form, then " +
		"approve it with approve_order or reject it with reject_order and a reason the consumer can act on. " +
		"Approve only what clearly fits the offering; when in doubt, leave the order pending and say why. " +
		"Finish with a table: order, decision, reason.\n\n")
	switch {
	case len(pending.Orders) == 0:
		b.WriteString("No order is pending right now.\n")
	default:
		fmt.Fprintf(&b, "Pending orders (%d shown", len(pending.Orders))
		if pending.NextCursor != "" {
			fmt.Fprintf(&b, "; more exist: call list_pending_orders with cursor %q", pending.NextCursor)
		}
		b.WriteString("):\n")
		data, err := json.MarshalIndent(pending.Orders, "", "  ")
		if err != nil {
			return nil, fmt.Errorf("mcp: encode orders: %w", err)
		}
		b.Write(data)
		b.WriteString("\n")
	}
	return &sdk.GetPromptResult{
		Description: "Triage of pending orders",
		Messages:    []*sdk.PromptMessage{{Role: "user", Content: &sdk.TextContent{Text: b.String()}}},
	}, nil
}
