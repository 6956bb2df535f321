package waldur

import (
	openapi_types "github.com/oapi-codegen/runtime/types"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// The wire types are generated from the project's OpenAPI description and
// re-exported here, so that users import only this package. Optional fields
// are plain values (zero means absent, as with sparse fieldsets); fields
// Waldur may send as null are pointers.
type (
	// User is a Waldur user as seen by itself ([UsersService.Me]). Its Token
	// field is a credential: never log it.
	User = waldurapi.User

	// Order is a marketplace order. MarketplaceResourceUUID names the
	// marketplace resource to use with [ResourcesService]; ResourceUUID is the
	// plugin's scope object and often null for site-agent offerings.
	Order = waldurapi.Order
	// OrderState is the state of an [Order], e.g. [OrderStatePendingProvider].
	OrderState = waldurapi.OrderState
	// OrderType is the type of an [Order], e.g. [OrderTypeCreate].
	OrderType = waldurapi.OrderType

	// Resource is a marketplace resource as its provider sees it.
	Resource = waldurapi.Resource
	// ResourceState is the state of a [Resource], e.g. [ResourceStateOK].
	ResourceState = waldurapi.ResourceState
	// Endpoint is an access endpoint of a resource (name and URL).
	Endpoint = waldurapi.Endpoint
	// TeamMember is a member of a resource's project with the member's
	// offering username.
	TeamMember = waldurapi.TeamMember

	// ProviderOffering is an offering as its provider sees it.
	ProviderOffering = waldurapi.ProviderOffering
	// OfferingState is the state of a [ProviderOffering].
	OfferingState = waldurapi.OfferingState
	// OfferingComponent is a billable component of an offering.
	OfferingComponent = waldurapi.OfferingComponent
	// OfferingPluginOptions are the plugin options of an offering.
	OfferingPluginOptions = waldurapi.OfferingPluginOptions
	// BillingType is how an [OfferingComponent] is billed.
	BillingType = waldurapi.BillingType
	// UsernameGenerationPolicy is the offering's username_generation_policy.
	UsernameGenerationPolicy = waldurapi.UsernameGenerationPolicy

	// OfferingUser links a Waldur user to an offering and holds the site
	// username.
	OfferingUser = waldurapi.OfferingUser
	// OfferingUserState is the state of an [OfferingUser].
	OfferingUserState = waldurapi.OfferingUserState

	// ComponentUsage is the usage of one component of one resource in one
	// billing period.
	ComponentUsage = waldurapi.ComponentUsage
	// MissingUsagePolicy says what Waldur bills for a component left out of a
	// later usage report (Waldur 8.1).
	MissingUsagePolicy = waldurapi.MissingUsagePolicy

	// ResourceAPIKey is the status of one API key of a resource; it never
	// carries the secret.
	ResourceAPIKey = waldurapi.ResourceAPIKey
	// ResourceAPIKeyState is the state of a [ResourceAPIKey].
	ResourceAPIKeyState = waldurapi.ResourceAPIKeyState
	// ResourceAPIKeyAction is a command for the agent on a [ResourceAPIKey]
	// (newer than Waldur 8.1.2): the action of a resource_api_key_rotation
	// event, and the key's PendingAction while it is outstanding.
	ResourceAPIKeyAction = waldurapi.ResourceAPIKeyAction

	// AgentIdentity is one running agent for one offering.
	AgentIdentity = waldurapi.AgentIdentity
	// AgentIdentityRequest creates or updates an [AgentIdentity].
	AgentIdentityRequest = waldurapi.AgentIdentityRequest
	// AgentDependency is a package and version an agent reports.
	AgentDependency = waldurapi.AgentDependency
	// AgentService is one loop (mode) of an agent identity.
	AgentService = waldurapi.AgentService
	// AgentServiceState is the state of an [AgentService].
	AgentServiceState = waldurapi.AgentServiceState
	// AgentProcessor is one processor of a service; LastRun is its heartbeat.
	AgentProcessor = waldurapi.AgentProcessor
	// AgentQueue is an identity's unified event queue and the RabbitMQ login
	// for it (Waldur 8.1).
	AgentQueue = waldurapi.AgentQueue
	// EventSubscription is a legacy per-object-type event subscription; its
	// UUID in hex is the RabbitMQ login.
	EventSubscription = waldurapi.EventSubscription
	// EventSubscriptionQueue is a legacy queue of one subscription, offering
	// and object type.
	EventSubscriptionQueue = waldurapi.EventSubscriptionQueue
	// ObservableObjectType is an object type events are published for.
	ObservableObjectType = waldurapi.ObservableObjectType
	// LogLevel is the level of a [LogEntry].
	LogLevel = waldurapi.LogLevel

	// Date is a calendar date, sent and received as "2006-01-02".
	Date = openapi_types.Date
)

// States of an [Order].
const (
	OrderStateCanceled         = waldurapi.OrderStateCanceled         // "canceled"
	OrderStateDone             = waldurapi.OrderStateDone             // "done"
	OrderStateErred            = waldurapi.OrderStateErred            // "erred"
	OrderStateExecuting        = waldurapi.OrderStateExecuting        // "executing"
	OrderStatePendingConsumer  = waldurapi.OrderStatePendingConsumer  // "pending-consumer"
	OrderStatePendingProject   = waldurapi.OrderStatePendingProject   // "pending-project"
	OrderStatePendingProvider  = waldurapi.OrderStatePendingProvider  // "pending-provider"
	OrderStatePendingStartDate = waldurapi.OrderStatePendingStartDate // "pending-start-date"
	OrderStateRejected         = waldurapi.OrderStateRejected         // "rejected"
)

// Types of an [Order].
const (
	OrderTypeCreate    = waldurapi.OrderTypeCreate    // "Create"
	OrderTypeRestore   = waldurapi.OrderTypeRestore   // "Restore"
	OrderTypeTerminate = waldurapi.OrderTypeTerminate // "Terminate"
	OrderTypeUpdate    = waldurapi.OrderTypeUpdate    // "Update"
)

// States of a [Resource].
const (
	ResourceStateCreating    = waldurapi.ResourceStateCreating    // "Creating"
	ResourceStateErred       = waldurapi.ResourceStateErred       // "Erred"
	ResourceStateOK          = waldurapi.ResourceStateOK          // "OK"
	ResourceStateTerminated  = waldurapi.ResourceStateTerminated  // "Terminated"
	ResourceStateTerminating = waldurapi.ResourceStateTerminating // "Terminating"
	ResourceStateUpdating    = waldurapi.ResourceStateUpdating    // "Updating"
)

// States of a [ProviderOffering].
const (
	OfferingStateActive      = waldurapi.OfferingStateActive      // "Active"
	OfferingStateArchived    = waldurapi.OfferingStateArchived    // "Archived"
	OfferingStateDraft       = waldurapi.OfferingStateDraft       // "Draft"
	OfferingStatePaused      = waldurapi.OfferingStatePaused      // "Paused"
	OfferingStateUnavailable = waldurapi.OfferingStateUnavailable // "Unavailable"
)

// States of an [OfferingUser].
const (
	OfferingUserStateCreating                    = waldurapi.OfferingUserStateCreating                    // "Creating"
	OfferingUserStateDeleted                     = waldurapi.OfferingUserStateDeleted                     // "Deleted"
	OfferingUserStateDeleting                    = waldurapi.OfferingUserStateDeleting                    // "Deleting"
	OfferingUserStateErrorCreating               = waldurapi.OfferingUserStateErrorCreating               // "Error creating"
	OfferingUserStateErrorDeleting               = waldurapi.OfferingUserStateErrorDeleting               // "Error deleting"
	OfferingUserStateOK                          = waldurapi.OfferingUserStateOK                          // "OK"
	OfferingUserStatePendingAccountLinking       = waldurapi.OfferingUserStatePendingAccountLinking       // "Pending account linking"
	OfferingUserStatePendingAdditionalValidation = waldurapi.OfferingUserStatePendingAdditionalValidation // "Pending additional validation"
	OfferingUserStateRequested                   = waldurapi.OfferingUserStateRequested                   // "Requested"
	OfferingUserStateRequestedDeletion           = waldurapi.OfferingUserStateRequestedDeletion           // "Requested deletion"
)

// States of a [ResourceAPIKey].
const (
	ResourceAPIKeyStateCreating = waldurapi.ResourceAPIKeyStateCreating // "Creating"
	ResourceAPIKeyStateErred    = waldurapi.ResourceAPIKeyStateErred    // "Erred"
	ResourceAPIKeyStateOK       = waldurapi.ResourceAPIKeyStateOK       // "OK"
	ResourceAPIKeyStateUpdating = waldurapi.ResourceAPIKeyStateUpdating // "Updating"
	ResourceAPIKeyStatePaused   = waldurapi.ResourceAPIKeyStatePaused   // "Paused" (newer than 8.1.2)
	ResourceAPIKeyStateDeleting = waldurapi.ResourceAPIKeyStateDeleting // "Deleting" (newer than 8.1.2)
	ResourceAPIKeyStateDeleted  = waldurapi.ResourceAPIKeyStateDeleted  // "Deleted" (newer than 8.1.2)
)

// Commands on a [ResourceAPIKey], and the acknowledgement that settles each.
const (
	ResourceAPIKeyActionCreate = waldurapi.ResourceAPIKeyActionCreate // "create": SetKey
	ResourceAPIKeyActionRotate = waldurapi.ResourceAPIKeyActionRotate // "rotate": SetKey
	ResourceAPIKeyActionPause  = waldurapi.ResourceAPIKeyActionPause  // "pause": SetPaused
	ResourceAPIKeyActionResume = waldurapi.ResourceAPIKeyActionResume // "resume": SetOK
	ResourceAPIKeyActionUpdate = waldurapi.ResourceAPIKeyActionUpdate // "update": SetOK
	ResourceAPIKeyActionDelete = waldurapi.ResourceAPIKeyActionDelete // "delete": SetDeleted
)

// States of an [AgentService] as rendered in responses.
const (
	AgentServiceStateActive = waldurapi.AgentServiceStateActive // "Active"
	AgentServiceStateError  = waldurapi.AgentServiceStateError  // "Error"
	AgentServiceStateIdle   = waldurapi.AgentServiceStateIdle   // "Idle"
)

// Object types an event queue can observe.
const (
	ObservableObjectTypeCourseAccount                = waldurapi.ObservableObjectTypeCourseAccount                // "course_account"
	ObservableObjectTypeImportableResources          = waldurapi.ObservableObjectTypeImportableResources          // "importable_resources"
	ObservableObjectTypeOfferingResourcesSync        = waldurapi.ObservableObjectTypeOfferingResourcesSync        // "offering_resources_sync"
	ObservableObjectTypeOfferingUser                 = waldurapi.ObservableObjectTypeOfferingUser                 // "offering_user"
	ObservableObjectTypeOrder                        = waldurapi.ObservableObjectTypeOrder                        // "order"
	ObservableObjectTypeResource                     = waldurapi.ObservableObjectTypeResource                     // "resource"
	ObservableObjectTypeResourceAPIKeyRotation       = waldurapi.ObservableObjectTypeResourceAPIKeyRotation       // "resource_api_key_rotation"
	ObservableObjectTypeResourceEndDateChangeRequest = waldurapi.ObservableObjectTypeResourceEndDateChangeRequest // "resource_end_date_change_request"
	ObservableObjectTypeResourcePeriodicLimits       = waldurapi.ObservableObjectTypeResourcePeriodicLimits       // "resource_periodic_limits"
	ObservableObjectTypeServiceAccount               = waldurapi.ObservableObjectTypeServiceAccount               // "service_account"
	ObservableObjectTypeUserLifecycle                = waldurapi.ObservableObjectTypeUserLifecycle                // "user_lifecycle"
	ObservableObjectTypeUserProfile                  = waldurapi.ObservableObjectTypeUserProfile                  // "user_profile"
	ObservableObjectTypeUserRole                     = waldurapi.ObservableObjectTypeUserRole                     // "user_role"
	ObservableObjectTypeUserSSHKey                   = waldurapi.ObservableObjectTypeUserSSHKey                   // "user_ssh_key"
)

// Billing types of an [OfferingComponent].
const (
	BillingTypeFew   = waldurapi.BillingTypeFew   // "few"
	BillingTypeFixed = waldurapi.BillingTypeFixed // "fixed"
	BillingTypeLimit = waldurapi.BillingTypeLimit // "limit"
	BillingTypeOne   = waldurapi.BillingTypeOne   // "one"
	BillingTypeUsage = waldurapi.BillingTypeUsage // "usage"
)

// What Waldur bills for a component a later usage report leaves out (Waldur 8.1).
const (
	MissingUsagePolicyNone  = waldurapi.MissingUsagePolicyNone  // "none"
	MissingUsagePolicyReuse = waldurapi.MissingUsagePolicyReuse // "reuse"
	MissingUsagePolicyZero  = waldurapi.MissingUsagePolicyZero  // "zero"
)

// Levels of a [LogEntry].
const (
	LogLevelCRITICAL = waldurapi.LogLevelCRITICAL // "CRITICAL"
	LogLevelDEBUG    = waldurapi.LogLevelDEBUG    // "DEBUG"
	LogLevelERROR    = waldurapi.LogLevelERROR    // "ERROR"
	LogLevelINFO     = waldurapi.LogLevelINFO     // "INFO"
	LogLevelWARNING  = waldurapi.LogLevelWARNING  // "WARNING"
)

// How usernames of offering users are generated (offering plugin option).
const (
	UsernameGenerationPolicyAnonymized      = waldurapi.UsernameGenerationPolicyAnonymized      // "anonymized"
	UsernameGenerationPolicyFreeipa         = waldurapi.UsernameGenerationPolicyFreeipa         // "freeipa"
	UsernameGenerationPolicyFullName        = waldurapi.UsernameGenerationPolicyFullName        // "full_name"
	UsernameGenerationPolicyIdentityClaim   = waldurapi.UsernameGenerationPolicyIdentityClaim   // "identity_claim"
	UsernameGenerationPolicyServiceProvider = waldurapi.UsernameGenerationPolicyServiceProvider // "service_provider"
	UsernameGenerationPolicyWaldurUsername  = waldurapi.UsernameGenerationPolicyWaldurUsername  // "waldur_username"
)
