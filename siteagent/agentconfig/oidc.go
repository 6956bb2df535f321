package agentconfig

import (
	"strings"

	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// oidc reads the reference agent's OIDC client credentials (oidc_token_url,
// oidc_client_id, oidc_client_secret) of an offering without a token: the
// offering's Config.Client then authenticates with client-credentials access
// tokens (waldur.WithOIDC). Without a token there is no broker password, so
// such an agent polls.
func (r *nodeReader) oidc(o *Offering, path string, oidc []pair) error {
	var c waldur.OIDCCredentials
	for _, p := range oidc {
		v, _ := r.str(p.val, join(path, p.key)) // read before
		switch p.key {
		case "oidc_token_url":
			c.TokenURL = v
		case "oidc_client_id":
			c.ClientID = v
		case "oidc_client_secret":
			c.ClientSecret = v
		}
	}
	for _, req := range []struct{ key, val string }{
		{"oidc_token_url", c.TokenURL}, {"oidc_client_id", c.ClientID}, {"oidc_client_secret", c.ClientSecret},
	} {
		if req.val == "" {
			return r.errorf(oidc[0].val, join(path, req.key), "required with the other OIDC client credentials (or set waldur_api_token)")
		}
	}
	o.auth = waldur.WithOIDC(c)
	client, err := waldur.NewClient(o.Config.WaldurURL, o.auth, waldur.WithPageSize(waldur.MaxPageSize))
	if err != nil {
		return r.errorf(oidc[0].val, join(path, "oidc_token_url"), "%s", strings.TrimPrefix(err.Error(), "waldur: "))
	}
	o.OIDC = true
	o.Config.Client = client
	return nil
}

// oidcEvents makes an OIDC offering poll: the broker's password is an API
// token, which it does not have.
func (r *nodeReader) oidcEvents(o *Offering, path string, line int) {
	if o.Config.Events.Mode != siteagent.EventsPolling {
		r.warn(line, join(path, "stomp_enabled"), "not applied with OIDC credentials: the broker needs waldur_api_token as its password, so the agent polls")
	}
	o.Config.Events = siteagent.EventsConfig{Mode: siteagent.EventsPolling, TLS: o.Config.Events.TLS}
}
