package store

import (
	"context"
	"errors"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// OpenRedis connects to the Redis at url (redis://…) and checks it answers.
func OpenRedis(ctx context.Context, url string) (*redis.Client, error) {
	opts, err := redis.ParseURL(url)
	if err != nil {
		return nil, errors.New("AUTH_REDIS_URL must be a redis:// or rediss:// URL")
	}
	rdb := redis.NewClient(opts)
	if err := rdb.Ping(ctx).Err(); err != nil {
		_ = rdb.Close()
		return nil, err
	}
	return rdb, nil
}

// RedisLimiter is a per-key GCRA limiter in Redis (go-redis/redis_rate),
// shared by every instance using the same Redis.
type RedisLimiter struct {
	l      *redis_rate.Limiter
	limit  redis_rate.Limit
	prefix string
}

// NewRedisLimiter allows events per period for each key; keys are stored
// under prefix.
func NewRedisLimiter(rdb *redis.Client, events int, per time.Duration, prefix string) *RedisLimiter {
	return &RedisLimiter{
		l:      redis_rate.NewLimiter(rdb),
		limit:  redis_rate.Limit{Rate: events, Burst: events, Period: per},
		prefix: prefix,
	}
}

// Allow takes one event for key; it returns how long to wait when limited.
func (l *RedisLimiter) Allow(ctx context.Context, key string) (time.Duration, error) {
	res, err := l.l.Allow(ctx, l.prefix+key, l.limit)
	if err != nil {
		return 0, err
	}
	if res.Allowed == 0 {
		return max(res.RetryAfter, time.Millisecond), nil
	}
	return 0, nil
}

// RedisLockout counts failed logins per key in Redis.
type RedisLockout struct {
	rdb       *redis.Client
	threshold int64
	duration  time.Duration
	prefix    string
}

// NewRedisLockout locks a key for duration after threshold failures, each
// within duration of the previous one.
func NewRedisLockout(rdb *redis.Client, threshold int, duration time.Duration, prefix string) *RedisLockout {
	return &RedisLockout{rdb: rdb, threshold: int64(threshold), duration: duration, prefix: prefix}
}

func (l *RedisLockout) failKey(key string) string   { return l.prefix + "fail:" + key }
func (l *RedisLockout) lockedKey(key string) string { return l.prefix + "locked:" + key }

// Locked returns how long key stays locked, or 0.
func (l *RedisLockout) Locked(ctx context.Context, key string) (time.Duration, error) {
	ttl, err := l.rdb.PTTL(ctx, l.lockedKey(key)).Result()
	if err != nil {
		return 0, err
	}
	return max(ttl, 0), nil
}

// Fail counts a failure; the counter expires duration after the last one.
func (l *RedisLockout) Fail(ctx context.Context, key string) (bool, error) {
	var incr *redis.IntCmd
	_, err := l.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		incr = p.Incr(ctx, l.failKey(key))
		p.PExpire(ctx, l.failKey(key), l.duration)
		return nil
	})
	if err != nil {
		return false, err
	}
	if incr.Val() < l.threshold {
		return false, nil
	}
	_, err = l.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		p.Set(ctx, l.lockedKey(key), 1, l.duration)
		p.Del(ctx, l.failKey(key))
		return nil
	})
	return err == nil, err
}

// Reset forgets key's failures; an active lockout stays.
func (l *RedisLockout) Reset(ctx context.Context, key string) error {
	return l.rdb.Del(ctx, l.failKey(key)).Err()
}
