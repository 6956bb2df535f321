package apikeys_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// healthAgent returns an agent (not running) whose health handler is to be
// protected.
func healthAgent(t testing.TB, fake *waldurtest.Server) *siteagent.Agent {
	t.Helper()
	offering := fake.AddOffering(waldurtest.OfferingSpec{})
	agent, err := siteagent.New(siteagent.Config{
		Client: fake.Client(), Token: fake.Token(), OfferingUUID: offering.String(),
		Orders: siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
			return siteagent.Result{}, nil
		}),
	})
	require.NoError(t, err)
	return agent
}

// TestMiddlewareExceptStats puts the agent's /stats behind a key while
// /healthz and /readyz stay open to probes.
func TestMiddlewareExceptStats(t *testing.T) {
	f := newFixture(t, nil)
	operator := f.issue(t, func(o *apikeys.IssueOptions) { o.Scopes = []string{"agent:operate"} }).Key.Format()
	reader := f.issue(t, func(o *apikeys.IssueOptions) { o.Scopes = []string{"agent:read"} }).Key.Format()
	agent := healthAgent(t, waldurtest.NewServer(t))
	h := apikeys.MiddlewareExcept(f.m, apikeys.MiddlewareConfig{Realm: "agent", Scopes: []string{"agent:operate"}},
		"/healthz", "/readyz")(agent.HealthHandler())

	keys := map[string]string{
		"no key": "", "unknown key": "wak_000000000000_0000000000000000000000000000",
		"reader": reader, "operator": operator,
	}
	tests := []struct {
		path, who string
		status    int
	}{
		{"/healthz", "no key", http.StatusServiceUnavailable}, // open; 503 as the agent is not running
		{"/readyz", "no key", http.StatusServiceUnavailable},
		{"/stats", "no key", http.StatusUnauthorized},
		{"/stats", "unknown key", http.StatusUnauthorized},
		{"/stats", "reader", http.StatusForbidden},
		{"/stats", "operator", http.StatusOK},
		{"/stats/", "no key", http.StatusUnauthorized},           // not listed: protected
		{"/healthz/../stats", "no key", http.StatusUnauthorized}, // not clean: protected
		{"/metrics", "no key", http.StatusUnauthorized},          // a route the handler may gain later
	}
	for _, tt := range tests {
		t.Run(tt.path+" "+tt.who, func(t *testing.T) {
			key := keys[tt.who]
			req := httptest.NewRequest(http.MethodGet, tt.path, nil)
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			assert.Equal(t, tt.status, rec.Code, rec.Body.String())
			if tt.status == http.StatusOK {
				var stats siteagent.Stats
				assert.NoError(t, json.Unmarshal(rec.Body.Bytes(), &stats), "the agent's Stats")
			}
			if tt.status == http.StatusUnauthorized {
				assert.Contains(t, rec.Header().Get("WWW-Authenticate"), `realm="agent"`)
				assert.NotContains(t, rec.Body.String(), "orders_done", "no counters without a key")
			}
		})
	}
}

// The site agent's health handler with /stats behind an operator's key;
// orchestrators keep probing /healthz and /readyz without one.
func ExampleMiddlewareExcept() {
	fake := waldurtest.New() // stands in for Waldur
	defer fake.Close()
	offering := fake.AddOffering(waldurtest.OfferingSpec{})
	agent, err := siteagent.New(siteagent.Config{
		Client: fake.Client(), Token: fake.Token(), OfferingUUID: offering.String(),
		Orders: siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
			return siteagent.Result{}, nil
		}),
	})
	if err != nil {
		panic(err)
	}
	keys, _ := apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore()})
	ops, _ := keys.Issue(context.Background(), apikeys.IssueOptions{
		Name: "operations", Scopes: []string{"agent:operate"}, TTL: 24 * time.Hour,
	})

	health := apikeys.MiddlewareExcept(keys, apikeys.MiddlewareConfig{
		Realm:  "agent",
		Scopes: []string{"agent:operate"}, // mcp.ScopeAgentOperate
	}, "/healthz", "/readyz")(agent.HealthHandler())

	for _, key := range []string{"", ops.Key.Format()} {
		for _, path := range []string{"/readyz", "/stats"} {
			req := httptest.NewRequest(http.MethodGet, path, nil)
			if key != "" {
				req.Header.Set("Authorization", "Bearer "+key)
			}
			rec := httptest.NewRecorder()
			health.ServeHTTP(rec, req)
			fmt.Printf("%-7s with key %-5t %d\n", path, key != "", rec.Code)
		}
	}
	// Output:
	// /readyz with key false 503
	// /stats  with key false 401
	// /readyz with key true  503
	// /stats  with key true  200
}
