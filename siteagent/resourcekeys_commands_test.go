package siteagent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// keyProcessor is an APIKeyProcessor that records the commands it got and
// mints "value-<n>" secrets.
type keyProcessor struct {
	mu       sync.Mutex
	commands []string
	minted   atomic.Int32
	fail     error // returned by every command when set
}

func (p *keyProcessor) note(c *siteagent.APIKeyCommand, method string) error {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.commands = append(p.commands, method+":"+string(c.Action))
	return p.fail
}

func (p *keyProcessor) mint(c *siteagent.APIKeyCommand, method string) (siteagent.APIKey, error) {
	if err := p.note(c, method); err != nil {
		return siteagent.APIKey{}, err
	}
	return siteagent.APIKey{ClientID: c.ClientID, Secret: fmt.Sprintf("value-%d", p.minted.Add(1))}, nil
}

func (p *keyProcessor) CreateAPIKey(_ context.Context, c *siteagent.APIKeyCommand) (siteagent.APIKey, error) {
	return p.mint(c, "Create")
}

func (p *keyProcessor) RotateAPIKey(_ context.Context, c *siteagent.APIKeyCommand) (siteagent.APIKey, error) {
	return p.mint(c, "Rotate")
}

func (p *keyProcessor) PauseAPIKey(_ context.Context, c *siteagent.APIKeyCommand) error {
	return p.note(c, "Pause")
}

func (p *keyProcessor) ResumeAPIKey(_ context.Context, c *siteagent.APIKeyCommand) error {
	return p.note(c, "Resume")
}

func (p *keyProcessor) UpdateAPIKey(_ context.Context, c *siteagent.APIKeyCommand) error {
	return p.note(c, "Update")
}

func (p *keyProcessor) DeleteAPIKey(_ context.Context, c *siteagent.APIKeyCommand) error {
	return p.note(c, "Delete")
}

func (p *keyProcessor) calls() []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.commands...)
}

// deliverCommand requests a command on key in the fake and delivers its
// event, with the event's action replaced by hint when hint is set.
func (rf *rotationFixture) deliverCommand(t *testing.T, key waldur.UUID, action, hint string) error {
	t.Helper()
	require.NoError(t, rf.s.CommandAPIKey(key, action))
	rf.mu.Lock()
	body := rf.events[len(rf.events)-1]
	rf.mu.Unlock()
	if hint != "" {
		var m map[string]any
		require.NoError(t, json.Unmarshal(body, &m))
		m["action"] = hint
		body, _ = json.Marshal(m)
	}
	e, err := siteagent.DecodeEvent(body, "")
	require.NoError(t, err)
	return <-rf.src.send(e)
}

func keyState(t *testing.T, s *waldurtest.Server, id waldur.UUID) waldur.ResourceAPIKey {
	t.Helper()
	k, ok := s.APIKey(id)
	require.True(t, ok)
	return k
}

func TestEveryKeyCommandIsDispatchedOnThePendingAction(t *testing.T) {
	p := &keyProcessor{}
	rf := newRotationFixture(t, p)
	created := rf.s.AddAPIKey(waldurtest.APIKeySpec{Resource: rf.resource, ClientID: "gw-7-2", State: "Creating"})

	// The event's action is a hint: a stale or wrong one changes nothing.
	require.NoError(t, rf.deliverCommand(t, created, "create", "rotate"))
	assert.Equal(t, waldur.ResourceAPIKeyStateOK, keyState(t, rf.s, created).State)
	secret, _ := rf.s.APIKeySecret(created)
	assert.Equal(t, "value-1", secret)

	steps := []struct {
		action, hint string
		want         waldur.ResourceAPIKeyState
	}{
		{"pause", "rotate", waldur.ResourceAPIKeyStatePaused},
		{"resume", "", waldur.ResourceAPIKeyStateOK},
		{"update", "delete", waldur.ResourceAPIKeyStateOK},
		{"rotate", "pause", waldur.ResourceAPIKeyStateOK},
		{"delete", "", waldur.ResourceAPIKeyStateDeleted},
	}
	for _, s := range steps {
		require.NoError(t, rf.deliverCommand(t, rf.key, s.action, s.hint), s.action)
		k := keyState(t, rf.s, rf.key)
		assert.Equal(t, s.want, k.State, s.action)
		assert.Nil(t, k.PendingAction, s.action)
	}
	assert.Equal(t, []string{"Create:create", "Pause:pause", "Resume:resume", "Update:update", "Rotate:rotate", "Delete:delete"}, p.calls())
	secret, _ = rf.s.APIKeySecret(rf.key)
	assert.Equal(t, "value-2", secret, "only create and rotate mint values")

	// A duplicate event finds the command settled: nothing is done again.
	rf.s.ResetCalls()
	e := siteagent.Event{ObjectType: waldur.ObservableObjectTypeResourceAPIKeyRotation, OfferingUUID: rf.offering,
		Payload: &siteagent.APIKeyRotationEvent{Action: "delete", APIKeyUUID: rf.key}}
	require.NoError(t, <-rf.src.send(e))
	assert.Len(t, p.calls(), 6)
	for _, op := range []string{"set_key", "set_ok", "set_paused", "set_deleted", "set_erred"} {
		assert.Zero(t, rf.s.CallCount("marketplace_resource_api_keys_"+op), op)
	}
}

func TestARotatorOnlyProcessorErrsCommandsItCannotCarryOut(t *testing.T) {
	var rotated atomic.Int32
	rf := newRotationFixture(t, siteagent.APIKeyRotatorFunc(func(_ context.Context, c *siteagent.APIKeyCommand) (siteagent.APIKey, error) {
		rotated.Add(1)
		return siteagent.APIKey{ClientID: c.ClientID, Secret: "rotated"}, nil
	}))
	require.NoError(t, rf.deliverCommand(t, rf.key, "pause", ""))
	k := keyState(t, rf.s, rf.key)
	assert.Equal(t, waldur.ResourceAPIKeyStateErred, k.State)
	assert.Equal(t, "pause is not supported by this agent", k.ErrorMessage)
	assert.Zero(t, rotated.Load(), "a pause is never taken for a rotation")

	created := rf.s.AddAPIKey(waldurtest.APIKeySpec{Resource: rf.resource, ClientID: "gw-7-2", State: "Creating"})
	require.NoError(t, rf.deliverCommand(t, created, "create", ""))
	assert.Equal(t, waldur.ResourceAPIKeyStateOK, keyState(t, rf.s, created).State, "create goes to the rotator")
	assert.Equal(t, int32(1), rotated.Load())
}

func TestAFailedSetKeyOffersTheSameValueAgainThenErs(t *testing.T) {
	p := &keyProcessor{}
	rf := newRotationFixtureWith(t, p, func(rf *rotationFixture, c *siteagent.Config) {
		// One attempt per pass, so the fake's failures count passes.
		c.WaldurURL, c.Client = "", rf.s.Client(waldur.WithRetryPolicy(waldur.RetryPolicy{MaxRetries: -1}))
	})
	rf.s.FailNext("marketplace_resource_api_keys_set_key", 503, 3)
	assert.Error(t, rf.deliverRotation(t), "set_key failed: retried later")
	assert.Equal(t, waldur.ResourceAPIKeyStateUpdating, keyState(t, rf.s, rf.key).State)

	e := siteagent.Event{ObjectType: waldur.ObservableObjectTypeResourceAPIKeyRotation, OfferingUUID: rf.offering,
		Payload: &siteagent.APIKeyRotationEvent{Action: "rotate", APIKeyUUID: rf.key}}
	assert.Error(t, <-rf.src.send(e), "second pass")
	var sent []string
	for _, c := range rf.s.Calls() {
		if c.OperationID == "marketplace_resource_api_keys_set_key" {
			sent = append(sent, string(c.Body))
		}
	}
	require.NotEmpty(t, sent)
	for _, b := range sent {
		assert.JSONEq(t, `{"api_key": "value-1"}`, b, "every attempt offers the value the backend has")
	}
	require.NoError(t, <-rf.src.send(e), "the third pass gives up")
	k := keyState(t, rf.s, rf.key)
	assert.Equal(t, waldur.ResourceAPIKeyStateErred, k.State)
	assert.Contains(t, k.ErrorMessage, "report new value")
	assert.Equal(t, []string{"Rotate:rotate"}, p.calls(), "one value was minted for the three passes")

	// Once the report works again, a new rotation mints a new value.
	require.NoError(t, rf.deliverRotation(t))
	secret, _ := rf.s.APIKeySecret(rf.key)
	assert.Equal(t, "value-2", secret)
}

func TestTheSweepReplaysOnlyPendingActions(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().Add(-time.Hour).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	f := newFixture(t, waldurtest.WithClock(now))
	res := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, BackendID: "gw-9"})
	paused := f.s.AddAPIKey(waldurtest.APIKeySpec{Resource: res, ClientID: "gw-9-1"})
	require.NoError(t, f.s.CommandAPIKey(paused, "pause")) // an hour ago; the event is lost
	deleted := f.s.AddAPIKey(waldurtest.APIKeySpec{Resource: res, ClientID: "gw-9-2"})
	require.NoError(t, f.s.CommandAPIKey(deleted, "delete"))
	unknown := f.s.AddAPIKey(waldurtest.APIKeySpec{Resource: res, ClientID: "gw-9-3", State: "Updating"}) // no pending action
	clock.Store(time.Now().UnixNano())

	p := &keyProcessor{}
	cfg := f.config(&recorder{})
	cfg.APIKeys = p
	start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool {
		a, _ := f.s.APIKey(paused)
		b, _ := f.s.APIKey(deleted)
		return a.State == waldur.ResourceAPIKeyStatePaused && b.State == waldur.ResourceAPIKeyStateDeleted
	}))
	assert.ElementsMatch(t, []string{"Pause:pause", "Delete:delete"}, p.calls(), "no rotation is assumed")
	assert.Equal(t, waldur.ResourceAPIKeyStateUpdating, keyState(t, f.s, unknown).State)
}
