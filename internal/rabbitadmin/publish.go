package rabbitadmin

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/url"
	"sync/atomic"
	"time"

	"github.com/go-stomp/stomp/v3"
	"github.com/go-stomp/stomp/v3/frame"
	amqp "github.com/rabbitmq/amqp091-go"
)

// Publisher sends event messages to a queue the way Waldur's publisher does:
// to the default exchange with the queue name as routing key, persistent,
// content type application/json, and an x-message-id header computed by
// MessageID(vhost, queue, payload).
type Publisher interface {
	// Publish sends payload to queue and returns its x-message-id.
	Publish(ctx context.Context, queue string, payload []byte) (id string, err error)
	// Close flushes and closes the connection.
	Close() error
}

// STOMPPublisherConfig configures DialSTOMP.
type STOMPPublisherConfig struct {
	// Addr is host:port of RabbitMQ's STOMP listener (port 61613).
	Addr string
	// VHost is the virtual host of the queues (sent as the STOMP host header).
	VHost string
	// Login and Password: Waldur publishes with the broker's admin account.
	Login, Password string
	// Confirm makes Publish wait for the broker's receipt of each message.
	// Without it Close still confirms everything sent: RabbitMQ handles
	// frames in order and answers the DISCONNECT receipt last. (RabbitMQ
	// copies the receipt header into the stored message.)
	Confirm bool
}

// stompReadBuffer is the read buffer of a STOMP connection; minFrameSize is
// the smallest frame RabbitMQ sends ("ERROR\n\n\x00" and a header or two).
const (
	stompReadBuffer = 4096
	minFrameSize    = 8
)

// STOMPPublisher publishes over STOMP 1.2 to destination /amq/queue/<queue>,
// exactly as Waldur's Celery task does, with heart-beats of 10 s. It is safe
// for concurrent use; it does not reconnect.
type STOMPPublisher struct {
	conn    *stomp.Conn
	vhost   string
	confirm bool
}

var _ Publisher = (*STOMPPublisher)(nil)

// DialSTOMP connects a STOMPPublisher.
func DialSTOMP(ctx context.Context, cfg STOMPPublisherConfig) (*STOMPPublisher, error) {
	var d net.Dialer
	nc, err := d.DialContext(ctx, "tcp", cfg.Addr)
	if err != nil {
		return nil, fmt.Errorf("rabbitadmin: stomp dial %s: %w", cfg.Addr, err)
	}
	// The STOMP handshake itself takes no context: a cancelled ctx expires
	// the socket's deadline instead.
	stop := context.AfterFunc(ctx, func() { _ = nc.SetDeadline(time.Now()) })
	conn, err := stomp.Connect(nc,
		// go-stomp's reader goroutine blocks forever if its frame channel is
		// full when the connection dies (an ERROR frame, such as a publish
		// refused by a full queue, ends it). What can still arrive then is
		// what its read buffer holds, so the channel takes all of that.
		stomp.ConnOpt.ReadBufferSize(stompReadBuffer),
		stomp.ConnOpt.ReadChannelCapacity(stompReadBuffer/minFrameSize),
		stomp.ConnOpt.Host(cfg.VHost),
		stomp.ConnOpt.Login(cfg.Login, cfg.Password),
		stomp.ConnOpt.AcceptVersion(stomp.V12),
		stomp.ConnOpt.HeartBeat(10*time.Second, 10*time.Second),
		stomp.ConnOpt.Logger(discardLogger{}),
	)
	if !stop() {
		if conn != nil {
			_ = conn.MustDisconnect()
		}
		_ = nc.Close()
		return nil, fmt.Errorf("rabbitadmin: stomp connect %s: %w", cfg.Addr, ctx.Err())
	}
	if err != nil {
		_ = nc.Close()
		return nil, fmt.Errorf("rabbitadmin: stomp connect %s: %w", cfg.Addr, err)
	}
	return &STOMPPublisher{conn: conn, vhost: cfg.VHost, confirm: cfg.Confirm}, nil
}

// Publish sends payload to queue. ctx is not consulted while sending: go-stomp
// bounds a send by its own timeouts (10 s, and 30 s for a receipt).
func (p *STOMPPublisher) Publish(ctx context.Context, queue string, payload []byte) (string, error) {
	return p.PublishTopic(ctx, queue, queue, payload)
}

// PublishTopic is Publish with the message id computed from topic instead of
// the queue name, as on Waldur's legacy path, whose topic is
// subscription/<sub>/offering/<offering>/<type>.
func (p *STOMPPublisher) PublishTopic(ctx context.Context, queue, topic string, payload []byte) (string, error) {
	if err := ctx.Err(); err != nil {
		return "", err
	}
	id := MessageID(p.vhost, topic, payload)
	opts := []func(*frame.Frame) error{
		stomp.SendOpt.Header("persistent", "true"),
		stomp.SendOpt.Header("durable", "true"),
		stomp.SendOpt.Header("auto-delete", "false"),
		stomp.SendOpt.Header(HeaderMessageID, id),
	}
	if p.confirm {
		opts = append(opts, stomp.SendOpt.Receipt)
	}
	if err := p.conn.Send("/amq/queue/"+queue, "application/json", payload, opts...); err != nil {
		return "", fmt.Errorf("rabbitadmin: stomp publish to %s: %w", queue, err)
	}
	return id, nil
}

// Close disconnects gracefully, which confirms every message sent before.
func (p *STOMPPublisher) Close() error {
	if err := p.conn.Disconnect(); err != nil {
		return fmt.Errorf("rabbitadmin: stomp disconnect: %w", err)
	}
	return nil
}

// AMQPPublisher publishes over AMQP 0-9-1 to the default exchange with
// publisher confirms. It is safe for concurrent use; it does not reconnect.
type AMQPPublisher struct {
	conn  *amqp.Connection
	ch    *amqp.Channel
	vhost string
}

var _ Publisher = (*AMQPPublisher)(nil)

// DialAMQP connects an AMQPPublisher to rawURL (amqp://user:pass@host:5672/)
// and vhost (empty means the URL's).
func DialAMQP(ctx context.Context, rawURL, vhost string) (*AMQPPublisher, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("rabbitadmin: parse AMQP URL: %w", err)
	}
	redacted := u.Redacted()
	// amqp091-go takes no context: the dial uses ctx, and a cancelled ctx
	// expires the socket's deadline during the handshake.
	var nc atomic.Pointer[net.Conn]
	cfg := amqp.Config{Vhost: vhost, Dial: func(network, addr string) (net.Conn, error) {
		var d net.Dialer
		c, err := d.DialContext(ctx, network, addr)
		if err != nil {
			return nil, err
		}
		_ = c.SetDeadline(time.Now().Add(30 * time.Second))
		nc.Store(&c)
		if ctx.Err() != nil { // cancelled before the Store: AfterFunc saw no conn
			_ = c.SetDeadline(time.Now())
		}
		return c, nil
	}}
	stop := context.AfterFunc(ctx, func() {
		if c := nc.Load(); c != nil {
			_ = (*c).SetDeadline(time.Now())
		}
	})
	conn, err := amqp.DialConfig(rawURL, cfg)
	if !stop() && err == nil {
		_ = conn.Close()
		err = ctx.Err()
	}
	if err != nil {
		return nil, fmt.Errorf("rabbitadmin: amqp dial %s: %w", redacted, err)
	}
	ch, err := conn.Channel()
	if err == nil {
		err = ch.Confirm(false)
	}
	if err != nil {
		_ = conn.Close()
		return nil, fmt.Errorf("rabbitadmin: amqp channel: %w", err)
	}
	return &AMQPPublisher{conn: conn, ch: ch, vhost: conn.Config.Vhost}, nil
}

// Publish sends payload to queue and waits for the broker's confirm. A nack
// (for example a full Waldur queue, which rejects new messages) is an error.
func (p *AMQPPublisher) Publish(ctx context.Context, queue string, payload []byte) (string, error) {
	return p.PublishTopic(ctx, queue, queue, payload)
}

// PublishTopic is Publish with the message id computed from topic instead of
// the queue name, as on Waldur's legacy path.
func (p *AMQPPublisher) PublishTopic(ctx context.Context, queue, topic string, payload []byte) (string, error) {
	id := MessageID(p.vhost, topic, payload)
	dc, err := p.ch.PublishWithDeferredConfirmWithContext(ctx, "", queue, true, false, amqp.Publishing{
		ContentType:  "application/json",
		DeliveryMode: amqp.Persistent,
		Headers:      amqp.Table{HeaderMessageID: id},
		Body:         payload,
	})
	if err != nil {
		return "", fmt.Errorf("rabbitadmin: amqp publish to %s: %w", queue, err)
	}
	ok, err := dc.WaitContext(ctx)
	if err != nil {
		return "", fmt.Errorf("rabbitadmin: amqp publish to %s: %w", queue, err)
	}
	if !ok {
		return "", fmt.Errorf("rabbitadmin: amqp publish to %s: broker refused the message", queue)
	}
	return id, nil
}

// Close closes the channel and the connection.
func (p *AMQPPublisher) Close() error {
	return errors.Join(p.ch.Close(), p.conn.Close())
}

// discardLogger silences go-stomp, which otherwise logs through package log.
type discardLogger struct{}

func (discardLogger) Debugf(string, ...any)   {}
func (discardLogger) Infof(string, ...any)    {}
func (discardLogger) Warningf(string, ...any) {}
func (discardLogger) Errorf(string, ...any)   {}
func (discardLogger) Debug(string)            {}
func (discardLogger) Info(string)             {}
func (discardLogger) Warning(string)          {}
func (discardLogger) Error(string)            {}
