package main

import (
	"context"
	"fmt"
	"os"
	"text/tabwriter"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// startDemo starts an embedded fake Waldur with an offering and a handful of
// orders, and watches them. Unless keep is set, the returned context ends once
// every order is finished, which stops the agent. done prints the summary and
// stops the fake.
func startDemo(ctx context.Context, keep bool) (context.Context, environment, func()) {
	fake := waldurtest.New()
	offering := fake.AddOffering(waldurtest.OfferingSpec{
		Name:       "Demo storage",
		Components: []waldurtest.ComponentSpec{{Type: "storage", Name: "Storage", MeasuredUnit: "GB", BillingType: "limit"}},
	})
	project := fake.AddProject(waldurtest.ProjectSpec{Name: "Climate modelling"})
	existing := fake.AddResource(waldurtest.ResourceSpec{Offering: offering, Project: project, Name: "archive", BackendID: "vol-archive",
		Limits: map[string]int64{"storage": 500}})
	retired := fake.AddResource(waldurtest.ResourceSpec{Offering: offering, Project: project, Name: "scratch-2025", BackendID: "vol-scratch"})
	orders := []waldur.UUID{
		fake.AddOrder(waldurtest.OrderSpec{Offering: offering, Project: project, Attributes: map[string]any{"name": "results"}, Limits: map[string]int64{"storage": 100}}),
		fake.AddOrder(waldurtest.OrderSpec{Offering: offering, Project: project, Attributes: map[string]any{"name": "inputs"}, Limits: map[string]int64{"storage": 250}}),
		fake.AddOrder(waldurtest.OrderSpec{Offering: offering, Project: project, Attributes: map[string]any{"name": "everything"}, Limits: map[string]int64{"storage": 50_000}}),
		fake.AddOrder(waldurtest.OrderSpec{Offering: offering, Project: project, Type: "Update", Resource: existing, Limits: map[string]int64{"storage": 800}}),
		fake.AddOrder(waldurtest.OrderSpec{Offering: offering, Project: project, Type: "Terminate", Resource: retired}),
	}
	fmt.Printf("Embedded fake Waldur at %s with %d orders for offering %q.\n\n", fake.URL(), len(orders), "Demo storage")
	if keep {
		fmt.Printf("Token: %s\nOffering: %s\n\n", fake.Token(), waldur.Hex(offering))
	}

	ctx, cancel := context.WithCancel(ctx)
	start := time.Now()
	watched := make(chan struct{})
	go func() {
		defer close(watched)
		watch(ctx, fake, orders, start)
		if !keep {
			cancel()
		}
	}()
	env := environment{url: fake.URL(), token: fake.Token(), offering: waldur.Hex(offering)}
	return ctx, env, func() {
		cancel()
		<-watched
		summary(fake, orders, time.Since(start))
		fake.Close()
	}
}

// watch prints each order as it reaches a final state and returns when all
// have, or when ctx ends.
func watch(ctx context.Context, fake *waldurtest.Server, orders []waldur.UUID, start time.Time) {
	reported := make(map[waldur.UUID]bool)
	_ = fake.WaitFor(ctx, func() bool {
		for _, id := range orders {
			o, _ := fake.Order(id)
			if reported[id] || !final(o.State) {
				continue
			}
			reported[id] = true
			fmt.Printf("  %6.1f ms  %-9s %-12s → %s\n", float64(time.Since(start).Microseconds())/1000, o.Type, o.ResourceName, o.State)
		}
		return len(reported) == len(orders)
	})
}

func final(s waldur.OrderState) bool {
	return s == waldur.OrderStateDone || s == waldur.OrderStateErred || s == waldur.OrderStateRejected || s == waldur.OrderStateCanceled
}

func summary(fake *waldurtest.Server, orders []waldur.UUID, took time.Duration) {
	fmt.Printf("\nSummary after %s (%d REST calls):\n", took.Round(time.Millisecond), len(fake.Calls()))
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "  ORDER\tTYPE\tRESOURCE\tSTATE\tBACKEND ID\tNOTE")
	for _, id := range orders {
		o, _ := fake.Order(id)
		r, _ := fake.Resource(o.MarketplaceResourceUUID)
		fmt.Fprintf(w, "  %s\t%s\t%s\t%s\t%s\t%s\n", waldur.Hex(id)[:8], o.Type, o.ResourceName, o.State, r.BackendID, o.ErrorMessage)
	}
	w.Flush()
}
