package waldur

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

// orderTemplate is an order as Waldur renders it for a site-agent offering,
// with the fields OrderDetails carries (values anonymised).
const orderTemplate = `{
 "offering": "https://waldur.example.com/api/marketplace-public-offerings/0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b/",
 "offering_name": "HPC allocation", "offering_uuid": "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b",
 "offering_description": "Batch compute on the cluster", "offering_image": null, "offering_thumbnail": null,
 "offering_type": "Marketplace.Slurm", "offering_terms_of_service": "", "offering_shared": true, "offering_billable": true,
 "offering_plugin_options": {"service_provider_can_create_offering_user": true, "username_generation_policy": "service_provider", "homedir_prefix": "/home/"},
 "provider_name": "University HPC Centre", "provider_uuid": "9a8b7c6d5e4f30211203f4e5d6c7b8a9", "provider_slug": "uni-hpc",
 "category_title": "HPC", "category_uuid": "1a2b3c4d5e6f70819203a4b5c6d7e8f9", "category_icon": null,
 "plan": "https://waldur.example.com/api/marketplace-public-plans/9f8e7d6c5b4a39281706f5e4d3c2b1a0/",
 "plan_unit": "month", "plan_name": "Standard", "plan_uuid": "9f8e7d6c5b4a39281706f5e4d3c2b1a0", "plan_description": "",
 "attributes": {"name": "alloc-%[1]d", "description": "Climate runs %[1]d", "partition": "batch", "qos": "normal"},
 "limits": {"cpu": %[2]d, "gpu": 10, "storage": 2048}, "uuid": "%[3]s", "created": "2026-08-01T10:11:12.345678Z",
 "modified": "2026-08-01T10:11:13.000001Z", "url": "https://waldur.example.com/api/marketplace-orders/%[3]s/",
 "type": "Create", "state": "pending-provider", "cost": "1234.5600000000", "output": "", "marketplace_resource_uuid": "%[4]s",
 "resource_uuid": null, "resource_type": null, "resource_name": "alloc-%[1]d", "cost_estimate": "1234.56",
 "can_terminate": false, "fixed_price": null, "activation_price": null, "error_message": "", "error_traceback": "",
 "callback_url": null, "completed_at": null, "request_comment": null, "attachment": null,
 "project_uuid": "77aa88bb99cc00dd11ee22ff33445566", "project_name": "Climate modelling", "project_slug": "climate-modelling",
 "project_description": "Regional climate ensemble runs", "customer_uuid": "3c2b1a09f8e7d6c5b4a3928170f6e5d4",
 "customer_name": "Institute of Atmospheric Physics", "customer_slug": "iap", "created_by_username": "jdoe",
 "created_by_full_name": "Jane Doe", "created_by_email": "jdoe@example.org", "created_by_civil_number": null,
 "consumer_reviewed_by": null, "consumer_reviewed_by_full_name": null, "consumer_reviewed_by_username": null,
 "consumer_reviewed_at": null, "provider_reviewed_by": null, "provider_reviewed_at": null,
 "provider_rejection_comment": "", "consumer_rejection_comment": "", "provider_message": "", "consumer_message": "",
 "backend_id": "", "start_date": null, "old_plan_uuid": null, "new_plan_uuid": null, "old_plan_name": null, "new_plan_name": null,
 "old_cost_estimate": null, "new_cost_estimate": null, "slug": "alloc-%[1]d-order", "issue": null
}`

func ordersPage(n int) []byte {
	var b strings.Builder
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, orderTemplate, i, 1000+i, fmt.Sprintf("%032x", 0x5d0f0000+i), fmt.Sprintf("%032x", 0xa1b20000+i))
	}
	b.WriteByte(']')
	return []byte(b.String())
}

// BenchmarkDecodeOrdersPage decodes a full page (300) of realistic orders
// the way List does.
func BenchmarkDecodeOrdersPage(b *testing.B) {
	const n = MaxPageSize
	page := ordersPage(n)
	c, err := NewClient("https://waldur.example.com")
	require.NoError(b, err)
	req, _ := http.NewRequest(http.MethodGet, c.server+"api/marketplace-orders/", nil)
	ctx := context.Background()
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		var orders []Order
		if err := c.decode(ctx, req, page, &orders); err != nil || len(orders) != n {
			b.Fatalf("decoded %d orders: %v", len(orders), err)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "orders/s")
}

// BenchmarkListOrdersPage lists one 300-order page through an HTTP server on
// loopback: request building, transport, body read and decode.
func BenchmarkListOrdersPage(b *testing.B) {
	const n = MaxPageSize
	page := ordersPage(n)
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.Write(page) })
	srv := newBenchServer(b, h)
	c, err := NewClient(srv, WithToken(testToken), WithPageSize(n))
	require.NoError(b, err)
	ctx := context.Background()
	b.SetBytes(int64(len(page)))
	b.ReportAllocs()
	for b.Loop() {
		got := 0
		for _, err := range c.Orders.List(ctx, ListOrdersOptions{States: []OrderState{OrderStatePendingProvider}}) {
			if err != nil {
				b.Fatal(err)
			}
			got++
		}
		if got != n {
			b.Fatalf("listed %d orders", got)
		}
	}
	b.ReportMetric(float64(n*b.N)/b.Elapsed().Seconds(), "orders/s")
}

func TestOrdersPageFixtureDecodes(t *testing.T) {
	var orders []Order
	require.NoError(t, json.Unmarshal(ordersPage(3), &orders))
	require.Len(t, orders, 3)
	require.Equal(t, int64(1002), orders[2].Limits["cpu"])
	require.Equal(t, "alloc-2", orders[2].Attributes["name"])
	require.True(t, orders[0].OfferingPluginOptions["service_provider_can_create_offering_user"].(bool))
}
