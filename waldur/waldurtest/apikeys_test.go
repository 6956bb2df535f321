package waldurtest_test

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func TestAPIKeyStateMachine(t *testing.T) {
	valid := map[string][]string{
		"set_key":   {"Creating", "Updating", "Erred"},
		"set_erred": {"Creating", "Updating", "Deleting"},
		"rotate":    {"OK", "Erred"},
	}
	target := map[string]string{"set_key": "OK", "set_erred": "Erred", "rotate": "Updating"}
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	res := s.AddResource(waldurtest.ResourceSpec{Offering: off, BackendID: "gw"})
	for action, from := range valid {
		for _, state := range []string{"Creating", "OK", "Updating", "Erred", "Paused", "Deleting", "Deleted"} {
			t.Run(action+"/"+state, func(t *testing.T) {
				id := s.AddAPIKey(waldurtest.APIKeySpec{Resource: res, State: state})
				r := call(t, s, "POST", "/api/marketplace-resource-api-keys/"+hex(id)+"/"+action+"/",
					map[string]string{"api_key": "new-secret", "error_message": "failed"})
				got, _ := s.APIKey(id)
				if !slices.Contains(from, state) {
					assert.Equal(t, 409, r.status)
					assert.Equal(t, state, string(got.State))
					return
				}
				require.Less(t, r.status, 300, "body: %s", r.body)
				assert.Equal(t, target[action], string(got.State))
			})
		}
	}
}

// Each command puts the key into its transitional state with the action as
// pending_action, and only its own acknowledgement settles it.
func TestAPIKeyCommandsAndTheirAcknowledgements(t *testing.T) {
	commands := []struct {
		action, from, pending, ack, settled string
	}{
		{"create", "Creating", "Creating", "set_key", "OK"},
		{"rotate", "OK", "Updating", "set_key", "OK"},
		{"pause", "OK", "Updating", "set_paused", "Paused"},
		{"resume", "Paused", "Updating", "set_ok", "OK"},
		{"update", "OK", "Updating", "set_ok", "OK"},
		{"delete", "Paused", "Deleting", "set_deleted", "Deleted"},
	}
	acks := []string{"set_key", "set_ok", "set_paused", "set_deleted"}
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	res := s.AddResource(waldurtest.ResourceSpec{Offering: off, BackendID: "gw"})
	for _, c := range commands {
		t.Run(c.action, func(t *testing.T) {
			id := s.AddAPIKey(waldurtest.APIKeySpec{Resource: res, State: c.from})
			require.NoError(t, s.CommandAPIKey(id, c.action))
			assert.Error(t, s.CommandAPIKey(id, c.action), "a command is not requested twice")
			got, _ := s.APIKey(id)
			assert.Equal(t, c.pending, string(got.State))
			require.NotNil(t, got.PendingAction)
			assert.Equal(t, c.action, string(*got.PendingAction))
			ev := s.Events()
			assert.Equal(t, c.action, ev[len(ev)-1].Payload["action"])

			for _, ack := range acks {
				if ack == c.ack {
					continue
				}
				r := call(t, s, "POST", "/api/marketplace-resource-api-keys/"+hex(id)+"/"+ack+"/", map[string]string{"api_key": "k"})
				assert.Contains(t, []int{400, 409}, r.status, "%s does not settle %s", ack, c.action)
			}
			r := call(t, s, "POST", "/api/marketplace-resource-api-keys/"+hex(id)+"/"+c.ack+"/", map[string]string{"api_key": "k"})
			require.Equal(t, 200, r.status, "body: %s", r.body)
			got, _ = s.APIKey(id)
			assert.Equal(t, c.settled, string(got.State))
			assert.Nil(t, got.PendingAction)
			r = call(t, s, "POST", "/api/marketplace-resource-api-keys/"+hex(id)+"/"+c.ack+"/", map[string]string{"api_key": "k"})
			assert.Contains(t, []int{400, 409}, r.status, "a settled command is not settled again")
		})
	}

	t.Run("set_erred settles any and clears the pending action", func(t *testing.T) {
		id := s.AddAPIKey(waldurtest.APIKeySpec{Resource: res})
		require.NoError(t, s.CommandAPIKey(id, "delete"))
		r := call(t, s, "POST", "/api/marketplace-resource-api-keys/"+hex(id)+"/set_erred/", map[string]string{"error_message": "gone wrong"})
		require.Equal(t, 200, r.status)
		got, _ := s.APIKey(id)
		assert.Equal(t, "Erred", string(got.State))
		assert.Nil(t, got.PendingAction)
	})
	t.Run("commands are refused from other states", func(t *testing.T) {
		paused := s.AddAPIKey(waldurtest.APIKeySpec{Resource: res, State: "Paused"})
		assert.Error(t, s.CommandAPIKey(paused, "pause"))
		assert.Error(t, s.CommandAPIKey(paused, "rotate"))
		ok := s.AddAPIKey(waldurtest.APIKeySpec{Resource: res})
		assert.Error(t, s.CommandAPIKey(ok, "resume"))
		assert.Error(t, s.CommandAPIKey(ok, "create"))
		assert.Error(t, s.CommandAPIKey(ok, "revoke"))
	})
}

func TestReportCreatedIsIdempotent(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	res := s.AddResource(waldurtest.ResourceSpec{Offering: off, BackendID: "gw"})
	body := map[string]string{"resource": hex(res), "client_id": "gw-1", "api_key": "k1"}
	var first, second map[string]any
	r := call(t, s, "POST", "/api/marketplace-resource-api-keys/report_created/", body)
	require.Equal(t, 201, r.status, "body: %s", r.body)
	r.json(t, &first)
	r = call(t, s, "POST", "/api/marketplace-resource-api-keys/report_created/", body)
	require.Equal(t, 201, r.status)
	r.json(t, &second)
	assert.Equal(t, first["uuid"], second["uuid"])
	assert.Equal(t, "OK", first["state"])
	assert.NotContains(t, first, "api_key", "the status never carries the secret")
	require.Len(t, s.APIKeys(), 1)
	secret, _ := s.APIKeySecret(s.APIKeys()[0].UUID)
	assert.Equal(t, "k1", secret)

	got, _ := s.Resource(res)
	assert.True(t, got.HasAPIKeys)

	term := s.AddResource(waldurtest.ResourceSpec{Offering: off, State: "Terminating"})
	r = call(t, s, "POST", "/api/marketplace-resource-api-keys/report_created/",
		map[string]string{"resource": hex(term), "client_id": "x", "api_key": "k"})
	assert.Equal(t, 409, r.status, "refused once the resource is terminating")
}

func TestRotationEmitsEventAndSetKeyCompletes(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	res := s.AddResource(waldurtest.ResourceSpec{Offering: off, BackendID: "gw"})
	key := s.AddAPIKey(waldurtest.APIKeySpec{Resource: res, ClientID: "gw-1"})
	other := s.AddAPIKey(waldurtest.APIKeySpec{Resource: res, ClientID: "gw-2"})

	require.NoError(t, s.RotateAPIKey(key))
	assert.Error(t, s.RotateAPIKey(key), "an Updating key cannot be rotated again")
	ev := s.Events()
	require.Len(t, ev, 1)
	assert.Equal(t, "resource_api_key_rotation", ev[0].ObjectType)
	assert.Equal(t, map[string]any{
		"action": "rotate", "resource_uuid": hex(res), "resource_backend_id": "gw", "api_key_uuid": hex(key),
		"client_id": "gw-1", "offering_uuid": hex(off), "object_type": "resource_api_key_rotation", "schema_version": 1,
	}, ev[0].Payload)

	r := call(t, s, "GET", "/api/marketplace-resource-api-keys/?resource_uuid="+hex(res)+"&state=Updating", nil)
	var list []map[string]any
	r.json(t, &list)
	require.Len(t, list, 1)

	r = call(t, s, "POST", "/api/marketplace-resource-api-keys/"+hex(key)+"/set_key/",
		map[string]string{"api_key": "k2", "client_id": "gw-2"})
	assert.Equal(t, 400, r.status, "client_id held by a sibling key")
	r = call(t, s, "POST", "/api/marketplace-resource-api-keys/"+hex(key)+"/set_key/",
		map[string]string{"api_key": "k2", "client_id": "gw-3"})
	require.Equal(t, 200, r.status)
	got, _ := s.APIKey(key)
	assert.Equal(t, "OK", string(got.State))
	assert.Equal(t, "gw-3", got.ClientID)
	secret, _ := s.APIKeySecret(key)
	assert.Equal(t, "k2", secret)
	_, ok := s.APIKey(other)
	assert.True(t, ok)
}
