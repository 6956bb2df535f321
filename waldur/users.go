package waldur

import (
	"context"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// UsersService reads the authenticated user.
type UsersService struct{ c *Client }

// Me returns the user the client authenticates as; with fields, only those
// (sparse fieldset). It doubles as a credentials check and readiness probe.
// The returned User's Token field is a credential.
//
// Waldur: GET /api/users/me/
func (s *UsersService) Me(ctx context.Context, fields ...string) (*User, error) {
	req, err := waldurapi.NewUsersMeRetrieveRequest(s.c.server, &waldurapi.UsersMeRetrieveParams{
		Field: enums[waldurapi.UserField](fields),
	})
	var u User
	if _, err := s.c.call(ctx, req, err, &u); err != nil {
		return nil, err
	}
	return &u, nil
}
