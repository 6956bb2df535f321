package keyedpool

import (
	"context"
	"errors"
	"fmt"
	"runtime/debug"
	"sync"
)

// ErrClosed is returned for work submitted after Close.
var ErrClosed = errors.New("keyedpool: closed")

// PanicError is returned when a work function panics.
type PanicError struct {
	Value any    // the value passed to panic
	Stack []byte // the stack of the panicking goroutine
}

func (e *PanicError) Error() string { return fmt.Sprintf("panic: %v", e.Value) }

// Pool bounds concurrency and serialises work per key. The zero value is not
// usable; call New.
type Pool struct {
	slots  chan struct{} // one token per running work function
	queued chan struct{} // one token per Go call not yet finished (backpressure)

	mu     sync.Mutex
	keys   map[string]*keyLock
	closed bool
	wg     sync.WaitGroup // Go goroutines
}

// keyLock serialises work for one key; refs counts holders and waiters so the
// entry can be dropped when nobody needs it.
type keyLock struct {
	ch   chan struct{}
	refs int
}

// New returns a pool running at most n work functions at a time (n < 1 means 1).
// Go admits at most 4n pending calls before it blocks the caller.
func New(n int) *Pool {
	if n < 1 {
		n = 1
	}
	return &Pool{
		slots:  make(chan struct{}, n),
		queued: make(chan struct{}, 4*n),
		keys:   make(map[string]*keyLock),
	}
}

// Do runs fn once no other work with the same key runs and a slot is free, and
// returns its error. It returns ctx.Err() if ctx ends while waiting; fn then
// does not run. fn receives ctx.
func (p *Pool) Do(ctx context.Context, key string, fn func(context.Context) error) error {
	kl := p.acquireKey(key)
	defer p.releaseKey(key, kl)

	select {
	case kl.ch <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-kl.ch }()

	select {
	case p.slots <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	defer func() { <-p.slots }()

	return run(ctx, fn)
}

// Go runs fn asynchronously under the same rules as Do. It blocks while 4n calls
// are pending, so a producer cannot queue unbounded work, and returns false
// (fn not run) when ctx ends first or the pool is closed. done, if not nil,
// receives fn's error.
func (p *Pool) Go(ctx context.Context, key string, fn func(context.Context) error, done func(error)) bool {
	return p.GoWait(ctx, ctx, key, fn, done)
}

// GoWait is Go with the wait for admission bounded by wait as well as ctx:
// a producer whose own life is shorter than the work's (work that may finish
// after the producer was told to stop) never blocks past its end. fn
// receives ctx.
func (p *Pool) GoWait(wait, ctx context.Context, key string, fn func(context.Context) error, done func(error)) bool {
	select {
	case p.queued <- struct{}{}:
	case <-wait.Done():
		return false
	case <-ctx.Done():
		return false
	}
	p.mu.Lock()
	if p.closed {
		p.mu.Unlock()
		<-p.queued
		return false
	}
	p.wg.Add(1)
	p.mu.Unlock()
	go func() {
		defer p.wg.Done()
		defer func() { <-p.queued }()
		err := p.Do(ctx, key, fn)
		if done != nil {
			done(err)
		}
	}()
	return true
}

// Close stops accepting Go calls and waits for those already accepted to finish.
// Cancel their context first to make them finish early.
func (p *Pool) Close() {
	p.mu.Lock()
	p.closed = true
	p.mu.Unlock()
	p.wg.Wait()
}

// Running reports how many work functions run now.
func (p *Pool) Running() int { return len(p.slots) }

func (p *Pool) acquireKey(key string) *keyLock {
	p.mu.Lock()
	defer p.mu.Unlock()
	kl := p.keys[key]
	if kl == nil {
		kl = &keyLock{ch: make(chan struct{}, 1)}
		p.keys[key] = kl
	}
	kl.refs++
	return kl
}

func (p *Pool) releaseKey(key string, kl *keyLock) {
	p.mu.Lock()
	kl.refs--
	if kl.refs == 0 {
		delete(p.keys, key)
	}
	p.mu.Unlock()
}

func run(ctx context.Context, fn func(context.Context) error) (err error) {
	defer func() {
		if v := recover(); v != nil {
			err = &PanicError{Value: v, Stack: debug.Stack()}
		}
	}()
	return fn(ctx)
}
