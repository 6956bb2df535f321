package widget

import (
	"bytes"
	"crypto/sha256"
	_ "embed"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// ScopeRead is the scope a widget key must grant by default.
const ScopeRead = "widget:read"

// Defaults of Config.
const (
	DefaultCacheTTL     = 10 * time.Second
	DefaultMaxResources = 20
)

// Error codes of the JSON API's error bodies ({"error": "...", "code": "..."}),
// besides the apikeys middleware's (missing_api_key, invalid_api_key,
// insufficient_scope, rate_limited, unavailable).
const (
	// CodeOriginNotAllowed: the request's Origin is not in Config.AllowedOrigins.
	CodeOriginNotAllowed = "origin_not_allowed"
	// CodeQueryNotAllowed: the request has a query string; keys go in the
	// Authorization header only, and the API takes no parameters.
	CodeQueryNotAllowed = "query_not_allowed"
	// CodeNotReadOnly: the key grants more than reading (a scope that does not
	// end in ":read"), so it must not be put on a web page.
	CodeNotReadOnly = "key_not_read_only"
	// CodeNoProject: the key is not bound to a Waldur project.
	CodeNoProject = "key_not_bound_to_project"
	// CodeWaldurUnavailable: Waldur could not be read.
	CodeWaldurUnavailable = "waldur_unavailable"
)

//go:embed widget.js
var script []byte

// scriptETag is the module's strong entity tag, so browsers revalidate cheaply.
var scriptETag = func() string {
	sum := sha256.Sum256(script)
	return `"` + base64.RawURLEncoding.EncodeToString(sum[:12]) + `"`
}()

// Script returns the JavaScript module that defines <waldur-agent-widget>, as
// the handler serves it at /widget.js.
func Script() []byte { return append([]byte(nil), script...) }

// Agent is what the widget reads about the site agent's health.
// *siteagent.Agent implements it.
type Agent interface {
	Live() bool
	Ready() bool
	EventSourceStatus() siteagent.EventSourceStatus
	Stats() siteagent.Stats
}

// Config configures New.
type Config struct {
	// Keys verifies the widget's keys. Required; usually the *apikeys.Manager
	// that issued them. When it can also list keys (as *apikeys.Manager can),
	// each Waldur key is shown with the public id of its current local key.
	Keys apikeys.Verifier
	// Client reads the project's resources, their usage and their API keys
	// from Waldur with the agent's credentials. Required.
	Client *waldur.Client
	// Agent, when set, reports the agent's health in the widget.
	Agent Agent
	// AllowedOrigins are the origins of the pages that may embed the widget,
	// such as "https://portal.example.com" (scheme, host and port, no path).
	// Requests carrying any other Origin are refused with 403. Empty: no
	// cross-origin page may use it.
	AllowedOrigins []string
	// Scope a key must grant. Default ScopeRead.
	Scope string
	// CacheTTL is how long a project's status is reused for further requests
	// with keys of the same binding, so a widget on a busy page costs Waldur a
	// few requests per TTL, not per viewer. Default DefaultCacheTTL; negative
	// disables the cache.
	CacheTTL time.Duration
	// MaxResources bounds how many of the project's resources are shown (each
	// costs two Waldur requests). Default DefaultMaxResources.
	MaxResources int
	// Location is the time zone of the billing month. Default UTC, as the
	// apikeys Meter counts.
	Location *time.Location
	// Logger receives Waldur failures (never keys). Default: discard.
	Logger *slog.Logger
}

// Handler serves the widget's JavaScript module and its JSON API:
//
//	GET /widget.js  the module defining <waldur-agent-widget>
//	GET /status     the caller's project status (see Status), with a key
//
// Mount it under a prefix with http.StripPrefix. It is safe for concurrent use.
type Handler struct {
	cfg     Config
	origins map[string]bool
	api     http.Handler
	status  *statusSource
	log     *slog.Logger
}

// New returns a Handler for cfg.
func New(cfg Config) (*Handler, error) {
	if cfg.Keys == nil {
		return nil, errors.New("widget: Config.Keys is required")
	}
	if cfg.Client == nil {
		return nil, errors.New("widget: Config.Client is required")
	}
	if cfg.Scope == "" {
		cfg.Scope = ScopeRead
	}
	if !apikeys.ValidateScope(cfg.Scope) || !readOnly(cfg.Scope) {
		return nil, fmt.Errorf("widget: scope %q must be a read scope (ending in \":read\")", cfg.Scope)
	}
	if cfg.CacheTTL == 0 {
		cfg.CacheTTL = DefaultCacheTTL
	}
	if cfg.MaxResources <= 0 {
		cfg.MaxResources = DefaultMaxResources
	}
	if cfg.Location == nil {
		cfg.Location = time.UTC
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	origins := make(map[string]bool, len(cfg.AllowedOrigins))
	for _, o := range cfg.AllowedOrigins {
		n, err := normalizeOrigin(o)
		if err != nil {
			return nil, fmt.Errorf("widget: allowed origin %q: %w", o, err)
		}
		origins[n] = true
	}
	h := &Handler{cfg: cfg, origins: origins, log: log}
	h.status = newStatusSource(cfg, log)
	h.api = apikeys.Middleware(cfg.Keys, apikeys.MiddlewareConfig{
		Realm: "widget", Scopes: []string{cfg.Scope}, Logger: log,
	})(http.HandlerFunc(h.serveStatus))
	return h, nil
}

// normalizeOrigin returns o as browsers send it in the Origin header:
// lower-case scheme and host, the port only when it is not the default.
func normalizeOrigin(o string) (string, error) {
	u, err := url.Parse(o)
	if err != nil {
		return "", err
	}
	if u.Scheme != "http" && u.Scheme != "https" {
		return "", errors.New("scheme must be http or https")
	}
	if u.Host == "" || u.User != nil || strings.Trim(u.Path, "/") != "" || u.RawQuery != "" || u.Fragment != "" {
		return "", errors.New("an origin is scheme://host[:port] and nothing else")
	}
	scheme, host, port := strings.ToLower(u.Scheme), strings.ToLower(u.Hostname()), u.Port()
	if (scheme == "http" && port == "80") || (scheme == "https" && port == "443") {
		port = ""
	}
	if strings.Contains(host, ":") {
		host = "[" + host + "]"
	}
	if port != "" {
		host += ":" + port
	}
	return scheme + "://" + host, nil
}

// ServeHTTP implements http.Handler.
func (h *Handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	hd := w.Header()
	hd.Set("X-Content-Type-Options", "nosniff")
	hd.Set("Referrer-Policy", "no-referrer")
	hd.Add("Vary", "Origin")
	if origin := r.Header.Get("Origin"); origin != "" {
		if !h.origins[origin] {
			writeError(w, http.StatusForbidden, CodeOriginNotAllowed, "this page's origin may not use the widget")
			return
		}
		hd.Set("Access-Control-Allow-Origin", origin)
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			hd.Set("Access-Control-Allow-Methods", "GET")
			hd.Set("Access-Control-Allow-Headers", "Authorization")
			hd.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
	}
	switch strings.TrimPrefix(r.URL.Path, "/") {
	case "widget.js":
		h.serveScript(w, r)
	case "status":
		if !getOrHead(w, r) {
			return
		}
		// The API takes no parameters: a key in the query string would end up
		// in access logs, proxies and browser history.
		if r.URL.RawQuery != "" {
			writeError(w, http.StatusBadRequest, CodeQueryNotAllowed, "no query parameters; send the key in the Authorization header")
			return
		}
		hd.Set("Cache-Control", "no-store")
		hd.Set("Content-Security-Policy", "default-src 'none'; frame-ancestors 'none'")
		h.api.ServeHTTP(w, r)
	default:
		http.NotFound(w, r)
	}
}

func getOrHead(w http.ResponseWriter, r *http.Request) bool {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		return true
	}
	w.Header().Set("Allow", "GET, HEAD")
	writeError(w, http.StatusMethodNotAllowed, "method_not_allowed", "GET only")
	return false
}

func (h *Handler) serveScript(w http.ResponseWriter, r *http.Request) {
	if !getOrHead(w, r) {
		return
	}
	hd := w.Header()
	hd.Set("Content-Type", "text/javascript; charset=utf-8")
	hd.Set("Cache-Control", "public, max-age=300")
	hd.Set("ETag", scriptETag)
	hd.Set("Cross-Origin-Resource-Policy", "cross-origin")
	http.ServeContent(w, r, "widget.js", time.Time{}, bytes.NewReader(script))
}

// serveStatus answers a verified request with its project's status.
func (h *Handler) serveStatus(w http.ResponseWriter, r *http.Request) {
	id, ok := apikeys.FromContext(r.Context())
	if !ok { // unreachable behind the middleware; fail closed
		writeError(w, http.StatusUnauthorized, apikeys.CodeMissingKey, "an API key is required")
		return
	}
	for _, s := range id.Scopes {
		if !readOnly(s) {
			writeError(w, http.StatusForbidden, CodeNotReadOnly,
				"this key grants more than reading; issue a key with read scopes only for a web page")
			return
		}
	}
	if id.ProjectUUID == (waldur.UUID{}) {
		writeError(w, http.StatusForbidden, CodeNoProject, "this key is not bound to a project")
		return
	}
	body, err := h.status.json(r.Context(), id.Binding)
	if err != nil {
		h.log.WarnContext(r.Context(), "widget: reading the project's status", "key", id.Display, "error", err)
		writeError(w, http.StatusBadGateway, CodeWaldurUnavailable, "the status could not be read; try again later")
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

// readOnly reports whether a granted scope only reads: "name:read".
// Wildcards ("*", "name:*") grant writes too.
func readOnly(scope string) bool { return strings.HasSuffix(scope, ":read") }

func writeError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(struct {
		Error string `json:"error"`
		Code  string `json:"code"`
	}{msg, code})
}
