package keyedpool

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func TestDoSerialisesSameKey(t *testing.T) {
	p := New(8)
	defer p.Close()
	var running, maxRunning atomic.Int32
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			err := p.Do(context.Background(), "same", func(context.Context) error {
				n := running.Add(1)
				for {
					m := maxRunning.Load()
					if n <= m || maxRunning.CompareAndSwap(m, n) {
						break
					}
				}
				running.Add(-1)
				return nil
			})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), maxRunning.Load(), "work for one key must never overlap")
	assert.Empty(t, p.keys, "key entries are dropped when unused")
}

func TestDoRunsDifferentKeysConcurrentlyUpToBound(t *testing.T) {
	const bound = 3
	p := New(bound)
	defer p.Close()
	entered := make(chan struct{})
	release := make(chan struct{})
	var wg sync.WaitGroup
	for i := range bound + 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_ = p.Do(context.Background(), fmt.Sprint(i), func(context.Context) error {
				entered <- struct{}{}
				<-release
				return nil
			})
		}()
	}
	for range bound {
		<-entered
	}
	// All slots are taken: the remaining two wait.
	select {
	case <-entered:
		t.Fatal("more work ran than the bound allows")
	default:
	}
	assert.Equal(t, bound, p.Running())
	close(release)
	for range 2 {
		<-entered
	}
	wg.Wait()
}

func TestDoRecoversPanics(t *testing.T) {
	p := New(1)
	defer p.Close()
	err := p.Do(context.Background(), "k", func(context.Context) error { panic("boom") })
	var pe *PanicError
	require.ErrorAs(t, err, &pe)
	assert.Equal(t, "boom", pe.Value)
	assert.Contains(t, string(pe.Stack), "keyedpool")
	// The pool still works afterwards.
	assert.NoError(t, p.Do(context.Background(), "k", func(context.Context) error { return nil }))
}

func TestDoReturnsWorkError(t *testing.T) {
	p := New(1)
	defer p.Close()
	want := errors.New("backend down")
	assert.ErrorIs(t, p.Do(context.Background(), "k", func(context.Context) error { return want }), want)
}

func TestDoGivesUpWhenContextEndsWhileWaiting(t *testing.T) {
	p := New(1)
	defer p.Close()
	hold := make(chan struct{})
	started := make(chan struct{})
	go func() {
		_ = p.Do(context.Background(), "k", func(context.Context) error { close(started); <-hold; return nil })
	}()
	<-started
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	ran := false
	err := p.Do(ctx, "k", func(context.Context) error { ran = true; return nil })
	assert.ErrorIs(t, err, context.Canceled)
	assert.False(t, ran)
	close(hold)
}

func TestGoReportsResultsAndCloseWaits(t *testing.T) {
	p := New(2)
	var mu sync.Mutex
	var results []error
	for i := range 20 {
		ok := p.Go(context.Background(), fmt.Sprint(i%3), func(context.Context) error {
			if i%2 == 0 {
				return errors.New("odd")
			}
			return nil
		}, func(err error) {
			mu.Lock()
			results = append(results, err)
			mu.Unlock()
		})
		require.True(t, ok)
	}
	p.Close()
	assert.Len(t, results, 20)
	assert.False(t, p.Go(context.Background(), "x", func(context.Context) error { return nil }, nil), "closed pool refuses work")
}

func BenchmarkDo(b *testing.B) {
	p := New(8)
	defer p.Close()
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			_ = p.Do(ctx, fmt.Sprint(i&63), func(context.Context) error { return nil })
		}
	})
}

// GoWait stops waiting for admission when wait ends, while admitted work
// keeps its own, longer-lived context.
func TestGoWaitGivesUpWhenTheProducerStops(t *testing.T) {
	p := New(1) // admits 4 pending calls
	release := make(chan struct{})
	work, cancelWork := context.WithCancel(context.Background())
	defer cancelWork()
	var ran atomic.Int64
	for i := range 4 {
		require.True(t, p.GoWait(context.Background(), work, fmt.Sprint(i), func(ctx context.Context) error {
			<-release
			ran.Add(1)
			return ctx.Err()
		}, nil))
	}
	wait, stop := context.WithCancel(context.Background())
	stop() // the producer was told to stop; the pool is full
	assert.False(t, p.GoWait(wait, work, "late", func(context.Context) error { return nil }, nil))
	close(release)
	p.Close()
	assert.Equal(t, int64(4), ran.Load(), "admitted work ran with the work context")
}
