package widget_test

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"

	"github.com/gsv-platform/waldur-agent-go/apikeys"
	"github.com/gsv-platform/waldur-agent-go/widget"
)

// FuzzRequest sends the handler arbitrary paths, origins and Authorization
// headers: it never panics, and a status is served only for the project's
// key in the header, from no origin or the allowed one.
func FuzzRequest(f *testing.F) {
	w := newWorld(f)
	h := w.handler(f, widget.Config{CacheTTL: 1 << 40})
	f.Add("/status", portal, "Bearer "+w.keyA, "GET")
	f.Add("/status?key="+w.keyA, "", "", "GET")
	f.Add("/widget.js", "null", "", "OPTIONS")
	f.Add("//status", "https://portal.example:443", "Token "+w.keyA, "HEAD")
	f.Add("/status", "HTTPS://PORTAL.EXAMPLE", "Bearer  "+w.keyA, "GET")
	f.Add("/status", "", "bearer  "+w.keyA, "GET")
	f.Fuzz(func(t *testing.T, path, origin, auth, method string) {
		u, err := url.ParseRequestURI(path)
		if err != nil || !validMethod(method) {
			return
		}
		req := (&http.Request{Method: method, URL: u, Host: "agent.example", Header: http.Header{}}).WithContext(t.Context())
		if origin != "" {
			req.Header.Set("Origin", origin)
		}
		if auth != "" {
			req.Header.Set("Authorization", auth)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || req.URL.Path != "/status" {
			return
		}
		if origin != "" && origin != portal {
			t.Fatalf("origin %q was served", origin)
		}
		if req.URL.RawQuery != "" {
			t.Fatalf("a query was served: %q", req.URL.RawQuery)
		}
		if key, _ := apikeys.ExtractKey(auth); key != w.keyA {
			t.Fatalf("Authorization %q was served", auth)
		}
	})
}

func validMethod(m string) bool {
	switch m {
	case http.MethodGet, http.MethodHead, http.MethodPost, http.MethodOptions, http.MethodPut, http.MethodDelete:
		return true
	}
	return false
}
