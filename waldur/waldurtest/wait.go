package waldurtest

import (
	"context"
	"fmt"
	"time"
)

// waitPoll is how often WaitFor re-checks its condition.
const waitPoll = 2 * time.Millisecond

// WaitFor blocks until cond returns true or ctx ends, re-checking cond every
// few milliseconds. It is how a test waits for an agent running in the
// background to reach a state, without guessing a sleep:
//
//	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
//	defer cancel()
//	err := s.WaitFor(ctx, func() bool {
//		o, _ := s.Order(id)
//		return o.State == waldur.OrderStateDone
//	})
//
// cond may call the Server's accessors; it must not block.
func (s *Server) WaitFor(ctx context.Context, cond func() bool) error {
	t := time.NewTicker(waitPoll)
	defer t.Stop()
	for !cond() {
		select {
		case <-ctx.Done():
			return fmt.Errorf("waldurtest: condition not met: %w", context.Cause(ctx))
		case <-t.C:
		}
	}
	return nil
}
