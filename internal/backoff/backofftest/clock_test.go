package backofftest_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gsv-platform/waldur-agent-go/internal/backoff/backofftest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestClock(t *testing.T) {
	start := time.Unix(100, 0)
	clk := backofftest.NewClock(start)
	a := clk.NewTimer(time.Second)
	b := clk.NewTimer(3 * time.Second)
	c := clk.NewTimer(2 * time.Second)
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 3 * time.Second}, clk.Pending())

	assert.True(t, c.Stop())
	assert.False(t, c.Stop(), "second Stop")
	clk.Advance(time.Second)
	assert.Equal(t, start.Add(time.Second), <-a.C())
	assert.Equal(t, []time.Duration{2 * time.Second}, clk.Pending())
	assert.False(t, a.Stop(), "Stop after firing")

	clk.Advance(5 * time.Second)
	assert.Equal(t, start.Add(6*time.Second), <-b.C())
	assert.Equal(t, start.Add(6*time.Second), clk.Now())
	select {
	case <-c.C():
		t.Fatal("stopped timer fired")
	default:
	}

	z := clk.NewTimer(0)
	assert.Equal(t, clk.Now(), <-z.C())
}

func TestWaitTimers(t *testing.T) {
	clk := backofftest.NewClock(time.Unix(0, 0))
	done := make(chan error, 1)
	go func() { done <- clk.WaitTimers(context.Background(), 2) }()
	clk.NewTimer(time.Second)
	clk.NewTimer(time.Second)
	require.NoError(t, <-done)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	assert.ErrorIs(t, clk.WaitTimers(ctx, 3), context.Canceled)
}
