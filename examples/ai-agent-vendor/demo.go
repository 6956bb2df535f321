package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/mcp"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
	"github.com/gsv-platform/waldur-agent-go/widget"
)

// The demo plays Waldur (an embedded fake), the consumer who orders the AI
// agent, and the consumer's client calling it, around the vendor's real
// agent.

// prompts are what the demo's client sends to the chat API.
var prompts = []string{
	"Summarise the climate run of last night",
	"Which jobs failed and why",
	"Draft a note to the project team",
}

// journey is what the demo did, for its test to check in the fake.
type journey struct {
	Offering, Project       waldur.UUID
	CreateOrder, Terminate  waldur.UUID
	Resource                waldur.UUID
	ToolCalls, ChatRequests int
	Tokens                  int64
	Widget                  widget.Status // what the portal's widget showed
}

// requestLimit is the consumer's monthly limit of requests, ordered with the
// agent; the widget shows the usage against it.
const requestLimit = 1000

// widgetView is what a check of the status widget needs while the portal
// shows it (step 9): where the pages are, the fake, the journey so far, and
// a way to issue widget keys for other projects.
type widgetView struct {
	Portal              *portal
	PortalURL, AgentURL string
	Fake                *waldurtest.Server
	Journey             journey
	Key                 string // the project's widget key
	IssueKey            func(ctx context.Context, project waldur.UUID) (string, error)
}

// fakeBroker hands the fake Waldur's events to the agent, as RabbitMQ does
// for a real one. The fake publishes while handling a request, so Publish
// never blocks: an event that does not fit is dropped, and the agent's
// periodic passes still find the work.
type fakeBroker struct{ ch chan waldurtest.Event }

func newFakeBroker() *fakeBroker { return &fakeBroker{ch: make(chan waldurtest.Event, 256)} }

func (b *fakeBroker) Publish(_ context.Context, e waldurtest.Event) error {
	select {
	case b.ch <- e:
	default:
	}
	return nil
}

// Run implements siteagent.EventSource.
func (b *fakeBroker) Run(ctx context.Context, h siteagent.EventHandler) error {
	for {
		select {
		case <-ctx.Done():
			return nil
		case e := <-b.ch:
			body, err := json.Marshal(e.Payload)
			if err != nil {
				continue
			}
			ev, err := siteagent.DecodeEvent(body, waldur.ObservableObjectType(e.ObjectType))
			if err == nil {
				_ = h(ctx, ev) // a failure is left to the agent's periodic passes
			}
		}
	}
}

// startFake starts the embedded Waldur with its broker.
func startFake() (*waldurtest.Server, *fakeBroker) {
	b := newFakeBroker()
	return waldurtest.New(waldurtest.WithEventSink(b)), b
}

// run plays the journey against fake, printing each step to out. check, when
// set, runs while the consumer's portal shows the status widget.
func run(ctx context.Context, fake *waldurtest.Server, broker *fakeBroker, out io.Writer, log *slog.Logger,
	check func(context.Context, widgetView) error) (journey, error) {
	var j journey
	step := func(format string, args ...any) { fmt.Fprintf(out, format+"\n", args...) }

	// 1. The vendor's offering in Waldur, billed by usage.
	j.Offering = fake.AddOffering(waldurtest.OfferingSpec{Name: "AI agent", Components: []waldurtest.ComponentSpec{
		{Type: componentRequests, Name: "Requests", MeasuredUnit: "requests", BillingType: "usage"},
		{Type: offeringKTokens, Name: "Tokens", MeasuredUnit: "1000 tokens", BillingType: "usage"},
	}})
	j.Project = fake.AddProject(waldurtest.ProjectSpec{Name: "Climate modelling"})
	step("1. Waldur at %s offers %q, billed by %s and %s.", fake.URL(), "AI agent", componentRequests, offeringKTokens)

	// 2. The vendor's agent: keys, metering, MCP, chat and the status widget
	// on a local port; the consumer's portal, which embeds the widget, on
	// another (so another origin).
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return j, err
	}
	pln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		ln.Close()
		return j, err
	}
	agentURL, portalURL := "http://"+ln.Addr().String(), "http://"+pln.Addr().String()
	v, err := newVendor(vendorConfig{
		Client: fake.Client(), Token: fake.Token(), Offering: waldur.Hex(j.Offering),
		Listener: ln, PublicURL: agentURL, Keys: apikeys.NewMemoryStore(), Events: broker,
		WidgetOrigins: []string{portalURL},
		MeterInterval: time.Second, UsageInterval: 200 * time.Millisecond, ReconcileInterval: time.Second, Logger: log,
	})
	if err != nil {
		ln.Close()
		pln.Close()
		return j, err
	}
	site, err := newPortal(agentURL)
	if err != nil {
		ln.Close()
		pln.Close()
		return j, err
	}
	psrv := &http.Server{Handler: site, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = psrv.Serve(pln) }()
	defer psrv.Close()
	vctx, stop := context.WithCancel(ctx)
	stopped := make(chan error, 1)
	go func() { stopped <- v.run(vctx) }()
	defer func() { stop(); <-stopped }()
	step("2. The vendor's site agent serves MCP, a chat API and a status widget at %s.", agentURL)

	// 3. A consumer orders the agent; the site agent provisions it.
	j.CreateOrder = fake.AddOrder(waldurtest.OrderSpec{Offering: j.Offering, Project: j.Project, ResourceName: "climate-assistant",
		Limits: map[string]int64{componentRequests: requestLimit}})
	step("3. The consumer orders %q for project %q, up to %d requests a month.", "climate-assistant", "Climate modelling", requestLimit)
	o, err := waitOrder(ctx, fake, j.CreateOrder)
	if err != nil {
		return j, err
	}
	j.Resource = o.MarketplaceResourceUUID
	r, _ := fake.Resource(j.Resource)
	keys := keysOf(fake, j.Resource)
	if len(keys) != 2 || len(r.Endpoints) != 2 {
		return j, fmt.Errorf("expected 2 keys and 2 endpoints, Waldur has %d and %d", len(keys), len(r.Endpoints))
	}
	step("   order %s; resource %s (backend id %s)", o.State, r.Name, r.BackendID)
	for _, e := range r.Endpoints {
		step("   endpoint %-13s %s", e.Name+":", e.URL)
	}
	for _, k := range keys {
		step("   API key %s: %s", k.ClientID, k.State)
	}

	// 4. The consumer reveals a key in Waldur and hands it to its client.
	key, _ := fake.APIKeySecret(keys[0].UUID)
	parsed, err := apikeys.Parse(key)
	if err != nil {
		return j, fmt.Errorf("the revealed key: %w", err)
	}
	step("4. The consumer reveals key %s: %s (the display form; the secret stays with the client).", keys[0].ClientID, parsed.Display())

	// 5. The client talks to the agent over MCP with the key.
	hc := &http.Client{Timeout: 30 * time.Second}
	defer hc.CloseIdleConnections()
	mcpURL, chatURL := r.Endpoints[0].URL, r.Endpoints[1].URL
	c, err := mcp.NewClient(ctx, mcp.ClientConfig{URL: mcpURL, APIKey: key, HTTPClient: hc, Name: "consumer-client"})
	if err != nil {
		return j, fmt.Errorf("MCP: %w", err)
	}
	h, err := c.Health(ctx)
	j.ToolCalls++
	if cerr := c.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return j, fmt.Errorf("MCP agent_health: %w", err)
	}
	step("5. MCP agent_health with the key: live=%t ready=%t, Waldur reachable=%t.", h.Live, h.Ready, h.Waldur.OK)

	// 6. ... and calls the chat API; every call is metered.
	step("6. The client chats with the key; requests and tokens are metered:")
	for _, p := range prompts {
		reply, status, err := chat(ctx, hc, chatURL, key, p)
		if err != nil || status != http.StatusOK {
			return j, fmt.Errorf("chat: status %d: %v", status, err)
		}
		j.ChatRequests++
		j.Tokens += reply.Tokens
		step("   %q → %q (%d tokens)", p, reply.Reply, reply.Tokens)
	}

	// 7. The consumer rotates the key: the new value works at once, the old
	// one until the grace period ends.
	if err := fake.RotateAPIKey(keys[0].UUID); err != nil {
		return j, err
	}
	if err := wait(ctx, fake, func() bool { k, _ := fake.APIKey(keys[0].UUID); return k.State == waldur.ResourceAPIKeyStateOK }); err != nil {
		return j, fmt.Errorf("rotation: %w", err)
	}
	rotated, _ := fake.APIKeySecret(keys[0].UUID)
	newReply, newStatus, _ := chat(ctx, hc, chatURL, rotated, "hello again")
	oldReply, oldStatus, _ := chat(ctx, hc, chatURL, key, "still there?")
	if newStatus != http.StatusOK || oldStatus != http.StatusOK {
		return j, fmt.Errorf("after rotation: new key %d, old key %d", newStatus, oldStatus)
	}
	j.ChatRequests += 2
	j.Tokens += newReply.Tokens + oldReply.Tokens
	step("7. The consumer rotates %s: the new key answers %d, the old one %d during the grace period.", keys[0].ClientID, newStatus, oldStatus)

	// 8. The usage reaches Waldur with the agent's next usage pass.
	if err := v.meter.Flush(ctx); err != nil {
		return j, err
	}
	wantRequests, wantKTokens := float64(j.ToolCalls+j.ChatRequests), float64(j.Tokens)/1000
	if err := wait(ctx, fake, func() bool {
		u := usageOf(fake, j.Resource)
		return u[componentRequests] == wantRequests && u[offeringKTokens] == round2(wantKTokens)
	}); err != nil {
		return j, fmt.Errorf("usage in Waldur: %w", err)
	}
	step("8. The agent's usage pass reports the metered totals; Waldur bills:")
	for _, u := range fake.ComponentUsages() {
		if u.ResourceUUID == j.Resource {
			step("   %s %-8s %8.2f", u.BillingPeriod.Format("2006-01"), u.Type, u.Usage)
		}
	}

	// 9. The consumer's portal embeds the status widget with a read-only key
	// of the project; here the demo asks for what the widget shows.
	wkey, err := v.widgetKey(ctx, j.Project)
	if err != nil {
		return j, err
	}
	site.page("/", wkey.Key.Format())
	if j.Widget, err = widgetStatus(ctx, hc, agentURL, portalURL, wkey.Key.Format()); err != nil {
		return j, fmt.Errorf("widget: %w", err)
	}
	step("9. The consumer's portal at %s/ embeds the agent's status widget (read-only key %s); it shows:", portalURL, wkey.Key.Display())
	for _, r := range j.Widget.Resources {
		var usage, keys []string
		for _, u := range r.Usage {
			s := fmt.Sprintf("%s %g", u.Name, u.Usage)
			if u.Limit != nil {
				s += fmt.Sprintf(" of %g", *u.Limit)
			}
			usage = append(usage, s+" ("+u.Unit+")")
		}
		for _, k := range r.Keys {
			keys = append(keys, k.ClientID+" "+k.State)
		}
		step("   %s %s: %s; keys %s", r.Name, r.State, strings.Join(usage, ", "), strings.Join(keys, ", "))
	}
	if a := j.Widget.Agent; a != nil {
		step("   and the agent: live=%t, ready=%t, events connected=%t", a.Live, a.Ready, a.Connected)
	}
	if check != nil {
		if err := check(ctx, widgetView{
			Portal: site, PortalURL: portalURL, AgentURL: agentURL, Fake: fake, Journey: j, Key: wkey.Key.Format(),
			IssueKey: func(ctx context.Context, project waldur.UUID) (string, error) {
				k, err := v.widgetKey(ctx, project)
				return k.Key.Format(), err
			},
		}); err != nil {
			return j, err
		}
	}

	// 10. The consumer terminates the agent: its keys stop working.
	j.Terminate = fake.AddOrder(waldurtest.OrderSpec{Offering: j.Offering, Project: j.Project, Type: "Terminate", Resource: j.Resource})
	if _, err := waitOrder(ctx, fake, j.Terminate); err != nil {
		return j, err
	}
	_, status, _ := chat(ctx, hc, chatURL, rotated, "are you there?")
	_, dialErr := mcp.NewClient(ctx, mcp.ClientConfig{URL: mcpURL, APIKey: rotated, HTTPClient: hc})
	if status != http.StatusUnauthorized || !errors.Is(dialErr, mcp.ErrUnauthorized) {
		return j, fmt.Errorf("after termination: chat %d, MCP %v", status, dialErr)
	}
	step("10. The consumer terminates it; the keys are revoked: chat answers %d, MCP refuses the session.", status)
	return j, nil
}

// chat calls the chat API with a key.
func chat(ctx context.Context, hc *http.Client, url, key, prompt string) (chatReply, int, error) {
	body, _ := json.Marshal(chatRequest{Prompt: prompt})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return chatReply{}, 0, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Content-Type", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		return chatReply{}, 0, err
	}
	defer resp.Body.Close()
	var reply chatReply
	if resp.StatusCode == http.StatusOK {
		err = json.NewDecoder(resp.Body).Decode(&reply)
	}
	return reply, resp.StatusCode, err
}

// widgetStatus reads the widget's status as the element on the portal does:
// the key in the Authorization header, the portal's origin.
func widgetStatus(ctx context.Context, hc *http.Client, agentURL, origin, key string) (widget.Status, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, agentURL+"/widget/status", nil)
	if err != nil {
		return widget.Status{}, err
	}
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Origin", origin)
	resp, err := hc.Do(req)
	if err != nil {
		return widget.Status{}, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return widget.Status{}, fmt.Errorf("status %d", resp.StatusCode)
	}
	var st widget.Status
	return st, json.NewDecoder(resp.Body).Decode(&st)
}

// wait polls the fake until cond holds, for at most 30 seconds.
func wait(ctx context.Context, fake *waldurtest.Server, cond func() bool) error {
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second)
	defer cancel()
	return fake.WaitFor(ctx, cond)
}

func waitOrder(ctx context.Context, fake *waldurtest.Server, id waldur.UUID) (waldur.Order, error) {
	err := wait(ctx, fake, func() bool {
		o, _ := fake.Order(id)
		return o.State == waldur.OrderStateDone || o.State == waldur.OrderStateErred
	})
	o, _ := fake.Order(id)
	if err == nil && o.State != waldur.OrderStateDone {
		err = fmt.Errorf("order %s %s: %s", o.Type, o.State, o.ErrorMessage)
	}
	return o, err
}

func keysOf(fake *waldurtest.Server, resource waldur.UUID) []waldur.ResourceAPIKey {
	var out []waldur.ResourceAPIKey
	for _, k := range fake.APIKeys() {
		if k.ResourceUUID == resource {
			out = append(out, k)
		}
	}
	return out
}

// usageOf returns a resource's usage in Waldur by component type.
func usageOf(fake *waldurtest.Server, resource waldur.UUID) map[string]float64 {
	out := make(map[string]float64)
	for _, u := range fake.ComponentUsages() {
		if u.ResourceUUID == resource {
			out[u.Type] = u.Usage
		}
	}
	return out
}

// round2 rounds as Waldur stores amounts, to two decimals.
func round2(v float64) float64 { return math.Round(v*100) / 100 }
