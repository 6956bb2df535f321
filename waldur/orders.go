package waldur

import (
	"context"
	"iter"
	"net/http"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// OrdersService reads marketplace orders and moves them through their states
// on the provider's side.
//
// State actions on an order in the wrong state fail with an error for which
// [IsInvalidState] is true; re-read the order and decide, since the transition
// may already have happened.
type OrdersService struct{ c *Client }

// ListOrdersOptions filters [OrdersService.List] and [OrdersService.Count].
// Zero fields do not filter.
type ListOrdersOptions struct {
	// OfferingUUID selects the orders of one offering.
	OfferingUUID UUID
	// States selects orders in any of these states (sent as repeated state=).
	States []OrderState
	// Types selects orders of any of these types (sent as repeated type=).
	Types []OrderType
	// ResourceUUID selects the orders of one marketplace resource.
	ResourceUUID UUID
	// ProjectUUID selects the orders of one project.
	ProjectUUID UUID
	// ModifiedAfter selects orders modified at or after this time.
	ModifiedAfter time.Time
	// ModifiedBefore selects orders modified before this time, e.g. to find
	// stuck orders (Waldur 8.1).
	ModifiedBefore time.Time
	// Fields, when set, asks for only these fields (sparse fieldset);
	// ignored by Count.
	Fields []string
}

// List returns the orders matching opts, fetched page by page as the sequence
// is consumed.
//
// Waldur: GET /api/marketplace-orders/
func (s *OrdersService) List(ctx context.Context, opts ListOrdersOptions) iter.Seq2[Order, error] {
	return list[Order](ctx, s.c, func() (*http.Request, error) {
		return waldurapi.NewMarketplaceOrdersListRequest(s.c.server, &waldurapi.MarketplaceOrdersListParams{
			OfferingUUID:   optUUID(opts.OfferingUUID),
			State:          opts.States,
			Type:           opts.Types,
			ResourceUUID:   optUUID(opts.ResourceUUID),
			ProjectUUID:    optUUID(opts.ProjectUUID),
			Modified:       optTime(opts.ModifiedAfter),
			ModifiedBefore: optTime(opts.ModifiedBefore),
			Field:          enums[waldurapi.OrderField](opts.Fields),
			PageSize:       &s.c.pageSize,
		})
	})
}

// Count returns the number of orders matching opts without fetching them.
//
// Waldur: HEAD /api/marketplace-orders/
func (s *OrdersService) Count(ctx context.Context, opts ListOrdersOptions) (int, error) {
	req, err := waldurapi.NewMarketplaceOrdersCountRequest(s.c.server, &waldurapi.MarketplaceOrdersCountParams{
		OfferingUUID:   optUUID(opts.OfferingUUID),
		State:          opts.States,
		Type:           opts.Types,
		ResourceUUID:   optUUID(opts.ResourceUUID),
		ProjectUUID:    optUUID(opts.ProjectUUID),
		Modified:       optTime(opts.ModifiedAfter),
		ModifiedBefore: optTime(opts.ModifiedBefore),
	})
	return s.c.count(ctx, req, err)
}

// Get returns one order; with fields, only those (e.g. "uuid", "state").
//
// Waldur: GET /api/marketplace-orders/{uuid}/
func (s *OrdersService) Get(ctx context.Context, id UUID, fields ...string) (*Order, error) {
	req, err := waldurapi.NewMarketplaceOrdersRetrieveRequest(s.c.server, id, &waldurapi.MarketplaceOrdersRetrieveParams{
		Field: enums[waldurapi.OrderField](fields),
	})
	var o Order
	if _, err := s.c.call(ctx, req, err, &o); err != nil {
		return nil, err
	}
	return &o, nil
}

// Approve accepts an order in state pending-provider; it moves to executing.
//
// Waldur: POST /api/marketplace-orders/{uuid}/approve_by_provider/
func (s *OrdersService) Approve(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceOrdersApproveByProviderRequest(s.c.server, id, waldurapi.OrderApproveRequest{})
	return s.c.action(ctx, req, err)
}

// Reject rejects an order in state pending-provider; comment, if any, is
// shown to the consumer.
//
// Waldur: POST /api/marketplace-orders/{uuid}/reject_by_provider/
func (s *OrdersService) Reject(ctx context.Context, id UUID, comment string) error {
	req, err := waldurapi.NewMarketplaceOrdersRejectByProviderRequest(s.c.server, id, waldurapi.OrderRejectRequest{
		ProviderRejectionComment: comment,
	})
	return s.c.action(ctx, req, err)
}

// SetExecuting moves an order to executing without the approval step.
//
// Waldur: POST /api/marketplace-orders/{uuid}/set_state_executing/
func (s *OrdersService) SetExecuting(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceOrdersSetStateExecutingRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}

// SetDone completes an executing order.
//
// Waldur: POST /api/marketplace-orders/{uuid}/set_state_done/
func (s *OrdersService) SetDone(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceOrdersSetStateDoneRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}

// SetErred fails an order, storing message and traceback on it for the
// consumer and the operator to see.
//
// Waldur: POST /api/marketplace-orders/{uuid}/set_state_erred/
func (s *OrdersService) SetErred(ctx context.Context, id UUID, message, traceback string) error {
	req, err := waldurapi.NewMarketplaceOrdersSetStateErredRequest(s.c.server, id, waldurapi.OrderErrorRequest{
		ErrorMessage:   message,
		ErrorTraceback: traceback,
	})
	return s.c.action(ctx, req, err)
}

// SetBackendID stores backendID (e.g. an asynchronous job's ID) on the order.
//
// Waldur: POST /api/marketplace-orders/{uuid}/set_backend_id/
func (s *OrdersService) SetBackendID(ctx context.Context, id UUID, backendID string) error {
	req, err := waldurapi.NewMarketplaceOrdersSetBackendIDRequest(s.c.server, id, waldurapi.BackendIDRequest{BackendID: backendID})
	return s.c.action(ctx, req, err)
}
