package main

import (
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/url"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// startupDBError says in one line what failed when the database could not be
// opened at start-up, and which variable to check: never "temporarily
// unavailable" (nothing is yet available), never the driver's wrapping, only
// the root cause, and never the URL's password.
func startupDBError(err error, rawURL string) error {
	const check = "check AUTH_DATABASE_URL"
	target := "the database"
	if path, ok := strings.CutPrefix(rawURL, "sqlite:"); ok {
		target = "the SQLite database " + path
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, fs.ErrPermission) || errors.Is(err, syscall.ENOTDIR) || errors.Is(err, syscall.EROFS) {
			return fmt.Errorf("database: cannot create %s: %s; %s and that its directory exists and is writable", target, rootCause(err), check)
		}
		return fmt.Errorf("database: cannot open %s: %s; %s", target, rootCause(err), check)
	}
	if u, perr := url.Parse(rawURL); perr == nil {
		target = fmt.Sprintf("PostgreSQL at %s (database %q as user %q)", u.Host, strings.TrimPrefix(u.Path, "/"), u.User.Username())
	}
	var pgErr *pgconn.PgError
	var opErr *net.OpError
	switch {
	case errors.As(err, &pgErr) && (strings.HasPrefix(pgErr.Code, "28") || pgErr.Code == "3D000"):
		// 28xxx: the role or its password; 3D000: no such database.
		return fmt.Errorf("database: %s refused the connection: %s; %s", target, pgErr.Message, check)
	case errors.As(err, &pgErr):
		return fmt.Errorf("database: %s answered an error: %s (SQLSTATE %s); %s", target, pgErr.Message, pgErr.Code, check)
	case errors.As(err, &opErr):
		return fmt.Errorf("database: cannot reach %s: %s; is it running? %s", target, rootCause(opErr), check)
	}
	return fmt.Errorf("database: cannot open %s: %s; %s", target, rootCause(err), check)
}

// rootCause is the innermost error's message.
func rootCause(err error) string {
	for {
		next := errors.Unwrap(err)
		if next == nil {
			return err.Error()
		}
		err = next
	}
}
