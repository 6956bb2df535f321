package rabbitadmin

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
)

// ErrNotFound matches (errors.Is) an *APIError with status 404.
var ErrNotFound = errors.New("rabbitadmin: not found")

// APIError is a non-2xx answer of the management API.
type APIError struct {
	// Method and Path name the request (the path without the host).
	Method, Path string
	// Status is the HTTP status code.
	Status int
	// Body is the start of the response body (RabbitMQ sends
	// {"error": ..., "reason": ...}).
	Body string
}

func (e *APIError) Error() string {
	return fmt.Sprintf("rabbitadmin: %s %s: %d %s: %s", e.Method, e.Path, e.Status, http.StatusText(e.Status), e.Body)
}

// Is makes errors.Is(err, ErrNotFound) hold for 404 answers.
func (e *APIError) Is(target error) bool {
	return target == ErrNotFound && e.Status == http.StatusNotFound
}

// Client talks to the RabbitMQ management HTTP API. It is safe for concurrent
// use.
type Client struct {
	base       string // scheme://host[:port][/prefix], no trailing slash
	user, pass string
	hc         *http.Client
}

// Option configures a Client.
type Option func(*Client)

// WithHTTPClient sets the HTTP client (default http.DefaultClient).
func WithHTTPClient(hc *http.Client) Option { return func(c *Client) { c.hc = hc } }

// WithBasicAuth sets the management user, overriding credentials in the URL.
func WithBasicAuth(user, password string) Option {
	return func(c *Client) { c.user, c.pass = user, password }
}

// New returns a Client for the management API at rawURL, for example
// http://guest:guest@127.0.0.1:15672. Credentials in the URL are used for
// basic authentication unless WithBasicAuth is given; a path (for a
// management UI served under a prefix) is kept.
func New(rawURL string, opts ...Option) (*Client, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("rabbitadmin: parse URL: %w", err)
	}
	if u.Scheme != "http" && u.Scheme != "https" || u.Host == "" {
		return nil, fmt.Errorf("rabbitadmin: URL %s: want http(s)://host:port", u.Redacted())
	}
	c := &Client{hc: http.DefaultClient}
	if u.User != nil {
		c.user = u.User.Username()
		c.pass, _ = u.User.Password()
		u.User = nil
	}
	c.base = strings.TrimSuffix(u.String(), "/")
	for _, o := range opts {
		o(c)
	}
	return c, nil
}

// path builds /api/<segments...> with each segment escaped, so that names
// such as the default vhost "/" survive (as %2F).
func path(segments ...string) string {
	var b strings.Builder
	b.WriteString("/api")
	for _, s := range segments {
		b.WriteByte('/')
		b.WriteString(url.PathEscape(s))
	}
	return b.String()
}

// do sends a request with in as JSON body (if not nil) and decodes the answer
// into out (if not nil).
func (c *Client) do(ctx context.Context, method, p string, header http.Header, in, out any) error {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return fmt.Errorf("rabbitadmin: %s %s: encode: %w", method, p, err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, c.base+p, body)
	if err != nil {
		return fmt.Errorf("rabbitadmin: %s %s: %w", method, p, err)
	}
	for k, v := range header {
		req.Header[k] = v
	}
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if out != nil {
		// Only then: RabbitMQ answers 406 to some body-less requests that
		// insist on JSON.
		req.Header.Set("Accept", "application/json")
	}
	if c.user != "" {
		req.SetBasicAuth(c.user, c.pass)
	}
	resp, err := c.hc.Do(req)
	if err != nil {
		return fmt.Errorf("rabbitadmin: %s %s: %w", method, p, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		b, _ := io.ReadAll(io.LimitReader(resp.Body, 2048))
		return &APIError{Method: method, Path: p, Status: resp.StatusCode, Body: strings.TrimSpace(string(b))}
	}
	if out == nil {
		_, _ = io.Copy(io.Discard, resp.Body)
		return nil
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return fmt.Errorf("rabbitadmin: %s %s: decode: %w", method, p, err)
	}
	return nil
}

// IsServerError reports whether err is a 5xx answer of the management API.
func IsServerError(err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.Status >= 500
}

// ignoreNotFound turns a 404 into success, for deletions.
func ignoreNotFound(err error) error {
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	return err
}

// CreateVHost creates a virtual host; an existing one is left as is.
// RabbitMQ: PUT /api/vhosts/{name}.
func (c *Client) CreateVHost(ctx context.Context, name string) error {
	return c.do(ctx, http.MethodPut, path("vhosts", name), nil, nil, nil)
}

// DeleteVHost deletes a virtual host with its queues, closing its
// connections. A missing vhost is not an error.
// RabbitMQ: DELETE /api/vhosts/{name}.
func (c *Client) DeleteVHost(ctx context.Context, name string) error {
	return ignoreNotFound(c.do(ctx, http.MethodDelete, path("vhosts", name), nil, nil, nil))
}

// PutUser creates a user or changes its password; the user gets no tags
// (no management access). Open connections keep working until they
// reconnect. RabbitMQ: PUT /api/users/{name}.
func (c *Client) PutUser(ctx context.Context, name, password string) error {
	in := map[string]string{"password": password, "tags": ""}
	return c.do(ctx, http.MethodPut, path("users", name), nil, in, nil)
}

// DeleteUser deletes a user. A missing user is not an error.
// RabbitMQ: DELETE /api/users/{name}.
func (c *Client) DeleteUser(ctx context.Context, name string) error {
	return ignoreNotFound(c.do(ctx, http.MethodDelete, path("users", name), nil, nil, nil))
}

// Permissions are regular expressions over resource names.
type Permissions struct {
	Configure string `json:"configure"`
	Write     string `json:"write"`
	Read      string `json:"read"`
}

// AllPermissions is what Waldur grants a consumer's user on its vhost.
var AllPermissions = Permissions{Configure: ".*", Write: ".*", Read: ".*"}

// SetPermissions sets user's permissions on vhost.
// RabbitMQ: PUT /api/permissions/{vhost}/{user}.
func (c *Client) SetPermissions(ctx context.Context, vhost, user string, p Permissions) error {
	return c.do(ctx, http.MethodPut, path("permissions", vhost, user), nil, p, nil)
}

// Connection is one client connection as the management API lists it.
type Connection struct {
	// Name identifies the connection for CloseConnection, for example
	// "127.0.0.1:50234 -> 127.0.0.1:5672".
	Name     string `json:"name"`
	User     string `json:"user"`
	VHost    string `json:"vhost"`
	Protocol string `json:"protocol"` // e.g. "AMQP 0-9-1", "STOMP 1.2", "Web STOMP 1.2"
	PeerHost string `json:"peer_host"`
	PeerPort int    `json:"peer_port"`
}

// ConnectionFilter selects connections; empty fields match all.
type ConnectionFilter struct {
	VHost string
	User  string
}

// Connections lists client connections. The list comes from the management
// database, which learns of a new connection shortly after it opens.
// RabbitMQ: GET /api/connections or /api/vhosts/{vhost}/connections.
func (c *Client) Connections(ctx context.Context, f ConnectionFilter) ([]Connection, error) {
	p := path("connections")
	if f.VHost != "" {
		p = path("vhosts", f.VHost, "connections")
	}
	var all []Connection
	if err := c.do(ctx, http.MethodGet, p+"?columns=name,user,vhost,protocol,peer_host,peer_port", nil, nil, &all); err != nil {
		return nil, err
	}
	if f.User == "" {
		return all, nil
	}
	out := all[:0]
	for _, conn := range all {
		if conn.User == f.User {
			out = append(out, conn)
		}
	}
	return out, nil
}

// CloseConnection force-closes a client connection; reason is sent to the
// client. A connection that is already gone is not an error.
// RabbitMQ: DELETE /api/connections/{name} with header X-Reason.
func (c *Client) CloseConnection(ctx context.Context, name, reason string) error {
	h := http.Header{}
	if reason != "" {
		h.Set("X-Reason", reason)
	}
	return ignoreNotFound(c.do(ctx, http.MethodDelete, path("connections", name), h, nil, nil))
}

// CloseUserConnections force-closes every connection of user, STOMP and
// Web-STOMP ones included. Unlike the Connections list, which the management
// database learns of only after a few seconds, this acts at once on
// RabbitMQ's connection tracking — which itself registers a new connection
// asynchronously, so one opened a moment ago may survive. RabbitMQ 3.10 at
// times answers 500 when a connection ends while it closes them; IsServerError
// tells, and calling again is safe.
// RabbitMQ: DELETE /api/connections/username/{user}.
func (c *Client) CloseUserConnections(ctx context.Context, user, reason string) error {
	h := http.Header{}
	if reason != "" {
		h.Set("X-Reason", reason)
	}
	return ignoreNotFound(c.do(ctx, http.MethodDelete, path("connections", "username", user), h, nil, nil))
}
