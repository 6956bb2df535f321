package siteagent_test

import (
	"context"
	"fmt"
	"log"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// An agent that provisions volumes: it approves the order, runs the
// processor, records the backend id on the resource and marks the order done.
func ExampleNew() {
	s := waldurtest.New() // a fake Waldur; use your Waldur's URL and token instead
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{Name: "Volumes"})
	order := s.AddOrder(waldurtest.OrderSpec{Offering: offering, Attributes: map[string]any{"name": "scratch"}})

	cfg := siteagent.Config{
		OfferingUUID: offering.String(),
		Orders: siteagent.OrderTypes{
			Create: siteagent.OrderProcessorFunc(func(ctx context.Context, o *siteagent.Order) (siteagent.Result, error) {
				return siteagent.Result{BackendID: "vol-" + o.Attributes["name"].(string)}, nil
			}),
		},
	}
	runAgent(s, cfg, func() bool {
		o, _ := s.Order(order)
		return o.State == waldur.OrderStateDone
	})

	o, _ := s.Order(order)
	r, _ := s.Resource(o.MarketplaceResourceUUID)
	fmt.Println(o.State, r.State, r.BackendID)
	fmt.Println(s.Transitions(order))
	// Output:
	// done OK vol-scratch
	// [approve_by_provider set_state_done]
}

// A processor refuses work it can never do with a permanent error: the agent
// marks the order erred with the message instead of retrying.
func ExamplePermanentf() {
	s := waldurtest.New()
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{})
	order := s.AddOrder(waldurtest.OrderSpec{Offering: offering, Limits: map[string]int64{"storage": 50_000}})

	cfg := siteagent.Config{
		OfferingUUID: offering.String(),
		Orders: siteagent.OrderProcessorFunc(func(_ context.Context, o *siteagent.Order) (siteagent.Result, error) {
			if n := o.Limits["storage"]; n > 10_000 {
				return siteagent.Result{}, siteagent.Permanentf("%d GB is more than one volume holds", n)
			}
			return siteagent.Result{BackendID: "vol-1"}, nil
		}),
	}
	runAgent(s, cfg, func() bool {
		o, _ := s.Order(order)
		return o.State == waldur.OrderStateErred
	})

	o, _ := s.Order(order)
	fmt.Println(o.State, o.ErrorMessage)
	// Output:
	// erred 50000 GB is more than one volume holds
}

// An evaluator decides orders that wait for the provider's approval.
func ExampleOrderTypes_evaluator() {
	s := waldurtest.New()
	defer s.Close()
	offering := s.AddOffering(waldurtest.OfferingSpec{})
	order := s.AddOrder(waldurtest.OrderSpec{Offering: offering, Limits: map[string]int64{"gpu": 64}})

	cfg := siteagent.Config{
		OfferingUUID: offering.String(),
		Orders: siteagent.OrderTypes{
			Create: siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
				return siteagent.Result{}, nil
			}),
			Evaluator: siteagent.OrderEvaluatorFunc(func(_ context.Context, o *siteagent.Order) (siteagent.Decision, error) {
				if o.Limits["gpu"] > 16 {
					return siteagent.Reject("at most 16 GPUs per allocation"), nil
				}
				return siteagent.Accept(), nil
			}),
		},
	}
	runAgent(s, cfg, func() bool {
		o, _ := s.Order(order)
		return o.State == waldur.OrderStateRejected
	})

	o, _ := s.Order(order)
	fmt.Println(o.State, o.ProviderRejectionComment)
	// Output:
	// rejected at most 16 GPUs per allocation
}

// The webhook intake takes the secret from the hook's destination URL, which
// must be a public HTTPS address: Waldur posts to no loopback or private
// address.
func ExampleAgent_WebhookHandler() {
	s := waldurtest.New()
	defer s.Close()
	agent, err := siteagent.New(siteagent.Config{
		WaldurURL: s.URL(), Token: s.Token(), OfferingUUID: s.AddOffering(waldurtest.OfferingSpec{}).String(),
		Orders: siteagent.OrderProcessorFunc(func(context.Context, *siteagent.Order) (siteagent.Result, error) {
			return siteagent.Result{}, nil
		}),
		Events: siteagent.EventsConfig{Mode: siteagent.EventsPolling},
	})
	if err != nil {
		log.Fatal(err)
	}
	mux := http.NewServeMux()
	// Hook destination: https://agent.example.com/waldur-hook?secret=<secret>
	mux.Handle("POST /waldur-hook", agent.WebhookHandler(siteagent.WebhookConfig{Secret: os.Getenv("WEBHOOK_SECRET")}))

	w := httptest.NewRecorder()
	mux.ServeHTTP(w, httptest.NewRequest(http.MethodPost, "/waldur-hook?secret=guess", strings.NewReader(`{}`)))
	fmt.Println(w.Code)
	// Output: 401
}
