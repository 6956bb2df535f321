package agentconfig_test

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
)

// FuzzLoadSiteAgentYAML checks that any input either fails with an *Error
// or yields offerings whose Config siteagent.New accepts.
func FuzzLoadSiteAgentYAML(f *testing.F) {
	files, _ := filepath.Glob("testdata/*.yaml")
	for _, name := range files {
		b, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte("offerings:\n  - {waldur_api_url: 'http://[::1]:8/', waldur_api_token: t, waldur_offering_uuid: 5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b, stomp_enabled: on, stomp_ws_host: '::1'}\n"))
	f.Add([]byte("x: &x {waldur_api_token: t}\nofferings: [{<<: [*x, *x], waldur_api_url: 'https://h/', waldur_offering_uuid: 5b1d0c7e-3a9f-4e2d-8c6b-4a2f0e1d3c5b}]\n"))
	f.Add([]byte("offerings: [{<<: {<<: {<<: {}}}}]\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		file, err := agentconfig.LoadSiteAgentYAML(bytes.NewReader(data))
		if err != nil {
			var e *agentconfig.Error
			if !errors.As(err, &e) {
				t.Fatalf("error is %T, not *agentconfig.Error: %v", err, err)
			}
			return
		}
		if len(file.Offerings) == 0 {
			t.Fatal("success without offerings")
		}
		for i, o := range file.Offerings {
			cfg := o.Config
			cfg.Orders = orders
			if _, err := siteagent.New(cfg); err != nil {
				t.Fatalf("offering %d: siteagent.New refuses the mapped config: %v", i, err)
			}
			var v map[string]any
			_ = o.DecodeBackendSettings(&v)
			for _, c := range o.BackendComponents {
				_ = c.Decode(&v)
			}
		}
	})
}

// FuzzFromEnv checks that any value of any variable is read or refused with
// an *Error, and that a read duration or count is what New accepts.
func FuzzFromEnv(f *testing.F) {
	names := []string{
		"WALDUR_OFFERING_UUID", "WALDUR_AGENT_CONCURRENCY", "WALDUR_AGENT_SHUTDOWN_TIMEOUT",
		"WALDUR_AGENT_RECONCILE_INTERVAL", "WALDUR_SITE_AGENT_ORDER_PROCESS_PERIOD_MINUTES",
		"WALDUR_AGENT_ERROR_TRACEBACK", "WALDUR_AGENT_USAGE_PERIODS", "WALDUR_AGENT_TIME_ZONE",
		"WALDUR_EVENTS_MODE", "WALDUR_EVENTS_DEDUP_WINDOW", "WALDUR_EVENTS_DEDUP_SIZE",
	}
	for i, v := range []string{"5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b,x", "8", "1h", "0.25", "1e9", "true", "-3", "Europe/Tallinn", "stomp", "-1s", "99"} {
		f.Add(uint8(i), v)
	}
	f.Fuzz(func(t *testing.T, which uint8, value string) {
		name := names[int(which)%len(names)]
		cfg, err := agentconfig.FromEnv(env{name: value}.get)
		if err != nil {
			var e *agentconfig.Error
			if !errors.As(err, &e) || e.Key != name {
				t.Fatalf("error %v does not name %s", err, name)
			}
			return
		}
		cfg.WaldurURL, cfg.Token, cfg.Orders = "https://waldur.example.org", "t", orders
		if cfg.OfferingUUID == "" {
			cfg.OfferingUUID = "5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b"
		}
		if _, err := siteagent.New(cfg); err != nil {
			t.Fatalf("%s=%q: New refuses what FromEnv read: %v", name, value, err)
		}
	})
}
