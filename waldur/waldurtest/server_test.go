package waldurtest_test

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// response is a decoded HTTP answer of the fake.
type response struct {
	status int
	header http.Header
	body   []byte
}

func (r response) json(t *testing.T, v any) {
	t.Helper()
	require.NoError(t, json.Unmarshal(r.body, v), "body: %s", r.body)
}

// call sends a request authenticated with the default token; body is
// marshalled to JSON unless it is nil or already []byte.
func call(t *testing.T, s *waldurtest.Server, method, path string, body any) response {
	t.Helper()
	return callAuth(t, s, method, path, body, "Token "+s.Token())
}

func callAuth(t *testing.T, s *waldurtest.Server, method, path string, body any, auth string) response {
	t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case []byte:
		rd = bytes.NewReader(b)
	default:
		data, err := json.Marshal(b)
		require.NoError(t, err)
		rd = bytes.NewReader(data)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	require.NoError(t, err)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	resp, err := s.HTTPClient().Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return response{status: resp.StatusCode, header: resp.Header, body: data}
}

func hex(id uuid.UUID) string { return strings.ReplaceAll(id.String(), "-", "") }

func TestAuth(t *testing.T) {
	s := waldurtest.NewServer(t, waldurtest.WithToken("0123456789abcdef0123456789abcdef01234567"))
	other := s.AddUser(waldurtest.UserSpec{Username: "other", Token: "feedfeedfeedfeedfeedfeedfeedfeedfeedfeed"})
	tests := []struct {
		name       string
		path       string
		auth       string
		wantStatus int
		wantDetail string
		wantUser   string
	}{
		{"missing", "/api/users/me/", "", 401, "Authentication credentials were not provided.", ""},
		{"wrong token", "/api/users/me/", "Token 0000000000000000000000000000000000000000", 401, "Invalid token.", ""},
		{"empty token", "/api/users/me/", "Token ", 401, "Invalid token.", ""},
		{"unknown scheme", "/api/users/me/", "Basic dXNlcjpwYXNz", 401, "Invalid token.", ""},
		{"bearer that is not a PAT", "/api/users/me/", "Bearer eyJhbGciOi", 401, "Invalid token.", ""},
		{"unknown route still needs auth", "/api/no-such-thing/", "", 401, "Authentication credentials were not provided.", ""},
		{"token", "/api/users/me/", "Token 0123456789abcdef0123456789abcdef01234567", 200, "", "provider"},
		{"token scheme is case-insensitive", "/api/users/me/", "token 0123456789abcdef0123456789abcdef01234567", 200, "", "provider"},
		{"PAT", "/api/users/me/", "Bearer " + s.PAT(), 200, "", "provider"},
		{"another user", "/api/users/me/", "Token " + s.UserToken(other), 200, "", "other"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := callAuth(t, s, "GET", tt.path, nil, tt.auth)
			require.Equal(t, tt.wantStatus, r.status, "body: %s", r.body)
			var body map[string]any
			r.json(t, &body)
			if tt.wantStatus == 401 {
				assert.Equal(t, tt.wantDetail, body["detail"])
				assert.Equal(t, "Token", r.header.Get("WWW-Authenticate"))
				return
			}
			assert.Equal(t, tt.wantUser, body["username"])
		})
	}
}

func TestDefaultTokenIsFortyHex(t *testing.T) {
	s := waldurtest.NewServer(t)
	assert.Regexp(t, `^[0-9a-f]{40}$`, s.Token())
	assert.Regexp(t, `^w_[0-9a-f]+$`, s.PAT())
}

func TestUsersMe(t *testing.T) {
	s := waldurtest.NewServer(t)
	r := call(t, s, "GET", "/api/users/me/", nil)
	require.Equal(t, 200, r.status)
	var me map[string]any
	r.json(t, &me)
	assert.Equal(t, hex(s.ProviderUser()), me["uuid"], "UUIDs are rendered as 32 hex digits")
	assert.Equal(t, s.Token(), me["token"])

	r = call(t, s, "GET", "/api/users/me/?field=uuid", nil)
	var sparse map[string]any
	r.json(t, &sparse)
	assert.Equal(t, map[string]any{"uuid": hex(s.ProviderUser())}, sparse)
}

func TestPasswordLogin(t *testing.T) {
	s := waldurtest.NewServer(t)
	u := s.AddUser(waldurtest.UserSpec{Username: "agent", Password: "s3cret"})
	r := callAuth(t, s, "POST", "/api-auth/password/", map[string]string{"username": "agent", "password": "s3cret"}, "")
	require.Equal(t, 200, r.status)
	var tok map[string]string
	r.json(t, &tok)
	assert.Equal(t, s.UserToken(u), tok["token"])

	r = callAuth(t, s, "POST", "/api-auth/password/", map[string]string{"username": "agent", "password": "nope"}, "")
	assert.Equal(t, 401, r.status)
}

func TestUnknownRoutes(t *testing.T) {
	s := waldurtest.NewServer(t)
	tests := []struct {
		method, path string
		want         int
		wantOp       string
	}{
		{"GET", "/api/no-such-thing/", 404, ""},
		{"GET", "/api/marketplace-orders", 404, ""}, // the trailing slash is part of the path
		{"GET", "/api/marketplace-orders/not-a-uuid/", 404, "marketplace_orders_retrieve"},
		{"GET", "/api/marketplace-orders/" + hex(uuid.New()) + "/", 404, "marketplace_orders_retrieve"},
		{"DELETE", "/api/marketplace-orders/", 405, ""},
		{"POST", "/api/users/me/", 405, ""},
	}
	for _, tt := range tests {
		t.Run(tt.method+" "+tt.path, func(t *testing.T) {
			r := call(t, s, tt.method, tt.path, nil)
			assert.Equal(t, tt.want, r.status)
			var body map[string]any
			r.json(t, &body)
			assert.NotEmpty(t, body["detail"])
		})
	}
	calls := s.Calls()
	require.Len(t, calls, len(tests))
	for i, c := range calls {
		assert.Equal(t, tests[i].wantOp, c.OperationID, "%s %s", c.Method, c.Path)
		assert.Equal(t, tests[i].want, c.Status)
	}
}

func TestPathsAcceptBothUUIDForms(t *testing.T) {
	s := waldurtest.NewServer(t)
	off := s.AddOffering(waldurtest.OfferingSpec{})
	id := s.AddOrder(waldurtest.OrderSpec{Offering: off})
	for _, form := range []string{hex(id), id.String()} {
		r := call(t, s, "GET", "/api/marketplace-orders/"+form+"/", nil)
		require.Equal(t, 200, r.status)
		var o map[string]any
		r.json(t, &o)
		assert.Equal(t, hex(id), o["uuid"])
		assert.Equal(t, hex(off), o["offering_uuid"])
		assert.NotContains(t, string(r.body), id.String(), "no hyphenated UUIDs in responses")
	}
}

func TestCloseIsIdempotentForNewServer(t *testing.T) {
	s := waldurtest.New()
	r := call(t, s, "GET", "/api/users/me/", nil)
	assert.Equal(t, 200, r.status)
	s.Close()
}

// TestPackageDocSnippet is the snippet of the package documentation.
func TestPackageDocSnippet(t *testing.T) {
	s := waldurtest.NewServer(t) // closed when the test ends
	offering := s.AddOffering(waldurtest.OfferingSpec{
		Components: []waldurtest.ComponentSpec{{Type: "cpu", BillingType: "limit"}},
	})
	order := s.AddOrder(waldurtest.OrderSpec{Offering: offering, Limits: map[string]int64{"cpu": 100}})

	// The code under test talks to s.URL() with s.Token(); here it is a
	// client the server made.
	c := s.Client()
	require.NoError(t, c.Orders.Approve(t.Context(), order))
	require.NoError(t, c.Orders.SetDone(t.Context(), order))

	o, _ := s.Order(order)
	assert.Equal(t, waldur.OrderStateDone, o.State)
	assert.Equal(t, []string{"approve_by_provider", "set_state_done"}, s.Transitions(order))
}

func TestExpiredToken(t *testing.T) {
	s := waldurtest.NewServer(t)
	s.ExpireToken(s.Token())
	r := call(t, s, "GET", "/api/users/me/", nil)
	assert.Equal(t, 401, r.status)
	assert.JSONEq(t, `{"detail":"Token has expired."}`, string(r.body))
	assert.Equal(t, 200, callAuth(t, s, "GET", "/api/users/me/", nil, "Bearer "+s.PAT()).status, "the PAT still works")
	assert.Panics(t, func() { s.ExpireToken("unknown") })
}
