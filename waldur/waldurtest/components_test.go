package waldurtest_test

import (
	"encoding/json"
	"net/http"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func ptr[T any](v T) *T { return &v }

// TestPushComponents updates the component the offering has, keeping its
// limit period, creates the one it lacks, leaves others alone, and sends
// the prepaid fields.
func TestPushComponents(t *testing.T) {
	s := waldurtest.NewServer(t)
	ctx := t.Context()
	c := s.Client()
	off := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{
		{Type: "cpu", Name: "old", BillingType: "limit", LimitPeriod: "annual"},
		{Type: "storage", Name: "Storage", BillingType: "usage"},
	}})
	before, ok := s.Offering(off)
	require.True(t, ok)

	got, err := c.Offerings.PushComponents(ctx, off, []waldur.OfferingComponentRequest{
		{Type: "cpu", Name: "CPU", BillingType: waldur.BillingTypeUsage, MeasuredUnit: "k-Hours", LimitAmount: ptr[int64](10)},
		{Type: "gpu", Name: "GPU", BillingType: waldur.BillingTypeOne, MeasuredUnit: "units", IsPrepaid: true,
			MinPrepaidDuration: ptr(1), MaxPrepaidDuration: ptr(12)},
	})
	require.NoError(t, err)
	assert.Equal(t, []waldur.PushedComponent{{Type: "cpu"}, {Type: "gpu", Created: true}}, got)

	after, _ := s.Offering(off)
	require.Len(t, after.Components, 3)
	cpu, storage, gpu := after.Components[0], after.Components[1], after.Components[2]
	assert.Equal(t, before.Components[0].UUID, cpu.UUID, "updated in place")
	assert.Equal(t, "CPU", cpu.Name)
	assert.Equal(t, waldur.BillingTypeUsage, cpu.BillingType)
	assert.Equal(t, "k-Hours", cpu.MeasuredUnit)
	assert.Equal(t, ptr[int64](10), cpu.LimitAmount)
	assert.Equal(t, ptr("annual"), cpu.LimitPeriod, "kept when the request leaves it unset")
	assert.Equal(t, before.Components[1], storage)
	assert.Equal(t, "gpu", gpu.Type)
	assert.True(t, gpu.IsPrepaid)

	var create map[string]any
	for _, call := range s.Calls() {
		if call.OperationID == "marketplace_provider_offerings_create_offering_component" {
			require.NoError(t, json.Unmarshal(call.Body, &create))
		}
	}
	assert.Equal(t, map[string]any{
		"type": "gpu", "name": "GPU", "billing_type": "one", "measured_unit": "units", "is_prepaid": true,
		"min_prepaid_duration": 1.0, "max_prepaid_duration": 12.0,
	}, create)
}

func TestPushComponentsReportsEachFailure(t *testing.T) {
	s := waldurtest.NewServer(t)
	c := s.Client()
	off := s.AddOffering(waldurtest.OfferingSpec{})

	got, err := c.Offerings.PushComponents(t.Context(), off, []waldur.OfferingComponentRequest{
		{Type: "bad type", Name: "Bad", BillingType: waldur.BillingTypeUsage},
		{Type: "cpu", Name: "CPU", BillingType: waldur.BillingTypeUsage},
	})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `component "bad type"`)
	var apiErr *waldur.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusBadRequest, apiErr.StatusCode)
	require.Len(t, got, 2)
	assert.Error(t, got[0].Err)
	assert.NoError(t, got[1].Err, "a failure does not stop the rest")
	o, _ := s.Offering(off)
	require.Len(t, o.Components, 1)
	assert.Equal(t, "cpu", o.Components[0].Type)

	_, err = c.Offerings.PushComponents(t.Context(), uuid.New(), nil)
	assert.True(t, waldur.IsNotFound(err), "%v", err)
}
