package agentconfig_test

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// env is an environment for FromEnv.
type env map[string]string

func (e env) get(name string) string { return e[name] }

func TestFromEnvEveryVariable(t *testing.T) {
	cfg, err := agentconfig.FromEnv(env{
		"WALDUR_API_URL":                   "https://waldur.example.org",
		"WALDUR_API_TOKEN":                 "w_abc",
		"WALDUR_OFFERING_UUID":             " 5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b, 0e4f6a8c-2b1d-4c3e-9f7a-5d6b8c0e2a4f,,",
		"WALDUR_AGENT_NAME":                "storage-agent",
		"WALDUR_AGENT_CONCURRENCY":         "16",
		"WALDUR_AGENT_SHUTDOWN_TIMEOUT":    "45s",
		"WALDUR_AGENT_RECONCILE_INTERVAL":  "1m",
		"WALDUR_AGENT_HEARTBEAT_INTERVAL":  "90s",
		"WALDUR_AGENT_PROCESSOR_TIMEOUT":   "20m",
		"WALDUR_AGENT_ASYNC_POLL_INTERVAL": "30s",
		"WALDUR_AGENT_RETRY_BACKOFF":       "1s",
		"WALDUR_AGENT_MAX_RETRY_BACKOFF":   "5m",
		"WALDUR_AGENT_STUCK_ORDER_AGE":     "1h",
		"WALDUR_AGENT_ERROR_TRACEBACK":     "true",
		"WALDUR_AGENT_SYNC_INTERVAL":       "10m",
		"WALDUR_AGENT_USAGE_INTERVAL":      "1h",
		"WALDUR_AGENT_USAGE_PERIODS":       "3",
		"WALDUR_AGENT_TIME_ZONE":           "Europe/Tallinn",
		"WALDUR_AGENT_REPLICA_ID":          "agent-0",
		"WALDUR_AGENT_LEASE_TTL":           "2m",
		"WALDUR_AGENT_LEASE_SETTLE":        "2s",
		"WALDUR_EVENTS_MODE":               "AMQP",
		"WALDUR_EVENTS_AMQP_URL":           "amqps://rabbit.example.org:5671",
		"WALDUR_EVENTS_STOMP_URL":          "wss://waldur.example.org/rmqws-stomp",
		"WALDUR_EVENTS_RETRY_INTERVAL":     "30s",
		"WALDUR_EVENTS_DEDUP_WINDOW":       "-1s",
		"WALDUR_EVENTS_DEDUP_SIZE":         "5000",
	}.get)
	require.NoError(t, err)

	assert.Equal(t, "https://waldur.example.org", cfg.WaldurURL)
	assert.Equal(t, "w_abc", cfg.Token)
	assert.Equal(t, "5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b", cfg.OfferingUUID)
	assert.Equal(t, []string{"0e4f6a8c-2b1d-4c3e-9f7a-5d6b8c0e2a4f"}, cfg.OfferingUUIDs)
	assert.Equal(t, "storage-agent", cfg.Name)
	assert.Equal(t, 16, cfg.Concurrency)
	assert.Equal(t, 45*time.Second, cfg.ShutdownTimeout)
	assert.Equal(t, time.Minute, cfg.ReconcileInterval)
	assert.Equal(t, 90*time.Second, cfg.HeartbeatInterval)
	assert.Equal(t, 20*time.Minute, cfg.ProcessorTimeout)
	assert.Equal(t, 30*time.Second, cfg.AsyncPollInterval)
	assert.Equal(t, time.Second, cfg.RetryBackoff)
	assert.Equal(t, 5*time.Minute, cfg.MaxRetryBackoff)
	assert.Equal(t, time.Hour, cfg.StuckOrderAge)
	assert.True(t, cfg.ErrorTraceback)
	assert.Equal(t, 10*time.Minute, cfg.SyncInterval)
	assert.Equal(t, time.Hour, cfg.UsageInterval)
	assert.Equal(t, 3, cfg.UsagePeriods)
	require.NotNil(t, cfg.TimeZone)
	assert.Equal(t, "Europe/Tallinn", cfg.TimeZone.String())
	assert.Equal(t, siteagent.ReplicaConfig{ID: "agent-0", LeaseTTL: 2 * time.Minute, Settle: 2 * time.Second}, cfg.Replicas)
	assert.Equal(t, siteagent.EventsAMQP, cfg.Events.Mode)
	assert.Equal(t, "amqps://rabbit.example.org:5671", cfg.Events.AMQPURL)
	assert.Equal(t, "wss://waldur.example.org/rmqws-stomp", cfg.Events.STOMPURL)
	assert.Equal(t, 30*time.Second, cfg.Events.RetryInterval)
	assert.Equal(t, -time.Second, cfg.Events.DedupWindow)
	assert.Equal(t, 5000, cfg.Events.DedupSize)

	cfg.Orders = orders
	_, err = siteagent.New(cfg)
	assert.NoError(t, err, "what FromEnv reads, New accepts")
}

func TestFromEnvEmpty(t *testing.T) {
	cfg, err := agentconfig.FromEnv(env{}.get)
	require.NoError(t, err)
	assert.Zero(t, cfg.WaldurURL)
	assert.Zero(t, cfg.Concurrency)
	assert.Equal(t, siteagent.EventsAuto, cfg.Events.Mode)
	assert.Nil(t, cfg.TimeZone)
}

func TestApplyEnvKeepsUnsetFields(t *testing.T) {
	cfg := siteagent.Config{
		WaldurURL:     "https://from-file.example.org",
		Token:         "from-file",
		OfferingUUID:  "5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b",
		OfferingUUIDs: []string{"0e4f6a8c2b1d4c3e9f7a5d6b8c0e2a4f"},
		Concurrency:   4,
	}
	require.NoError(t, agentconfig.ApplyEnv(&cfg, env{
		"WALDUR_API_TOKEN":     "from-env",
		"WALDUR_OFFERING_UUID": "c3a5e7f9b1d24f6a8c0e2b4d6f8a0c2e",
	}.get))
	assert.Equal(t, "https://from-file.example.org", cfg.WaldurURL)
	assert.Equal(t, "from-env", cfg.Token)
	assert.Equal(t, "c3a5e7f9b1d24f6a8c0e2b4d6f8a0c2e", cfg.OfferingUUID)
	assert.Empty(t, cfg.OfferingUUIDs, "the variable replaces the whole list")
	assert.Equal(t, 4, cfg.Concurrency)
}

func TestFromEnvReferenceAgentPeriods(t *testing.T) {
	legacy := env{
		"WALDUR_SITE_AGENT_ORDER_PROCESS_PERIOD_MINUTES":   "0.5",
		"WALDUR_SITE_AGENT_MEMBERSHIP_SYNC_PERIOD_MINUTES": "15",
		"WALDUR_SITE_AGENT_REPORT_PERIOD_MINUTES":          "60",
	}
	cfg, err := agentconfig.FromEnv(legacy.get)
	require.NoError(t, err)
	assert.Equal(t, 30*time.Second, cfg.ReconcileInterval)
	assert.Equal(t, 15*time.Minute, cfg.SyncInterval)
	assert.Equal(t, time.Hour, cfg.UsageInterval)

	legacy["WALDUR_AGENT_RECONCILE_INTERVAL"] = "2m"
	legacy["WALDUR_AGENT_USAGE_INTERVAL"] = "10m"
	cfg, err = agentconfig.FromEnv(legacy.get)
	require.NoError(t, err)
	assert.Equal(t, 2*time.Minute, cfg.ReconcileInterval, "our variable wins")
	assert.Equal(t, 15*time.Minute, cfg.SyncInterval)
	assert.Equal(t, 10*time.Minute, cfg.UsageInterval, "our variable wins")
}

func TestFromEnvTokenFile(t *testing.T) {
	dir := t.TempDir()
	good := filepath.Join(dir, "token")
	require.NoError(t, os.WriteFile(good, []byte("0a1b2c3d4e5f\n"), 0o600))
	two := filepath.Join(dir, "two")
	require.NoError(t, os.WriteFile(two, []byte("s3cr3t one\ns3cr3t two\n"), 0o600))

	cfg, err := agentconfig.FromEnv(env{"WALDUR_API_TOKEN_FILE": good}.get)
	require.NoError(t, err)
	assert.Equal(t, "0a1b2c3d4e5f", cfg.Token)

	for name, e := range map[string]env{
		"both":      {"WALDUR_API_TOKEN_FILE": good, "WALDUR_API_TOKEN": "s3cr3t"},
		"missing":   {"WALDUR_API_TOKEN_FILE": filepath.Join(dir, "absent")},
		"two lines": {"WALDUR_API_TOKEN_FILE": two},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := agentconfig.FromEnv(e.get)
			var ae *agentconfig.Error
			require.True(t, errors.As(err, &ae), "%v", err)
			assert.Equal(t, "WALDUR_API_TOKEN_FILE", ae.Key)
			assert.NotContains(t, err.Error(), "s3cr3t")
		})
	}
}

func TestFromEnvErrors(t *testing.T) {
	tests := []struct {
		name, variable, value, msg string
	}{
		{"offering not a UUID", "WALDUR_OFFERING_UUID", "5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b,storage", `"storage" is not a UUID`},
		{"offering list empty", "WALDUR_OFFERING_UUID", ", ,", "no UUID in the list"},
		{"concurrency zero", "WALDUR_AGENT_CONCURRENCY", "0", "whole number from 1 to 10000"},
		{"concurrency huge", "WALDUR_AGENT_CONCURRENCY", "7000000000000000000", "whole number from 1 to 10000"},
		{"usage periods huge", "WALDUR_AGENT_USAGE_PERIODS", "1000", "whole number from 1 to 120"},
		{"concurrency words", "WALDUR_AGENT_CONCURRENCY", "eight", "whole number"},
		{"duration without unit", "WALDUR_AGENT_SHUTDOWN_TIMEOUT", "30", "positive duration such as 90s"},
		{"negative interval", "WALDUR_AGENT_SYNC_INTERVAL", "-5m", "positive duration"},
		{"bool", "WALDUR_AGENT_ERROR_TRACEBACK", "sometimes", "not true or false"},
		{"time zone", "WALDUR_AGENT_TIME_ZONE", "Mars/Olympus", "not a time zone name"},
		{"mode", "WALDUR_EVENTS_MODE", "mqtt", "not one of auto, polling, amqp, stomp"},
		{"dedup window", "WALDUR_EVENTS_DEDUP_WINDOW", "an hour", "not a duration"},
		{"dedup size", "WALDUR_EVENTS_DEDUP_SIZE", "1e5", "not a whole number"},
		{"reference period", "WALDUR_SITE_AGENT_REPORT_PERIOD_MINUTES", "0", "positive number of minutes"},
		{"reference period huge", "WALDUR_SITE_AGENT_ORDER_PROCESS_PERIOD_MINUTES", "1e300", "positive number of minutes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := agentconfig.FromEnv(env{tt.variable: tt.value}.get)
			var e *agentconfig.Error
			require.True(t, errors.As(err, &e), "%v", err)
			assert.Equal(t, "environment", e.Source)
			assert.Equal(t, tt.variable, e.Key)
			assert.Contains(t, e.Msg, tt.msg)
			assert.Equal(t, "agentconfig: environment: "+tt.variable+": "+e.Msg, err.Error())
		})
	}
}

func TestFromEnvFirstErrorWins(t *testing.T) {
	_, err := agentconfig.FromEnv(env{
		"WALDUR_AGENT_CONCURRENCY":   "x",
		"WALDUR_AGENT_USAGE_PERIODS": "y",
	}.get)
	var e *agentconfig.Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, "WALDUR_AGENT_CONCURRENCY", e.Key)
}

func TestFromEnvTokenKind(t *testing.T) {
	cfg, err := agentconfig.FromEnv(env{"WALDUR_API_TOKEN": "eyJhbGciOi", "WALDUR_API_TOKEN_KIND": "oidc"}.get)
	require.NoError(t, err)
	assert.Equal(t, waldur.TokenOIDC, cfg.TokenKind)

	cfg, err = agentconfig.FromEnv(env{"WALDUR_API_TOKEN": "w_abc"}.get)
	require.NoError(t, err)
	assert.Equal(t, waldur.TokenAuto, cfg.TokenKind, "unset: siteagent guesses")

	_, err = agentconfig.FromEnv(env{"WALDUR_API_TOKEN": "x", "WALDUR_API_TOKEN_KIND": "bearer"}.get)
	var ae *agentconfig.Error
	require.True(t, errors.As(err, &ae), "%v", err)
	assert.Equal(t, "WALDUR_API_TOKEN_KIND", ae.Key)
}
