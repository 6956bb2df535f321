// Command exec-backend is the quickstart's storage agent with its backend
// written as shell scripts (bin/*.sh) and run by the exec backend: each order
// type and the usage report is a program that reads a JSON request on
// standard input and answers in JSON on standard output.
//
// With no environment it starts an embedded fake Waldur with the quickstart's
// orders, runs the agent from agent.yaml until they are finished, and prints
// a summary:
//
//	go run ./examples/exec-backend
//
// The same configuration runs in the operator's command:
//
//	go run ./cmd/waldur-agent test-order -config examples/exec-backend/agent.yaml -template examples/exec-backend/order-create.yaml
//	go run ./cmd/waldur-agent run -config examples/exec-backend/agent.yaml   # against a real Waldur
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"text/tabwriter"
	"time"

	"github.com/gsv-platform/waldur-agent-go/backends/execbackend"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func main() {
	config := flag.String("config", defaultConfig(), "the agent's configuration")
	flag.Parse()
	volumes, err := os.MkdirTemp("", "volumes")
	if err != nil {
		log.Fatal(err)
	}
	defer os.RemoveAll(volumes)
	fake, offering, orders := demo()
	defer fake.Close()
	if err := run(context.Background(), *config, fake, offering, volumes, orders); err != nil {
		log.Fatal(err)
	}
	summary(fake, orders)
}

// defaultConfig finds agent.yaml from the repository root or this directory.
func defaultConfig() string {
	if _, err := os.Stat("agent.yaml"); err == nil {
		return "agent.yaml"
	}
	return filepath.Join("examples", "exec-backend", "agent.yaml")
}

// demo seeds the quickstart's scenario: three volumes ordered (one too big),
// one resized and one removed.
func demo() (*waldurtest.Server, waldur.UUID, []waldur.UUID) {
	fake := waldurtest.New()
	offering := fake.AddOffering(waldurtest.OfferingSpec{
		Name:       "Demo storage",
		Components: []waldurtest.ComponentSpec{{Type: "storage", Name: "Storage", MeasuredUnit: "GB", BillingType: "limit"}},
	})
	project := fake.AddProject(waldurtest.ProjectSpec{Name: "Climate modelling"})
	archive := fake.AddResource(waldurtest.ResourceSpec{Offering: offering, Project: project, Name: "archive", BackendID: "vol-archive",
		Limits: map[string]int64{"storage": 500}})
	scratch := fake.AddResource(waldurtest.ResourceSpec{Offering: offering, Project: project, Name: "scratch-2025", BackendID: "vol-scratch"})
	order := func(typ, name string, resource waldur.UUID, storage int64) waldur.UUID {
		spec := waldurtest.OrderSpec{Offering: offering, Project: project, Type: typ, Resource: resource}
		if name != "" {
			spec.Attributes = map[string]any{"name": name}
		}
		if storage > 0 {
			spec.Limits = map[string]int64{"storage": storage}
		}
		return fake.AddOrder(spec)
	}
	return fake, offering, []waldur.UUID{
		order("Create", "results", waldur.UUID{}, 100),
		order("Create", "inputs", waldur.UUID{}, 250),
		order("Create", "everything", waldur.UUID{}, 50_000),
		order("Update", "", archive, 800),
		order("Terminate", "", scratch, 0),
	}
}

// run loads the configuration, points it at the fake and runs the agent
// until every order is finished.
func run(ctx context.Context, path string, fake *waldurtest.Server, offering waldur.UUID, volumes string, orders []waldur.UUID) error {
	f, err := agentconfig.LoadSiteAgentFile(path)
	if err != nil {
		return err
	}
	o := f.Offerings[0]
	var s struct {
		Create    string `yaml:"create"`
		Update    string `yaml:"update"`
		Terminate string `yaml:"terminate"`
		Usage     string `yaml:"usage"`
	}
	if err := o.DecodeBackendSettings(&s); err != nil {
		return err
	}
	dir := filepath.Dir(path)
	backend, err := execbackend.New(execbackend.Config{
		Create:    execbackend.Command{filepath.Join(dir, s.Create)},
		Update:    execbackend.Command{filepath.Join(dir, s.Update)},
		Terminate: execbackend.Command{filepath.Join(dir, s.Terminate)},
		Usage:     execbackend.Command{filepath.Join(dir, s.Usage)},
		Env:       map[string]string{"VOLUMES_DIR": volumes},
		Timeout:   30 * time.Second,
	})
	if err != nil {
		return err
	}
	agent, err := siteagent.New(siteagent.Config{
		WaldurURL: fake.URL(), Token: fake.Token(), OfferingUUID: waldur.Hex(offering),
		Orders: backend, Usage: backend.Usage(),
		Events: siteagent.EventsConfig{Mode: siteagent.EventsPolling},
	})
	if err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(ctx)
	go func() {
		defer cancel()
		_ = fake.WaitFor(ctx, func() bool {
			for _, id := range orders {
				if o, _ := fake.Order(id); !finished(o.State) {
					return false
				}
			}
			return true
		})
	}()
	return agent.Run(ctx)
}

func finished(s waldur.OrderState) bool {
	return s == waldur.OrderStateDone || s == waldur.OrderStateErred || s == waldur.OrderStateRejected
}

func summary(fake *waldurtest.Server, orders []waldur.UUID) {
	w := tabwriter.NewWriter(os.Stdout, 2, 4, 2, ' ', 0)
	fmt.Fprintln(w, "ORDER\tTYPE\tRESOURCE\tSTATE\tBACKEND ID\tNOTE")
	for _, id := range orders {
		o, _ := fake.Order(id)
		r, _ := fake.Resource(o.MarketplaceResourceUUID)
		fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\t%s\n", waldur.Hex(id)[:8], o.Type, o.ResourceName, o.State, r.BackendID, o.ErrorMessage)
	}
	w.Flush()
}
