-- +goose Up
-- When an outbox entry ended (sent, failed or dropped): the pruner deletes it
-- a day later. A dropped entry keeps no address (it may be of nobody's
-- account).
ALTER TABLE email_outbox ADD COLUMN finished_at DATETIME;
UPDATE email_outbox SET finished_at = COALESCE(sent_at, next_attempt_at) WHERE state IN ('sent', 'failed', 'dropped');
UPDATE email_outbox SET recipient = '', new_email = '' WHERE state = 'dropped';
CREATE INDEX email_outbox_finished_idx ON email_outbox (finished_at);
CREATE INDEX one_time_tokens_expires_idx ON one_time_tokens (expires_at);
CREATE INDEX mfa_challenges_expires_idx ON mfa_challenges (expires_at);

-- +goose Down
DROP INDEX mfa_challenges_expires_idx;
DROP INDEX one_time_tokens_expires_idx;
DROP INDEX email_outbox_finished_idx;
ALTER TABLE email_outbox DROP COLUMN finished_at;
