package siteagent

import (
	"context"
	"slices"
	"sync"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// A capability is one kind of work the agent does for Waldur, enabled by a
// Config field: orders, membership, usage reporting, ... The agent registers
// each in Waldur's agent registry, routes events to it by object type, and
// runs its periodic pass. Adding a kind of work means adding a capability;
// the runtime does not change.
type capability interface {
	// registration names the Waldur agent service the capability runs under
	// and the processors registered there.
	registration() registration
	// objectTypes lists the event object types the capability handles; the
	// agent subscribes to their union and no more.
	objectTypes() []waldur.ObservableObjectType
	// handleEvent handles one event of its types now. A nil error means the
	// event needs no redelivery.
	handleEvent(ctx context.Context, e Event) error
	// interval is how often reconcile runs; 0 means never.
	interval() time.Duration
	// reconcile runs one periodic pass, at start and every interval. Work is
	// queued with Agent.submit using runCtx for admission and workCtx for the
	// work itself.
	reconcile(runCtx, workCtx context.Context)
}

// capabilities builds the agent's capabilities from its config.
func (a *Agent) capabilities() []capability {
	var caps []capability
	if a.cfg.Orders != nil {
		caps = append(caps, &orderWork{a: a})
	}
	if a.cfg.APIKeys != nil {
		caps = append(caps, newKeyWork(a))
	}
	if a.cfg.Membership != nil {
		caps = append(caps, &membershipWork{a: a, p: a.cfg.Membership})
	}
	if a.cfg.OfferingUsers != nil {
		caps = append(caps, newOfferingUserWork(a))
	}
	if a.cfg.ResourceStatus != nil {
		caps = append(caps, &resourceStatusWork{a: a, p: a.cfg.ResourceStatus})
	}
	if a.cfg.Usage != nil {
		caps = append(caps, newUsageWork(a))
	}
	if a.cfg.PeriodicLimits != nil {
		caps = append(caps, &periodicLimitsWork{a: a, p: a.cfg.PeriodicLimits})
	}
	return caps
}

// usageWork returns the usage capability, if usage is reported.
func (a *Agent) usageWork() *usageWork {
	for _, c := range a.caps {
		if w, ok := c.(*usageWork); ok {
			return w
		}
	}
	return nil
}

// objectTypes returns the event object types the agent's capabilities need,
// sorted.
func (a *Agent) objectTypes() []waldur.ObservableObjectType {
	var types []waldur.ObservableObjectType
	for _, c := range a.caps {
		for _, t := range c.objectTypes() {
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	slices.Sort(types)
	return types
}

// startPasses runs every capability's periodic pass in bg: once now, then
// every interval, one pass at a time, until runCtx ends. Passes run beside
// Run's loop so a slow listing never delays heartbeats or retries.
func (a *Agent) startPasses(runCtx, workCtx context.Context, bg *sync.WaitGroup) {
	for _, c := range a.caps {
		every := c.interval()
		if every <= 0 {
			continue
		}
		kick := a.kickChan(c)
		bg.Add(1)
		go func() {
			defer bg.Done()
			t := time.NewTicker(every)
			defer t.Stop()
			for {
				c.reconcile(runCtx, workCtx)
				select {
				case <-runCtx.Done():
					return
				case <-t.C:
				case <-kick:
				}
			}
		}()
	}
}
