package waldur

import (
	"bytes"
	"context"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestAPIErrorDecodesWaldurBodies(t *testing.T) {
	tests := []struct {
		name       string
		status     int
		body       string
		wantDetail string
		wantFields map[string][]string
		wantMsgs   []string
		wantError  string
	}{
		{
			name:       "detail",
			status:     409,
			body:       `{"detail": "Valid states for operation: pending-provider."}`,
			wantDetail: "Valid states for operation: pending-provider.",
			wantError:  "waldur: POST /api/marketplace-orders/1f2e/approve_by_provider/: 409 Conflict: Valid states for operation: pending-provider.",
		},
		{
			name:       "field errors",
			status:     400,
			body:       `{"backend_id": ["This field is required."], "non_field_errors": ["Resource is terminated."]}`,
			wantFields: map[string][]string{"backend_id": {"This field is required."}, "non_field_errors": {"Resource is terminated."}},
			wantError:  "waldur: POST /api/marketplace-orders/1f2e/approve_by_provider/: 400 Bad Request: backend_id: This field is required.; Resource is terminated.",
		},
		{
			name:       "nested field errors",
			status:     400,
			body:       `{"usages": [{}, {"amount": ["Ensure that there are no more than 2 decimal places."]}], "limits": {"cpu": ["A valid integer is required."]}, "name": "too long"}`,
			wantFields: map[string][]string{"usages[1].amount": {"Ensure that there are no more than 2 decimal places."}, "limits.cpu": {"A valid integer is required."}, "name": {"too long"}},
		},
		{
			name:      "array",
			status:    400,
			body:      `["Offering state is invalid.", "Second."]`,
			wantMsgs:  []string{"Offering state is invalid.", "Second."},
			wantError: "waldur: POST /api/marketplace-orders/1f2e/approve_by_provider/: 400 Bad Request: Offering state is invalid.; Second.",
		},
		{
			name:      "not JSON",
			status:    502,
			body:      `<html>Bad gateway</html>`,
			wantError: "waldur: POST /api/marketplace-orders/1f2e/approve_by_provider/: 502 Bad Gateway",
		},
		{
			name:      "empty",
			status:    404,
			wantError: "waldur: POST /api/marketplace-orders/1f2e/approve_by_provider/: 404 Not Found",
		},
		{
			name:       "detail with code",
			status:     401,
			body:       `{"detail": "Invalid token.", "code": "authentication_failed"}`,
			wantDetail: "Invalid token.",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(tt.status)
				io.WriteString(w, tt.body)
			})
			c, _ := newTestClient(t, h)
			req, err := http.NewRequest(http.MethodPost, c.server+"api/marketplace-orders/1f2e/approve_by_provider/?secret_filter=1", nil)
			require.NoError(t, err)
			_, err = c.call(context.Background(), req, nil, nil)
			var apiErr *APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tt.status, apiErr.StatusCode)
			assert.Equal(t, http.MethodPost, apiErr.Method)
			assert.Equal(t, "/api/marketplace-orders/1f2e/approve_by_provider/", apiErr.Path)
			assert.Equal(t, tt.wantDetail, apiErr.Detail)
			assert.Equal(t, tt.wantFields, apiErr.FieldErrors)
			assert.Equal(t, tt.wantMsgs, apiErr.Messages)
			assert.Equal(t, tt.body, string(apiErr.Body))
			if tt.wantError != "" {
				assert.Equal(t, tt.wantError, err.Error())
			}
			assert.NotContains(t, err.Error(), "secret_filter")
		})
	}
}

func TestAPIErrorBodyIsCapped(t *testing.T) {
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(500)
		io.WriteString(w, strings.Repeat("x", 3*maxErrorBody))
	})
	c, _ := newTestClient(t, h, WithRetryPolicy(RetryPolicy{MaxRetries: -1}))
	req, _ := http.NewRequest(http.MethodGet, c.server+"api/x/", nil)
	_, err := c.call(context.Background(), req, nil, nil)
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Len(t, apiErr.Body, maxErrorBody)
}

func TestErrorHelpers(t *testing.T) {
	api := func(status int) error {
		return fmt.Errorf("siteagent: approve order: %w", &APIError{StatusCode: status, Method: "POST", Path: "/api/x/"})
	}
	netErr := &transportError{method: "GET", path: "/api/x/", err: io.ErrUnexpectedEOF}
	tests := []struct {
		name string
		err  error
		is   func(error) bool
		want bool
	}{
		{"404 not found", api(404), IsNotFound, true},
		{"409 not found", api(409), IsNotFound, false},
		{"401 unauthorized", api(401), IsUnauthorized, true},
		{"403 forbidden", api(403), IsForbidden, true},
		{"403 unauthorized", api(403), IsUnauthorized, false},
		{"409 conflict", api(409), IsConflict, true},
		{"409 invalid state", api(409), IsInvalidState, true},
		{"400 invalid state", api(400), IsInvalidState, true},
		{"404 invalid state", api(404), IsInvalidState, false},
		{"429 rate limited", api(429), IsRateLimited, true},
		{"405 refused for offering type", api(405), IsRefusedForOfferingType, true},
		{"409 refused for offering type", api(409), IsRefusedForOfferingType, false},
		{"405 invalid state", api(405), IsInvalidState, false},
		{"405 transient", api(405), IsTransient, false},
		{"429 transient", api(429), IsTransient, true},
		{"500 transient", api(500), IsTransient, true},
		{"503 transient", api(503), IsTransient, true},
		{"501 transient", api(501), IsTransient, false},
		{"400 transient", api(400), IsTransient, false},
		{"network transient", fmt.Errorf("wrapped: %w", netErr), IsTransient, true},
		{"deadline transient", &transportError{"GET", "/", context.DeadlineExceeded}, IsTransient, true},
		{"canceled transient", &transportError{"GET", "/", context.Canceled}, IsTransient, false},
		{"other transient", errors.New("boom"), IsTransient, false},
		{"raw net/http error transient", &url.Error{Op: "Get", URL: "http://w/", Err: io.ErrUnexpectedEOF}, IsTransient, true},
		{"raw cancelled transient", &url.Error{Op: "Get", URL: "http://w/", Err: context.Canceled}, IsTransient, false},
		{"certificate transient", &transportError{"GET", "/", x509.UnknownAuthorityError{}}, IsTransient, false},
		{"nil transient", nil, IsTransient, false},
		{"nil not found", nil, IsNotFound, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.is(tt.err))
		})
	}
}

func TestOrderActionAllowed(t *testing.T) {
	for _, tt := range []struct {
		action, typ string
		want        bool
	}{
		{"set_state_executing", OfferingTypeSlurm, true},
		{"set_state_executing", OfferingTypeBasic, false},
		{"set_state_erred", OfferingTypeSlurm, true},
		{"set_state_erred", OfferingTypeSupport, false},
		{"set_state_done", OfferingTypeBasic, true},
		{"set_state_done", OfferingTypeSupport, true},
		{"set_state_done", OfferingTypeScript, false},
		{"set_state_done", OfferingTypeOpenStackTenant, false},
		{"approve_by_provider", OfferingTypeScript, true},
	} {
		assert.Equal(t, tt.want, OrderActionAllowed(tt.action, tt.typ), "%s on %s", tt.action, tt.typ)
	}
}

func TestTransportErrorsArePrefixed(t *testing.T) {
	c, err := NewClient("http://127.0.0.1:1", WithRetryPolicy(RetryPolicy{MaxRetries: -1}))
	require.NoError(t, err)
	req, _ := http.NewRequest(http.MethodGet, c.server+"api/users/me/?field=uuid", nil)
	_, err = c.call(context.Background(), req, nil, nil)
	require.Error(t, err)
	assert.True(t, strings.HasPrefix(err.Error(), "waldur: GET /api/users/me/: "), err.Error())
	assert.True(t, IsTransient(err))
}

// TestTokenIsNeverLogged runs successful, failing, retried and transport-
// failing calls with debug logging on and checks that neither the logs nor
// the errors, however formatted, contain the credential.
func TestTokenIsNeverLogged(t *testing.T) {
	for _, opt := range []Option{WithToken(testToken), WithBearerToken("w_" + testToken)} {
		var logs bytes.Buffer
		log := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
		f := &flaky{fails: []failure{{status: 503}, {reset: true}, {status: 401, body: `{"detail": "Invalid token."}`}}}
		c, _ := newTestClient(t, f, opt, WithLogger(log))
		var errs []error
		for range 3 {
			errs = append(errs, doCall(t, WithRetrySafe(context.Background()), c, http.MethodPost, `{"x": 1}`))
		}
		dead, err := NewClient("http://127.0.0.1:1", opt, WithLogger(log), WithRetryPolicy(RetryPolicy{MaxRetries: 1, MinWait: 1}))
		require.NoError(t, err)
		req, _ := http.NewRequest(http.MethodGet, dead.server+"api/users/me/", nil)
		_, err = dead.call(context.Background(), req, nil, nil)
		errs = append(errs, err)

		require.Error(t, errs[0])
		assert.Contains(t, logs.String(), "waldur: request", "debug logging is on")
		assert.Contains(t, logs.String(), "waldur: retrying request")
		for _, text := range []string{logs.String(), fmt.Sprint(errs), fmt.Sprintf("%+v", errs), fmt.Sprintf("%#v", errs)} {
			assert.NotContains(t, text, testToken)
		}
	}
}

func FuzzDecodeErrorBody(f *testing.F) {
	for _, s := range []string{
		`{"detail": "Not found."}`,
		`{"a": ["b"], "non_field_errors": ["c"]}`,
		`["x", ["y"], {"z": 1}]`,
		`{"usages": [{"amount": ["bad"]}], "limits": {"cpu": ["bad"]}}`,
		`"plain"`, `null`, `42`, `<html>`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		detail, fields, msgs := decodeErrorBody(body)
		e := &APIError{StatusCode: 400, Method: "GET", Path: "/", Detail: detail, FieldErrors: fields, Messages: msgs}
		msg := e.Error()
		if detail != "" && !strings.Contains(msg, detail) {
			t.Fatalf("Error() = %q lost the detail %q", msg, detail)
		}
		for _, m := range msgs {
			if !strings.Contains(msg, m) {
				t.Fatalf("Error() = %q lost the message %q", msg, m)
			}
		}
	})
}
