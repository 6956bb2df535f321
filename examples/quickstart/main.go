// Command quickstart is the smallest useful Waldur site agent: it provisions
// storage volumes for marketplace orders.
//
// With no environment it starts an embedded fake Waldur, places a handful of
// orders, lets the agent process them, prints a summary and exits:
//
//	go run ./examples/quickstart
//	go run ./examples/quickstart -keep   # keep the agent and the fake running
//
// Against a real Waldur, set WALDUR_API_URL, WALDUR_API_TOKEN and
// WALDUR_OFFERING_UUID; it then runs until interrupted.
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/signal"
	"syscall"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
)

func main() {
	keep := flag.Bool("keep", false, "demo mode: keep running after the orders are done")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	env := environment{url: os.Getenv("WALDUR_API_URL"), token: os.Getenv("WALDUR_API_TOKEN"), offering: os.Getenv("WALDUR_OFFERING_UUID")}
	if env.url == "" {
		var done func()
		ctx, env, done = startDemo(ctx, *keep)
		defer done()
	}
	if err := run(ctx, env); err != nil {
		log.Fatal(err)
	}
}

// run is the whole agent.
func run(ctx context.Context, env environment) error {
	backend := newVolumes()
	agent, err := siteagent.New(siteagent.Config{
		WaldurURL:    env.url,
		Token:        env.token,
		OfferingUUID: env.offering,
		Orders: siteagent.OrderTypes{
			Create:    siteagent.OrderProcessorFunc(backend.create),
			Update:    siteagent.OrderProcessorFunc(backend.resize),
			Terminate: siteagent.OrderProcessorFunc(backend.remove),
		},
	})
	if err != nil {
		return fmt.Errorf("quickstart: %w", err)
	}
	return agent.Run(ctx)
}

type environment struct{ url, token, offering string }
