// Package storetest gives tests a fresh, migrated database of each kind:
// SQLite in memory always, and PostgreSQL when AUTH_TEST_DATABASE_URL is set
// (each test then gets its own schema, dropped afterwards).
package storetest

import (
	"context"
	"database/sql"
	"fmt"
	"net/url"
	"os"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/google/uuid"
	_ "github.com/jackc/pgx/v5/stdlib" // database/sql driver for schema set-up
	"github.com/redis/go-redis/v9"

	"github.com/portcullis-auth/portcullis/store"
)

// EnvVar names the PostgreSQL URL tests use.
const EnvVar = "AUTH_TEST_DATABASE_URL"

// Each runs fn as a subtest once per available database, passing a URL for a
// fresh, empty database of that kind.
func Each(t *testing.T, fn func(t *testing.T, dbURL string)) {
	t.Helper()
	t.Run("sqlite", func(t *testing.T) { fn(t, "sqlite::memory:") })
	t.Run("postgres", func(t *testing.T) { fn(t, PostgresURL(t)) })
}

// skipped counts the PostgreSQL cases this test binary skipped.
var skipped atomic.Int64

// Main runs a package's tests (call it from TestMain: os.Exit(storetest.Main(m)))
// and then, when PostgreSQL cases were skipped for want of
// AUTH_TEST_DATABASE_URL, says how many in one line, so a green run without
// PostgreSQL does not pass for a full one. It shows with go test -v, with
// go test run in the package's directory, and in go test -json; go test
// ./... keeps a passing package's output to itself.
func Main(m *testing.M) int {
	code := m.Run()
	if n := skipped.Load(); n > 0 {
		fmt.Printf("storetest: %d PostgreSQL cases skipped: set %s=postgres://… to run them (README, \"Tests\")\n", n, EnvVar)
	}
	return code
}

// PostgresURL returns the URL of a new, empty PostgreSQL schema, or skips the
// test when AUTH_TEST_DATABASE_URL is not set.
func PostgresURL(t testing.TB) string {
	t.Helper()
	base := os.Getenv(EnvVar)
	if base == "" {
		skipped.Add(1)
		t.Skip("PostgreSQL tests skipped: set " + EnvVar + "=postgres://… to run them")
	}
	schema := "t_" + strings.ReplaceAll(uuid.NewString(), "-", "")
	admin, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("storetest: %v", err)
	}
	defer admin.Close()
	if _, err := admin.Exec("CREATE SCHEMA " + schema); err != nil {
		t.Fatalf("storetest: create schema: %v", err)
	}
	t.Cleanup(func() {
		admin, err := sql.Open("pgx", base)
		if err != nil {
			return
		}
		defer admin.Close()
		_, _ = admin.Exec("DROP SCHEMA " + schema + " CASCADE")
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("storetest: bad %s: %v", EnvVar, err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// RedisEnvVar names the Redis URL tests use.
const RedisEnvVar = "AUTH_TEST_REDIS_URL"

// Redis returns a client of the Redis at AUTH_TEST_REDIS_URL, closed when the
// test ends, or skips the test when it is not set.
func Redis(t testing.TB) *redis.Client {
	t.Helper()
	url := os.Getenv(RedisEnvVar)
	if url == "" {
		t.Skip("Redis tests skipped: set " + RedisEnvVar + "=redis://127.0.0.1:6379/0 to run them")
	}
	rdb, err := store.OpenRedis(context.Background(), url)
	if err != nil {
		t.Fatalf("storetest: redis: %v", err)
	}
	t.Cleanup(func() { _ = rdb.Close() })
	return rdb
}

// RedisPrefix returns a key prefix of the test's own for rdb and deletes
// every key that holds it (the rate limiter's "rate:" ones too) when the
// test ends, so a run leaves nothing behind in the shared Redis.
func RedisPrefix(t testing.TB, rdb *redis.Client) string {
	t.Helper()
	prefix := "portcullis-test:" + uuid.NewString() + ":"
	t.Cleanup(func() {
		ctx := context.Background()
		iter := rdb.Scan(ctx, 0, "*"+prefix+"*", 1000).Iterator()
		var keys []string
		for iter.Next(ctx) {
			keys = append(keys, iter.Val())
		}
		if err := iter.Err(); err != nil {
			t.Errorf("storetest: redis cleanup: %v", err)
			return
		}
		if len(keys) > 0 {
			if err := rdb.Del(ctx, keys...).Err(); err != nil {
				t.Errorf("storetest: redis cleanup: %v", err)
			}
		}
	})
	return prefix
}

// Open opens and migrates the database at dbURL, closing it when the test ends.
func Open(t testing.TB, dbURL string) *store.DB {
	t.Helper()
	db, err := store.Open(context.Background(), dbURL)
	if err != nil {
		t.Fatalf("storetest: open: %v", err)
	}
	t.Cleanup(func() { _ = db.Close() })
	if err := db.Migrate(context.Background()); err != nil {
		t.Fatalf("storetest: migrate: %v", err)
	}
	return db
}
