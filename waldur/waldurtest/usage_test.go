package waldurtest_test

import (
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func usageFixture(t *testing.T) (*waldurtest.Server, uuid.UUID) {
	t.Helper()
	now := time.Date(2026, 8, 15, 9, 30, 0, 0, time.UTC)
	s := waldurtest.NewServer(t, waldurtest.WithClock(func() time.Time { return now }))
	off := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{
		{Type: "cpu", BillingType: "usage", MeasuredUnit: "hours"}, {Type: "gpu", BillingType: "usage"},
	}})
	return s, s.AddResource(waldurtest.ResourceSpec{Offering: off, BackendID: "alloc"})
}

func TestSetUsageUpsertsPerBillingPeriod(t *testing.T) {
	s, res := usageFixture(t)
	report := func(date, cpu string) response {
		body := map[string]any{"resource": hex(res), "usages": []map[string]any{
			{"type": "cpu", "amount": cpu, "description": "sacct"}, {"type": "gpu", "amount": "1.00"},
		}}
		if date != "" {
			body["date"] = date
		}
		return call(t, s, "POST", "/api/marketplace-component-usages/set_usage/", body)
	}
	r := report("2026-08-01T00:00:00+00:00", "10.50")
	require.Equal(t, 201, r.status, "body: %s", r.body)
	assert.Empty(t, r.body)
	require.Equal(t, 201, report("", "12.25").status, "no date: now, the same month")
	require.Equal(t, 201, report("2026-07-01T00:00:00+00:00", "99").status)

	usages := s.ComponentUsages()
	require.Len(t, usages, 4, "one record per component and month")

	r = call(t, s, "GET", "/api/marketplace-component-usages/?resource_uuid="+hex(res)+
		"&billing_period=2026-08-01&type=cpu&field=uuid&field=type&field=usage&field=billing_period", nil)
	require.Equal(t, 200, r.status, "body: %s", r.body)
	var list []map[string]any
	r.json(t, &list)
	require.Len(t, list, 1)
	assert.Equal(t, 12.25, list[0]["usage"])
	assert.Equal(t, "2026-08-01", list[0]["billing_period"])
	assert.Len(t, list[0], 4)

	r = call(t, s, "GET", "/api/marketplace-component-usages/?billing_period_year=2026&billing_period_month=7", nil)
	r.json(t, &list)
	assert.Len(t, list, 2)

	got, _ := s.Resource(res)
	assert.Equal(t, map[string]float64{"cpu": 12.25, "gpu": 1}, got.CurrentUsages)
}

func TestSetUsageValidation(t *testing.T) {
	s, res := usageFixture(t)
	tests := []struct {
		name string
		body map[string]any
		want string
	}{
		{"no usages", map[string]any{"resource": hex(res)}, `{"usages":["This field is required."]}`},
		{"no resource", map[string]any{"usages": []any{}}, `{"non_field_errors":["Either plan_period or resource should be provided."]}`},
		{"unknown resource", map[string]any{"resource": hex(uuid.New()), "usages": []any{}}, ""},
		{"unknown component", map[string]any{"resource": hex(res), "usages": []map[string]any{{"type": "ram", "amount": "1"}}}, ""},
		{"three decimals", map[string]any{"resource": hex(res), "usages": []map[string]any{{"type": "cpu", "amount": "1.234"}}},
			`{"usages":["Ensure that there are no more than 2 decimal places."]}`},
		{"zero plan period", map[string]any{"resource": hex(res), "plan_period": uuid.Nil.String(), "usages": []any{}}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := call(t, s, "POST", "/api/marketplace-component-usages/set_usage/", tt.body)
			assert.Equal(t, 400, r.status, "body: %s", r.body)
			if tt.want != "" {
				assert.JSONEq(t, tt.want, string(r.body))
			}
		})
	}
	assert.Empty(t, s.ComponentUsages())
}

func TestSetUserUsagesIsAtomic(t *testing.T) {
	s, res := usageFixture(t)
	cu := s.AddComponentUsage(waldurtest.UsageSpec{Resource: res, Type: "cpu", Amount: "30"})
	path := "/api/marketplace-component-usages/" + hex(cu) + "/set_user_usages/"

	r := call(t, s, "POST", path, map[string]any{"usages": []map[string]any{
		{"username": "alice", "usage": "10.00"}, {"username": "", "usage": "5"},
	}})
	assert.Equal(t, 400, r.status)
	assert.Empty(t, s.UserUsages(), "one bad item rejects the batch")

	r = call(t, s, "POST", path, map[string]any{"usages": []map[string]any{
		{"username": "alice", "usage": "10.00", "user": s.URL() + "/api/marketplace-offering-users/x/"},
		{"username": "bob", "usage": "20"},
	}})
	require.Equal(t, 201, r.status, "body: %s", r.body)
	r = call(t, s, "POST", path, map[string]any{"usages": []map[string]any{{"username": "alice", "usage": "11.5"}}})
	require.Equal(t, 201, r.status)

	got := map[string]string{}
	for _, u := range s.UserUsages() {
		got[u.Username] = u.Usage
		assert.Equal(t, cu, u.ComponentUsage)
	}
	assert.Equal(t, map[string]string{"alice": "11.5", "bob": "20"}, got)

	r = call(t, s, "GET", "/api/marketplace-component-user-usages/?resource_uuid="+hex(res)+
		"&component_usage__billing_period=2026-08-01&username=bob", nil)
	var list []map[string]any
	r.json(t, &list)
	require.Len(t, list, 1)
	assert.Equal(t, "20", list[0]["usage"])

	r = call(t, s, "POST", "/api/marketplace-component-usages/"+hex(cu)+"/set_user_usage/",
		map[string]any{"username": "carol", "usage": "1"})
	assert.Equal(t, 201, r.status)
	assert.Len(t, s.UserUsages(), 3)
}
