package apikeys_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func TestSuspendAndResume(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	is := f.issue(t, nil)
	k := is.Key.Format()
	require.True(t, f.verify(t, k).Valid(), "cached")
	require.NoError(t, f.m.Suspend(ctx, is.Key.ID))
	res := f.verify(t, k)
	assert.Equal(t, apikeys.ReasonSuspended, res.Reason, "at once, despite the cache")
	assert.ErrorIs(t, res.Err(), apikeys.ErrSuspended)
	assert.Equal(t, is.Key.ID, res.Identity.KeyID, "a suspended key is authentic")
	require.NoError(t, f.m.Resume(ctx, is.Key.ID))
	assert.True(t, f.verify(t, k).Valid())
	require.NoError(t, f.m.Resume(ctx, is.Key.ID), "resuming a live key succeeds")
	assert.ErrorIs(t, f.m.Suspend(ctx, "unknownid123"), apikeys.ErrNotFound)
}

// Waldur's commands on single keys reach the Provisioner through the agent
// and change what the keys verify as; each is acknowledged in Waldur.
func TestProvisionerCarriesOutEveryKeyCommand(t *testing.T) {
	k := newKit(t)
	p := k.provisioner(t, func(c *apikeys.ProvisionerConfig) { c.Next = &gateway{} })
	rid, keys, secrets := k.startRotating(t, p)
	command := func(key waldur.UUID, action string, want waldur.ResourceAPIKeyState) {
		t.Helper()
		require.NoError(t, k.s.CommandAPIKey(key, action))
		require.NoError(t, k.deliver(t, "resource_api_key_rotation"), action)
		got, _ := k.s.APIKey(key)
		require.Equal(t, want, got.State, "%s: %s", action, got.ErrorMessage)
	}

	command(keys[0].UUID, "pause", waldur.ResourceAPIKeyStatePaused)
	assert.Equal(t, apikeys.ReasonSuspended, k.verify(t, secrets[0]).Reason)
	assert.Equal(t, apikeys.ReasonValid, k.verify(t, secrets[1]).Reason, "the other key is untouched")
	command(keys[0].UUID, "resume", waldur.ResourceAPIKeyStateOK)
	assert.Equal(t, apikeys.ReasonValid, k.verify(t, secrets[0]).Reason)
	command(keys[0].UUID, "update", waldur.ResourceAPIKeyStateOK)
	assert.Equal(t, apikeys.ReasonValid, k.verify(t, secrets[0]).Reason)
	command(keys[1].UUID, "delete", waldur.ResourceAPIKeyStateDeleted)
	assert.Equal(t, apikeys.ReasonRevoked, k.verify(t, secrets[1]).Reason)
	assert.Equal(t, apikeys.ReasonValid, k.verify(t, secrets[0]).Reason)

	// A key Waldur creates gets its first value from the Provisioner.
	third := k.s.AddAPIKey(waldurtest.APIKeySpec{Resource: rid, ClientID: "gw-42-3", State: "Creating"})
	command(third, "create", waldur.ResourceAPIKeyStateOK)
	value, _ := k.s.APIKeySecret(third)
	res := k.verify(t, value, "chat:write")
	require.Equal(t, apikeys.ReasonValid, res.Reason)
	assert.Equal(t, "gw-42-3", res.Identity.ClientID)
	assert.Equal(t, rid, res.Identity.ResourceUUID)
}

func TestProvisionerCommandsWithoutALocalKey(t *testing.T) {
	k := newKit(t)
	p := k.provisioner(t, nil)
	rid := k.s.AddResource(waldurtest.ResourceSpec{Offering: k.offering, BackendID: "gw-7"})
	c := &siteagent.APIKeyCommand{ResourceUUID: rid, ClientID: "gw-7-1"}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c.Action = waldur.ResourceAPIKeyActionPause
	assert.NoError(t, p.PauseAPIKey(ctx, c), "nothing works that could be paused")
	c.Action = waldur.ResourceAPIKeyActionDelete
	assert.NoError(t, p.DeleteAPIKey(ctx, c))
	c.Action = waldur.ResourceAPIKeyActionResume
	assert.True(t, siteagent.IsPermanent(p.ResumeAPIKey(ctx, c)), "a resume cannot make a lost key work")
	c.Action = waldur.ResourceAPIKeyActionUpdate
	assert.True(t, siteagent.IsPermanent(p.UpdateAPIKey(ctx, c)))
}
