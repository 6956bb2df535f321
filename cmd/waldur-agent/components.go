package main

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// componentChange is one entry of backend_components against the offering.
type componentChange struct {
	want    waldur.OfferingComponentRequest
	have    *waldur.OfferingComponent // nil: to be created
	changes []string                  // `name: "CPU" → "CPU hours"`; empty: unchanged
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
	plan := componentPlan(&l.offering, o.Components)
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

// componentPlan compares the file's components with the offering's. Only
// what the file sets is compared: an unset optional field is left as it is.
func componentPlan(o *agentconfig.Offering, have []waldur.OfferingComponent) []componentChange {
	byType := make(map[string]*waldur.OfferingComponent, len(have))
	for i := range have {
		byType[have[i].Type] = &have[i]
	}
	out := make([]componentChange, 0, len(o.BackendComponents))
	for _, w := range o.ComponentRequests() {
		ch := componentChange{want: w, have: byType[w.Type]}
		if h := ch.have; h != nil {
			diff := func(field, from, to string) {
				if from != to {
					ch.changes = append(ch.changes, fmt.Sprintf("%s: %s → %s", field, from, to))
				}
			}
			diff("name", strconv.Quote(h.Name), strconv.Quote(w.Name))
			diff("measured_unit", strconv.Quote(h.MeasuredUnit), strconv.Quote(w.MeasuredUnit))
			diff("billing_type", string(h.BillingType), string(w.BillingType))
			if w.Description != "" {
				diff("description", strconv.Quote(h.Description), strconv.Quote(w.Description))
			}
			if w.ArticleCode != "" {
				diff("article_code", strconv.Quote(h.ArticleCode), strconv.Quote(w.ArticleCode))
			}
			if w.LimitPeriod != nil {
				diff("limit_period", text(h.LimitPeriod), text(w.LimitPeriod))
			}
			for _, f := range []struct {
				name     string
				from, to *int64
			}{
				{"limit_amount", h.LimitAmount, w.LimitAmount}, {"min_value", h.MinValue, w.MinValue},
				{"max_value", h.MaxValue, w.MaxValue}, {"max_available_limit", h.MaxAvailableLimit, w.MaxAvailableLimit},
				{"default_limit", h.DefaultLimit, w.DefaultLimit},
			} {
				if f.to != nil {
					diff(f.name, text(f.from), text(f.to))
				}
			}
			diff("is_boolean", fmt.Sprint(h.IsBoolean), fmt.Sprint(w.IsBoolean))
			diff("is_prepaid", fmt.Sprint(h.IsPrepaid), fmt.Sprint(w.IsPrepaid))
		}
		out = append(out, ch)
	}
	return out
}

func describeComponent(c waldur.OfferingComponentRequest) string {
	s := fmt.Sprintf("name %q, unit %q, billing %s", c.Name, c.MeasuredUnit, c.BillingType)
	if c.LimitAmount != nil {
		s += ", limit " + text(c.LimitAmount)
	}
	return s
}

// text renders an optional value; nil is "none".
func text[T any](v *T) string {
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

// pushPlan pushes the pending changes with Offerings.PushComponents (which
// keeps an offering's limit period the file leaves unset), one line per
// component.
func pushPlan(ctx context.Context, e *env, c *waldur.Client, l *loaded, plan []componentChange, n int) error {
	var reqs []waldur.OfferingComponentRequest
	for _, ch := range plan {
		if ch.pending() {
			reqs = append(reqs, ch.want)
		}
	}
	p := newProgress(e)
	p.update("pushing %d components", n)
	pushed, err := c.Offerings.PushComponents(ctx, l.id, reqs)
	if pushed == nil && err != nil {
		p.done("pushing failed")
		return fmt.Errorf("push components: %w", err)
	}
	failed := 0
	for _, r := range pushed {
		verb := "updated"
		if r.Created {
			verb = "created"
		}
		if r.Err != nil {
			failed++
			fmt.Fprintf(e.stdout, "✗ %s: %v\n", r.Type, r.Err)
			continue
		}
		fmt.Fprintf(e.stdout, "✓ %s: %s\n", r.Type, verb)
	}
	p.done("pushed %d components, %d failed", len(pushed)-failed, failed)
	if failed > 0 {
		return errFailed
	}
	return nil
}
