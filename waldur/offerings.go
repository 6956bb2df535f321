package waldur

import (
	"context"
	"iter"
	"net/http"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// Offering types (ProviderOffering.Type) that matter to a site agent. Waldur
// lets agent identities register for Slurm, Script, OpenStack tenant and Basic
// offerings, but its order actions check the type too: set_state_executing
// and set_state_erred accept only Slurm offerings, set_state_done Slurm, Basic
// and Support offerings; other types are refused with 405 (see
// [IsRefusedForOfferingType]).
const (
	OfferingTypeSlurm           = "Marketplace.Slurm"
	OfferingTypeBasic           = "Marketplace.Basic"
	OfferingTypeSupport         = "Marketplace.Support"
	OfferingTypeScript          = "Marketplace.Script"
	OfferingTypeOpenStackTenant = "OpenStack.Tenant"
)

// OrderActionAllowed reports whether Waldur accepts the order action (the
// last segment of its path, such as "set_state_done") for orders of offerings
// of type offeringType. Actions without an offering type check are allowed.
func OrderActionAllowed(action, offeringType string) bool {
	switch action {
	case "set_state_executing", "set_state_erred":
		return offeringType == OfferingTypeSlurm
	case "set_state_done":
		return offeringType == OfferingTypeSlurm || offeringType == OfferingTypeBasic || offeringType == OfferingTypeSupport
	}
	return true
}

// OfferingsService reads offerings as their service provider sees them.
type OfferingsService struct{ c *Client }

// ListOfferingsOptions filters [OfferingsService.List]. Zero fields do not
// filter.
type ListOfferingsOptions struct {
	// CustomerUUID selects the offerings of one service provider's customer.
	CustomerUUID UUID
	// Name filters by name (substring match on the server).
	Name string
	// States selects offerings in any of these states.
	States []OfferingState
	// Types selects offerings of any of these plugin types, e.g. "Marketplace.Slurm".
	Types []string
	// Fields, when set, asks for only these fields (sparse fieldset).
	Fields []string
}

// List returns the offerings the caller manages, fetched page by page as the
// sequence is consumed.
//
// Waldur: GET /api/marketplace-provider-offerings/
func (s *OfferingsService) List(ctx context.Context, opts ListOfferingsOptions) iter.Seq2[ProviderOffering, error] {
	return list[ProviderOffering](ctx, s.c, func() (*http.Request, error) {
		return waldurapi.NewMarketplaceProviderOfferingsListRequest(s.c.server, &waldurapi.MarketplaceProviderOfferingsListParams{
			CustomerUUID: optUUID(opts.CustomerUUID),
			Name:         optString(opts.Name),
			State:        opts.States,
			Type:         opts.Types,
			Field:        enums[waldurapi.ProviderOfferingField](opts.Fields),
			PageSize:     &s.c.pageSize,
		})
	})
}

// Get returns one offering, with components and plugin options; with fields,
// only those (e.g. "components").
//
// Waldur: GET /api/marketplace-provider-offerings/{uuid}/
func (s *OfferingsService) Get(ctx context.Context, id UUID, fields ...string) (*ProviderOffering, error) {
	req, err := waldurapi.NewMarketplaceProviderOfferingsRetrieveRequest(s.c.server, id, &waldurapi.MarketplaceProviderOfferingsRetrieveParams{
		Field: enums[waldurapi.ProviderOfferingField](fields),
	})
	var o ProviderOffering
	if _, err := s.c.call(ctx, req, err, &o); err != nil {
		return nil, err
	}
	return &o, nil
}
