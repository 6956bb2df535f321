package mcp

import (
	"context"
	"iter"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

func (s *Server) agentHealth(ctx context.Context, _ struct{}) (Health, error) {
	c := callerFrom(ctx)
	h := Health{Offerings: s.offeringHexes(c)}
	if a := s.cfg.Agent; a != nil {
		h.Agent, h.Live, h.Ready, h.Stats = true, a.Live(), a.Ready(), s.agentStats(c)
	}
	h.Waldur.URL = s.client.BaseURL()
	if me, err := s.client.Users.Me(ctx, "username"); err != nil {
		h.Waldur.Error = waldurError("checking the credentials", err).Error()
	} else {
		h.Waldur.OK, h.Waldur.Username = true, me.Username
	}
	return h, nil
}

// offeringHexes lists the served offerings c sees; empty when the server
// serves every offering and c is not bound to one.
func (s *Server) offeringHexes(c caller) []string {
	ids, _ := s.visibleOfferings(c)
	out := make([]string, len(ids))
	for i, o := range ids {
		out[i] = waldur.Hex(o)
	}
	return out
}

// status is the agent's state without a call to Waldur.
func (s *Server) status(c caller) Status {
	st := Status{Offerings: s.offeringHexes(c), WaldurURL: s.client.BaseURL()}
	if a := s.cfg.Agent; a != nil {
		st.Agent, st.Live, st.Ready, st.Stats = true, a.Live(), a.Ready(), s.agentStats(c)
	}
	return st
}

func (s *Server) listOfferings(ctx context.Context, in ListOfferingsInput) (OfferingPage, error) {
	c := callerFrom(ctx)
	var seq iter.Seq2[waldur.ProviderOffering, error]
	if ids, all := s.visibleOfferings(c); !all {
		seq = func(yield func(waldur.ProviderOffering, error) bool) {
			for _, id := range ids {
				o, err := s.client.Offerings.Get(ctx, id)
				if err != nil {
					yield(waldur.ProviderOffering{}, waldurError("offering "+waldur.Hex(id), err))
					return
				}
				if !yield(*o, nil) {
					return
				}
			}
		}
	} else {
		seq = s.client.Offerings.List(ctx, waldur.ListOfferingsOptions{})
	}
	offerings, next, err := page(seq, in.PageInput, listingKey(ToolListOfferings, c.listing()), offeringOf)
	if err != nil {
		return OfferingPage{}, waldurError("listing offerings", err)
	}
	return OfferingPage{Offerings: offerings, NextCursor: next}, nil
}

func (s *Server) listResources(ctx context.Context, in ListResourcesInput) (ResourcePage, error) {
	c := callerFrom(ctx)
	offerings, err := s.offeringsFor(c, in.OfferingUUID)
	if err != nil {
		return ResourcePage{}, err
	}
	f := resourceFilter{backendID: in.BackendID}
	if f.project, err = optUUID("project_uuid", in.ProjectUUID); err != nil {
		return ResourcePage{}, err
	}
	if in.State != "" {
		f.states = []waldur.ResourceState{waldur.ResourceState(in.State)}
	}
	seq := s.resources(ctx, c, offerings, f)
	listing := listingKey(ToolListResources, c.listing(), in.OfferingUUID, in.State, in.ProjectUUID, in.BackendID)
	resources, next, err := page(seq, in.PageInput, listing, resourceOf)
	if err != nil {
		return ResourcePage{}, waldurError("listing resources", err)
	}
	return ResourcePage{Resources: resources, NextCursor: next}, nil
}

// resource reads a resource of a served offering inside the caller's
// binding; any other is not found. field names the argument.
func (s *Server) resource(ctx context.Context, field, arg string) (*waldur.Resource, error) {
	id, err := parseUUID(field, arg)
	if err != nil {
		return nil, err
	}
	what := "resource " + waldur.Hex(id)
	r, err := s.client.Resources.Get(ctx, id)
	if err != nil {
		return nil, waldurError(what, err)
	}
	if !s.served(r.OfferingUUID) || !callerFrom(ctx).seesResource(r) {
		return nil, notFound(what)
	}
	return r, nil
}

func (s *Server) getResource(ctx context.Context, in UUIDInput) (Resource, error) {
	r, err := s.resource(ctx, "uuid", in.UUID)
	if err != nil {
		return Resource{}, err
	}
	return resourceOf(r), nil
}

func (s *Server) getResourceTeam(ctx context.Context, in UUIDInput) (Team, error) {
	r, err := s.resource(ctx, "uuid", in.UUID)
	if err != nil {
		return Team{}, err
	}
	members, err := s.client.Resources.Team(ctx, r.UUID)
	if err != nil {
		return Team{}, waldurError("team of resource "+waldur.Hex(r.UUID), err)
	}
	out := Team{ResourceUUID: waldur.Hex(r.UUID), Members: make([]TeamMember, len(members))}
	for i := range members {
		out.Members[i] = teamMemberOf(&members[i])
	}
	return out, nil
}

func (s *Server) listOfferingUsers(ctx context.Context, in ListOfferingUsersInput) (OfferingUserPage, error) {
	c := callerFrom(ctx)
	offerings, err := s.offeringsFor(c, in.OfferingUUID)
	if err != nil {
		return OfferingUserPage{}, err
	}
	var states []waldur.OfferingUserState
	if in.State != "" {
		states = []waldur.OfferingUserState{waldur.OfferingUserState(in.State)}
	}
	seq := perOffering(offerings, func(o waldur.UUID) iter.Seq2[waldur.OfferingUser, error] {
		return s.client.OfferingUsers.List(ctx, waldur.ListOfferingUsersOptions{
			OfferingUUID: o,
			States:       states,
			UserUsername: in.UserUsername,
		})
	})
	if c.objectBound() {
		members, err := s.members(ctx, c, offerings)
		if err != nil {
			return OfferingUserPage{}, err
		}
		seq = keep(seq, func(u *waldur.OfferingUser) bool { return members[u.UserUUID] })
	}
	listing := listingKey(ToolListOfferingUsers, c.listing(), in.OfferingUUID, in.State, in.UserUsername)
	users, next, err := page(seq, in.PageInput, listing, offeringUserOf)
	if err != nil {
		return OfferingUserPage{}, waldurError("listing offering users", err)
	}
	return OfferingUserPage{Users: users, NextCursor: next}, nil
}
