package widget_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
	"github.com/gsv-platform/waldur-agent-go/widget"
)

const portal = "https://portal.example"

// world is a fake Waldur with two customers' projects, each with a resource
// of the same offering, its usage this month and its API keys, and the local
// keys a vendor would issue for their widgets.
type world struct {
	fake               *waldurtest.Server
	keys               *apikeys.Manager
	offering           uuid.UUID
	custA, custB       uuid.UUID
	projectA, projectB uuid.UUID
	resA, resB         uuid.UUID
	keyA, keyB         string // widget keys bound to each project
}

func newWorld(t testing.TB) *world {
	t.Helper()
	w := &world{fake: waldurtest.NewServer(t)}
	limit := int64(5000)
	w.offering = w.fake.AddOffering(waldurtest.OfferingSpec{Name: "AI agent", Components: []waldurtest.ComponentSpec{
		{Type: "requests", Name: "Requests", MeasuredUnit: "requests"},
		{Type: "ktokens", Name: "Tokens", MeasuredUnit: "1000 tokens", LimitAmount: &limit, LimitPeriod: "month"},
		{Type: "seats", Name: "Seats", BillingType: "fixed"},
	}})
	w.custA = w.fake.AddCustomer(waldurtest.CustomerSpec{Name: "Climate Institute"})
	w.custB = w.fake.AddCustomer(waldurtest.CustomerSpec{Name: "Other University"})
	w.projectA = w.fake.AddProject(waldurtest.ProjectSpec{Name: "Climate modelling", Customer: w.custA})
	w.projectB = w.fake.AddProject(waldurtest.ProjectSpec{Name: "Protein folding", Customer: w.custB})
	w.resA = w.fake.AddResource(waldurtest.ResourceSpec{Offering: w.offering, Project: w.projectA, Name: "climate-assistant",
		BackendID: "agent-1", Limits: map[string]int64{"requests": 1000}})
	w.resB = w.fake.AddResource(waldurtest.ResourceSpec{Offering: w.offering, Project: w.projectB, Name: "folding-assistant",
		BackendID: "agent-2"})
	w.fake.AddResource(waldurtest.ResourceSpec{Offering: w.offering, Project: w.projectA, Name: "old-assistant", State: "Terminated"})
	w.fake.AddComponentUsage(waldurtest.UsageSpec{Resource: w.resA, Type: "requests", Amount: "42"})
	w.fake.AddComponentUsage(waldurtest.UsageSpec{Resource: w.resA, Type: "ktokens", Amount: "1.25"})
	w.fake.AddComponentUsage(waldurtest.UsageSpec{Resource: w.resA, Type: "requests", Amount: "900", Date: time.Now().AddDate(0, -1, 0)})
	w.fake.AddComponentUsage(waldurtest.UsageSpec{Resource: w.resB, Type: "requests", Amount: "7"})
	w.fake.AddAPIKey(waldurtest.APIKeySpec{Resource: w.resA, ClientID: "agent-1-1"})
	w.fake.AddAPIKey(waldurtest.APIKeySpec{Resource: w.resA, ClientID: "agent-1-2", State: "Updating"})
	w.fake.AddAPIKey(waldurtest.APIKeySpec{Resource: w.resB, ClientID: "agent-2-1"})

	keys, err := apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore()})
	require.NoError(t, err)
	w.keys = keys
	w.keyA = w.issue(t, apikeys.Binding{ProjectUUID: w.projectA}, widget.ScopeRead)
	w.keyB = w.issue(t, apikeys.Binding{ProjectUUID: w.projectB}, widget.ScopeRead)
	// The resource's own key for agent-1-1, as the vendor's provisioner
	// would have issued it.
	_, err = keys.IssueForResource(context.Background(), apikeys.Binding{ProjectUUID: w.projectA, ResourceUUID: w.resA},
		apikeys.IssueOptions{ClientID: "agent-1-1", Scopes: []string{"chat:write"}, TTL: time.Hour})
	require.NoError(t, err)
	return w
}

// issue returns a new key bound to b with scopes.
func (w *world) issue(t testing.TB, b apikeys.Binding, scopes ...string) string {
	t.Helper()
	iss, err := w.keys.Issue(context.Background(), apikeys.IssueOptions{Binding: b, Scopes: scopes, TTL: time.Hour,
		RateLimit: apikeys.NoRateLimit()})
	require.NoError(t, err)
	return iss.Key.Format()
}

// handler returns the widget's handler over w with cfg's other fields.
func (w *world) handler(t testing.TB, cfg widget.Config) *widget.Handler {
	t.Helper()
	cfg.Keys = w.keys
	if cfg.Client == nil {
		cfg.Client = w.fake.Client(waldur.WithRetryPolicy(waldur.RetryPolicy{MaxRetries: -1}))
	}
	if cfg.AllowedOrigins == nil {
		cfg.AllowedOrigins = []string{portal}
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = -1
	}
	h, err := widget.New(cfg)
	require.NoError(t, err)
	return h
}

// get sends GET path to h with the key (if any) and extra headers.
func get(h http.Handler, path, key string, header ...string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func decodeStatus(t testing.TB, rec *httptest.ResponseRecorder) widget.Status {
	t.Helper()
	require.Equal(t, http.StatusOK, rec.Code, rec.Body.String())
	var st widget.Status
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &st))
	return st
}

func errorCode(t testing.TB, rec *httptest.ResponseRecorder) string {
	t.Helper()
	var body struct {
		Code string `json:"code"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body), rec.Body.String())
	return body.Code
}

// agentStub reports a fixed health.
type agentStub struct {
	live, ready bool
	stats       siteagent.Stats
}

func (a agentStub) Live() bool  { return a.live }
func (a agentStub) Ready() bool { return a.ready }
func (a agentStub) EventSourceStatus() siteagent.EventSourceStatus {
	return siteagent.EventSourceStatus{Name: "amqp", Connected: true}
}
func (a agentStub) Stats() siteagent.Stats { return a.stats }
