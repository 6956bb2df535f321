package siteagent_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// eventAgent starts an agent fed by a chanSource that reconciles only at
// start, and returns once that pass is done.
func eventAgent(t *testing.T, f *fixture, p siteagent.OrderProcessor, ev siteagent.EventsConfig) (*siteagent.Agent, *chanSource) {
	t.Helper()
	src := newChanSource()
	cfg := f.config(p)
	cfg.ReconcileInterval = time.Hour
	ev.Source = src
	cfg.Events = ev
	a := start(t, cfg)
	<-src.ready
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	require.NoError(t, f.s.WaitFor(ctx, func() bool { return !a.Stats().LastReconcile.IsZero() }))
	return a, src
}

func TestMessageIDDeduplicationRecordsOnlySuccesses(t *testing.T) {
	f := newFixture(t)
	p := &recorder{}
	a, src := eventAgent(t, f, p, siteagent.EventsConfig{})
	id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering})
	e := orderEvent(f.offering, id, waldur.OrderStatePendingProvider)
	e.MessageID = "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12"

	f.s.FailNext("marketplace_orders_retrieve", 403, 1)
	require.Error(t, <-src.send(e), "the first delivery fails")
	require.NoError(t, <-src.send(e), "a failed message is processed again when it comes back")
	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, f.s.Transitions(id))

	f.s.ResetCalls()
	require.NoError(t, <-src.send(e))
	assert.Empty(t, f.s.Calls(), "a handled message id costs no REST call")

	other := e
	other.MessageID = "ffff0a8c2a7e4b51a1f3c6d7e8f90a12"
	require.NoError(t, <-src.send(other))
	assert.Equal(t, 1, f.s.CallCount("marketplace_orders_retrieve"), "another message id is handled")

	st := a.Stats()
	assert.Equal(t, int64(1), st.EventsDuplicate)
	assert.Equal(t, int64(3), st.EventsReceived)
	assert.Equal(t, int64(1), st.EventsFailed)
	assert.Equal(t, 1, p.count(id))
}

func TestDeduplicationCanBeTurnedOff(t *testing.T) {
	f := newFixture(t)
	a, src := eventAgent(t, f, &recorder{}, siteagent.EventsConfig{DedupWindow: -1})
	id := f.s.AddOrder(waldurtest.OrderSpec{Offering: f.offering})
	e := orderEvent(f.offering, id, waldur.OrderStatePendingProvider)
	e.MessageID = "5d0f0a8c2a7e4b51a1f3c6d7e8f90a12"
	for range 3 {
		require.NoError(t, <-src.send(e))
	}
	st := a.Stats()
	assert.Zero(t, st.EventsDuplicate)
	assert.Equal(t, int64(3), st.EventsProcessed)
}
