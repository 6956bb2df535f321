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

func TestCreateOrderReportsTheKeysTheProcessorMade(t *testing.T) {
	f := newFixture(t)
	id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering})
	p := &recorder{fn: func(_ context.Context, o *siteagent.Order) (siteagent.Result, error) {
		return siteagent.Result{BackendID: "gw-1", APIKeys: []siteagent.APIKey{
			{ClientID: "gw-1-1", Secret: "secret-one"}, {ClientID: "gw-1-2", Secret: "secret-two"},
		}}, nil
	}}
	start(t, f.config(p))
	waitOrders(t, f.s, []waldur.UUID{id}, waldur.OrderStateDone)

	keys := f.s.APIKeys()
	require.Len(t, keys, 2)
	for i, k := range keys {
		assert.Equal(t, fmt.Sprintf("gw-1-%d", i+1), k.ClientID)
		assert.Equal(t, waldur.ResourceAPIKeyStateOK, k.State)
	}
	secret, _ := f.s.APIKeySecret(keys[1].UUID)
	assert.Equal(t, "secret-two", secret)
	assert.Equal(t, "APIKey{gw-1-1, <redacted>}", fmt.Sprint(siteagent.APIKey{ClientID: "gw-1-1", Secret: "secret-one"}))
}

// rotationFixture runs an agent with a rotator, fed by the fake's events.
type rotationFixture struct {
	*fixture
	src      *chanSource
	resource waldur.UUID
	key      waldur.UUID
	mu       sync.Mutex
	events   [][]byte
}

func newRotationFixture(t *testing.T, rotator siteagent.APIKeyRotator, opts ...waldurtest.Option) *rotationFixture {
	return newRotationFixtureWith(t, rotator, nil, opts...)
}

// newRotationFixtureWith is newRotationFixture with edit applied to the
// agent's config.
func newRotationFixtureWith(t *testing.T, rotator siteagent.APIKeyRotator, edit func(*rotationFixture, *siteagent.Config), opts ...waldurtest.Option) *rotationFixture {
	rf := &rotationFixture{src: newChanSource()}
	opts = append(opts, waldurtest.WithEventSink(waldurtest.EventSinkFunc(func(_ context.Context, e waldurtest.Event) error {
		b, err := json.Marshal(e.Payload)
		rf.mu.Lock()
		rf.events = append(rf.events, b)
		rf.mu.Unlock()
		return err
	})))
	rf.fixture = newFixture(t, opts...)
	rf.resource = rf.s.AddResource(waldurtest.ResourceSpec{Offering: rf.offering, BackendID: "gw-7"})
	rf.key = rf.s.AddAPIKey(waldurtest.APIKeySpec{Resource: rf.resource, ClientID: "gw-7-1", Key: "old"})
	cfg := rf.config(&recorder{})
	cfg.APIKeys = rotator
	cfg.Events = siteagent.EventsConfig{Source: rf.src}
	if edit != nil {
		edit(rf, &cfg)
	}
	start(t, cfg)
	<-rf.src.ready
	return rf
}

// deliverRotation requests a rotation in the fake and delivers its event.
func (rf *rotationFixture) deliverRotation(t *testing.T) error {
	t.Helper()
	require.NoError(t, rf.s.RotateAPIKey(rf.key))
	rf.mu.Lock()
	body := rf.events[len(rf.events)-1]
	rf.mu.Unlock()
	e, err := siteagent.DecodeEvent(body, "")
	require.NoError(t, err)
	require.IsType(t, &siteagent.APIKeyRotationEvent{}, e.Payload)
	return <-rf.src.send(e)
}

func TestRotationEventSetsTheNewKey(t *testing.T) {
	var got atomic.Pointer[siteagent.APIKeyRotation]
	rf := newRotationFixture(t, siteagent.APIKeyRotatorFunc(func(_ context.Context, r *siteagent.APIKeyRotation) (siteagent.APIKey, error) {
		got.Store(r)
		return siteagent.APIKey{ClientID: r.ClientID, Secret: "new"}, nil
	}))
	require.NoError(t, rf.deliverRotation(t))

	k, _ := rf.s.APIKey(rf.key)
	assert.Equal(t, waldur.ResourceAPIKeyStateOK, k.State)
	secret, _ := rf.s.APIKeySecret(rf.key)
	assert.Equal(t, "new", secret)
	r := got.Load()
	require.NotNil(t, r)
	assert.Equal(t, rf.resource, r.ResourceUUID)
	assert.Equal(t, "gw-7", r.ResourceBackendID)
	assert.Equal(t, "gw-7-1", r.ClientID)

	// The same event again finds the key OK: no second rotation.
	rf.s.ResetCalls()
	e := siteagent.Event{ObjectType: waldur.ObservableObjectTypeResourceAPIKeyRotation, OfferingUUID: rf.offering,
		Payload: &siteagent.APIKeyRotationEvent{Action: "rotate", APIKeyUUID: rf.key}}
	require.NoError(t, <-rf.src.send(e))
	assert.Equal(t, 0, rf.s.CallCount("marketplace_resource_api_keys_set_key"))
}

func TestFailedRotationMarksTheKeyErred(t *testing.T) {
	var calls atomic.Int32
	rf := newRotationFixture(t, siteagent.APIKeyRotatorFunc(func(context.Context, *siteagent.APIKeyRotation) (siteagent.APIKey, error) {
		if calls.Add(1) == 1 {
			return siteagent.APIKey{}, fmt.Errorf("gateway busy")
		}
		return siteagent.APIKey{}, siteagent.Permanentf("gateway refused the new key")
	}))
	assert.Error(t, rf.deliverRotation(t), "a transient failure is returned for redelivery")
	k, _ := rf.s.APIKey(rf.key)
	assert.Equal(t, waldur.ResourceAPIKeyStateUpdating, k.State)

	e := siteagent.Event{ObjectType: waldur.ObservableObjectTypeResourceAPIKeyRotation, OfferingUUID: rf.offering,
		Payload: &siteagent.APIKeyRotationEvent{Action: "rotate", APIKeyUUID: rf.key}}
	require.NoError(t, <-rf.src.send(e))
	k, _ = rf.s.APIKey(rf.key)
	assert.Equal(t, waldur.ResourceAPIKeyStateErred, k.State)
	assert.Equal(t, "gateway refused the new key", k.ErrorMessage)
}

func TestStuckRotationIsPickedUpByThePeriodicPass(t *testing.T) {
	var clock atomic.Int64
	clock.Store(time.Now().Add(-time.Hour).UnixNano())
	now := func() time.Time { return time.Unix(0, clock.Load()) }
	f := newFixture(t, waldurtest.WithClock(now))
	res := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, BackendID: "gw-9"})
	key := f.s.AddAPIKey(waldurtest.APIKeySpec{Resource: res, ClientID: "gw-9-1"})
	require.NoError(t, f.s.RotateAPIKey(key)) // an hour ago; the event is lost
	clock.Store(time.Now().UnixNano())

	cfg := f.config(&recorder{})
	cfg.APIKeys = siteagent.APIKeyRotatorFunc(func(_ context.Context, r *siteagent.APIKeyRotation) (siteagent.APIKey, error) {
		return siteagent.APIKey{ClientID: "gw-9-2", Secret: "fresh"}, nil
	})
	start(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool {
		k, _ := f.s.APIKey(key)
		return k.State == waldur.ResourceAPIKeyStateOK
	}))
	k, _ := f.s.APIKey(key)
	assert.Equal(t, "gw-9-2", k.ClientID, "a new client id is reported with the key")
}
