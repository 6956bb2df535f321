package siteagent

import (
	"context"
	"time"
)

// Scheduled work: retries after a transient failure and re-asks of
// asynchronous processors. A timer only queues the work; Run's loop submits
// it to the pool, so no context outlives Run. One schedule per work key: a
// newer one replaces the older.

// scheduled is work whose time has come.
type scheduled struct {
	key string
	fn  func(context.Context) error
}

// schedule arranges for fn to run under key after d.
func (a *Agent) schedule(key string, d time.Duration, fn func(context.Context) error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping.Load() {
		return
	}
	if t, ok := a.timers[key]; ok {
		t.Stop()
	}
	var t *time.Timer
	t = time.AfterFunc(d, func() {
		a.mu.Lock()
		if a.timers[key] != t {
			a.mu.Unlock()
			return // replaced or cancelled meanwhile
		}
		delete(a.timers, key)
		a.due = append(a.due, scheduled{key: key, fn: fn})
		a.mu.Unlock()
		select {
		case a.dueCh <- struct{}{}:
		default: // a wake-up is pending already
		}
	})
	a.timers[key] = t
}

// unschedule cancels the scheduled work of key, if any.
func (a *Agent) unschedule(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.timers[key]; ok {
		t.Stop()
		delete(a.timers, key)
	}
}

// isScheduled reports whether work for key waits for its time.
func (a *Agent) isScheduled(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.timers[key]
	return ok
}

// takeDue returns the work whose time has come.
func (a *Agent) takeDue() []scheduled {
	a.mu.Lock()
	defer a.mu.Unlock()
	due := a.due
	a.due = nil
	return due
}

// stopTimers cancels all scheduled work; used at shutdown.
func (a *Agent) stopTimers() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for key, t := range a.timers {
		t.Stop()
		delete(a.timers, key)
	}
}
