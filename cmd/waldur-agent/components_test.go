package main_test

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// componentCalls serves the component actions in front of the fake and
// records their bodies; everything else goes to the fake.
type componentCalls struct {
	mu    sync.Mutex
	calls []string
	fail  string // a component type to refuse
}

func (c *componentCalls) wrap(t *testing.T, fake *waldurtest.Server) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && (strings.HasSuffix(r.URL.Path, "/create_offering_component/") || strings.HasSuffix(r.URL.Path, "/update_offering_component/")) {
			body, _ := io.ReadAll(r.Body)
			var m map[string]any
			_ = json.Unmarshal(body, &m)
			parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
			c.mu.Lock()
			c.calls = append(c.calls, parts[len(parts)-1]+" "+string(body))
			refuse := m["type"] == c.fail
			c.mu.Unlock()
			if refuse {
				w.WriteHeader(http.StatusBadRequest)
				_, _ = io.WriteString(w, `{"billing_type": ["Invalid."]}`)
				return
			}
			w.WriteHeader(http.StatusCreated)
			return
		}
		fake.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func (c *componentCalls) recorded() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.calls...)
}

func TestLoadComponents(t *testing.T) {
	fake := waldurtest.NewServer(t)
	offering := fake.AddOffering(waldurtest.OfferingSpec{Name: "Cluster", Components: []waldurtest.ComponentSpec{
		{Type: "cpu", Name: "CPU", MeasuredUnit: "k-Hours", BillingType: "usage", LimitPeriod: "annual"},
		{Type: "mem", Name: "Memory", MeasuredUnit: "GB-Hours", BillingType: "usage"},
		{Type: "gpu", Name: "GPU", MeasuredUnit: "Hours", BillingType: "usage"},
	}})
	var calls componentCalls
	srv := calls.wrap(t, fake)
	cfg := writeComponentsConfig(t, srv.URL, fake.Token(), offering, `
      cpu: {measured_unit: k-Hours, accounting_type: usage, label: CPU hours, limit: 1000}
      mem: {measured_unit: GB-Hours, accounting_type: usage, label: Memory}
      storage: {measured_unit: TB, accounting_type: limit, label: Storage}`)

	r := agent(t, "load-components", "-config", cfg)
	assert.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Equal(t, `offering "Cluster" (`+waldur.Hex(offering)+`):
  ~ cpu: name: "CPU" → "CPU hours"; limit_amount: "none" → "1000"
  = mem: unchanged
  + storage: create (name "Storage", unit "TB", billing limit)
    gpu: in the offering, not in the file; left alone
dry run: 2 to push; run again with -apply to push them
`, r.stdout)
	assert.Empty(t, calls.recorded(), "a dry run changes nothing")

	calls.mu.Lock()
	calls.fail = "storage"
	calls.mu.Unlock()
	r = agent(t, "load-components", "-config", cfg, "-apply")
	assert.Equal(t, 1, r.code)
	assert.Contains(t, r.stdout, "✓ cpu: updated\n")
	assert.Contains(t, r.stdout, `✗ storage: create_offering_component: 400 Bad Request {"billing_type": ["Invalid."]}`)
	cpu, _ := fake.Offering(offering)
	got := calls.recorded()
	require.Len(t, got, 2)
	assert.Contains(t, got[0], `update_offering_component {"uuid":"`+waldur.Hex(cpu.Components[0].UUID)+`","type":"cpu","name":"CPU hours","measured_unit":"k-Hours","billing_type":"usage","limit_amount":1000,"limit_period":"annual"}`)
	assert.Equal(t, `create_offering_component {"type":"storage","name":"Storage","measured_unit":"TB","billing_type":"limit"}`, got[1])
}

func writeComponentsConfig(t *testing.T, url, token string, offering waldur.UUID, components string) string {
	path := t.TempDir() + "/agent.yaml"
	require.NoError(t, os.WriteFile(path, []byte(`offerings:
  - name: Cluster
    waldur_api_url: `+url+`/api/
    waldur_api_token: `+token+`
    waldur_offering_uuid: `+waldur.Hex(offering)+`
    backend_type: exec
    backend_components:`+components+"\n"), 0o600))
	return path
}
