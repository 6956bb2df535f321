package siteagent_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// cluster is a backend that can pause, downscale and restore allocations.
type cluster struct {
	mu      sync.Mutex
	state   map[waldur.UUID]*siteagent.BackendStatus
	actions []string
}

func (c *cluster) get(r waldur.UUID) *siteagent.BackendStatus {
	if c.state == nil {
		c.state = make(map[waldur.UUID]*siteagent.BackendStatus)
	}
	if c.state[r] == nil {
		c.state[r] = &siteagent.BackendStatus{}
	}
	return c.state[r]
}

func (c *cluster) BackendStatus(_ context.Context, r *waldur.Resource) (siteagent.BackendStatus, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return *c.get(r.UUID), nil
}

func (c *cluster) PauseResource(_ context.Context, r *waldur.Resource) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.get(r.UUID).Paused = true
	c.actions = append(c.actions, "pause "+r.Name)
	return nil
}

func (c *cluster) DownscaleResource(_ context.Context, r *waldur.Resource) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.get(r.UUID).Downscaled = true
	c.actions = append(c.actions, "downscale "+r.Name)
	return nil
}

func (c *cluster) RestoreResource(_ context.Context, r *waldur.Resource) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	st := c.get(r.UUID)
	st.Paused, st.Downscaled = false, false
	c.actions = append(c.actions, "restore "+r.Name)
	return nil
}

func (c *cluster) done() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.actions...)
}

func TestResourceStatusFollowsWaldurFlags(t *testing.T) {
	f := newSyncFixture(t, waldurtest.OfferingSpec{})
	res := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Name: "alloc", BackendID: "hpc-1"})
	f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Name: "frozen", Paused: true})
	c := &cluster{}
	src := newChanSource()
	cfg := f.config()
	cfg.ResourceStatus = c
	cfg.SyncInterval = time.Hour
	cfg.Events = siteagent.EventsConfig{Source: src}
	a := start(t, cfg)
	<-src.ready

	// The first pass finds a resource Waldur says is paused and the backend
	// runs: it is paused.
	waitUntil(t, f.s, "first pass", func() bool { return len(c.done()) == 1 })
	assert.Equal(t, []string{"pause frozen"}, c.done())
	seen := len(f.s.Events())

	set := func(ch waldurtest.ResourceChange) {
		f.s.ChangeResource(res, ch)
		seen = forward(t, f.s, src, seen)
	}
	yes, no := true, false
	set(waldurtest.ResourceChange{Paused: &yes})
	set(waldurtest.ResourceChange{Downscaled: &yes})
	set(waldurtest.ResourceChange{Paused: &no})
	set(waldurtest.ResourceChange{Downscaled: &no})
	assert.Equal(t, []string{"pause frozen", "pause alloc", "downscale alloc", "restore alloc", "downscale alloc", "restore alloc"}, c.done(),
		"unpausing a downscaled resource restores it and downscales it again")

	// A resource event that changes nothing the backend lacks costs no action.
	set(waldurtest.ResourceChange{RestrictMemberAccess: &yes})
	assert.Len(t, c.done(), 6)

	st := a.Stats()
	assert.Equal(t, int64(2), st.ResourcesPaused)
	assert.Equal(t, int64(2), st.ResourcesDownscaled)
	assert.Equal(t, int64(2), st.ResourcesRestored)
	assert.Zero(t, st.ResourceLimitsSet, "limits not reported: nothing to write")
}

func TestResourceStatusReportsLimitsAndMetadataWhenTheyDiffer(t *testing.T) {
	f := newSyncFixture(t, waldurtest.OfferingSpec{})
	res := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Limits: map[string]int64{"cpu": 100},
		BackendMetadata: map[string]any{"partition": "cpu", "nodes": 4}})
	same := f.s.AddResource(waldurtest.ResourceSpec{Offering: f.offering, Limits: map[string]int64{"cpu": 10},
		BackendMetadata: map[string]any{"partition": "cpu", "nodes": 1}})
	var mu sync.Mutex
	calls := 0
	p := siteagent.ResourceStatusProcessorFunc(func(_ context.Context, r *waldur.Resource) (siteagent.BackendStatus, error) {
		mu.Lock()
		calls++
		mu.Unlock()
		if r.UUID == same {
			return siteagent.BackendStatus{Limits: map[string]int64{"cpu": 10}, Metadata: map[string]any{"nodes": 1, "partition": "cpu"}}, nil
		}
		// The backend grants more than ordered (a site policy) and sits on
		// another partition; it is paused too, but this processor cannot
		// restore, so that is left alone.
		return siteagent.BackendStatus{Paused: true, Limits: map[string]int64{"cpu": 120, "ram": 64},
			Metadata: map[string]any{"partition": "gpu", "nodes": 4}}, nil
	})
	cfg := f.config()
	cfg.ResourceStatus = p
	a := start(t, cfg)
	waitUntil(t, f.s, "three passes", func() bool {
		mu.Lock()
		defer mu.Unlock()
		return calls >= 6
	})
	r, _ := f.s.Resource(res)
	assert.Equal(t, map[string]int64{"cpu": 120, "ram": 64}, r.Limits)
	assert.Equal(t, map[string]any{"partition": "gpu", "nodes": float64(4)}, r.BackendMetadata)
	assert.Equal(t, 1, f.s.CallCount("marketplace_provider_resources_set_limits"), "written once, then equal")
	assert.Equal(t, 1, f.s.CallCount("marketplace_provider_resources_set_backend_metadata"))
	st := a.Stats()
	assert.Equal(t, int64(1), st.ResourceLimitsSet)
	assert.Equal(t, int64(1), st.ResourceMetadataSet)
	assert.Zero(t, st.ResourcesRestored)
	for _, c := range f.s.Calls() {
		if c.OperationID == "marketplace_provider_resources_set_limits" {
			require.NotContains(t, c.Path, waldur.Hex(same))
			require.NotContains(t, c.Path, same.String())
		}
	}
}
