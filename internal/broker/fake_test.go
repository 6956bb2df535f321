package broker_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"

	"github.com/gsv-platform/waldur-agent-go/internal/broker"
)

// settlement records how a fake delivery was settled.
type settlement struct {
	id   string
	kind string // "ack", "requeue", "reject"
}

// fakeSession is an in-memory broker.Session fed by the test.
type fakeSession struct {
	deliveries chan broker.Delivery
	settled    chan settlement
	done       chan struct{}
	closeOnce  sync.Once
	reason     error
	stopped    atomic.Bool
	closed     atomic.Bool
}

func newFakeSession() *fakeSession {
	return &fakeSession{
		deliveries: make(chan broker.Delivery),
		settled:    make(chan settlement, 100),
		done:       make(chan struct{}),
	}
}

func (s *fakeSession) Next(ctx context.Context) (broker.Delivery, error) {
	select {
	case d := <-s.deliveries:
		return d, nil
	case <-s.done:
		return nil, s.reason
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (s *fakeSession) Done() <-chan struct{} { return s.done }

func (s *fakeSession) StopConsuming(context.Context) error {
	s.stopped.Store(true)
	return nil
}

func (s *fakeSession) Close() error {
	s.end(errors.New("closed"))
	s.closed.Store(true)
	return nil
}

// end ends the session as the broker would, with reason as Next's error.
func (s *fakeSession) end(reason error) {
	s.closeOnce.Do(func() {
		s.reason = reason
		close(s.done)
	})
}

// deliver hands m to the consumer; it blocks until the consumer took it.
func (s *fakeSession) deliver(m broker.Message) {
	s.deliveries <- &fakeDelivery{s: s, m: m}
}

type fakeDelivery struct {
	s *fakeSession
	m broker.Message
}

func (d *fakeDelivery) Message() broker.Message { return d.m }
func (d *fakeDelivery) Ack() error              { return d.settle("ack") }
func (d *fakeDelivery) Requeue() error          { return d.settle("requeue") }
func (d *fakeDelivery) Reject() error           { return d.settle("reject") }

func (d *fakeDelivery) settle(kind string) error {
	select {
	case <-d.s.done:
		return errors.New("session ended")
	default:
	}
	d.s.settled <- settlement{id: d.m.MessageID, kind: kind}
	return nil
}

// fakeDialer hands out queued sessions or errors, recording each call.
type fakeDialer struct {
	results chan dialResult
	calls   chan broker.Endpoint
}

type dialResult struct {
	sess *fakeSession
	err  error
}

func newFakeDialer() *fakeDialer {
	return &fakeDialer{results: make(chan dialResult, 10), calls: make(chan broker.Endpoint, 10)}
}

func (f *fakeDialer) Dial(ctx context.Context, ep broker.Endpoint, _ int) (broker.Session, error) {
	f.calls <- ep
	select {
	case r := <-f.results:
		if r.err != nil {
			return nil, r.err
		}
		return r.sess, nil
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}
