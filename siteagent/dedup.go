package siteagent

import (
	"crypto/sha256"
	"encoding/hex"
	"sync"
	"time"
)

// dedup remembers the message ids of events that were handled successfully,
// so that a copy arriving later (a redelivery after a lost acknowledgement,
// the legacy and the unified queue both carrying an event, a reminder with
// the same content) costs no REST call. Waldur's x-message-id is a hash of
// the queue and the content, so equal content to the same queue has the
// same id.
//
// The memory is bounded in time (window: ids older than it are forgotten,
// like messages older than the queue's TTL) and in size (max ids; the
// oldest go first). Both bounds only make a duplicate slip through, which the
// idempotent processing absorbs. Each id costs about 60 bytes.
//
// Only successes are recorded: an event whose handling failed must be
// processed again when it comes back.
type dedup struct {
	window time.Duration
	max    int
	now    func() time.Time

	mu   sync.Mutex
	seen map[dedupKey]int64 // id → when it was recorded (unix ns)
	// fifo holds the ids in the order they were recorded, as a ring of
	// len(fifo) slots starting at head; it grows up to max.
	fifo []dedupEntry
	head int
	n    int
}

type dedupKey [16]byte

type dedupEntry struct {
	key dedupKey
	at  int64
}

// newDedup returns a dedup window, or nil (which remembers nothing) when
// window or max is negative.
func newDedup(window time.Duration, maxIDs int, now func() time.Time) *dedup {
	if window < 0 || maxIDs < 0 {
		return nil
	}
	if window == 0 {
		window = DefaultDedupWindow
	}
	if maxIDs == 0 {
		maxIDs = DefaultDedupSize
	}
	return &dedup{window: window, max: maxIDs, now: now, seen: make(map[dedupKey]int64)}
}

// keyOf turns a message id into a compact key: Waldur's ids are 32 hex
// digits, which fit 16 bytes exactly; anything else is hashed.
func keyOf(id string) dedupKey {
	var k dedupKey
	if len(id) == 2*len(k) {
		if _, err := hex.Decode(k[:], []byte(id)); err == nil {
			return k
		}
	}
	sum := sha256.Sum256([]byte(id))
	copy(k[:], sum[:])
	return k
}

// contains reports whether id was recorded within the window.
func (d *dedup) contains(id string) bool {
	if d == nil || id == "" {
		return false
	}
	k := keyOf(id)
	now := d.now().UnixNano()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(now)
	_, ok := d.seen[k]
	return ok
}

// add records id as handled.
func (d *dedup) add(id string) {
	if d == nil || id == "" {
		return
	}
	k := keyOf(id)
	now := d.now().UnixNano()
	d.mu.Lock()
	defer d.mu.Unlock()
	d.expire(now)
	if _, ok := d.seen[k]; ok {
		return // two copies handled at once: keep the first record
	}
	if d.n == d.max {
		d.evictOldest()
	}
	if d.n == len(d.fifo) {
		d.grow()
	}
	d.fifo[(d.head+d.n)%len(d.fifo)] = dedupEntry{key: k, at: now}
	d.n++
	d.seen[k] = now
}

// expire forgets the ids recorded before the window.
func (d *dedup) expire(now int64) {
	limit := now - int64(d.window)
	for d.n > 0 && d.fifo[d.head].at <= limit {
		d.evictOldest()
	}
}

func (d *dedup) evictOldest() {
	e := d.fifo[d.head]
	delete(d.seen, e.key)
	d.fifo[d.head] = dedupEntry{}
	d.head = (d.head + 1) % len(d.fifo)
	d.n--
}

// grow doubles the ring (up to max), keeping the order.
func (d *dedup) grow() {
	size := min(max(2*len(d.fifo), 1024), d.max)
	fifo := make([]dedupEntry, size)
	for i := range d.n {
		fifo[i] = d.fifo[(d.head+i)%len(d.fifo)]
	}
	d.fifo, d.head = fifo, 0
}

// len returns how many ids are remembered.
func (d *dedup) len() int {
	if d == nil {
		return 0
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	return d.n
}
