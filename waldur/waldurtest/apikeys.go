package waldurtest

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/google/uuid"
)

// Resource API key states (Waldur 8.1; Paused, Deleting and Deleted newer
// than 8.1.2).
const (
	keyCreating = "Creating"
	keyOK       = "OK"
	keyUpdating = "Updating"
	keyErred    = "Erred"
	keyPaused   = "Paused"
	keyDeleting = "Deleting"
	keyDeleted  = "Deleted"
)

// keyCommand is what a command on a key requires and does: the states it
// may be requested from, the transitional state it puts the key in until
// the agent acknowledges it, and the acknowledgement that settles it.
type keyCommand struct {
	from    []string
	pending string
	ack     string
}

// keyCommands are the commands Waldur sends the agent about a key, as the
// event's action and the key's pending_action.
var keyCommands = map[string]keyCommand{
	"create": {from: []string{keyCreating}, pending: keyCreating, ack: "set_key"},
	"rotate": {from: []string{keyOK, keyErred}, pending: keyUpdating, ack: "set_key"},
	"pause":  {from: []string{keyOK}, pending: keyUpdating, ack: "set_paused"},
	"resume": {from: []string{keyPaused}, pending: keyUpdating, ack: "set_ok"},
	"update": {from: []string{keyOK}, pending: keyUpdating, ack: "set_ok"},
	"delete": {from: []string{keyOK, keyPaused, keyErred}, pending: keyDeleting, ack: "set_deleted"},
}

// settles checks that acknowledgement ack may settle k: the key is in one
// of the states given, and its pending action (when it has one) is settled
// by ack. A wrong state answers 409 (or 400, see WithInvalidStateStatus), a
// wrong pending action 400.
func (c *reqCtx) settles(k *apiKey, ack string, states ...string) (reply, bool) {
	if !slices.Contains(states, k.State) {
		return c.invalidState(states...), false
	}
	if k.PendingAction != "" && keyCommands[k.PendingAction].ack != ack {
		return detail(http.StatusBadRequest, fmt.Sprintf("The pending action of this key is %s; it is not settled by %s.",
			k.PendingAction, ack)), false
	}
	return reply{}, true
}

// settle moves k to state, clearing its pending command and error.
func settle(c *reqCtx, k *apiKey, state string) {
	k.State, k.PendingAction, k.ErrorMessage, k.Modified = state, "", "", c.now
}

func (s *Server) lookupAPIKey(c *reqCtx) (*apiKey, reply, bool) {
	id, ok := c.pathID()
	if !ok {
		return nil, notFound(), false
	}
	k := s.st.apiKeys.get(id)
	if k == nil {
		return nil, notFound(), false
	}
	return k, reply{}, true
}

func (s *Server) getAPIKey(c *reqCtx) reply {
	k, rep, ok := s.lookupAPIKey(c)
	if !ok {
		return rep
	}
	return c.object(s.renderAPIKey(k))
}

func (s *Server) listAPIKeys(c *reqCtx) reply {
	q := c.query()
	resources, rep, ok := uuidFilter(q, "resource_uuid", false)
	if !ok {
		return rep
	}
	offerings, rep, ok := uuidFilter(q, "offering_uuid", false)
	if !ok {
		return rep
	}
	tf, rep, ok := parseTimeFilters(q)
	if !ok {
		return rep
	}
	states := stringsFilter(q, "state", false)
	var out []*apiKey
	for _, k := range s.st.apiKeys.list {
		if match(resources, k.Resource.UUID) && match(offerings, k.Resource.Offering.UUID) &&
			match(states, k.State) && tf.match(k.Created, k.Modified) {
			out = append(out, k)
		}
	}
	return listReply(c, out, func(k *apiKey) any { return s.renderAPIKey(k) })
}

// reportAPIKeyCreated records a key the agent generated and applied. It is
// idempotent per (resource, client_id).
func (s *Server) reportAPIKeyCreated(c *reqCtx) reply {
	var b struct {
		Resource *string `json:"resource"`
		ClientID *string `json:"client_id"`
		APIKey   *string `json:"api_key"`
	}
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	switch {
	case b.Resource == nil:
		return required("resource")
	case b.ClientID == nil || *b.ClientID == "":
		return required("client_id")
	case b.APIKey == nil || *b.APIKey == "":
		return required("api_key")
	}
	id, ok := parseID(*b.Resource)
	r := s.st.resources.get(id)
	if !ok || r == nil {
		return fieldError("resource", fmt.Sprintf("Object with uuid=%s does not exist.", *b.Resource))
	}
	if r.State == resTerminating || r.State == resTerminated {
		return c.invalidState(resCreating, resOK, resErred, resUpdating)
	}
	i := slices.IndexFunc(r.apiKeys, func(k *apiKey) bool { return k.ClientID == *b.ClientID })
	var k *apiKey
	if i >= 0 {
		k = r.apiKeys[i]
	} else {
		k = &apiKey{UUID: uuid.New(), Resource: r, ClientID: *b.ClientID, Created: c.now}
		r.apiKeys = append(r.apiKeys, k)
		s.st.apiKeys.add(k.UUID, k)
	}
	if k.State == "" || k.State == keyCreating {
		k.State, k.key, k.ErrorMessage, k.Modified = keyOK, *b.APIKey, "", c.now
	}
	return jsonReply(http.StatusCreated, s.renderAPIKey(k))
}

func (s *Server) setAPIKey(c *reqCtx) reply {
	k, rep, ok := s.lookupAPIKey(c)
	if !ok {
		return rep
	}
	if rep, ok := c.settles(k, "set_key", keyCreating, keyUpdating, keyErred); !ok {
		return rep
	}
	var b struct {
		APIKey   *string `json:"api_key"`
		ClientID *string `json:"client_id"`
	}
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	if b.APIKey == nil || *b.APIKey == "" {
		return required("api_key")
	}
	if b.ClientID != nil && *b.ClientID != "" && *b.ClientID != k.ClientID {
		for _, sib := range k.Resource.apiKeys {
			if sib != k && sib.ClientID == *b.ClientID {
				return fieldError("client_id", "Another key of this resource already uses this client_id.")
			}
		}
		k.ClientID = *b.ClientID
	}
	k.key = *b.APIKey
	settle(c, k, keyOK)
	return jsonReply(http.StatusOK, s.renderAPIKey(k))
}

// setAPIKeyOK settles an update or a resume.
func (s *Server) setAPIKeyOK(c *reqCtx) reply {
	return s.acknowledge(c, "set_ok", keyOK, keyUpdating)
}

// setAPIKeyPaused settles a pause.
func (s *Server) setAPIKeyPaused(c *reqCtx) reply {
	return s.acknowledge(c, "set_paused", keyPaused, keyUpdating)
}

// setAPIKeyDeleted settles a delete.
func (s *Server) setAPIKeyDeleted(c *reqCtx) reply {
	return s.acknowledge(c, "set_deleted", keyDeleted, keyDeleting)
}

// acknowledge settles the pending command of a key in state from with ack,
// moving it to state to. A key without a pending command cannot be settled
// by these acknowledgements.
func (s *Server) acknowledge(c *reqCtx, ack, to, from string) reply {
	k, rep, ok := s.lookupAPIKey(c)
	if !ok {
		return rep
	}
	if rep, ok := c.settles(k, ack, from); !ok {
		return rep
	}
	if k.PendingAction == "" {
		return detail(http.StatusBadRequest, "This key has no pending action.")
	}
	settle(c, k, to)
	return jsonReply(http.StatusOK, s.renderAPIKey(k))
}

// setAPIKeyErred is refused from OK, so a stale failure cannot break a live key.
func (s *Server) setAPIKeyErred(c *reqCtx) reply {
	k, rep, ok := s.lookupAPIKey(c)
	if !ok {
		return rep
	}
	if k.State != keyCreating && k.State != keyUpdating && k.State != keyDeleting {
		return c.invalidState(keyCreating, keyUpdating, keyDeleting)
	}
	var b struct {
		Message *string `json:"error_message"`
	}
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	if b.Message == nil {
		return required("error_message")
	}
	settle(c, k, keyErred)
	k.ErrorMessage = *b.Message
	return jsonReply(http.StatusOK, s.renderAPIKey(k))
}

// rotateAPIKey is the consumer's request for a new key value.
func (s *Server) rotateAPIKey(c *reqCtx) reply {
	k, rep, ok := s.lookupAPIKey(c)
	if !ok {
		return rep
	}
	if rep, ok := s.requestCommand(c, k, "rotate"); !ok {
		return rep
	}
	return jsonReply(http.StatusAccepted, map[string]string{"status": "Rotation requested."})
}

// requestCommand puts a key of a live resource into the transitional state
// of command action, records the action as its pending_action and emits the
// resource_api_key_rotation event carrying it.
func (s *Server) requestCommand(c *reqCtx, k *apiKey, action string) (reply, bool) {
	cmd, ok := keyCommands[action]
	if !ok {
		return fieldError("action", fmt.Sprintf("%q is not a valid choice.", action)), false
	}
	if !slices.Contains(cmd.from, k.State) || action == "create" && k.PendingAction != "" {
		return c.invalidState(cmd.from...), false
	}
	if st := k.Resource.State; st == resTerminating || st == resTerminated {
		return c.invalidState(resCreating, resOK, resErred, resUpdating), false
	}
	k.State, k.PendingAction, k.Modified = cmd.pending, action, c.now
	r := k.Resource
	s.emitLocked(c, "resource_api_key_rotation", r.Offering.UUID, map[string]any{
		"action": action, "resource_uuid": hexID(r.UUID), "resource_backend_id": r.BackendID,
		"api_key_uuid": hexID(k.UUID), "client_id": k.ClientID,
	})
	return reply{}, true
}
