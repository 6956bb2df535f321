package siteagent

import (
	"context"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// PeriodicLimitsProcessor applies the settings of Waldur's periodic usage
// policies (for Slurm: fairshare, GrpTRESMins or another limit, a reset of
// raw usage) to a resource's backend object. Setting it in
// Config.PeriodicLimits subscribes the agent to resource_periodic_limits
// events; leave it nil where periodic limits are not enabled.
//
// For each event the agent reads the resource and calls
// ApplyPeriodicLimits with it and the event. The commands it returns are
// reported with success to the policy (report-command-result). An error
// wrapped with Permanent is reported as a failure with its message; any
// other error is transient: nothing is reported and the event is
// delivered again. ApplyPeriodicLimits must be idempotent.
type PeriodicLimitsProcessor interface {
	ApplyPeriodicLimits(ctx context.Context, r *waldur.Resource, e *PeriodicLimitsEvent) (commands []string, err error)
}

// PeriodicLimitsProcessorFunc adapts a function to PeriodicLimitsProcessor.
type PeriodicLimitsProcessorFunc func(ctx context.Context, r *waldur.Resource, e *PeriodicLimitsEvent) ([]string, error)

// ApplyPeriodicLimits calls f.
func (f PeriodicLimitsProcessorFunc) ApplyPeriodicLimits(ctx context.Context, r *waldur.Resource, e *PeriodicLimitsEvent) ([]string, error) {
	return f(ctx, r, e)
}

// periodicLimitsWork is the capability that applies periodic limits. It
// has no periodic pass: policies reach the agent only as events.
type periodicLimitsWork struct {
	a *Agent
	p PeriodicLimitsProcessor
}

func (w *periodicLimitsWork) registration() registration {
	return registration{service: serviceEvents, processors: []ProcessorInfo{describe(w.p)}}
}

func (w *periodicLimitsWork) objectTypes() []waldur.ObservableObjectType {
	return []waldur.ObservableObjectType{waldur.ObservableObjectTypeResourcePeriodicLimits}
}

func (w *periodicLimitsWork) interval() time.Duration { return 0 }

func (w *periodicLimitsWork) reconcile(context.Context, context.Context) {}

func (w *periodicLimitsWork) handleEvent(ctx context.Context, e Event) error {
	p, ok := e.Payload.(*PeriodicLimitsEvent)
	if !ok {
		return nil
	}
	return w.a.doWork(ctx, statusKey(p.ResourceUUID), func(ctx context.Context) error {
		r, err := w.a.readResource(ctx, p.ResourceUUID)
		if err != nil || r == nil {
			return err // a resource that is gone needs no limits
		}
		commands, err := w.apply(ctx, r, p)
		if err != nil && !IsPermanent(err) {
			return err
		}
		if p.PolicyUUID == (waldur.UUID{}) {
			return nil
		}
		res := waldur.PeriodicCommandResult{ResourceUUID: r.UUID, Success: err == nil,
			Mode: waldur.PeriodicCommandResultModeProduction, CommandsExecuted: commands}
		if err != nil {
			res.ErrorMessage = err.Error()
			w.a.log.Warn("siteagent: periodic limits not applied", "resource", r.UUID, "error", err)
		}
		return w.a.client.Resources.ReportPeriodicResult(ctx, p.PolicyUUID, res)
	})
}

// apply calls the processor, turning a panic into a permanent error.
func (w *periodicLimitsWork) apply(ctx context.Context, r *waldur.Resource, p *PeriodicLimitsEvent) (commands []string, err error) {
	defer func() {
		if v := recover(); v != nil {
			err = Permanentf("siteagent: periodic limits processor panicked: %v", v)
		}
	}()
	return w.p.ApplyPeriodicLimits(ctx, r, p)
}
