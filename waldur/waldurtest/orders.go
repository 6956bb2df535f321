package waldurtest

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"
)

// Order states (waldur OrderState).
const (
	orderPendingConsumer  = "pending-consumer"
	orderPendingProvider  = "pending-provider"
	orderPendingProject   = "pending-project"
	orderPendingStartDate = "pending-start-date"
	orderExecuting        = "executing"
	orderDone             = "done"
	orderErred            = "erred"
	orderCanceled         = "canceled"
	orderRejected         = "rejected"
)

// Resource states (waldur ResourceState).
const (
	resCreating    = "Creating"
	resOK          = "OK"
	resErred       = "Erred"
	resUpdating    = "Updating"
	resTerminating = "Terminating"
	resTerminated  = "Terminated"
)

// orderAction is a state-changing order action; its value is the URL segment
// and the name Transitions records.
type orderAction string

const (
	actApprove   orderAction = "approve_by_provider"
	actReject    orderAction = "reject_by_provider"
	actExecuting orderAction = "set_state_executing"
	actDone      orderAction = "set_state_done"
	actErred     orderAction = "set_state_erred"
)

// validFrom lists the states an action is valid from, in the order Waldur's
// StateValidator names them.
func (a orderAction) validFrom() []string {
	switch a {
	case actApprove, actReject:
		return []string{orderPendingProvider}
	case actExecuting:
		return []string{orderPendingConsumer, orderPendingProvider, orderErred}
	case actDone:
		return []string{orderExecuting}
	case actErred:
		return []string{orderPendingConsumer, orderPendingProvider, orderPendingProject, orderPendingStartDate, orderExecuting}
	}
	return nil
}

// allowedFor reports whether Waldur's OfferingTypeValidator lets the action
// through for an offering of type typ.
func (a orderAction) allowedFor(typ string) bool {
	switch a {
	case actExecuting, actErred:
		return typ == offeringTypeSlurm
	case actDone:
		return typ == offeringTypeSlurm || typ == offeringTypeBasic || typ == offeringTypeSupport
	}
	return true
}

// Offering types Waldur's order actions check.
const (
	offeringTypeSlurm   = "Marketplace.Slurm"
	offeringTypeBasic   = "Marketplace.Basic"
	offeringTypeSupport = "Marketplace.Support"
)

func (a orderAction) target() string {
	switch a {
	case actApprove, actExecuting:
		return orderExecuting
	case actReject:
		return orderRejected
	case actDone:
		return orderDone
	}
	return orderErred
}

func (s *Server) lookupOrder(c *reqCtx) (*order, reply, bool) {
	id, ok := c.pathID()
	if !ok {
		return nil, notFound(), false
	}
	o := s.st.orders.get(id)
	if o == nil {
		return nil, notFound(), false
	}
	return o, reply{}, true
}

func (s *Server) getOrder(c *reqCtx) reply {
	o, rep, ok := s.lookupOrder(c)
	if !ok {
		return rep
	}
	return c.object(s.renderOrder(o))
}

func (s *Server) orderAction(a orderAction) handlerFunc {
	return func(c *reqCtx) reply {
		o, rep, ok := s.lookupOrder(c)
		if !ok {
			return rep
		}
		// Waldur runs the validators before the body is parsed: the state
		// first, then the offering type (set_state_erred has only the type
		// check in Waldur; the fake checks its state too).
		if valid := a.validFrom(); !slices.Contains(valid, o.State) {
			return c.invalidState(valid...)
		}
		if !a.allowedFor(o.Offering.Type) {
			return detail(http.StatusMethodNotAllowed,
				"The order's offering with "+o.Offering.Type+" type does not support this action")
		}
		switch a {
		case actApprove:
			var body struct {
				Attributes map[string]any `json:"attributes"`
			}
			if rep, ok := c.decode(&body); !ok {
				return rep
			}
			if len(body.Attributes) > 0 && o.Attributes == nil {
				o.Attributes = map[string]any{}
			}
			for k, v := range body.Attributes {
				o.Attributes[k] = v
			}
		case actReject:
			var body struct {
				Comment string `json:"provider_rejection_comment"`
			}
			if rep, ok := c.decode(&body); !ok {
				return rep
			}
			o.ProviderReject = body.Comment
		case actErred:
			// Waldur reads both keys from the validated data and fails with
			// a KeyError (500) when one is missing; the fake names the
			// missing key with a 400 instead, so a test sees what is wrong.
			var body struct {
				Message   *string `json:"error_message"`
				Traceback *string `json:"error_traceback"`
			}
			if rep, ok := c.decode(&body); !ok {
				return rep
			}
			switch {
			case body.Message == nil:
				return required("error_message")
			case body.Traceback == nil:
				return required("error_traceback")
			}
			o.ErrorMessage, o.ErrorTraceback = *body.Message, *body.Traceback
		}
		if a == actApprove && o.StartDate != nil && o.StartDate.After(c.now) {
			// Orders with a start date in the future wait for it.
			s.moveOrder(c, o, orderPendingStartDate)
			o.transitions = append(o.transitions, string(a))
			return detail(http.StatusOK, "Order is pending start date.")
		}
		s.moveOrder(c, o, a.target())
		o.transitions = append(o.transitions, string(a))
		return reply{status: http.StatusOK}
	}
}

// moveOrder changes an order's state with the side effects Waldur's callbacks
// have on the order's resource, and emits the events Waldur emits.
func (s *Server) moveOrder(c *reqCtx, o *order, to string) {
	s.st.setOrderState(o, to, c.now)
	s.orderEffects(c, o, true)
}

// orderEffects applies what reaching its current state does to an order's
// resource, and emits the order event when emit is set and Waldur emits one.
func (s *Server) orderEffects(c *reqCtx, o *order, emit bool) {
	now := c.now
	r := o.Resource
	switch o.State {
	case orderPendingConsumer, orderPendingProvider:
		if emit {
			s.emitOrder(c, o)
		}
	case orderExecuting:
		// The order processor marks the resource busy once work starts.
		switch o.Type {
		case "Update":
			setResourceState(r, resUpdating, now)
		case "Terminate":
			setResourceState(r, resTerminating, now)
		}
	case orderDone:
		o.CompletedAt = &now
		switch o.Type {
		case "Create", "Restore":
			setResourceState(r, resOK, now)
		case "Update":
			if r != nil {
				if len(o.Limits) > 0 {
					r.Limits = cloneLimits(o.Limits)
				}
				if o.Plan != nil {
					r.Plan = o.Plan
				}
			}
			setResourceState(r, resOK, now)
		case "Terminate":
			setResourceState(r, resTerminated, now)
		}
		if emit {
			s.emitOrder(c, o)
		}
	case orderErred:
		if o.Type == "Terminate" {
			// A failed deletion leaves a working resource.
			setResourceState(r, resOK, now)
		} else {
			setResourceState(r, resErred, now)
		}
	case orderRejected, orderCanceled:
		if o.Type == "Create" {
			setResourceState(r, resTerminated, now)
		} else if r != nil && r.State != resTerminated {
			setResourceState(r, resOK, now)
		}
	}
}

func setResourceState(r *resource, state string, now time.Time) {
	if r == nil || r.State == state {
		return
	}
	r.State = state
	r.Modified = now
	if state == resOK {
		r.ErrorMessage, r.ErrorTraceback = "", ""
	}
}

func cloneLimits(m map[string]int64) map[string]int64 {
	if m == nil {
		return nil
	}
	out := make(map[string]int64, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

// emitOrder emits the order event in its enriched (unified) form.
func (s *Server) emitOrder(c *reqCtx, o *order) {
	p := map[string]any{
		"order_uuid":   hexID(o.UUID),
		"order_state":  o.State,
		"order_type":   o.Type,
		"project_uuid": hexID(o.Project.UUID),
		"project_name": o.Project.Name,
		"attributes":   cloneMap(o.Attributes),
		"limits":       limitsPayload(o.Limits),
		"plan_uuid":    nil,
	}
	if p["attributes"] == nil {
		p["attributes"] = map[string]any{}
	}
	if r := o.Resource; r != nil {
		p["resource_uuid"] = hexID(r.UUID)
		p["resource_backend_id"] = r.BackendID
		p["resource_name"] = r.Name
	}
	if o.Plan != nil {
		p["plan_uuid"] = hexID(o.Plan.UUID)
	}
	s.emitLocked(c, "order", o.Offering.UUID, p)
}

func limitsPayload(m map[string]int64) map[string]any {
	out := make(map[string]any, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func (s *Server) orderSetBackendID(c *reqCtx) reply {
	o, rep, ok := s.lookupOrder(c)
	if !ok {
		return rep
	}
	id, rep, ok := backendIDBody(c)
	if !ok {
		return rep
	}
	o.BackendID = id
	o.Modified = c.now
	return statusReply("Order backend_id has been changed.")
}

// backendIDBody decodes {"backend_id": "…"} (required, at most 255 characters).
func backendIDBody(c *reqCtx) (string, reply, bool) {
	var body struct {
		BackendID *string `json:"backend_id"`
	}
	if rep, ok := c.decode(&body); !ok {
		return "", rep, false
	}
	switch {
	case body.BackendID == nil:
		return "", required("backend_id"), false
	case len(*body.BackendID) > 255:
		return "", fieldError("backend_id", "Ensure this field has no more than 255 characters."), false
	}
	return *body.BackendID, reply{}, true
}

func (s *Server) orderSetProviderInfo(c *reqCtx) reply {
	o, rep, ok := s.lookupOrder(c)
	if !ok {
		return rep
	}
	if valid := []string{orderPendingConsumer, orderPendingProvider}; !slices.Contains(valid, o.State) {
		return c.invalidState(valid...)
	}
	var body struct {
		Message string `json:"provider_message"`
		URL     string `json:"provider_message_url"`
	}
	if rep, ok := c.decode(&body); !ok {
		return rep
	}
	o.ProviderMsg, o.ProviderMsgURL, o.Modified = body.Message, body.URL, c.now
	s.emitLocked(c, "order", o.Offering.UUID, map[string]any{
		"order_uuid": hexID(o.UUID), "action": "provider_info_set",
	})
	return reply{status: http.StatusOK}
}

// listOrders serves both the list (GET) and the count (HEAD).
func (s *Server) listOrders(c *reqCtx) reply {
	q := c.query()
	offerings, rep, ok := uuidFilter(q, "offering_uuid", false)
	if !ok {
		return rep
	}
	resources, rep, ok := uuidFilter(q, "resource_uuid", false)
	if !ok {
		return rep
	}
	projects, rep, ok := uuidFilter(q, "project_uuid", false)
	if !ok {
		return rep
	}
	tf, rep, ok := parseTimeFilters(q)
	if !ok {
		return rep
	}
	states := q["state"]
	types := stringsFilter(q, "type", false)

	var items []*order
	switch {
	case len(offerings) == 1:
		for id := range offerings {
			items = s.st.ordersFor(id, states)
		}
	default:
		all := s.st.orders.list
		items = make([]*order, 0, len(all))
		for i := len(all) - 1; i >= 0; i-- {
			items = append(items, all[i])
		}
	}
	stateSet := stringsFilter(q, "state", false)
	out := items[:0:0]
	for _, o := range items {
		if !match(offerings, o.Offering.UUID) || !match(stateSet, o.State) || !match(types, o.Type) ||
			!match(projects, o.Project.UUID) || !tf.match(o.Created, o.Modified) {
			continue
		}
		if resources != nil && (o.Resource == nil || !resources[o.Resource.UUID]) {
			continue
		}
		out = append(out, o)
	}
	sortOrders(out, q.Get("o"))
	return listReply(c, out, func(o *order) any { return s.renderOrder(o) })
}

// sortOrders applies ?o=; the default is newest first, as in Waldur.
func sortOrders(items []*order, o string) {
	if o == "" {
		return
	}
	keys := strings.Split(o, ",")
	sort.SliceStable(items, func(i, j int) bool {
		for _, k := range keys {
			desc := strings.HasPrefix(k, "-")
			a, b := items[i], items[j]
			if desc {
				a, b = b, a
			}
			switch strings.TrimPrefix(k, "-") {
			case "created":
				if a.seq != b.seq {
					return a.seq < b.seq
				}
			case "state":
				if a.State != b.State {
					return a.State < b.State
				}
			}
		}
		return false
	})
}

// timeFilters are Waldur's created/modified (at or after) and
// created_before/modified_before filters.
type timeFilters struct {
	created, modified, createdBefore, modifiedBefore *time.Time
}

func (f timeFilters) match(created, modified time.Time) bool {
	return (f.created == nil || !created.Before(*f.created)) &&
		(f.modified == nil || !modified.Before(*f.modified)) &&
		(f.createdBefore == nil || created.Before(*f.createdBefore)) &&
		(f.modifiedBefore == nil || modified.Before(*f.modifiedBefore))
}

func parseTimeFilters(q url.Values) (timeFilters, reply, bool) {
	var f timeFilters
	for name, dst := range map[string]**time.Time{
		"created": &f.created, "modified": &f.modified,
		"created_before": &f.createdBefore, "modified_before": &f.modifiedBefore,
	} {
		v := q.Get(name)
		if v == "" {
			continue
		}
		t, ok := parseTime(v)
		if !ok {
			return f, fieldError(name, "Enter a valid date/time."), false
		}
		*dst = &t
	}
	return f, reply{}, true
}

// parseTime accepts the ISO-8601 forms Django's date-time fields accept.
func parseTime(v string) (time.Time, bool) {
	v = strings.TrimSpace(v)
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999999", "2006-01-02 15:04:05.999999999Z07:00",
		"2006-01-02 15:04:05.999999999", "2006-01-02T15:04", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t, true
		}
	}
	return time.Time{}, false
}
