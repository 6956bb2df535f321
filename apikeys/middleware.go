package apikeys

import (
	"context"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"
)

type ctxKey struct{}

// NewContext returns a copy of ctx carrying id, as the middleware does for a
// verified request. Useful in tests of handlers.
func NewContext(ctx context.Context, id Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, &id)
}

// FromContext returns the identity of the key that authenticated the request.
func FromContext(ctx context.Context) (Identity, bool) {
	id, ok := ctx.Value(ctxKey{}).(*Identity)
	if !ok {
		return Identity{}, false
	}
	return *id, true
}

// MiddlewareConfig configures Middleware. The zero value verifies keys
// without required scopes and without metering.
type MiddlewareConfig struct {
	// Scopes every request must be granted. Per-handler scopes can be added
	// with RequireScopes.
	Scopes []string
	// Meter, when set, counts each admitted request.
	Meter *Meter
	// Component is what Meter counts requests as. Default "requests".
	Component string
	// Realm names the protection space in WWW-Authenticate. Default "api".
	Realm string
	// Logger receives verification failures caused by the Store (never
	// keys). Default: discard.
	Logger *slog.Logger

	// FailureLimit, when set, throttles guessing: every request whose key
	// is malformed or unknown (or whose secret is wrong) takes a token from
	// a bucket of its client address, and while that bucket is empty the address
	// gets 429 (code "too_many_failures", with Retry-After) before any key
	// it sends is checked, valid keys included. For example
	// RateLimit{PerSecond: 1, Burst: 20} allows 20 failures at once and
	// one a second after that. Requests without a key, and authentic keys
	// that are expired, revoked or suspended, do not count. Up to
	// 10,000 addresses are tracked; beyond that the least recently seen
	// start afresh. Default: no throttle.
	FailureLimit RateLimit
	// ClientAddress names the client that FailureLimit counts by. Default:
	// the host of Request.RemoteAddr. Behind a reverse proxy, return the
	// address the proxy vouches for (and only that: a header the client
	// sets itself would let it pick a fresh bucket for every guess).
	ClientAddress func(*http.Request) string
}

// Error codes of the middleware's JSON bodies ({"error": "...", "code": "..."}).
const (
	// CodeMissingKey: no Authorization header with a Bearer or Token key.
	CodeMissingKey = "missing_api_key"
	// CodeInvalidKey: the key is malformed, unknown, expired, revoked or
	// suspended. These are deliberately indistinguishable to the client.
	CodeInvalidKey = "invalid_api_key"
	// CodeInsufficientScope: the key is valid but lacks a required scope.
	CodeInsufficientScope = "insufficient_scope"
	// CodeRateLimited: the key is over its rate limit.
	CodeRateLimited = "rate_limited"
	// CodeUnavailable: the key could not be checked (store failure).
	CodeUnavailable = "unavailable"
	// CodeTooManyFailures: the client's address sent too many invalid keys
	// (MiddlewareConfig.FailureLimit).
	CodeTooManyFailures = "too_many_failures"
)

// Middleware returns HTTP middleware that requires a valid API key in
// "Authorization: Bearer <key>" or "Authorization: Token <key>" (Waldur's
// scheme), puts its Identity into the request context (see FromContext) and
// optionally meters the request.
//
// Rejections carry a small JSON body: 401 with WWW-Authenticate for a missing,
// malformed, unknown, expired, revoked or suspended key (all but a missing
// one share the code "invalid_api_key", so a client cannot probe which keys
// exist), 403 for a
// missing scope, 429 with Retry-After when rate limited or when the client
// sent too many invalid keys (MiddlewareConfig.FailureLimit), 503 when the
// key store is unreachable.
func Middleware(v Verifier, cfg MiddlewareConfig) func(http.Handler) http.Handler {
	if cfg.Component == "" {
		cfg.Component = "requests"
	}
	if cfg.Realm == "" {
		cfg.Realm = "api"
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	challenge := `Bearer realm="` + strings.ReplaceAll(cfg.Realm, `"`, "") + `"`
	invalidChallenge := challenge + `, error="invalid_token"`
	throttle := newFailureThrottle(cfg.FailureLimit, cfg.ClientAddress)
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			key, ok := ExtractKey(r.Header.Get("Authorization"))
			if !ok {
				w.Header().Set("WWW-Authenticate", challenge)
				writeError(w, http.StatusUnauthorized, CodeMissingKey, "an API key is required")
				return
			}
			var addr string
			if throttle != nil {
				var wait time.Duration
				var blocked bool
				if addr, wait, blocked = throttle.blocked(r, time.Now()); blocked {
					w.Header().Set("Retry-After", retryAfterSeconds(wait))
					writeError(w, http.StatusTooManyRequests, CodeTooManyFailures, "too many invalid API keys")
					return
				}
			}
			res, err := v.Verify(r.Context(), key, cfg.Scopes...)
			if err != nil {
				log.LogAttrs(r.Context(), slog.LevelError, "apikeys: cannot verify key", slog.Any("error", err))
				w.Header().Set("Retry-After", "1")
				writeError(w, http.StatusServiceUnavailable, CodeUnavailable, "cannot verify the API key now")
				return
			}
			switch res.Reason {
			case ReasonValid:
			case ReasonScopeMissing:
				writeError(w, http.StatusForbidden, CodeInsufficientScope, "the API key lacks a required scope")
				return
			case ReasonRateLimited:
				w.Header().Set("Retry-After", retryAfterSeconds(res.RetryAfter))
				writeError(w, http.StatusTooManyRequests, CodeRateLimited, "rate limit exceeded")
				return
			default:
				if throttle != nil && (res.Reason == ReasonNotFound || res.Reason == ReasonMalformed) {
					throttle.fail(addr, time.Now())
				}
				w.Header().Set("WWW-Authenticate", invalidChallenge)
				writeError(w, http.StatusUnauthorized, CodeInvalidKey, "invalid API key")
				return
			}
			if cfg.Meter != nil {
				cfg.Meter.Add(res.Identity, cfg.Component, 1)
			}
			next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), res.Identity)))
		})
	}
}

// RequireScopes wraps a handler behind Middleware so that it also requires
// the given scopes; a request without them gets 403. A request that reached
// it without a verified key gets 401 (a wiring mistake, failing closed).
func RequireScopes(next http.Handler, scopes ...string) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := FromContext(r.Context())
		if !ok {
			writeError(w, http.StatusUnauthorized, CodeMissingKey, "an API key is required")
			return
		}
		if !id.HasScopes(scopes...) {
			writeError(w, http.StatusForbidden, CodeInsufficientScope, "the API key lacks a required scope")
			return
		}
		next.ServeHTTP(w, r)
	})
}

// ExtractKey returns the key from an Authorization header value of the form
// "Bearer <key>" or "Token <key>" (scheme case-insensitive, as HTTP
// requires). It does not check the key itself.
func ExtractKey(header string) (string, bool) {
	scheme, key, ok := strings.Cut(header, " ")
	if !ok || !(strings.EqualFold(scheme, "Bearer") || strings.EqualFold(scheme, "Token")) {
		return "", false
	}
	key = strings.TrimLeft(key, " ")
	if key == "" || len(key) > 4*MaxKeyLen || strings.ContainsAny(key, " \t") {
		return "", false
	}
	return key, true
}

func retryAfterSeconds(d time.Duration) string {
	s := int64((d + time.Second - 1) / time.Second)
	return strconv.FormatInt(max(s, 1), 10)
}

// writeError writes {"error": msg, "code": code}. Both are package constants
// free of characters that need JSON escaping.
func writeError(w http.ResponseWriter, status int, code, msg string) {
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	w.WriteHeader(status)
	_, _ = w.Write([]byte(`{"error":"` + msg + `","code":"` + code + `"}` + "\n"))
}
