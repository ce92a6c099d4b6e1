package mail_test

import (
	"context"
	"os"
	"strings"
	"testing"

	"github.com/portcullis-auth/portcullis/mail"
	"github.com/portcullis-auth/portcullis/mail/mailtest"
)

// TestSMTPDeliversMultipart sends through a real SMTP server: the message is
// multipart/alternative with the text and HTML parts the templates render.
func TestSMTPDeliversMultipart(t *testing.T) {
	srv := mailtest.Start(t)
	tpl, err := mail.LoadTemplates("")
	if err != nil {
		t.Fatal(err)
	}
	m, err := tpl.Render("sign_in_code", mail.Data{Email: "ada@example.com", Link: "http://app.test/sign-in?token=abc", Code: "01234567", ExpiresIn: "10 minutes", AppURL: "http://app.test"})
	if err != nil {
		t.Fatal(err)
	}
	s, err := mail.NewSMTP(srv.URL(), "Portcullis <no-reply@example.com>")
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	got := srv.Wait("ada@example.com", 1)
	link, tok := got.Link()
	if !strings.HasPrefix(got.ContentType, "multipart/alternative") || got.Subject != "Your sign-in code: 01234567" ||
		got.Code() != "01234567" || tok != "abc" || link == "" || !strings.Contains(got.HTML, `href="http://app.test/sign-in?token=abc"`) {
		t.Errorf("delivered: %+v", got)
	}
}

// TestTemplatesOverride: a file in AUTH_MAIL_TEMPLATES replaces the embedded
// one of the same name; a broken one is an error naming it.
func TestTemplatesOverride(t *testing.T) {
	dir := t.TempDir()
	writeFile(t, dir+"/reset_password.subject.txt", "Reset for {{.Email}}")
	tpl, err := mail.LoadTemplates(dir)
	if err != nil {
		t.Fatal(err)
	}
	m, err := tpl.Render("reset_password", mail.Data{Email: "ada@example.com", Link: "x", ExpiresIn: "30 minutes"})
	if err != nil || m.Subject != "Reset for ada@example.com" || !strings.Contains(m.Text, "30 minutes") {
		t.Errorf("overridden: %+v %v", m, err)
	}
	writeFile(t, dir+"/verify_email.html", "{{.Broken")
	if _, err := mail.LoadTemplates(dir); err == nil || !strings.Contains(err.Error(), "verify_email.html") {
		t.Errorf("a broken override: %v", err)
	}
}

func writeFile(t *testing.T, path, text string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
}
