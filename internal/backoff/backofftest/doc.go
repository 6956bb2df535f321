// Package backofftest provides a fake [backoff.Clock] for tests that must
// not sleep.
//
// Code under test creates timers on the fake clock; the test waits until the
// expected timers exist, inspects their delays, and moves time forward:
//
//	clk := backofftest.NewClock(time.Unix(0, 0))
//	go supervisor.Run(ctx, clk)                 // waits on clk.NewTimer(...)
//	require.NoError(t, clk.WaitTimers(ctx, 1))  // the supervisor is waiting
//	t.Log(clk.Pending())                        // e.g. [500ms]
//	clk.Advance(500 * time.Millisecond)         // fires it
package backofftest
