package waldur

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// flaky answers the first len(fails) requests with fails[i] (status,
// Retry-After header, body) and then 200 {"ok": true}.
type flaky struct {
	mu       sync.Mutex
	fails    []failure
	requests []recorded
}

type failure struct {
	status     int
	retryAfter string
	body       string
	reset      bool // close the connection without answering
}

type recorded struct {
	at     time.Time
	method string
	body   string
}

func (f *flaky) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	f.mu.Lock()
	n := len(f.requests)
	f.requests = append(f.requests, recorded{at: time.Now(), method: r.Method, body: string(body)})
	f.mu.Unlock()
	if n < len(f.fails) {
		fl := f.fails[n]
		if fl.reset {
			conn, _, err := w.(http.Hijacker).Hijack()
			if err == nil {
				conn.Close()
			}
			return
		}
		if fl.retryAfter != "" {
			w.Header().Set("Retry-After", fl.retryAfter)
		}
		w.WriteHeader(fl.status)
		io.WriteString(w, fl.body)
		return
	}
	io.WriteString(w, `{"ok": true}`)
}

func (f *flaky) count() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.requests)
}

func doCall(t *testing.T, ctx context.Context, c *Client, method, body string) error {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = stringsReader(body)
	}
	req, err := http.NewRequest(method, c.server+"api/marketplace-orders/x/", rd)
	require.NoError(t, err)
	var out map[string]any
	_, err = c.call(ctx, req, nil, &out)
	if err == nil {
		assert.Equal(t, true, out["ok"])
	}
	return err
}

func TestRetries(t *testing.T) {
	unavailable := failure{status: http.StatusServiceUnavailable, body: `{"detail": "down"}`}
	tests := []struct {
		name         string
		method       string
		safe         bool
		fails        []failure
		wantRequests int
		wantStatus   int // of the returned APIError, 0 for success
	}{
		{"GET retried on 503", http.MethodGet, false, []failure{unavailable, unavailable}, 3, 0},
		{"GET retried on 502", http.MethodGet, false, []failure{{status: 502}}, 2, 0},
		{"GET retried on 429", http.MethodGet, false, []failure{{status: 429}}, 2, 0},
		{"GET retried on connection reset", http.MethodGet, false, []failure{{reset: true}}, 2, 0},
		{"GET not retried on 501", http.MethodGet, false, []failure{{status: 501}}, 1, 501},
		{"GET not retried on 404", http.MethodGet, false, []failure{{status: 404}}, 1, 404},
		{"GET not retried on 409", http.MethodGet, false, []failure{{status: 409}}, 1, 409},
		{"PUT retried", http.MethodPut, false, []failure{unavailable}, 2, 0},
		{"DELETE retried", http.MethodDelete, false, []failure{unavailable}, 2, 0},
		{"POST not retried", http.MethodPost, false, []failure{unavailable}, 1, 503},
		{"PATCH not retried", http.MethodPatch, false, []failure{unavailable}, 1, 503},
		{"POST retried when marked safe", http.MethodPost, true, []failure{unavailable, {status: 429}}, 3, 0},
		{"POST marked safe retried on reset", http.MethodPost, true, []failure{{reset: true}}, 2, 0},
		{"gives up after MaxRetries", http.MethodGet, false, []failure{unavailable, unavailable, unavailable, unavailable, unavailable}, 5, 503},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &flaky{fails: tt.fails}
			c, _ := newTestClient(t, f)
			ctx := context.Background()
			if tt.safe {
				ctx = WithRetrySafe(ctx)
			}
			body := ""
			if tt.method == http.MethodPost || tt.method == http.MethodPut || tt.method == http.MethodPatch {
				body = `{"backend_id": "b-1"}`
			}
			err := doCall(t, ctx, c, tt.method, body)
			assert.Equal(t, tt.wantRequests, f.count())
			if tt.wantStatus == 0 {
				require.NoError(t, err)
			} else {
				var apiErr *APIError
				require.ErrorAs(t, err, &apiErr)
				assert.Equal(t, tt.wantStatus, apiErr.StatusCode)
			}
			for _, r := range f.requests {
				assert.Equal(t, body, r.body, "every attempt sends the full body")
			}
		})
	}
}

func TestFinalErrorBodySurvivesRetries(t *testing.T) {
	fail := failure{status: 503, body: `{"detail": "RabbitMQ is unreachable."}`}
	f := &flaky{fails: []failure{fail, fail, fail}}
	c, _ := newTestClient(t, f, WithRetryPolicy(RetryPolicy{MaxRetries: 2}))
	err := doCall(t, context.Background(), c, http.MethodGet, "")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 3, f.count())
	assert.Equal(t, "RabbitMQ is unreachable.", apiErr.Detail)
	assert.JSONEq(t, fail.body, string(apiErr.Body))
	assert.True(t, IsTransient(err))
}

func TestRetryDisabled(t *testing.T) {
	f := &flaky{fails: []failure{{status: 503}}}
	c, _ := newTestClient(t, f, WithRetryPolicy(RetryPolicy{MaxRetries: -1}))
	err := doCall(t, context.Background(), c, http.MethodGet, "")
	require.Error(t, err)
	assert.Equal(t, 1, f.count())
}

func TestRetryAfterIsHonoured(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		name       string
		fail       failure
		wantWaitGE time.Duration
	}{
		{"429 seconds", failure{status: 429, retryAfter: "7"}, 7 * time.Second},
		{"503 seconds", failure{status: 503, retryAfter: "3"}, 3 * time.Second},
		{"429 HTTP date", failure{status: 429, retryAfter: now.Add(12 * time.Second).Format(http.TimeFormat)}, 12 * time.Second},
		{"429 date in the past", failure{status: 429, retryAfter: now.Add(-time.Hour).Format(http.TimeFormat)}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := &flaky{fails: []failure{tt.fail}}
			c, waits := newTestClient(t, f, withClock(func() time.Time { return now }))
			require.NoError(t, doCall(t, context.Background(), c, http.MethodGet, ""))
			assert.Equal(t, 2, f.count())
			got := waits.recorded()
			require.Len(t, got, 1)
			assert.GreaterOrEqual(t, got[0], tt.wantWaitGE)
			assert.LessOrEqual(t, got[0], DefaultMaxWait)
		})
	}
}

// TestRetryAfterWaitsAtServer checks the whole path with a real wait: the
// server sees the retry no earlier than the Retry-After it asked for.
func TestRetryAfterWaitsAtServer(t *testing.T) {
	f := &flaky{fails: []failure{{status: 429, retryAfter: "1"}}}
	srvClient, _ := newTestClient(t, f)
	c, err := NewClient(srvClient.BaseURL(), WithToken(testToken))
	require.NoError(t, err)
	require.NoError(t, doCall(t, context.Background(), c, http.MethodGet, ""))
	require.Equal(t, 2, f.count())
	assert.GreaterOrEqual(t, f.requests[1].at.Sub(f.requests[0].at), time.Second)
}

func TestRetryAfterBeyondMaxWaitIsNotRetried(t *testing.T) {
	f := &flaky{fails: []failure{{status: 429, retryAfter: "120", body: `{"detail": "Request was throttled. Expected available in 120 seconds."}`}}}
	c, waits := newTestClient(t, f, WithRetryPolicy(RetryPolicy{MaxWait: time.Minute}))
	err := doCall(t, context.Background(), c, http.MethodGet, "")
	var apiErr *APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 1, f.count())
	assert.Empty(t, waits.recorded())
	assert.True(t, IsRateLimited(err))
	assert.True(t, IsTransient(err))
	assert.Equal(t, 120*time.Second, apiErr.RetryAfter)
}

func TestBackoffIsExponentialJitteredAndCapped(t *testing.T) {
	r := newRetryer(RetryPolicy{MaxRetries: 10, MinWait: time.Second, MaxWait: 10 * time.Second}, nil)
	for _, jitter := range []func(int64) int64{
		func(int64) int64 { return 0 },
		func(n int64) int64 { return n - 1 },
	} {
		r.jitter = jitter
		for attempt, full := range []time.Duration{1, 2, 4, 8, 10, 10} {
			full *= time.Second
			d := r.backoff(time.Second, 10*time.Second, attempt, nil)
			assert.GreaterOrEqual(t, d, full/2, "attempt %d", attempt)
			assert.LessOrEqual(t, d, full, "attempt %d", attempt)
		}
	}
	d := r.exponential(time.Second, 10*time.Second, 1000)
	assert.True(t, d >= 5*time.Second && d <= 10*time.Second, "huge attempt numbers stay capped: %v", d)
}

func TestRetryStopsWhenContextIsCancelled(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	var n atomic.Int32
	h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 2 {
			cancel()
		}
		w.WriteHeader(503)
	})
	c, _ := newTestClient(t, h)
	err := doCall(t, ctx, c, http.MethodGet, "")
	require.Error(t, err)
	assert.Equal(t, int32(2), n.Load(), "no attempt after cancellation")

	// Cancelled before the call: nothing is sent, and the error is not
	// transient, since cancelling is the caller's decision.
	err = doCall(t, ctx, c, http.MethodGet, "")
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, IsTransient(err), "%v", err)
	assert.Equal(t, int32(2), n.Load())
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"", 0, false},
		{"0", 0, true},
		{" 30 ", 30 * time.Second, true},
		{"-1", 0, false},
		{"abc", 0, false},
		{"99999999999999", maxRetryAfter, true},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{"Sat, 01 Aug 2026 11:00:00 GMT", 0, true},
	}
	for _, tt := range tests {
		got, ok := parseRetryAfter(tt.in, now)
		assert.Equal(t, tt.ok, ok, "%q", tt.in)
		assert.Equal(t, tt.want, got, "%q", tt.in)
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"0", "120", "Sat, 01 Aug 2026 11:00:00 GMT", "-5", "1e3", strconv.Itoa(1 << 62)} {
		f.Add(s)
	}
	now := time.Date(2026, 8, 1, 12, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := parseRetryAfter(s, now)
		if d < 0 || d > maxRetryAfter {
			t.Fatalf("parseRetryAfter(%q) = %v out of range", s, d)
		}
		if !ok && d != 0 {
			t.Fatalf("parseRetryAfter(%q) = %v, false", s, d)
		}
	})
}

func TestPOSTRetriedWhenConnectionCannotBeEstablished(t *testing.T) {
	var dials atomic.Int32
	hc := &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			dials.Add(1)
			return nil, &net.OpError{Op: "dial", Net: network, Err: errors.New("connection refused")}
		},
	}}
	w := &waitRecorder{}
	c, err := NewClient("http://waldur.invalid", w.option(), WithHTTPClient(hc), WithRetryPolicy(RetryPolicy{MaxRetries: 2}))
	require.NoError(t, err)
	err = doCall(t, context.Background(), c, http.MethodPost, `{"x": 1}`)
	require.Error(t, err)
	assert.Equal(t, int32(3), dials.Load())
	assert.True(t, IsTransient(err))
	assert.Len(t, w.recorded(), 2)
}

func TestPOSTNotRetriedAfterConnectionReset(t *testing.T) {
	f := &flaky{fails: []failure{{reset: true}}}
	c, _ := newTestClient(t, f)
	err := doCall(t, context.Background(), c, http.MethodPost, `{"x": 1}`)
	require.Error(t, err)
	assert.Equal(t, 1, f.count(), "the server may have acted on it")
	assert.True(t, IsTransient(err))
	assert.True(t, strings.HasPrefix(err.Error(), "waldur: POST /api/marketplace-orders/x/: "), err.Error())
}
