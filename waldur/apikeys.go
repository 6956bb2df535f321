package waldur

import (
	"context"
	"iter"
	"net/http"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// APIKeysService reports the lifecycle of a resource's API keys (Waldur 8.1):
// the agent generates each key, applies it to its backend, then reports it;
// Waldur stores it encrypted so the consumer can reveal it.
//
// The key values passed to these methods are sent in request bodies only;
// the client never logs request bodies or puts them into errors.
type APIKeysService struct{ c *Client }

// ListAPIKeysOptions filters [APIKeysService.List]. Zero fields do not filter.
type ListAPIKeysOptions struct {
	// ResourceUUID selects the keys of one resource.
	ResourceUUID UUID
	// OfferingUUID selects the keys of one offering's resources.
	OfferingUUID UUID
	// States selects keys in any of these states, e.g. Updating.
	States []ResourceAPIKeyState
	// ModifiedBefore selects keys last modified before this time, e.g. to
	// find rotations stuck in Updating.
	ModifiedBefore time.Time
}

// List returns API key statuses (never the secrets), fetched page by page as
// the sequence is consumed.
//
// Waldur: GET /api/marketplace-resource-api-keys/
func (s *APIKeysService) List(ctx context.Context, opts ListAPIKeysOptions) iter.Seq2[ResourceAPIKey, error] {
	return list[ResourceAPIKey](ctx, s.c, func() (*http.Request, error) {
		return waldurapi.NewMarketplaceResourceAPIKeysListRequest(s.c.server, &waldurapi.MarketplaceResourceAPIKeysListParams{
			ResourceUUID:   optUUID(opts.ResourceUUID),
			OfferingUUID:   optUUID(opts.OfferingUUID),
			State:          opts.States,
			ModifiedBefore: optTime(opts.ModifiedBefore),
			PageSize:       &s.c.pageSize,
		})
	})
}

// Get returns the status of one API key.
//
// Waldur: GET /api/marketplace-resource-api-keys/{uuid}/
func (s *APIKeysService) Get(ctx context.Context, id UUID) (*ResourceAPIKey, error) {
	req, err := waldurapi.NewMarketplaceResourceAPIKeysRetrieveRequest(s.c.server, id)
	var k ResourceAPIKey
	if _, err := s.c.call(ctx, req, err, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// ReportCreated reports a key the agent generated and applied to its backend
// for a resource. It is idempotent per resource and clientID, and refused
// once the resource is terminating.
//
// Waldur: POST /api/marketplace-resource-api-keys/report_created/
func (s *APIKeysService) ReportCreated(ctx context.Context, resourceID UUID, clientID, apiKey string) (*ResourceAPIKey, error) {
	ctx = WithRetrySafe(ctx) // idempotent per resource and client_id in Waldur: repeating it is harmless
	req, err := waldurapi.NewMarketplaceResourceAPIKeysReportCreatedRequest(s.c.server, waldurapi.APIKeyCreatedRequest{
		Resource: resourceID,
		ClientID: clientID,
		APIKey:   apiKey,
	})
	var k ResourceAPIKey
	if _, err := s.c.call(ctx, req, err, &k); err != nil {
		return nil, err
	}
	return &k, nil
}

// SetKey reports the new value of a created or rotated key (state Creating,
// Updating or Erred → OK); clientID may be empty when it did not change. It
// settles the commands create and rotate.
//
// Waldur: POST /api/marketplace-resource-api-keys/{uuid}/set_key/
func (s *APIKeysService) SetKey(ctx context.Context, id UUID, apiKey, clientID string) error {
	req, err := waldurapi.NewMarketplaceResourceAPIKeysSetKeyRequest(s.c.server, id, waldurapi.APIKeySetKeyRequest{
		APIKey:   apiKey,
		ClientID: clientID,
	})
	return s.c.action(ctx, req, err)
}

// SetErred reports that a command on a key failed (Creating, Updating or
// Deleting → Erred; refused for a key in OK, so a stale failure cannot break
// a live key). It settles any command.
//
// Waldur: POST /api/marketplace-resource-api-keys/{uuid}/set_erred/
func (s *APIKeysService) SetErred(ctx context.Context, id UUID, message string) error {
	req, err := waldurapi.NewMarketplaceResourceAPIKeysSetErredRequest(s.c.server, id, waldurapi.APIKeyErrorRequest{ErrorMessage: message})
	return s.c.action(ctx, req, err)
}

// SetOK acknowledges an applied update or resume (Updating → OK).
// Newer than Waldur 8.1.2.
//
// Waldur: POST /api/marketplace-resource-api-keys/{uuid}/set_ok/
func (s *APIKeysService) SetOK(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceResourceAPIKeysSetOkRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}

// SetPaused acknowledges an applied pause (Updating → Paused). Newer than
// Waldur 8.1.2.
//
// Waldur: POST /api/marketplace-resource-api-keys/{uuid}/set_paused/
func (s *APIKeysService) SetPaused(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceResourceAPIKeysSetPausedRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}

// SetDeleted acknowledges an applied delete (Deleting → Deleted). Newer
// than Waldur 8.1.2.
//
// Waldur: POST /api/marketplace-resource-api-keys/{uuid}/set_deleted/
func (s *APIKeysService) SetDeleted(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceResourceAPIKeysSetDeletedRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}

// Rotate asks for a new value of a key (OK or Erred → Updating); Waldur then
// sends the agent the resource_api_key_rotation event, which it answers with
// SetKey. Waldur allows this to the resource's consumer (RESOURCE.MANAGE_USERS
// on its project or customer), so a provider's credentials may get a 403.
// Repeating it while the key is Updating fails with IsInvalidState.
//
// Waldur: POST /api/marketplace-resource-api-keys/{uuid}/rotate/
func (s *APIKeysService) Rotate(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceResourceAPIKeysRotateRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}
