package agentconfig

import (
	"math"
	"strings"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// componentField reads the optional offering component settings of a
// backend_components entry; other keys stay in Fields alone.
func (r *nodeReader) componentField(c *Component, fp pair, key string) error {
	var err error
	switch fp.key {
	case "description":
		c.Description, err = r.str(fp.val, key)
	case "article_code":
		c.ArticleCode, err = r.str(fp.val, key)
	case "limit_period":
		if c.LimitPeriod, err = r.str(fp.val, key); err == nil {
			switch c.LimitPeriod {
			case "", "month", "quarterly", "annual", "total":
			default:
				err = r.errorf(fp.val, key, "%q is not one of month, quarterly, annual, total", c.LimitPeriod)
			}
		}
	case "is_boolean":
		c.IsBoolean, err = r.boolean(fp.val, key, false)
	case "is_prepaid":
		c.IsPrepaid, err = r.boolean(fp.val, key, false)
	case "min_value":
		c.MinValue, err = r.optInt64(fp, key)
	case "max_value":
		c.MaxValue, err = r.optInt64(fp, key)
	case "max_available_limit":
		c.MaxAvailableLimit, err = r.optInt64(fp, key)
	case "default_limit":
		c.DefaultLimit, err = r.optInt64(fp, key)
	case "min_prepaid_duration":
		c.MinPrepaidDuration, err = r.months(fp, key)
	case "max_prepaid_duration":
		c.MaxPrepaidDuration, err = r.months(fp, key)
	case "prepaid_duration_step":
		c.PrepaidDurationStep, err = r.months(fp, key)
	case "min_renewal_duration":
		c.MinRenewalDuration, err = r.months(fp, key)
	case "max_renewal_duration":
		c.MaxRenewalDuration, err = r.months(fp, key)
	case "renewal_duration_step":
		c.RenewalDurationStep, err = r.months(fp, key)
	}
	return err
}

// optInt64 reads a whole number; Waldur keeps these fields as integers.
func (r *nodeReader) optInt64(fp pair, key string) (*int64, error) {
	v, ok, err := r.number(fp.val, key)
	if err != nil || !ok {
		return nil, err
	}
	if v != math.Trunc(v) || math.Abs(v) > math.MaxInt32 {
		return nil, r.errorf(fp.val, key, "want a whole number")
	}
	n := int64(v)
	return &n, nil
}

// months reads a duration in months, which Waldur keeps as a positive
// whole number.
func (r *nodeReader) months(fp pair, key string) (*int, error) {
	n, err := r.optInt64(fp, key)
	if err != nil || n == nil {
		return nil, err
	}
	if *n < 1 || *n > 1200 {
		return nil, r.errorf(fp.val, key, "want a number of months from 1 to 1200")
	}
	v := int(*n)
	return &v, nil
}

func hasKey(pairs []pair, key string) bool {
	for _, p := range pairs {
		if p.key == key {
			return true
		}
	}
	return false
}

// OfferingComponentRequest returns the component as Waldur's offering
// component, the way the reference agent's load-components publishes it:
// accounting_type is the billing type, label the name and limit the
// limit_amount (rounded to a whole number). UnitFactor stays with the
// backend: Waldur's own unit_factor means something else.
func (c *Component) OfferingComponentRequest() waldur.OfferingComponentRequest {
	req := waldur.OfferingComponentRequest{
		Type:                c.Type,
		Name:                c.Label,
		BillingType:         waldur.BillingType(c.AccountingType),
		MeasuredUnit:        c.MeasuredUnit,
		Description:         c.Description,
		ArticleCode:         c.ArticleCode,
		MinValue:            c.MinValue,
		MaxValue:            c.MaxValue,
		MaxAvailableLimit:   c.MaxAvailableLimit,
		DefaultLimit:        c.DefaultLimit,
		IsBoolean:           c.IsBoolean,
		IsPrepaid:           c.IsPrepaid,
		MinPrepaidDuration:  c.MinPrepaidDuration,
		MaxPrepaidDuration:  c.MaxPrepaidDuration,
		PrepaidDurationStep: c.PrepaidDurationStep,
		MinRenewalDuration:  c.MinRenewalDuration,
		MaxRenewalDuration:  c.MaxRenewalDuration,
		RenewalDurationStep: c.RenewalDurationStep,
	}
	if c.LimitPeriod != "" {
		req.LimitPeriod = &c.LimitPeriod
	}
	if c.Limit != nil {
		n := int64(math.Round(*c.Limit))
		req.LimitAmount = &n
	}
	return req
}

// ComponentRequests returns OfferingComponentRequest for every entry of
// backend_components, in file order, ready for
// waldur.OfferingsService.PushComponents:
//
//	_, err := client.Offerings.PushComponents(ctx, offeringUUID, o.ComponentRequests())
func (o *Offering) ComponentRequests() []waldur.OfferingComponentRequest {
	out := make([]waldur.OfferingComponentRequest, len(o.BackendComponents))
	for i := range o.BackendComponents {
		out[i] = o.BackendComponents[i].OfferingComponentRequest()
	}
	return out
}

// PeriodicLimits is backend_settings.periodic_limits of a Slurm offering:
// whether the agent applies the periodic usage policies Waldur sends
// (resource_periodic_limits events) and the Slurm limit to set when a
// policy does not name one.
type PeriodicLimits struct {
	// Enabled is enabled (default false). Only then is a program to
	// subscribe to resource_periodic_limits events.
	Enabled bool
	// LimitType is limit_type: GrpTRESMins (default), MaxTRESMins or
	// GrpTRES.
	LimitType string
	// Line is where periodic_limits is in the file; 0 when absent.
	Line int
}

// periodicLimits reads backend_settings.periodic_limits; emulator settings
// are warned about, as this agent only talks to Slurm itself.
func (r *nodeReader) periodicLimits(o *Offering, path string) error {
	if isNull(o.settings) {
		return nil
	}
	pairs, err := r.mapping(o.settings, path)
	if err != nil {
		return err
	}
	o.PeriodicLimits.LimitType = "GrpTRESMins"
	for _, p := range pairs {
		if p.key != "periodic_limits" || isNull(p.val) {
			continue
		}
		key := join(path, p.key)
		o.PeriodicLimits.Line = p.line
		fields, err := r.mapping(p.val, key)
		if err != nil {
			return err
		}
		for _, fp := range fields {
			fk := join(key, fp.key)
			var err error
			switch fp.key {
			case "enabled":
				o.PeriodicLimits.Enabled, err = r.boolean(fp.val, fk, false)
			case "limit_type":
				var s string
				if s, err = r.str(fp.val, fk); err == nil && s != "" {
					switch s {
					case "GrpTRESMins", "MaxTRESMins", "GrpTRES":
						o.PeriodicLimits.LimitType = s
					default:
						err = r.errorf(fp.val, fk, "%q is not one of GrpTRESMins, MaxTRESMins, GrpTRES", s)
					}
				}
			case "emulator_mode":
				var on bool
				if on, err = r.boolean(fp.val, fk, false); on {
					r.warn(fp.line, fk, "not applied: periodic limits are applied with sacctmgr")
				}
			case "emulator_base_url":
			default:
				r.warn(fp.line, fk, "not applied: policy parameters come with Waldur's periodic limits events")
			}
			if err != nil {
				return err
			}
		}
		if o.PeriodicLimits.Enabled && !strings.EqualFold(o.BackendType, "slurm") {
			r.warn(p.line, join(key, "enabled"), "not applied: only the Slurm backend applies periodic limits")
			o.PeriodicLimits.Enabled = false
		}
	}
	return nil
}
