package handlers

import (
	"encoding/json"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/google/uuid"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
)

// AdminUser is a user as administrators see it.
type AdminUser struct {
	User
	Disabled bool `json:"disabled" example:"false" validate:"required"`
} //	@name	AdminUser

// AdminUserResponse wraps one user.
type AdminUserResponse struct {
	User AdminUser `json:"user" validate:"required"`
} //	@name	AdminUserResponse

// UsersResponse is a page of users.
type UsersResponse struct {
	Users []AdminUser `json:"users" validate:"required"`
	Total int64       `json:"total" example:"1" validate:"required"`
} //	@name	UsersResponse

// UpdateUserRequest changes a user's role or disabled state.
type UpdateUserRequest struct {
	Role     *string `json:"role" enums:"user,admin" example:"admin"`
	Disabled *bool   `json:"disabled" example:"false"`
	// AppMetadata is a JSON merge patch (RFC 7396) of the user's app
	// metadata (e.g. {"plan":"pro"}); at most 4 KiB and 5 levels (422).
	AppMetadata json.RawMessage `json:"appMetadata,omitempty" swaggertype:"object"`
} //	@name	UpdateUserRequest

// AuditEvent is an audit log entry as administrators see it.
type AuditEvent struct {
	ID        string `json:"id" validate:"required" format:"uuid"`
	Type      string `json:"type" example:"login_failed" validate:"required"`
	At        Time   `json:"at" swaggertype:"string" format:"date-time" example:"2026-11-23T10:00:00.000Z" validate:"required"`
	UserID    string `json:"userId,omitempty" format:"uuid"`
	SessionID string `json:"sessionId,omitempty" format:"uuid"`
	Email     string `json:"email,omitempty" example:"ada@example.com" format:"email"`
	IP        string `json:"ip" example:"203.0.113.7" validate:"required"`
	UserAgent string `json:"userAgent" example:"Mozilla/5.0" validate:"required"`
	Detail    string `json:"detail,omitempty"`
} //	@name	AuditEvent

// AuditResponse lists audit events, newest first.
type AuditResponse struct {
	Events []AuditEvent `json:"events" validate:"required"`
} //	@name	AuditResponse

func adminUserView(u models.User) AdminUser {
	return AdminUser{User: userView(u), Disabled: u.Disabled()}
}

// intParam reads an optional positive integer query parameter, at most max.
func intParam(c *gin.Context, name string, def, max int) (int, error) {
	s := c.Query(name)
	if s == "" {
		return def, nil
	}
	n, err := strconv.Atoi(s)
	if err != nil || n < 1 {
		return 0, models.Errorf(models.BadRequest, "%s must be a positive whole number", name)
	}
	return min(n, max), nil
}

// ListUsers pages through users.
//
//	@Summary	List users
//	@ID		listUsers
//	@Description	A page of users in creation order, with the total that match. Administrators only.
//	@Tags		admin
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		page	query		int		false	"page, from 1"	minimum(1)
//	@Param		limit	query		int		false	"page size (default 20); larger values count as 100"	minimum(1)
//	@Param		email	query		string	false	"only emails containing this"
//	@Success	200		{object}	UsersResponse
//	@Failure	400		{object}	ErrorResponse	"bad_request"
//	@Router		/admin/users [get]
func ListUsers(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		page, err := intParam(c, "page", 1, 1_000_000)
		if err != nil {
			WriteError(c, err)
			return
		}
		limit, err := intParam(c, "limit", 20, 100)
		if err != nil {
			WriteError(c, err)
			return
		}
		email := c.Query("email")
		if models.HasControl(email) {
			WriteError(c, models.Errorf(models.BadRequest, "email must not contain control characters"))
			return
		}
		us, total, err := svc.Users(c.Request.Context(), email, (page-1)*limit, limit)
		if err != nil {
			WriteError(c, err)
			return
		}
		out := UsersResponse{Users: make([]AdminUser, len(us)), Total: total}
		for i, u := range us {
			out.Users[i] = adminUserView(u)
		}
		c.JSON(http.StatusOK, out)
	}
}

// GetUser returns one user.
//
//	@Summary	Get a user
//	@ID		getUser
//	@Description	One user, as administrators see it. Administrators only.
//	@Tags		admin
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id	path		string	true	"user id"	format(uuid)
//	@Success	200	{object}	AdminUserResponse
//	@Failure	404	{object}	ErrorResponse	"not_found"
//	@Router		/admin/users/{id} [get]
func GetUser(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		u, err := svc.User(c.Request.Context(), c.Param("id"))
		reply(c, http.StatusOK, AdminUserResponse{User: adminUserView(u)}, err)
	}
}

// UpdateUser changes a user's role or disabled state.
//
//	@Summary	Change a user's role, disable them or set their app metadata
//	@ID		updateUser
//	@Description	Disabling revokes every session of the user at once. appMetadata is a JSON merge patch of the user's app metadata, seen at the user's next request (introspection, /auth/verify). The last active administrator cannot be demoted or disabled (409). A body with role (any role change) or disabled: false (re-enabling) needs the administrator's session fresh (403 reauthentication_required); disabling does not.
//	@Tags		admin
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id		path		string				true	"user id"	format(uuid)
//	@Param		body	body		UpdateUserRequest	true	"changes"
//	@Success	200		{object}	AdminUserResponse
//	@Failure	403	{object}	ErrorResponse	"forbidden: the caller is not an administrator; reauthentication_required: the body changes the role or re-enables the user and the administrator's session is not fresh (POST /auth/reauthenticate first); or csrf_failed"
//	@Failure	404		{object}	ErrorResponse	"not_found"
//	@Failure	409		{object}	ErrorResponse	"last_admin"
//	@Failure	422		{object}	ErrorResponse	"validation_failed"
//	@Router		/admin/users/{id} [patch]
func UpdateUser(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[UpdateUserRequest](c)
		if !ok {
			return
		}
		ch := models.UserChange{Disabled: req.Disabled, AppMetadata: req.AppMetadata}
		if req.Role != nil {
			r := models.Role(*req.Role)
			ch.Role = &r
		}
		u, err := svc.AdminUpdateUser(c.Request.Context(), client(c), CurrentPrincipal(c), c.Param("id"), ch)
		reply(c, http.StatusOK, AdminUserResponse{User: adminUserView(u)}, err)
	}
}

// RevokeUserSessions signs a user out everywhere.
//
//	@Summary	Revoke every session of a user
//	@ID		revokeUserSessions
//	@Description	Signs the user out everywhere: every session stops working at its next request. Administrators only.
//	@Tags		admin
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id	path	string	true	"user id"	format(uuid)
//	@Success	204	"revoked"
//	@Failure	404	{object}	ErrorResponse	"not_found"
//	@Router		/admin/users/{id}/sessions [delete]
func RevokeUserSessions(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		reply(c, http.StatusNoContent, nil, svc.RevokeAllSessions(c.Request.Context(), client(c), c.Param("id")))
	}
}

// ListAudit lists audit events, newest first.
//
//	@Summary	Audit log
//	@ID		listAudit
//	@Description	Audit events, newest first, optionally of one user or one type. Administrators only.
//	@Tags		admin
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		userId	query		string	false	"only this user's events"	format(uuid)
//	@Param		type	query		string	false	"only events of this type"
//	@Param		limit	query		int		false	"at most this many (default 100); larger values count as 1000"	minimum(1)
//	@Success	200		{object}	AuditResponse
//	@Failure	400		{object}	ErrorResponse	"bad_request"
//	@Router		/admin/audit [get]
func ListAudit(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		limit, err := intParam(c, "limit", 100, 1000)
		if err != nil {
			WriteError(c, err)
			return
		}
		f := models.EventFilter{UserID: c.Query("userId"), Type: models.EventType(c.Query("type")), Limit: limit}
		if models.HasControl(string(f.Type)) {
			WriteError(c, models.Errorf(models.BadRequest, "type must not contain control characters"))
			return
		}
		if f.UserID != "" {
			id, err := uuid.Parse(f.UserID)
			if err != nil {
				WriteError(c, models.Errorf(models.BadRequest, "userId must be a user id"))
				return
			}
			f.UserID = id.String()
		}
		evs, err := svc.Events(c.Request.Context(), f)
		if err != nil {
			WriteError(c, err)
			return
		}
		out := AuditResponse{Events: make([]AuditEvent, len(evs))}
		for i, e := range evs {
			out.Events[i] = AuditEvent{ID: e.ID, Type: string(e.Type), At: wire(e.CreatedAt), UserID: deref(e.UserID), SessionID: deref(e.SessionID),
				Email: e.Email, IP: e.IP, UserAgent: e.UserAgent, Detail: e.Detail}
		}
		c.JSON(http.StatusOK, out)
	}
}

func deref(s *string) string {
	if s == nil {
		return ""
	}
	return *s
}

// LiftLockout clears the lockouts of an email, for every client address.
//
//	@Summary	Lift a lockout
//	@ID		liftLockout
//	@Description	Clears the failed-attempt counts and locks of the email, for every client address and globally. Answers 204 whether or not the email has an account. Needs the administrator's session fresh.
//	@Tags		admin
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		email	query	string	true	"the locked email"
//	@Success	204	"the lockouts are lifted"
//	@Failure	403	{object}	ErrorResponse	"forbidden: the caller is not an administrator; reauthentication_required: the administrator's session is not fresh (POST /auth/reauthenticate first); or csrf_failed"
//	@Failure	400	{object}	ErrorResponse	"bad_request"
//	@Router		/admin/lockouts [delete]
func LiftLockout(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		reply(c, http.StatusNoContent, nil, svc.LiftLockout(c.Request.Context(), client(c), CurrentPrincipal(c), c.Query("email")))
	}
}
