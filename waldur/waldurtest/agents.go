package waldurtest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"time"

	"github.com/google/uuid"
)

// QueueRemover is an optional capability of a QueueProvisioner: it is told
// when an identity or a legacy subscription is deleted, so it can tear down
// the broker state as Waldur does.
type QueueRemover interface {
	RemoveQueue(ctx context.Context, q Queue) error
}

func (s *Server) lookupIdentity(c *reqCtx) (*identity, reply, bool) {
	id, ok := c.pathID()
	if !ok {
		return nil, notFound(), false
	}
	ident := s.st.identities.get(id)
	if ident == nil {
		return nil, notFound(), false
	}
	return ident, reply{}, true
}

func (s *Server) listIdentities(c *reqCtx) reply {
	q := c.query()
	offerings, rep, ok := uuidFilter(q, "offering_uuid", false)
	if !ok {
		return rep
	}
	names := stringsFilter(q, "name", false)
	var out []*identity
	for _, id := range s.st.identities.list {
		if match(offerings, id.Offering.UUID) && match(names, id.Name) {
			out = append(out, id)
		}
	}
	return listReply(c, out, func(id *identity) any { return s.renderIdentity(id) })
}

func (s *Server) getIdentity(c *reqCtx) reply {
	id, rep, ok := s.lookupIdentity(c)
	if !ok {
		return rep
	}
	return c.object(s.renderIdentity(id))
}

// identityBody is AgentIdentityRequest with presence of each field visible.
type identityBody struct {
	Offering          *string         `json:"offering"`
	Name              *string         `json:"name"`
	Version           *string         `json:"version"`
	Dependencies      json.RawMessage `json:"dependencies"`
	ConfigFilePath    *string         `json:"config_file_path"`
	ConfigFileContent *string         `json:"config_file_content"`
	LastRestarted     *time.Time      `json:"last_restarted"`
}

// apply validates the body and writes it to id (a full replacement, as PUT).
func (s *Server) applyIdentity(c *reqCtx, id *identity) (reply, bool) {
	var b identityBody
	if rep, ok := c.decode(&b); !ok {
		return rep, false
	}
	switch {
	case b.Offering == nil:
		return required("offering"), false
	case b.Name == nil || *b.Name == "":
		return required("name"), false
	case len(*b.Name) > 150:
		return fieldError("name", "Ensure this field has no more than 150 characters."), false
	case b.Version != nil && len(*b.Version) > 100:
		return fieldError("version", "Ensure this field has no more than 100 characters."), false
	case b.ConfigFilePath != nil && len(*b.ConfigFilePath) > 150:
		return fieldError("config_file_path", "Ensure this field has no more than 150 characters."), false
	}
	offID, ok := parseID(*b.Offering)
	if !ok {
		return fieldError("offering", "Must be a valid UUID."), false
	}
	off := s.st.offerings.get(offID)
	if off == nil {
		return fieldError("offering", fmt.Sprintf("Object with uuid=%s does not exist.", *b.Offering)), false
	}
	var deps any
	if len(b.Dependencies) > 0 {
		_ = json.Unmarshal(b.Dependencies, &deps)
	}
	id.Offering, id.Name, id.Version, id.Dependencies = off, *b.Name, b.Version, deps
	id.ConfigFilePath, id.ConfigFileContent, id.LastRestarted = b.ConfigFilePath, b.ConfigFileContent, b.LastRestarted
	id.Modified = c.now
	return reply{}, true
}

func (s *Server) createIdentity(c *reqCtx) reply {
	id := &identity{UUID: uuid.New(), Created: c.now, CreatedBy: c.user}
	if rep, ok := s.applyIdentity(c, id); !ok {
		return rep
	}
	s.st.identities.add(id.UUID, id)
	return jsonReply(http.StatusCreated, s.renderIdentity(id))
}

func (s *Server) updateIdentity(c *reqCtx) reply {
	id, rep, ok := s.lookupIdentity(c)
	if !ok {
		return rep
	}
	next := *id
	if rep, ok := s.applyIdentity(c, &next); !ok {
		return rep
	}
	*id = next
	return jsonReply(http.StatusOK, s.renderIdentity(id))
}

func (s *Server) deleteIdentity(c *reqCtx) reply {
	id, rep, ok := s.lookupIdentity(c)
	if !ok {
		return rep
	}
	for _, sv := range id.services {
		for _, p := range sv.processors {
			s.st.processors.remove(p.UUID)
		}
		s.st.services.remove(sv.UUID)
	}
	s.st.identities.remove(id.UUID)
	if id.queue != nil {
		c.removed = append(c.removed, id.queue.clone())
	}
	return reply{status: http.StatusNoContent}
}

func (s *Server) registerService(c *reqCtx) reply {
	id, rep, ok := s.lookupIdentity(c)
	if !ok {
		return rep
	}
	var b struct {
		Name *string `json:"name"`
		Mode *string `json:"mode"`
	}
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	switch {
	case b.Name == nil || *b.Name == "":
		return required("name")
	case len(*b.Name) > 150:
		return fieldError("name", "Ensure this field has no more than 150 characters.")
	case b.Mode != nil && len(*b.Mode) > 100:
		return fieldError("mode", "Ensure this field has no more than 100 characters.")
	}
	code := http.StatusOK
	i := slices.IndexFunc(id.services, func(sv *service) bool { return sv.Name == *b.Name })
	var sv *service
	if i >= 0 {
		sv = id.services[i]
	} else {
		sv = &service{UUID: uuid.New(), Identity: id, Name: *b.Name, Mode: b.Mode, Created: c.now}
		id.services = append(id.services, sv)
		s.st.services.add(sv.UUID, sv)
		code = http.StatusCreated
	}
	// register_service revives an Idle service.
	sv.State, sv.Modified = "Active", c.now
	return jsonReply(code, s.renderService(sv))
}

func (s *Server) lookupService(c *reqCtx) (*service, reply, bool) {
	id, ok := c.pathID()
	if !ok {
		return nil, notFound(), false
	}
	sv := s.st.services.get(id)
	if sv == nil {
		return nil, notFound(), false
	}
	return sv, reply{}, true
}

// serviceStateFilter maps the integer states of the list filter.
func serviceStateFilter(v string) (string, bool) {
	switch v {
	case "1":
		return "Active", true
	case "2":
		return "Idle", true
	case "3":
		return "Error", true
	}
	return "", false
}

func (s *Server) listServices(c *reqCtx) reply {
	q := c.query()
	identities, rep, ok := uuidFilter(q, "identity_uuid", false)
	if !ok {
		return rep
	}
	var states map[string]bool
	for _, v := range q["state"] {
		st, ok := serviceStateFilter(v)
		if !ok {
			return fieldError("state", fmt.Sprintf("Select a valid choice. %s is not one of the available choices.", v))
		}
		if states == nil {
			states = map[string]bool{}
		}
		states[st] = true
	}
	modes := stringsFilter(q, "mode", false)
	var out []*service
	for _, sv := range s.st.services.list {
		mode := ""
		if sv.Mode != nil {
			mode = *sv.Mode
		}
		if match(identities, sv.Identity.UUID) && match(states, sv.State) && match(modes, mode) {
			out = append(out, sv)
		}
	}
	return listReply(c, out, func(sv *service) any { return s.renderService(sv) })
}

func (s *Server) registerProcessor(c *reqCtx) reply {
	sv, rep, ok := s.lookupService(c)
	if !ok {
		return rep
	}
	var b struct {
		Name           *string `json:"name"`
		BackendType    *string `json:"backend_type"`
		BackendVersion *string `json:"backend_version"`
	}
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	switch {
	case b.Name == nil || *b.Name == "":
		return required("name")
	case b.BackendType == nil || *b.BackendType == "":
		return required("backend_type")
	case len(*b.BackendType) > 100:
		return fieldError("backend_type", "Ensure this field has no more than 100 characters.")
	}
	code := http.StatusOK
	i := slices.IndexFunc(sv.processors, func(p *processor) bool { return p.Name == *b.Name })
	var p *processor
	if i >= 0 {
		p = sv.processors[i]
	} else {
		p = &processor{UUID: uuid.New(), Service: sv, Name: *b.Name, Created: c.now}
		sv.processors = append(sv.processors, p)
		s.st.processors.add(p.UUID, p)
		code = http.StatusCreated
	}
	now := c.now
	p.BackendType, p.BackendVersion, p.LastRun, p.Modified = *b.BackendType, b.BackendVersion, &now, now
	return jsonReply(code, s.renderProcessor(p))
}

func (s *Server) setStatistics(c *reqCtx) reply {
	sv, rep, ok := s.lookupService(c)
	if !ok {
		return rep
	}
	var b struct {
		Statistics map[string]any `json:"statistics"`
	}
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	if b.Statistics == nil {
		return required("statistics")
	}
	sv.Statistics, sv.Modified = b.Statistics, c.now
	return jsonReply(http.StatusOK, s.renderService(sv))
}

func validObjectType(t string) bool { return slices.Contains(objectTypes, t) }

func (s *Server) registerQueue(c *reqCtx) reply {
	id, rep, ok := s.lookupIdentity(c)
	if !ok {
		return rep
	}
	var b struct {
		ObjectTypes *[]string `json:"object_types"`
	}
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	if b.ObjectTypes != nil {
		for _, t := range *b.ObjectTypes {
			if !validObjectType(t) {
				return fieldError("object_types", fmt.Sprintf("%q is not a valid choice.", t))
			}
		}
	}
	code := http.StatusOK
	q := id.queue
	switch {
	case q == nil:
		q = &Queue{
			Identity: id.UUID, Offering: id.Offering.UUID, ObjectTypes: []string{},
			Name: "consumer_" + randomHex(16), VHost: hexID(c.user.UUID), Username: randomHex(16),
			Owner: c.user.UUID,
		}
		id.queue = q
		code = http.StatusCreated
	case q.Owner != c.user.UUID:
		return detail(http.StatusConflict, "This agent identity's event queue belongs to another user.")
	}
	if b.ObjectTypes != nil {
		q.ObjectTypes = slices.Clone(*b.ObjectTypes)
	}
	// Every call sets the broker password to the credential of the request:
	// the PAT or DRF token, and for an OIDC-authenticated call the user's
	// DRF token.
	q.Password = c.cred
	if c.kind == credOIDC {
		q.Password = c.user.Token
	}
	q.Created = code == http.StatusCreated
	c.provision = append(c.provision, q.clone())
	types := q.ObjectTypes
	if len(types) == 0 {
		types = objectTypes
	}
	return jsonReply(code, map[string]any{
		"rmq_username": q.Username, "queue_name": q.Name, "vhost": q.VHost,
		"observable_object_types": slices.Clone(types),
	})
}

func (s *Server) registerEventSubscription(c *reqCtx) reply {
	if _, rep, ok := s.lookupIdentity(c); !ok {
		return rep
	}
	var b struct {
		Type        *string `json:"observable_object_type"`
		Description string  `json:"description"`
	}
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	switch {
	case b.Type == nil:
		return required("observable_object_type")
	case !validObjectType(*b.Type):
		return fieldError("observable_object_type", fmt.Sprintf("%q is not a valid choice.", *b.Type))
	case len(b.Description) > 500:
		return fieldError("description", "Ensure this field has no more than 500 characters.")
	}
	for _, sub := range s.st.subscriptions.list {
		if sub.User == c.user && slices.Equal(sub.ObjectTypes, []string{*b.Type}) {
			return jsonReply(http.StatusOK, s.renderSubscription(sub))
		}
	}
	sub := &subscription{
		UUID: uuid.New(), User: c.user, Description: b.Description, ObjectTypes: []string{*b.Type},
		SourceIP: "127.0.0.1", Created: c.now, Modified: c.now,
		Password: c.user.Token, // the DRF token, whatever authenticated the call
	}
	s.st.subscriptions.add(sub.UUID, sub)
	return jsonReply(http.StatusCreated, s.renderSubscription(sub))
}

func (s *Server) lookupSubscription(c *reqCtx) (*subscription, reply, bool) {
	id, ok := c.pathID()
	if !ok {
		return nil, notFound(), false
	}
	sub := s.st.subscriptions.get(id)
	if sub == nil {
		return nil, notFound(), false
	}
	return sub, reply{}, true
}

func (s *Server) createQueue(c *reqCtx) reply {
	sub, rep, ok := s.lookupSubscription(c)
	if !ok {
		return rep
	}
	var b struct {
		Offering *string `json:"offering_uuid"`
		Type     *string `json:"object_type"`
	}
	if rep, ok := c.decode(&b); !ok {
		return rep
	}
	switch {
	case b.Offering == nil:
		return required("offering_uuid")
	case b.Type == nil:
		return required("object_type")
	case !validObjectType(*b.Type):
		return fieldError("object_type", fmt.Sprintf("%q is not a valid choice.", *b.Type))
	}
	offID, ok := parseID(*b.Offering)
	if !ok {
		return fieldError("offering_uuid", "Must be a valid UUID.")
	}
	if s.st.offerings.get(offID) == nil {
		return fieldError("offering_uuid", "Offering not found.")
	}
	queue := func(q *subscriptionQueue, created bool) Queue {
		return Queue{
			Subscription: sub.UUID, Offering: offID, ObjectTypes: []string{q.ObjectType}, Name: q.Name,
			VHost: q.VHost, Username: hexID(sub.UUID), Password: sub.Password, Owner: sub.User.UUID, Created: created,
		}
	}
	for _, q := range sub.queues {
		if q.Offering == offID && q.ObjectType == *b.Type {
			c.provision = append(c.provision, queue(q, false))
			return jsonReply(http.StatusOK, s.renderSubQueue(q))
		}
	}
	q := &subscriptionQueue{
		UUID: uuid.New(), Subscription: sub, Offering: offID, ObjectType: *b.Type,
		Name:  fmt.Sprintf("subscription_%s_offering_%s_%s", hexID(sub.UUID), hexID(offID), *b.Type),
		VHost: hexID(sub.User.UUID), Created: c.now,
	}
	sub.queues = append(sub.queues, q)
	s.st.subQueues.add(q.UUID, q)
	c.provision = append(c.provision, queue(q, true))
	return jsonReply(http.StatusCreated, s.renderSubQueue(q))
}

func (s *Server) deleteSubscription(c *reqCtx) reply {
	sub, rep, ok := s.lookupSubscription(c)
	if !ok {
		return rep
	}
	for _, q := range sub.queues {
		s.st.subQueues.remove(q.UUID)
		c.removed = append(c.removed, Queue{
			Subscription: sub.UUID, Offering: q.Offering, ObjectTypes: []string{q.ObjectType},
			Name: q.Name, VHost: q.VHost, Username: hexID(sub.UUID), Owner: sub.User.UUID,
		})
	}
	s.st.subscriptions.remove(sub.UUID)
	return reply{status: http.StatusNoContent}
}

// logLevels are the levels a site-agent log record may have.
func validLogLevel(l string) bool {
	return slices.Contains([]string{"DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"}, l)
}

func (s *Server) createLogs(c *reqCtx) reply {
	var items []struct {
		Identity  *string  `json:"agent_identity_uuid"`
		Timestamp *float64 `json:"timestamp"`
		Level     *string  `json:"level"`
		Message   *string  `json:"message"`
		Module    string   `json:"module"`
	}
	if err := json.Unmarshal(c.body, &items); err != nil {
		return jsonReply(http.StatusBadRequest, map[string][]string{
			"non_field_errors": {"Expected a list of items."},
		})
	}
	// Validate everything first: the batch is stored with one bulk insert.
	logs := make([]*agentLog, 0, len(items))
	for i, it := range items {
		fail := func(field, msg string) reply {
			return jsonReply(http.StatusBadRequest, map[string]map[string][]string{
				fmt.Sprint(i): {field: {msg}},
			})
		}
		switch {
		case it.Identity == nil:
			return fail("agent_identity_uuid", "This field is required.")
		case it.Timestamp == nil:
			return fail("timestamp", "This field is required.")
		case it.Level == nil:
			return fail("level", "This field is required.")
		case !validLogLevel(*it.Level):
			return fail("level", fmt.Sprintf("%q is not a valid choice.", *it.Level))
		case it.Message == nil:
			return fail("message", "This field is required.")
		}
		idID, ok := parseID(*it.Identity)
		id := s.st.identities.get(idID)
		if !ok || id == nil {
			return fail("agent_identity_uuid", "Agent identity not found.")
		}
		logs = append(logs, &agentLog{
			UUID: uuid.New(), Identity: id, Timestamp: *it.Timestamp, Level: *it.Level,
			Message: *it.Message, Module: it.Module, Created: c.now,
		})
	}
	out := make([]any, len(logs))
	for i, l := range logs {
		s.st.logs.add(l.UUID, l)
		out[i] = s.renderLog(l)
	}
	return jsonReply(http.StatusCreated, out)
}

func (s *Server) listLogs(c *reqCtx) reply {
	q := c.query()
	identities, rep, ok := uuidFilter(q, "agent_identity_uuid", false)
	if !ok {
		return rep
	}
	offerings, rep, ok := uuidFilter(q, "offering_uuid", false)
	if !ok {
		return rep
	}
	levels := stringsFilter(q, "level", false)
	all := s.st.logs.list
	var out []*agentLog
	for i := len(all) - 1; i >= 0; i-- {
		l := all[i]
		if match(identities, l.Identity.UUID) && match(offerings, l.Identity.Offering.UUID) && match(levels, l.Level) {
			out = append(out, l)
		}
	}
	return listReply(c, out, func(l *agentLog) any { return s.renderLog(l) })
}
