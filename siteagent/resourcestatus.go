package siteagent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"reflect"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// ResourceStatusProcessor reports how a resource stands on the backend, so the
// agent can bring the backend in line with Waldur and Waldur in line with the
// backend. Setting it in Config.ResourceStatus makes the agent, for every OK
// or Erred resource of the offering (on each resource event and every
// SyncInterval):
//
//   - compare Waldur's paused and downscaled flags with the backend's and call
//     the optional ResourcePauser, ResourceDownscaler and ResourceRestorer
//     methods of the processor where they differ: Restore first when the
//     backend is paused or downscaled but Waldur no longer asks for it, then
//     Pause and Downscale for what Waldur asks and the backend lacks;
//   - report BackendStatus.Limits with set_limits when they differ from the
//     resource's limits in Waldur;
//   - report BackendStatus.Metadata with set_backend_metadata when it differs
//     from the resource's backend metadata in Waldur.
//
// Nil Limits or Metadata are not reported. A returned error is logged and the
// resource is looked at again on the next pass (or event redelivery); nothing
// is marked erred in Waldur.
type ResourceStatusProcessor interface {
	BackendStatus(ctx context.Context, r *waldur.Resource) (BackendStatus, error)
}

// ResourceStatusProcessorFunc adapts a function to ResourceStatusProcessor.
type ResourceStatusProcessorFunc func(ctx context.Context, r *waldur.Resource) (BackendStatus, error)

// BackendStatus calls f.
func (f ResourceStatusProcessorFunc) BackendStatus(ctx context.Context, r *waldur.Resource) (BackendStatus, error) {
	return f(ctx, r)
}

// BackendStatus is a resource as the backend has it.
type BackendStatus struct {
	// Paused and Downscaled are the backend's state of the resource.
	Paused     bool
	Downscaled bool
	// Limits are the limits the backend enforces, by component type; nil
	// means "not reported".
	Limits map[string]int64
	// Metadata are free-form facts about the backend object; nil means "not
	// reported".
	Metadata map[string]any
}

// ResourcePauser is an optional interface of a ResourceStatusProcessor: it
// pauses a resource (stops its use, keeps its data) when Waldur marks it
// paused and the backend reports it is not.
type ResourcePauser interface {
	PauseResource(ctx context.Context, r *waldur.Resource) error
}

// ResourceDownscaler is an optional interface of a ResourceStatusProcessor: it
// downscales a resource (reduces it to a minimal allowance) when Waldur marks
// it downscaled and the backend reports it is not.
type ResourceDownscaler interface {
	DownscaleResource(ctx context.Context, r *waldur.Resource) error
}

// ResourceRestorer is an optional interface of a ResourceStatusProcessor: it
// returns a paused or downscaled resource to normal operation when Waldur no
// longer asks for either. The agent then pauses or downscales again whatever
// Waldur still asks for.
type ResourceRestorer interface {
	RestoreResource(ctx context.Context, r *waldur.Resource) error
}

// resourceStatusWork is the capability that keeps resource status in step.
type resourceStatusWork struct {
	a *Agent
	p ResourceStatusProcessor
}

func (w *resourceStatusWork) registration() registration {
	return registration{service: serviceMembership, processors: []ProcessorInfo{describe(w.p)}}
}

func (w *resourceStatusWork) objectTypes() []waldur.ObservableObjectType {
	return []waldur.ObservableObjectType{
		waldur.ObservableObjectTypeResource,
		waldur.ObservableObjectTypeOfferingResourcesSync,
	}
}

func (w *resourceStatusWork) interval() time.Duration { return w.a.cfg.SyncInterval }

func statusKey(id waldur.UUID) string { return "resource-status:" + waldur.Hex(id) }

func (w *resourceStatusWork) handleEvent(ctx context.Context, e Event) error {
	switch p := e.Payload.(type) {
	case *ResourceEvent:
		return w.a.doWork(ctx, statusKey(p.ResourceUUID), func(ctx context.Context) error {
			r, err := w.a.readResource(ctx, p.ResourceUUID)
			if err != nil || r == nil {
				return err
			}
			return w.syncCounted(ctx, r)
		})
	case *OfferingSyncEvent:
		return w.a.passEvent(ctx, e, func(runCtx, workCtx context.Context, off *offering) error {
			return w.pass(runCtx, workCtx, off)
		})
	}
	return nil
}

func (w *resourceStatusWork) reconcile(runCtx, workCtx context.Context) {
	for _, off := range w.a.passOfferings() {
		if err := w.pass(runCtx, workCtx, off); err != nil && runCtx.Err() == nil {
			w.a.noteError(err)
			w.a.log.Warn("siteagent: resource status pass failed", "offering", off.id, "error", err)
		}
	}
}

// pass checks every live resource of one offering.
func (w *resourceStatusWork) pass(runCtx, workCtx context.Context, off *offering) error {
	b := w.a.newBatch(runCtx, workCtx)
	err := w.a.eachLiveResource(runCtx, off, waldur.UUID{}, func(r *waldur.Resource) bool {
		return b.submit(statusKey(r.UUID), func(ctx context.Context) error { return w.syncCounted(ctx, r) })
	})
	b.wait()
	return err
}

func (w *resourceStatusWork) syncCounted(ctx context.Context, r *waldur.Resource) error {
	err := w.sync(ctx, r)
	if err == nil {
		w.a.refreshLastSync(ctx, r)
	}
	if err != nil {
		w.a.counters.resourceStatusFailed.Add(1)
		w.a.noteError(err)
		w.a.log.Warn("siteagent: resource status sync failed", "resource", r.UUID, "error", err)
		if IsPermanent(err) {
			return nil // retrying cannot help; the next pass asks again
		}
	}
	return err
}

// sync brings one resource's status in line. The status is read once, before
// any action: what an action changes shows on the next pass.
func (w *resourceStatusWork) sync(ctx context.Context, r *waldur.Resource) error {
	a := w.a
	if !isLive(r.State) {
		return nil
	}
	st, err := callUser(ctx, a.cfg.ProcessorTimeout, func(ctx context.Context) (BackendStatus, error) {
		return w.p.BackendStatus(ctx, r)
	})
	if err != nil {
		return fmt.Errorf("siteagent: read backend status of resource %s: %w", r.UUID, err)
	}
	paused, downscaled := st.Paused, st.Downscaled
	if (paused && !r.Paused) || (downscaled && !r.Downscaled) {
		if rs, ok := w.p.(ResourceRestorer); ok {
			if err := w.act(ctx, r, "restore", rs.RestoreResource); err != nil {
				return err
			}
			a.counters.resourcesRestored.Add(1)
			paused, downscaled = false, false
		}
	}
	if r.Paused && !paused {
		if pz, ok := w.p.(ResourcePauser); ok {
			if err := w.act(ctx, r, "pause", pz.PauseResource); err != nil {
				return err
			}
			a.counters.resourcesPaused.Add(1)
		}
	}
	if r.Downscaled && !downscaled {
		if ds, ok := w.p.(ResourceDownscaler); ok {
			if err := w.act(ctx, r, "downscale", ds.DownscaleResource); err != nil {
				return err
			}
			a.counters.resourcesDownscaled.Add(1)
		}
	}
	rctx := waldur.WithRetrySafe(ctx)
	if st.Limits != nil && !maps.Equal(st.Limits, r.Limits) {
		if err := a.client.Resources.SetLimits(rctx, r.UUID, st.Limits); err != nil {
			return fmt.Errorf("siteagent: set limits of resource %s: %w", r.UUID, err)
		}
		a.counters.resourceLimitsSet.Add(1)
		a.log.Info("siteagent: backend limits reported", "resource", r.UUID, "limits", st.Limits)
	}
	if st.Metadata != nil && !sameJSON(st.Metadata, r.BackendMetadata) {
		if err := a.client.Resources.SetBackendMetadata(rctx, r.UUID, st.Metadata); err != nil {
			return fmt.Errorf("siteagent: set backend metadata of resource %s: %w", r.UUID, err)
		}
		a.counters.resourceMetadataSet.Add(1)
		a.log.Debug("siteagent: backend metadata reported", "resource", r.UUID)
	}
	return nil
}

func (w *resourceStatusWork) act(ctx context.Context, r *waldur.Resource, what string, fn func(context.Context, *waldur.Resource) error) error {
	_, err := callUser(ctx, w.a.cfg.ProcessorTimeout, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, fn(ctx, r)
	})
	if err != nil {
		return fmt.Errorf("siteagent: %s resource %s: %w", what, r.UUID, err)
	}
	w.a.log.Info("siteagent: resource "+what+"d on the backend", "resource", r.UUID, "backend_id", r.BackendID)
	return nil
}

// sameJSON reports whether a and b are equal as JSON: Waldur's copy was
// decoded from JSON (numbers are float64), the processor's was not.
func sameJSON(a, b map[string]any) bool {
	if len(a) == 0 && len(b) == 0 {
		return true
	}
	na, erra := normalJSON(a)
	nb, errb := normalJSON(b)
	return erra == nil && errb == nil && reflect.DeepEqual(na, nb)
}

func normalJSON(m map[string]any) (any, error) {
	raw, err := json.Marshal(m)
	if err != nil {
		return nil, err
	}
	var v any
	err = json.Unmarshal(raw, &v)
	return v, err
}

// The rest of this file is shared by the capabilities that work on resources:
// membership, resource status and usage.

// lastSyncRefreshAge is how old a resource's last_sync may be before a
// successful sync refreshes it. Waldur's resync pushes the resource event for
// up to 50 resources whose last_sync is more than an hour old, every 10
// minutes, until the agent calls refresh_last_sync; refreshing at half that
// age keeps resources out of the resync without a call per resource and pass.
const lastSyncRefreshAge = 30 * time.Minute

// refreshLastSync tells Waldur that r was synced, when its last_sync is old
// enough to matter. A failure is logged; the next sync tries again.
func (a *Agent) refreshLastSync(ctx context.Context, r *waldur.Resource) {
	if a.cfg.Now().Sub(r.LastSync) < lastSyncRefreshAge {
		return
	}
	if err := a.client.Resources.RefreshLastSync(waldur.WithRetrySafe(ctx), r.UUID); err != nil {
		if ctx.Err() == nil {
			a.noteError(err)
			a.log.Warn("siteagent: refresh last sync failed", "resource", r.UUID, "error", err)
		}
		return
	}
	a.counters.resourcesSynced.Add(1)
}

// serviceMembership is the Waldur agent service of membership, offering users
// and resource status, named like the reference agent's mode.
const serviceMembership = "membership_sync"

// liveStates are the resource states the agent keeps in sync, as the
// reference agent does: resources being created, updated or terminated belong
// to their orders.
var liveStates = []waldur.ResourceState{waldur.ResourceStateOK, waldur.ResourceStateErred}

func isLive(s waldur.ResourceState) bool {
	return s == waldur.ResourceStateOK || s == waldur.ResourceStateErred
}

// readResource reads a resource for an event. It returns nil (and no error)
// for a resource that is gone, invisible, of an offering this agent does not
// serve, or not live.
func (a *Agent) readResource(ctx context.Context, id waldur.UUID) (*waldur.Resource, error) {
	if id == (waldur.UUID{}) {
		return nil, nil
	}
	r, err := a.client.Resources.Get(ctx, id)
	if err != nil {
		if waldur.IsNotFound(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("siteagent: read resource %s: %w", id, err)
	}
	if a.byID[r.OfferingUUID] == nil || !isLive(r.State) {
		return nil, nil
	}
	return r, nil
}

// eachLiveResource calls fn with every OK or Erred resource of an offering,
// of one project when project is not zero, paging at the client's page size,
// until fn returns false. It returns the listing's error.
func (a *Agent) eachLiveResource(ctx context.Context, off *offering, project waldur.UUID, fn func(r *waldur.Resource) bool) error {
	opts := waldur.ListResourcesOptions{OfferingUUID: off.id, ProjectUUID: project, States: liveStates}
	for r, err := range a.client.Resources.List(ctx, opts) {
		if err != nil {
			return fmt.Errorf("siteagent: list resources of offering %s: %w", off.id, err)
		}
		if !fn(&r) {
			return nil
		}
	}
	return nil
}

// offeringsOf returns the served offering an event names, or all of them for
// a legacy event that names none.
func (a *Agent) offeringsOf(e Event) []*offering {
	if e.OfferingUUID == (waldur.UUID{}) {
		return a.offerings
	}
	if off := a.byID[e.OfferingUUID]; off != nil {
		return []*offering{off}
	}
	return nil
}

// passEvent runs a capability's pass now for the offerings an event names
// (offering_resources_sync) and returns when it is done. Failures of single
// resources are counted and logged by the pass and left for the next one;
// only a failed listing asks for redelivery.
func (a *Agent) passEvent(ctx context.Context, e Event, pass func(runCtx, workCtx context.Context, off *offering) error) error {
	var errs []error
	for _, off := range a.offeringsOf(e) {
		errs = append(errs, pass(ctx, ctx, off))
	}
	return errors.Join(errs...)
}
