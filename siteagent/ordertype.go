package siteagent

import (
	"sync"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Waldur checks the offering type on some order actions and answers 405
// (OfferingTypeValidator): set_state_executing and set_state_erred only for
// Marketplace.Slurm offerings, set_state_done for Slurm, Basic and Support.
// No retry can change an offering's type, so such a refusal is final for the
// order: the agent logs it once per offering and action with the offering
// type, counts it in Stats.OrdersRefused and leaves the order alone from then
// on (it stays executing in Waldur until someone finishes it there). At start
// the agent warns about offerings whose type Waldur will refuse.

// refusals remembers orders whose last transition Waldur refused for their
// offering's type, and which refusals were logged already.
type refusals struct {
	mu     sync.Mutex
	orders map[waldur.UUID]struct{}
	logged map[refusalKey]struct{}
}

type refusalKey struct {
	offering waldur.UUID
	action   string
}

// add remembers the order; it reports whether the refusal is the first of
// this action for the offering, which is logged.
func (r *refusals) add(off, order waldur.UUID, action string) (first bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.orders == nil {
		r.orders = make(map[waldur.UUID]struct{})
		r.logged = make(map[refusalKey]struct{})
	}
	r.orders[order] = struct{}{}
	k := refusalKey{off, action}
	if _, ok := r.logged[k]; ok {
		return false
	}
	r.logged[k] = struct{}{}
	return true
}

func (r *refusals) has(order waldur.UUID) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	_, ok := r.orders[order]
	return ok
}

func (r *refusals) forget(order waldur.UUID) {
	r.mu.Lock()
	delete(r.orders, order)
	r.mu.Unlock()
}

// refusedForType records Waldur's 405 to an order action: the order is left
// alone from now on, and the first refusal per offering and action is logged.
func (a *Agent) refusedForType(off *offering, o *waldur.Order, action string, err error) {
	a.counters.ordersRefused.Add(1)
	a.forget(o.UUID)
	typ := offeringType(off, o)
	if a.refusals.add(off.id, o.UUID, action) {
		a.log.Error("siteagent: Waldur refuses "+action+" for orders of this offering type; "+
			"such orders are left executing for an operator to finish in Waldur",
			"offering", off.id, "offering_type", typ, "order", o.UUID, "error", err)
		return
	}
	a.log.Debug("siteagent: order action refused for the offering type", "order", o.UUID, "action", action)
}

// offeringType is the offering's type as the order or the offering tells it.
func offeringType(off *offering, o *waldur.Order) string {
	if o != nil && o.OfferingType != "" {
		return o.OfferingType
	}
	if d := off.snapshot(); d != nil {
		return d.Type
	}
	return ""
}

// warnOfferingType warns at start when Waldur will refuse the state actions
// the agent needs for the offering's orders.
func (a *Agent) warnOfferingType(off *offering) {
	if a.cfg.Orders == nil {
		return
	}
	d := off.snapshot()
	if d == nil || d.Type == "" {
		return
	}
	var refused []string
	for _, action := range []string{"set_state_done", "set_state_erred"} {
		if !waldur.OrderActionAllowed(action, d.Type) {
			refused = append(refused, action)
		}
	}
	if len(refused) == 0 {
		return
	}
	a.log.Warn("siteagent: Waldur refuses order state actions for this offering type (405); "+
		"orders that need them stay executing. Waldur's site-agent offering type is "+waldur.OfferingTypeSlurm,
		"offering", off.id, "offering_type", d.Type, "refused", refused)
}
