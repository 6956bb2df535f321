package waldurtest_test

import (
	"context"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// processOne is what an agent does with one order over the wire: approve it,
// re-read its state and finish it.
func processOne(ctx context.Context, b *testing.B, c *waldur.Client, id uuid.UUID) {
	if err := c.Orders.Approve(ctx, id); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Orders.Get(ctx, id, "uuid", "state"); err != nil {
		b.Fatal(err)
	}
	if err := c.Orders.SetDone(ctx, id); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkOrderLifecycle measures orders processed per second through the
// client over loopback: one list page per 100 orders plus three calls per
// order, with the store growing as it goes.
func BenchmarkOrderLifecycle(b *testing.B) {
	s := waldurtest.New()
	defer s.Close()
	off := s.AddOffering(waldurtest.OfferingSpec{})
	c := s.Client(waldur.WithPageSize(100))
	ctx := context.Background()
	pending := waldur.ListOrdersOptions{OfferingUUID: off, States: []waldur.OrderState{waldur.OrderStatePendingProvider}}
	b.ResetTimer()
	done := 0
	for done < b.N {
		b.StopTimer()
		batch := min(100, b.N-done)
		for range batch {
			s.AddOrder(waldurtest.OrderSpec{Offering: off})
		}
		b.StartTimer()
		for o, err := range c.Orders.List(ctx, pending) {
			if err != nil {
				b.Fatal(err)
			}
			processOne(ctx, b, c, o.UUID)
			done++
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}

// BenchmarkOrderLifecycleParallel processes pre-seeded orders from parallel
// goroutines, as an agent with a worker pool does.
func BenchmarkOrderLifecycleParallel(b *testing.B) {
	s := waldurtest.New()
	defer s.Close()
	off := s.AddOffering(waldurtest.OfferingSpec{})
	ids := make([]uuid.UUID, b.N)
	for i := range ids {
		ids[i] = s.AddOrder(waldurtest.OrderSpec{Offering: off})
	}
	c := s.Client()
	ctx := context.Background()
	var next atomic.Int64
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			processOne(ctx, b, c, ids[next.Add(1)-1])
		}
	})
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "orders/s")
}

// BenchmarkListPendingOrders lists one page of pending orders of an offering
// among many finished ones, the agent's polling call.
func BenchmarkListPendingOrders(b *testing.B) {
	s := waldurtest.New()
	defer s.Close()
	off := s.AddOffering(waldurtest.OfferingSpec{})
	for range 20000 {
		s.AddOrder(waldurtest.OrderSpec{Offering: off, State: "done"})
	}
	for range 50 {
		s.AddOrder(waldurtest.OrderSpec{Offering: off})
	}
	c := s.Client(waldur.WithPageSize(100))
	ctx := context.Background()
	pending := waldur.ListOrdersOptions{OfferingUUID: off, States: []waldur.OrderState{waldur.OrderStatePendingProvider, waldur.OrderStateExecuting}}
	b.ResetTimer()
	for b.Loop() {
		n := 0
		for _, err := range c.Orders.List(ctx, pending) {
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 50 {
			b.Fatalf("listed %d orders, want 50", n)
		}
	}
}
