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
