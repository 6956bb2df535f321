package siteagent

import "context"

// Work goes through the keyed pool: serialised per object key ("order:<hex>",
// "resource:<hex>", ...), concurrent across keys up to Config.Concurrency.
// The agent also counts, per key, the work queued and the work finished, so
// that a periodic pass does not queue an object that is already queued or
// running, and so that work prepared from a listing can tell whether someone
// handled the object since (its listing is then stale and must be re-read).

// workState counts the work of one key; it is dropped when none is queued.
type workState struct {
	queued   int    // submitted and not yet finished
	finished uint64 // finished since the entry was made
}

// track notes work queued for key and returns how much had finished so far.
func (a *Agent) track(key string) uint64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	ws := a.work[key]
	if ws == nil {
		ws = &workState{}
		a.work[key] = ws
	}
	ws.queued++
	return ws.finished
}

// untrack notes that work for key finished.
func (a *Agent) untrack(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ws := a.work[key]
	ws.queued--
	ws.finished++
	if ws.queued == 0 {
		delete(a.work, key)
	}
}

// busy reports whether work for key is queued or running.
func (a *Agent) busy(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.work[key] != nil
}

// finishedSince reports whether other work for key finished after track
// returned seq. Only meaningful while the caller's own work is tracked.
func (a *Agent) finishedSince(key string, seq uint64) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	ws := a.work[key]
	return ws != nil && ws.finished != seq
}

// submit queues fn for key with workCtx, unless runCtx has ended; when fn's
// turn comes it is skipped if the agent is stopping by then. It reports
// whether fn was queued. fn's argument tells whether other work for the key
// finished while fn waited.
func (a *Agent) submit(runCtx, workCtx context.Context, key string, fn func(context.Context) error) bool {
	return a.submitTracked(runCtx, workCtx, key, func(ctx context.Context, _ bool) error { return fn(ctx) })
}

func (a *Agent) submitTracked(runCtx, workCtx context.Context, key string, fn func(ctx context.Context, overtaken bool) error) bool {
	if runCtx.Err() != nil {
		return false
	}
	seq := a.track(key)
	ok := a.pool.Go(workCtx, key, func(ctx context.Context) error {
		if a.stopping.Load() {
			return nil
		}
		a.counters.inFlight.Add(1)
		defer a.counters.inFlight.Add(-1)
		return fn(ctx, a.finishedSince(key, seq))
	}, func(error) { a.untrack(key) })
	if !ok {
		a.untrack(key)
	}
	return ok
}

// doWork runs fn for key in the pool and waits for it.
func (a *Agent) doWork(ctx context.Context, key string, fn func(context.Context) error) error {
	a.track(key)
	defer a.untrack(key)
	return a.pool.Do(ctx, key, func(ctx context.Context) error {
		a.counters.inFlight.Add(1)
		defer a.counters.inFlight.Add(-1)
		return fn(ctx)
	})
}
