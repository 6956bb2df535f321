package main

import (
	"context"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// componentChange is one entry of backend_components against the offering.
type componentChange struct {
	want    agentconfig.Component
	have    *waldur.OfferingComponent // nil: to be created
	changes []string                  // "name: CPU → CPU hours"; empty: unchanged
}

func (c componentChange) pending() bool { return c.have == nil || len(c.changes) > 0 }

func loadComponentsCommand(ctx context.Context, e *env, args []string) error {
	fs := newFlagSet(e, "load-components", "-config agent.yaml [-offering name] [-apply]")
	var cf configFlags
	cf.register(fs)
	apply := fs.Bool("apply", false, "push the changes; without it, only show them")
	timeout := fs.Duration("timeout", 2*time.Minute, "bound on the whole command")
	if err := parse(fs, args); err != nil {
		return err
	}
	l, err := cf.load(e)
	if err != nil {
		return err
	}
	if len(l.offering.BackendComponents) == 0 {
		return usageError("%s: offering %q has no backend_components", l.path, l.offering.Name)
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	c, err := l.client()
	if err != nil {
		return usageError("%v", err)
	}
	o, err := c.Offerings.Get(ctx, l.id, "uuid", "name", "components")
	if err != nil {
		return fmt.Errorf("read offering %s: %w", l.offering.Config.OfferingUUID, err)
	}
	plan := componentPlan(l.offering.BackendComponents, o.Components)
	fmt.Fprintf(e.stdout, "offering %q (%s):\n", o.Name, l.offering.Config.OfferingUUID)
	n := 0
	for _, ch := range plan {
		switch {
		case ch.have == nil:
			n++
			fmt.Fprintf(e.stdout, "  + %s: create (%s)\n", ch.want.Type, describeComponent(ch.want))
		case len(ch.changes) > 0:
			n++
			fmt.Fprintf(e.stdout, "  ~ %s: %s\n", ch.want.Type, strings.Join(ch.changes, "; "))
		default:
			fmt.Fprintf(e.stdout, "  = %s: unchanged\n", ch.want.Type)
		}
	}
	for _, oc := range o.Components {
		if !inFile(oc.Type, l.offering.BackendComponents) {
			fmt.Fprintf(e.stdout, "    %s: in the offering, not in the file; left alone\n", oc.Type)
		}
	}
	if n == 0 {
		fmt.Fprintln(e.stdout, "nothing to push")
		return nil
	}
	if !*apply {
		fmt.Fprintf(e.stdout, "dry run: %d to push; run again with -apply to push them\n", n)
		return nil
	}
	return pushPlan(ctx, e, c, l, plan, n)
}

// componentPlan compares the file's components with the offering's.
func componentPlan(want []agentconfig.Component, have []waldur.OfferingComponent) []componentChange {
	byType := make(map[string]*waldur.OfferingComponent, len(have))
	for i := range have {
		byType[have[i].Type] = &have[i]
	}
	out := make([]componentChange, 0, len(want))
	for _, w := range want {
		ch := componentChange{want: w, have: byType[w.Type]}
		if h := ch.have; h != nil {
			diff := func(field, from, to string) {
				if from != to {
					ch.changes = append(ch.changes, fmt.Sprintf("%s: %q → %q", field, from, to))
				}
			}
			diff("name", h.Name, w.Label)
			diff("measured_unit", h.MeasuredUnit, w.MeasuredUnit)
			diff("billing_type", string(h.BillingType), w.AccountingType)
			if w.Limit != nil {
				diff("limit_amount", limitText(h.LimitAmount), limitText(roundLimit(w.Limit)))
			}
		}
		out = append(out, ch)
	}
	return out
}

func describeComponent(c agentconfig.Component) string {
	s := fmt.Sprintf("name %q, unit %q, billing %s", c.Label, c.MeasuredUnit, c.AccountingType)
	if c.Limit != nil {
		s += ", limit " + limitText(roundLimit(c.Limit))
	}
	return s
}

func roundLimit(v *float64) *int64 {
	if v == nil {
		return nil
	}
	n := int64(math.Round(*v))
	return &n
}

func limitText(v *int64) string {
	if v == nil {
		return "none"
	}
	return fmt.Sprint(*v)
}

func inFile(typ string, cs []agentconfig.Component) bool {
	for _, c := range cs {
		if c.Type == typ {
			return true
		}
	}
	return false
}

// pushPlan pushes the pending changes, one line per component.
func pushPlan(ctx context.Context, e *env, c *waldur.Client, l *loaded, plan []componentChange, n int) error {
	p := newProgress(e)
	done, failed := 0, 0
	for _, ch := range plan {
		if !ch.pending() {
			continue
		}
		p.update("pushing components: %d/%d", done, n)
		err := pushComponent(ctx, c, l.id, ch)
		done++
		verb := "updated"
		if ch.have == nil {
			verb = "created"
		}
		if err != nil {
			failed++
			fmt.Fprintf(e.stdout, "✗ %s: %v\n", ch.want.Type, err)
			continue
		}
		fmt.Fprintf(e.stdout, "✓ %s: %s\n", ch.want.Type, verb)
	}
	p.done("pushed %d components, %d failed", done-failed, failed)
	if failed > 0 {
		return errFailed
	}
	return nil
}
