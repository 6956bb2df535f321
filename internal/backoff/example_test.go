package backoff_test

import (
	"fmt"
	"time"

	"github.com/gsv-platform/waldur-agent-go/internal/backoff"
)

func ExamplePolicy_Delay() {
	p := backoff.Policy{Initial: 500 * time.Millisecond, Max: 5 * time.Second, Jitter: backoff.NoJitter}
	for attempt := range 6 {
		fmt.Println(attempt, p.Delay(attempt))
	}
	// Output:
	// 0 500ms
	// 1 1s
	// 2 2s
	// 3 4s
	// 4 5s
	// 5 5s
}
