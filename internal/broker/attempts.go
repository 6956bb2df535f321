package broker

import (
	"container/list"
	"crypto/sha256"
	"encoding/hex"
	"sync"
)

// attempts counts failed handling attempts per message, so that the delay
// before a requeue grows for a message that keeps failing. Memory is bounded:
// past max entries the least recently failed message is forgotten (it then
// starts again at the shortest delay, which is harmless).
type attempts struct {
	mu    sync.Mutex
	max   int
	byKey map[string]*list.Element
	order *list.List // of *attemptEntry, most recently failed at the front
}

type attemptEntry struct {
	key      string
	failures int
}

func newAttempts(maxEntries int) *attempts {
	return &attempts{max: maxEntries, byKey: make(map[string]*list.Element), order: list.New()}
}

// failures returns how often the message failed so far.
func (a *attempts) failures(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.byKey[key]; ok {
		return e.Value.(*attemptEntry).failures
	}
	return 0
}

// fail records one more failure and returns the new count.
func (a *attempts) fail(key string) int {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.byKey[key]; ok {
		ent := e.Value.(*attemptEntry)
		ent.failures++
		a.order.MoveToFront(e)
		return ent.failures
	}
	a.byKey[key] = a.order.PushFront(&attemptEntry{key: key, failures: 1})
	for a.order.Len() > a.max {
		oldest := a.order.Back()
		a.order.Remove(oldest)
		delete(a.byKey, oldest.Value.(*attemptEntry).key)
	}
	return 1
}

// forget drops the message's record once it has been settled for good.
func (a *attempts) forget(key string) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if e, ok := a.byKey[key]; ok {
		a.order.Remove(e)
		delete(a.byKey, key)
	}
}

func (a *attempts) len() int {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.order.Len()
}

// trackingKey identifies a message across redeliveries: Waldur's message id
// where present, otherwise a digest of the body (equal bodies then share a
// count, which only affects their retry delays).
func trackingKey(m Message) string {
	if m.MessageID != "" {
		return "id:" + m.MessageID
	}
	sum := sha256.Sum256(m.Body)
	return "body:" + hex.EncodeToString(sum[:16])
}
