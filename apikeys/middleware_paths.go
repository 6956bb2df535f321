package apikeys

import "net/http"

// MiddlewareExcept is Middleware for every request except those whose URL
// path is one of public, which reach the handler without a key. It puts a
// key in front of a handler whose routes one does not write, leaving a few
// open. The site agent's health handler is the case in point: orchestrators
// probe /healthz and /readyz without credentials, while /stats carries the
// agent's counters and its last error, which may name any customer's orders
// and resources, and is for operators:
//
//	health := apikeys.MiddlewareExcept(keys, apikeys.MiddlewareConfig{
//		Realm:  "agent",
//		Scopes: []string{mcp.ScopeAgentOperate},
//	}, "/healthz", "/readyz")(agent.HealthHandler())
//
// Paths match exactly, as the wrapped handler sees them (apply
// http.StripPrefix outside this middleware, and list the paths without the
// prefix). Every other path needs a key, including variants such as
// "/healthz/" and routes the handler gains later: what is not listed is
// protected.
func MiddlewareExcept(v Verifier, cfg MiddlewareConfig, public ...string) func(http.Handler) http.Handler {
	open := make(map[string]bool, len(public))
	for _, p := range public {
		open[p] = true
	}
	withKey := Middleware(v, cfg)
	return func(next http.Handler) http.Handler {
		protected := withKey(next)
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if open[r.URL.Path] {
				next.ServeHTTP(w, r)
				return
			}
			protected.ServeHTTP(w, r)
		})
	}
}
