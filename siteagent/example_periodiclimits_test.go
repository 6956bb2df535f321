package siteagent_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// Waldur's periodic usage policy asks for a new fairshare; the processor
// applies it and the agent reports the command to the policy.
func ExamplePeriodicLimitsProcessor() {
	s := waldurtest.New()
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{})
	res := s.AddResource(waldurtest.ResourceSpec{Offering: offering, BackendID: "hpc_alloc"})

	apply := siteagent.PeriodicLimitsProcessorFunc(func(_ context.Context, r *waldur.Resource, e *siteagent.PeriodicLimitsEvent) ([]string, error) {
		cmd := fmt.Sprintf("sacctmgr -i modify account where name=%s set fairshare=%v", r.BackendID, e.Settings["fairshare"])
		return []string{cmd}, nil // run it here
	})
	a, err := siteagent.New(siteagent.Config{WaldurURL: s.URL(), Token: s.Token(), OfferingUUID: offering.String(),
		Events: siteagent.EventsConfig{Mode: siteagent.EventsPolling}, PeriodicLimits: apply})
	if err != nil {
		fmt.Println(err)
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	stopped := make(chan error, 1)
	go func() { stopped <- a.Run(ctx) }()
	if err := s.WaitFor(ctx, a.Ready); err != nil {
		fmt.Println(err)
		return
	}

	// As the broker would deliver it.
	body := fmt.Sprintf(`{"object_type": "resource_periodic_limits", "resource_uuid": %q, "backend_id": "hpc_alloc",
		"policy_uuid": "0b5e7c3a9d1f4e2b8a6c4d2e0f1a3b5c", "action": "apply_periodic_settings",
		"settings": {"fairshare": 300}}`, waldur.Hex(res))
	e, err := siteagent.DecodeEvent([]byte(body), "")
	if err == nil {
		err = a.HandleEvent(ctx, e)
	}
	if err != nil {
		fmt.Println(err)
	}
	cancel()
	<-stopped
	for _, r := range s.PeriodicResults() {
		fmt.Println(r.Success, r.CommandsExecuted)
	}
	// Output:
	// true [sacctmgr -i modify account where name=hpc_alloc set fairshare=300]
}
