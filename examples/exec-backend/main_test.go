package main

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// TestExecBackendPassesTheQuickstartScenario runs the quickstart's orders
// through the shell-script backend and checks what Waldur and the volumes
// end up with.
func TestExecBackendPassesTheQuickstartScenario(t *testing.T) {
	volumes := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(volumes, "vol-archive"), []byte("500\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(volumes, "vol-scratch"), []byte("10\n"), 0o644))
	fake, offering, orders := demo()
	defer fake.Close()
	require.NoError(t, run(context.Background(), "agent.yaml", fake, offering, volumes, orders))

	type outcome struct {
		State     waldur.OrderState
		BackendID string
		Error     string
	}
	got := map[string]outcome{}
	for _, id := range orders {
		o, _ := fake.Order(id)
		r, _ := fake.Resource(o.MarketplaceResourceUUID)
		got[o.ResourceName] = outcome{o.State, r.BackendID, o.ErrorMessage}
	}
	results, inputs := got["results"].BackendID, got["inputs"].BackendID
	assert.Equal(t, map[string]outcome{
		"results":      {waldur.OrderStateDone, results, ""},
		"inputs":       {waldur.OrderStateDone, inputs, ""},
		"everything":   {waldur.OrderStateErred, "", "50000 GB is more than one volume holds"},
		"archive":      {waldur.OrderStateDone, "vol-archive", ""},
		"scratch-2025": {waldur.OrderStateDone, "vol-scratch", ""},
	}, got)

	size := func(id string) string {
		b, err := os.ReadFile(filepath.Join(volumes, id))
		if err != nil {
			return "missing"
		}
		return string(b)
	}
	assert.Regexp(t, `^vol-[0-9a-f]{8}$`, results)
	assert.Equal(t, "100\n", size(results))
	assert.Equal(t, "250\n", size(inputs))
	assert.Equal(t, "800\n", size("vol-archive"), "resized")
	assert.Equal(t, "missing", size("vol-scratch"), "removed")
	for _, id := range orders {
		o, _ := fake.Order(id)
		if o.ResourceName == "results" {
			r, _ := fake.Resource(o.MarketplaceResourceUUID)
			require.Len(t, r.Endpoints, 1)
			assert.Equal(t, "nfs://filer.example.org/"+results, r.Endpoints[0].URL)
		}
	}
}
