package siteagent

import (
	"context"
	"time"
)

// Scheduled work: retries after a transient failure, re-asks of asynchronous
// processors, and work a webhook post asks for. A timer only moves the work
// to the due list; a feeder goroutine hands due work to the pool, so neither
// a timer nor Run's loop ever waits on the pool, and no context outlives Run.
//
// Scheduled work is coalesced and bounded: one entry per work key, a newer
// schedule replacing the older, and at most maxScheduled keys waiting (timers
// and due work together). Beyond that, scheduling fails and the caller falls
// back on the periodic passes, which find the object again; so a flood of
// posts, genuine or forged, costs bounded memory.

// maxScheduled bounds the keys with scheduled work, as many as a Waldur
// event queue holds messages.
const maxScheduled = 10_000

// scheduled is work whose time has come.
type scheduled struct {
	key string
	fn  func(context.Context) error
}

// schedule arranges for fn to run under key after d (at once for d <= 0),
// replacing work scheduled for key before. It reports false, with nothing
// scheduled, when the agent is stopping or maxScheduled other keys wait.
func (a *Agent) schedule(key string, d time.Duration, fn func(context.Context) error) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.stopping.Load() {
		return false
	}
	t, timed := a.timers[key]
	_, due := a.due[key]
	if !timed && !due && len(a.timers)+len(a.due) >= maxScheduled {
		a.counters.workDropped.Add(1)
		return false
	}
	if timed {
		t.Stop()
		delete(a.timers, key)
	}
	if d <= 0 {
		a.makeDueLocked(key, fn)
		return true
	}
	if due {
		delete(a.due, key) // the newer schedule wins; its key stays queued
	}
	t = time.AfterFunc(d, func() {
		a.mu.Lock()
		defer a.mu.Unlock()
		if a.timers[key] != t {
			return // replaced or cancelled meanwhile
		}
		delete(a.timers, key)
		a.makeDueLocked(key, fn)
	})
	a.timers[key] = t
	return true
}

// makeDueLocked puts fn on the due list and wakes the feeder.
func (a *Agent) makeDueLocked(key string, fn func(context.Context) error) {
	if _, ok := a.due[key]; !ok {
		if len(a.dueOrder) >= 2*maxScheduled {
			a.compactDueLocked()
		}
		a.dueOrder = append(a.dueOrder, key)
	}
	a.due[key] = fn
	select {
	case a.dueCh <- struct{}{}:
	default: // a wake-up is pending already
	}
}

// compactDueLocked drops the stale and repeated keys of dueOrder, which
// unscheduled and rescheduled work leaves behind.
func (a *Agent) compactDueLocked() {
	seen := make(map[string]bool, len(a.due))
	kept := make([]string, 0, len(a.due))
	for _, k := range a.dueOrder {
		if _, ok := a.due[k]; ok && !seen[k] {
			seen[k] = true
			kept = append(kept, k)
		}
	}
	a.dueOrder = kept
}

// unschedule cancels the scheduled work of key, if any.
func (a *Agent) unschedule(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if t, ok := a.timers[key]; ok {
		t.Stop()
		delete(a.timers, key)
	}
	delete(a.due, key)
}

// isScheduled reports whether work for key waits for its time.
func (a *Agent) isScheduled(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	_, ok := a.timers[key]
	return ok
}

// popDue takes the oldest due work, if any.
func (a *Agent) popDue() (scheduled, bool) {
	a.mu.Lock()
	defer a.mu.Unlock()
	for len(a.dueOrder) > 0 {
		key := a.dueOrder[0]
		a.dueOrder[0] = ""
		a.dueOrder = a.dueOrder[1:]
		if fn, ok := a.due[key]; ok {
			delete(a.due, key)
			if len(a.dueOrder) == 0 {
				a.dueOrder = nil // let the backing array go
			}
			return scheduled{key: key, fn: fn}, true
		}
	}
	a.dueOrder = nil
	return scheduled{}, false
}

// feedDue hands due work to the pool until runCtx ends. Waiting for room in
// the pool is bounded by runCtx, so shutdown never waits on it.
func (a *Agent) feedDue(runCtx, workCtx context.Context) {
	for {
		select {
		case <-runCtx.Done():
			return
		case <-a.dueCh:
		}
		for {
			w, ok := a.popDue()
			if !ok {
				break
			}
			if !a.submit(runCtx, workCtx, w.key, w.fn) {
				return
			}
		}
	}
}

// scheduledCount is how many keys have scheduled work.
func (a *Agent) scheduledCount() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return len(a.timers) + len(a.due)
}

// stopTimers cancels all scheduled work; used at shutdown.
func (a *Agent) stopTimers() {
	a.mu.Lock()
	defer a.mu.Unlock()
	for key, t := range a.timers {
		t.Stop()
		delete(a.timers, key)
	}
	clear(a.due)
	a.dueOrder = nil
}
