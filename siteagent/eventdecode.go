package siteagent

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strconv"
	"time"

	"github.com/google/uuid"

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
	var w wire
	if !isObject(body) || json.Unmarshal(body, &w) != nil {
		return Event{}, fmt.Errorf("%w: not a JSON object", ErrMalformedEvent)
	}
	e := Event{
		ObjectType:    waldur.ObservableObjectType(w.ObjectType),
		OfferingUUID:  waldur.UUID(w.OfferingUUID),
		EventType:     string(w.EventType),
		SchemaVersion: int(w.SchemaVersion),
	}
	if e.ObjectType == "" {
		e.ObjectType = objectType
	}
	if e.ObjectType == "" {
		return Event{}, fmt.Errorf("%w: no object_type", ErrMalformedEvent)
	}
	p, err := w.payload(e.ObjectType)
	if err != nil {
		return Event{}, fmt.Errorf("%w: %s: %v", ErrMalformedEvent, e.ObjectType, err)
	}
	e.Payload = p
	return e, nil
}

// isObject reports whether body starts like a JSON object; json.Unmarshal
// into a struct would accept null.
func isObject(body []byte) bool {
	b := bytes.TrimLeft(body, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// wire holds every key any event payload has, read in one pass. Its field
// types never fail: a value of an unexpected type reads as absent.
type wire struct {
	ObjectType    lstr  `json:"object_type"`
	OfferingUUID  luuid `json:"offering_uuid"`
	EventType     lstr  `json:"event_type"`
	SchemaVersion lint  `json:"schema_version"`
	Action        lstr  `json:"action"`

	OrderUUID         luuid    `json:"order_uuid"`
	OrderState        lstr     `json:"order_state"`
	SequenceNumber    lint     `json:"sequence_number"`
	OrderType         lstr     `json:"order_type"`
	ResourceUUID      luuid    `json:"resource_uuid"`
	ResourceBackendID lstr     `json:"resource_backend_id"`
	ResourceName      lstr     `json:"resource_name"`
	ResourceState     lstr     `json:"resource_state"`
	ProjectUUID       luuid    `json:"project_uuid"`
	ProjectName       lstr     `json:"project_name"`
	PlanUUID          luuid    `json:"plan_uuid"`
	Attributes        lobject  `json:"attributes"`
	Limits            llimits  `json:"limits"`
	BackendID         lstr     `json:"backend_id"`
	Paused            lbool    `json:"paused"`
	Downscaled        lbool    `json:"downscaled"`
	RestrictAccess    lbool    `json:"restrict_member_access"`
	UserUUID          luuid    `json:"user_uuid"`
	UserUsername      lstr     `json:"user_username"`
	UserEmail         lstr     `json:"user_email"`
	UserFullName      lstr     `json:"user_full_name"`
	Email             lstr     `json:"email"`
	FullName          lstr     `json:"full_name"`
	RoleName          lstr     `json:"role_name"`
	Granted           lbool    `json:"granted"`
	ScopeType         lstr     `json:"scope_type"`
	ScopeUUID         luuid    `json:"scope_uuid"`
	ScopeName         lstr     `json:"scope_name"`
	Username          lstr     `json:"username"`
	OfferingUserUUID  luuid    `json:"offering_user_uuid"`
	State             lstate   `json:"state"`
	BackendIDs        lstrings `json:"resource_backend_ids"`
	ChangedFields     lstrings `json:"changed_fields"`
	ChangedAttributes lstrings `json:"changed_attributes"`
	AccountUUID       luuid    `json:"account_uuid"`
	AccountUsername   lstr     `json:"account_username"`
	RequestUUID       luuid    `json:"backend_resource_request_uuid"`
	PolicyUUID        luuid    `json:"policy_uuid"`
	Timestamp         ltime    `json:"timestamp"`
	Settings          lobject  `json:"settings"`
	RequestedBy       luuid    `json:"requested_by_user_uuid"`
	APIKeyUUID        luuid    `json:"api_key_uuid"`
	ClientID          lstr     `json:"client_id"`
	Changed           lchanges `json:"changed"`
	IsActive          lbool    `json:"is_active"`
	SSHKeyUUID        luuid    `json:"ssh_key_uuid"`
	Name              lstr     `json:"name"`
	Fingerprint       lstr     `json:"fingerprint_sha256"`
	PublicKey         lstr     `json:"public_key"`
}

// payload builds the payload of an object type: nil for a type this version
// does not know, an error when the payload lacks its identifying key.
func (w *wire) payload(t waldur.ObservableObjectType) (any, error) {
	switch t {
	case waldur.ObservableObjectTypeOrder:
		p := &OrderEvent{
			OrderUUID:         waldur.UUID(w.OrderUUID),
			OrderState:        waldur.OrderState(w.OrderState),
			Action:            string(w.Action),
			SequenceNumber:    int(w.SequenceNumber),
			OrderType:         waldur.OrderType(w.OrderType),
			ResourceUUID:      waldur.UUID(w.ResourceUUID),
			ResourceBackendID: string(w.ResourceBackendID),
			ResourceName:      string(w.ResourceName),
			ProjectUUID:       waldur.UUID(w.ProjectUUID),
			ProjectName:       string(w.ProjectName),
			PlanUUID:          waldur.UUID(w.PlanUUID),
			Attributes:        w.Attributes,
			Limits:            w.Limits,
		}
		return p, require("order_uuid", p.OrderUUID)
	case waldur.ObservableObjectTypeUserRole:
		p := &UserRoleEvent{
			UserUUID:     waldur.UUID(w.UserUUID),
			Username:     string(w.UserUsername),
			ProjectUUID:  waldur.UUID(w.ProjectUUID),
			ProjectName:  string(w.ProjectName),
			RoleName:     string(w.RoleName),
			Granted:      w.Granted.ptr(),
			ResourceUUID: waldur.UUID(w.ResourceUUID),
			Email:        first(w.UserEmail, w.Email),
			FullName:     first(w.UserFullName, w.FullName),
			ScopeType:    string(w.ScopeType),
			ScopeUUID:    waldur.UUID(w.ScopeUUID),
			ScopeName:    string(w.ScopeName),
		}
		if p.ProjectUUID == (waldur.UUID{}) && p.ScopeUUID == (waldur.UUID{}) {
			return p, errors.New("no project_uuid or scope_uuid")
		}
		return p, nil
	case waldur.ObservableObjectTypeResource:
		p := &ResourceEvent{
			ResourceUUID:         waldur.UUID(w.ResourceUUID),
			BackendID:            string(w.ResourceBackendID),
			Paused:               w.Paused.v,
			Downscaled:           w.Downscaled.v,
			RestrictMemberAccess: w.RestrictAccess.v,
			Limits:               w.Limits,
			ResourceName:         string(w.ResourceName),
			ResourceState:        waldur.ResourceState(w.ResourceState),
			ProjectUUID:          waldur.UUID(w.ProjectUUID),
			ProjectName:          string(w.ProjectName),
		}
		return p, require("resource_uuid", p.ResourceUUID)
	case waldur.ObservableObjectTypeOfferingUser:
		p := &OfferingUserEvent{
			OfferingUserUUID:   waldur.UUID(w.OfferingUserUUID),
			UserUUID:           waldur.UUID(w.UserUUID),
			Username:           string(w.Username),
			State:              string(w.State),
			Action:             string(w.Action),
			ResourceBackendIDs: w.BackendIDs,
			Attributes:         w.Attributes,
			ChangedFields:      w.ChangedFields,
			ChangedAttributes:  w.ChangedAttributes,
		}
		if p.OfferingUserUUID == (waldur.UUID{}) && p.UserUUID == (waldur.UUID{}) {
			return p, errors.New("no offering_user_uuid or user_uuid")
		}
		return p, nil
	case waldur.ObservableObjectTypeServiceAccount, waldur.ObservableObjectTypeCourseAccount:
		p := &AccountEvent{
			AccountUUID:     waldur.UUID(w.AccountUUID),
			AccountUsername: string(w.AccountUsername),
			ScopeType:       string(w.ScopeType),
			ProjectUUID:     waldur.UUID(w.ProjectUUID),
			ProjectName:     string(w.ProjectName),
			Action:          string(w.Action),
		}
		return p, require("account_uuid", p.AccountUUID)
	case waldur.ObservableObjectTypeImportableResources:
		p := &ImportableResourcesEvent{BackendResourceRequestUUID: waldur.UUID(w.RequestUUID)}
		return p, require("backend_resource_request_uuid", p.BackendResourceRequestUUID)
	case waldur.ObservableObjectTypeResourcePeriodicLimits:
		p := &PeriodicLimitsEvent{
			ResourceUUID: waldur.UUID(w.ResourceUUID),
			BackendID:    string(w.BackendID),
			PolicyUUID:   waldur.UUID(w.PolicyUUID),
			Action:       string(w.Action),
			Timestamp:    time.Time(w.Timestamp),
			Settings:     w.Settings,
		}
		return p, require("resource_uuid", p.ResourceUUID)
	case waldur.ObservableObjectTypeOfferingResourcesSync:
		return &OfferingSyncEvent{RequestedByUserUUID: waldur.UUID(w.RequestedBy)}, nil
	case waldur.ObservableObjectTypeResourceAPIKeyRotation:
		p := &APIKeyRotationEvent{
			Action:            string(w.Action),
			ResourceUUID:      waldur.UUID(w.ResourceUUID),
			ResourceBackendID: string(w.ResourceBackendID),
			APIKeyUUID:        waldur.UUID(w.APIKeyUUID),
			ClientID:          string(w.ClientID),
		}
		return p, require("api_key_uuid", p.APIKeyUUID)
	case waldur.ObservableObjectTypeResourceEndDateChangeRequest:
		return &EndDateChangeEvent{ResourceUUID: waldur.UUID(w.ResourceUUID)}, nil
	case waldur.ObservableObjectTypeUserProfile:
		p := &UserProfileEvent{
			UserUUID: waldur.UUID(w.UserUUID),
			Username: string(w.UserUsername),
			Email:    string(w.Email),
			FullName: string(w.FullName),
			Changed:  w.Changed,
		}
		return p, require("user_uuid", p.UserUUID)
	case waldur.ObservableObjectTypeUserLifecycle:
		p := &UserLifecycleEvent{
			UserUUID: waldur.UUID(w.UserUUID),
			Username: string(w.UserUsername),
			Email:    string(w.Email),
			FullName: string(w.FullName),
			IsActive: w.IsActive.ptr(),
			Action:   string(w.Action),
		}
		return p, require("user_uuid", p.UserUUID)
	case waldur.ObservableObjectTypeUserSSHKey:
		p := &UserSSHKeyEvent{
			UserUUID:          waldur.UUID(w.UserUUID),
			Username:          string(w.UserUsername),
			SSHKeyUUID:        waldur.UUID(w.SSHKeyUUID),
			Name:              string(w.Name),
			FingerprintSHA256: string(w.Fingerprint),
			PublicKey:         string(w.PublicKey),
			Action:            string(w.Action),
		}
		return p, require("user_uuid", p.UserUUID)
	}
	return nil, nil
}

func require(key string, id waldur.UUID) error {
	if id == (waldur.UUID{}) {
		return fmt.Errorf("no valid %s", key)
	}
	return nil
}

func first(a, b lstr) string {
	if a != "" {
		return string(a)
	}
	return string(b)
}

// Lenient field types: UnmarshalJSON never fails; a value of another JSON type
// (or null) leaves the zero value.

type lstr string

func (s *lstr) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' {
		return nil
	}
	if bytes.IndexByte(b, '\\') < 0 {
		*s = lstr(b[1 : len(b)-1]) // no escapes: skip the decoder
		return nil
	}
	var v string
	if json.Unmarshal(b, &v) == nil {
		*s = lstr(v)
	}
	return nil
}

// lstate reads an offering user's state: Waldur's events carry the FSM
// integer (5 = OK), REST and older fixtures the name. Numbers are mapped to
// names; an unknown number reads as absent.
type lstate string

func (s *lstate) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		return (*lstr)(s).UnmarshalJSON(b)
	}
	n, err := strconv.Atoi(string(b))
	if err == nil && n >= 1 && n <= len(offeringUserFSM) {
		*s = lstate(offeringUserFSM[n-1])
	}
	return nil
}

// offeringUserFSM are the offering user states by Waldur's FSM integer, from 1.
var offeringUserFSM = [...]waldur.OfferingUserState{
	waldur.OfferingUserStateRequested,
	waldur.OfferingUserStateCreating,
	waldur.OfferingUserStatePendingAccountLinking,
	waldur.OfferingUserStatePendingAdditionalValidation,
	waldur.OfferingUserStateOK,
	waldur.OfferingUserStateRequestedDeletion,
	waldur.OfferingUserStateDeleting,
	waldur.OfferingUserStateDeleted,
	waldur.OfferingUserStateErrorCreating,
	waldur.OfferingUserStateErrorDeleting,
}

type luuid waldur.UUID

func (u *luuid) UnmarshalJSON(b []byte) error {
	if len(b) < 2 || b[0] != '"' {
		return nil
	}
	if id, err := uuid.ParseBytes(b[1 : len(b)-1]); err == nil && len(b)-2 >= 32 {
		*u = luuid(id)
	}
	return nil
}

// lint reads an integer sent as a number or a numeric string.
type lint int

func (n *lint) UnmarshalJSON(b []byte) error {
	if v, err := strconv.Atoi(string(bytes.Trim(b, `"`))); err == nil {
		*n = lint(v)
	}
	return nil
}

// lbool remembers whether the key was present with a boolean.
type lbool struct{ v, set bool }

func (x *lbool) UnmarshalJSON(b []byte) error {
	switch string(b) {
	case "true":
		*x = lbool{v: true, set: true}
	case "false":
		*x = lbool{set: true}
	}
	return nil
}

func (x lbool) ptr() *bool {
	if !x.set {
		return nil
	}
	return &x.v
}

type ltime time.Time

func (t *ltime) UnmarshalJSON(b []byte) error {
	var v time.Time
	if json.Unmarshal(b, &v) == nil {
		*t = ltime(v)
	}
	return nil
}

type lobject map[string]any

func (o *lobject) UnmarshalJSON(b []byte) error {
	var v map[string]any
	if json.Unmarshal(b, &v) == nil {
		*o = v
	}
	return nil
}

type lstrings []string

func (l *lstrings) UnmarshalJSON(b []byte) error {
	var raw []json.RawMessage
	if json.Unmarshal(b, &raw) != nil {
		return nil
	}
	out := make([]string, 0, len(raw))
	for _, r := range raw {
		var s lstr
		_ = s.UnmarshalJSON(r)
		if len(r) > 0 && r[0] == '"' {
			out = append(out, string(s))
		}
	}
	*l = out
	return nil
}

// llimits reads {component: amount}; Waldur sends integers, but a decimal
// amount (number or numeric string) is rounded rather than dropped.
type llimits map[string]int64

func (l *llimits) UnmarshalJSON(b []byte) error {
	var raw map[string]json.RawMessage
	if json.Unmarshal(b, &raw) != nil || raw == nil {
		return nil
	}
	out := make(map[string]int64, len(raw))
	for k, v := range raw {
		f, err := strconv.ParseFloat(string(bytes.Trim(v, `"`)), 64)
		if err != nil || math.IsNaN(f) || math.Abs(f) > math.MaxInt64/2 {
			continue
		}
		out[k] = int64(math.Round(f))
	}
	*l = out
	return nil
}

// lchanges reads {field: [old, new]}.
type lchanges map[string][2]any

func (c *lchanges) UnmarshalJSON(b []byte) error {
	var raw map[string][]any
	if json.Unmarshal(b, &raw) != nil || raw == nil {
		return nil
	}
	out := make(map[string][2]any, len(raw))
	for k, v := range raw {
		var pair [2]any
		copy(pair[:], v)
		out[k] = pair
	}
	*c = out
	return nil
}
