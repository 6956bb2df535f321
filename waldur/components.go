package waldur

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// OfferingComponentRequest is a component to add to an offering, or its new
// settings: BillingType, Type and Name are required. Waldur's unit_factor is
// not part of it (it is Waldur's own display conversion, not a backend's).
type OfferingComponentRequest = waldurapi.OfferingComponentRequest

// CreateComponent adds a component to the offering. Waldur refuses a type
// the offering has already (400).
//
// Waldur: POST /api/marketplace-provider-offerings/{uuid}/create_offering_component/
func (s *OfferingsService) CreateComponent(ctx context.Context, offering UUID, c OfferingComponentRequest) error {
	req, err := waldurapi.NewMarketplaceProviderOfferingsCreateOfferingComponentRequest(s.c.server, offering, c)
	return s.c.action(ctx, req, err)
}

// UpdateComponent replaces the settings of the offering's component with
// UUID component.
//
// Waldur: POST /api/marketplace-provider-offerings/{uuid}/update_offering_component/
func (s *OfferingsService) UpdateComponent(ctx context.Context, offering, component UUID, c OfferingComponentRequest) error {
	ctx = WithRetrySafe(ctx) // the same settings twice are the same settings
	// The update body is the create body with the component's uuid.
	body, err := json.Marshal(struct {
		UUID UUID `json:"uuid"`
		OfferingComponentRequest
	}{component, c})
	if err != nil {
		return fmt.Errorf("waldur: update offering component: %w", err)
	}
	req, err := waldurapi.NewMarketplaceProviderOfferingsUpdateOfferingComponentRequestWithBody(s.c.server, offering,
		"application/json", bytes.NewReader(body))
	return s.c.action(ctx, req, err)
}

// PushedComponent says what [OfferingsService.PushComponents] did with one
// component.
type PushedComponent struct {
	Type string
	// Created is true for a component the offering did not have; false for
	// one that was updated.
	Created bool
	// Err is why the component could not be created or updated; nil on
	// success.
	Err error
}

// PushComponents makes the offering's components carry the given settings,
// as the reference agent's load-components does: a component whose type the
// offering has is updated (keeping its limit period when c leaves it
// unset), any other is created. Components of the offering not in cs are
// left alone. One component failing does not stop the others: the result
// has one entry per component, in order, and the error joins the failures.
// An error reading the offering returns no result.
func (s *OfferingsService) PushComponents(ctx context.Context, offering UUID, cs []OfferingComponentRequest) ([]PushedComponent, error) {
	o, err := s.Get(ctx, offering, "components")
	if err != nil {
		return nil, err
	}
	have := make(map[string]OfferingComponent, len(o.Components))
	for _, c := range o.Components {
		have[c.Type] = c
	}
	out := make([]PushedComponent, 0, len(cs))
	var errs []error
	for _, c := range cs {
		p := PushedComponent{Type: c.Type}
		if old, ok := have[c.Type]; ok {
			if c.LimitPeriod == nil && old.LimitPeriod != nil && *old.LimitPeriod != "" {
				c.LimitPeriod = old.LimitPeriod
			}
			p.Err = s.UpdateComponent(ctx, offering, old.UUID, c)
		} else {
			p.Created = true
			p.Err = s.CreateComponent(ctx, offering, c)
		}
		if p.Err != nil {
			errs = append(errs, fmt.Errorf("component %q: %w", c.Type, p.Err))
		}
		out = append(out, p)
	}
	return out, errors.Join(errs...)
}
