package siteagent

import (
	"context"
	"encoding/json"
	"fmt"
	"runtime/debug"
	"slices"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Waldur keeps a registry of site agents: an identity per agent and offering,
// services (one per mode of work) below it and processors below those. The
// agent registers once per Run and then only heartbeats; Waldur's reference
// agent re-registers on every cycle.

// Service names (and modes) registered in Waldur, as the reference agent names
// its modes, so operators see familiar names.
const (
	serviceOrders = "order_process"
	serviceEvents = "event_process"
)

// registration is one service with the processors registered in it.
type registration struct {
	service    string
	processors []ProcessorInfo
}

// registrations lists what this agent runs, by service.
func (a *Agent) registrations() []registration {
	regs := make([]registration, 0, len(a.caps))
	for _, c := range a.caps {
		r := c.registration()
		i := slices.IndexFunc(regs, func(x registration) bool { return x.service == r.service })
		if i < 0 {
			regs = append(regs, registration{service: r.service})
			i = len(regs) - 1
		}
		// One value may serve several capabilities; Waldur knows it once.
		for _, p := range r.processors {
			if !slices.Contains(regs[i].processors, p) {
				regs[i].processors = append(regs[i].processors, p)
			}
		}
	}
	return regs
}

// register finds or creates the identity of every offering and registers the
// agent's services and processors.
func (a *Agent) register(ctx context.Context) error {
	for _, off := range a.offerings {
		if err := a.loadOffering(ctx, off); err != nil {
			return err
		}
		a.warnOfferingType(off)
		if err := a.registerOffering(ctx, off); err != nil {
			return err
		}
	}
	a.registered.Store(true)
	return nil
}

// loadOffering reads the offering with its components and plugin options.
func (a *Agent) loadOffering(ctx context.Context, off *offering) error {
	details, err := a.client.Offerings.Get(ctx, off.id)
	if err != nil {
		return fmt.Errorf("siteagent: read offering %s: %w", off.id, err)
	}
	off.mu.Lock()
	off.details = details
	off.mu.Unlock()
	return nil
}

func (a *Agent) registerOffering(ctx context.Context, off *offering) error {
	id, err := a.ensureIdentity(ctx, off)
	if err != nil {
		return err
	}
	services := make(map[string]waldur.UUID)
	for _, reg := range a.registrations() {
		svc, _, err := a.client.Agents.RegisterService(ctx, id, reg.service, reg.service)
		if err != nil {
			return fmt.Errorf("siteagent: register service %s of identity %s: %w", reg.service, id, err)
		}
		services[reg.service] = svc.UUID
		for _, p := range reg.processors {
			if err := a.registerProcessor(ctx, svc.UUID, p); err != nil {
				return err
			}
		}
	}
	off.mu.Lock()
	off.identity = id
	off.services = services
	off.mu.Unlock()
	a.log.Info("siteagent: registered with Waldur", "offering", off.id, "identity", id, "name", off.name)
	return nil
}

// ensureIdentity finds the identity by name and offering and updates it, or
// creates it. Waldur's create is not get-or-create, hence the lookup.
func (a *Agent) ensureIdentity(ctx context.Context, off *offering) (waldur.UUID, error) {
	req := waldur.AgentIdentityRequest{
		Offering:      off.id,
		Name:          off.name,
		Version:       &a.cfg.Version,
		Dependencies:  dependencies(),
		LastRestarted: a.cfg.Now(),
	}
	for ident, err := range a.client.Agents.ListIdentities(ctx, waldur.ListIdentitiesOptions{Name: off.name, OfferingUUID: off.id}) {
		if err != nil {
			return waldur.UUID{}, fmt.Errorf("siteagent: look up agent identity %q: %w", off.name, err)
		}
		if ident.Name != off.name {
			continue // the name filter may match more loosely than equality
		}
		if _, err := a.client.Agents.UpdateIdentity(ctx, ident.UUID, req); err != nil {
			return waldur.UUID{}, fmt.Errorf("siteagent: update agent identity %s: %w", ident.UUID, err)
		}
		return ident.UUID, nil
	}
	ident, err := a.client.Agents.CreateIdentity(ctx, req)
	if err != nil {
		return waldur.UUID{}, fmt.Errorf("siteagent: create agent identity %q for offering %s: %w", off.name, off.id, err)
	}
	if a.replicas != nil {
		return a.replicas.firstIdentity(ctx, off, ident.UUID)
	}
	return ident.UUID, nil
}

func (a *Agent) registerProcessor(ctx context.Context, service waldur.UUID, p ProcessorInfo) error {
	reg := waldur.ProcessorRegistration{Name: a.replicas.processorName(p.Name), BackendType: p.BackendType, BackendVersion: p.BackendVersion}
	if _, err := a.client.Agents.RegisterProcessor(ctx, service, reg); err != nil {
		return fmt.Errorf("siteagent: register processor %s: %w", p.Name, err)
	}
	return nil
}

// heartbeat tells Waldur the agent is alive: register_processor refreshes each
// processor's last_run (Waldur marks a service Idle after 10 minutes without
// one) and set_statistics publishes Stats. An identity or service deleted in
// Waldur (404) is registered again.
func (a *Agent) heartbeat(ctx context.Context) {
	stats := a.statistics()
	ok := true
	for _, off := range a.offerings {
		err := a.beatOffering(ctx, off, stats)
		if waldur.IsNotFound(err) {
			a.log.Warn("siteagent: agent registration gone from Waldur; registering again", "offering", off.id)
			err = a.registerOffering(ctx, off)
		}
		if err != nil {
			ok = false
			a.noteError(err)
			a.log.Warn("siteagent: heartbeat failed", "offering", off.id, "error", err)
		}
	}
	a.waldurOK.Store(ok)
	if ok {
		a.counters.lastHeartbeat.Store(a.cfg.Now().UnixNano())
	}
}

// beatOffering heartbeats every service of one offering.
func (a *Agent) beatOffering(ctx context.Context, off *offering, stats map[string]any) error {
	off.mu.Lock()
	services := off.services
	off.mu.Unlock()
	for _, reg := range a.registrations() {
		svc, ok := services[reg.service]
		if !ok {
			return a.registerOffering(ctx, off)
		}
		for _, p := range reg.processors {
			if err := a.registerProcessor(ctx, svc, p); err != nil {
				return err
			}
		}
		if _, err := a.client.Agents.SetStatistics(ctx, svc, stats); err != nil {
			return fmt.Errorf("siteagent: set statistics: %w", err)
		}
	}
	return nil
}

// statistics renders Stats as the free-form JSON object Waldur stores.
func (a *Agent) statistics() map[string]any {
	b, err := json.Marshal(a.Stats())
	if err != nil {
		return nil
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil
	}
	return m
}

// moduleVersion is the main module's version from the build info.
func moduleVersion() string {
	bi, ok := debug.ReadBuildInfo()
	if !ok || bi.Main.Version == "" {
		return "(devel)"
	}
	return bi.Main.Version
}

// dependencies lists the program's modules for the agent identity.
func dependencies() []waldur.AgentDependency {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return nil
	}
	deps := make([]waldur.AgentDependency, 0, len(bi.Deps)+1)
	deps = append(deps, waldur.AgentDependency{Package: "go", Version: bi.GoVersion})
	for _, d := range bi.Deps {
		v := d.Version
		if d.Replace != nil {
			v = d.Replace.Version
		}
		deps = append(deps, waldur.AgentDependency{Package: d.Path, Version: v})
	}
	return deps
}
