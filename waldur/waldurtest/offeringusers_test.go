package waldurtest_test

import (
	"net/http"
	"slices"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

var allOfferingUserStates = []string{
	"Requested", "Creating", "Pending account linking", "Pending additional validation", "OK",
	"Requested deletion", "Deleting", "Deleted", "Error creating", "Error deleting",
}

func TestOfferingUserStateMachine(t *testing.T) {
	// Source states per action, from Waldur's OfferingUser model.
	valid := map[string][]string{
		"begin_creating": {"Requested", "Error creating"},
		"set_ok": {"Requested", "Creating", "Pending account linking", "Pending additional validation",
			"Error creating", "Error deleting", "Requested deletion", "Deleting"},
		"set_pending_account_linking":       {"Creating", "Error creating", "Pending additional validation"},
		"set_pending_additional_validation": {"Creating", "Error creating", "Pending account linking"},
		"set_validation_complete":           {"Pending additional validation", "Pending account linking"},
		"set_error_creating":                {"Requested", "Creating", "Pending account linking", "Pending additional validation"},
		"set_deleting":                      {"Requested deletion", "Error deleting"},
		"set_deleted":                       {"Requested", "Deleting"},
		"set_error_deleting":                {"Requested deletion", "Deleting"},
	}
	target := map[string]string{
		"begin_creating": "Creating", "set_ok": "OK", "set_pending_account_linking": "Pending account linking",
		"set_pending_additional_validation": "Pending additional validation", "set_validation_complete": "OK",
		"set_error_creating": "Error creating", "set_deleting": "Deleting", "set_deleted": "Deleted",
		"set_error_deleting": "Error deleting",
	}
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	for action, from := range valid {
		for _, state := range allOfferingUserStates {
			t.Run(action+"/"+state, func(t *testing.T) {
				id := s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: off, State: state})
				r := call(t, s, "POST", "/api/marketplace-offering-users/"+hex(id)+"/"+action+"/", nil)
				got, _ := s.OfferingUser(id)
				if !slices.Contains(from, state) {
					assert.Equal(t, http.StatusConflict, r.status)
					assert.Equal(t, state, string(got.State))
					return
				}
				require.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
				assert.Equal(t, target[action], string(got.State))
			})
		}
	}
}

func TestOfferingUserProvisioningFlow(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{PluginOptions: map[string]any{
		"service_provider_can_create_offering_user": true, "username_generation_policy": "service_provider",
	}})
	u := s.AddUser(waldurtest.UserSpec{Username: "jdoe"})
	prj := s.AddProject(waldurtest.ProjectSpec{})
	s.AddProjectMember(prj, u, "PROJECT.ADMIN")
	s.AddResource(waldurtest.ResourceSpec{Offering: off, Project: prj, BackendID: "hpc_1"})
	id := s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: off, User: u})
	base := "/api/marketplace-offering-users/" + hex(id) + "/"

	r := call(t, s, "GET", "/api/marketplace-offering-users/?offering_uuid="+hex(off)+"&is_restricted=false&state=Requested", nil)
	var list []map[string]any
	r.json(t, &list)
	require.Len(t, list, 1)

	require.Equal(t, 200, call(t, s, "POST", base+"begin_creating/", nil).status)
	r = call(t, s, "POST", base+"set_pending_account_linking/",
		map[string]string{"comment": "link your account", "comment_url": "https://idp.example.org/link"})
	require.Equal(t, 200, r.status)
	got, _ := s.OfferingUser(id)
	assert.Equal(t, "link your account", got.ServiceProviderComment)
	assert.Equal(t, "https://idp.example.org/link", got.ServiceProviderCommentURL)

	r = call(t, s, "POST", base+"set_pending_additional_validation/", map[string]string{"comment_url": "not a url"})
	assert.Equal(t, 400, r.status)

	require.Equal(t, 200, call(t, s, "POST", base+"set_validation_complete/", nil).status)
	got, _ = s.OfferingUser(id)
	assert.Equal(t, "OK", string(got.State))
	assert.Empty(t, got.ServiceProviderComment, "validation clears the comments")

	r = call(t, s, "PATCH", base, map[string]string{"username": "jdoe_01"})
	require.Equal(t, 200, r.status)
	var ou map[string]any
	r.json(t, &ou)
	assert.Equal(t, "jdoe_01", ou["username"])

	ev := s.Events()
	require.NotEmpty(t, ev)
	last := ev[len(ev)-1]
	assert.Equal(t, "offering_user", last.ObjectType)
	assert.Equal(t, "username_set", last.Payload["action"])
	assert.Equal(t, "jdoe_01", last.Payload["username"])
	assert.Equal(t, []any{"hpc_1"}, last.Payload["resource_backend_ids"])
}

// Waldur's model moves a pending offering user to OK when its username is set.
func TestSettingUsernameCompletesCreation(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	id := s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: off, State: "Creating"})
	require.Equal(t, 200, call(t, s, "PATCH", "/api/marketplace-offering-users/"+hex(id)+"/", map[string]string{"username": "u1"}).status)
	got, _ := s.OfferingUser(id)
	assert.Equal(t, "OK", string(got.State))
	r := call(t, s, "POST", "/api/marketplace-offering-users/"+hex(id)+"/set_validation_complete/", nil)
	assert.Equal(t, 409, r.status, "so set_validation_complete afterwards is refused")
}

func TestOfferingUsersAreOrderedByUsername(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	for _, name := range []string{"zed", "", "amy"} {
		s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: off, Username: name})
	}
	r := call(t, s, "GET", "/api/marketplace-offering-users/?field=username", nil)
	var list []map[string]any
	r.json(t, &list)
	require.Len(t, list, 3)
	assert.Equal(t, "amy", list[0]["username"])
	assert.Equal(t, "zed", list[1]["username"])
	assert.NotContains(t, list[2], "username")
}
