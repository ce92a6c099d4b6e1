package handlers

import (
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
)

// DeleteMeRequest is the optional body of DELETE /auth/me.
type DeleteMeRequest struct {
	// CurrentPassword proves who the caller is when the session is not
	// fresh (a user without a second factor only).
	CurrentPassword string `json:"currentPassword" format:"password" maxLength:"256" example:"correct horse battery staple"`
} //	@name	DeleteMeRequest

// ExportSession is a session in an export: dates and client, no secret.
type ExportSession struct {
	ID         string   `json:"id" format:"uuid" validate:"required"`
	CreatedAt  Time     `json:"createdAt" swaggertype:"string" format:"date-time" validate:"required"`
	LastSeenAt Time     `json:"lastSeenAt" swaggertype:"string" format:"date-time" validate:"required"`
	ExpiresAt  Time     `json:"expiresAt" swaggertype:"string" format:"date-time" validate:"required"`
	Revoked    bool     `json:"revoked" validate:"required"`
	UserAgent  string   `json:"userAgent" validate:"required"`
	IP         string   `json:"ip" validate:"required"`
	AMR        []string `json:"amr" validate:"required"`
} //	@name	ExportSession

// ExportIdentity is a linked provider identity in an export.
type ExportIdentity struct {
	Provider   string `json:"provider" validate:"required"`
	Email      string `json:"email" validate:"required"`
	CreatedAt  Time   `json:"createdAt" swaggertype:"string" format:"date-time" validate:"required"`
	LastUsedAt Time   `json:"lastUsedAt" swaggertype:"string" format:"date-time" validate:"required"`
} //	@name	ExportIdentity

// ExportFactor is a second factor or passkey in an export: its name and
// dates only.
type ExportFactor struct {
	ID        string `json:"id" format:"uuid" validate:"required"`
	Type      string `json:"type" validate:"required"`
	Name      string `json:"name" validate:"required"`
	CreatedAt Time   `json:"createdAt" swaggertype:"string" format:"date-time" validate:"required"`
} //	@name	ExportFactor

// ExportResponse is everything stored about the caller that may leave the
// service: never a hash, secret or token.
type ExportResponse struct {
	User       User             `json:"user" validate:"required"`
	Sessions   []ExportSession  `json:"sessions" validate:"required"`
	Identities []ExportIdentity `json:"identities" validate:"required"`
	Factors    []ExportFactor   `json:"factors" validate:"required"`
	Passkeys   []ExportFactor   `json:"passkeys" validate:"required"`
	Events     []ActivityEvent  `json:"events" validate:"required"`
} //	@name	ExportResponse

// DeleteMe deletes the caller's account.
//
//	@Summary	Delete the signed-in user's account
//	@ID		deleteMe
//	@Description	Needs a fresh session; for a user without a second factor, currentPassword counts as the proof (and a wrong one counts toward the lockout). Ends every session, deletes the user and every row naming them, keeps the audit trail with the email replaced by a keyed hash, mails an account_deleted notice and clears the cookies. The address may register again. The last active administrator cannot delete themselves (409 last_admin).
//	@Tags		auth
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		body	body	DeleteMeRequest	false	"the current password (optional)"
//	@Success	204	"deleted; the cookies are cleared"
//	@Failure	403	{object}	ErrorResponse	"reauthentication_required (POST /auth/reauthenticate first) or csrf_failed"
//	@Failure	409	{object}	ErrorResponse	"last_admin"
//	@Failure	422	{object}	ErrorResponse	"validation_failed (fields.currentPassword when it is wrong)"
//	@Failure	429	{object}	ErrorResponse	"rate_limited"
//	@Router		/auth/me [delete]
func DeleteMe(svc *auth.Service, ck Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		var req DeleteMeRequest
		if c.Request.ContentLength != 0 {
			var ok bool
			if req, ok = decode[DeleteMeRequest](c); !ok {
				return
			}
		}
		err := svc.DeleteMe(c.Request.Context(), client(c), CurrentPrincipal(c), req.CurrentPassword)
		if err == nil {
			ck.Clear(c)
		}
		reply(c, http.StatusNoContent, nil, err)
	}
}

// ExportMe returns everything stored about the caller.
//
//	@Summary	Export the signed-in user's data
//	@ID		exportMe
//	@Description	Needs a fresh session. The user, their sessions, linked identities, factors, passkeys and audit events: names and dates, never a secret. Sent as an attachment.
//	@Tags		auth
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Success	200	{object}	ExportResponse
//	@Header		200	{string}	Content-Disposition	"attachment; filename=portcullis-export.json"
//	@Failure	403	{object}	ErrorResponse	"reauthentication_required (POST /auth/reauthenticate first)"
//	@Router		/auth/me/export [get]
func ExportMe(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		x, err := svc.Export(c.Request.Context(), CurrentPrincipal(c))
		if err != nil {
			WriteError(c, err)
			return
		}
		c.Header("Content-Disposition", `attachment; filename="portcullis-export.json"`)
		c.JSON(http.StatusOK, exportView(x))
	}
}

func exportView(x models.Export) ExportResponse {
	out := ExportResponse{User: userView(x.User), Sessions: []ExportSession{}, Identities: []ExportIdentity{},
		Factors: []ExportFactor{}, Passkeys: []ExportFactor{}, Events: []ActivityEvent{}}
	for _, s := range x.Sessions {
		out.Sessions = append(out.Sessions, ExportSession{ID: s.ID, CreatedAt: wire(s.CreatedAt), LastSeenAt: wire(s.LastSeenAt),
			ExpiresAt: wire(s.ExpiresAt), Revoked: s.RevokedAt != nil, UserAgent: s.UserAgent, IP: s.IP, AMR: s.Methods()})
	}
	for _, i := range x.Identities {
		out.Identities = append(out.Identities, ExportIdentity{Provider: i.Provider, Email: i.Email, CreatedAt: wire(i.CreatedAt), LastUsedAt: wire(i.LastUsedAt)})
	}
	for _, f := range x.Factors {
		out.Factors = append(out.Factors, ExportFactor{ID: f.ID, Type: string(f.Type), Name: f.Name, CreatedAt: wire(f.CreatedAt)})
	}
	for _, p := range x.Passkeys {
		out.Passkeys = append(out.Passkeys, ExportFactor{ID: p.ID, Type: "webauthn", Name: p.Name, CreatedAt: wire(p.CreatedAt)})
	}
	for _, e := range x.Events {
		out.Events = append(out.Events, ActivityEvent{Type: string(e.Type), At: wire(e.CreatedAt), IP: e.IP, UserAgent: e.UserAgent})
	}
	return out
}

// DeleteUser deletes a user.
//
//	@Summary	Delete a user
//	@ID		deleteUser
//	@Description	Needs the administrator's session fresh. The same effects as DELETE /auth/me; the last active administrator cannot be deleted (409 last_admin).
//	@Tags		admin
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id	path	string	true	"user id"	format(uuid)
//	@Success	204	"deleted"
//	@Failure	403	{object}	ErrorResponse	"forbidden, reauthentication_required or csrf_failed"
//	@Failure	404	{object}	ErrorResponse	"not_found"
//	@Failure	409	{object}	ErrorResponse	"last_admin"
//	@Router		/admin/users/{id} [delete]
func DeleteUser(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		reply(c, http.StatusNoContent, nil, svc.AdminDeleteUser(c.Request.Context(), client(c), CurrentPrincipal(c), c.Param("id")))
	}
}

// CreateUserRequest creates a user at an administrator's hand.
type CreateUserRequest struct {
	Email string `json:"email" example:"ada@example.com" validate:"required" format:"email" maxLength:"254"`
	Name  string `json:"name" example:"Ada Lovelace" validate:"required" minLength:"1" maxLength:"100"`
	Role  string `json:"role,omitempty" enums:"user,admin" example:"user"`
	// Password, when set, is the user's password and the address counts as
	// verified; without it an invitation is mailed (7 days, once).
	Password string `json:"password,omitempty" format:"password" minLength:"8" maxLength:"256"`
} //	@name	CreateUserRequest

// CreateUser creates a user.
//
//	@Summary	Create a user
//	@ID		createUser
//	@Description	With a password the user starts with a verified address. Without one, an invite mail is sent whose link ({AUTH_APP_URL}/reset-password?token=…, 7 days, once) sets the password through POST /auth/password/reset, which also verifies the address. Creating an administrator needs the administrator's session fresh.
//	@Tags		admin
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		body	body		CreateUserRequest	true	"the user"
//	@Success	201		{object}	AdminUserResponse
//	@Failure	403		{object}	ErrorResponse	"forbidden, reauthentication_required (role admin) or csrf_failed"
//	@Failure	409		{object}	ErrorResponse	"email_taken"
//	@Failure	422		{object}	ErrorResponse	"validation_failed"
//	@Failure	503		{object}	ErrorResponse	"email_unavailable: no password and no mail configured"
//	@Router		/admin/users [post]
func CreateUser(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[CreateUserRequest](c)
		if !ok {
			return
		}
		u, err := svc.AdminCreateUser(c.Request.Context(), client(c), CurrentPrincipal(c),
			auth.NewUser{Email: req.Email, Name: req.Name, Role: models.Role(req.Role), Password: req.Password})
		reply(c, http.StatusCreated, AdminUserResponse{User: adminUserView(u)}, err)
	}
}

// WebhookDelivery is one event's delivery to one URL.
type WebhookDelivery struct {
	ID            int64  `json:"id" example:"42" validate:"required"`
	EventID       string `json:"eventId" format:"uuid" validate:"required"`
	Type          string `json:"type" example:"user.created" validate:"required"`
	UserID        string `json:"userId" format:"uuid" validate:"required"`
	URL           string `json:"url" example:"https://hooks.example.com/portcullis" validate:"required"`
	State         string `json:"state" enums:"pending,delivered,failed" validate:"required"`
	Attempts      int    `json:"attempts" example:"3" validate:"required"`
	LastStatus    int    `json:"lastStatus" example:"500" validate:"required"`
	LastError     string `json:"lastError" example:"HTTP 500" validate:"required"`
	CreatedAt     Time   `json:"createdAt" swaggertype:"string" format:"date-time" validate:"required"`
	NextAttemptAt Time   `json:"nextAttemptAt" swaggertype:"string" format:"date-time" validate:"required"`
} //	@name	WebhookDelivery

// WebhookDeliveriesResponse is a page of deliveries, newest first.
type WebhookDeliveriesResponse struct {
	Deliveries []WebhookDelivery `json:"deliveries" validate:"required"`
	Total      int64             `json:"total" example:"1" validate:"required"`
} //	@name	WebhookDeliveriesResponse

// ListWebhookDeliveries lists webhook deliveries.
//
//	@Summary	List webhook deliveries
//	@ID		listWebhookDeliveries
//	@Description	Newest first. status=failed lists those whose last attempt failed (failed for good after 24 hours of retries, or still being retried). Administrators only.
//	@Tags		admin
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		status	query		string	false	"failed: only those whose last attempt failed"	Enums(failed)
//	@Param		page	query		int		false	"page, from 1"	minimum(1)
//	@Param		limit	query		int		false	"page size (default 20); larger values count as 100"	minimum(1)
//	@Success	200		{object}	WebhookDeliveriesResponse
//	@Failure	400		{object}	ErrorResponse	"bad_request"
//	@Router		/admin/webhooks/deliveries [get]
func ListWebhookDeliveries(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		status := c.Query("status")
		if status != "" && status != "failed" {
			WriteError(c, models.Errorf(models.BadRequest, "status must be failed or absent"))
			return
		}
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
		ds, total, err := svc.WebhookDeliveries(c.Request.Context(), status == "failed", (page-1)*limit, limit)
		if err != nil {
			WriteError(c, err)
			return
		}
		out := WebhookDeliveriesResponse{Deliveries: make([]WebhookDelivery, len(ds)), Total: total}
		for i, d := range ds {
			out.Deliveries[i] = WebhookDelivery{ID: d.ID, EventID: d.EventID, Type: d.EventType, UserID: d.UserID, URL: d.URL, State: d.State,
				Attempts: d.Attempts, LastStatus: d.LastStatus, LastError: d.LastError, CreatedAt: wire(d.CreatedAt), NextAttemptAt: wire(d.NextAttemptAt)}
		}
		c.JSON(http.StatusOK, out)
	}
}

// RetryWebhookDelivery sends a failed delivery again.
//
//	@Summary	Retry a webhook delivery
//	@ID		retryWebhookDelivery
//	@Description	A delivery that failed for good is sent again (with the same webhook-id), with another 24 hours of retries. Administrators only.
//	@Tags		admin
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id	path	int	true	"delivery id"
//	@Success	202	{object}	AcceptedResponse	"queued"
//	@Failure	404	{object}	ErrorResponse	"not_found: no delivery with this id failed for good"
//	@Router		/admin/webhooks/deliveries/{id}/retry [post]
func RetryWebhookDelivery(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		id, err := strconv.ParseInt(c.Param("id"), 10, 64)
		if err != nil || id < 1 {
			WriteError(c, models.Errorf(models.NotFound, "no failed delivery has this id"))
			return
		}
		reply(c, http.StatusAccepted, AcceptedResponse{Status: "accepted"}, svc.RetryWebhook(c.Request.Context(), id))
	}
}
