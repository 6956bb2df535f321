package mcp

import (
	"context"
	"iter"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

func (s *Server) agentHealth(ctx context.Context, _ struct{}) (Health, error) {
	h := Health{Offerings: s.offeringHexes()}
	if a := s.cfg.Agent; a != nil {
		st := a.Stats()
		h.Agent, h.Live, h.Ready, h.Stats = true, a.Live(), a.Ready(), &st
	}
	h.Waldur.URL = s.client.BaseURL()
	if me, err := s.client.Users.Me(ctx, "username"); err != nil {
		h.Waldur.Error = waldurError("checking the credentials", err).Error()
	} else {
		h.Waldur.OK, h.Waldur.Username = true, me.Username
	}
	return h, nil
}

func (s *Server) offeringHexes() []string {
	out := make([]string, len(s.offerings))
	for i, o := range s.offerings {
		out[i] = waldur.Hex(o)
	}
	return out
}

// status is the agent's state without a call to Waldur.
func (s *Server) status() Status {
	st := Status{Offerings: s.offeringHexes(), WaldurURL: s.client.BaseURL()}
	if a := s.cfg.Agent; a != nil {
		stats := a.Stats()
		st.Agent, st.Live, st.Ready, st.Stats = true, a.Live(), a.Ready(), &stats
	}
	return st
}

func (s *Server) listOfferings(ctx context.Context, in ListOfferingsInput) (OfferingPage, error) {
	var seq iter.Seq2[waldur.ProviderOffering, error]
	if len(s.offerings) > 0 {
		seq = func(yield func(waldur.ProviderOffering, error) bool) {
			for _, id := range s.offerings {
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
	offerings, next, err := page(seq, in.PageInput, listingKey(ToolListOfferings), offeringOf)
	if err != nil {
		return OfferingPage{}, waldurError("listing offerings", err)
	}
	return OfferingPage{Offerings: offerings, NextCursor: next}, nil
}

func (s *Server) listResources(ctx context.Context, in ListResourcesInput) (ResourcePage, error) {
	offerings, err := s.offeringsFor(in.OfferingUUID)
	if err != nil {
		return ResourcePage{}, err
	}
	project, err := optUUID("project_uuid", in.ProjectUUID)
	if err != nil {
		return ResourcePage{}, err
	}
	var states []waldur.ResourceState
	if in.State != "" {
		states = []waldur.ResourceState{waldur.ResourceState(in.State)}
	}
	seq := perOffering(offerings, func(o waldur.UUID) iter.Seq2[waldur.Resource, error] {
		return s.client.Resources.List(ctx, waldur.ListResourcesOptions{
			OfferingUUID: o,
			States:       states,
			ProjectUUID:  project,
			BackendID:    in.BackendID,
		})
	})
	listing := listingKey(ToolListResources, in.OfferingUUID, in.State, in.ProjectUUID, in.BackendID)
	resources, next, err := page(seq, in.PageInput, listing, resourceOf)
	if err != nil {
		return ResourcePage{}, waldurError("listing resources", err)
	}
	return ResourcePage{Resources: resources, NextCursor: next}, nil
}

// resource reads a resource of a served offering; field names the argument.
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
	if !s.served(r.OfferingUUID) {
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
	offerings, err := s.offeringsFor(in.OfferingUUID)
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
	listing := listingKey(ToolListOfferingUsers, in.OfferingUUID, in.State, in.UserUsername)
	users, next, err := page(seq, in.PageInput, listing, offeringUserOf)
	if err != nil {
		return OfferingUserPage{}, waldurError("listing offering users", err)
	}
	return OfferingUserPage{Users: users, NextCursor: next}, nil
}
