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
		// Most callers ask nothing: the query is parsed only when present.
		if c.Request.URL.RawQuery != "" && !verifyRequirements(c, p) {
			return
		}
		// One backing array for every value, each header a slice of length
		// and capacity 1 into it (an Add copies): one allocation, not six.
		h := c.Writer.Header()
		v := make([]string, 6)
		v[0], v[1], v[2] = p.User.ID, strconv.FormatBool(p.User.EmailVerified), strconv.Itoa(p.Session.AAL)
		v[3], v[4], v[5] = p.User.Email, string(p.User.Role), p.Session.ID
		h["X-Auth-User-Id"] = v[0:1:1]
		h["X-Auth-User-Email-Verified"] = v[1:2:2]
		h["X-Auth-Aal"] = v[2:3:3]
		h["X-Auth-User-Email"] = v[3:4:4]
		h["X-Auth-User-Role"] = v[4:5:5]
		h["X-Auth-Session-Id"] = v[5:6:6]
		if app := p.User.AppMetadata; app != "" && app != "{}" {
			h.Set("X-Auth-User-App-Metadata", base64.RawURLEncoding.EncodeToString([]byte(app)))
		}
		c.Status(http.StatusOK)
	}
}

// verifyRequirements checks ?role, ?verified and ?aal, answering when one
// is not met.
func verifyRequirements(c *gin.Context, p *auth.Principal) bool {
	if want := models.Role(c.Query("role")); want != "" {
		if !want.Valid() {
			WriteError(c, models.Errorf(models.BadRequest, "role must be user or admin"))
			return false
		}
		if want == models.RoleAdmin && p.User.Role != models.RoleAdmin {
			WriteError(c, auth.ErrAdminRequired)
			return false
		}
	}
	if c.Query("verified") == "true" && !p.User.EmailVerified {
		WriteError(c, auth.ErrEmailNotVerified)
		return false
	}
	if c.Query("aal") == "2" && p.Session.AAL < 2 {
		WriteError(c, auth.ErrInsufficientAAL)
		return false
	}
	return true
}
