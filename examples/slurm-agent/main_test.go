package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/internal/testenv"
)

// TestDemo runs the program as its README does, against the local Slurm.
func TestDemo(t *testing.T) {
	testenv.Slurm(t)
	var out bytes.Buffer
	opt := options{config: "waldur-site-agent-config.yaml", fake: true, user: "slurmtest1"}
	require.NoError(t, run(context.Background(), opt, &out))
	for _, want := range []string{
		"component cpu (limit, CPU-minutes) published",
		"order done; Slurm account demo_alloc-",
		"GrpTRESMins map[cpu:600 mem:6144000]",
		"project member slurmtest1 added to demo_alloc-",
		"usage reported to Waldur: cpu 0.",
		"GrpTRESMins map[cpu:1200 mem:6144000]",
		"removed: true",
	} {
		assert.Contains(t, out.String(), want)
	}
}

func TestLoadWarnsByName(t *testing.T) {
	specs, err := load("waldur-site-agent-config.yaml", nil)
	require.NoError(t, err)
	require.Len(t, specs, 1)
	assert.NotNil(t, specs[0].cfg.Orders)
	assert.NotNil(t, specs[0].cfg.Usage)
	assert.Nil(t, specs[0].cfg.PeriodicLimits, "periodic_limits.enabled is false")
}
