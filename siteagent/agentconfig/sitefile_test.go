package agentconfig_test

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
)

// orders is a processor, so that mapped configs can go through siteagent.New.
var orders = siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
	return siteagent.Result{}, nil
})

func TestLoadSiteAgentFileSample(t *testing.T) {
	f, err := agentconfig.LoadSiteAgentFile("testdata/site-agent.yaml")
	require.NoError(t, err)
	require.Len(t, f.Offerings, 3)
	tallinn, err := time.LoadLocation("Europe/Tallinn")
	require.NoError(t, err)

	assert.Equal(t, slog.LevelWarn, f.LogLevel)
	require.Len(t, f.Warnings, 1)
	assert.Equal(t, agentconfig.Warning{Line: 10, Key: "defaults", Msg: "unknown key, ignored"}, f.Warnings[0])

	t.Run("polling offering with merged defaults", func(t *testing.T) {
		o := f.Offerings[0]
		assert.Equal(t, "HPC cluster", o.Name)
		assert.Equal(t, 16, o.Line)
		c := o.Config
		assert.Equal(t, "https://waldur.example.org/api/", c.WaldurURL)
		assert.Equal(t, "3f0c6b1e9a7d4c2b8e5f1a0d6c9b7e4a2f8d1c3b", c.Token)
		assert.Equal(t, "5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b", c.OfferingUUID)
		assert.Empty(t, c.OfferingUUIDs)
		assert.Empty(t, c.Name, "identity name stays the reference agent's agent-<uuid>")
		assert.Equal(t, tallinn.String(), c.TimeZone.String())
		assert.Equal(t, 3, c.UsagePeriods)
		assert.False(t, c.ErrorTraceback)
		assert.Equal(t, siteagent.EventsPolling, c.Events.Mode)
		assert.Empty(t, c.Events.STOMPURL)
		assert.Nil(t, c.Client)
		assert.Nil(t, c.Events.TLS)

		assert.Equal(t, "slurm", o.BackendType)
		assert.Equal(t, "slurm", o.OrderProcessingBackend)
		assert.Equal(t, "slurm", o.MembershipSyncBackend)
		assert.Equal(t, "slurm", o.ReportingBackend)
		assert.Equal(t, "base", o.UsernameManagementBackend)
		assert.False(t, o.ResourceImportEnabled)
		assert.True(t, o.PreserveUnmanagedBackendUsers)
		assert.False(t, o.OmitAnomalousUsageComponents)
		assert.True(t, o.VerifySSL)
		assert.Equal(t, map[string]any{
			"default_account": "root", "customer_prefix": "hpc_", "project_prefix": "hpc_",
			"allocation_prefix": "hpc_", "qos_default": "normal", "qos_paused": "paused",
			"enable_user_homedir_account_creation": true, "default_homedir_umask": "0077",
			"backend_id_max_retries": 20,
			"periodic_limits":        map[string]any{"enabled": true, "limit_type": "GrpTRESMins"},
		}, o.BackendSettings)

		require.Len(t, o.BackendComponents, 2)
		cpu, mem := o.BackendComponents[0], o.BackendComponents[1]
		assert.Equal(t, "cpu", cpu.Type)
		assert.Equal(t, "k-Hours", cpu.MeasuredUnit)
		assert.Equal(t, 60000.0, cpu.UnitFactor)
		assert.Equal(t, "usage", cpu.AccountingType)
		assert.Equal(t, "CPU", cpu.Label)
		require.NotNil(t, cpu.Limit)
		assert.Equal(t, 10.0, *cpu.Limit)
		assert.Equal(t, 42, cpu.Line)
		assert.Equal(t, "mem", mem.Type)
		assert.Nil(t, mem.Limit)
		assert.Equal(t, 60, mem.Fields["unit_factor_reporting"])
		assert.Equal(t, "RAM", mem.Fields["label"])

		cfg := o.Config
		cfg.Orders = orders
		_, err := siteagent.New(cfg)
		assert.NoError(t, err)
	})

	t.Run("web-STOMP offering with overrides", func(t *testing.T) {
		o := f.Offerings[1]
		c := o.Config
		assert.Equal(t, "Object storage", o.Name)
		assert.Equal(t, "https://waldur.example.org/api/", c.WaldurURL, "merged from the anchor")
		assert.Equal(t, "w_8KfQ2mZx7LpR4tVb9NcD3hJs6WqY1eGa", c.Token, "explicit key wins over the merge")
		assert.Equal(t, "0e4f6a8c-2b1d-4c3e-9f7a-5d6b8c0e2a4f", c.OfferingUUID, "kept as written")
		assert.Equal(t, siteagent.EventsSTOMP, c.Events.Mode)
		assert.Equal(t, "wss://mq.example.org:8443/ws", c.Events.STOMPURL)
		assert.Equal(t, "ceph_s3", o.BackendType)
		assert.Empty(t, o.MembershipSyncBackend)
		assert.Equal(t, "base", o.UsernameManagementBackend, "the reference agent's default")
		require.Len(t, o.BackendComponents, 1)
		st := o.BackendComponents[0]
		assert.Equal(t, 1.0, st.UnitFactor, "default")
		assert.Equal(t, map[string]any{"gb_k_hours": map[string]any{"factor": 1.0}}, st.Fields["target_components"])

		var extra struct {
			MaxValue int `yaml:"max_value"`
			Targets  map[string]struct {
				Factor float64 `yaml:"factor"`
			} `yaml:"target_components"`
		}
		require.NoError(t, st.Decode(&extra))
		assert.Equal(t, 100000, extra.MaxValue)
		assert.Equal(t, 1.0, extra.Targets["gb_k_hours"].Factor)

		var settings struct {
			Endpoint string `yaml:"endpoint"`
			Flavour  string `yaml:"flavour"`
		}
		require.NoError(t, o.DecodeBackendSettings(&settings))
		assert.Equal(t, "https://s3.example.org", settings.Endpoint)
		assert.Equal(t, "radosgw", settings.Flavour)

		cfg := c
		cfg.Orders = orders
		_, err := siteagent.New(cfg)
		assert.NoError(t, err)
	})

	t.Run("web-STOMP without TLS on the API host", func(t *testing.T) {
		c := f.Offerings[2].Config
		assert.Equal(t, siteagent.EventsSTOMP, c.Events.Mode)
		assert.Equal(t, "ws://waldur.lab.internal/rmqws-stomp", c.Events.STOMPURL,
			"the reference agent's default: API host name, port 80 without TLS")
		assert.Nil(t, f.Offerings[2].BackendSettings)
		assert.Empty(t, f.Offerings[2].BackendComponents)
		var s struct{ X string }
		assert.NoError(t, f.Offerings[2].DecodeBackendSettings(&s), "absent settings decode to nothing")
	})
}

func TestLoadSiteAgentFileLegacyWarnings(t *testing.T) {
	f, err := agentconfig.LoadSiteAgentFile("testdata/legacy.yaml")
	require.NoError(t, err)
	require.Len(t, f.Offerings, 1)

	var got []string
	for _, w := range f.Warnings {
		got = append(got, w.Key)
		assert.NotContains(t, w.String(), "not-used-here")
		assert.NotContains(t, w.String(), "0a1b2c3d4e5f")
	}
	assert.Equal(t, []string{
		"sentry_dsn",
		"elastic_apm_server_url",
		"global_proxy",
		"offerings[0].oidc_token_url",
		"offerings[0].oidc_client_id",
		"offerings[0].oidc_client_secret",
		"offerings[0].mqtt_enabled",
		"offerings[0].stomp_ws_host",
		"offerings[0].resource_import_enabled",
		"offerings[0].username_reconciliation_enabled",
		"offerings[0].verify_ssl",
		"offerings[0].homedir_umask",
	}, got)
	assert.Equal(t, "line 17: offerings[0].mqtt_enabled: ignored: MQTT was removed from Waldur's agent; events come over STOMP or AMQP",
		f.Warnings[6].String())
	assert.Equal(t, agentconfig.LogShipping{Enabled: true, Level: slog.LevelWarn, Interval: time.Minute}, f.LogShipping)

	o := f.Offerings[0]
	assert.True(t, o.ResourceImportEnabled)
	assert.False(t, o.VerifySSL)
	assert.Equal(t, siteagent.EventsPolling, o.Config.Events.Mode)
	require.NotNil(t, o.Config.Client, "verify_ssl: false builds a client that skips verification")
	require.NotNil(t, o.Config.Events.TLS)
	assert.True(t, o.Config.Events.TLS.InsecureSkipVerify)
	assert.Equal(t, slog.LevelInfo, f.LogLevel)
	assert.False(t, o.Config.ErrorTraceback, "our default when expose_backend_error_details is absent")

	cfg := o.Config
	cfg.Orders = orders
	_, err = siteagent.New(cfg)
	assert.NoError(t, err)
}

const (
	yURL   = "    waldur_api_url: https://waldur.example.org/api/\n"
	yToken = "    waldur_api_token: s3cr3t-t0ken-value\n"
	yUUID  = "    waldur_offering_uuid: 5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b\n"
)

func TestLoadSiteAgentYAMLErrors(t *testing.T) {
	tests := []struct {
		name string
		yaml string
		line int
		key  string
		msg  string
	}{
		{"empty", "", 0, "", "empty document"},
		{"syntax", "offerings:\n  - name: a\n    backend_type: slurm: x\n", 3, "", "mapping values are not allowed"},
		{"two documents", "offerings: []\n---\nofferings: []\n", 2, "", "more than one YAML document"},
		{"not a mapping", "- a\n- b\n", 1, "", "want a mapping of keys to values, found a list"},
		{"no offerings", "timezone: UTC\n", 1, "offerings", "required"},
		{"empty offerings", "offerings: []\n", 1, "offerings", "empty"},
		{"offerings not a list", "offerings: {a: 1}\n", 1, "offerings", "want a list"},
		{"repeated key", "offerings:\n  - name: a\n" + yURL + yURL + yToken + yUUID, 4, "", `mapping key "waldur_api_url" already defined at line 3`},
		{"missing url", "offerings:\n  - name: a\n" + yToken + yUUID, 2, "offerings[0].waldur_api_url", "required"},
		{"bad url", "offerings:\n  - waldur_api_url: waldur.example.org\n" + yToken + yUUID, 2, "offerings[0].waldur_api_url", "must be an absolute http or https URL"},
		{"url with credentials", "offerings:\n  - waldur_api_url: https://user:s3cr3t-t0ken-value@waldur.example.org/\n" + yToken + yUUID, 2, "offerings[0].waldur_api_url", "must not contain credentials"},
		{"url with fragment", "offerings:\n  - waldur_api_url: https://waldur.example.org/#x\n" + yToken + yUUID, 2, "offerings[0].waldur_api_url", "must not have a fragment"},
		{"token with a newline", "offerings:\n  - waldur_api_token: \"s3cr3t\\nx\"\n" + yURL + yUUID, 2, "offerings[0].waldur_api_token", "not usable as a token"},
		{"missing token", "offerings:\n  - name: a\n" + yURL + yUUID, 2, "offerings[0].waldur_api_token", "required"},
		{"oidc without a secret", "offerings:\n  - name: a\n" + yURL + yUUID + "    oidc_token_url: https://idp/t\n    oidc_client_id: c\n",
			5, "offerings[0].oidc_client_secret", "required with the other OIDC client credentials"},
		{"oidc token URL", "offerings:\n  - name: a\n" + yURL + yUUID + "    oidc_token_url: idp/t\n    oidc_client_id: c\n    oidc_client_secret: s3cr3t-t0ken-value\n",
			5, "offerings[0].oidc_token_url", "OIDC token URL"},
		{"log shipping level", "log_shipping:\n  level: loud\nofferings:\n  -\n" + yURL + yToken + yUUID, 2, "log_shipping.level", "not one of DEBUG"},
		{"log shipping batch", "log_shipping:\n  batch_size: 0\nofferings:\n  -\n" + yURL + yToken + yUUID, 2, "log_shipping.batch_size", "must be from 1"},
		{"missing uuid", "offerings:\n  - name: a\n" + yURL + yToken, 2, "offerings[0].waldur_offering_uuid", "required"},
		{"bad uuid", "offerings:\n  - waldur_offering_uuid: not-a-uuid\n" + yURL + yToken, 2, "offerings[0].waldur_offering_uuid", `"not-a-uuid" is not a UUID`},
		{"token as a list", "offerings:\n  - waldur_api_token: [s3cr3t-t0ken-value]\n" + yURL + yUUID, 2, "offerings[0].waldur_api_token", "want a single value, found a list"},
		{"bad bool", "offerings:\n  -\n" + yURL + yToken + yUUID + "    stomp_enabled: maybe\n", 6, "offerings[0].stomp_enabled", "want true or false"},
		{"bad port", "offerings:\n  -\n" + yURL + yToken + yUUID + "    stomp_enabled: true\n    stomp_ws_port: 99999\n", 7, "offerings[0].stomp_ws_port", "not a port number"},
		{"host with port", "offerings:\n  -\n" + yURL + yToken + yUUID + "    stomp_enabled: true\n    stomp_ws_host: mq:443\n", 7, "offerings[0].stomp_ws_host", "want a host name alone"},
		{"host with scheme", "offerings:\n  -\n" + yURL + yToken + yUUID + "    stomp_enabled: true\n    stomp_ws_host: wss://mq\n", 7, "offerings[0].stomp_ws_host", "want a host name alone"},
		{"host with path", "offerings:\n  -\n" + yURL + yToken + yUUID + "    stomp_enabled: true\n    stomp_ws_host: mq/ws\n", 7, "offerings[0].stomp_ws_host", "want a host name alone"},
		{"bad time zone", "timezone: Mars/Olympus\nofferings:\n  -\n" + yURL + yToken + yUUID, 1, "timezone", "not a time zone name"},
		{"bad log level", "log_level: loud\nofferings:\n  -\n" + yURL + yToken + yUUID, 1, "log_level", "not one of DEBUG"},
		{"periods out of range", "reporting_periods: 13\nofferings:\n  -\n" + yURL + yToken + yUUID, 1, "reporting_periods", "from 1 to 12"},
		{"settings not a mapping", "offerings:\n  -\n" + yURL + yToken + yUUID + "    backend_settings: [a]\n", 6, "offerings[0].backend_settings", "want a mapping"},
		{"bad accounting type", "offerings:\n  -\n" + yURL + yToken + yUUID + "    backend_components:\n      cpu: {measured_unit: h, label: CPU, accounting_type: daily}\n",
			7, "offerings[0].backend_components.cpu.accounting_type", `"daily" is not one of usage, limit, one`},
		{"component without label", "offerings:\n  -\n" + yURL + yToken + yUUID + "    backend_components:\n      cpu: {measured_unit: h, accounting_type: usage}\n",
			7, "offerings[0].backend_components.cpu.label", "required"},
		{"bad unit factor", "offerings:\n  -\n" + yURL + yToken + yUUID + "    backend_components:\n      cpu: {measured_unit: h, label: c, accounting_type: usage, unit_factor: lots}\n",
			7, "offerings[0].backend_components.cpu.unit_factor", "want a number"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(tt.yaml))
			require.Error(t, err)
			var e *agentconfig.Error
			require.True(t, errors.As(err, &e), "%T: %v", err, err)
			assert.Equal(t, tt.line, e.Line, "line of %v", err)
			assert.Equal(t, tt.key, e.Key, "key of %v", err)
			assert.Contains(t, e.Msg, tt.msg)
			assert.NotContains(t, err.Error(), "s3cr3t", "secrets stay out of errors")
		})
	}
}

func TestLoadSiteAgentFileNames(t *testing.T) {
	_, err := agentconfig.LoadSiteAgentFile("testdata/absent.yaml")
	assert.ErrorIs(t, err, os.ErrNotExist)

	path := t.TempDir() + "/agent.yaml"
	require.NoError(t, os.WriteFile(path, []byte("offerings: []\n"), 0o600))
	_, err = agentconfig.LoadSiteAgentFile(path)
	assert.EqualError(t, err, "agentconfig: "+path+": line 1: offerings: empty: nothing to serve")
}

func TestLoadSiteAgentYAMLTooLarge(t *testing.T) {
	big := strings.Repeat("#", agentconfig.MaxFileSize+1)
	_, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(big))
	var e *agentconfig.Error
	require.ErrorAs(t, err, &e)
	assert.Contains(t, e.Msg, "larger than")
}

func TestLoadSiteAgentYAMLLenientValues(t *testing.T) {
	in := "expose_backend_error_details: yes\nofferings:\n  -\n" + yURL + yToken +
		"    waldur_offering_uuid: \"12345678123412341234123456789012\"\n" +
		"    stomp_enabled: \"true\"\n    stomp_ws_port: \"15674\"\n    stomp_ws_path: /ws\n    websocket_use_tls: off\n" +
		"    mqtt_enabled: ~\n  -\n" + yURL + yToken +
		"    waldur_offering_uuid: 12345678123412341234123456789012\n"
	f, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(in))
	require.NoError(t, err)
	require.Len(t, f.Offerings, 2)
	c := f.Offerings[0].Config
	assert.True(t, c.ErrorTraceback)
	assert.Equal(t, "ws://waldur.example.org:15674/ws", c.Events.STOMPURL)
	assert.Equal(t, "12345678123412341234123456789012", f.Offerings[1].Config.OfferingUUID, "digits stay as written")

	var keys []string
	for _, w := range f.Warnings {
		keys = append(keys, w.Key)
	}
	assert.Equal(t, []string{"offerings[0].mqtt_enabled", "offerings[1]"}, keys)
	assert.Contains(t, f.Warnings[1].Msg, "same offering as offerings[0]")
}

func TestLoadSiteAgentYAMLHidesValuesInDecodeErrors(t *testing.T) {
	in := "offerings:\n  -\n" + yURL + yToken + yUUID + "    backend_settings:\n      api_token: s3cr3t-t0ken-value\n"
	f, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(in))
	require.NoError(t, err)
	var s struct {
		APIToken int `yaml:"api_token"`
	}
	err = f.Offerings[0].DecodeBackendSettings(&s)
	var e *agentconfig.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 7, e.Line, "the line of the value")
	assert.Equal(t, "backend_settings", e.Key)
	assert.NotContains(t, err.Error(), "s3cr")
}

func TestLoadSiteAgentYAMLAliases(t *testing.T) {
	// A merge chain and a list of merges: explicit keys win, then earlier
	// merged mappings.
	in := `
base: &base
  waldur_api_url: https://waldur.example.org/
  waldur_api_token: tok-base
site: &site
  <<: *base
  waldur_api_token: tok-site
  backend_type: slurm
other: &other
  backend_type: moab
  reporting_backend: moab
offerings:
  - <<: [*site, *other]
    waldur_offering_uuid: 5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b
`
	f, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(in))
	require.NoError(t, err)
	o := f.Offerings[0]
	assert.Equal(t, "https://waldur.example.org/", o.Config.WaldurURL)
	assert.Equal(t, "tok-site", o.Config.Token)
	assert.Equal(t, "slurm", o.BackendType)
	assert.Equal(t, "moab", o.ReportingBackend)
}

func TestLoadSiteAgentYAMLAliasBomb(t *testing.T) {
	in := `a: &a ["x","x","x","x","x","x","x","x","x"]
b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
offerings: [*g]
`
	_, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(in))
	var e *agentconfig.Error
	require.ErrorAs(t, err, &e)
	assert.Contains(t, e.Msg, "excessive aliasing")
}

func TestStompURL(t *testing.T) {
	tests := []struct {
		name, api, extra, want string
	}{
		{"defaults with TLS", "https://waldur.example.org/api/", "", "wss://waldur.example.org/rmqws-stomp"},
		{"API port is not the broker's", "https://waldur.example.org:8443/api/", "", "wss://waldur.example.org/rmqws-stomp"},
		{"default port written out", "https://waldur.example.org/api/", "    stomp_ws_port: 443\n", "wss://waldur.example.org/rmqws-stomp"},
		{"plain web-STOMP", "https://waldur.example.org/api/",
			"    websocket_use_tls: false\n    stomp_ws_host: rabbit\n    stomp_ws_port: 15674\n    stomp_ws_path: /ws\n", "ws://rabbit:15674/ws"},
		{"IPv6 host", "https://waldur.example.org/api/", "    stomp_ws_host: \"fd00::5\"\n", "wss://[fd00::5]/rmqws-stomp"},
		{"IPv6 host and port", "https://waldur.example.org/api/", "    stomp_ws_host: \"fd00::5\"\n    stomp_ws_port: 15673\n", "wss://[fd00::5]:15673/rmqws-stomp"},
		{"IPv6 host in brackets", "https://waldur.example.org/api/", "    stomp_ws_host: \"[fd00::5]\"\n", "wss://[fd00::5]/rmqws-stomp"},
		{"IPv6 API host", "https://[fd00::7]:8443/api/", "", "wss://[fd00::7]/rmqws-stomp"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := "offerings:\n  -\n    waldur_api_url: " + tt.api + "\n" + yToken + yUUID + "    stomp_enabled: true\n" + tt.extra
			f, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(in))
			require.NoError(t, err)
			cfg := f.Offerings[0].Config
			assert.Equal(t, tt.want, cfg.Events.STOMPURL)
			cfg.Orders = orders
			_, err = siteagent.New(cfg)
			assert.NoError(t, err)
		})
	}
}

func BenchmarkLoadSiteAgentYAML(b *testing.B) {
	data, err := os.ReadFile("testdata/site-agent.yaml")
	require.NoError(b, err)
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := agentconfig.LoadSiteAgentYAML(bytes.NewReader(data)); err != nil {
			b.Fatal(err)
		}
	}
}
