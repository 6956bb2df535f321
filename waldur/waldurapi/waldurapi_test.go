package waldurapi_test

import (
	"encoding/json"
	"net/url"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// An order as Waldur renders it: hex UUIDs, nulls, decimals as strings.
const orderJSON = `{
  "uuid": "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12",
  "url": "https://waldur.example.org/api/marketplace-orders/5d0f0a8c2a7e4b51a1f3c6d7e8f90a12/",
  "state": "pending-provider",
  "type": "Create",
  "created": "2026-08-01T10:11:12.345678Z",
  "modified": "2026-08-01T10:11:13+00:00",
  "completed_at": null,
  "offering_uuid": "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b",
  "offering_type": "Marketplace.Slurm",
  "offering_plugin_options": {"service_provider_can_create_offering_user": true},
  "marketplace_resource_uuid": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
  "resource_uuid": null,
  "resource_name": "alloc-42",
  "attributes": {"name": "alloc-42", "nested": {"x": [1, 2]}},
  "limits": {"cpu": 1000, "gpu": 10},
  "plan": null,
  "plan_uuid": "9f8e7d6c5b4a39281706f5e4d3c2b1a0",
  "old_plan_uuid": null,
  "project_uuid": "77aa88bb-99cc-00dd-11ee-22ff33445566",
  "project_name": "Climate modelling",
  "customer_uuid": "3c2b1a09f8e7d6c5b4a3928170f6e5d4",
  "backend_id": "",
  "start_date": null,
  "created_by_email": null,
  "cost": "12.3400000000",
  "something_newer": {"ignored": true}
}`

func TestOrderDecodesWaldurShapes(t *testing.T) {
	var o waldurapi.Order
	require.NoError(t, json.Unmarshal([]byte(orderJSON), &o))

	assert.Equal(t, uuid.MustParse("5d0f0a8c-2a7e-4b51-a1f3-c6d7e8f90a12"), o.UUID)
	assert.Equal(t, waldurapi.OrderStatePendingProvider, o.State)
	assert.Equal(t, waldurapi.OrderTypeCreate, o.Type)
	assert.Equal(t, uuid.MustParse("a1b2c3d4e5f60718293a4b5c6d7e8f90"), o.MarketplaceResourceUUID)
	assert.Equal(t, uuid.MustParse("77aa88bb99cc00dd11ee22ff33445566"), o.ProjectUUID, "hyphenated form parses too")
	assert.Nil(t, o.ResourceUUID)
	assert.Nil(t, o.CompletedAt)
	assert.Nil(t, o.StartDate)
	assert.Nil(t, o.Plan)
	require.NotNil(t, o.PlanUUID)
	assert.Equal(t, uuid.MustParse("9f8e7d6c5b4a39281706f5e4d3c2b1a0"), *o.PlanUUID)
	assert.Equal(t, map[string]int64{"cpu": 1000, "gpu": 10}, o.Limits)
	assert.Equal(t, "alloc-42", o.Attributes["name"])
	require.NotNil(t, o.Cost)
	assert.Equal(t, "12.3400000000", *o.Cost)
	assert.Equal(t, time.Date(2026, 8, 1, 10, 11, 13, 0, time.UTC), o.Modified.UTC())
}

func TestSparseOrderDecodes(t *testing.T) {
	var o waldurapi.Order
	require.NoError(t, json.Unmarshal([]byte(`{"uuid":"5d0f0a8c2a7e4b51a1f3c6d7e8f90a12","state":"executing"}`), &o))
	assert.Equal(t, waldurapi.OrderStateExecuting, o.State)
	assert.Empty(t, o.Type)
	assert.True(t, o.Created.IsZero())
}

func TestResourceDecodesWaldurShapes(t *testing.T) {
	const resourceJSON = `{
	  "uuid": "a1b2c3d4e5f60718293a4b5c6d7e8f90",
	  "state": "OK",
	  "backend_id": "hpc_alloc_42",
	  "limits": {"cpu": 1000},
	  "current_usages": {"cpu": 12.5},
	  "end_date": null,
	  "project_end_date": "2027-01-31",
	  "endpoints": [{"uuid": "4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b", "name": "ssh", "url": "ssh://login.example.org"}],
	  "order_in_progress": null,
	  "creation_order": {"uuid": "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12", "state": "done"},
	  "offering_components": [{"type": "cpu", "billing_type": "usage", "limit_period": null, "limit_amount": null}],
	  "has_api_keys": true
	}`
	var r waldurapi.Resource
	require.NoError(t, json.Unmarshal([]byte(resourceJSON), &r))
	assert.Equal(t, waldurapi.ResourceStateOK, r.State)
	assert.Nil(t, r.EndDate)
	require.NotNil(t, r.ProjectEndDate)
	assert.Equal(t, "2027-01-31", r.ProjectEndDate.String())
	assert.InDelta(t, 12.5, r.CurrentUsages["cpu"], 1e-9)
	require.Len(t, r.Endpoints, 1)
	assert.Equal(t, "ssh", r.Endpoints[0].Name)
	assert.Nil(t, r.OrderInProgress)
	require.NotNil(t, r.CreationOrder)
	assert.Equal(t, waldurapi.OrderStateDone, r.CreationOrder.State)
	require.Len(t, r.OfferingComponents, 1)
	assert.Equal(t, waldurapi.BillingTypeUsage, r.OfferingComponents[0].BillingType)
	assert.True(t, r.HasAPIKeys)
}

func TestUsageAcceptsDecimalNumbers(t *testing.T) {
	var u waldurapi.ComponentUsage
	require.NoError(t, json.Unmarshal([]byte(`{"uuid":"5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e","usage":1234.56,"billing_period":"2026-08-01"}`), &u))
	assert.InDelta(t, 1234.56, u.Usage, 1e-9)
	assert.Equal(t, "2026-08-01", u.BillingPeriod.String())
}

func TestPluginOptionsKeepUnknownOptions(t *testing.T) {
	var o waldurapi.ProviderOffering
	require.NoError(t, json.Unmarshal([]byte(`{"plugin_options":{"username_generation_policy":"anonymized","site_specific":"x"}}`), &o))
	assert.Equal(t, waldurapi.UsernameGenerationPolicyAnonymized, o.PluginOptions.UsernameGenerationPolicy)
	assert.Equal(t, "x", o.PluginOptions.AdditionalProperties["site_specific"])
}

func TestUserTokenLifetimeNullMeansNoExpiry(t *testing.T) {
	var u waldurapi.User
	require.NoError(t, json.Unmarshal([]byte(`{"uuid":"3c2b1a09f8e7d6c5b4a3928170f6e5d4","token_lifetime":null}`), &u))
	assert.Nil(t, u.TokenLifetime)
	require.NoError(t, json.Unmarshal([]byte(`{"token_lifetime":3600}`), &u))
	require.NotNil(t, u.TokenLifetime)
	assert.Equal(t, 3600, *u.TokenLifetime)
}

func TestListRequestEncodesFiltersAsWaldurExpects(t *testing.T) {
	offering := uuid.MustParse("0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b")
	size := 100
	req, err := waldurapi.NewMarketplaceOrdersListRequest("https://waldur.example.org", &waldurapi.MarketplaceOrdersListParams{
		OfferingUUID: &offering,
		State:        []waldurapi.OrderState{waldurapi.OrderStatePendingProvider, waldurapi.OrderStateExecuting},
		Field:        []waldurapi.OrderField{waldurapi.OrderFieldUUID, waldurapi.OrderFieldState},
		O:            []waldurapi.OrderOrdering{waldurapi.OrderOrderingCreated, waldurapi.OrderOrderingMinusState},
		PageSize:     &size,
	})
	require.NoError(t, err)
	assert.Equal(t, "/api/marketplace-orders/", req.URL.Path)
	q := req.URL.Query()
	assert.Equal(t, []string{"pending-provider", "executing"}, q["state"], "state repeats")
	assert.Equal(t, []string{"uuid", "state"}, q["field"], "field repeats")
	assert.Equal(t, []string{"created,-state"}, q["o"], "ordering is comma-separated")
	assert.Equal(t, []string{"100"}, q["page_size"])
	require.Len(t, q["offering_uuid"], 1)
	parsed, err := uuid.Parse(q.Get("offering_uuid"))
	require.NoError(t, err)
	assert.Equal(t, offering, parsed)
	for _, unset := range []string{"page", "type", "modified", "created", "resource_uuid", "project_uuid"} {
		assert.NotContains(t, q, unset, "unset filter %q must not be sent", unset)
	}
}

func TestResourceListSendsOfferingUUIDsCommaSeparated(t *testing.T) {
	a := uuid.MustParse("0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b")
	b := uuid.MustParse("77aa88bb99cc00dd11ee22ff33445566")
	paused := false
	req, err := waldurapi.NewMarketplaceProviderResourcesListRequest("https://waldur.example.org/", &waldurapi.MarketplaceProviderResourcesListParams{
		OfferingUUID: []uuid.UUID{a, b},
		State:        []waldurapi.ResourceState{waldurapi.ResourceStateOK, waldurapi.ResourceStateErred},
		Paused:       &paused,
	})
	require.NoError(t, err)
	q := req.URL.Query()
	assert.Equal(t, []string{a.String() + "," + b.String()}, q["offering_uuid"])
	assert.Equal(t, []string{"OK", "Erred"}, q["state"])
	assert.Equal(t, []string{"false"}, q["paused"], "an explicit false filter is sent")
	assert.NotContains(t, q, "downscaled")
}

func TestActionRequestsTargetWaldurPaths(t *testing.T) {
	id := uuid.MustParse("5d0f0a8c2a7e4b51a1f3c6d7e8f90a12")
	req, err := waldurapi.NewMarketplaceOrdersSetStateErredRequest("https://waldur.example.org/", id,
		waldurapi.OrderErrorRequest{ErrorMessage: "backend failed"})
	require.NoError(t, err)
	assert.Equal(t, "POST", req.Method)
	assert.Equal(t, "/api/marketplace-orders/"+id.String()+"/set_state_erred/", req.URL.Path)
	var body map[string]any
	require.NoError(t, json.NewDecoder(req.Body).Decode(&body))
	assert.Equal(t, map[string]any{"error_message": "backend failed", "error_traceback": ""}, body,
		"Waldur reads both keys, so an empty traceback is still sent")

	req, err = waldurapi.NewMarketplaceOrdersCountRequest("https://waldur.example.org", &waldurapi.MarketplaceOrdersCountParams{})
	require.NoError(t, err)
	assert.Equal(t, "HEAD", req.Method)
	assert.Equal(t, url.Values{}, req.URL.Query())
}

func FuzzOrderDecode(f *testing.F) {
	f.Add([]byte(orderJSON))
	f.Add([]byte(`{"uuid":"","limits":{"cpu":1.5}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		var o waldurapi.Order
		if err := json.Unmarshal(data, &o); err != nil {
			return
		}
		// Whatever decodes must encode again.
		_, err := json.Marshal(o)
		require.NoError(t, err)
	})
}
