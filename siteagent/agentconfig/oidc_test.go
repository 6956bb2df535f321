package agentconfig_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/siteagent/agentconfig"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

func TestOIDCClientCredentials(t *testing.T) {
	idp := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if id, secret, _ := r.BasicAuth(); id != "site-agent" || secret != "s3cr3t-t0ken-value" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"access_token": "jwt-1", "token_type": "Bearer", "expires_in": 300}`)
	}))
	defer idp.Close()
	var auth string
	api := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		auth = r.Header.Get("Authorization")
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"uuid": "5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b", "username": "agent"}`)
	}))
	defer api.Close()

	f, err := agentconfig.LoadSiteAgentYAML(strings.NewReader(`offerings:
  - name: OIDC cluster
    waldur_api_url: ` + api.URL + `/api/
    waldur_offering_uuid: 5b1d0c7e3a9f4e2d8c6b4a2f0e1d3c5b
    oidc_token_url: ` + idp.URL + `/token
    oidc_client_id: site-agent
    oidc_client_secret: s3cr3t-t0ken-value
    stomp_enabled: true
`))
	require.NoError(t, err)
	o := f.Offerings[0]
	assert.True(t, o.OIDC)
	assert.Empty(t, o.Config.Token)
	assert.Equal(t, siteagent.EventsPolling, o.Config.Events.Mode, "no broker password without a token")
	require.Len(t, f.Warnings, 1)
	assert.Equal(t, "offerings[0].stomp_enabled", f.Warnings[0].Key)
	assert.NotContains(t, f.Warnings[0].String(), "s3cr3t")

	require.NotNil(t, o.Config.Client)
	assert.Equal(t, waldur.TokenOIDC, o.Config.Client.TokenKind())
	_, err = o.Config.Client.Users.Me(t.Context())
	require.NoError(t, err)
	assert.Equal(t, "Bearer jwt-1", auth)

	cfg := o.Config
	cfg.Orders = orders
	_, err = siteagent.New(cfg)
	assert.NoError(t, err, "siteagent accepts the OIDC client without a token")
}
