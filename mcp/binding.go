package mcp

import (
	"context"
	"iter"
	"slices"
	"time"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// A key's apikeys.Binding narrows what it sees. Every non-nil field is a
// constraint, and an object is inside the binding when it meets all of them:
// an order or resource by its customer_uuid, project_uuid, offering_uuid and
// (marketplace) resource UUID, as Waldur returns them; an offering by its
// UUID. An object lacking a field the binding sets is outside (fail closed).
// Offering users and API keys carry no project, so they are inside when they
// belong to a resource inside the binding: keys by their resource, offering
// users by their user being on the team of such a resource.
//
// Objects outside are answered exactly like objects that do not exist, so a
// bound key cannot learn that they exist. Trusted callers and unbound keys
// see everything the server serves.

// bindingExtra is the key of the verified key's apikeys.Binding in the go-sdk
// token info's Extra.
const bindingExtra = "waldur-agent-go/apikeys.Binding"

// maxBindingResources bounds how many resources list_offering_users walks to
// find the teams inside a binding, so a broad binding cannot turn one call
// into thousands of Waldur requests.
const maxBindingResources = 500

type callerKey struct{}

// withCaller hands the caller the guard checked on to the handlers.
func withCaller(ctx context.Context, c caller) context.Context {
	return context.WithValue(ctx, callerKey{}, c)
}

// callerFrom returns the caller the guard put into ctx. A handler reached
// without the guard sees nothing (fail closed).
func callerFrom(ctx context.Context) caller {
	if c, ok := ctx.Value(callerKey{}).(caller); ok {
		return c
	}
	return caller{key: "none", restricted: true, blind: true}
}

// bound reports whether c sees only what is inside a binding.
func (c caller) bound() bool {
	return c.restricted && (c.blind || c.binding != apikeys.Binding{})
}

// objectBound reports whether c is bound below the offering: to a customer,
// project or resource.
func (c caller) objectBound() bool {
	b := c.binding
	return c.bound() && (c.blind || b.CustomerUUID != nilUUID || b.ProjectUUID != nilUUID || b.ResourceUUID != nilUUID)
}

var nilUUID waldur.UUID

// within reports whether got meets a binding field want (nil: no constraint).
func within(want, got waldur.UUID) bool { return want == nilUUID || want == got }

func (c caller) seesOffering(id waldur.UUID) bool {
	return !c.bound() || !c.blind && within(c.binding.OfferingUUID, id)
}

func (c caller) seesOrder(o *waldur.Order) bool {
	if !c.bound() {
		return true
	}
	b := c.binding
	return !c.blind && within(b.CustomerUUID, o.CustomerUUID) && within(b.ProjectUUID, o.ProjectUUID) &&
		within(b.OfferingUUID, o.OfferingUUID) && within(b.ResourceUUID, o.MarketplaceResourceUUID)
}

func (c caller) seesResource(r *waldur.Resource) bool {
	if !c.bound() {
		return true
	}
	b := c.binding
	return !c.blind && within(b.CustomerUUID, r.CustomerUUID) && within(b.ProjectUUID, r.ProjectUUID) &&
		within(b.OfferingUUID, r.OfferingUUID) && within(b.ResourceUUID, r.UUID)
}

// seesLastError reports whether c may read the agent's last error, which may
// name any customer's orders and resources: trusted callers, and unbound keys
// with the operator scope.
func (c caller) seesLastError() bool {
	return !c.restricted || !c.bound() && c.allows(ScopeAgentOperate)
}

// listing fingerprints the binding for cursors, so that a cursor continues
// only a listing of the same view.
func (c caller) listing() string {
	if !c.bound() {
		return ""
	}
	b := c.binding
	return b.CustomerUUID.String() + b.ProjectUUID.String() + b.OfferingUUID.String() + b.ResourceUUID.String()
}

// visibleOfferings returns the served offerings c sees; all is true when
// that is every offering the Waldur credentials reach (no list to give).
func (s *Server) visibleOfferings(c caller) (ids []waldur.UUID, all bool) {
	switch {
	case c.blind:
		return nil, false
	case len(s.offerings) > 0:
		return slices.DeleteFunc(slices.Clone(s.offerings), func(o waldur.UUID) bool { return !c.seesOffering(o) }), false
	case c.bound() && c.binding.OfferingUUID != nilUUID:
		return []waldur.UUID{c.binding.OfferingUUID}, false
	}
	return nil, true
}

// agentStats is the agent's Stats as c may see them.
func (s *Server) agentStats(c caller) *siteagent.Stats {
	st := s.cfg.Agent.Stats()
	if !c.seesLastError() {
		st.LastError, st.LastErrorAt = "", time.Time{}
	}
	return &st
}

// resourceFilter is what a resource listing asks for besides its offerings.
type resourceFilter struct {
	states    []waldur.ResourceState
	project   waldur.UUID
	backendID string
}

func (f resourceFilter) matches(r *waldur.Resource) bool {
	return (len(f.states) == 0 || slices.Contains(f.states, r.State)) &&
		within(f.project, r.ProjectUUID) && (f.backendID == "" || f.backendID == r.BackendID)
}

// resources lists the resources of offerings (see offeringsFor) that match f
// and that c sees. Waldur is asked to filter by the binding; what it returns
// is checked again. A key bound to one resource reads just that one.
func (s *Server) resources(ctx context.Context, c caller, offerings []waldur.UUID, f resourceFilter) iter.Seq2[waldur.Resource, error] {
	opts := waldur.ListResourcesOptions{States: f.states, ProjectUUID: f.project, BackendID: f.backendID}
	if c.bound() {
		b := c.binding
		if opts.ProjectUUID == nilUUID {
			opts.ProjectUUID = b.ProjectUUID
		}
		opts.CustomerUUID = b.CustomerUUID
		if b.ResourceUUID != nilUUID {
			return keep(s.oneResource(ctx, b.ResourceUUID), func(r *waldur.Resource) bool {
				return inOfferings(offerings, r.OfferingUUID) && f.matches(r) && c.seesResource(r)
			})
		}
	}
	seq := perOffering(offerings, func(o waldur.UUID) iter.Seq2[waldur.Resource, error] {
		opts := opts
		opts.OfferingUUID = o
		return s.client.Resources.List(ctx, opts)
	})
	return keep(seq, c.seesResource)
}

// oneResource yields the resource id, or nothing when Waldur does not have it.
func (s *Server) oneResource(ctx context.Context, id waldur.UUID) iter.Seq2[waldur.Resource, error] {
	return func(yield func(waldur.Resource, error) bool) {
		r, err := s.client.Resources.Get(ctx, id)
		switch {
		case waldur.IsNotFound(err):
		case err != nil:
			yield(waldur.Resource{}, err)
		default:
			yield(*r, nil)
		}
	}
}

// inOfferings reports whether offering o is in a list from offeringsFor,
// where the nil UUID stands for every offering.
func inOfferings(offerings []waldur.UUID, o waldur.UUID) bool {
	return slices.Contains(offerings, o) || slices.Contains(offerings, nilUUID)
}

// members returns the users on the teams of the resources inside c's
// binding, for filtering offering users.
func (s *Server) members(ctx context.Context, c caller, offerings []waldur.UUID) (map[waldur.UUID]bool, error) {
	users := make(map[waldur.UUID]bool)
	projects := make(map[waldur.UUID]bool) // a team is its project's members
	n := 0
	for r, err := range s.resources(ctx, c, offerings, resourceFilter{}) {
		if err != nil {
			return nil, waldurError("listing the resources of the key's binding", err)
		}
		if n++; n > maxBindingResources {
			return nil, failf("the API key's binding covers more than %d resources; list the team of one resource with %s instead", maxBindingResources, ToolGetResourceTeam)
		}
		if projects[r.ProjectUUID] {
			continue
		}
		projects[r.ProjectUUID] = true
		team, err := s.client.Resources.Team(ctx, r.UUID)
		if err != nil {
			return nil, waldurError("team of resource "+waldur.Hex(r.UUID), err)
		}
		for _, m := range team {
			users[m.UUID] = true
		}
	}
	return users, nil
}

// keep yields the items of seq for which ok is true, and every error.
func keep[T any](seq iter.Seq2[T, error], ok func(*T) bool) iter.Seq2[T, error] {
	return func(yield func(T, error) bool) {
		for v, err := range seq {
			if err != nil || ok(&v) {
				if !yield(v, err) {
					return
				}
			}
		}
	}
}

// flatten yields, for each item of seq, the items of inner(item).
func flatten[T, U any](seq iter.Seq2[T, error], inner func(*T) iter.Seq2[U, error]) iter.Seq2[U, error] {
	return func(yield func(U, error) bool) {
		for v, err := range seq {
			if err != nil {
				var zero U
				yield(zero, err)
				return
			}
			for u, err := range inner(&v) {
				if !yield(u, err) || err != nil {
					return
				}
			}
		}
	}
}
