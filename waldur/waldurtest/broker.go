package waldurtest

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"slices"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/gsv-platform/waldur-agent-go/internal/rabbitadmin"
)

// RabbitMQConfig configures NewRabbitMQ.
type RabbitMQConfig struct {
	// ManagementURL is the base URL of RabbitMQ's management API with an
	// administrator's credentials, for example
	// http://guest:guest@127.0.0.1:15672. Required.
	ManagementURL string
	// STOMPAddr is the host:port of RabbitMQ's STOMP listener (61613), where
	// Waldur publishes. One of STOMPAddr and AMQPURL is required; STOMPAddr
	// is used when both are set.
	STOMPAddr string
	// AMQPURL, for example amqp://guest:guest@127.0.0.1:5672/, publishes
	// over AMQP 0-9-1 to the default exchange instead, with publisher
	// confirms.
	AMQPURL string
	// Login and Password are the account publishing over STOMP. Default: the
	// credentials of ManagementURL; Waldur publishes with the broker's
	// administrator account.
	Login, Password string
	// Confirm makes each STOMP publish wait for the broker's receipt.
	// Without it a publish returns once the frame is written.
	Confirm bool
	// Logger receives diagnostics. Default: discard.
	Logger *slog.Logger
}

// RabbitMQ makes a real RabbitMQ play Waldur's part in event delivery, so
// that an agent under test consumes real queues over AMQP or STOMP. Give it
// to NewServer as both the QueueProvisioner and the EventSink:
//
//	rmq, err := waldurtest.NewRabbitMQ(waldurtest.RabbitMQConfig{
//		ManagementURL: "http://guest:guest@127.0.0.1:15672",
//		STOMPAddr:     "127.0.0.1:61613",
//	})
//	if err != nil { ... }
//	defer rmq.Close()
//	s := waldurtest.NewServer(t, waldurtest.WithQueueProvisioner(rmq), waldurtest.WithEventSink(rmq))
//
// On register_queue and create_queue it sets the broker up as Waldur does
// through the management API: the vhost (the owner's user UUID hex), the
// user with full permissions on the vhost and the password Queue.Password
// describes (register_queue: the credential of the call; legacy: the DRF
// token the subscription was created with), and the durable queue with Waldur's arguments
// (x-message-ttl 3600000, x-max-length 10000, x-overflow reject-publish-dlx,
// dead letters through the default exchange to waldur.dlq.messages, which it
// declares too). Registering again resets the password and recreates what
// is missing. Deleting an identity or a subscription removes its queues and
// users.
//
// Every event the server emits is published as Waldur publishes it: to each
// registered queue of the event's offering whose filter admits the object
// type (an event without offering goes to every queue admitting its type),
// through the default exchange with the queue name as routing key (STOMP
// destination /amq/queue/<queue>), persistent, content type
// application/json, with the x-message-id header: the first 32 hex digits of
// sha256("<vhost>:<topic>:<payload>"), where the topic is the queue name on
// the unified path and subscription/<sub>/offering/<offering>/<type> on the
// legacy one. Unified queues get the unified payload, legacy queues the
// legacy one (Event.Legacy); as in Waldur's dispatcher, a user whose unified
// queue got an event gets no legacy copy.
//
// A RabbitMQ is safe for concurrent use. Close removes everything it
// created.
type RabbitMQ struct {
	admin *rabbitadmin.Client
	hc    *http.Client
	cfg   RabbitMQConfig
	log   *slog.Logger

	mu     sync.Mutex
	queues map[string]Queue // by queue name
	users  map[string]bool
	vhosts map[string]bool
	pubs   map[string]topicPublisher // by vhost
	closed bool
}

// closeTimeout bounds the clean-up of Close.
const closeTimeout = time.Minute

// topicPublisher is what RabbitMQ needs of rabbitadmin's publishers.
type topicPublisher interface {
	PublishTopic(ctx context.Context, queue, topic string, payload []byte) (string, error)
	Close() error
}

var (
	_ QueueProvisioner = (*RabbitMQ)(nil)
	_ QueueRemover     = (*RabbitMQ)(nil)
	_ EventSink        = (*RabbitMQ)(nil)
)

// NewRabbitMQ returns a RabbitMQ for the broker cfg names. It makes no
// connection until the first queue is registered.
func NewRabbitMQ(cfg RabbitMQConfig) (*RabbitMQ, error) {
	if cfg.STOMPAddr == "" && cfg.AMQPURL == "" {
		return nil, errors.New("waldurtest: RabbitMQConfig needs STOMPAddr or AMQPURL")
	}
	// Its own transport, so that Close can drop its idle connections.
	hc := &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}
	admin, err := rabbitadmin.New(cfg.ManagementURL, rabbitadmin.WithHTTPClient(hc))
	if err != nil {
		return nil, fmt.Errorf("waldurtest: %w", err)
	}
	if cfg.Login == "" {
		if u, err := url.Parse(cfg.ManagementURL); err == nil && u.User != nil {
			cfg.Login = u.User.Username()
			cfg.Password, _ = u.User.Password()
		}
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	return &RabbitMQ{
		admin: admin, hc: hc, cfg: cfg, log: log,
		queues: make(map[string]Queue), users: make(map[string]bool),
		vhosts: make(map[string]bool), pubs: make(map[string]topicPublisher),
	}, nil
}

// ProvisionQueue creates or refreshes q's vhost, user, permissions and queue.
func (r *RabbitMQ) ProvisionQueue(ctx context.Context, q Queue) error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return errors.New("waldurtest: RabbitMQ is closed")
	}
	// Recorded first, so that Close removes what a failed attempt left.
	r.vhosts[q.VHost] = true
	r.users[q.Username] = true
	r.mu.Unlock()
	_, err := r.admin.Provision(ctx, rabbitadmin.ProvisionRequest{
		VHost: q.VHost, Username: q.Username, Password: q.Password, Queue: q.Name,
	})
	if err != nil {
		return fmt.Errorf("waldurtest: provision queue %s: %w", q.Name, err)
	}
	r.mu.Lock()
	r.queues[q.Name] = q.clone()
	r.mu.Unlock()
	return nil
}

// RemoveQueue deletes q's queue and user, as Waldur does when an identity or
// a subscription is deleted.
func (r *RabbitMQ) RemoveQueue(ctx context.Context, q Queue) error {
	r.mu.Lock()
	delete(r.queues, q.Name)
	r.mu.Unlock()
	err := r.admin.Deprovision(ctx, rabbitadmin.Registration{VHost: q.VHost, Username: q.Username, Queue: q.Name})
	if err != nil {
		return fmt.Errorf("waldurtest: remove queue %s: %w", q.Name, err)
	}
	return nil
}

// target is one queue an event goes to.
type target struct {
	q      Queue
	legacy bool
}

// Publish publishes e to the queues that receive it.
func (r *RabbitMQ) Publish(ctx context.Context, e Event) error {
	targets := r.targets(e)
	if len(targets) == 0 {
		return nil
	}
	unified, err := json.Marshal(e.Payload)
	if err != nil {
		return fmt.Errorf("waldurtest: encode event: %w", err)
	}
	var legacy []byte
	var errs []error
	for _, t := range targets {
		body, topic := unified, t.q.Name
		if t.legacy {
			if legacy == nil {
				if legacy, err = json.Marshal(e.Legacy()); err != nil {
					return fmt.Errorf("waldurtest: encode event: %w", err)
				}
			}
			body = legacy
			topic = fmt.Sprintf("subscription/%s/offering/%s/%s", hexID(t.q.Subscription), hexID(t.q.Offering), e.ObjectType)
		}
		if _, err := r.send(ctx, t.q.VHost, t.q.Name, topic, body); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// targets lists the queues e goes to, in a stable order.
func (r *RabbitMQ) targets(e Event) []target {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []target
	gotUnified := map[uuid.UUID]bool{}
	for _, q := range r.queues {
		if q.Identity == uuid.Nil || (e.Offering != uuid.Nil && q.Offering != e.Offering) {
			continue
		}
		if len(q.ObjectTypes) == 0 || slices.Contains(q.ObjectTypes, e.ObjectType) {
			out = append(out, target{q: q})
			gotUnified[q.Owner] = true
		}
	}
	for _, q := range r.queues {
		if q.Subscription == uuid.Nil || gotUnified[q.Owner] ||
			(e.Offering != uuid.Nil && q.Offering != e.Offering) || !slices.Contains(q.ObjectTypes, e.ObjectType) {
			continue
		}
		out = append(out, target{q: q, legacy: true})
	}
	slices.SortFunc(out, func(a, b target) int {
		switch {
		case a.q.Name < b.q.Name:
			return -1
		case a.q.Name > b.q.Name:
			return 1
		}
		return 0
	})
	return out
}

// PublishRaw publishes body as it is to a registered queue, the way Publish
// does, and returns its x-message-id. Tests use it for payloads the server
// would never emit, such as malformed JSON.
func (r *RabbitMQ) PublishRaw(ctx context.Context, queue string, body []byte) (string, error) {
	r.mu.Lock()
	q, ok := r.queues[queue]
	r.mu.Unlock()
	if !ok {
		return "", fmt.Errorf("waldurtest: no registered queue %q", queue)
	}
	topic := q.Name
	if q.Subscription != uuid.Nil && len(q.ObjectTypes) == 1 {
		topic = fmt.Sprintf("subscription/%s/offering/%s/%s", hexID(q.Subscription), hexID(q.Offering), q.ObjectTypes[0])
	}
	return r.send(ctx, q.VHost, q.Name, topic, body)
}

// send publishes over the vhost's publisher, connecting it first if need
// be; a publisher that fails is replaced once.
func (r *RabbitMQ) send(ctx context.Context, vhost, queue, topic string, body []byte) (string, error) {
	var lastErr error
	for range 2 {
		p, err := r.publisher(ctx, vhost)
		if err != nil {
			return "", err
		}
		id, err := p.PublishTopic(ctx, queue, topic, body)
		if err == nil {
			return id, nil
		}
		lastErr = err
		r.drop(vhost, p)
	}
	return "", fmt.Errorf("waldurtest: publish to %s: %w", queue, lastErr)
}

// publisher returns the vhost's publisher, connecting it if need be.
func (r *RabbitMQ) publisher(ctx context.Context, vhost string) (topicPublisher, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.closed {
		return nil, errors.New("waldurtest: RabbitMQ is closed")
	}
	if p, ok := r.pubs[vhost]; ok {
		return p, nil
	}
	var (
		p   topicPublisher
		err error
	)
	if r.cfg.STOMPAddr != "" {
		p, err = rabbitadmin.DialSTOMP(ctx, rabbitadmin.STOMPPublisherConfig{
			Addr: r.cfg.STOMPAddr, VHost: vhost, Login: r.cfg.Login, Password: r.cfg.Password, Confirm: r.cfg.Confirm,
		})
	} else {
		p, err = rabbitadmin.DialAMQP(ctx, r.cfg.AMQPURL, vhost)
	}
	if err != nil {
		return nil, fmt.Errorf("waldurtest: connect publisher to vhost %s: %w", vhost, err)
	}
	r.pubs[vhost] = p
	return p, nil
}

// drop closes a failed publisher unless it was replaced meanwhile.
func (r *RabbitMQ) drop(vhost string, p topicPublisher) {
	r.mu.Lock()
	if r.pubs[vhost] == p {
		delete(r.pubs, vhost)
	}
	r.mu.Unlock()
	if err := p.Close(); err != nil {
		r.log.Debug("waldurtest: close failed publisher", "vhost", vhost, "error", err)
	}
}

// CloseConsumerConnections force-closes every broker connection of the
// users it provisioned, as a broker restart or a network failure would;
// consumers see their sessions end and must reconnect. The publishing
// connections stay open.
func (r *RabbitMQ) CloseConsumerConnections(ctx context.Context) error {
	r.mu.Lock()
	users := make([]string, 0, len(r.users))
	for u := range r.users {
		users = append(users, u)
	}
	r.mu.Unlock()
	var errs []error
	for _, u := range users {
		if err := r.admin.CloseUserConnections(ctx, u, "waldurtest: forced close"); err != nil {
			errs = append(errs, fmt.Errorf("waldurtest: close connections of %s: %w", u, err))
		}
	}
	return errors.Join(errs...)
}

// Close closes the publishing connections, which confirms what was
// published, and deletes the vhosts and users it created, with their queues.
func (r *RabbitMQ) Close() error {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil
	}
	r.closed = true
	pubs, vhosts, users := r.pubs, r.vhosts, r.users
	r.pubs, r.queues = nil, nil
	r.mu.Unlock()

	var errs []error
	for vhost, p := range pubs {
		if err := p.Close(); err != nil {
			errs = append(errs, fmt.Errorf("waldurtest: close publisher of vhost %s: %w", vhost, err))
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
	defer cancel()
	for u := range users {
		if err := r.admin.DeleteUser(ctx, u); err != nil {
			errs = append(errs, err)
		}
	}
	for v := range vhosts {
		if err := r.admin.DeleteVHost(ctx, v); err != nil {
			errs = append(errs, err)
		}
	}
	r.hc.CloseIdleConnections()
	return errors.Join(errs...)
}
