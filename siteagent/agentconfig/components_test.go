package agentconfig_test

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func ptr[T any](v T) *T { return &v }

const prepaidYAML = "offerings:\n  - name: Prepaid HPC\n" + yURL + yToken + yUUID + `    backend_type: slurm
    backend_settings:
      default_account: root
      periodic_limits:
        enabled: true
        limit_type: MaxTRESMins
        grace_ratio: 0.2
    backend_components:
      cpu:
        measured_unit: cores
        unit_factor: 1
        accounting_type: one
        label: CPU Cores
        limit: 64
        description: Cores for the prepaid term
        article_code: CPU-001
        limit_period: total
        min_value: 1
        max_value: 1024
        max_available_limit: 512
        default_limit: 8
        min_prepaid_duration: 1
        max_prepaid_duration: 12
        prepaid_duration_step: 1
        min_renewal_duration: 1
        max_renewal_duration: 12
        renewal_duration_step: 3
      gpu:
        measured_unit: hours
        accounting_type: limit
        label: GPU
        is_boolean: yes
`

func TestComponentSettings(t *testing.T) {
	f, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(prepaidYAML))
	require.NoError(t, err)
	o := f.Offerings[0]
	require.Len(t, o.BackendComponents, 2)
	cpu, gpu := o.BackendComponents[0], o.BackendComponents[1]

	assert.Equal(t, "Cores for the prepaid term", cpu.Description)
	assert.Equal(t, "total", cpu.LimitPeriod)
	assert.True(t, cpu.IsPrepaid, "accounting_type one is prepaid")
	assert.False(t, gpu.IsPrepaid)
	assert.True(t, gpu.IsBoolean)
	assert.Equal(t, ptr(12), cpu.MaxPrepaidDuration)
	assert.Equal(t, ptr(3), cpu.RenewalDurationStep)

	assert.Equal(t, []waldur.OfferingComponentRequest{{
		Type: "cpu", Name: "CPU Cores", BillingType: waldur.BillingTypeOne, MeasuredUnit: "cores",
		Description: "Cores for the prepaid term", ArticleCode: "CPU-001", LimitPeriod: ptr("total"),
		LimitAmount: ptr[int64](64), MinValue: ptr[int64](1), MaxValue: ptr[int64](1024),
		MaxAvailableLimit: ptr[int64](512), DefaultLimit: ptr[int64](8), IsPrepaid: true,
		MinPrepaidDuration: ptr(1), MaxPrepaidDuration: ptr(12), PrepaidDurationStep: ptr(1),
		MinRenewalDuration: ptr(1), MaxRenewalDuration: ptr(12), RenewalDurationStep: ptr(3),
	}, {
		Type: "gpu", Name: "GPU", BillingType: waldur.BillingTypeLimit, MeasuredUnit: "hours", IsBoolean: true,
	}}, o.ComponentRequests())

	assert.Equal(t, agentconfig.PeriodicLimits{Enabled: true, LimitType: "MaxTRESMins", Line: 9}, o.PeriodicLimits)
	require.Len(t, f.Warnings, 1)
	assert.Equal(t, "offerings[0].backend_settings.periodic_limits.grace_ratio", f.Warnings[0].Key)
}

// TestComponentRequestsPush publishes a file's components through the
// client, as a load-components command does.
func TestComponentRequestsPush(t *testing.T) {
	f, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(prepaidYAML))
	require.NoError(t, err)
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	_, err = s.Client().Offerings.PushComponents(t.Context(), off, f.Offerings[0].ComponentRequests())
	require.NoError(t, err)
	o, _ := s.Offering(off)
	require.Len(t, o.Components, 2)
	assert.Equal(t, "CPU Cores", o.Components[0].Name)
	assert.Equal(t, waldur.BillingTypeOne, o.Components[0].BillingType)
	assert.True(t, o.Components[0].IsPrepaid)
	assert.Equal(t, ptr[int64](64), o.Components[0].LimitAmount)
}

func TestComponentSettingsErrors(t *testing.T) {
	head := "offerings:\n  -\n" + yURL + yToken + yUUID + "    backend_type: slurm\n"
	comp := head + "    backend_components:\n      cpu:\n        measured_unit: h\n        accounting_type: usage\n        label: CPU\n"
	tests := []struct{ name, yaml, key string }{
		{"limit period", comp + "        limit_period: weekly\n", "offerings[0].backend_components.cpu.limit_period"},
		{"prepaid months", comp + "        max_prepaid_duration: 0\n", "offerings[0].backend_components.cpu.max_prepaid_duration"},
		{"whole numbers", comp + "        min_value: 1.5\n", "offerings[0].backend_components.cpu.min_value"},
		{"limit type", head + "    backend_settings:\n      periodic_limits:\n        limit_type: GrpJobs\n",
			"offerings[0].backend_settings.periodic_limits.limit_type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(tt.yaml))
			var cerr *agentconfig.Error
			require.ErrorAs(t, err, &cerr)
			assert.Equal(t, tt.key, cerr.Key)
		})
	}
}

// TestPeriodicLimitsOnlyForSlurm: enabled periodic limits on a backend that
// cannot apply them are not silently accepted.
func TestPeriodicLimitsOnlyForSlurm(t *testing.T) {
	in := "offerings:\n  -\n" + yURL + yToken + yUUID +
		"    backend_type: moab\n    backend_settings:\n      periodic_limits:\n        enabled: true\n"
	f, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(in))
	require.NoError(t, err)
	assert.False(t, f.Offerings[0].PeriodicLimits.Enabled)
	require.Len(t, f.Warnings, 1)
	assert.Equal(t, "offerings[0].backend_settings.periodic_limits.enabled", f.Warnings[0].Key)
	assert.Contains(t, f.Warnings[0].Msg, "only the Slurm backend")
}
