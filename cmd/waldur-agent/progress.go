package main

import (
	"fmt"
	"io"
	"sync"
	"time"
)

// progress keeps one status line up to date on a terminal, and says nothing
// elsewhere (logs and pipes get no carriage returns).
type progress struct {
	w  io.Writer
	on bool

	mu    sync.Mutex
	last  time.Time
	shown bool
}

// progressEvery throttles redraws.
const progressEvery = 200 * time.Millisecond

func newProgress(e *env) *progress { return &progress{w: e.stderr, on: e.tty} }

// update redraws the line, at most every progressEvery.
func (p *progress) update(format string, args ...any) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	if now := time.Now(); now.Sub(p.last) >= progressEvery {
		p.last = now
		p.shown = true
		fmt.Fprintf(p.w, "\r\033[K%s", fmt.Sprintf(format, args...))
	}
}

// done replaces the line with a last one and ends it.
func (p *progress) done(format string, args ...any) {
	if !p.on {
		return
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	p.shown, p.last = false, time.Time{}
	fmt.Fprintf(p.w, "\r\033[K%s\n", fmt.Sprintf(format, args...))
}
