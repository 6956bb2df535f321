package apikeys_test

import (
	"context"
	"fmt"
	"time"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// A site agent that gives every resource of an offering two API keys,
// reports them to Waldur, rotates them on request and revokes them on
// termination. Here against the embedded fake Waldur.
func ExampleProvisioner() {
	fake := waldurtest.New()
	defer fake.Close()
	offering := fake.AddOffering(waldurtest.OfferingSpec{Name: "LLM gateway"})
	order := fake.AddOrder(waldurtest.OrderSpec{Offering: offering, ResourceName: "assistant"})

	ctx, cancel := context.WithCancel(context.Background())
	keys, _ := apikeys.New(apikeys.Config{Store: apikeys.NewMemoryStore()})
	client := fake.Client()
	gateway := siteagent.OrderProcessorFunc(func(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
		return siteagent.Result{BackendID: "llm-42"}, nil // configure the gateway here
	})
	p, err := apikeys.NewProvisioner(apikeys.ProvisionerConfig{
		Keys: keys, Client: client, Next: gateway, Scopes: []string{"chat:write"}, TTL: 90 * 24 * time.Hour,
	})
	if err != nil {
		panic(err)
	}
	agent, err := siteagent.New(siteagent.Config{
		Client: client, Token: fake.Token(), OfferingUUID: offering.String(),
		Orders: p, APIKeys: p,
		Events: siteagent.EventsConfig{Mode: siteagent.EventsPolling}, ReconcileInterval: 50 * time.Millisecond,
	})
	if err != nil {
		panic(err)
	}
	done := make(chan error, 1)
	go func() { done <- agent.Run(ctx) }()
	defer func() { cancel(); <-done }()

	_ = fake.WaitFor(ctx, func() bool { o, _ := fake.Order(order); return o.State == waldur.OrderStateDone })
	for _, k := range fake.APIKeys() {
		secret, _ := fake.APIKeySecret(k.UUID) // what the consumer's reveal shows
		res, _ := keys.Verify(ctx, secret, "chat:write")
		fmt.Println(k.ClientID, k.State, res.Reason, res.Identity.Name)
	}
	// Output:
	// llm-42-1 OK valid assistant
	// llm-42-2 OK valid assistant
}

// Metered use becomes Waldur component usage: the Meter flushes into a
// WaldurUsage (on its own schedule, and whenever the agent is about to
// report), which the agent asks for each resource's totals. Waldur's
// earlier usage of the month is the base, so a restarted process continues
// from it.
func ExampleWaldurUsage() {
	fake := waldurtest.New()
	defer fake.Close()
	offering := fake.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{
		{Type: "requests", BillingType: "usage"}, {Type: "ktokens", BillingType: "usage"},
	}})
	resource := fake.AddResource(waldurtest.ResourceSpec{Offering: offering})
	now := time.Now().UTC()
	fake.AddComponentUsage(waldurtest.UsageSpec{Resource: resource, Type: "requests", Amount: "100", Date: now})

	usage, _ := apikeys.NewWaldurUsage(apikeys.WaldurUsageConfig{
		Client:     fake.Client(),
		Components: map[string]apikeys.UsageComponent{"tokens": {Type: "ktokens", Per: 1000}},
	})
	meter, _ := usage.NewMeter(apikeys.MeterConfig{}) // go meter.Run(ctx) flushes it every Interval
	caller := apikeys.Identity{KeyID: "k1", Binding: apikeys.Binding{OfferingUUID: offering, ResourceUUID: resource}}
	meter.Add(caller, "requests", 5)
	meter.Add(caller, "tokens", 2500)

	// What a usage pass of the agent (siteagent.Config.Usage = usage) does:
	// flush the meter, then ask for each resource's totals.
	_ = usage.FlushUsage(context.Background())
	r, _ := fake.Resource(resource)
	start := time.Date(now.Year(), now.Month(), 1, 0, 0, 0, 0, time.UTC)
	u, _ := usage.ReportUsage(context.Background(), &r, siteagent.Period{Start: start, End: start.AddDate(0, 1, 0)})
	fmt.Println(u.Totals)
	// Output:
	// map[ktokens:2.5 requests:105]
}
