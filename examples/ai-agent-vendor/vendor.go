package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/mcp"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/widget"
)

// The vendor sells an "AI agent" through Waldur. Each order gets a resource
// with two API keys bound to the customer's project; with a key the customer
// reaches the agent's MCP endpoint and its chat API; every chat call and MCP
// tool call counts as a request, and chat counts tokens too; both are billed
// as the offering's usage components.

// Scopes granted to every customer key: the chat API and the read-only MCP
// tools about the agent (its health and offerings).
var customerScopes = []string{"chat:write", mcp.ScopeAgentRead}

// Metered components, as the offering in Waldur names them (ktokens is
// billed per thousand tokens).
const (
	componentRequests = "requests"
	componentTokens   = "tokens"
	offeringKTokens   = "ktokens"
)

// vendorConfig is what the vendor's agent needs to run.
type vendorConfig struct {
	Client   *waldur.Client
	Token    string // the agent's Waldur token (also its RabbitMQ password)
	Offering string
	// Listener serves the MCP endpoint and the chat API; PublicURL is how
	// customers reach it, published as the resource's endpoints.
	Listener  net.Listener
	PublicURL string
	// Keys stores the key hashes; a persistent store in production.
	Keys apikeys.Store
	// Events overrides the agent's event source (the demo's in-process one).
	Events siteagent.EventSource
	// WidgetOrigins are the pages that may embed the status widget served
	// at /widget/ (the customers' portal).
	WidgetOrigins []string
	// Intervals; zero means the package defaults.
	MeterInterval, UsageInterval, ReconcileInterval time.Duration
	Logger                                          *slog.Logger
}

// vendor is the running service: key manager, meter, site agent, MCP
// server, status widget and HTTP server.
type vendor struct {
	offering waldur.UUID
	keys     *apikeys.Manager
	meter    *apikeys.Meter
	agent    *siteagent.Agent
	mcp      *mcp.Server
	srv      *http.Server
	ln       net.Listener
	log      *slog.Logger
}

func newVendor(cfg vendorConfig) (*vendor, error) {
	log := cfg.Logger
	keys, err := apikeys.New(apikeys.Config{Store: cfg.Keys, Logger: log})
	if err != nil {
		return nil, err
	}
	usage, err := apikeys.NewWaldurUsage(apikeys.WaldurUsageConfig{
		Client:     cfg.Client,
		Components: map[string]apikeys.UsageComponent{componentTokens: {Type: offeringKTokens, Per: 1000}},
		Logger:     log,
	})
	if err != nil {
		return nil, err
	}
	meter, err := usage.NewMeter(apikeys.MeterConfig{Interval: cfg.MeterInterval, Logger: log})
	if err != nil {
		return nil, err
	}
	provisioner, err := apikeys.NewProvisioner(apikeys.ProvisionerConfig{
		Keys:   keys,
		Client: cfg.Client,
		Next:   &agents{public: strings.TrimSuffix(cfg.PublicURL, "/"), ids: map[waldur.UUID]string{}},
		Scopes: customerScopes,
		TTL:    90 * 24 * time.Hour,
		Info:   siteagent.ProcessorInfo{Name: "AIAgentProcessor", BackendType: "ai-agent"},
		Logger: log,
	})
	if err != nil {
		return nil, err
	}
	agent, err := siteagent.New(siteagent.Config{
		Client:            cfg.Client,
		Token:             cfg.Token,
		OfferingUUID:      cfg.Offering,
		Orders:            provisioner,
		APIKeys:           provisioner,
		Usage:             usage,
		UsageInterval:     cfg.UsageInterval,
		ReconcileInterval: cfg.ReconcileInterval,
		Events:            siteagent.EventsConfig{Source: cfg.Events},
		Logger:            log,
	})
	if err != nil {
		return nil, err
	}
	srv, err := mcp.NewServer(mcp.Config{Agent: agent, Keys: keys, Logger: log, Name: "ai-agent"})
	if err != nil {
		return nil, err
	}
	status, err := widget.New(widget.Config{
		Keys: keys, Client: cfg.Client, Agent: agent, AllowedOrigins: cfg.WidgetOrigins, Logger: log,
	})
	if err != nil {
		return nil, err
	}
	offering, err := waldur.ParseUUID(cfg.Offering)
	if err != nil {
		return nil, fmt.Errorf("offering: %w", err)
	}

	mux := http.NewServeMux()
	mux.Handle("/mcp", apikeys.Middleware(keys, apikeys.MiddlewareConfig{Realm: "mcp", Logger: log})(
		meterToolCalls(meter, srv.Handler())))
	mux.Handle("POST /v1/chat", apikeys.Middleware(keys, apikeys.MiddlewareConfig{
		Realm: "chat", Scopes: []string{"chat:write"}, Meter: meter, Component: componentRequests, Logger: log,
	})(chatHandler(meter)))
	mux.Handle("/widget/", http.StripPrefix("/widget", status))
	return &vendor{
		offering: offering, keys: keys, meter: meter, agent: agent, mcp: srv, ln: cfg.Listener, log: log,
		srv: &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second},
	}, nil
}

// run serves until ctx ends, then stops the HTTP server, the agent, the
// meter (which flushes once more) and the key manager, and returns.
func (v *vendor) run(ctx context.Context) error {
	var wg sync.WaitGroup
	errs := make(chan error, 4)
	for _, fn := range []func(context.Context) error{v.agent.Run, v.meter.Run, v.keys.Run} {
		wg.Go(func() {
			if err := fn(ctx); err != nil && !errors.Is(err, context.Canceled) {
				errs <- err
			}
		})
	}
	wg.Go(func() {
		if err := v.srv.Serve(v.ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errs <- err
		}
	})
	<-ctx.Done()
	_ = v.mcp.Close() // end the MCP event streams, or Shutdown waits for them
	sctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	err := v.srv.Shutdown(sctx)
	wg.Wait()
	close(errs)
	for e := range errs {
		err = errors.Join(err, e)
	}
	return err
}

// widgetKey issues a project's key for the status widget on the customer's
// portal: bound to the project and this offering, read-only, since anyone
// who loads the page can read it.
func (v *vendor) widgetKey(ctx context.Context, project waldur.UUID) (apikeys.Issued, error) {
	return v.keys.Issue(ctx, apikeys.IssueOptions{
		Name:    "status widget",
		Binding: apikeys.Binding{ProjectUUID: project, OfferingUUID: v.offering},
		Scopes:  []string{widget.ScopeRead},
		TTL:     365 * 24 * time.Hour,
	})
}

// agents is the backend: it "deploys" an AI agent per resource and publishes
// where customers reach it. A real vendor would start a tenant, a container
// or a gateway route here.
type agents struct {
	public string
	mu     sync.Mutex
	ids    map[waldur.UUID]string
}

func (a *agents) ProcessOrder(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
	switch o.Type {
	case waldur.OrderTypeCreate, waldur.OrderTypeRestore:
		// Idempotent: a retried order finds the deployment it made.
		a.mu.Lock()
		id, ok := a.ids[o.ResourceUUID]
		if !ok {
			id = fmt.Sprintf("agent-%d", len(a.ids)+1)
			a.ids[o.ResourceUUID] = id
		}
		a.mu.Unlock()
		return siteagent.Result{
			BackendID: id,
			Endpoints: []siteagent.Endpoint{
				{Name: "MCP endpoint", URL: a.public + "/mcp"},
				{Name: "Chat API", URL: a.public + "/v1/chat"},
			},
		}, nil
	case waldur.OrderTypeTerminate:
		a.mu.Lock()
		delete(a.ids, o.ResourceUUID)
		a.mu.Unlock()
		return siteagent.Result{}, nil
	default: // Update: nothing to change for a usage-billed agent
		return siteagent.Result{}, nil
	}
}

// chatRequest and chatReply are the chat API's JSON bodies.
type chatRequest struct {
	Prompt string `json:"prompt"`
}

type chatReply struct {
	Reply  string `json:"reply"`
	Tokens int64  `json:"tokens"`
}

// chatHandler is a stand-in for a model: it answers every prompt and meters the
// tokens of prompt and reply (words, here) against the caller's key.
func chatHandler(meter *apikeys.Meter) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var req chatRequest
		if err := json.NewDecoder(io.LimitReader(r.Body, 1<<20)).Decode(&req); err != nil || req.Prompt == "" {
			http.Error(w, `{"error": "a JSON body with a prompt is required"}`, http.StatusBadRequest)
			return
		}
		reply := "Noted: " + req.Prompt
		tokens := int64(len(strings.Fields(req.Prompt)) + len(strings.Fields(reply)))
		meter.AddContext(r.Context(), componentTokens, tokens)
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(chatReply{Reply: reply, Tokens: tokens})
	})
}

// meterToolCalls counts each MCP tool call as a request of the verified key
// in the context, so that session set-up and listings are free.
func meterToolCalls(meter *apikeys.Meter, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost {
			body, err := io.ReadAll(io.LimitReader(r.Body, 4<<20))
			if err != nil {
				http.Error(w, "unreadable body", http.StatusBadRequest)
				return
			}
			r.Body = io.NopCloser(bytes.NewReader(body))
			var msg struct {
				Method string `json:"method"`
			}
			if json.Unmarshal(body, &msg) == nil && msg.Method == "tools/call" {
				meter.AddContext(r.Context(), componentRequests, 1)
			}
		}
		next.ServeHTTP(w, r)
	})
}
