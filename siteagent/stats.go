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
	InFlight       int64 `json:"in_flight"`      // work running now

	LastError   string    `json:"last_error,omitempty"`
	LastErrorAt time.Time `json:"last_error_at,omitzero"`
}

// counters are the live values behind Stats.
type counters struct {
	eventsReceived, eventsProcessed, eventsFailed, eventsMalformed, eventsUnknown, eventsDuplicate atomic.Int64

	ordersApproved, ordersRejected, ordersDone, ordersErred, ordersRetried, ordersStuck atomic.Int64
	inFlight                                                                            atomic.Int64

	lastReconcile, lastHeartbeat atomic.Int64 // unix nanoseconds

	mu          sync.Mutex
	lastError   string
	lastErrorAt time.Time
}

func (c *counters) setError(now time.Time, err error) {
	c.mu.Lock()
	c.lastError = err.Error()
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
		OrdersApproved:  c.ordersApproved.Load(),
		OrdersRejected:  c.ordersRejected.Load(),
		OrdersDone:      c.ordersDone.Load(),
		OrdersErred:     c.ordersErred.Load(),
		OrdersRetried:   c.ordersRetried.Load(),
		OrdersStuck:     c.ordersStuck.Load(),
		InFlight:        c.inFlight.Load(),
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
