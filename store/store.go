// Package store keeps users, sessions and audit events in SQLite or PostgreSQL
// through GORM. Every method takes ctx first and returns models errors.
package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"net/url"
	"os"
	"strings"
	"time"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/ncruces/go-sqlite3"
	"github.com/ncruces/go-sqlite3/gormlite"
	_ "github.com/ncruces/go-sqlite3/vfs/memdb" // the memdb VFS backs sqlite::memory:
	"github.com/pressly/goose/v3"
	"github.com/pressly/goose/v3/lock"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/logger"

	"github.com/portcullis-auth/portcullis/models"
)

//go:embed migrations
var migrations embed.FS

// sqliteTimeFormat is SQLite's own fixed-width UTC format with milliseconds.
// It sorts as text, so SQLite compares and orders times correctly (RFC 3339
// with a varying number of fraction digits would not).
const sqliteTimeFormat = sqlite3.TimeFormat4

// DB is the GORM-backed store.
type DB struct {
	gorm    *gorm.DB
	sql     *sql.DB
	dialect string // "sqlite" or "postgres"

	// beforeSessionCommit, when set (tests only), runs after CreateSession's
	// statement and before it commits: where a concurrent change can slip in.
	beforeSessionCommit func()
}

// Open connects to the database named by url: sqlite:PATH, sqlite::memory: or
// postgres://…. It does not migrate; call Migrate.
func Open(ctx context.Context, rawURL string) (*DB, error) {
	cfg := &gorm.Config{
		TranslateError:         true,
		SkipDefaultTransaction: true,
		Logger:                 logger.Discard,
		NowFunc:                func() time.Time { return time.Now().UTC().Truncate(time.Millisecond) },
	}
	var (
		dialector gorm.Dialector
		dialect   string
	)
	switch {
	case rawURL == "sqlite::memory:":
		// A named memdb database is shared by every connection of this pool.
		dialector, dialect = gormlite.Open(sqliteDSN("/portcullis-"+uuid.NewString(), "vfs=memdb")), "sqlite"
	case strings.HasPrefix(rawURL, "sqlite:"):
		path := strings.TrimPrefix(rawURL, "sqlite:")
		if path == "" || strings.ContainsAny(path, "?#") {
			return nil, fmt.Errorf("sqlite path %q must be non-empty and contain no ? or #", path)
		}
		if err := privateFiles(path, path+"-shm"); err != nil {
			return nil, fmt.Errorf("sqlite file %s: %w", path, err)
		}
		// modeof gives the WAL and journal files, which SQLite creates and
		// deletes as it goes, the database file's private mode.
		extra := "_pragma=journal_mode(wal)&_pragma=synchronous(normal)&modeof=" + url.QueryEscape(path)
		dialector, dialect = gormlite.Open(sqliteDSN(path, extra)), "sqlite"
	case strings.HasPrefix(rawURL, "postgres://"), strings.HasPrefix(rawURL, "postgresql://"):
		dialector, dialect = postgres.Open(rawURL), "postgres"
	default:
		return nil, errors.New("database URL must start with sqlite: or postgres://")
	}
	g, err := gorm.Open(dialector, cfg)
	if err != nil {
		return nil, translate(err, "could not open the database")
	}
	sqlDB, err := g.DB()
	if err != nil {
		return nil, err
	}
	if dialect == "postgres" {
		sqlDB.SetMaxOpenConns(20)
		sqlDB.SetMaxIdleConns(10)
		sqlDB.SetConnMaxLifetime(30 * time.Minute)
		sqlDB.SetConnMaxIdleTime(5 * time.Minute)
	} else {
		// WAL gives concurrent readers and one writer; writers wait on the
		// busy timeout and transactions begin IMMEDIATE, so "database is
		// locked" is never returned under ordinary load.
		sqlDB.SetMaxOpenConns(8)
		sqlDB.SetMaxIdleConns(8)
		sqlDB.SetConnMaxLifetime(0)
		sqlDB.SetConnMaxIdleTime(0)
	}
	db := &DB{gorm: g, sql: sqlDB, dialect: dialect}
	if err := db.Ping(ctx); err != nil {
		_ = sqlDB.Close()
		return nil, err
	}
	return db, nil
}

// privateFiles creates the database file and its shared-memory companion
// readable by this user only (SQLite itself would create them
// world-readable), and tightens the mode of any that exist. An empty
// companion is one SQLite initialises.
func privateFiles(paths ...string) error {
	for _, p := range paths {
		f, err := os.OpenFile(p, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return err
		}
		_ = f.Close()
		if err := os.Chmod(p, 0o600); err != nil {
			return err
		}
	}
	return nil
}

func sqliteDSN(path, extra string) string {
	return "file:" + path + "?_pragma=busy_timeout(10000)&_pragma=foreign_keys(on)&_txlock=immediate&_timefmt=" +
		url.QueryEscape(string(sqliteTimeFormat)) + "&" + extra
}

// SQL returns the connection pool, for its statistics.
func (db *DB) SQL() *sql.DB { return db.sql }

// Dialect returns "sqlite" or "postgres".
func (db *DB) Dialect() string { return db.dialect }

// Close closes the connection pool.
func (db *DB) Close() error { return db.sql.Close() }

// Ping checks the database answers.
func (db *DB) Ping(ctx context.Context) error {
	if err := db.sql.PingContext(ctx); err != nil {
		return translate(err, "database unreachable")
	}
	return nil
}

// Migrate applies every pending migration. On PostgreSQL it holds an advisory
// lock so several replicas starting together migrate once.
func (db *DB) Migrate(ctx context.Context) error {
	p, err := db.migrations()
	if err != nil {
		return err
	}
	if _, err := p.Up(ctx); err != nil {
		return translate(err, "migration failed")
	}
	return nil
}

// migrations is the goose provider of this database's dialect.
func (db *DB) migrations() (*goose.Provider, error) {
	dir, dialect := "migrations/sqlite", goose.DialectSQLite3
	var opts []goose.ProviderOption
	if db.dialect == "postgres" {
		dir, dialect = "migrations/postgres", goose.DialectPostgres
		locker, err := lock.NewPostgresSessionLocker()
		if err != nil {
			return nil, err
		}
		opts = append(opts, goose.WithSessionLocker(locker))
	}
	fsys, err := fs.Sub(migrations, dir)
	if err != nil {
		return nil, err
	}
	return goose.NewProvider(dialect, db.sql, fsys, opts...)
}

func (db *DB) with(ctx context.Context) *gorm.DB { return db.gorm.WithContext(ctx) }

// translate turns a database error into a models error. Messages are safe for
// clients; the cause is kept for logs.
func translate(err error, what string) error {
	if err == nil {
		return nil
	}
	var me *models.Error
	switch {
	case errors.As(err, &me):
		return err
	case errors.Is(err, gorm.ErrRecordNotFound):
		return models.Wrap(models.NotFound, err, "not found")
	case errors.Is(err, gorm.ErrDuplicatedKey):
		return models.Wrap(models.Conflict, err, "already exists")
	case unavailable(err):
		return &models.Error{Kind: models.Unavailable, Message: "the service is temporarily unavailable", Err: err, RetryAfterSeconds: 5}
	}
	return models.Wrap(models.Internal, err, what)
}

func unavailable(err error) bool {
	var (
		netErr  net.Error
		connErr *pgconn.ConnectError
		pgErr   *pgconn.PgError
	)
	switch {
	case strings.Contains(err.Error(), "sql: database is closed"):
		// database/sql has no sentinel for a closed pool.
		return true
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, context.Canceled),
		errors.Is(err, driver.ErrBadConn), errors.Is(err, io.ErrUnexpectedEOF), errors.Is(err, io.EOF),
		errors.Is(err, sql.ErrConnDone), errors.Is(err, sqlite3.BUSY), errors.Is(err, sqlite3.LOCKED),
		errors.As(err, &netErr), errors.As(err, &connErr):
		return true
	case errors.As(err, &pgErr):
		// Class 08 is connection exceptions; 57P0x are shutdowns and
		// "cannot connect now"; 53xxx is insufficient resources.
		return strings.HasPrefix(pgErr.Code, "08") || strings.HasPrefix(pgErr.Code, "57P") || strings.HasPrefix(pgErr.Code, "53")
	}
	return pgconn.SafeToRetry(err) || pgconn.Timeout(err)
}

func newID() string { return uuid.Must(uuid.NewV7()).String() }

// Columns lists the columns of a table as the database reports them.
func (db *DB) Columns(ctx context.Context, table string) ([]string, error) {
	types, err := db.gorm.WithContext(ctx).Migrator().ColumnTypes(table)
	if err != nil {
		return nil, translate(err, "could not read the schema")
	}
	names := make([]string, len(types))
	for i, c := range types {
		names[i] = c.Name()
	}
	return names, nil
}
