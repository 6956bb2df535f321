// Package backoff computes jittered, capped exponential delays and waits them
// out without ignoring a context.
//
// A [Policy] turns an attempt number into a delay: Initial, Initial×Multiplier,
// Initial×Multiplier², … capped at Max, each shortened by a random fraction of
// up to Jitter so that many clients that failed together do not retry together.
// The zero Policy is usable and has documented defaults. [Wait] sleeps for a
// delay on a [Clock] and returns early when the context is done; tests pass a
// fake clock (package backofftest) instead of sleeping.
//
//	p := backoff.Policy{Initial: 100 * time.Millisecond, Max: 10 * time.Second}
//	for attempt := 0; ; attempt++ {
//		if err := try(ctx); err == nil {
//			break
//		}
//		if err := backoff.Wait(ctx, nil, p.Delay(attempt)); err != nil {
//			return err // ctx is done
//		}
//	}
//
// The package serves every retry loop of the module: broker reconnects, delayed
// requeues of failed messages and the agent's own retries.
package backoff
