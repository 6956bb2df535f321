package siteagent

import (
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Observer is told of the agent's work as it happens, for measurements that
// a Stats snapshot cannot give: how long events take and how long usage
// passes run. siteagent/agentmetrics turns them into Prometheus metrics.
// Methods are called on the agent's goroutines; they must be quick and must
// not block.
type Observer interface {
	// EventHandled reports an event from its delivery to the agent until it
	// was handled (err nil) or failed, to be delivered again.
	EventHandled(e Event, took time.Duration, err error)
	// UsagePassDone reports one usage pass over an offering's resources.
	UsagePassDone(offering waldur.UUID, took time.Duration, err error)
}

type noObserver struct{}

func (noObserver) EventHandled(Event, time.Duration, error)        {}
func (noObserver) UsagePassDone(waldur.UUID, time.Duration, error) {}
