package siteagent

import (
	"context"
	"errors"
	"maps"
	"runtime/debug"
	"sync"
	"time"

	"github.com/gsv-platform/waldur-agent-go/internal/keyedpool"
)

// Work goes through the keyed pool: serialised per object key ("order:<hex>",
// "resource:<hex>", ...), concurrent across keys up to Config.Concurrency.
// The agent also notes, per key, how much work is queued and when work last
// finished, so that a periodic pass does not queue an object that is already
// queued or running, and so that work prepared from a listing can tell
// whether the object was handled after the listing was read (the listing is
// then stale and the object must be re-read).

// workState is the bookkeeping of one key.
type workState struct {
	queued   int       // submitted and not yet finished
	finished time.Time // when work for the key last finished
}

// workMemory is how long the agent remembers when work for an idle key
// finished; no listing a pass acts on is older.
const workMemory = time.Hour

// track notes work queued for key.
func (a *Agent) track(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	ws := a.work[key]
	if ws == nil {
		ws = &workState{}
		a.work[key] = ws
	}
	ws.queued++
}

// untrack notes that work for key finished, and forgets keys idle for long.
func (a *Agent) untrack(key string) {
	now := time.Now()
	a.mu.Lock()
	defer a.mu.Unlock()
	ws := a.work[key]
	ws.queued--
	ws.finished = now
	if now.Sub(a.workPruned) > workMemory/10 {
		a.workPruned = now
		maps.DeleteFunc(a.work, func(_ string, ws *workState) bool {
			return ws.queued == 0 && now.Sub(ws.finished) > workMemory
		})
	}
}

// busy reports whether work for key is queued or running.
func (a *Agent) busy(key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	ws := a.work[key]
	return ws != nil && ws.queued > 0
}

// finishedAfter reports whether work for key finished after t.
func (a *Agent) finishedAfter(key string, t time.Time) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	ws := a.work[key]
	return ws != nil && ws.finished.After(t)
}

// submit queues fn for key with workCtx, unless runCtx has ended; when fn's
// turn comes it is skipped if the agent is stopping by then. It reports
// whether fn was queued.
func (a *Agent) submit(runCtx, workCtx context.Context, key string, fn func(context.Context) error) bool {
	if runCtx.Err() != nil {
		return false
	}
	return a.enqueue(runCtx, workCtx, key, time.Time{}, func(ctx context.Context, _ bool) error { return fn(ctx) }, nil)
}

// enqueue queues fn for key in the pool, waiting for room in it no longer
// than runCtx lasts; fn gets workCtx. read is when the data fn acts on was
// read from Waldur; fn's second argument tells whether other work for the
// key finished after that, making the data stale. done, if set, gets fn's
// error, or nil when fn was skipped because the agent is stopping.
func (a *Agent) enqueue(runCtx, workCtx context.Context, key string, read time.Time, fn func(ctx context.Context, stale bool) error, done func(error)) bool {
	a.track(key)
	ok := a.pool.GoWait(runCtx, workCtx, key, func(ctx context.Context) error {
		if a.stopping.Load() {
			return nil
		}
		a.counters.inFlight.Add(1)
		defer a.counters.inFlight.Add(-1)
		return fn(ctx, !read.IsZero() && a.finishedAfter(key, read))
	}, func(err error) {
		a.untrack(key)
		a.logPanic(key, err)
		if done != nil {
			done(err)
		}
	})
	if !ok {
		a.untrack(key)
	}
	return ok
}

// logPanic logs a panic the pool recovered from work for key.
func (a *Agent) logPanic(key string, err error) {
	var pe *keyedpool.PanicError
	if errors.As(err, &pe) {
		a.noteError(err)
		a.log.Error("siteagent: panic in agent work", "key", key, "panic", pe.Value, "stack", string(pe.Stack))
	}
}

// batch runs the per-object work of one pass and waits for all of it, so
// that a pass ends when its work does and passes of one capability never
// overlap. Work goes to the pool, or runs at once in the caller for an inline
// batch (the final pass at shutdown, when the pool takes no more work).
type batch struct {
	a               *Agent
	runCtx, workCtx context.Context
	inline          bool
	wg              sync.WaitGroup
}

func (a *Agent) newBatch(runCtx, workCtx context.Context) *batch {
	return &batch{a: a, runCtx: runCtx, workCtx: workCtx}
}

func (a *Agent) inlineBatch(ctx context.Context) *batch {
	return &batch{a: a, runCtx: ctx, workCtx: ctx, inline: true}
}

// submit runs or queues fn under key. It reports false, with fn not run, once
// runCtx has ended or the pool is closed; the pass should stop then.
func (b *batch) submit(key string, fn func(context.Context) error) bool {
	if b.runCtx.Err() != nil {
		return false
	}
	if b.inline {
		b.a.logPanic(key, runRecovered(b.workCtx, fn))
		return true
	}
	b.wg.Add(1)
	ok := b.a.enqueue(b.runCtx, b.workCtx, key, time.Time{}, func(ctx context.Context, _ bool) error { return fn(ctx) }, func(error) { b.wg.Done() })
	if !ok {
		b.wg.Done()
	}
	return ok
}

// wait blocks until every submitted function has returned.
func (b *batch) wait() { b.wg.Wait() }

// runRecovered calls fn, turning a panic into a *keyedpool.PanicError as the
// pool does.
func runRecovered(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &keyedpool.PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn(ctx)
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
