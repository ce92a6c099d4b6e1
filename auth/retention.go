package auth

import "time"

// PruneAfter is how long a row that ended (a used or expired token or
// challenge, an abandoned enrolment, a finished mail, a closed counter
// window) is kept before the pruner deletes it.
const PruneAfter = 24 * time.Hour

// PendingFactorTTL is how long an enrolment may wait for its first code.
const PendingFactorTTL = pendingFactorTTL
