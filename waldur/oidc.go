package waldur

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"golang.org/x/oauth2"
	"golang.org/x/oauth2/clientcredentials"
)

// OIDCRefreshMargin is how long before its expiry an OIDC access token is
// replaced, as Waldur's reference agent does (it caches a token until
// expires_in minus 30 seconds).
const OIDCRefreshMargin = 30 * time.Second

// oidcFallbackLifetime is assumed for a token whose response has no
// expires_in, as in the reference agent.
const oidcFallbackLifetime = 5 * time.Minute

// OIDCCredentials are the OAuth2 client credentials of an agent that
// authenticates to Waldur with an identity provider's access tokens.
type OIDCCredentials struct {
	TokenURL     string   // the identity provider's token endpoint
	ClientID     string   // the agent's client id
	ClientSecret string   // its secret; never logged
	Scopes       []string // optional
}

// WithOIDC authenticates with OIDC access tokens from the client-credentials
// grant, sent as "Authorization: Bearer <token>". A token is fetched on the
// first request and replaced OIDCRefreshMargin before it expires, so a request
// never carries a token about to lapse. Token requests go through their own
// HTTP client (30 s timeout), not the one of WithHTTPClient. It replaces
// WithCredential, WithToken and WithBearerToken; Client.TokenKind reports
// TokenOIDC.
func WithOIDC(c OIDCCredentials) Option {
	return func(s *settings) {
		s.authorization, s.kind, s.badKind = "", TokenOIDC, 0
		s.oidc = &c
	}
}

// oidcSource returns a token source that refreshes early.
func oidcSource(c *OIDCCredentials) (oauth2.TokenSource, error) {
	if c.TokenURL == "" || c.ClientID == "" || c.ClientSecret == "" {
		return nil, errors.New("waldur: OIDC needs a token URL, a client id and a client secret")
	}
	if _, err := parseBaseURL(c.TokenURL); err != nil {
		return nil, fmt.Errorf("waldur: OIDC token URL: %w", err)
	}
	cc := &clientcredentials.Config{ClientID: c.ClientID, ClientSecret: c.ClientSecret, TokenURL: c.TokenURL, Scopes: c.Scopes}
	ctx := context.WithValue(context.Background(), oauth2.HTTPClient, &http.Client{Timeout: 30 * time.Second})
	return oauth2.ReuseTokenSourceWithExpiry(nil, lifetimeSource{cc.TokenSource(ctx)}, OIDCRefreshMargin), nil
}

// lifetimeSource gives tokens without expires_in the fallback lifetime, so
// that they are refreshed too.
type lifetimeSource struct{ src oauth2.TokenSource }

func (l lifetimeSource) Token() (*oauth2.Token, error) {
	t, err := l.src.Token()
	if err != nil {
		return nil, err
	}
	if t.Expiry.IsZero() {
		t.Expiry = time.Now().Add(oidcFallbackLifetime)
	}
	return t, nil
}
