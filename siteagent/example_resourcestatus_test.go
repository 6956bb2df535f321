package siteagent_test

import (
	"context"
	"fmt"
	"sync"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// quotas is a storage backend: it reports each volume's state and quota, and
// can freeze (pause) and thaw (restore) volumes.
type quotas struct {
	mu     sync.Mutex
	frozen map[string]bool
	quota  map[string]int64 // TB
}

func (q *quotas) BackendStatus(_ context.Context, r *waldur.Resource) (siteagent.BackendStatus, error) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return siteagent.BackendStatus{
		Paused:   q.frozen[r.BackendID],
		Limits:   map[string]int64{"storage": q.quota[r.BackendID]},
		Metadata: map[string]any{"pool": "fast"},
	}, nil
}

func (q *quotas) PauseResource(_ context.Context, r *waldur.Resource) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.frozen[r.BackendID] = true
	return nil
}

func (q *quotas) RestoreResource(_ context.Context, r *waldur.Resource) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.frozen[r.BackendID] = false
	return nil
}

func (q *quotas) isFrozen(id string) bool {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.frozen[id]
}

// Waldur marks a volume paused (the project ran out of credit); the agent
// freezes it on the backend. The backend's quota, raised by an operator,
// flows back to Waldur's limits, and its metadata to the resource.
func ExampleResourceStatusProcessor() {
	s := waldurtest.New()
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{{Type: "storage", BillingType: "limit"}}})
	vol := s.AddResource(waldurtest.ResourceSpec{Offering: offering, BackendID: "vol-7",
		Limits: map[string]int64{"storage": 10}, Paused: true})
	q := &quotas{frozen: map[string]bool{}, quota: map[string]int64{"vol-7": 12}}

	runAgent(s, siteagent.Config{OfferingUUID: offering.String(), ResourceStatus: q}, func() bool {
		r, _ := s.Resource(vol)
		return q.isFrozen("vol-7") && r.Limits["storage"] == 12 && r.BackendMetadata["pool"] == "fast"
	})
	r, _ := s.Resource(vol)
	fmt.Println("frozen:", q.isFrozen("vol-7"))
	fmt.Println("limits:", r.Limits, "metadata:", r.BackendMetadata)
	// Output:
	// frozen: true
	// limits: map[storage:12] metadata: map[pool:fast]
}
