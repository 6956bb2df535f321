package waldur

import (
	"context"
	"iter"
	"net/http"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// OfferingUsersService manages offering users: a Waldur user's account on an
// offering, which holds the site username.
//
// State actions on an offering user in the wrong state fail with an error for
// which [IsInvalidState] is true.
type OfferingUsersService struct{ c *Client }

// ListOfferingUsersOptions filters [OfferingUsersService.List]. Zero fields do
// not filter.
type ListOfferingUsersOptions struct {
	// OfferingUUID selects the users of one offering.
	OfferingUUID UUID
	// States selects users in any of these states (sent as repeated state=).
	States []OfferingUserState
	// IsRestricted, when not nil, selects restricted or unrestricted users.
	IsRestricted *bool
	// UserUUID selects the offering users of one Waldur user.
	UserUUID UUID
	// UserUsername selects by Waldur username.
	UserUsername string
	// HasConsent, when not nil, selects by the user's consent.
	HasConsent *bool
	// Fields, when set, asks for only these fields (sparse fieldset).
	Fields []string
}

// List returns offering users, fetched page by page as the sequence is
// consumed. Providers see only users who consented.
//
// Waldur: GET /api/marketplace-offering-users/
func (s *OfferingUsersService) List(ctx context.Context, opts ListOfferingUsersOptions) iter.Seq2[OfferingUser, error] {
	return list[OfferingUser](ctx, s.c, func() (*http.Request, error) {
		return waldurapi.NewMarketplaceOfferingUsersListRequest(s.c.server, &waldurapi.MarketplaceOfferingUsersListParams{
			OfferingUUID: optUUIDs(opts.OfferingUUID),
			State:        opts.States,
			IsRestricted: opts.IsRestricted,
			UserUUID:     optUUID(opts.UserUUID),
			UserUsername: optString(opts.UserUsername),
			HasConsent:   opts.HasConsent,
			Field:        enums[waldurapi.OfferingUserField](opts.Fields),
			PageSize:     &s.c.pageSize,
		})
	})
}

// Get returns one offering user; with fields, only those.
//
// Waldur: GET /api/marketplace-offering-users/{uuid}/
func (s *OfferingUsersService) Get(ctx context.Context, id UUID, fields ...string) (*OfferingUser, error) {
	req, err := waldurapi.NewMarketplaceOfferingUsersRetrieveRequest(s.c.server, id, &waldurapi.MarketplaceOfferingUsersRetrieveParams{
		Field: enums[waldurapi.OfferingUserField](fields),
	})
	var u OfferingUser
	if _, err := s.c.call(ctx, req, err, &u); err != nil {
		return nil, err
	}
	return &u, nil
}

// SetUsername sets the site username; Waldur then emits an offering_user
// event.
//
// Waldur: PATCH /api/marketplace-offering-users/{uuid}/
func (s *OfferingUsersService) SetUsername(ctx context.Context, id UUID, username string) error {
	req, err := waldurapi.NewMarketplaceOfferingUsersPartialUpdateRequest(s.c.server, id, waldurapi.OfferingUserUpdate{Username: &username})
	return s.c.action(ctx, req, err)
}

// BeginCreating moves a Requested (or Error creating) user to Creating.
//
// Waldur: POST /api/marketplace-offering-users/{uuid}/begin_creating/
func (s *OfferingUsersService) BeginCreating(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceOfferingUsersBeginCreatingRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}

// SetOK moves the user to OK (recovery or manual completion).
//
// Waldur: POST /api/marketplace-offering-users/{uuid}/set_ok/
func (s *OfferingUsersService) SetOK(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceOfferingUsersSetOkRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}

// SetErrorCreating records that creating the account failed.
//
// Waldur: POST /api/marketplace-offering-users/{uuid}/set_error_creating/
func (s *OfferingUsersService) SetErrorCreating(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceOfferingUsersSetErrorCreatingRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}

// SetPendingAccountLinking asks the user to link an existing account; comment
// and commentURL (where to do it) are shown to the user.
//
// Waldur: POST /api/marketplace-offering-users/{uuid}/set_pending_account_linking/
func (s *OfferingUsersService) SetPendingAccountLinking(ctx context.Context, id UUID, comment, commentURL string) error {
	req, err := waldurapi.NewMarketplaceOfferingUsersSetPendingAccountLinkingRequest(s.c.server, id, waldurapi.OfferingUserCommentRequest{
		Comment:    comment,
		CommentURL: commentURL,
	})
	return s.c.action(ctx, req, err)
}

// SetPendingAdditionalValidation asks the user for additional validation;
// comment and commentURL are shown to the user.
//
// Waldur: POST /api/marketplace-offering-users/{uuid}/set_pending_additional_validation/
func (s *OfferingUsersService) SetPendingAdditionalValidation(ctx context.Context, id UUID, comment, commentURL string) error {
	req, err := waldurapi.NewMarketplaceOfferingUsersSetPendingAdditionalValidationRequest(s.c.server, id, waldurapi.OfferingUserCommentRequest{
		Comment:    comment,
		CommentURL: commentURL,
	})
	return s.c.action(ctx, req, err)
}

// SetValidationComplete moves a user from a pending state to OK and clears
// the comments.
//
// Waldur: POST /api/marketplace-offering-users/{uuid}/set_validation_complete/
func (s *OfferingUsersService) SetValidationComplete(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceOfferingUsersSetValidationCompleteRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}

// SetDeleting records that deleting the account started.
//
// Waldur: POST /api/marketplace-offering-users/{uuid}/set_deleting/
func (s *OfferingUsersService) SetDeleting(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceOfferingUsersSetDeletingRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}

// SetDeleted records that the account was deleted.
//
// Waldur: POST /api/marketplace-offering-users/{uuid}/set_deleted/
func (s *OfferingUsersService) SetDeleted(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceOfferingUsersSetDeletedRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}

// SetErrorDeleting records that deleting the account failed.
//
// Waldur: POST /api/marketplace-offering-users/{uuid}/set_error_deleting/
func (s *OfferingUsersService) SetErrorDeleting(ctx context.Context, id UUID) error {
	req, err := waldurapi.NewMarketplaceOfferingUsersSetErrorDeletingRequest(s.c.server, id)
	return s.c.action(ctx, req, err)
}
