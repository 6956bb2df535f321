package siteagent

import (
	"bytes"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Waldur's webhooks: a user's hook (POST /api/hooks-web/) makes Waldur POST
// every matching event log entry to a URL, as JSON
//
//	{"created": "<ISO time>", "message": "<text>", "context": {...}, "event_type": "<name>"}
//
// or as a form with the same fields. The context holds the UUIDs (32 hex) of
// what the event is about, named <entity>_uuid: order_uuid, resource_uuid,
// offering_uuid, project_uuid, customer_uuid, ... Waldur encodes a form with
// Python requests, which turns the context object into its key names only,
// so a form post says what kind of thing happened but not to which object.

// DefaultWebhookMaxBody bounds a webhook request body when
// WebhookConfig.MaxBodyBytes is zero.
const DefaultWebhookMaxBody = 1 << 20

// WebhookSecretParam and WebhookSecretHeader carry WebhookConfig.Secret.
const (
	WebhookSecretParam  = "secret"
	WebhookSecretHeader = "X-Webhook-Secret"
)

// WebhookConfig configures Agent.WebhookHandler.
type WebhookConfig struct {
	// Secret must come with every request, either as the query parameter
	// "secret" — put it in the destination URL of the hook in Waldur, which
	// signs nothing and cannot send custom headers, so this is the only
	// authentication there is — or in the header X-Webhook-Secret. It is
	// compared in constant time; a missing or wrong secret gets 401. Serve
	// the handler over HTTPS, as the secret travels in the URL. Required
	// unless Insecure is set: without it the handler refuses every post.
	Secret string
	// Insecure accepts posts without a secret, for tests and for intakes
	// that something in front already authenticates. Anyone who can reach
	// the handler can then make the agent re-read objects from Waldur.
	Insecure bool
	// MaxBodyBytes bounds the request body; larger bodies get 413. Default
	// 1 MiB.
	MaxBodyBytes int64
}

// WebhookHandler returns an http.Handler for Waldur's webhooks, an event
// source for deployments whose RabbitMQ the agent cannot reach. Create a hook
// in Waldur (POST /api/hooks-web/ with destination_url and event_types) that
// posts to where the handler is mounted; JSON hooks are preferred, as form
// hooks carry no UUIDs.
//
// A post is a hint, handled like a broker event: an order event with an
// order_uuid queues the order for processing (with retries) at once; an
// order event without one (a form post), and resource, offering-user, role,
// project and customer events, start the matching periodic passes now.
// Events of another offering, and event types the agent has no use for, are
// acknowledged and ignored. The handler answers 202 when it acted, 200 when
// it ignored the post, 400 for input it cannot read (never retried by
// Waldur), 401 for a wrong secret, 405 for other methods, 413 for a body over
// MaxBodyBytes, and 503 while the agent is not running.
//
// A flood of posts, genuine or forged, costs bounded work: a post for an
// order already waiting is merged with it, and once 10000 objects wait
// (Stats.WorkScheduled) further order posts start the order pass instead,
// which is coalesced too. Health checks, heartbeats and shutdown never wait
// for the posts' work.
//
// Waldur posts only to public addresses: it refuses destination URLs on
// loopback or private (RFC 1918) addresses when the hook is saved and again
// on every post, and follows no redirects. The handler must therefore be
// reachable from Waldur at a public HTTPS address (a reverse proxy or load
// balancer in front of it); where that is not possible, the periodic passes
// (polling) are the fallback and need no inbound connection at all.
//
// Mount it alongside any event source; use EventsPolling when webhooks are
// the only source.
func (a *Agent) WebhookHandler(cfg WebhookConfig) http.Handler {
	if cfg.MaxBodyBytes <= 0 {
		cfg.MaxBodyBytes = DefaultWebhookMaxBody
	}
	h := &webhookHandler{a: a, cfg: cfg}
	switch {
	case cfg.Secret != "":
		sum := sha256.Sum256([]byte(cfg.Secret))
		h.secret = sum[:]
	case !cfg.Insecure:
		h.refuseAll = true
		a.log.Error("siteagent: webhook handler has no Secret; it refuses every post " +
			"(set WebhookConfig.Secret and put it in the hook's destination URL, or set Insecure)")
	}
	return h
}

type webhookHandler struct {
	a         *Agent
	cfg       WebhookConfig
	secret    []byte // sha256 of the secret, nil without one
	refuseAll bool   // no secret and not Insecure
}

func (h *webhookHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	a := h.a
	if r.Method != http.MethodPost {
		w.Header().Set("Allow", http.MethodPost)
		webhookReply(w, http.StatusMethodNotAllowed, "only POST")
		return
	}
	if !h.authorized(r) {
		webhookReply(w, http.StatusUnauthorized, "missing or wrong secret")
		return
	}
	if !a.running.Load() || a.stopping.Load() {
		webhookReply(w, http.StatusServiceUnavailable, "agent not running")
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.cfg.MaxBodyBytes))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			a.counters.eventsMalformed.Add(1)
			webhookReply(w, http.StatusRequestEntityTooLarge, "body too large")
			return
		}
		webhookReply(w, http.StatusBadRequest, "cannot read body")
		return
	}
	post, err := decodeWebhook(r.Header.Get("Content-Type"), body)
	if err != nil {
		a.counters.eventsMalformed.Add(1)
		a.log.Warn("siteagent: malformed webhook post", "error", err, "bytes", len(body))
		webhookReply(w, http.StatusBadRequest, err.Error())
		return
	}
	if !a.actOnWebhook(post) {
		a.counters.eventsUnknown.Add(1)
		a.log.Debug("siteagent: webhook post ignored", "event_type", post.eventType)
		webhookReply(w, http.StatusOK, "ignored")
		return
	}
	a.counters.eventsReceived.Add(1)
	a.log.Debug("siteagent: webhook post accepted", "event_type", post.eventType, "created", post.created, "message", post.message)
	webhookReply(w, http.StatusAccepted, "accepted")
}

// authorized checks the shared secret, comparing digests so that neither
// the content nor the length of the secret leaks through timing.
func (h *webhookHandler) authorized(r *http.Request) bool {
	if h.refuseAll {
		return false
	}
	if h.secret == nil {
		return true // Insecure
	}
	got := r.Header.Get(WebhookSecretHeader)
	if got == "" {
		got = r.URL.Query().Get(WebhookSecretParam)
	}
	sum := sha256.Sum256([]byte(got))
	return got != "" && subtle.ConstantTimeCompare(sum[:], h.secret) == 1
}

func webhookReply(w http.ResponseWriter, code int, status string) {
	writeJSON(w, code, map[string]string{"status": status})
}

// actOnWebhook turns a post into work and reports whether there was any.
func (a *Agent) actOnWebhook(p webhookPost) bool {
	if off, ok := p.uuid("offering_uuid"); ok && a.byID[off] == nil {
		return false // another offering's event
	}
	et := p.eventType
	switch {
	case strings.HasPrefix(et, "marketplace_order_"):
		if len(a.byType[waldur.ObservableObjectTypeOrder]) == 0 {
			return false
		}
		if id, ok := p.uuid("order_uuid"); ok && a.scheduleOrder(id, 0) {
			return true
		}
		return a.kick(waldur.ObservableObjectTypeOrder)
	case strings.HasPrefix(et, "marketplace_offering_user_"):
		return a.kick(waldur.ObservableObjectTypeOfferingUser)
	case strings.HasPrefix(et, "marketplace_resource_user_"), strings.HasPrefix(et, "role_"),
		strings.HasPrefix(et, "project_"), strings.HasPrefix(et, "customer_"):
		return a.kick(waldur.ObservableObjectTypeUserRole, waldur.ObservableObjectTypeResource)
	case strings.HasPrefix(et, "marketplace_resource_"), strings.HasPrefix(et, "resource_"):
		return a.kick(waldur.ObservableObjectTypeResource)
	}
	return false
}

// kick starts the periodic passes of the capabilities handling any of types
// now (or right after a pass in progress) and reports whether there were
// any. Kicks coalesce: many at once cause one pass.
func (a *Agent) kick(types ...waldur.ObservableObjectType) bool {
	kicked := false
	for _, t := range types {
		for _, c := range a.byType[t] {
			if c.interval() <= 0 {
				continue
			}
			kicked = true
			select {
			case a.kickChan(c) <- struct{}{}:
			default: // a pass is due already
			}
		}
	}
	return kicked
}

// kickChan returns the channel that wakes c's periodic pass early.
func (a *Agent) kickChan(c capability) chan struct{} {
	ch, _ := a.kicks.LoadOrStore(c, make(chan struct{}, 1))
	return ch.(chan struct{})
}

// webhookPost is a decoded webhook request.
type webhookPost struct {
	eventType string
	created   time.Time
	message   string
	// ids holds the context's string values of keys ending in _uuid.
	ids map[string]string
}

// uuid returns a context UUID, in hex or hyphenated form.
func (p webhookPost) uuid(key string) (waldur.UUID, bool) {
	s, ok := p.ids[key]
	if !ok {
		return waldur.UUID{}, false
	}
	id, err := waldur.ParseUUID(s)
	if err != nil || id == (waldur.UUID{}) {
		return waldur.UUID{}, false
	}
	return id, true
}

// maxEventType bounds event_type; Waldur's are well under 100 characters.
const maxEventType = 200

// decodeWebhook reads a webhook body, JSON or form-encoded (by content type,
// or by its first byte when the type says neither). Only a body that is not
// a JSON object or a form, or that has no event_type, is an error; unknown
// fields are ignored and a context of the wrong shape reads as empty.
func decodeWebhook(contentType string, body []byte) (webhookPost, error) {
	mt, _, _ := mime.ParseMediaType(contentType)
	var (
		p   webhookPost
		err error
	)
	switch {
	case mt == "application/json" || strings.HasSuffix(mt, "+json"):
		p, err = decodeWebhookJSON(body)
	case mt == "application/x-www-form-urlencoded":
		p, err = decodeWebhookForm(body)
	case bytes.HasPrefix(bytes.TrimLeft(body, " \t\r\n"), []byte("{")):
		p, err = decodeWebhookJSON(body)
	default:
		p, err = decodeWebhookForm(body)
	}
	if err != nil {
		return webhookPost{}, err
	}
	switch {
	case p.eventType == "":
		return webhookPost{}, errors.New("siteagent: webhook: no event_type")
	case len(p.eventType) > maxEventType:
		return webhookPost{}, errors.New("siteagent: webhook: event_type too long")
	}
	return p, nil
}

func decodeWebhookJSON(body []byte) (webhookPost, error) {
	var w struct {
		EventType lstr            `json:"event_type"`
		Message   lstr            `json:"message"`
		Created   ltime           `json:"created"`
		Context   json.RawMessage `json:"context"`
	}
	if !isObject(body) || json.Unmarshal(body, &w) != nil {
		return webhookPost{}, errors.New("siteagent: webhook: body is not a JSON object")
	}
	return webhookPost{
		eventType: string(w.EventType), message: string(w.Message), created: time.Time(w.Created),
		ids: uuidFields(w.Context),
	}, nil
}

func decodeWebhookForm(body []byte) (webhookPost, error) {
	v, err := url.ParseQuery(string(body))
	if err != nil {
		return webhookPost{}, fmt.Errorf("siteagent: webhook: body is neither JSON nor a form: %w", err)
	}
	p := webhookPost{eventType: v.Get("event_type"), message: v.Get("message"), ids: map[string]string{}}
	p.created, _ = time.Parse(time.RFC3339Nano, v.Get("created"))
	for k, vals := range v {
		if len(vals) == 0 {
			continue
		}
		switch {
		case k == "context":
			// Waldur sends the key names only; a sender that put the
			// object in as JSON gets its UUIDs read.
			for _, s := range vals {
				for ck, cv := range uuidFields([]byte(s)) {
					p.ids[ck] = cv
				}
			}
		case strings.HasPrefix(k, "context[") && strings.HasSuffix(k, "]"):
			if ck := k[len("context[") : len(k)-1]; strings.HasSuffix(ck, "_uuid") {
				p.ids[ck] = vals[0]
			}
		case strings.HasSuffix(k, "_uuid"):
			p.ids[k] = vals[0]
		}
	}
	return p, nil
}

// uuidFields picks the string values of keys ending in _uuid from a JSON
// object; anything else yields none.
func uuidFields(raw []byte) map[string]string {
	var ctx map[string]lstr
	if !isObject(raw) || json.Unmarshal(raw, &ctx) != nil {
		return nil
	}
	ids := make(map[string]string)
	for k, v := range ctx {
		if strings.HasSuffix(k, "_uuid") && v != "" {
			ids[k] = string(v)
		}
	}
	return ids
}
