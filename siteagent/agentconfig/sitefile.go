package agentconfig

import (
	"bytes"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// MaxFileSize bounds the configuration files LoadSiteAgentYAML reads.
const MaxFileSize = 4 << 20

// File is the content of a configuration file of Waldur's reference agent,
// waldur-site-agent (waldur-site-agent-config.yaml).
type File struct {
	// Offerings has one entry per item of the file's offerings list, in
	// order.
	Offerings []Offering
	// LogLevel is the file's log_level, for the program's log handler.
	// Default INFO; WARNING reads as slog.LevelWarn and CRITICAL as
	// slog.LevelError.
	LogLevel slog.Level
	// LogShipping is the file's log_shipping.
	LogShipping LogShipping
	// Warnings lists, in file order, settings that were read but are not
	// applied and keys this package does not know.
	Warnings []Warning
}

// Offering is one item of the file's offerings list: the agent settings
// mapped to a siteagent.Config, and the backend settings, which only a
// processor can interpret, kept as written.
type Offering struct {
	// Name is the offering's label in the file (name). It is not the agent's
	// identity name, which stays "agent-<offering uuid>" as in the reference
	// agent, so Waldur sees the same identity after the switch.
	Name string

	// Config holds what maps to the agent: WaldurURL (waldur_api_url),
	// Token (waldur_api_token), OfferingUUID (waldur_offering_uuid),
	// Events (stomp_enabled, stomp_ws_host, stomp_ws_port, stomp_ws_path,
	// websocket_use_tls), and from the top of the file TimeZone (timezone),
	// UsagePeriods (reporting_periods) and ErrorTraceback
	// (expose_backend_error_details). With verify_ssl false, Config.Client
	// and Config.Events.TLS skip certificate verification (that client logs
	// nothing: Config.Logger does not reach it). Processors, Logger and the
	// rest are left for the program to set.
	Config siteagent.Config

	// BackendType is backend_type, in lower case as the reference agent
	// reads it, e.g. "slurm".
	BackendType string
	// OrderProcessingBackend, MembershipSyncBackend, ReportingBackend and
	// UsernameManagementBackend name the reference agent's backend plugin
	// for each kind of work; "" means that work was not run. They tell a
	// program which processors (Orders, Membership, Usage, OfferingUsers)
	// to set. UsernameManagementBackend defaults to "base".
	OrderProcessingBackend    string
	MembershipSyncBackend     string
	ReportingBackend          string
	UsernameManagementBackend string

	// BackendSettings is backend_settings as plain Go values (string, int,
	// float64, bool, nil, []any, map[string]any); nil when absent. For a
	// typed view use DecodeBackendSettings.
	BackendSettings map[string]any
	// BackendComponents is backend_components, in file order.
	BackendComponents []Component
	// PeriodicLimits is backend_settings.periodic_limits.
	PeriodicLimits PeriodicLimits

	// Flags of the reference agent that concern processors. See the
	// migration guide for how each carries over.
	ResourceImportEnabled         bool // resource_import_enabled
	PreserveUnmanagedBackendUsers bool // preserve_unmanaged_backend_users
	OmitAnomalousUsageComponents  bool // omit_anomalous_usage_components
	// VerifySSL is verify_ssl (default true).
	VerifySSL bool

	// OIDC is true when the offering authenticates with OIDC client
	// credentials (oidc_token_url, oidc_client_id, oidc_client_secret)
	// instead of a token: Config.Client then fetches access tokens and
	// refreshes them before they expire, and Config.Events is polling.
	OIDC bool

	// Line is where the entry starts in the file.
	Line int

	source   string
	settings *yaml.Node
	auth     waldur.Option // how Config.Client authenticates
}

// DecodeBackendSettings decodes backend_settings into v (a pointer to a
// struct with yaml tags, or to a map) the way yaml.v3 decodes. Without
// backend_settings it leaves v as it is.
//
//	var s struct {
//		DefaultAccount string `yaml:"default_account"`
//		QoSDefault     string `yaml:"qos_default"`
//	}
//	err := o.DecodeBackendSettings(&s)
func (o *Offering) DecodeBackendSettings(v any) error {
	if isNull(o.settings) {
		return nil
	}
	if err := o.settings.Decode(v); err != nil {
		return decodeError(o.source, o.settings.Line, "backend_settings", err)
	}
	return nil
}

// Component is one entry of backend_components: an offering component as
// the reference agent's backend sees it.
type Component struct {
	// Type is the entry's key, the component's type in Waldur, e.g. "cpu".
	Type string
	// MeasuredUnit is the unit shown in Waldur, e.g. "k-Hours".
	MeasuredUnit string
	// UnitFactor converts Waldur's unit into the backend's (Waldur amount ×
	// UnitFactor = backend amount). Default 1.
	UnitFactor float64
	// AccountingType is "usage", "limit" or "one" (one-time, prepaid).
	AccountingType string
	// Label is the component's name in Waldur.
	Label string
	// Limit is limit, nil when absent: the default limit in Waldur's unit,
	// sent to Waldur as the component's limit_amount.
	Limit *float64

	// The optional offering component settings the reference agent's
	// load-components sends to Waldur (see OfferingComponentRequest).
	Description       string // description
	LimitPeriod       string // limit_period: month, quarterly, annual, total or ""
	ArticleCode       string // article_code
	MinValue          *int64 // min_value
	MaxValue          *int64 // max_value
	MaxAvailableLimit *int64 // max_available_limit
	DefaultLimit      *int64 // default_limit
	IsBoolean         bool   // is_boolean
	// IsPrepaid is is_prepaid; it defaults to true for accounting_type
	// "one", which is prepaid billing.
	IsPrepaid bool
	// Prepaid and renewal durations in months, nil when absent. A backend
	// multiplies a prepaid ("one") component's limit by the order's
	// duration.
	MinPrepaidDuration  *int // min_prepaid_duration
	MaxPrepaidDuration  *int // max_prepaid_duration
	PrepaidDurationStep *int // prepaid_duration_step
	MinRenewalDuration  *int // min_renewal_duration
	MaxRenewalDuration  *int // max_renewal_duration
	RenewalDurationStep *int // renewal_duration_step

	// Fields holds every key of the entry as written, those above
	// included, plus backend-specific ones (unit_factor_reporting,
	// target_components, ...).
	Fields map[string]any
	// Line is where the entry starts in the file.
	Line int

	source string
	node   *yaml.Node
}

// Decode decodes the component's entry into v the way yaml.v3 decodes, for
// backend-specific fields.
func (c *Component) Decode(v any) error {
	if err := c.node.Decode(v); err != nil {
		return decodeError(c.source, c.Line, "backend_components."+c.Type, err)
	}
	return nil
}

// LoadSiteAgentFile reads a configuration file of Waldur's reference agent;
// see LoadSiteAgentYAML.
func LoadSiteAgentFile(path string) (*File, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("agentconfig: %w", err)
	}
	defer f.Close()
	return load(f, path)
}

// LoadSiteAgentYAML reads the YAML configuration of Waldur's reference agent
// (waldur-site-agent) and returns one Offering per entry of its offerings
// list. Settings that map to the agent go into each Offering's Config;
// backend settings are kept for the program's processors.
//
// Keys this package knows but does not apply (sentry_dsn, mqtt_*, OIDC
// credentials next to a token, ...) and keys it does not know are returned
// as Warnings, not logged. A malformed file, a missing waldur_api_url,
// waldur_api_token or waldur_offering_uuid, or a value of the wrong kind is
// an *Error naming the line. Neither tokens nor other values that may be
// secret appear in errors or warnings.
func LoadSiteAgentYAML(r io.Reader) (*File, error) {
	return load(r, "")
}

// globals are the top-level settings every offering's Config takes.
type globals struct {
	tz        *time.Location
	periods   int
	traceback *bool
}

func load(in io.Reader, source string) (*File, error) {
	data, err := io.ReadAll(io.LimitReader(in, MaxFileSize+1))
	if err != nil {
		return nil, fmt.Errorf("agentconfig: read %s: %w", nameOr(source, "configuration"), err)
	}
	if len(data) > MaxFileSize {
		return nil, &Error{Source: source, Msg: fmt.Sprintf("larger than %d bytes", MaxFileSize)}
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			return nil, &Error{Source: source, Msg: "empty document"}
		}
		return nil, yamlError(source, err)
	}
	var next yaml.Node
	if err := dec.Decode(&next); !errors.Is(err, io.EOF) {
		if err != nil {
			return nil, yamlError(source, err)
		}
		return nil, &Error{Source: source, Line: next.Line, Msg: "more than one YAML document"}
	}
	// Decoding the whole document once lets yaml.v3 reject what the walk
	// below must not meet: repeated keys, an alias inside its own anchor,
	// and alias expansion out of proportion to the input.
	var probe any
	if err := doc.Decode(&probe); err != nil {
		return nil, yamlError(source, err)
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) == 1 {
		root = doc.Content[0]
	}

	r := &nodeReader{source: source}
	f, err := r.file(root)
	if err != nil {
		return nil, err
	}
	f.Warnings = r.warnings
	slices.SortStableFunc(f.Warnings, func(a, b Warning) int { return a.Line - b.Line })
	return f, nil
}

func (r *nodeReader) file(root *yaml.Node) (*File, error) {
	pairs, err := r.mapping(root, "")
	if err != nil {
		return nil, err
	}
	f := &File{LogLevel: slog.LevelInfo}
	var g globals
	var offerings *pair
	for i := range pairs {
		p := &pairs[i]
		var err error
		switch p.key {
		case "offerings":
			offerings = p
		case "timezone":
			var s string
			if s, err = r.str(p.val, p.key); err == nil && s != "" {
				if g.tz, err = time.LoadLocation(s); err != nil {
					err = r.errorf(p.val, p.key, "%q is not a time zone name such as UTC or Europe/Tallinn", s)
				}
			}
		case "log_level":
			var s string
			if s, err = r.str(p.val, p.key); err == nil && s != "" {
				var ok bool
				if f.LogLevel, ok = parseLevel(s); !ok {
					err = r.errorf(p.val, p.key, "%q is not one of DEBUG, INFO, WARNING, ERROR, CRITICAL", s)
				}
			}
		case "reporting_periods":
			var n int
			var ok bool
			if n, ok, err = r.integer(p.val, p.key); err == nil && ok {
				if n < 1 || n > 12 {
					err = r.errorf(p.val, p.key, "must be from 1 to 12")
				}
				g.periods = n
			}
		case "expose_backend_error_details":
			if !isNull(p.val) {
				var b bool
				b, err = r.boolean(p.val, p.key, true)
				g.traceback = &b
			}
		case "sentry_dsn", "elastic_apm_server_url":
			var s string
			if s, err = r.str(p.val, p.key); err == nil && s != "" {
				r.warn(p.line, p.key, "not applied: report errors and traces from the program (for example with a slog handler)")
			}
		case "global_proxy":
			var s string
			if s, err = r.str(p.val, p.key); err == nil && s != "" {
				r.warn(p.line, p.key, "not applied: set HTTPS_PROXY (and NO_PROXY) in the agent's environment instead")
			}
		case "log_shipping":
			err = r.logShipping(p, &f.LogShipping)
		default:
			r.warn(p.line, p.key, "unknown key, ignored")
		}
		if err != nil {
			return nil, err
		}
	}
	if offerings == nil {
		return nil, r.errorf(root, "offerings", "required: the list of offerings")
	}
	items, err := r.sequence(offerings.val, "offerings")
	if err != nil {
		return nil, err
	}
	if len(items) == 0 {
		return nil, r.errorf(offerings.val, "offerings", "empty: nothing to serve")
	}
	seen := make(map[waldur.UUID]string)
	for i, item := range items {
		path := index("offerings", i)
		o, err := r.offering(item, path, g)
		if err != nil {
			return nil, err
		}
		id, _ := waldur.ParseUUID(o.Config.OfferingUUID) // checked by offering
		if first, dup := seen[id]; dup {
			r.warn(o.Line, path, "serves the same offering as %s", first)
		} else {
			seen[id] = path
		}
		f.Offerings = append(f.Offerings, o)
	}
	return f, nil
}

// stomp collects an offering's event settings.
type stomp struct {
	enabled  bool
	useTLS   bool
	host     string
	port     int
	path     string
	setLines []pair // host, port and path settings, for a warning when unused
	hostNode *yaml.Node
}

func (r *nodeReader) offering(n *yaml.Node, path string, g globals) (Offering, error) {
	o := Offering{Line: lineOf(n), VerifySSL: true, UsernameManagementBackend: "base", source: r.source}
	pairs, err := r.mapping(n, path)
	if err != nil {
		return o, err
	}
	cfg := &o.Config
	ev := stomp{useTLS: true}
	var oidc []pair
	var urlPair, tokenPair, uuidPair *pair
	var verifyLine, stompLine int
	for i := range pairs {
		p := &pairs[i]
		key := join(path, p.key)
		var err error
		switch p.key {
		case "name":
			o.Name, err = r.str(p.val, key)
		case "waldur_api_url":
			urlPair = p
			cfg.WaldurURL, err = r.str(p.val, key)
		case "waldur_api_token":
			tokenPair = p
			cfg.Token, err = r.str(p.val, key)
		case "waldur_offering_uuid":
			uuidPair = p
			cfg.OfferingUUID, err = r.str(p.val, key)
		case "oidc_token_url", "oidc_client_id", "oidc_client_secret":
			var s string
			if s, err = r.str(p.val, key); err == nil && s != "" {
				oidc = append(oidc, *p)
			}
		case "backend_type":
			var s string
			s, err = r.str(p.val, key)
			o.BackendType = strings.ToLower(s)
		case "backend_settings":
			if !isNull(p.val) {
				if _, err = r.mapping(p.val, key); err == nil {
					err = p.val.Decode(&o.BackendSettings)
					if err != nil {
						err = r.errorf(p.val, key, "%s", yamlMessage(err))
					}
				}
				o.settings = p.val
			}
		case "backend_components":
			o.BackendComponents, err = r.components(p.val, key)
		case "order_processing_backend":
			o.OrderProcessingBackend, err = r.str(p.val, key)
		case "membership_sync_backend":
			o.MembershipSyncBackend, err = r.str(p.val, key)
		case "reporting_backend":
			o.ReportingBackend, err = r.str(p.val, key)
		case "username_management_backend":
			var s string
			if s, err = r.str(p.val, key); s != "" {
				o.UsernameManagementBackend = s
			}
		case "stomp_enabled":
			ev.enabled, err = r.boolean(p.val, key, false)
			stompLine = p.line
		case "websocket_use_tls":
			ev.useTLS, err = r.boolean(p.val, key, true)
		case "stomp_ws_host":
			ev.host, err = r.str(p.val, key)
			ev.hostNode = p.val
			ev.setLines = append(ev.setLines, *p)
		case "stomp_ws_port":
			var ok bool
			ev.port, ok, err = r.integer(p.val, key)
			if err == nil && ok && (ev.port < 1 || ev.port > 65535) {
				err = r.errorf(p.val, key, "not a port number")
			}
			ev.setLines = append(ev.setLines, *p)
		case "stomp_ws_path":
			ev.path, err = r.str(p.val, key)
			ev.setLines = append(ev.setLines, *p)
		case "stomp_membership_sync_enabled":
			// Membership is synced from events and by periodic passes alike;
			// there is nothing to choose.
			_, err = r.boolean(p.val, key, false)
		case "resource_import_enabled":
			if o.ResourceImportEnabled, err = r.boolean(p.val, key, false); o.ResourceImportEnabled {
				r.warn(p.line, key, "not applied: the agent does not import backend resources")
			}
		case "username_reconciliation_enabled":
			var on bool
			if on, err = r.boolean(p.val, key, false); on {
				r.warn(p.line, key, "not applied: the agent has no periodic username reconciliation")
			}
		case "preserve_unmanaged_backend_users":
			o.PreserveUnmanagedBackendUsers, err = r.boolean(p.val, key, false)
		case "omit_anomalous_usage_components":
			o.OmitAnomalousUsageComponents, err = r.boolean(p.val, key, false)
		case "verify_ssl":
			o.VerifySSL, err = r.boolean(p.val, key, true)
			verifyLine = p.line
		default:
			if strings.HasPrefix(p.key, "mqtt_") {
				r.warn(p.line, key, "ignored: MQTT was removed from Waldur's agent; events come over STOMP or AMQP")
			} else {
				r.warn(p.line, key, "unknown key, ignored")
			}
		}
		if err != nil {
			return o, err
		}
	}

	if err := r.periodicLimits(&o, join(path, "backend_settings")); err != nil {
		return o, err
	}
	if err := r.connection(&o, n, path, urlPair, tokenPair, uuidPair, oidc); err != nil {
		return o, err
	}
	if err := r.events(&o, path, ev); err != nil {
		return o, err
	}
	if o.OIDC {
		r.oidcEvents(&o, path, stompLine)
	}
	cfg.TimeZone = g.tz
	cfg.UsagePeriods = g.periods
	if g.traceback != nil {
		cfg.ErrorTraceback = *g.traceback
	}
	if !o.VerifySSL {
		if err := insecure(cfg, o.auth); err != nil {
			return o, r.errorf(n, join(path, "verify_ssl"), "%v", err)
		}
		r.warn(verifyLine, join(path, "verify_ssl"), "false: certificates of Waldur and the broker are not verified; prefer trusting the CA (SSL_CERT_FILE)")
	}
	return o, nil
}

// connection checks the Waldur URL, the token and the offering UUID.
func (r *nodeReader) connection(o *Offering, n *yaml.Node, path string, urlPair, tokenPair, uuidPair *pair, oidc []pair) error {
	cfg := &o.Config
	if cfg.WaldurURL == "" {
		return r.errorf(nodeOr(urlPair, n), join(path, "waldur_api_url"), "required: the Waldur API URL, e.g. https://waldur.example.com/api/")
	}
	// The client's own checks, so that what loads is what siteagent.New
	// accepts. Its errors never repeat the URL or the token.
	if _, err := waldur.NewClient(cfg.WaldurURL); err != nil {
		return r.errorf(urlPair.val, join(path, "waldur_api_url"), "%s", strings.TrimPrefix(err.Error(), "waldur: "))
	}
	if cfg.Token == "" && len(oidc) > 0 {
		if err := r.oidc(o, path, oidc); err != nil {
			return err
		}
	} else if cfg.Token == "" {
		return r.errorf(nodeOr(tokenPair, n), join(path, "waldur_api_token"), "required: the token of a user with the offering manager role")
	}
	if cfg.Token != "" {
		o.auth = tokenOption(cfg.Token)
		if _, err := waldur.NewClient(cfg.WaldurURL, o.auth); err != nil {
			return r.errorf(tokenPair.val, join(path, "waldur_api_token"), "not usable as a token: it contains spaces or control characters")
		}
		for _, p := range oidc {
			r.warn(p.line, join(path, p.key), "ignored: waldur_api_token is used")
		}
	}
	if cfg.OfferingUUID == "" {
		return r.errorf(nodeOr(uuidPair, n), join(path, "waldur_offering_uuid"), "required: the UUID of the offering in Waldur")
	}
	if _, err := waldur.ParseUUID(cfg.OfferingUUID); err != nil {
		return r.errorf(uuidPair.val, join(path, "waldur_offering_uuid"), "%q is not a UUID", cfg.OfferingUUID)
	}
	return nil
}

// events maps stomp_enabled and the web-STOMP location. The URL is built as
// the reference agent builds it: the host of waldur_api_url, port 443 with
// TLS and 80 without, path /rmqws-stomp, each overridable.
func (r *nodeReader) events(o *Offering, path string, ev stomp) error {
	cfg := &o.Config
	if !ev.enabled {
		cfg.Events.Mode = siteagent.EventsPolling
		for _, p := range ev.setLines {
			if !isNull(p.val) {
				r.warn(p.line, join(path, p.key), "not applied: stomp_enabled is false, so the agent polls")
			}
		}
		return nil
	}
	u, _ := url.Parse(cfg.WaldurURL) // checked by connection
	host := strings.TrimSuffix(strings.TrimPrefix(ev.host, "["), "]")
	if host == "" {
		host = u.Hostname()
	}
	scheme, def := "wss", 443
	if !ev.useTLS {
		scheme, def = "ws", 80
	}
	hostport := host
	if ev.port != 0 && ev.port != def {
		hostport = net.JoinHostPort(host, strconv.Itoa(ev.port))
	} else if strings.Contains(host, ":") {
		hostport = "[" + host + "]" // IPv6
	}
	wsPath := ev.path
	if wsPath == "" {
		wsPath = siteagent.DefaultWebSTOMPPath
	} else if !strings.HasPrefix(wsPath, "/") {
		wsPath = "/" + wsPath
	}
	stompURL := (&url.URL{Scheme: scheme, Host: hostport, Path: wsPath}).String()
	// The round trip rejects what is not a host name alone: a scheme, a
	// port, a path or characters a host cannot have.
	_, notIP := netip.ParseAddr(host)
	if back, err := url.Parse(stompURL); err != nil || back.Hostname() != host || host == "" ||
		(strings.Contains(host, ":") && notIP != nil) {
		return r.errorf(ev.hostNode, join(path, "stomp_ws_host"), "want a host name alone (no scheme, port or path)")
	}
	cfg.Events.Mode = siteagent.EventsSTOMP
	cfg.Events.STOMPURL = stompURL
	return nil
}

// components reads backend_components.
func (r *nodeReader) components(n *yaml.Node, path string) ([]Component, error) {
	if isNull(n) {
		return nil, nil
	}
	pairs, err := r.mapping(n, path)
	if err != nil {
		return nil, err
	}
	out := make([]Component, 0, len(pairs))
	for _, p := range pairs {
		key := join(path, p.key)
		c := Component{Type: p.key, UnitFactor: 1, Line: p.line, source: r.source, node: p.val}
		fields, err := r.mapping(p.val, key)
		if err != nil {
			return nil, err
		}
		for _, fp := range fields {
			fk := join(key, fp.key)
			var err error
			switch fp.key {
			case "measured_unit":
				c.MeasuredUnit, err = r.str(fp.val, fk)
			case "label":
				c.Label, err = r.str(fp.val, fk)
			case "accounting_type":
				if c.AccountingType, err = r.str(fp.val, fk); err == nil {
					switch c.AccountingType {
					case "usage", "limit", "one":
					default:
						err = r.errorf(fp.val, fk, "%q is not one of usage, limit, one", c.AccountingType)
					}
				}
			case "unit_factor":
				var v float64
				var ok bool
				if v, ok, err = r.number(fp.val, fk); ok {
					c.UnitFactor = v
				}
			case "limit":
				var v float64
				var ok bool
				if v, ok, err = r.number(fp.val, fk); ok {
					c.Limit = &v
				}
			default:
				err = r.componentField(&c, fp, fk)
			}
			if err != nil {
				return nil, err
			}
		}
		for _, req := range []struct{ name, val string }{
			{"measured_unit", c.MeasuredUnit}, {"accounting_type", c.AccountingType}, {"label", c.Label},
		} {
			if req.val == "" {
				return nil, r.errorf(p.val, join(key, req.name), "required")
			}
		}
		if c.AccountingType == "one" && !hasKey(fields, "is_prepaid") {
			c.IsPrepaid = true
		}
		if err := p.val.Decode(&c.Fields); err != nil {
			return nil, r.errorf(p.val, key, "%s", yamlMessage(err))
		}
		out = append(out, c)
	}
	return out, nil
}

// insecure makes cfg skip certificate verification, as verify_ssl: false
// asks: a Waldur client with such a transport, and the broker's TLS.
func insecure(cfg *siteagent.Config, auth waldur.Option) error {
	tlsConf := &tls.Config{InsecureSkipVerify: true} //nolint:gosec // the configuration asks for it, with a warning
	tr := &http.Transport{Proxy: http.ProxyFromEnvironment}
	if def, ok := http.DefaultTransport.(*http.Transport); ok {
		tr = def.Clone()
	}
	tr.TLSClientConfig = tlsConf
	c, err := waldur.NewClient(cfg.WaldurURL,
		auth,
		waldur.WithHTTPClient(&http.Client{Transport: tr, Timeout: time.Minute}),
		waldur.WithPageSize(waldur.MaxPageSize))
	if err != nil {
		return err
	}
	cfg.Client = c
	cfg.Events.TLS = tlsConf.Clone()
	return nil
}

// decodeError reports a yaml.v3 decoding error at its own line, or at line.
func decodeError(source string, line int, key string, err error) *Error {
	l, msg := splitYAMLError(err)
	if l == 0 {
		l = line
	}
	return &Error{Source: source, Line: l, Key: key, Msg: msg}
}

// tokenOption authenticates as siteagent does: a personal access token
// (w_...) as a bearer token, anything else as a DRF token.
func tokenOption(token string) waldur.Option {
	if strings.HasPrefix(token, "w_") {
		return waldur.WithBearerToken(token)
	}
	return waldur.WithToken(token)
}

func parseLevel(s string) (slog.Level, bool) {
	switch strings.ToUpper(strings.TrimSpace(s)) {
	case "DEBUG":
		return slog.LevelDebug, true
	case "INFO":
		return slog.LevelInfo, true
	case "WARNING", "WARN":
		return slog.LevelWarn, true
	case "ERROR", "CRITICAL":
		return slog.LevelError, true
	}
	return slog.LevelInfo, false
}

func lineOf(n *yaml.Node) int {
	if n = deref(n); n != nil {
		return n.Line
	}
	return 0
}

// nodeOr returns p's value node, or n when p is nil.
func nodeOr(p *pair, n *yaml.Node) *yaml.Node {
	if p != nil {
		return p.val
	}
	return n
}

func nameOr(s, def string) string {
	if s != "" {
		return s
	}
	return def
}
