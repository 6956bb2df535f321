package waldurtest

import (
	"context"
	"fmt"
	"hash/fnv"
	"math"
	"net/http"
	"net/url"
	"slices"
	"time"

	"github.com/google/uuid"
)

// Call is one request as the server saw it.
type Call struct {
	// Time is when the request arrived, by the server's clock.
	Time time.Time
	// Method and Path are the HTTP method and the URL path.
	Method string
	Path   string
	// OperationID is the operation of the OpenAPI description the request was
	// routed to, or "" when no route matched.
	OperationID string
	// Status is the HTTP status of the response, 0 while the request is
	// still being handled.
	Status int
	// Query holds the query parameters.
	Query url.Values
	// Body is the request body.
	Body []byte
	// Injected is true when the response was an injected fault (see SetFaults).
	Injected bool
}

// record logs a call as it arrives, before it is handled, so that whatever
// state the call changes is never visible before the call is in the log. The
// status is filled in by setStatus as the response starts.
func (s *Server) record(c Call) *Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.callCount[c.OperationID]++
	rec := &c
	s.calls = append(s.calls, rec)
	if s.callLimit > 0 && len(s.calls) >= 2*s.callLimit {
		// Trim in bulk so that recording stays amortised O(1).
		n := copy(s.calls, s.calls[len(s.calls)-s.callLimit:])
		clear(s.calls[n:])
		s.calls = s.calls[:n]
	}
	return rec
}

// setStatus records the status of a call's response, and whether it was an
// injected fault.
func (s *Server) setStatus(rec *Call, status int, injected bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	rec.Status, rec.Injected = status, injected
}

// Calls returns the recorded calls, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Call, len(s.calls))
	for i, c := range s.calls {
		out[i] = *c
	}
	return out
}

// CallCount returns how many calls of an operation were recorded, whatever
// their status. An empty operationID counts requests no route matched.
func (s *Server) CallCount(operationID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.callCount[operationID]
}

// ResetCalls forgets the recorded calls. Object state, Transitions and Events
// are kept.
func (s *Server) ResetCalls() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.calls = nil
	s.callCount = map[string]int{}
}

// Transitions returns the successful state-changing actions called on an order
// over the API, oldest first: "approve_by_provider", "reject_by_provider",
// "set_state_executing", "set_state_done" and "set_state_erred". A test
// asserting that the agent processed an order exactly once compares it with,
// say, []string{"approve_by_provider", "set_state_done"}. Refused and faulted
// calls, and SetOrderState, are not transitions.
func (s *Server) Transitions(orderID uuid.UUID) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if o := s.st.orders.get(orderID); o != nil {
		return slices.Clone(o.transitions)
	}
	return nil
}

// Faults configures fault injection. A fault is decided before the handler
// runs, so a faulted call changes no state. Decisions are deterministic: the
// n-th call of an operation gets the same decision for the same Seed, however
// calls of different operations interleave.
type Faults struct {
	// ServerErrorRate is the fraction of calls answered 500.
	ServerErrorRate float64
	// RateLimitRate is the fraction of calls answered 429 with Retry-After.
	RateLimitRate float64
	// RetryAfter is the Retry-After of injected 429s, rounded up to whole
	// seconds; zero means one second.
	RetryAfter time.Duration
	// Latency delays every affected call, faulted or not, before it is handled.
	Latency time.Duration
	// Seed selects the decision sequence.
	Seed int64
	// Only limits faults and latency to these operation IDs; empty means all.
	Only []string
}

// SetFaults replaces the fault configuration; the zero Faults turns injection
// off. Per-operation call counters restart, so the decision sequence does too.
func (s *Server) SetFaults(f Faults) {
	s.mu.Lock()
	defer s.mu.Unlock()
	f.Only = slices.Clone(f.Only)
	s.faults = f
	s.faultN = map[string]uint64{}
}

// FailNext answers the next n calls of an operation with status (for example
// 503) before they reach the handler, in addition to any configured rates.
func (s *Server) FailNext(operationID string, status, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.failNext == nil {
		s.failNext = map[string][]int{}
	}
	for range n {
		s.failNext[operationID] = append(s.failNext[operationID], status)
	}
}

// injectFault applies latency and decides whether the call of op is faulted.
func (s *Server) injectFault(ctx context.Context, op string) (reply, bool) {
	s.mu.Lock()
	if q := s.failNext[op]; len(q) > 0 {
		status := q[0]
		s.failNext[op] = q[1:]
		s.mu.Unlock()
		return faultReply(status, time.Second), true
	}
	f := s.faults
	if len(f.Only) > 0 && !slices.Contains(f.Only, op) {
		s.mu.Unlock()
		return reply{}, false
	}
	n := s.faultN[op]
	s.faultN[op] = n + 1
	s.mu.Unlock()

	if f.Latency > 0 {
		t := time.NewTimer(f.Latency)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
		}
	}
	if f.ServerErrorRate <= 0 && f.RateLimitRate <= 0 {
		return reply{}, false
	}
	u := decide(f.Seed, op, n)
	switch {
	case u < f.ServerErrorRate:
		return faultReply(http.StatusInternalServerError, 0), true
	case u < f.ServerErrorRate+f.RateLimitRate:
		return faultReply(http.StatusTooManyRequests, f.RetryAfter), true
	}
	return reply{}, false
}

// decide maps (seed, operation, call number) to a uniform number in [0, 1).
func decide(seed int64, op string, n uint64) float64 {
	h := fnv.New64a()
	_, _ = h.Write([]byte(op))
	x := uint64(seed) ^ h.Sum64() ^ (n * 0x9e3779b97f4a7c15)
	// splitmix64 finaliser
	x ^= x >> 30
	x *= 0xbf58476d1ce4e5b9
	x ^= x >> 27
	x *= 0x94d049bb133111eb
	x ^= x >> 31
	return float64(x>>11) / (1 << 53)
}

func faultReply(status int, retryAfter time.Duration) reply {
	switch status {
	case http.StatusTooManyRequests:
		secs := int(math.Ceil(retryAfter.Seconds()))
		if secs < 1 {
			secs = 1
		}
		rep := detail(status, fmt.Sprintf("Request was throttled. Expected available in %d seconds.", secs))
		rep.header = http.Header{"Retry-After": {fmt.Sprint(secs)}}
		return rep
	case http.StatusInternalServerError:
		// Django answers unhandled errors with an HTML page, not JSON.
		return reply{
			status: status,
			body:   []byte("<h1>Server Error (500)</h1>"),
			header: http.Header{"Content-Type": {"text/html; charset=utf-8"}},
		}
	default:
		return detail(status, http.StatusText(status)+".")
	}
}
