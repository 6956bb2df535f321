package backoff

import (
	"context"
	"time"
)

// Clock tells the time and makes timers. Code that waits takes a Clock so that
// tests can replace real time with a fake one (package backofftest) and never
// sleep. Nil Clock arguments mean the real clock.
type Clock interface {
	Now() time.Time
	NewTimer(d time.Duration) Timer
}

// Timer is the part of *time.Timer that waiting code needs.
type Timer interface {
	// C delivers the time once the timer fires.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it stopped it.
	Stop() bool
}

// RealClock is the Clock backed by package time.
type RealClock struct{}

// Now returns time.Now().
func (RealClock) Now() time.Time { return time.Now() }

// NewTimer returns a time.Timer as a Timer.
func (RealClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// Or returns c, or RealClock when c is nil.
func Or(c Clock) Clock {
	if c == nil {
		return RealClock{}
	}
	return c
}

// Wait blocks for d on clk (nil means the real clock) or until ctx is done,
// whichever comes first. It returns nil after the full delay and ctx.Err()
// otherwise. A non-positive d returns at once, still reporting a done ctx, so a
// retry loop never runs another attempt after cancellation.
func Wait(ctx context.Context, clk Clock, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := Or(clk).NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C():
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
