package apikeys_test

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
)

// echoIdentity answers 200 with the verified key's id.
func echoIdentity(t *testing.T) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := apikeys.FromContext(r.Context())
		require.True(t, ok, "the handler sees the identity")
		_, _ = w.Write([]byte(id.KeyID))
	})
}

func serve(h http.Handler, auth string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, "/v1/things", nil)
	if auth != "" {
		req.Header.Set("Authorization", auth)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

func TestMiddleware(t *testing.T) {
	f := newFixture(t, nil)
	ctx := context.Background()
	valid := f.issue(t, nil)
	expired := f.issue(t, func(o *apikeys.IssueOptions) { o.TTL = time.Second })
	revoked := f.issue(t, nil)
	require.NoError(t, f.m.Revoke(ctx, revoked.Key.ID))
	limited := f.issue(t, func(o *apikeys.IssueOptions) { o.RateLimit = apikeys.RateLimit{PerSecond: 0.5, Burst: 1} })
	f.clock.Advance(time.Minute)
	require.True(t, f.verify(t, limited.Key.Format()).Valid())

	sink := &recordingSink{}
	meter, err := apikeys.NewMeter(apikeys.MeterConfig{Sink: sink, Now: f.clock.Now})
	require.NoError(t, err)
	h := apikeys.Middleware(f.m, apikeys.MiddlewareConfig{Scopes: []string{"orders:read"}, Meter: meter})(echoIdentity(t))
	narrow := f.issue(t, func(o *apikeys.IssueOptions) { o.Scopes = []string{"usage:read"} })

	plain := valid.Key.Format()
	tests := []struct {
		name       string
		auth       string
		status     int
		code       string
		challenge  bool
		retryAfter string
	}{
		{"bearer", "Bearer " + plain, 200, "", false, ""},
		{"token (Waldur)", "Token " + plain, 200, "", false, ""},
		{"scheme is case-insensitive", "bEaReR " + plain, 200, "", false, ""},
		{"no header", "", 401, apikeys.CodeMissingKey, true, ""},
		{"basic auth", "Basic dXNlcjpwYXNz", 401, apikeys.CodeMissingKey, true, ""},
		{"scheme only", "Bearer", 401, apikeys.CodeMissingKey, true, ""},
		{"malformed", "Bearer not-a-key", 401, apikeys.CodeInvalidKey, true, ""},
		{"unknown", "Bearer " + mustGenerate(t, ""), 401, apikeys.CodeInvalidKey, true, ""},
		{"expired", "Bearer " + expired.Key.Format(), 401, apikeys.CodeInvalidKey, true, ""},
		{"revoked", "Bearer " + revoked.Key.Format(), 401, apikeys.CodeInvalidKey, true, ""},
		{"scope missing", "Bearer " + narrow.Key.Format(), 403, apikeys.CodeInsufficientScope, false, ""},
		{"rate limited", "Bearer " + limited.Key.Format(), 429, apikeys.CodeRateLimited, false, "2"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := serve(h, tt.auth)
			assert.Equal(t, tt.status, rec.Code)
			assert.Equal(t, tt.retryAfter, rec.Header().Get("Retry-After"))
			if tt.status == 200 {
				assert.Equal(t, valid.Key.ID, rec.Body.String())
				return
			}
			assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
			var body struct{ Error, Code string }
			require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &body))
			assert.Equal(t, tt.code, body.Code)
			assert.NotEmpty(t, body.Error)
			if tt.challenge {
				assert.True(t, strings.HasPrefix(rec.Header().Get("WWW-Authenticate"), `Bearer realm="api"`))
			} else {
				assert.Empty(t, rec.Header().Get("WWW-Authenticate"))
			}
		})
	}

	require.NoError(t, meter.Flush(ctx))
	assert.Equal(t, int64(3), amounts(sink.last())[f.bind.ResourceUUID]["requests"], "only admitted requests are metered")
}

// A client must not learn whether a key exists: every kind of invalid key
// gets a byte-identical answer.
func TestMiddlewareDoesNotRevealKeyExistence(t *testing.T) {
	f := newFixture(t, nil)
	expired := f.issue(t, func(o *apikeys.IssueOptions) { o.TTL = time.Second })
	revoked := f.issue(t, nil)
	require.NoError(t, f.m.Revoke(context.Background(), revoked.Key.ID))
	live := f.issue(t, nil)
	f.clock.Advance(time.Minute)
	h := apikeys.Middleware(f.m, apikeys.MiddlewareConfig{})(echoIdentity(t))

	type answer struct {
		status  int
		headers http.Header
		body    string
	}
	get := func(key string) answer {
		rec := serve(h, "Bearer "+key)
		return answer{rec.Code, rec.Header(), rec.Body.String()}
	}
	want := get("wak_malformed")
	assert.Equal(t, http.StatusUnauthorized, want.status)
	for name, key := range map[string]string{
		"unknown":      mustGenerate(t, ""),
		"wrong secret": forge("wak", live.Key.ID, "0123456789abcdefghijKL"),
		"expired":      expired.Key.Format(),
		"revoked":      revoked.Key.Format(),
	} {
		assert.Equal(t, want, get(key), name)
	}
}

func TestMiddlewareStoreFailureIs503(t *testing.T) {
	f := newFixture(t, nil)
	is := f.issue(t, nil)
	f.store.fail.Store(true)
	rec := serve(apikeys.Middleware(f.m, apikeys.MiddlewareConfig{})(echoIdentity(t)), "Bearer "+is.Key.Format())
	assert.Equal(t, http.StatusServiceUnavailable, rec.Code)
	assert.JSONEq(t, `{"error":"cannot verify the API key now","code":"unavailable"}`, rec.Body.String())
}

func TestRequireScopes(t *testing.T) {
	f := newFixture(t, nil)
	is := f.issue(t, func(o *apikeys.IssueOptions) { o.Scopes = []string{"orders:read"} })
	mux := http.NewServeMux()
	mux.Handle("/read", apikeys.RequireScopes(echoIdentity(t), "orders:read"))
	mux.Handle("/write", apikeys.RequireScopes(echoIdentity(t), "orders:write"))
	h := apikeys.Middleware(f.m, apikeys.MiddlewareConfig{Realm: "vendor"})(mux)

	req := func(path, auth string) *httptest.ResponseRecorder {
		r := httptest.NewRequest(http.MethodGet, path, nil)
		r.Header.Set("Authorization", auth)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, r)
		return rec
	}
	assert.Equal(t, http.StatusOK, req("/read", "Token "+is.Key.Format()).Code)
	rec := req("/write", "Token "+is.Key.Format())
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.JSONEq(t, `{"error":"the API key lacks a required scope","code":"insufficient_scope"}`, rec.Body.String())
	assert.Equal(t, `Bearer realm="vendor"`, req("/read", "").Header().Get("WWW-Authenticate"))

	// Without the middleware in front, RequireScopes fails closed.
	rec = httptest.NewRecorder()
	apikeys.RequireScopes(echoIdentity(t)).ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/", nil))
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
}

func TestMiddlewareWithVerifierFunc(t *testing.T) {
	id := apikeys.Identity{KeyID: "fake", Binding: apikeys.Binding{ProjectUUID: uuid.New()}}
	var gotScopes []string
	v := apikeys.VerifierFunc(func(_ context.Context, key string, required ...string) (apikeys.Result, error) {
		gotScopes = required
		if key == "letmein" {
			return apikeys.Result{Identity: id}, nil
		}
		return apikeys.Result{Reason: apikeys.ReasonNotFound}, nil
	})
	h := apikeys.Middleware(v, apikeys.MiddlewareConfig{Scopes: []string{"a"}})(echoIdentity(t))
	assert.Equal(t, "fake", serve(h, "Bearer letmein").Body.String())
	assert.Equal(t, []string{"a"}, gotScopes)
	assert.Equal(t, http.StatusUnauthorized, serve(h, "Bearer other").Code)
}

func TestExtractKey(t *testing.T) {
	tests := []struct {
		header, key string
		ok          bool
	}{
		{"Bearer abc", "abc", true},
		{"Token abc", "abc", true},
		{"token   abc", "abc", true},
		{"Bearer ", "", false},
		{"Bearer a b", "", false},
		{"Bearer a\tb", "", false},
		{"Bearerabc", "", false},
		{"Basic abc", "", false},
		{"", "", false},
		{"Bearer " + strings.Repeat("a", 1000), "", false},
	}
	for _, tt := range tests {
		key, ok := apikeys.ExtractKey(tt.header)
		assert.Equal(t, tt.ok, ok, tt.header)
		assert.Equal(t, tt.key, key, tt.header)
	}
}

func FuzzExtractKey(f *testing.F) {
	f.Add("Bearer wak_AbCdEf123456_0123456789abcdefghijKL000000")
	f.Add("Token x")
	f.Add("bearer  \t")
	f.Fuzz(func(t *testing.T, header string) {
		key, ok := apikeys.ExtractKey(header)
		if !ok {
			if key != "" {
				t.Fatal("key returned with ok=false")
			}
			return
		}
		if key == "" || strings.ContainsAny(key, " \t") || !strings.HasSuffix(header, key) {
			t.Fatalf("bad key %q from %q", key, header)
		}
	})
}
