package waldurtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/uuid"
)

// maxBody bounds request bodies; Waldur's own limit is larger, but nothing an
// agent sends comes close.
const maxBody = 16 << 20

// Server is an in-memory fake Waldur API server. Create it with New or
// NewServer; all methods are safe for concurrent use.
type Server struct {
	hs     *httptest.Server
	mux    *http.ServeMux
	routes map[string]*route // by ServeMux pattern
	log    *slog.Logger
	now    func() time.Time
	loc    *time.Location // Waldur's TIME_ZONE, for billing periods
	sink   EventSink
	prov   QueueProvisioner

	invalidStatus int
	disabled      map[string]bool
	callLimit     int

	mu        sync.Mutex
	st        *state
	provider  *user
	calls     []*Call
	callCount map[string]int
	faults    Faults
	faultN    map[string]uint64
	failNext  map[string][]int
	events    []Event
	// periodicResults are the report-command-result calls.
	periodicResults []PeriodicResult
	eventSeq        uint64
}

// Option configures a Server.
type Option func(*config)

type config struct {
	token         string
	username      string
	now           func() time.Time
	log           *slog.Logger
	sink          EventSink
	prov          QueueProvisioner
	invalidStatus int
	disabled      []string
	faults        Faults
	callLimit     int
	loc           *time.Location
}

// WithToken sets the DRF token of the default provider user (40 hex digits in
// Waldur; any non-empty string is accepted). By default a random one is made.
func WithToken(token string) Option { return func(c *config) { c.token = token } }

// WithUsername sets the username of the default provider user ("provider").
func WithUsername(name string) Option { return func(c *config) { c.username = name } }

// WithClock sets the clock used for created/modified timestamps, last_run,
// last_sync and default billing periods. The default is time.Now.
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithTimeZone sets the server's time zone (Waldur's TIME_ZONE setting). Waldur
// files usage under the billing month of the usage date in its own zone
// (month_start(localtime(date))), so an instant just after midnight UTC on the
// 1st is still in the previous month for a server west of UTC. The default
// is UTC.
func WithTimeZone(loc *time.Location) Option { return func(c *config) { c.loc = loc } }

// WithLogger sets the logger for server-side problems, such as a failing event
// sink. The default discards.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.log = l } }

// WithEventSink sets where the server hands the events Waldur would publish to
// RabbitMQ. Events are also kept for Server.Events.
func WithEventSink(sink EventSink) Option { return func(c *config) { c.sink = sink } }

// WithQueueProvisioner sets what register_queue and create_queue call to create
// the broker side of a queue.
func WithQueueProvisioner(p QueueProvisioner) Option { return func(c *config) { c.prov = p } }

// WithInvalidStateStatus chooses how an action called in a wrong state is
// answered: http.StatusConflict (the default, Waldur's StateValidator) with
// {"detail": "Valid states for operation: …."}, or http.StatusBadRequest with
// an array body ["…"], as some of Waldur's FSM errors do. Other codes panic.
func WithInvalidStateStatus(code int) Option {
	if code != http.StatusConflict && code != http.StatusBadRequest {
		panic("waldurtest: WithInvalidStateStatus accepts 400 or 409")
	}
	return func(c *config) { c.invalidStatus = code }
}

// WithoutOperations makes the given operations answer 404 as if the server did
// not know them, like an older Waldur. Operation IDs are those of the OpenAPI
// description, for example "marketplace_site_agent_identities_register_queue".
func WithoutOperations(operationIDs ...string) Option {
	return func(c *config) { c.disabled = append(c.disabled, operationIDs...) }
}

// WithLegacyWaldur makes the server behave like Waldur 8.0.5: the operations
// added in 8.1 (register_queue, site-agent logs, resource API keys,
// set_endpoints, set_effective_id) answer 404, so fallbacks to the legacy
// paths can be tested.
func WithLegacyWaldur() Option {
	return func(c *config) { c.disabled = append(c.disabled, operationsSince81()...) }
}

// WithCallLogLimit keeps only about the last n calls in the call log, for
// long benchmarks; CallCount still counts every call. Zero (the default) keeps
// all.
func WithCallLogLimit(n int) Option { return func(c *config) { c.callLimit = max(n, 0) } }

// WithFaults starts the server with fault injection configured; see SetFaults.
func WithFaults(f Faults) Option { return func(c *config) { c.faults = f } }

// New starts a fake Waldur on a random port of 127.0.0.1. It has a default
// provider user whose token Token returns. Call Close when done.
func New(opts ...Option) *Server {
	cfg := config{username: "provider", now: time.Now, invalidStatus: http.StatusConflict}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.token == "" {
		cfg.token = randomHex(20)
	}
	if cfg.log == nil {
		cfg.log = slog.New(slog.DiscardHandler)
	}
	if cfg.now == nil {
		cfg.now = time.Now
	}
	if cfg.loc == nil {
		cfg.loc = time.UTC
	}
	s := &Server{
		log:           cfg.log,
		now:           cfg.now,
		loc:           cfg.loc,
		sink:          cfg.sink,
		prov:          cfg.prov,
		invalidStatus: cfg.invalidStatus,
		disabled:      map[string]bool{},
		st:            newState(),
		callCount:     map[string]int{},
		faultN:        map[string]uint64{},
		faults:        cfg.faults,
		callLimit:     cfg.callLimit,
	}
	for _, id := range cfg.disabled {
		s.disabled[id] = true
	}
	s.provider = s.addUserLocked(UserSpec{
		Username: cfg.username, FullName: "Service Provider", Email: cfg.username + "@example.org",
		Token: cfg.token, IsStaff: true,
	})
	s.buildRoutes()
	s.hs = httptest.NewServer(s)
	return s
}

// NewServer is New for tests: the server is closed by tb.Cleanup.
func NewServer(tb testing.TB, opts ...Option) *Server {
	tb.Helper()
	s := New(opts...)
	tb.Cleanup(s.Close)
	return s
}

// Close shuts the server down and waits for outstanding requests.
func (s *Server) Close() {
	s.hs.CloseClientConnections()
	s.hs.Close()
}

// URL returns the base URL of the server, such as http://127.0.0.1:38211,
// without a trailing slash; API paths start with /api/.
func (s *Server) URL() string { return s.hs.URL }

// Token returns the DRF token of the default provider user, sent as
// "Authorization: Token <token>".
func (s *Server) Token() string { return s.provider.Token }

// PAT returns a personal access token (w_…) of the default provider user,
// sent as "Authorization: Bearer <pat>".
func (s *Server) PAT() string { return s.provider.PAT }

// OIDCToken returns an OIDC access token of the default provider user, sent
// as "Authorization: Bearer <token>".
func (s *Server) OIDCToken() string { return s.provider.OIDC }

// ProviderUser returns the UUID of the default provider user.
func (s *Server) ProviderUser() uuid.UUID { return s.provider.UUID }

// HTTPClient returns an http.Client that talks to the server and closes its
// idle connections when the server closes.
func (s *Server) HTTPClient() *http.Client { return s.hs.Client() }

// reqCtx carries one request through a handler. Handlers run with s.mu held.
type reqCtx struct {
	s      *Server
	r      *http.Request
	body   []byte
	user   *user
	cred   string
	kind   credKind // of cred, once authenticated
	op     string
	now    time.Time
	events []Event
	// provision and removed are queues to hand to the QueueProvisioner once
	// the lock is released.
	provision []Queue
	removed   []Queue
}

func (c *reqCtx) query() url.Values { return c.r.URL.Query() }

// reply is what a handler produces; it is written after the lock is released.
type reply struct {
	status int
	body   []byte
	header http.Header
}

type handlerFunc func(c *reqCtx) reply

type route struct {
	method  string
	path    string
	op      string
	handler handlerFunc
}

// statusWriter puts the status code in the call log before the client can
// see the response.
type statusWriter struct {
	http.ResponseWriter
	s        *Server
	rec      *Call
	status   int
	injected bool
}

func (w *statusWriter) WriteHeader(code int) {
	if w.status == 0 {
		w.status = code
		w.s.setStatus(w.rec, code, w.injected)
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.WriteHeader(http.StatusOK)
	}
	return w.ResponseWriter.Write(b)
}

type ctxKey struct{}

// ServeHTTP serves the fake API. Requests are authenticated, checked against
// injected faults and handled, in that order. A call is in the call log before
// it is handled, its status before the client sees the response.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := s.now()
	sw := &statusWriter{ResponseWriter: w, s: s}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		sw.rec = s.record(Call{Time: start, Method: r.Method, Path: r.URL.Path, Query: r.URL.Query()})
		writeReply(sw, detail(http.StatusRequestEntityTooLarge, "Request body is too large."))
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	c := &reqCtx{s: s, body: body, now: start}
	var rt *route
	// Without its trailing slash a path names no endpoint (ServeMux would
	// redirect instead; a 404 points at the client's mistake more clearly).
	if strings.HasSuffix(r.URL.Path, "/") {
		_, pattern := s.mux.Handler(r)
		rt = s.routes[pattern]
	}
	if rt != nil {
		c.op = rt.op
	}
	sw.rec = s.record(Call{
		Time: start, Method: r.Method, Path: r.URL.Path, OperationID: c.op,
		Query: r.URL.Query(), Body: body,
	})

	switch {
	case strings.HasPrefix(r.URL.Path, "/api/") && !s.authenticate(r, c):
		writeReply(sw, c.unauthorized())
	case rt == nil:
		writeReply(sw, s.unrouted(r))
	case s.disabled[rt.op]:
		writeReply(sw, notFound())
	default:
		if rep, ok := s.injectFault(r.Context(), c.op); ok {
			sw.injected = true
			writeReply(sw, rep)
			break
		}
		s.mux.ServeHTTP(sw, r.WithContext(context.WithValue(r.Context(), ctxKey{}, c)))
	}
	if sw.status == 0 {
		sw.WriteHeader(http.StatusOK) // a handler that wrote nothing
	}
}

// authenticate checks the Authorization header against the users' DRF tokens,
// PATs and OIDC tokens and sets c.user and c.kind. On failure c.cred says why.
// As in Waldur, the scheme picks the backend: "Token" is a DRF token, a
// bearer starting with "w_" a PAT, any other bearer an OIDC token; a valid
// credential sent under another kind's scheme is refused.
func (s *Server) authenticate(r *http.Request, c *reqCtx) bool {
	h := r.Header.Get("Authorization")
	scheme, cred, _ := strings.Cut(h, " ")
	cred = strings.TrimSpace(cred)
	var kind credKind
	switch {
	case h == "":
		c.cred = ""
		return false
	case cred == "":
		c.cred = "invalid"
		return false
	case strings.EqualFold(scheme, "Token"):
		kind = credDRF
	case strings.EqualFold(scheme, "Bearer") && strings.HasPrefix(cred, "w_"):
		kind = credPAT
	case strings.EqualFold(scheme, "Bearer"):
		kind = credOIDC
	default:
		c.cred = "invalid"
		return false
	}
	s.mu.Lock()
	u := s.st.tokens[cred]
	expired := s.st.expired[cred]
	s.mu.Unlock()
	if u != nil && cred != map[credKind]string{credDRF: u.Token, credPAT: u.PAT, credOIDC: u.OIDC}[kind] {
		u = nil // e.g. a DRF token sent as a bearer goes to OIDC, which refuses it
	}
	switch {
	case u == nil:
		c.cred = "invalid"
		return false
	case expired:
		c.cred = "expired"
		return false
	}
	c.user, c.cred, c.kind = u, cred, kind
	return true
}

// credKind is how a request authenticated.
type credKind int

const (
	credDRF credKind = iota + 1
	credPAT
	credOIDC
)

func (c *reqCtx) unauthorized() reply {
	msg := "Authentication credentials were not provided."
	switch c.cred {
	case "invalid":
		msg = "Invalid token."
	case "expired":
		msg = "Token has expired."
	}
	rep := detail(http.StatusUnauthorized, msg)
	rep.header = http.Header{"Www-Authenticate": {"Token"}}
	return rep
}

// handle adapts a handler: it runs under the server lock, then events are
// published and the reply written.
func (s *Server) handle(h handlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		c := r.Context().Value(ctxKey{}).(*reqCtx)
		c.r = r
		rep := s.locked(h, c)
		ctx := context.WithoutCancel(r.Context())
		if !s.provisionQueues(ctx, c) {
			rep = detail(http.StatusServiceUnavailable, "Event queue could not be provisioned.")
		}
		s.publish(ctx, c.events)
		writeReply(w, rep)
	}
}

// locked runs h under the server lock, releasing it even if h panics.
func (s *Server) locked(h handlerFunc, c *reqCtx) reply {
	s.mu.Lock()
	defer s.mu.Unlock()
	return h(c)
}

// provisionQueues hands queue changes to the provisioner; false when
// provisioning failed.
func (s *Server) provisionQueues(ctx context.Context, c *reqCtx) bool {
	if s.prov == nil {
		return true
	}
	ok := true
	for _, q := range c.provision {
		if err := s.prov.ProvisionQueue(ctx, q); err != nil {
			s.log.Warn("waldurtest: provision queue", "queue", q.Name, "error", err)
			ok = false
		}
	}
	if rm, isRemover := s.prov.(QueueRemover); isRemover {
		for _, q := range c.removed {
			if err := rm.RemoveQueue(ctx, q); err != nil {
				s.log.Warn("waldurtest: remove queue", "queue", q.Name, "error", err)
			}
		}
	}
	return ok
}

func writeReply(w http.ResponseWriter, rep reply) {
	for k, v := range rep.header {
		w.Header()[k] = v
	}
	if rep.body != nil && w.Header().Get("Content-Type") == "" {
		w.Header().Set("Content-Type", "application/json")
	}
	status := rep.status
	if status == 0 {
		status = http.StatusOK
	}
	w.WriteHeader(status)
	if rep.body != nil {
		_, _ = w.Write(rep.body)
	}
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
