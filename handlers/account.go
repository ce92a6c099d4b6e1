package handlers

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/auth"
)

// SessionInfo describes one of the caller's sessions.
type SessionInfo struct {
	ID         string   `json:"id" example:"01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5c" validate:"required" format:"uuid"`
	CreatedAt  Time     `json:"createdAt" swaggertype:"string" format:"date-time" example:"2026-11-23T10:00:00.000Z" validate:"required"`
	LastSeenAt Time     `json:"lastSeenAt" swaggertype:"string" format:"date-time" example:"2026-11-23T10:05:00.000Z" validate:"required"`
	ExpiresAt  Time     `json:"expiresAt" swaggertype:"string" format:"date-time" example:"2026-11-30T10:00:00.000Z" validate:"required"`
	UserAgent  string   `json:"userAgent" example:"Mozilla/5.0" validate:"required"`
	IP         string   `json:"ip" example:"203.0.113.7" validate:"required"`
	Current    bool     `json:"current" example:"true" validate:"required"`
	AAL        int      `json:"aal" enums:"1,2" example:"1" validate:"required"`
	AMR        []string `json:"amr" example:"pwd" validate:"required"`
	AuthTime   Time     `json:"authTime" swaggertype:"string" format:"date-time" example:"2026-11-23T10:00:00.000Z" validate:"required"`
} //	@name	SessionInfo

// SessionsResponse lists the caller's live sessions.
type SessionsResponse struct {
	Sessions []SessionInfo `json:"sessions" validate:"required"`
} //	@name	SessionsResponse

// ActivityEvent is one entry of the caller's activity.
type ActivityEvent struct {
	Type      string `json:"type" example:"login_succeeded" validate:"required"`
	At        Time   `json:"at" swaggertype:"string" format:"date-time" example:"2026-11-23T10:00:00.000Z" validate:"required"`
	IP        string `json:"ip" example:"203.0.113.7" validate:"required"`
	UserAgent string `json:"userAgent" example:"Mozilla/5.0" validate:"required"`
} //	@name	ActivityEvent

// ActivityResponse lists the caller's recent activity, newest first.
type ActivityResponse struct {
	Events []ActivityEvent `json:"events" validate:"required"`
} //	@name	ActivityResponse

// ChangePasswordRequest changes the caller's password.
type ChangePasswordRequest struct {
	CurrentPassword string `json:"currentPassword" example:"correct horse battery staple" validate:"required" format:"password" maxLength:"256"`
	NewPassword     string `json:"newPassword" example:"another long passphrase here" validate:"required" format:"password" minLength:"8" maxLength:"256"`
} //	@name	ChangePasswordRequest

// ListSessions lists the caller's live sessions.
//
//	@Summary	The signed-in user's sessions
//	@ID		listSessions
//	@Description	The caller's live sessions, newest first; current marks the one making the request.
//	@Tags		sessions
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Success	200	{object}	SessionsResponse
//	@Router		/auth/sessions [get]
func ListSessions(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		p := CurrentPrincipal(c)
		ss, err := svc.Sessions(c.Request.Context(), p.User.ID)
		if err != nil {
			WriteError(c, err)
			return
		}
		out := SessionsResponse{Sessions: make([]SessionInfo, len(ss))}
		for i, s := range ss {
			out.Sessions[i] = SessionInfo{
				ID: s.ID, CreatedAt: wire(s.CreatedAt), LastSeenAt: wire(s.LastSeenAt), ExpiresAt: wire(s.ExpiresAt),
				UserAgent: s.UserAgent, IP: s.IP, Current: s.ID == p.Session.ID, AAL: s.AAL, AMR: s.Methods(), AuthTime: wire(s.AuthTime),
			}
		}
		c.JSON(http.StatusOK, out)
	}
}

// RevokeSession ends one of the caller's sessions.
//
//	@Summary	Sign out one device
//	@ID		revokeSession
//	@Description	Ends one of the caller's sessions; it stops working at its next request. Any id that is not a live session of the caller's is 404.
//	@Tags		sessions
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id	path	string	true	"session id"	format(uuid)
//	@Success	204	"the session is ended"
//	@Failure	404	{object}	ErrorResponse	"not_found: no such session of the caller's"
//	@Router		/auth/sessions/{id} [delete]
func RevokeSession(svc *auth.Service, ck Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		current, err := svc.EndSession(c.Request.Context(), client(c), CurrentPrincipal(c), c.Param("id"))
		if current {
			ck.Clear(c)
		}
		reply(c, http.StatusNoContent, nil, err)
	}
}

// ChangePassword replaces the caller's password and ends every other session.
//
//	@Summary	Change password
//	@ID		changePassword
//	@Description	Requires the current password. Every other session is revoked at once; this one stays.
//	@Tags		auth
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		body	body	ChangePasswordRequest	true	"current and new password"
//	@Success	204	"password changed"
//	@Failure	403		{object}	ErrorResponse	"reauthentication_required (a user with a second factor: POST /auth/reauthenticate first) or csrf_failed"
//	@Failure	422	{object}	ErrorResponse	"validation_failed (fields.currentPassword when it is wrong)"
//	@Failure	429	{object}	ErrorResponse	"rate_limited"
//	@Router		/auth/password [post]
func ChangePassword(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[ChangePasswordRequest](c)
		if !ok {
			return
		}
		reply(c, http.StatusNoContent, nil, svc.ChangePassword(c.Request.Context(), client(c), CurrentPrincipal(c), req.CurrentPassword, req.NewPassword))
	}
}

// Activity lists the caller's recent audit events, newest first.
//
//	@Summary	The signed-in user's recent activity
//	@ID		listActivity
//	@Description	The caller's most recent audit events (at most 100), newest first.
//	@Tags		sessions
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Success	200	{object}	ActivityResponse
//	@Router		/auth/activity [get]
func Activity(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		evs, err := svc.Activity(c.Request.Context(), CurrentPrincipal(c).User.ID)
		if err != nil {
			WriteError(c, err)
			return
		}
		out := ActivityResponse{Events: make([]ActivityEvent, len(evs))}
		for i, e := range evs {
			out.Events[i] = ActivityEvent{Type: string(e.Type), At: wire(e.CreatedAt), IP: e.IP, UserAgent: e.UserAgent}
		}
		c.JSON(http.StatusOK, out)
	}
}
