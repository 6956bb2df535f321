package agentconfig_test

import (
	"context"
	"fmt"
	"log"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
)

// A program that switches from Waldur's reference agent reads its
// configuration file and sets its own processors.
func ExampleLoadSiteAgentYAML() {
	const file = `
timezone: UTC
offerings:
  - name: "HPC cluster"
    waldur_api_url: "https://waldur.example.org/api/"
    waldur_api_token: "3f0c6b1e9a7d4c2b8e5f1a0d6c9b7e4a2f8d1c3b"
    waldur_offering_uuid: "5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b"
    backend_type: slurm
    order_processing_backend: slurm
    reporting_backend: slurm
    stomp_enabled: true
    mqtt_enabled: false
    backend_settings:
      default_account: root
    backend_components:
      cpu: {measured_unit: k-Hours, unit_factor: 60000, accounting_type: usage, label: CPU}
`
	f, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(file))
	if err != nil {
		log.Fatal(err)
	}
	for _, w := range f.Warnings {
		fmt.Println("warning:", w)
	}
	for _, o := range f.Offerings {
		var settings struct {
			DefaultAccount string `yaml:"default_account"`
		}
		if err := o.DecodeBackendSettings(&settings); err != nil {
			log.Fatal(err)
		}
		fmt.Println(o.Name, o.Config.OfferingUUID)
		fmt.Println("events:", o.Config.Events.Mode, o.Config.Events.STOMPURL)
		fmt.Println("processors for:", o.OrderProcessingBackend, o.ReportingBackend)
		fmt.Println("parent account:", settings.DefaultAccount)
		for _, c := range o.BackendComponents {
			fmt.Println("component:", c.Type, c.AccountingType, c.UnitFactor)
		}
	}
	// Output:
	// warning: line 12: offerings[0].mqtt_enabled: ignored: MQTT was removed from Waldur's agent; events come over STOMP or AMQP
	// HPC cluster 5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b
	// events: stomp wss://waldur.example.org/rmqws-stomp
	// processors for: slurm slurm
	// parent account: root
	// component: cpu usage 60000
}

func ExampleFromEnv() {
	environment := map[string]string{
		"WALDUR_API_URL":                "https://waldur.example.org",
		"WALDUR_API_TOKEN":              "w_8KfQ2mZx7LpR4tVb9NcD3hJs6WqY1eGa",
		"WALDUR_OFFERING_UUID":          "5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b,0e4f6a8c2b1d4c3e9f7a5d6b8c0e2a4f",
		"WALDUR_AGENT_CONCURRENCY":      "16",
		"WALDUR_AGENT_SHUTDOWN_TIMEOUT": "1m",
		"WALDUR_EVENTS_MODE":            "stomp",
	}
	cfg, err := agentconfig.FromEnv(func(name string) string { return environment[name] })
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cfg.WaldurURL)
	fmt.Println(cfg.OfferingUUID, cfg.OfferingUUIDs)
	fmt.Println(cfg.Concurrency, cfg.ShutdownTimeout, cfg.Events.Mode)
	// Output:
	// https://waldur.example.org
	// 5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b [0e4f6a8c2b1d4c3e9f7a5d6b8c0e2a4f]
	// 16 1m0s stomp
}

// A deployment that keeps the reference agent's file for the offering and
// backend settings and takes overrides, such as the token, from the
// environment.
func ExampleApplyEnv() {
	f, err := agentconfig.LoadSiteAgentFile("/etc/waldur/waldur-site-agent-config.yaml")
	if err != nil {
		log.Fatal(err)
	}
	o := f.Offerings[0]
	cfg := o.Config
	if err := agentconfig.ApplyEnv(&cfg, os.Getenv); err != nil {
		log.Fatal(err)
	}
	cfg.Orders = siteagent.OrderProcessorFunc(func(ctx context.Context, order *siteagent.Order) (siteagent.Result, error) {
		return siteagent.Result{}, nil // the backend's work
	})
	agent, err := siteagent.New(cfg)
	if err != nil {
		log.Fatal(err)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := agent.Run(ctx); err != nil {
		log.Fatal(err)
	}
}
