package siteagent

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"sync"

	"github.com/gsv-platform/waldur-agent-go/internal/broker"
	"github.com/gsv-platform/waldur-agent-go/waldur"
)

// Waldur's event queues, as the agent registers them. On Waldur 8.1 each
// offering's agent identity has one queue for every object type
// (register_queue, "unified"); older Waldur has one queue per subscription,
// offering and object type (register_event_subscription and create_queue,
// "legacy"), with messages that do not name their object type.

// eventQueue is one queue the agent consumes, with the registration that
// yields its broker endpoint.
type eventQueue struct {
	a   *Agent
	off *offering
	// objectType is the type of a legacy queue's messages; "" for a unified
	// queue, whose messages name their type.
	objectType waldur.ObservableObjectType
	types      []waldur.ObservableObjectType // unified: the types subscribed

	mu sync.Mutex
	ep broker.Endpoint // the last registration; URL and TLS unset
	// Legacy queues: the subscription of the last registration, whether
	// the broker refused the last login, and whether the subscription was
	// deleted and created again since a login last worked (see renew).
	sub       waldur.UUID
	refused   bool
	recreated bool
}

// errIdentityGone means the offering's agent identity vanished from Waldur;
// the heartbeat registers it again.
var errIdentityGone = errors.New("siteagent: agent identity not found in Waldur")

// registerQueues registers the event queues of every offering: unified
// where Waldur has register_queue, legacy otherwise. It reports which.
func (a *Agent) registerQueues(ctx context.Context, types []waldur.ObservableObjectType) (queues []*eventQueue, legacy bool, err error) {
	for _, off := range a.offerings {
		q := &eventQueue{a: a, off: off, types: types}
		err := q.register(ctx)
		for err != nil {
			// A Waldur older than this agent may not know every type:
			// those come by polling, the others by events.
			known := withoutRefused(err, q.types)
			if len(known) == len(q.types) || len(known) == 0 {
				break
			}
			a.log.Warn("siteagent: Waldur does not know some event types; they are polled only",
				"refused", refusedTypes(q.types, known))
			q.types = known
			err = q.register(ctx)
		}
		if errors.Is(err, errLegacyWaldur) {
			legacy = true
			break
		}
		if err != nil {
			return nil, false, err
		}
		types = q.types
		queues = append(queues, q)
	}
	if !legacy {
		return queues, false, nil
	}
	if a.cfg.TokenKind != waldur.TokenDRF {
		a.log.Warn("siteagent: this Waldur has only legacy event queues, whose broker password is the user's DRF token; "+
			"the agent's token is not one, so the broker will refuse it and events come by polling",
			"token_kind", a.cfg.TokenKind)
	}
	queues = queues[:0]
	for _, off := range a.offerings {
		for _, t := range types {
			q := &eventQueue{a: a, off: off, objectType: t}
			err := q.register(ctx)
			if isBadRequest(err) {
				a.log.Warn("siteagent: Waldur does not know an event type; it is polled only",
					"object_type", t, "error", err)
				continue
			}
			if err != nil {
				return nil, true, err
			}
			queues = append(queues, q)
		}
	}
	if len(queues) == 0 {
		return nil, true, errors.New("siteagent: Waldur knows none of the event types the agent needs")
	}
	return queues, true, nil
}

// withoutRefused returns types without those a 400 answer names as invalid
// choices ("\"x\" is not a valid choice.").
func withoutRefused(err error, types []waldur.ObservableObjectType) []waldur.ObservableObjectType {
	var ae *waldur.APIError
	if !isBadRequest(err) || !errors.As(err, &ae) {
		return types
	}
	text := ae.Message() + " " + string(ae.Body)
	var kept []waldur.ObservableObjectType
	for _, t := range types {
		if !strings.Contains(text, `"`+string(t)+`"`) && !strings.Contains(text, `\"`+string(t)+`\"`) {
			kept = append(kept, t)
		}
	}
	return kept
}

func isBadRequest(err error) bool {
	var ae *waldur.APIError
	return errors.As(err, &ae) && ae.StatusCode == http.StatusBadRequest
}

func refusedTypes(all, kept []waldur.ObservableObjectType) []waldur.ObservableObjectType {
	var out []waldur.ObservableObjectType
	for _, t := range all {
		if !slices.Contains(kept, t) {
			out = append(out, t)
		}
	}
	return out
}

// errLegacyWaldur means register_queue does not exist: Waldur before 8.1.
var errLegacyWaldur = errors.New("siteagent: Waldur has no register_queue")

// credentials is the broker.Credentials of the queue: the last registration,
// or a new one when refresh is set (the broker refused the login or lost
// the queue: registering again resets the password and recreates the queue).
func (q *eventQueue) credentials(url string, tlsConf *tls.Config) broker.Credentials {
	return func(ctx context.Context, refresh bool) (broker.Endpoint, error) {
		q.mu.Lock()
		ep := q.ep
		q.mu.Unlock()
		if refresh || ep.Queue == "" {
			if err := q.renew(ctx, refresh); err != nil {
				return broker.Endpoint{}, err
			}
			q.mu.Lock()
			ep = q.ep
			q.mu.Unlock()
		}
		ep.URL = url
		ep.TLS = tlsConf
		return ep, nil
	}
}

// errLegacyPassword explains a refused login on a legacy queue.
var errLegacyPassword = errors.New("legacy event queues (Waldur before 8.1) take the DRF token " +
	"the event subscription was created with as password, never a personal access token or OIDC token: " +
	"set Config.Token to the user's DRF token, or let events come by polling")

// renew registers the queue again; refresh says the broker refused the
// login or lost the queue. register_queue resets a unified queue's password,
// but a legacy subscription keeps the password it was created with (the
// user's DRF token at the time), so after a refused login on a legacy queue
// the subscription is deleted and created anew — once per refusal cycle:
// when even the new subscription's password is refused, the token is no DRF
// token of this user, and deleting more would not help.
func (q *eventQueue) renew(ctx context.Context, refresh bool) error {
	q.mu.Lock()
	sub, refused, recreated := q.sub, q.refused, q.recreated
	q.mu.Unlock()
	if !refresh || q.objectType == "" || !refused || sub == (waldur.UUID{}) {
		return q.register(ctx)
	}
	if recreated {
		q.a.noteError(fmt.Errorf("siteagent: broker refused the login of %s event queue %s: %w", q.objectType, q.endpoint().Queue, errLegacyPassword))
		return q.register(ctx)
	}
	q.a.log.Warn("siteagent: broker refused the login of a legacy event queue; deleting its event subscription to create it with the current token",
		"object_type", q.objectType, "subscription", sub)
	err := q.a.client.Agents.DeleteEventSubscription(ctx, sub)
	if err != nil && !waldur.IsNotFound(err) {
		return fmt.Errorf("siteagent: delete %s event subscription %s: %w", q.objectType, sub, err)
	}
	q.mu.Lock()
	q.recreated = true
	q.mu.Unlock()
	return q.register(ctx)
}

// dialer wraps d to note whether the broker accepted the queue's login, and
// to explain a refused login on a legacy queue.
func (q *eventQueue) dialer(d broker.Dialer) broker.Dialer {
	return broker.DialerFunc(func(ctx context.Context, ep broker.Endpoint, prefetch int) (broker.Session, error) {
		sess, err := d.Dial(ctx, ep, prefetch)
		refused := errors.Is(err, broker.ErrAuth)
		q.mu.Lock()
		q.refused = refused
		if err == nil {
			q.recreated = false // a new refusal starts a new cycle
		}
		q.mu.Unlock()
		if refused && q.objectType != "" {
			err = fmt.Errorf("%w (%w)", err, errLegacyPassword)
		}
		return sess, err
	})
}

// register calls Waldur's registration for the queue and keeps the endpoint.
func (q *eventQueue) register(ctx context.Context) error {
	a := q.a
	q.off.mu.Lock()
	identity := q.off.identity
	q.off.mu.Unlock()
	var ep broker.Endpoint
	if q.objectType == "" {
		aq, _, err := a.client.Agents.RegisterQueue(ctx, identity, q.types)
		if waldur.IsNotFound(err) {
			return q.explainNotFound(ctx, identity, err)
		}
		if err != nil {
			return fmt.Errorf("siteagent: register event queue of identity %s: %w", identity, err)
		}
		ep = broker.Endpoint{VHost: aq.Vhost, Login: aq.RmqUsername, Queue: aq.QueueName}
	} else {
		sub, err := a.client.Agents.RegisterEventSubscription(ctx, identity, q.objectType, "waldur-agent-go "+a.cfg.Version)
		if err != nil {
			return fmt.Errorf("siteagent: register %s event subscription of identity %s: %w", q.objectType, identity, err)
		}
		sq, err := a.client.Agents.CreateQueue(ctx, sub.UUID, q.off.id, q.objectType)
		if err != nil {
			return fmt.Errorf("siteagent: create %s event queue of subscription %s: %w", q.objectType, sub.UUID, err)
		}
		vhost := sq.Vhost
		if vhost == "" && sub.UserUUID != (waldur.UUID{}) {
			vhost = waldur.Hex(sub.UserUUID)
		}
		ep = broker.Endpoint{VHost: vhost, Login: waldur.Hex(sub.UUID), Queue: sq.QueueName}
		q.mu.Lock()
		q.sub = sub.UUID
		q.mu.Unlock()
	}
	if ep.VHost == "" {
		ep.VHost = waldur.Hex(a.userUUID) // Waldur's rule: the owner's UUID
	}
	if ep.Queue == "" || ep.Login == "" {
		return fmt.Errorf("siteagent: Waldur's queue registration named no queue or login (%s)", ep)
	}
	ep.Password = a.cfg.Token
	q.mu.Lock()
	q.ep = ep
	q.mu.Unlock()
	return nil
}

// explainNotFound tells an older Waldur (no register_queue) from an identity
// deleted in Waldur meanwhile: both answer 404.
func (q *eventQueue) explainNotFound(ctx context.Context, identity waldur.UUID, err error) error {
	if _, gerr := q.a.client.Agents.GetIdentity(ctx, identity); gerr != nil {
		if waldur.IsNotFound(gerr) {
			return fmt.Errorf("%w: %s", errIdentityGone, identity)
		}
		return fmt.Errorf("siteagent: register event queue of identity %s: %w", identity, err)
	}
	return errLegacyWaldur
}

// endpoint returns the registered endpoint (without URL).
func (q *eventQueue) endpoint() broker.Endpoint {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.ep
}

// fallbackType is the object type for messages that do not name theirs:
// a legacy queue's type, which its name ends with.
func (q *eventQueue) fallbackType() waldur.ObservableObjectType {
	if q.objectType == "" {
		return ""
	}
	if t := objectTypeFromQueue(q.endpoint().Queue); t != "" {
		return t
	}
	return q.objectType
}

// objectTypeFromQueue reads the object type from a legacy queue name,
// subscription_<sub hex>_offering_<offering hex>_<object type>; "" for any
// other name.
func objectTypeFromQueue(name string) waldur.ObservableObjectType {
	const marker = "_offering_"
	if !strings.HasPrefix(name, "subscription_") {
		return ""
	}
	i := strings.Index(name, marker)
	if i < 0 {
		return ""
	}
	rest := name[i+len(marker):]
	j := strings.IndexByte(rest, '_')
	if j <= 0 || j == len(rest)-1 {
		return ""
	}
	return waldur.ObservableObjectType(rest[j+1:])
}
