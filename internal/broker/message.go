package broker

import (
	"context"
	"errors"
)

// HeaderMessageID is the header in which Waldur's publisher puts its message
// id: the first 32 hex digits of sha256("<vhost>:<topic>:<payload>"). Equal
// content sent to the same queue gets the same id, which makes it a dedup key.
const HeaderMessageID = "x-message-id"

// Message is one message received from a queue, independent of the transport
// that carried it.
type Message struct {
	// Body is the message payload; Waldur sends one UTF-8 JSON object.
	Body []byte
	// MessageID is the HeaderMessageID header, or "" when absent. It is not
	// the broker's own delivery id (STOMP "message-id"), which changes on
	// every redelivery.
	MessageID string
	// ContentType is the content type the publisher set, if any.
	ContentType string
	// Headers holds the message's headers as strings (custom headers such as
	// x-message-id, and transport headers such as STOMP's destination).
	Headers map[string]string
	// Redelivered reports that the broker delivered the message before
	// (to this or another consumer) without an acknowledgement.
	Redelivered bool
	// Attempt counts the deliveries of this message that this consumer has
	// handled, starting at 1. It grows on each failed attempt that was
	// requeued, as far as the consumer's bounded memory of failures reaches.
	Attempt int
}

// Handler processes one message. Its result decides the acknowledgement:
//
//   - nil: the message is acknowledged and leaves the queue;
//   - an error wrapped with [Reject] (errors.Is(err, ErrReject)): the message
//     is rejected without requeue, so the broker dead-letters it (for
//     malformed input that no retry can fix);
//   - any other error: the message is held for a backoff delay that grows
//     with its failed attempts, then requeued for another try.
//
// ctx is cancelled when the consumer's shutdown timeout expires; a handler
// should return promptly then. Handlers run concurrently, up to the
// consumer's Concurrency.
type Handler func(ctx context.Context, m Message) error

// ErrReject marks an error that must not be retried: the message is rejected
// without requeue and goes to the queue's dead-letter destination.
var ErrReject = errors.New("broker: message rejected")

// Reject wraps err so that the consumer rejects the message without requeue.
// errors.Is(Reject(err), ErrReject) and errors.Is(Reject(err), err) both hold.
// A nil err still yields a rejecting error.
func Reject(err error) error {
	return &rejectError{err: err}
}

// IsReject reports whether err asks for the message to be rejected.
func IsReject(err error) bool { return errors.Is(err, ErrReject) }

type rejectError struct{ err error }

func (e *rejectError) Error() string {
	if e.err == nil {
		return ErrReject.Error()
	}
	return ErrReject.Error() + ": " + e.err.Error()
}

func (e *rejectError) Unwrap() []error {
	if e.err == nil {
		return []error{ErrReject}
	}
	return []error{ErrReject, e.err}
}
