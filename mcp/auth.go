package mcp

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/modelcontextprotocol/go-sdk/auth"
	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
)

// Scopes an API key needs for the tools, resources and prompt; see the
// package documentation for which needs which. apikeys.ScopeGrants applies,
// so "orders:*" grants both order scopes and "*" everything.
const (
	ScopeAgentRead     = "agent:read"
	ScopeOrdersRead    = "orders:read"
	ScopeOrdersWrite   = "orders:write"
	ScopeResourcesRead = "resources:read"
	ScopeUsageRead     = "usage:read"
	ScopeUsageWrite    = "usage:write"
	ScopeKeysRead      = "keys:read"
	ScopeKeysWrite     = "keys:write"

	// ScopeAgentOperate is the operator scope: with it, an unbound key also
	// sees the agent's last error (Stats.LastError) in agent_health and the
	// status resource. The message may name any customer's orders and
	// resources, so a key with a Binding never sees it. It grants no tool.
	ScopeAgentOperate = "agent:operate"
)

// Outcomes in the audit log.
const (
	outcomeOK       = "ok"       // the call succeeded
	outcomeError    = "error"    // the tool ran and reported an error (isError)
	outcomeDenied   = "denied"   // the key lacks the scope
	outcomeRejected = "rejected" // a protocol error: unknown tool or resource, malformed request
)

// localCaller names trusted callers (stdio, in-process) in the audit log.
const localCaller = "local"

// bearerPlaceholder replaces the key in the Authorization header once the key
// is verified, so that the secret does not travel on into the go-sdk, whose
// handlers see the request headers.
const bearerPlaceholder = "Bearer verified"

// newHTTPHandler builds the HTTP chain: apikeys verifies the key (Bearer or
// Token scheme, rate limit, 401/429/503), then the verified identity is
// handed to the go-sdk as its token info, which binds each session to its
// key and reaches every request as RequestExtra.TokenInfo.
func (s *Server) newHTTPHandler() http.Handler {
	if s.cfg.Keys == nil {
		return http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{
				"error": "this MCP endpoint has no key verifier configured",
				"code":  apikeys.CodeUnavailable,
			})
		})
	}
	streamable := sdk.NewStreamableHTTPHandler(func(*http.Request) *sdk.Server { return s.remote }, &sdk.StreamableHTTPOptions{
		Stateless:                  s.cfg.Stateless,
		SessionTimeout:             s.cfg.SessionTimeout,
		DisableLocalhostProtection: s.cfg.DisableLocalhostProtection,
		Logger:                     slog.New(minLevel{s.log.Handler(), slog.LevelWarn}),
	})
	withToken := auth.RequireBearerToken(func(ctx context.Context, _ string, _ *http.Request) (*auth.TokenInfo, error) {
		id, ok := apikeys.FromContext(ctx)
		if !ok {
			return nil, auth.ErrInvalidToken
		}
		// The key's expiry was checked by apikeys with its own clock.
		return &auth.TokenInfo{UserID: id.Display, Scopes: id.Scopes, Extra: map[string]any{bindingExtra: id.Binding}}, nil
	}, &auth.RequireBearerTokenOptions{AllowMissingExpiration: true})(streamable)
	verified := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		r = r.Clone(r.Context())
		r.Header.Set("Authorization", bearerPlaceholder)
		withToken.ServeHTTP(w, r)
	})
	return apikeys.Middleware(s.cfg.Keys, apikeys.MiddlewareConfig{Realm: "mcp", Logger: s.log})(verified)
}

// caller is who sent an MCP request.
type caller struct {
	key        string          // loggable name: the key's display form, or localCaller
	restricted bool            // false for trusted transports
	scopes     []string        // what a restricted caller is granted
	binding    apikeys.Binding // what a restricted caller sees; see binding.go
	blind      bool            // sees nothing: no verified caller
}

// callerOf tells who sent req. On the HTTP server every request must carry
// token info; a request without it is refused (fail closed).
func callerOf(req sdk.Request, requireKey bool) (caller, bool) {
	if extra := req.GetExtra(); extra != nil && extra.TokenInfo != nil {
		ti := extra.TokenInfo
		key := ti.UserID
		if key == "" {
			key = "unnamed"
		}
		// Token info from elsewhere (the go-sdk's own auth in front of
		// MCPServer) carries no binding: such a key is unbound.
		b, _ := ti.Extra[bindingExtra].(apikeys.Binding)
		return caller{key: key, restricted: true, scopes: ti.Scopes, binding: b}, true
	}
	if requireKey {
		return caller{key: "none", restricted: true, blind: true}, false
	}
	return caller{key: localCaller}, true
}

func (c caller) allows(scope string) bool {
	if !c.restricted {
		return true
	}
	for _, g := range c.scopes {
		if apikeys.ScopeGrants(g, scope) {
			return true
		}
	}
	return false
}

func denial(scope, what string) string {
	return fmt.Sprintf("permission denied: the API key lacks the scope %q, which %s requires", scope, what)
}

// guard checks scopes, hands the caller on to the handlers (callerFrom) and
// writes the audit line for tool calls, resource reads and prompts; other
// methods (initialize, lists) pass through.
func (s *Server) guard(requireKey bool) sdk.Middleware {
	return func(next sdk.MethodHandler) sdk.MethodHandler {
		return func(ctx context.Context, method string, req sdk.Request) (sdk.Result, error) {
			switch method {
			case "tools/call":
				return s.guardTool(ctx, next, method, req, requireKey)
			case "resources/read", "prompts/get":
				return s.guardRead(ctx, next, method, req, requireKey)
			}
			return next(ctx, method, req)
		}
	}
}

func (s *Server) guardTool(ctx context.Context, next sdk.MethodHandler, method string, req sdk.Request, requireKey bool) (sdk.Result, error) {
	start := time.Now()
	name := ""
	if p, ok := req.GetParams().(*sdk.CallToolParamsRaw); ok && p != nil {
		name = p.Name
	}
	c, ok := callerOf(req, requireKey)
	scope, known := s.scopes[name]
	// A restricted caller gets only tools with a scope; tools added through
	// MCPServer have none.
	if !ok || (c.restricted && !known) || (known && !c.allows(scope)) {
		msg := "permission denied: no verified API key"
		switch {
		case ok && !known:
			msg = fmt.Sprintf("permission denied: the tool %q is not available to API keys", name)
		case ok:
			msg = denial(scope, "the tool "+name)
		}
		res := &sdk.CallToolResult{}
		res.SetError(&failure{msg: msg})
		s.audit(ctx, "mcp tool call", c, slog.String("tool", name), outcomeDenied, time.Since(start), msg)
		return res, nil
	}
	res, err := next(withCaller(ctx, c), method, req)
	outcome, msg := outcomeOK, ""
	switch r, _ := res.(*sdk.CallToolResult); {
	case err != nil:
		outcome, msg = outcomeRejected, err.Error()
	case r != nil && r.IsError:
		outcome = outcomeError
		if e := r.GetError(); e != nil {
			msg = e.Error()
		}
	}
	s.audit(ctx, "mcp tool call", c, slog.String("tool", name), outcome, time.Since(start), msg)
	return res, err
}

func (s *Server) guardRead(ctx context.Context, next sdk.MethodHandler, method string, req sdk.Request, requireKey bool) (sdk.Result, error) {
	start := time.Now()
	var attr slog.Attr
	var scope, what string
	switch p := req.GetParams().(type) {
	case *sdk.ReadResourceParams:
		attr = slog.String("resource", p.URI)
		scope, what = resourceScope(p.URI), "the resource "+p.URI
	case *sdk.GetPromptParams:
		attr = slog.String("prompt", p.Name)
		scope, what = ScopeOrdersRead, "the prompt "+p.Name
	}
	c, ok := callerOf(req, requireKey)
	if !ok || (scope != "" && !c.allows(scope)) {
		msg := "permission denied: no verified API key"
		if ok {
			msg = denial(scope, what)
		}
		s.audit(ctx, "mcp "+method, c, attr, outcomeDenied, time.Since(start), msg)
		return nil, fmt.Errorf("%s", msg)
	}
	res, err := next(withCaller(ctx, c), method, req)
	outcome, msg := outcomeOK, ""
	if err != nil {
		outcome, msg = outcomeRejected, err.Error()
	}
	s.audit(ctx, "mcp "+method, c, attr, outcome, time.Since(start), msg)
	return res, err
}

// resourceScope is the scope reading uri needs; "" for URIs that name no
// resource of this server (they get the go-sdk's not found).
func resourceScope(uri string) string {
	switch {
	case uri == StatusURI:
		return ScopeAgentRead
	case strings.HasPrefix(uri, orderURIPrefix):
		return ScopeOrdersRead
	case strings.HasPrefix(uri, resourceURIPrefix):
		return ScopeResourcesRead
	}
	return ""
}

// audit writes the one line per call: who, what, how it ended, how long it
// took. msg is a message this package or the go-sdk wrote; neither puts
// secrets in them.
func (s *Server) audit(ctx context.Context, event string, c caller, what slog.Attr, outcome string, d time.Duration, msg string) {
	level := slog.LevelInfo
	if outcome == outcomeDenied {
		level = slog.LevelWarn
	}
	attrs := []slog.Attr{
		slog.String("key", c.key),
		what,
		slog.String("outcome", outcome),
		slog.Duration("duration", d),
	}
	if msg != "" {
		attrs = append(attrs, slog.String("error", truncate(msg, 300)))
	}
	s.log.LogAttrs(ctx, level, event, attrs...)
}
