// Package config turns the AUTH_* environment into a typed, validated Config.
package config

import (
	"encoding/base64"
	"fmt"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Config is Portcullis's whole configuration. See README.md for each variable.
type Config struct {
	Addr        string
	DatabaseURL string
	// SessionKeys is the raw AUTH_SESSION_KEYS value; package token parses it.
	SessionKeys string
	Production  bool

	AllowedOrigins []string
	CookieSecure   bool
	CookieSameSite string // "lax", "strict" or "none"
	CookieDomain   string

	AccessTTL            time.Duration
	SessionTTL           time.Duration
	RememberTTL          time.Duration
	SessionMaxAge        time.Duration
	RefreshReuseInterval time.Duration

	RateLimitIP      Rate
	LockoutThreshold int
	// LockoutGlobalThreshold locks an email for every address; 0 until
	// validate sets its default, ten times LockoutThreshold.
	LockoutGlobalThreshold int
	LockoutDuration        time.Duration
	// AuditRetention is how long audit events are kept (the pruner);
	// MaxSessionsPerUser how many live sessions a user may hold (one more
	// revokes the least recently used).
	AuditRetention     time.Duration
	MaxSessionsPerUser int
	// WebhookURLs receive account events signed with WebhookSecret
	// (whsec_ + base64, Standard Webhooks).
	WebhookURLs       []string
	WebhookSecret     string
	TrustedProxies    []netip.Prefix
	IntrospectClients map[string]string

	BootstrapAdminEmail    string
	BootstrapAdminPassword string

	// RateLimitStore is "memory", "database" or "redis". Unset, it is redis
	// when AUTH_REDIS_URL is set, database on PostgreSQL (so every instance
	// shares the counters), and memory on SQLite.
	RateLimitStore string
	RedisURL       string

	// MetricsAddr, when set, is the only address /metrics is served on;
	// MetricsToken, when set, is the bearer token /metrics requires wherever
	// it is served. Production serves /metrics only with one of them.
	MetricsAddr  string
	MetricsToken string

	// Mail: the SMTP server ("" for the console in development, none in
	// production), the From header, the frontend links point to, template
	// overrides, the verification policy and token lifetime overrides.
	SMTPURL           string
	MailFrom          string
	AppURL            string
	MailTemplates     string
	EmailVerification string // "off", "optional" or "required"
	TokenTTL          map[string]time.Duration

	// DataKeys is the raw AUTH_DATA_KEYS value (seals TOTP secrets);
	// ReauthWindow is how recent a proof sensitive operations need.
	DataKeys     string
	ReauthWindow time.Duration

	// WebAuthn relying party: its id (a registrable domain, default the
	// host of AppURL), the name authenticators show, and the origins whose
	// ceremonies are accepted (default AppURL plus AllowedOrigins).
	WebAuthnRPID    string
	WebAuthnRPName  string
	WebAuthnOrigins []string

	ShutdownDrain time.Duration
	LogLevel      string

	// PublicURL is Portcullis's own external base URL (AUTH_PUBLIC_URL):
	// provider callbacks are {PublicURL}/auth/oidc/{name}/callback.
	PublicURL string
	// OIDCProviders are the OpenID Connect providers (AUTH_OIDC_PROVIDERS),
	// in order; OIDCAutoLink is AUTH_OIDC_AUTO_LINK=verified.
	OIDCProviders []OIDCProvider
	OIDCAutoLink  bool

	// Abuse are the abuse controls (config/abuse.go).
	Abuse Abuse
}

// OIDCProvider is one provider of AUTH_OIDC_PROVIDERS: its variables are
// AUTH_OIDC_<NAME>_ISSUER, _CLIENT_ID, _CLIENT_SECRET, _SCOPES and
// _DISPLAY_NAME.
type OIDCProvider struct {
	Name         string
	DisplayName  string
	Issuer       string
	ClientID     string
	ClientSecret string
	Scopes       []string
}

// Rate is a number of events per period, written like "60/m".
type Rate struct {
	Events int
	Per    time.Duration
}

func (r Rate) String() string { return fmt.Sprintf("%d/%s", r.Events, r.Per) }

// Error is a configuration error naming the offending variable.
type Error struct {
	Var, Msg string
}

func (e *Error) Error() string { return e.Var + ": " + e.Msg }

// Load reads and validates the configuration through getenv.
func Load(getenv func(string) string) (Config, error) {
	p := parser{getenv: getenv}
	c := Config{
		Addr:                   p.str("AUTH_ADDR", ":8080"),
		DatabaseURL:            p.str("AUTH_DATABASE_URL", "sqlite:auth.db"),
		SessionKeys:            p.str("AUTH_SESSION_KEYS", ""),
		Production:             p.oneOf("AUTH_ENV", "development", "development", "production") == "production",
		AllowedOrigins:         p.origins("AUTH_ALLOWED_ORIGINS"),
		CookieSecure:           p.boolean("AUTH_COOKIE_SECURE", true),
		CookieSameSite:         p.oneOf("AUTH_COOKIE_SAMESITE", "lax", "lax", "strict", "none"),
		CookieDomain:           p.str("AUTH_COOKIE_DOMAIN", ""),
		AccessTTL:              p.duration("AUTH_ACCESS_TTL", 15*time.Minute),
		SessionTTL:             p.duration("AUTH_SESSION_TTL", 168*time.Hour),
		RememberTTL:            p.duration("AUTH_REMEMBER_TTL", 720*time.Hour),
		SessionMaxAge:          p.duration("AUTH_SESSION_MAX_AGE", 2160*time.Hour),
		RefreshReuseInterval:   p.durationZeroOK("AUTH_REFRESH_REUSE_INTERVAL", 10*time.Second),
		RateLimitIP:            p.rate("AUTH_RATE_LIMIT_IP", "60/m"),
		LockoutThreshold:       p.positiveInt("AUTH_LOCKOUT_THRESHOLD", 10),
		LockoutGlobalThreshold: p.positiveInt("AUTH_LOCKOUT_GLOBAL_THRESHOLD", 0),
		LockoutDuration:        p.duration("AUTH_LOCKOUT_DURATION", 15*time.Minute),
		AuditRetention:         p.duration("AUTH_AUDIT_RETENTION", 2160*time.Hour),
		MaxSessionsPerUser:     p.positiveInt("AUTH_MAX_SESSIONS_PER_USER", 100),
		WebhookURLs:            p.list("AUTH_WEBHOOK_URLS"),
		WebhookSecret:          p.str("AUTH_WEBHOOK_SECRET", ""),
		MetricsAddr:            p.str("AUTH_METRICS_ADDR", ""),
		MetricsToken:           p.str("AUTH_METRICS_TOKEN", ""),
		DataKeys:               p.str("AUTH_DATA_KEYS", ""),
		ReauthWindow:           p.duration("AUTH_REAUTH_WINDOW", 10*time.Minute),
		SMTPURL:                p.str("AUTH_SMTP_URL", ""),
		MailFrom:               p.str("AUTH_MAIL_FROM", "Portcullis <no-reply@localhost>"),
		AppURL:                 strings.TrimSuffix(p.str("AUTH_APP_URL", ""), "/"),
		MailTemplates:          p.str("AUTH_MAIL_TEMPLATES", ""),
		EmailVerification:      p.oneOf("AUTH_EMAIL_VERIFICATION", "optional", "off", "optional", "required"),
		TokenTTL: map[string]time.Duration{
			"verify_email":   p.durationZeroOK("AUTH_TOKEN_TTL_VERIFY_EMAIL", 0),
			"reset_password": p.durationZeroOK("AUTH_TOKEN_TTL_RESET_PASSWORD", 0),
			"change_email":   p.durationZeroOK("AUTH_TOKEN_TTL_CHANGE_EMAIL", 0),
			"sign_in":        p.durationZeroOK("AUTH_TOKEN_TTL_SIGN_IN", 0),
		},
		TrustedProxies:      p.prefixes("AUTH_TRUSTED_PROXIES"),
		IntrospectClients:   p.clients("AUTH_INTROSPECT_CLIENTS"),
		BootstrapAdminEmail: p.str("AUTH_BOOTSTRAP_ADMIN_EMAIL", ""),
		// The password is read but never printed, not even in errors.
		BootstrapAdminPassword: p.str("AUTH_BOOTSTRAP_ADMIN_PASSWORD", ""),
		RateLimitStore:         p.oneOf("AUTH_RATE_LIMIT_STORE", "auto", "auto", "memory", "database", "redis"),
		RedisURL:               p.str("AUTH_REDIS_URL", ""),
		ShutdownDrain:          p.durationZeroOK("AUTH_SHUTDOWN_DRAIN", 2*time.Second),
		LogLevel:               p.oneOf("AUTH_LOG_LEVEL", "info", "debug", "info", "warn", "error"),
		WebAuthnRPID:           strings.ToLower(p.str("AUTH_WEBAUTHN_RP_ID", "")),
		WebAuthnRPName:         p.str("AUTH_WEBAUTHN_RP_NAME", "Portcullis"),
		WebAuthnOrigins:        p.origins("AUTH_WEBAUTHN_ORIGINS"),
	}
	c.PublicURL = strings.TrimSuffix(p.str("AUTH_PUBLIC_URL", "http://localhost:8080"), "/")
	c.OIDCAutoLink = p.oneOf("AUTH_OIDC_AUTO_LINK", "off", "off", "verified") == "verified"
	c.OIDCProviders = p.oidcProviders()
	c.Abuse = p.abuse()
	if p.err != nil {
		return Config{}, p.err
	}
	err := c.validate()
	return c, err
}

func (c *Config) validate() error {
	scheme, _, _ := strings.Cut(c.DatabaseURL, ":")
	switch {
	case scheme == "sqlite" && len(c.DatabaseURL) > len("sqlite:"):
	case scheme == "postgres" || scheme == "postgresql":
	default:
		return &Error{"AUTH_DATABASE_URL", "must be sqlite:PATH, sqlite::memory: or postgres://…"}
	}
	if c.CookieSameSite == "none" && !c.CookieSecure {
		return &Error{"AUTH_COOKIE_SAMESITE", "none requires AUTH_COOKIE_SECURE=true (browsers drop such cookies otherwise)"}
	}
	if c.SessionTTL < c.AccessTTL {
		return &Error{"AUTH_SESSION_TTL", "must not be shorter than AUTH_ACCESS_TTL"}
	}
	if c.SessionMaxAge < c.SessionTTL || c.SessionMaxAge < c.RememberTTL {
		return &Error{"AUTH_SESSION_MAX_AGE", "must not be shorter than AUTH_SESSION_TTL or AUTH_REMEMBER_TTL"}
	}
	if (c.BootstrapAdminEmail == "") != (c.BootstrapAdminPassword == "") {
		return &Error{"AUTH_BOOTSTRAP_ADMIN_EMAIL", "must be set together with AUTH_BOOTSTRAP_ADMIN_PASSWORD"}
	}
	if c.AppURL == "" {
		c.AppURL = "http://localhost:5173"
		if len(c.AllowedOrigins) > 0 {
			c.AppURL = c.AllowedOrigins[0]
		}
	}
	if u, err := url.Parse(c.AppURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return &Error{"AUTH_APP_URL", "must be an http:// or https:// URL such as https://app.example.com"}
	}
	if err := c.webAuthn(); err != nil {
		return err
	}
	if c.SMTPURL != "" && !strings.HasPrefix(c.SMTPURL, "smtp://") && !strings.HasPrefix(c.SMTPURL, "smtps://") {
		return &Error{"AUTH_SMTP_URL", "must be smtp://[user:pass@]host[:port] or smtps://…"}
	}
	if c.Production && c.SMTPURL == "" && c.EmailVerification == "required" {
		return &Error{"AUTH_SMTP_URL", "is required when AUTH_EMAIL_VERIFICATION=required in production: nobody could sign up"}
	}
	if c.LockoutGlobalThreshold == 0 {
		c.LockoutGlobalThreshold = 10 * c.LockoutThreshold
	}
	if c.LockoutGlobalThreshold < c.LockoutThreshold {
		return &Error{"AUTH_LOCKOUT_GLOBAL_THRESHOLD", "must not be lower than AUTH_LOCKOUT_THRESHOLD"}
	}
	if c.MetricsToken != "" && len(c.MetricsToken) < 16 {
		return &Error{"AUTH_METRICS_TOKEN", "must be at least 16 characters (for example: openssl rand -hex 32)"}
	}
	if c.RateLimitStore == "auto" {
		switch {
		case c.RedisURL != "":
			c.RateLimitStore = "redis"
		case scheme == "postgres" || scheme == "postgresql":
			c.RateLimitStore = "database"
		default:
			c.RateLimitStore = "memory"
		}
	}
	if c.RateLimitStore == "redis" && c.RedisURL == "" {
		return &Error{"AUTH_REDIS_URL", "is required when AUTH_RATE_LIMIT_STORE=redis"}
	}
	if c.RedisURL != "" && !strings.HasPrefix(c.RedisURL, "redis://") && !strings.HasPrefix(c.RedisURL, "rediss://") {
		return &Error{"AUTH_REDIS_URL", "must be a redis:// or rediss:// URL"}
	}
	if c.Production {
		switch {
		case c.SessionKeys == "":
			return &Error{"AUTH_SESSION_KEYS", "is required when AUTH_ENV=production"}
		case !c.CookieSecure:
			return &Error{"AUTH_COOKIE_SECURE", "must be true when AUTH_ENV=production"}
		}
	}
	return nil
}

// webAuthn completes and checks the relying party: its id must be the host
// of every origin or a parent domain of it, or no browser would use it.
func (c *Config) webAuthn() error {
	app, _ := url.Parse(c.AppURL)
	if c.WebAuthnRPID == "" {
		// A default that is an IP address leaves passkeys off: browsers
		// accept only domain names as relying party ids.
		c.WebAuthnRPID = app.Hostname()
	} else if _, err := netip.ParseAddr(c.WebAuthnRPID); err == nil {
		return &Error{"AUTH_WEBAUTHN_RP_ID", "must be a domain name (browsers refuse IP addresses as relying party ids)"}
	}
	if strings.ContainsAny(c.WebAuthnRPID, ":/ ") {
		return &Error{"AUTH_WEBAUTHN_RP_ID", "must be a domain name such as example.com (no scheme or port)"}
	}
	under := func(o string) bool {
		u, err := url.Parse(o)
		return err == nil && (u.Hostname() == c.WebAuthnRPID || strings.HasSuffix(u.Hostname(), "."+c.WebAuthnRPID))
	}
	if len(c.WebAuthnOrigins) == 0 {
		// The defaults keep only the origins a browser would accept for the
		// id: an allowed origin elsewhere simply offers no passkeys.
		for _, o := range append([]string{strings.ToLower(app.Scheme + "://" + app.Host)}, c.AllowedOrigins...) {
			if under(o) && !slices.Contains(c.WebAuthnOrigins, o) {
				c.WebAuthnOrigins = append(c.WebAuthnOrigins, o)
			}
		}
	}
	if err := validWebhooks(c.WebhookURLs, c.WebhookSecret); err != nil {
		return err
	}
	for _, o := range c.WebAuthnOrigins {
		if !under(o) {
			return &Error{"AUTH_WEBAUTHN_ORIGINS", fmt.Sprintf("%s is not on %q (AUTH_WEBAUTHN_RP_ID) or a subdomain of it", o, c.WebAuthnRPID)}
		}
	}
	return nil
}

// parser reads variables, keeping the first error so Load can report one line.
type parser struct {
	getenv func(string) string
	err    error
}

func (p *parser) fail(name, msg string) {
	if p.err == nil {
		p.err = &Error{name, msg}
	}
}

func (p *parser) str(name, def string) string {
	if v := strings.TrimSpace(p.getenv(name)); v != "" {
		return v
	}
	return def
}

func (p *parser) oneOf(name, def string, allowed ...string) string {
	v := strings.ToLower(p.str(name, def))
	for _, a := range allowed {
		if v == a {
			return v
		}
	}
	p.fail(name, fmt.Sprintf("must be one of %s, not %q", strings.Join(allowed, ", "), v))
	return def
}

func (p *parser) boolean(name string, def bool) bool {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	b, err := strconv.ParseBool(v)
	if err != nil {
		p.fail(name, fmt.Sprintf("must be true or false, not %q", v))
		return def
	}
	return b
}

func (p *parser) durationZeroOK(name string, def time.Duration) time.Duration {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil || d < 0 {
		p.fail(name, fmt.Sprintf("must be a duration such as 15m or 168h, not %q", v))
		return def
	}
	return d
}

func (p *parser) duration(name string, def time.Duration) time.Duration {
	d := p.durationZeroOK(name, def)
	if d <= 0 {
		p.fail(name, "must be a positive duration")
	}
	return d
}

func (p *parser) positiveInt(name string, def int) int {
	v := p.str(name, "")
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n <= 0 {
		p.fail(name, fmt.Sprintf("must be a positive whole number, not %q", v))
		return def
	}
	return n
}

func (p *parser) rate(name, def string) Rate {
	v := p.str(name, def)
	n, unit, ok := strings.Cut(v, "/")
	events, err := strconv.Atoi(strings.TrimSpace(n))
	per := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[strings.TrimSpace(unit)]
	if !ok || err != nil || events <= 0 || per == 0 {
		p.fail(name, fmt.Sprintf("must be COUNT/UNIT with UNIT s, m or h (e.g. 60/m), not %q", v))
		return Rate{Events: 60, Per: time.Minute}
	}
	return Rate{Events: events, Per: per}
}

func (p *parser) list(name string) []string {
	var out []string
	for _, item := range strings.Split(p.str(name, ""), ",") {
		if item = strings.TrimSpace(item); item != "" {
			out = append(out, item)
		}
	}
	return out
}

func (p *parser) origins(name string) []string {
	var out []string
	for _, o := range p.list(name) {
		if strings.Contains(o, "*") || o == "null" {
			p.fail(name, fmt.Sprintf("wildcard and null origins are not allowed (%q); list each origin exactly", o))
			return nil
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			(u.Path != "" && u.Path != "/") || u.RawQuery != "" || u.Fragment != "" || u.User != nil {
			p.fail(name, fmt.Sprintf("%q is not an origin such as https://app.example.com", o))
			return nil
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out
}

func (p *parser) prefixes(name string) []netip.Prefix {
	var out []netip.Prefix
	for _, s := range p.list(name) {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			addr, aerr := netip.ParseAddr(s)
			if aerr != nil {
				p.fail(name, fmt.Sprintf("%q is not a CIDR such as 10.0.0.0/8", s))
				return nil
			}
			pfx = netip.PrefixFrom(addr, addr.BitLen())
		}
		out = append(out, pfx.Masked())
	}
	return out
}

func (p *parser) clients(name string) map[string]string {
	out := map[string]string{}
	for _, s := range p.list(name) {
		id, secret, ok := strings.Cut(s, ":")
		if !ok || id == "" || len(secret) < 16 {
			// The entry is not echoed: it holds a secret.
			p.fail(name, "each entry must be name:secret with a secret of at least 16 characters")
			return nil
		}
		out[id] = secret
	}
	return out
}

// Known lists every variable Load reads.
func Known() []string {
	var names []string
	_, _ = Load(func(name string) string {
		names = append(names, name)
		return ""
	})
	return names
}

// Unknown returns a warning for each AUTH_* name among names that Load does
// not read (a typo such as AUTH_SESION_KEYS, or AUTH_SMTP for AUTH_SMTP_URL,
// is otherwise silently ignored), naming the closest known variables.
// ignore lists names used elsewhere (the tests' own variables).
func Unknown(names []string, ignore ...string) []string {
	known := Known()
	var warnings []string
	for _, n := range names {
		if !strings.HasPrefix(n, "AUTH_") || slices.Contains(known, n) || slices.Contains(ignore, n) {
			continue
		}
		// A name cut short (AUTH_SMTP for AUTH_SMTP_URL) means each known
		// name it begins; otherwise the nearest by edit distance, if near.
		var longer []string
		for _, k := range known {
			if strings.HasPrefix(k, n+"_") {
				longer = append(longer, k)
			}
		}
		slices.Sort(longer)
		best, dist := strings.Join(longer, " or "), 0
		if best == "" {
			dist = len(n)
			for _, k := range known {
				if d := distance(n, k); d < dist {
					best, dist = k, d
				}
			}
		}
		w := n + " is not a Portcullis variable and is ignored"
		if best != "" && dist <= len(n)/3 {
			w += "; did you mean " + best + "?"
		}
		warnings = append(warnings, w)
	}
	return warnings
}

// distance is the Levenshtein distance between a and b.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur := make([]int, len(b)+1)
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev = cur
	}
	return prev[len(b)]
}

// validWebhooks checks the webhook URLs and, when there are any, the secret.
func validWebhooks(urls []string, secret string) error {
	for _, u := range urls {
		pu, err := url.Parse(u)
		if err != nil || (pu.Scheme != "https" && pu.Scheme != "http") || pu.Host == "" {
			return &Error{"AUTH_WEBHOOK_URLS", fmt.Sprintf("%q is not an http(s) URL", u)}
		}
	}
	if len(urls) == 0 && secret == "" {
		return nil
	}
	raw, ok := strings.CutPrefix(secret, "whsec_")
	if key, err := base64.StdEncoding.DecodeString(raw); !ok || err != nil || len(key) < 16 {
		return &Error{"AUTH_WEBHOOK_SECRET", "must be whsec_ followed by the base64 of at least 16 random bytes (Standard Webhooks), e.g. whsec_$(openssl rand -base64 32)"}
	}
	return nil
}
