// Package amqpsource consumes a RabbitMQ queue over AMQP 0-9-1
// (github.com/rabbitmq/amqp091-go) for package broker.
//
// [Dialer] connects to amqp://host:5672 or amqps://host:5671 with the
// endpoint's virtual host, login and password, sets the channel's prefetch
// (basic.qos) to the consumer's concurrency, and consumes the existing queue
// by name with manual acknowledgements. It never declares the queue: Waldur
// creates it with its own arguments, and a declaration with other arguments
// would fail with PRECONDITION_FAILED. A broker.Consumer supervises the
// sessions, reconnecting and refreshing credentials:
//
//	c := amqpsource.New(broker.Config{
//		Credentials: broker.StaticCredentials(broker.Endpoint{
//			URL: "amqp://rabbit.example.org:5672", VHost: vhost,
//			Login: login, Password: token, Queue: queue,
//		}),
//		Handler:     handle,
//		Concurrency: 8,
//	})
//	err := c.Run(ctx)
//
// Errors are classified for the consumer: ACCESS_REFUSED (403, a refused
// login or a refused resource) and NOT_ALLOWED (530, a refused or missing
// virtual host) wrap broker.ErrAuth; NOT_FOUND (404, a missing queue) wraps
// broker.ErrQueueNotFound. Every session registers its own close and cancel
// notifications, as amqp091-go requires fresh ones per connection and
// channel; a session ends on a closed connection, a closed channel, or a
// broker-side consumer cancellation (the queue was deleted).
//
// Waldur does not expose AMQP through its Helm chart; this transport serves
// operators who expose port 5672/5671, and tests.
package amqpsource
