package waldurtest

import (
	"net/http"
	"slices"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

func (s *Server) lookupResource(c *reqCtx) (*resource, reply, bool) {
	id, ok := c.pathID()
	if !ok {
		return nil, notFound(), false
	}
	r := s.st.resources.get(id)
	if r == nil {
		return nil, notFound(), false
	}
	return r, reply{}, true
}

func (s *Server) getResource(c *reqCtx) reply {
	r, rep, ok := s.lookupResource(c)
	if !ok {
		return rep
	}
	return c.object(s.renderResource(r))
}

func (s *Server) listResources(c *reqCtx) reply {
	q := c.query()
	offerings, rep, ok := uuidFilter(q, "offering_uuid", true)
	if !ok {
		return rep
	}
	projects, rep, ok := uuidFilter(q, "project_uuid", false)
	if !ok {
		return rep
	}
	customers, rep, ok := uuidFilter(q, "customer_uuid", false)
	if !ok {
		return rep
	}
	states := stringsFilter(q, "state", false)
	backendIDs := stringsFilter(q, "backend_id", false)
	nameExact := stringsFilter(q, "name_exact", false)
	name := strings.ToLower(q.Get("name"))
	paused, hasPaused := boolFilter(q, "paused")
	downscaled, hasDownscaled := boolFilter(q, "downscaled")
	restricted, hasRestricted := boolFilter(q, "restrict_member_access")

	all := s.st.resources.list
	var out []*resource
	for i := len(all) - 1; i >= 0; i-- {
		r := all[i]
		switch {
		case !match(offerings, r.Offering.UUID), !match(projects, r.Project.UUID),
			!match(customers, r.Project.Customer.UUID), !match(states, r.State),
			!match(backendIDs, r.BackendID), !match(nameExact, r.Name),
			name != "" && !strings.Contains(strings.ToLower(r.Name), name),
			hasPaused && r.Paused != paused, hasDownscaled && r.Downscaled != downscaled,
			hasRestricted && r.RestrictMemberAccess != restricted:
			continue
		}
		out = append(out, r)
	}
	return listReply(c, out, func(r *resource) any { return s.renderResource(r) })
}

// resourceTeam answers the whole project team, unpaged, as Waldur does.
func (s *Server) resourceTeam(c *reqCtx) reply {
	r, rep, ok := s.lookupResource(c)
	if !ok {
		return rep
	}
	items := make([]any, 0, len(r.Project.Members))
	for _, m := range r.Project.Members {
		items = append(items, s.renderTeamMember(m, r.Offering))
	}
	rep = jsonReply(http.StatusOK, items)
	rep.header = http.Header{"X-Result-Count": {strconv.Itoa(len(items))}}
	return rep
}

func (s *Server) resourceSetBackendID(c *reqCtx) reply {
	r, rep, ok := s.lookupResource(c)
	if !ok {
		return rep
	}
	id, rep, ok := backendIDBody(c)
	if !ok {
		return rep
	}
	if id == r.BackendID {
		return statusReply("Resource backend_id is not changed.")
	}
	r.BackendID, r.Modified = id, c.now
	return statusReply("Resource backend_id has been changed.")
}

func (s *Server) resourceSetBackendMetadata(c *reqCtx) reply {
	r, rep, ok := s.lookupResource(c)
	if !ok {
		return rep
	}
	var body struct {
		Metadata map[string]any `json:"backend_metadata"`
	}
	if rep, ok := c.decode(&body); !ok {
		return rep
	}
	if body.Metadata == nil {
		return required("backend_metadata")
	}
	r.BackendMetadata, r.Modified = body.Metadata, c.now
	return statusReply("The backend metadata is updated")
}

func (s *Server) resourceSetLimits(c *reqCtx) reply {
	r, rep, ok := s.lookupResource(c)
	if !ok {
		return rep
	}
	var body struct {
		Limits map[string]int64 `json:"limits"`
	}
	if rep, ok := c.decode(&body); !ok {
		return rep
	}
	if body.Limits == nil {
		return required("limits")
	}
	for typ := range body.Limits {
		if r.Offering.component(typ) == nil && len(r.Offering.Components) > 0 {
			return fieldError("limits", "Invalid component type: "+typ+".")
		}
	}
	r.Limits, r.Modified = body.Limits, c.now
	return statusReply("Resource limits have been updated.")
}

func (s *Server) resourceSetEndpoints(c *reqCtx) reply {
	r, rep, ok := s.lookupResource(c)
	if !ok {
		return rep
	}
	var body struct {
		Endpoints *[]struct {
			Name string `json:"name"`
			URL  string `json:"url"`
		} `json:"endpoints"`
	}
	if rep, ok := c.decode(&body); !ok {
		return rep
	}
	if body.Endpoints == nil {
		return required("endpoints")
	}
	eps := make([]endpoint, 0, len(*body.Endpoints))
	for _, e := range *body.Endpoints {
		if e.Name == "" || e.URL == "" {
			return fieldError("endpoints", "Each endpoint needs a name and a url.")
		}
		eps = append(eps, endpoint{UUID: uuid.New(), Name: e.Name, URL: e.URL})
	}
	r.Endpoints, r.Modified = eps, c.now
	return statusReply("Endpoints have been set.")
}

func (s *Server) resourceSetEffectiveID(c *reqCtx) reply {
	r, rep, ok := s.lookupResource(c)
	if !ok {
		return rep
	}
	var body struct {
		EffectiveID *string `json:"effective_id"`
	}
	if rep, ok := c.decode(&body); !ok {
		return rep
	}
	if body.EffectiveID == nil {
		return required("effective_id")
	}
	r.EffectiveID, r.Modified = *body.EffectiveID, c.now
	return statusReply("Effective ID has been set.")
}

// resourceSetOK marks a resource OK after a successful sync; calling it on an
// OK resource is harmless, on a terminated one it is refused.
func (s *Server) resourceSetOK(c *reqCtx) reply {
	r, rep, ok := s.lookupResource(c)
	if !ok {
		return rep
	}
	if r.State == resTerminated {
		return c.invalidState(resCreating, resOK, resErred, resUpdating, resTerminating)
	}
	r.State, r.ErrorMessage, r.ErrorTraceback, r.Modified = resOK, "", "", c.now
	return reply{status: http.StatusOK}
}

// resourceSetStateOK recovers an Erred resource.
func (s *Server) resourceSetStateOK(c *reqCtx) reply {
	r, rep, ok := s.lookupResource(c)
	if !ok {
		return rep
	}
	if r.State != resErred {
		return c.invalidState(resErred)
	}
	r.State, r.ErrorMessage, r.ErrorTraceback, r.Modified = resOK, "", "", c.now
	return statusReply("Resource state has been changed to OK.")
}

func (s *Server) resourceSetErred(c *reqCtx) reply {
	r, rep, ok := s.lookupResource(c)
	if !ok {
		return rep
	}
	if r.State == resTerminated {
		return c.invalidState(resCreating, resOK, resErred, resUpdating, resTerminating)
	}
	var body struct {
		Message   string `json:"error_message"`
		Traceback string `json:"error_traceback"`
	}
	if rep, ok := c.decode(&body); !ok {
		return rep
	}
	r.State, r.ErrorMessage, r.ErrorTraceback, r.Modified = resErred, body.Message, body.Traceback, c.now
	return reply{status: http.StatusOK}
}

func (s *Server) resourceRefreshLastSync(c *reqCtx) reply {
	r, rep, ok := s.lookupResource(c)
	if !ok {
		return rep
	}
	r.LastSync = c.now
	return reply{status: http.StatusOK}
}

func (s *Server) resourceSubmitReport(c *reqCtx) reply {
	r, rep, ok := s.lookupResource(c)
	if !ok {
		return rep
	}
	var body struct {
		Report []map[string]any `json:"report"`
	}
	if rep, ok := c.decode(&body); !ok {
		return rep
	}
	if body.Report == nil {
		return required("report")
	}
	report := make([]any, len(body.Report))
	for i, sec := range body.Report {
		report[i] = sec
	}
	r.Report = report
	return statusReply("Report is submitted")
}

// resourceStates lists every resource state, for messages and validation.
func resourceStates() []string {
	return []string{resCreating, resOK, resErred, resUpdating, resTerminating, resTerminated}
}

func validResourceState(st string) bool { return slices.Contains(resourceStates(), st) }
