package siteagent

import (
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Typed payloads of Waldur's events, one per observable object type. Each is
// decoded from the legacy payload (per-type subscription queues) and from the
// unified one (register_queue), which adds object_type, schema_version,
// offering_uuid and enrichment keys. Fields a message does not carry are zero.

// OrderEvent says that an order changed state, or that the provider's message
// on it was set (Action "provider_info_set").
type OrderEvent struct {
	OrderUUID  waldur.UUID
	OrderState waldur.OrderState // "" when the message does not carry it
	// Action is "provider_info_set" for the provider-info message, else "".
	Action string
	// SequenceNumber numbers Waldur's hourly reminders about pending orders.
	SequenceNumber int

	// Enrichment on the unified path.
	OrderType         waldur.OrderType
	ResourceUUID      waldur.UUID // the marketplace resource
	ResourceBackendID string
	ResourceName      string
	ProjectUUID       waldur.UUID
	ProjectName       string
	PlanUUID          waldur.UUID
	Attributes        map[string]any
	Limits            map[string]int64
}

// UserRoleEvent says that a user got or lost a role in a project with
// resources of the offering, or (Granted nil) that the project's roles should
// be synchronised again, limited to ResourceUUID when set.
type UserRoleEvent struct {
	UserUUID    waldur.UUID
	Username    string
	ProjectUUID waldur.UUID
	ProjectName string
	RoleName    string // e.g. "PROJECT.MEMBER"
	Granted     *bool  // nil for a resync request
	// ResourceUUID limits a resync to one resource.
	ResourceUUID waldur.UUID

	// Enrichment and the core (user-bound consumer) form.
	Email     string
	FullName  string
	ScopeType string
	ScopeUUID waldur.UUID
	ScopeName string
}

// ResourceEvent says that a resource's paused, downscaled or
// restrict_member_access flags, its limits or its project changed, or that
// Waldur asks for a resync.
type ResourceEvent struct {
	ResourceUUID         waldur.UUID
	BackendID            string
	Paused               bool
	Downscaled           bool
	RestrictMemberAccess bool
	Limits               map[string]int64

	// Enrichment on the unified path.
	ResourceName  string
	ResourceState waldur.ResourceState
	ProjectUUID   waldur.UUID
	ProjectName   string
}

// OfferingUserEvent says that an offering user changed: its username was set
// (Action "username_set"), or it was created, updated, deleted, or its
// attributes changed.
type OfferingUserEvent struct {
	OfferingUserUUID waldur.UUID
	UserUUID         waldur.UUID
	Username         string
	State            string
	Action           string
	// ResourceBackendIDs are the user's live resources of the offering.
	ResourceBackendIDs []string
	Attributes         map[string]any
	ChangedFields      []string
	ChangedAttributes  []string
}

// AccountEvent says that a project's service account or a course account
// should be created or removed on the backend. Its Event's ObjectType tells
// which kind.
type AccountEvent struct {
	AccountUUID     waldur.UUID
	AccountUsername string
	ScopeType       string // "project"
	ProjectUUID     waldur.UUID
	ProjectName     string
	Action          string // "create" or "delete"
}

// ImportableResourcesEvent says that someone asked to import backend
// resources into Waldur.
type ImportableResourcesEvent struct {
	BackendResourceRequestUUID waldur.UUID
}

// PeriodicLimitsEvent asks the agent to apply a periodic usage policy's
// settings (SLURM fairshare, limits, ...) to a resource; the result goes to
// the policy's report-command-result.
type PeriodicLimitsEvent struct {
	ResourceUUID waldur.UUID
	BackendID    string
	PolicyUUID   waldur.UUID
	Action       string // "apply_periodic_settings"
	Timestamp    time.Time
	Settings     map[string]any
}

// OfferingSyncEvent asks for every resource of the offering to be
// reconciled now (Waldur 8.1).
type OfferingSyncEvent struct {
	RequestedByUserUUID waldur.UUID
}

// APIKeyRotationEvent asks the agent for a new value of a resource API key
// (Waldur 8.1). It never carries key material.
type APIKeyRotationEvent struct {
	Action            string // "rotate"
	ResourceUUID      waldur.UUID
	ResourceBackendID string
	APIKeyUUID        waldur.UUID
	ClientID          string
}

// EndDateChangeEvent says that a change of a resource's end date was
// requested (Waldur 8.1; the payload is not documented, so only the
// resource is decoded when present).
type EndDateChangeEvent struct {
	ResourceUUID waldur.UUID
}

// UserProfileEvent says that a user's profile attributes changed (Waldur 8.1).
type UserProfileEvent struct {
	UserUUID waldur.UUID
	Username string
	Email    string
	FullName string
	// Changed maps each changed attribute to its old and new value.
	Changed map[string][2]any
}

// UserLifecycleEvent says that a user was created, activated, deactivated or
// deleted (Waldur 8.1).
type UserLifecycleEvent struct {
	UserUUID waldur.UUID
	Username string
	Email    string
	FullName string
	IsActive *bool  // nil for "deleted"
	Action   string // created, activated, deactivated, deleted
}

// UserSSHKeyEvent says that a user's SSH key was added, updated or removed
// (Waldur 8.1).
type UserSSHKeyEvent struct {
	UserUUID          waldur.UUID
	Username          string
	SSHKeyUUID        waldur.UUID
	Name              string
	FingerprintSHA256 string
	PublicKey         string
	Action            string // added, updated, removed
}
