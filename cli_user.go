package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"golang.org/x/term"

	"github.com/portcullis-auth/portcullis/api"
	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/config"
	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store"
)

// operator is who the audit trail names for changes made on the command line.
var (
	operator       = models.User{ID: "the command line"}
	operatorClient = auth.Client{UserAgent: "portcullis command line"}
)

// userCommand runs "portcullis user SUBCOMMAND": the way in for an operator
// whose only administrator forgot a password, or who has no administrator.
func userCommand(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout, stderr io.Writer) error {
	if len(args) == 0 {
		fmt.Fprint(stderr, usage)
		return &usageError{errors.New(`"user" needs a subcommand: create, list, set-password, set-role, disable or enable`)}
	}
	sub, args := args[0], args[1:]
	switch sub {
	case "create":
		fs := newFlags("user create", "user create -email EMAIL -name NAME [-role admin]", stderr)
		email := fs.String("email", "", "email address (required)")
		name := fs.String("name", "", "display name (required)")
		role := fs.String("role", "user", "role: user or admin")
		fs.Usage = withPasswordNote(fs.Usage, stderr)
		if help, err := parseFlags(fs, args); help || err != nil {
			return err
		}
		password, err := readPassword(stdin, stderr)
		if err != nil {
			return err
		}
		return withService(ctx, getenv, false, func(svc *auth.Service) error {
			u, err := svc.CreateUser(ctx, auth.NewUser{Email: *email, Name: *name, Password: password, Role: models.Role(*role), Verified: true})
			if err != nil {
				return commandError(err, *email)
			}
			fmt.Fprintf(stdout, "created %s %s (%s)\n", u.Role, u.Email, u.ID)
			return nil
		})
	case "list":
		fs := newFlags("user list", "user list [-email TEXT]", stderr)
		part := fs.String("email", "", "only users whose email contains this")
		if help, err := parseFlags(fs, args); help || err != nil {
			return err
		}
		return withService(ctx, getenv, true, func(svc *auth.Service) error {
			us, total, err := svc.Users(ctx, *part, 0, 1000)
			if err != nil {
				return err
			}
			w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
			fmt.Fprintln(w, "EMAIL\tROLE\tSTATUS\tCREATED\tID")
			for _, u := range us {
				status := "active"
				if u.Disabled() {
					status = "disabled"
				}
				fmt.Fprintf(w, "%s\t%s\t%s\t%s\t%s\n", u.Email, u.Role, status, u.CreatedAt.UTC().Format(time.DateOnly), u.ID)
			}
			if err := w.Flush(); err != nil {
				return err
			}
			if int(total) > len(us) {
				fmt.Fprintf(stdout, "(%d of %d; narrow with -email)\n", len(us), total)
			}
			return nil
		})
	case "set-password":
		fs := newFlags("user set-password", "user set-password -email EMAIL", stderr)
		email := fs.String("email", "", "the user's email address (required)")
		fs.Usage = withPasswordNote(fs.Usage, stderr)
		if help, err := parseFlags(fs, args); help || err != nil {
			return err
		}
		password, err := readPassword(stdin, stderr)
		if err != nil {
			return err
		}
		return onUser(ctx, getenv, stdout, *email, func(svc *auth.Service, u models.User) (string, error) {
			return "set the password of " + u.Email + " and ended every session of theirs", svc.SetPassword(ctx, operatorClient, u, password)
		})
	case "set-role":
		fs := newFlags("user set-role", "user set-role -email EMAIL -role admin|user", stderr)
		email := fs.String("email", "", "the user's email address (required)")
		role := fs.String("role", "", "the new role: admin or user (required)")
		if help, err := parseFlags(fs, args); help || err != nil {
			return err
		}
		r := models.Role(*role)
		return onUser(ctx, getenv, stdout, *email, func(svc *auth.Service, u models.User) (string, error) {
			u, err := svc.UpdateUser(ctx, operatorClient, operator, u.ID, models.UserChange{Role: &r})
			return u.Email + " is now " + string(u.Role), err
		})
	case "disable", "enable":
		fs := newFlags("user "+sub, "user "+sub+" -email EMAIL", stderr)
		email := fs.String("email", "", "the user's email address (required)")
		if help, err := parseFlags(fs, args); help || err != nil {
			return err
		}
		disabled := sub == "disable"
		return onUser(ctx, getenv, stdout, *email, func(svc *auth.Service, u models.User) (string, error) {
			u, err := svc.UpdateUser(ctx, operatorClient, operator, u.ID, models.UserChange{Disabled: &disabled})
			if disabled {
				return "disabled " + u.Email + " and ended every session of theirs", err
			}
			return "enabled " + u.Email, err
		})
	}
	fmt.Fprint(stderr, usage)
	return &usageError{fmt.Errorf("unknown user subcommand %q", sub)}
}

// withPasswordNote adds to a flag set's help where the password comes from.
func withPasswordNote(usage func(), stderr io.Writer) func() {
	return func() {
		usage()
		fmt.Fprintln(stderr, "\nThe password is asked for (twice, not shown) on a terminal, else read as one line from standard input.")
	}
}

// onUser finds the user with email and applies change, printing what it
// reports.
func onUser(ctx context.Context, getenv func(string) string, stdout io.Writer, email string, change func(*auth.Service, models.User) (string, error)) error {
	if strings.TrimSpace(email) == "" {
		return &usageError{errors.New("-email is required")}
	}
	return withService(ctx, getenv, true, func(svc *auth.Service) error {
		u, err := svc.UserByEmail(ctx, email)
		if err != nil {
			return commandError(err, email)
		}
		done, err := change(svc, u)
		if err != nil {
			return commandError(err, email)
		}
		fmt.Fprintln(stdout, done)
		return nil
	})
}

// withService opens and migrates the configured database (one that exists
// already, when existing is true) and runs fn with
// the domain service on it. Writes go through the cache wrapper, so on
// PostgreSQL running instances drop what they cached at once; on SQLite a
// running server sees them within store.MaxStaleness.
func withService(ctx context.Context, getenv func(string) string, existing bool, fn func(*auth.Service) error) error {
	return withStore(ctx, getenv, existing, func(db *store.DB, cfg config.Config) error {
		quiet := slog.New(slog.DiscardHandler)
		bus, err := cacheBus(ctx, db, cfg, quiet)
		if err != nil {
			return err
		}
		busCtx, stop := context.WithCancel(ctx)
		defer stop()
		cached := store.NewCached(busCtx, db, bus, 16, time.Minute, quiet)
		// The abuse controls that concern an operator's input apply here too:
		// the domain rules and the breached-password check (no CAPTCHA, no hook).
		controls := api.AbuseControls(cfg.Abuse, quiet)
		controls.Captcha, controls.Hook = nil, nil
		return fn(auth.New(auth.Deps{Store: cached, Hasher: auth.NewHasher(1, 1, nil), Abuse: controls}))
	})
}

// readPassword reads a new password: asked for twice without echo on a
// terminal, else one line of standard input.
func readPassword(stdin io.Reader, stderr io.Writer) (string, error) {
	if f, ok := stdin.(*os.File); ok && term.IsTerminal(int(f.Fd())) {
		ask := func(prompt string) (string, error) {
			fmt.Fprint(stderr, prompt)
			p, err := term.ReadPassword(int(f.Fd()))
			fmt.Fprintln(stderr)
			return string(p), err
		}
		first, err := ask("Password: ")
		if err != nil {
			return "", err
		}
		again, err := ask("Password again: ")
		if err != nil {
			return "", err
		}
		if first != again {
			return "", &usageError{errors.New("the two passwords differ")}
		}
		return first, nil
	}
	line, err := bufio.NewReader(io.LimitReader(stdin, models.MaxPasswordBytes+2)).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", err
	}
	return strings.TrimRight(line, "\r\n"), nil
}
