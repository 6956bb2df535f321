package siteagent

import (
	"encoding/json"
	"net/http"
	"time"
)

// HealthHandler serves the agent's health for orchestrators and monitoring:
//
//	GET /healthz  200 while Run's loop is ticking (liveness), 503 otherwise
//	GET /readyz   200 when Waldur answered the last check, the agent is
//	              registered and the event source is connected (or polling);
//	              503 with the failing checks otherwise
//	GET /stats    the Stats snapshot as JSON
//
// Mount it at the root of a mux or under a prefix with http.StripPrefix.
func (a *Agent) HealthHandler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", a.serveLive)
	mux.HandleFunc("GET /readyz", a.serveReady)
	mux.HandleFunc("GET /stats", func(w http.ResponseWriter, _ *http.Request) {
		writeJSON(w, http.StatusOK, a.Stats())
	})
	return mux
}

// Health is the body of /healthz and /readyz.
type Health struct {
	Status string          `json:"status"` // "ok" or "unavailable"
	Checks map[string]bool `json:"checks"`
}

// livenessWindow is how long the loop may go without a tick before /healthz
// fails: three missed ticks.
const livenessWindow = 3 * livenessTick

// Live reports whether Run's loop is running and ticking.
func (a *Agent) Live() bool {
	last := a.lastTick.Load()
	return a.running.Load() && !a.stopping.Load() && last != 0 && time.Since(time.Unix(0, last)) < livenessWindow
}

// Ready reports whether the agent can do its work now; see HealthHandler.
func (a *Agent) Ready() bool {
	h := a.readiness()
	return h.Status == "ok"
}

func (a *Agent) readiness() Health {
	src := a.source.Load()
	checks := map[string]bool{
		"running":    a.Live(),
		"waldur":     a.waldurOK.Load(),
		"registered": a.registered.Load(),
		"events":     src != nil && src.connected(),
	}
	status := "ok"
	for _, ok := range checks {
		if !ok {
			status = "unavailable"
		}
	}
	return Health{Status: status, Checks: checks}
}

func (a *Agent) serveLive(w http.ResponseWriter, _ *http.Request) {
	h := Health{Status: "ok", Checks: map[string]bool{"running": a.Live()}}
	code := http.StatusOK
	if !h.Checks["running"] {
		h.Status, code = "unavailable", http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

func (a *Agent) serveReady(w http.ResponseWriter, _ *http.Request) {
	h := a.readiness()
	code := http.StatusOK
	if h.Status != "ok" {
		code = http.StatusServiceUnavailable
	}
	writeJSON(w, code, h)
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_ = json.NewEncoder(w).Encode(v)
}
