package broker

import (
	"context"
	"crypto/tls"
	"errors"
	"log/slog"
	"net/url"
)

// Endpoint says where and as whom a consumer connects, and which queue it
// consumes. Waldur's register_queue answer fills VHost, Login (rmq_username)
// and Queue (queue_name); the password is the API credential used for that
// call.
type Endpoint struct {
	// URL locates the broker. Its scheme picks the transport's variant:
	// amqp://host:5672 and amqps://host:5671 for AMQP 0-9-1;
	// ws://host:15674/ws and wss://host/rmqws-stomp for STOMP over WebSocket;
	// stomp://host:61613 and stomp+ssl://host:61614 for STOMP over TCP.
	// Credentials in the URL are used only when Login is empty.
	URL string
	// VHost is the RabbitMQ virtual host (Waldur: the owner's user UUID hex).
	// Empty means the one in the URL's path for AMQP, and "/" otherwise.
	VHost string
	// Login and Password authenticate the connection.
	Login    string
	Password string
	// Queue is the existing queue to consume (Waldur: consumer_<uuid hex>).
	// Consumers never declare it: its arguments are Waldur's to choose.
	Queue string
	// TLS configures TLS for amqps, wss and stomp+ssl URLs. Nil means the
	// system roots and the URL's host name.
	TLS *tls.Config
}

// String describes the endpoint for logs and errors, without the password.
func (e Endpoint) String() string {
	return redactURL(e.URL) + " vhost=" + e.VHost + " login=" + e.Login + " queue=" + e.Queue
}

// LogValue makes slog print the endpoint without its password.
func (e Endpoint) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("url", redactURL(e.URL)),
		slog.String("vhost", e.VHost),
		slog.String("login", e.Login),
		slog.String("queue", e.Queue),
	)
}

func redactURL(raw string) string {
	u, err := url.Parse(raw)
	if err != nil {
		return "<invalid URL>"
	}
	return u.Redacted()
}

// Credentials returns the endpoint to connect to. Consumers call it before
// every connection attempt. refresh is true after the broker refused the
// credentials (AMQP ACCESS_REFUSED or NOT_ALLOWED, a STOMP ERROR frame about
// the login or the virtual host) or said the queue does not exist: the
// implementation should then obtain fresh ones — for Waldur, call
// register_queue again, which resets the RabbitMQ password and recreates a
// missing queue, possibly under a new name.
type Credentials func(ctx context.Context, refresh bool) (Endpoint, error)

// StaticCredentials returns Credentials that always answer ep.
func StaticCredentials(ep Endpoint) Credentials {
	return func(context.Context, bool) (Endpoint, error) { return ep, nil }
}

// Errors that transports wrap so the consumer can tell why a session failed.
var (
	// ErrAuth means the broker refused the login, the password or the
	// virtual host.
	ErrAuth = errors.New("broker: access refused")
	// ErrQueueNotFound means the queue does not exist.
	ErrQueueNotFound = errors.New("broker: queue not found")
)

// NeedsRefresh reports whether err calls for fresh Credentials before the
// next connection attempt.
func NeedsRefresh(err error) bool {
	return errors.Is(err, ErrAuth) || errors.Is(err, ErrQueueNotFound)
}
