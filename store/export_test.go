package store

import "context"

// SetBeforeSessionCommit sets the hook CreateSession runs after its statement
// and before its commit (nil removes it).
func SetBeforeSessionCommit(db *DB, hook func()) { db.beforeSessionCommit = hook }

// MigrateUpTo applies the migrations up to version only, so a test can
// store rows as an older version did and then migrate them.
func (db *DB) MigrateUpTo(ctx context.Context, version int64) error {
	p, err := db.migrations()
	if err != nil {
		return err
	}
	_, err = p.UpTo(ctx, version)
	return err
}
