package waldurtest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// A consumer orders an allocation; the provider side lists pending orders,
// approves them and reports them done, and the test checks what happened.
func Example() {
	s := waldurtest.New()
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{
		Name:       "HPC cluster",
		Components: []waldurtest.ComponentSpec{{Type: "cpu", BillingType: "limit", MeasuredUnit: "hours"}},
	})
	order := s.AddOrder(waldurtest.OrderSpec{
		Offering: offering, Limits: map[string]int64{"cpu": 1000}, Attributes: map[string]any{"name": "alloc-1"},
	})

	ctx := context.Background()
	c := s.Client()
	pending := waldur.ListOrdersOptions{OfferingUUID: offering, States: []waldur.OrderState{waldur.OrderStatePendingProvider}}
	for o, err := range c.Orders.List(ctx, pending) {
		if err != nil {
			fmt.Println("list:", err)
			return
		}
		fmt.Println(o.Type, o.State, o.ResourceName, o.Limits["cpu"])
		if err := c.Orders.Approve(ctx, o.UUID); err != nil {
			fmt.Println("approve:", err)
		}
		if err := c.Orders.SetDone(ctx, o.UUID); err != nil {
			fmt.Println("done:", err)
		}
	}

	o, _ := s.Order(order)
	r, _ := s.Resource(o.MarketplaceResourceUUID)
	fmt.Println(o.State, r.State)
	fmt.Println(s.Transitions(order))
	// Output:
	// Create pending-provider alloc-1 1000
	// done OK
	// [approve_by_provider set_state_done]
}

// The fake speaks plain HTTP as well: lists are bare arrays with the total in
// X-Result-Count and paging in the Link header.
func Example_plainHTTP() {
	s := waldurtest.New()
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{})
	for range 3 {
		s.AddOrder(waldurtest.OrderSpec{Offering: offering})
	}

	req, _ := http.NewRequest("GET", s.URL()+"/api/marketplace-orders/?state=pending-provider&page_size=2&field=state", nil)
	req.Header.Set("Authorization", "Token "+s.Token())
	resp, err := s.HTTPClient().Do(req)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	fmt.Println(resp.StatusCode, resp.Header.Get("X-Result-Count"))
	fmt.Println(string(body))
	// Output:
	// 200 3
	// [{"state":"pending-provider"},{"state":"pending-provider"}]
}

// Faults are decided before a handler runs, so a failed call changes nothing:
// the order moves only when the agent tries again.
func ExampleServer_FailNext() {
	s := waldurtest.New()
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{})
	order := s.AddOrder(waldurtest.OrderSpec{Offering: offering})
	s.FailNext("marketplace_orders_approve_by_provider", http.StatusServiceUnavailable, 1)

	ctx := context.Background()
	c := s.Client()
	err := c.Orders.Approve(ctx, order)
	fmt.Println(err != nil, s.Transitions(order))
	err = c.Orders.Approve(ctx, order)
	fmt.Println(err, s.Transitions(order))
	for _, call := range s.Calls() {
		fmt.Println(call.OperationID, call.Status, call.Injected)
	}
	// Output:
	// true []
	// <nil> [approve_by_provider]
	// marketplace_orders_approve_by_provider 503 true
	// marketplace_orders_approve_by_provider 200 false
}

// An EventSink receives what Waldur would publish to RabbitMQ.
func ExampleWithEventSink() {
	sink := waldurtest.EventSinkFunc(func(_ context.Context, e waldurtest.Event) error {
		fmt.Println(e.Seq, e.ObjectType, e.Payload["order_state"])
		return nil
	})
	s := waldurtest.New(waldurtest.WithEventSink(sink))
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{})
	order := s.AddOrder(waldurtest.OrderSpec{Offering: offering, State: "pending-consumer"})
	s.SetOrderState(order, "pending-provider") // the consumer approved
	// Output:
	// 1 order pending-consumer
	// 2 order pending-provider
}

// An order with a start date waits in pending-start-date after approval, and
// executes once StartDueOrders finds its date has come.
func ExampleServer_StartDueOrders() {
	clock := waldurtest.NewClock(time.Date(2026, 8, 10, 9, 0, 0, 0, time.UTC))
	s := waldurtest.New(waldurtest.WithClock(clock.Now))
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{})
	order := s.AddOrder(waldurtest.OrderSpec{Offering: offering, StartDate: time.Date(2026, 8, 12, 0, 0, 0, 0, time.UTC)})

	ctx := context.Background()
	c := s.Client()
	if err := c.Orders.Approve(ctx, order); err != nil {
		fmt.Println("approve:", err)
	}
	o, _ := c.Orders.Get(ctx, order, "state")
	fmt.Println(o.State, len(s.StartDueOrders()))

	clock.Add(72 * time.Hour)
	fmt.Println(len(s.StartDueOrders()))
	o, _ = c.Orders.Get(ctx, order, "state")
	fmt.Println(o.State)
	// Output:
	// pending-start-date 0
	// 1
	// executing
}

// Waldur's resync pushes the resource event for resources whose last_sync
// is over an hour old until the agent calls refresh_last_sync.
func ExampleServer_SyncStaleResources() {
	s := waldurtest.New()
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{})
	stale := s.AddResource(waldurtest.ResourceSpec{Offering: offering, LastSync: time.Now().Add(-2 * time.Hour)})
	s.AddResource(waldurtest.ResourceSpec{Offering: offering})

	fmt.Println(len(s.SyncStaleResources()))
	if err := s.Client().Resources.RefreshLastSync(context.Background(), stale); err != nil {
		fmt.Println("refresh:", err)
	}
	fmt.Println(len(s.SyncStaleResources()))
	// Output:
	// 1
	// 0
}
