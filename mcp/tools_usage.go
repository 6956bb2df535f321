package mcp

import (
	"context"
	"iter"
	"slices"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Bounds of report_usage's input.
const (
	maxUsageItems  = 100
	maxUsageAmount = 1e15
)

// parsePeriod parses a billing month "YYYY-MM" to its first instant (UTC).
func parsePeriod(s string) (time.Time, error) {
	t, err := time.Parse("2006-01", s)
	if err != nil {
		return time.Time{}, failf("billing_period %q is not a month in the form YYYY-MM", truncate(s, 32))
	}
	return t, nil
}

func monthOf(t time.Time) time.Time {
	t = t.UTC()
	return time.Date(t.Year(), t.Month(), 1, 0, 0, 0, 0, time.UTC)
}

func (s *Server) listUsages(ctx context.Context, in ListUsagesInput) (UsagePage, error) {
	r, err := s.resource(ctx, "resource_uuid", in.ResourceUUID)
	if err != nil {
		return UsagePage{}, err
	}
	var period time.Time
	if in.BillingPeriod != "" {
		if period, err = parsePeriod(in.BillingPeriod); err != nil {
			return UsagePage{}, err
		}
	}
	seq := s.client.Usages.List(ctx, waldur.ListUsagesOptions{ResourceUUID: r.UUID, BillingPeriod: period, Type: in.Type})
	listing := listingKey(ToolListUsages, waldur.Hex(r.UUID), in.BillingPeriod, in.Type)
	usages, next, err := page(seq, in.PageInput, listing, usageOf)
	if err != nil {
		return UsagePage{}, waldurError("listing usage of resource "+waldur.Hex(r.UUID), err)
	}
	return UsagePage{Usages: usages, NextCursor: next}, nil
}

func (s *Server) reportUsage(ctx context.Context, in ReportUsageInput) (UsageReport, error) {
	// Cheap checks first, before any call to Waldur.
	switch {
	case len(in.Usages) == 0:
		return UsageReport{}, failf("usages is empty: give the total of at least one component")
	case len(in.Usages) > maxUsageItems:
		return UsageReport{}, failf("usages has %d items; at most %d components can be reported at once", len(in.Usages), maxUsageItems)
	}
	seen := make(map[string]bool, len(in.Usages))
	for _, u := range in.Usages {
		switch {
		case strings.TrimSpace(u.Type) == "":
			return UsageReport{}, failf("every usage needs the component type")
		case seen[u.Type]:
			return UsageReport{}, failf("component %q appears twice; give one total per component", u.Type)
		case u.Amount < 0:
			return UsageReport{}, failf("amount of %q is negative; usage totals are at least 0", u.Type)
		case u.Amount > maxUsageAmount:
			return UsageReport{}, failf("amount of %q is implausibly large", u.Type)
		}
		seen[u.Type] = true
	}
	now := s.now()
	month, date := monthOf(now), now
	if in.BillingPeriod != "" {
		p, err := parsePeriod(in.BillingPeriod)
		if err != nil {
			return UsageReport{}, err
		}
		switch {
		case p.After(month):
			return UsageReport{}, failf("billing_period %s is in the future", in.BillingPeriod)
		case p.Before(month):
			// Mid-month, so that no time zone moves it into a neighbouring month.
			month, date = p, p.AddDate(0, 0, 14).Add(12*time.Hour)
		}
	}

	r, err := s.resource(ctx, "resource_uuid", in.ResourceUUID)
	if err != nil {
		return UsageReport{}, err
	}
	if err := s.checkComponents(ctx, r, in.Usages); err != nil {
		return UsageReport{}, err
	}

	out := UsageReport{
		DryRun:        in.DryRun == nil || *in.DryRun,
		ResourceUUID:  waldur.Hex(r.UUID),
		BillingPeriod: month.Format("2006-01"),
		Usages:        make([]UsageAmount, len(in.Usages)),
	}
	report := waldur.UsageReport{Resource: r.UUID, Date: date, Usages: make([]waldur.UsageAmount, len(in.Usages))}
	for i, u := range in.Usages {
		amount := waldur.FormatAmount(u.Amount)
		out.Usages[i] = UsageAmount{Type: u.Type, Amount: amount, Description: u.Description}
		report.Usages[i] = waldur.UsageAmount{Type: u.Type, Amount: amount, Description: u.Description}
	}
	if out.DryRun {
		out.Message = "dry run: nothing was sent; call again with dry_run false to report these totals"
		return out, nil
	}
	// Reporting again replaces the totals, so a retry is harmless.
	if err := s.client.Usages.SetUsage(waldur.WithRetrySafe(ctx), report); err != nil {
		return UsageReport{}, waldurError("reporting usage of resource "+out.ResourceUUID, err)
	}
	out.Sent = true
	out.Message = "reported; these totals replace any reported earlier for " + out.BillingPeriod
	return out, nil
}

// checkComponents refuses component types the resource's offering does not
// have, naming the ones it has.
func (s *Server) checkComponents(ctx context.Context, r *waldur.Resource, usages []UsageAmountInput) error {
	components := r.OfferingComponents
	if len(components) == 0 {
		o, err := s.client.Offerings.Get(ctx, r.OfferingUUID, "components")
		if err != nil {
			return waldurError("components of offering "+waldur.Hex(r.OfferingUUID), err)
		}
		components = o.Components
	}
	types := make([]string, len(components))
	for i, c := range components {
		types[i] = c.Type
	}
	for _, u := range usages {
		if !slices.Contains(types, u.Type) {
			if len(types) == 0 {
				return failf("the offering of resource %s has no components to report usage for", waldur.Hex(r.UUID))
			}
			return failf("the offering of resource %s has no component %q; its components are %s", waldur.Hex(r.UUID), u.Type, strings.Join(types, ", "))
		}
	}
	return nil
}

func (s *Server) listAPIKeys(ctx context.Context, in ListAPIKeysInput) (APIKeyPage, error) {
	c := callerFrom(ctx)
	var states []waldur.ResourceAPIKeyState
	if in.State != "" {
		states = []waldur.ResourceAPIKeyState{waldur.ResourceAPIKeyState(in.State)}
	}
	keysOf := func(r *waldur.Resource) iter.Seq2[waldur.ResourceAPIKey, error] {
		seq := s.client.APIKeys.List(ctx, waldur.ListAPIKeysOptions{ResourceUUID: r.UUID, States: states})
		return keep(seq, func(k *waldur.ResourceAPIKey) bool { return k.ResourceUUID == r.UUID })
	}
	var seq iter.Seq2[waldur.ResourceAPIKey, error]
	switch offerings, _ := s.offeringsFor(c, ""); {
	case in.ResourceUUID != "":
		r, err := s.resource(ctx, "resource_uuid", in.ResourceUUID)
		if err != nil {
			return APIKeyPage{}, err
		}
		seq = keysOf(r)
	case c.objectBound():
		// Keys carry no project: list those of each resource inside the binding.
		seq = flatten(s.resources(ctx, c, offerings, resourceFilter{}), keysOf)
	default:
		seq = perOffering(offerings, func(o waldur.UUID) iter.Seq2[waldur.ResourceAPIKey, error] {
			return s.client.APIKeys.List(ctx, waldur.ListAPIKeysOptions{OfferingUUID: o, States: states})
		})
	}
	keys, next, err := page(seq, in.PageInput, listingKey(ToolListAPIKeys, c.listing(), in.ResourceUUID, in.State), apiKeyOf)
	if err != nil {
		return APIKeyPage{}, waldurError("listing resource API keys", err)
	}
	return APIKeyPage{Keys: keys, NextCursor: next}, nil
}

func (s *Server) rotateAPIKey(ctx context.Context, in UUIDInput) (RotationRequest, error) {
	id, err := parseUUID("uuid", in.UUID)
	if err != nil {
		return RotationRequest{}, err
	}
	what := "resource API key " + waldur.Hex(id)
	k, err := s.client.APIKeys.Get(ctx, id)
	if err != nil {
		return RotationRequest{}, waldurError(what, err)
	}
	if _, err := s.resource(ctx, "uuid", waldur.Hex(k.ResourceUUID)); err != nil {
		if isNotFound(err) {
			return RotationRequest{}, notFound(what) // the key of a resource this server does not serve
		}
		return RotationRequest{}, err
	}
	switch k.State {
	case waldur.ResourceAPIKeyStateOK, waldur.ResourceAPIKeyStateErred:
	case waldur.ResourceAPIKeyStateUpdating:
		if k.PendingAction != nil && *k.PendingAction != "rotate" {
			return RotationRequest{}, failf("%s has a pending %s (state Updating); wait until the site agent has carried it out", what, *k.PendingAction)
		}
		return RotationRequest{}, failf("%s is already being rotated (state Updating); wait until the site agent has set the new value", what)
	default:
		return RotationRequest{}, failf("cannot rotate %s in state %s; only OK or Erred keys can be rotated", what, k.State)
	}
	if err := s.client.APIKeys.Rotate(ctx, id); err != nil {
		return RotationRequest{}, waldurError("rotating "+what, err)
	}
	state := waldur.ResourceAPIKeyStateUpdating
	if k, err := s.client.APIKeys.Get(ctx, id); err == nil {
		state = k.State
	}
	return RotationRequest{
		UUID:    waldur.Hex(id),
		State:   string(state),
		Message: "rotation requested: the site agent generates a new value and applies it; the old value then stops working, and the consumer reveals the new one in Waldur",
	}, nil
}
