package broker

import "context"

// Dialer opens consumer sessions over one transport. Packages amqpsource and
// stompsource implement it; a Consumer supervises the sessions.
type Dialer interface {
	// Dial connects to ep and starts consuming ep.Queue with at most
	// prefetch unacknowledged messages outstanding. ctx bounds the dial
	// only, not the session. A refused login or virtual host wraps ErrAuth;
	// a missing queue wraps ErrQueueNotFound.
	Dial(ctx context.Context, ep Endpoint, prefetch int) (Session, error)
}

// DialerFunc adapts a function to a Dialer.
type DialerFunc func(ctx context.Context, ep Endpoint, prefetch int) (Session, error)

// Dial calls f.
func (f DialerFunc) Dial(ctx context.Context, ep Endpoint, prefetch int) (Session, error) {
	return f(ctx, ep, prefetch)
}

// Session is one live connection consuming one queue. A Consumer calls Next
// from one goroutine, and acknowledges deliveries from others.
type Session interface {
	// Next waits for the next delivery. It returns ctx.Err() when ctx is
	// done, and once the session has ended an error saying why, wrapping
	// ErrAuth or ErrQueueNotFound where they apply.
	Next(ctx context.Context) (Delivery, error)
	// Done is closed when the session has ended, by Close or by the broker.
	Done() <-chan struct{}
	// StopConsuming asks the broker to stop sending messages, where the
	// transport can do so without invalidating outstanding deliveries; they
	// can still be acknowledged. Next may still return deliveries the
	// transport had buffered.
	StopConsuming(ctx context.Context) error
	// Close ends the session; unacknowledged messages return to the queue.
	// It is safe to call more than once.
	Close() error
}

// Delivery is a message received in a Session, to be settled exactly once.
// Settling fails once the session has ended; the broker then redelivers the
// message.
type Delivery interface {
	// Message returns the message in transport-independent form.
	Message() Message
	// Ack removes the message from the queue.
	Ack() error
	// Requeue returns the message to the queue for another delivery.
	Requeue() error
	// Reject drops the message without requeue; the queue dead-letters it.
	Reject() error
}
