package waldurtest_test

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurtest"
)

// FuzzRequests sends arbitrary bodies and queries to the operations that
// decode them. Whatever the input, the fake must answer (no panic) and never
// with a 5xx: a malformed request is the client's fault, 400.
func FuzzRequests(f *testing.F) {
	s := waldurtest.New()
	f.Cleanup(s.Close)
	off := s.AddOffering(waldurtest.OfferingSpec{Components: []waldurtest.ComponentSpec{{Type: "cpu"}}})
	order := s.AddOrder(waldurtest.OrderSpec{Offering: off})
	o, _ := s.Order(order)
	res := o.MarketplaceResourceUUID
	ou := s.AddOfferingUser(waldurtest.OfferingUserSpec{Offering: off})
	cu := s.AddComponentUsage(waldurtest.UsageSpec{Resource: res, Type: "cpu", Amount: "1"})
	key := s.AddAPIKey(waldurtest.APIKeySpec{Resource: res, State: "Updating"})
	identity := strings.ReplaceAll(s.AddResource(waldurtest.ResourceSpec{Offering: off}).String(), "-", "")

	targets := []struct{ method, path string }{
		{"POST", "/api/marketplace-orders/" + hex(order) + "/approve_by_provider/"},
		{"POST", "/api/marketplace-orders/" + hex(order) + "/set_state_erred/"},
		{"POST", "/api/marketplace-orders/" + hex(order) + "/set_backend_id/"},
		{"GET", "/api/marketplace-orders/"},
		{"POST", "/api/marketplace-provider-resources/" + hex(res) + "/set_limits/"},
		{"POST", "/api/marketplace-provider-resources/" + hex(res) + "/set_endpoints/"},
		{"POST", "/api/marketplace-provider-resources/" + hex(res) + "/set_backend_metadata/"},
		{"GET", "/api/marketplace-provider-resources/"},
		{"POST", "/api/marketplace-site-agent-identities/"},
		{"POST", "/api/marketplace-site-agent-logs/"},
		{"POST", "/api/marketplace-site-agent-identities/" + identity + "/register_queue/"},
		{"POST", "/api/marketplace-component-usages/set_usage/"},
		{"POST", "/api/marketplace-component-usages/" + hex(cu) + "/set_user_usages/"},
		{"GET", "/api/marketplace-component-usages/"},
		{"PATCH", "/api/marketplace-offering-users/" + hex(ou) + "/"},
		{"POST", "/api/marketplace-offering-users/" + hex(ou) + "/set_pending_account_linking/"},
		{"POST", "/api/marketplace-resource-api-keys/report_created/"},
		{"POST", "/api/marketplace-resource-api-keys/" + hex(key) + "/set_key/"},
	}
	f.Add(uint8(0), "", []byte(`{"attributes":{"a":1}}`))
	f.Add(uint8(3), "state=executing&page=2&page_size=1&field=uuid", []byte(nil))
	f.Add(uint8(4), "", []byte(`{"limits":{"cpu":10}}`))
	f.Add(uint8(8), "", []byte(`{"offering":"`+hex(off)+`","name":"a","dependencies":[{"package":"x","version":"1"}]}`))
	f.Add(uint8(9), "", []byte(`[{"agent_identity_uuid":"x","timestamp":1,"level":"INFO","message":"m"}]`))
	f.Add(uint8(11), "", []byte(`{"resource":"`+hex(res)+`","usages":[{"type":"cpu","amount":"1.25"}]}`))
	f.Add(uint8(12), "", []byte(`{"usages":[{"username":"u","usage":1.5}]}`))
	f.Add(uint8(13), "billing_period=2026-08-01&billing_period_year=x", []byte(nil))
	f.Add(uint8(16), "", []byte(`{"resource":"`+hex(res)+`","client_id":"c","api_key":"k"}`))
	f.Fuzz(func(t *testing.T, target uint8, query string, body []byte) {
		tg := targets[int(target)%len(targets)]
		req := httptest.NewRequest(tg.method, "http://fake"+tg.path, bytes.NewReader(body))
		req.URL.RawQuery = query
		req.Header.Set("Authorization", "Token "+s.Token())
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("%s %s?%s %q: %d %s", tg.method, tg.path, query, body, rec.Code, rec.Body)
		}
		if rec.Code != http.StatusOK && rec.Code != http.StatusCreated && rec.Code != http.StatusNoContent &&
			rec.Header().Get("Content-Type") != "application/json" {
			t.Fatalf("error without a JSON body: %d %s", rec.Code, rec.Body)
		}
	})
}
