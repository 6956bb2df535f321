package main

import (
	"embed"
	"html/template"
	"net/http"
	"net/url"
	"sync"
)

// The consumer's portal stands in for the vendor's customer web site: each
// page embeds the agent's status widget with a project's read-only widget
// key, under a Content-Security-Policy that allows no inline script or style
// and talks to nothing but the agent.

//go:embed portal
var portalFiles embed.FS

var portalPage = template.Must(template.ParseFS(portalFiles, "portal/index.html"))

type portal struct {
	agent string // the agent's origin, "http://host:port"
	csp   string
	mu    sync.Mutex
	pages map[string]string // path → widget key
}

func newPortal(agentURL string) (*portal, error) {
	u, err := url.Parse(agentURL)
	if err != nil {
		return nil, err
	}
	origin := u.Scheme + "://" + u.Host
	return &portal{
		agent: origin,
		csp: "default-src 'none'; script-src 'self' " + origin + "; connect-src " + origin +
			"; style-src 'self'; img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
		pages: map[string]string{},
	}, nil
}

// page serves at path a page embedding the widget with key.
func (p *portal) page(path, key string) {
	p.mu.Lock()
	p.pages[path] = key
	p.mu.Unlock()
}

func (p *portal) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Security-Policy", p.csp)
	w.Header().Set("X-Content-Type-Options", "nosniff")
	switch r.URL.Path {
	case "/portal.css", "/portal.js":
		http.ServeFileFS(w, r, portalFiles, "portal"+r.URL.Path)
		return
	}
	p.mu.Lock()
	key, ok := p.pages[r.URL.Path]
	p.mu.Unlock()
	if !ok {
		http.NotFound(w, r)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.Header().Set("Cache-Control", "no-store") // the page carries a key
	_ = portalPage.Execute(w, struct{ Agent, Key string }{p.agent, key})
}
