package main

import (
	"context"
	"fmt"
	"sync"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
)

// volumes is the demo's backend: storage volumes kept in memory. A real
// processor would call its storage system here.
type volumes struct {
	mu   sync.Mutex
	size map[string]int64 // volume id → size in GB
}

func newVolumes() *volumes { return &volumes{size: make(map[string]int64)} }

// create makes a volume for a Create order. It is idempotent: the volume id
// derives from the Waldur resource, so a retried order finds its volume.
func (v *volumes) create(_ context.Context, o *siteagent.Order) (siteagent.Result, error) {
	id := "vol-" + o.ResourceUUID.String()[:8]
	size := o.Limits["storage"]
	if size > 10_000 {
		return siteagent.Result{}, siteagent.Permanentf("%d GB is more than one volume holds", size)
	}
	v.mu.Lock()
	v.size[id] = size
	v.mu.Unlock()
	return siteagent.Result{
		BackendID: id,
		Endpoints: []siteagent.Endpoint{{Name: "NFS export", URL: fmt.Sprintf("nfs://filer.example.org/%s", id)}},
	}, nil
}

// resize applies an Update order's new limits.
func (v *volumes) resize(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
	r, err := o.Resource(ctx)
	if err != nil {
		return siteagent.Result{}, err
	}
	v.mu.Lock()
	v.size[r.BackendID] = o.Limits["storage"]
	v.mu.Unlock()
	return siteagent.Result{}, nil
}

// remove deletes the volume of a Terminate order; removing a missing volume
// succeeds, so a retry is harmless.
func (v *volumes) remove(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
	r, err := o.Resource(ctx)
	if err != nil {
		return siteagent.Result{}, err
	}
	v.mu.Lock()
	delete(v.size, r.BackendID)
	v.mu.Unlock()
	return siteagent.Result{}, nil
}
