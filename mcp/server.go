package mcp

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"time"

	sdk "github.com/modelcontextprotocol/go-sdk/mcp"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Defaults for the zero values of Config.
const (
	DefaultName           = "waldur-site-agent"
	DefaultSessionTimeout = 30 * time.Minute
)

// ErrInvalidConfig is wrapped by every error NewServer returns for a bad
// Config.
var ErrInvalidConfig = errors.New("mcp: invalid config")

// Config configures a Server. Agent or Client is required; every other zero
// value means the documented default.
type Config struct {
	// Agent is the site agent the server exposes: agent_health and the
	// status resource report its Stats, and its Client and Offerings are used
	// unless Client or Offerings are set.
	Agent *siteagent.Agent
	// Client talks to Waldur. Required unless Agent is set.
	Client *waldur.Client
	// Offerings are the offerings the tools act on; orders, resources, users
	// and keys of other offerings are answered as not found. Default: the
	// Agent's offerings; with no Agent, every offering the Waldur credentials
	// can see.
	Offerings []waldur.UUID

	// Keys verifies the API keys of HTTP callers (see Server.Handler); it is
	// typically an *apikeys.Manager. A key's scopes choose its tools and its
	// Binding the objects it sees. Required for Handler only: stdio and
	// in-process transports are trusted.
	Keys apikeys.Verifier

	// Logger receives one audit line per tool call, resource read and prompt
	// (level INFO, WARN for denials) and the go-sdk's warnings. Secrets are
	// never logged. Default: discard.
	Logger *slog.Logger

	// Name and Version identify the server to MCP clients. Defaults
	// DefaultName and waldur.Version.
	Name    string
	Version string
	// Instructions are shown to clients at initialisation. Default: a short
	// description of the tools and their scopes.
	Instructions string

	// SessionTimeout closes HTTP sessions idle for longer. Default
	// DefaultSessionTimeout; negative keeps them until the client ends them.
	SessionTimeout time.Duration
	// Stateless serves HTTP without sessions: every request is handled on
	// its own, so any replica can take it. Default false.
	Stateless bool
	// DisableLocalhostProtection turns off the go-sdk's guard against DNS
	// rebinding, which refuses (403) requests that arrive on a loopback
	// address with a Host header naming another host. Set it when a reverse
	// proxy on the same machine forwards requests with the public host name.
	// Default false.
	DisableLocalhostProtection bool

	// Now is the clock for default billing periods. Default time.Now.
	Now func() time.Time
}

// Server is an MCP server exposing a site agent's provider-side work in
// Waldur: orders, resources, usage, offering users, resource API keys and
// health. Create it with NewServer; it is safe for concurrent use.
//
// It serves two kinds of callers. Stdio and in-process transports (RunStdio,
// Run) are trusted: whoever can start or embed the process already holds the
// agent's Waldur token, so every tool is available. HTTP callers (Handler)
// present an API key and get only the tools their scopes grant, on only the
// objects inside the key's binding; see the package documentation.
type Server struct {
	cfg       Config
	client    *waldur.Client
	offerings []waldur.UUID
	log       *slog.Logger
	now       func() time.Time
	scopes    map[string]string // tool → scope, filled by addTools

	local  *sdk.Server // trusted transports
	remote *sdk.Server // HTTP, every request checked against its key's scopes
	http   http.Handler
}

// NewServer validates cfg and returns a server. It makes no network calls.
func NewServer(cfg Config) (*Server, error) {
	s := &Server{cfg: cfg, client: cfg.Client, log: cfg.Logger, now: cfg.Now}
	if s.client == nil && cfg.Agent != nil {
		s.client = cfg.Agent.Client()
	}
	if s.client == nil {
		return nil, fmt.Errorf("%w: Agent or Client is required", ErrInvalidConfig)
	}
	s.offerings = slices.Clone(cfg.Offerings)
	if s.offerings == nil && cfg.Agent != nil {
		s.offerings = cfg.Agent.Offerings()
	}
	for _, o := range s.offerings {
		if o == (waldur.UUID{}) {
			return nil, fmt.Errorf("%w: Offerings contains the nil UUID", ErrInvalidConfig)
		}
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	if s.now == nil {
		s.now = time.Now
	}
	if s.cfg.Name == "" {
		s.cfg.Name = DefaultName
	}
	if s.cfg.Version == "" {
		s.cfg.Version = waldur.Version
	}
	if s.cfg.Instructions == "" {
		s.cfg.Instructions = defaultInstructions
	}
	switch {
	case s.cfg.SessionTimeout == 0:
		s.cfg.SessionTimeout = DefaultSessionTimeout
	case s.cfg.SessionTimeout < 0:
		s.cfg.SessionTimeout = 0
	}

	s.scopes = make(map[string]string)
	s.local = s.newSDKServer(false)
	s.remote = s.newSDKServer(true)
	s.http = s.newHTTPHandler()
	return s, nil
}

const defaultInstructions = "Tools of a Waldur site agent, the service provider's side of the Waldur marketplace. " +
	"Pending orders wait for the provider's decision: read them with list_pending_orders and get_order, " +
	"then approve_order or reject_order with a reason. report_usage is a dry run unless dry_run is false. " +
	"Lists return next_cursor when more items exist; pass it back as cursor."

// newSDKServer builds one go-sdk server with every tool, resource and
// prompt. Two are built, so that the HTTP one can fail closed: a request
// without a verified key never reaches a tool there, even if the handler
// were mounted without authentication.
func (s *Server) newSDKServer(requireKey bool) *sdk.Server {
	srv := sdk.NewServer(&sdk.Implementation{
		Name:    s.cfg.Name,
		Title:   "Waldur site agent",
		Version: s.cfg.Version,
	}, &sdk.ServerOptions{
		Instructions: s.cfg.Instructions,
		Logger:       slog.New(minLevel{s.log.Handler(), slog.LevelWarn}),
		Capabilities: &sdk.ServerCapabilities{},
	})
	s.addTools(srv)
	s.addResources(srv)
	s.addPrompts(srv)
	srv.AddReceivingMiddleware(s.guard(requireKey))
	return srv
}

// Handler returns the streamable HTTP handler (MCP's HTTP transport) for
// remote callers. Every request must carry an API key as "Authorization:
// Bearer <key>" or "Authorization: Token <key>"; the key is verified by
// Config.Keys, which also applies its rate limit. Rejections are HTTP
// answers: 401 for a missing or invalid key, 429 when rate limited, 503 when
// the key store is unreachable. A valid key whose scopes do not cover a tool
// gets a tool error naming the missing scope, not an HTTP error, so one
// session can use the tools it is allowed.
//
// A key with an apikeys.Binding sees and acts on only the objects inside it;
// others are answered as not found (see the package documentation). A
// session is bound to the key that opened it. Without Config.Keys every
// request is refused with 503.
//
//	http.Handle("/mcp", srv.Handler())
func (s *Server) Handler() http.Handler { return s.http }

// RunStdio serves one client over standard input and output, as desktop MCP
// clients launch local servers, until the client disconnects or ctx ends.
// Standard output then carries the protocol, so log to standard error.
// The caller is trusted with every tool. It returns nil when ctx ends.
func (s *Server) RunStdio(ctx context.Context) error {
	return s.Run(ctx, &sdk.StdioTransport{})
}

// Run serves one client over t, a go-sdk transport (for example one of
// sdk.NewInMemoryTransports for an in-process client), until the client
// disconnects or ctx ends. Like RunStdio, the caller is trusted with every
// tool. It returns nil when ctx ends.
func (s *Server) Run(ctx context.Context, t sdk.Transport) error {
	err := s.local.Run(ctx, t)
	if ctx.Err() != nil && errors.Is(err, ctx.Err()) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("mcp: serve: %w", err)
	}
	return nil
}

// MCPServer returns the underlying go-sdk server of the trusted transports,
// for what this package does not wrap: connecting further transports
// (Connect) or adding tools of the program's own. Additions there are not
// served over Handler, whose server checks every call against its key, and
// tools added there have no scope: a caller that brings go-sdk token info
// (mounting this server behind the go-sdk's own auth) is refused them.
func (s *Server) MCPServer() *sdk.Server { return s.local }

// Close ends every open HTTP session, so that an http.Server's Shutdown does
// not wait for long-lived event streams. Requests after Close open new
// sessions; stop routing to Handler first.
func (s *Server) Close() error {
	var errs []error
	for ss := range s.remote.Sessions() {
		if err := ss.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("mcp: close sessions: %w", err)
	}
	return nil
}

// served reports whether the server acts on objects of offering o.
func (s *Server) served(o waldur.UUID) bool {
	return len(s.offerings) == 0 || slices.Contains(s.offerings, o)
}

// minLevel drops records below a level; the go-sdk logs every connection at
// INFO, which would drown the audit lines.
type minLevel struct {
	slog.Handler
	level slog.Level
}

func (h minLevel) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= h.level && h.Handler.Enabled(ctx, l)
}

func (h minLevel) WithAttrs(attrs []slog.Attr) slog.Handler {
	return minLevel{h.Handler.WithAttrs(attrs), h.level}
}

func (h minLevel) WithGroup(name string) slog.Handler {
	return minLevel{h.Handler.WithGroup(name), h.level}
}
