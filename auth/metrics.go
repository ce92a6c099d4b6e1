package auth

import "github.com/portcullis-auth/portcullis/models"

// Metrics counts what the service does. Package api implements it with
// Prometheus; nil in Deps counts nothing.
type Metrics interface {
	Login(LoginOutcome)
	Refresh(RefreshOutcome)
	Revoked(reason Reason, n int64)
}

// LoginOutcome is how a password login ended.
type LoginOutcome string

// Login outcomes; the failures share their names with the error codes.
const (
	LoginSuccess            LoginOutcome = "success"
	LoginInvalidCredentials              = LoginOutcome(models.CodeInvalidCredentials)
	LoginLocked             LoginOutcome = "locked"
	LoginRateLimited                     = LoginOutcome(models.CodeRateLimited)
)

// LoginOutcomes lists every login outcome, so each can be reported at zero.
var LoginOutcomes = []LoginOutcome{LoginSuccess, LoginInvalidCredentials, LoginLocked, LoginRateLimited}

// RefreshOutcome is how a refresh ended.
type RefreshOutcome string

// Refresh outcomes; RefreshReuseDetected revoked a session.
const (
	RefreshRotated       RefreshOutcome = "rotated"
	RefreshGrace         RefreshOutcome = "reused_within_grace"
	RefreshReuseDetected RefreshOutcome = "reuse_detected"
	RefreshInvalid       RefreshOutcome = "invalid"
)

// RefreshOutcomes lists every refresh outcome.
var RefreshOutcomes = []RefreshOutcome{RefreshRotated, RefreshGrace, RefreshReuseDetected, RefreshInvalid}

type noMetrics struct{}

func (noMetrics) Login(LoginOutcome)     {}
func (noMetrics) Refresh(RefreshOutcome) {}
func (noMetrics) Revoked(Reason, int64)  {}
