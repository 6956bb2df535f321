package agentmetrics_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentmetrics"
	"github.com/gsv-platform/waldur-agent-go/siteagent/siteagenttest"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func scrape(t *testing.T, h http.Handler, path string) (int, string) {
	t.Helper()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, path, nil))
	body, _ := io.ReadAll(rec.Body)
	return rec.Code, string(body)
}

func TestMetricsOfAnAgentAtWork(t *testing.T) {
	fake := waldurtest.NewServer(t)
	offering := fake.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{{Type: "cpu", BillingType: "usage"}}})
	done := fake.AddOrder(waldurtest.OrderSpec{Offering: offering})
	erred := fake.AddOrder(waldurtest.OrderSpec{Offering: offering, Attributes: map[string]any{"name": "too-big"}})

	m := agentmetrics.New(prometheus.NewRegistry())
	client, err := waldur.NewClient(fake.URL(), waldur.WithToken(fake.Token()),
		waldur.WithHTTPClient(&http.Client{Transport: m.Transport(nil), Timeout: time.Minute}))
	require.NoError(t, err)
	cfg := siteagenttest.Config(fake, offering)
	cfg.Client = client
	cfg.Observer = m
	cfg.Orders = siteagent.OrderProcessorFunc(func(_ context.Context, o *siteagent.Order) (siteagent.Result, error) {
		if o.UUID == erred {
			return siteagent.Result{}, siteagent.Permanentf("no capacity")
		}
		return siteagent.Result{BackendID: "b-1"}, nil
	})
	cfg.Usage = siteagent.UsageReporterFunc(func(context.Context, *waldur.Resource, siteagent.Period) (siteagent.Usage, error) {
		return siteagent.Usage{Totals: map[string]float64{"cpu": 1}}, nil
	})
	a, err := siteagent.New(cfg)
	require.NoError(t, err)
	m.Watch(a)
	ctx, stop := context.WithCancel(t.Context())
	ran := make(chan error, 1)
	go func() { ran <- a.Run(ctx) }()
	require.NoError(t, fake.WaitFor(t.Context(), func() bool {
		o1, _ := fake.Order(done)
		o2, _ := fake.Order(erred)
		return o1.State == waldur.OrderStateDone && o2.State == waldur.OrderStateErred && fake.CallCount("marketplace_component_usages_set_usage") > 0
	}))
	// Once Run returns, every counter the work touched is final.
	stop()
	require.NoError(t, <-ran)
	require.NoError(t, a.HandleEvent(t.Context(), siteagent.Event{ObjectType: waldur.ObservableObjectTypeOrder,
		Payload: &siteagent.OrderEvent{OrderUUID: done, OrderState: waldur.OrderStateDone}}))

	h := m.Wrap(a.HealthHandler())
	code, body := scrape(t, h, "/metrics")
	require.Equal(t, http.StatusOK, code)
	for _, want := range []string{
		`waldur_agent_orders_total{outcome="done"} 1`,
		`waldur_agent_orders_total{outcome="erred"} 1`,
		`waldur_agent_broker_connected{source="polling"} 1`,
		`waldur_agent_rest_requests_total{code="200",method="GET"}`,
		`waldur_agent_rest_requests_total{code="201",method="POST"}`,
		`waldur_agent_usage_pass_duration_seconds_count{result=`, // ok, or failed if the stop cut it short
		`waldur_agent_event_duration_seconds_count{object_type="order",result="ok"} 1`,
		`waldur_agent_events_total{result="processed"} 1`,
	} {
		assert.Contains(t, body, want)
	}
	code, _ = scrape(t, h, "/healthz")
	assert.Equal(t, http.StatusServiceUnavailable, code, "the health handler still answers: the agent has stopped")
}

func TestFailedCallsAndEvents(t *testing.T) {
	m := agentmetrics.New(prometheus.NewRegistry())
	rt := m.Transport(roundTripFunc(func(*http.Request) (*http.Response, error) { return nil, errors.New("refused") }))
	_, err := rt.RoundTrip(httptest.NewRequest(http.MethodPost, "http://waldur.invalid/api/x/", nil))
	require.Error(t, err)
	m.EventHandled(siteagent.Event{ObjectType: waldur.ObservableObjectTypeResource}, time.Second, errors.New("x"))
	m.UsagePassDone(waldur.UUID{}, time.Minute, errors.New("x"))

	_, body := scrape(t, m.Handler(), "/metrics")
	assert.Contains(t, body, `waldur_agent_rest_requests_total{code="error",method="POST"} 1`)
	assert.Contains(t, body, `waldur_agent_event_duration_seconds_count{object_type="resource",result="failed"} 1`)
	assert.Contains(t, body, `waldur_agent_usage_pass_duration_seconds_sum{result="failed"} 60`)
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

type shipper struct{}

func (shipper) Sent() int64    { return 7 }
func (shipper) Dropped() int64 { return 2 }

func TestWatchLogs(t *testing.T) {
	m := agentmetrics.New(prometheus.NewRegistry())
	m.WatchLogs(shipper{})
	_, body := scrape(t, m.Handler(), "/metrics")
	assert.Contains(t, body, `waldur_agent_log_records_total{result="dropped"} 2`)
	assert.Contains(t, body, `waldur_agent_log_records_total{result="shipped"} 7`)
}

// TestCorePackagesDoNotImportPrometheus keeps Prometheus out of every
// package but this one and the command built on it.
func TestCorePackagesDoNotImportPrometheus(t *testing.T) {
	goTool, err := exec.LookPath("go")
	if err != nil {
		t.Skip("no go command to list the import graph")
	}
	out, err := exec.Command(goTool, "list", "-deps=false", "-f", `{{.ImportPath}}{{range .Deps}} {{.}}{{end}}`, "github.com/gsv-platform/waldur-agent-go/...").Output()
	require.NoError(t, err)
	allowed := []string{"/siteagent/agentmetrics", "/cmd/"}
	checked := 0
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		pkg, deps, _ := strings.Cut(line, " ")
		if containsAny(pkg, allowed) {
			continue
		}
		checked++
		assert.NotContains(t, deps, "github.com/prometheus/", "%s imports Prometheus", pkg)
	}
	assert.Greater(t, checked, 10)
}

func containsAny(s string, subs []string) bool {
	for _, sub := range subs {
		if strings.Contains(s, sub) {
			return true
		}
	}
	return false
}
