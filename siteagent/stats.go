package siteagent

import (
	"sync"
	"sync/atomic"
	"time"
)

// Stats is a snapshot of what an agent has done since Run started. It is also
// reported to Waldur with set_statistics on every heartbeat.
type Stats struct {
	Started       time.Time `json:"started"`
	LastReconcile time.Time `json:"last_reconcile,omitzero"`
	LastHeartbeat time.Time `json:"last_heartbeat,omitzero"`

	EventsReceived  int64 `json:"events_received"`  // events handed to the agent by any source
	EventsProcessed int64 `json:"events_processed"` // events handled successfully
	EventsFailed    int64 `json:"events_failed"`    // events whose handling failed (to be retried)
	EventsMalformed int64 `json:"events_malformed"` // undecodable payloads, rejected
	EventsUnknown   int64 `json:"events_unknown"`   // decodable events of a type the agent does not handle
	EventsDuplicate int64 `json:"events_duplicate"` // dropped by message-id deduplication

	OrdersApproved int64 `json:"orders_approved"`
	OrdersRejected int64 `json:"orders_rejected"`
	OrdersDone     int64 `json:"orders_done"`
	OrdersErred    int64 `json:"orders_erred"`
	OrdersRetried  int64 `json:"orders_retried"` // transient failures scheduled for retry
	OrdersStuck    int64 `json:"orders_stuck"`   // executing longer than StuckOrderAge at the last pass
	OrdersRefused  int64 `json:"orders_refused"` // transitions Waldur refused for the offering's type (405), not retried
	InFlight       int64 `json:"in_flight"`      // work running now

	// WorkScheduled is how many objects have work waiting for its time or
	// for room in the pool (retries, webhook posts), at most 10000;
	// WorkDropped counts work not scheduled because that many waited
	// already, left to the periodic passes.
	WorkScheduled int64 `json:"work_scheduled"`
	WorkDropped   int64 `json:"work_dropped"`

	MembersAdded     int64 `json:"members_added"`     // members given access to backend resources
	MembersRemoved   int64 `json:"members_removed"`   // members whose access was taken away
	MembershipFailed int64 `json:"membership_failed"` // resource membership syncs that failed

	OfferingUsersCreated int64 `json:"offering_users_created"` // offering users the agent brought to OK
	OfferingUsersPending int64 `json:"offering_users_pending"` // set pending account linking or validation
	OfferingUsersErred   int64 `json:"offering_users_erred"`   // set error creating
	OfferingUsersFailed  int64 `json:"offering_users_failed"`  // transient failures, tried again later

	UsageReported        int64     `json:"usage_reported"`         // set_usage calls
	UserUsageReported    int64     `json:"user_usage_reported"`    // set_user_usages calls
	UsageUnchanged       int64     `json:"usage_unchanged"`        // resource-months Waldur already had
	UsageDecreaseRefused int64     `json:"usage_decrease_refused"` // decreasing totals not sent
	UsageMonthChanged    int64     `json:"usage_month_changed"`    // collections dropped because the month changed
	UsageFailed          int64     `json:"usage_failed"`           // resource-months that failed, tried next pass
	LastUsageReport      time.Time `json:"last_usage_report,omitzero"`

	ResourcesPaused      int64 `json:"resources_paused"`
	ResourcesDownscaled  int64 `json:"resources_downscaled"`
	ResourcesRestored    int64 `json:"resources_restored"`
	ResourceLimitsSet    int64 `json:"resource_limits_set"`   // set_limits calls
	ResourceMetadataSet  int64 `json:"resource_metadata_set"` // set_backend_metadata calls
	ResourceStatusFailed int64 `json:"resource_status_failed"`
	ResourcesSynced      int64 `json:"resources_synced"` // refresh_last_sync calls

	// Replicas (see ReplicaConfig).
	OrdersLeasedElsewhere int64 `json:"orders_leased_elsewhere"` // executing orders left to the replica holding their lease
	PassesHeld            int64 `json:"passes_held"`             // offerings whose periodic passes this replica runs
	LeasesLost            int64 `json:"leases_lost"`             // held leases another replica took; the work was stopped

	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// counters are the live values behind Stats.
type counters struct {
	eventsReceived, eventsProcessed, eventsFailed, eventsMalformed, eventsUnknown, eventsDuplicate atomic.Int64

	ordersApproved, ordersRejected, ordersDone, ordersErred, ordersRetried, ordersStuck atomic.Int64
	ordersRefused                                                                       atomic.Int64
	inFlight, workDropped                                                               atomic.Int64

	membersAdded, membersRemoved, membershipFailed                                      atomic.Int64
	offeringUsersCreated, offeringUsersPending, offeringUsersErred, offeringUsersFailed atomic.Int64
	usageReported, userUsageReported, usageUnchanged, usageDecreaseRefused              atomic.Int64
	usageMonthChanged, usageFailed, lastUsageReport                                     atomic.Int64
	resourcesPaused, resourcesDownscaled, resourcesRestored                             atomic.Int64
	resourceLimitsSet, resourceMetadataSet, resourceStatusFailed                        atomic.Int64
	resourcesSynced                                                                     atomic.Int64

	lastReconcile, lastHeartbeat atomic.Int64 // unix nanoseconds

	ordersLeasedElsewhere, passesHeld, leasesLost atomic.Int64

	mu          sync.Mutex
	lastError   string
	lastErrorAt time.Time
}

func (c *counters) setError(now time.Time, err error) {
	c.mu.Lock()
	c.lastError = clip(err.Error(), MaxErrorMessage) // goes to Waldur with set_statistics
	c.lastErrorAt = now
	c.mu.Unlock()
}

func (c *counters) snapshot(started time.Time) Stats {
	s := Stats{
		Started:         started,
		LastReconcile:   unixTime(c.lastReconcile.Load()),
		LastHeartbeat:   unixTime(c.lastHeartbeat.Load()),
		EventsReceived:  c.eventsReceived.Load(),
		EventsProcessed: c.eventsProcessed.Load(),
		EventsFailed:    c.eventsFailed.Load(),
		EventsMalformed: c.eventsMalformed.Load(),
		EventsUnknown:   c.eventsUnknown.Load(),
		EventsDuplicate: c.eventsDuplicate.Load(),
		WorkDropped:     c.workDropped.Load(),
		OrdersApproved:  c.ordersApproved.Load(),
		OrdersRejected:  c.ordersRejected.Load(),
		OrdersDone:      c.ordersDone.Load(),
		OrdersErred:     c.ordersErred.Load(),
		OrdersRetried:   c.ordersRetried.Load(),
		OrdersStuck:     c.ordersStuck.Load(),
		OrdersRefused:   c.ordersRefused.Load(),
		InFlight:        c.inFlight.Load(),

		MembersAdded:         c.membersAdded.Load(),
		MembersRemoved:       c.membersRemoved.Load(),
		MembershipFailed:     c.membershipFailed.Load(),
		OfferingUsersCreated: c.offeringUsersCreated.Load(),
		OfferingUsersPending: c.offeringUsersPending.Load(),
		OfferingUsersErred:   c.offeringUsersErred.Load(),
		OfferingUsersFailed:  c.offeringUsersFailed.Load(),
		UsageReported:        c.usageReported.Load(),
		UserUsageReported:    c.userUsageReported.Load(),
		UsageUnchanged:       c.usageUnchanged.Load(),
		UsageDecreaseRefused: c.usageDecreaseRefused.Load(),
		UsageMonthChanged:    c.usageMonthChanged.Load(),
		UsageFailed:          c.usageFailed.Load(),
		LastUsageReport:      unixTime(c.lastUsageReport.Load()),
		ResourcesPaused:      c.resourcesPaused.Load(),
		ResourcesDownscaled:  c.resourcesDownscaled.Load(),
		ResourcesRestored:    c.resourcesRestored.Load(),
		ResourceLimitsSet:    c.resourceLimitsSet.Load(),
		ResourceMetadataSet:  c.resourceMetadataSet.Load(),
		ResourceStatusFailed: c.resourceStatusFailed.Load(),
		ResourcesSynced:      c.resourcesSynced.Load(),

		OrdersLeasedElsewhere: c.ordersLeasedElsewhere.Load(),
		PassesHeld:            c.passesHeld.Load(),
		LeasesLost:            c.leasesLost.Load(),
	}
	c.mu.Lock()
	s.LastError, s.LastErrorAt = c.lastError, c.lastErrorAt
	c.mu.Unlock()
	return s
}

func unixTime(ns int64) time.Time {
	if ns == 0 {
		return time.Time{}
	}
	return time.Unix(0, ns)
}
