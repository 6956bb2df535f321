// Package broker is the transport-independent core of event consumption: it
// takes messages from one RabbitMQ queue through a [Dialer] (AMQP 0-9-1 in
// package amqpsource, STOMP over WebSocket or TCP in package stompsource),
// runs a [Handler] for each, and settles each message by the handler's result.
//
//	c := broker.NewConsumer(amqpsource.Dialer{}, broker.Config{
//		Credentials: func(ctx context.Context, refresh bool) (broker.Endpoint, error) {
//			// refresh: re-run Waldur's register_queue first.
//			return broker.Endpoint{URL: "amqp://rabbit:5672", VHost: vhost,
//				Login: login, Password: token, Queue: queue}, nil
//		},
//		Handler: func(ctx context.Context, m broker.Message) error {
//			var ev event
//			if err := json.Unmarshal(m.Body, &ev); err != nil {
//				return broker.Reject(err) // malformed: dead-letter, never retry
//			}
//			return process(ctx, ev) // nil: ack; error: requeue after a delay
//		},
//		Concurrency: 8,
//	})
//	err := c.Run(ctx) // returns after ctx is done and handlers have finished
//
// # Delivery
//
// Delivery is at least once. A message is acknowledged only after its handler
// returned nil. A handler error wrapped with [Reject] rejects the message
// without requeue, so RabbitMQ dead-letters it (Waldur's queues send dead
// letters to waldur.dlq.messages). Any other error holds the message for a
// delay that grows with the number of times it failed, then requeues it, so
// a message that always fails costs one delivery per delay rather than a busy
// loop. Messages a session had not settled when it was lost go back to the
// queue and are delivered again; handlers must therefore be idempotent, and
// [Message.MessageID] (Waldur's x-message-id, a hash of queue and content)
// serves as a dedup key.
//
// # Connections
//
// Config.Concurrency is both the broker prefetch and the number of handlers
// allowed to run at once. The Consumer reconnects with jittered exponential
// backoff whenever a session fails. Before every attempt it asks
// [Credentials] for the endpoint; after the broker refused the login or the
// virtual host ([ErrAuth]) or could not find the queue ([ErrQueueNotFound]) it
// asks with refresh=true, which is the moment to call Waldur's register_queue
// again: that resets the RabbitMQ password to the current API credential and
// recreates a missing queue.
//
// [Consumer.Connected] serves readiness checks and [Consumer.Stats] exposes
// counters of connections and settlements.
package broker
