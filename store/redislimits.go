package store

import (
	"context"
	"errors"
	"strings"
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

// RedisLockout counts password attempts per key in Redis, shared by every
// instance using the same Redis. Each operation is one Lua script, so it is
// atomic however many instances race.
type RedisLockout struct {
	rdb      *redis.Client
	duration time.Duration
	prefix   string
}

// NewRedisLockout keeps counts for duration after the latest attempt and
// locks for duration; keys are stored under prefix.
func NewRedisLockout(rdb *redis.Client, duration time.Duration, prefix string) *RedisLockout {
	return &RedisLockout{rdb: rdb, duration: duration, prefix: prefix}
}

func (l *RedisLockout) keys(key string) []string {
	return []string{l.prefix + "fail:" + key, l.prefix + "locked:" + key}
}

// KEYS: the attempt counter, the lock. ARGV: the limit, the duration in ms.
var (
	reserveScript = redis.NewScript(`
local ttl = redis.call('PTTL', KEYS[2])
if ttl > 0 then return ttl end
if tonumber(redis.call('GET', KEYS[1]) or '0') >= tonumber(ARGV[1]) then return tonumber(ARGV[2]) end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0`)
	failScript = redis.NewScript(`
if redis.call('PTTL', KEYS[2]) > 0 then return 0 end
if tonumber(redis.call('GET', KEYS[1]) or '0') < tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[2], 1, 'PX', ARGV[2])
redis.call('DEL', KEYS[1])
return 1`)
	releaseScript = redis.NewScript(`
if tonumber(redis.call('GET', KEYS[1]) or '0') > 0 then redis.call('DECR', KEYS[1]) end
return 0`)
	resetScript = redis.NewScript(`
if redis.call('EXISTS', KEYS[2]) == 0 then redis.call('DEL', KEYS[1]) end
return 0`)
)

// Reserve counts one attempt for key unless the key is locked or limit
// attempts are already counted; then it returns how long to wait.
func (l *RedisLockout) Reserve(ctx context.Context, key string, limit int) (time.Duration, error) {
	ms, err := reserveScript.Run(ctx, l.rdb, l.keys(key), limit, l.duration.Milliseconds()).Int64()
	return time.Duration(ms) * time.Millisecond, err
}

// Fail records that a reserved attempt failed and locks the key once limit
// attempts have been counted. It reports whether this call locked it.
func (l *RedisLockout) Fail(ctx context.Context, key string, limit int) (bool, error) {
	n, err := failScript.Run(ctx, l.rdb, l.keys(key), limit, l.duration.Milliseconds()).Int64()
	return n == 1, err
}

// Release returns a reserved attempt whose proof was never checked.
func (l *RedisLockout) Release(ctx context.Context, key string) error {
	return releaseScript.Run(ctx, l.rdb, l.keys(key)).Err()
}

// Reset forgets key's attempts after a success; an active lock stays.
func (l *RedisLockout) Reset(ctx context.Context, key string) error {
	return resetScript.Run(ctx, l.rdb, l.keys(key)).Err()
}

// Clear forgets every key that starts with prefix, locks included.
func (l *RedisLockout) Clear(ctx context.Context, prefix string) error {
	glob := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(prefix) + "*"
	for _, kind := range []string{"fail:", "locked:"} {
		iter := l.rdb.Scan(ctx, 0, l.prefix+kind+glob, 100).Iterator()
		for iter.Next(ctx) {
			if err := l.rdb.Del(ctx, iter.Val()).Err(); err != nil {
				return err
			}
		}
		if err := iter.Err(); err != nil {
			return err
		}
	}
	return nil
}
