package waldur

import (
	"context"
	"iter"
	"net/http"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// ResourcesService reads marketplace resources as their provider sees them
// and reports the backend's view of them back to Waldur.
type ResourcesService struct{ c *Client }

// ListResourcesOptions filters [ResourcesService.List]. Zero fields do not
// filter.
type ListResourcesOptions struct {
	// OfferingUUID selects the resources of one offering.
	OfferingUUID UUID
	// States selects resources in any of these states (sent as repeated state=).
	States []ResourceState
	// BackendID selects the resource with this backend ID.
	BackendID string
	// ProjectUUID selects the resources of one project.
	ProjectUUID UUID
	// CustomerUUID selects the resources of one customer.
	CustomerUUID UUID
	// Fields, when set, asks for only these fields (sparse fieldset).
	Fields []string
}

// List returns the resources matching opts, fetched page by page as the
// sequence is consumed.
//
// Waldur: GET /api/marketplace-provider-resources/
func (s *ResourcesService) List(ctx context.Context, opts ListResourcesOptions) iter.Seq2[Resource, error] {
	return list[Resource](ctx, s.c, func() (*http.Request, error) {
		return waldurapi.NewMarketplaceProviderResourcesListRequest(s.c.server, &waldurapi.MarketplaceProviderResourcesListParams{
			OfferingUUID: optUUIDs(opts.OfferingUUID),
			State:        opts.States,
			BackendID:    optString(opts.BackendID),
			ProjectUUID:  optUUID(opts.ProjectUUID),
			CustomerUUID: optUUID(opts.CustomerUUID),
			Field:        enums[waldurapi.ResourceField](opts.Fields),
			PageSize:     &s.c.pageSize,
		})
	})
}

// Get returns one resource; with fields, only those.
//
// Waldur: GET /api/marketplace-provider-resources/{uuid}/
func (s *ResourcesService) Get(ctx context.Context, id UUID, fields ...string) (*Resource, error) {
	req, err := waldurapi.NewMarketplaceProviderResourcesRetrieveRequest(s.c.server, id, &waldurapi.MarketplaceProviderResourcesRetrieveParams{
		Field: enums[waldurapi.ResourceField](fields),
	})
	var r Resource
	if _, err := s.c.call(ctx, req, err, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Team returns the members of the resource's project with their offering
// usernames and offering-user states.
//
// Waldur: GET /api/marketplace-provider-resources/{uuid}/team/
func (s *ResourcesService) Team(ctx context.Context, id UUID) ([]TeamMember, error) {
	return collect(list[TeamMember](ctx, s.c, func() (*http.Request, error) {
		return waldurapi.NewMarketplaceProviderResourcesTeamListRequest(s.c.server, id)
	}))
}

// SetBackendID links the resource to its backend object.
//
// Waldur: POST /api/marketplace-provider-resources/{uuid}/set_backend_id/
func (s *ResourcesService) SetBackendID(ctx context.Context, id UUID, backendID string) error {
	ctx = WithRetrySafe(ctx) // idempotent in Waldur: repeating it is harmless
	req, err := waldurapi.NewMarketplaceProviderResourcesSetBackendIDRequest(s.c.server, id, waldurapi.BackendIDRequest{BackendID: backendID})
	return s.c.action(ctx, req, err)
}

// SetBackendMetadata replaces the resource's backend metadata. A nil map is
// sent as an empty object.
//
// Waldur: POST /api/marketplace-provider-resources/{uuid}/set_backend_metadata/
func (s *ResourcesService) SetBackendMetadata(ctx context.Context, id UUID, metadata map[string]any) error {
	ctx = WithRetrySafe(ctx) // idempotent in Waldur: repeating it is harmless
	if metadata == nil {
		metadata = map[string]any{}
	}
	req, err := waldurapi.NewMarketplaceProviderResourcesSetBackendMetadataRequest(s.c.server, id, waldurapi.BackendMetadataRequest{BackendMetadata: metadata})
	return s.c.action(ctx, req, err)
}

// SetLimits reports the limits the backend applies, by component type. It
// bypasses the order process. A nil map is sent as an empty object.
//
// Waldur: POST /api/marketplace-provider-resources/{uuid}/set_limits/
func (s *ResourcesService) SetLimits(ctx context.Context, id UUID, limits map[string]int64) error {
	ctx = WithRetrySafe(ctx) // idempotent in Waldur: repeating it is harmless
	if limits == nil {
		limits = map[string]int64{}
	}
	req, err := waldurapi.NewMarketplaceProviderResourcesSetLimitsRequest(s.c.server, id, waldurapi.LimitsRequest{Limits: limits})
	return s.c.action(ctx, req, err)
}

// SetEndpoints replaces the resource's access endpoints; only Name and URL of
// each are sent (Waldur 8.1).
//
// Waldur: POST /api/marketplace-provider-resources/{uuid}/set_endpoints/
func (s *ResourcesService) SetEndpoints(ctx context.Context, id UUID, endpoints []Endpoint) error {
	ctx = WithRetrySafe(ctx) // idempotent in Waldur: repeating it is harmless
	body := waldurapi.EndpointsRequest{Endpoints: make([]waldurapi.EndpointRequest, len(endpoints))}
	for i, e := range endpoints {
		body.Endpoints[i] = waldurapi.EndpointRequest{Name: e.Name, URL: e.URL}
	}
	req, err := waldurapi.NewMarketplaceProviderResourcesSetEndpointsRequest(s.c.server, id, body)
	return s.c.action(ctx, req, err)
}

// SetAsOK marks the resource OK after a successful sync and clears its error.
//
// Waldur: POST /api/marketplace-provider-resources/{uuid}/set_as_ok/
func (s *ResourcesService) SetAsOK(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceProviderResourcesSetAsOkRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}

// SetAsErred marks the resource Erred with an error message and traceback.
//
// Waldur: POST /api/marketplace-provider-resources/{uuid}/set_as_erred/
func (s *ResourcesService) SetAsErred(ctx context.Context, id UUID, message, traceback string) error {
	req, err := waldurapi.NewMarketplaceProviderResourcesSetAsErredRequest(s.c.server, id, waldurapi.ResourceErrorRequest{
		ErrorMessage:   message,
		ErrorTraceback: traceback,
	})
	return s.c.action(ctx, req, err)
}

// RefreshLastSync records a successful sync now; Waldur's hourly resync
// skips resources synced within the hour.
//
// Waldur: POST /api/marketplace-provider-resources/{uuid}/refresh_last_sync/
func (s *ResourcesService) RefreshLastSync(ctx context.Context, id UUID) error {
	ctx = WithRetrySafe(ctx) // idempotent in Waldur: repeating it is harmless
	req, err := waldurapi.NewMarketplaceProviderResourcesRefreshLastSyncRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}
