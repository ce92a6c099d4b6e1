package store_test

import (
	"context"
	"database/sql"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/uuid"
	"gorm.io/gorm/schema"

	"github.com/portcullis-auth/portcullis/models"
	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

var ctx = context.Background()

func newUser(email string) *models.User {
	now := time.Now().UTC()
	return &models.User{Email: email, Name: "Ada", PasswordHash: "x", Role: models.RoleUser, CreatedAt: now, UpdatedAt: now}
}

func TestDuplicateEmailInAnotherCaseIsConflict(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		if err := db.CreateUser(ctx, newUser("ada@example.com")); err != nil {
			t.Fatal(err)
		}
		err := db.CreateUser(ctx, newUser("ADA@Example.com"))
		if got := models.KindOf(err); got != models.Conflict {
			t.Errorf("second CreateUser: kind %v (%v), want Conflict", got, err)
		}
		u, err := db.UserByEmail(ctx, "Ada@EXAMPLE.com")
		if err != nil || u.Email != "ada@example.com" {
			t.Errorf("UserByEmail = %+v, %v", u, err)
		}
		if _, err := db.UserByID(ctx, "0190f0f0-0000-7000-8000-000000000000"); models.KindOf(err) != models.NotFound {
			t.Errorf("UserByID(unknown) = %v, want NotFound", err)
		}
	})
}

func TestRotateRefreshHasOneWinner(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		u := newUser("ada@example.com")
		if err := db.CreateUser(ctx, u); err != nil {
			t.Fatal(err)
		}
		now := time.Now().UTC().Truncate(time.Millisecond)
		s := &models.Session{UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), RotatedAt: now}
		if err := db.CreateSession(ctx, s, 0); err != nil {
			t.Fatal(err)
		}
		const callers = 20
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			wins int
		)
		for range callers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				won, err := db.RotateRefresh(ctx, s.ID, 0, now.Add(time.Second), now.Add(2*time.Hour))
				if err != nil {
					t.Errorf("RotateRefresh: %v", err)
				}
				if won {
					mu.Lock()
					wins++
					mu.Unlock()
				}
			}()
		}
		wg.Wait()
		if wins != 1 {
			t.Errorf("%d callers won the rotation, want exactly 1", wins)
		}
		got, err := db.SessionByID(ctx, s.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.RefreshGen != 1 || !got.ExpiresAt.Equal(now.Add(2*time.Hour)) {
			t.Errorf("after rotation: gen %d, expires %v", got.RefreshGen, got.ExpiresAt)
		}
		if ok, _ := db.RevokeSession(ctx, s.ID, now); !ok {
			t.Error("RevokeSession of a live session reported false")
		}
		if won, _ := db.RotateRefresh(ctx, s.ID, 1, now, now.Add(time.Hour)); won {
			t.Error("a revoked session rotated")
		}
	})
}

// TestModelsMatchSchema fails when a GORM model and the migrated table differ,
// so a migration cannot be forgotten.
func TestModelsMatchSchema(t *testing.T) {
	storetest.Each(t, func(t *testing.T, url string) {
		db := storetest.Open(t, url)
		for _, model := range []any{&models.User{}, &models.Session{}, &models.AuditEvent{}} {
			s, err := schema.Parse(model, &sync.Map{}, schema.NamingStrategy{})
			if err != nil {
				t.Fatal(err)
			}
			var want []string
			for _, f := range s.Fields {
				if f.DBName != "" {
					want = append(want, f.DBName)
				}
			}
			cols, err := db.Columns(ctx, s.Table)
			if err != nil {
				t.Fatal(err)
			}
			sort.Strings(want)
			sort.Strings(cols)
			if diff := cmp.Diff(cols, want); diff != "" {
				t.Errorf("table %s columns (-schema +model):\n%s", s.Table, diff)
			}
		}
	})
}

func TestOpenRejectsUnknownURL(t *testing.T) {
	for _, u := range []string{"mysql://x", "sqlite:", "sqlite:a.db?x=1"} {
		if _, err := store.Open(ctx, u); err == nil {
			t.Errorf("Open(%q) succeeded", u)
		}
	}
}

func TestSQLiteFileSurvivesReopen(t *testing.T) {
	url := "sqlite:" + t.TempDir() + "/auth.db"
	db, err := store.Open(ctx, url)
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, newUser("ada@example.com")); err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = storetest.Open(t, url) // migrating again is a no-op
	if _, err := db.UserByEmail(ctx, "ada@example.com"); err != nil {
		t.Errorf("user lost across reopen: %v", err)
	}
}

// TestSQLiteFilesArePrivate: the database and its WAL companions are
// readable by their owner only, new or inherited world-readable.
func TestSQLiteFilesArePrivate(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "auth.db")
	if err := os.WriteFile(path+"-shm", nil, 0o644); err != nil { // left by an older version
		t.Fatal(err)
	}
	db, err := store.Open(ctx, "sqlite:"+path)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if err := db.Migrate(ctx); err != nil {
		t.Fatal(err)
	}
	if err := db.CreateUser(ctx, newUser("private@example.com")); err != nil {
		t.Fatal(err)
	}
	for _, p := range []string{path, path + "-wal", path + "-shm"} {
		fi, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o600 {
			t.Errorf("%s: mode %v, want -rw-------", filepath.Base(p), mode)
		}
	}
}

// TestSessionCreationSeesAPasswordChange forces a password change (the new
// credential version, then the revocation of the user's sessions, as
// auth does it) to run between session creation's read of the user and its
// commit, from another connection. With the user row locked in share mode
// the change waits for the commit, and its revocation then ends the new
// session; without the lock it would finish first and the session, checked
// against the old credentials, would outlive them. The hook waits until the
// change has finished or is waiting for a lock, whichever comes: no sleep.
// PostgreSQL only: SQLite has one writer at a time.
func TestSessionCreationSeesAPasswordChange(t *testing.T) {
	base := storetest.PostgresURL(t)
	db := storetest.Open(t, base)
	app := "pwchange_" + strings.ReplaceAll(uuid.NewString()[:8], "-", "")
	other, err := store.Open(ctx, base+"&application_name="+app)
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	watch, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatal(err)
	}
	defer watch.Close()
	u := newUser("ada@example.com")
	if err := db.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	changed := make(chan error, 1)
	store.SetBeforeSessionCommit(db, func() {
		store.SetBeforeSessionCommit(db, nil)
		go func() {
			now := time.Now().UTC()
			err := other.ChangePassword(ctx, u.ID, "new hash", now)
			if err == nil {
				_, err = other.RevokeUserSessions(ctx, u.ID, "", now)
			}
			changed <- err
		}()
		for {
			select {
			case err := <-changed:
				changed <- err
				return
			default:
			}
			var waiting bool
			if err := watch.QueryRow(`SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE application_name = $1 AND wait_event_type = 'Lock')`,
				app).Scan(&waiting); err != nil {
				t.Error(err)
				return
			}
			if waiting {
				return
			}
		}
	})
	now := time.Now().UTC().Truncate(time.Millisecond)
	s := &models.Session{UserID: u.ID, CreatedAt: now, LastSeenAt: now, ExpiresAt: now.Add(time.Hour), RotatedAt: now}
	created := db.CreateSession(ctx, s, 0)
	if err := <-changed; err != nil {
		t.Fatalf("the password change: %v", err)
	}
	if created != nil {
		t.Fatalf("CreateSession: %v (the change was to come after its read)", created)
	}
	got, err := db.SessionByID(ctx, s.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.RevokedAt == nil {
		t.Errorf("a session checked against the old password is live after the change: %+v", got)
	}
}
