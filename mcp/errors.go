package mcp

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Tool errors are read by a language model, so they say what happened and
// what would help, in one line, without Go or HTTP jargon where it can be
// avoided. They never carry credentials: waldur.APIError leaves out query
// strings and request bodies, and the client's URL holds no secrets.

// failure is a tool error with a message meant for the caller.
type failure struct {
	msg      string
	notFound bool // see notFound
	badArg   bool // an argument does not parse
}

func (f *failure) Error() string { return f.msg }

func failf(format string, args ...any) error {
	return &failure{msg: fmt.Sprintf(format, args...)}
}

// notFound is the answer for objects that do not exist and for objects of
// offerings this server does not serve, which must look the same.
func notFound(what string) error {
	return &failure{msg: what + " not found", notFound: true}
}

// isNotFound reports whether err came from notFound.
func isNotFound(err error) bool {
	var f *failure
	return errors.As(err, &f) && f.notFound
}

// waldurError turns an error of a Waldur call about what ("order 1f2e...")
// into a tool error.
func waldurError(what string, err error) error {
	var f *failure
	switch {
	case err == nil:
		return nil
	case errors.As(err, &f):
		return err
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return failf("%s: the request was cancelled or timed out", what)
	case waldur.IsNotFound(err):
		return notFound(what)
	case waldur.IsUnauthorized(err):
		return failf("Waldur rejected the site agent's credentials (401) for %s; the agent's Waldur token must be fixed", what)
	case waldur.IsForbidden(err):
		return failf("Waldur refused %s: the site agent's Waldur account lacks the permission (403)%s", what, detail(err))
	case waldur.IsRateLimited(err):
		var apiErr *waldur.APIError
		if errors.As(err, &apiErr) && apiErr.RetryAfter > 0 {
			return failf("Waldur is rate limiting the site agent; retry %s in %d seconds", what, int(math.Ceil(apiErr.RetryAfter.Seconds())))
		}
		return failf("Waldur is rate limiting the site agent; retry %s later", what)
	case waldur.IsConflict(err):
		return failf("Waldur refused %s in the object's current state%s", what, detail(err))
	case waldur.IsTransient(err):
		return failf("Waldur is unreachable or failing; retry %s later (%v)", what, err)
	}
	var apiErr *waldur.APIError
	if errors.As(err, &apiErr) {
		return failf("Waldur refused %s (%d)%s", what, apiErr.StatusCode, detail(err))
	}
	return failf("%s failed: %v", what, err)
}

// detail renders Waldur's explanation as ": <message>", or nothing.
func detail(err error) string {
	var apiErr *waldur.APIError
	if errors.As(err, &apiErr) {
		if m := strings.TrimSpace(apiErr.Message()); m != "" {
			return ": " + m
		}
	}
	return ""
}

// parseUUID parses a UUID argument; field names it in the error.
func parseUUID(field, s string) (waldur.UUID, error) {
	if s == "" {
		return waldur.UUID{}, &failure{msg: field + " is required", badArg: true}
	}
	u, err := waldur.ParseUUID(s)
	if err != nil {
		return waldur.UUID{}, &failure{
			msg:    fmt.Sprintf("%s %q is not a UUID (expected 32 hex digits or the hyphenated form)", field, truncate(s, 64)),
			badArg: true,
		}
	}
	return u, nil
}

// optUUID parses an optional UUID argument.
func optUUID(field, s string) (waldur.UUID, error) {
	if s == "" {
		return waldur.UUID{}, nil
	}
	return parseUUID(field, s)
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}
