package api

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/portcullis-auth/portcullis/handlers"
)

// requestScope is a request's context: its deadline (lazyDeadline), the
// state handlers share (found under handlers.RequestContextKey) and the
// X-Request-Id header's value, in one allocation.
type requestScope struct {
	lazyDeadline
	req      handlers.Request
	idHeader [1]string
}

func (s *requestScope) Value(key any) any {
	if key == handlers.RequestContextKey {
		return &s.req
	}
	return s.lazyDeadline.Value(key)
}

// lazyDeadline is a context with a deadline whose timer is armed only when
// something waits for it. Most requests on the hot paths (a cached session
// answering /auth/me or /auth/verify) never call Done, and for them
// context.WithDeadline's timer, its registration with the connection's
// context and the allocations behind both were pure cost. The first Done,
// a Value once armed, or an Err past the deadline arms a real
// context.WithDeadline, which from then on answers everything, so code that
// derives from this context (database drivers) sees an ordinary one.
type lazyDeadline struct {
	parent   context.Context
	deadline time.Time
	once     sync.Once
	armed    atomic.Pointer[armedDeadline]
}

type armedDeadline struct {
	ctx    context.Context
	cancel context.CancelFunc
}

func (l *lazyDeadline) init(parent context.Context, deadline time.Time) {
	if d, ok := parent.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	l.parent, l.deadline = parent, deadline
}

// arm returns the real context, creating it on first use.
func (l *lazyDeadline) arm() context.Context {
	l.once.Do(func() {
		ctx, cancel := context.WithDeadline(l.parent, l.deadline)
		l.armed.Store(&armedDeadline{ctx: ctx, cancel: cancel})
	})
	return l.armed.Load().ctx
}

// stop releases the timer, if one was armed.
func (l *lazyDeadline) stop() {
	if a := l.armed.Load(); a != nil {
		a.cancel()
	}
}

func (l *lazyDeadline) Deadline() (time.Time, bool) { return l.deadline, true }

func (l *lazyDeadline) Done() <-chan struct{} { return l.arm().Done() }

func (l *lazyDeadline) Err() error {
	if a := l.armed.Load(); a != nil {
		return a.ctx.Err()
	}
	if err := l.parent.Err(); err != nil {
		return err
	}
	if !time.Now().Before(l.deadline) {
		return l.arm().Err()
	}
	return nil
}

func (l *lazyDeadline) Value(key any) any {
	if a := l.armed.Load(); a != nil {
		return a.ctx.Value(key)
	}
	return l.parent.Value(key)
}
