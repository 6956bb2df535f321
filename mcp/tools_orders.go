package mcp

import (
	"context"
	"iter"
	"slices"
	"strings"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// offeringsFor returns the offerings a listing for c covers: the one named by
// arg (which must be served and inside c's binding), or every such offering,
// or, when the server is not limited to offerings and c not to one, the nil
// UUID meaning "no filter". An empty list lists nothing.
func (s *Server) offeringsFor(c caller, arg string) ([]waldur.UUID, error) {
	o, err := optUUID("offering_uuid", arg)
	if err != nil {
		return nil, err
	}
	if o != nilUUID {
		if !s.served(o) || !c.seesOffering(o) {
			return nil, notFound("offering " + arg)
		}
		return []waldur.UUID{o}, nil
	}
	ids, all := s.visibleOfferings(c)
	if all {
		return []waldur.UUID{{}}, nil
	}
	return ids, nil
}

// perOffering chains one listing per offering.
func perOffering[T any](offerings []waldur.UUID, list func(waldur.UUID) iter.Seq2[T, error]) iter.Seq2[T, error] {
	seqs := make([]func() iter.Seq2[T, error], len(offerings))
	for i, o := range offerings {
		seqs[i] = func() iter.Seq2[T, error] { return list(o) }
	}
	return concat(seqs...)
}

func (s *Server) listPendingOrders(ctx context.Context, in ListPendingOrdersInput) (OrderPage, error) {
	c := callerFrom(ctx)
	offerings, err := s.offeringsFor(c, in.OfferingUUID)
	if err != nil {
		return OrderPage{}, err
	}
	opts := waldur.ListOrdersOptions{States: []waldur.OrderState{waldur.OrderStatePendingProvider}}
	if in.Type != "" {
		opts.Types = []waldur.OrderType{waldur.OrderType(in.Type)}
	}
	if c.bound() {
		// Waldur's order filters have no customer; seesOrder checks it.
		opts.ProjectUUID, opts.ResourceUUID = c.binding.ProjectUUID, c.binding.ResourceUUID
	}
	seq := perOffering(offerings, func(o waldur.UUID) iter.Seq2[waldur.Order, error] {
		opts := opts
		opts.OfferingUUID = o
		return s.client.Orders.List(ctx, opts)
	})
	seq = keep(seq, c.seesOrder)
	orders, next, err := page(seq, in.PageInput, listingKey(ToolListPendingOrders, c.listing(), in.OfferingUUID, in.Type), orderOf)
	if err != nil {
		return OrderPage{}, waldurError("listing pending orders", err)
	}
	return OrderPage{Orders: orders, NextCursor: next}, nil
}

// order reads an order of a served offering inside the caller's binding;
// any other is not found.
func (s *Server) order(ctx context.Context, arg string) (*waldur.Order, error) {
	id, err := parseUUID("uuid", arg)
	if err != nil {
		return nil, err
	}
	what := "order " + waldur.Hex(id)
	o, err := s.client.Orders.Get(ctx, id)
	if err != nil {
		return nil, waldurError(what, err)
	}
	if !s.served(o.OfferingUUID) || !callerFrom(ctx).seesOrder(o) {
		return nil, notFound(what)
	}
	return o, nil
}

func (s *Server) getOrder(ctx context.Context, in UUIDInput) (Order, error) {
	o, err := s.order(ctx, in.UUID)
	if err != nil {
		return Order{}, err
	}
	return orderOf(o), nil
}

func (s *Server) approveOrder(ctx context.Context, in UUIDInput) (OrderAction, error) {
	// Approved orders go on to executing, then done or erred.
	reached := []waldur.OrderState{waldur.OrderStateExecuting, waldur.OrderStateDone, waldur.OrderStateErred}
	return s.decide(ctx, in.UUID, "approve", "approved", reached, func(id waldur.UUID) error {
		return s.client.Orders.Approve(waldur.WithRetrySafe(ctx), id)
	})
}

func (s *Server) rejectOrder(ctx context.Context, in RejectOrderInput) (OrderAction, error) {
	reason := strings.TrimSpace(in.Reason)
	if reason == "" {
		return OrderAction{}, failf("reason is required: it tells the consumer why the order was rejected")
	}
	reached := []waldur.OrderState{waldur.OrderStateRejected}
	return s.decide(ctx, in.UUID, "reject", "rejected", reached, func(id waldur.UUID) error {
		return s.client.Orders.Reject(waldur.WithRetrySafe(ctx), id, reason)
	})
}

// decide applies a provider decision to an order waiting for it. An order
// that already reached one of the decision's states is reported unchanged,
// so that repeating a call is harmless; any other state is an error. A
// refusal by Waldur is followed by a re-read, as the order may have moved in
// between (the site agent may have approved it).
func (s *Server) decide(ctx context.Context, arg, verb, done string, reached []waldur.OrderState, act func(waldur.UUID) error) (OrderAction, error) {
	o, err := s.order(ctx, arg)
	if err != nil {
		return OrderAction{}, err
	}
	what := "order " + waldur.Hex(o.UUID)
	changed := false
	if o.State == waldur.OrderStatePendingProvider {
		actErr := act(o.UUID)
		switch {
		case actErr == nil:
			changed = true
		case !waldur.IsInvalidState(actErr):
			return OrderAction{}, waldurError(verb+" "+what, actErr)
		}
		if o, err = s.order(ctx, arg); err != nil {
			return OrderAction{}, err
		}
		if actErr != nil && o.State == waldur.OrderStatePendingProvider {
			return OrderAction{}, waldurError(verb+" "+what, actErr) // refused, yet still waiting: say why
		}
	}
	res := OrderAction{UUID: waldur.Hex(o.UUID), State: string(o.State), Changed: changed}
	switch {
	case changed:
		res.Message = what + " " + done + "; it is now " + string(o.State)
	case slices.Contains(reached, o.State):
		res.Message = what + " was already " + string(o.State) + "; nothing changed"
	default:
		return OrderAction{}, failf("cannot %s %s: it is %s, and only orders in pending-provider wait for the provider's decision", verb, what, o.State)
	}
	return res, nil
}
