package main

import (
	"bytes"
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDemo runs the program as `go run` does with no environment.
func TestDemo(t *testing.T) {
	var out bytes.Buffer
	noEnv := func(string) string { return "" }

	require.NoError(t, run(context.Background(), options{root: t.TempDir(), maxQuotaGB: 10_000}, noEnv, &out))

	for _, want := range []string{
		"→ rejected  a space holds at most 10000 GB, not 50000 GB",
		"→ erred     cannot shrink to 1 GB: the space holds 2.00 GB",
		"removed",
		"alice01, bob01 (carol has no offering username)",
		"storage 2.00 GB (alice01 1.50, bob01 0.25)",
		"quota 250 GB, used 2.00 GB, members alice01, bob01",
	} {
		assert.Contains(t, out.String(), want)
	}
}
