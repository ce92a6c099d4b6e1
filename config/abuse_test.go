package config

import (
	"errors"
	"strings"
	"testing"
)

func TestAbuseControlsAreOffByDefault(t *testing.T) {
	c, err := Load(env(nil))
	if err != nil {
		t.Fatal(err)
	}
	a := c.Abuse
	if a.CaptchaProvider != "" || a.BreachedCheck || a.BlockDisposable || a.HookBeforeCreateURL != "" || a.DomainsAllow != nil || a.DomainsDeny != nil ||
		a.CaptchaFailOpen || a.HookFailOpen || strings.Join(a.CaptchaOn, ",") != "register,forgot,sign-in-code" {
		t.Errorf("defaults: %+v", a)
	}
	c, err = Load(env(map[string]string{"AUTH_CAPTCHA_PROVIDER": "hcaptcha", "AUTH_CAPTCHA_SECRET": "s", "AUTH_SIGNUP_DOMAINS_DENY": "@Foo.example, .bar.example"}))
	if err != nil || c.Abuse.CaptchaVerifyURL != "https://api.hcaptcha.com/siteverify" || strings.Join(c.Abuse.DomainsDeny, ",") != "foo.example,bar.example" {
		t.Errorf("hcaptcha: %v %+v", err, c.Abuse)
	}
}

func TestAbuseBadValuesNameTheVariable(t *testing.T) {
	for _, tc := range []struct {
		vars map[string]string
		want string
	}{
		{map[string]string{"AUTH_CAPTCHA_PROVIDER": "recaptcha"}, "AUTH_CAPTCHA_PROVIDER"},
		{map[string]string{"AUTH_CAPTCHA_PROVIDER": "turnstile"}, "AUTH_CAPTCHA_SECRET"},
		{map[string]string{"AUTH_CAPTCHA_ON": "register,signup"}, "AUTH_CAPTCHA_ON"},
		{map[string]string{"AUTH_CAPTCHA_FAIL": "sometimes"}, "AUTH_CAPTCHA_FAIL"},
		{map[string]string{"AUTH_BREACHED_PASSWORDS": "on"}, "AUTH_BREACHED_PASSWORDS"},
		{map[string]string{"AUTH_DISPOSABLE_DOMAINS_FILE": "/nonexistent/list.txt"}, "AUTH_DISPOSABLE_DOMAINS_FILE"},
		{map[string]string{"AUTH_HOOK_BEFORE_CREATE_URL": "https://hooks.example.com/x"}, "AUTH_HOOK_SECRET"},
		{map[string]string{"AUTH_HOOK_BEFORE_CREATE_URL": "https://hooks.example.com/x", "AUTH_HOOK_SECRET": "plain-secret"}, "AUTH_HOOK_SECRET"},
	} {
		_, err := Load(env(tc.vars))
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != tc.want {
			t.Errorf("%v: %v, want an error naming %s", tc.vars, err, tc.want)
		}
		if err != nil && strings.Contains(err.Error(), "plain-secret") {
			t.Errorf("the error shows the secret: %v", err)
		}
	}
}
