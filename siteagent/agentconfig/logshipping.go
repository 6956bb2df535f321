package agentconfig

import (
	"gopkg.in/yaml.v3"

	"log/slog"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent/logship"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// LogShipping is the file's log_shipping section: whether the agent ships
// its log records to Waldur (marketplace-site-agent-logs, Waldur 8.1), as the
// reference agent does, and how. Zero values mean logship's defaults.
//
//	log_shipping:
//	  enabled: true
//	  level: WARNING              # lowest level shipped
//	  batch_size: 100             # records per call
//	  ship_interval_seconds: 60   # longest wait before a batch is sent
//	  queue_size: 10000           # records waiting at most; more are dropped
type LogShipping struct {
	Enabled   bool
	Level     slog.Level // default WARNING
	BatchSize int
	Interval  time.Duration
	QueueSize int
}

// ShipperConfig returns the logship.Config of these settings, shipping with
// c for the agent identity of offering (named as siteagent names it unless
// name is set).
func (l LogShipping) ShipperConfig(c *waldur.Client, offering waldur.UUID, name string) logship.Config {
	return logship.Config{
		Send:          c.Agents.SendLogs,
		Identity:      logship.IdentityByName(c, offering, name),
		Level:         l.Level,
		BatchSize:     l.BatchSize,
		FlushInterval: l.Interval,
		QueueSize:     l.QueueSize,
	}
}

func (r *nodeReader) logShipping(p *pair, dst *LogShipping) error {
	dst.Level = slog.LevelWarn
	if isNull(p.val) {
		return nil
	}
	fields, err := r.mapping(p.val, p.key)
	if err != nil {
		return err
	}
	for _, fp := range fields {
		key := join(p.key, fp.key)
		var err error
		switch fp.key {
		case "enabled":
			dst.Enabled, err = r.boolean(fp.val, key, false)
		case "level", "log_level":
			var s string
			if s, err = r.str(fp.val, key); err == nil && s != "" {
				var ok bool
				if dst.Level, ok = parseLevel(s); !ok {
					err = r.errorf(fp.val, key, "%q is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL", s)
				}
			}
		case "batch_size":
			err = r.positive(fp.val, key, 10_000, &dst.BatchSize)
		case "queue_size", "max_queue_size":
			err = r.positive(fp.val, key, 1_000_000, &dst.QueueSize)
		case "ship_interval_seconds", "interval_seconds":
			var n int
			if err = r.positive(fp.val, key, 86_400, &n); err == nil {
				dst.Interval = time.Duration(n) * time.Second
			}
		default:
			r.warn(fp.line, key, "unknown key, ignored")
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// positive reads a whole number from 1 to limit; null leaves dst alone.
func (r *nodeReader) positive(n *yaml.Node, key string, limit int, dst *int) error {
	v, ok, err := r.integer(n, key)
	if err != nil || !ok {
		return err
	}
	if v < 1 || v > limit {
		return r.errorf(n, key, "must be from 1 to %d", limit)
	}
	*dst = v
	return nil
}
