package auth

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/alexedwards/argon2id"
	"golang.org/x/crypto/argon2"
	"golang.org/x/crypto/bcrypt"
)

// argon2Params are the argon2id parameters for new hashes: 19 MiB, t=2, p=1
// (OWASP's recommended minimum).
var argon2Params = argon2id.Params{Memory: 19 * 1024, Iterations: 2, Parallelism: 1, SaltLength: 16, KeyLength: 32}

// DefaultArgon2Params returns the argon2id parameters of new hashes.
func DefaultArgon2Params() argon2id.Params { return argon2Params }

// HashMemory is what one hash allocates with the default parameters.
const HashMemory = 19 << 20

// ErrBusy is returned when the hashing queue is full; callers answer 503.
var ErrBusy = errors.New("password hashing queue is full")

// Hasher hashes and verifies passwords on a bounded number of workers with a
// bounded wait queue, so a login flood queues and then sheds instead of
// allocating 19 MiB per request without limit. It changes no process-wide
// setting: OnBusy lets its owner react to bursts.
type Hasher struct {
	slots   chan struct{}
	waiting atomic.Int64
	queue   int64
	params  argon2id.Params
	dummy   string
	// OnWait, when set, is told how long each queued caller waited.
	OnWait func(time.Duration)
	// OnBusy, when set, is called with true when hashing starts after an
	// idle spell and with false once it has been idle for idleDelay. Set it
	// before use. Calls never overlap and alternate.
	OnBusy func(busy bool)

	// count is how many hashes have been computed (Count).
	count atomic.Int64
	// active counts hashes running or queued.
	active    atomic.Int64
	mu        sync.Mutex
	idleTimer *time.Timer
	busy      bool
}

// idleDelay is how long hashing must have been idle before OnBusy(false).
const idleDelay = 500 * time.Millisecond

// NewHasher returns a Hasher running at most workers hashes at once with at
// most queue callers waiting. params nil means DefaultArgon2Params.
func NewHasher(workers, queue int, params *argon2id.Params) *Hasher {
	p := argon2Params
	if params != nil {
		p = *params
	}
	h := &Hasher{slots: make(chan struct{}, max(workers, 1)), queue: int64(max(queue, 0)), params: p}
	secret := make([]byte, 16)
	_, _ = rand.Read(secret)
	// The dummy hash gives unknown emails the same cost as wrong passwords.
	h.dummy, _ = argon2id.CreateHash(hex.EncodeToString(secret), &h.params)
	return h
}

// Count returns how many hashes this Hasher has computed: password hashes
// and checks (the dummy of an unknown email included) and recovery code
// keys. Tests use it to see the work a request did.
func (h *Hasher) Count() int64 { return h.count.Load() }

// Waiting returns how many callers are queued for a worker.
func (h *Hasher) Waiting() int64 { return h.waiting.Load() }

func (h *Hasher) acquire(ctx context.Context) (release func(), err error) {
	if h.active.Add(1) == 1 && h.OnBusy != nil {
		h.mu.Lock()
		if !h.busy {
			h.busy = true
			h.OnBusy(true)
		}
		h.mu.Unlock()
	}
	select {
	case h.slots <- struct{}{}:
		h.count.Add(1)
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
		h.count.Add(1)
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

// done ends one hash; once hashing has been idle for idleDelay the owner is
// told, so it can undo what it did for the burst.
func (h *Hasher) done() {
	if h.active.Add(-1) != 0 || h.OnBusy == nil {
		return
	}
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.idleTimer == nil {
		h.idleTimer = time.AfterFunc(idleDelay, func() {
			h.mu.Lock()
			defer h.mu.Unlock()
			h.idleTimer = nil
			if h.active.Load() == 0 && h.busy {
				h.busy = false
				h.OnBusy(false)
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
	return argon2id.CreateHash(password, &h.params)
}

// Params returns the argon2id parameters of new hashes.
func (h *Hasher) Params() argon2id.Params { return h.params }

// Key derives the argon2id key of secret under salt with p, on a worker of
// the queue like every other hash (recovery codes: one salt per user, one
// key per attempt, compared with the set).
func (h *Hasher) Key(ctx context.Context, secret string, salt []byte, p argon2id.Params) ([]byte, error) {
	release, err := h.acquire(ctx)
	if err != nil {
		return nil, err
	}
	defer release()
	return argon2.IDKey([]byte(secret), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength), nil
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
	return match, *params != h.params, nil
}
