package store_test

import (
	"context"
	"testing"

	"github.com/portcullis-auth/portcullis/store"
	"github.com/portcullis-auth/portcullis/store/storetest"
)

// TestMailedTokensTakeTheUsersVersionAtMigration: a token stored before
// tokens recorded the credential version gets its user's current version,
// so it keeps working until it expires (and dies with the next change).
func TestMailedTokensTakeTheUsersVersionAtMigration(t *testing.T) {
	storetest.Each(t, func(t *testing.T, dbURL string) {
		ctx := context.Background()
		db, err := store.Open(ctx, dbURL)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = db.Close() })
		if err := db.MigrateUpTo(ctx, 7); err != nil {
			t.Fatal(err)
		}
		const user, other = "0193a1c2-0000-7000-8000-000000000001", "0193a1c2-0000-7000-8000-000000000002"
		for _, q := range []string{
			`INSERT INTO users (id, email, name, password_hash, created_at, updated_at, credential_version)
			 VALUES ('` + user + `', 'ada@example.com', 'Ada', 'x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 3),
			        ('` + other + `', 'bob@example.com', 'Bob', 'x', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 0)`,
			`INSERT INTO one_time_tokens (id, purpose, user_id, email, token_hash, created_at, expires_at)
			 VALUES ('0193a1c2-0000-7000-8000-00000000000a', 'change_email', '` + user + `', 'new@example.com', 'h1', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP),
			        ('0193a1c2-0000-7000-8000-00000000000b', 'reset_password', '` + other + `', 'bob@example.com', 'h2', CURRENT_TIMESTAMP, CURRENT_TIMESTAMP)`,
		} {
			if _, err := db.SQL().ExecContext(ctx, q); err != nil {
				t.Fatal(err)
			}
		}
		if err := db.Migrate(ctx); err != nil {
			t.Fatal(err)
		}
		got := map[string]int64{}
		rows, err := db.SQL().QueryContext(ctx, "SELECT token_hash, credential_version FROM one_time_tokens")
		if err != nil {
			t.Fatal(err)
		}
		defer rows.Close()
		for rows.Next() {
			var h string
			var v int64
			if err := rows.Scan(&h, &v); err != nil {
				t.Fatal(err)
			}
			got[h] = v
		}
		if got["h1"] != 3 || got["h2"] != 0 || len(got) != 2 {
			t.Errorf("versions after the migration: %v, want h1 at 3 and h2 at 0", got)
		}
	})
}
