package waldurtest

import (
	"net/http"
	"net/url"
	"slices"
	"sort"
)

// Offering user states (waldur OfferingUserState).
const (
	ouRequested         = "Requested"
	ouCreating          = "Creating"
	ouPendingLinking    = "Pending account linking"
	ouPendingValidation = "Pending additional validation"
	ouOK                = "OK"
	ouRequestedDeletion = "Requested deletion"
	ouDeleting          = "Deleting"
	ouDeleted           = "Deleted"
	ouErrorCreating     = "Error creating"
	ouErrorDeleting     = "Error deleting"
)

// offeringUserTransition returns the source states and the target of an
// offering-user action, as in Waldur's OfferingUser state machine.
func offeringUserTransition(action string) (from []string, to string) {
	switch action {
	case "begin_creating":
		return []string{ouRequested, ouErrorCreating}, ouCreating
	case "set_ok":
		return []string{ouRequested, ouCreating, ouPendingLinking, ouPendingValidation, ouErrorCreating,
			ouErrorDeleting, ouRequestedDeletion, ouDeleting}, ouOK
	case "set_pending_additional_validation":
		return []string{ouCreating, ouErrorCreating, ouPendingLinking}, ouPendingValidation
	case "set_pending_account_linking":
		return []string{ouCreating, ouErrorCreating, ouPendingValidation}, ouPendingLinking
	case "set_validation_complete":
		return []string{ouPendingValidation, ouPendingLinking}, ouOK
	case "request_deletion":
		return []string{ouOK, ouCreating, ouPendingLinking, ouPendingValidation, ouErrorCreating}, ouRequestedDeletion
	case "set_deleting":
		return []string{ouRequestedDeletion, ouErrorDeleting}, ouDeleting
	case "set_deleted":
		return []string{ouRequested, ouDeleting}, ouDeleted
	case "set_error_creating":
		return []string{ouRequested, ouCreating, ouPendingLinking, ouPendingValidation}, ouErrorCreating
	case "set_error_deleting":
		return []string{ouRequestedDeletion, ouDeleting}, ouErrorDeleting
	}
	return nil, ""
}

// offeringUserStates lists the states in the order of Waldur's FSM integers.
func offeringUserStates() []string {
	return []string{ouRequested, ouCreating, ouPendingLinking, ouPendingValidation, ouOK, ouRequestedDeletion,
		ouDeleting, ouDeleted, ouErrorCreating, ouErrorDeleting}
}

func (s *Server) lookupOfferingUser(c *reqCtx) (*offeringUser, reply, bool) {
	id, ok := c.pathID()
	if !ok {
		return nil, notFound(), false
	}
	ou := s.st.offeringUsers.get(id)
	if ou == nil {
		return nil, notFound(), false
	}
	return ou, reply{}, true
}

func (s *Server) getOfferingUser(c *reqCtx) reply {
	ou, rep, ok := s.lookupOfferingUser(c)
	if !ok {
		return rep
	}
	return c.object(s.renderOfferingUser(ou))
}

func (s *Server) listOfferingUsers(c *reqCtx) reply {
	q := c.query()
	offerings, rep, ok := uuidFilter(q, "offering_uuid", true)
	if !ok {
		return rep
	}
	users, rep, ok := uuidFilter(q, "user_uuid", false)
	if !ok {
		return rep
	}
	states := stringsFilter(q, "state", false)
	usernames := stringsFilter(q, "user_username", false)
	restricted, hasRestricted := boolFilter(q, "is_restricted")
	consent, hasConsent := boolFilter(q, "has_consent")
	var out []*offeringUser
	for _, ou := range s.st.offeringUsers.list {
		switch {
		case !match(offerings, ou.Offering.UUID), !match(users, ou.User.UUID), !match(states, ou.State),
			!match(usernames, ou.User.Username), hasRestricted && ou.IsRestricted != restricted,
			hasConsent && ou.HasConsent != consent:
			continue
		}
		out = append(out, ou)
	}
	// Waldur orders offering users by username; users without one come last.
	sort.SliceStable(out, func(i, j int) bool {
		a, b := out[i].Username, out[j].Username
		if (a == "") != (b == "") {
			return b == ""
		}
		return a < b
	})
	return listReply(c, out, func(ou *offeringUser) any { return s.renderOfferingUser(ou) })
}

// patchOfferingUser sets the username. Like Waldur's model, setting a new
// username on a user that is not yet OK (or deleting) makes it OK, and the
// offering_user username_set event is emitted.
func (s *Server) patchOfferingUser(c *reqCtx) reply {
	ou, rep, ok := s.lookupOfferingUser(c)
	if !ok {
		return rep
	}
	var b struct {
		Username *string `json:"username"`
	}
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	if b.Username != nil && len(*b.Username) > 100 {
		return fieldError("username", "Ensure this field has no more than 100 characters.")
	}
	if b.Username != nil && *b.Username != ou.Username {
		ou.Username = *b.Username
		ou.Modified = c.now
		if ou.Username != "" {
			switch ou.State {
			case ouRequested, ouCreating, ouPendingLinking, ouPendingValidation, ouErrorCreating:
				ou.State = ouOK
			}
			s.emitUsernameSet(c, ou)
		}
	}
	return jsonReply(http.StatusOK, s.renderOfferingUser(ou))
}

func (s *Server) emitUsernameSet(c *reqCtx, ou *offeringUser) {
	ids := []any{}
	for _, r := range s.st.resources.list {
		if r.Offering != ou.Offering || r.State == resTerminated || r.BackendID == "" {
			continue
		}
		if slices.ContainsFunc(r.Project.Members, func(m member) bool { return m.User == ou.User }) {
			ids = append(ids, r.BackendID)
		}
	}
	s.emitLocked(c, "offering_user", ou.Offering.UUID, map[string]any{
		"username": ou.Username, "offering_user_uuid": hexID(ou.UUID), "user_uuid": hexID(ou.User.UUID),
		"state": offeringUserStateNumber(ou.State), "action": "username_set", "resource_backend_ids": ids,
	})
}

// offeringUserStateNumber is the FSM integer of a state name (1 = Requested,
// 5 = OK, ...; 0 if unknown): events carry the number, REST the name.
func offeringUserStateNumber(name string) int {
	return slices.Index(offeringUserStates(), name) + 1
}

func (s *Server) offeringUserAction(action string) handlerFunc {
	from, to := offeringUserTransition(action)
	return func(c *reqCtx) reply {
		ou, rep, ok := s.lookupOfferingUser(c)
		if !ok {
			return rep
		}
		if !slices.Contains(from, ou.State) {
			return c.invalidState(from...)
		}
		switch action {
		case "set_pending_account_linking", "set_pending_additional_validation":
			var b struct {
				Comment    *string `json:"comment"`
				CommentURL *string `json:"comment_url"`
			}
			if rep, ok := c.decode(&b); !ok {
				return rep
			}
			if b.CommentURL != nil && *b.CommentURL != "" && !validURL(*b.CommentURL) {
				return fieldError("comment_url", "Enter a valid URL.")
			}
			if b.Comment != nil {
				ou.Comment = *b.Comment
			}
			if b.CommentURL != nil {
				ou.CommentURL = *b.CommentURL
			}
		case "set_validation_complete":
			ou.Comment, ou.CommentURL = "", ""
		}
		ou.State, ou.Modified = to, c.now
		return reply{status: http.StatusOK}
	}
}

func validURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}
