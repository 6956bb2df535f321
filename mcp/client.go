package mcp

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"sync/atomic"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// ErrUnauthorized is returned by Dial when the server refused the API key
// (HTTP 401): it is missing, malformed, unknown, expired or revoked.
var ErrUnauthorized = errors.New("mcp: the server refused the API key")

// ToolError is a tool's own error result (isError): the call reached the tool,
// which reported a problem, such as a missing scope, an order in the wrong
// state or an object that does not exist.
type ToolError struct {
	// Tool is the tool's name.
	Tool string
	// Message is the tool's explanation.
	Message string
}

func (e *ToolError) Error() string { return "mcp: " + e.Tool + ": " + e.Message }

// ClientConfig configures NewClient. URL and APIKey are required.
type ClientConfig struct {
	// URL is the site agent's MCP endpoint, e.g. https://agent.example.com/mcp.
	URL string
	// APIKey is sent as "Authorization: Bearer <key>" with every request.
	// It is never logged or put into errors.
	APIKey string
	// HTTPClient sends the requests; its Transport is wrapped, never
	// modified. Default: http.DefaultClient.
	HTTPClient *http.Client
	// Name and Version identify the client to the server. Defaults
	// "waldur-agent-go" and waldur.Version.
	Name    string
	Version string
}

// Client calls a site agent's MCP server over streamable HTTP, for agent
// runtimes and programs that drive site agents. It is safe for concurrent
// use; close it when done.
type Client struct {
	session *sdk.ClientSession
}

// Dial connects to the MCP endpoint at url with an API key; see NewClient.
func Dial(ctx context.Context, url, apiKey string) (*Client, error) {
	return NewClient(ctx, ClientConfig{URL: url, APIKey: apiKey})
}

// NewClient connects to a site agent's MCP endpoint and initialises a
// session. A refused key is reported as ErrUnauthorized.
func NewClient(ctx context.Context, cfg ClientConfig) (*Client, error) {
	if cfg.URL == "" || cfg.APIKey == "" {
		return nil, errors.New("mcp: URL and APIKey are required")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = http.DefaultClient
	}
	base := hc.Transport
	if base == nil {
		base = http.DefaultTransport
	}
	at := &authTransport{base: base, header: "Bearer " + cfg.APIKey}
	wrapped := *hc
	wrapped.Transport = at
	if cfg.Name == "" {
		cfg.Name = "waldur-agent-go"
	}
	if cfg.Version == "" {
		cfg.Version = waldur.Version
	}
	c := sdk.NewClient(&sdk.Implementation{Name: cfg.Name, Version: cfg.Version}, &sdk.ClientOptions{
		Capabilities: &sdk.ClientCapabilities{},
	})
	session, err := c.Connect(ctx, &sdk.StreamableClientTransport{
		Endpoint:   cfg.URL,
		HTTPClient: &wrapped,
		// Typed calls need only responses to their own requests; no
		// long-lived event stream to hold open.
		DisableStandaloneSSE: true,
		MaxRetries:           -1,
	}, nil)
	if err != nil {
		if at.unauthorized.Load() {
			return nil, fmt.Errorf("%w (%s)", ErrUnauthorized, cfg.URL)
		}
		return nil, fmt.Errorf("mcp: connect to %s: %w", cfg.URL, err)
	}
	return &Client{session: session}, nil
}

// authTransport adds the Authorization header and notes a 401.
type authTransport struct {
	base         http.RoundTripper
	header       string
	unauthorized atomic.Bool
}

func (t *authTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	r = r.Clone(r.Context())
	r.Header.Set("Authorization", t.header)
	resp, err := t.base.RoundTrip(r)
	if err == nil && resp.StatusCode == http.StatusUnauthorized {
		t.unauthorized.Store(true)
	}
	return resp, err
}

// Close ends the session.
func (c *Client) Close() error {
	if err := c.session.Close(); err != nil {
		return fmt.Errorf("mcp: close session: %w", err)
	}
	return nil
}

// MCPSession returns the underlying go-sdk session, for calls this type does
// not wrap (resources, prompts, other tools).
func (c *Client) MCPSession() *sdk.ClientSession { return c.session }

// Tools returns the names of the tools the server offers.
func (c *Client) Tools(ctx context.Context) ([]string, error) {
	var names []string
	for t, err := range c.session.Tools(ctx, nil) {
		if err != nil {
			return nil, fmt.Errorf("mcp: list tools: %w", err)
		}
		names = append(names, t.Name)
	}
	return names, nil
}

// CallTool calls a tool with args (any value that marshals to a JSON object,
// such as the tool's input type) and decodes its structured output into out,
// if out is not nil. A tool's error result is returned as *ToolError.
func (c *Client) CallTool(ctx context.Context, name string, args, out any) error {
	if args == nil {
		args = struct{}{}
	}
	res, err := c.session.CallTool(ctx, &sdk.CallToolParams{Name: name, Arguments: args})
	if err != nil {
		return fmt.Errorf("mcp: call %s: %w", name, err)
	}
	if res.IsError {
		msg := ""
		for _, content := range res.Content {
			if t, ok := content.(*sdk.TextContent); ok {
				msg += t.Text
			}
		}
		return &ToolError{Tool: name, Message: msg}
	}
	if out == nil {
		return nil
	}
	data, err := json.Marshal(res.StructuredContent)
	if err != nil {
		return fmt.Errorf("mcp: call %s: re-encode output: %w", name, err)
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("mcp: call %s: decode output: %w", name, err)
	}
	return nil
}

// Health calls agent_health.
func (c *Client) Health(ctx context.Context) (Health, error) {
	var h Health
	return h, c.CallTool(ctx, ToolAgentHealth, nil, &h)
}

// ListPendingOrders calls list_pending_orders.
func (c *Client) ListPendingOrders(ctx context.Context, in ListPendingOrdersInput) (OrderPage, error) {
	var p OrderPage
	return p, c.CallTool(ctx, ToolListPendingOrders, in, &p)
}

// GetOrder calls get_order.
func (c *Client) GetOrder(ctx context.Context, id waldur.UUID) (Order, error) {
	var o Order
	return o, c.CallTool(ctx, ToolGetOrder, UUIDInput{UUID: waldur.Hex(id)}, &o)
}

// ApproveOrder calls approve_order.
func (c *Client) ApproveOrder(ctx context.Context, id waldur.UUID) (OrderAction, error) {
	var a OrderAction
	return a, c.CallTool(ctx, ToolApproveOrder, UUIDInput{UUID: waldur.Hex(id)}, &a)
}

// RejectOrder calls reject_order.
func (c *Client) RejectOrder(ctx context.Context, id waldur.UUID, reason string) (OrderAction, error) {
	var a OrderAction
	return a, c.CallTool(ctx, ToolRejectOrder, RejectOrderInput{UUID: waldur.Hex(id), Reason: reason}, &a)
}

// GetResource calls get_resource.
func (c *Client) GetResource(ctx context.Context, id waldur.UUID) (Resource, error) {
	var r Resource
	return r, c.CallTool(ctx, ToolGetResource, UUIDInput{UUID: waldur.Hex(id)}, &r)
}

// ReportUsage calls report_usage. Leave in.DryRun nil for a dry run.
func (c *Client) ReportUsage(ctx context.Context, in ReportUsageInput) (UsageReport, error) {
	var r UsageReport
	return r, c.CallTool(ctx, ToolReportUsage, in, &r)
}
