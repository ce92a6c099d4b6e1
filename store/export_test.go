package store

// SetBeforeSessionCommit sets the hook CreateSession runs after its statement
// and before its commit (nil removes it).
func SetBeforeSessionCommit(db *DB, hook func()) { db.beforeSessionCommit = hook }
