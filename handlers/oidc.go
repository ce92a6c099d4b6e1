package handlers

import (
	"net/http"
	"net/url"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/portcullis-auth/portcullis/auth"
	"github.com/portcullis-auth/portcullis/models"
)

// Provider is an OpenID Connect provider a login page offers.
type Provider struct {
	// Name is the path segment of GET /auth/oidc/{name}.
	Name        string `json:"name" example:"google" validate:"required"`
	DisplayName string `json:"displayName" example:"Google" validate:"required"`
} //	@name	Provider

// ProvidersResponse lists the configured providers.
type ProvidersResponse struct {
	Providers []Provider `json:"providers" validate:"required"`
} //	@name	ProvidersResponse

// Identity is one of the caller's identities at a provider.
type Identity struct {
	ID         string `json:"id" example:"01935a4e-7c1d-7a8e-9b0f-3c2d1e0f4a5d" validate:"required" format:"uuid"`
	Provider   string `json:"provider" example:"google" validate:"required"`
	Email      string `json:"email" example:"ada@example.com" validate:"required"`
	CreatedAt  Time   `json:"createdAt" swaggertype:"string" format:"date-time" example:"2026-11-23T10:00:00.000Z" validate:"required"`
	LastUsedAt Time   `json:"lastUsedAt" swaggertype:"string" format:"date-time" example:"2026-11-23T10:00:00.000Z" validate:"required"`
} //	@name	Identity

// IdentitiesResponse lists the caller's identities.
type IdentitiesResponse struct {
	Identities []Identity `json:"identities" validate:"required"`
} //	@name	IdentitiesResponse

// LinkIdentityRequest starts linking an identity.
type LinkIdentityRequest struct {
	// RedirectTo is where the browser lands when linking ends; it must be
	// on AUTH_APP_URL's origin or an AUTH_ALLOWED_ORIGINS entry.
	RedirectTo string `json:"redirectTo" example:"https://app.example.com/settings" validate:"required" maxLength:"2048"`
} //	@name	LinkIdentityRequest

// ProviderRedirect is where to send the browser.
type ProviderRedirect struct {
	URL string `json:"url" example:"https://accounts.google.com/o/oauth2/v2/auth?client_id=…" validate:"required"`
} //	@name	ProviderRedirect

// ListProviders lists the OpenID Connect providers for a login page.
//
//	@Summary	Sign-in providers
//	@ID		listProviders
//	@Description	The configured OpenID Connect providers (AUTH_OIDC_PROVIDERS), in order. A login page links each to GET /auth/oidc/{name}?redirectTo=….
//	@Tags		oidc
//	@Success	200	{object}	ProvidersResponse
//	@Router		/auth/oidc [get]
func ListProviders(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		ps := svc.Providers()
		out := ProvidersResponse{Providers: make([]Provider, len(ps))}
		for i, p := range ps {
			out.Providers[i] = Provider{Name: p.Name, DisplayName: p.DisplayName}
		}
		c.JSON(http.StatusOK, out)
	}
}

// StartOIDC sends the browser to a provider to sign in.
//
//	@Summary	Sign in with a provider
//	@ID		startOIDC
//	@Description	A top-level navigation (a link or button, not fetch). 302 to the provider's authorization endpoint with state, nonce and a PKCE S256 challenge, which travel in an encrypted, HttpOnly, SameSite=Lax, 10-minute flow cookie scoped to /auth/oidc. The provider comes back to GET /auth/oidc/{name}/callback.
//	@Tags		oidc
//	@Param		name		path	string	true	"provider name"	example(google)
//	@Param		redirectTo	query	string	false	"where the browser lands afterwards: an absolute URL whose origin is AUTH_APP_URL's or an AUTH_ALLOWED_ORIGINS entry (default AUTH_APP_URL)"
//	@Success	302	"to the provider"
//	@Header		302	{string}	Location	"the provider's authorization endpoint"
//	@Header		302	{string}	Set-Cookie	"__Secure-oidc-flow (oidc-flow without Secure); HttpOnly; SameSite=Lax; Path=/auth/oidc; Max-Age=600"
//	@Failure	400	{object}	ErrorResponse	"invalid_redirect: redirectTo is not on an allowed origin"
//	@Failure	404	{object}	ErrorResponse	"not_found: no such provider"
//	@Failure	503	{object}	ErrorResponse	"unavailable: the provider's discovery has not succeeded yet (retried)"
//	@Router		/auth/oidc/{name} [get]
func StartOIDC(svc *auth.Service, ck Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		st, err := svc.StartOIDC(c.Request.Context(), c.Param("name"), c.Query("redirectTo"))
		if err != nil {
			WriteError(c, err)
			return
		}
		c.Writer.Header().Add("Set-Cookie", ck.Config.Flow(st.Flow, auth.FlowTTL).String())
		c.Redirect(http.StatusFound, st.URL)
	}
}

// OIDCCallback finishes a sign-in (or a link) at a provider.
//
//	@Summary	Provider callback
//	@ID		oidcCallback
//	@Description	Where the provider sends the browser back; register {AUTH_PUBLIC_URL}/auth/oidc/{name}/callback at the provider. Checks state against the flow cookie (constant time; a state is honoured once), redeems the code with the PKCE verifier, checks the ID token (signature, iss, aud, exp, nonce), then signs in: sets the session cookies and 302s to redirectTo. A user with a second factor gets no cookie but redirectTo#mfa_token=…&methods=totp,recovery_code for POST /auth/mfa/verify. A link flow links the identity to the account whose session started it. Every failure 302s to redirectTo (AUTH_APP_URL without a valid flow cookie) with ?error=access_denied, invalid_state, account_exists (an account has this email; sign in and link from settings), email_not_verified, provider_error or identity_taken. The flow cookie is cleared either way; unknown query parameters are ignored.
//	@Tags		oidc
//	@Param		name	path	string	true	"provider name"	example(google)
//	@Param		state	query	string	false	"from the provider"
//	@Param		code	query	string	false	"from the provider"
//	@Param		error	query	string	false	"from the provider"
//	@Success	302	"to redirectTo: signed in (cookies set), the second step in the fragment, or ?error=CODE"
//	@Header		302	{string}	Location	"redirectTo; redirectTo?error=CODE; or redirectTo#mfa_token=…&methods=…"
//	@Header		302	{string}	Set-Cookie	"the session cookies when signed in; the flow cookie cleared"
//	@Router		/auth/oidc/{name}/callback [get]
func OIDCCallback(svc *auth.Service, ck Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		flow := ""
		if fc, err := c.Request.Cookie(ck.Config.FlowName()); err == nil {
			flow = fc.Value
		}
		cb := auth.Callback{State: c.Query("state"), Code: c.Query("code"), Error: c.Query("error")}
		out, err := svc.FinishOIDC(c.Request.Context(), client(c), c.Param("name"), flow, cb, presented(c, ck))
		c.Writer.Header().Add("Set-Cookie", ck.Config.Flow("", 0).String())
		if err != nil {
			WriteError(c, err)
			return
		}
		to, _ := url.Parse(out.RedirectTo)
		fragment := ""
		switch {
		case out.Error != "":
			q := to.Query()
			q.Set("error", string(out.Error))
			to.RawQuery = q.Encode()
		case out.SignIn != nil && out.SignIn.MFA != nil:
			// In the fragment, which browsers never send to a server.
			to.Fragment, to.RawFragment = "", ""
			fragment = "#mfa_token=" + url.QueryEscape(out.SignIn.MFA.Token) + "&methods=" + strings.Join(out.SignIn.MFA.Methods, ",")
		case out.SignIn != nil:
			ck.Set(c, out.SignIn.Result)
		}
		c.Redirect(http.StatusFound, to.String()+fragment)
	}
}

// LinkIdentity starts linking an identity at a provider to the caller.
//
//	@Summary	Link a provider
//	@ID		linkIdentity
//	@Description	Needs a fresh session, and a verified address while mail is sent. Answers the provider's URL and sets the flow cookie; the browser then navigates to url, and the callback links the identity to this account — only this session can finish it. An identity that belongs to another account ends in redirectTo?error=identity_taken and moves nothing.
//	@Tags		oidc
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id		path		string				true	"the provider's name (an identity's id only for DELETE)"	example(google)
//	@Param		body	body		LinkIdentityRequest	true	"where to land afterwards"
//	@Success	200		{object}	ProviderRedirect
//	@Header		200		{string}	Set-Cookie	"__Secure-oidc-flow; HttpOnly; SameSite=Lax; Path=/auth/oidc; Max-Age=600"
//	@Failure	400		{object}	ErrorResponse	"invalid_redirect"
//	@Failure	403		{object}	ErrorResponse	"reauthentication_required, email_not_verified or csrf_failed"
//	@Failure	404		{object}	ErrorResponse	"not_found: no such provider"
//	@Failure	503		{object}	ErrorResponse	"unavailable: the provider cannot be reached"
//	@Router		/auth/identities/{id} [post]
func LinkIdentity(svc *auth.Service, ck Cookies) gin.HandlerFunc {
	return func(c *gin.Context) {
		req, ok := decode[LinkIdentityRequest](c)
		if !ok {
			return
		}
		st, err := svc.StartLink(c.Request.Context(), CurrentPrincipal(c), c.Param("id"), req.RedirectTo)
		if err != nil {
			WriteError(c, err)
			return
		}
		c.Writer.Header().Add("Set-Cookie", ck.Config.Flow(st.Flow, auth.FlowTTL).String())
		c.JSON(http.StatusOK, ProviderRedirect{URL: st.URL})
	}
}

// ListIdentities lists the caller's identities.
//
//	@Summary	Linked providers
//	@ID		listIdentities
//	@Description	The caller's identities at providers, oldest first: each can sign in to this account and be unlinked with DELETE /auth/identities/{id}.
//	@Tags		oidc
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Success	200	{object}	IdentitiesResponse
//	@Router		/auth/identities [get]
func ListIdentities(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		ids, err := svc.Identities(c.Request.Context(), CurrentPrincipal(c).User.ID)
		out := IdentitiesResponse{Identities: make([]Identity, len(ids))}
		for i, id := range ids {
			out.Identities[i] = identityView(id)
		}
		reply(c, http.StatusOK, out, err)
	}
}

// UnlinkIdentity removes one of the caller's identities.
//
//	@Summary	Unlink a provider
//	@ID		unlinkIdentity
//	@Description	Needs a fresh session. Refused with 409 last_login_method when it is the caller's only way in (no password and no other identity).
//	@Tags		oidc
//	@Security	CookieAuth
//	@Security	BearerAuth
//	@Param		id	path	string	true	"identity id"	format(uuid)
//	@Success	204	"unlinked"
//	@Failure	403	{object}	ErrorResponse	"reauthentication_required or csrf_failed"
//	@Failure	404	{object}	ErrorResponse	"not_found"
//	@Failure	409	{object}	ErrorResponse	"last_login_method"
//	@Router		/auth/identities/{id} [delete]
func UnlinkIdentity(svc *auth.Service) gin.HandlerFunc {
	return func(c *gin.Context) {
		reply(c, http.StatusNoContent, nil, svc.UnlinkIdentity(c.Request.Context(), client(c), CurrentPrincipal(c), c.Param("id")))
	}
}

func identityView(id models.Identity) Identity {
	return Identity{ID: id.ID, Provider: id.Provider, Email: id.Email, CreatedAt: wire(id.CreatedAt), LastUsedAt: wire(id.LastUsedAt)}
}
