package siteagent

import (
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

// dedupClock is a manual clock for the dedup window.
type dedupClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *dedupClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *dedupClock) advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestDedupForgetsAfterTheWindow(t *testing.T) {
	clk := &dedupClock{now: time.Unix(1_800_000_000, 0)}
	d := newDedup(time.Hour, 0, clk.Now)
	id := "0123456789abcdef0123456789abcdef"
	assert.False(t, d.contains(id))
	d.add(id)
	assert.True(t, d.contains(id))
	assert.True(t, d.contains("0123456789ABCDEF0123456789ABCDEF"), "hex case does not matter")
	clk.advance(59 * time.Minute)
	d.add("later")
	assert.True(t, d.contains(id))
	clk.advance(time.Minute)
	assert.False(t, d.contains(id), "forgotten after the window")
	assert.True(t, d.contains("later"))
	assert.Equal(t, 1, d.len())
	assert.False(t, d.contains(""), "no id, no duplicate")
}

func TestDedupIsBoundedInSize(t *testing.T) {
	clk := &dedupClock{now: time.Unix(1_800_000_000, 0)}
	d := newDedup(time.Hour, 3000, clk.Now)
	for i := range 5000 {
		d.add(fmt.Sprint("id-", i))
		if i == 2500 {
			d.add("id-0") // already there: kept, not renewed
		}
	}
	assert.Equal(t, 3000, d.len())
	assert.False(t, d.contains("id-0"))
	assert.False(t, d.contains("id-1999"), "the oldest went first")
	assert.True(t, d.contains("id-2000"))
	assert.True(t, d.contains("id-4999"))
}

func TestDedupDisabled(t *testing.T) {
	for _, d := range []*dedup{newDedup(-1, 0, time.Now), newDedup(0, -1, time.Now)} {
		d.add("x")
		assert.False(t, d.contains("x"))
		assert.Equal(t, 0, d.len())
	}
}

func TestObjectTypeFromQueue(t *testing.T) {
	tests := map[string]string{
		"subscription_0123_offering_4567_order":                    "order",
		"subscription_0123_offering_4567_resource_periodic_limits": "resource_periodic_limits",
		"consumer_0123":                     "",
		"subscription_0123_offering_4567":   "",
		"subscription_0123_offering_4567_":  "",
		"subscription_0123_offering__order": "",
		"something_offering_4567_order":     "",
	}
	for name, want := range tests {
		assert.Equal(t, want, string(objectTypeFromQueue(name)), name)
	}
}

func TestWebSTOMPURL(t *testing.T) {
	tests := []struct{ in, want string }{
		{"https://waldur.example.org", "wss://waldur.example.org/rmqws-stomp"},
		{"https://waldur.example.org/api/", "wss://waldur.example.org/rmqws-stomp"},
		{"http://127.0.0.1:8000", "ws://127.0.0.1:8000/rmqws-stomp"},
	}
	for _, tt := range tests {
		got, err := webSTOMPURL(tt.in)
		assert.NoError(t, err)
		assert.Equal(t, tt.want, got)
	}
	for _, bad := range []string{"", "waldur.example.org", "ftp://host/"} {
		_, err := webSTOMPURL(bad)
		assert.Error(t, err, bad)
	}
}

func BenchmarkDedup(b *testing.B) {
	d := newDedup(time.Hour, DefaultDedupSize, time.Now)
	ids := make([]string, 1<<16)
	for i := range ids {
		ids[i] = fmt.Sprintf("%032x", i*7919)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for i := range b.N {
		id := ids[i&(len(ids)-1)]
		if !d.contains(id) {
			d.add(id)
		}
	}
}
