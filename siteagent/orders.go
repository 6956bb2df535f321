package siteagent

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"runtime/debug"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// The order state machine. Waldur is the truth: every step acts on the state
// just read (or carried by an event or a list), and a transition that Waldur
// refuses as invalid (409, sometimes 400) leads to a re-read, never to a
// second attempt at the same transition. Transition calls are marked retry-safe
// for the HTTP client for that reason: a retried call whose first attempt
// landed answers 409, and the re-read shows the state it produced.

// orderWork is the capability that processes marketplace orders.
type orderWork struct{ a *Agent }

func (w *orderWork) registration() registration {
	return registration{service: serviceOrders, processors: []ProcessorInfo{describe(w.a.cfg.Orders)}}
}

func (w *orderWork) objectTypes() []waldur.ObservableObjectType {
	return []waldur.ObservableObjectType{waldur.ObservableObjectTypeOrder}
}

func (w *orderWork) interval() time.Duration { return w.a.cfg.ReconcileInterval }

func (w *orderWork) reconcile(runCtx, workCtx context.Context) { w.a.reconcileOrders(runCtx, workCtx) }

func (w *orderWork) handleEvent(ctx context.Context, e Event) error {
	p, ok := e.Payload.(*OrderEvent)
	if !ok || p.OrderUUID == (waldur.UUID{}) {
		return nil
	}
	a := w.a
	return a.doWork(ctx, orderKey(p.OrderUUID), func(ctx context.Context) error {
		return a.runOrder(ctx, p.OrderUUID, orderHint{state: p.OrderState}, false)
	})
}

// orderHint is what the agent knows about an order before reading it.
type orderHint struct {
	state waldur.OrderState // from an event; "" if unknown
	order *waldur.Order     // from a list: fresh enough to act on without a read
	read  time.Time         // when order was listed
}

// isTerminal reports whether no agent action applies to an order in state s.
func isTerminal(s waldur.OrderState) bool {
	switch s {
	case waldur.OrderStateDone, waldur.OrderStateErred, waldur.OrderStateCanceled, waldur.OrderStateRejected:
		return true
	}
	return false
}

func orderKey(id waldur.UUID) string { return "order:" + waldur.Hex(id) }

// handleOrder brings one order as far as the agent can take it now. It returns
// a transient error when the work should be retried later.
func (a *Agent) handleOrder(ctx context.Context, id waldur.UUID, hint orderHint) error {
	if isTerminal(hint.state) {
		a.forget(id)
		return nil // an event about a finished order: nothing to read or write
	}
	o := hint.order
	if o == nil {
		var err error
		if o, err = a.client.Orders.Get(ctx, id); err != nil {
			if waldur.IsNotFound(err) {
				a.log.Info("siteagent: order not found or not visible; ignoring", "order", id)
				return nil
			}
			return fmt.Errorf("siteagent: read order %s: %w", id, err)
		}
	}
	off := a.byID[o.OfferingUUID]
	if off == nil {
		a.log.Warn("siteagent: order of an offering this agent does not serve; ignoring",
			"order", id, "offering", o.OfferingUUID)
		return nil
	}
	if o.State == waldur.OrderStateExecuting && a.refusals.has(o.UUID) {
		return nil // Waldur refused its transition for the offering's type: see ordertype.go
	}
	return a.advanceOrder(ctx, off, o)
}

// maxSteps bounds the transitions one pass applies, so a server that keeps
// answering "invalid state" cannot keep the agent in a loop.
const maxSteps = 4

func (a *Agent) advanceOrder(ctx context.Context, off *offering, o *waldur.Order) error {
	approvedHere := false
	for range maxSteps {
		switch o.State {
		case waldur.OrderStatePendingProvider:
			next, done, err := a.decide(ctx, off, o)
			if err != nil || done {
				return err
			}
			approvedHere = next.State == waldur.OrderStateExecuting && o.State == waldur.OrderStatePendingProvider
			o = next
		case waldur.OrderStateExecuting:
			return a.execute(ctx, off, o, approvedHere)
		case waldur.OrderStatePendingStartDate:
			// Approved, waiting for its start date: Waldur moves it to
			// executing then, and a later listing finds it.
			a.forget(o.UUID)
			a.log.Info("siteagent: order waits for its start date", "order", o.UUID, "start_date", o.StartDate)
			return nil
		default:
			// Terminal, or waiting for the consumer, the project or a start
			// date: nothing for the provider to do.
			if isTerminal(o.State) {
				a.forget(o.UUID)
			}
			return nil
		}
	}
	return fmt.Errorf("siteagent: order %s: state kept changing under the agent (now %s)", o.UUID, o.State)
}

// decide evaluates a pending order and approves or rejects it. It returns the
// order as it stands afterwards, or done=true when nothing more is to be done
// in this pass.
func (a *Agent) decide(ctx context.Context, off *offering, o *waldur.Order) (*waldur.Order, bool, error) {
	d := Accept()
	if ev, ok := a.cfg.Orders.(OrderEvaluator); ok {
		req := a.newOrder(off, o)
		var err error
		d, err = callUser(ctx, a.cfg.ProcessorTimeout, func(ctx context.Context) (Decision, error) {
			return ev.EvaluateOrder(ctx, req)
		})
		if err != nil {
			if IsPermanent(err) {
				// An evaluator that cannot decide an order for good rejects it.
				a.noteError(err)
				msg, _ := errorReport(err, false)
				d = Reject(msg)
			} else {
				return nil, true, fmt.Errorf("siteagent: evaluate order %s: %w", o.UUID, err)
			}
		}
	}
	rctx := waldur.WithRetrySafe(ctx)
	switch d.verdict {
	case verdictKeep:
		a.log.Debug("siteagent: order kept pending", "order", o.UUID)
		return o, true, nil
	case verdictReject:
		err := a.client.Orders.Reject(rctx, o.UUID, clip(d.reason, MaxErrorMessage))
		if err == nil {
			a.forget(o.UUID)
			a.counters.ordersRejected.Add(1)
			a.log.Info("siteagent: order rejected", "order", o.UUID, "reason", d.reason)
			return o, true, nil
		}
		return a.reread(ctx, o, "reject", err)
	default:
		err := a.client.Orders.Approve(rctx, o.UUID)
		if err != nil {
			return a.reread(ctx, o, "approve", err)
		}
		a.counters.ordersApproved.Add(1)
		a.log.Info("siteagent: order approved", "order", o.UUID, "type", o.Type)
		next := *o
		next.State = waldur.OrderStateExecuting
		if o.StartDate != nil {
			// Approval does not always execute: Waldur moves an order whose
			// start date is still to come to pending-start-date. Only the
			// state is read again (?field=state); orders without a start
			// date, which Waldur always executes, cost no read.
			fresh, err := a.client.Orders.Get(ctx, o.UUID, "state")
			if err != nil {
				return nil, true, fmt.Errorf("siteagent: re-read order %s after approval: %w", o.UUID, err)
			}
			next.State = fresh.State
		}
		return &next, false, nil
	}
}

// reread handles a failed transition: an invalid-state answer means someone
// (maybe an earlier attempt of ours) moved the order, so the agent reads it
// again and continues from there; any other error is returned for retry.
func (a *Agent) reread(ctx context.Context, o *waldur.Order, action string, err error) (*waldur.Order, bool, error) {
	if !waldur.IsInvalidState(err) {
		return nil, true, fmt.Errorf("siteagent: %s order %s: %w", action, o.UUID, err)
	}
	fresh, rerr := a.client.Orders.Get(ctx, o.UUID)
	if rerr != nil {
		return nil, true, fmt.Errorf("siteagent: re-read order %s after %s: %w", o.UUID, action, rerr)
	}
	a.log.Debug("siteagent: order moved meanwhile", "order", o.UUID, "action", action, "state", fresh.State)
	return fresh, false, nil
}

// execute runs the processor on an executing order and records the outcome.
// fresh means the agent approved the order a moment ago, so a Create order
// cannot have a backend object yet and its resource need not be read.
func (a *Agent) execute(ctx context.Context, off *offering, o *waldur.Order, fresh bool) error {
	pctx, release, mine, err := a.claimOrder(ctx, o)
	if err != nil || !mine {
		return err
	}
	defer release() // idempotent; released early once the processor returns
	req := a.newOrder(off, o)
	if o.Type != waldur.OrderTypeCreate || !fresh || req.Attempt > 1 || o.BackendID != "" {
		if _, err := req.Resource(ctx); err != nil && !waldur.IsNotFound(err) {
			return err
		}
	}

	if o.Type == waldur.OrderTypeTerminate && req.resource != nil {
		// The last usage goes to Waldur while the backend can still tell it.
		if uw := a.usageWork(); uw != nil {
			uw.reportResource(ctx, off, req.resource)
		}
	}

	res, err := callUser(pctx, a.cfg.ProcessorTimeout, func(ctx context.Context) (Result, error) {
		return a.cfg.Orders.ProcessOrder(ctx, req)
	})
	lost := pctx.Err() != nil && ctx.Err() == nil
	release()
	if lost {
		return fmt.Errorf("siteagent: order %s: lease lost to another replica while processing", o.UUID)
	}
	if err != nil {
		if IsPermanent(err) {
			return a.failOrder(ctx, off, o, err)
		}
		return fmt.Errorf("siteagent: process order %s: %w", o.UUID, err)
	}

	if res.IsInProgress() {
		if id := res.inProgress.backendOrderID; id != "" && id != o.BackendID {
			if err := a.client.Orders.SetBackendID(waldur.WithRetrySafe(ctx), o.UUID, id); err != nil {
				return fmt.Errorf("siteagent: record backend order id of order %s: %w", o.UUID, err)
			}
		}
		a.log.Debug("siteagent: order in progress", "order", o.UUID, "backend_order_id", res.inProgress.backendOrderID)
		a.scheduleOrder(o.UUID, a.cfg.AsyncPollInterval)
		return nil
	}

	if err := a.recordResult(ctx, req, res); err != nil {
		return err
	}
	return a.completeOrder(ctx, off, o)
}

// recordResult writes a processor's result to the order's resource.
func (a *Agent) recordResult(ctx context.Context, req *Order, res Result) error {
	rid := req.ResourceUUID
	if rid == (waldur.UUID{}) {
		return nil
	}
	rctx := waldur.WithRetrySafe(ctx)
	known := ""
	if req.resource != nil {
		known = req.resource.BackendID
	}
	if res.BackendID != "" && res.BackendID != known {
		if err := a.client.Resources.SetBackendID(rctx, rid, res.BackendID); err != nil {
			return fmt.Errorf("siteagent: set backend id of resource %s: %w", rid, err)
		}
	}
	if res.BackendMetadata != nil {
		if err := a.client.Resources.SetBackendMetadata(rctx, rid, res.BackendMetadata); err != nil {
			return fmt.Errorf("siteagent: set backend metadata of resource %s: %w", rid, err)
		}
	}
	if res.Endpoints != nil {
		eps := make([]waldur.Endpoint, len(res.Endpoints))
		for i, e := range res.Endpoints {
			eps[i] = waldur.Endpoint{Name: e.Name, URL: e.URL}
		}
		if err := a.client.Resources.SetEndpoints(rctx, rid, eps); err != nil {
			return fmt.Errorf("siteagent: set endpoints of resource %s: %w", rid, err)
		}
	}
	if res.Limits != nil {
		if err := a.client.Resources.SetLimits(rctx, rid, res.Limits); err != nil {
			return fmt.Errorf("siteagent: set limits of resource %s: %w", rid, err)
		}
	}
	return a.reportKeys(rctx, rid, res.APIKeys)
}

// completeOrder marks an executing order done; "already done" is success.
func (a *Agent) completeOrder(ctx context.Context, off *offering, o *waldur.Order) error {
	err := a.client.Orders.SetDone(waldur.WithRetrySafe(ctx), o.UUID)
	if err == nil {
		a.forget(o.UUID)
		a.counters.ordersDone.Add(1)
		a.log.Info("siteagent: order done", "order", o.UUID, "type", o.Type)
		return nil
	}
	if waldur.IsRefusedForOfferingType(err) {
		a.refusedForType(off, o, "set_state_done", err)
		return nil
	}
	fresh, _, rerr := a.reread(ctx, o, "complete", err)
	if rerr != nil {
		return rerr
	}
	a.forget(o.UUID)
	if fresh.State != waldur.OrderStateDone {
		a.log.Warn("siteagent: order left executing before the agent completed it",
			"order", o.UUID, "state", fresh.State)
	}
	return nil
}

// failOrder marks an order erred with cause's message. It re-reads the order
// first, because set_state_erred is not state-gated in Waldur and must not
// overwrite an order that finished meanwhile.
func (a *Agent) failOrder(ctx context.Context, off *offering, o *waldur.Order, cause error) error {
	a.noteError(cause) // logs a panic's stack under its log id
	fresh, err := a.client.Orders.Get(ctx, o.UUID, "uuid", "state")
	if err != nil {
		return fmt.Errorf("siteagent: re-read order %s before marking it erred: %w", o.UUID, err)
	}
	if isTerminal(fresh.State) {
		a.log.Info("siteagent: order finished meanwhile; not marking it erred", "order", o.UUID, "state", fresh.State)
		return nil
	}
	msg, trace := errorReport(cause, a.cfg.ErrorTraceback)
	if err := a.client.Orders.SetErred(waldur.WithRetrySafe(ctx), o.UUID, msg, trace); err != nil {
		switch {
		case waldur.IsInvalidState(err):
			return nil
		case waldur.IsRefusedForOfferingType(err):
			a.refusedForType(off, o, "set_state_erred", err)
			a.log.Warn("siteagent: order failed; Waldur refused to mark it erred", "order", o.UUID, "error", msg)
			return nil
		}
		return fmt.Errorf("siteagent: mark order %s erred: %w", o.UUID, err)
	}
	a.forget(o.UUID)
	a.counters.ordersErred.Add(1)
	a.log.Warn("siteagent: order erred", "order", o.UUID, "type", o.Type, "error", msg)
	return nil
}

// Bounds of what the agent sends Waldur as an order's error message, error
// traceback or rejection reason. Longer texts are cut at a UTF-8 boundary and
// end in "… (truncated)".
const (
	MaxErrorMessage   = 2000
	MaxErrorTraceback = 64 << 10
)

// errorReport turns an error into set_state_erred's message and traceback,
// bounded in length. A panic is reported as a fixed message with its log id:
// the panic value and stack may hold anything and go to the agent's log only
// (see noteError).
func errorReport(err error, withTrace bool) (msg, trace string) {
	var pe *userPanic
	if errors.As(err, &pe) {
		return "internal error in the site agent (log id " + pe.id + ")", ""
	}
	msg = err.Error()
	if withTrace {
		trace = fmt.Sprintf("%+v", err)
	}
	return clip(msg, MaxErrorMessage), clip(trace, MaxErrorTraceback)
}

const truncated = "… (truncated)"

// clip bounds s to max bytes, cutting at a rune boundary.
func clip(s string, max int) string {
	if len(s) <= max {
		return s
	}
	cut := max - len(truncated)
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + truncated
}

// newOrder builds the processor's view of o.
func (a *Agent) newOrder(off *offering, o *waldur.Order) *Order {
	a.mu.Lock()
	a.attempts[o.UUID]++
	attempt := a.attempts[o.UUID]
	a.mu.Unlock()
	var plan waldur.UUID
	if o.PlanUUID != nil {
		plan = *o.PlanUUID
	}
	return &Order{
		UUID:           o.UUID,
		Type:           o.Type,
		State:          o.State,
		OfferingUUID:   off.id,
		ResourceUUID:   o.MarketplaceResourceUUID,
		ResourceName:   o.ResourceName,
		ProjectUUID:    o.ProjectUUID,
		ProjectName:    o.ProjectName,
		CustomerUUID:   o.CustomerUUID,
		CustomerName:   o.CustomerName,
		PlanUUID:       plan,
		Limits:         o.Limits,
		Attributes:     o.Attributes,
		BackendOrderID: o.BackendID,
		Attempt:        attempt,
		Details:        o,
		Offering:       off.snapshot(),
		client:         a.client,
	}
}

// userPanic is a panic recovered from user code. Its Error names only the
// log id, so neither the panic value nor the stack reaches Waldur (orders'
// error messages, Stats.LastError in set_statistics); noteError logs them
// once, under the id.
type userPanic struct {
	value  any
	stack  []byte
	id     string // short random hex, in the log and in what Waldur sees
	logged atomic.Bool
}

func (p *userPanic) Error() string { return "siteagent: processor panicked (log id " + p.id + ")" }

func newLogID() string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// callUser calls user code with a timeout, turning a panic into a permanent
// error that carries the stack.
func callUser[T any](ctx context.Context, timeout time.Duration, fn func(context.Context) (T, error)) (res T, err error) {
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	defer func() {
		if v := recover(); v != nil {
			err = Permanent(&userPanic{value: v, stack: debug.Stack(), id: newLogID()})
		}
	}()
	return fn(ctx)
}

// runOrder is the unit of work for one order in the pool: it handles the order
// and, for a transient failure, schedules a retry with backoff when retry is
// set (events are retried by their source instead).
func (a *Agent) runOrder(ctx context.Context, id waldur.UUID, hint orderHint, retry bool) error {
	err := a.handleOrder(ctx, id, hint)
	if err == nil {
		return nil
	}
	a.noteError(err)
	if ctx.Err() != nil {
		return err
	}
	a.log.Warn("siteagent: order handling failed; will retry", "order", id, "error", err)
	if retry {
		a.mu.Lock()
		attempt := a.attempts[id]
		a.mu.Unlock()
		a.counters.ordersRetried.Add(1)
		a.scheduleOrder(id, a.retry.Delay(max(attempt, 1)))
	}
	return err
}

// scheduleOrder arranges for the order to be handled again after d.
// scheduleOrder arranges for the order to be handled after d; false when
// too much work is scheduled already (the order pass finds it then).
func (a *Agent) scheduleOrder(id waldur.UUID, d time.Duration) bool {
	return a.schedule(orderKey(id), d, func(ctx context.Context) error {
		return a.runOrder(ctx, id, orderHint{}, true)
	})
}

// submitOrder queues one order for handling with retries on failure.
// A listed order that other work handled after it was listed is re-read
// rather than acted on as listed.
func (a *Agent) submitOrder(runCtx, workCtx context.Context, id waldur.UUID, hint orderHint) bool {
	if runCtx.Err() != nil {
		return false
	}
	return a.enqueue(runCtx, workCtx, orderKey(id), hint.read, func(ctx context.Context, stale bool) error {
		if stale {
			hint = orderHint{}
		}
		return a.runOrder(ctx, id, hint, true)
	}, nil)
}

// forget drops the agent's memory of an order it finished with.
func (a *Agent) forget(id waldur.UUID) {
	a.mu.Lock()
	delete(a.attempts, id)
	a.mu.Unlock()
	a.refusals.forget(id)
	a.unschedule(orderKey(id))
}
