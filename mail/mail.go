// Package mail sends Portcullis's messages: an SMTP sender (go-mail), a
// console sender for development, the embedded and overridable templates,
// and the outbox worker that delivers queued mail with retries. Requests
// never talk to SMTP; they queue a request that the worker resolves (through
// a Resolver the domain provides) and sends.
package mail

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	gomail "github.com/wneessen/go-mail"
)

// Message is one mail, ready to send.
type Message struct {
	To      string `json:"to"`
	Subject string `json:"subject"`
	Text    string `json:"text"`
	HTML    string `json:"html"`
}

// Sender delivers one message.
type Sender interface {
	Send(ctx context.Context, m Message) error
}

// SMTP sends through an SMTP server with go-mail.
type SMTP struct {
	from   string
	client *gomail.Client
	mu     sync.Mutex // one delivery at a time per client
}

// NewSMTP returns a sender for rawURL: smtp://[user:pass@]host[:587]
// (STARTTLS required, except to a loopback host), smtps://…:465 (implicit
// TLS), and ?tls=off for plain SMTP to a trusted relay. from is the From
// header.
func NewSMTP(rawURL, from string) (*SMTP, error) {
	u, err := url.Parse(rawURL)
	if err != nil || (u.Scheme != "smtp" && u.Scheme != "smtps") || u.Hostname() == "" {
		return nil, errors.New("must be smtp://[user:pass@]host[:port] or smtps://…")
	}
	host := u.Hostname()
	opts := []gomail.Option{gomail.WithTimeout(10 * time.Second)}
	port := 587
	if u.Scheme == "smtps" {
		port = 465
		opts = append(opts, gomail.WithSSL())
	}
	if p := u.Port(); p != "" {
		if port, err = strconv.Atoi(p); err != nil {
			return nil, errors.New("has a bad port")
		}
	}
	opts = append(opts, gomail.WithPort(port))
	ip := net.ParseIP(host)
	loopback := host == "localhost" || (ip != nil && ip.IsLoopback())
	switch {
	case u.Scheme == "smtps":
	case u.Query().Get("tls") == "off":
		opts = append(opts, gomail.WithTLSPolicy(gomail.NoTLS))
	case loopback:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSOpportunistic))
	default:
		opts = append(opts, gomail.WithTLSPolicy(gomail.TLSMandatory))
	}
	if u.User != nil {
		pass, _ := u.User.Password()
		auth := gomail.SMTPAuthPlain
		if loopback || u.Query().Get("tls") == "off" {
			auth = gomail.SMTPAuthPlainNoEnc // PLAIN over an unencrypted link the operator chose
		}
		opts = append(opts, gomail.WithSMTPAuth(auth), gomail.WithUsername(u.User.Username()), gomail.WithPassword(pass))
	}
	opts = append(opts, gomail.WithTLSConfig(&tls.Config{ServerName: host, MinVersion: tls.VersionTLS12}))
	c, err := gomail.NewClient(host, opts...)
	if err != nil {
		return nil, errors.New("cannot be used: " + err.Error())
	}
	return &SMTP{from: from, client: c}, nil
}

// Send delivers m as multipart/alternative (text, then HTML).
func (s *SMTP) Send(ctx context.Context, m Message) error {
	msg := gomail.NewMsg()
	if err := msg.From(s.from); err != nil {
		return fmt.Errorf("from address: %w", err)
	}
	if err := msg.To(m.To); err != nil {
		return fmt.Errorf("recipient: %w", err)
	}
	msg.Subject(m.Subject)
	msg.SetBodyString(gomail.TypeTextPlain, m.Text)
	msg.AddAlternativeString(gomail.TypeTextHTML, m.HTML)
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.client.DialAndSendWithContext(ctx, msg)
}

// Console prints each message to W (standard output in development),
// framed, and never to the JSON log: development mail, readable in the
// terminal that runs the service.
type Console struct {
	W  io.Writer
	mu sync.Mutex
}

// Send prints m's recipient, subject and text part.
func (c *Console) Send(_ context.Context, m Message) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	rule := strings.Repeat("─", 72)
	_, err := fmt.Fprintf(c.W, "\n%s\n  mail to %s\n  subject: %s\n%s\n%s\n%s\n", rule, m.To, m.Subject, rule, strings.TrimSpace(m.Text), rule)
	return err
}
