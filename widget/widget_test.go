package widget_test

import (
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/google/uuid"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/siteagent"
	"github.com/gsv-platform/waldur-agent-go/waldur"
	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
	"github.com/gsv-platform/waldur-agent-go/widget"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func ptr(v float64) *float64 { return &v }

// TestStatus: a project's key reads its live resources with this month's
// usage against the limits and the keys' ids and states, never their values.
func TestStatus(t *testing.T) {
	w := newWorld(t)
	h := w.handler(t, widget.Config{Agent: agentStub{live: true, ready: true, stats: siteagent.Stats{
		LastHeartbeat: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC), LastError: "backend password rejected",
	}}})
	rec := get(h, "/status", w.keyA)
	st := decodeStatus(t, rec)

	assert.Equal(t, "application/json", rec.Header().Get("Content-Type"))
	assert.Equal(t, "no-store", rec.Header().Get("Cache-Control"))
	assert.Equal(t, "default-src 'none'; frame-ancestors 'none'", rec.Header().Get("Content-Security-Policy"))
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))

	assert.Equal(t, widget.Project{UUID: waldur.Hex(w.projectA), Name: "Climate modelling"}, st.Project)
	assert.Equal(t, time.Now().UTC().Format("2006-01"), st.Month)
	require.Len(t, st.Resources, 1, "the terminated resource is left out")
	r := st.Resources[0]
	assert.Equal(t, waldur.Hex(w.resA), r.UUID)
	assert.Equal(t, "climate-assistant", r.Name)
	assert.Equal(t, "OK", r.State)
	assert.Equal(t, "AI agent", r.Offering)
	assert.Equal(t, []widget.Usage{
		{Type: "requests", Name: "Requests", Unit: "requests", Usage: 42, Limit: ptr(1000)},
		{Type: "ktokens", Name: "Tokens", Unit: "1000 tokens", Usage: 1.25, Limit: ptr(5000)},
	}, r.Usage, "this month only; the fixed component without a limit is left out")
	require.Len(t, r.Keys, 2)
	assert.Equal(t, "agent-1-1", r.Keys[0].ClientID)
	assert.Equal(t, "OK", r.Keys[0].State)
	assert.True(t, strings.HasPrefix(r.Keys[0].PublicID, "wak_"), "the local key's public id: %q", r.Keys[0].PublicID)
	assert.Equal(t, widget.Key{ClientID: "agent-1-2", State: "Updating"}, r.Keys[1])
	for _, k := range w.fake.APIKeys() {
		secret, _ := w.fake.APIKeySecret(k.UUID)
		require.NotEmpty(t, secret)
		assert.NotContains(t, rec.Body.String(), secret, "a key's value is never shown")
	}

	require.NotNil(t, st.Agent)
	assert.Equal(t, widget.Health{Live: true, Ready: true, Connected: true,
		LastHeartbeat: time.Date(2026, 12, 3, 10, 0, 0, 0, time.UTC)}, *st.Agent)
	assert.NotContains(t, rec.Body.String(), "password", "the agent's errors are not for customers")
	assert.NotContains(t, rec.Body.String(), "amqp", "nor its machinery")
}

// TestAuth: only a valid, read-only key bound to a project, in the
// Authorization header, gets a status.
func TestAuth(t *testing.T) {
	w := newWorld(t)
	h := w.handler(t, widget.Config{})
	revoked := w.issue(t, apikeys.Binding{ProjectUUID: w.projectA}, widget.ScopeRead)
	id, err := apikeys.Parse(revoked)
	require.NoError(t, err)
	require.NoError(t, w.keys.Revoke(t.Context(), id.ID))
	unknown := strings.Replace(w.keyA, w.keyA[4:16], "000000000000", 1)

	for _, tc := range []struct {
		name   string
		path   string
		header []string
		status int
		code   string
	}{
		{"no key", "/status", nil, 401, apikeys.CodeMissingKey},
		{"garbage", "/status", []string{"Authorization", "Bearer not-a-key"}, 401, apikeys.CodeInvalidKey},
		{"unknown key", "/status", []string{"Authorization", "Bearer " + unknown}, 401, apikeys.CodeInvalidKey},
		{"revoked key", "/status", []string{"Authorization", "Bearer " + revoked}, 401, apikeys.CodeInvalidKey},
		{"key in the query", "/status?api_key=" + w.keyA, nil, 400, widget.CodeQueryNotAllowed},
		{"key in the query and the header", "/status?x=1", []string{"Authorization", "Bearer " + w.keyA}, 400, widget.CodeQueryNotAllowed},
		{"write scope as well", "/status", []string{"Authorization", "Bearer " + w.issue(t, apikeys.Binding{ProjectUUID: w.projectA}, widget.ScopeRead, "chat:write")}, 403, widget.CodeNotReadOnly},
		{"wildcard scope", "/status", []string{"Authorization", "Bearer " + w.issue(t, apikeys.Binding{ProjectUUID: w.projectA}, "*")}, 403, widget.CodeNotReadOnly},
		{"another read scope only", "/status", []string{"Authorization", "Bearer " + w.issue(t, apikeys.Binding{ProjectUUID: w.projectA}, "agent:read")}, 403, apikeys.CodeInsufficientScope},
		{"not bound to a project", "/status", []string{"Authorization", "Bearer " + w.issue(t, apikeys.Binding{OfferingUUID: w.offering}, widget.ScopeRead)}, 403, widget.CodeNoProject},
		{"Waldur's Token scheme", "/status", []string{"Authorization", "Token " + w.keyA}, 200, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			rec := get(h, tc.path, "", tc.header...)
			require.Equal(t, tc.status, rec.Code, rec.Body.String())
			if tc.code != "" {
				assert.Equal(t, tc.code, errorCode(t, rec))
				assert.NotContains(t, rec.Body.String(), "climate", "a refusal shows nothing of the project")
			}
		})
	}

	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/status", nil))
	assert.Equal(t, http.StatusMethodNotAllowed, rec.Code)
}

// TestCrossProjectIsolation: a key sees its own project's resources and
// nothing of another's, however its binding is combined.
func TestCrossProjectIsolation(t *testing.T) {
	w := newWorld(t)
	h := w.handler(t, widget.Config{})
	secretsOfA := []string{waldur.Hex(w.resA), "climate", "Climate", "agent-1-1"}

	rec := get(h, "/status", w.keyB)
	st := decodeStatus(t, rec)
	assert.Equal(t, "Protein folding", st.Project.Name)
	require.Len(t, st.Resources, 1)
	assert.Equal(t, waldur.Hex(w.resB), st.Resources[0].UUID)
	for _, s := range secretsOfA {
		assert.NotContains(t, rec.Body.String(), s)
	}

	for name, b := range map[string]apikeys.Binding{
		"project B, resource of A":  {ProjectUUID: w.projectB, ResourceUUID: w.resA},
		"project A, customer of B":  {ProjectUUID: w.projectA, CustomerUUID: w.custB},
		"project A, other offering": {ProjectUUID: w.projectA, OfferingUUID: uuid.New()},
		"a project without any":     {ProjectUUID: w.fake.AddProject(waldurtest.ProjectSpec{Name: "Empty", Customer: w.custA})},
	} {
		t.Run(name, func(t *testing.T) {
			rec := get(h, "/status", w.issue(t, b, widget.ScopeRead))
			st := decodeStatus(t, rec)
			assert.Empty(t, st.Resources)
			assert.Equal(t, waldur.Hex(b.ProjectUUID), st.Project.UUID)
			for _, s := range secretsOfA {
				assert.NotContains(t, rec.Body.String(), s)
			}
		})
	}

	t.Run("resource binding", func(t *testing.T) {
		st := decodeStatus(t, get(h, "/status", w.issue(t, apikeys.Binding{ProjectUUID: w.projectA, ResourceUUID: w.resA}, widget.ScopeRead)))
		require.Len(t, st.Resources, 1)
		assert.Equal(t, waldur.Hex(w.resA), st.Resources[0].UUID)
	})
}

// TestCORS: only allow-listed origins may call, the preflight that the
// Authorization header triggers included; refusals of an allowed page carry
// the CORS headers so the page can show them.
func TestCORS(t *testing.T) {
	w := newWorld(t)
	h := w.handler(t, widget.Config{AllowedOrigins: []string{portal, "HTTPS://Other.Example:443"}})

	preflight := func(origin string) *httptest.ResponseRecorder {
		req := httptest.NewRequest(http.MethodOptions, "/status", nil)
		req.Header.Set("Origin", origin)
		req.Header.Set("Access-Control-Request-Method", "GET")
		req.Header.Set("Access-Control-Request-Headers", "authorization")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		return rec
	}
	rec := preflight(portal)
	assert.Equal(t, http.StatusNoContent, rec.Code)
	assert.Equal(t, portal, rec.Header().Get("Access-Control-Allow-Origin"))
	assert.Equal(t, "GET", rec.Header().Get("Access-Control-Allow-Methods"))
	assert.Equal(t, "Authorization", rec.Header().Get("Access-Control-Allow-Headers"))
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Credentials"), "no cookies are ever needed")
	assert.Equal(t, "https://other.example", preflight("https://other.example").Header().Get("Access-Control-Allow-Origin"),
		"configured origins are normalised as browsers send them")

	rec = preflight("https://evil.example")
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))

	rec = get(h, "/status", w.keyA, "Origin", portal)
	assert.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, portal, rec.Header().Get("Access-Control-Allow-Origin"))
	assert.Contains(t, rec.Header().Values("Vary"), "Origin")

	rec = get(h, "/status", w.keyA, "Origin", "https://evil.example")
	assert.Equal(t, http.StatusForbidden, rec.Code)
	assert.Equal(t, widget.CodeOriginNotAllowed, errorCode(t, rec))
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
	assert.NotContains(t, rec.Body.String(), "climate")

	rec = get(h, "/widget.js", "", "Origin", "null")
	assert.Equal(t, http.StatusForbidden, rec.Code, "an opaque origin is not in any allow-list")

	rec = get(h, "/status", "wak_wrong", "Origin", portal)
	assert.Equal(t, http.StatusUnauthorized, rec.Code)
	assert.Equal(t, portal, rec.Header().Get("Access-Control-Allow-Origin"), "the page can read the refusal")

	rec = get(h, "/status", w.keyA)
	assert.Equal(t, http.StatusOK, rec.Code, "requests without an Origin (same origin, servers) are served")
	assert.Empty(t, rec.Header().Get("Access-Control-Allow-Origin"))
}

// TestScript: the module is served as JavaScript, cacheable, loadable by
// allowed pages, and revalidated by its entity tag.
func TestScript(t *testing.T) {
	w := newWorld(t)
	h := w.handler(t, widget.Config{})
	rec := get(h, "/widget.js", "", "Origin", portal)
	require.Equal(t, http.StatusOK, rec.Code)
	assert.Equal(t, "text/javascript; charset=utf-8", rec.Header().Get("Content-Type"))
	assert.Equal(t, portal, rec.Header().Get("Access-Control-Allow-Origin"), "module scripts are fetched with CORS")
	assert.Equal(t, "cross-origin", rec.Header().Get("Cross-Origin-Resource-Policy"))
	assert.Equal(t, "nosniff", rec.Header().Get("X-Content-Type-Options"))
	assert.Equal(t, widget.Script(), rec.Body.Bytes())
	assert.Contains(t, rec.Body.String(), `customElements.define("waldur-agent-widget"`)
	etag := rec.Header().Get("ETag")
	require.NotEmpty(t, etag)

	rec = get(h, "/widget.js", "", "If-None-Match", etag)
	assert.Equal(t, http.StatusNotModified, rec.Code)
	assert.Equal(t, http.StatusNotFound, get(h, "/other.js", "").Code)
}

// TestScriptIsCSPFriendly: the module never evaluates strings as code or
// writes markup, which a strict Content-Security-Policy (or Trusted Types)
// would block and which would open the page to injected names.
func TestScriptIsCSPFriendly(t *testing.T) {
	js := string(widget.Script())
	for _, banned := range []string{"innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval(", "new Function", "setAttribute(\"style\"", ".style."} {
		assert.NotContains(t, js, banned)
	}
	assert.Contains(t, js, "adoptedStyleSheets", "styles are a constructed stylesheet, not inline <style>")
}

// TestCache: statuses are reused per binding for the TTL, so viewers of one
// page cost Waldur one read; other bindings are read on their own.
func TestCache(t *testing.T) {
	w := newWorld(t)
	h := w.handler(t, widget.Config{CacheTTL: time.Hour})
	const list = "marketplace_provider_resources_list"
	first := get(h, "/status", w.keyA).Body.String()
	second := get(h, "/status", w.issue(t, apikeys.Binding{ProjectUUID: w.projectA}, widget.ScopeRead)).Body.String()
	assert.Equal(t, first, second)
	assert.Equal(t, 1, w.fake.CallCount(list), "a second key of the same binding is served from the cache")

	decodeStatus(t, get(h, "/status", w.keyB))
	assert.Equal(t, 2, w.fake.CallCount(list))
	assert.Equal(t, http.StatusUnauthorized, get(h, "/status", "").Code, "the cache never skips verification")
}

// TestWaldurUnavailable: a failing Waldur is a 502 with a stable code, and is
// not cached.
func TestWaldurUnavailable(t *testing.T) {
	w := newWorld(t)
	h := w.handler(t, widget.Config{CacheTTL: time.Hour})
	w.fake.FailNext("marketplace_component_usages_list", http.StatusServiceUnavailable, 1)
	rec := get(h, "/status", w.keyA)
	assert.Equal(t, http.StatusBadGateway, rec.Code)
	assert.Equal(t, widget.CodeWaldurUnavailable, errorCode(t, rec))
	decodeStatus(t, get(h, "/status", w.keyA))
}

func TestNewValidates(t *testing.T) {
	w := newWorld(t)
	client := w.fake.Client()
	for name, cfg := range map[string]widget.Config{
		"no keys":            {Client: client},
		"no client":          {Keys: w.keys},
		"write scope":        {Keys: w.keys, Client: client, Scope: "widget:write"},
		"origin with a path": {Keys: w.keys, Client: client, AllowedOrigins: []string{"https://portal.example/page"}},
		"origin wildcard":    {Keys: w.keys, Client: client, AllowedOrigins: []string{"*"}},
		"not http":           {Keys: w.keys, Client: client, AllowedOrigins: []string{"file:///tmp"}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := widget.New(cfg)
			require.Error(t, err)
			assert.True(t, strings.HasPrefix(err.Error(), "widget: "), err.Error())
		})
	}
}
