package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/token"
)

const usage = `usage: portcullis [command]

commands:
  serve                   run the service (the default)
  migrate                 apply database migrations and exit
  user create             create a user (asks for the password)
  user list               list users, optionally those whose email contains a text
  user set-password       set a user's password (asks for it) and end their sessions
  user set-role           make a user an admin, or an admin a user
  user disable            disable a user and end their sessions
  user enable             enable a disabled user
  keys generate           print a new AUTH_SESSION_KEYS (or AUTH_DATA_KEYS) entry
  keys reencrypt          seal every stored secret under the first AUTH_DATA_KEYS key
  healthcheck             exit 0 when the local server answers /healthz
  help                    show this text

Configuration comes from AUTH_* environment variables (AUTH_ADDR,
AUTH_DATABASE_URL, AUTH_SESSION_KEYS, ...); README.md lists them all.
Run "portcullis COMMAND -h" for a command's flags.
`

// newFlags returns a flag set whose errors and help go to stderr.
func newFlags(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	fs := flag.NewFlagSet(name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.Usage = func() {
		fmt.Fprintf(stderr, "usage: portcullis %s\n\nflags:\n", synopsis)
		fs.PrintDefaults()
	}
	return fs
}

// parseFlags parses args; -h is not an error, any other mistake is a usage error.
func parseFlags(fs *flag.FlagSet, args []string) (help bool, err error) {
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return true, nil
		}
		return false, &usageError{err}
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return false, &usageError{fmt.Errorf("unexpected argument %q", fs.Arg(0))}
	}
	return false, nil
}

// dispatch runs the command named by args.
func dispatch(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	cmd, rest := "serve", args
	if len(args) > 0 && (!strings.HasPrefix(args[0], "-") || slices.Contains([]string{"-h", "-help", "--help"}, args[0])) {
		cmd, rest = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		fs := newFlags("serve", "serve", stderr)
		if help, err := parseFlags(fs, rest); help || err != nil {
			return err
		}
		cfg, err := config.Load(getenv)
		if err != nil {
			return &usageError{err}
		}
		logs := newBufferedWriter(stderr, 64<<10, 100*time.Millisecond)
		defer logs.Close()
		log := newLogger(cfg.LogLevel, logs)
		// Values come through getenv; the names present are the process's.
		for _, w := range config.Unknown(environNames(), "AUTH_TEST_DATABASE_URL", "AUTH_TEST_REDIS_URL") {
			log.Warn(w)
		}
		return serve(ctx, cfg, getenv, log, logs, stdout)
	case "migrate":
		fs := newFlags("migrate", "migrate", stderr)
		if help, err := parseFlags(fs, rest); help || err != nil {
			return err
		}
		return withStore(ctx, getenv, false, func(db *store.DB, _ config.Config) error {
			fmt.Fprintln(stdout, "migrations applied")
			return nil
		})
	case "user":
		return userCommand(ctx, rest, getenv, stdin, stdout, stderr)
	case "keys":
		if len(rest) > 0 && rest[0] == "reencrypt" {
			fs := newFlags("keys reencrypt", "keys reencrypt", stderr)
			if help, err := parseFlags(fs, rest[1:]); help || err != nil {
				return err
			}
			return reencrypt(ctx, getenv, stdout)
		}
		if len(rest) == 0 || rest[0] != "generate" {
			fmt.Fprint(stderr, usage)
			return &usageError{errors.New(`"keys" needs a subcommand: generate or reencrypt`)}
		}
		fs := newFlags("keys generate", "keys generate [-kid ID]", stderr)
		kid := fs.String("kid", time.Now().UTC().Format("2006-01-02"), "key id (letters, digits, '.', '_', '-')")
		if help, err := parseFlags(fs, rest[1:]); help || err != nil {
			return err
		}
		k := token.GenerateKey(*kid)
		if _, err := token.NewKeyRing(k); err != nil {
			return &usageError{err}
		}
		fmt.Fprintln(stdout, k.String())
		return nil
	case "healthcheck":
		fs := newFlags("healthcheck", "healthcheck [-url URL]", stderr)
		url := fs.String("url", "", "health URL (default: /healthz on AUTH_ADDR's port on 127.0.0.1)")
		if help, err := parseFlags(fs, rest); help || err != nil {
			return err
		}
		return healthcheck(ctx, *url, getenv)
	case "help", "-h", "-help", "--help":
		fmt.Fprint(stdout, usage)
		return nil
	}
	fmt.Fprint(stderr, usage)
	return &usageError{fmt.Errorf("unknown command %q", cmd)}
}

// withStore loads the configuration, opens and migrates the database (only
// an SQLite file that exists when existing is true), and
// calls fn with it.
func withStore(ctx context.Context, getenv func(string) string, existing bool, fn func(*store.DB, config.Config) error) error {
	cfg, err := config.Load(getenv)
	if err != nil {
		return &usageError{err}
	}
	if existing {
		if err := sqliteExists(cfg.DatabaseURL); err != nil {
			return err
		}
	}
	db, err := store.Open(ctx, cfg.DatabaseURL)
	if err != nil {
		return startupDBError(err, cfg.DatabaseURL)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		return startupDBError(err, cfg.DatabaseURL)
	}
	return fn(db, cfg)
}

// sqliteExists refuses an SQLite database file that is not there: a command
// that reads or changes existing users would otherwise create an empty one
// and report on it (an empty list, "no user has the email").
func sqliteExists(databaseURL string) error {
	path, ok := strings.CutPrefix(databaseURL, "sqlite:")
	if !ok || path == ":memory:" {
		return nil
	}
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		if abs, err := filepath.Abs(path); err == nil {
			path = abs
		}
		return fmt.Errorf("the database %s does not exist; check AUTH_DATABASE_URL and the directory you run this in (serve, migrate and user create create it)", path)
	}
	return nil
}

// commandError phrases a domain error for the command line in one plain
// sentence: field problems on one line, in a fixed order, as a usage error;
// no database text.
func commandError(err error, email string) error {
	var e *models.Error
	switch {
	case err == nil || !errors.As(err, &e):
		return err
	case e.Kind == models.Invalid:
		var problems []string
		for _, f := range []string{"email", "name", "role", "password"} {
			for _, p := range e.Fields[f] {
				problems = append(problems, f+" "+p)
			}
		}
		return &usageError{errors.New(strings.Join(problems, "; "))}
	case e.Code == models.CodeEmailTaken:
		return fmt.Errorf("a user with the email %s already exists", models.NormalizeEmail(email))
	case e.Kind == models.NotFound || e.Code == models.CodeLastAdmin:
		return errors.New(e.Message)
	}
	return err
}

// bootstrapAdmin creates the configured administrator when there is none.
func bootstrapAdmin(ctx context.Context, db *store.DB, hasher *auth.Hasher, cfg config.Config) (bool, error) {
	if cfg.BootstrapAdminEmail == "" {
		return false, nil
	}
	svc := auth.New(auth.Deps{Store: db, Hasher: hasher})
	nu := auth.NewUser{Email: cfg.BootstrapAdminEmail, Name: "Administrator", Password: cfg.BootstrapAdminPassword, Verified: true}
	created, err := svc.BootstrapAdmin(ctx, nu)
	if errors.Is(err, auth.ErrBootstrapEmailTaken) {
		return false, &usageError{&config.Error{Var: "AUTH_BOOTSTRAP_ADMIN_EMAIL", Msg: models.NormalizeEmail(nu.Email) + " " + auth.ErrBootstrapEmailTaken.Message}}
	}
	var usage *usageError
	if errors.As(commandError(err, nu.Email), &usage) {
		return false, &usageError{&config.Error{Var: "AUTH_BOOTSTRAP_ADMIN_EMAIL", Msg: "bootstrap admin: " + usage.Error()}}
	}
	return created, err
}

// healthcheck asks a local server for /healthz; it is the container's
// HEALTHCHECK, since the image has no curl.
func healthcheck(ctx context.Context, url string, getenv func(string) string) error {
	if url == "" {
		cfg, err := config.Load(getenv)
		if err != nil {
			return &usageError{err}
		}
		_, port, _ := strings.Cut(cfg.Addr, ":")
		url = "http://127.0.0.1:" + port + "/healthz"
	}
	ctx, cancel := context.WithTimeout(ctx, 3*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return &usageError{err}
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("healthcheck: %w", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("healthcheck: %s answered %d", url, resp.StatusCode)
	}
	return nil
}

// environNames lists the names in the process environment.
func environNames() []string {
	var names []string
	for _, kv := range os.Environ() {
		name, _, _ := strings.Cut(kv, "=")
		names = append(names, name)
	}
	return names
}

// reencrypt seals every stored TOTP secret again under the first key of
// AUTH_DATA_KEYS: after adding a new key first, run it, then drop the old key.
func reencrypt(ctx context.Context, getenv func(string) string, stdout io.Writer) error {
	return withStore(ctx, getenv, true, func(db *store.DB, cfg config.Config) error {
		if cfg.DataKeys == "" {
			return &usageError{&config.Error{Var: "AUTH_DATA_KEYS", Msg: "is required: it names the keys to re-encrypt under"}}
		}
		keys, err := token.ParseKeyRing(cfg.DataKeys)
		if err != nil {
			return &usageError{&config.Error{Var: "AUTH_DATA_KEYS", Msg: err.Error()}}
		}
		fs, err := db.AllFactors(ctx)
		if err != nil {
			return err
		}
		for _, f := range fs {
			secret, err := keys.OpenBytes(f.Secret)
			if err != nil {
				return fmt.Errorf("factor %s: sealed with a key AUTH_DATA_KEYS no longer holds", f.ID)
			}
			sealed, err := keys.SealBytes(secret)
			if err != nil {
				return err
			}
			if err := db.SetFactorSecret(ctx, f.ID, sealed); err != nil {
				return err
			}
		}
		fmt.Fprintf(stdout, "re-encrypted %d secrets under the first AUTH_DATA_KEYS key\n", len(fs))
		return nil
	})
}
