package broker

import (
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestAttemptsCountsAndForgets(t *testing.T) {
	a := newAttempts(10)
	assert.Equal(t, 0, a.failures("x"))
	assert.Equal(t, 1, a.fail("x"))
	assert.Equal(t, 2, a.fail("x"))
	assert.Equal(t, 2, a.failures("x"))
	a.forget("x")
	assert.Equal(t, 0, a.failures("x"))
	a.forget("never-seen")
	assert.Equal(t, 0, a.len())
}

func TestAttemptsEvictsLeastRecentlyFailed(t *testing.T) {
	a := newAttempts(3)
	for i := range 3 {
		a.fail(fmt.Sprint(i))
	}
	a.fail("0") // 0 is now the most recent; 1 is the oldest
	a.fail("3")
	assert.Equal(t, 3, a.len())
	assert.Equal(t, 0, a.failures("1"), "oldest evicted")
	assert.Equal(t, 2, a.failures("0"))
	assert.Equal(t, 1, a.failures("2"))
	assert.Equal(t, 1, a.failures("3"))
}

func TestTrackingKey(t *testing.T) {
	withID := Message{MessageID: "abc", Body: []byte("1")}
	assert.Equal(t, trackingKey(withID), trackingKey(Message{MessageID: "abc", Body: []byte("2")}), "id wins over body")
	noID := Message{Body: []byte(`{"a":1}`)}
	assert.Equal(t, trackingKey(noID), trackingKey(Message{Body: []byte(`{"a":1}`)}))
	assert.NotEqual(t, trackingKey(noID), trackingKey(Message{Body: []byte(`{"a":2}`)}))
	assert.NotEqual(t, trackingKey(Message{MessageID: "x"}), trackingKey(Message{Body: []byte("x")}))
}

func BenchmarkAttemptsFail(b *testing.B) {
	a := newAttempts(DefaultTrackedMessages)
	keys := make([]string, 2*DefaultTrackedMessages)
	for i := range keys {
		keys[i] = fmt.Sprint("id:", i)
	}
	i := 0
	for b.Loop() {
		a.fail(keys[i%len(keys)])
		i++
	}
}
