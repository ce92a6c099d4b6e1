package store

import (
	"context"
	"errors"
	"log/slog"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
)

// Bus carries cache invalidations between instances sharing a database.
// Publish tells the others; Run delivers theirs to onKey until ctx ends, and
// calls onReset whenever messages may have been missed (a reconnect), so the
// caller can drop everything it cached.
type Bus interface {
	Publish(ctx context.Context, key string) error
	Run(ctx context.Context, onKey func(string), onReset func())
}

// LocalBus is the bus of a single instance (SQLite): there is no one to tell.
type LocalBus struct{}

// Publish does nothing.
func (LocalBus) Publish(context.Context, string) error { return nil }

// Run waits for ctx.
func (LocalBus) Run(ctx context.Context, _ func(string), _ func()) { <-ctx.Done() }

// notifyChannel is the PostgreSQL channel invalidations travel on.
const notifyChannel = "portcullis_cache"

// NotifyBus uses PostgreSQL LISTEN/NOTIFY on a dedicated pgx connection that
// reconnects by itself.
type NotifyBus struct {
	db     *DB
	url    string
	log    *slog.Logger
	mu     sync.Mutex
	notify *pgx.Conn // the listening connection, for tests
}

// NewNotifyBus returns a bus on the PostgreSQL database at url.
func NewNotifyBus(db *DB, url string, log *slog.Logger) *NotifyBus {
	return &NotifyBus{db: db, url: url, log: log}
}

// Publish sends key to every listening instance (itself included).
func (b *NotifyBus) Publish(ctx context.Context, key string) error {
	return translate(b.db.with(ctx).Exec("SELECT pg_notify(?, ?)", notifyChannel, key).Error, "could not publish an invalidation")
}

// Run listens until ctx ends, reconnecting with a growing pause.
func (b *NotifyBus) Run(ctx context.Context, onKey func(string), onReset func()) {
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		err := b.listen(ctx, onKey, onReset)
		if ctx.Err() != nil {
			return
		}
		b.log.Warn("cache invalidation listener lost its connection; reconnecting", "error", err.Error())
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

func (b *NotifyBus) listen(ctx context.Context, onKey func(string), onReset func()) error {
	conn, err := pgx.Connect(ctx, b.url)
	if err != nil {
		return err
	}
	defer conn.Close(context.Background())
	if _, err := conn.Exec(ctx, "LISTEN "+notifyChannel); err != nil {
		return err
	}
	b.mu.Lock()
	b.notify = conn
	b.mu.Unlock()
	// Anything published while we were not listening is lost: start afresh.
	onReset()
	for {
		n, err := conn.WaitForNotification(ctx)
		if err != nil {
			return err
		}
		onKey(n.Payload)
	}
}

// PollBus is the fallback for PostgreSQL-compatible engines without
// LISTEN/NOTIFY (CockroachDB): invalidations are rows that every instance polls.
type PollBus struct {
	db       *DB
	interval time.Duration
	log      *slog.Logger
}

// NewPollBus returns a bus polling every interval.
func NewPollBus(db *DB, interval time.Duration, log *slog.Logger) *PollBus {
	return &PollBus{db: db, interval: interval, log: log}
}

type cacheEvent struct {
	ID        int64
	Key       string
	CreatedAt time.Time
}

// Publish records key for the pollers.
func (b *PollBus) Publish(ctx context.Context, key string) error {
	e := cacheEvent{Key: key, CreatedAt: time.Now().UTC()}
	return translate(b.db.with(ctx).Table("cache_events").Omit("id").Create(&e).Error, "could not publish an invalidation")
}

// Run polls until ctx ends. Events older than a minute are pruned.
func (b *PollBus) Run(ctx context.Context, onKey func(string), onReset func()) {
	var last int64
	synced := false
	tick := time.NewTicker(b.interval)
	defer tick.Stop()
	prune := time.Now()
	for {
		if !synced {
			// Start after the newest event; anything before it is covered by the reset.
			var max *int64
			if err := b.db.with(ctx).Table("cache_events").Select("MAX(id)").Scan(&max).Error; err == nil {
				if max != nil {
					last = *max
				}
				synced = true
				onReset()
			}
		} else {
			var evs []cacheEvent
			err := b.db.with(ctx).Table("cache_events").Where("id > ?", last).Order("id").Limit(1000).Find(&evs).Error
			switch {
			case err != nil && !errors.Is(err, context.Canceled):
				b.log.Warn("cache invalidation poll failed", "error", err.Error())
				synced = false
			default:
				for _, e := range evs {
					onKey(e.Key)
					last = e.ID
				}
			}
			if time.Since(prune) > time.Minute {
				prune = time.Now()
				b.db.with(ctx).Table("cache_events").Where("created_at < ?", time.Now().UTC().Add(-time.Minute)).Delete(&cacheEvent{})
			}
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}
