package siteagent_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// webhookAgent starts an agent that reconciles only at start, so that only
// webhook posts bring later orders, and returns it once that pass is done.
func webhookAgent(t *testing.T, f *fixture, p siteagent.OrderProcessor) *siteagent.Agent {
	t.Helper()
	cfg := f.config(p)
	cfg.ReconcileInterval = time.Hour
	a := start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return !a.Stats().LastReconcile.IsZero() }))
	return a
}

// post sends a webhook request and returns the status.
func post(t *testing.T, h http.Handler, target, contentType, body string) int {
	t.Helper()
	return postTo(t, h, target, contentType, body)
}

// postTo is post for tests and benchmarks.
func postTo(_ testing.TB, h http.Handler, target, contentType, body string) int {
	r := httptest.NewRequest(http.MethodPost, target, strings.NewReader(body))
	if contentType != "" {
		r.Header.Set("Content-Type", contentType)
	}
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w.Code
}

func TestWebhookJSONPostProcessesTheOrder(t *testing.T) {
	f := newFixture(t)
	p := &recorder{}
	a := webhookAgent(t, f, p)
	h := a.WebhookHandler(siteagent.WebhookConfig{Insecure: true})
	id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering})

	body := `{"created": "2026-11-25T10:00:00+00:00", "message": "Order has been created.",
		"event_type": "marketplace_order_created",
		"context": {"order_uuid": "` + waldur.Hex(id) + `", "offering_uuid": "` + waldur.Hex(f.offering) + `",
		            "order_limits": {"storage": 100}, "user_username": "alice", "order_cost": 1.5}}`
	assert.Equal(t, http.StatusAccepted, post(t, h, "/hook", "application/json", body))
	waitOrders(t, f.s, []waldur.UUID{id}, waldur.OrderStateDone)
	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, f.s.Transitions(id))
	assert.Equal(t, 1, p.count(id))
	assert.Equal(t, int64(1), a.Stats().EventsReceived)
}

func TestWebhookFormPostsStartTheOrderPass(t *testing.T) {
	tests := []struct {
		name string
		form func(order waldur.UUID) url.Values
	}{
		{
			// What Waldur sends for a form hook: the context's key names.
			name: "context keys only",
			form: func(waldur.UUID) url.Values {
				return url.Values{
					"created": {"2026-11-25T10:00:00+00:00"}, "message": {"Order has been created."},
					"event_type": {"marketplace_order_created"},
					"context":    {"order_uuid", "order_created", "offering_uuid", "project_uuid"},
				}
			},
		},
		{
			name: "bracketed context",
			form: func(order waldur.UUID) url.Values {
				return url.Values{"event_type": {"marketplace_order_approved"}, "context[order_uuid]": {order.String()}}
			},
		},
		{
			name: "context as JSON",
			form: func(order waldur.UUID) url.Values {
				return url.Values{"event_type": {"marketplace_order_approved"},
					"context": {`{"order_uuid": "` + waldur.Hex(order) + `"}`}}
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFixture(t)
			p := &recorder{}
			a := webhookAgent(t, f, p)
			id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering})
			code := post(t, a.WebhookHandler(siteagent.WebhookConfig{Insecure: true}), "/hook",
				"application/x-www-form-urlencoded", tt.form(id).Encode())
			assert.Equal(t, http.StatusAccepted, code)
			waitOrders(t, f.s, []waldur.UUID{id}, waldur.OrderStateDone)
			assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, f.s.Transitions(id))
			assert.Equal(t, 1, p.count(id))
		})
	}
}

func TestWebhookRejectsBadInput(t *testing.T) {
	f := newFixture(t)
	a := webhookAgent(t, f, &recorder{})
	h := a.WebhookHandler(siteagent.WebhookConfig{MaxBodyBytes: 256, Insecure: true})
	tests := []struct {
		name, contentType, body string
		want                    int
	}{
		{"truncated JSON", "application/json", `{"event_type": "marketplace_order_created", "context": {`, http.StatusBadRequest},
		{"JSON array", "application/json", `[{"event_type": "x"}]`, http.StatusBadRequest},
		{"JSON null", "application/json", `null`, http.StatusBadRequest},
		{"no event type", "application/json", `{"message": "hello", "context": {}}`, http.StatusBadRequest},
		{"event type not a string", "application/json", `{"event_type": 7}`, http.StatusBadRequest},
		{"bad form escape", "application/x-www-form-urlencoded", `event_type=%zz`, http.StatusBadRequest},
		{"empty body", "", ``, http.StatusBadRequest},
		{"too large", "application/json", `{"event_type": "marketplace_order_created", "message": "` + strings.Repeat("x", 300) + `"}`, http.StatusRequestEntityTooLarge},
		{"context of the wrong shape", "application/json", `{"event_type": "marketplace_order_created", "context": ["order_uuid"]}`, http.StatusAccepted},
		{"order uuid not a uuid", "application/json", `{"event_type": "marketplace_order_created", "context": {"order_uuid": "nope"}}`, http.StatusAccepted},
		{"unknown event type", "application/json", `{"event_type": "ssh_key_creation_succeeded", "context": {}}`, http.StatusOK},
		{"another offering", "application/json", `{"event_type": "marketplace_order_created", "context": {"offering_uuid": "` + waldur.Hex(waldur.UUID{7}) + `"}}`, http.StatusOK},
		{"sniffed JSON", "text/plain", `{"event_type": "marketplace_order_created"}`, http.StatusAccepted},
		{"sniffed form", "", `event_type=marketplace_order_created`, http.StatusAccepted},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, post(t, h, "/hook", tt.contentType, tt.body))
		})
	}
	st := a.Stats()
	assert.Equal(t, int64(8), st.EventsMalformed, "every 400 and 413 is counted")
	assert.Equal(t, int64(2), st.EventsUnknown, "ignored posts are counted")

	w := httptest.NewRecorder()
	h.ServeHTTP(w, httptest.NewRequest(http.MethodGet, "/hook", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, w.Code)
	assert.Equal(t, http.MethodPost, w.Header().Get("Allow"))
}

func TestWebhookSecret(t *testing.T) {
	f := newFixture(t)
	a := webhookAgent(t, f, &recorder{})
	h := a.WebhookHandler(siteagent.WebhookConfig{Secret: "s3cret"})
	body := `{"event_type": "marketplace_order_created"}`
	assert.Equal(t, http.StatusUnauthorized, post(t, h, "/hook", "application/json", body))
	assert.Equal(t, http.StatusUnauthorized, post(t, h, "/hook?secret=s3cre", "application/json", body))
	assert.Equal(t, http.StatusUnauthorized, post(t, h, "/hook?secret=s3cret2", "application/json", body))
	assert.Equal(t, http.StatusAccepted, post(t, h, "/hook?secret=s3cret", "application/json", body))

	r := httptest.NewRequest(http.MethodPost, "/hook", strings.NewReader(body))
	r.Header.Set(siteagent.WebhookSecretHeader, "s3cret")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	assert.Equal(t, http.StatusAccepted, w.Code)
}

func TestWebhookAnswers503WhileTheAgentIsNotRunning(t *testing.T) {
	f := newFixture(t)
	a, err := siteagent.New(f.config(&recorder{}))
	require.NoError(t, err)
	code := post(t, a.WebhookHandler(siteagent.WebhookConfig{Insecure: true}), "/hook", "application/json",
		`{"event_type": "marketplace_order_created"}`)
	assert.Equal(t, http.StatusServiceUnavailable, code)
}
