package agentmetrics_test

import (
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/gsv-platform/waldur-agent-go/siteagent/agentmetrics"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// REST calls to Waldur counted by status, served on /metrics next to the
// agent's health endpoints.
func Example() {
	fake := waldurtest.New()
	defer fake.Close()
	m := agentmetrics.New(prometheus.NewRegistry())
	hc := &http.Client{Transport: m.Transport(nil)}

	resp, _ := hc.Get(fake.URL() + "/api/users/me/") // no token: 401
	resp.Body.Close()

	health := http.NotFoundHandler() // an agent's HealthHandler in a program
	rec := httptest.NewRecorder()
	m.Wrap(health).ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	body, _ := io.ReadAll(rec.Body)
	for _, line := range strings.Split(string(body), "\n") {
		if strings.HasPrefix(line, "waldur_agent_rest_requests_total") {
			fmt.Println(line)
		}
	}
	// Output:
	// waldur_agent_rest_requests_total{code="401",method="GET"} 1
}
