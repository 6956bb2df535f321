package waldur

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"net"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// maxErrorBody caps how much of an error response is read and kept in
// [APIError.Body]; Waldur's error bodies are small, a proxy's HTML page is not.
const maxErrorBody = 16 << 10

// APIError is the error returned for every response outside 2xx. It carries
// what Waldur said, decoded from any of the three body shapes Django REST
// Framework produces:
//
//	{"detail": "Valid states for operation: pending-provider."}   → Detail
//	{"backend_id": ["This field is required."]}                   → FieldErrors
//	["Offering state is invalid."]                                 → Messages
//
// Use [errors.As] to get at it, or the Is* helpers ([IsNotFound],
// [IsInvalidState], ...) to branch on it.
type APIError struct {
	// StatusCode is the HTTP status code, e.g. 409.
	StatusCode int
	// Method is the request method, e.g. "POST".
	Method string
	// Path is the request path without the query string, so filter values
	// never reach logs through error messages.
	Path string
	// Detail is the "detail" message of a {"detail": "..."} body.
	Detail string
	// FieldErrors maps a field to its messages for a validation error body.
	// Nested errors are flattened: "usages[0].amount", "limits.cpu".
	// Errors not tied to a field are under "non_field_errors".
	FieldErrors map[string][]string
	// Messages holds the strings of a bare JSON array body.
	Messages []string
	// Body is the raw response body, truncated to 16 KiB.
	Body []byte
	// RetryAfter is the wait the server asked for in a Retry-After header
	// (429 and 503 responses), or zero.
	RetryAfter time.Duration
}

// Error renders the error as
// "waldur: POST /api/marketplace-orders/<uuid>/approve_by_provider/: 409 Conflict: Valid states for operation: pending-provider."
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("waldur: ")
	b.WriteString(e.Method)
	b.WriteByte(' ')
	b.WriteString(e.Path)
	b.WriteString(": ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if text := http.StatusText(e.StatusCode); text != "" {
		b.WriteByte(' ')
		b.WriteString(text)
	}
	if msg := e.Message(); msg != "" {
		b.WriteString(": ")
		b.WriteString(msg)
	}
	return b.String()
}

// Message returns the server's explanation in one line: the detail, the array
// messages, or the field errors ("field: message"), whichever the body had.
// It is empty when the body had none of them.
func (e *APIError) Message() string {
	if e.Detail != "" {
		return e.Detail
	}
	parts := append([]string(nil), e.Messages...)
	if len(e.FieldErrors) > 0 {
		keys := make([]string, 0, len(e.FieldErrors))
		for k := range e.FieldErrors {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			for _, m := range e.FieldErrors[k] {
				if k == "non_field_errors" {
					parts = append(parts, m)
				} else {
					parts = append(parts, k+": "+m)
				}
			}
		}
	}
	return strings.Join(parts, "; ")
}

// newAPIError builds the error for a non-2xx response whose (already capped)
// body is body.
func newAPIError(method string, u *url.URL, resp *http.Response, body []byte, now time.Time) *APIError {
	e := &APIError{
		StatusCode: resp.StatusCode,
		Method:     method,
		Path:       u.EscapedPath(),
		Body:       body,
	}
	if resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable {
		e.RetryAfter, _ = parseRetryAfter(resp.Header.Get("Retry-After"), now)
	}
	e.Detail, e.FieldErrors, e.Messages = decodeErrorBody(body)
	return e
}

// decodeErrorBody decodes the body shapes DRF's exception handler produces. A
// body that is not JSON (a proxy's error page) yields nothing: the status code
// and [APIError.Body] still tell the story.
func decodeErrorBody(body []byte) (detail string, fields map[string][]string, messages []string) {
	var v any
	if err := json.Unmarshal(body, &v); err != nil {
		return "", nil, nil
	}
	switch v := v.(type) {
	case string:
		return v, nil, nil
	case []any:
		return "", nil, flattenMessages(v)
	case map[string]any:
		if d, ok := v["detail"]; ok {
			if s, ok := d.(string); ok {
				detail = s
			} else {
				messages = collectMessages(d)
			}
		}
		for k, val := range v {
			if k == "detail" || k == "code" {
				continue
			}
			if fields == nil {
				fields = make(map[string][]string)
			}
			addFieldErrors(fields, k, val)
		}
		if len(fields) == 0 {
			fields = nil
		}
	}
	return detail, fields, messages
}

// flattenMessages turns a bare array body into messages; nested values are
// rendered by collectMessages.
func flattenMessages(items []any) []string {
	var out []string
	for _, it := range items {
		out = append(out, collectMessages(it)...)
	}
	return out
}

// collectMessages returns every string found in v, depth first.
func collectMessages(v any) []string {
	switch v := v.(type) {
	case string:
		return []string{v}
	case []any:
		return flattenMessages(v)
	case map[string]any:
		keys := make([]string, 0, len(v))
		for k := range v {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var out []string
		for _, k := range keys {
			for _, m := range collectMessages(v[k]) {
				out = append(out, k+": "+m)
			}
		}
		return out
	case nil:
		return nil
	default:
		b, _ := json.Marshal(v)
		return []string{string(b)}
	}
}

// addFieldErrors records the messages of field key, flattening DRF's nested
// serializer errors: lists of per-item dicts become key[i].sub, dicts key.sub.
func addFieldErrors(fields map[string][]string, key string, v any) {
	switch v := v.(type) {
	case string:
		fields[key] = append(fields[key], v)
	case []any:
		for i, it := range v {
			switch it := it.(type) {
			case map[string]any:
				for k, sub := range it {
					addFieldErrors(fields, key+"["+strconv.Itoa(i)+"]."+k, sub)
				}
			case []any:
				addFieldErrors(fields, key+"["+strconv.Itoa(i)+"]", it)
			default:
				fields[key] = append(fields[key], collectMessages(it)...)
			}
		}
	case map[string]any:
		for k, sub := range v {
			addFieldErrors(fields, key+"."+k, sub)
		}
	default:
		fields[key] = append(fields[key], collectMessages(v)...)
	}
}

// transportError is a request that got no HTTP response: a refused or reset
// connection, a timeout, a cancelled context. Its message names the request
// but never carries headers, so no credential can leak through it.
type transportError struct {
	method, path string
	err          error
}

func (e *transportError) Error() string {
	return "waldur: " + e.method + " " + e.path + ": " + e.err.Error()
}

func (e *transportError) Unwrap() error { return e.err }

// wrapTransportError wraps err from the HTTP doer. The *url.Error layer is
// dropped because it repeats the full URL, query included.
func wrapTransportError(method string, u *url.URL, err error) error {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	return &transportError{method: method, path: u.EscapedPath(), err: err}
}

func statusOf(err error) int {
	var e *APIError
	if errors.As(err, &e) {
		return e.StatusCode
	}
	return 0
}

// IsNotFound reports whether err is a 404 from Waldur. Waldur also answers
// 404 for objects the caller is not allowed to see.
func IsNotFound(err error) bool { return statusOf(err) == http.StatusNotFound }

// IsUnauthorized reports whether err is a 401: the token is missing, invalid
// or expired.
func IsUnauthorized(err error) bool { return statusOf(err) == http.StatusUnauthorized }

// IsForbidden reports whether err is a 403: authenticated, but the user lacks
// the permission.
func IsForbidden(err error) bool { return statusOf(err) == http.StatusForbidden }

// IsConflict reports whether err is a 409.
func IsConflict(err error) bool { return statusOf(err) == http.StatusConflict }

// IsInvalidState reports whether err is what Waldur answers to a state action
// (approve, set_state_done, set_as_ok, ...) on an object in the wrong state:
// usually 409 Conflict, for some transitions 400 Bad Request. Callers should
// re-read the object and decide; the transition may already have happened.
//
// A 400 is also a plain validation error, so use IsInvalidState only on the
// result of a state action.
func IsInvalidState(err error) bool {
	s := statusOf(err)
	return s == http.StatusConflict || s == http.StatusBadRequest
}

// IsRefusedForOfferingType reports whether err is Waldur's 405 Method Not
// Allowed from an order action that the order's offering type does not allow:
// set_state_executing and set_state_erred only for [OfferingTypeSlurm],
// set_state_done only for Slurm, [OfferingTypeBasic] and
// [OfferingTypeSupport]. The refusal is permanent for the offering; retrying
// cannot help.
func IsRefusedForOfferingType(err error) bool { return statusOf(err) == http.StatusMethodNotAllowed }

// IsRateLimited reports whether err is a 429. [APIError.RetryAfter] holds the
// wait the server asked for.
func IsRateLimited(err error) bool { return statusOf(err) == http.StatusTooManyRequests }

// IsTransient reports whether retrying the call later may succeed: a network
// error or timeout, a 5xx other than 501, or a 429. A cancelled context is not
// transient, nor is a certificate that fails verification. The client has already retried what it safely could, so this is
// for callers deciding whether to try again later (requeue an event, wait for
// the next reconciliation).
func IsTransient(err error) bool {
	if err == nil {
		return false
	}
	if s := statusOf(err); s != 0 {
		return s == http.StatusTooManyRequests || (s >= 500 && s != http.StatusNotImplemented)
	}
	if errors.Is(err, context.Canceled) {
		return false
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return true
	}
	var te *transportError
	if errors.As(err, &te) {
		return !isPermanentTransportError(te.err)
	}
	// Errors of Client.Do and Client.Raw come straight from net/http.
	var (
		ue *url.Error
		ne net.Error
	)
	if errors.As(err, &ue) || errors.As(err, &ne) {
		return !isPermanentTransportError(err)
	}
	return false
}

// isPermanentTransportError reports transport failures that a retry cannot
// fix: certificate problems and malformed requests.
func isPermanentTransportError(err error) bool {
	var (
		unknownAuthority x509.UnknownAuthorityError
		hostname         x509.HostnameError
		invalid          x509.CertificateInvalidError
		verify           *tls.CertificateVerificationError
	)
	if errors.As(err, &unknownAuthority) || errors.As(err, &hostname) || errors.As(err, &invalid) || errors.As(err, &verify) ||
		errors.Is(err, ErrResponseTooLarge) {
		return true
	}
	msg := err.Error()
	return strings.Contains(msg, "unsupported protocol scheme") ||
		strings.Contains(msg, "stopped after") // redirect loop
}

// errNoResponse is returned when the transport gave neither a response nor an
// error, which a conforming http.Client never does.
var errNoResponse = errors.New("no response")
