package waldur_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// oidcServers starts an identity provider that issues numbered tokens
// living expiresIn seconds, and a Waldur that records the bearer tokens it
// gets.
func oidcServers(t *testing.T, expiresIn int) (idp, api *httptest.Server, issued func() int, seen func() []string) {
	var mu sync.Mutex
	n := 0
	var got []string
	idp = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, secret, ok := r.BasicAuth()
		if !ok || id != "agent" || secret != "s3cret" || r.FormValue("grant_type") != "client_credentials" {
			w.WriteHeader(http.StatusUnauthorized)
			fmt.Fprint(w, `{"error": "invalid_client"}`)
			return
		}
		mu.Lock()
		n++
		tok := fmt.Sprintf("token-%d", n)
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token": %q, "token_type": "Bearer", "expires_in": %d}`, tok, expiresIn)
	}))
	api = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		got = append(got, r.Header.Get("Authorization"))
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"uuid": "5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b", "username": "agent"}`)
	}))
	t.Cleanup(idp.Close)
	t.Cleanup(api.Close)
	return idp, api, func() int { mu.Lock(); defer mu.Unlock(); return n },
		func() []string { mu.Lock(); defer mu.Unlock(); return append([]string(nil), got...) }
}

func TestOIDCTokenIsReusedUntilCloseToExpiry(t *testing.T) {
	idp, api, issued, seen := oidcServers(t, 3600)
	c, err := waldur.NewClient(api.URL, waldur.WithOIDC(waldur.OIDCCredentials{TokenURL: idp.URL, ClientID: "agent", ClientSecret: "s3cret"}))
	require.NoError(t, err)
	for range 3 {
		_, err := c.Users.Me(t.Context())
		require.NoError(t, err)
	}
	assert.Equal(t, 1, issued())
	assert.Equal(t, []string{"Bearer token-1", "Bearer token-1", "Bearer token-1"}, seen())
}

func TestOIDCTokenIsRefreshedBeforeExpiry(t *testing.T) {
	// A token living no longer than the refresh margin is replaced before
	// every request: none is sent within 30 s of its expiry.
	idp, api, issued, seen := oidcServers(t, int(waldur.OIDCRefreshMargin.Seconds()))
	c, err := waldur.NewClient(api.URL, waldur.WithOIDC(waldur.OIDCCredentials{TokenURL: idp.URL, ClientID: "agent", ClientSecret: "s3cret"}))
	require.NoError(t, err)
	for range 2 {
		_, err := c.Users.Me(t.Context())
		require.NoError(t, err)
	}
	assert.Equal(t, 2, issued())
	assert.Equal(t, []string{"Bearer token-1", "Bearer token-2"}, seen())
}

func TestOIDCRefusedCredentials(t *testing.T) {
	idp, api, _, seen := oidcServers(t, 3600)
	c, err := waldur.NewClient(api.URL, waldur.WithOIDC(waldur.OIDCCredentials{TokenURL: idp.URL, ClientID: "agent", ClientSecret: "wrong"}))
	require.NoError(t, err)
	_, err = c.Users.Me(t.Context())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "OIDC token")
	assert.NotContains(t, err.Error(), "wrong")
	assert.Empty(t, seen(), "no request without a token")

	_, err = waldur.NewClient(api.URL, waldur.WithOIDC(waldur.OIDCCredentials{TokenURL: idp.URL}))
	assert.Error(t, err, "incomplete credentials")
}
