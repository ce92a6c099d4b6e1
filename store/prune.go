package store

import (
	"context"
	"fmt"
	"time"
)

// Retention says which rows the pruner deletes: every row that ended before
// Now − Keep. When a row ends is a fact of its table (a token when it was
// used or expired, a counter when its window closed); the durations that
// decide it come from the caller.
type Retention struct {
	Now  time.Time
	Keep time.Duration // how long a row is kept after it ends
	// PendingFactorTTL is how long an unfinished enrolment lives;
	// RateWindow the per-client limiter's period; LockoutDuration how long
	// failures count after the latest and a lock lasts.
	PendingFactorTTL time.Duration
	RateWindow       time.Duration
	LockoutDuration  time.Duration
	// SessionKeep is how long a session is kept after it expired or was
	// revoked; AuditKeep how long an audit event is kept at all. Zero
	// keeps them forever.
	SessionKeep time.Duration
	AuditKeep   time.Duration
}

// SessionKeep is how long an expired or revoked session stays (lifecycle.md,
// "Retention").
const SessionKeep = 30 * 24 * time.Hour

// cutoff is the end before which a row goes.
func (r Retention) cutoff() time.Time { return r.Now.UTC().Add(-r.Keep) }

// PruneStep deletes the rows of one kind that are due and says how many.
// New tables join the pruner as more steps (PruneSteps), not as another job.
type PruneStep struct {
	Name string
	Run  func(ctx context.Context, r Retention) (int64, error)
}

// PruneSteps are the steps for the tables this store keeps rows in that end.
func (db *DB) PruneSteps() []PruneStep {
	return []PruneStep{
		{"one_time_tokens", func(ctx context.Context, r Retention) (int64, error) {
			c := r.cutoff()
			return db.deleteWhere(ctx, "one_time_tokens", "expires_at < ? OR consumed_at < ?", c, c)
		}},
		{"mfa_challenges", func(ctx context.Context, r Retention) (int64, error) {
			c := r.cutoff()
			return db.deleteWhere(ctx, "mfa_challenges", "expires_at < ? OR consumed_at < ?", c, c)
		}},
		{"webauthn_challenges", func(ctx context.Context, r Retention) (int64, error) {
			c := r.cutoff()
			return db.deleteWhere(ctx, "webauthn_challenges", "expires_at < ? OR consumed_at < ?", c, c)
		}},
		// A spent OIDC state must outlive its flow cookie (replays are
		// refused by it until then): pruned a day after that cookie ends.
		{"oidc_states", func(ctx context.Context, r Retention) (int64, error) {
			return db.deleteWhere(ctx, "oidc_states", "expires_at < ?", r.cutoff())
		}},
		{"pending_factors", func(ctx context.Context, r Retention) (int64, error) {
			return db.deleteWhere(ctx, "mfa_factors", "status = 'pending' AND created_at < ?", r.cutoff().Add(-r.PendingFactorTTL))
		}},
		{"email_outbox", func(ctx context.Context, r Retention) (int64, error) {
			return db.deleteWhere(ctx, "email_outbox", "state IN ('sent', 'failed', 'dropped') AND finished_at < ?", r.cutoff())
		}},
		{"rate_counters", func(ctx context.Context, r Retention) (int64, error) {
			return db.deleteWhere(ctx, "rate_counters", "window_start < ?", r.cutoff().Add(-r.RateWindow))
		}},
		{"sessions", func(ctx context.Context, r Retention) (int64, error) {
			if r.SessionKeep <= 0 {
				return 0, nil
			}
			c := r.Now.UTC().Add(-r.SessionKeep)
			return db.deleteWhere(ctx, "sessions", "expires_at < ? OR revoked_at < ?", c, c)
		}},
		{"audit_events", func(ctx context.Context, r Retention) (int64, error) {
			if r.AuditKeep <= 0 {
				return 0, nil
			}
			return db.deleteWhere(ctx, "audit_events", "created_at < ?", r.Now.UTC().Add(-r.AuditKeep))
		}},
		// Delivered webhooks go like finished mail; those that failed for
		// good stay 30 days (or until retried).
		{"webhook_deliveries", func(ctx context.Context, r Retention) (int64, error) {
			return db.deleteWhere(ctx, "webhook_deliveries", "(state = 'delivered' AND finished_at < ?) OR (state = 'failed' AND finished_at < ?)",
				r.cutoff(), r.Now.UTC().Add(-SessionKeep))
		}},
		{"lockouts", func(ctx context.Context, r Retention) (int64, error) {
			c := r.cutoff()
			return db.deleteWhere(ctx, "lockouts", "last_failure < ? AND (locked_until IS NULL OR locked_until < ?)", c.Add(-r.LockoutDuration), c)
		}},
	}
}

func (db *DB) deleteWhere(ctx context.Context, table, cond string, args ...any) (int64, error) {
	res := db.with(ctx).Exec("DELETE FROM "+table+" WHERE "+cond, args...)
	return res.RowsAffected, translate(res.Error, "could not prune "+table)
}

// Prune runs steps as one turn of the pruner and returns how many rows each
// deleted. On PostgreSQL the turn is held as a transaction-level advisory
// lock (one per schema), so of several instances one prunes at a time; an
// instance that finds the lock taken returns at once with ran false. The lock
// goes with the transaction, also when the instance dies.
func (db *DB) Prune(ctx context.Context, r Retention, steps []PruneStep) (deleted map[string]int64, ran bool, err error) {
	if db.dialect == "postgres" {
		tx, err := db.sql.BeginTx(ctx, nil)
		if err != nil {
			return nil, false, translate(err, "could not start pruning")
		}
		defer func() { _ = tx.Rollback() }()
		var got bool
		if err := tx.QueryRowContext(ctx, "SELECT pg_try_advisory_xact_lock(hashtext('portcullis.prune.' || current_schema()))").Scan(&got); err != nil {
			return nil, false, translate(err, "could not start pruning")
		}
		if !got {
			return nil, false, nil
		}
	}
	deleted = map[string]int64{}
	for _, s := range steps {
		n, err := s.Run(ctx, r)
		if err != nil {
			return deleted, true, fmt.Errorf("%s: %w", s.Name, err)
		}
		deleted[s.Name] = n
	}
	return deleted, true, nil
}
