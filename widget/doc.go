// Package widget serves an embeddable status widget for a vendor's customers:
// a web component, <waldur-agent-widget>, that shows a project's resources,
// their API keys (ids and states, never values), this month's usage per
// component against its limits with a small chart, and the site agent's
// health.
//
// The site agent serves it from an http.Handler; the customer's page needs no
// build step and no framework, only the module and the element:
//
//	h, err := widget.New(widget.Config{
//		Keys:           keys,                // *apikeys.Manager
//		Client:         agent.Client(),
//		Agent:          agent,               // optional: health
//		AllowedOrigins: []string{"https://portal.example.com"},
//	})
//	if err != nil { ... }
//	mux.Handle("/widget/", http.StripPrefix("/widget", h))
//
// and on the page at https://portal.example.com:
//
//	<script type="module" src="https://agent.example.com/widget/widget.js"></script>
//	<waldur-agent-widget api-key="wak_..."></waldur-agent-widget>
//
// # The element
//
// <waldur-agent-widget> takes the key in the api-key attribute or the apiKey
// property (which keeps it out of the DOM), the status URL in api (default:
// "status" next to the module), and refresh, the seconds between reloads
// (default 60, 0 for never). It fires "waldur-widget-load" with the status and
// "waldur-widget-error" with {status, code} on failure, and shows a message
// for a refused key, an unreachable agent or a disallowed page.
//
// # Keys
//
// The widget authenticates with an apikeys key that is bound to the project
// (Binding.ProjectUUID; a customer, offering or resource in the binding narrows
// it further) and grants ScopeRead. Since a key on a web page is readable by
// anyone who can load the page, the handler refuses keys granting any scope
// that does not end in ":read" (wildcards included). Issue one per project:
//
//	keys.Issue(ctx, apikeys.IssueOptions{
//		Name:    "status widget",
//		Binding: apikeys.Binding{ProjectUUID: project},
//		Scopes:  []string{widget.ScopeRead},
//		TTL:     365 * 24 * time.Hour,
//	})
//
// The module sends the key in the Authorization header only; the JSON API
// takes no query parameters at all, so a key never lands in a URL, an access
// log or a Referer. A key sees only resources inside its binding, and a
// project it is not bound to is answered as if it had no resources. All
// viewers of a page share its key, so give it a rate limit sized for them
// (or none).
//
// # Browser security
//
// Cross-origin requests are allowed only from AllowedOrigins (CORS,
// including the preflight the Authorization header triggers); requests from
// any other Origin are refused. The module uses no inline script and no
// inline style (its styles are a constructed stylesheet, the chart is SVG
// built with DOM calls), so it works under a strict Content-Security-Policy
// such as
//
//	script-src 'self' https://agent.example.com; connect-src https://agent.example.com; style-src 'self'
//
// The JSON API answers with "Content-Security-Policy: default-src 'none'",
// nosniff and no-store.
//
// # Looks
//
// The component's shadow DOM is styled through CSS custom properties set on
// the element or an ancestor: --waldur-widget-font, --waldur-widget-font-size,
// --waldur-widget-color, --waldur-widget-background, --waldur-widget-border,
// --waldur-widget-radius, --waldur-widget-padding, --waldur-widget-accent
// (bars), --waldur-widget-track, --waldur-widget-ok, --waldur-widget-warn,
// --waldur-widget-error, --waldur-widget-muted and --waldur-widget-mono. Parts
// (widget, header, resource, chart, keys, error) can be styled with ::part().
//
// # Cost
//
// One status costs Waldur one resource listing plus, per resource, a usage
// listing and an API key listing. Statuses are cached per binding for
// Config.CacheTTL and concurrent misses share one read, so many viewers of
// one project's page cost Waldur what one does.
package widget
