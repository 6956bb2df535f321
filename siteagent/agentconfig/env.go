package agentconfig

import (
	"fmt"
	"math"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// envSource names the environment in errors.
const envSource = "environment"

// FromEnv returns a siteagent.Config with the fields whose environment
// variables are set (see the package documentation for the list); every
// other field keeps its zero value, which siteagent.New reads as the
// documented default. Processors are code and are set by the program.
//
// Pass os.Getenv, or a map's lookup in tests. An unset variable and one set
// to "" are the same. FromEnv does not require anything: siteagent.New
// reports what is missing.
func FromEnv(getenv func(string) string) (siteagent.Config, error) {
	var cfg siteagent.Config
	err := ApplyEnv(&cfg, getenv)
	return cfg, err
}

// ApplyEnv sets the fields of cfg whose environment variables are set and
// leaves the others as they are, so the environment can override a
// configuration loaded from a file. WALDUR_OFFERING_UUID, when set, replaces
// both OfferingUUID and OfferingUUIDs.
//
// Waldur's reference agent's period variables
// (WALDUR_SITE_AGENT_ORDER_PROCESS_PERIOD_MINUTES,
// ..._MEMBERSHIP_SYNC_PERIOD_MINUTES and ..._REPORT_PERIOD_MINUTES) are read
// too, for ReconcileInterval, SyncInterval and UsageInterval, when the
// variable of this package for the same field is unset.
func ApplyEnv(cfg *siteagent.Config, getenv func(string) string) error {
	e := envReader{getenv: getenv}

	if v := e.get("WALDUR_API_URL"); v != "" {
		cfg.WaldurURL = v
	}
	if err := e.token(cfg); err != nil {
		return err
	}
	if v := e.get("WALDUR_OFFERING_UUID"); v != "" {
		ids, err := splitOfferings(v)
		if err != nil {
			return err
		}
		cfg.OfferingUUID, cfg.OfferingUUIDs = ids[0], ids[1:]
	}
	if v := e.get("WALDUR_AGENT_NAME"); v != "" {
		cfg.Name = v
	}
	e.count("WALDUR_AGENT_CONCURRENCY", maxConcurrency, &cfg.Concurrency)
	e.duration("WALDUR_AGENT_SHUTDOWN_TIMEOUT", &cfg.ShutdownTimeout)
	e.durationOrMinutes("WALDUR_AGENT_RECONCILE_INTERVAL", "WALDUR_SITE_AGENT_ORDER_PROCESS_PERIOD_MINUTES", &cfg.ReconcileInterval)
	e.duration("WALDUR_AGENT_HEARTBEAT_INTERVAL", &cfg.HeartbeatInterval)
	e.duration("WALDUR_AGENT_PROCESSOR_TIMEOUT", &cfg.ProcessorTimeout)
	e.duration("WALDUR_AGENT_ASYNC_POLL_INTERVAL", &cfg.AsyncPollInterval)
	e.duration("WALDUR_AGENT_RETRY_BACKOFF", &cfg.RetryBackoff)
	e.duration("WALDUR_AGENT_MAX_RETRY_BACKOFF", &cfg.MaxRetryBackoff)
	e.duration("WALDUR_AGENT_STUCK_ORDER_AGE", &cfg.StuckOrderAge)
	e.boolean("WALDUR_AGENT_ERROR_TRACEBACK", &cfg.ErrorTraceback)
	e.durationOrMinutes("WALDUR_AGENT_SYNC_INTERVAL", "WALDUR_SITE_AGENT_MEMBERSHIP_SYNC_PERIOD_MINUTES", &cfg.SyncInterval)
	e.durationOrMinutes("WALDUR_AGENT_USAGE_INTERVAL", "WALDUR_SITE_AGENT_REPORT_PERIOD_MINUTES", &cfg.UsageInterval)
	e.count("WALDUR_AGENT_USAGE_PERIODS", maxUsagePeriods, &cfg.UsagePeriods)
	if v := e.get("WALDUR_AGENT_TIME_ZONE"); v != "" && e.err == nil {
		if loc, err := time.LoadLocation(v); err != nil {
			e.fail("WALDUR_AGENT_TIME_ZONE", "%q is not a time zone name such as UTC or Europe/Tallinn", v)
		} else {
			cfg.TimeZone = loc
		}
	}

	if v := e.get("WALDUR_AGENT_REPLICA_ID"); v != "" {
		cfg.Replicas.ID = v
	}
	e.duration("WALDUR_AGENT_LEASE_TTL", &cfg.Replicas.LeaseTTL)
	e.duration("WALDUR_AGENT_LEASE_SETTLE", &cfg.Replicas.Settle)

	if v := e.get("WALDUR_EVENTS_MODE"); v != "" && e.err == nil {
		if m, ok := parseMode(v); ok {
			cfg.Events.Mode = m
		} else {
			e.fail("WALDUR_EVENTS_MODE", "%q is not one of auto, polling, amqp, stomp", v)
		}
	}
	if v := e.get("WALDUR_EVENTS_AMQP_URL"); v != "" {
		cfg.Events.AMQPURL = v
	}
	if v := e.get("WALDUR_EVENTS_STOMP_URL"); v != "" {
		cfg.Events.STOMPURL = v
	}
	e.duration("WALDUR_EVENTS_RETRY_INTERVAL", &cfg.Events.RetryInterval)
	e.signedDuration("WALDUR_EVENTS_DEDUP_WINDOW", &cfg.Events.DedupWindow)
	e.signedInt("WALDUR_EVENTS_DEDUP_SIZE", &cfg.Events.DedupSize)
	return e.err
}

// envReader reads variables and keeps the first error, so ApplyEnv reads
// as a list of settings.
type envReader struct {
	getenv func(string) string
	err    error
}

func (e *envReader) get(name string) string { return strings.TrimSpace(e.getenv(name)) }

func (e *envReader) fail(name, format string, args ...any) {
	if e.err == nil {
		e.err = &Error{Source: envSource, Key: name, Msg: fmt.Sprintf(format, args...)}
	}
}

// token reads WALDUR_API_TOKEN or the file WALDUR_API_TOKEN_FILE names.
// Neither the token nor any part of the file reaches an error.
func (e *envReader) token(cfg *siteagent.Config) error {
	tok, file := e.get("WALDUR_API_TOKEN"), e.get("WALDUR_API_TOKEN_FILE")
	switch {
	case tok != "" && file != "":
		return &Error{Source: envSource, Key: "WALDUR_API_TOKEN_FILE", Msg: "set WALDUR_API_TOKEN or WALDUR_API_TOKEN_FILE, not both"}
	case tok != "":
		cfg.Token = tok
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return &Error{Source: envSource, Key: "WALDUR_API_TOKEN_FILE", Msg: fmt.Sprintf("read the token: %v", err)}
		}
		t := strings.TrimSpace(string(b))
		if t == "" || strings.ContainsAny(t, " \t\r\n") {
			return &Error{Source: envSource, Key: "WALDUR_API_TOKEN_FILE", Msg: fmt.Sprintf("%s must hold the token alone, on one line", file)}
		}
		cfg.Token = t
	}
	if s := e.get("WALDUR_API_TOKEN_KIND"); s != "" {
		k, err := waldur.ParseTokenKind(s)
		if err != nil {
			return &Error{Source: envSource, Key: "WALDUR_API_TOKEN_KIND", Msg: "want auto, token, pat or oidc"}
		}
		cfg.TokenKind = k
	}
	return nil
}

// Bounds of the counts read from the environment: far above any sensible
// setting, low enough that a typo cannot make the agent allocate for it.
const (
	maxConcurrency  = 10_000
	maxUsagePeriods = 120
)

func (e *envReader) count(name string, limit int, dst *int) {
	v := e.get(name)
	if v == "" || e.err != nil {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > limit {
		e.fail(name, "%q is not a whole number from 1 to %d", v, limit)
		return
	}
	*dst = n
}

func (e *envReader) signedInt(name string, dst *int) {
	v := e.get(name)
	if v == "" || e.err != nil {
		return
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		e.fail(name, "%q is not a whole number (negative disables)", v)
		return
	}
	*dst = n
}

func (e *envReader) duration(name string, dst *time.Duration) {
	v := e.get(name)
	if v == "" || e.err != nil {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 {
		e.fail(name, "%q is not a positive duration such as 90s, 5m or 1h30m", v)
		return
	}
	*dst = d
}

func (e *envReader) signedDuration(name string, dst *time.Duration) {
	v := e.get(name)
	if v == "" || e.err != nil {
		return
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		e.fail(name, "%q is not a duration such as 30m or 1h (negative disables)", v)
		return
	}
	*dst = d
}

// durationOrMinutes reads name, or else legacy: the reference agent's
// period in minutes, which may be fractional.
func (e *envReader) durationOrMinutes(name, legacy string, dst *time.Duration) {
	if e.get(name) != "" {
		e.duration(name, dst)
		return
	}
	v := e.get(legacy)
	if v == "" || e.err != nil {
		return
	}
	m, err := strconv.ParseFloat(v, 64)
	// The bound keeps the conversion from overflowing; a year is plenty.
	if err != nil || !(m > 0) || m > 366*24*60 {
		e.fail(legacy, "%q is not a positive number of minutes", v)
		return
	}
	*dst = time.Duration(math.Round(m * float64(time.Minute)))
}

func (e *envReader) boolean(name string, dst *bool) {
	v := e.get(name)
	if v == "" || e.err != nil {
		return
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		e.fail(name, "%q is not true or false", v)
		return
	}
	*dst = b
}

// splitOfferings splits a comma-separated list of offering UUIDs, keeping
// each as written: the agent's identity name is derived from it.
func splitOfferings(v string) ([]string, error) {
	var ids []string
	for _, s := range strings.Split(v, ",") {
		s = strings.TrimSpace(s)
		if s == "" {
			continue
		}
		if _, err := waldur.ParseUUID(s); err != nil {
			return nil, &Error{Source: envSource, Key: "WALDUR_OFFERING_UUID", Msg: fmt.Sprintf("%q is not a UUID", s)}
		}
		ids = append(ids, s)
	}
	if len(ids) == 0 {
		return nil, &Error{Source: envSource, Key: "WALDUR_OFFERING_UUID", Msg: "no UUID in the list"}
	}
	return ids, nil
}

func parseMode(s string) (siteagent.EventMode, bool) {
	for _, m := range []siteagent.EventMode{siteagent.EventsAuto, siteagent.EventsPolling, siteagent.EventsAMQP, siteagent.EventsSTOMP} {
		if strings.EqualFold(s, m.String()) {
			return m, true
		}
	}
	return 0, false
}
