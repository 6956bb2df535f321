package siteagent_test

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

var offeringHex = "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b"

func mustUUID(t *testing.T, s string) waldur.UUID {
	t.Helper()
	id, err := waldur.ParseUUID(s)
	require.NoError(t, err)
	return id
}

func TestDecodeEventUnifiedPayloads(t *testing.T) {
	tests := []struct {
		name string
		body string
		want any
	}{
		{"order", `{"order_uuid": "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12", "order_state": "pending-provider",
			"offering_uuid": "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b", "object_type": "order", "schema_version": 1,
			"order_type": "Create", "resource_uuid": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "resource_backend_id": "",
			"resource_name": "alloc-42", "project_uuid": "77aa88bb99cc00dd11ee22ff33445566", "project_name": "Climate modelling",
			"attributes": {"name": "alloc-42"}, "limits": {"cpu": 1000, "gpu": 10}, "plan_uuid": "9f8e7d6c5b4a39281706f5e4d3c2b1a0"}`,
			&siteagent.OrderEvent{
				OrderUUID: mustUUID(t, "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12"), OrderState: waldur.OrderStatePendingProvider,
				OrderType: waldur.OrderTypeCreate, ResourceUUID: mustUUID(t, "a1b2c3d4e5f60718293a4b5c6d7e8f90"),
				ResourceName: "alloc-42", ProjectUUID: mustUUID(t, "77aa88bb99cc00dd11ee22ff33445566"),
				ProjectName: "Climate modelling", PlanUUID: mustUUID(t, "9f8e7d6c5b4a39281706f5e4d3c2b1a0"),
				Attributes: map[string]any{"name": "alloc-42"}, Limits: map[string]int64{"cpu": 1000, "gpu": 10},
			}},
		{"user_role", `{"user_uuid": "3c2b1a09f8e7d6c5b4a3928170f6e5d4", "user_username": "jdoe",
			"project_uuid": "77aa88bb99cc00dd11ee22ff33445566", "project_name": "Climate modelling",
			"role_name": "PROJECT.MEMBER", "granted": true, "offering_uuid": "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b",
			"object_type": "user_role", "schema_version": 1, "user_email": "jdoe@example.org", "user_full_name": "Jane Doe"}`,
			&siteagent.UserRoleEvent{
				UserUUID: mustUUID(t, "3c2b1a09f8e7d6c5b4a3928170f6e5d4"), Username: "jdoe",
				ProjectUUID: mustUUID(t, "77aa88bb99cc00dd11ee22ff33445566"), ProjectName: "Climate modelling",
				RoleName: "PROJECT.MEMBER", Granted: ptr(true), Email: "jdoe@example.org", FullName: "Jane Doe",
			}},
		{"resource", `{"resource_uuid": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "resource_backend_id": "hpc_alloc_42", "downscaled": false,
			"restrict_member_access": false, "paused": true, "limits": {"cpu": 1000},
			"offering_uuid": "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b", "object_type": "resource", "schema_version": 1,
			"resource_name": "alloc-42", "resource_state": "OK", "project_uuid": "77aa88bb99cc00dd11ee22ff33445566",
			"project_name": "Climate modelling"}`,
			&siteagent.ResourceEvent{
				ResourceUUID: mustUUID(t, "a1b2c3d4e5f60718293a4b5c6d7e8f90"), BackendID: "hpc_alloc_42", Paused: true,
				Limits: map[string]int64{"cpu": 1000}, ResourceName: "alloc-42", ResourceState: waldur.ResourceStateOK,
				ProjectUUID: mustUUID(t, "77aa88bb99cc00dd11ee22ff33445566"), ProjectName: "Climate modelling",
			}},
		{"offering_user", `{"username": "jdoe_01", "offering_user_uuid": "c0ffee00c0ffee00c0ffee00c0ffee00",
			"user_uuid": "3c2b1a09f8e7d6c5b4a3928170f6e5d4", "state": "OK", "action": "username_set",
			"resource_backend_ids": ["hpc_alloc_42"], "offering_uuid": "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b",
			"object_type": "offering_user", "schema_version": 1}`,
			&siteagent.OfferingUserEvent{
				OfferingUserUUID: mustUUID(t, "c0ffee00c0ffee00c0ffee00c0ffee00"), UserUUID: mustUUID(t, "3c2b1a09f8e7d6c5b4a3928170f6e5d4"),
				Username: "jdoe_01", State: "OK", Action: "username_set", ResourceBackendIDs: []string{"hpc_alloc_42"},
			}},
		{"service_account", `{"account_uuid": "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e", "account_username": "svc-climate-ci", "scope_type": "project",
			"project_uuid": "77aa88bb99cc00dd11ee22ff33445566", "project_name": "Climate modelling", "action": "create",
			"offering_uuid": "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b", "object_type": "service_account", "schema_version": 1}`,
			&siteagent.AccountEvent{
				AccountUUID: mustUUID(t, "5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e5e"), AccountUsername: "svc-climate-ci", ScopeType: "project",
				ProjectUUID: mustUUID(t, "77aa88bb99cc00dd11ee22ff33445566"), ProjectName: "Climate modelling", Action: "create",
			}},
		{"resource_api_key_rotation", `{"action": "rotate", "resource_uuid": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "resource_backend_id": "llm_gw_42",
			"api_key_uuid": "4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b", "client_id": "llm_gw_42-1",
			"offering_uuid": "0e4b7c2d9f1a4e3b8c6d5a4f3e2d1c0b", "object_type": "resource_api_key_rotation", "schema_version": 1}`,
			&siteagent.APIKeyRotationEvent{
				Action: "rotate", ResourceUUID: mustUUID(t, "a1b2c3d4e5f60718293a4b5c6d7e8f90"), ResourceBackendID: "llm_gw_42",
				APIKeyUUID: mustUUID(t, "4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b4b"), ClientID: "llm_gw_42-1",
			}},
		{"user_lifecycle", `{"user_uuid": "3c2b1a09f8e7d6c5b4a3928170f6e5d4", "user_username": "jdoe", "email": "jdoe@example.org",
			"full_name": "Jane Doe", "is_active": false, "action": "deactivated", "object_type": "user_lifecycle",
			"event_type": "user_deactivated", "schema_version": 1}`,
			&siteagent.UserLifecycleEvent{
				UserUUID: mustUUID(t, "3c2b1a09f8e7d6c5b4a3928170f6e5d4"), Username: "jdoe", Email: "jdoe@example.org",
				FullName: "Jane Doe", IsActive: ptr(false), Action: "deactivated",
			}},
		{"user_profile", `{"user_uuid": "3c2b1a09f8e7d6c5b4a3928170f6e5d4", "user_username": "jdoe", "email": "jdoe@example.org",
			"full_name": "Jane Doe", "changed": {"organization": ["Uni A", "Uni B"]}, "object_type": "user_profile",
			"event_type": "user_profile_updated", "schema_version": 1}`,
			&siteagent.UserProfileEvent{
				UserUUID: mustUUID(t, "3c2b1a09f8e7d6c5b4a3928170f6e5d4"), Username: "jdoe", Email: "jdoe@example.org",
				FullName: "Jane Doe", Changed: map[string][2]any{"organization": {"Uni A", "Uni B"}},
			}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e, err := siteagent.DecodeEvent([]byte(tt.body), "")
			require.NoError(t, err)
			assert.Equal(t, waldur.ObservableObjectType(tt.name), e.ObjectType)
			assert.Equal(t, 1, e.SchemaVersion)
			assert.Equal(t, tt.want, e.Payload)
		})
	}
}

func TestDecodeEventLegacyPayloadTakesTypeFromQueue(t *testing.T) {
	e, err := siteagent.DecodeEvent([]byte(`{"order_uuid": "5d0f0a8c-2a7e-4b51-a1f3-c6d7e8f90a12", "order_state": "executing"}`),
		waldur.ObservableObjectTypeOrder)
	require.NoError(t, err)
	assert.Equal(t, waldur.ObservableObjectTypeOrder, e.ObjectType)
	assert.Zero(t, e.OfferingUUID)
	assert.Equal(t, &siteagent.OrderEvent{OrderUUID: mustUUID(t, "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12"), OrderState: waldur.OrderStateExecuting}, e.Payload)
}

func TestDecodeEventToleratesTheUnknown(t *testing.T) {
	e, err := siteagent.DecodeEvent([]byte(`{"object_type": "service_provider_project_group", "x": 1}`), "")
	require.NoError(t, err)
	assert.Nil(t, e.Payload)

	// Unknown keys and wrongly typed optional values are ignored.
	e, err = siteagent.DecodeEvent([]byte(`{"object_type": "order", "order_uuid": "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12",
		"order_state": 7, "limits": {"cpu": "12.6", "gpu": "many"}, "sequence_number": "3", "new": {"nested": true}}`), "")
	require.NoError(t, err)
	p := e.Payload.(*siteagent.OrderEvent)
	assert.Empty(t, p.OrderState)
	assert.Equal(t, map[string]int64{"cpu": 13}, p.Limits)
	assert.Equal(t, 3, p.SequenceNumber)
}

func TestDecodeEventRejectsMalformed(t *testing.T) {
	for _, body := range []string{
		``, `null`, `[]`, `"order"`, `{"object_type": "order"`, `{}`,
		`{"object_type": "order", "order_uuid": "not-a-uuid"}`,
		`{"object_type": "resource"}`,
		`{"object_type": "resource_api_key_rotation", "resource_uuid": "a1b2c3d4e5f60718293a4b5c6d7e8f90"}`,
	} {
		_, err := siteagent.DecodeEvent([]byte(body), "")
		assert.ErrorIs(t, err, siteagent.ErrMalformedEvent, "body %q", body)
	}
}

func FuzzDecodeEvent(f *testing.F) {
	f.Add([]byte(`{"order_uuid": "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12", "order_state": "pending-provider", "object_type": "order", "limits": {"cpu": 1}}`), "")
	f.Add([]byte(`{"user_uuid": "3c2b1a09f8e7d6c5b4a3928170f6e5d4", "changed": {"a": [1, 2, 3]}, "object_type": "user_profile"}`), "")
	f.Add([]byte(`{"project_uuid": "77aa88bb99cc00dd11ee22ff33445566", "granted": "yes"}`), "user_role")
	f.Add([]byte(`{"resource_uuid": "a1b2c3d4e5f60718293a4b5c6d7e8f90", "limits": {"x": 1e300}}`), "resource")
	f.Fuzz(func(t *testing.T, body []byte, objectType string) {
		e, err := siteagent.DecodeEvent(body, waldur.ObservableObjectType(objectType))
		if err != nil {
			assert.ErrorIs(t, err, siteagent.ErrMalformedEvent)
			return
		}
		assert.NotEmpty(t, e.ObjectType)
	})
}

func ptr[T any](v T) *T { return &v }
