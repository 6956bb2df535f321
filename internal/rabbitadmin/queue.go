package rabbitadmin

import (
	"context"
	"fmt"
	"net/http"
)

// DeadLetterQueue is the queue Waldur's queues dead-letter into (through the
// default exchange), in the same vhost. Without it dead letters are dropped.
const DeadLetterQueue = "waldur.dlq.messages"

// WaldurQueueArguments returns the arguments Waldur declares every event
// queue with (waldur-mastermind SUBSCRIPTION_QUEUE_ARGUMENTS): messages
// expire after one hour, the queue holds at most 10 000 messages and rejects
// new ones beyond that, and rejected or expired messages are dead-lettered to
// DeadLetterQueue. A consumer must never declare the queue with other
// arguments: RabbitMQ would answer PRECONDITION_FAILED.
func WaldurQueueArguments() map[string]any {
	return map[string]any{
		"x-message-ttl":             3600000,
		"x-max-length":              10000,
		"x-overflow":                "reject-publish-dlx",
		"x-dead-letter-exchange":    "",
		"x-dead-letter-routing-key": DeadLetterQueue,
	}
}

// QueueSpec describes a queue to declare.
type QueueSpec struct {
	Durable    bool           `json:"durable"`
	AutoDelete bool           `json:"auto_delete"`
	Arguments  map[string]any `json:"arguments"`
}

// DeclareQueue declares a queue. Declaring an existing queue with the same
// spec is a no-op; with another spec RabbitMQ answers 400
// (PRECONDITION_FAILED). RabbitMQ: PUT /api/queues/{vhost}/{name}.
func (c *Client) DeclareQueue(ctx context.Context, vhost, name string, spec QueueSpec) error {
	if spec.Arguments == nil {
		spec.Arguments = map[string]any{}
	}
	return c.do(ctx, http.MethodPut, path("queues", vhost, name), nil, spec, nil)
}

// DeclareWaldurQueue declares name the way Waldur does (durable, not
// auto-delete, WaldurQueueArguments) together with the plain durable
// DeadLetterQueue it dead-letters into.
func (c *Client) DeclareWaldurQueue(ctx context.Context, vhost, name string) error {
	if err := c.DeclareQueue(ctx, vhost, DeadLetterQueue, QueueSpec{Durable: true}); err != nil {
		return err
	}
	return c.DeclareQueue(ctx, vhost, name, QueueSpec{Durable: true, Arguments: WaldurQueueArguments()})
}

// DeleteQueue deletes a queue and its messages; consumers get a cancel
// notification. A missing queue is not an error.
// RabbitMQ: DELETE /api/queues/{vhost}/{name}.
func (c *Client) DeleteQueue(ctx context.Context, vhost, name string) error {
	return ignoreNotFound(c.do(ctx, http.MethodDelete, path("queues", vhost, name), nil, nil, nil))
}

// QueueInfo is the state of a queue. The message counts come from RabbitMQ's
// statistics, which are refreshed every few seconds (collect_statistics_interval,
// 5 s by default); use GetMessages for an exact look.
type QueueInfo struct {
	Name                   string         `json:"name"`
	VHost                  string         `json:"vhost"`
	Durable                bool           `json:"durable"`
	AutoDelete             bool           `json:"auto_delete"`
	Arguments              map[string]any `json:"arguments"`
	Messages               int            `json:"messages"`
	MessagesReady          int            `json:"messages_ready"`
	MessagesUnacknowledged int            `json:"messages_unacknowledged"`
	Consumers              int            `json:"consumers"`
}

// Queue returns a queue's state; a missing queue gives an error matching
// ErrNotFound. RabbitMQ: GET /api/queues/{vhost}/{name}.
func (c *Client) Queue(ctx context.Context, vhost, name string) (QueueInfo, error) {
	var q QueueInfo
	err := c.do(ctx, http.MethodGet, path("queues", vhost, name), nil, nil, &q)
	return q, err
}

// QueuedMessage is a message fetched with GetMessages.
type QueuedMessage struct {
	Payload      string `json:"payload"`
	Encoding     string `json:"payload_encoding"` // "string" or "base64"
	Exchange     string `json:"exchange"`
	RoutingKey   string `json:"routing_key"`
	Redelivered  bool   `json:"redelivered"`
	MessageCount int    `json:"message_count"` // messages left in the queue
	Properties   struct {
		ContentType  string         `json:"content_type"`
		DeliveryMode int            `json:"delivery_mode"`
		Headers      map[string]any `json:"headers"`
	} `json:"properties"`
}

// MessageID returns the message's x-message-id header, or "".
func (m QueuedMessage) MessageID() string {
	s, _ := m.Properties.Headers[HeaderMessageID].(string)
	return s
}

// GetMessages takes up to count messages from the head of a queue. With
// requeue they are put back (marked redelivered); without, they are removed.
// Unlike QueueInfo's counts this is exact at the moment of the call. Meant
// for tests and diagnostics. RabbitMQ: POST /api/queues/{vhost}/{name}/get.
func (c *Client) GetMessages(ctx context.Context, vhost, queue string, count int, requeue bool) ([]QueuedMessage, error) {
	mode := "ack_requeue_false"
	if requeue {
		mode = "ack_requeue_true"
	}
	in := map[string]any{"count": count, "ackmode": mode, "encoding": "auto", "truncate": 1 << 20}
	var out []QueuedMessage
	if err := c.do(ctx, http.MethodPost, path("queues", vhost, queue, "get"), nil, in, &out); err != nil {
		return nil, err
	}
	return out, nil
}

// PurgeQueue removes every ready message from a queue.
// RabbitMQ: DELETE /api/queues/{vhost}/{name}/contents.
func (c *Client) PurgeQueue(ctx context.Context, vhost, name string) error {
	if err := c.do(ctx, http.MethodDelete, path("queues", vhost, name, "contents"), nil, nil, nil); err != nil {
		return fmt.Errorf("rabbitadmin: purge %s: %w", name, err)
	}
	return nil
}
