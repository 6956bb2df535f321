package main

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// orderTemplate is the file test-order reads.
//
//	type: Create                 # Create (default), Update, Terminate, Restore
//	name: results                # the resource's name
//	project: Climate modelling
//	limits: {storage: 100}
//	attributes: {tier: ssd}      # the rest of the order form
//	resource:                    # Update, Terminate, Restore: the resource as it is
//	  backend_id: vol-archive
//	  limits: {storage: 500}
type orderTemplate struct {
	Type       string           `yaml:"type"`
	Name       string           `yaml:"name"`
	Project    string           `yaml:"project"`
	Limits     map[string]int64 `yaml:"limits"`
	Attributes map[string]any   `yaml:"attributes"`
	Resource   struct {
		BackendID  string           `yaml:"backend_id"`
		Limits     map[string]int64 `yaml:"limits"`
		Attributes map[string]any   `yaml:"attributes"`
	} `yaml:"resource"`
}

func testOrderCommand(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "test-order", "-config agent.yaml -template order.yaml [-timeout 2m]")
	var cf configFlags
	cf.register(fs)
	tmplPath := fs.String("template", "", "the order to place (YAML)")
	timeout := fs.Duration("timeout", 2*time.Minute, "how long the order may take")
	if err := parse(fs, args); err != nil {
		return err
	}
	if *tmplPath == "" {
		return usageError("-template is required")
	}
	l, err := cf.load(e)
	if err != nil {
		return err
	}
	tmpl, err := readTemplate(*tmplPath)
	if err != nil {
		return err
	}

	fake := waldurtest.New()
	defer fake.Close()
	order := seedOrder(fake, l, tmpl)
	cfg := siteagent.Config{
		WaldurURL: fake.URL(), Token: fake.Token(), OfferingUUID: waldur.Hex(l.id),
		Logger:            slog.New(slog.NewTextHandler(e.stderr, &slog.HandlerOptions{Level: slog.LevelWarn})),
		ReconcileInterval: time.Second, AsyncPollInterval: time.Second,
		RetryBackoff: time.Second, MaxRetryBackoff: 5 * time.Second,
		ProcessorTimeout: l.offering.Config.ProcessorTimeout,
		Events:           siteagent.EventsConfig{Mode: siteagent.EventsPolling},
	}
	if err := l.setProcessors(&cfg); err != nil {
		return err
	}
	if cfg.Orders == nil {
		return usageError("%s: the backend has no order commands", l.path)
	}
	agent, err := siteagent.New(cfg)
	if err != nil {
		return usageError("%v", err)
	}
	o, _ := fake.Order(order)
	fmt.Fprintf(e.stdout, "%s order %s for %q against an embedded fake Waldur\n", o.Type, waldur.Hex(order)[:8], o.ResourceName)

	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- agent.Run(runCtx) }()
	watchCtx, cancel := context.WithTimeout(ctx, *timeout)
	start := time.Now()
	shown := 0
	_ = fake.WaitFor(watchCtx, func() bool {
		ts := fake.Transitions(order)
		for ; shown < len(ts); shown++ {
			fmt.Fprintf(e.stdout, "  %8s  %s\n", time.Since(start).Round(time.Millisecond), ts[shown])
		}
		o, _ := fake.Order(order)
		return final(o.State)
	})
	cancel()
	stop()
	if err := <-ran; err != nil {
		return err
	}
	return summarise(e, fake, order)
}

func readTemplate(path string) (*orderTemplate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, usageError("%v", err)
	}
	var t orderTemplate
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(&t); err != nil {
		return nil, usageError("%s: %v", path, err)
	}
	if t.Type == "" {
		t.Type = "Create"
	}
	switch t.Type {
	case "Create", "Update", "Terminate", "Restore":
	default:
		return nil, usageError("%s: type %q is not Create, Update, Terminate or Restore", path, t.Type)
	}
	return &t, nil
}

// seedOrder makes the offering of the configuration, with its components,
// and the order of the template in fake.
func seedOrder(fake *waldurtest.Server, l *loaded, t *orderTemplate) waldur.UUID {
	offering := fake.AddOffering(waldurtest.OfferingSpec{UUID: l.id, Name: l.offering.Name, Components: componentSpecs(l.offering.BackendComponents)})
	project := fake.AddProject(waldurtest.ProjectSpec{Name: orDefault(t.Project, "Test project")})
	attrs := map[string]any{}
	for k, v := range t.Attributes {
		attrs[k] = v
	}
	if t.Name != "" {
		attrs["name"] = t.Name
	}
	spec := waldurtest.OrderSpec{Offering: offering, Project: project, Type: t.Type, Limits: t.Limits, Attributes: attrs}
	if t.Type != "Create" {
		spec.Resource = fake.AddResource(waldurtest.ResourceSpec{Offering: offering, Project: project, Name: orDefault(t.Name, "test-resource"),
			BackendID: t.Resource.BackendID, Limits: t.Resource.Limits, Attributes: t.Resource.Attributes})
	}
	return fake.AddOrder(spec)
}

func componentSpecs(cs []agentconfig.Component) []waldurtest.ComponentSpec {
	out := make([]waldurtest.ComponentSpec, 0, len(cs))
	for _, c := range cs {
		out = append(out, waldurtest.ComponentSpec{Type: c.Type, Name: c.Label, MeasuredUnit: c.MeasuredUnit, BillingType: c.AccountingType})
	}
	return out
}

func summarise(e *env, fake *waldurtest.Server, order waldur.UUID) error {
	o, _ := fake.Order(order)
	r, _ := fake.Resource(o.MarketplaceResourceUUID)
	fmt.Fprintf(e.stdout, "order %s", o.State)
	if o.ErrorMessage != "" {
		fmt.Fprintf(e.stdout, ": %s", o.ErrorMessage)
	}
	fmt.Fprintf(e.stdout, "\nresource %q: state %s", r.Name, r.State)
	if r.BackendID != "" {
		fmt.Fprintf(e.stdout, ", backend_id %s", r.BackendID)
	}
	if len(r.BackendMetadata) > 0 {
		fmt.Fprintf(e.stdout, ", backend_metadata %v", r.BackendMetadata)
	}
	for _, ep := range r.Endpoints {
		fmt.Fprintf(e.stdout, ", endpoint %s %s", ep.Name, ep.URL)
	}
	fmt.Fprintln(e.stdout)
	switch o.State {
	case waldur.OrderStateDone:
		return nil
	case waldur.OrderStateExecuting, waldur.OrderStatePendingProvider:
		fmt.Fprintln(e.stdout, "the order did not finish in time; the backend's errors are logged above")
	}
	return errFailed
}

func final(s waldur.OrderState) bool {
	return s == waldur.OrderStateDone || s == waldur.OrderStateErred || s == waldur.OrderStateRejected || s == waldur.OrderStateCanceled
}

func orDefault(s, def string) string {
	if s == "" {
		return def
	}
	return s
}
