package waldurtest_test

import (
	"net/http"
	"slices"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// Tests of Waldur behaviour read in its server code ("Corrections from the
// server code" in the facts).

// OfferingTypeValidator: set_state_executing and set_state_erred only for
// Marketplace.Slurm, set_state_done for Slurm, Basic and Support; 405
// otherwise, after the state check.
func TestOrderActionsRefusedForOfferingType(t *testing.T) {
	allowed := map[string][]string{
		"set_state_executing": {"Marketplace.Slurm"},
		"set_state_erred":     {"Marketplace.Slurm"},
		"set_state_done":      {"Marketplace.Slurm", "Marketplace.Basic", "Marketplace.Support"},
		"approve_by_provider": {"Marketplace.Slurm", "Marketplace.Basic", "Marketplace.Support", "Marketplace.Script", "OpenStack.Tenant"},
	}
	from := map[string]string{
		"set_state_executing": "pending-provider", "set_state_erred": "executing",
		"set_state_done": "executing", "approve_by_provider": "pending-provider",
	}
	s := waldurtest.NewServer(t)
	body := map[string]string{"error_message": "", "error_traceback": ""}
	for _, typ := range []string{"Marketplace.Slurm", "Marketplace.Basic", "Marketplace.Support", "Marketplace.Script", "OpenStack.Tenant"} {
		off := s.AddOffering(waldurtest.OfferingSpec{Type: typ})
		for action, ok := range allowed {
			t.Run(typ+"/"+action, func(t *testing.T) {
				id := s.AddOrder(waldurtest.OrderSpec{Offering: off, State: from[action]})
				r := call(t, s, "POST", "/api/marketplace-orders/"+hex(id)+"/"+action+"/", body)
				if slices.Contains(ok, typ) {
					assert.Equal(t, http.StatusOK, r.status, "body: %s", r.body)
					return
				}
				require.Equal(t, http.StatusMethodNotAllowed, r.status, "body: %s", r.body)
				var d map[string]string
				r.json(t, &d)
				assert.Contains(t, d["detail"], typ, "the refusal names the offering type")
				got, _ := s.Order(id)
				assert.Equal(t, from[action], string(got.State), "a refused action changes nothing")
			})
		}
	}

	// The state validator runs first: a done order of a Script offering is
	// an invalid state, not a refused type.
	off := s.AddOffering(waldurtest.OfferingSpec{Type: "Marketplace.Script"})
	id := s.AddOrder(waldurtest.OrderSpec{Offering: off, State: "done"})
	assert.Equal(t, http.StatusConflict, call(t, s, "POST", "/api/marketplace-orders/"+hex(id)+"/set_state_done/", nil).status)
}

// set_state_erred reads both error_message and error_traceback; Waldur fails
// (500) without either, the fake names the missing one with a 400.
func TestSetStateErredNeedsMessageAndTraceback(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	for _, tc := range []struct {
		body    any
		missing string
	}{
		{nil, "error_message"},
		{map[string]string{"error_message": "disk full"}, "error_traceback"},
		{map[string]string{"error_traceback": "trace"}, "error_message"},
	} {
		id := s.AddOrder(waldurtest.OrderSpec{Offering: off, State: "executing"})
		r := call(t, s, "POST", "/api/marketplace-orders/"+hex(id)+"/set_state_erred/", tc.body)
		require.Equal(t, http.StatusBadRequest, r.status, "body: %s", r.body)
		var fields map[string][]string
		r.json(t, &fields)
		assert.Contains(t, fields, tc.missing)
		got, _ := s.Order(id)
		assert.Equal(t, "executing", string(got.State))
	}
	id := s.AddOrder(waldurtest.OrderSpec{Offering: off, State: "executing"})
	r := call(t, s, "POST", "/api/marketplace-orders/"+hex(id)+"/set_state_erred/",
		map[string]string{"error_message": "disk full", "error_traceback": ""})
	require.Equal(t, http.StatusOK, r.status, "an empty traceback is allowed: %s", r.body)
	got, _ := s.Order(id)
	assert.Equal(t, "erred", string(got.State))
	assert.Equal(t, "disk full", got.ErrorMessage)
}

// An order with a start date in the future waits in pending-start-date after
// approval, until Waldur's task moves it to executing.
func TestApproveWaitsForStartDate(t *testing.T) {
	clk := waldurtest.NewClock(time.Date(2026, 8, 10, 9, 0, 0, 0, time.UTC))
	s := waldurtest.NewServer(t, waldurtest.WithClock(clk.Now))
	off := s.AddOffering(waldurtest.OfferingSpec{})
	later := s.AddOrder(waldurtest.OrderSpec{Offering: off, StartDate: time.Date(2026, 8, 12, 0, 0, 0, 0, time.UTC)})
	now := s.AddOrder(waldurtest.OrderSpec{Offering: off})

	r := call(t, s, "POST", "/api/marketplace-orders/"+hex(later)+"/approve_by_provider/", nil)
	require.Equal(t, http.StatusOK, r.status)
	assert.Contains(t, string(r.body), "Order is pending start date.")
	got, _ := s.Order(later)
	assert.Equal(t, "pending-start-date", string(got.State))
	require.NotNil(t, got.StartDate)
	assert.Equal(t, "2026-08-12", got.StartDate.String())

	require.Equal(t, http.StatusOK, call(t, s, "POST", "/api/marketplace-orders/"+hex(now)+"/approve_by_provider/", nil).status)
	got, _ = s.Order(now)
	assert.Equal(t, "executing", string(got.State), "without a start date approval executes")

	assert.Empty(t, s.StartDueOrders(), "the date has not come")
	clk.Add(48 * time.Hour)
	assert.Equal(t, []uuid.UUID{later}, s.StartDueOrders())
	got, _ = s.Order(later)
	assert.Equal(t, "executing", string(got.State))
}

// Waldur files usage under the month of the date in its own time zone.
func TestUsageBillingPeriodInServerTimeZone(t *testing.T) {
	ny, err := time.LoadLocation("America/New_York")
	require.NoError(t, err)
	for _, tc := range []struct {
		loc    *time.Location
		date   string
		period string
	}{
		{time.UTC, "2026-08-01T00:00:00Z", "2026-08-01"},
		{ny, "2026-08-01T00:00:00Z", "2026-07-01"}, // 20:00 on July 31st in New York
		{ny, "2026-08-01T12:00:00Z", "2026-08-01"},
	} {
		s := waldurtest.NewServer(t, waldurtest.WithTimeZone(tc.loc))
		off := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{{Type: "cpu"}}})
		res := s.AddResource(waldurtest.ResourceSpec{Offering: off})
		r := call(t, s, "POST", "/api/marketplace-component-usages/set_usage/", map[string]any{
			"resource": hex(res), "date": tc.date, "usages": []map[string]any{{"type": "cpu", "amount": "1"}},
		})
		require.Equal(t, http.StatusCreated, r.status, "body: %s", r.body)
		u := s.ComponentUsages()
		require.Len(t, u, 1)
		assert.Equal(t, tc.period, u[0].BillingPeriod.String(), "%s in %s", tc.date, tc.loc)
	}
}

// Waldur's resync re-pushes stale resources until the agent refreshes them.
func TestSyncStaleResourcesUntilRefreshed(t *testing.T) {
	clk := waldurtest.NewClock(time.Date(2026, 8, 10, 9, 0, 0, 0, time.UTC))
	s := waldurtest.NewServer(t, waldurtest.WithClock(clk.Now))
	off := s.AddOffering(waldurtest.OfferingSpec{})
	a := s.AddResource(waldurtest.ResourceSpec{Offering: off})
	clk.Add(time.Minute)
	b := s.AddResource(waldurtest.ResourceSpec{Offering: off})
	s.AddResource(waldurtest.ResourceSpec{Offering: off, State: "Terminated"})
	basic := s.AddOffering(waldurtest.OfferingSpec{Type: "Marketplace.Basic"})
	s.AddResource(waldurtest.ResourceSpec{Offering: basic})

	assert.Empty(t, s.SyncStaleResources(), "nothing is an hour old yet")
	clk.Add(2 * time.Hour)
	before := len(s.Events())
	assert.Equal(t, []uuid.UUID{a, b}, s.SyncStaleResources(), "oldest first, live site-agent resources only")
	ev := s.Events()[before:]
	require.Len(t, ev, 2)
	assert.Equal(t, "resource", ev[0].ObjectType)
	assert.Equal(t, hex(a), ev[0].Payload["resource_uuid"])
	assert.Equal(t, []uuid.UUID{a, b}, s.SyncStaleResources(), "not refreshed: pushed again")

	require.Equal(t, http.StatusOK, call(t, s, "POST", "/api/marketplace-provider-resources/"+hex(a)+"/refresh_last_sync/", nil).status)
	assert.Equal(t, []uuid.UUID{b}, s.SyncStaleResources())
	got, _ := s.Resource(a)
	assert.Equal(t, clk.Now(), got.LastSync.UTC())
}

// offering_user events carry the state as the FSM integer.
func TestOfferingUserEventStateIsInteger(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	id := s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: off, State: "Creating"})
	require.Equal(t, http.StatusOK, call(t, s, "PATCH", "/api/marketplace-offering-users/"+hex(id)+"/", map[string]string{"username": "u1"}).status)
	ev := s.Events()
	require.NotEmpty(t, ev)
	last := ev[len(ev)-1]
	require.Equal(t, "offering_user", last.ObjectType)
	assert.EqualValues(t, 5, last.Payload["state"], "5 is OK in Waldur's FSM")
}
