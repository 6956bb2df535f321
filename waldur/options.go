package waldur

import (
	"log/slog"
	"net/http"
	"strings"
	"time"
)

// Version is the version of this module, sent in the default User-Agent.
const Version = "0.1.0"

// DefaultUserAgent is the User-Agent sent when none is configured. Waldur
// marks an offering's integration as active only for requests whose
// User-Agent contains "waldur-site-agent", so every User-Agent this client
// sends keeps that token.
const DefaultUserAgent = "waldur-agent-go/" + Version + " (waldur-site-agent)"

// Page sizes: Waldur clamps page_size to 300.
const (
	DefaultPageSize = 100
	MaxPageSize     = 300
)

// Option configures a [Client] in [NewClient].
type Option func(*settings)

// settings collects the options before NewClient validates them.
type settings struct {
	authorization string
	kind          TokenKind // of authorization; TokenAuto without one
	badKind       TokenKind // an invalid kind given to WithCredential, else 0
	httpClient    *http.Client
	userAgent     string
	logger        *slog.Logger
	retry         RetryPolicy
	pageSize      int
	maxResponse   int64

	// Test hooks; see retryer.
	now         func() time.Time
	observeWait func(time.Duration) time.Duration
}

// WithToken authenticates with a Waldur API token (DRF token), sent as
// "Authorization: Token <key>". It is WithCredential(TokenDRF, key).
func WithToken(key string) Option {
	return WithCredential(TokenDRF, key)
}

// WithBearerToken authenticates with a bearer token, sent as
// "Authorization: Bearer <tok>": a Waldur personal access token ("w_...") or an
// OIDC access token. Prefer [WithCredential], which records which of the two
// it is.
func WithBearerToken(tok string) Option {
	kind := TokenOIDC
	if strings.HasPrefix(tok, "w_") {
		kind = TokenPAT
	}
	return WithCredential(kind, tok)
}

func authValue(scheme, secret string) string {
	if secret == "" {
		return ""
	}
	return scheme + " " + secret
}

// WithHTTPClient sets the HTTP client requests go through; its Transport and
// Timeout apply to each attempt. The client is used as is, never modified.
// The default is a pooled client with a 60 s timeout per attempt.
func WithHTTPClient(hc *http.Client) Option {
	return func(s *settings) { s.httpClient = hc }
}

// WithUserAgent names the program using the client. The User-Agent sent is
// "<ua> waldur-agent-go/<Version> (waldur-site-agent)", unless ua already
// contains "waldur-site-agent", in which case it is sent unchanged: Waldur
// needs that token to mark the offering's integration as active.
func WithUserAgent(ua string) Option {
	return func(s *settings) { s.userAgent = ua }
}

// WithLogger sets the logger for request and retry diagnostics, all at debug
// level. The default discards. Credentials and request bodies are never
// logged.
func WithLogger(l *slog.Logger) Option {
	return func(s *settings) { s.logger = l }
}

// WithRetryPolicy sets how failed requests are retried; see [RetryPolicy].
func WithRetryPolicy(p RetryPolicy) Option {
	return func(s *settings) { s.retry = p }
}

// DefaultMaxResponseBytes bounds a response body when WithMaxResponseBytes
// is not given: far above any page of 300 objects, far below what would hurt
// the agent's memory.
const DefaultMaxResponseBytes = 64 << 20

// WithMaxResponseBytes bounds the body of every response the client reads,
// those of [Client.Do] and [Client.Raw] included. A longer body (or a
// Content-Length announcing one) fails with an error wrapping
// [ErrResponseTooLarge], which is not retried. Memory is never reserved from
// the announced Content-Length. Values below 1 select
// [DefaultMaxResponseBytes].
func WithMaxResponseBytes(n int64) Option {
	return func(s *settings) { s.maxResponse = n }
}

// WithPageSize sets the page_size of list requests. Values below 1 select
// [DefaultPageSize]; values above [MaxPageSize] are clamped to it.
func WithPageSize(n int) Option {
	return func(s *settings) { s.pageSize = n }
}
