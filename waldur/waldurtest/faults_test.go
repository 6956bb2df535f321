package waldurtest_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// statuses calls GET /api/users/me/ n times and returns the statuses.
func statuses(t *testing.T, s *waldurtest.Server, path string, n int) []int {
	t.Helper()
	out := make([]int, n)
	for i := range out {
		out[i] = call(t, s, "GET", path, nil).status
	}
	return out
}

func TestFaultsAreDeterministic(t *testing.T) {
	f := waldurtest.Faults{ServerErrorRate: 0.3, RateLimitRate: 0.2, RetryAfter: 1500 * time.Millisecond, Seed: 7}
	run := func() []int {
		s := waldurtest.NewServer(t, waldurtest.WithFaults(f))
		return statuses(t, s, "/api/users/me/", 60)
	}
	a, b := run(), run()
	assert.Equal(t, a, b, "the same seed gives the same faults")

	count := map[int]int{}
	for _, st := range a {
		count[st]++
	}
	assert.Positive(t, count[500])
	assert.Positive(t, count[429])
	assert.Positive(t, count[200])
	assert.Equal(t, 60, count[200]+count[429]+count[500])

	f.Seed = 8
	s := waldurtest.NewServer(t, waldurtest.WithFaults(f))
	assert.NotEqual(t, a, statuses(t, s, "/api/users/me/", 60), "another seed, other faults")
}

func TestFaultsDoNotDependOnOtherOperations(t *testing.T) {
	f := waldurtest.Faults{ServerErrorRate: 0.5, Seed: 3}
	s1 := waldurtest.NewServer(t, waldurtest.WithFaults(f))
	a := statuses(t, s1, "/api/users/me/", 20)

	s2 := waldurtest.NewServer(t, waldurtest.WithFaults(f))
	var b []int
	for range 20 {
		call(t, s2, "GET", "/api/marketplace-orders/", nil) // interleaved calls of another operation
		b = append(b, call(t, s2, "GET", "/api/users/me/", nil).status)
	}
	assert.Equal(t, a, b)
}

func TestInjectedFaultsChangeNothing(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	id := s.AddOrder(waldurtest.OrderSpec{Offering: off})
	s.SetFaults(waldurtest.Faults{ServerErrorRate: 1, Only: []string{"marketplace_orders_approve_by_provider"}})

	r := call(t, s, "POST", "/api/marketplace-orders/"+hex(id)+"/approve_by_provider/", nil)
	assert.Equal(t, 500, r.status)
	o, _ := s.Order(id)
	assert.Equal(t, "pending-provider", string(o.State), "the handler did not run")
	assert.Empty(t, s.Transitions(id))
	assert.Equal(t, 200, call(t, s, "GET", "/api/marketplace-orders/"+hex(id)+"/", nil).status, "other operations are spared")

	s.SetFaults(waldurtest.Faults{})
	require.Equal(t, 200, call(t, s, "POST", "/api/marketplace-orders/"+hex(id)+"/approve_by_provider/", nil).status)
	assert.Equal(t, []string{"approve_by_provider"}, s.Transitions(id))

	calls := s.Calls()
	require.Len(t, calls, 3)
	assert.True(t, calls[0].Injected)
	assert.Equal(t, 500, calls[0].Status)
	assert.Equal(t, "marketplace_orders_approve_by_provider", calls[0].OperationID)
	assert.False(t, calls[2].Injected)
	assert.Equal(t, 2, s.CallCount("marketplace_orders_approve_by_provider"))
}

func TestRateLimitCarriesRetryAfter(t *testing.T) {
	s := waldurtest.NewServer(t, waldurtest.WithFaults(waldurtest.Faults{RateLimitRate: 1, RetryAfter: 2500 * time.Millisecond}))
	r := call(t, s, "GET", "/api/users/me/", nil)
	require.Equal(t, 429, r.status)
	assert.Equal(t, "3", r.header.Get("Retry-After"))
	var body map[string]string
	r.json(t, &body)
	assert.Contains(t, body["detail"], "throttled")
}

func TestFailNext(t *testing.T) {
	s := waldurtest.NewServer(t)
	s.FailNext("users_me_retrieve", 503, 2)
	assert.Equal(t, []int{503, 503, 200}, statuses(t, s, "/api/users/me/", 3))
}

// A client that gives up must not leave the server waiting out the injected
// latency: Close (at cleanup) would hang for the full hour otherwise.
func TestLatencyEndsWithTheRequest(t *testing.T) {
	s := waldurtest.NewServer(t, waldurtest.WithFaults(waldurtest.Faults{Latency: time.Hour}))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, "GET", s.URL()+"/api/users/me/", nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", "Token "+s.Token())
	resp, err := s.HTTPClient().Do(req)
	if err == nil {
		resp.Body.Close()
	}
	require.ErrorIs(t, err, context.DeadlineExceeded)
}

func TestCallLog(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	id := s.AddOrder(waldurtest.OrderSpec{Offering: off})
	call(t, s, "GET", "/api/marketplace-orders/?state=pending-provider&state=executing", nil)
	call(t, s, "POST", "/api/marketplace-orders/"+hex(id)+"/set_backend_id/", map[string]string{"backend_id": "j"})
	callAuth(t, s, "GET", "/api/users/me/", nil, "")

	calls := s.Calls()
	require.Len(t, calls, 3)
	assert.Equal(t, "marketplace_orders_list", calls[0].OperationID)
	assert.Equal(t, []string{"pending-provider", "executing"}, calls[0].Query["state"])
	assert.Equal(t, "POST", calls[1].Method)
	assert.Equal(t, "/api/marketplace-orders/"+hex(id)+"/set_backend_id/", calls[1].Path)
	assert.JSONEq(t, `{"backend_id":"j"}`, string(calls[1].Body))
	assert.Equal(t, 200, calls[1].Status)
	assert.Equal(t, 401, calls[2].Status)
	assert.Equal(t, "users_me_retrieve", calls[2].OperationID, "refused calls are attributed too")
	assert.False(t, calls[0].Time.IsZero())
	assert.Equal(t, 1, s.CallCount("marketplace_orders_set_backend_id"))

	s.ResetCalls()
	assert.Empty(t, s.Calls())
	assert.Zero(t, s.CallCount("marketplace_orders_list"))
}

func TestCallLogLimit(t *testing.T) {
	s := waldurtest.NewServer(t, waldurtest.WithCallLogLimit(3))
	for range 10 {
		call(t, s, "GET", "/api/users/me/", nil)
	}
	calls := s.Calls()
	assert.GreaterOrEqual(t, len(calls), 3)
	assert.Less(t, len(calls), 6)
	assert.Equal(t, 10, s.CallCount("users_me_retrieve"), "counting is not limited")
}
