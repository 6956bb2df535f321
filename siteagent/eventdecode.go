package siteagent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// ErrMalformedEvent is wrapped by DecodeEvent's errors: the message is not a
// JSON object, or lacks what identifies its object. Such a message can never
// be processed, so sources reject it without requeueing (dead-letter).
var ErrMalformedEvent = errors.New("siteagent: malformed event")

// DecodeEvent decodes a message body from Waldur's broker into an Event. It
// reads the unified form (register_queue queues, with object_type) and the
// legacy form, whose object type the queue name tells: pass it as objectType
// (it is ignored when the payload names its own). Unknown object types decode
// with a nil Payload; unknown keys are ignored; values of unexpected types are
// treated as absent. Only a body that is not a JSON object, or that lacks the
// UUID of the object it is about, is an error (wrapping ErrMalformedEvent).
func DecodeEvent(body []byte, objectType waldur.ObservableObjectType) (Event, error) {
	var m fields
	if err := json.Unmarshal(body, &m); err != nil || m == nil {
		return Event{}, fmt.Errorf("%w: not a JSON object", ErrMalformedEvent)
	}
	e := Event{
		ObjectType:    waldur.ObservableObjectType(m.str("object_type")),
		OfferingUUID:  m.uuid("offering_uuid"),
		EventType:     m.str("event_type"),
		SchemaVersion: m.integer("schema_version"),
	}
	if e.ObjectType == "" {
		e.ObjectType = objectType
	}
	if e.ObjectType == "" {
		return Event{}, fmt.Errorf("%w: no object_type", ErrMalformedEvent)
	}
	p, err := decodePayload(e.ObjectType, m)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %s: %v", ErrMalformedEvent, e.ObjectType, err)
	}
	e.Payload = p
	return e, nil
}

// decodePayload builds the payload of an object type: nil for a type this
// version does not know, an error when the payload lacks its identifying key.
func decodePayload(t waldur.ObservableObjectType, m fields) (any, error) {
	switch t {
	case waldur.ObservableObjectTypeOrder:
		p := &OrderEvent{
			OrderUUID:         m.uuid("order_uuid"),
			OrderState:        waldur.OrderState(m.str("order_state")),
			Action:            m.str("action"),
			SequenceNumber:    m.integer("sequence_number"),
			OrderType:         waldur.OrderType(m.str("order_type")),
			ResourceUUID:      m.uuid("resource_uuid"),
			ResourceBackendID: m.str("resource_backend_id"),
			ResourceName:      m.str("resource_name"),
			ProjectUUID:       m.uuid("project_uuid"),
			ProjectName:       m.str("project_name"),
			PlanUUID:          m.uuid("plan_uuid"),
			Attributes:        m.object("attributes"),
			Limits:            m.limits("limits"),
		}
		return p, require("order_uuid", p.OrderUUID)
	case waldur.ObservableObjectTypeUserRole:
		p := &UserRoleEvent{
			UserUUID:     m.uuid("user_uuid"),
			Username:     m.str("user_username"),
			ProjectUUID:  m.uuid("project_uuid"),
			ProjectName:  m.str("project_name"),
			RoleName:     m.str("role_name"),
			Granted:      m.optBool("granted"),
			ResourceUUID: m.uuid("resource_uuid"),
			Email:        m.firstStr("user_email", "email"),
			FullName:     m.firstStr("user_full_name", "full_name"),
			ScopeType:    m.str("scope_type"),
			ScopeUUID:    m.uuid("scope_uuid"),
			ScopeName:    m.str("scope_name"),
		}
		if p.ProjectUUID == (waldur.UUID{}) && p.ScopeUUID == (waldur.UUID{}) {
			return p, errors.New("no project_uuid or scope_uuid")
		}
		return p, nil
	case waldur.ObservableObjectTypeResource:
		p := &ResourceEvent{
			ResourceUUID:         m.uuid("resource_uuid"),
			BackendID:            m.str("resource_backend_id"),
			Paused:               m.bool("paused"),
			Downscaled:           m.bool("downscaled"),
			RestrictMemberAccess: m.bool("restrict_member_access"),
			Limits:               m.limits("limits"),
			ResourceName:         m.str("resource_name"),
			ResourceState:        waldur.ResourceState(m.str("resource_state")),
			ProjectUUID:          m.uuid("project_uuid"),
			ProjectName:          m.str("project_name"),
		}
		return p, require("resource_uuid", p.ResourceUUID)
	case waldur.ObservableObjectTypeOfferingUser:
		p := &OfferingUserEvent{
			OfferingUserUUID:   m.uuid("offering_user_uuid"),
			UserUUID:           m.uuid("user_uuid"),
			Username:           m.str("username"),
			State:              m.str("state"),
			Action:             m.str("action"),
			ResourceBackendIDs: m.strings("resource_backend_ids"),
			Attributes:         m.object("attributes"),
			ChangedFields:      m.strings("changed_fields"),
			ChangedAttributes:  m.strings("changed_attributes"),
		}
		if p.OfferingUserUUID == (waldur.UUID{}) && p.UserUUID == (waldur.UUID{}) {
			return p, errors.New("no offering_user_uuid or user_uuid")
		}
		return p, nil
	case waldur.ObservableObjectTypeServiceAccount, waldur.ObservableObjectTypeCourseAccount:
		return decodeAccount(m)
	case waldur.ObservableObjectTypeImportableResources:
		p := &ImportableResourcesEvent{BackendResourceRequestUUID: m.uuid("backend_resource_request_uuid")}
		return p, require("backend_resource_request_uuid", p.BackendResourceRequestUUID)
	case waldur.ObservableObjectTypeResourcePeriodicLimits:
		p := &PeriodicLimitsEvent{
			ResourceUUID: m.uuid("resource_uuid"),
			BackendID:    m.str("backend_id"),
			PolicyUUID:   m.uuid("policy_uuid"),
			Action:       m.str("action"),
			Timestamp:    m.timestamp("timestamp"),
			Settings:     m.object("settings"),
		}
		return p, require("resource_uuid", p.ResourceUUID)
	case waldur.ObservableObjectTypeOfferingResourcesSync:
		return &OfferingSyncEvent{RequestedByUserUUID: m.uuid("requested_by_user_uuid")}, nil
	case waldur.ObservableObjectTypeResourceAPIKeyRotation:
		p := &APIKeyRotationEvent{
			Action:            m.str("action"),
			ResourceUUID:      m.uuid("resource_uuid"),
			ResourceBackendID: m.str("resource_backend_id"),
			APIKeyUUID:        m.uuid("api_key_uuid"),
			ClientID:          m.str("client_id"),
		}
		return p, require("api_key_uuid", p.APIKeyUUID)
	case waldur.ObservableObjectTypeResourceEndDateChangeRequest:
		return &EndDateChangeEvent{ResourceUUID: m.uuid("resource_uuid")}, nil
	case waldur.ObservableObjectTypeUserProfile:
		p := &UserProfileEvent{
			UserUUID: m.uuid("user_uuid"),
			Username: m.str("user_username"),
			Email:    m.str("email"),
			FullName: m.str("full_name"),
			Changed:  m.changes("changed"),
		}
		return p, require("user_uuid", p.UserUUID)
	case waldur.ObservableObjectTypeUserLifecycle:
		p := &UserLifecycleEvent{
			UserUUID: m.uuid("user_uuid"),
			Username: m.str("user_username"),
			Email:    m.str("email"),
			FullName: m.str("full_name"),
			IsActive: m.optBool("is_active"),
			Action:   m.str("action"),
		}
		return p, require("user_uuid", p.UserUUID)
	case waldur.ObservableObjectTypeUserSSHKey:
		p := &UserSSHKeyEvent{
			UserUUID:          m.uuid("user_uuid"),
			Username:          m.str("user_username"),
			SSHKeyUUID:        m.uuid("ssh_key_uuid"),
			Name:              m.str("name"),
			FingerprintSHA256: m.str("fingerprint_sha256"),
			PublicKey:         m.str("public_key"),
			Action:            m.str("action"),
		}
		return p, require("user_uuid", p.UserUUID)
	}
	return nil, nil
}

func decodeAccount(m fields) (any, error) {
	p := &AccountEvent{
		AccountUUID:     m.uuid("account_uuid"),
		AccountUsername: m.str("account_username"),
		ScopeType:       m.str("scope_type"),
		ProjectUUID:     m.uuid("project_uuid"),
		ProjectName:     m.str("project_name"),
		Action:          m.str("action"),
	}
	return p, require("account_uuid", p.AccountUUID)
}

func require(key string, id waldur.UUID) error {
	if id == (waldur.UUID{}) {
		return fmt.Errorf("no valid %s", key)
	}
	return nil
}

// fields is a JSON object read leniently: a key whose value has an unexpected
// type reads as absent.
type fields map[string]json.RawMessage

func (m fields) str(key string) string {
	var s string
	if json.Unmarshal(m[key], &s) != nil {
		return ""
	}
	return s
}

func (m fields) firstStr(keys ...string) string {
	for _, k := range keys {
		if s := m.str(k); s != "" {
			return s
		}
	}
	return ""
}

func (m fields) uuid(key string) waldur.UUID {
	id, err := waldur.ParseUUID(m.str(key))
	if err != nil {
		return waldur.UUID{}
	}
	return id
}

func (m fields) bool(key string) bool {
	var b bool
	_ = json.Unmarshal(m[key], &b)
	return b
}

func (m fields) optBool(key string) *bool {
	var b bool
	if json.Unmarshal(m[key], &b) != nil {
		return nil
	}
	return &b
}

// int reads an integer sent as a number or a numeric string.
func (m fields) integer(key string) int {
	raw := bytes.Trim(m[key], `"`)
	n, err := strconv.Atoi(string(raw))
	if err != nil {
		return 0
	}
	return n
}

func (m fields) timestamp(key string) time.Time {
	var t time.Time
	_ = json.Unmarshal(m[key], &t)
	return t
}

func (m fields) object(key string) map[string]any {
	var o map[string]any
	if json.Unmarshal(m[key], &o) != nil {
		return nil
	}
	return o
}

func (m fields) strings(key string) []string {
	var raw []json.RawMessage
	if json.Unmarshal(m[key], &raw) != nil {
		return nil
	}
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		var s string
		if json.Unmarshal(r, &s) == nil {
			out = append(out, s)
		}
	}
	return out
}

// limits reads {component: amount}; Waldur sends integers, but a decimal
// amount is rounded rather than dropped.
func (m fields) limits(key string) map[string]int64 {
	var raw map[string]json.RawMessage
	if json.Unmarshal(m[key], &raw) != nil || raw == nil {
		return nil
	}
	out := make(map[string]int64, len(raw))
	for k, v := range raw {
		var f float64
		if json.Unmarshal(bytes.Trim(v, `"`), &f) != nil || math.IsNaN(f) || math.Abs(f) > math.MaxInt64/2 {
			continue
		}
		out[k] = int64(math.Round(f))
	}
	return out
}

// changes reads {field: [old, new]}.
func (m fields) changes(key string) map[string][2]any {
	var raw map[string][]any
	if json.Unmarshal(m[key], &raw) != nil || raw == nil {
		return nil
	}
	out := make(map[string][2]any, len(raw))
	for k, v := range raw {
		var pair [2]any
		copy(pair[:], v)
		out[k] = pair
	}
	return out
}
