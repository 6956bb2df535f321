package main_test

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func TestLoadComponents(t *testing.T) {
	fake := waldurtest.NewServer(t)
	offering := fake.AddOffering(waldurtest.OfferingSpec{Name: "Cluster", Components: []waldurtest.ComponentSpec{
		{Type: "cpu", Name: "CPU", MeasuredUnit: "k-Hours", BillingType: "usage", LimitPeriod: "annual"},
		{Type: "mem", Name: "Memory", MeasuredUnit: "GB-Hours", BillingType: "usage"},
		{Type: "gpu", Name: "GPU", MeasuredUnit: "Hours", BillingType: "usage"},
	}})
	cfg := writeComponentsConfig(t, fake.URL(), fake.Token(), offering, `
      cpu: {measured_unit: k-Hours, accounting_type: usage, label: CPU hours, limit: 1000}
      mem: {measured_unit: GB-Hours, accounting_type: usage, label: Memory}
      storage: {measured_unit: TB, accounting_type: limit, label: Storage}`)

	r := agent(t, "load-components", "-config", cfg)
	assert.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Equal(t, `offering "Cluster" (`+waldur.Hex(offering)+`):
  ~ cpu: name: "CPU" → "CPU hours"; limit_amount: none → 1000
  = mem: unchanged
  + storage: create (name "Storage", unit "TB", billing limit)
    gpu: in the offering, not in the file; left alone
dry run: 2 to push; run again with -apply to push them
`, r.stdout)
	assert.Zero(t, fake.CallCount("marketplace_provider_offerings_create_offering_component")+
		fake.CallCount("marketplace_provider_offerings_update_offering_component"), "a dry run changes nothing")

	r = agent(t, "load-components", "-config", cfg, "-apply")
	assert.Equal(t, 0, r.code, r.stdout+r.stderr)
	assert.Contains(t, r.stdout, "✓ cpu: updated\n✓ storage: created\n")
	assert.Equal(t, 1, fake.CallCount("marketplace_provider_offerings_update_offering_component"), "mem is unchanged: not sent")
	o, _ := fake.Offering(offering)
	byType := map[string]waldur.OfferingComponent{}
	for _, c := range o.Components {
		byType[c.Type] = c
	}
	assert.Equal(t, "CPU hours", byType["cpu"].Name)
	require.NotNil(t, byType["cpu"].LimitAmount)
	assert.EqualValues(t, 1000, *byType["cpu"].LimitAmount)
	require.NotNil(t, byType["cpu"].LimitPeriod)
	assert.Equal(t, "annual", *byType["cpu"].LimitPeriod, "kept: the file sets no limit period")
	assert.Equal(t, waldur.BillingType("limit"), byType["storage"].BillingType)

	r = agent(t, "load-components", "-config", cfg)
	assert.Contains(t, r.stdout, "nothing to push")

	// A refusal is one ✗ line and exit 1; the others are still pushed.
	cfg = writeComponentsConfig(t, fake.URL(), fake.Token(), offering, `
      disk: {measured_unit: TB, accounting_type: limit, label: Disk}
      net: {measured_unit: GB, accounting_type: usage, label: Network}`)
	fake.FailNext("marketplace_provider_offerings_create_offering_component", 500, 1)
	r = agent(t, "load-components", "-config", cfg, "-apply")
	assert.Equal(t, 1, r.code, r.stdout+r.stderr)
	assert.Regexp(t, `✗ disk: .*500`, r.stdout)
	assert.Contains(t, r.stdout, "✓ net: created\n")
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

func TestDiagnoseSlurmBackend(t *testing.T) {
	fake := waldurtest.NewServer(t)
	offering := fake.AddOffering(waldurtest.OfferingSpec{Name: "HPC cluster"})
	path := t.TempDir() + "/agent.yaml"
	require.NoError(t, os.WriteFile(path, []byte(`offerings:
  - name: HPC cluster
    waldur_api_url: `+fake.URL()+`/api/
    waldur_api_token: `+fake.Token()+`
    waldur_offering_uuid: `+waldur.Hex(offering)+`
    backend_type: slurm
    backend_settings:
      default_account: root
      frobnicate: yes
    backend_components:
      cpu: {measured_unit: k-Hours, unit_factor: 60000, accounting_type: limit, label: CPU}
`), 0o600))
	r := agent(t, "diagnose", "-config", path)
	assert.Contains(t, r.stdout, "backend slurm\n")
	assert.NotContains(t, r.stdout, "✗ backend")
	assert.Regexp(t, `! backend: .*frobnicate`, r.stdout)
}
