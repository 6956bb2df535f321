package siteagent

import (
	"io"
	"log/slog"
	"net/url"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Defaults for the zero values of Config.
const (
	DefaultConcurrency = 8
	// MaxConcurrency bounds Config.Concurrency; beyond it the agent would
	// mostly wait on Waldur, and its bookkeeping grows with the bound.
	MaxConcurrency           = 10_000
	DefaultShutdownTimeout   = 30 * time.Second
	DefaultReconcileInterval = 5 * time.Minute
	// DefaultHeartbeatInterval keeps well inside Waldur's rule that marks a
	// service Idle when no processor reported for 10 minutes (checked every 5).
	DefaultHeartbeatInterval = 2 * time.Minute
	DefaultProcessorTimeout  = 10 * time.Minute
	DefaultAsyncPollInterval = time.Minute
	DefaultRetryBackoff      = 2 * time.Second
	DefaultMaxRetryBackoff   = 2 * time.Minute
	DefaultStuckOrderAge     = 30 * time.Minute
	// DefaultSyncInterval is how often membership, offering users and
	// resource status are reconciled in full, as often as Waldur's reference
	// agent syncs membership.
	DefaultSyncInterval = 5 * time.Minute
	// DefaultUsageInterval is how often usage is reported, as in Waldur's
	// reference agent.
	DefaultUsageInterval = 30 * time.Minute
	// DefaultUsagePeriods reports the previous and the current month.
	DefaultUsagePeriods = 2
)

// Config configures an Agent. Only the Waldur connection, the offering and one
// processor are required; every other zero value means the documented default.
type Config struct {
	// WaldurURL is the Waldur API's base URL, e.g. https://waldur.example.com.
	// Required unless Client is set.
	WaldurURL string
	// Token authenticates the agent: a DRF token (sent as "Token <key>"), a
	// personal access token starting with "w_" or an OIDC access token (both
	// sent as "Bearer <token>"); TokenKind says which. Required unless Client
	// is set. It is also the password of the agent's RabbitMQ user, so event
	// delivery needs it even with Client.
	Token string
	// TokenKind says what Token is. Default waldur.TokenAuto: "w_..." is a
	// personal access token, anything else a DRF token; set waldur.TokenOIDC
	// for an OIDC access token, which the guess cannot tell. With Client set,
	// the default is the client's kind.
	//
	// Event delivery depends on it (see EventsConfig): Waldur 8.1's queues
	// take a DRF token or a PAT; the legacy queues of older Waldur take the
	// DRF token only; with an OIDC token the broker password is a DRF token
	// the agent does not have, so events come by polling (or webhooks) only.
	TokenKind waldur.TokenKind
	// Client, if set, is used instead of building one from WaldurURL and Token.
	Client *waldur.Client

	// OfferingUUID is the offering the agent serves. Set it, OfferingUUIDs, or
	// both; hex and hyphenated forms are accepted.
	OfferingUUID string
	// OfferingUUIDs lists further offerings served by the same processors.
	OfferingUUIDs []string

	// Name is the agent's identity name in Waldur. Default "agent-<offering
	// uuid>" per offering, the convention of Waldur's reference agent.
	Name string
	// Version is reported to Waldur with the identity. Default: the main
	// module's version from the build info.
	Version string
	// Logger receives the agent's logs. Default: discard.
	Logger *slog.Logger

	// Concurrency bounds how many orders (or other objects) are processed at
	// once; work for one object is always serialised. Default 8.
	Concurrency int
	// ShutdownTimeout bounds how long Run waits for in-flight work after its
	// context ends before cancelling it. Default 30s.
	ShutdownTimeout time.Duration
	// ReconcileInterval is how often pending orders are listed and processed.
	// It is also the polling period when no event broker is used. Default 5m.
	ReconcileInterval time.Duration
	// HeartbeatInterval is how often the agent reports to Waldur that it is
	// alive (register_processor and set_statistics). Default 2m.
	HeartbeatInterval time.Duration
	// ProcessorTimeout bounds each processor call. Default 10m.
	ProcessorTimeout time.Duration
	// AsyncPollInterval is how soon an order whose processor answered
	// InProgress is asked again. Default 1m.
	AsyncPollInterval time.Duration
	// RetryBackoff is the first delay before retrying work that failed with a
	// transient error; it doubles (with jitter) up to MaxRetryBackoff.
	// Defaults 2s and 2m.
	RetryBackoff    time.Duration
	MaxRetryBackoff time.Duration
	// StuckOrderAge: executing orders unmodified for longer are logged and
	// counted as stuck in Stats, and retried regardless of backoff. Default 30m.
	StuckOrderAge time.Duration

	// ErrorTraceback sends the error chain as the traceback of
	// set_state_erred (at most MaxErrorTraceback bytes). Default false: an
	// empty traceback. A panic's stack is never sent; it goes to the log
	// under the log id Waldur shows.
	ErrorTraceback bool

	// Orders processes marketplace orders. At least one of Orders,
	// Membership, OfferingUsers, Usage and ResourceStatus must be set; the
	// agent registers, subscribes to and runs only what is set.
	Orders OrderProcessor
	// Membership gives the members of each resource's project access to the
	// backend resource and takes it away again; see MembershipProcessor.
	Membership MembershipProcessor
	// OfferingUsers creates site accounts with usernames for offering users,
	// when the offering lets the service provider do so; see
	// OfferingUserProcessor.
	OfferingUsers OfferingUserProcessor
	// Usage reports resource usage for billing; see UsageReporter.
	Usage UsageReporter
	// ResourceStatus pauses, downscales and restores backend resources as
	// Waldur asks, and reports their limits and metadata; see
	// ResourceStatusProcessor.
	ResourceStatus ResourceStatusProcessor

	// APIKeys carries out Waldur's commands on resource API keys (Waldur
	// 8.1): rotate, and on newer Waldur create, pause, resume, update and
	// delete when it is also an APIKeyProcessor. Optional.
	APIKeys APIKeyRotator
	// PeriodicLimits applies Waldur's periodic usage policies (Slurm
	// fairshare and limits) to resources; set it only where periodic
	// limits are enabled, as it subscribes the agent to their events.
	// Optional.
	PeriodicLimits PeriodicLimitsProcessor

	// SyncInterval is how often membership, offering users and resource
	// status are reconciled in full; events bring changes in between.
	// Default 5m.
	SyncInterval time.Duration
	// UsageInterval is how often usage is collected and reported. Default 30m.
	UsageInterval time.Duration
	// UsagePeriods is how many billing months each usage pass reports,
	// oldest first and ending with the current one. Default 2: the previous
	// and the current month, so usage that arrives late is still billed.
	UsagePeriods int
	// TimeZone is where billing months begin and end for collecting usage.
	// Default UTC. The date sent to Waldur with a month's usage is the 1st
	// of that month at 12:00 UTC, which Waldur files under that month
	// whatever its own time zone; set TimeZone to Waldur's so the agent's
	// months and Waldur's begin at the same instant.
	TimeZone *time.Location

	// Events configures event delivery. The zero value picks a broker
	// automatically and falls back to polling.
	Events EventsConfig

	// Replicas runs the agent as one of several replicas for the same
	// offerings. The zero value runs it alone.
	Replicas ReplicaConfig

	// Now returns the current time. Default time.Now. Tests inject a clock.
	Now func() time.Time
}

// offeringIDs returns the configured offerings in order, without duplicates.
func (c *Config) offeringIDs() ([]waldur.UUID, []string, error) {
	raw := make([]string, 0, 1+len(c.OfferingUUIDs))
	if c.OfferingUUID != "" {
		raw = append(raw, c.OfferingUUID)
	}
	raw = append(raw, c.OfferingUUIDs...)
	if len(raw) == 0 {
		return nil, nil, configError("OfferingUUID", "no offering configured")
	}
	var ids []waldur.UUID
	var written []string
	seen := make(map[waldur.UUID]bool)
	for _, s := range raw {
		s = strings.TrimSpace(s)
		id, err := waldur.ParseUUID(s)
		if err != nil {
			return nil, nil, configError("OfferingUUID", "%q is not a UUID", s)
		}
		if seen[id] {
			continue
		}
		seen[id] = true
		ids = append(ids, id)
		written = append(written, s)
	}
	return ids, written, nil
}

// withDefaults validates c and returns a copy with defaults applied.
func (c Config) withDefaults() (Config, error) {
	if c.Client == nil {
		if c.WaldurURL == "" {
			return c, configError("WaldurURL", "required (or set Client)")
		}
		u, err := url.Parse(c.WaldurURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
			return c, configError("WaldurURL", "%q is not an http(s) URL", c.WaldurURL)
		}
		if c.Token == "" {
			return c, configError("Token", "required (or set Client)")
		}
	}
	if c.TokenKind < waldur.TokenAuto || c.TokenKind > waldur.TokenOIDC {
		return c, configError("TokenKind", "unknown kind %d", int(c.TokenKind))
	}
	switch {
	case c.TokenKind != waldur.TokenAuto:
	case c.Client != nil && c.Client.TokenKind() != waldur.TokenAuto:
		c.TokenKind = c.Client.TokenKind()
	default:
		c.TokenKind = c.TokenKind.Resolve(c.Token)
	}
	if c.Orders == nil && c.APIKeys == nil && c.Membership == nil && c.OfferingUsers == nil && c.Usage == nil && c.ResourceStatus == nil && c.PeriodicLimits == nil {
		return c, configError("Orders", "no processor configured (set Orders, APIKeys, Membership, OfferingUsers, Usage, ResourceStatus or PeriodicLimits)")
	}
	if c.Concurrency < 0 || c.Concurrency > MaxConcurrency {
		return c, configError("Concurrency", "must be between 0 (default) and %d", MaxConcurrency)
	}
	if err := c.Events.validate(); err != nil {
		return c, err
	}
	if err := c.Replicas.withDefaults(); err != nil {
		return c, err
	}
	if c.UsagePeriods < 0 {
		return c, configError("UsagePeriods", "must not be negative")
	}
	for _, f := range []struct {
		name string
		d    time.Duration
	}{
		{"ShutdownTimeout", c.ShutdownTimeout}, {"ReconcileInterval", c.ReconcileInterval},
		{"HeartbeatInterval", c.HeartbeatInterval}, {"ProcessorTimeout", c.ProcessorTimeout},
		{"AsyncPollInterval", c.AsyncPollInterval}, {"RetryBackoff", c.RetryBackoff},
		{"MaxRetryBackoff", c.MaxRetryBackoff}, {"StuckOrderAge", c.StuckOrderAge},
		{"SyncInterval", c.SyncInterval}, {"UsageInterval", c.UsageInterval},
	} {
		if f.d < 0 {
			return c, configError(f.name, "must not be negative")
		}
	}
	setDefault(&c.Concurrency, DefaultConcurrency)
	setDefault(&c.ShutdownTimeout, DefaultShutdownTimeout)
	setDefault(&c.ReconcileInterval, DefaultReconcileInterval)
	setDefault(&c.HeartbeatInterval, DefaultHeartbeatInterval)
	setDefault(&c.ProcessorTimeout, DefaultProcessorTimeout)
	setDefault(&c.AsyncPollInterval, DefaultAsyncPollInterval)
	setDefault(&c.RetryBackoff, DefaultRetryBackoff)
	setDefault(&c.MaxRetryBackoff, DefaultMaxRetryBackoff)
	setDefault(&c.StuckOrderAge, DefaultStuckOrderAge)
	setDefault(&c.SyncInterval, DefaultSyncInterval)
	setDefault(&c.UsageInterval, DefaultUsageInterval)
	setDefault(&c.UsagePeriods, DefaultUsagePeriods)
	if c.TimeZone == nil {
		c.TimeZone = time.UTC
	}
	if c.MaxRetryBackoff < c.RetryBackoff {
		c.MaxRetryBackoff = c.RetryBackoff
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	if c.Version == "" {
		c.Version = moduleVersion()
	}
	return c, nil
}

func setDefault[T comparable](p *T, def T) {
	var zero T
	if *p == zero {
		*p = def
	}
}

// clientOptions returns the options for the Waldur client built from c.
func (c *Config) clientOptions() []waldur.Option {
	// Full pages: passes over thousands of resources cost one call per 300.
	opts := []waldur.Option{waldur.WithLogger(c.Logger), waldur.WithPageSize(waldur.MaxPageSize)}
	return append(opts, waldur.WithCredential(c.TokenKind, c.Token))
}
