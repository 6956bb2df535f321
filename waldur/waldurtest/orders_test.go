package waldurtest_test

import (
	"context"
	"net/http"
	"slices"
	"sync"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

var allOrderStates = []string{
	"pending-consumer", "pending-provider", "pending-project", "pending-start-date",
	"executing", "done", "erred", "canceled", "rejected",
}

func TestOrderStateMachine(t *testing.T) {
	// Valid source states per action (facts §6.2; set_state_erred from any
	// non-terminal state).
	valid := map[string][]string{
		"approve_by_provider": {"pending-provider"},
		"reject_by_provider":  {"pending-provider"},
		"set_state_executing": {"pending-consumer", "pending-provider", "erred"},
		"set_state_done":      {"executing"},
		"set_state_erred":     {"pending-consumer", "pending-provider", "pending-project", "pending-start-date", "executing"},
		"set_backend_id":      allOrderStates,
	}
	target := map[string]string{
		"approve_by_provider": "executing",
		"reject_by_provider":  "rejected",
		"set_state_executing": "executing",
		"set_state_done":      "done",
		"set_state_erred":     "erred",
	}
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	for action, from := range valid {
		for _, state := range allOrderStates {
			t.Run(action+"/"+state, func(t *testing.T) {
				id := s.AddOrder(waldurtest.OrderSpec{Offering: off, State: state})
				r := call(t, s, "POST", "/api/marketplace-orders/"+hex(id)+"/"+action+"/",
					map[string]string{"backend_id": "job-1", "error_message": "", "error_traceback": ""})
				got, _ := s.Order(id)
				if !slices.Contains(from, state) {
					require.Equal(t, http.StatusConflict, r.status, "body: %s", r.body)
					var body map[string]string
					r.json(t, &body)
					assert.Contains(t, body["detail"], "Valid states for operation: ")
					assert.Equal(t, state, string(got.State), "a refused action changes nothing")
					assert.Empty(t, s.Transitions(id))
					return
				}
				require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
				if to, ok := target[action]; ok {
					assert.Equal(t, to, string(got.State))
					assert.Equal(t, []string{action}, s.Transitions(id))
				} else {
					assert.Equal(t, state, string(got.State))
					assert.Equal(t, "job-1", got.BackendID)
				}
			})
		}
	}
}

func TestInvalidStateAnswers(t *testing.T) {
	tests := []struct {
		name   string
		opts   []waldurtest.Option
		status int
		body   string
	}{
		{"409 by default", nil, 409, `{"detail":"Valid states for operation: pending-provider."}`},
		{"400 array when configured", []waldurtest.Option{waldurtest.WithInvalidStateStatus(http.StatusBadRequest)},
			400, `["Valid states for operation: pending-provider."]`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := waldurtest.NewServer(t, tt.opts...)
			off := s.AddOffering(waldurtest.OfferingSpec{})
			id := s.AddOrder(waldurtest.OrderSpec{Offering: off, State: "executing"})
			r := call(t, s, "POST", "/api/marketplace-orders/"+hex(id)+"/approve_by_provider/", nil)
			assert.Equal(t, tt.status, r.status)
			assert.JSONEq(t, tt.body, string(r.body))
		})
	}
	assert.Panics(t, func() { waldurtest.WithInvalidStateStatus(http.StatusTeapot) })
}

func TestCreateOrderLifecycle(t *testing.T) {
	var mu sync.Mutex
	var events []waldurtest.Event
	sink := waldurtest.EventSinkFunc(func(_ context.Context, e waldurtest.Event) error {
		mu.Lock()
		defer mu.Unlock()
		events = append(events, e)
		return nil
	})
	s := waldurtest.NewServer(t, waldurtest.WithEventSink(sink))
	off := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{{Type: "cpu", BillingType: "limit"}}})
	id := s.AddOrder(waldurtest.OrderSpec{
		Offering: off, Limits: map[string]int64{"cpu": 100}, Attributes: map[string]any{"name": "alloc-1"},
	})

	o, ok := s.Order(id)
	require.True(t, ok)
	res, ok := s.Resource(o.MarketplaceResourceUUID)
	require.True(t, ok, "a Create order comes with its resource")
	assert.Equal(t, "Creating", string(res.State))
	assert.Equal(t, "alloc-1", res.Name)
	assert.Equal(t, map[string]int64{"cpu": 100}, res.Limits)

	base := "/api/marketplace-orders/" + hex(id) + "/"
	require.Equal(t, 200, call(t, s, "POST", base+"approve_by_provider/", map[string]any{}).status)
	require.Equal(t, 200, call(t, s, "POST", base+"set_backend_id/", map[string]string{"backend_id": "slurm-42"}).status)
	require.Equal(t, 200, call(t, s, "POST", "/api/marketplace-provider-resources/"+hex(res.UUID)+"/set_backend_id/",
		map[string]string{"backend_id": "alloc_1"}).status)
	require.Equal(t, 200, call(t, s, "POST", base+"set_state_done/", nil).status)

	o, _ = s.Order(id)
	assert.Equal(t, "done", string(o.State))
	assert.Equal(t, "slurm-42", o.BackendID)
	assert.NotNil(t, o.CompletedAt)
	res, _ = s.Resource(res.UUID)
	assert.Equal(t, "OK", string(res.State))
	assert.Equal(t, "alloc_1", res.BackendID, "the backend_id survives set_state_done")
	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, s.Transitions(id))

	mu.Lock()
	defer mu.Unlock()
	require.Len(t, events, 2, "pending-provider on creation, done at the end")
	assert.Equal(t, "pending-provider", events[0].Payload["order_state"])
	assert.Equal(t, "done", events[1].Payload["order_state"])
	for _, e := range events {
		assert.Equal(t, "order", e.ObjectType)
		assert.Equal(t, off, e.Offering)
		assert.Equal(t, hex(id), e.Payload["order_uuid"])
		assert.Equal(t, hex(off), e.Payload["offering_uuid"])
		assert.Equal(t, "Create", e.Payload["order_type"])
		assert.Equal(t, hex(res.UUID), e.Payload["resource_uuid"])
		assert.Equal(t, 1, e.Payload["schema_version"])
	}
	assert.Equal(t, "alloc_1", events[1].Payload["resource_backend_id"])
	assert.Equal(t, map[string]any{"order_uuid": hex(id), "order_state": "pending-provider"}, events[0].Legacy())
	assert.Equal(t, events, s.Events())
}

func TestOrderEffectsOnResource(t *testing.T) {
	tests := []struct {
		typ, action  string
		wantResource string
	}{
		{"Create", "set_state_erred", "Erred"},
		{"Create", "reject_by_provider", "Terminated"},
		{"Update", "set_state_done", "OK"},
		{"Update", "set_state_erred", "Erred"},
		{"Update", "approve_by_provider", "Updating"},
		{"Terminate", "approve_by_provider", "Terminating"},
		{"Terminate", "set_state_done", "Terminated"},
		{"Terminate", "set_state_erred", "OK"},
	}
	for _, tt := range tests {
		t.Run(tt.typ+"/"+tt.action, func(t *testing.T) {
			s := waldurtest.NewServer(t)
			off := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{{Type: "cpu"}}})
			state := "pending-provider"
			if tt.action == "set_state_done" {
				state = "executing"
			}
			var res uuid.UUID
			if tt.typ != "Create" {
				res = s.AddResource(waldurtest.ResourceSpec{Offering: off, Limits: map[string]int64{"cpu": 1}})
			}
			id := s.AddOrder(waldurtest.OrderSpec{Offering: off, Type: tt.typ, State: state, Resource: res,
				Limits: map[string]int64{"cpu": 7}})
			r := call(t, s, "POST", "/api/marketplace-orders/"+hex(id)+"/"+tt.action+"/",
				map[string]string{"error_message": "boom", "error_traceback": "tb", "provider_rejection_comment": "no"})
			require.Equal(t, 200, r.status, "body: %s", r.body)
			o, _ := s.Order(id)
			got, _ := s.Resource(o.MarketplaceResourceUUID)
			assert.Equal(t, tt.wantResource, string(got.State))
			switch tt.action {
			case "set_state_erred":
				assert.Equal(t, "boom", o.ErrorMessage)
				assert.Equal(t, "tb", o.ErrorTraceback)
			case "reject_by_provider":
				assert.Equal(t, "no", o.ProviderRejectionComment)
			}
			if tt.typ == "Update" && tt.action == "set_state_done" {
				assert.Equal(t, map[string]int64{"cpu": 7}, got.Limits, "limits come from the order")
			}
		})
	}
}

func TestApproveStoresAttributes(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	id := s.AddOrder(waldurtest.OrderSpec{Offering: off, Attributes: map[string]any{"name": "a"}})
	r := call(t, s, "POST", "/api/marketplace-orders/"+hex(id)+"/approve_by_provider/",
		map[string]any{"attributes": map[string]any{"qos": "high"}})
	require.Equal(t, 200, r.status)
	o, _ := s.Order(id)
	assert.Equal(t, map[string]any{"name": "a", "qos": "high"}, o.Attributes)
}

func TestSetOrderStateEmitsLikeWaldur(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	id := s.AddOrder(waldurtest.OrderSpec{Offering: off, State: "pending-project"})
	assert.Empty(t, s.Events(), "pending-project is not announced")
	s.SetOrderState(id, "pending-provider")
	ev := s.Events()
	require.Len(t, ev, 1)
	assert.Equal(t, "pending-provider", ev[0].Payload["order_state"])
	assert.Empty(t, s.Transitions(id), "only API calls count as transitions")
	assert.Panics(t, func() { s.SetOrderState(id, "nonsense") })
}

func TestSetBackendIDNeedsValue(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	id := s.AddOrder(waldurtest.OrderSpec{Offering: off})
	r := call(t, s, "POST", "/api/marketplace-orders/"+hex(id)+"/set_backend_id/", map[string]string{})
	assert.Equal(t, 400, r.status)
	assert.JSONEq(t, `{"backend_id":["This field is required."]}`, string(r.body))
}

func TestProviderInfoEvent(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	id := s.AddOrder(waldurtest.OrderSpec{Offering: off})
	r := call(t, s, "POST", "/api/marketplace-orders/"+hex(id)+"/set_provider_info/",
		map[string]string{"provider_message": "please confirm"})
	require.Equal(t, 200, r.status)
	ev := s.Events()
	require.Len(t, ev, 2)
	assert.Equal(t, "provider_info_set", ev[1].Payload["action"])
	o, _ := s.Order(id)
	assert.Equal(t, "please confirm", o.ProviderMessage)
}
