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
		return nil, errors.New("must be a redis:// or rediss:// URL")
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
	return []string{l.prefix + "fail:" + key, l.prefix + "pending:" + key, l.prefix + "locked:" + key}
}

// KEYS: failures, pending attempts, the lock. ARGV: the limit, the duration
// in ms. Counters expire a duration after the latest reservation.
var (
	reserveScript = redis.NewScript(`
local ttl = redis.call('PTTL', KEYS[3])
if ttl > 0 then return ttl end
local f = tonumber(redis.call('GET', KEYS[1]) or '0')
local p = tonumber(redis.call('GET', KEYS[2]) or '0')
if f + p >= tonumber(ARGV[1]) then return tonumber(ARGV[2]) end
redis.call('INCR', KEYS[2])
redis.call('PEXPIRE', KEYS[2], ARGV[2])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 0`)
	// settleScript resolves a pending attempt; ARGV[3] is 1 when it failed.
	settleScript = redis.NewScript(`
if tonumber(redis.call('GET', KEYS[2]) or '0') > 0 then redis.call('DECR', KEYS[2]) end
if redis.call('EXISTS', KEYS[3]) == 1 then return 0 end
if ARGV[3] == '0' then return 0 end
if ARGV[3] == 'reset' then
  if tonumber(redis.call('GET', KEYS[2]) or '0') == 0 then redis.call('DEL', KEYS[1]) end
  return 0
end
local f = redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], ARGV[2])
if f < tonumber(ARGV[1]) then return 0 end
redis.call('SET', KEYS[3], 1, 'PX', ARGV[2])
redis.call('DEL', KEYS[1])
return 1`)
)

func (l *RedisLockout) settle(ctx context.Context, key string, limit int, how string) (int64, error) {
	return settleScript.Run(ctx, l.rdb, l.keys(key), limit, l.duration.Milliseconds(), how).Int64()
}

// Reserve counts one attempt for key unless the key is locked or limit
// attempts are already counted; then it returns how long to wait.
func (l *RedisLockout) Reserve(ctx context.Context, key string, limit int) (time.Duration, error) {
	ms, err := reserveScript.Run(ctx, l.rdb, l.keys(key), limit, l.duration.Milliseconds()).Int64()
	return time.Duration(ms) * time.Millisecond, err
}

// Fail records that a reserved attempt failed and locks the key once limit
// failures are counted. It reports whether this call locked it.
func (l *RedisLockout) Fail(ctx context.Context, key string, limit int) (bool, error) {
	n, err := l.settle(ctx, key, limit, "1")
	return n == 1, err
}

// Release returns a reserved attempt whose proof was never checked.
func (l *RedisLockout) Release(ctx context.Context, key string) error {
	_, err := l.settle(ctx, key, 0, "0")
	return err
}

// Reset settles a successful attempt and forgets key's failures, unless the
// key is locked or other attempts are still being checked.
func (l *RedisLockout) Reset(ctx context.Context, key string) error {
	_, err := l.settle(ctx, key, 0, "reset")
	return err
}

// Clear forgets every key that starts with prefix, locks included.
func (l *RedisLockout) Clear(ctx context.Context, prefix string) error {
	glob := strings.NewReplacer(`\`, `\\`, `*`, `\*`, `?`, `\?`, `[`, `\[`, `]`, `\]`).Replace(prefix) + "*"
	for _, kind := range []string{"fail:", "pending:", "locked:"} {
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
