package broker_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gsv-platform/waldur-agent-go/internal/broker"
)

// A handler's error decides what happens to the message: Reject for input no
// retry can fix, a plain error for a retry after a delay, nil to acknowledge.
func ExampleReject() {
	handle := func(_ context.Context, m broker.Message) error {
		var ev struct {
			ObjectType string `json:"object_type"`
		}
		if err := json.Unmarshal(m.Body, &ev); err != nil {
			return broker.Reject(fmt.Errorf("decode event %s: %w", m.MessageID, err))
		}
		if ev.ObjectType == "" {
			return broker.Reject(errors.New("event without object_type"))
		}
		return nil
	}
	for _, body := range []string{`{"object_type":"order"}`, `{"object_type":`, `{}`} {
		err := handle(context.Background(), broker.Message{Body: []byte(body), MessageID: "m1"})
		fmt.Printf("%-24s reject=%t\n", body, broker.IsReject(err))
	}
	// Output:
	// {"object_type":"order"}  reject=false
	// {"object_type":          reject=true
	// {}                       reject=true
}
