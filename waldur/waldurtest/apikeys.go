package waldurtest

import (
	"fmt"
	"net/http"
	"slices"

	"github.com/google/uuid"
)

// Resource API key states (Waldur 8.1).
const (
	keyCreating = "Creating"
	keyOK       = "OK"
	keyUpdating = "Updating"
	keyErred    = "Erred"
)

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
	if k.State != keyUpdating && k.State != keyErred {
		return c.invalidState(keyUpdating, keyErred)
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
	k.State, k.key, k.ErrorMessage, k.Modified = keyOK, *b.APIKey, "", c.now
	return jsonReply(http.StatusOK, s.renderAPIKey(k))
}

// setAPIKeyErred is refused from OK, so a stale failure cannot break a live key.
func (s *Server) setAPIKeyErred(c *reqCtx) reply {
	k, rep, ok := s.lookupAPIKey(c)
	if !ok {
		return rep
	}
	if k.State != keyCreating && k.State != keyUpdating {
		return c.invalidState(keyCreating, keyUpdating)
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
	k.State, k.ErrorMessage, k.Modified = keyErred, *b.Message, c.now
	return jsonReply(http.StatusOK, s.renderAPIKey(k))
}

// rotateAPIKey is the consumer's request for a new key value.
func (s *Server) rotateAPIKey(c *reqCtx) reply {
	k, rep, ok := s.lookupAPIKey(c)
	if !ok {
		return rep
	}
	if rep, ok := s.requestRotation(c, k); !ok {
		return rep
	}
	return jsonReply(http.StatusAccepted, map[string]string{"status": "Rotation requested."})
}

// requestRotation moves an OK or Erred key of a live resource to Updating and
// emits the resource_api_key_rotation event.
func (s *Server) requestRotation(c *reqCtx, k *apiKey) (reply, bool) {
	if k.State != keyOK && k.State != keyErred {
		return c.invalidState(keyOK, keyErred), false
	}
	if st := k.Resource.State; st == resTerminating || st == resTerminated {
		return c.invalidState(resCreating, resOK, resErred, resUpdating), false
	}
	k.State, k.Modified = keyUpdating, c.now
	r := k.Resource
	s.emitLocked(c, "resource_api_key_rotation", r.Offering.UUID, map[string]any{
		"action": "rotate", "resource_uuid": hexID(r.UUID), "resource_backend_id": r.BackendID,
		"api_key_uuid": hexID(k.UUID), "client_id": k.ClientID,
	})
	return reply{}, true
}
