// Package mcp serves a Waldur site agent over the Model Context Protocol, so
// that AI agents and LLM runtimes can work the provider's side of the
// marketplace through typed tools: read and decide pending orders, inspect
// resources and their teams, report usage, look after resource API keys and
// check the agent's health.
//
// A Server wraps a siteagent.Agent (or just a waldur.Client) and is built on
// the official go-sdk. It speaks MCP over standard input and output, for
// desktop clients that launch it, and over streamable HTTP, for remote
// callers holding an API key:
//
//	keys, _ := apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore()})
//	srv, err := mcp.NewServer(mcp.Config{
//		Agent:  agent,  // a *siteagent.Agent; or Client: waldurClient
//		Keys:   keys,   // verifies HTTP callers' keys and their rate limits
//		Logger: logger, // audit lines
//	})
//	if err != nil {
//		return err
//	}
//	mux.Handle("/mcp", srv.Handler()) // streamable HTTP, API keys with scopes
//	// or, launched by a desktop client:
//	return srv.RunStdio(ctx)
//
// An agent runtime calls such an endpoint with Dial:
//
//	c, err := mcp.Dial(ctx, "https://agent.example.com/mcp", os.Getenv("SITE_AGENT_KEY"))
//	if err != nil {
//		return err
//	}
//	defer c.Close()
//	pending, err := c.ListPendingOrders(ctx, mcp.ListPendingOrdersInput{})
//
// # Tools
//
// Every tool has a JSON schema for its input and its output, inferred from
// the Go types in this package (ListPendingOrdersInput → OrderPage, ...), and
// annotations a client can show before a call. Over HTTP each tool requires
// one scope of the caller's key:
//
//	tool                     scope           annotations
//	agent_health             agent:read      read-only; the last error also needs agent:operate
//	list_offerings           agent:read      read-only
//	list_pending_orders      orders:read     read-only
//	get_order                orders:read     read-only
//	approve_order            orders:write    idempotent, destructive
//	reject_order(reason)     orders:write    idempotent, destructive
//	list_resources           resources:read  read-only
//	get_resource             resources:read  read-only
//	get_resource_team        resources:read  read-only
//	list_offering_users      resources:read  read-only
//	list_usages              usage:read      read-only
//	report_usage             usage:write     idempotent, destructive (totals are replaced); also for a dry run
//	list_resource_api_keys   keys:read       read-only
//	rotate_resource_api_key  keys:write      destructive
//
// Scopes follow apikeys.ScopeGrants: "orders:*" grants both order scopes,
// "*" grants everything. Server.ToolScopes returns the map. The operator
// scope agent:operate (ScopeAgentOperate) grants no tool: it shows an unbound
// key the agent's last error (Stats.LastError) in agent_health and the status
// resource, which is left out for everyone else, as it may name any
// customer's orders and resources.
//
// The tools act only on the offerings the server serves (Config.Offerings,
// by default the agent's); orders, resources and keys of other offerings are
// answered as not found. approve_order and reject_order act on orders in
// pending-provider and report an order already approved or rejected as
// unchanged, so a repeated call is harmless. report_usage is a dry run unless
// dry_run is false: it validates the totals against the offering's
// components and returns what it would send. list_resource_api_keys returns
// metadata only; Waldur never gives a provider the key values, and neither
// does this package. rotate_resource_api_key asks Waldur for a rotation,
// which Waldur allows to the resource's consumer: a provider's credentials
// may get a 403, reported as such.
//
// List tools take limit (1 to MaxListLimit, default DefaultListLimit) and
// cursor, and return next_cursor while more items exist. A cursor only
// continues the listing it came from.
//
// A tool's failure is a tool result with isError and a message written for
// the model: what was not found, which scope is missing, which state an order
// is in, what Waldur answered (404 becomes "not found", 401/403 name the
// agent's credentials, 409 names the state, 429 says when to retry). Only
// protocol problems (an unknown tool, a malformed request) are MCP errors.
//
// # Resources and prompt
//
// waldur-agent://status (agent:read) is the agent's liveness, readiness,
// offerings and counters (the last error as in agent_health); waldur://orders/{uuid} (orders:read) and
// waldur://resources/{uuid} (resources:read) read one order or resource as
// JSON. The prompt triage_pending_orders (orders:read) embeds the pending
// orders and asks the model to approve or reject each with a reason.
//
// # Trust, authentication and audit
//
// Stdio and in-process transports (RunStdio, Run) are trusted: whoever can
// start the process or embed the server already holds the agent's Waldur
// token, so every tool is open to them and they are logged as "local".
//
// Handler serves streamable HTTP behind apikeys: a key is accepted as
// "Authorization: Bearer <key>" or "Authorization: Token <key>". A missing or
// invalid key is answered 401, a key over its rate limit 429 (the limit counts
// HTTP requests), a failing key store 503; no MCP exchange happens. A valid
// key lacking a tool's scope gets a tool error naming the scope, so one
// session can use whatever its key allows; a resource or prompt outside its
// scopes is an MCP error naming the scope. Each session is bound to the key
// that opened it. The key itself goes no further than the verifier.
//
// Every tool call writes exactly one line to Config.Logger, "mcp tool call",
// with key (the key's public display form, or "local"), tool, outcome (ok,
// error, denied, rejected), duration and, unless ok, the message. Resource
// reads and prompts write "mcp resources/read" and "mcp prompts/get" lines
// alike. Secrets are never logged.
//
// # Keys bound to a customer, project or resource
//
// A key's apikeys.Binding narrows what it sees, in every tool, resource and
// prompt: each field set (customer, project, offering, resource) must match.
// Lists hold only the objects inside the binding; an order, resource or
// resource API key outside it is answered exactly as one that does not
// exist ("order … not found"), for reads and writes alike, so the key learns
// nothing of it. Orders and resources are matched by their customer_uuid,
// project_uuid, offering_uuid and resource UUID; resource API keys and usage
// by their resource; offering users by being on the team of a resource
// inside the binding (list_offering_users walks at most 500 such resources);
// offerings by the binding's offering. The counters of agent_health and
// status stay visible (they name no object); the last error does not.
//
// So a consumer's key from apikeys.Provisioner, bound to the consumer's
// resource, reaches that resource, its orders, usage and keys through MCP,
// and nothing of other consumers. A key without a binding sees every object
// of the served offerings, and trusted transports see everything.
//
// The site agent's own HTTP endpoint for Stats, /stats of
// siteagent.Agent.HealthHandler, shows the last error too; put it behind an
// operator's key with apikeys.MiddlewareExcept, leaving /healthz and /readyz
// open to probes:
//
//	health := apikeys.MiddlewareExcept(keys, apikeys.MiddlewareConfig{
//		Scopes: []string{mcp.ScopeAgentOperate},
//	}, "/healthz", "/readyz")(agent.HealthHandler())
package mcp
