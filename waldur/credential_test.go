package waldur_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func TestWithCredentialSendsEachKindAsWaldurExpects(t *testing.T) {
	s := waldurtest.NewServer(t)
	tests := []struct {
		name     string
		kind     waldur.TokenKind
		token    string
		wantKind waldur.TokenKind
		ok       bool
	}{
		{"drf", waldur.TokenDRF, s.Token(), waldur.TokenDRF, true},
		{"pat", waldur.TokenPAT, s.PAT(), waldur.TokenPAT, true},
		{"oidc", waldur.TokenOIDC, s.OIDCToken(), waldur.TokenOIDC, true},
		{"auto guesses a PAT by its prefix", waldur.TokenAuto, s.PAT(), waldur.TokenPAT, true},
		{"auto takes anything else for a DRF token", waldur.TokenAuto, s.Token(), waldur.TokenDRF, true},
		// Without the explicit kind an OIDC token would go out as "Token …".
		{"auto cannot tell an OIDC token", waldur.TokenAuto, s.OIDCToken(), waldur.TokenDRF, false},
		{"a DRF token sent as a bearer goes to OIDC", waldur.TokenOIDC, s.Token(), waldur.TokenOIDC, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := waldur.NewClient(s.URL(), waldur.WithCredential(tt.kind, tt.token))
			require.NoError(t, err)
			assert.Equal(t, tt.wantKind, c.TokenKind())
			_, err = c.Users.Me(context.Background())
			if tt.ok {
				assert.NoError(t, err)
			} else {
				assert.True(t, waldur.IsUnauthorized(err), "%v", err)
			}
		})
	}
}

func TestWithCredentialHeaders(t *testing.T) {
	var got []string
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = append(got, r.Header.Get("Authorization"))
		_, _ = w.Write([]byte(`{}`))
	}))
	defer hs.Close()
	for _, o := range []waldur.Option{
		waldur.WithCredential(waldur.TokenDRF, "w_looks_like_a_pat"),
		waldur.WithCredential(waldur.TokenOIDC, "eyJhbGciOi"),
		waldur.WithCredential(waldur.TokenAuto, "w_abc"),
		waldur.WithBearerToken("eyJhbGciOi"),
	} {
		c, err := waldur.NewClient(hs.URL, o)
		require.NoError(t, err)
		_, err = c.Users.Me(context.Background())
		require.NoError(t, err)
	}
	assert.Equal(t, []string{"Token w_looks_like_a_pat", "Bearer eyJhbGciOi", "Bearer w_abc", "Bearer eyJhbGciOi"}, got)

	_, err := waldur.NewClient(hs.URL, waldur.WithCredential(waldur.TokenKind(42), "x"))
	assert.ErrorContains(t, err, "unknown token kind")
}

func TestParseTokenKind(t *testing.T) {
	for in, want := range map[string]waldur.TokenKind{
		"": waldur.TokenAuto, "auto": waldur.TokenAuto, "Token": waldur.TokenDRF, "drf": waldur.TokenDRF,
		" PAT ": waldur.TokenPAT, "oidc": waldur.TokenOIDC,
	} {
		got, err := waldur.ParseTokenKind(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got, in)
		again, err := waldur.ParseTokenKind(got.String())
		require.NoError(t, err)
		assert.Equal(t, got, again)
	}
	_, err := waldur.ParseTokenKind("bearer")
	assert.Error(t, err)
}
