package handlers

import (
	"encoding/base64"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
)

// Verify answers forward-auth subrequests (nginx auth_request, Traefik
// ForwardAuth, Envoy ext_authz): 200 with the caller in headers, 401 when not
// signed in, 403 when ?role=admin is asked of another role.
//
//	@Summary	Forward-auth check
//	@ID		verify
//	@Description	For nginx auth_request, Traefik ForwardAuth and Envoy ext_authz. Accepts the session cookie or a bearer token.
//	@Tags		services
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		role	query	string	false	"required role"	Enums(user, admin)
//	@Param		verified	query	bool	false	"true: require a verified email address (403 email_not_verified otherwise)"
//	@Param		aal	query	int	false	"2: require a session signed in with a second factor (403 insufficient_aal otherwise)"	Enums(1, 2)
//	@Success	200	"authenticated"
//	@Header		200	{string}	X-Auth-User-Id		"user id"
//	@Header		200	{string}	X-Auth-User-Email	"email"
//	@Header		200	{string}	X-Auth-User-Role	"role"
//	@Header		200	{string}	X-Auth-User-Email-Verified	"true or false"
//	@Header		200	{string}	X-Auth-User-App-Metadata	"base64url (no padding) of the app metadata JSON; absent when it is empty"
//	@Header		200	{string}	X-Auth-AAL	"the session's assurance level, 1 or 2"
//	@Header		200	{string}	X-Auth-Session-Id	"session id"
//	@Failure	400	{object}	ErrorResponse	"bad_request: unknown role"
//	@Failure	403	{object}	ErrorResponse	"forbidden: ?role=admin asked of a user who is not one; email_not_verified: ?verified=true asked of an unverified address; insufficient_aal: ?aal=2 asked of a one-factor session"
//	@Router		/auth/verify [get]
func Verify() gin.HandlerFunc {
	return func(c *gin.Context) {
		p := CurrentPrincipal(c)
		if want := models.Role(c.Query("role")); want != "" {
			if !want.Valid() {
				WriteError(c, models.Errorf(models.BadRequest, "role must be user or admin"))
				return
			}
			if want == models.RoleAdmin && p.User.Role != models.RoleAdmin {
				WriteError(c, auth.ErrAdminRequired)
				return
			}
		}
		if c.Query("verified") == "true" && !p.User.EmailVerified {
			WriteError(c, auth.ErrEmailNotVerified)
			return
		}
		if c.Query("aal") == "2" && p.Session.AAL < 2 {
			WriteError(c, auth.ErrInsufficientAAL)
			return
		}
		h := c.Writer.Header()
		h.Set("X-Auth-User-Id", p.User.ID)
		h.Set("X-Auth-User-Email-Verified", strconv.FormatBool(p.User.EmailVerified))
		h.Set("X-Auth-AAL", strconv.Itoa(p.Session.AAL))
		h.Set("X-Auth-User-Email", p.User.Email)
		h.Set("X-Auth-User-Role", string(p.User.Role))
		h.Set("X-Auth-Session-Id", p.Session.ID)
		if app := models.MetadataJSON(p.User.AppMetadata); string(app) != "{}" {
			h.Set("X-Auth-User-App-Metadata", base64.RawURLEncoding.EncodeToString(app))
		}
		c.Status(http.StatusOK)
	}
}
