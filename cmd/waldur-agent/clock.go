package main

import (
	"net/http"
	"sync"
	"time"
)

// clockWatch is a transport that remembers the Date header of the last
// response and when it arrived, to estimate the local clock's skew.
type clockWatch struct {
	mu    sync.Mutex
	local time.Time // the midpoint of the last request, local clock
	date  time.Time
}

func (c *clockWatch) wrap(base http.RoundTripper) http.RoundTripper {
	return roundTrip(func(req *http.Request) (*http.Response, error) {
		start := time.Now()
		resp, err := base.RoundTrip(req)
		if err == nil {
			if d, perr := http.ParseTime(resp.Header.Get("Date")); perr == nil {
				c.mu.Lock()
				c.local, c.date = start.Add(time.Since(start)/2), d
				c.mu.Unlock()
			}
		}
		return resp, err
	})
}

// skew is local minus Waldur's time; the Date header's one-second
// resolution bounds its precision.
func (c *clockWatch) skew() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.date.IsZero() {
		return 0, false
	}
	return c.local.Truncate(time.Second).Sub(c.date), true
}

type roundTrip func(*http.Request) (*http.Response, error)

func (f roundTrip) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }
