package waldur

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur/waldurapi"
)

// Client talks to one Waldur server. It is safe for concurrent use. Create it
// with [NewClient]; the services (Orders, Resources, ...) group the calls by
// the Waldur object they act on.
type Client struct {
	base      *url.URL // scheme://host[/prefix]/, without "api/"
	server    string   // base as a string, for the generated request builders
	transport *transport
	log       *slog.Logger
	pageSize  int
	kind      TokenKind
	now       func() time.Time
	raw       *waldurapi.ClientWithResponses

	// Users reads the authenticated user.
	Users *UsersService
	// Offerings reads the provider's offerings.
	Offerings *OfferingsService
	// Orders reads orders and moves them through their states.
	Orders *OrdersService
	// Resources reads resources and reports the backend's view of them.
	Resources *ResourcesService
	// Agents registers the agent: identity, services, processors, queues, logs.
	Agents *AgentsService
	// Usages reports and reads component usage.
	Usages *UsagesService
	// OfferingUsers manages offering users and their usernames.
	OfferingUsers *OfferingUsersService
	// APIKeys reports the lifecycle of resources' API keys.
	APIKeys *APIKeysService
}

// NewClient returns a client for the Waldur server at baseURL, e.g.
// "https://waldur.example.com". A trailing "/api/" is accepted and removed;
// a path prefix in front of it ("https://example.com/waldur/api/") is kept.
// The URL must be absolute http or https without credentials, query or
// fragment; authenticate with [WithCredential] (or [WithToken], [WithBearerToken]).
func NewClient(baseURL string, opts ...Option) (*Client, error) {
	base, err := parseBaseURL(baseURL)
	if err != nil {
		return nil, err
	}
	s := settings{}
	for _, o := range opts {
		if o != nil {
			o(&s)
		}
	}
	if s.badKind != 0 {
		return nil, fmt.Errorf("waldur: unknown token kind %v", s.badKind)
	}
	if err := validateHeaderValue(s.authorization); err != nil {
		return nil, fmt.Errorf("waldur: token %w", err)
	}
	switch {
	case s.userAgent == "":
		s.userAgent = DefaultUserAgent
	case !strings.Contains(s.userAgent, "waldur-site-agent"):
		s.userAgent += " " + DefaultUserAgent
	}
	if err := validateHeaderValue(s.userAgent); err != nil {
		return nil, fmt.Errorf("waldur: user agent %w", err)
	}
	log := s.logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	s.retry = s.retry.withDefaults()
	if s.maxResponse < 1 {
		s.maxResponse = DefaultMaxResponseBytes
	}
	switch {
	case s.pageSize < 1:
		s.pageSize = DefaultPageSize
	case s.pageSize > MaxPageSize:
		s.pageSize = MaxPageSize
	}
	c := &Client{
		base:      base,
		server:    base.String(),
		transport: newTransport(&s, log),
		log:       log,
		pageSize:  s.pageSize,
		kind:      s.kind,
		now:       time.Now,
	}
	if s.now != nil {
		c.now = s.now
	}
	c.raw, err = waldurapi.NewClientWithResponses(c.server, waldurapi.WithHTTPClient(c.transport))
	if err != nil {
		return nil, opError("create low-level client", err)
	}
	c.Users = &UsersService{c}
	c.Offerings = &OfferingsService{c}
	c.Orders = &OrdersService{c}
	c.Resources = &ResourcesService{c}
	c.Agents = &AgentsService{c}
	c.Usages = &UsagesService{c}
	c.OfferingUsers = &OfferingUsersService{c}
	c.APIKeys = &APIKeysService{c}
	return c, nil
}

// parseBaseURL validates and normalises a server URL to scheme://host[/prefix]/.
func parseBaseURL(raw string) (*url.URL, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return nil, errors.New("waldur: base URL is empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// url.Error repeats the input, which may hold a password.
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err
		}
		return nil, fmt.Errorf("waldur: invalid base URL: %w", err)
	}
	switch {
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, fmt.Errorf("waldur: base URL must be an absolute http or https URL, like https://waldur.example.com (scheme %q)", u.Scheme)
	case u.Host == "" || u.Opaque != "":
		return nil, errors.New("waldur: base URL has no host; want an absolute URL like https://waldur.example.com")
	case u.User != nil:
		return nil, errors.New("waldur: base URL must not contain credentials; use WithToken or WithBearerToken")
	case u.RawQuery != "" || u.ForceQuery:
		return nil, errors.New("waldur: base URL must not have a query")
	case u.Fragment != "":
		return nil, errors.New("waldur: base URL must not have a fragment")
	}
	p := strings.TrimRight(u.Path, "/")
	p = strings.TrimSuffix(p, "/api")
	u.Path = p + "/"
	u.RawPath = ""
	return u, nil
}

// validateHeaderValue rejects values net/http would refuse later with a less
// helpful error. It never echoes the value.
func validateHeaderValue(v string) error {
	for i := 0; i < len(v); i++ {
		if b := v[i]; b < 0x20 && b != '\t' || b == 0x7f {
			return errors.New("contains control characters")
		}
	}
	return nil
}

// BaseURL returns the normalised server URL, e.g. "https://waldur.example.com/".
func (c *Client) BaseURL() string { return c.server }

// Raw returns the generated low-level client for operations this package
// does not wrap. It shares the base URL, authentication, User-Agent and retry
// policy of c; its errors are the generated package's (no [APIError]).
func (c *Client) Raw() *waldurapi.ClientWithResponses { return c.raw }

// Do sends req through the client's authentication and retry policy and
// returns the response whatever its status; the caller closes the body. It
// lets code call endpoints the client does not wrap with plain net/http
// requests. See also [Client.Raw].
func (c *Client) Do(req *http.Request) (*http.Response, error) {
	return c.transport.Do(req)
}

// response is a completed 2xx exchange.
type response struct {
	status int
	header http.Header
	body   []byte
}

// send executes a request made by a generated builder (buildErr is the
// builder's error) with ctx, and returns the 2xx response with its body read,
// or an *APIError, or a transport error.
func (c *Client) send(ctx context.Context, req *http.Request, buildErr error) (*response, error) {
	if buildErr != nil {
		return nil, fmt.Errorf("waldur: build request: %w", buildErr)
	}
	req = req.WithContext(ctx)
	resp, err := c.transport.Do(req)
	if err != nil {
		return nil, wrapTransportError(req.Method, req.URL, err)
	}
	if resp == nil {
		return nil, wrapTransportError(req.Method, req.URL, errNoResponse)
	}
	defer resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		body, _ := io.ReadAll(io.LimitReader(resp.Body, maxErrorBody))
		return nil, newAPIError(req.Method, req.URL, resp, body, c.now())
	}
	body, err := readBody(resp)
	if err != nil {
		return nil, wrapTransportError(req.Method, req.URL, fmt.Errorf("read response: %w", err))
	}
	return &response{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// readBody reads a success body. The transport bounds it (see
// WithMaxResponseBytes); the buffer grows with what arrives, never sized
// from a Content-Length the server may have made up.
func readBody(resp *http.Response) ([]byte, error) {
	if resp.Request != nil && resp.Request.Method == http.MethodHead {
		return nil, nil
	}
	return io.ReadAll(resp.Body)
}

// call sends the request and decodes a JSON body into out when out is not nil.
// It returns the status code (200, 201, ...) for get-or-create endpoints.
func (c *Client) call(ctx context.Context, req *http.Request, buildErr error, out any) (int, error) {
	r, err := c.send(ctx, req, buildErr)
	if err != nil {
		return 0, err
	}
	if out != nil {
		if err := c.decode(ctx, req, r.body, out); err != nil {
			return r.status, err
		}
	}
	return r.status, nil
}

// action sends a state action or setter whose response body is not needed.
func (c *Client) action(ctx context.Context, req *http.Request, buildErr error) error {
	_, err := c.call(ctx, req, buildErr, nil)
	return err
}

// decode unmarshals a response body leniently: unknown fields are ignored
// (newer servers add fields), and a field whose value does not fit its Go type
// (a number where the schema says string, an unparsable UUID or date) is left
// zero and logged rather than failing the whole response, because Waldur's
// schema and its responses do not always agree. Malformed JSON, or a body of
// the wrong shape altogether (an object where a list is expected), is an error.
func (c *Client) decode(ctx context.Context, req *http.Request, body []byte, out any) error {
	if len(bytes.TrimSpace(body)) == 0 {
		return nil
	}
	err := json.Unmarshal(body, out)
	if err == nil {
		return nil
	}
	var (
		syntaxErr *json.SyntaxError
		typeErr   *json.UnmarshalTypeError
	)
	if !errors.As(err, &syntaxErr) && !(errors.As(err, &typeErr) && typeErr.Field == "") {
		// encoding/json completes the rest of the value after such an error.
		c.log.LogAttrs(ctx, slog.LevelWarn, "waldur: ignored a response field that does not fit its type",
			slog.String("method", req.Method), slog.String("path", req.URL.EscapedPath()),
			slog.String("error", err.Error()))
		return nil
	}
	return fmt.Errorf("waldur: %s %s: decode response: %w", req.Method, req.URL.EscapedPath(), err)
}

// opError prefixes err with what the client was doing, for errors raised
// before a request exists.
func opError(op string, err error) error {
	return fmt.Errorf("waldur: %s: %w", op, err)
}
