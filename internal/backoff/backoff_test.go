package backoff_test

import (
	"context"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gsv-platform/waldur-agent-go/internal/backoff"
	"github.com/gsv-platform/waldur-agent-go/internal/backoff/backofftest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func fixed(v float64) func() float64 { return func() float64 { return v } }

func TestPolicyDelay(t *testing.T) {
	tests := []struct {
		name    string
		policy  backoff.Policy
		attempt int
		want    time.Duration
	}{
		{"zero policy, no jitter draw", backoff.Policy{Rand: fixed(0)}, 0, backoff.DefaultInitial},
		{"zero policy doubles", backoff.Policy{Rand: fixed(0)}, 3, 8 * time.Second},
		{"zero policy caps at DefaultMax", backoff.Policy{Rand: fixed(0)}, 30, backoff.DefaultMax},
		{"negative attempt is attempt 0", backoff.Policy{Initial: time.Second, Jitter: backoff.NoJitter}, -5, time.Second},
		{"multiplier", backoff.Policy{Initial: 100 * time.Millisecond, Multiplier: 3, Jitter: backoff.NoJitter}, 2, 900 * time.Millisecond},
		{"multiplier below 1 is constant", backoff.Policy{Initial: time.Second, Multiplier: 0.5, Jitter: backoff.NoJitter}, 5, time.Second},
		{"cap", backoff.Policy{Initial: time.Second, Max: 5 * time.Second, Jitter: backoff.NoJitter}, 10, 5 * time.Second},
		{"max below initial caps initial", backoff.Policy{Initial: 10 * time.Second, Max: 2 * time.Second, Jitter: backoff.NoJitter}, 0, 2 * time.Second},
		{"huge attempt does not overflow", backoff.Policy{Initial: time.Second, Max: time.Hour, Jitter: backoff.NoJitter}, math.MaxInt, time.Hour},
		{"jitter shortens by fraction", backoff.Policy{Initial: time.Second, Jitter: 0.5, Rand: fixed(0.5)}, 0, 750 * time.Millisecond},
		{"draw scales the shortening", backoff.Policy{Initial: time.Second, Jitter: 0.2, Rand: fixed(0.75)}, 0, 850 * time.Millisecond},
		{"default jitter is 20%", backoff.Policy{Initial: time.Second, Rand: fixed(0.5)}, 0, 900 * time.Millisecond},
		{"jitter above 1 is 1", backoff.Policy{Initial: time.Second, Jitter: 7, Rand: fixed(0.5)}, 0, 500 * time.Millisecond},
		{"bad rand values are clamped", backoff.Policy{Initial: time.Second, Jitter: 0.5, Rand: fixed(42)}, 0, 500 * time.Millisecond},
		{"NaN rand counts as 0", backoff.Policy{Initial: time.Second, Jitter: 0.5, Rand: fixed(math.NaN())}, 0, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			assert.Equal(t, tt.want, tt.policy.Delay(tt.attempt))
		})
	}
}

func TestPolicyDelayStaysWithinBounds(t *testing.T) {
	p := backoff.Policy{Initial: 10 * time.Millisecond, Max: time.Second, Jitter: 0.3}
	for attempt := 0; attempt < 40; attempt++ {
		for range 50 {
			d := p.Delay(attempt)
			full := backoff.Policy{Initial: p.Initial, Max: p.Max, Jitter: backoff.NoJitter}.Delay(attempt)
			require.LessOrEqual(t, d, full, "attempt %d", attempt)
			require.GreaterOrEqual(t, d, time.Duration(float64(full)*0.7)-1, "attempt %d", attempt)
			require.LessOrEqual(t, d, p.Max)
		}
	}
}

func TestSequence(t *testing.T) {
	s := backoff.Sequence{Policy: backoff.Policy{Initial: time.Second, Max: 4 * time.Second, Jitter: backoff.NoJitter}}
	got := []time.Duration{s.Next(), s.Next(), s.Next(), s.Next()}
	assert.Equal(t, []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 4 * time.Second}, got)
	assert.Equal(t, 4, s.Attempt())
	s.Reset()
	assert.Equal(t, 0, s.Attempt())
	assert.Equal(t, time.Second, s.Next())
}

func TestWait(t *testing.T) {
	t.Run("full delay on the clock", func(t *testing.T) {
		clk := backofftest.NewClock(time.Unix(0, 0))
		done := make(chan error, 1)
		go func() { done <- backoff.Wait(context.Background(), clk, 3*time.Second) }()
		require.NoError(t, clk.WaitTimers(context.Background(), 1))
		assert.Equal(t, []time.Duration{3 * time.Second}, clk.Pending())
		clk.Advance(2 * time.Second)
		select {
		case err := <-done:
			t.Fatalf("returned before the delay passed: %v", err)
		default:
		}
		clk.Advance(time.Second)
		assert.NoError(t, <-done)
		assert.Empty(t, clk.Pending())
	})
	t.Run("cancel stops the timer", func(t *testing.T) {
		clk := backofftest.NewClock(time.Unix(0, 0))
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan error, 1)
		go func() { done <- backoff.Wait(ctx, clk, time.Hour) }()
		require.NoError(t, clk.WaitTimers(context.Background(), 1))
		cancel()
		assert.ErrorIs(t, <-done, context.Canceled)
		assert.Empty(t, clk.Pending(), "timer left behind")
	})
	t.Run("done ctx wins even for zero delay", func(t *testing.T) {
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		assert.ErrorIs(t, backoff.Wait(ctx, nil, 0), context.Canceled)
	})
	t.Run("zero delay returns at once", func(t *testing.T) {
		assert.NoError(t, backoff.Wait(context.Background(), nil, 0))
	})
	t.Run("real clock", func(t *testing.T) {
		assert.NoError(t, backoff.Wait(context.Background(), nil, time.Microsecond))
	})
}

func BenchmarkDelay(b *testing.B) {
	p := backoff.Policy{Initial: 10 * time.Millisecond, Max: time.Minute}
	for i := 0; b.Loop(); i++ {
		_ = p.Delay(i % 20)
	}
}
