package main

import (
	"context"
	"io"
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// TestQuickstartProcessesTheDemoOrders runs the example's agent against the
// fake the way the demo does and checks every order's outcome.
func TestQuickstartProcessesTheDemoOrders(t *testing.T) {
	stdout := os.Stdout
	r, w, err := os.Pipe()
	require.NoError(t, err)
	os.Stdout = w
	drained := make(chan struct{})
	go func() { _, _ = io.Copy(io.Discard, r); close(drained) }()
	defer func() { os.Stdout = stdout; w.Close(); <-drained }()

	ctx, env, done := startDemo(context.Background(), false)
	require.NoError(t, run(ctx, env))
	c, err := waldur.NewClient(env.url, waldur.WithToken(env.token))
	require.NoError(t, err)
	states := map[string]waldur.OrderState{}
	for o, err := range c.Orders.List(context.Background(), waldur.ListOrdersOptions{}) {
		require.NoError(t, err)
		states[o.ResourceName] = o.State
	}
	done()
	assert.Equal(t, map[string]waldur.OrderState{
		"results": waldur.OrderStateDone, "inputs": waldur.OrderStateDone, "everything": waldur.OrderStateErred,
		"archive": waldur.OrderStateDone, "scratch-2025": waldur.OrderStateDone,
	}, states)
}
