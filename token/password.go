package token

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"runtime/debug"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/bcrypt"
)

// Argon2Params are the argon2id parameters for new hashes: 19 MiB, t=2, p=1
// (OWASP's recommended minimum).
var Argon2Params = &argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// ErrBusy is returned when the hashing queue is full; callers answer 503.
var ErrBusy = errors.New("password hashing queue is full")

// Hasher hashes and verifies passwords on a bounded number of workers with a
// bounded wait queue, so a login flood queues and then sheds instead of
// allocating 19 MiB per request without limit.
type Hasher struct {
	slots   chan struct{}
	waiting atomic.Int64
	queue   int64
	params  *argon2id.Params
	dummy   string
	// OnWait, when set, is told how long each queued caller waited.
	OnWait func(time.Duration)
	// BurstGCPercent, when positive, is the garbage collector's GOGC while
	// hashes are running: each hash allocates 19 MiB, which on a small heap
	// starts a collection nearly every time. The previous setting returns
	// once hashing has been idle for idleFreeDelay. Set it before use; it
	// changes a process-wide setting, so one Hasher per process should.
	BurstGCPercent int
	// BurstMemoryLimit, when positive, is the soft memory limit during such a
	// burst, so the higher GOGC cannot let the heap grow past it.
	BurstMemoryLimit int64

	// active counts hashes running or queued; when it drops to zero the
	// hashing memory is handed back to the OS shortly after (see release).
	active    atomic.Int64
	mu        sync.Mutex
	freeTimer *time.Timer
	inBurst   bool
	prevGC    int
	prevLimit int64
}

// idleFreeDelay is how long hashing must have been idle before its memory
// is returned to the operating system.
const idleFreeDelay = 500 * time.Millisecond

// NewHasher returns a Hasher running at most workers hashes at once with at
// most queue callers waiting. params nil means Argon2Params.
func NewHasher(workers, queue int, params *argon2id.Params) *Hasher {
	if params == nil {
		params = Argon2Params
	}
	h := &Hasher{slots: make(chan struct{}, max(workers, 1)), queue: int64(max(queue, 0)), params: params}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	// The dummy hash gives unknown emails the same cost as wrong passwords.
	h.dummy, _ = argon2id.CreateHash(hex.EncodeToString(secret), params)
	return h
}

// Waiting returns how many callers are queued for a worker.
func (h *Hasher) Waiting() int64 { return h.waiting.Load() }

func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	if h.active.Add(1) == 1 && h.BurstGCPercent > 0 {
		h.mu.Lock()
		if !h.inBurst {
			h.inBurst = true
			h.prevGC = debug.SetGCPercent(h.BurstGCPercent)
			if h.prevGC < 0 { // GOGC=off stays off
				debug.SetGCPercent(h.prevGC)
			}
			h.prevLimit = debug.SetMemoryLimit(-1)
			if h.BurstMemoryLimit > 0 && h.BurstMemoryLimit < h.prevLimit {
				debug.SetMemoryLimit(h.BurstMemoryLimit)
			}
		}
		h.mu.Unlock()
	}
	select {
	case h.slots <- struct{}{}:
		return h.release, nil
	default:
	}
	if h.waiting.Add(1) > h.queue {
		h.waiting.Add(-1)
		h.done()
		return nil, ErrBusy
	}
	defer h.waiting.Add(-1)
	start := time.Now()
	select {
	case h.slots <- struct{}{}:
		if h.OnWait != nil {
			h.OnWait(time.Since(start))
		}
		return h.release, nil
	case <-ctx.Done():
		h.done()
		return nil, ErrBusy
	}
}

func (h *Hasher) release() {
	<-h.slots
	h.done()
}

// done ends one hash. Each argon2id hash allocates 19 MiB; after a burst the
// Go runtime would keep that memory for minutes, so once hashing has been
// idle briefly it is returned to the OS, keeping the resident set small.
func (h *Hasher) done() {
	if h.active.Add(-1) != 0 {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.freeTimer == nil {
		h.freeTimer = time.AfterFunc(idleFreeDelay, func() {
			h.mu.Lock()
			h.freeTimer = nil
			idle := h.active.Load() == 0
			if idle && h.inBurst {
				h.inBurst = false
				debug.SetGCPercent(h.prevGC)
				debug.SetMemoryLimit(h.prevLimit)
			}
			h.mu.Unlock()
			if idle {
				debug.FreeOSMemory()
			}
		})
	}
}

// Hash returns a PHC-format argon2id hash of password.
func (h *Hasher) Hash(ctx context.Context, password string) (string, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return "", err
	}
	defer release()
	return argon2id.CreateHash(password, h.params)
}

// Verify reports whether password matches hash, and whether hash should be
// replaced by a new one (a bcrypt hash, or argon2id with other parameters).
// An empty hash is checked against a dummy so it costs the same as a real one
// and always fails.
func (h *Hasher) Verify(ctx context.Context, password, hash string) (ok, rehash bool, err error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return false, false, err
	}
	defer release()
	if hash == "" {
		_, _ = argon2id.ComparePasswordAndHash(password, h.dummy)
		return false, false, nil
	}
	if strings.HasPrefix(hash, "$2a$") || strings.HasPrefix(hash, "$2b$") || strings.HasPrefix(hash, "$2y$") {
		return bcrypt.CompareHashAndPassword([]byte(hash), []byte(password)) == nil, true, nil
	}
	match, params, err := argon2id.CheckHash(password, hash)
	if err != nil {
		return false, false, err
	}
	return match, *params != *h.params, nil
}
