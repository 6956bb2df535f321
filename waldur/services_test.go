package waldur_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// wire is a Waldur stand-in that records each request and answers with the
// status and body set for the test.
type wire struct {
	mu       sync.Mutex
	reqs     []wireReq
	status   int
	body     string
	header   http.Header
	handlers map[string]http.HandlerFunc // "METHOD /path/" overrides
}

type wireReq struct {
	Method string
	Path   string
	Query  url.Values
	Header http.Header
	Body   string
}

func (w *wire) ServeHTTP(rw http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.mu.Lock()
	w.reqs = append(w.reqs, wireReq{r.Method, r.URL.Path, r.URL.Query(), r.Header.Clone(), string(b)})
	h := w.handlers[r.Method+" "+r.URL.Path]
	status, body, header := w.status, w.body, w.header
	w.mu.Unlock()
	if h != nil {
		h(rw, r)
		return
	}
	for k, v := range header {
		rw.Header()[k] = v
	}
	if status == 0 {
		status = http.StatusOK
	}
	rw.WriteHeader(status)
	io.WriteString(rw, body)
}

func (w *wire) requests() []wireReq {
	w.mu.Lock()
	defer w.mu.Unlock()
	return append([]wireReq(nil), w.reqs...)
}

func (w *wire) last(t *testing.T) wireReq {
	t.Helper()
	r := w.requests()
	require.NotEmpty(t, r, "no request reached the server")
	return r[len(r)-1]
}

func newWire(t *testing.T, opts ...waldur.Option) (*waldur.Client, *wire) {
	t.Helper()
	w := &wire{}
	srv := httptest.NewServer(w)
	t.Cleanup(srv.Close)
	c, err := waldur.NewClient(srv.URL+"/api/", append([]waldur.Option{waldur.WithToken("tok")}, opts...)...)
	require.NoError(t, err)
	return c, w
}

var (
	orderID    = waldur.UUID{0x1f, 0x2e, 0x3d, 0x4c, 0x5b, 0x6a, 0x79, 0x88, 0x97, 0xa6, 0xb5, 0xc4, 0xd3, 0xe2, 0xf1, 0x00}
	resourceID = waldur.UUID{0xa1, 0xb2, 0xc3, 0xd4, 0xe5, 0xf6, 0x07, 0x18, 0x29, 0x3a, 0x4b, 0x5c, 0x6d, 0x7e, 0x8f, 0x90}
	offeringID = waldur.UUID{0x0e, 0x4b, 0x7c, 0x2d, 0x9f, 0x1a, 0x4e, 0x3b, 0x8c, 0x6d, 0x5a, 0x4f, 0x3e, 0x2d, 0x1c, 0x0b}
)

// TestActions checks that every state action and setter reaches the Waldur
// path the facts name, with the body Waldur expects.
func TestActions(t *testing.T) {
	ctx := context.Background()
	o, r, ou, k := "/api/marketplace-orders/"+orderID.String(), "/api/marketplace-provider-resources/"+resourceID.String(), "/api/marketplace-offering-users/"+orderID.String(), "/api/marketplace-resource-api-keys/"+orderID.String()
	tests := []struct {
		name   string
		call   func(c *waldur.Client) error
		method string
		path   string
		body   string // JSON; "" for no body
	}{
		{"order approve", func(c *waldur.Client) error { return c.Orders.Approve(ctx, orderID) }, "POST", o + "/approve_by_provider/", `{}`},
		{"order reject", func(c *waldur.Client) error { return c.Orders.Reject(ctx, orderID, "no capacity") }, "POST", o + "/reject_by_provider/", `{"provider_rejection_comment": "no capacity"}`},
		{"order reject without comment", func(c *waldur.Client) error { return c.Orders.Reject(ctx, orderID, "") }, "POST", o + "/reject_by_provider/", `{}`},
		{"order executing", func(c *waldur.Client) error { return c.Orders.SetExecuting(ctx, orderID) }, "POST", o + "/set_state_executing/", ""},
		{"order done", func(c *waldur.Client) error { return c.Orders.SetDone(ctx, orderID) }, "POST", o + "/set_state_done/", ""},
		{"order erred", func(c *waldur.Client) error { return c.Orders.SetErred(ctx, orderID, "quota exceeded", "trace") }, "POST", o + "/set_state_erred/", `{"error_message": "quota exceeded", "error_traceback": "trace"}`},
		{"order backend id", func(c *waldur.Client) error { return c.Orders.SetBackendID(ctx, orderID, "job-7") }, "POST", o + "/set_backend_id/", `{"backend_id": "job-7"}`},
		{"resource backend id", func(c *waldur.Client) error { return c.Resources.SetBackendID(ctx, resourceID, "alloc_42") }, "POST", r + "/set_backend_id/", `{"backend_id": "alloc_42"}`},
		{"resource metadata", func(c *waldur.Client) error {
			return c.Resources.SetBackendMetadata(ctx, resourceID, map[string]any{"account": "a42", "qos": []string{"normal"}})
		}, "POST", r + "/set_backend_metadata/", `{"backend_metadata": {"account": "a42", "qos": ["normal"]}}`},
		{"resource metadata nil", func(c *waldur.Client) error { return c.Resources.SetBackendMetadata(ctx, resourceID, nil) }, "POST", r + "/set_backend_metadata/", `{"backend_metadata": {}}`},
		{"resource limits", func(c *waldur.Client) error {
			return c.Resources.SetLimits(ctx, resourceID, map[string]int64{"cpu": 1000, "gpu": 10})
		}, "POST", r + "/set_limits/", `{"limits": {"cpu": 1000, "gpu": 10}}`},
		{"resource endpoints", func(c *waldur.Client) error {
			return c.Resources.SetEndpoints(ctx, resourceID, []waldur.Endpoint{{Name: "API", URL: "https://llm.example.com/v1", UUID: orderID}})
		}, "POST", r + "/set_endpoints/", `{"endpoints": [{"name": "API", "url": "https://llm.example.com/v1"}]}`},
		{"resource ok", func(c *waldur.Client) error { return c.Resources.SetAsOK(ctx, resourceID) }, "POST", r + "/set_as_ok/", ""},
		{"resource erred", func(c *waldur.Client) error { return c.Resources.SetAsErred(ctx, resourceID, "gone", "") }, "POST", r + "/set_as_erred/", `{"error_message": "gone"}`},
		{"resource last sync", func(c *waldur.Client) error { return c.Resources.RefreshLastSync(ctx, resourceID) }, "POST", r + "/refresh_last_sync/", ""},
		{"offering user username", func(c *waldur.Client) error { return c.OfferingUsers.SetUsername(ctx, orderID, "jdoe_01") }, "PATCH", ou + "/", `{"username": "jdoe_01"}`},
		{"offering user begin", func(c *waldur.Client) error { return c.OfferingUsers.BeginCreating(ctx, orderID) }, "POST", ou + "/begin_creating/", ""},
		{"offering user ok", func(c *waldur.Client) error { return c.OfferingUsers.SetOK(ctx, orderID) }, "POST", ou + "/set_ok/", ""},
		{"offering user error creating", func(c *waldur.Client) error { return c.OfferingUsers.SetErrorCreating(ctx, orderID) }, "POST", ou + "/set_error_creating/", ""},
		{"offering user linking", func(c *waldur.Client) error {
			return c.OfferingUsers.SetPendingAccountLinking(ctx, orderID, "Link your account", "https://idp.example.com/link")
		}, "POST", ou + "/set_pending_account_linking/", `{"comment": "Link your account", "comment_url": "https://idp.example.com/link"}`},
		{"offering user validation", func(c *waldur.Client) error {
			return c.OfferingUsers.SetPendingAdditionalValidation(ctx, orderID, "Send ID", "")
		}, "POST", ou + "/set_pending_additional_validation/", `{"comment": "Send ID"}`},
		{"offering user validated", func(c *waldur.Client) error { return c.OfferingUsers.SetValidationComplete(ctx, orderID) }, "POST", ou + "/set_validation_complete/", ""},
		{"offering user deleting", func(c *waldur.Client) error { return c.OfferingUsers.SetDeleting(ctx, orderID) }, "POST", ou + "/set_deleting/", ""},
		{"offering user deleted", func(c *waldur.Client) error { return c.OfferingUsers.SetDeleted(ctx, orderID) }, "POST", ou + "/set_deleted/", ""},
		{"offering user error deleting", func(c *waldur.Client) error { return c.OfferingUsers.SetErrorDeleting(ctx, orderID) }, "POST", ou + "/set_error_deleting/", ""},
		{"api key set", func(c *waldur.Client) error { return c.APIKeys.SetKey(ctx, orderID, "sk-new", "") }, "POST", k + "/set_key/", `{"api_key": "sk-new"}`},
		{"api key set with client id", func(c *waldur.Client) error { return c.APIKeys.SetKey(ctx, orderID, "sk-new", "alloc-2") }, "POST", k + "/set_key/", `{"api_key": "sk-new", "client_id": "alloc-2"}`},
		{"api key erred", func(c *waldur.Client) error { return c.APIKeys.SetErred(ctx, orderID, "backend refused") }, "POST", k + "/set_erred/", `{"error_message": "backend refused"}`},
		{"api key rotate", func(c *waldur.Client) error { return c.APIKeys.Rotate(ctx, orderID) }, "POST", k + "/rotate/", ""},
		{"api key ok", func(c *waldur.Client) error { return c.APIKeys.SetOK(ctx, orderID) }, "POST", k + "/set_ok/", ""},
		{"api key paused", func(c *waldur.Client) error { return c.APIKeys.SetPaused(ctx, orderID) }, "POST", k + "/set_paused/", ""},
		{"api key deleted", func(c *waldur.Client) error { return c.APIKeys.SetDeleted(ctx, orderID) }, "POST", k + "/set_deleted/", ""},
		{"usage", func(c *waldur.Client) error {
			return c.Usages.SetUsage(ctx, waldur.UsageReport{Resource: resourceID, Usages: []waldur.UsageAmount{
				{Type: "cpu", Amount: "1234.56", Description: "sacct"},
				{Type: "gpu", Amount: waldur.FormatAmount(12), MissingUsagePolicy: waldur.MissingUsagePolicyZero},
			}})
		}, "POST", "/api/marketplace-component-usages/set_usage/", `{"resource": "` + resourceID.String() + `", "usages": [{"type": "cpu", "amount": "1234.56", "description": "sacct"}, {"type": "gpu", "amount": "12.00", "missing_usage_policy": "zero"}]}`},
		{"usage with date", func(c *waldur.Client) error {
			return c.Usages.SetUsage(ctx, waldur.UsageReport{Resource: resourceID, Date: time.Date(2026, 8, 1, 0, 0, 0, 0, time.UTC), Usages: []waldur.UsageAmount{{Type: "cpu", Amount: "1.00"}}})
		}, "POST", "/api/marketplace-component-usages/set_usage/", `{"resource": "` + resourceID.String() + `", "date": "2026-08-01T00:00:00Z", "usages": [{"type": "cpu", "amount": "1.00"}]}`},
		{"user usages", func(c *waldur.Client) error {
			return c.Usages.SetUserUsages(ctx, orderID, []waldur.UserUsage{{Username: "jdoe_01", Usage: "12.50"}, {Username: "ann", Usage: "1.00", User: "https://w/api/marketplace-offering-users/x/"}})
		}, "POST", "/api/marketplace-component-usages/" + orderID.String() + "/set_user_usages/", `{"usages": [{"username": "jdoe_01", "usage": "12.50"}, {"username": "ann", "usage": "1.00", "user": "https://w/api/marketplace-offering-users/x/"}]}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, w := newWire(t)
			w.body = `{"status": "ok"}`
			require.NoError(t, tt.call(c))
			got := w.last(t)
			assert.Equal(t, tt.method, got.Method)
			assert.Equal(t, tt.path, got.Path)
			if tt.body == "" {
				assert.Empty(t, got.Body)
			} else {
				assert.JSONEq(t, tt.body, got.Body)
				assert.Equal(t, "application/json", got.Header.Get("Content-Type"))
			}
			assert.Equal(t, "Token tok", got.Header.Get("Authorization"))
		})
	}
}

func TestInvalidStateOnActions(t *testing.T) {
	for _, tc := range []struct {
		status int
		body   string
	}{
		{409, `{"detail": "Valid states for operation: pending-provider."}`},
		{400, `["Order is not in executing state."]`},
	} {
		c, w := newWire(t)
		w.status, w.body = tc.status, tc.body
		err := c.Orders.Approve(context.Background(), orderID)
		assert.True(t, waldur.IsInvalidState(err), "%d: %v", tc.status, err)
		assert.Len(t, w.requests(), 1, "a POST is not retried")
	}
}

func TestOrdersListOnTheWire(t *testing.T) {
	c, w := newWire(t)
	w.body = `[{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "state": "executing", "type": "Create"}]`
	var got []waldur.Order
	for o, err := range c.Orders.List(context.Background(), waldur.ListOrdersOptions{
		OfferingUUID:   offeringID,
		States:         []waldur.OrderState{waldur.OrderStatePendingProvider, waldur.OrderStateExecuting},
		Types:          []waldur.OrderType{waldur.OrderTypeCreate, waldur.OrderTypeTerminate},
		ModifiedBefore: time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC),
		Fields:         []string{"uuid", "state", "type"},
	}) {
		require.NoError(t, err)
		got = append(got, o)
	}
	require.Len(t, got, 1)
	assert.Equal(t, orderID, got[0].UUID)
	assert.Equal(t, waldur.OrderStateExecuting, got[0].State)

	q := w.last(t).Query
	assert.Equal(t, "/api/marketplace-orders/", w.last(t).Path)
	assert.Equal(t, []string{"pending-provider", "executing"}, q["state"], "state is repeated")
	assert.Equal(t, []string{"Create", "Terminate"}, q["type"], "type is repeated")
	assert.Equal(t, []string{"uuid", "state", "type"}, q["field"], "field is repeated")
	assert.Equal(t, []string{"100"}, q["page_size"])
	u, err := waldur.ParseUUID(q.Get("offering_uuid"))
	require.NoError(t, err)
	assert.Equal(t, offeringID, u)
	mb, err := time.Parse(time.RFC3339, q.Get("modified_before"))
	require.NoError(t, err)
	assert.True(t, mb.Equal(time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)))
	assert.Contains(t, w.last(t).Header.Get("User-Agent"), "waldur-site-agent")
}

func TestListsSendOfferingUUIDCommaSeparated(t *testing.T) {
	c, w := newWire(t, waldur.WithPageSize(300))
	w.body = `[]`
	restricted := false
	for _, err := range c.Resources.List(context.Background(), waldur.ListResourcesOptions{
		OfferingUUID: offeringID, States: []waldur.ResourceState{waldur.ResourceStateOK, waldur.ResourceStateErred}, Fields: []string{"uuid", "backend_id"},
	}) {
		require.NoError(t, err)
	}
	for _, err := range c.OfferingUsers.List(context.Background(), waldur.ListOfferingUsersOptions{
		OfferingUUID: offeringID, IsRestricted: &restricted,
	}) {
		require.NoError(t, err)
	}
	reqs := w.requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "/api/marketplace-provider-resources/", reqs[0].Path)
	assert.Equal(t, []string{"OK", "Erred"}, reqs[0].Query["state"])
	assert.Equal(t, []string{"uuid", "backend_id"}, reqs[0].Query["field"])
	assert.Equal(t, []string{"300"}, reqs[0].Query["page_size"])
	assert.Equal(t, "/api/marketplace-offering-users/", reqs[1].Path)
	assert.Equal(t, []string{"false"}, reqs[1].Query["is_restricted"])

	// Several offerings go comma-separated in one parameter (explode: false);
	// this is the generated builder's encoding, checked against the facts.
	second := resourceID
	raw := c.Raw()
	resp, err := raw.MarketplaceProviderResourcesListWithResponse(context.Background(), &waldurapi.MarketplaceProviderResourcesListParams{OfferingUUID: []waldur.UUID{offeringID, second}})
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, resp.StatusCode())
	q := w.last(t).Query
	assert.Equal(t, []string{offeringID.String() + "," + second.String()}, q["offering_uuid"])
	assert.Equal(t, "Token tok", w.last(t).Header.Get("Authorization"), "Raw shares the authentication")
}

func TestOrdersCount(t *testing.T) {
	c, w := newWire(t)
	w.header = http.Header{"X-Result-Count": {"17"}}
	n, err := c.Orders.Count(context.Background(), waldur.ListOrdersOptions{OfferingUUID: offeringID, States: []waldur.OrderState{waldur.OrderStatePendingProvider}})
	require.NoError(t, err)
	assert.Equal(t, 17, n)
	got := w.last(t)
	assert.Equal(t, http.MethodHead, got.Method)
	assert.Equal(t, []string{"pending-provider"}, got.Query["state"])
}

func TestGetsDecodeAndSendFields(t *testing.T) {
	ctx := context.Background()
	c, w := newWire(t)
	w.body = `{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "state": "executing", "unknown_new_field": {"x": 1}}`
	o, err := c.Orders.Get(ctx, orderID, "uuid", "state")
	require.NoError(t, err)
	assert.Equal(t, waldur.OrderStateExecuting, o.State)
	assert.Equal(t, []string{"uuid", "state"}, w.last(t).Query["field"])
	assert.Equal(t, "/api/marketplace-orders/"+orderID.String()+"/", w.last(t).Path)

	w.body = `{"uuid": "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b", "components": [{"type": "cpu", "billing_type": "usage"}], "plugin_options": {"service_provider_can_create_offering_user": true, "custom": 1}}`
	off, err := c.Offerings.Get(ctx, offeringID, "components", "plugin_options")
	require.NoError(t, err)
	require.Len(t, off.Components, 1)
	assert.Equal(t, waldur.BillingTypeUsage, off.Components[0].BillingType)
	assert.True(t, off.PluginOptions.ServiceProviderCanCreateOfferingUser)

	w.body = `{"username": "svc-agent", "uuid": "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b", "token_lifetime": null}`
	me, err := c.Users.Me(ctx)
	require.NoError(t, err)
	assert.Equal(t, "svc-agent", me.Username)
	assert.Nil(t, me.TokenLifetime)
	assert.Equal(t, "/api/users/me/", w.last(t).Path)

	w.body = `[{"username": "jdoe", "offering_user_username": "jdoe_01", "offering_user_state": "OK"}]`
	team, err := c.Resources.Team(ctx, resourceID)
	require.NoError(t, err)
	require.Len(t, team, 1)
	assert.Equal(t, "jdoe_01", *team[0].OfferingUserUsername)
	assert.Equal(t, "/api/marketplace-provider-resources/"+resourceID.String()+"/team/", w.last(t).Path)
}

func TestDecodeIsLenientAboutFieldsButNotShape(t *testing.T) {
	ctx := context.Background()
	c, w := newWire(t)
	// limits with a fraction and a malformed date: those fields stay zero,
	// the rest of the order decodes.
	w.body = `{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "state": "done", "limits": {"cpu": 1.5}, "created": "yesterday"}`
	o, err := c.Orders.Get(ctx, orderID)
	require.NoError(t, err)
	assert.Equal(t, orderID, o.UUID)
	assert.Equal(t, waldur.OrderStateDone, o.State)

	w.body = `{"results": []}`
	for _, err := range c.Orders.List(ctx, waldur.ListOrdersOptions{}) {
		assert.ErrorContains(t, err, "decode response")
	}
	w.body = `[{"uuid": `
	_, err = c.Orders.Get(ctx, orderID)
	assert.ErrorContains(t, err, "decode response")
}

func TestAgentsRegistration(t *testing.T) {
	ctx := context.Background()
	identity := offeringID
	c, w := newWire(t)

	for _, tc := range []struct {
		status      int
		wantCreated bool
	}{{201, true}, {200, false}} {
		w.status, w.body = tc.status, `{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "name": "order_process", "state": "Active"}`
		svc, created, err := c.Agents.RegisterService(ctx, identity, "order_process", "order_process")
		require.NoError(t, err)
		assert.Equal(t, tc.wantCreated, created)
		assert.Equal(t, waldur.AgentServiceStateActive, svc.State)
		assert.Equal(t, "/api/marketplace-site-agent-identities/"+identity.String()+"/register_service/", w.last(t).Path)
		assert.JSONEq(t, `{"name": "order_process", "mode": "order_process"}`, w.last(t).Body)
	}

	w.status, w.body = 200, `{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "name": "OrderProcessor", "last_run": "2026-08-01T12:00:00Z"}`
	p, err := c.Agents.RegisterProcessor(ctx, orderID, waldur.ProcessorRegistration{Name: "OrderProcessor", BackendType: "SLURM"})
	require.NoError(t, err)
	require.NotNil(t, p.LastRun)
	assert.JSONEq(t, `{"name": "OrderProcessor", "backend_type": "SLURM"}`, w.last(t).Body)
	assert.Equal(t, "/api/marketplace-site-agent-services/"+orderID.String()+"/register_processor/", w.last(t).Path)

	w.status, w.body = 200, `{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "statistics": {"orders": 3}}`
	_, err = c.Agents.SetStatistics(ctx, orderID, map[string]any{"orders": 3})
	require.NoError(t, err)
	assert.JSONEq(t, `{"statistics": {"orders": 3}}`, w.last(t).Body)

	queue := `{"rmq_username": "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12", "queue_name": "consumer_5d0f0a8c2a7e4b51a1f3c6d7e8f90a12", "vhost": "3c2b1a09f8e7d6c5b4a3928170f6e5d4", "observable_object_types": ["order"]}`
	for _, tc := range []struct {
		types    []waldur.ObservableObjectType
		status   int
		wantBody string
	}{
		{nil, 200, `{}`},
		{[]waldur.ObservableObjectType{}, 201, `{"object_types": []}`},
		{[]waldur.ObservableObjectType{waldur.ObservableObjectTypeOrder, waldur.ObservableObjectTypeResource}, 200, `{"object_types": ["order", "resource"]}`},
	} {
		w.status, w.body = tc.status, queue
		q, created, err := c.Agents.RegisterQueue(ctx, identity, tc.types)
		require.NoError(t, err)
		assert.Equal(t, tc.status == 201, created)
		assert.Equal(t, "consumer_5d0f0a8c2a7e4b51a1f3c6d7e8f90a12", q.QueueName)
		assert.JSONEq(t, tc.wantBody, w.last(t).Body)
		assert.Equal(t, "/api/marketplace-site-agent-identities/"+identity.String()+"/register_queue/", w.last(t).Path)
	}

	w.status, w.body = 201, `{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "user_uuid": "3c2b1a09f8e7d6c5b4a3928170f6e5d4"}`
	sub, err := c.Agents.RegisterEventSubscription(ctx, identity, waldur.ObservableObjectTypeOrder, "orders")
	require.NoError(t, err)
	assert.Equal(t, "1f2e3d4c5b6a798897a6b5c4d3e2f100", waldur.Hex(sub.UUID))
	assert.JSONEq(t, `{"observable_object_type": "order", "description": "orders"}`, w.last(t).Body)

	w.status, w.body = 201, `{"queue_name": "subscription_1f2e_offering_0e4b_order", "vhost": "3c2b"}`
	sq, err := c.Agents.CreateQueue(ctx, sub.UUID, offeringID, waldur.ObservableObjectTypeOrder)
	require.NoError(t, err)
	assert.Equal(t, "subscription_1f2e_offering_0e4b_order", sq.QueueName)
	assert.Equal(t, "/api/event-subscriptions/"+sub.UUID.String()+"/create_queue/", w.last(t).Path)
	var body map[string]string
	require.NoError(t, json.Unmarshal([]byte(w.last(t).Body), &body))
	assert.Equal(t, "order", body["object_type"])
	u, err := waldur.ParseUUID(body["offering_uuid"])
	require.NoError(t, err)
	assert.Equal(t, offeringID, u)

	w.status, w.body = 204, ``
	require.NoError(t, c.Agents.DeleteEventSubscription(ctx, sub.UUID))
	assert.Equal(t, "DELETE", w.last(t).Method)
	assert.Equal(t, "/api/event-subscriptions/"+sub.UUID.String()+"/", w.last(t).Path)
}

func TestAgentIdentities(t *testing.T) {
	ctx := context.Background()
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	c, w := newWire(t)
	w.status, w.body = 201, `{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "name": "agent-x"}`
	version := "0.1.0"
	id, err := c.Agents.CreateIdentity(ctx, waldur.AgentIdentityRequest{Offering: offeringID, Name: "agent-x", Version: &version,
		Dependencies: []waldur.AgentDependency{{Package: "waldur-agent-go", Version: "0.1.0"}}})
	require.NoError(t, err)
	assert.Equal(t, orderID, id.UUID)
	var sent map[string]any
	require.NoError(t, json.Unmarshal([]byte(w.last(t).Body), &sent))
	assert.Equal(t, "agent-x", sent["name"])
	lr, err := time.Parse(time.RFC3339Nano, sent["last_restarted"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now(), lr, time.Hour, "a zero LastRestarted is sent as now, not year 1")

	w.status = 200
	_, err = c.Agents.UpdateIdentity(ctx, orderID, waldur.AgentIdentityRequest{Offering: offeringID, Name: "agent-x", LastRestarted: now})
	require.NoError(t, err)
	assert.Equal(t, http.MethodPut, w.last(t).Method)
	assert.Contains(t, w.last(t).Body, `"last_restarted":"2026-08-01T12:00:00Z"`)

	w.body = `[{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "name": "agent-x"}]`
	var names []string
	for id, err := range c.Agents.ListIdentities(ctx, waldur.ListIdentitiesOptions{Name: "agent-x", OfferingUUID: offeringID}) {
		require.NoError(t, err)
		names = append(names, id.Name)
	}
	assert.Equal(t, []string{"agent-x"}, names)
	assert.Equal(t, "agent-x", w.last(t).Query.Get("name"))

	w.body = `{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "services": [{"name": "order_process", "state": "Idle"}]}`
	got, err := c.Agents.GetIdentity(ctx, orderID)
	require.NoError(t, err)
	require.Len(t, got.Services, 1)
	assert.Equal(t, waldur.AgentServiceStateIdle, got.Services[0].State)
}

func TestSendLogs(t *testing.T) {
	ctx := context.Background()
	c, w := newWire(t)
	require.NoError(t, c.Agents.SendLogs(ctx, nil))
	assert.Empty(t, w.requests(), "an empty batch sends nothing")

	w.status, w.body = 201, `[]`
	at := time.Date(2026, 8, 1, 12, 0, 0, 500_000_000, time.UTC)
	require.NoError(t, c.Agents.SendLogs(ctx, []waldur.LogEntry{{Identity: offeringID, Time: at, Level: waldur.LogLevelWARNING, Message: "slow backend", Module: "orders"}}))
	assert.Equal(t, "/api/marketplace-site-agent-logs/", w.last(t).Path)
	assert.JSONEq(t, `[{"agent_identity_uuid": "`+offeringID.String()+`", "timestamp": 1785585600.5, "level": "WARNING", "message": "slow backend", "module": "orders"}]`, w.last(t).Body)
}

func TestUsagesList(t *testing.T) {
	c, w := newWire(t)
	w.body = `[{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "type": "cpu", "usage": 12.5, "billing_period": "2026-08-01"}]`
	var got []waldur.ComponentUsage
	for u, err := range c.Usages.List(context.Background(), waldur.ListUsagesOptions{
		ResourceUUID: resourceID, BillingPeriod: time.Date(2026, 8, 17, 15, 0, 0, 0, time.UTC), Fields: []string{"uuid", "type", "usage"},
	}) {
		require.NoError(t, err)
		got = append(got, u)
	}
	require.Len(t, got, 1)
	assert.Equal(t, 12.5, got[0].Usage)
	assert.Equal(t, "2026-08-01", got[0].BillingPeriod.String())
	q := w.last(t).Query
	assert.Equal(t, "2026-08-01", q.Get("billing_period"), "any time in the month selects its period")
	assert.Equal(t, []string{"uuid", "type", "usage"}, q["field"])
}

func TestAPIKeys(t *testing.T) {
	ctx := context.Background()
	const secret = "sk-live-9f8e7d6c5b4a3928"
	var logs bytes.Buffer
	c, w := newWire(t, waldur.WithLogger(slog.New(slog.NewJSONHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))))

	w.status, w.body = 201, `{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "client_id": "alloc-1", "state": "OK"}`
	k, err := c.APIKeys.ReportCreated(ctx, resourceID, "alloc-1", secret)
	require.NoError(t, err)
	assert.Equal(t, waldur.ResourceAPIKeyStateOK, k.State)
	assert.Equal(t, "/api/marketplace-resource-api-keys/report_created/", w.last(t).Path)
	assert.JSONEq(t, `{"resource": "`+resourceID.String()+`", "client_id": "alloc-1", "api_key": "`+secret+`"}`, w.last(t).Body)

	w.status, w.body = 400, `{"client_id": ["Held by another key."]}`
	err = c.APIKeys.SetKey(ctx, orderID, secret, "alloc-1")
	require.Error(t, err)
	assert.Equal(t, map[string][]string{"client_id": {"Held by another key."}}, errAPI(t, err).FieldErrors)

	w.status, w.body = 200, `[{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "state": "Updating"}]`
	for k, err := range c.APIKeys.List(ctx, waldur.ListAPIKeysOptions{ResourceUUID: resourceID, States: []waldur.ResourceAPIKeyState{waldur.ResourceAPIKeyStateUpdating, waldur.ResourceAPIKeyStateErred}}) {
		require.NoError(t, err)
		assert.Equal(t, waldur.ResourceAPIKeyStateUpdating, k.State)
	}
	assert.Equal(t, []string{"Updating", "Erred"}, w.last(t).Query["state"])

	w.body = `{"uuid": "1f2e3d4c5b6a798897a6b5c4d3e2f100", "state": "OK"}`
	_, err = c.APIKeys.Get(ctx, orderID)
	require.NoError(t, err)

	assert.Contains(t, logs.String(), "report_created", "debug logging is on")
	assert.NotContains(t, logs.String(), secret)
	assert.NotContains(t, err2s(err), secret)
}

func errAPI(t *testing.T, err error) *waldur.APIError {
	t.Helper()
	var e *waldur.APIError
	require.ErrorAs(t, err, &e)
	return e
}

func err2s(err error) string {
	if err == nil {
		return ""
	}
	return err.Error()
}
