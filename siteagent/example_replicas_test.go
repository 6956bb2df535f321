package siteagent_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// A replica of an agent run in several copies for high availability: the
// same Config everywhere but for Replicas.ID, stable per replica (the host
// or pod name). It heartbeats as its own processor, and claims each order
// through a lease before the processor runs.
func ExampleReplicaConfig() {
	s := waldurtest.New()
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{Name: "Volumes"})
	order := s.AddOrder(waldurtest.OrderSpec{Offering: offering})

	cfg := siteagent.Config{
		OfferingUUID: offering.String(),
		Orders: siteagent.OrderTypes{
			Create: siteagent.OrderProcessorFunc(func(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
				return siteagent.Result{BackendID: "vol-1"}, nil
			}),
		},
		// Each claim waits Settle: allow for enough orders in flight.
		Concurrency: 64,
		Replicas:    siteagent.ReplicaConfig{ID: "agent-0", Settle: 100 * time.Millisecond},
	}
	runAgent(s, cfg, func() bool {
		o, _ := s.Order(order)
		return o.State == waldur.OrderStateDone
	})
	for _, p := range s.Processors() {
		fmt.Println(p.Name)
	}
	// Output:
	// OrderTypes@agent-0
}
