package api

import (
	"context"
	"errors"
	"runtime"
	"testing"
	"time"
)

// The lazy deadline behaves as context.WithDeadline: it ends at the
// deadline once waited for, follows its parent's cancellation, reports
// DeadlineExceeded past the deadline even if nobody waited, and children
// derived from it are cancelled with it without a goroutine per child.
func TestLazyDeadline(t *testing.T) {
	t.Run("the deadline ends a waiter", func(t *testing.T) {
		ctx := newLazyDeadline(context.Background(), time.Now().Add(50*time.Millisecond))
		defer ctx.stop()
		select {
		case <-ctx.Done():
		case <-time.After(5 * time.Second):
			t.Fatal("Done never closed after the deadline")
		}
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err = %v, want DeadlineExceeded", ctx.Err())
		}
	})
	t.Run("past the deadline without a waiter", func(t *testing.T) {
		ctx := newLazyDeadline(context.Background(), time.Now().Add(-time.Millisecond))
		defer ctx.stop()
		if !errors.Is(ctx.Err(), context.DeadlineExceeded) {
			t.Fatalf("Err = %v, want DeadlineExceeded", ctx.Err())
		}
		select {
		case <-ctx.Done():
		default:
			t.Fatal("Err reported the deadline but Done is open")
		}
	})
	t.Run("the parent's cancellation", func(t *testing.T) {
		parent, cancel := context.WithCancel(context.Background())
		ctx := newLazyDeadline(parent, time.Now().Add(time.Hour))
		defer ctx.stop()
		if ctx.Err() != nil {
			t.Fatal("Err before anything happened")
		}
		cancel()
		if !errors.Is(ctx.Err(), context.Canceled) {
			t.Fatalf("Err = %v after the parent's cancel, want Canceled", ctx.Err())
		}
		<-ctx.Done()
	})
	t.Run("an earlier parent deadline wins", func(t *testing.T) {
		parent, cancel := context.WithDeadline(context.Background(), time.Now().Add(time.Minute))
		defer cancel()
		ctx := newLazyDeadline(parent, time.Now().Add(time.Hour))
		if d, _ := ctx.Deadline(); d.After(time.Now().Add(2 * time.Minute)) {
			t.Fatalf("Deadline = %v, want the parent's", d)
		}
	})
	t.Run("values and derived contexts", func(t *testing.T) {
		type key struct{}
		parent, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
		ctx := newLazyDeadline(parent, time.Now().Add(time.Hour))
		defer ctx.stop()
		if ctx.Value(key{}) != "v" {
			t.Fatal("a parent's value is lost")
		}
		before := runtime.NumGoroutine()
		children := make([]context.Context, 50)
		for i := range children {
			var stop context.CancelFunc
			children[i], stop = context.WithCancel(ctx)
			defer stop()
		}
		if n := runtime.NumGoroutine() - before; n > 5 {
			t.Fatalf("%d goroutines for 50 derived contexts: propagation is not direct", n)
		}
		if ctx.Value(key{}) != "v" {
			t.Fatal("a parent's value is lost once armed")
		}
		cancel()
		for _, c := range children {
			select {
			case <-c.Done():
			case <-time.After(5 * time.Second):
				t.Fatal("a derived context outlived the parent's cancellation")
			}
		}
	})
}

func newLazyDeadline(parent context.Context, deadline time.Time) *lazyDeadline {
	l := &lazyDeadline{}
	l.init(parent, deadline)
	return l
}
