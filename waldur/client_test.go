package waldur

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestNewClientNormalisesBaseURL(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"https://waldur.example.com", "https://waldur.example.com/"},
		{"https://waldur.example.com/", "https://waldur.example.com/"},
		{"https://waldur.example.com/api", "https://waldur.example.com/"},
		{"https://waldur.example.com/api/", "https://waldur.example.com/"},
		{" http://127.0.0.1:8000/api/ ", "http://127.0.0.1:8000/"},
		{"https://example.com/waldur/api/", "https://example.com/waldur/"},
		{"https://example.com/waldur", "https://example.com/waldur/"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			c, err := NewClient(tt.in)
			require.NoError(t, err)
			assert.Equal(t, tt.want, c.BaseURL())
		})
	}
}

func TestNewClientRejectsBadBaseURL(t *testing.T) {
	tests := []struct {
		in, wantErr string
	}{
		{"", "empty"},
		{"waldur.example.com", "absolute http or https"},
		{"ftp://waldur.example.com", "absolute http or https"},
		{"https://", "no host"},
		{"https://user:s3cret@waldur.example.com", "credentials"},
		{"https://waldur.example.com/?x-auth-token=abc", "query"},
		{"https://waldur.example.com/#top", "fragment"},
		{"https://waldur.example.com/%zz", "invalid base URL"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			_, err := NewClient(tt.in)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tt.wantErr)
			assert.True(t, strings.HasPrefix(err.Error(), "waldur: "), err.Error())
			assert.NotContains(t, err.Error(), "s3cret")
		})
	}
}

func TestNewClientRejectsTokenWithControlCharacters(t *testing.T) {
	_, err := NewClient("https://waldur.example.com", WithToken("abc\r\nX-Evil: 1"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "abc")
	assert.NotContains(t, err.Error(), "Evil")
}

func TestRequestHeaders(t *testing.T) {
	tests := []struct {
		name      string
		opts      []Option
		wantAuth  string
		wantAgent string
	}{
		{"token", []Option{WithToken("abc")}, "Token abc", DefaultUserAgent},
		{"bearer", []Option{WithBearerToken("w_pat")}, "Bearer w_pat", DefaultUserAgent},
		{"last wins", []Option{WithToken("abc"), WithBearerToken("w_pat")}, "Bearer w_pat", DefaultUserAgent},
		{"anonymous", nil, "", DefaultUserAgent},
		{"custom agent", []Option{WithUserAgent("acme-hpc/2.1")}, "", "acme-hpc/2.1 " + DefaultUserAgent},
		{"custom agent with token", []Option{WithUserAgent("my-waldur-site-agent/1")}, "", "my-waldur-site-agent/1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var got http.Header
			h := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				got = r.Header.Clone()
				w.Write([]byte(`{}`))
			})
			c, _ := newTestClient(t, h)
			// Rebuild with only the options under test (newTestClient adds a token).
			c2, err := NewClient(c.BaseURL(), tt.opts...)
			require.NoError(t, err)
			req, err := http.NewRequest(http.MethodGet, c2.server+"api/users/me/", nil)
			require.NoError(t, err)
			_, err = c2.call(context.Background(), req, nil, nil)
			require.NoError(t, err)
			assert.Equal(t, tt.wantAuth, got.Get("Authorization"))
			assert.Equal(t, tt.wantAgent, got.Get("User-Agent"))
			assert.Contains(t, got.Get("User-Agent"), "waldur-site-agent")
			assert.Equal(t, "application/json", got.Get("Accept"))
		})
	}
}

func TestDoesNotModifyCallersRequest(t *testing.T) {
	c, _ := newTestClient(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	req, err := http.NewRequest(http.MethodGet, c.server+"api/users/me/", nil)
	require.NoError(t, err)
	resp, err := c.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Empty(t, req.Header.Get("Authorization"))
}

func TestPageSizeOption(t *testing.T) {
	for in, want := range map[int]int{0: DefaultPageSize, -5: DefaultPageSize, 1: 1, 250: 250, 300: 300, 1000: MaxPageSize} {
		c, err := NewClient("https://waldur.example.com", WithPageSize(in))
		require.NoError(t, err)
		assert.Equal(t, want, c.pageSize, "WithPageSize(%d)", in)
	}
}

func TestRetryPolicyDefaults(t *testing.T) {
	assert.Equal(t, RetryPolicy{DefaultMaxRetries, DefaultMinWait, DefaultMaxWait}, RetryPolicy{}.withDefaults())
	assert.Equal(t, 0, RetryPolicy{MaxRetries: -1}.withDefaults().MaxRetries)
	p := RetryPolicy{MinWait: DefaultMaxWait * 2}.withDefaults()
	assert.Equal(t, p.MinWait, p.MaxWait, "MaxWait is raised to MinWait")
}
