package amqpsource

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync"
	"sync/atomic"
	"time"

	amqp "github.com/rabbitmq/amqp091-go"

	"github.com/gsv-platform/waldur-agent-go/internal/broker"
)

// DefaultConnectionName is the connection name shown in RabbitMQ's management
// UI unless Dialer.ConnectionName is set.
const DefaultConnectionName = "waldur-agent-go"

// handshakeTimeout bounds the TLS and AMQP handshakes when ctx has no
// earlier deadline.
const handshakeTimeout = 30 * time.Second

// Dialer opens AMQP 0-9-1 consumer sessions. The zero value is ready to use.
type Dialer struct {
	// Heartbeat is the AMQP heartbeat interval. Zero means amqp091-go's
	// default (10 s).
	Heartbeat time.Duration
	// ConnectionName labels the connection in the management UI. Empty means
	// DefaultConnectionName.
	ConnectionName string
}

var _ broker.Dialer = Dialer{}

// New returns a broker.Consumer that consumes over AMQP with the zero Dialer.
func New(cfg broker.Config) *broker.Consumer { return broker.NewConsumer(Dialer{}, cfg) }

// Dial connects to ep, sets the prefetch and starts consuming ep.Queue.
func (d Dialer) Dial(ctx context.Context, ep broker.Endpoint, prefetch int) (broker.Session, error) {
	u, err := url.Parse(ep.URL)
	if err != nil {
		return nil, fmt.Errorf("amqpsource: parse URL: %w", err)
	}
	if u.Scheme != "amqp" && u.Scheme != "amqps" {
		return nil, fmt.Errorf("amqpsource: URL %s: scheme must be amqp or amqps", u.Redacted())
	}
	login, password := ep.Login, ep.Password
	if login == "" && u.User != nil {
		login = u.User.Username()
		password, _ = u.User.Password()
	}
	u.User = nil

	name := d.ConnectionName
	if name == "" {
		name = DefaultConnectionName
	}
	props := amqp.NewConnectionProperties()
	props.SetClientConnectionName(name)
	cfg := amqp.Config{
		SASL:       []amqp.Authentication{&amqp.PlainAuth{Username: login, Password: password}},
		Vhost:      ep.VHost,
		Heartbeat:  d.Heartbeat,
		Properties: props,
	}
	if ep.TLS != nil {
		cfg.TLSClientConfig = ep.TLS.Clone()
	}
	conn, err := dialConfig(ctx, u.String(), cfg)
	if err != nil {
		return nil, fmt.Errorf("amqpsource: connect: %w", classify(err))
	}
	s, err := startSession(conn, ep.Queue, prefetch)
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("amqpsource: consume %q: %w", ep.Queue, classify(err))
	}
	return s, nil
}

// dialConfig is amqp.DialConfig bounded by ctx: amqp091-go takes no context,
// so the dial uses ctx and a done ctx expires the socket's deadline during
// the handshakes. amqp091-go clears the deadline once the connection is open.
func dialConfig(ctx context.Context, rawURL string, cfg amqp.Config) (*amqp.Connection, error) {
	var sock atomic.Pointer[net.Conn]
	cfg.Dial = func(network, addr string) (net.Conn, error) {
		var nd net.Dialer
		c, err := nd.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		deadline := time.Now().Add(handshakeTimeout)
		if dl, ok := ctx.Deadline(); ok && dl.Before(deadline) {
			deadline = dl
		}
		_ = c.SetDeadline(deadline)
		sock.Store(&c)
		if ctx.Err() != nil { // cancelled before the Store, unseen by the AfterFunc
			_ = c.SetDeadline(time.Now())
		}
		return c, nil
	}
	stop := context.AfterFunc(ctx, func() {
		if c := sock.Load(); c != nil {
			_ = (*c).SetDeadline(time.Now())
		}
	})
	conn, err := amqp.DialConfig(rawURL, cfg)
	if !stop() && err == nil {
		// ctx ended just as the handshake completed; the deadline may have
		// hit the open connection.
		_ = conn.Close()
		return nil, ctx.Err()
	}
	if err != nil && ctx.Err() != nil {
		return nil, fmt.Errorf("%w (%v)", ctx.Err(), err)
	}
	return conn, err
}

// classify wraps the broker's refusals in the sentinels broker.Consumer
// branches on.
func classify(err error) error {
	var ae *amqp.Error
	if !errors.As(err, &ae) {
		return err
	}
	switch ae.Code {
	case amqp.AccessRefused, amqp.NotAllowed:
		return fmt.Errorf("%w: %w", broker.ErrAuth, err)
	case amqp.NotFound:
		return fmt.Errorf("%w: %w", broker.ErrQueueNotFound, err)
	}
	return err
}

// errCancelled ends a session whose consumer the broker cancelled, which
// RabbitMQ does when the queue is deleted. The next attempt's NOT_FOUND then
// leads to fresh credentials.
var errCancelled = errors.New("amqpsource: the broker cancelled the consumer (queue deleted?)")

type session struct {
	conn       *amqp.Connection
	ch         *amqp.Channel
	tag        string
	deliveries <-chan amqp.Delivery
	done       chan struct{}
	reason     error // set before done is closed
	stopOnce   sync.Once
}

// startSession opens a channel, sets the prefetch, registers fresh
// notification channels and starts the consumer.
func startSession(conn *amqp.Connection, queue string, prefetch int) (*session, error) {
	ch, err := conn.Channel()
	if err != nil {
		return nil, err
	}
	if err := ch.Qos(prefetch, 0, false); err != nil {
		return nil, err
	}
	// Buffered: amqp091-go sends at most one value on each, then closes
	// them, and must never block doing so.
	connClosed := conn.NotifyClose(make(chan *amqp.Error, 1))
	chClosed := ch.NotifyClose(make(chan *amqp.Error, 1))
	cancelled := ch.NotifyCancel(make(chan string, 1))
	tag := newTag()
	deliveries, err := ch.Consume(queue, tag, false, false, false, false, nil)
	if err != nil {
		return nil, err
	}
	s := &session{conn: conn, ch: ch, tag: tag, deliveries: deliveries, done: make(chan struct{})}
	go s.watch(connClosed, chClosed, cancelled)
	return s, nil
}

// watch ends the session on the first sign of trouble and makes sure the
// connection is closed, so that unacknowledged messages go back.
func (s *session) watch(connClosed, chClosed <-chan *amqp.Error, cancelled <-chan string) {
	var reason error
	select {
	case e := <-connClosed:
		reason = closeReason("connection", e)
	case e := <-chClosed:
		reason = closeReason("channel", e)
	case <-cancelled:
		reason = errCancelled
	}
	s.reason = reason
	close(s.done)
	_ = s.conn.Close()
}

func closeReason(what string, e *amqp.Error) error {
	if e == nil {
		return fmt.Errorf("amqpsource: %s closed", what)
	}
	return fmt.Errorf("amqpsource: %s closed: %w", what, classify(e))
}

func newTag() string {
	var b [8]byte
	_, _ = rand.Read(b[:])
	return "waldur-agent-go-" + hex.EncodeToString(b[:])
}

func (s *session) Next(ctx context.Context) (broker.Delivery, error) {
	select {
	case d, ok := <-s.deliveries:
		if ok {
			return &delivery{d: d}, nil
		}
		// Closed by StopConsuming or by the end of the session.
		select {
		case <-s.done:
			return nil, s.reason
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	case <-s.done:
		return nil, s.reason
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *session) Done() <-chan struct{} { return s.done }

// StopConsuming cancels the consumer (basic.cancel); deliveries received
// before stay valid for acknowledgement on the still open channel.
func (s *session) StopConsuming(context.Context) error {
	var err error
	s.stopOnce.Do(func() { err = s.ch.Cancel(s.tag, false) })
	return err
}

// Close closes the connection, which returns unacknowledged messages to the
// queue, and waits for the session to end.
func (s *session) Close() error {
	err := s.conn.CloseDeadline(time.Now().Add(5 * time.Second))
	<-s.done
	if errors.Is(err, amqp.ErrClosed) {
		return nil
	}
	return err
}

type delivery struct{ d amqp.Delivery }

func (d *delivery) Message() broker.Message { return message(d.d) }
func (d *delivery) Ack() error              { return d.d.Ack(false) }
func (d *delivery) Requeue() error          { return d.d.Nack(false, true) }
func (d *delivery) Reject() error           { return d.d.Reject(false) }

// message converts a delivery. Waldur's publisher sets x-message-id as a
// header; the AMQP message-id property is a fallback for other publishers.
func message(d amqp.Delivery) broker.Message {
	m := broker.Message{
		Body:        d.Body,
		ContentType: d.ContentType,
		Redelivered: d.Redelivered,
		Headers:     headers(d.Headers),
	}
	m.MessageID = m.Headers[broker.HeaderMessageID]
	if m.MessageID == "" {
		m.MessageID = d.MessageId
	}
	return m
}

// headers renders an AMQP table as strings; non-string values (numbers,
// booleans, nested tables) are formatted with fmt.
func headers(t amqp.Table) map[string]string {
	out := make(map[string]string, len(t))
	for k, v := range t {
		switch v := v.(type) {
		case string:
			out[k] = v
		case []byte:
			out[k] = string(v)
		default:
			out[k] = fmt.Sprint(v)
		}
	}
	return out
}
