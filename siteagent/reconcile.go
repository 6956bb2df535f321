package siteagent

import (
	"context"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// pendingStates are the order states in which the provider has work to do.
var pendingStates = []waldur.OrderState{waldur.OrderStatePendingProvider, waldur.OrderStateExecuting}

// reconcileOrders lists every served offering's orders that wait for the provider and
// processes them. It runs at start and every ReconcileInterval: it catches
// whatever events were missed, and it is the whole story in polling mode.
//
// Listed orders are processed as listed, without a second read; an order that
// moved meanwhile costs one refused transition and a re-read. Orders already
// queued, running or waiting for a retry are skipped unless they are stuck.
func (a *Agent) reconcileOrders(runCtx, workCtx context.Context) {
	now := a.cfg.Now()
	var stuck int64
	ok := true
	for _, off := range a.offerings {
		if err := a.loadOffering(runCtx, off); err != nil {
			a.noteError(err)
			a.log.Warn("siteagent: reconcile: offering not readable", "offering", off.id, "error", err)
			ok = false
			continue
		}
		opts := waldur.ListOrdersOptions{OfferingUUID: off.id, States: pendingStates}
		read := time.Now() // pages are read later, so their data is at least this fresh
		for o, err := range a.client.Orders.List(runCtx, opts) {
			if err != nil {
				if runCtx.Err() == nil {
					a.noteError(err)
					a.log.Warn("siteagent: reconcile: listing orders failed", "offering", off.id, "error", err)
					ok = false
				}
				break
			}
			if o.State == waldur.OrderStateExecuting && a.refusals.has(o.UUID) {
				continue // Waldur refused its transition for the offering type; not stuck on our side
			}
			isStuck := o.State == waldur.OrderStateExecuting && !o.Modified.IsZero() && now.Sub(o.Modified) > a.cfg.StuckOrderAge
			if isStuck {
				stuck++
				a.log.Warn("siteagent: order stuck in executing", "order", o.UUID, "since", o.Modified)
			}
			if key := orderKey(o.UUID); !isStuck && (a.isScheduled(key) || a.busy(key)) {
				continue
			}
			if !a.submitOrder(runCtx, workCtx, o.UUID, orderHint{order: &o, read: read}) {
				break
			}
		}
	}
	a.counters.ordersStuck.Store(stuck)
	a.waldurOK.Store(ok)
	if ok {
		a.counters.lastReconcile.Store(a.cfg.Now().UnixNano())
	}
}
